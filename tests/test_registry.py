"""The metric registry: one family per id template, ids built and resolved by it alone."""

from __future__ import annotations

import itertools

import pytest

from insights import _registry
from insights._registry import METRICS, MetricInfo, metric_id, metric_info, register, resolve

# What the narrative knew about each metric before the registry held families (the
# table and regexes of insights.narrative.registry): (unit, better, base) per id.
BEFORE = {
    "retention_d1": ("rate", "higher", None),
    "retention_d7": ("rate", "higher", None),
    "retention_d30": ("rate", "higher", None),
    "retention_d14": ("rate", "higher", None),
    "churn_week1": ("rate", "lower", None),
    "churn_month1": ("rate", "lower", None),
    "repurchase_60d": ("rate", "higher", None),
    "repurchase_90d": ("rate", "higher", None),
    "active_90d": ("rate", "higher", None),
    "first_purchase_30d": ("rate", "higher", None),
    "aov": ("money", "higher", None),
    "aov_yuan": ("money", "higher", None),
    "aov_ratio": ("ratio", "higher", "money"),
    "aov_uplift": ("uplift", "higher", "money"),
    "repurchase_uplift": ("uplift", "higher", "rate"),
    "interaction_rate": ("rate", "higher", None),
    "public_to_private_conversion_30d": ("rate", "higher", None),
    "community_exit_rate_90d": ("rate", "lower", None),
    "community_exit_rate_30d": ("rate", "lower", None),
    "cac_yuan": ("money", "lower", None),
    "cac": ("money", "lower", None),
    "repurchase_cycle": ("days", "lower", None),
    "repurchase_cycle_median_days": ("days", "lower", None),
    "repurchase_frequency_ratio": ("ratio", "higher", "index"),
    "silent_reactivation_30d": ("rate", "higher", None),
    "lifecycle_layer_share": ("rate", None, None),
    "gmv_share_top20pct_buyers": ("rate", None, None),
    "gmv_share_top10pct_buyers": ("rate", None, None),
    "new_user_share": ("rate", None, None),
    "user_share": ("rate", None, None),
    "new_users": ("count", "higher", None),
    "active_users": ("count", "higher", None),
    "active_users_index": ("index", "higher", None),
    "watch_minutes_per_session_mean": ("minutes", "higher", None),
    "bounce_rate": ("rate", "lower", None),
    "rmst_90": ("days", "higher", None),
    "median_lifetime": ("days", "higher", None),
    "order_90d": ("rate", "higher", None),
    "join_30d": ("rate", "higher", None),
    "interaction_rate_30d": ("rate", "higher", None),
    "gmv_60d": ("money", "higher", None),
    "aov_60d": ("money", "higher", None),
}


@pytest.mark.parametrize(("metric", "expected"), sorted(BEFORE.items()))
def test_every_id_keeps_its_unit_and_direction(metric: str, expected: tuple) -> None:
    info = metric_info(metric)
    assert (info.unit, info.better, info.base) == expected


def test_every_kpi_id_is_registered() -> None:
    from insights.kpis import KPIS

    for kpi in KPIS:
        assert metric_info(kpi).template in METRICS


def test_ids_are_built_and_resolved_by_their_family() -> None:
    assert metric_id("repurchase_{window}d", window=60) == "repurchase_60d"
    assert metric_id("gmv_share_top{pct}pct_buyers", pct=20) == "gmv_share_top20pct_buyers"
    assert metric_id("aov") == "aov"
    for template, info in METRICS.items():
        for value in (0, 7, 365):
            params = dict.fromkeys(info.fields, value)
            found, got = resolve(metric_id(template, **params))
            assert (found.template, got) == (template, params)


def test_no_id_belongs_to_two_families() -> None:
    ids = [info.id(**dict.fromkeys(info.fields, 30)) for info in METRICS.values()]
    for metric, info in itertools.product(ids, METRICS.values()):
        if info.match(metric) is not None:
            assert resolve(metric)[0] == info, (metric, info.template)


def test_bad_ids_and_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="not registered"):
        metric_info("not_a_metric_xyz")
    with pytest.raises(ValueError, match="not registered"):
        metric_id("repurchase_{days}d", days=60)
    with pytest.raises(ValueError, match=r"takes \['window'\]"):
        metric_id("repurchase_{window}d", day=60)
    for bad in (-1, 1.5, True, "60"):
        with pytest.raises(ValueError, match="non-negative integer"):
            metric_id("repurchase_{window}d", window=bad)
    with pytest.raises(ValueError, match="unit and base"):
        MetricInfo("x_{n}d", "percent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="better"):
        MetricInfo("x_{n}d", "rate", "up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format spec"):
        MetricInfo("x_{n:03d}d", "rate")


def test_a_family_registered_by_its_module_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "METRICS", dict(METRICS))
    info = _registry.register("refund_rate_{window}d", unit="rate", better="lower")
    assert _registry.register("refund_rate_{window}d", unit="rate", better="lower") == info
    assert _registry.metric_id("refund_rate_{window}d", window=30) == "refund_rate_30d"
    assert _registry.metric_info("refund_rate_30d").better == "lower"
    with pytest.raises(ValueError, match="already registered"):
        _registry.register("refund_rate_{window}d", unit="rate")
    assert "refund_rate_{window}d" not in METRICS  # the real registry is untouched


def test_registering_a_family_again_unchanged_is_harmless() -> None:
    assert register("retention_d{day}", unit="rate") is METRICS["retention_d{day}"]
    assert METRICS["retention_d{day}"].fields == ("day",)
