"""insights.stats: estimators on small aggregated frames (KM, RMST, tests, Cox, CIs, ratios)."""

from insights.stats.adjust import adjust_pvalues, comparison_pairs
from insights.stats.btyd import (
    customer_clv,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from insights.stats.comparison import SurvivalComparison, compare_survival
from insights.stats.cox import cox_hazard_ratios
from insights.stats.curves import SurvivalCurves, default_tau, survival_curves
from insights.stats.effects import (
    PARALLEL_TRENDS,
    DiDResult,
    Effect,
    SRMResult,
    did_effect,
    mde,
    normal_effect,
    proportion_effect,
    srm_test,
    welch_effect,
)
from insights.stats.km import KM_COLUMNS, kaplan_meier, median_survival, merge_segments, survival_at
from insights.stats.logrank import LogrankResult, logrank_test, pairwise_logrank
from insights.stats.milestone import milestone_difference, milestone_survival, rmst_difference
from insights.stats.parametric import extended_survival
from insights.stats.proportions import (
    compare_proportions,
    newcombe_diff_interval,
    wilson_frame,
    wilson_interval,
    z_value,
)
from insights.stats.ratio import (
    RatioEstimate,
    cluster_sums,
    ratio_ci,
    ratio_frame,
    ratio_of_means_ci,
)
from insights.stats.rmst import rmst

__all__ = [
    "PARALLEL_TRENDS",
    "DiDResult",
    "Effect",
    "SRMResult",
    "did_effect",
    "mde",
    "normal_effect",
    "proportion_effect",
    "srm_test",
    "welch_effect",
    "customer_clv",
    "expected_purchases",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "p_alive",
    "extended_survival",
    "KM_COLUMNS",
    "LogrankResult",
    "RatioEstimate",
    "SurvivalComparison",
    "SurvivalCurves",
    "adjust_pvalues",
    "comparison_pairs",
    "compare_survival",
    "cox_hazard_ratios",
    "default_tau",
    "logrank_test",
    "milestone_difference",
    "milestone_survival",
    "pairwise_logrank",
    "rmst",
    "rmst_difference",
    "survival_curves",
    "cluster_sums",
    "kaplan_meier",
    "median_survival",
    "merge_segments",
    "compare_proportions",
    "newcombe_diff_interval",
    "ratio_ci",
    "ratio_frame",
    "ratio_of_means_ci",
    "survival_at",
    "wilson_frame",
    "wilson_interval",
    "z_value",
]
