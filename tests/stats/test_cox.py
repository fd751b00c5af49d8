"""Cox hazard ratios on aggregated counts against lifelines on the expanded rows and
published coefficients (lifelines' ``load_rossi``, also R ``coxph``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import CoxPHFitter, CoxTimeVaryingFitter
from lifelines.datasets import load_rossi

from insights.stats._lifelines import fit_cox
from insights.stats.cox import _design, _efron, _newton, _tie_sums, cox_hazard_ratios

ROSSI = {
    "fin": -0.379,
    "age": -0.057,
    "race": 0.314,
    "wexp": -0.150,
    "mar": -0.434,
    "paro": -0.085,
    "prio": 0.091,
}
TIGHT = {"precision": 1e-12}


def _raw(seed: int, n: int, hazards: dict[str, float], max_c: int = 60) -> pd.DataFrame:
    """Per-user rows, daily durations (heavy ties), two segment columns and a stratum."""
    rng = np.random.default_rng(seed)
    parts = []
    for g, h in hazards.items():
        tier = rng.choice(["x", "y"], n)
        t = rng.geometric(np.where(tier == "y", h * 1.3, h))
        c = rng.integers(3, max_c, n)
        parts.append(
            pd.DataFrame(
                {
                    "segment": g,
                    "tier": tier,
                    "stratum": rng.choice(["s1", "s2"], n),
                    "duration": np.minimum(t, c),
                    "event": (t <= c).astype(int),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _counts(raw: pd.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    return pl.from_pandas(raw).group_by(*keys).agg(pl.len().cast(pl.Float64).alias("count"))


def _lifelines_raw(
    raw: pd.DataFrame, columns: list[str], strata: list[str] | None = None
) -> CoxPHFitter:
    x = pd.get_dummies(raw[columns], drop_first=True, dtype=float)
    keep = ["duration", "event"] + (strata or [])
    return CoxPHFitter().fit(
        pd.concat([raw[keep], x], axis=1), "duration", "event", strata=strata, fit_options=TIGHT
    )


def _loglik_at(
    counts: pl.DataFrame, columns: list[str], beta: np.ndarray, strata: str | None = None
) -> float:
    """Our frequency-weighted Efron log-likelihood of the counts at lifelines' estimate."""
    x, _ = _design(counts, columns, None)
    codes = (
        np.unique(counts[strata].to_numpy(), return_inverse=True)[1]
        if strata
        else np.zeros(counts.height, dtype=np.intp)
    )
    return _efron(
        beta,
        x,
        codes,
        np.zeros(counts.height),
        counts["duration"].cast(pl.Float64).to_numpy(),
        counts["event"].to_numpy() == 1,
        counts["count"].to_numpy(),
    )[0]


# lifelines stops its Newton iterations with gradients up to ~1e-5, so estimates are
# compared to 1e-6; the log-likelihoods at lifelines' own estimate agree to 1e-12.


