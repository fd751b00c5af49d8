"""The quarterly growth table: active and new users, QoQ/YoY growth, conversion and CAC.

:func:`growth_table` stacks, per quarter (and segment), the existing headline
metrics (:func:`insights.metrics.activity.active_users`,
:func:`insights.metrics.growth.new_users`,
:func:`insights.metrics.purchase.first_purchase_conversion`,
:func:`insights.metrics.growth.cac`) and the quarter-on-quarter and
year-on-year growth of the user counts, into one tidy frame.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import polars as pl

from insights.data.dataset import Dataset, EmptyPeriodWarning, warn_empty
from insights.metrics._periods import PeriodLike, default_quarters, parse_periods, previous_quarter
from insights.metrics._segments import Where
from insights.metrics.activity import active_users
from insights.metrics.growth import cac, new_users, partial_periods
from insights.metrics.purchase import first_purchase_conversion
from insights.stats.proportions import z_value

__all__ = [
    "growth_table",
]

_COLUMNS = [
    "metric", "segment", "period", "value", "ci_low", "ci_high", "n", "base_period", "partial",
]  # fmt: skip


def count_growth(
    data: pl.DataFrame,
    *,
    lags: dict[str, dict[str, str]],
    ci: bool,
    alpha: float = 0.05,
    partial: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Growth ``count / count(base) - 1`` of a per-segment count series (small Polars frame).

    ``data`` (the counts) has ``metric, segment, period, n``; ``lags`` maps a suffix (``"qoq"``)
    to ``{period: base_period}``. With ``ci``, the interval treats the two counts as
    independent Poisson counts (log ratio ± z·sqrt(1/n + 1/n_base), minus 1) — right
    for disjoint sets such as users acquired in two quarters, not for overlapping
    ones such as active users (``ci=False`` there). Null when the base count is 0.

    ``partial`` (``period, partial``) flags the periods not wholly inside the data:
    the output's ``partial`` is True when the period or its base is partial, and
    then value and CI are null (a count over part of a quarter against a whole one
    is no growth). Without it, ``partial`` is null.

    Examples
    --------
    >>> c = pl.DataFrame({"metric": "new_users", "segment": "all", "period": ["2024Q1", "2024Q2"], "n": [100, 150]})
    >>> count_growth(c, lags={"qoq": {"2024Q2": "2024Q1"}}, ci=False)["value"].to_list()
    [0.5]
    >>> flags = pl.DataFrame({"period": ["2024Q1", "2024Q2"], "partial": [True, False]})
    >>> count_growth(c, lags={"qoq": {"2024Q2": "2024Q1"}}, ci=False, partial=flags).select("value", "partial").row(0)
    (None, True)
    """
    z = z_value(alpha)
    counts = data
    out = []
    for suffix, pairs in lags.items():
        link = pl.DataFrame(
            {"period": list(pairs), "base_period": list(pairs.values())},
            schema={"period": pl.String, "base_period": pl.String},
        )
        base = counts.select(
            "segment", pl.col("period").alias("base_period"), pl.col("n").alias("base_n")
        )
        g = counts.join(link, on="period").join(base, on=["segment", "base_period"], how="left")
        ok = (pl.col("base_n") > 0) & (pl.col("n") > 0)
        half = z * (1.0 / pl.col("n") + 1.0 / pl.col("base_n")).sqrt()
        log_r = (pl.col("n") / pl.col("base_n")).log()
        if partial is None:
            g = g.with_columns(partial=pl.lit(None, dtype=pl.Boolean))
        else:
            flags = partial.select("period", pl.col("partial").cast(pl.Boolean))
            base_flags = flags.rename({"period": "base_period", "partial": "base_partial"})
            g = (
                g.join(flags, on="period", how="left")
                .join(base_flags, on="base_period", how="left")
                .with_columns(partial=pl.col("partial") | pl.col("base_partial"))
            )
        whole = ~pl.col("partial").fill_null(value=False)
        g = g.with_columns(
            metric=pl.col("metric") + f"_{suffix}",
            value=pl.when((pl.col("base_n") > 0) & whole).then(
                pl.col("n") / pl.col("base_n") - 1.0
            ),
            ci_low=pl.when(ok & ci & whole).then((log_r - half).exp() - 1.0),
            ci_high=pl.when(ok & ci & whole).then((log_r + half).exp() - 1.0),
        )
        out.append(g.select(_COLUMNS))
    schema: dict[str, type[pl.DataType]] = dict.fromkeys(_COLUMNS, pl.String) | {
        c: pl.Float64 for c in ("value", "ci_low", "ci_high")
    }
    schema["n"] = pl.Int64
    schema["partial"] = pl.Boolean
    return pl.concat([o.cast(schema) for o in out]) if out else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


