"""The KPI scorecard: headline metrics of a quarter, next to a comparison quarter."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import polars as pl

from insights._options import resolve_min_cell
from insights._progress import progress as progress_bar
from insights.data._cache import remembered
from insights.data.dataset import Dataset, EmptyPeriodWarning, MissingTableError
from insights.metrics._common import NOT_OBSERVED
from insights.metrics._periods import Period, comparison_period, parse_period
from insights.metrics._segments import Where
from insights.metrics.activity import activity_90d
from insights.metrics.community import community_exit_rate, public_to_private_conversion
from insights.metrics.growth import cac
from insights.metrics.interaction import interaction_rate
from insights.metrics.purchase import (
    aov,
    first_purchase_conversion,
    repurchase_cycle,
    repurchase_rate,
)
from insights.metrics.retention import retention_rates

__all__ = ["kpi_scorecard", "KPIS", "WINDOWS"]

#: KPI id -> the metric call for one quarter: ``call(dataset, quarter_label, by)``
KPIS: dict[str, Callable[..., pl.DataFrame]] = {
    "retention_d7": lambda ds, q, by: _retention(ds, q, by).filter(pl.col("day") == 7),
    "retention_d30": lambda ds, q, by: _retention(ds, q, by).filter(pl.col("day") == 30),
    "retention_d60": lambda ds, q, by: _retention(ds, q, by).filter(pl.col("day") == 60),
    "repurchase_60d": lambda ds, q, by: repurchase_rate(ds, period=q, by=by),
    "active_90d": lambda ds, q, by: activity_90d(ds, period=q, by=by),
    "first_purchase_30d": lambda ds, q, by: first_purchase_conversion(ds, period=q, by=by),
    "aov": lambda ds, q, by: aov(ds, period=q, by=by),
    "interaction_rate": lambda ds, q, by: interaction_rate(ds, period=q, by=by),
    "public_to_private_conversion_30d": lambda ds, q, by: public_to_private_conversion(
        ds, period=q, by=by
    ),
    "community_exit_rate_90d": lambda ds, q, by: community_exit_rate(ds, period=q, by=by),
    "cac": lambda ds, q, by: cac(ds, period=q, by=by),
    "repurchase_cycle_median_days": lambda ds, q, by: repurchase_cycle(ds, period=q, by=by),
}


#: KPI id -> (days each cohort member is followed, how a window not yet complete for
#: every member is estimated): ``"km"`` Kaplan–Meier with the members followed for
#: fewer days censored, ``"complete"`` only the members whose whole window is observed.
#: ``repurchase_cycle_median_days`` is a Kaplan–Meier median of the gaps starting in the
#: quarter, without a fixed window (final once every open gap is followed past it).
WINDOWS: dict[str, tuple[int, str]] = {
    "retention_d7": (7, "km"),
    "retention_d30": (30, "km"),
    "retention_d60": (60, "km"),
    "repurchase_60d": (60, "complete"),
    "first_purchase_30d": (30, "complete"),
    "public_to_private_conversion_30d": (30, "complete"),
    "community_exit_rate_90d": (90, "km"),
}

_RETENTION_CACHE: dict[tuple[int, str, str | None], pl.DataFrame] = {}

#: the ``progress`` of the running :func:`kpi_scorecard` call (kept out of the results-cache key)
_PROGRESS: ContextVar[bool | None] = ContextVar("kpi_scorecard_progress", default=None)


def _retention(ds: Dataset, quarter: str, by: str | None) -> pl.DataFrame:
    """D7/D30/D60 from one Kaplan–Meier fit (the lifetimes are the costly part).

    Cached for the duration of one :func:`kpi_scorecard` call (it clears the cache).
    """
    key = (id(ds), quarter, by)
    if key not in _RETENTION_CACHE:
        _RETENTION_CACHE[key] = retention_rates(ds, period=quarter, timeline=(7, 30, 60), by=by)
    return _RETENTION_CACHE[key]


def _one_quarter(
    dataset: Dataset, quarter: Period, by: str | None, notes: list[str], bar: Any
) -> list[pl.DataFrame]:
    # every quarter is observed with all the data (to ``as_of``): the quarter defines the
    # cohort, not the end of observation; a window not yet observed is marked provisional
    ds = dataset
    frames = []
    skip = _not_meaningful(dataset)
    for kpi, call in KPIS.items():
        bar.set_postfix_str(f"{kpi} {quarter.label}", refresh=False)
        if kpi in skip:
            bar.update(1)
            continue
        frame = _one_kpi(ds, kpi, call, quarter, by, notes)
        bar.update(1)
        if frame is not None:
            frames.append(_completeness(frame, kpi, quarter, ds.as_of.date(), notes))
    return frames


def _completeness(
    frame: pl.DataFrame, kpi: str, quarter: Period, as_of: dt.date, notes: list[str]
) -> pl.DataFrame:
    """Add ``complete`` and ``observed_to`` to one KPI's rows of one quarter, with a note when provisional.

    ``complete`` is true when the number is final: the quarter is over by ``as_of`` and,
    for a KPI with a window (:data:`WINDOWS`), every cohort member's whole window is
    observed (quarter end + window <= ``as_of``); for the repurchase cycle, every gap
    starting in the quarter is followed past the median. ``observed_to`` (null when
    complete) is the last start day whose window is observed (the ``as_of`` day for a
    KPI without a window in a quarter not yet over).
    """
    days, how = WINDOWS.get(kpi, (0, ""))
    followed = (as_of - quarter.end).days  # least follow-up of anyone starting in the quarter
    if kpi == "repurchase_cycle_median_days":
        complete = pl.col("value").is_not_null() & (pl.col("value") <= followed)
        last = as_of
    else:
        complete = pl.lit(followed >= days)
        last = min(quarter.end, as_of - dt.timedelta(days=days))
    out = frame.with_columns(complete.fill_null(False).alias("complete")).with_columns(
        pl.when(pl.col("complete")).then(None).otherwise(pl.lit(last)).alias("observed_to")
    )
    provisional = out.filter(
        ~pl.col("complete") & (pl.col("status") != NOT_OBSERVED).fill_null(True)
    )
    if provisional.height:
        if followed < 0:
            why = f"the quarter runs to {quarter.end}, the data to {as_of}"
        elif how == "complete":
            why = (
                f"only starts to {last} are counted (their {days}-day window is observed by "
                f"{as_of})"
            )
        elif how == "km":
            why = (
                f"a Kaplan–Meier estimate: members starting after {last} are followed for "
                f"fewer than {days} days (censored)"
            )
        else:
            why = f"gaps starting in the quarter are followed for at least {followed} days only"
        notes.append(f"{kpi} {quarter.label}: provisional, {why}")
    return out


def _not_meaningful(dataset: Dataset) -> dict[str, str]:
    """KPIs the data cannot give a meaning to, with why (said once in the notes).

    * Users derived from orders: every user has bought, so first-purchase conversion
      is 100% by construction.
    * Activity recorded only as orders and no ``churn_gap`` chosen for the data: a
      30-day idle gap between purchases is not churn, so the D7/D30/D60 retention
      KPIs are left to the purchase-based measures (repurchase, repurchase cycle).
    """
    meta = dataset.meta or {}
    keys = {str(d.get("key")) for d in meta.get("derivations") or () if isinstance(d, dict)}
    out: dict[str, str] = {}
    if "users_from_orders" in keys:
        out["first_purchase_30d"] = "users are derived from orders, so it is 100% by construction"
    orders_only = meta.get("activity") == "orders"
    if orders_only and getattr(dataset, "churn_gap", None) is None:
        why = "activity is recorded only as orders (set churn_gap to measure it anyway)"
        out.update({k: why for k in ("retention_d7", "retention_d30", "retention_d60")})
    return out


def _one_kpi(
    ds: Dataset,
    kpi: str,
    call: Callable[..., pl.DataFrame],
    quarter: Period,
    by: str | None,
    notes: list[str],
) -> pl.DataFrame | None:
    """One KPI of one quarter, or None with a note when it is skipped, not computable or empty."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EmptyPeriodWarning)
            out = call(ds, quarter.label, by)
    except MissingTableError as exc:
        notes.append(f"{kpi}: skipped, {exc}")
        return None
    except ValueError as exc:
        notes.append(f"{kpi} {quarter.label}: not computable ({exc})")
        return None
    for w in caught:  # an empty quarter is a note of the scorecard, like a skipped KPI
        if issubclass(w.category, EmptyPeriodWarning):
            notes.append(f"{kpi} {quarter.label}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if out.height == 0:
        return None
    status = pl.col("status") if "status" in out.columns else pl.lit(None)
    out = out.select(
        pl.lit(kpi).alias("metric"),
        pl.col("segment").cast(pl.String),
        pl.lit(quarter.label).alias("quarter"),
        pl.col("value").cast(pl.Float64),
        pl.col("ci_low").cast(pl.Float64),
        pl.col("ci_high").cast(pl.Float64),
        pl.col("n").cast(pl.Int64),
        status.cast(pl.String).alias("status"),
    )
    unseen = out.filter(pl.col("status") == NOT_OBSERVED)["segment"].to_list()
    if unseen:  # nobody followed through the KPI's window: said once, never a number
        where = "" if unseen == ["all"] else f" ({', '.join(unseen)})"
        notes.append(
            f"{kpi} {quarter.label}{where}: not yet observable (nobody followed through the window)"
        )
    return out


def kpi_scorecard(
    dataset: Dataset,
    *,
    quarter: str,
    compare_to: str = "previous",
    by: str | None = None,
    where: Where = None,
    min_cell: int | None = None,
    progress: bool | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Headline KPIs of ``quarter`` and the comparison quarter, with 95% CI and n.

    The quarter defines each KPI's cohort (users acquired, first orders, views ... in
    the quarter); both quarters are observed with all the data, to ``as_of``, under one
    complete-window rule (``docs/metrics.md``, "Complete windows"). A row is ``complete``
    when its number is final: the quarter is over and every cohort member's whole window
    (:data:`WINDOWS`) is observed by ``as_of``. Otherwise (the current quarter) it is
    provisional: ``complete`` false, ``observed_to`` the last start day whose window is
    observed, and a note says how it is estimated: the Kaplan–Meier KPIs (D7/D30/D60,
    community exit) censor the members followed for fewer days; the others count only
    the members whose window is complete, and their ``n`` is those members.
    Rates are fractions. Rows whose ``n`` is below ``min_cell`` are suppressed
    (value and CI set to null, ``suppressed`` true) so small groups are never shown.
    A KPI whose window nobody has been followed through yet (e.g. D60 of a quarter
    whose users are all younger than 60 days) has ``status`` ``"not_observed"``, a
    null value and CI, and a note; it is never a 0 or a carried value.

    Parameters
    ----------
    dataset
        The data.
    quarter
        The quarter reported, like ``"2024Q4"``.
    compare_to
        ``"previous"``, ``"year_ago"`` or a quarter label.
    by
        A users column: one row per value (``segment``) for every KPI, each about that
        segment's users only; values with fewer than ``min_cell`` users are left out,
        and a column that identifies individuals (an id column, nearly unique values)
        raises ``ValueError`` naming it and none of its values (CAC needs ``by`` to be a ``spend`` column too, else it
        is noted as not computable).
    where
        The user-population filter: every KPI is computed on
        ``dataset.restrict(where)`` (:meth:`insights.Dataset.restrict`), so every
        table, ``spend`` included, holds only the users in scope (a table that cannot
        be restricted is skipped with a note).
    min_cell
        Rows with fewer users are suppressed (default from ``ins.options``).
    progress
        Show a bar, one step per KPI and quarter (``True``/``False``; default ``None``:
        in a terminal or Jupyter, not in CI; see ``insights._progress``). A remembered
        scorecard shows none.

    Returns
    -------
    (polars.DataFrame, list[str])
        ``metric, segment, quarter, value, ci_low, ci_high, n, status, complete,
        observed_to, suppressed`` (``status``: ``"observed"`` / ``"not_observed"`` for
        the KPIs with a window, null for the others; ``complete`` and ``observed_to``
        as above) and notes on KPIs that were skipped (missing tables,
        windows not yet observable, an empty quarter). Remembered per data files, restriction and arguments
        (``insights.data._cache.remembered``).

    Examples
    --------
    Sixty users, one every three days from 2024-07-01, each back nine days later; two
    in three on douyin. Without orders, interactions, community or spend those KPIs
    are skipped with a note. Nobody is active after day 9 and the users acquired last
    are censored before day 30, so nobody is followed through day 30: D30 and D60
    are not yet observable (a note, and no number).

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 7, 1, 12)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": range(60), "platform": ["douyin", "kuaishou", "douyin"] * 20,
    ...                         "first_seen_at": [t0 + dt.timedelta(days=3 * i) for i in range(60)]}),
    ...     views=pl.DataFrame({"user_id": range(60), "watch_seconds": [60.0] * 60,
    ...                         "started_at": [t0 + dt.timedelta(days=3 * i + 9) for i in range(60)]}),
    ...     as_of="2024-12-31",
    ... )
    >>> card, notes = ins.kpi_scorecard(ds, quarter="2024Q4", where={"platform": "douyin"})
    >>> d7 = card.filter(pl.col("metric") == "retention_d7")
    >>> d7.select("quarter", "value", "n", "complete", "observed_to").rows()
    [('2024Q3', 1.0, 21, True, None), ('2024Q4', 1.0, 19, False, datetime.date(2024, 12, 24))]
    >>> notes[0]
    'retention_d7 2024Q4: provisional, a Kaplan–Meier estimate: members starting after 2024-12-24 are followed for fewer than 7 days (censored)'
    >>> notes[1]
    'retention_d30 2024Q4: not yet observable (nobody followed through the window)'
    >>> notes[3]
    "repurchase_60d: skipped, table 'orders' is not in this dataset; add orders.parquet or orders.csv"
    """
    # resolved before the results cache, so a later ins.options(min_cell=...) is honoured
    min_cell = resolve_min_cell(min_cell)
    kept: list[str] | None = None
    if by is not None:  # refuse id-like columns before computing; small values never show
        from insights.tables._suppress import by_values

        kept = by_values(dataset.restrict(where).table("users"), by, min_cell=min_cell)[
            "segment"
        ].to_list()
    token = _PROGRESS.set(progress)
    try:
        card, notes = _kpi_scorecard(
            dataset,
            quarter=quarter,
            compare_to=compare_to,
            by=by,
            where=where,
            min_cell=min_cell,
        )
    finally:
        _PROGRESS.reset(token)
    if kept is not None:
        segment = pl.col("segment").cast(pl.String)
        card = card.filter(segment.is_null() | segment.is_in(kept))
    return card, notes


@remembered
def _kpi_scorecard(
    dataset: Dataset,
    *,
    quarter: str,
    compare_to: str,
    by: str | None,
    where: Where,
    min_cell: int,
) -> tuple[pl.DataFrame, list[str]]:
    scope = dataset.restrict(where)
    return _scorecard(scope, parse_period(quarter), compare_to, by, min_cell)


def _scorecard(
    dataset: Dataset, q: Period, compare_to: str, by: str | None, min_cell: int
) -> tuple[pl.DataFrame, list[str]]:
    other = comparison_period(q, compare_to=compare_to)
    notes: list[str] = [f"{k}: not shown, {why}" for k, why in _not_meaningful(dataset).items()]
    total = 2 * len(KPIS)
    try:
        with progress_bar(total=total, desc="kpi_scorecard", enabled=_PROGRESS.get()) as bar:
            frames = _one_quarter(dataset, q, by, notes, bar)
            frames += _one_quarter(dataset, other, by, notes, bar)
    finally:
        _RETENTION_CACHE.clear()
    notes = list(dict.fromkeys(notes))  # a table missing in both quarters is said once
    if not frames:
        return pl.DataFrame(
            schema={
                "metric": pl.String,
                "segment": pl.String,
                "quarter": pl.String,
                "value": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
                "n": pl.Int64,
                "status": pl.String,
                "complete": pl.Boolean,
                "observed_to": pl.Date,
                "suppressed": pl.Boolean,
            }
        ), notes
    out = pl.concat(frames)
    # nobody to follow (n = 0, not observed) hides nobody: the row says "not yet observable"
    nobody = (pl.col("status") == NOT_OBSERVED).fill_null(False) & (pl.col("n") == 0)
    small = (pl.col("n").is_null() | (pl.col("n") < min_cell)) & ~nobody
    out = out.with_columns(
        *(
            pl.when(small).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("value", "ci_low", "ci_high")
        ),
        pl.when(small).then(None).otherwise(pl.col("n")).alias("n"),
        small.alias("suppressed"),
    )
    order = {k: i for i, k in enumerate(KPIS)}
    out = (
        out.with_columns(pl.col("metric").replace_strict(order, default=99).alias("_o"))
        .sort("_o", "metric", "segment", "quarter", nulls_last=True, maintain_order=True)
        .drop("_o")
    )
    return out, notes


def json_records(frame: pl.DataFrame, *, digits: int = 12) -> list[dict[str, Any]]:
    """The scorecard's rows for ``insights kpis --json``: floats to ``digits`` significant
    digits, so the output is identical between runs (parallel sums differ in the last
    bits from run to run; 12 digits are far finer than any KPI is known).

    >>> json_records(pl.DataFrame({"metric": ["aov"], "value": [127.83547385620918]}))
    [{'metric': 'aov', 'value': 127.835473856}]
    """
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    return frame.with_columns(pl.col(floats).round_sig_figs(digits)).to_dicts()