@pytest.mark.parametrize(
    ("n", "hazards"), [(1500, {"a": 0.02, "b": 0.03, "c": 0.05}), (6000, {"a": 0.05, "b": 0.08})]
)
def test_exact_engine_equals_lifelines_on_expanded_rows(n: int, hazards: dict[str, float]) -> None:
    # the second case has up to several hundred tied events per day (closed-form sums)
    raw = _raw(1, n, hazards)
    counts = _counts(raw, ("segment", "tier", "duration", "event"))
    ref = _lifelines_raw(raw, ["segment", "tier"])
    ours = cox_hazard_ratios(counts, by=["segment", "tier"])
    np.testing.assert_allclose(ours["coef"].to_numpy(), ref.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(ours["se"].to_numpy(), ref.standard_errors_.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        ours["ci_low"].to_numpy(), ref.summary["exp(coef) lower 95%"].to_numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(ours["z"].to_numpy(), ref.summary["z"].to_numpy(), rtol=1e-5)
    loglik = _loglik_at(counts, ["segment", "tier"], ref.params_.to_numpy())
    assert loglik == pytest.approx(ref.log_likelihood_, rel=1e-12)


def test_stratified_exact_equals_lifelines() -> None:
    raw = _raw(2, 1200, {"a": 0.03, "b": 0.05})
    counts = _counts(raw, ("segment", "stratum", "duration", "event"))
    ref = _lifelines_raw(raw, ["segment"], strata=["stratum"])
    ours = cox_hazard_ratios(counts, strata="stratum")
    assert ours["coef"].item() == pytest.approx(ref.params_.iloc[0], abs=1e-6)
    assert ours["se"].item() == pytest.approx(ref.standard_errors_.iloc[0], rel=1e-6)
    loglik = _loglik_at(counts, ["segment"], ref.params_.to_numpy(), strata="stratum")
    assert loglik == pytest.approx(ref.log_likelihood_, rel=1e-12)


def test_rossi_through_the_lifelines_door() -> None:
    rossi = load_rossi()
    names = list(ROSSI)
    fit = fit_cox(rossi["week"], rossi["arrest"], rossi[names].to_numpy(), names)
    assert fit.coef.round(3).tolist() == list(ROSSI.values())
    assert fit.log_likelihood == pytest.approx(-658.748, abs=1e-3)


def test_rossi_with_the_exact_engine() -> None:
    rossi = load_rossi()
    x = rossi[list(ROSSI)].to_numpy(dtype=float)
    n = len(rossi)
    beta, cov, loglik = _newton(
        x,
        np.zeros(n, dtype=np.intp),
        np.zeros(n),
        rossi["week"].to_numpy(dtype=float),
        rossi["arrest"].to_numpy() == 1,
        np.ones(n),
    )
    assert beta.round(3).tolist() == list(ROSSI.values())
    assert loglik == pytest.approx(-658.748, abs=1e-3)
    ref = fit_cox(rossi["week"], rossi["arrest"], x, list(ROSSI))
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ref.se, rtol=1e-6)


def test_lifelines_engine_counts_rows_not_users_in_ties() -> None:
    raw = _raw(3, 2000, {"a": 0.03, "b": 0.06})
    counts = _counts(raw, ("segment", "duration", "event"))
    exact = cox_hazard_ratios(counts)["coef"].item()
    weighted = cox_hazard_ratios(counts, method="lifelines")["coef"].item()
    assert abs(exact - weighted) > 1e-3  # lifelines' weighted Efron counts rows, not users
    assert exact == pytest.approx(_lifelines_raw(raw, ["segment"]).params_.iloc[0], abs=1e-6)
    # when no two users share an event time (all counts 1) the two engines agree
    rng = np.random.default_rng(3)
    untied = pl.from_pandas(raw).with_columns(
        (pl.col("duration") + pl.Series(rng.permutation(len(raw)) / len(raw))).alias("duration"),
        pl.lit(1.0).alias("count"),
    )
    assert cox_hazard_ratios(untied)["coef"].item() == pytest.approx(
        cox_hazard_ratios(untied, method="lifelines")["coef"].item(), abs=1e-6
    )


def test_left_truncation_matches_counting_process_fit() -> None:
    rng = np.random.default_rng(4)
    raw = _raw(4, 800, {"a": 0.04, "b": 0.07}).query("duration >= 3").reset_index(drop=True)
    # entries at half days never coincide with (integer) event times
    raw["entry"] = rng.choice([0.0, 0.5, 1.5, 2.5], len(raw))
    counts = _counts(raw, ("segment", "entry", "duration", "event"))
    ctv_data = raw.assign(b=(raw["segment"] == "b").astype(float), id=np.arange(len(raw)))
    ref = CoxTimeVaryingFitter().fit(
        ctv_data[["id", "entry", "duration", "event", "b"]],
        id_col="id",
        event_col="event",
        start_col="entry",
        stop_col="duration",
        fit_options=TIGHT,
    )
    ours = cox_hazard_ratios(counts)
    assert ours["coef"].item() == pytest.approx(ref.params_.iloc[0], abs=1e-8)
    assert ours["se"].item() == pytest.approx(ref.standard_errors_.iloc[0], rel=1e-7)


@pytest.mark.parametrize("d", [1.0, 7.0, 64.0, 65.0, 300.0])
def test_tie_sums_closed_forms(d: float) -> None:
    a = np.array([d, d * 1.7, d * 40.0])
    sums = _tie_sums(a, np.full(3, d))
    ell = np.arange(int(d))
    for i, ai in enumerate(a):
        m = ai - ell
        expected = [np.log(m).sum(), (1 / m).sum(), (1 / m**2).sum(), (ell / m).sum()]
        expected += [(ell / m**2).sum(), (ell**2 / m**2).sum()]
        np.testing.assert_allclose([s[i] for s in sums], expected, rtol=1e-9, atol=1e-12)


def test_reference_levels_and_columns() -> None:
    raw = _raw(5, 600, {"a": 0.03, "b": 0.05, "c": 0.04})
    counts = _counts(raw, ("segment", "tier", "duration", "event"))
    before = counts.clone()
    out = cox_hazard_ratios(counts, by=["segment", "tier"], reference={"segment": "c"})
    assert out.select("column", "level", "reference").rows() == [
        ("segment", "a", "c"),
        ("segment", "b", "c"),
        ("tier", "y", "x"),
    ]
    assert out["n"].to_list() == [
        600,
        600,
        float(counts.filter(pl.col("tier") == "y")["count"].sum()),
    ]
    # re-coding the reference inverts the hazard ratio of a vs c
    flipped = cox_hazard_ratios(counts, by=["segment", "tier"], reference={"segment": "a"})
    hr_ca = flipped.filter(pl.col("level") == "c")["hazard_ratio"].item()
    assert out.filter(pl.col("level") == "a")["hazard_ratio"].item() == pytest.approx(
        1 / hr_ca, rel=1e-8
    )
    assert cox_hazard_ratios(counts, reference="b")["level"].to_list() == ["a", "c"]
    assert counts.equals(before)


def test_bad_input_messages() -> None:
    counts = _counts(_raw(6, 300, {"a": 0.05, "b": 0.05}), ("segment", "tier", "duration", "event"))
    no_events_b = counts.with_columns(
        pl.when(pl.col("segment") == "b").then(0).otherwise(pl.col("event")).alias("event")
    )
    with pytest.raises(ValueError, match="level 'b' of 'segment' has no events"):
        cox_hazard_ratios(no_events_b)
    with pytest.raises(ValueError, match="method must be one of"):
        cox_hazard_ratios(counts, method="statsmodels")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"cox columns \['channel'\]"):
        cox_hazard_ratios(counts, by=["segment", "channel"])
    with pytest.raises(ValueError, match="single level"):
        cox_hazard_ratios(counts.filter(pl.col("tier") == "x"), by="tier")
    with pytest.raises(ValueError, match="singular"):
        cox_hazard_ratios(
            counts.with_columns(pl.col("segment").alias("copy")), by=["segment", "copy"]
        )
    with pytest.raises(ValueError, match="not one of its levels"):
        cox_hazard_ratios(counts, reference={"segment": "zzz"})
    with pytest.raises(ValueError, match="left truncation"):
        cox_hazard_ratios(counts.with_columns(pl.lit(0.5).alias("entry")), method="lifelines")
    with pytest.raises(ValueError, match=r"0 < entry == duration"):
        cox_hazard_ratios(counts.with_columns(pl.col("duration").alias("entry")))
    with pytest.raises(ValueError, match="weights_kind must be one of"):
        cox_hazard_ratios(counts, weights_kind="survey")  # type: ignore[arg-type]


