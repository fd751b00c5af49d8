"""What ``dataset.yaml`` says about the report: its ``report:`` section, and whether the data is simulated.

``report: {title: ..., subtitle: ..., compare_documents: true|false}`` sets the cover's
title and subtitle (shown as written, in both languages) and whether the industry
documents' figures are quoted next to the data. A command-line option wins over the
file; without either, the catalog's title and the quarter are printed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insights.narrative.appendix import is_simulated

__all__ = ["ReportSettings", "build_time", "dataset_config", "is_simulated", "report_settings"]


@dataclass(frozen=True)
class ReportSettings:
    """The cover and content settings of one report (``None``: the default)."""

    title: str | None = None
    subtitle: str | None = None
    compare_documents: bool = True


def dataset_config(dataset: Any) -> dict[str, Any]:
    """The parsed ``dataset.yaml`` of a loaded dataset (``{}`` when there is none).

    Read from ``Dataset.meta["config"]`` when the loader kept it, else from the
    dataset's source directory.
    """
    meta = getattr(dataset, "meta", None) or {}
    config = meta.get("config")
    if isinstance(config, dict):
        return config
    source = getattr(dataset, "source", None)
    if source is None or not Path(str(source)).is_dir():
        return {}
    from insights.data._read import read_config

    return read_config(Path(str(source)))


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"dataset.yaml report.{key}: expected text, got {value!r}")
    text = str(value).strip()
    return text or None


def report_settings(
    config: dict[str, Any],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    compare_documents: bool | None = None,
) -> ReportSettings:
    """The settings of a report: the options given here, else ``config["report"]``, else defaults.

    Parameters
    ----------
    config
        The parsed ``dataset.yaml`` (:func:`dataset_config`).
    title, subtitle, compare_documents
        Command-line values; ``None`` takes the file's.

    Raises
    ------
    ValueError
        When ``report`` is not a mapping, names an unknown key, or has a value of the
        wrong type.

    Examples
    --------
    >>> report_settings({"report": {"title": "Shop A", "compare_documents": False}})
    ReportSettings(title='Shop A', subtitle=None, compare_documents=False)
    >>> report_settings({"report": {"title": "Shop A"}}, title="Shop B").title
    'Shop B'
    """
    section = config.get("report") or {}
    if not isinstance(section, dict):
        raise ValueError(
            "dataset.yaml report: expected a mapping like {title: ..., subtitle: ..., "
            f"compare_documents: true}}, got {section!r}"
        )
    known = ("title", "subtitle", "compare_documents")
    unknown = sorted(str(k) for k in section if k not in known)
    if unknown:
        raise ValueError(f"dataset.yaml report: unknown key(s) {unknown}; known: {list(known)}")
    documents = section.get("compare_documents", True)
    if not isinstance(documents, bool):
        raise ValueError(
            f"dataset.yaml report.compare_documents: expected true or false, got {documents!r}"
        )
    return ReportSettings(
        title=_text(title, "title") or _text(section.get("title"), "title"),
        subtitle=_text(subtitle, "subtitle") or _text(section.get("subtitle"), "subtitle"),
        compare_documents=documents if compare_documents is None else bool(compare_documents),
    )


def build_time(as_of: dt.datetime | dt.date) -> int:
    """The report's creation time in UNIX seconds: ``SOURCE_DATE_EPOCH`` when set, else
    midnight UTC of the data's ``as_of`` day; never the wall clock, so files are reproducible.

    Raises
    ------
    ValueError
        When ``SOURCE_DATE_EPOCH`` is set but is not a whole number of seconds >= 0.

    Examples
    --------
    >>> import datetime as dt, os
    >>> saved = os.environ.pop("SOURCE_DATE_EPOCH", None)
    >>> build_time(dt.datetime(2024, 12, 31, 23, 59))
    1735603200
    >>> os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    >>> build_time(dt.date(2024, 12, 31))
    1700000000
    >>> if saved is None: del os.environ["SOURCE_DATE_EPOCH"]
    ... else: os.environ["SOURCE_DATE_EPOCH"] = saved
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        if not raw.isdigit():
            raise ValueError(
                f"SOURCE_DATE_EPOCH: {raw[:40]!r} is not a whole number of seconds since 1970"
            )
        return int(raw)
    day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())
