"""Retention: hand-worked KM points, and lifelines on independently built raw lifetimes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from insights.metrics.retention import retention_curves, retention_rates

T0 = dt.datetime(2024, 1, 1, 8)


def hand_frames() -> dict[str, pl.DataFrame]:
    """Q1 cohort (as_of 2024-04-30 = day 120 for users first seen 2024-01-01), churn_gap 30.

    user 1 (a): days 0, 10, 45 -> churn after 10: L = 10 (event)
    user 2 (b): days 0, 20 -> 100 quiet days observed: L = 20 (event)
    user 3 (a): days 0, 30, 60, 90, 115 -> censored (L >= 115); churn is confirmable only up to
            day C = 120 - 30 = 90, so the KM time is C + 1 = 91 (censored)
    user 4 (b, first seen 2024-03-20): days 0, 5 -> as_of day 41: L = 5 (event)
    user 5 (b): days 0, 20, 45, 70, 90 -> 120 - 90 = 30: L = 90 (event)
    user 6 (a, first seen 2024-04-10): not in the Q1 cohort
    L = 10, 20, 115+, 5, 90: S(7) = P(L >= 7) = 4/5, S(30) = 2/5, S(60) = 2/5, S(91) = 1/5.
    a: L = 10, 115+ -> S(7) = 1, S(30) = 1/2. b: L = 20, 5, 90 -> S(7) = 2/3, S(30) = 1/3.
    """
    firsts = {1: T0, 2: T0, 3: T0, 4: dt.datetime(2024, 3, 20), 5: T0, 6: dt.datetime(2024, 4, 10)}
    users = pl.DataFrame(
        {
            "user_id": list(firsts),
            "first_seen_at": list(firsts.values()),
            "category": ["a", "b", "a", "b", "b", "a"],
        }
    )
    act = [(1, 10), (1, 45), (2, 20), (3, 30), (3, 60), (3, 90), (3, 115), (4, 5)]
    act += [(5, 20), (5, 45), (5, 70), (5, 90), (6, 3)]
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in act],
            "started_at": [firsts[u] + dt.timedelta(days=d) for u, d in act],
            "watch_seconds": [30.0] * len(act),
        }
    )
    return {"users": users, "views": views}


def test_retention_rates_hand_worked(make_dataset) -> None:
    src = hand_frames()
    before = {k: v.clone() for k, v in src.items()}
    ds = make_dataset(src, as_of="2024-04-30")
    out = retention_rates(ds, period="2024Q1", timeline=(7, 30, 60, 91))
    assert all(src[k].equals(before[k]) for k in src)
    assert out.columns[:7] == ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
    assert out["metric"].to_list() == [
        "retention_d7",
        "retention_d30",
        "retention_d60",
        "retention_d91",
    ]
    assert out["value"].to_list() == pytest.approx([0.8, 0.4, 0.4, 0.2])
    assert set(out["n"].to_list()) == {5}
    assert set(out["period"].to_list()) == {"2024Q1"}
    # at risk on day 30: L >= 30 -> users 3 and 5
    assert out.filter(pl.col("day") == 30)["at_risk"].item() == 2
    # CI against lifelines on the raw durations (L + 1 for events, C + 1 for censored)
    kmf = KaplanMeierFitter().fit([11, 21, 91, 6, 91], [1, 1, 0, 1, 1])
    for day, lo, hi in out.select("day", "ci_low", "ci_high").rows():
        ref = kmf.confidence_interval_.loc[:day].iloc[-1]
        assert lo == pytest.approx(ref.iloc[0], abs=1e-9)
        assert hi == pytest.approx(ref.iloc[1], abs=1e-9)


def test_retention_rates_by_segment(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of="2024-04-30")
    out = retention_rates(ds, period="2024Q1", timeline=(7, 30), by="category")
    assert out.select("metric", "segment", "value", "n").rows() == [
        ("retention_d7", "a", pytest.approx(1.0), 2),
        ("retention_d7", "b", pytest.approx(2 / 3), 3),
        ("retention_d30", "a", pytest.approx(0.5), 2),
        ("retention_d30", "b", pytest.approx(1 / 3), 3),
    ]


def test_retention_curves_of_the_cohort(make_dataset) -> None:
    ds = make_dataset(hand_frames(), as_of="2024-04-30")
    km = retention_curves(ds, period="2024Q1").table
    assert km.columns == [
        "segment",
        "t",
        "survival",
        "ci_low",
        "ci_high",
        "at_risk",
        "events",
        "censored",
    ]
    # times 6, 11, 21 (events), 91 (user 5's event and user 3 censored at C + 1 = 91)
    assert km["t"].to_list() == [0, 6, 11, 21, 91]
    assert km["survival"].to_list() == pytest.approx([1, 0.8, 0.6, 0.4, 0.2])
    assert km["at_risk"].to_list() == [5, 5, 4, 3, 2]
    assert km["censored"].to_list() == [0, 0, 0, 0, 1]
    with pytest.raises(ValueError):
        retention_rates(ds, period="2024Q1", timeline=())


def random_frames(seed: int = 42, n: int = 300) -> tuple[dict[str, pl.DataFrame], str]:
    """Users first seen across 2024Q1 (and some in Q2), sessions with random gaps, 3 sources."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 1, 1)
    firsts = [
        start + dt.timedelta(days=float(rng.uniform(0, 120)), hours=float(rng.uniform(0, 24)))
        for _ in range(n)
    ]
    users = pl.DataFrame(
        {"user_id": np.arange(n), "first_seen_at": firsts, "tier": rng.choice(["x", "y"], n)}
    )
    events: dict[str, list[tuple[int, dt.datetime]]] = {
        "views": [],
        "interactions": [],
        "orders": [],
    }
    for u, first in enumerate(firsts):
        t = first
        for _ in range(rng.geometric(0.2)):
            t = t + dt.timedelta(days=float(rng.exponential(14.0)))
            source = str(rng.choice(["views", "interactions", "orders"], p=[0.6, 0.25, 0.15]))
            events[source].append((u, t))
        if rng.random() < 0.1:  # clock skew: an event a few hours before first_seen
            events["views"].append((u, first - dt.timedelta(hours=float(rng.uniform(0, 20)))))
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in events["views"]],
            "started_at": [t for _, t in events["views"]],
            "watch_seconds": [60.0] * len(events["views"]),
        }
    )
    inter = pl.DataFrame(
        {
            "user_id": [u for u, _ in events["interactions"]],
            "at": [t for _, t in events["interactions"]],
            "kind": ["like"] * len(events["interactions"]),
        }
    )
    orders = pl.DataFrame(
        {
            "order_id": np.arange(len(events["orders"])),
            "user_id": [u for u, _ in events["orders"]],
            "ordered_at": [t for _, t in events["orders"]],
            "amount": [10.0] * len(events["orders"]),
        }
    )
    return {"users": users, "views": views, "interactions": inter, "orders": orders}, "2024-05-31"


