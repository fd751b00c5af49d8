"""insights.stats: estimators on small aggregated frames (KM, CIs, ratios)."""

from insights.stats.km import KM_COLUMNS, kaplan_meier, median_survival, merge_segments, survival_at
from insights.stats.proportions import (
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

__all__ = [
    "KM_COLUMNS",
    "RatioEstimate",
    "cluster_sums",
    "kaplan_meier",
    "median_survival",
    "merge_segments",
    "newcombe_diff_interval",
    "ratio_ci",
    "ratio_frame",
    "ratio_of_means_ci",
    "survival_at",
    "wilson_frame",
    "wilson_interval",
    "z_value",
]
