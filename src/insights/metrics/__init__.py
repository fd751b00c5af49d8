"""insights.metrics: compute in the data engine, return small tidy Polars frames."""

from insights.metrics._periods import Period, parse_period
from insights.metrics.activity import active_users, activity_90d
from insights.metrics.activity_days import active_user_days, activity_days
from insights.metrics.community import (
    community_activity,
    community_leave_curves,
    community_spells,
    private_gmv_share,
)
from insights.metrics.experiments import DEFAULT_OUTCOMES, ExperimentEffects, experiment_effects
from insights.metrics.funnel import funnel_frame, interaction_funnel, private_funnel
from insights.metrics.growth import (
    bounce_rate,
    cac,
    new_user_share,
    new_users,
    user_share,
    watch_minutes_per_session,
)
from insights.metrics.growth_table import count_growth, growth_table
from insights.metrics.interaction import (
    gmv_share_top_buyers,
    interaction_intensity,
    interaction_rate,
    interaction_uplift,
    repurchase_after_interaction,
)
from insights.metrics.interaction_effects import (
    high_vs_ordinary,
    interaction_dose_response,
    interaction_fatigue,
    interaction_participation,
    interaction_type_mix,
)
from insights.metrics.lifecycle import (
    layers_by_quarter,
    lifecycle_layers,
    quarter_ends,
    silent_reactivation,
    user_layers,
)
from insights.metrics.lifetimes import survival_counts, user_lifetimes
from insights.metrics.ltv import cohort_ltv, ltv_matrix
from insights.metrics.ltv_projection import ltv_backtest, projected_ltv
from insights.metrics.pareto import pareto_curve
from insights.metrics.private_domain import (
    community_exit_rate,
    private_aov_uplift,
    public_to_private_conversion,
    repurchase_frequency_ratio,
)
from insights.metrics.private_members import member_comparison, member_retention
from insights.metrics.purchase import (
    aov,
    aov_ratio,
    first_purchase_conversion,
    repurchase_cycle,
    repurchase_rate,
)
from insights.metrics.retention import retention_curve, retention_curves, retention_rates
from insights.metrics.retention_index import COMPONENTS, RetentionIndex, retention_index
from insights.metrics.retention_matrix import MATRIX_COLUMNS, retention_matrix
from insights.metrics.rfm import RFM_SEGMENTS, rfm_scores, rfm_segments
from insights.metrics.transitions import lifecycle_transitions, transitions_by_quarter
from insights.metrics.unit_economics import ltv_cac, retention_ltv_elasticity

__all__ = [
    "DEFAULT_OUTCOMES",
    "ExperimentEffects",
    "experiment_effects",
    "cohort_ltv",
    "ltv_matrix",
    "ltv_backtest",
    "projected_ltv",
    "ltv_cac",
    "retention_ltv_elasticity",
    "community_activity",
    "community_leave_curves",
    "community_spells",
    "private_gmv_share",
    "funnel_frame",
    "interaction_funnel",
    "private_funnel",
    "count_growth",
    "growth_table",
    "high_vs_ordinary",
    "interaction_dose_response",
    "interaction_fatigue",
    "interaction_participation",
    "interaction_type_mix",
    "member_comparison",
    "member_retention",
    "RFM_SEGMENTS",
    "layers_by_quarter",
    "lifecycle_transitions",
    "pareto_curve",
    "quarter_ends",
    "rfm_scores",
    "rfm_segments",
    "transitions_by_quarter",
    "user_layers",
    "Period",
    "parse_period",
    "COMPONENTS",
    "MATRIX_COLUMNS",
    "RetentionIndex",
    "active_user_days",
    "active_users",
    "activity_90d",
    "activity_days",
    "aov",
    "aov_ratio",
    "bounce_rate",
    "cac",
    "community_exit_rate",
    "first_purchase_conversion",
    "gmv_share_top_buyers",
    "interaction_intensity",
    "interaction_rate",
    "interaction_uplift",
    "lifecycle_layers",
    "new_user_share",
    "new_users",
    "private_aov_uplift",
    "public_to_private_conversion",
    "repurchase_after_interaction",
    "repurchase_cycle",
    "repurchase_frequency_ratio",
    "repurchase_rate",
    "retention_curve",
    "retention_curves",
    "retention_index",
    "retention_matrix",
    "retention_rates",
    "silent_reactivation",
    "survival_counts",
    "user_lifetimes",
    "user_share",
    "watch_minutes_per_session",
]
