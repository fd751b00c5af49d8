"""Presentation options set once: the language, the smallest group shown, the currency.

``ins.options(lang="zh", min_cell=10, currency="USD")`` changes the defaults of every
function that writes text or draws (``plot_*``, ``format_table``, the narrative); whether
the industry documents' figures are quoted next to the data is one more option
(``compare_documents``). Used in a ``with``
block it restores the previous options at the end, like ``pl.Config``. A keyword on a
single call (``lang=``, ``min_cell=``) still wins for that call. The options live in a
:class:`contextvars.ContextVar`, so threads and notebook kernels do not share changes
made inside a ``with`` block.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
from typing import Any, Literal, get_args

__all__ = [
    "LANGS",
    "Lang",
    "Options",
    "current",
    "options",
    "resolve_compare_documents",
    "resolve_currency",
    "resolve_lang",
    "resolve_min_cell",
]

#: The languages every catalog, table and figure speaks.
Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = get_args(Lang)


@dataclasses.dataclass(frozen=True)
class Options:
    """The presentation options in force (see :func:`options`).

    Attributes
    ----------
    lang
        ``"zh"`` or ``"en"``: the language of sentences, table headers and figure labels.
    min_cell
        Groups and cells with fewer users are never shown (0 shows everything).
    currency
        ISO 4217 code of every amount (``"CNY"``, ``"USD"`` ...): the symbol or code
        printed with money in sentences, tables and figure labels.
    compare_documents
        Quote the industry documents' figures next to the data (False: never).
    share_days
        Compute the per-user active days once per dataset and engine and share them
        between the retention, lifetime and lifecycle calls (False: every call reads
        the events itself; the numbers are the same).
    duckdb_memory_limit
        DuckDB ``memory_limit`` set on the connection of a DuckDB dataset before
        ``insights`` writes a temporary table to it (default ``"6GB"``, so that the
        process stays under 8 GB: the limit bounds DuckDB's buffers, not what comes on
        top of them; ``""`` leaves
        DuckDB's own, 80% of the RAM).
    duckdb_temp_directory
        Where DuckDB spills what does not fit in ``duckdb_memory_limit``; None:
        ``duckdb-tmp`` under the results cache, or the system's temporary folder
        when the cache is off.
    """

    lang: Lang = "en"
    min_cell: int = 10
    currency: str = "CNY"
    compare_documents: bool = True
    share_days: bool = True
    duckdb_memory_limit: str = "6GB"
    duckdb_temp_directory: str | None = None
    _previous: Options | None = dataclasses.field(default=None, repr=False, compare=False)

    def __enter__(self) -> Options:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            _CURRENT.set(self._previous)


_CURRENT: contextvars.ContextVar[Options] = contextvars.ContextVar(
    "insights_options",
    default=Options(),  # noqa: B039 (frozen: never mutated)
)


def _check(name: str, value: Any) -> None:
    if name == "lang" and value not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {value!r}")
    if name == "min_cell" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"min_cell must be an integer >= 0, got {value!r}")
    if name == "currency" and not (isinstance(value, str) and _ISO.fullmatch(value.upper())):
        raise ValueError(f"currency must be a three-letter ISO 4217 code like 'USD', got {value!r}")
    if name == "compare_documents" and not isinstance(value, bool):
        raise ValueError(f"compare_documents must be True or False, got {value!r}")
    if name == "share_days" and not isinstance(value, bool):
        raise ValueError(f"share_days must be True or False, got {value!r}")
    if name in ("duckdb_memory_limit", "duckdb_temp_directory") and not isinstance(value, str):
        raise ValueError(f"{name} must be a string (or None), got {value!r}")


_ISO = re.compile(r"[A-Z]{3}")


def options(
    *,
    lang: Lang | None = None,
    min_cell: int | None = None,
    currency: str | None = None,
    compare_documents: bool | None = None,
    share_days: bool | None = None,
    duckdb_memory_limit: str | None = None,
    duckdb_temp_directory: str | None = None,
) -> Options:
    """Read or set the presentation options (language, smallest group shown, currency).

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``; None keeps the current language.
    min_cell
        Smallest group shown; None keeps the current value.
    currency
        ISO 4217 code of the amounts (``"USD"``; lower case is accepted); None keeps
        the current one (``"CNY"`` unless set).
    compare_documents
        False: no sentence, table or alert quotes the industry documents' figures;
        None keeps the current value (True unless set).
    share_days, duckdb_memory_limit, duckdb_temp_directory
        How the engines work (see :class:`Options`); None keeps the current value.
        The numbers never depend on them.

    Returns
    -------
    Options
        The options now in force. Used as a context manager, the previous options come
        back at the end of the ``with`` block; called plainly, the change stays.

    Examples
    --------
    >>> import insights as ins
    >>> with ins.options(lang="zh", min_cell=20):
    ...     ins.options().lang, ins.options().min_cell
    ('zh', 20)
    >>> ins.options().lang
    'en'
    >>> with ins.options(currency="usd"):
    ...     ins.options().currency
    'USD'
    """
    given = {
        "lang": lang,
        "min_cell": min_cell,
        "currency": currency,
        "compare_documents": compare_documents,
        "share_days": share_days,
        "duckdb_memory_limit": duckdb_memory_limit,
        "duckdb_temp_directory": duckdb_temp_directory,
    }
    for name, value in given.items():
        if value is not None:
            _check(name, value)
    previous = _CURRENT.get()
    if all(value is None for value in given.values()):
        return previous
    new = Options(
        lang=previous.lang if lang is None else lang,
        min_cell=previous.min_cell if min_cell is None else min_cell,
        currency=previous.currency if currency is None else currency.upper(),
        compare_documents=(
            previous.compare_documents if compare_documents is None else compare_documents
        ),
        share_days=previous.share_days if share_days is None else share_days,
        duckdb_memory_limit=(
            previous.duckdb_memory_limit if duckdb_memory_limit is None else duckdb_memory_limit
        ),
        duckdb_temp_directory=(
            previous.duckdb_temp_directory
            if duckdb_temp_directory is None
            else duckdb_temp_directory
        ),
        _previous=previous,
    )
    _CURRENT.set(new)
    return new


def current() -> Options:
    """The options in force (same as ``options()`` with no arguments)."""
    return _CURRENT.get()


def resolve_lang(lang: str | None) -> Lang:
    """``lang`` if given (checked), else the language set with :func:`options`."""
    if lang is None:
        return _CURRENT.get().lang
    _check("lang", lang)
    return lang  # type: ignore[return-value]


def resolve_min_cell(min_cell: int | None) -> int:
    """``min_cell`` if given (checked), else the value set with :func:`options`."""
    if min_cell is None:
        return _CURRENT.get().min_cell
    _check("min_cell", min_cell)
    return min_cell


def resolve_currency(currency: str | None) -> str:
    """``currency`` if given (checked, upper case), else the one set with :func:`options`.

    Examples
    --------
    >>> resolve_currency("usd"), resolve_currency(None)
    ('USD', 'CNY')
    """
    if currency is None:
        return _CURRENT.get().currency
    _check("currency", currency)
    return currency.upper()


def resolve_compare_documents(compare_documents: bool | None = None) -> bool:
    """``compare_documents`` if given, else the value set with :func:`options`."""
    if compare_documents is None:
        return _CURRENT.get().compare_documents
    _check("compare_documents", compare_documents)
    return compare_documents
