"""Strategy effects: per-experiment SRM check, outcome effects, survival effects, MDE.

Every outcome is measured from the unit's **assignment day** a = max(day of
``assigned_at``, day of ``first_seen_at``) in whole days (day a counts, as in
``metrics.md``'s "day t"), and a unit counts for an N-day outcome only when it is
observable for it (a + N <= as_of day). Outcome names (N any whole number):

- ``retention_dN``: Kaplan–Meier S(N) of the churn lifetime from assignment
  (``retention_curves(start="experiment", by="arm")``), Greenwood SE, Wald CI;
  KM handles censoring, so every unit counts.
- ``first_purchase_Nd``: among units with no paid order before day a, share with a
  paid order in days a..a+N (Newcombe CI).
- ``repurchase_Nd``: among units with a paid order on or after day a whose first such
  order day f is observable for N days, share with another order day in f+1..f+N.
- ``order_Nd``: share of units with any paid order in days a..a+N (e.g. the
  "90-day repurchase" of a win-back test aimed at churned users).
- ``join_Nd``: share of units with a community ``join`` in days a..a+N.
- ``interaction_rate`` / ``interaction_rate_Nd`` (N default 30): among units with a
  view in days a..a+N, share with an interaction in those days.
- ``gmv_Nd``: mean paid GMV per unit in days a..a+N (Welch CI; units are users).
- ``aov`` / ``aov_Nd`` (N default 60): GMV / orders of the paid orders in days
  a..a+N; orders are clustered within users, so the per-arm SE is the delta method
  for a ratio of sums over users (:mod:`insights.stats.ratio`), arms independent.

Proportions use the Newcombe hybrid score interval and the pooled z-test; relative
differences (treatment / control − 1) use the log-ratio (Katz / delta method)
interval. p-values are adjusted (Holm by default) over all outcome x arm comparisons
of the experiment. The SRM test compares arm sizes with the designed split: the mean
``allocation`` column of the experiments table per arm when the table has one, else
``split=``, else equal shares.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect, epoch_day
from insights.data.dataset import Dataset
from insights.metrics.activity_days import as_of_day
from insights.metrics.durations import units_of
from insights.metrics.purchase import order_days
from insights.metrics.retention import retention_curves
from insights.stats.adjust import Adjust, adjust_pvalues
from insights.stats.cox import cox_hazard_ratios
from insights.stats.curves import SurvivalCurves
from insights.stats.effects import (
    SRMResult,
    did_effect,
    normal_effect,
    proportion_effect,
    srm_test,
    welch_effect,
)
from insights.stats.milestone import milestone_survival, rmst_difference
from insights.stats.ratio import ratio_of_means_ci

__all__ = ["DEFAULT_OUTCOMES", "ExperimentEffects", "experiment_effects", "did_effect"]

DEFAULT_OUTCOMES = (
    "retention_d7",
    "first_purchase_30d",
    "repurchase_60d",
    "aov",
    "interaction_rate",
)
_PATTERN = re.compile(
    r"^(?:(retention)_d(\d+)|(first_purchase|repurchase|order|join|gmv)_(\d+)d"
    r"|(interaction_rate|aov)(?:_(\d+)d)?)$"
)
_DEFAULT_WINDOW = {"interaction_rate": 30, "aov": 60}
_SUM_COLS = ("n", "s1", "s2", "s3", "s4", "s5")


def _parse(outcome: str) -> tuple[str, int]:
    m = _PATTERN.match(outcome) if isinstance(outcome, str) else None
    if m is None:
        raise ValueError(
            f"outcomes: unknown outcome {outcome!r}; use retention_dN, first_purchase_Nd, "
            "repurchase_Nd, order_Nd, join_Nd, gmv_Nd, interaction_rate[_Nd] or aov[_Nd]"
        )
    kind = m.group(1) or m.group(3) or m.group(5)
    days = m.group(2) or m.group(4) or m.group(6)
    return kind, int(days) if days else _DEFAULT_WINDOW[kind]


@dataclass(frozen=True)
class ExperimentEffects:
    """Effects of one experiment: arms and SRM, outcome table, survival effects.

    Attributes
    ----------
    experiment, control
        The experiment and its control arm.
    arms
        ``arm, n, share, expected_share``.
    srm
        The sample-ratio-mismatch test (:class:`insights.stats.effects.SRMResult`).
    summary
        One row per outcome x treatment arm: ``outcome, arm, control, n_arm,
        n_control, value_arm, value_control, difference, ci_low, ci_high, relative,
        relative_ci_low, relative_ci_high, p_value, p_adjusted, significant, mde,
        mde_relative, method``.
    survival
        Per treatment arm: Cox ``hazard_ratio`` (CI, p) over ``hr_horizon`` days and
        the RMST difference (days, CI, p) at ``tau``.
    curves
        Kaplan–Meier curves by arm from assignment (None if no survival outcome could
        be fitted).
    """

    experiment: str
    control: str
    arms: pl.DataFrame
    srm: SRMResult
    summary: pl.DataFrame
    survival: pl.DataFrame | None
    curves: SurvivalCurves | None
    alpha: float = 0.05
    adjust: str = "holm"
    power: float = 0.8
    split_source: str = "equal"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def _repr_html_(self) -> str:
        srm = (
            f"SRM chi2 = {self.srm.chi2:.2f} (df {self.srm.df}), p = {self.srm.p_value:.3g} "
            f"against the {self.split_source} split"
        )
        parts = [f"<h4>{self.experiment} (control: {self.control})</h4><p>{srm}</p>"]
        parts.append(self.arms._repr_html_())
        parts.append(self.summary.drop("control")._repr_html_())
        if self.survival is not None:
            parts.append(self.survival._repr_html_())
        parts += [f"<p>{n}</p>" for n in self.notes]
        return "".join(parts)


def _units(ds: Dataset, experiment: str) -> nw.LazyFrame[Any]:
    units = units_of(ds, start="experiment").filter(nw.col("experiment") == experiment)
    origin = nw.max_horizontal(nw.col("assigned_day"), nw.col("first_seen_day")).cast(nw.Int64)
    return units.with_columns(origin.alias("a"), nw.col("arm").cast(nw.String))


def _within(day: str, n: int) -> nw.Expr:
    return (nw.col(day) >= nw.col("a")) & (nw.col(day) <= nw.col("a") + n)


def _sums(frame: nw.LazyFrame[Any], label: str, cols: Mapping[str, nw.Expr]) -> nw.LazyFrame[Any]:
    exprs = [cols.get(c, nw.lit(0.0)).cast(nw.Float64).alias(c) for c in _SUM_COLS]
    return frame.group_by("arm").agg(*exprs).with_columns(nw.lit(label).alias("outcome"))


def _flag_sums(units: nw.LazyFrame[Any], hits: nw.LazyFrame[Any], label: str) -> nw.LazyFrame[Any]:
    flagged = units.join(
        hits.unique().with_columns(nw.lit(1.0).alias("__hit")), on="user_id", how="left"
    )
    return _sums(flagged, label, {"n": nw.len(), "s1": nw.col("__hit").fill_null(0.0).sum()})


def _outcome_sums(
    ds: Dataset, units: nw.LazyFrame[Any], kind: str, n: int, label: str, refunded: bool
) -> nw.LazyFrame[Any]:
    end = as_of_day(ds)
    base = units.select("user_id", "arm", "a")
    seen = base.filter(nw.col("a") + n <= end)
    if kind in ("first_purchase", "repurchase", "order", "gmv", "aov"):
        od = order_days(ds, include_refunded=refunded).join(base, on="user_id", how="inner")
    if kind == "order":
        return _flag_sums(seen, od.filter(_within("day", n)).select("user_id"), label)
    if kind == "first_purchase":
        before = od.filter(nw.col("day") < nw.col("a")).select("user_id").unique()
        new = seen.join(before, on="user_id", how="anti")
        return _flag_sums(new, od.filter(_within("day", n)).select("user_id"), label)
    if kind == "repurchase":
        after = od.filter(nw.col("day") >= nw.col("a"))
        first = after.group_by("user_id").agg(nw.col("day").min().alias("f"))
        buyers = base.join(first, on="user_id").filter(nw.col("f") + n <= end)
        again = (
            after.join(first, on="user_id")
            .filter((nw.col("day") > nw.col("f")) & (nw.col("day") <= nw.col("f") + n))
            .select("user_id")
        )
        return _flag_sums(buyers, again, label)
    if kind == "join":
        comm = ds.table("community", needed_for=f"outcome {label!r}")
        joins = comm.filter(nw.col("action") == "join").select(
            "user_id", epoch_day("at").cast(nw.Int64).alias("day")
        )
        hits = joins.join(base, on="user_id").filter(_within("day", n)).select("user_id")
        return _flag_sums(seen, hits, label)
    if kind == "interaction_rate":
        views = ds.table("views", needed_for=f"outcome {label!r}").select(
            "user_id", epoch_day("started_at").cast(nw.Int64).alias("day")
        )
        inter = ds.table("interactions", needed_for=f"outcome {label!r}").select(
            "user_id", epoch_day("at").cast(nw.Int64).alias("day")
        )
        viewers = seen.join(
            views.join(base, on="user_id").filter(_within("day", n)).select("user_id").unique(),
            on="user_id",
            how="semi",
        )
        return _flag_sums(
            viewers,
            inter.join(base, on="user_id").filter(_within("day", n)).select("user_id"),
            label,
        )
    window = od.filter(_within("day", n)).join(seen.select("user_id"), on="user_id", how="semi")
    if kind == "gmv":
        per_user = seen.join(
            window.group_by("user_id").agg(nw.col("amount").sum().alias("__y")),
            on="user_id",
            how="left",
        ).with_columns(nw.col("__y").fill_null(0.0))
        return _sums(
            per_user,
            label,
            {"n": nw.len(), "s1": nw.col("__y").sum(), "s2": (nw.col("__y") ** 2).sum()},
        )
    per_user = window.group_by("user_id", "arm").agg(
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


def _effect_row(
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


def _survival(
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
) -> tuple[SurvivalCurves, list[dict[str, Any]], pl.DataFrame]:
    curves = retention_curves(
        ds,
        start="experiment",
        by="arm",
        where={"experiment": experiment},
        churn_gap=churn_gap,
        alpha=alpha,
        tau=tau,
    )
    rows: list[dict[str, Any]] = []
    if days:
        ms = milestone_survival(curves.km, times=list(days))
        n_by = dict(curves.summary.select("group", "n").iter_rows())
        for d in days:
            at = {r["group"]: r for r in ms.filter(pl.col("t") == d).iter_rows(named=True)}
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
    hr = cox_hazard_ratios(counts, columns="group", reference=control, alpha=alpha).select(
        pl.col("level").alias("arm"), "hazard_ratio", pl.col("ci_low").alias("hr_ci_low"),
        pl.col("ci_high").alias("hr_ci_high"), pl.col("p_value").alias("hr_p_value"),
    )  # fmt: skip
    rm = rmst_difference(curves.km, tau=curves.tau, reference=control, alpha=alpha, adjust="none")
    rm = rm.filter(pl.col("group_b") == control).select(
        pl.col("group_a").alias("arm"), "tau", pl.col("difference").alias("rmst_difference"),
        pl.col("ci_low").alias("rmst_ci_low"), pl.col("ci_high").alias("rmst_ci_high"),
        pl.col("p_value").alias("rmst_p_value"),
    )  # fmt: skip
    surv = hr.join(rm, on="arm", how="full", coalesce=True).with_columns(
        pl.lit(hr_horizon, dtype=pl.Int64).alias("hr_horizon")
    )
    return curves, rows, surv.sort("arm")


def experiment_effects(
    dataset: Dataset,
    *,
    experiment: str,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    control: str | None = None,
    alpha: float = 0.05,
    adjust: Adjust = "holm",
    power: float = 0.8,
    split: Mapping[str, float] | None = None,
    churn_gap: int = 30,
    hr_horizon: int | None = 30,
    tau: float | None = None,
    survival: bool = True,
    include_refunded: bool = False,
) -> ExperimentEffects:
    """Effects of the arms of ``experiment`` against its control arm.

    Parameters
    ----------
    dataset
        Needs ``users``, ``experiments``, and the tables the outcomes read (orders,
        views/interactions, community).
    experiment
        Value of the ``experiment`` column.
    outcomes
        Outcome names (module docstring), measured from each unit's assignment day.
    control
        Control arm; default ``"control"`` if present, else the first arm in sorted order.
    alpha, adjust, power
        1 − confidence level; p-value adjustment over all outcome x arm comparisons
        (``"holm"``, ``"bh"``, ``"bonferroni"``, ``"none"``); power of the MDE line.
    split
        Designed share per arm for the SRM test when the table has no ``allocation``
        column (default equal shares).
    churn_gap, hr_horizon, tau
        Churn definition of the survival outcomes; Cox hazard ratio over the first
        ``hr_horizon`` days (units still at risk then are censored there; None = the
        whole follow-up, which assumes proportional hazards throughout); RMST horizon
        (default as ``retention_curves``: min(90, well-populated tail)).
    survival
        Fit KM curves, Cox HR and RMST difference by arm (needs activity tables).
    include_refunded
        Count refunded orders in the order-based outcomes (``metrics.md``: excluded
        unless asked).

    Returns
    -------
    ExperimentEffects
        ``arms``, ``srm``, ``summary`` (one row per outcome x arm), ``survival``,
        ``curves``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> t0 = dt.datetime(2024, 1, 1, 9)
    >>> users = pl.DataFrame({"user_id": list(range(8)), "first_seen_at": [t0] * 8})
    >>> exps = pl.DataFrame({"user_id": list(range(8)), "experiment": "x",
    ...                      "arm": ["control", "treatment"] * 4, "assigned_at": [t0] * 8})
    >>> orders = pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 3, 4], "amount": [10.0] * 3,
    ...                        "ordered_at": [t0 + dt.timedelta(days=2)] * 3})
    >>> ds = frames_dataset(users=users, experiments=exps, orders=orders, as_of="2024-03-31")
    >>> res = experiment_effects(ds, experiment="x", outcomes=["order_30d"], survival=False)
    >>> res.summary.select("arm", "value_arm", "value_control").row(0)
    ('treatment', 0.5, 0.25)
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (0.05 for 95% intervals), got {alpha!r}")
    parsed = [(o, *_parse(o)) for o in outcomes]
    if not parsed:
        raise ValueError("outcomes must name at least one outcome")
    exp_table = dataset.table("experiments", needed_for="experiment_effects")
    has_alloc = "allocation" in exp_table.collect_schema().names()
    sizes = collect(
        exp_table.filter(nw.col("experiment") == experiment)
        .group_by(nw.col("arm").cast(nw.String))
        .agg(
            nw.len().alias("n"),
            *([nw.col("allocation").cast(nw.Float64).mean()] if has_alloc else []),
        )
    ).sort("arm")
    if sizes.is_empty():
        known = collect(exp_table.select("experiment").unique())["experiment"].sort().to_list()
        raise ValueError(
            f"experiment {experiment!r} is not in the experiments table; choose from {known}"
        )
    arm_names = sizes["arm"].to_list()
    ctrl = (
        control if control is not None else ("control" if "control" in arm_names else arm_names[0])
    )
    if ctrl not in arm_names or len(arm_names) < 2:
        raise ValueError(
            f"control must be one of the arms {arm_names} (and there must be two or more), got {ctrl!r}"
        )
    if has_alloc and sizes["allocation"].null_count() == 0:
        design, source = (
            dict(zip(arm_names, sizes["allocation"].to_list(), strict=True)),
            "recorded (allocation column)",
        )
    else:
        design, source = (dict(split), "given") if split is not None else (None, "equal")
    srm = srm_test(dict(zip(arm_names, sizes["n"].to_list(), strict=True)), split=design)
    arms = (
        pl.DataFrame(
            {
                "arm": list(srm.arms),
                "n": list(srm.observed),
                "expected_share": [e / sum(srm.expected) for e in srm.expected],
            }
        )
        .with_columns((pl.col("n") / pl.col("n").sum()).alias("share"))
        .select("arm", "n", "share", "expected_share")
    )

    units = _units(dataset, experiment)
    lazy = [
        _outcome_sums(dataset, units, k, n, o, include_refunded)
        for o, k, n in parsed
        if k != "retention"
    ]
    rows: list[dict[str, Any]] = []
    if lazy:
        sums = collect(nw.concat(lazy, how="vertical"))
        for o, k, _ in parsed:
            if k == "retention":
                continue
            got = {r["arm"]: r for r in sums.filter(pl.col("outcome") == o).iter_rows(named=True)}
            zero = dict.fromkeys(_SUM_COLS, 0.0)
            c = got.get(ctrl, zero)
            for arm in arm_names:
                if arm == ctrl:
                    continue
                t = got.get(arm, zero)
                eff = _effect_row(k, t, c, alpha, power)
                rows.append({"outcome": o, "arm": arm, "n_arm": t["n"], "n_control": c["n"], **eff})
    curves, surv = None, None
    days = [n for _, k, n in parsed if k == "retention"]
    notes = []
    if days or survival:
        curves, km_rows, surv = _survival(
            dataset,
            experiment,
            ctrl,
            days,
            churn_gap=churn_gap,
            hr_horizon=hr_horizon,
            tau=tau,
            alpha=alpha,
            power=power,
        )
        rows += km_rows
    order = {o: i for i, (o, _, _) in enumerate(parsed)}
    summary = _summary(rows, ctrl, order, alpha, adjust)
    if srm.p_value < 0.001:
        notes.append(
            f"Sample ratio mismatch (p = {srm.p_value:.2g}): check the assignment before reading effects."
        )
    notes.append(
        "MDE: (z_{1-alpha/2} + z_power) x SE of the difference at the control arm's variance."
    )
    return ExperimentEffects(
        experiment,
        ctrl,
        arms,
        srm,
        summary,
        surv,
        curves,
        alpha,
        adjust,
        power,
        source,
        tuple(notes),
    )


