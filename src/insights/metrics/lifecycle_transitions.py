"""Lifecycle transition matrices: where the users of each layer at one date are at the next date.

Layers are those of :func:`insights.metrics.lifecycle.lifecycle_layers`. For each
consecutive pair of dates, users acquired after the first date (and on or before the
second) start in the row ``"not_yet_acquired"``; users acquired after the second date
are left out. The per-user layers at all dates come from one pass over the activity
days in the data engine; only the from x to counts are collected.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import polars as pl

from insights._options import resolve_min_cell
from insights.data._backend import collect
from insights.data.dataset import Dataset
from insights.metrics._common import headline, wilson
from insights.metrics._segments import Where, users_frame
from insights.metrics.activity_days import as_of_day
from insights.metrics.lifecycle import LAYERS, AtLike, _resolve_at, at_list, wide_layers

__all__ = ["FROM_LAYERS", "NOT_YET_ACQUIRED", "lifecycle_transitions"]

#: Row label of users acquired between the two dates.
NOT_YET_ACQUIRED = "not_yet_acquired"
#: The from-layers (rows), in reporting order; the to-layers are ``LAYERS``.
FROM_LAYERS = (NOT_YET_ACQUIRED, *LAYERS)


def _transition_counts(
    dataset: Dataset, days: list[int], users: nw.LazyFrame[Any], windows: dict[str, int]
) -> pl.DataFrame:
    """``_pair, segment, from_layer, to_layer, users`` for each consecutive pair of ``days``.

    One pass: the per-user layers at every day side by side (lazy), then one group-by
    per segment summing a 0/1 indicator per (pair, from, to) cell; one collect.
    """
    wide = wide_layers(dataset, users, days, **windows)
    sums = []
    for j in range(len(days) - 1):
        before = nw.col(f"_layer_{j}").fill_null(NOT_YET_ACQUIRED)
        after = nw.col(f"_layer_{j + 1}")
        for a in FROM_LAYERS:
            for b in LAYERS:
                hit = ((before == a) & (after == b)).fill_null(value=False)
                sums.append(hit.cast(nw.Int64).sum().alias(f"{j}|{a}|{b}"))
    counts = collect(wide.group_by("segment").agg(*sums))
    long = counts.unpivot(index="segment", variable_name="_key", value_name="users")
    return long.with_columns(
        pl.col("_key")
        .str.split_exact("|", 2)
        .struct.rename_fields(["_pair", "from_layer", "to_layer"])
    ).unnest("_key")


def _finish(counts: pl.DataFrame, labels: list[str], alpha: float, min_cell: int) -> pl.DataFrame:
    """Full from x to grid per (pair, segment), row shares with Wilson CIs, small cells hidden."""
    counts = counts.with_columns(pl.col("_pair", "users").cast(pl.Int64))
    order_from = pl.DataFrame({"from_layer": list(FROM_LAYERS), "_fo": range(len(FROM_LAYERS))})
    order_to = pl.DataFrame({"to_layer": list(LAYERS), "_to": range(len(LAYERS))})
    pairs = pl.DataFrame({"_pair": range(len(labels)), "period": labels}).with_columns(
        pl.col("_pair").cast(pl.Int64)
    )
    grid = (
        pairs.join(counts.select("segment").unique(), how="cross")
        .join(order_from, how="cross")
        .join(order_to, how="cross")
    )
    df = (
        grid.join(counts, on=["_pair", "segment", "from_layer", "to_layer"], how="left")
        .with_columns(pl.col("users").fill_null(0).cast(pl.Int64))
        .with_columns(n=pl.col("users").sum().over("_pair", "segment", "from_layer"))
    )
    df = wilson(df, successes="users", n="n", alpha=alpha)
    small = (pl.col("users") > 0) & (pl.col("users") < min_cell)
    df = df.with_columns(
        *(
            pl.when(~small).then(pl.col(c)).alias(c)
            for c in ("value", "ci_low", "ci_high", "users")
        ),
        small.alias("suppressed"),
    )
    out = headline(
        df, "lifecycle_transition_share", labels[0], order=("_pair", "segment", "_fo", "_to")
    )
    return out.select(*out.columns[:7], "from_layer", "to_layer", "users", "suppressed")


def lifecycle_transitions(
    dataset: Dataset,
    *,
    at: list[AtLike],
    new_days: int = 30,
    active_days: int = 30,
    silent_days: int = 90,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
    min_cell: int | None = None,
) -> pl.DataFrame:
    """Transition matrices of lifecycle layers between each pair of consecutive dates of ``at``.

    ``at = [d0, d1, ...]`` (at least two, increasing): for each pair (d_j, d_j+1), each
    user first seen on or before d_j+1 has a to-layer at d_j+1 and a from-layer at d_j
    (``"not_yet_acquired"`` when first seen after d_j). Dates are dates or periods
    (their last day), as in :func:`insights.metrics.lifecycle.lifecycle_layers`, with
    the same windows; ``at=["2024Q1", "2024Q2", "2024Q3"]`` gives the quarter-to-quarter
    matrices. All pairs come from one pass over the activity days and one collect.

    Parameters
    ----------
    dataset
        The data (``as_of`` must be on or after the last date).
    at
        Two or more dates or periods, in increasing order.
    new_days, active_days, silent_days
        Layer windows in days (see :func:`insights.metrics.lifecycle.lifecycle_layers`).
    by, where
        Users column giving ``segment`` (``"all"`` when None) and a filter on users
        columns.
    alpha
        1 - confidence level of the Wilson intervals.
    min_cell
        Cells with fewer users are suppressed (see Returns). Default from
        ``ins.options`` (10 unless set).

    Returns
    -------
    polars.DataFrame
        One row per pair x segment x from-layer x to-layer (every combination, rows
        in the order of the pairs, then ``FROM_LAYERS`` x ``LAYERS``): metric
        ``"lifecycle_transition_share"``, ``period`` = ``"<d_j>-><d_j+1>"`` (e.g.
        ``"2024Q1->2024Q2"``), ``value`` = share of the from-layer's users who are in
        the to-layer (a row share), Wilson interval, ``n`` = users in the from-layer
        (row total); extra columns ``from_layer``, ``to_layer``, ``users`` (the cell
        count) and ``suppressed``. A cell with ``0 < users < min_cell`` is kept,
        flagged ``suppressed`` and its ``users``, ``value`` and CI are null; row totals
        ``n`` stay (complementary suppression is not attempted).

    Raises
    ------
    ValueError
        When ``at`` has fewer than two dates or is not increasing, the last date is
        after ``as_of``, or ``min_cell`` < 0.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 20)]})
    >>> ds = ins.frames_dataset(users=users, as_of="2024-09-30")
    >>> out = ins.lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], min_cell=0)
    >>> out.filter(pl.col("users") > 0).select("from_layer", "to_layer", "users").rows()
    [('not_yet_acquired', 'new', 1), ('silent', 'churned', 1)]
    >>> three = ins.lifecycle_transitions(ds, at=["2024Q1", "2024Q2", "2024Q3"], min_cell=0)
    >>> three["period"].unique(maintain_order=True).to_list()
    ['2024Q1->2024Q2', '2024Q2->2024Q3']
    """
    min_cell = resolve_min_cell(min_cell)
    dates = at_list(at)
    if len(dates) < 2:
        raise ValueError(
            f"at must name at least two dates or periods (transitions from each to the next), got {at!r}"
        )
    resolved = [_resolve_at(d) for d in dates]
    for (d0, l0), (d1, l1) in zip(resolved[:-1], resolved[1:], strict=True):
        if d1 <= d0:
            raise ValueError(f"at must be increasing: {l1} is not after {l0}")
    last_day, last_label = resolved[-1]
    if last_day > as_of_day(dataset):
        raise ValueError(
            f"lifecycle layers at {last_label} need data up to that day; as_of is {dataset.as_of:%Y-%m-%d}"
        )
    windows = {"new_days": new_days, "active_days": active_days, "silent_days": silent_days}
    users = users_frame(dataset, by=by, where=where)
    counts = _transition_counts(dataset, [d for d, _ in resolved], users, windows)
    labels = [f"{a}->{b}" for (_, a), (_, b) in zip(resolved[:-1], resolved[1:], strict=True)]
    return _finish(counts, labels, alpha, min_cell)
