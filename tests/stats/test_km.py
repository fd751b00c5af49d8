"""Kaplan–Meier from aggregated counts against lifelines fitted on the raw rows."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from insights.stats.km import KM_COLUMNS, kaplan_meier, median_survival, merge_segments, survival_at


def _raw(seed: int = 3, n: int = 400) -> pl.DataFrame:
    """Raw per-unit rows with many ties: integer durations 0..40, ~30% censored, 3 segments."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "segment": rng.choice(["a", "b", "c"], n),
            "duration": rng.integers(0, 41, n),
            "event": (rng.random(n) < 0.7).astype(int),
        }
    )


def _counts(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.group_by("segment", "duration", "event").agg(pl.len().alias("count"))


def _lifelines_fit(raw: pl.DataFrame, seg: str, alpha: float = 0.05) -> KaplanMeierFitter:
    sub = raw.filter(pl.col("segment") == seg)
    return KaplanMeierFitter(alpha=alpha).fit(
        pd.Series(sub["duration"].to_numpy()), pd.Series(sub["event"].to_numpy())
    )


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_weighted_fit_equals_raw_lifelines(alpha: float) -> None:
    raw = _raw()
    counts = _counts(raw)
    before = counts.clone()
    km = kaplan_meier(counts, alpha=alpha)
    assert counts.equals(before)
    assert tuple(km.columns) == KM_COLUMNS
    assert km["segment"].unique().sort().to_list() == ["a", "b", "c"]
    for seg in ("a", "b", "c"):
        ref = _lifelines_fit(raw, seg, alpha)
        ours = km.filter(pl.col("segment") == seg).sort("t")
        sf = ref.survival_function_.iloc[:, 0]
        ci = ref.confidence_interval_
        table = ref.event_table.reindex(sf.index)
        np.testing.assert_allclose(ours["t"].to_numpy(), sf.index.to_numpy(), atol=1e-9)
        np.testing.assert_allclose(ours["survival"].to_numpy(), sf.to_numpy(), atol=1e-9)
        np.testing.assert_allclose(ours["ci_low"].to_numpy(), ci.iloc[:, 0].to_numpy(), atol=1e-9)
        np.testing.assert_allclose(ours["ci_high"].to_numpy(), ci.iloc[:, 1].to_numpy(), atol=1e-9)
        np.testing.assert_array_equal(ours["at_risk"].to_numpy(), table["at_risk"].to_numpy())
        np.testing.assert_array_equal(ours["events"].to_numpy(), table["observed"].to_numpy())
        np.testing.assert_array_equal(ours["censored"].to_numpy(), table["censored"].to_numpy())


def test_hand_worked_km_and_greenwood_loglog() -> None:
    # durations 3, 3(censored), 5, 8, 8(censored), 10(censored)
    # t=3: n=6, d=1 -> S = 5/6; t=5: n=4, d=1 -> S = 5/6*3/4 = 0.625; t=8: n=3, d=1 -> 0.416667
    # Greenwood sum at t=5: 1/(6*5) + 1/(4*3) = 0.116667
    # log-log CI: v = log(0.625) = -0.470004; exp(-exp(log(-v) -/+ z sqrt(0.116667) / v))
    c = pl.DataFrame({"duration": [3, 3, 5, 8, 8, 10], "event": [1, 0, 1, 1, 0, 0]})
    km = kaplan_meier(c, weight=None, by=None)
    assert km["t"].to_list() == [0, 3, 5, 8, 10]
    assert km["survival"].to_list() == pytest.approx(
        [1, 5 / 6, 0.625, 0.625 * 2 / 3, 0.625 * 2 / 3]
    )
    assert km["at_risk"].to_list() == [6, 6, 4, 3, 1]
    assert km["events"].to_list() == [0, 1, 1, 1, 0]
    assert km["censored"].to_list() == [0, 1, 0, 1, 1]
    z = 1.959963984540054
    v = math.log(0.625)
    se = math.sqrt(1 / 30 + 1 / 12)
    lo = math.exp(-math.exp(math.log(-v) - z * se / v))
    hi = math.exp(-math.exp(math.log(-v) + z * se / v))
    row = km.filter(pl.col("t") == 5).row(0, named=True)
    assert row["ci_low"] == pytest.approx(lo, abs=1e-12)
    assert row["ci_high"] == pytest.approx(hi, abs=1e-12)
    assert row["segment"] == "all"


def test_zero_counts_and_empty() -> None:
    c = pl.DataFrame({"segment": ["a", "a"], "duration": [1, 2], "event": [1, 1], "count": [0, 3]})
    km = kaplan_meier(c)
    assert km["at_risk"].to_list() == [3, 3]
    empty = kaplan_meier(c.filter(pl.lit(False)))
    assert empty.columns == list(KM_COLUMNS) and empty.height == 0


def test_survival_at_matches_lifelines() -> None:
    raw = _raw(seed=11)
    km = kaplan_meier(_counts(raw))
    before = km.clone()
    times = [0, 1, 7, 30, 39, 40, 60]
    pts = survival_at(km, t=times)
    assert km.equals(before)
    assert pts.columns == ["segment", "t", "survival", "ci_low", "ci_high", "at_risk"]
    assert pts.height == 3 * len(times)
    for seg in ("a", "b", "c"):
        ref = _lifelines_fit(raw, seg)
        sub = raw.filter(pl.col("segment") == seg)
        ours = pts.filter(pl.col("segment") == seg).sort("t")
        expected = ref.survival_function_at_times(times).to_numpy()
        np.testing.assert_allclose(ours["survival"].to_numpy(), expected, atol=1e-9)
        for t, lo, hi, at_risk in ours.select("t", "ci_low", "ci_high", "at_risk").rows():
            ci = ref.confidence_interval_.loc[:t].iloc[-1]
            assert lo == pytest.approx(ci.iloc[0], abs=1e-9)
            assert hi == pytest.approx(ci.iloc[1], abs=1e-9)
            assert at_risk == int((sub["duration"] >= t).sum())
    with pytest.raises(ValueError):
        survival_at(km, t=-1)


def test_median_matches_lifelines() -> None:
    # continuous durations: no exact S = 0.5 ties, so lifelines' float comparison is exact
    rng = np.random.default_rng(5)
    n = 301
    raw = pl.DataFrame(
        {
            "segment": rng.choice(["x", "y"], n),
            "duration": np.round(rng.exponential(20.0, n), 3),
            "event": (rng.random(n) < 0.8).astype(int),
        }
    )
    before = raw.clone()
    med = median_survival(raw, weight=None)
    assert raw.equals(before)
    for seg in ("x", "y"):
        ref = _lifelines_fit(raw, seg)
        row = med.filter(pl.col("segment") == seg).row(0, named=True)
        assert row["median"] == pytest.approx(ref.median_survival_time_, abs=1e-9)
        ci = median_survival_times(ref.confidence_interval_)
        assert row["ci_low"] == pytest.approx(ci.iloc[0, 0], abs=1e-9)
        assert row["ci_high"] == pytest.approx(ci.iloc[0, 1], abs=1e-9)
    # the same from a fitted KM frame
    km = kaplan_meier(raw, weight=None)
    assert median_survival(km).equals(med)


def test_median_brookmeyer_crowley_hand_worked() -> None:
    # six events at 1..6: S = 5/6, 4/6, 3/6, 2/6, 1/6, 0 -> median = 3 (S(3) = 0.5 exactly;
    # lifelines reports 4 because its product gives 0.5000000000000001).
    # Lower limit = first t with ci_low(t) <= 0.5. At t=1: Greenwood 1/(6*5) = 1/30,
    #   v = log(5/6) = -0.182322, ci_low = exp(-exp(log(0.182322) + 1.959964*0.182574/0.182322))
    #   = exp(-exp(-1.701983 + 1.962705)) = exp(-1.297878) = 0.2731 <= 0.5 -> lower = 1.
    # Upper limit = first t with ci_high(t) <= 0.5. At t=5: Greenwood 1/30+1/20+1/12+1/6+1/2 = 5/6,
    #   v = log(1/6) = -1.791759, ci_high = exp(-exp(0.583198 - 1.959964*0.912871/1.791759))
    #   = exp(-exp(-0.415377)) = exp(-0.660096) = 0.5168 > 0.5; at t=6 S = 0 -> upper = 6.
    c = pl.DataFrame({"duration": [1, 2, 3, 4, 5, 6], "event": [1] * 6})
    km = kaplan_meier(c, weight=None, by=None)
    assert km.filter(pl.col("t") == 1)["ci_low"].item() == pytest.approx(0.2731, abs=1e-4)
    assert km.filter(pl.col("t") == 5)["ci_high"].item() == pytest.approx(0.5168, abs=1e-4)
    assert median_survival(km).rows() == [("all", 3.0, 1.0, 6.0)]


def test_median_not_reached_is_null() -> None:
    c = pl.DataFrame(
        {"segment": ["a"] * 3, "duration": [1, 2, 3], "event": [1, 0, 0], "count": [1, 5, 5]}
    )
    row = median_survival(c).row(0, named=True)
    assert row["median"] is None and row["ci_high"] is None


def test_merge_segments() -> None:
    c = pl.DataFrame(
        {
            "segment": ["beauty", "apparel", "home", "beauty"],
            "duration": [5, 5, 7, 9],
            "event": [1, 1, 0, 1],
            "count": [2, 3, 4, 1],
        }
    )
    before = c.clone()
    out = merge_segments(c, values={"beauty+apparel": ["beauty", "apparel"]}).sort(
        "segment", "duration"
    )
    assert c.equals(before)
    assert out.rows() == [
        ("beauty+apparel", 5, 1, 5),
        ("beauty+apparel", 9, 1, 1),
        ("home", 7, 0, 4),
    ]
    assert merge_segments(c, values=None).equals(c)


def test_entry_and_fractional_weights_match_lifelines() -> None:
    """Left truncation (lifelines ``entry=``) and non-integer case weights, one fit each."""
    rng = np.random.default_rng(8)
    n = 200
    entry = rng.integers(0, 10, n)
    duration = entry + rng.integers(1, 30, n)  # entry < duration: (entry, duration] not empty
    event = (rng.random(n) < 0.7).astype(int)
    weight = rng.choice([0.5, 1.0, 2.5], n)
    raw = pl.DataFrame({"entry": entry, "duration": duration, "event": event, "w": weight})
    counts = raw.group_by("entry", "duration", "event").agg(pl.col("w").sum())
    km = kaplan_meier(counts, by=None, weight="w", entry="entry")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="It looks like your weights")
        ref = KaplanMeierFitter().fit(duration, event, entry=entry, weights=weight)
    sf = ref.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(km["t"].to_numpy(), sf.index.to_numpy())
    np.testing.assert_allclose(km["survival"].to_numpy(), sf.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(
        km["ci_low"].to_numpy(), ref.confidence_interval_.iloc[:, 0].to_numpy(), atol=1e-12
    )
    # at_risk is the risk set of S: entry < t <= duration (entry 0: from t = 0 on), i.e.
    # lifelines' event-table at_risk less the units entering at t (its own population)
    table = ref.event_table.reindex(sf.index)
    population = table["at_risk"] - np.where(sf.index > 0, table["entrance"], 0.0)
    np.testing.assert_allclose(km["at_risk"].to_numpy(), population.to_numpy())
    brute = [weight[((entry == 0) | (entry < t)) & (duration >= t)].sum() for t in sf.index]
    np.testing.assert_allclose(km["at_risk"].to_numpy(), brute)
    assert km.schema["at_risk"] == pl.Float64


def test_hand_worked_left_truncation() -> None:
    """Units (entry, T, E): A (0,2,1), B (0,5,0), C (1,3,1), D (2,4,1), E (3,6,0).

    Risk sets (entry, T]: t=2 {A,B,C} (D enters at 2, not yet at risk), t=3 {B,C,D},
    t=4 {B,D,E}: S = 2/3, 4/9, 8/27; Greenwood sum at 4 = 3 * 1/(3*2) = 1/2, as R's
    ``survfit(Surv(entry, T, E) ~ 1)`` gives. At risk on the timeline 0..6:
    2, 2, 3, 3, 3, 2, 1.
    """
    c = pl.DataFrame(
        {"entry": [0, 0, 1, 2, 3], "duration": [2, 5, 3, 4, 6], "event": [1, 0, 1, 1, 0]}
    )
    km = kaplan_meier(c, by=None, weight=None, entry="entry")
    assert km["t"].to_list() == [0, 1, 2, 3, 4, 5, 6]
    assert km["at_risk"].to_list() == [2, 2, 3, 3, 3, 2, 1]
    np.testing.assert_allclose(
        km["survival"].to_numpy(), [1, 1, 2 / 3, 4 / 9, 8 / 27, 8 / 27, 8 / 27], atol=1e-12
    )
    # log-log CI at t=4 from the Greenwood sum 1/2 (lifelines' exponential Greenwood)
    s, v = 8 / 27, 0.5
    half = 1.959963984540054 * np.sqrt(v) / np.log(s)
    np.testing.assert_allclose(
        km.filter(pl.col("t") == 4).select("ci_low", "ci_high").row(0),
        [s ** np.exp(-half), s ** np.exp(half)],
        rtol=1e-9,
    )
    at = survival_at(km, t=[1.5, 2, 3.5, 7])
    assert at["at_risk"].to_list() == [3, 3, 3, 0]  # (1, 2) holds A, B, C; past the end: 0


def test_same_day_entry_and_exit_is_refused() -> None:
    c = pl.DataFrame(
        {"entry": [0, 2, 0], "duration": [3, 2, 0], "event": [1, 1, 1], "count": [4, 3, 2]}
    )
    with pytest.raises(ValueError, match=r"3 units \(1 rows\) have 0 < entry == duration"):
        kaplan_meier(c, by=None, entry="entry")
    # entry 0 and duration 0: at risk from the origin, the event at t = 0 counts
    ok = kaplan_meier(c.filter(pl.col("entry") == 0), by=None, entry="entry")
    assert ok.select("t", "survival", "at_risk").row(0) == (0, pytest.approx(4 / 6), 6)


def test_r_survival_counting_process_test2() -> None:
    """R survival's own (start, stop] Kaplan–Meier check (``tests/survtest.R``, data
    ``test2``): n.risk, n.event and S at the distinct stop times, and the Greenwood sum
    as ``fit3$std.err``: ``survfit(Surv(start, stop, event) ~ 1, test2)``."""
    c = pl.DataFrame(
        {
            "entry": [1, 2, 5, 2, 1, 7, 3, 4, 8, 8],
            "duration": [2, 3, 6, 7, 8, 9, 9, 9, 14, 17],
            "event": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
        }
    )
    km = kaplan_meier(c, by=None, weight=None, entry="entry")
    stops = km.filter(pl.col("t").is_in([2, 3, 6, 7, 8, 9, 14, 17]))
    assert stops["at_risk"].to_list() == [2, 3, 5, 4, 4, 5, 2, 1]
    assert stops["events"].to_list() == [1, 1, 1, 1, 1, 2, 0, 0]
    died = stops.filter(pl.col("events") > 0)
    np.testing.assert_allclose(
        died["survival"].to_numpy(), [0.5, 1 / 3, 4 / 15, 1 / 5, 3 / 20, 9 / 100], rtol=1e-12
    )
    n, d = died["at_risk"].to_numpy(), died["events"].to_numpy()
    std_err = np.sqrt(np.cumsum(d / (n * (n - d))))  # R's fit3$std.err (of log S)
    z = 1.959963984540054
    s = died["survival"].to_numpy()
    # lifelines' log-log band from that same Greenwood sum
    np.testing.assert_allclose(
        died["ci_low"].to_numpy(), s ** np.exp(-z * std_err / np.log(s)), rtol=1e-9
    )
