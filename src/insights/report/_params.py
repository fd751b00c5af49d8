"""Check the parameters of a render before any kernel starts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from insights._options import Lang

__all__ = ["Backend", "Format", "Lang", "Request", "check_request"]

Format = Literal["pdf", "html"]
Backend = Literal["auto", "quarto", "builtin"]

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class Request:
    """Validated render parameters (paths absolute, choices normalised)."""

    data: Path | str  # a dataset directory, or a warehouse source such as "spark:dw"
    quarter: str
    lang: Lang
    formats: tuple[Format, ...]
    out: Path
    backend: Backend
    by: str | None
    min_cell: int
    compare_to: str
    title: str | None = None
    subtitle: str | None = None
    compare_documents: bool | None = None
    churn_gap: int | None = None


def _check_data(data: str | Path) -> Path | str:
    """The dataset directory (resolved), or a warehouse source such as ``"spark:dw"`` as is.

    A warehouse is read by the chapters' ``load_dataset`` in its own engine, so only
    its spelling is checked here.
    """
    from insights.data._read import DataReadError, find_tables
    from insights.data._warehouse import is_warehouse

    if is_warehouse(data):
        return str(data)
    path = Path(data).expanduser()
    if not path.exists():
        raise ValueError(
            f"data: {data} does not exist; give a dataset directory (e.g. data/demo from `insights simulate`)"
        )
    if not path.is_dir():
        raise ValueError(
            f"data: {data} is not a directory; give the directory that holds users.parquet"
        )
    try:
        tables = find_tables(path)
    except DataReadError as exc:
        raise ValueError(f"data: {exc}") from None
    if "users" not in tables and "orders" not in tables:
        raise ValueError(
            f"data: {data} has neither a users nor an orders table (users.parquet, "
            f"orders.csv ...); found {sorted(tables) or 'none'}"
        )
    return path.resolve()


def check_request(
    data: str | Path,
    *,
    quarter: str,
    lang: str,
    formats: str | Sequence[str],
    out: str | Path,
    backend: str,
    by: str | None,
    min_cell: int,
    compare_to: str,
    title: str | None = None,
    subtitle: str | None = None,
    compare_documents: bool | None = None,
    churn_gap: int | None = None,
) -> Request:
    """A :class:`Request`, or a ``ValueError`` naming the argument and what it accepts.

    >>> check_request("missing", quarter="2024Q4", lang="zh", formats="pdf", out="r",
    ...               backend="builtin", by=None, min_cell=10, compare_to="previous")
    Traceback (most recent call last):
    ...
    ValueError: data: missing does not exist; give a dataset directory (e.g. data/demo from `insights simulate`)
    """
    source = _check_data(data)
    quarter = str(quarter).strip().upper()
    if not _QUARTER.match(quarter):
        raise ValueError(f"quarter: {quarter!r} is not a quarter; write it like 2024Q4")
    if lang not in get_args(Lang):
        raise ValueError(f"lang: {lang!r} is not supported; choose one of {list(get_args(Lang))}")
    names = [
        f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)
    ]
    names = [f for f in dict.fromkeys(names) if f]
    bad = [f for f in names if f not in get_args(Format)]
    if bad or not names:
        raise ValueError(
            f"formats: {bad or 'nothing'} given; choose one or more of {list(get_args(Format))}"
        )
    if backend not in get_args(Backend):
        raise ValueError(f"backend: {backend!r} is not one of {list(get_args(Backend))}")
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise ValueError(f"min_cell: must be a whole number >= 1; got {min_cell!r}")
    if compare_to not in ("previous", "year_ago") and not _QUARTER.match(str(compare_to).upper()):
        raise ValueError(
            f"compare_to: {compare_to!r} must be 'previous', 'year_ago' or a quarter like 2023Q4"
        )
    compare_to = compare_to if compare_to in ("previous", "year_ago") else compare_to.upper()
    if by is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", by):
        raise ValueError(f"by: {by!r} is not a column name")
    if churn_gap is not None and (
        isinstance(churn_gap, bool) or not isinstance(churn_gap, int) or churn_gap < 1
    ):
        raise ValueError(f"churn_gap: must be a whole number of days >= 1; got {churn_gap!r}")
    for name, text in (("title", title), ("subtitle", subtitle)):
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{name}: must be text; got {text!r}")
    if compare_documents is not None and not isinstance(compare_documents, bool):
        raise ValueError(f"compare_documents: must be True or False; got {compare_documents!r}")
    return Request(
        data=source,
        quarter=quarter,
        lang=lang,  # type: ignore[arg-type]
        formats=tuple(names),  # type: ignore[arg-type]
        out=Path(out).expanduser().resolve(),
        backend=backend,  # type: ignore[arg-type]
        by=by,
        min_cell=min_cell,
        compare_to=compare_to,
        title=title.strip() or None if title is not None else None,
        subtitle=subtitle.strip() or None if subtitle is not None else None,
        compare_documents=compare_documents,
        churn_gap=churn_gap,
    )
