"""Log-rank / Fleming–Harrington tests on counts against lifelines on raw rows, R's survdiff
output, a hand-worked example and a naive per-time computation; plus a type-I error study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines.datasets import load_lung, load_waltons
from lifelines.statistics import logrank_test as ll_logrank
from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test
from scipy.stats import chi2

from insights.stats.adjust import adjust_pvalues
from insights.stats.logrank import logrank_test, pairwise_logrank


def _raw(seed: int, groups: tuple[str, ...] = ("a", "b", "c"), n: int = 300) -> pl.DataFrame:
    """Per-unit rows with heavy ties: integer durations 1..30, ~30% censored, group effects."""
    rng = np.random.default_rng(seed)
    g = rng.choice(list(groups), n)
    scale = np.select([g == groups[0], g == groups[1]], [12.0, 9.0], 15.0)
    t = np.ceil(rng.exponential(scale)).clip(1, 30).astype(int)
    return pl.DataFrame(
        {
            "segment": g,
            "stratum": rng.choice(["s1", "s2"], n),
            "duration": t,
            "event": (rng.random(n) < 0.7).astype(int),
        }
    )


def _counts(
    raw: pl.DataFrame, keys: tuple[str, ...] = ("segment", "duration", "event")
) -> pl.DataFrame:
    return (
        raw.group_by(*keys)
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .with_columns(pl.lit(0, dtype=pl.Int64).alias("entry"))
        .sort(*keys)
    )


def test_hand_worked_two_groups() -> None:
    # a: 5 events at 1, 5 at 3; b: 5 events at 2, 5 censored at 4.
    # t=1: N=20, n_a=10, D=5: E_a=2.5,    V=10*10*5*15/(20^2*19)=0.986842
    # t=2: N=15, n_a=5,  D=5: E_a=1.6667, V=5*10*5*10/(15^2*14)=0.793651
    # t=3: N=10, n_a=5,  D=5: E_a=2.5,    V=5*5*5*5/(10^2*9)  =0.694444
    c = pl.DataFrame(
        {
            "segment": ["a", "a", "b", "b"],
            "duration": [1, 3, 2, 4],
            "event": [1, 1, 1, 0],
            "count": [5.0] * 4,
        }
    )
    r = logrank_test(c)
    v = 0.986842105 + 0.793650794 + 0.694444444
    assert r.df == 1
    assert r.segments.filter(pl.col("segment") == "a")["expected"].item() == pytest.approx(
        6.6666667
    )
    assert r.segments["variance"].to_list() == pytest.approx([v, v])
    assert r.statistic == pytest.approx((10 / 3) ** 2 / v)


@pytest.mark.parametrize("seed", [1, 2])
def test_two_groups_match_lifelines(seed: int) -> None:
    raw = _raw(seed, groups=("a", "b"))
    a, b = raw.filter(pl.col("segment") == "a"), raw.filter(pl.col("segment") == "b")
    ref = ll_logrank(a["duration"], b["duration"], a["event"], b["event"])
    ours = logrank_test(_counts(raw))
    assert ours.statistic == pytest.approx(ref.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-9)


@pytest.mark.parametrize(
    ("rho", "gamma"), [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 2.0)]
)
def test_k_groups_fleming_harrington_match_lifelines(rho: float, gamma: float) -> None:
    raw = _raw(7, groups=("a", "b", "c", "d"), n=500)
    ref = multivariate_logrank_test(
        raw["duration"].to_numpy(),
        raw["segment"].to_numpy(),
        raw["event"].to_numpy(),
        weightings="fleming-harrington",
        p=rho,
        q=gamma,
    )
    ours = logrank_test(_counts(raw), test="fleming-harrington", rho=rho, gamma=gamma)
    assert ours.df == 3
    assert ours.statistic == pytest.approx(ref.test_statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-8)


def test_case_weights_match_lifelines_weights() -> None:
    raw = _raw(4).with_columns(pl.Series("w", np.random.default_rng(4).uniform(0.2, 3.0, 300)))
    ref = multivariate_logrank_test(
        raw["duration"].to_numpy(),
        raw["segment"].to_numpy(),
        raw["event"].to_numpy(),
        weights=raw["w"].to_numpy(),
    )
    counts = raw.group_by("segment", "duration", "event").agg(pl.col("w").sum().alias("count"))
    ours = logrank_test(counts)
    assert ours.statistic == pytest.approx(ref.test_statistic, rel=1e-9)


def test_waltons_matches_lifelines() -> None:
    w = pl.from_pandas(load_waltons()).rename({"group": "segment"})
    counts = w.group_by("segment", pl.col("T").alias("duration"), pl.col("E").alias("event")).agg(
        pl.len().cast(pl.Float64).alias("count")
    )
    ref = multivariate_logrank_test(w["T"].to_numpy(), w["segment"].to_numpy(), w["E"].to_numpy())
    ours = logrank_test(counts)
    assert ours.statistic == pytest.approx(ref.test_statistic, rel=1e-10)
    assert ours.statistic == pytest.approx(122.25, abs=0.01)  # lifelines' documented waltons value


def _lung() -> pl.DataFrame:
    return pl.from_pandas(load_lung()).rename({"time": "duration", "status": "event"})


def test_lung_sex_matches_r_survdiff() -> None:
    # R: survdiff(Surv(time, status) ~ sex, data = lung): O 112 / E 91.5817 and
    # O 53 / E 73.4183, Chisq = 10.3267, p = 0.00131116
    lung = _lung().with_columns(pl.col("sex").cast(pl.String).alias("segment"))
    r = logrank_test(_counts(lung))
    assert r.statistic == pytest.approx(10.3267, abs=5e-5)
    assert r.p_value == pytest.approx(0.00131116, rel=1e-4)
    assert r.segments["observed"].to_list() == [112, 53]
    assert r.segments["expected"].to_list() == pytest.approx([91.5817, 73.4183], abs=5e-5)


def test_stratified_matches_r_survdiff() -> None:
    # R: survdiff(Surv(time, status) ~ pat.karno + strata(inst), data = lung), n = 224:
    # Chisq = 21.4 on 7 df, p = 0.003 (survival package example output).
    lung = (
        _lung()
        .drop_nulls(["inst", "pat.karno"])
        .with_columns(
            pl.col("pat.karno").cast(pl.Int64).cast(pl.String).str.zfill(3).alias("segment"),
            pl.col("inst").cast(pl.Int64).cast(pl.String).alias("stratum"),
        )
    )
    r = logrank_test(_counts(lung, ("segment", "stratum", "duration", "event")), strata="stratum")
    assert r.df == 7
    assert round(r.statistic, 1) == 21.4
    assert round(r.p_value, 3) == 0.003
    expected = [0.692, 1.099, 1.166, 16.298, 26.358, 41.938, 47.242, 26.207]
    assert r.segments["expected"].to_list() == pytest.approx(expected, abs=5e-4)
    assert r.segments["observed"].to_list() == [1, 1, 4, 27, 31, 38, 38, 21]


def test_group_without_events_at_risk_drops_a_degree_of_freedom() -> None:
    # R survival tests/difftest: aml plus a "Dummy" group censored before any event:
    # same Chisq (3.4) on 1 df; E = 10.69 and 7.31.
    times = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
    times += [1, 2, 2, 3, 3, 3, 4]
    status = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0] + [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1] + [0] * 7
    group = ["Maintained"] * 11 + ["Nonmaintained"] * 12 + ["Dummy"] * 7
    raw = pl.DataFrame({"segment": group, "duration": times, "event": status})
    r = logrank_test(_counts(raw))
    two = logrank_test(_counts(raw.filter(pl.col("segment") != "Dummy")))
    assert r.df == 1
    assert r.statistic == pytest.approx(two.statistic, rel=1e-12)
    assert round(r.statistic, 1) == 3.4
    assert r.segments["expected"].to_list() == pytest.approx([0.0, 10.69, 7.31], abs=5e-3)


def _naive_two_group(raw: pl.DataFrame, first: str) -> tuple[float, float]:
    """O − E and V for group ``first`` by a direct loop over the distinct event times."""
    d = raw["duration"].to_numpy()
    e = raw["event"].to_numpy() == 1
    g = raw["segment"].to_numpy() == first
    entry = raw["entry"].to_numpy() if "entry" in raw.columns else np.zeros(len(d))
    z = v = 0.0
    for t in np.unique(d[e]):
        at_risk = ((entry == 0) | (entry < t)) & (d >= t)  # (entry, duration]
        n, n1 = at_risk.sum(), (at_risk & g).sum()
        dead = e & (d == t)
        dd, d1 = dead.sum(), (dead & g).sum()
        z += d1 - n1 * dd / n
        if n > 1:
            v += n1 * (n - n1) * dd * (n - dd) / (n**2 * (n - 1))
    return float(z), float(v)


def test_stratified_equals_sum_of_per_stratum_results() -> None:
    raw = _raw(9, groups=("a", "b"), n=400)
    zs, vs = zip(
        *(_naive_two_group(raw.filter(pl.col("stratum") == s), "a") for s in ("s1", "s2")),
        strict=True,
    )
    r = logrank_test(_counts(raw, ("segment", "stratum", "duration", "event")), strata="stratum")
    assert r.segments["score"][0] == pytest.approx(sum(zs), rel=1e-12)
    assert r.segments["variance"][0] == pytest.approx(sum(vs), rel=1e-12)
    assert r.statistic == pytest.approx(sum(zs) ** 2 / sum(vs), rel=1e-12)
    # and it differs from the unstratified test on the same rows
    assert r.statistic != pytest.approx(logrank_test(_counts(raw)).statistic, rel=1e-6)


def test_left_truncation_uses_entry_risk_sets() -> None:
    rng = np.random.default_rng(12)
    raw = _raw(12, groups=("a", "b"), n=300)
    raw = raw.with_columns(
        pl.min_horizontal(
            pl.Series("entry", rng.integers(0, 6, raw.height)), pl.col("duration") - 1
        )
        .clip(0)
        .alias("entry")
    )
    counts = raw.group_by("segment", "entry", "duration", "event").agg(
        pl.len().cast(pl.Float64).alias("count")
    )
    z, v = _naive_two_group(raw, "a")
    r = logrank_test(counts)
    assert r.segments["score"][0] == pytest.approx(z, rel=1e-12)
    assert r.statistic == pytest.approx(z**2 / v, rel=1e-12)


def test_aggregated_equals_unit_rows_and_input_untouched() -> None:
    raw = _raw(3)
    counts = _counts(raw)
    before = counts.clone()
    unit = raw.with_columns(pl.lit(1.0).alias("count"))
    assert logrank_test(counts).statistic == pytest.approx(logrank_test(unit).statistic, rel=1e-12)
    assert counts.equals(before)


def test_pairwise_matches_lifelines_and_holm() -> None:
    raw = _raw(5, groups=("a", "b", "c"), n=450)
    ref = pairwise_logrank_test(
        raw["duration"].to_numpy(), raw["segment"].to_numpy(), raw["event"].to_numpy()
    )
    ours = pairwise_logrank(_counts(raw), adjust="holm")
    assert ours.select("segment_a", "segment_b").rows() == [("a", "b"), ("a", "c"), ("b", "c")]
    expected = ref.summary["p"].to_numpy()  # lifelines orders the pairs the same way
    np.testing.assert_allclose(ours["p_value"].to_numpy(), expected, rtol=1e-8)
    np.testing.assert_allclose(
        ours["p_adjusted"].to_numpy(), adjust_pvalues(expected, method="holm")
    )
    vs_ref = pairwise_logrank(_counts(raw), reference="b", adjust="bh")
    assert vs_ref.select("segment_a", "segment_b").rows() == [("a", "b"), ("c", "b")]
    assert set(vs_ref["method"].to_list()) == {"bh"}


def test_bad_input_messages() -> None:
    counts = _counts(_raw(1))
    with pytest.raises(ValueError, match="test must be one of"):
        logrank_test(counts, test="wilcoxon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rho and gamma"):
        logrank_test(counts, test="fleming-harrington", rho=-1)
    with pytest.raises(ValueError, match=r"lacks columns \['tier'\]"):
        logrank_test(counts, by="tier")
    with pytest.raises(ValueError, match="at least two segments"):
        logrank_test(counts.filter(pl.col("segment") == "a"))
    with pytest.raises(ValueError, match="no events"):
        logrank_test(counts.with_columns(pl.lit(0).alias("event")))
    with pytest.raises(ValueError, match="entry > duration"):
        logrank_test(counts.with_columns(pl.lit(99).alias("entry")))
    with pytest.raises(ValueError, match="empty"):
        logrank_test(counts.clear())


def test_type_one_error_and_holm_familywise_error() -> None:
    """Under H0 (same hazard in 3 groups of 25, random censoring), 300 replicates:
    the k-group test rejects at about alpha; Holm keeps the family-wise error of the
    3 pairwise tests at or below alpha (unadjusted it is inflated)."""
    rng = np.random.default_rng(2024)
    reps, n, alpha = 300, 25, 0.05
    overall = holm_any = raw_any = 0
    labels = np.repeat(["a", "b", "c"], n)
    for _ in range(reps):  # replicates of a simulation, not a loop over users
        t = np.ceil(rng.exponential(10.0, 3 * n)).astype(int)
        c = rng.integers(5, 40, 3 * n)
        frame = pl.DataFrame(
            {"segment": labels, "duration": np.minimum(t, c), "event": (t <= c).astype(int)}
        )
        counts = frame.group_by("segment", "duration", "event").agg(
            pl.len().cast(pl.Float64).alias("count")
        )
        overall += logrank_test(counts).p_value < alpha
        pairs = pairwise_logrank(counts, adjust="holm")
        holm_any += bool((pairs["p_adjusted"] < alpha).any())
        raw_any += bool((pairs["p_value"] < alpha).any())
    # binomial SD of a rate of 0.05 over 300 replicates: 0.0126
    assert 0.02 <= overall / reps <= 0.09
    assert holm_any / reps <= alpha + 0.025
    assert raw_any >= holm_any


def test_chi2_p_value_consistent() -> None:
    r = logrank_test(_counts(_raw(8)))
    assert r.p_value == pytest.approx(chi2.sf(r.statistic, r.df))
    assert isinstance(pd.Series([r.p_value]).iloc[0], float)


def _truncated(seed: int, n: int = 400) -> pl.DataFrame:
    """Per-unit rows with delayed entry tied to event days (entry < duration or entry 0)."""
    rng = np.random.default_rng(seed)
    raw = _raw(seed, groups=("a", "b", "c"), n=n)
    late = np.where(raw["segment"].to_numpy() == "a", 0, rng.integers(0, 12, raw.height))
    return raw.with_columns(
        pl.min_horizontal(pl.Series("entry", late), pl.col("duration") - 1).clip(0).alias("entry")
    )


def _naive_k_group(
    raw: pl.DataFrame, *, rho: float = 0.0, weight: str | None = None, robust: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Z and V over groups by loops: at risk on (entry, duration] (entry 0: from 0), pooled
    Ŝ(t−)^rho weights, hypergeometric V or, with ``robust``, Σ w_i² r_i r_i' of the
    per-unit score residuals built from their definition (Lin & Wei 1989)."""
    d, e = raw["duration"].to_numpy(), raw["event"].to_numpy() == 1
    entry, g = raw["entry"].to_numpy(), raw["segment"].to_numpy()
    w = raw[weight].to_numpy() if weight else np.ones(len(d))
    labels = sorted(set(g))
    k, s_prev = len(labels), 1.0
    z, v = np.zeros(k), np.zeros((k, k))
    resid = np.zeros((len(d), k))
    for t in np.unique(d[e]):
        risk = ((entry == 0) | (entry < t)) & (d >= t)
        dead = e & (d == t)
        n_tot, d_tot = w[risk].sum(), w[dead].sum()
        wt = s_prev**rho
        p = np.array([w[risk & (g == lab)].sum() / n_tot for lab in labels])
        for a, lab in enumerate(labels):
            z[a] += wt * (w[dead & (g == lab)].sum() - p[a] * d_tot)
            for b in range(k):
                v[a, b] += wt**2 * p[a] * ((a == b) - p[b]) * d_tot * (n_tot - d_tot) / (n_tot - 1)
        for i in np.flatnonzero(risk):
            own = np.array([g[i] == lab for lab in labels], dtype=float)
            resid[i] += wt * (own - p) * (float(dead[i]) - d_tot / n_tot)
        s_prev *= 1 - d_tot / n_tot
    if robust:
        v = resid.T @ (resid * (w**2)[:, None])
    return z, v