def _summary(
    rows: list[dict[str, Any]], ctrl: str, order: Mapping[str, int], alpha: float, adjust: Adjust
) -> pl.DataFrame:
    schema = {
        "outcome": pl.String, "arm": pl.String, "n_arm": pl.Float64, "n_control": pl.Float64,
        "value_treatment": pl.Float64, "value_control": pl.Float64, "difference": pl.Float64,
        "ci_low": pl.Float64, "ci_high": pl.Float64, "relative": pl.Float64, "relative_ci_low": pl.Float64,
        "relative_ci_high": pl.Float64, "p_value": pl.Float64, "mde": pl.Float64, "method": pl.String,
    }  # fmt: skip
    frame = pl.DataFrame(rows, schema=schema).with_columns(
        pl.col("outcome").replace_strict(dict(order), return_dtype=pl.Int64).alias("__o")
    )
    frame = frame.sort("__o", "arm").drop("__o").with_columns(pl.col(pl.Float64).fill_nan(None))
    p = frame["p_value"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    adj = adjust_pvalues(p, method=adjust)
    return frame.rename({"value_treatment": "value_arm"}).with_columns(
        pl.lit(ctrl).alias("control"),
        pl.Series("p_adjusted", adj).fill_nan(None),
        (pl.col("mde") / pl.col("value_control")).alias("mde_relative"),
        pl.col("n_arm").cast(pl.Int64),
        pl.col("n_control").cast(pl.Int64),
    ).with_columns((pl.col("p_adjusted") <= alpha).fill_null(False).alias("significant")).select(
        "outcome", "arm", "control", "n_arm", "n_control", "value_arm", "value_control", "difference",
        "ci_low", "ci_high", "relative", "relative_ci_low", "relative_ci_high", "p_value", "p_adjusted",
        "significant", "mde", "mde_relative", "method",
    )  # fmt: skip
