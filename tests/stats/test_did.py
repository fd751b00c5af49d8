"""did_effect: cluster-robust by unit by default, against statsmodels and by simulation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from insights.stats.did import did_effect


def _ar1_panel(
    seed: int, *, units: int = 40, periods: int = 10, rho: float = 0.8, effect: float = 0.0
) -> pl.DataFrame:
    """Units x periods, half treated from the middle period; unit effects + AR(1) errors."""
    rng = np.random.default_rng(seed)
    e = np.empty((units, periods))
    e[:, 0] = rng.normal(0, 1 / np.sqrt(1 - rho**2), units)
    for t in range(1, periods):
        e[:, t] = rho * e[:, t - 1] + rng.normal(0, 1, units)
    treated = np.arange(units) < units // 2
    post = np.arange(periods) >= periods // 2
    y = rng.normal(0, 1, units)[:, None] + 0.1 * np.arange(periods) + e
    y = y + effect * treated[:, None] * post[None, :]
    return pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(units), periods),
            "period": np.tile(np.arange(periods), units),
            "treated": np.repeat(treated, periods),
            "y": y.ravel(),
            "w": np.random.default_rng(seed + 1).uniform(0.5, 3.0, units * periods),
        }
    )


def _statsmodels(panel: pl.DataFrame, post: list[int], *, weight: bool, cov: str):
    g = panel["treated"].cast(pl.Float64).to_numpy()
    periods = sorted(panel["period"].unique().to_list())
    dummies = [(panel["period"] == p).cast(pl.Float64).to_numpy() for p in periods[1:]]
    is_post = panel["period"].is_in(post).cast(pl.Float64).to_numpy()
    x = np.column_stack([np.ones(panel.height), g, *dummies, g * is_post])
    w = panel["w"].to_numpy() if weight else np.ones(panel.height)
    model = sm.WLS(panel["y"].to_numpy(), x, weights=w)
    if cov == "cluster":
        return model.fit(cov_type="cluster", cov_kwds={"groups": panel["user_id"].to_numpy()},
                         use_t=True)  # fmt: skip
    return model.fit(cov_type="HC1", use_t=True)


@pytest.mark.parametrize("weight", [False, True])
def test_default_clusters_by_unit_as_statsmodels(weight: bool) -> None:
    panel = _ar1_panel(3, effect=0.4).filter(~((pl.col("user_id") == 5) & (pl.col("period") < 3)))
    post = list(range(5, 10))
    res = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                     weight="w" if weight else None)  # fmt: skip
    ref = _statsmodels(panel, post, weight=weight, cov="cluster")
    ci = ref.conf_int()[-1]
    assert res.se_method == "CR1" and res.notes == ()
    assert res.estimate == pytest.approx(ref.params[-1], rel=1e-9)
    assert res.se == pytest.approx(ref.bse[-1], rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci[0], ci[1]), rel=1e-9)
    assert res.p_value == pytest.approx(ref.pvalues[-1], rel=1e-7)


def test_hc1_on_request_as_statsmodels() -> None:
    panel = _ar1_panel(4, effect=0.4)
    post = list(range(5, 10))
    res = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                     weight="w", method="hc1")  # fmt: skip
    ref = _statsmodels(panel, post, weight=True, cov="HC1")
    assert res.se_method == "HC1"
    assert res.se == pytest.approx(ref.bse[-1], rel=1e-9)
    assert res.p_value == pytest.approx(ref.pvalues[-1], rel=1e-7)


def test_cluster_column_and_no_unit_ids_fall_back_with_a_note() -> None:
    panel = _ar1_panel(5).with_columns((pl.col("user_id") // 4).alias("city"))
    post = list(range(5, 10))
    by_user = did_effect(panel, outcome="y", treated="treated", time="period", post=post)
    explicit = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                          cluster="user_id")  # fmt: skip
    by_city = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                         cluster="city")  # fmt: skip
    assert by_user.se == explicit.se and by_city.se_method == "CR1"
    assert by_city.se != by_user.se
    no_ids = panel.rename({"user_id": "store"})
    bare = did_effect(no_ids, outcome="y", treated="treated", time="period", post=post)
    hc1 = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                     method="hc1")  # fmt: skip
    assert bare.se_method == "HC1" and bare.se == hc1.se
    assert "cluster=" in bare.notes[0] and "cluster=" in bare._repr_html_()
    with pytest.raises(ValueError, match="hc1"):
        did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                   cluster="city", method="hc1")  # fmt: skip
    with pytest.raises(ValueError, match="method must be"):
        did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                   method="HC3")  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(ValueError, match="cluster: column 'nope'"):
        did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                   cluster="nope")  # fmt: skip


def test_rescaling_weights_leaves_inference_unchanged() -> None:
    """Robust variances are invariant to w -> c·w: weights are not counts of rows."""
    panel = _ar1_panel(6, effect=0.3)
    post = list(range(5, 10))
    for se in ("cluster", "hc1"):
        base = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                          weight="w", method=se)  # type: ignore[arg-type]  # fmt: skip
        small = did_effect(panel.with_columns(pl.col("w") * 0.01), outcome="y",
                           treated="treated", time="period", post=post,
                           weight="w", method=se)  # type: ignore[arg-type]  # fmt: skip
        assert small.p_value == pytest.approx(base.p_value, rel=1e-9)
        assert small.se == pytest.approx(base.se, rel=1e-9)


def test_size_on_a_serially_correlated_panel() -> None:
    """No effect, AR(1) errors (rho 0.8): clustered ~5% false positives, HC1 far more."""
    post = list(range(10, 20))
    reject = {"cluster": 0, "hc1": 0}
    runs = 120
    for seed in range(runs):
        panel = _ar1_panel(1000 + seed, units=50, periods=20)
        for se in reject:
            res = did_effect(panel, outcome="y", treated="treated", time="period", post=post,
                             method=se)  # type: ignore[arg-type]  # fmt: skip
            reject[se] += res.p_value < 0.05
    assert 0.015 <= reject["cluster"] / runs <= 0.10
    assert reject["hc1"] / runs >= 0.13