def growth_table(
    dataset: Dataset,
    *,
    period: PeriodLike | Sequence[PeriodLike] | None = None,
    by: str | None = None,
    where: Where = None,
    window: int = 30,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Active and new users per quarter with QoQ/YoY growth, first-purchase conversion and CAC.

    Parameters
    ----------
    dataset
        The data; ``orders`` and ``spend`` are optional (without them, no
        first-purchase or CAC rows).
    period
        A quarter or a list of quarters (default: the five quarters ending with the
        one holding ``as_of``). The previous and year-earlier quarters are counted
        too, for growth.
    by
        A users column (``channel``, ``platform``, ``city_tier``, ``generation``,
        ``category``, ...) to split every row by. CAC rows appear only when ``by`` is
        None or a ``spend`` column (``channel``/``platform``).
    where
        A filter on users columns, applied to every row. CAC rows appear only when
        ``where`` is None or a mapping of ``spend`` columns (spend is not per user).
    window
        First-purchase conversion window in days.
    alpha
        1 - confidence level.

    Returns
    -------
    polars.DataFrame
        ``metric, segment, period, value, ci_low, ci_high, n, base_period, partial``,
        sorted by metric, segment, quarter. Metrics: ``active_users`` and ``new_users``
        (value = n = count); ``*_qoq`` / ``*_yoy`` (value = count / base count - 1,
        ``n`` = count, ``base_period`` = the comparison quarter; Poisson log-ratio CI
        for new users, whose quarters are disjoint sets, none for active users, whose
        quarters overlap); ``first_purchase_{window}d`` (Wilson CI; only users
        observable for ``window`` days); ``cac`` (no CI, ``n`` = new users).
        ``partial`` is True when the quarter is not wholly inside the data (it
        starts before the first day of the data, ``export_start`` or the first user
        seen, or ends after ``as_of``): its counts cover part of it. A growth row is
        partial when its quarter or its base quarter is, and then its value and CI
        are null.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [dt.datetime(2024, 1, 5), dt.datetime(2024, 4, 5), dt.datetime(2024, 5, 5)]})
    >>> t = ins.growth_table(ins.frames_dataset(users=users, as_of="2024-06-30"), period=["2024Q1", "2024Q2"])
    >>> t.filter(metric="new_users_qoq").select("period", "value", "partial").rows()  # data start 2024-01-05
    [('2024Q1', None, True), ('2024Q2', None, True)]
    """
    ps = parse_periods(period if period is not None else default_quarters(dataset.as_of))
    labels = [p.label for p in ps]
    qoq = {p.label: previous_quarter(p).label for p in ps}
    yoy = {p.label: previous_quarter(p, years=1).label for p in ps}
    every = list(dict.fromkeys([*labels, *qoq.values(), *yoy.values()]))
    with warnings.catch_warnings():  # the comparison quarters may well be empty
        warnings.simplefilter("ignore", EmptyPeriodWarning)
        active = active_users(dataset, period=every, by=by, where=where)
        new = new_users(dataset, period=every, by=by, where=where)
    active = active.select("metric", "segment", "period", "n")
    new = new.select("metric", "segment", "period", "n")
    seen = set(active.filter(pl.col("n") > 0)["period"])
    warn_empty("growth_table", [q for q in labels if q not in seen])  # a shown quarter is empty
    lags = {"qoq": qoq, "yoy": yoy}
    flags = partial_periods(dataset, parse_periods(every))
    parts = [
        count_growth(active, lags=lags, ci=False, alpha=alpha, partial=flags),
        count_growth(new, lags=lags, ci=True, alpha=alpha, partial=flags),
    ]
    for frame in (active, new):
        parts.append(
            frame.filter(pl.col("period").is_in(labels)).with_columns(
                value=pl.col("n").cast(pl.Float64),
                ci_low=pl.lit(None, dtype=pl.Float64),
                ci_high=pl.lit(None, dtype=pl.Float64),
                base_period=pl.lit(None, dtype=pl.String),
                partial=pl.lit(None, dtype=pl.Boolean),
            )
        )
    if dataset.has("orders"):
        parts.extend(
            first_purchase_conversion(
                dataset, period=p, window=window, by=by, where=where, alpha=alpha
            )
            for p in ps
        )
    if dataset.has("spend"):
        spend_cols = dataset.table("spend").collect_schema().names()
        where_ok = where is None or (
            isinstance(where, Mapping) and all(c in spend_cols for c in where)
        )
        if (by is None or by in spend_cols) and where_ok:
            parts.extend(cac(dataset, period=p, by=by, where=where) for p in ps)
    order = {label: i for i, label in enumerate(every)}
    out = pl.concat(
        [
            x.with_columns(
                *(pl.lit(None, dtype=pl.String).alias(c) for c in _COLUMNS if c not in x.columns)
            )
            .select(_COLUMNS)
            .cast(
                {
                    "n": pl.Int64,
                    "value": pl.Float64,
                    "ci_low": pl.Float64,
                    "ci_high": pl.Float64,
                    "partial": pl.Boolean,
                }
            )
            for x in parts
        ]
    )
    level = pl.col("partial").is_null()  # the level rows: the flag of their own quarter
    out = (
        out.join(flags.rename({"partial": "__own"}), on="period", how="left")
        .with_columns(
            pl.when(level).then(pl.col("__own")).otherwise(pl.col("partial")).alias("partial")
        )
        .drop("__own")
    )
    keep = out.filter(pl.col("period").is_in(labels))
    rank = pl.col("period").replace_strict(order, return_dtype=pl.Int64)
    return keep.sort("metric", "segment", rank)