def _quad(z: np.ndarray, v: np.ndarray) -> float:
    return float(z @ np.linalg.pinv(v) @ z)


def test_left_truncation_k_group_fleming_harrington_stratified_pairwise() -> None:
    raw = _truncated(21)
    counts = raw.group_by("segment", "stratum", "entry", "duration", "event").agg(
        pl.len().cast(pl.Float64).alias("count")
    )
    for rho in (0.0, 1.0):
        z, v = _naive_k_group(raw, rho=rho)
        r = logrank_test(counts, test="fleming-harrington", rho=rho)
        np.testing.assert_allclose(r.segments["score"].to_numpy(), z, rtol=1e-10, atol=1e-10)
        assert r.statistic == pytest.approx(_quad(z, v), rel=1e-9)
    zs = vs = 0.0
    for s in ("s1", "s2"):
        z, v = _naive_k_group(raw.filter(pl.col("stratum") == s))
        zs, vs = zs + z, vs + v
    assert logrank_test(counts, strata="stratum").statistic == pytest.approx(
        _quad(zs, vs), rel=1e-9
    )
    pairs = pairwise_logrank(counts, adjust="none")
    z, v = _naive_k_group(raw.filter(pl.col("segment") != "a"))
    bc = pairs.filter((pl.col("segment_a") == "b") & (pl.col("segment_b") == "c"))
    assert bc["statistic"].item() == pytest.approx(_quad(z, v), rel=1e-9)