def _truncated_units(seed: int, n: int = 700) -> pd.DataFrame:
    """Per-unit rows, daily times, integer entries that coincide with event days."""
    rng = np.random.default_rng(seed)
    raw = _raw(seed, n, {"a": 0.04, "b": 0.06})
    late = rng.integers(0, 15, len(raw))
    raw["entry"] = np.where(rng.random(len(raw)) < 0.3, 0, np.minimum(late, raw["duration"] - 1))
    raw["entry"] = raw["entry"].clip(lower=0).astype(float)
    return raw


def test_integer_entries_match_lifelines_entry_col_and_counting_process() -> None:
    raw = _truncated_units(41)
    counts = _counts(raw, ("segment", "entry", "duration", "event"))
    x = raw.assign(b=(raw["segment"] == "b").astype(float))
    ref = CoxPHFitter().fit(
        x[["entry", "duration", "event", "b"]],
        "duration",
        "event",
        entry_col="entry",
        fit_options=TIGHT,
    )
    ctv = CoxTimeVaryingFitter().fit(
        x.assign(id=np.arange(len(x)))[["id", "entry", "duration", "event", "b"]],
        id_col="id",
        event_col="event",
        start_col="entry",
        stop_col="duration",
        fit_options=TIGHT,
    )
    ours = cox_hazard_ratios(counts)
    assert ours["coef"].item() == pytest.approx(ref.params_.iloc[0], abs=1e-8)
    assert ours["coef"].item() == pytest.approx(ctv.params_.iloc[0], abs=1e-8)
    assert ours["se"].item() == pytest.approx(ref.standard_errors_.iloc[0], rel=1e-7)


