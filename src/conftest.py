"""Settings for the docstring examples of ``src/insights`` (run by ``make test`` with ``--doctest-modules``).

The examples run as a user would run them; this file only keeps them from touching the
machine: figures are drawn off screen and closed after each example, and the results cache
lives in a temporary directory for the session (``tests/conftest.py`` does the same for the tests).
"""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def _doctest_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSIGHTS_CACHE_DIR", str(tmp_path_factory.mktemp("insights-cache")))
        yield


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
