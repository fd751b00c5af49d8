"""Community members vs non-members: the landmark design, and the naive one for contrast.

A naive comparison (ever-joined vs never-joined) credits membership with the time
users had to survive before they could join: long-lived users are more likely to
join, so members look better even when joining changes nothing. The landmark design
fixes the groups at a landmark day ``s`` after acquisition using only what is known
then — members joined before day ``s``, non-members had not joined by day ``s``
(later joiners stay non-members) — and counts outcomes only from day ``s`` on
(Anderson, Cain & Gelber 1983). :func:`member_comparison` is the one
members-vs-non-members comparison of the package: ``design="landmark"`` (default)
or ``design="naive"``, the documents' way of reading it (reported for comparison
with the published figures, never as the effect of membership).

What each design is worth is measured on worlds with a known truth
(``benchmarks/coverage_members.py``, ``benchmarks/results/coverage_members.md``):
when joining changes nothing and is unrelated to the user, the landmark ratios'
95% CIs cover 1 about 95% of the time, while the naive repurchase-frequency ratio
is above 1 (it counts only buyers, and members' time from a join). Neither design
removes self-selection: where users choose to join because they are active, a
landmark ratio describes members, not the effect of joining (the randomised
invitation experiment is the causal evidence).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import narwhals as nw
import polars as pl

from insights._options import resolve_min_cell
from insights._registry import register
from insights.data._backend import collect, epoch_day
from insights.data.dataset import Dataset, churn_gap_of
from insights.metrics._common import (
    binomial_se,
    headline,
    paid_orders,
    period_rows,
    two_arm_ratio,
    wilson,
)
from insights.metrics._periods import Period, PeriodLike, parse_period
from insights.metrics._segments import Where, acquired, users_frame
from insights.metrics._windows import Window
from insights.metrics.activity_days import active_user_days, as_of_day
from insights.metrics.lifetimes import lifetimes_of
from insights.stats.km import kaplan_meier, survival_at
from insights.stats.ratio import cluster_sums, ratio_frame

__all__ = ["member_comparison", "member_retention"]

MEMBER, NON_MEMBER = "member", "non_member"
GAP = "member vs non_member"
Design = Literal["landmark", "naive"]
_EPOCH = dt.date(1970, 1, 1)

#: The metric of each arm row and of its gap row (member / non-member).
RATIO = {
    "orders_per_user": "orders_per_user_ratio",
    "gmv_per_user": "gmv_per_user_ratio",
    "aov": "aov_ratio",
    "active_rate": "active_rate_ratio",
    "repurchase_frequency": "repurchase_frequency_ratio",
}
register("orders_per_user", unit="index")
register("gmv_per_user", unit="yuan")
register("active_rate", unit="rate")
register("repurchase_frequency", unit="index")  # orders per buyer-month
register("orders_per_user_ratio", unit="ratio", base="index")
register("gmv_per_user_ratio", unit="ratio", base="yuan")
register("active_rate_ratio", unit="ratio", base="rate")
# aov_ratio and repurchase_frequency_ratio are registered with the documents' ids


def _cohort(
    dataset: Dataset,
    p: Any,
    landmark: int,
    horizon: int,
    where: Where,
    *,
    observable: bool = True,
) -> nw.LazyFrame[Any]:
    """Users acquired in ``p`` (observable to landmark + horizon), with arm and window bounds."""
    if landmark < 1 or horizon < 1:
        raise ValueError(f"landmark and horizon must be >= 1 day, got {landmark}, {horizon}")
    community = dataset.table("community", needed_for="members vs non-members")
    first_join = (
        community.filter(nw.col("action") == "join")
        .group_by("user_id")
        .agg(epoch_day("at").min().cast(nw.Int64).alias("_fj"))
    )
    fs = nw.col("first_seen_day")
    joined = nw.col("_fj") - fs < landmark
    people = users_frame(dataset, where=where).filter(
        fs.is_between(p.start_day, p.end_day, closed="both") & acquired()
    )
    window = Window(horizon)  # days landmark .. landmark + horizon - 1 (metrics._windows)
    if observable:
        people = people.filter(window.observable(fs + landmark, as_of_day(dataset)))
    return (
        people.join(first_join, on="user_id", how="left")
        .with_columns(
            nw.when(joined.fill_null(False))
            .then(nw.lit(MEMBER))
            .otherwise(nw.lit(NON_MEMBER))
            .alias("segment"),
            (fs + landmark + window.first).alias("_lo"),
            (fs + landmark + window.last).alias("_hi"),
        )
        .select("user_id", "first_seen_day", "segment", "_lo", "_hi")
    )


def _arm_rows(
    arms: dict[str, dict[str, Any]], metric: str, alpha: float, *, n_of: str = "n",
    se_of: Any = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Rows ``member``, ``non_member`` (metric) and the gap (member / non-member, ``RATIO``)."""
    empty = {"value": None, "se": None, "ci_low": None, "ci_high": None, n_of: 0}
    rows, se = [], []
    for seg in (MEMBER, NON_MEMBER):
        arm = arms.get(seg, empty)
        se.append(arm.get("se") if se_of is None else se_of(arm))
        rows.append(
            {"metric": metric, "segment": seg, "value": arm["value"],
             "ci_low": arm["ci_low"], "ci_high": arm["ci_high"], "n": round(arm[n_of] or 0)}
        )  # fmt: skip
    r = two_arm_ratio(rows[0]["value"], se[0], rows[1]["value"], se[1], alpha=alpha)
    # a ratio describes both arms: with either below min_cell (4 member buyers) it is not given
    small = any(0 < row["n"] < resolve_min_cell(None) for row in rows)
    rows.append(
        {"metric": RATIO[metric], "segment": GAP, "value": None if small else r.estimate,
         "ci_low": None if small else r.ci_low, "ci_high": None if small else r.ci_high,
         "n": rows[0]["n"] + rows[1]["n"]}
    )  # fmt: skip
    return rows


