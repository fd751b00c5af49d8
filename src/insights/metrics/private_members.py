"""Community members vs non-members without immortal-time bias (landmark design).

A naive comparison (ever-joined vs never-joined, outcomes over the whole life)
credits membership with the time users had to survive before they could join:
long-lived users are more likely to join, so members look better even when joining
changes nothing. The landmark design fixes the groups at a landmark day ``s``
after acquisition using only what is known then — members joined before day
``s``, non-members had not joined by day ``s`` (later joiners stay non-members) —
and counts outcomes only from day ``s`` on (Anderson, Cain & Gelber 1983).
"""

from __future__ import annotations

from typing import Any, Literal

import narwhals as nw
import polars as pl

from insights.data._backend import collect, epoch_day
from insights.data.dataset import Dataset
from insights.metrics._common import headline, paid_orders, wilson
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.activity_days import active_user_days, as_of_day
from insights.metrics.lifetimes import lifetimes_of
from insights.metrics.private_domain import _two_arm_ratio
from insights.stats.km import kaplan_meier, survival_at
from insights.stats.ratio import cluster_sums, ratio_ci

__all__ = ["member_comparison", "member_retention"]

MEMBER, NON_MEMBER = "member", "non_member"
GAP = "member vs non_member"
Design = Literal["landmark", "naive"]


def _cohort(
    dataset: Dataset,
    p: Any,
    landmark: int,
    horizon: int,
    design: Design,
    where: Where,
    *,
    observable: bool = True,
) -> nw.LazyFrame[Any]:
    """Users acquired in ``p`` (observable to landmark + horizon), with arm and window bounds."""
    if design not in ("landmark", "naive"):
        raise ValueError(f"design must be 'landmark' or 'naive', got {design!r}")
    if landmark < 1 or horizon < 1:
        raise ValueError(f"landmark and horizon must be >= 1 day, got {landmark}, {horizon}")
    community = dataset.table("community", needed_for="members vs non-members")
    first_join = (
        community.filter(nw.col("action") == "join")
        .group_by("user_id")
        .agg(epoch_day("at").min().cast(nw.Int64).alias("_fj"))
    )
    fs = nw.col("first_seen_day")
    joined = nw.col("_fj") - fs < landmark if design == "landmark" else ~nw.col("_fj").is_null()
    lo = fs + landmark if design == "landmark" else fs
    people = users_frame(dataset, where=where).filter(
        fs.is_between(p.start_day, p.end_day, closed="both")
    )
    if observable:
        people = people.filter(fs + landmark + horizon <= as_of_day(dataset))
    return (
        people.join(first_join, on="user_id", how="left")
        .with_columns(
            nw.when(joined.fill_null(False))
            .then(nw.lit(MEMBER))
            .otherwise(nw.lit(NON_MEMBER))
            .alias("segment"),
            lo.alias("_lo"),
            (fs + landmark + horizon - 1).alias("_hi"),
        )
        .select("user_id", "first_seen_day", "segment", "_lo", "_hi")
    )


