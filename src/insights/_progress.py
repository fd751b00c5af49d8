"""Progress bars for long work, in the terminal and in Jupyter: the one door to ``tqdm``.

Validation (per table), calibration (per target), the KPI scorecard (per KPI and
quarter) and report rendering (per chapter) report progress through :func:`progress`.
Whether a bar is shown follows one rule, the same for every function with a
``progress=`` keyword:

- ``progress=True``: always shown (on ``sys.stderr``); ``progress=False``: never.
- ``progress=None`` (the default, "auto"): shown when someone is watching, that is when
  ``sys.stderr`` is a terminal or the code runs in a Jupyter kernel, and silent when the
  environment variable ``CI`` is set (any value but empty) or ``INSIGHTS_PROGRESS`` is
  ``0``, ``off``, ``false`` or ``no``. The report renderer sets ``INSIGHTS_PROGRESS=off``
  for the kernels it starts, so no bar ends up in a report or an executed notebook.

The bar is ``tqdm.auto``: a widget in JupyterLab when ``ipywidgets`` is installed, text
on stderr otherwise. Results never depend on whether a bar is shown.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress", "progress_enabled", "quiet_kernels"]

_OFF = {"0", "off", "false", "no"}


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether a bar is shown: ``enabled`` when given, else the "auto" rule above.

    Examples
    --------
    >>> progress_enabled(False), progress_enabled(True)
    (False, True)
    """
    if enabled is not None:
        return bool(enabled)
    if os.environ.get("CI") or os.environ.get("INSIGHTS_PROGRESS", "").strip().lower() in _OFF:
        return False
    return _in_jupyter() or _stderr_is_terminal()


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    enabled: bool | None = None,
) -> Any:
    """A ``tqdm.auto`` bar over ``iterable`` (or a manual one: ``.update(1)``), or a silent stand-in.

    The silent stand-in is ``tqdm`` with ``disable=True``: iterating it yields the items
    of ``iterable`` untouched and ``update``, ``set_postfix_str`` and ``close`` do
    nothing, so callers have one code path. Use it as a context manager (or call
    ``close()``) so the bar ends its line.

    Examples
    --------
    >>> with progress(range(3), desc="work", enabled=False) as bar:
    ...     [x * 2 for x in bar]
    [0, 2, 4]
    """
    show = progress_enabled(enabled)
    with warnings.catch_warnings():  # tqdm.auto warns when Jupyter lacks ipywidgets
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    if not show:
        from tqdm import tqdm as plain

        return plain(iterable, total=total, desc=desc, disable=True)
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=True, dynamic_ncols=True)


@contextmanager
def quiet_kernels() -> Iterator[None]:
    """Set ``INSIGHTS_PROGRESS=off`` while the block runs, for the kernels it starts.

    Kernels inherit this process's environment, so the chapters a report executes
    draw no bar into their outputs. The previous value is restored afterwards.
    """
    before = os.environ.get("INSIGHTS_PROGRESS")
    os.environ["INSIGHTS_PROGRESS"] = "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("INSIGHTS_PROGRESS", None)
        else:
            os.environ["INSIGHTS_PROGRESS"] = before


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _in_jupyter() -> bool:
    """True in a Jupyter kernel (the test tqdm.auto makes too)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - a broken IPython install
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})