def _ratio_rows(
    sums: pl.DataFrame, metric: str, alpha: float, *, n_of: str = "n_clusters"
) -> list[dict[str, Any]]:
    """Arm and gap rows of a ratio-of-sums metric with users as clusters (``cluster_sums``)."""
    est = ratio_frame(sums, alpha=alpha)  # no se (one cluster): no CI
    return _arm_rows({r["segment"]: r for r in est.to_dicts()}, metric, alpha, n_of=n_of)


def member_comparison(
    dataset: Dataset,
    *,
    period: PeriodLike,
    landmark: int = 30,
    horizon: int = 90,
    design: Design = "landmark",
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Community members vs non-members, with the ratio member / non-member of each outcome.

    ``design="landmark"`` (default; immortal-time bias free). Users acquired in
    ``period`` and observable for ``landmark + horizon`` days; members = first
    ``join`` on day < ``landmark`` since acquisition, non-members = everyone else (not
    joined by the landmark, even if they join later); outcomes counted on days
    ``landmark`` .. ``landmark + horizon - 1``. Metrics: ``orders_per_user``
    (repurchase frequency over the window, users as clusters; ``n`` = users),
    ``gmv_per_user`` (observed window LTV), ``aov`` (window GMV / orders over buyers;
    ``n`` = orders), ``active_rate`` (share active in the window, Wilson per arm;
    ratio CI from binomial SEs). No arm is conditioned on the outcome (only ``aov``,
    a per-order value, counts buyers). When joining changes nothing, every ratio's
    95% CI covers 1 about 95% of the time (``benchmarks/coverage_members.py``); as
    members choose to join, a ratio describes members, not the effect of joining.

    ``design="naive"``: the documents' comparison, a reproduction of their published
    figures (calibration targets D02, D03), never the effect of joining: its
    frequency ratio is biased even when joining changes nothing (it conditions on
    buying, and members' exposure starts at a join). Users
    of any acquisition date; members = first ``join`` on or before the period's last
    day, non-members = no join as of ``as_of`` (users who first join after the
    period are in neither group); ``landmark`` and ``horizon`` are not used.

    - ``repurchase_frequency``: orders per buyer-month. Exposure per user runs from
      max(period start, first join day) [members] or max(period start, first_seen
      day) [non-members] to min(period end, as_of day), both days included, in months
      of 30 days; buyers = users with >= 1 order in their exposure; frequency = Σ
      orders in exposure / Σ exposure months over buyers (ratio estimator, users as
      clusters); ``n`` = buyers.
    - ``aov``: GMV / orders of the orders placed in the period, members' orders at or
      after their first join (their orders before it are in neither arm) against
      non-members' orders; users as clusters; ``n`` = orders.

    Rows per metric: ``segment`` = ``member``, ``non_member`` and ``member vs
    non_member``: the gap row's metric is ``<metric>_ratio`` (``aov_ratio``,
    ``repurchase_frequency_ratio`` ...), value member / non-member with a log-scale
    delta-method CI (:func:`insights.stats.ratio_ci`), ``n`` = both
    arms'; when either arm has fewer than ``min_cell`` (``ins.options``) users or
    orders, the ratio and its CI are null (it would describe that small group). Extra
    column ``design``.

    Examples
    --------
    Two users acquired 2024-01-01, ordering on day 40; user 1 joined on day 5.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1, 12)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t0] * 2}),
    ...     orders=pl.DataFrame({"order_id": [1, 2], "user_id": [1, 2],
    ...         "ordered_at": [t0 + dt.timedelta(days=40)] * 2, "amount": [20.0, 10.0]}),
    ...     community=pl.DataFrame({"user_id": [1], "at": [t0 + dt.timedelta(days=5)], "action": ["join"]}),
    ...     as_of="2024-06-30")
    >>> with ins.options(min_cell=1):  # two users: every number shown
    ...     t = ins.member_comparison(ds, period="2024Q1", landmark=30, horizon=60)
    >>> t.filter(pl.col("metric").str.starts_with("gmv_per_user")).select("segment", "value").rows()
    [('member', 20.0), ('non_member', 10.0), ('member vs non_member', 2.0)]
    """
    if design not in ("landmark", "naive"):
        raise ValueError(f"design must be 'landmark' or 'naive', got {design!r}")
    p = parse_period(period)
    if design == "naive":
        rows = _naive_frequency(dataset, p, where, include_refunded, alpha)
        rows += _naive_aov(dataset, p, where, include_refunded, alpha)
    else:
        rows = _landmark_rows(dataset, p, landmark, horizon, where, include_refunded, alpha)
    schema = {"metric": pl.String, "segment": pl.String, "value": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64}  # fmt: skip
    df = pl.DataFrame(rows, schema=schema).with_columns(
        design=pl.lit(design), _order=pl.int_range(pl.len())
    )
    return headline(df, "", p.label, order=("_order",)).drop("_order")


def _landmark_rows(
    dataset: Dataset, p: Period, landmark: int, horizon: int, where: Where,
    include_refunded: bool, alpha: float,
) -> list[dict[str, Any]]:  # fmt: skip
    cohort = _cohort(dataset, p, landmark, horizon, where)
    window = nw.col("day").is_between(nw.col("_lo"), nw.col("_hi"), closed="both")
    orders = (
        paid_orders(dataset, include_refunded)
        .select("user_id", epoch_day("ordered_at").alias("day"), nw.col("amount").cast(nw.Float64))
        .join(cohort, on="user_id")
        .filter(window)
        .group_by("user_id")
        .agg(nw.len().alias("_orders"), nw.col("amount").sum().alias("_gmv"))
    )
    active = (  # events, not distinct days: only "any active day in the window" is needed
        active_user_days(dataset, users=cohort.select("user_id", "first_seen_day"), distinct=False)
        .join(cohort.select("user_id", "_lo", "_hi"), on="user_id")
        .filter(window)
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_active"))
    )
    per_user = (
        cohort.join(orders, on="user_id", how="left")
        .join(active, on="user_id", how="left")
        .with_columns(
            nw.col("_orders").fill_null(0).cast(nw.Float64),
            nw.col("_gmv").fill_null(0.0),
            nw.col("_active").fill_null(0).cast(nw.Int64),
        )
        .select("user_id", "segment", "_orders", "_gmv", "_active")
    )
    # one row per cohort user (a quarter's acquisitions), read by four aggregations
    # below: collected once and aggregated in Polars, whatever the engine (a lazy
    # DuckDB plan ran the cohort's activity pass once per reader)
    per_user = nw.from_native(collect(per_user).lazy())
    by_user = collect(
        nw.concat(
            [
                cluster_sums(per_user, y="_orders").with_columns(nw.lit("o").alias("_m")),
                cluster_sums(per_user, y="_gmv").with_columns(nw.lit("g").alias("_m")),
                cluster_sums(
                    per_user.filter(nw.col("_orders") > 0), y="_gmv", x="_orders"
                ).with_columns(nw.lit("a").alias("_m")),
            ]
        )
    )
    rows = _ratio_rows(by_user.filter(pl.col("_m") == "o"), "orders_per_user", alpha)
    rows += _ratio_rows(by_user.filter(pl.col("_m") == "g"), "gmv_per_user", alpha)
    rows += _ratio_rows(by_user.filter(pl.col("_m") == "a"), "aov", alpha, n_of="sum_x")
    act = collect(
        per_user.group_by("segment").agg(nw.len().alias("n"), nw.col("_active").sum().alias("k"))
    )
    act = wilson(act, successes="k", n="n", alpha=alpha)
    arms = {r["segment"]: r for r in act.to_dicts()}
    rows += _arm_rows(
        arms, "active_rate", alpha, se_of=lambda arm: binomial_se(arm["value"], arm["n"])
    )
    return rows


def _first_join(dataset: Dataset, day: bool) -> nw.LazyFrame[Any]:
    """Each joiner's first ``join``: ``user_id, _fj`` (its epoch day with ``day``, else its time)."""
    joins = dataset.table("community", needed_for="members vs non-members")
    at = epoch_day("at") if day else nw.col("at")
    return joins.filter(nw.col("action") == "join").group_by("user_id").agg(at.min().alias("_fj"))