def _ratio_rows(
    sums: pl.DataFrame, metric: str, alpha: float, *, n_of: str = "n_clusters"
) -> list[dict[str, Any]]:
    a, b, (ratio, lo, hi) = _two_arm_ratio(sums, arm1=MEMBER, arm2=NON_MEMBER, alpha=alpha)
    rows = []
    for seg, arm in ((MEMBER, a), (NON_MEMBER, b)):
        ci = (None, None) if arm.get("se") is None else (arm["ci_low"], arm["ci_high"])
        rows.append(
            {
                "metric": metric,
                "segment": seg,
                "value": arm["value"],
                "ci_low": ci[0],
                "ci_high": ci[1],
                "n": round(arm[n_of] or 0),
            }  # fmt: skip
        )
    rows.append(
        {
            "metric": metric,
            "segment": GAP,
            "value": ratio,
            "ci_low": lo,
            "ci_high": hi,
            "n": rows[0]["n"] + rows[1]["n"],
        }  # fmt: skip
    )
    return rows


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
    """Community members vs non-members: orders, GMV and activity per user, AOV, with ratios.

    Users: acquired in ``period`` and observable for ``landmark + horizon`` days.

    - ``design="landmark"`` (default): members = first ``join`` on day < ``landmark``
      since acquisition, non-members = everyone else (not joined by the landmark, even
      if they join later); outcomes counted on days ``landmark`` .. ``landmark +
      horizon - 1``. Immortal-time bias free.
    - ``design="naive"``: members = joined by ``as_of``, non-members = never joined;
      outcomes on days 0 .. ``landmark + horizon - 1``. Biased (shown for contrast).

    Metrics (rows ``member``, ``non_member`` and ``member vs non_member`` = ratio
    member / non-member with a log-scale delta-method CI): ``orders_per_user``
    (repurchase frequency over the window, users as clusters; ``n`` = users),
    ``gmv_per_user`` (observed window LTV), ``aov`` (window GMV / orders over buyers;
    ``n`` = orders), ``active_rate`` (share active in the window, Wilson per arm;
    ratio CI from binomial SEs). Extra column ``design``.

    Examples
    --------
    Two users acquired 2024-01-01, ordering on day 40; user 1 joined on day 5.

    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> t0 = dt.datetime(2024, 1, 1, 12)
    >>> ds = frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t0] * 2}),
    ...     orders=pl.DataFrame({"order_id": [1, 2], "user_id": [1, 2],
    ...         "ordered_at": [t0 + dt.timedelta(days=40)] * 2, "amount": [20.0, 10.0]}),
    ...     community=pl.DataFrame({"user_id": [1], "at": [t0 + dt.timedelta(days=5)], "action": ["join"]}),
    ...     as_of="2024-06-30")
    >>> t = member_comparison(ds, period="2024Q1", landmark=30, horizon=60)
    >>> t.filter(metric="gmv_per_user").select("segment", "value").rows()
    [('member', 20.0), ('member vs non_member', 2.0), ('non_member', 10.0)]
    """
    p = parse_period(period)
    cohort = _cohort(dataset, p, landmark, horizon, design, where)
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
    for seg in (MEMBER, NON_MEMBER):
        r = arms.get(seg, {"value": None, "ci_low": None, "ci_high": None, "n": 0})
        rows.append(
            {"metric": "active_rate", "segment": seg}
            | {k: r[k] for k in ("value", "ci_low", "ci_high", "n")}
        )
    m, o = rows[-2], rows[-1]
    value = lo = hi = None
    if m["value"] and o["value"]:
        se = [(r["value"] * (1 - r["value"]) / r["n"]) ** 0.5 for r in (m, o)]
        est = ratio_ci(m["value"], se[0], o["value"], se[1], alpha=alpha)
        value = est.estimate
        lo, hi = (est.ci_low, est.ci_high) if se[0] > 0 and se[1] > 0 else (None, None)
    rows.append(
        {
            "metric": "active_rate",
            "segment": GAP,
            "value": value,
            "ci_low": lo,
            "ci_high": hi,
            "n": m["n"] + o["n"],
        }
    )
    schema = {"metric": pl.String, "segment": pl.String, "value": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64}  # fmt: skip
    df = pl.DataFrame(rows, schema=schema).with_columns(design=pl.lit(design))
    return headline(df, "", p.label, order=("metric", "segment"))


def member_retention(
    dataset: Dataset,
    *,
    period: PeriodLike,
    landmark: int = 30,
    churn_gap: int = 30,
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
    cohort = _cohort(dataset, p, landmark, 1, "landmark", where, observable=False)
    lt = lifetimes_of(dataset, cohort, churn_gap=churn_gap).filter(nw.col("L") >= landmark)
    counts = collect(lt.group_by("segment", "duration", "event").agg(nw.len().alias("count")))
    counts = counts.with_columns(pl.col("duration", "event", "count").cast(pl.Int64))
    km = kaplan_meier(counts, alpha=alpha)
    start = survival_at(km, landmark).with_columns(
        pl.lit(0, dtype=pl.Int64).alias("events"), pl.lit(0, dtype=pl.Int64).alias("censored")
    )
    later = km.filter(pl.col("t") > landmark)
    both = pl.concat([start.select(later.columns).cast(later.schema), later])  # type: ignore[arg-type]
    return both.sort("segment", "t")
