"""Outcome builders of :func:`insights.metrics.experiments.experiment_effects`.

Outcome names are parsed here (definitions in the docstring of
:mod:`insights.metrics.experiments`); each non-survival outcome becomes one lazy
per-arm frame of sufficient sums (``n, s1..s5``), all collected together by the
caller, and :func:`effect_row` turns an arm's sums into an effect against the
control's. :func:`survival_effects` fits the Kaplan–Meier curves by arm from assignment
and gives the retention milestones, Cox hazard ratio and RMST difference, each with
the units per arm (``n_arm``, ``n_control``) so that small arms can be suppressed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import epoch_day
from insights.data.dataset import Dataset
from insights.metrics._segments import Where, where_expr
from insights.metrics._windows import acquisition_clipped, outcome_window
from insights.metrics.activity_days import as_of_day
from insights.metrics.durations import units_of
from insights.metrics.purchase import order_days
from insights.metrics.retention import retention_curves
from insights.stats.cox import cox_hazard_ratios
from insights.stats.curves import SurvivalCurves
from insights.stats.effects import normal_effect, proportion_effect, welch_effect
from insights.stats.milestone import milestone_survival, rmst_difference
from insights.stats.ratio import ratio_of_means_ci

__all__ = [
    "SUM_COLS",
    "effect_row",
    "experiment_filter",
    "experiment_units",
    "outcome_sums",
    "parse_outcome",
    "survival_effects",
]

_PATTERN = re.compile(
    r"^(?:(retention)_d(\d+)|(first_purchase|repurchase|order|join|gmv)_(\d+)d"
    r"|(interaction_rate|aov)(?:_(\d+)d)?)$"
)
_DEFAULT_WINDOW = {"interaction_rate": 30, "aov": 60}
SUM_COLS = ("n", "s1", "s2", "s3", "s4", "s5")


def parse_outcome(outcome: str) -> tuple[str, int]:
    m = _PATTERN.match(outcome) if isinstance(outcome, str) else None
    if m is None:
        raise ValueError(
            f"outcomes: unknown outcome {outcome!r}; use retention_dN, first_purchase_Nd, "
            "repurchase_Nd, order_Nd, join_Nd, gmv_Nd, interaction_rate[_Nd] or aov[_Nd]"
        )
    kind = m.group(1) or m.group(3) or m.group(5)
    days = m.group(2) or m.group(4) or m.group(6)
    return kind, int(days) if days else _DEFAULT_WINDOW[kind]


def experiment_filter(experiment: str, where: Where) -> nw.Expr:
    """The units of ``experiment`` whose (user and experiments) columns pass ``where``."""
    cond = nw.col("experiment") == experiment
    extra = where_expr(where)
    return cond if extra is None else cond & extra


def experiment_units(ds: Dataset, experiment: str, where: Where = None) -> nw.LazyFrame[Any]:
    units = units_of(ds, origin="experiment").filter(experiment_filter(experiment, where))
    origin = nw.max_horizontal(nw.col("assigned_day"), nw.col("first_seen_day")).cast(nw.Int64)
    return units.with_columns(origin.alias("a"), nw.col("arm").cast(nw.String))


def _within(day: str, kind: str, n: int) -> nw.Expr:
    """``day`` in the window of outcome ``kind`` opened on the assignment day ``a``."""
    return outcome_window(kind, n).contains(day, "a")


def _sums(frame: nw.LazyFrame[Any], label: str, cols: Mapping[str, nw.Expr]) -> nw.LazyFrame[Any]:
    exprs = [cols.get(c, nw.lit(0.0)).cast(nw.Float64).alias(c) for c in SUM_COLS]
    return frame.group_by("arm").agg(*exprs).with_columns(nw.lit(label).alias("outcome"))


def _flag_sums(units: nw.LazyFrame[Any], hits: nw.LazyFrame[Any], label: str) -> nw.LazyFrame[Any]:
    flagged = units.join(
        hits.unique().with_columns(nw.lit(1.0).alias("__hit")), on="user_id", how="left"
    )
    return _sums(flagged, label, {"n": nw.len(), "s1": nw.col("__hit").fill_null(0.0).sum()})


def outcome_sums(
    ds: Dataset, units: nw.LazyFrame[Any], kind: str, n: int, label: str, refunded: bool
) -> nw.LazyFrame[Any]:
    end = as_of_day(ds)
    window = outcome_window(kind, n)  # the day range of this metric id (metrics._windows)
    base = units.select("user_id", "arm", "a", "first_seen_day")
    seen = base.filter(window.observable("a", end))
    if kind in ("first_purchase", "repurchase", "order", "gmv", "aov"):
        # as in the KPIs, an order before the acquisition day (clock skew) is on day 0 ("cday");
        # repurchase gaps keep the real days, as repurchase_rate does
        od = (
            order_days(ds, include_refunded=refunded)
            .join(base, on="user_id", how="inner")
            .with_columns(acquisition_clipped("day", "first_seen_day").alias("cday"))
        )
    if kind == "order":
        return _flag_sums(seen, od.filter(_within("cday", kind, n)).select("user_id"), label)
    if kind == "first_purchase":
        before = od.filter(nw.col("cday") < nw.col("a")).select("user_id").unique()
        new = seen.join(before, on="user_id", how="anti")
        return _flag_sums(new, od.filter(_within("cday", kind, n)).select("user_id"), label)
    if kind == "repurchase":
        after = od.filter(nw.col("cday") >= nw.col("a"))
        first = after.group_by("user_id").agg(nw.col("day").min().alias("f"))
        buyers = base.join(first, on="user_id").filter(window.observable("f", end))
        again = (
            after.join(first, on="user_id").filter(window.contains("day", "f")).select("user_id")
        )
        return _flag_sums(buyers, again, label)
    if kind == "join":
        comm = ds.table("community", needed_for=f"outcome {label!r}")
        joins = comm.filter(nw.col("action") == "join").select(
            "user_id", epoch_day("at").cast(nw.Int64).alias("day")
        )
        hits = joins.join(base, on="user_id").filter(_within("day", kind, n)).select("user_id")
        return _flag_sums(seen, hits, label)
    if kind == "interaction_rate":
        views = ds.table("views", needed_for=f"outcome {label!r}")
        views = views.select(
            "user_id", epoch_day("started_at", like=views).cast(nw.Int64).alias("day")
        )
        inter = ds.table("interactions", needed_for=f"outcome {label!r}")
        inter = inter.select("user_id", epoch_day("at", like=inter).cast(nw.Int64).alias("day"))
        viewers = seen.join(
            views.join(base, on="user_id")
            .filter(_within("day", kind, n))
            .select("user_id")
            .unique(),
            on="user_id",
            how="semi",
        )
        return _flag_sums(
            viewers,
            inter.join(base, on="user_id").filter(_within("day", kind, n)).select("user_id"),
            label,
        )
    in_window = od.filter(_within("cday", kind, n)).join(
        seen.select("user_id"), on="user_id", how="semi"
    )
    if kind == "gmv":
        per_user = seen.join(
            in_window.group_by("user_id").agg(nw.col("amount").sum().alias("__y")),
            on="user_id",
            how="left",
        ).with_columns(nw.col("__y").fill_null(0.0))
        return _sums(
            per_user,
            label,
            {"n": nw.len(), "s1": nw.col("__y").sum(), "s2": (nw.col("__y") ** 2).sum()},
        )
    per_user = in_window.group_by("user_id", "arm").agg(
        nw.col("amount").sum().alias("__y"), nw.len().cast(nw.Float64).alias("__x")
    )
    y, x = nw.col("__y"), nw.col("__x")
    return _sums(
        per_user,
        label,
        {
            "n": nw.len(),
            "s1": y.sum(),
            "s2": x.sum(),
            "s3": (y**2).sum(),
            "s4": (x**2).sum(),
            "s5": (x * y).sum(),
        },
    )


def effect_row(
    kind: str, t: dict[str, float], c: dict[str, float], alpha: float, power: float
) -> dict[str, Any]:
    if kind in ("first_purchase", "repurchase", "order", "join", "interaction_rate"):
        return proportion_effect(
            t["s1"], t["n"], c["s1"], c["n"], alpha=alpha, power=power
        ).as_dict()
    if kind == "gmv":

        def mv(r: dict[str, float]) -> tuple[float, float]:
            m = r["s1"] / r["n"] if r["n"] else float("nan")
            v = (r["s2"] - r["n"] * m * m) / (r["n"] - 1) if r["n"] > 1 else float("nan")
            return m, max(v, 0.0)

        (m1, v1), (m0, v0) = mv(t), mv(c)
        return welch_effect(m1, v1, t["n"], m0, v0, c["n"], alpha=alpha, power=power).as_dict()
    e1 = ratio_of_means_ci(t["s1"], t["s2"], t["s3"], t["s4"], t["s5"], int(t["n"]), alpha=alpha)
    e0 = ratio_of_means_ci(c["s1"], c["s2"], c["s3"], c["s4"], c["s5"], int(c["n"]), alpha=alpha)
    return normal_effect(
        e1.estimate, e1.se, e0.estimate, e0.se, n1=t["n"], n0=c["n"], alpha=alpha, power=power,
        method="delta (users as clusters)",
    ).as_dict()  # fmt: skip


def survival_effects(
    ds: Dataset,
    experiment: str,
    control: str,
    days: Sequence[int],
    *,
    churn_gap: int,
    hr_horizon: int | None,
    tau: float | None,
    alpha: float,
    power: float,
    where: Where = None,
) -> tuple[SurvivalCurves, list[dict[str, Any]], pl.DataFrame]:
    curves = retention_curves(
        ds,
        origin="experiment",
        by="arm",
        where={"experiment": experiment} if where is None else experiment_filter(experiment, where),
        churn_gap=churn_gap,
        alpha=alpha,
        tau=tau,
    )
    rows: list[dict[str, Any]] = []
    if days:
        ms = milestone_survival(curves.km, milestones=list(days))
        n_by = dict(curves.summary.select("segment", "n").iter_rows())
        for d in days:
            at = {r["segment"]: r for r in ms.filter(pl.col("t") == d).iter_rows(named=True)}
            c = at.get(control)
            for arm, r in at.items():
                if arm == control or c is None or r["survival"] is None or c["survival"] is None:
                    continue
                eff = normal_effect(
                    r["survival"], r["variance"] ** 0.5, c["survival"], c["variance"] ** 0.5,
                    n1=n_by[arm], n0=n_by[control], alpha=alpha, power=power, method="kaplan-meier (greenwood)",
                ).as_dict()  # fmt: skip
                rows.append(
                    {
                        "outcome": f"retention_d{d}",
                        "arm": arm,
                        "n_arm": n_by[arm],
                        "n_control": n_by[control],
                        **eff,
                    }
                )
    counts = curves.counts
    if hr_horizon is not None:
        over = pl.col("duration") > hr_horizon
        counts = counts.with_columns(
            pl.when(over)
            .then(pl.lit(hr_horizon))
            .otherwise(pl.col("duration"))
            .cast(pl.Int64)
            .alias("duration"),
            pl.when(over).then(pl.lit(0)).otherwise(pl.col("event")).cast(pl.Int64).alias("event"),
        )
    hr = cox_hazard_ratios(counts, by="segment", reference=control, alpha=alpha).select(
        pl.col("level").alias("arm"), "hazard_ratio", pl.col("ci_low").alias("hr_ci_low"),
        pl.col("ci_high").alias("hr_ci_high"), pl.col("p_value").alias("hr_p_value"),
    )  # fmt: skip
    rm = rmst_difference(curves.km, tau=curves.tau, reference=control, alpha=alpha, adjust="none")
    rm = rm.filter(pl.col("segment_b") == control).select(
        pl.col("segment_a").alias("arm"), "tau", pl.col("difference").alias("rmst_difference"),
        pl.col("ci_low").alias("rmst_ci_low"), pl.col("ci_high").alias("rmst_ci_high"),
        pl.col("p_value").alias("rmst_p_value"),
    )  # fmt: skip
    n_of = dict(curves.summary.select("segment", "n").iter_rows())
    surv = hr.join(rm, on="arm", how="full", coalesce=True).with_columns(
        pl.lit(hr_horizon, dtype=pl.Int64).alias("hr_horizon"),
        pl.col("arm").replace_strict(n_of, default=None, return_dtype=pl.Int64).alias("n_arm"),
        pl.lit(n_of.get(control), dtype=pl.Int64).alias("n_control"),
    )
    return (
        curves,
        rows,
        surv.sort("arm").select(
            "arm", "n_arm", "n_control", pl.exclude("arm", "n_arm", "n_control")
        ),
    )