def _naive_frequency(
    dataset: Dataset, p: Period, where: Where, include_refunded: bool, alpha: float
) -> list[dict[str, Any]]:
    as_of = (dataset.as_of.date() - _EPOCH).days
    end = min(p.end_day, as_of)
    fj = nw.col("_fj")

    def at_least(column: nw.Expr, value: int) -> nw.Expr:
        return nw.when(column > value).then(column).otherwise(nw.lit(value))

    users = (
        users_frame(dataset, where=where)
        .join(_first_join(dataset, day=True), on="user_id", how="left")
        .with_columns(
            nw.when(fj.is_null())
            .then(nw.lit(NON_MEMBER))
            .otherwise(
                nw.when(fj <= p.end_day)
                .then(nw.lit(MEMBER))
                .otherwise(nw.lit(None, dtype=nw.String))
            )
            .alias("segment"),
            nw.when(fj.is_null())
            .then(at_least(nw.col("first_seen_day"), p.start_day))
            .otherwise(at_least(fj, p.start_day))
            .alias("_start"),
        )
        .filter(~nw.col("segment").is_null() & (nw.col("_start") <= end))
        .select(
            "user_id", "segment", "_start", ((end - nw.col("_start") + 1) / 30.0).alias("_months")
        )
    )
    orders = (
        paid_orders(dataset, include_refunded)
        .select("user_id", epoch_day("ordered_at").alias("_d"))
        .join(users, on="user_id")
        .filter(nw.col("_d").is_between(nw.col("_start"), end, closed="both"))
        .group_by("segment", "user_id")
        .agg(nw.len().alias("_orders"), nw.col("_months").max().alias("_months"))
    )
    sums = collect(cluster_sums(orders, y="_orders", x="_months"))
    return _ratio_rows(sums, "repurchase_frequency", alpha)


