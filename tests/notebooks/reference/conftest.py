"""The reference notebooks run under strict nbval with this folder's sanitisers and the current venv.

``pytest --nbval tests/notebooks/reference`` needs no other flag: unless given on the
command line, ``--nbval-sanitize-with`` is ``sanitize.cfg`` here and the kernel is the
Python running pytest (``--nbval-current-env``). Progress bars stay out of the outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["INSIGHTS_PROGRESS"] = "off"


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    if getattr(option, "nbval_sanitize_with", "unset") is None and not getattr(
        option, "sanitize_with", None
    ):
        option.nbval_sanitize_with = str(Path(__file__).with_name("sanitize.cfg"))
    if getattr(option, "nbval_kernel_name", "unset") is None:
        option.nbval_current_env = True
