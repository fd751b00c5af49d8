"""retention_curves against lifelines fitted on hand-derived per-user rows, and the simulator's truth."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from insights.data.load import load_dataset
from insights.metrics.retention import retention_curves
from insights.stats.curves import SUMMARY_COLUMNS, SurvivalCurves

T0 = dt.datetime(2024, 1, 1, 8)
AS_OF = "2024-04-30"  # day 120 for users first seen 2024-01-01

# user: (platform, tier, first seen day offset, active days, T, E, weight, entry)
# churn_gap 30; T = L + 1 when churned, as_of_day - first_seen_day - 30 + 1 (>= 0) when censored.
HAND = {
    1: ("a", "x", 0, [10, 45], 11, 1, 2, 3),  # gap 35 after day 10
    2: ("b", "x", 0, [20], 21, 1, 1, 0),  # 100 quiet days observed
    3: ("a", "y", 0, [30, 60, 90, 115], 91, 0, 3, 10),  # never a gap > 30; young: censored at 91
    4: ("b", "y", 79, [5], 6, 1, 1, 0),  # first seen 2024-03-20: as_of day 41, 36 quiet days
    5: ("b", "x", 0, [20, 45, 70, 90], 91, 1, 2, 2),  # 120 - 90 = 30 quiet days: churned at 90
    6: ("a", "x", 100, [], 0, 0, 1, 0),  # first seen 2024-04-10: 20 days old, censored at 0
    7: ("a", "y", 0, [31], 1, 1, 1, 0),  # gap 31 after day 0
    8: ("b", "y", 0, [10, 11], 12, 1, 4, 0),  # order day 10, interaction day 11
    9: ("a", "x", 0, [5, 40], 6, 1, 1, 1),  # gap 35 after day 5
    10: ("b", "x", 0, [50], 1, 1, 1, 0),  # gap 50 after day 0
    11: (None, "x", 0, [3], 4, 1, 1, 0),  # platform missing -> "unknown"
}


def hand_frames() -> dict[str, pl.DataFrame]:
    users = pl.DataFrame(
        {
            "user_id": list(HAND),
            "first_seen_at": [T0 + dt.timedelta(days=v[2]) for v in HAND.values()],
            "platform": [v[0] for v in HAND.values()],
            "city_tier": [v[1] for v in HAND.values()],
            "w": [v[6] for v in HAND.values()],
            "entry_day": [v[7] for v in HAND.values()],
        }
    )
    views = [(u, d) for u, v in HAND.items() for d in v[3] if u != 8]
    views_df = pl.DataFrame(
        {
            "user_id": [u for u, _ in views],
            "started_at": [T0 + dt.timedelta(days=HAND[u][2] + d, hours=3) for u, d in views],
            "watch_seconds": [30.0] * len(views),
        }
    )
    orders = pl.DataFrame(
        {
            "order_id": [1],
            "user_id": [8],
            "ordered_at": [T0 + dt.timedelta(days=10)],
            "amount": [5.0],
        }
    )
    inter = pl.DataFrame({"user_id": [8], "at": [T0 + dt.timedelta(days=11)], "kind": ["like"]})
    return {"users": users, "views": views_df, "orders": orders, "interactions": inter}


def raw_rows() -> pl.DataFrame:
    """The per-user rows derived by hand above (independent of the code under test)."""
    return pl.DataFrame(
        {
            "platform": [v[0] or "unknown" for v in HAND.values()],
            "city_tier": [v[1] for v in HAND.values()],
            "T": [v[4] for v in HAND.values()],
            "E": [v[5] for v in HAND.values()],
            "w": [v[6] for v in HAND.values()],
            "entry": [v[7] for v in HAND.values()],
        }
    )


def _lifelines(
    sub: pl.DataFrame, *, weights: bool = False, entry: bool = False
) -> KaplanMeierFitter:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="It looks like your weights")
        return KaplanMeierFitter().fit(
            pd.Series(sub["T"].to_numpy(), dtype=float),
            pd.Series(sub["E"].to_numpy()),
            weights=pd.Series(sub["w"].to_numpy(), dtype=float) if weights else None,
            entry=pd.Series(sub["entry"].to_numpy(), dtype=float) if entry else None,
        )


def assert_same_as_lifelines(table: pl.DataFrame, kmf: KaplanMeierFitter) -> None:
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_
    ev = kmf.event_table.reindex(sf.index)
    np.testing.assert_allclose(table["t"].to_numpy(), sf.index.to_numpy())
    np.testing.assert_allclose(table["survival"].to_numpy(), sf.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(table["ci_low"].to_numpy(), ci.iloc[:, 0].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(table["ci_high"].to_numpy(), ci.iloc[:, 1].to_numpy(), atol=1e-12)
    # at risk on (entry, T]: lifelines' event-table at_risk less those entering at t
    # (the population its S uses; entry 0 = from the origin, t = 0 included)
    entering = np.where(ev.index > 0, ev["entrance"].to_numpy(), 0.0)
    np.testing.assert_allclose(table["at_risk"].to_numpy(), ev["at_risk"].to_numpy() - entering)
    np.testing.assert_allclose(table["events"].to_numpy(), ev["observed"].to_numpy())
    np.testing.assert_allclose(table["censored"].to_numpy(), ev["censored"].to_numpy())


def test_by_platform_equals_lifelines_on_raw_rows(make_dataset) -> None:
    frames = hand_frames()
    before = {k: v.clone() for k, v in frames.items()}
    ds = make_dataset(frames, as_of=AS_OF)
    curves = retention_curves(ds, by="platform")
    for name, frame in frames.items():
        assert frame.equals(before[name])
    assert isinstance(curves, SurvivalCurves)
    assert curves.table.columns[:3] == ["segment", "platform", "t"]
    assert curves.segments == ["a", "b", "unknown"]
    raw = raw_rows()
    for seg in curves.segments:
        sub = raw.filter(pl.col("platform") == seg)
        kmf = _lifelines(sub)
        assert_same_as_lifelines(curves.table.filter(pl.col("segment") == seg).sort("t"), kmf)
        row = curves.summary.filter(pl.col("segment") == seg).row(0, named=True)
        assert (row["n"], row["events"], row["censored"]) == (
            sub.height,
            sub["E"].sum(),
            sub.height - sub["E"].sum(),
        )
        med = kmf.median_survival_time_
        assert row["median"] == (None if np.isinf(med) else med)
        low, high = median_survival_times(kmf.confidence_interval_).iloc[0]
        assert row["median_ci_low"] == (None if np.isinf(low) else low)
        assert row["median_ci_high"] == (None if np.isinf(high) else high)
    assert curves.summary.columns == ["segment", "platform", *SUMMARY_COLUMNS[1:]]
    # counts frame contract
    c = curves.counts
    assert c.columns == ["segment", "platform", "entry", "duration", "event", "count"]
    assert c.schema["count"] == pl.Float64 and c["count"].sum() == len(HAND)
    assert c.equals(c.sort("segment", "entry", "duration", "event"))


def test_two_by_columns_and_one_curve(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of=AS_OF)
    curves = retention_curves(ds, by=["platform", "city_tier"])
    assert curves.segments == ["a · x", "a · y", "b · x", "b · y", "unknown · x"]
    assert curves.by == ("platform", "city_tier")
    raw = raw_rows()
    sub = raw.filter((pl.col("platform") == "b") & (pl.col("city_tier") == "y"))
    assert_same_as_lifelines(curves.table.filter(pl.col("segment") == "b · y"), _lifelines(sub))
    one = retention_curves(ds)
    assert one.segments == ["all"] and one.by == ()
    assert_same_as_lifelines(one.table, _lifelines(raw))


def test_integer_weights_equal_the_expanded_fit(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of=AS_OF)
    curves = retention_curves(ds, by="platform", weights="w")
    raw = raw_rows()
    expanded = raw.select(pl.all().repeat_by(pl.col("w")).explode())
    for seg in ("a", "b"):
        kmf = _lifelines(expanded.filter(pl.col("platform") == seg))
        assert_same_as_lifelines(curves.table.filter(pl.col("segment") == seg), kmf)
    n = curves.summary.filter(pl.col("segment") == "a")["n"].item()
    assert n == raw.filter(pl.col("platform") == "a")["w"].sum()


def test_fractional_weights_equal_lifelines_weighted_fit(make_dataset) -> None:
    frames = hand_frames()
    frames["users"] = frames["users"].with_columns((pl.col("w") * 0.5).alias("w"))
    ds = make_dataset(frames, as_of=AS_OF)
    curves = retention_curves(ds, weights="w")
    raw = raw_rows().with_columns(pl.col("w") * 0.5)
    assert_same_as_lifelines(curves.table, _lifelines(raw, weights=True))
    assert curves.summary["n"].item() == pytest.approx(raw["w"].sum())


def test_entry_left_truncation_equals_lifelines(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of=AS_OF)
    curves = retention_curves(ds, by="platform", entry="entry_day")
    raw = raw_rows()
    for seg in ("a", "b"):
        kmf = _lifelines(raw.filter(pl.col("platform") == seg), entry=True)
        assert_same_as_lifelines(curves.table.filter(pl.col("segment") == seg), kmf)
    assert curves.counts.filter(pl.col("entry") > 0)["count"].sum() == 4


def test_timeline_reports_the_step_function(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of=AS_OF)
    grid = [0, 5, 11, 30, 100]
    curves = retention_curves(ds, by="platform", timeline=grid)
    raw = raw_rows()
    for seg in ("a", "b"):
        sub = raw.filter(pl.col("platform") == seg)
        kmf = _lifelines(sub)
        got = curves.table.filter(pl.col("segment") == seg)
        assert got["t"].to_list() == grid
        np.testing.assert_allclose(
            got["survival"].to_numpy(), kmf.survival_function_at_times(grid).to_numpy()
        )
        T, E = sub["T"].to_numpy(), sub["E"].to_numpy()
        assert got["at_risk"].to_list() == [int((T >= g).sum()) for g in grid]
        edges = [-1, *grid]
        events = [
            int(((T > a) & (T <= b) & (E == 1)).sum())
            for a, b in zip(edges, edges[1:], strict=False)
        ]
        censored = [
            int(((T > a) & (T <= b) & (E == 0)).sum())
            for a, b in zip(edges, edges[1:], strict=False)
        ]
        assert got["events"].to_list() == events
        assert got["censored"].to_list() == censored
    # the summary does not depend on the reporting grid
    assert curves.summary.equals(retention_curves(ds, by="platform").summary)


def test_as_of_where_and_period(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of=AS_OF)
    moved = retention_curves(ds, as_of="2024-03-31")
    again = retention_curves(ds.with_as_of("2024-03-31"))
    assert moved.table.equals(again.table) and moved.as_of == again.as_of
    assert moved.summary["n"].item() == 10  # user 6, first seen 2024-04-10, is after as_of
    q1 = retention_curves(ds, period="2024Q1", where={"city_tier": "x"})
    expected = raw_rows().filter((pl.col("city_tier") == "x") & (pl.col("T") > 0))  # user 6 is Q2
    assert q1.summary["n"].item() == expected.height
    assert_same_as_lifelines(q1.table, _lifelines(expected))


def test_first_order_origin_by_platform(make_dataset) -> None:
    """Buyers 1 (a): orders days 0, 12 -> T = 12; 2 (b): day 5 only -> censored 120 - 5 = 115;
    3 (a): days 3, 10 -> T = 7. Group a: S(7) = 1/2, median 7; RMST(12) = 7 + 5/2."""
    users = pl.DataFrame(
        {"user_id": [1, 2, 3], "first_seen_at": [T0] * 3, "platform": ["a", "b", "a"]}
    )
    days = {1: [0, 12], 2: [5], 3: [3, 10]}
    rows = [(u, d) for u, ds_ in days.items() for d in ds_]
    orders = pl.DataFrame(
        {
            "order_id": list(range(len(rows))),
            "user_id": [u for u, _ in rows],
            "ordered_at": [T0 + dt.timedelta(days=d) for _, d in rows],
            "amount": [1.0] * len(rows),
        }
    )
    ds = make_dataset(users=users, orders=orders, as_of=AS_OF)
    curves = retention_curves(ds, origin="first_order", by="platform", tau=12, churn_gap=0)
    assert curves.churn_gap is None and curves.origin == "first_order"
    a = curves.summary.filter(pl.col("segment") == "a").row(0, named=True)
    assert (a["n"], a["events"], a["median"], a["rmst"]) == (2, 2, 7.0, 9.5)
    b = curves.summary.filter(pl.col("segment") == "b").row(0, named=True)
    assert (b["n"], b["events"], b["median"]) == (1, 0, None)
    assert curves.counts.filter(pl.col("segment") == "b")["duration"].to_list() == [115]


def test_bad_input_messages(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of=AS_OF)
    cases = [
        (dict(by="country"), "by: column 'country' is not available"),
        (dict(by=["platform", "platform"]), "twice"),
        (dict(by="event"), "clash"),
        (dict(where={"country": "cn"}), "where: column 'country'"),
        (dict(entry="nope"), "entry: column 'nope'"),
        (dict(weights="nope"), "weights: column 'nope'"),
        (dict(churn_gap=0), "churn_gap must be a whole number of days >= 1"),
        (dict(churn_gap=2.5), "churn_gap"),
        (dict(origin="signup"), "origin must be one of"),
        (dict(alpha=1.5), "alpha"),
        (dict(as_of="2023-06-30"), "as_of 2023-06-30 is before the first user"),
        (dict(where={"platform": "zz"}), "no units to follow"),
        (dict(as_of="2024-01-20"), "all 9 units are censored: no churn"),
        (dict(origin="first_order", by="platform"), "no second order is observed"),
        (dict(origin="experiment"), "table 'experiments'"),
        (dict(timeline=[-1, 5]), "timeline"),
        (dict(tau=500), "tau=500 is beyond"),
    ]
    for kwargs, message in cases:
        with pytest.raises((ValueError, LookupError), match=message):
            retention_curves(ds, **kwargs)


def test_bad_entry_and_weights(make_dataset) -> None:
    frames = hand_frames()
    late = frames["users"].with_columns(pl.lit(95).alias("entry_day"))
    with pytest.raises(ValueError, match="enter after their duration ends"):
        retention_curves(make_dataset({**frames, "users": late}, as_of=AS_OF), entry="entry_day")
    floaty = frames["users"].with_columns(pl.col("entry_day").cast(pl.Float64))
    with pytest.raises(ValueError, match="whole days"):
        retention_curves(make_dataset({**frames, "users": floaty}, as_of=AS_OF), entry="entry_day")
    negative = frames["users"].with_columns(pl.lit(-1.0).alias("w"))
    with pytest.raises(ValueError, match="negative"):
        retention_curves(make_dataset({**frames, "users": negative}, as_of=AS_OF), weights="w")


def test_simulated_d30_covers_the_truth(sim_dir) -> None:
    """2024 acquisitions of the newcomer and lottery experiments: KM D30 vs manifest true D30."""
    manifest = json.loads((sim_dir / "manifest.json").read_text())
    ds = load_dataset(sim_dir)
    for name in ("newcomer_7day_plan", "comment_vs_danmaku_lottery"):
        truth = manifest["experiments"][name]["true_effect"]["true_d30"]
        curves = retention_curves(ds, origin="experiment", by="arm", where={"experiment": name})
        d30 = curves.at(30)
        for row in d30.iter_rows(named=True):
            half = (row["ci_high"] - row["ci_low"]) / 2 * 3.29 / 1.96  # 99.9%: fails only on a bias
            assert abs(row["survival"] - truth[row["segment"]]) < half, (name, row)
    # the first_seen curve of the newcomer window's acquisitions (every new user enrolled)
    arms = manifest["experiments"]["newcomer_7day_plan"]["arms"]
    truth = manifest["experiments"]["newcomer_7day_plan"]["true_effect"]["true_d30"]
    pooled = sum(arms[a] * truth[a] for a in arms) / sum(arms.values())
    row = retention_curves(ds, period=("2024-07-01", "2024-08-31")).at(30).row(0, named=True)
    assert abs(row["survival"] - pooled) < (row["ci_high"] - row["ci_low"]) / 2 * 3.29 / 1.96


def test_entry_on_the_last_day_is_refused(make_dataset) -> None:
    # at risk on (entry, T]: a unit entering on the day its duration ends is never at risk,
    # so the data are refused rather than counted as an event with S left at 1
    frames = hand_frames()
    raw = raw_rows()
    users = frames["users"].with_columns(pl.Series("entry_day", raw["T"].to_list()))
    ds = make_dataset({**frames, "users": users}, as_of=AS_OF)
    with pytest.raises(ValueError, match=r"enter on the day their duration ends"):
        retention_curves(ds, by="platform", entry="entry_day")