def _sampled(seed: int, n: int = 500) -> pd.DataFrame:
    """Continuous (untied) times, two segments and sampling weights."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(["a", "b"], n)
    t = rng.exponential(np.where(seg == "b", 20.0, 30.0))
    c = rng.uniform(5, 60, n)
    return pd.DataFrame(
        {
            "segment": seg,
            "duration": np.minimum(t, c),
            "event": (t <= c).astype(int),
            "count": rng.choice([0.2, 1.0, 3.5, 7.0], n),
        }
    )


def test_sampling_weights_match_lifelines_robust() -> None:
    raw = _sampled(42)
    x = raw.assign(b=(raw["segment"] == "b").astype(float))[["duration", "event", "count", "b"]]
    ref = CoxPHFitter().fit(
        x, "duration", "event", weights_col="count", robust=True, fit_options=TIGHT
    )
    counts = pl.from_pandas(raw)
    ours = cox_hazard_ratios(counts, weights_kind="sampling")
    assert ours["coef"].item() == pytest.approx(ref.params_.iloc[0], abs=1e-8)
    assert ours["se"].item() == pytest.approx(ref.standard_errors_.iloc[0], rel=1e-6)
    via = cox_hazard_ratios(counts, weights_kind="sampling", method="lifelines")
    assert via["se"].item() == pytest.approx(ref.standard_errors_.iloc[0], rel=1e-6)
    # the model-based (frequency) SE shrinks with the weights' total; the robust one does not
    assert cox_hazard_ratios(counts)["se"].item() < 0.8 * ours["se"].item()


def test_sampling_weights_with_ties_follow_r_lifelines_efron() -> None:
    # tied daily times: the weighted Efron correction counts tied rows (R, lifelines)
    raw = _raw(43, 400, {"a": 0.05, "b": 0.08})
    raw["count"] = np.random.default_rng(43).choice([0.5, 1.0, 2.0], len(raw))
    x = raw.assign(b=(raw["segment"] == "b").astype(float))[["duration", "event", "count", "b"]]
    ref = CoxPHFitter().fit(
        x, "duration", "event", weights_col="count", robust=True, fit_options=TIGHT
    )
    ours = cox_hazard_ratios(pl.from_pandas(raw), weights_kind="sampling")
    assert ours["coef"].item() == pytest.approx(ref.params_.iloc[0], abs=1e-7)


@pytest.mark.parametrize("factor", [0.01, 100.0])
def test_sampling_weights_are_scale_free(factor: float) -> None:
    raw = _truncated_units(44, 400)
    raw["count"] = np.random.default_rng(44).choice([0.3, 1.0, 2.5], len(raw))
    unit = pl.from_pandas(raw)
    base = cox_hazard_ratios(unit, by=["segment", "tier"], weights_kind="sampling")
    scaled = cox_hazard_ratios(
        unit.with_columns(pl.col("count") * factor), by=["segment", "tier"], weights_kind="sampling"
    )
    for col in ("coef", "se", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(scaled[col].to_numpy(), base[col].to_numpy(), rtol=1e-7)
    # aggregated rows with count_sq = Σ w² give the per-unit result
    agg = unit.group_by("segment", "tier", "entry", "duration", "event").agg(
        pl.col("count").sum(), (pl.col("count") ** 2).sum().alias("count_sq")
    )
    pooled = cox_hazard_ratios(agg, by=["segment", "tier"], weights_kind="sampling")
    # (Efron counts tied rows, so pooling tied units changes the coefficient slightly)
    np.testing.assert_allclose(pooled["coef"].to_numpy(), base["coef"].to_numpy(), atol=0.02)
    np.testing.assert_allclose(pooled["se"].to_numpy(), base["se"].to_numpy(), rtol=0.05)


def test_stratified_sampling_weights_match_lifelines_robust() -> None:
    raw = _sampled(45, 600)
    raw["stratum"] = np.random.default_rng(1).choice(["s1", "s2"], len(raw))
    x = raw.assign(b=(raw["segment"] == "b").astype(float))
    ref = CoxPHFitter().fit(
        x[["duration", "event", "count", "b", "stratum"]],
        "duration",
        "event",
        weights_col="count",
        robust=True,
        strata=["stratum"],
        fit_options=TIGHT,
    )
    ours = cox_hazard_ratios(pl.from_pandas(raw), strata="stratum", weights_kind="sampling")
    assert ours["coef"].item() == pytest.approx(ref.params_.iloc[0], abs=1e-8)
    assert ours["se"].item() == pytest.approx(ref.standard_errors_.iloc[0], rel=1e-6)
