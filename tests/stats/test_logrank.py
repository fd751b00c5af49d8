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
        at_risk = (entry <= t) & (d >= t)
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
            pl.Series("entry", rng.integers(0, 6, raw.height)), pl.col("duration")
        ).alias("entry")
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
