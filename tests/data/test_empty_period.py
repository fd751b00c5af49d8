"""An empty period (no users in scope) warns ``EmptyPeriodWarning`` instead of returning nothing silently.

Every headline metric's rows pass through one builder and every survival metric's
population through one counter, so the warning comes from those two places.
"""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import insights as ins
from insights.data import EmptyPeriodWarning


@pytest.fixture
def ds(small_sim_frames):
    return ins.frames_dataset(**small_sim_frames, as_of="2024-12-31")


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("aov", lambda ds: ins.aov(ds, period=2019)),
        ("repurchase_60d", lambda ds: ins.repurchase_rate(ds, period="2019Q2")),
        ("interaction_rate", lambda ds: ins.interaction_rate(ds, period=2019)),
        ("retention", lambda ds: ins.retention_rates(ds, period="2019Q1")),
        ("aov", lambda ds: ins.aov(ds, period="2024Q4", where={"platform": "nowhere"})),
    ],
)
def test_an_empty_period_warns_naming_metric_and_period(ds, name, call) -> None:
    with pytest.warns(
        EmptyPeriodWarning, match=rf"^{name}.*: no users in scope in 20\d\d"
    ) as record:
        out = call(ds)
    assert out.height == 0 or (out["n"] == 0).all()
    assert (
        issubclass(EmptyPeriodWarning, UserWarning) and ins.EmptyPeriodWarning is EmptyPeriodWarning
    )
    assert record[0].filename == __file__  # it points at the caller's line, not at insights


def test_only_the_empty_periods_are_named(ds) -> None:
    with pytest.warns(EmptyPeriodWarning) as record:
        out = ins.new_users(ds, period=["2019Q1", "2024Q1"])
    assert [str(w.message) for w in record] == [
        "new_users: no users in scope in 2019Q1, so the result is empty; "
        "check period= (the data cover up to as_of) and where="
    ]
    assert out.filter(pl.col("period") == "2024Q1")["n"].item() > 0


def test_a_period_with_users_does_not_warn(ds) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ins.aov(ds, period="2024Q4")
        ins.retention_rates(ds, period="2024Q4")


def test_the_scorecard_notes_an_empty_comparison_quarter(ds) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card, notes = ins.kpi_scorecard(ds, quarter="2021Q1")  # the previous quarter has no users
    assert set(card["quarter"]) == {"2021Q1"}
    assert any(
        n.startswith("retention_d7 2020Q4: retention: no users in scope in 2020Q4") for n in notes
    ), notes
