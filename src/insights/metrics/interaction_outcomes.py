"""What interaction goes with: participation by quarter, type mix, high vs ordinary, dose, fatigue.

Builds on :mod:`insights.metrics.interaction` (``interaction_rate``,
``interaction_intensity``) and :mod:`insights.metrics.purchase` (AOV and repurchase
over given users) so each definition lives in one place. Heavy work stays in the
engine; only per-group aggregates are collected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw
import polars as pl

from insights._registry import register
from insights.data._backend import collect, epoch_day, reuse
from insights.data._cache import remembered
from insights.data.dataset import Dataset, churn_gap_of
from insights.metrics._common import (
    binomial_se,
    headline,
    paid_orders,
    period_rows,
    two_arm_ratio,
    wilson,
)
from insights.metrics._periods import PeriodLike, default_quarters, parse_period, parse_periods
from insights.metrics._segments import Where, acquired, users_frame
from insights.metrics.activity_days import as_of_day
from insights.metrics.interaction import HIGH, ORDINARY, interaction_intensity, interaction_rate
from insights.metrics.lifetimes import lifetimes_of
from insights.metrics.purchase import aov_of, repurchase_of
from insights.stats.km import kaplan_meier, survival_at
from insights.stats.proportions import z_value

__all__ = [
    "interaction_participation",
    "interaction_type_mix",
    "high_vs_ordinary",
    "interaction_dose_response",
    "interaction_fatigue",
]

GAP = "high vs ordinary"
#: The metric of a gap row: the relative difference high / ordinary - 1 of an outcome.
UPLIFT = {"aov": "aov_uplift", "repurchase": "repurchase_uplift", "retention": "retention_uplift"}
register("retention_uplift", unit="uplift", better="higher", base="rate")


def interaction_participation(
    dataset: Dataset,
    *,
    period: PeriodLike | Sequence[PeriodLike] | None = None,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Interaction participation rate per period and segment.

    :func:`insights.metrics.interaction.interaction_rate` for each period of ``period``
    (a label or a list of labels; default: the five quarters ending with the one
    holding ``as_of``), stacked in the order given.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 2], "started_at": [dt.datetime(2024, 1, 5)] * 2, "watch_seconds": [60.0] * 2})
    >>> inter = pl.DataFrame({"user_id": [1], "at": [dt.datetime(2024, 1, 5)], "kind": ["like"]})
    >>> ds = ins.frames_dataset(users=users, views=views, interactions=inter)
    >>> ins.interaction_participation(ds, period=["2024Q1"])["value"].to_list()
    [0.5]
    """
    periods = parse_periods(period if period is not None else default_quarters(dataset.as_of))
    return pl.concat(
        [interaction_rate(dataset, period=q, by=by, where=where, alpha=alpha) for q in periods]
    )


