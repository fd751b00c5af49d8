"""Small groups, however derived: primary and complementary suppression, safe ``by`` columns.

Three rules keep a group of fewer than ``min_cell`` users out of everything published:

- **Primary suppression** (:func:`suppress_cells`): a cell whose count is below
  ``min_cell`` (and above 0: an empty cell describes nobody) is flagged ``suppressed``.
- **Complementary suppression** (same function, with ``part=``): when a table shows the
  parts of a whole (users by channel with a total row, shares that sum to 100%), one
  hidden part could be recovered by subtracting the visible parts from the total. So
  while the hidden parts of a whole are a single cell, or add up to fewer than
  ``min_cell`` users, the next smallest visible part is hidden too (the total row when no
  part is left).
- **Few users inside a rate** (:func:`few_in_rate`): a proportion ``p`` of ``n`` users
  describes ``p·n`` users in its numerator and ``(1 - p)·n`` in its complement (3 of 40
  retained; 100% minus a 99.7% share). A rate whose numerator or complement is below
  ``min_cell`` is hidden like a small count, and shares of one whole (rates over the same
  ``n`` adding up to 100%) get complementary suppression on their implied counts.
- **Identifying columns** (:func:`check_by_column`): a ``by`` column whose values name
  individuals (the data contract's id columns, any ``*_id`` column, or values that are
  nearly unique) is refused before anything is computed, and only its values with at
  least ``min_cell`` users are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from insights._options import resolve_min_cell

__all__ = [
    "HIDE_VALUE",
    "IDENTIFYING_NAME",
    "NUMERATOR_COLUMNS",
    "PART_COLUMNS",
    "WHOLE_COLUMNS",
    "by_values",
    "check_by_column",
    "few_in_rate",
    "is_rate_metric",
    "publishable",
    "hide_small_numerators",
    "suppress_cells",
    "suppress_table",
]

#: Column names that hold identifiers: ``id``, ``uid``, ``*_id`` / ``*-id`` / ``* id``,
#: ``userid``, ``openid``, ``unionid`` ... (case-insensitive).
IDENTIFYING_NAME = re.compile(
    r"(?i)^(.*[_\-\s.])?(id|uid|uuid|guid|ids)$"
    r"|^(user|customer|member|open|union|referrer|referer|device|order|stream|account|buyer)_?ids?$"
)
#: Columns of metric frames that count the users of a numerator (the users in a share,
#: the retained, the converted ...): a rate of 5 users out of 1,625 describes 5 users.
NUMERATOR_COLUMNS = ("users_in_values", "successes", "retained", "converted", "users", "left")
_UNIQUE_SHARE = 0.5  # more distinct values than this share of users: values name individuals
_SMALL_SHARE = 0.5  # more users than this share in values below min_cell: values name small groups


def suppress_cells(
    data: pl.DataFrame,
    *,
    count: str = "n",
    part: str | None = None,
    by: Sequence[str] = (),
    total: Any = None,
    min_cell: int | None = None,
) -> pl.DataFrame:
    """Flag the cells to hide: small counts, and the complements that protect them.

    Parameters
    ----------
    data
        A tidy frame, one row per cell, with a count column.
    count
        The count column: users the row describes (a numerator as well as a
        denominator: for a share of users, the users in the part).
    part
        The column naming the parts of a whole (e.g. ``"segment"``), or None for primary
        suppression only. The parts' ``count`` values add up to the whole.
    by
        Columns identifying one whole (e.g. ``("metric", "period")``): complementary
        suppression works within each.
    total
        The ``part`` value of the total row (e.g. ``"all"``), hidden itself when no part
        is left to hide. Every whole is taken as known whether or not its total row is
        here (shares summing to 100%, or a total printed in another table or chapter),
        so the parts of a whole without that row, and with None, are protected the same.
    min_cell
        Smallest count shown (default from ``ins.options``).

    Returns
    -------
    polars.DataFrame
        ``data`` (rows and order unchanged) with ``suppressed`` set: true when already
        flagged, when ``count`` is null, when ``0 < count < min_cell`` (primary) or when
        hidden to protect such a cell (complementary). Never mutates ``data``.

    Examples
    --------
    A 4-user channel beside a total: hiding it alone would leave it at 100 - 60 - 36 = 4,
    so the next smallest channel goes too.

    >>> import polars as pl
    >>> f = pl.DataFrame({"segment": ["all", "ads", "organic", "referral"], "n": [100, 60, 36, 4]})
    >>> suppress_cells(f, part="segment", total="all", min_cell=10)["suppressed"].to_list()
    [False, False, True, True]
    """
    min_cell = resolve_min_cell(min_cell)
    if count not in data.columns:
        raise ValueError(f"count: {count!r} is not a column; choose one of {data.columns}")
    for c in [*([part] if part is not None else []), *by]:
        if c not in data.columns:
            raise ValueError(f"{c!r} is not a column; choose one of {data.columns}")
    flagged = (
        pl.col("suppressed").cast(pl.Boolean).fill_null(False)
        if "suppressed" in data.columns
        else pl.lit(False)
    )
    small = pl.col(count).is_null() | ((pl.col(count) > 0) & (pl.col(count) < min_cell))
    out = data.with_columns((flagged | small).alias("suppressed"))
    if part is None:
        return out
    counts = out[count].cast(pl.Float64).to_list()
    hidden = out["suppressed"].to_list()
    parts = out[part].to_list()
    keys = out.select(by).rows() if by else [()] * out.height
    wholes: dict[tuple[Any, ...], list[int]] = {}
    for i, key in enumerate(keys):
        wholes.setdefault(tuple(key), []).append(i)
    for rows in wholes.values():
        _complement(rows, counts, hidden, parts, total, min_cell)
    return out.with_columns(pl.Series("suppressed", hidden, dtype=pl.Boolean))


#: Column set by :func:`suppress_table` on rows whose numbers are hidden but whose counts
#: are not small (a share hidden to protect another share of the same whole).
HIDE_VALUE = "__hide_value"
#: Columns naming the parts of a whole in published tables (the first one present is used).
PART_COLUMNS = ("segment", "layer", "category", "channel", "platform", "source", "arm")
#: Columns that tell one whole from another in a published table (each whole's parts add up).
WHOLE_COLUMNS = ("metric", "outcome", "measure", "period", "quarter", "cohort", "dimension",
                 "experiment", "day", "t")  # fmt: skip


def few_in_rate(value: str | pl.Expr, n: str | pl.Expr, *, min_cell: int) -> pl.Expr:
    """True where a proportion ``value`` of ``n`` users rests on fewer than ``min_cell`` users.

    The numerator ``value · n`` or the complement ``(1 - value) · n``, rounded to whole
    users, lies in ``1 .. min_cell - 1``: the rate tells who those few users are (3 of 40
    retained, or 2 of 40 who left). Proportions only (``0 <= value <= 1``); a null
    ``value`` or ``n`` is false (nothing shown to protect). For a Kaplan–Meier estimate
    ``S(t) · n`` is the users it stands for, not an exact count: the same rule applies.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"value": [0.075, 0.5, 0.95, 1.0, 0.0, 0.238], "n": [40, 40, 40, 40, 40, 40]})
    >>> f.select(few_in_rate("value", "n", min_cell=10))["value"].to_list()
    [True, False, True, False, False, False]
    """
    v = pl.col(value) if isinstance(value, str) else value
    size = pl.col(n) if isinstance(n, str) else n
    v, size = v.cast(pl.Float64), size.cast(pl.Float64)
    k = (v * size).round(0)
    rest = size - k
    few = ((k >= 1) & (k < min_cell)) | ((rest >= 1) & (rest < min_cell))
    return (v.is_between(0.0, 1.0) & few).fill_null(False)


def _share_counts(data: pl.DataFrame, part: str, by: Sequence[str]) -> pl.Series | None:
    """Implied users ``round(value · n)`` of rows that are shares of one whole, else None.

    Shares of one whole: within each ``by`` group, every row has the same ``n`` and the
    ``value`` s (proportions) add up to 1 (within 0.5%): a mix of channels, layers,
    categories. Their implied counts are the parts of ``n``.
    """
    if not {"value", "n"} <= set(data.columns) or not data["value"].dtype.is_numeric():
        return None
    keys = [c for c in by if c in data.columns]
    grouped = data.with_columns(pl.col("value").cast(pl.Float64), pl.col("n").cast(pl.Float64))
    wholes = grouped.group_by(keys or pl.lit(1)).agg(
        (pl.col("n").n_unique() == 1).alias("same_n"),
        ((pl.col("value").sum() - 1).abs() <= 0.005).alias("sum_1"),
        pl.col("value").is_between(0, 1).all().alias("props"),
        (pl.len() >= 2).alias("parts"),
    )
    if (
        not wholes.height
        or not wholes.select(
            (pl.col("same_n") & pl.col("sum_1") & pl.col("props") & pl.col("parts")).all()
        ).item()
    ):
        return None
    return grouped.select((pl.col("value") * pl.col("n")).round(0))["value"]


def suppress_table(
    data: pl.DataFrame, *, n_cols: Sequence[str] = ("n",), min_cell: int | None = None
) -> pl.DataFrame:
    """Complementary suppression for a table about to be published (``format_table``).

    Two kinds of table are protected with :func:`suppress_cells`, within each whole
    (:data:`WHOLE_COLUMNS`): a ``segment`` column holding the total ``"all"`` beside its
    parts, with ``n`` counting their users; and parts (:data:`PART_COLUMNS`, e.g.
    lifecycle ``layer``) whose users are a count column of :data:`NUMERATOR_COLUMNS`
    (e.g. ``users``) beside the whole's ``n``; parts counted by ``n`` without a total row
    (the total may be shown in another table or chapter, so every whole is taken as
    known); and shares of one whole (``value`` proportions over one ``n`` adding up to 1),
    protected on their implied counts ``value · n`` (flagged in column :data:`HIDE_VALUE`:
    the share is hidden, its ``n`` is the whole's and stays). Other tables come back
    unchanged.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"metric": "retention_d30", "segment": ["all", "ios", "android", "web"],
    ...                   "value": [0.3, 0.31, 0.29, 0.25], "n": [500, 300, 196, 4]})
    >>> suppress_table(f, min_cell=10)["suppressed"].to_list()
    [False, False, True, True]
    >>> layers = pl.DataFrame({"layer": ["new", "active", "silent", "churned"],
    ...                        "users": [500, 300, 199, 1], "n": 1000})
    >>> suppress_table(layers, n_cols=("users",), min_cell=10)["suppressed"].to_list()
    [False, False, True, True]
    """
    part = next((c for c in PART_COLUMNS if c in data.columns), None)
    if part is None or data.height < 2:
        return data
    by = [c for c in WHOLE_COLUMNS if c in data.columns and c != part]
    out = data
    for c in [c for c in n_cols if c in NUMERATOR_COLUMNS and c in data.columns]:
        # the users of each part, beside the whole's n: the parts add up to a shown total
        out = suppress_cells(out, count=c, part=part, by=by, min_cell=min_cell)
    has_total = part == "segment" and bool((data["segment"].cast(pl.String) == "all").any())
    if "n" in n_cols and "n" in data.columns and data["n"].dtype.is_numeric():
        shares = _share_counts(data, part, by)
        if shares is not None:  # a mix: 100% minus the shares shown must not give a hidden one
            # the rows keep their n (the whole's size, not small): only their shares are hidden
            implied = data.with_columns(shares.alias("__k")).drop("suppressed", strict=False)
            flags = suppress_cells(implied, count="__k", part=part, by=by, min_cell=min_cell)
            out = out.with_columns(flags["suppressed"].alias(HIDE_VALUE))
        elif has_total and data.height >= 3:
            out = suppress_cells(out, part="segment", by=by, total="all", min_cell=min_cell)
        elif not has_total:  # the whole of these parts may be published elsewhere
            out = suppress_cells(out, part=part, by=by, min_cell=min_cell)
    return out


def _complement(
    rows: list[int],
    counts: list[float | None],
    hidden: list[bool],
    parts: list[Any],
    total: Any,
    min_cell: int,
) -> None:
    """Hide more cells of one whole (in place) until no hidden part can be recovered."""
    totals = [i for i in rows if total is not None and parts[i] == total]
    members = [i for i in rows if i not in totals]
    # a whole without its total row here is protected all the same: its total may be
    # printed in another table or chapter (new users of the quarter, say)
    while True:
        if totals and all(hidden[i] for i in totals):
            return  # the whole is hidden: the parts cannot be subtracted from it
        gone = [i for i in members if hidden[i]]
        if not gone:
            return
        mass = sum(counts[i] or 0.0 for i in gone)
        if len(gone) > 1 and not 0 < mass < min_cell:
            return
        shown = [i for i in members if not hidden[i]]
        # a part with users, smallest first (hiding an empty part adds nothing to the mass)
        candidates = sorted(
            (i for i in shown if (counts[i] or 0.0) > 0), key=lambda i: (counts[i], i)
        ) or sorted(shown, key=lambda i: (counts[i] or 0.0, i))
        if candidates and (len(gone) == 1 or (counts[candidates[0]] or 0.0) > 0):
            hidden[candidates[0]] = True
        else:  # every part with users is hidden and their sum is small: hide the whole
            for i in totals or members:
                hidden[i] = True
            return


def hide_small_numerators(
    data: pl.DataFrame,
    *,
    min_cell: int | None = None,
    part: str | None = None,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """Blank the rows that describe fewer than ``min_cell`` users through a numerator.

    A row flagged ``suppressed``, whose :data:`NUMERATOR_COLUMNS` count is in
    ``1..min_cell-1``, or whose rate ``value`` of ``n`` rests on fewer than ``min_cell``
    users (:func:`few_in_rate`; rows of a rate ``metric``, or every row when the frame
    has no ``metric`` and its values lie in [0, 1]) gets ``n``, ``value``, ``ci_low``, ``ci_high`` and the numerator
    set to null (what figures treat as a hidden group). With ``part`` (the column naming
    the parts, e.g. the x axis) and shares of users (``users_in_values`` or ``users``:
    parts of one whole, e.g. lifecycle layers or platform mix; or shares ``value`` over
    one ``n`` adding up to 100%, protected on their implied counts), complementary
    suppression (:func:`suppress_cells`, within each ``by`` group) hides one more part
    so that 100% minus the parts shown does not give the hidden one back. Never mutates
    ``data``.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"segment": ["douyin", "kuaishou", "weibo"], "value": [0.6, 0.397, 0.003],
    ...                   "n": 1625, "users_in_values": [975, 645, 5]})
    >>> hide_small_numerators(f, min_cell=10)["n"].to_list()
    [1625, 1625, None]
    >>> hide_small_numerators(f, min_cell=10, part="segment")["n"].to_list()  # 100% - 60% - 39.7%
    [1625, None, None]
    """
    min_cell = resolve_min_cell(min_cell)
    shares = [c for c in ("users_in_values", "users") if c in data.columns]
    wholes = [c for c in WHOLE_COLUMNS if c in data.columns and c != part]  # metric, period ...
    keys = list(dict.fromkeys([*(c for c in by if c in data.columns), *wholes]))
    if part is not None and part in data.columns and shares:
        data = suppress_cells(data, count=shares[0], part=part, by=keys, min_cell=min_cell)
    elif (
        part is not None
        and part in data.columns
        and (implied := _share_counts(data, part, keys)) is not None
    ):  # shares of one whole without their users: protect the implied counts
        flags = suppress_cells(
            data.with_columns(implied.alias("__k")).drop("suppressed", strict=False),
            count="__k", part=part, by=keys, min_cell=min_cell,
        )  # fmt: skip
        data = data.with_columns(flags["suppressed"].alias("__share"))
    rates = _rate_rows(data)
    small = pl.lit(False)
    if "__share" in data.columns:
        small = small | pl.col("__share")
    if rates is not None and {"value", "n"} <= set(data.columns):  # 3 of 40 retained
        small = small | (rates & few_in_rate("value", "n", min_cell=min_cell))
    if "suppressed" in data.columns:
        small = small | pl.col("suppressed").cast(pl.Boolean).fill_null(False)
    numerators = [c for c in NUMERATOR_COLUMNS if c in data.columns]
    for c in numerators:
        small = small | ((pl.col(c) > 0) & (pl.col(c) < min_cell)).fill_null(False)
    if part is not None and part in data.columns and "n" in data.columns:
        # the users of each part (a figure prints n under each label): with every row hidden
        # so far, a total printed elsewhere minus the parts drawn must not give one back
        flagged = data.with_columns(small.alias("suppressed")).drop("__share", strict=False)
        parts = suppress_cells(flagged, count="n", part=part, by=keys, min_cell=min_cell)
        data = data.with_columns(parts["suppressed"].alias("__share"))
        small = pl.col("__share")
    blank = [c for c in ("n", "value", "ci_low", "ci_high", *numerators) if c in data.columns]
    out = data.with_columns(pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in blank)
    return out.drop("__share", strict=False)


def publishable(data: pl.DataFrame, *, n: str = "n", min_cell: int | None = None) -> pl.DataFrame:
    """The rows of a metric frame that may be published on their own.

    Kept: rows with ``n >= min_cell``, not flagged ``suppressed``, and whose rate (a
    rate ``metric``'s ``value``) does not rest on fewer than ``min_cell`` users in its
    numerator or complement (:func:`few_in_rate`). Use it before deriving new numbers
    from rows (a difference from the largest segment, a test between segments): a
    difference from a shown rate gives a hidden rate back.

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> f = pl.DataFrame({"metric": "retention_d30", "segment": ["a", "b", "c"],
    ...                   "value": [0.4, 0.075, 0.5], "n": [500, 40, 4]})
    >>> ins.publishable(f, min_cell=10)["segment"].to_list()
    ['a']
    """
    min_cell = resolve_min_cell(min_cell)
    if n not in data.columns:
        raise ValueError(f"n: {n!r} is not a column; choose one of {data.columns}")
    keep = pl.col(n).is_not_null() & (pl.col(n) >= min_cell)
    if "suppressed" in data.columns:
        keep = keep & ~pl.col("suppressed").cast(pl.Boolean).fill_null(False)
    rates = _rate_rows(data)
    if rates is not None and "metric" in data.columns:
        keep = keep & ~(rates & few_in_rate("value", n, min_cell=min_cell))
    return data.filter(keep)


def is_rate_metric(metric: Any) -> bool:
    """Whether the metric id ``metric`` is a registered rate (a proportion of users).

    Examples
    --------
    >>> is_rate_metric("retention_d30"), is_rate_metric("aov"), is_rate_metric("no_such_metric")
    (True, False, False)
    """
    return _metric_unit(metric) == "rate"


def _metric_unit(metric: Any) -> str | None:
    """The registered unit of the metric id ``metric``; None when the registry does not know it."""
    from insights._registry import metric_info

    try:
        return metric_info(str(metric)).unit
    except (KeyError, ValueError):
        return None


def _rate_rows(data: pl.DataFrame) -> pl.Expr | None:
    """Rows whose ``value`` is a proportion: a registered rate metric; for a metric id the
    registry does not know (or without a ``metric`` column), when every value and CI
    bound of the frame lies in [0, 1]."""
    if "value" not in data.columns or not data["value"].dtype.is_numeric():
        return None
    bounds = [c for c in ("value", "ci_low", "ci_high") if c in data.columns]
    within = pl.all_horizontal(pl.col(c).is_between(0, 1) | pl.col(c).is_null() for c in bounds)
    inside = bool(data.select(within.all()).item())
    if "metric" not in data.columns:
        return pl.lit(inside)
    flags = [
        inside if (u := _metric_unit(m)) is None else u == "rate" for m in data["metric"].to_list()
    ]
    return pl.lit(pl.Series(flags, dtype=pl.Boolean))


def by_values(users: Any, by: str, *, min_cell: int | None = None) -> pl.DataFrame:
    """Users per value of the users column ``by``: ``segment, n``, most users first.

    ``users`` is the users table (a narwhals or Polars frame, lazy or eager); users
    without a value are left out. Raises ``ValueError`` (see :func:`check_by_column`)
    when ``by`` identifies individuals; the values with fewer than ``min_cell`` users are
    dropped from the result (never shown, not even their names).

    Examples
    --------
    >>> import polars as pl
    >>> users = pl.DataFrame({"user_id": range(30), "platform": ["a"] * 18 + ["b"] * 10 + ["c"] * 2})
    >>> by_values(users, "platform", min_cell=10).rows()
    [('a', 18), ('b', 10)]
    """
    import narwhals as nw

    from insights.data._backend import collect

    frame = nw.from_native(users)
    if isinstance(frame, nw.DataFrame):
        frame = frame.lazy()
    min_cell = resolve_min_cell(min_cell)
    columns = frame.collect_schema().names()
    if by not in columns:
        raise ValueError(f"by: {by!r} is not a users column; choose one of {columns}")
    total = collect(frame.select(nw.len().alias("n")))["n"][0]
    values = frame.filter(~nw.col(by).is_null()).select(nw.col(by).cast(nw.String).alias("segment"))
    counts = collect(values.group_by("segment").agg(nw.len().alias("n")))
    counts = counts.sort(["n", "segment"], descending=[True, False])
    check_by_column(counts, by, users=int(total), min_cell=min_cell)
    return counts.filter(pl.col("n") >= min_cell)


def check_by_column(
    counts: pl.DataFrame, by: str, *, users: int, min_cell: int | None = None
) -> None:
    """Refuse a ``by`` column whose values identify individuals.

    The message names the table and column and never a value. Refused: an id column
    (the data contract's ``id`` columns, and any name matching :data:`IDENTIFYING_NAME`:
    ``user_id``, ``referrer_id``, ``openid`` ...); values nearly unique (more distinct
    values than half the users); or values mostly tiny (more than half of the users with
    a value in values below ``min_cell`` users).

    Parameters
    ----------
    counts
        ``segment, n``: users per value (users without a value left out).
    by
        The column's name.
    users
        Users in the table.
    min_cell
        Smallest group shown (default from ``ins.options``).

    Examples
    --------
    >>> import polars as pl
    >>> check_by_column(pl.DataFrame({"segment": ["a", "b"], "n": [60, 40]}), "platform", users=100)
    >>> check_by_column(pl.DataFrame({"segment": ["u1"], "n": [1]}), "referrer_id", users=100)
    Traceback (most recent call last):
    ...
    ValueError: by: users.referrer_id identifies individuals (an id column); split by a grouping column such as platform or channel
    """
    from insights.data.contract import CONTRACT

    min_cell = resolve_min_cell(min_cell)
    ids = {c.name for spec in CONTRACT.values() for c in spec.columns if c.kind == "id"}
    advice = "split by a grouping column such as platform or channel"
    where = f"by: users.{by} identifies individuals"
    if by in ids or IDENTIFYING_NAME.match(by):
        raise ValueError(f"{where} (an id column); {advice}")
    with_value = int(counts["n"].sum()) if counts.height else 0
    if with_value == 0:
        return
    distinct = counts.height
    if distinct > 1 and distinct > _UNIQUE_SHARE * with_value:
        raise ValueError(
            f"{where}: {distinct:,} distinct values for {with_value:,} users with a value "
            f"(nearly one per user); {advice}"
        )
    in_small = int(counts.filter(pl.col("n") < min_cell)["n"].sum())
    if min_cell > 1 and in_small > _SMALL_SHARE * with_value:
        raise ValueError(
            f"{where}: {in_small:,} of {with_value:,} users are in values with fewer than "
            f"min_cell={min_cell} users; {advice}"
        )