def reference_lifetimes(
    src: dict[str, pl.DataFrame], as_of: str, churn_gap: int = 30
) -> pd.DataFrame:
    """Per-user (duration, event) built in plain Python from the raw events."""
    end = dt.datetime.fromisoformat(as_of) + dt.timedelta(days=1)
    first = {row["user_id"]: row["first_seen_at"] for row in src["users"].to_dicts()}
    tier = dict(zip(src["users"]["user_id"], src["users"]["tier"], strict=True))
    days: dict[int, set[int]] = {u: {0} for u, f in first.items() if f < end}
    for name, col in (("views", "started_at"), ("interactions", "at"), ("orders", "ordered_at")):
        for u, t in zip(src[name]["user_id"], src[name][col], strict=True):
            if t < end and u in days:
                days[u].add(max(0, (t.date() - first[u].date()).days))
    rows = []
    for u, ds in days.items():
        d = sorted(ds)
        horizon = (end.date() - dt.timedelta(days=1) - first[u].date()).days
        churn = next((d[j] for j in range(len(d) - 1) if d[j + 1] - d[j] > churn_gap), None)
        if churn is not None:
            L, event = churn, 1
        else:
            L, event = d[-1], int(horizon - d[-1] >= churn_gap)
        rows.append(
            {
                "user_id": u,
                "tier": tier[u],
                "first": first[u],
                "duration": L + 1 if event else max(horizon - churn_gap + 1, 0),
                "event": event,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("by", [None, "tier"])
def test_retention_equals_lifelines_on_raw_lifetimes(make_dataset, by: str | None) -> None:
    src, as_of = random_frames()
    ref = reference_lifetimes(src, as_of)
    q1 = ref[(ref["first"] >= dt.datetime(2024, 1, 1)) & (ref["first"] < dt.datetime(2024, 4, 1))]
    assert 0 < q1["event"].mean() < 1  # both churned and censored users
    ds = make_dataset(src, as_of=as_of)
    days = (1, 7, 30, 45, 60)
    out = retention_rates(ds, period="2024Q1", timeline=days, by=by)
    groups = {"all": q1} if by is None else dict(tuple(q1.groupby(by)))
    assert sorted(out["segment"].unique().to_list()) == sorted(groups)
    for seg, sub in groups.items():
        kmf = KaplanMeierFitter().fit(sub["duration"], sub["event"])
        for day in days:
            row = out.filter((pl.col("segment") == seg) & (pl.col("day") == day)).row(0, named=True)
            assert row["value"] == pytest.approx(
                kmf.survival_function_at_times(day).iloc[0], abs=1e-9
            )
            ci = kmf.confidence_interval_.loc[:day].iloc[-1]
            assert row["ci_low"] == pytest.approx(ci.iloc[0], abs=1e-9)
            assert row["ci_high"] == pytest.approx(ci.iloc[1], abs=1e-9)
            assert row["n"] == len(sub)
            assert row["at_risk"] == int((sub["duration"] >= day).sum())
    curve = retention_curves(ds, period="2024Q1", by=by).table
    for seg, sub in groups.items():
        kmf = KaplanMeierFitter().fit(sub["duration"], sub["event"])
        ours = curve.filter(pl.col("segment") == seg)
        np.testing.assert_allclose(
            ours["survival"].to_numpy(), kmf.survival_function_.iloc[:, 0].to_numpy(), atol=1e-9
        )
