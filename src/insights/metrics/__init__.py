"""insights.metrics: compute in the data engine, return small tidy Polars frames."""

from insights.metrics._periods import Period, parse_period
from insights.metrics.activity import active_users, activity_90d
from insights.metrics.activity_days import active_user_days, activity_days
from insights.metrics.growth import (
    bounce_rate,
    cac,
    new_user_share,
    new_users,
    user_share,
    watch_minutes_per_session,
)
from insights.metrics.interaction import (
    gmv_share_top_buyers,
    interaction_intensity,
    interaction_rate,
    interaction_uplift,
    repurchase_after_interaction,
)
from insights.metrics.lifecycle import lifecycle_layers, silent_reactivation
from insights.metrics.lifetimes import survival_counts, user_lifetimes
from insights.metrics.private_domain import (
    community_exit_rate,
    private_aov_uplift,
    public_to_private_conversion,
    repurchase_frequency_ratio,
)
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

__all__ = [
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
