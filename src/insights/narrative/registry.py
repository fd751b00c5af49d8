"""What the narrative needs to know about each metric: its unit kind and good direction.

Names of metrics live in the message catalogs (``metric.<id>``); this module holds
only language-independent facts. Metric ids are the ``metric`` column values of
the library's tidy frames (``retention_d30``, ``aov`` ...) and the KPI ids of
:data:`insights.kpis.KPIS` (``aov_yuan``, ``repurchase_cycle_median_days`` ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Kind", "MetricInfo", "METRICS", "metric_info"]

#: How a metric's value is written: a fraction shown as %, money, a duration, a ratio ...
Kind = Literal["rate", "yuan", "days", "minutes", "ratio", "uplift", "count", "index"]


@dataclass(frozen=True)
class MetricInfo:
    """Unit kind of a metric and whether a higher value is good (``None``: neither).

    ``base`` is the kind of the two group values a relative metric compares (the
    AOVs behind an AOV uplift, the rates behind a repurchase uplift).
    """

    kind: Kind
    higher_is_better: bool | None = True
    base: Kind | None = None


_R = MetricInfo("rate")
METRICS: dict[str, MetricInfo] = {
    "retention_d1": _R,
    "retention_d7": _R,
    "retention_d30": _R,
    "retention_d60": _R,
    "retention_d90": _R,
    "churn_week1": MetricInfo("rate", False),
    "churn_month1": MetricInfo("rate", False),
    "repurchase_60d": _R,
    "repurchase_90d": _R,
    "active_90d": _R,
    "first_purchase_30d": _R,
    "aov": MetricInfo("yuan"),
    "aov_yuan": MetricInfo("yuan"),
    "aov_ratio": MetricInfo("ratio", base="yuan"),
    "aov_uplift": MetricInfo("uplift", base="yuan"),
    "repurchase_uplift": MetricInfo("uplift", base="rate"),
    "interaction_rate": _R,
    "public_to_private_conversion_30d": _R,
    "community_exit_rate_90d": MetricInfo("rate", False),
    "cac_yuan": MetricInfo("yuan", False),
    "repurchase_cycle": MetricInfo("days", False),
    "repurchase_cycle_median_days": MetricInfo("days", False),
    "repurchase_frequency_ratio": MetricInfo("ratio", base="index"),
    "silent_reactivation_30d": _R,
    "lifecycle_layer_share": MetricInfo("rate", None),
    "gmv_share_top20pct_buyers": MetricInfo("rate", None),
    "new_user_share": MetricInfo("rate", None),
    "user_share": MetricInfo("rate", None),
    "new_users": MetricInfo("count"),
    "active_users": MetricInfo("count"),
    "active_users_index": MetricInfo("index"),
    "watch_minutes_per_session_mean": MetricInfo("minutes"),
    "bounce_rate": MetricInfo("rate", False),
    "rmst_90": MetricInfo("days"),
    "median_lifetime": MetricInfo("days"),
}

_PATTERNS: list[tuple[re.Pattern[str], MetricInfo]] = [
    (re.compile(r"^retention_d\d+$"), _R),
    (
        re.compile(
            r"^(repurchase|first_purchase|silent_reactivation|public_to_private_conversion)_\d+d$"
        ),
        _R,
    ),
    (re.compile(r"^community_exit_rate_\d+d$"), MetricInfo("rate", False)),
    (re.compile(r"^gmv_share_top\d+pct_buyers$"), MetricInfo("rate", None)),
    # experiment outcomes (insights.metrics.experiment_effects): order_90d, join_30d, gmv_60d ...
    (re.compile(r"^(order|join)_\d+d$"), _R),
    (re.compile(r"^interaction_rate_\d+d$"), _R),
    (re.compile(r"^(gmv|aov)_\d+d$"), MetricInfo("yuan")),
]


def metric_info(metric: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``metric``; unknown ids raise ``ValueError``.

    Examples
    --------
    >>> metric_info("retention_d30").kind
    'rate'
    >>> metric_info("cac_yuan").higher_is_better
    False
    """
    if metric in METRICS:
        return METRICS[metric]
    for pattern, info in _PATTERNS:
        if pattern.match(metric):
            return info
    raise ValueError(
        f"metric {metric!r} is not known to insights.narrative; known: {sorted(METRICS)}"
    )
