"""Strategy effects: per-experiment SRM check, outcome effects, survival effects, MDE.

Every outcome is measured from the unit's **assignment day** a = max(day of
``assigned_at``, day of ``first_seen_at``) in whole days (day a counts, as in
``docs/metrics.md``'s "day t"), and a unit counts for an N-day outcome only when it is
observable for it (a + N <= as_of day). An outcome id means what it means in the KPIs
and cohort metrics, with a instead of the acquisition day: the day range of each
N-day outcome is defined once, in ``insights.metrics._windows`` (N days: a .. a+N-1,
or f+1 .. f+N after an opening event f). Order days before the acquisition day (the
data contract's one-day clock skew) count as the acquisition day, as in
``first_purchase_conversion``. Outcome names (N any whole number):

- ``retention_dN``: Kaplan–Meier S(N) of the churn lifetime from assignment
  (``retention_curves(origin="experiment", by="arm")``), Greenwood SE, Wald CI;
  KM handles censoring, so every unit counts.
- ``first_purchase_Nd``: among units with no paid order before day a, share with a
  paid order in days a..a+N-1 (Newcombe CI); with a = the acquisition day, the
  ``first_purchase_conversion`` KPI.
- ``repurchase_Nd``: among units with a paid order on or after day a whose first such
  order day f is observable for N days (f + N <= as_of day), share with another order
  day in f+1..f+N (as ``repurchase_rate``).
- ``order_Nd``: share of units with any paid order in days a..a+N-1 (e.g. the
  "90-day repurchase" of a win-back test aimed at churned users).
- ``join_Nd``: share of units with a community ``join`` in days a..a+N-1.
- ``interaction_rate`` / ``interaction_rate_Nd`` (N default 30): among units with a
  view in days a..a+N-1, share with an interaction in those days.
- ``gmv_Nd``: mean paid GMV per unit in days a..a+N-1 (Welch CI; units are users).
- ``aov`` / ``aov_Nd`` (N default 60): GMV / orders of the paid orders in days
  a..a+N-1; orders are clustered within users, so the per-arm SE is the delta method
  for a ratio of sums over users (:mod:`insights.stats.ratio`), arms independent.

Proportions use the Newcombe hybrid score interval and the pooled z-test; relative
differences (treatment / control − 1) use the log-ratio (Katz / delta method)
interval. p-values are adjusted (Holm by default) over all outcome x arm comparisons
of the experiment. Small arms are never shown: a row whose arm or control count is
below ``min_cell`` keeps its place, flagged ``suppressed``, with every number about it
(values, difference, intervals, p-values, MDE, HR, RMST, and the small count itself)
set to null. The SRM test compares arm sizes with the designed split: the mean
``allocation`` column of the experiments table per arm when the table has one, else
``split=``, else equal shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import polars as pl

from insights._options import resolve_min_cell
from insights.data._backend import collect
from insights.data.dataset import Dataset, churn_gap_of
from insights.metrics._experiment_outcomes import (
    SUM_COLS,
    effect_row,
    experiment_filter,
    experiment_units,
    outcome_sums,
    parse_outcome,
    survival_effects,
)
from insights.metrics._segments import ALL, Where
from insights.metrics.durations import units_of
from insights.stats.adjust import Adjust, adjust_pvalues
from insights.stats.curves import SurvivalCurves
from insights.stats.effects import SRMResult, srm_test

__all__ = [
    "DEFAULT_OUTCOMES",
    "ExperimentEffects",
    "experiment_effects",
]

DEFAULT_OUTCOMES = (
    "retention_d7",
    "first_purchase_30d",
    "repurchase_60d",
    "aov",
    "interaction_rate",
)


@dataclass(frozen=True)
class ExperimentEffects:
    """Effects of one experiment: arms and SRM, outcome table, survival effects.

    Attributes
    ----------
    experiment, control
        The experiment and its control arm.
    arms
        ``arm, n, share, expected_share, suppressed`` (an arm below ``min_cell``: ``n``
        and ``share`` null).
    srm
        The sample-ratio-mismatch test (:class:`insights.stats.effects.SRMResult`).
    summary
        One row per outcome x treatment arm: ``segment`` (``"all"``), ``outcome, arm,
        control, n_arm, n_control, value_arm, value_control, difference, ci_low,
        ci_high, relative, relative_ci_low, relative_ci_high, p_value, p_adjusted,
        significant, mde, mde_relative, method, suppressed``.
    survival
        Per treatment arm, with ``n_arm`` and ``n_control`` (units per arm): Cox
        ``hazard_ratio`` (CI, p) over ``hr_horizon`` days and the RMST difference
        (days, CI, p) at ``tau``; ``suppressed`` as in ``summary``.
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
    churn_gap: int | None = None,
    hr_horizon: int | None = 30,
    tau: float | None = None,
    survival: bool = True,
    include_refunded: bool = False,
    where: Where = None,
    min_cell: int | None = None,
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
        Churn definition of the survival outcomes (default ``dataset.churn_gap``, else
        30); Cox hazard ratio over the first
        ``hr_horizon`` days (units still at risk then are censored there; None = the
        whole follow-up, which assumes proportional hazards throughout); RMST horizon
        (default as ``retention_curves``: min(90, well-populated tail)).
    survival
        Fit KM curves, Cox HR and RMST difference by arm (needs activity tables).
    include_refunded
        Count refunded orders in the order-based outcomes (``docs/metrics.md``: excluded
        unless asked).
    where
        Keep the units whose users (or experiments) columns pass this filter, e.g.
        ``{"platform": "douyin"}``; the SRM test then compares the kept arm sizes with
        the design (a filter on a pre-assignment attribute keeps the split).
    min_cell
        Rows of an arm (or control) with fewer units are suppressed: numbers null,
        ``suppressed`` true (default from ``ins.options``). The SRM test and the
        p-value adjustment still use every arm.

    Returns
    -------
    ExperimentEffects
        ``arms``, ``srm``, ``summary`` (one row per outcome x arm; ``segment`` is
        ``"all"``: the units in scope), ``survival``, ``curves``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1, 9)
    >>> users = pl.DataFrame({"user_id": list(range(8)), "first_seen_at": [t0] * 8})
    >>> exps = pl.DataFrame({"user_id": list(range(8)), "experiment": "x",
    ...                      "arm": ["control", "treatment"] * 4, "assigned_at": [t0] * 8})
    >>> orders = pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 3, 4], "amount": [10.0] * 3,
    ...                        "ordered_at": [t0 + dt.timedelta(days=2)] * 3})
    >>> ds = ins.frames_dataset(users=users, experiments=exps, orders=orders, as_of="2024-03-31")
    >>> res = ins.experiment_effects(ds, experiment="x", outcomes=["order_30d"], survival=False,
    ...                              min_cell=1)
    >>> res.summary.select("arm", "value_arm", "value_control").row(0)
    ('treatment', 0.5, 0.25)

    With the default ``min_cell`` (10) each 4-unit arm is too small to show:

    >>> small = ins.experiment_effects(ds, experiment="x", outcomes=["order_30d"], survival=False)
    >>> small.summary.select("n_arm", "value_arm", "difference", "suppressed").row(0)
    (None, None, None, True)
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (0.05 for 95% intervals), got {alpha!r}")
    min_cell = resolve_min_cell(min_cell)
    parsed = [(o, *parse_outcome(o)) for o in outcomes]
    if not parsed:
        raise ValueError("outcomes must name at least one outcome")
    exp_table = dataset.table("experiments", needed_for="experiment_effects")
    has_alloc = "allocation" in exp_table.collect_schema().names()
    scope = exp_table if where is None else units_of(dataset, origin="experiment")
    sizes = collect(
        scope.filter(experiment_filter(experiment, where))
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
    design: dict[str, float] | None
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
    arms = _hide_small(arms, ("n",), min_cell, counts=("n",), hide=("share",))

    units = experiment_units(dataset, experiment, where)
    lazy = [
        outcome_sums(dataset, units, k, n, o, include_refunded)
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
            zero = dict.fromkeys(SUM_COLS, 0.0)
            c = got.get(ctrl, zero)
            for arm in arm_names:
                if arm == ctrl:
                    continue
                t = got.get(arm, zero)
                eff = effect_row(k, t, c, alpha, power)
                rows.append({"outcome": o, "arm": arm, "n_arm": t["n"], "n_control": c["n"], **eff})
    curves, surv = None, None
    days = [n for _, k, n in parsed if k == "retention"]
    notes = []
    if days or survival:
        curves, km_rows, surv = survival_effects(
            dataset,
            experiment,
            ctrl,
            days,
            churn_gap=churn_gap_of(dataset, churn_gap),
            hr_horizon=hr_horizon,
            tau=tau,
            alpha=alpha,
            power=power,
            where=where,
        )
        rows += km_rows
    order = {o: i for i, (o, _, _) in enumerate(parsed)}
    summary = _hide_small(
        _summary(rows, ctrl, order, alpha, adjust), ("n_arm", "n_control"), min_cell,
        counts=("n_arm", "n_control"),
        hide=("value_arm", "value_control", "difference", "ci_low", "ci_high", "relative",
              "relative_ci_low", "relative_ci_high", "p_value", "p_adjusted", "mde", "mde_relative"),
    )  # fmt: skip
    if surv is not None:
        surv = _hide_small(
            surv, ("n_arm", "n_control"), min_cell, counts=("n_arm", "n_control"),
            hide=tuple(c for c in surv.columns if c not in ("arm", "n_arm", "n_control", "tau", "hr_horizon")),
        )  # fmt: skip
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


def _hide_small(
    frame: pl.DataFrame,
    sizes: Sequence[str],
    min_cell: int,
    *,
    counts: Sequence[str],
    hide: Sequence[str],
) -> pl.DataFrame:
    """Flag rows with a ``sizes`` count in 1..min_cell-1: ``hide`` columns null, small counts null
    (an empty arm describes nobody)."""
    small = pl.lit(False)
    for c in sizes:
        small = small | ((pl.col(c) > 0) & (pl.col(c) < min_cell)).fill_null(False)
    flagged = frame.with_columns(small.alias("suppressed"))
    row = pl.col("suppressed")
    out = flagged.with_columns(
        *(
            pl.when(row).then(None).otherwise(pl.col(c)).alias(c)
            for c in hide
            if c in frame.columns
        ),
        *(
            pl.when((pl.col(c) > 0) & (pl.col(c) < min_cell))
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in counts
            if c in frame.columns
        ),
    )
    if "significant" in frame.columns:  # a hidden row is never called significant
        out = out.with_columns(pl.col("significant") & ~row)
    return out


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
        pl.lit(ALL).alias("segment"),
        pl.lit(ctrl).alias("control"),
        pl.Series("p_adjusted", adj).fill_nan(None),
        (pl.col("mde") / pl.col("value_control")).alias("mde_relative"),
        pl.col("n_arm").cast(pl.Int64),
        pl.col("n_control").cast(pl.Int64),
    ).with_columns((pl.col("p_adjusted") <= alpha).fill_null(False).alias("significant")).select(
        "segment", "outcome", "arm", "control", "n_arm", "n_control", "value_arm", "value_control", "difference",
        "ci_low", "ci_high", "relative", "relative_ci_low", "relative_ci_high", "p_value", "p_adjusted",
        "significant", "mde", "mde_relative", "method",
    )  # fmt: skip