def test_same_day_entry_and_exit_is_refused_with_its_count() -> None:
    c = pl.DataFrame(
        {
            "segment": ["a", "a", "b", "b"],
            "entry": [0, 3, 0, 1],
            "duration": [4, 3, 2, 5],
            "event": [1, 1, 1, 0],
            "count": [2.0, 7.0, 3.0, 1.0],
        }
    )
    with pytest.raises(ValueError, match=r"7 units \(1 rows\) have 0 < entry == duration"):
        logrank_test(c)
    with pytest.raises(ValueError, match="entry > duration"):
        logrank_test(c.with_columns(pl.lit(9).alias("entry")))
    # entry 0 with duration 0: followed from the origin, an event at t = 0 is kept
    ok = c.with_columns(pl.when(pl.col("entry") == 3).then(0).otherwise("entry").alias("entry"))
    first = pl.int_range(pl.len()) == 0
    ok = ok.with_columns(pl.when(first).then(0).otherwise("duration").alias("duration"))
    assert logrank_test(ok).segments["observed"].to_list() == [9.0, 3.0]


def _weighted(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    raw = _truncated(seed, n=300)
    return raw.with_columns(pl.Series("w", rng.choice([0.3, 1.0, 2.5, 4.0], raw.height)))


def test_sampling_weights_robust_variance_matches_per_unit_definition() -> None:
    raw = _weighted(31)
    unit = raw.with_columns(pl.col("w").alias("count"))
    for rho in (0.0, 1.0):
        z, v = _naive_k_group(raw, rho=rho, weight="w", robust=True)
        r = logrank_test(unit, test="fleming-harrington", rho=rho, weights_kind="sampling")
        np.testing.assert_allclose(r.segments["score"].to_numpy(), z, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(r.segments["variance"].to_numpy(), np.diag(v), rtol=1e-9)
        assert r.statistic == pytest.approx(_quad(z, v), rel=1e-9)
        assert (r.df, r.weights_kind) == (2, "sampling")
    # rows aggregating units give the same test through count_sq = Σ w²
    agg = raw.group_by("segment", "entry", "duration", "event").agg(
        pl.col("w").sum().alias("count"), (pl.col("w") ** 2).sum().alias("count_sq")
    )
    assert logrank_test(agg, weights_kind="sampling").statistic == pytest.approx(
        logrank_test(unit, weights_kind="sampling").statistic, rel=1e-10
    )


@pytest.mark.parametrize("factor", [0.01, 100.0])
def test_sampling_weights_are_scale_free_frequency_weights_are_not(factor: float) -> None:
    raw = _weighted(32)
    unit = raw.with_columns(pl.col("w").alias("count"))
    scaled = unit.with_columns(pl.col("count") * factor)
    for kw in ({}, {"strata": "stratum"}, {"test": "fleming-harrington", "rho": 1.0}):
        base = logrank_test(unit, weights_kind="sampling", **kw)  # type: ignore[arg-type]
        other = logrank_test(scaled, weights_kind="sampling", **kw)  # type: ignore[arg-type]
        assert other.p_value == pytest.approx(base.p_value, rel=1e-9)
    np.testing.assert_allclose(
        pairwise_logrank(scaled, weights_kind="sampling")["p_value"].to_numpy(),
        pairwise_logrank(unit, weights_kind="sampling")["p_value"].to_numpy(),
        rtol=1e-9,
    )
    freq = logrank_test(unit).statistic
    assert logrank_test(scaled).statistic != pytest.approx(freq, rel=0.5)  # counts as units


def test_sampling_weights_of_one_approach_the_hypergeometric_test() -> None:
    # untied unit weights: robust and model-based variances agree asymptotically
    rng = np.random.default_rng(33)
    n = 4000
    g = rng.choice(["a", "b"], n)
    t = rng.exponential(np.where(g == "a", 10.0, 8.0))
    c = rng.exponential(15.0, n)
    unit = pl.DataFrame(
        {"segment": g, "duration": np.minimum(t, c), "event": (t <= c).astype(int), "count": 1.0}
    )
    robust = logrank_test(unit, weights_kind="sampling").segments["variance"][0]
    model = logrank_test(unit).segments["variance"][0]
    assert robust == pytest.approx(model, rel=0.05)