def interaction_type_mix(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of the period's interactions of each ``kind`` (type mix), per segment.

    ``value`` = interactions of the kind / all interactions of the segment in the
    period; Wilson CI over interactions (they cluster within users, so the interval
    is too narrow for heavy interactors). ``n`` = all interactions of the segment;
    extra columns ``kind``, ``interactions`` (of the kind), ``users`` (distinct users
    with that kind). Sorted by segment, then share (largest first).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t = dt.datetime(2024, 1, 5)
    >>> inter = pl.DataFrame({"user_id": [1, 1, 2, 2], "at": [t] * 4, "kind": ["like", "like", "like", "gift"]})
    >>> ds = ins.frames_dataset(users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t] * 2}), interactions=inter)
    >>> ins.interaction_type_mix(ds, period="2024Q1").select("kind", "value").rows()
    [('like', 0.75), ('gift', 0.25)]
    """
    p = parse_period(period)
    rows = (
        dataset.table("interactions", needed_for="interaction type mix")
        .pipe(period_rows, "at", p)
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .with_columns(nw.col("kind").cast(nw.String).fill_null("unknown"))
    )
    agg = rows.group_by("segment", "kind").agg(
        nw.len().alias("interactions"), nw.col("user_id").n_unique().alias("users")
    )
    df = collect(agg).with_columns(pl.col("interactions", "users").cast(pl.Int64))
    df = df.with_columns(n=pl.col("interactions").sum().over("segment"))
    df = wilson(df, successes="interactions", n="n", alpha=alpha).with_columns(
        _neg=-pl.col("value")
    )
    out = headline(df, "interaction_type_share", p.label, order=("segment", "_neg", "kind"))
    return out.drop("_neg").select(*out.columns[:7], "kind", "interactions", "users")


def _km_se(value: float | None, lo: float | None, alpha: float) -> float | None:
    """se(S) recovered from a log(-log) CI: se = S·|log S|·log(log lo / log S) / z."""
    if value is None or lo is None or not 0 < lo < value < 1:
        return None
    return value * abs(math.log(value)) * math.log(math.log(lo) / math.log(value)) / z_value(alpha)


def _gap_row(
    metric: str, high: dict[str, Any], ordinary: dict[str, Any],
    se: tuple[float | None, float | None], alpha: float,
) -> dict[str, Any]:  # fmt: skip
    """The ``high vs ordinary`` row: high / ordinary - 1 with the log-ratio CI minus 1."""
    v1, v2 = high["value"], ordinary["value"]
    r = two_arm_ratio(v1, se[0], v2, se[1], alpha=alpha)
    n1, n2 = int(high["n"] or 0), int(ordinary["n"] or 0)
    return {
        "metric": metric,
        "segment": GAP,
        "value": None if r.estimate is None else r.estimate - 1.0,
        "ci_low": None if r.ci_low is None else r.ci_low - 1.0,
        "ci_high": None if r.ci_high is None else r.ci_high - 1.0,
        "n": n1 + n2,
        "value_high": v1,
        "value_ordinary": v2,
        "n_high": n1,
        "n_ordinary": n2,
    }


@remembered
def high_vs_ordinary(
    dataset: Dataset,
    *,
    period: PeriodLike,
    top: float = 0.2,
    window: int = 60,
    retention_day: int = 30,
    churn_gap: int | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """High- vs ordinary-interaction viewers: AOV, repurchase and retention with the relative gap.

    Classes from :func:`insights.metrics.interaction.interaction_intensity` (viewers in
    ``period`` after ``where``, top ``top`` share by interactions per watch-hour). Per
    outcome, the rows ``segment`` = ``"high"`` and ``"ordinary"``:

    - ``aov``: GMV / orders of the class's orders in the period (user-clustered CI);
    - ``repurchase_{window}d``: buyers whose first order is in the period and observable
      (Wilson CI);
    - ``retention_d{retention_day}``: Kaplan–Meier S(retention_day) of the viewers
      acquired in the period (churn lifetime as everywhere; log-log CI);

    and the gap row ``segment = "high vs ordinary"`` with metric ``aov_uplift``,
    ``repurchase_uplift`` or ``retention_uplift``: ``value`` = high / ordinary - 1,
    with a delta-method CI on the log ratio (AOV: clustered SEs; repurchase: binomial;
    retention: the Greenwood SE recovered from the log-log interval), extra columns
    ``value_high``, ``value_ordinary``, ``n_high``, ``n_ordinary`` (null on the arm rows).

    Examples
    --------
    Two viewers; user 1 interacts (high), user 2 does not (ordinary). User 1 orders
    twice (30 + 50), user 2 once (20): AOV uplift = 40 / 20 - 1 = 1.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t = dt.datetime(2024, 1, 5)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t] * 2}),
    ...     views=pl.DataFrame({"user_id": [1, 2], "started_at": [t] * 2, "watch_seconds": [60.0] * 2}),
    ...     interactions=pl.DataFrame({"user_id": [1], "at": [t], "kind": ["like"]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 1, 2],
    ...         "ordered_at": [t, t + dt.timedelta(days=3), t], "amount": [30.0, 50.0, 20.0]}),
    ...     as_of="2024-06-30")
    >>> hv = ins.high_vs_ordinary(ds, period="2024Q1", top=0.5)
    >>> hv.filter(pl.col("metric").is_in(["aov", "aov_uplift"])).select("segment", "value").rows()
    [('high', 40.0), ('ordinary', 20.0), ('high vs ordinary', 1.0)]
    """
    p = parse_period(period)
    # the classes are read three times (AOV, repurchase, lifetimes): computed once
    classes = interaction_intensity(dataset, period=p, top=top, where=where)
    subset = reuse(classes.select("user_id", "segment"))
    a = aov_of(dataset, subset, period=p, alpha=alpha)
    r = repurchase_of(dataset, subset, period=p, window=window, alpha=alpha)
    cohort = users_frame(dataset, where=where).filter(
        nw.col("first_seen_day").is_between(p.start_day, p.end_day, closed="both") & acquired()
    )
    # lifetimes of the whole cohort, classes joined after: with the (lazy) class frame
    # inside, lifetimes_of's plan repeats it once per activity source (measured at 200k
    # users: 36 s instead of 1 s)
    lt = lifetimes_of(
        dataset,
        cohort.select("user_id", "first_seen_day"),
        churn_gap=churn_gap_of(dataset, churn_gap),
    )
    lt = lt.join(subset, on="user_id", how="inner")
    counts = collect(lt.group_by("segment", "duration", "event").agg(nw.len().alias("count")))
    counts = counts.with_columns(pl.col("duration", "event", "count").cast(pl.Int64))
    if counts.is_empty():
        s = pl.DataFrame(schema={"segment": pl.String, "value": pl.Float64, "n": pl.Int64})
    else:
        km = kaplan_meier(counts, alpha=alpha)
        s = survival_at(km, t=retention_day).rename({"survival": "value"})
        sizes = counts.group_by("segment").agg(pl.col("count").sum().alias("n"))
        s = s.join(sizes, on="segment")

    out = []
    for outcome, metric, frame, se_of in (
        ("aov", "aov", a, lambda arm: arm.get("se")),
        ("repurchase", f"repurchase_{window}d", r, lambda arm: binomial_se(arm["value"], arm["n"])),
        (
            "retention", f"retention_d{retention_day}", s,
            lambda arm: _km_se(arm["value"], arm.get("ci_low"), alpha),
        ),
    ):  # fmt: skip
        arms = {
            seg: next(iter(frame.filter(pl.col("segment") == seg).to_dicts()), None)
            for seg in (HIGH, ORDINARY)
        }
        for seg, row in arms.items():
            if row is not None:
                out.append({k: row.get(k) for k in ("value", "ci_low", "ci_high", "n")})
                out[-1] |= {"metric": metric, "segment": seg}
        empty = {"value": None, "ci_low": None, "ci_high": None, "n": 0, "se": None}
        h, o = arms[HIGH] or empty, arms[ORDINARY] or empty
        out.append(_gap_row(UPLIFT[outcome], h, o, (se_of(h), se_of(o)), alpha))
    schema = {
        "metric": pl.String, "segment": pl.String, "value": pl.Float64, "ci_low": pl.Float64,
        "ci_high": pl.Float64, "n": pl.Int64, "value_high": pl.Float64, "value_ordinary": pl.Float64,
        "n_high": pl.Int64, "n_ordinary": pl.Int64,
    }  # fmt: skip
    df = pl.DataFrame([{k: row.get(k) for k in schema} for row in out], schema=schema)
    return headline(df, "", p.label, order=("metric", "segment"))


def _deciles(dataset: Dataset, p: Any, bins: int, where: Where) -> nw.LazyFrame[Any]:
    """Viewers with ``decile``: 0 = no interaction, 1..bins = intensity bins of interactors.

    Viewers without interactions have intensity 0 and interactors > 0, so an
    interactor's rank among interactors is its rank among all viewers minus the
    number ``_z`` of non-interactors: one pass over the viewers (splitting them into
    two branches made the engine compute the intensities twice).
    """
    v = interaction_intensity(dataset, period=p, where=where)
    sizes = v.select(
        nw.len().alias("_n"), (nw.col("interactions") == 0).cast(nw.Int64).sum().alias("_z")
    )
    rank = nw.col("intensity").rank(method="min").cast(nw.Int64) - nw.col("_z")
    binned = ((rank - 1) * bins) // (nw.col("_n") - nw.col("_z")) + 1
    decile = nw.when(nw.col("interactions") > 0).then(binned).otherwise(nw.lit(0))
    out = v.join(sizes, how="cross").with_columns(decile.cast(nw.Int64).alias("decile"))
    label = nw.concat_str(nw.lit("d"), nw.col("decile").cast(nw.String).str.zfill(2))
    return out.drop("_n", "_z", "segment").with_columns(label.alias("segment"))


def interaction_dose_response(
    dataset: Dataset,
    *,
    period: PeriodLike,
    outcome: Literal["order_rate", "repurchase"] = "order_rate",
    bins: int = 10,
    window: int = 60,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Outcome by interaction-intensity decile (dose–response).

    Viewers in ``period`` (after ``where``) are binned by interactions per watch-hour
    (:func:`insights.metrics.interaction.interaction_intensity`): ``d00`` = no
    interaction in the period, ``d01`` .. ``d{bins}`` = equal-count bins of the
    interactors by intensity (ties share the lower bin, so bins can be uneven).
    ``outcome``: ``"order_rate"`` = share of the bin's viewers with a paid order in the
    period (``n`` = viewers); ``"repurchase"`` = ``window``-day repurchase of the bin's
    buyers whose first order is in the period (``n`` = buyers). Wilson CIs. Extra
    columns ``decile`` (0..bins), ``intensity_min``, ``intensity_max``, ``viewers``.
    Observational: higher bins differ in more than interaction.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t = dt.datetime(2024, 1, 5)
    >>> users = pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [t] * 3})
    >>> views = pl.DataFrame({"user_id": [1, 2, 3], "started_at": [t] * 3, "watch_seconds": [3600.0] * 3})
    >>> inter = pl.DataFrame({"user_id": [1, 2, 2], "at": [t] * 3, "kind": ["like"] * 3})
    >>> orders = pl.DataFrame({"order_id": [1], "user_id": [2], "ordered_at": [t], "amount": [9.0]})
    >>> ds = ins.frames_dataset(users=users, views=views, interactions=inter, orders=orders)
    >>> ins.interaction_dose_response(ds, period="2024Q1", bins=2).select("segment", "value").rows()
    [('d00', 0.0), ('d01', 0.0), ('d02', 1.0)]
    """
    if outcome not in ("order_rate", "repurchase"):
        raise ValueError(f"outcome must be 'order_rate' or 'repurchase', got {outcome!r}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    p = parse_period(period)
    viewers = _deciles(dataset, p, bins, where)
    ranges_of = [
        nw.col("intensity").min().alias("intensity_min"),
        nw.col("intensity").max().alias("intensity_max"),
    ]
    if outcome == "repurchase":
        ranges = collect(
            viewers.group_by("segment", "decile").agg(nw.len().alias("viewers"), *ranges_of)
        ).with_columns(pl.col("decile", "viewers").cast(pl.Int64))
        r = repurchase_of(
            dataset, viewers.select("user_id", "segment"), period=p, window=window, alpha=alpha
        )
        df = r.drop("period", "metric").join(ranges, on="segment", how="right")
        df = df.with_columns(pl.col("n").fill_null(0)).with_columns(metric=pl.lit(r["metric"][0]))
        metric = f"repurchase_{window}d"
    else:
        buyers = (
            paid_orders(dataset, include_refunded=False)
            .pipe(period_rows, "ordered_at", p)
            .select("user_id")
            .unique()
            .with_columns(nw.lit(1).alias("_hit"))
        )
        agg = (  # one collect: the bins' sizes, intensity ranges and buyers together
            viewers.join(buyers, on="user_id", how="left")
            .group_by("segment", "decile")
            .agg(
                nw.len().alias("n"),
                nw.col("_hit").fill_null(0).cast(nw.Int64).sum().alias("k"),
                *ranges_of,
            )
        )
        counts = collect(agg).with_columns(pl.col("decile", "n").cast(pl.Int64))
        df = wilson(
            counts.with_columns(pl.col("n").alias("viewers")), successes="k", n="n", alpha=alpha
        )
        metric = "order_rate"
    df = df.select(
        "segment", "value", "ci_low", "ci_high", "n",
        "decile", "intensity_min", "intensity_max", "viewers",
    )  # fmt: skip
    return headline(df.with_columns(metric=pl.lit(metric)), metric, p.label)


def interaction_fatigue(
    dataset: Dataset,
    *,
    period: PeriodLike,
    horizon: int = 7,
    cap: int = 10,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Fatigue curve: return rate by the number of interactions a viewer made that day.

    Definition. Units are viewer-days: (user, calendar day) with a view started that
    day, the day in ``period`` and observable (day + ``horizon`` <= ``as_of`` day).
    Dose k = the user's interactions on that day, capped at ``cap`` (segment
    ``"{cap}+"``); outcome = the user views again on one of the next ``horizon`` days
    (day + 1 .. day + horizon). A curve that rises and then falls with k is the
    fatigue signal (heavy prompting going with less return). Wilson CIs over
    viewer-days (days of one user are correlated; the CIs are too narrow for heavy
    viewers). ``n`` = viewer-days; extra columns ``interactions`` (k, the cap for the
    top bin), ``users``. Per day rather than per session, because interactions are
    not tied to a viewing session in the data contract.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = lambda n: dt.datetime(2024, 1, n, 12)
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [d(1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 1, 2], "started_at": [d(1), d(3), d(1)], "watch_seconds": [60.0] * 3})
    >>> inter = pl.DataFrame({"user_id": [1], "at": [d(1)], "kind": ["like"]})
    >>> ds = ins.frames_dataset(users=users, views=views, interactions=inter, as_of="2024-03-31")
    >>> ins.interaction_fatigue(ds, period="2024Q1").select("segment", "value", "n").rows()
    [('0', 0.0, 2), ('1', 1.0, 1)]
    """
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"cap must be a positive integer, got {cap!r}")
    p = parse_period(period)
    last = as_of_day(dataset) - horizon
    views = dataset.table("views", needed_for="interaction fatigue")
    days = (
        views.select("user_id", epoch_day("started_at", like=views).cast(nw.Int64).alias("day"))
        .unique()
        .with_columns(nw.col("day").shift(-1).over("user_id", order_by="day").alias("_next"))
        .filter(nw.col("day").is_between(p.start_day, min(p.end_day, last), closed="both"))
        .join(users_frame(dataset, where=where).select("user_id"), on="user_id")
    )
    acts = dataset.table("interactions", needed_for="interaction fatigue")
    per_day = (
        acts.select("user_id", epoch_day("at", like=acts).cast(nw.Int64).alias("day"))
        .group_by("user_id", "day")
        .agg(nw.len().alias("_k"))
    )
    k = nw.col("_k").fill_null(0).cast(nw.Int64)
    units = days.join(per_day, on=["user_id", "day"], how="left").with_columns(
        nw.when(k >= cap).then(nw.lit(cap)).otherwise(k).cast(nw.Int64).alias("interactions"),
        ((nw.col("_next") - nw.col("day")) <= horizon).fill_null(False).cast(nw.Int64).alias("_r"),
    )
    agg = units.group_by("interactions").agg(
        nw.len().alias("n"),
        nw.col("_r").sum().alias("returned"),
        nw.col("user_id").n_unique().alias("users"),
    )
    df = wilson(collect(agg), successes="returned", n="n", alpha=alpha)
    df = df.with_columns(
        pl.col("interactions", "users").cast(pl.Int64),
        segment=pl.when(pl.col("interactions") >= cap)
        .then(pl.format("{}+", pl.col("interactions")))
        .otherwise(pl.col("interactions").cast(pl.String)),
    )
    df = df.select("segment", "value", "ci_low", "ci_high", "n", "interactions", "users")
    return headline(df, f"return_{horizon}d", p.label, order=("interactions",))