def _naive_aov(
    dataset: Dataset, p: Period, where: Where, include_refunded: bool, alpha: float
) -> list[dict[str, Any]]:
    fj = nw.col("_fj")
    orders = (
        paid_orders(dataset, include_refunded)
        .pipe(period_rows, "ordered_at", p)
        .join(users_frame(dataset, where=where).select("user_id"), on="user_id")
        .join(_first_join(dataset, day=False), on="user_id", how="left")
        .with_columns(
            nw.when(fj.is_null())
            .then(nw.lit(NON_MEMBER))
            .otherwise(
                nw.when(nw.col("ordered_at") >= fj)
                .then(nw.lit(MEMBER))
                .otherwise(nw.lit(None, dtype=nw.String))
            )
            .alias("segment")
        )
        .filter(~nw.col("segment").is_null())
    )
    sums = collect(cluster_sums(orders, y="amount"))
    return _ratio_rows(sums, "aov", alpha, n_of="sum_x")


def member_retention(
    dataset: Dataset,
    *,
    period: PeriodLike,
    landmark: int = 30,
    churn_gap: int | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Landmark retention curves of members vs non-members: S(t | retained at ``landmark``).

    Users acquired in ``period`` whose churn lifetime L (as everywhere,
    :mod:`insights.metrics.lifetimes`) reaches ``landmark``; arms as in
    :func:`member_comparison` (first join before day ``landmark``). Kaplan–Meier per
    arm from the counts (``segment, t, survival, ci_low, ci_high, at_risk, events,
    censored``, t >= ``landmark``), so the curves start at 1 on the landmark and
    membership after it cannot lend the members survival time.
    """
    p = parse_period(period)
    cohort = _cohort(dataset, p, landmark, 1, where, observable=False)
    lt = lifetimes_of(dataset, cohort, churn_gap=churn_gap_of(dataset, churn_gap)).filter(
        nw.col("L") >= landmark
    )
    counts = collect(lt.group_by("segment", "duration", "event").agg(nw.len().alias("count")))
    counts = counts.with_columns(pl.col("duration", "event", "count").cast(pl.Int64))
    km = kaplan_meier(counts, alpha=alpha)
    start = survival_at(km, t=landmark).with_columns(
        pl.lit(0, dtype=pl.Int64).alias("events"), pl.lit(0, dtype=pl.Int64).alias("censored")
    )
    later = km.filter(pl.col("t") > landmark)
    both = pl.concat([start.select(later.columns).cast(later.schema), later])  # type: ignore[arg-type]
    return both.sort("segment", "t")
