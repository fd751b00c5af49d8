"""``Dataset.restrict``: every table holds only the users in scope, on every engine.

The numbers of a restricted dataset are those of ``where=`` on the whole one (each
metric filters its own population there), for several metrics on each engine; the
restriction is lazy; a table that cannot be restricted is left out and says why; and
the results cache never hands a restricted dataset the whole dataset's result.
"""

from __future__ import annotations

import math

import narwhals as nw
import polars as pl
import pytest

import insights as ins
from insights.data import MissingTableError, load_dataset
from insights.data._backend import backend_name, collect

PLATFORMS = ("douyin", "kuaishou")


@pytest.fixture
def frames(small_sim_frames) -> dict[str, pl.DataFrame]:
    """The small simulation, with a platform column on spend (so CAC can be restricted)."""
    spend = small_sim_frames["spend"]
    labels = pl.Series(["douyin", "kuaishou", "taobao_live"] * (spend.height // 3 + 1))[
        : spend.height
    ]
    return {**small_sim_frames, "spend": spend.with_columns(platform=labels)}


def _rows(frame: pl.DataFrame) -> list[tuple]:
    columns = [
        c
        for c in ("metric", "segment", "period", "value", "ci_low", "ci_high", "n")
        if c in frame.columns
    ]
    return frame.sort(columns[:3]).select(columns).rows()


def _same(a: list[tuple], b: list[tuple]) -> bool:
    def close(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
        return x == y

    return len(a) == len(b) and all(
        len(r) == len(s) and all(close(x, y) for x, y in zip(r, s, strict=True))
        for r, s in zip(a, b, strict=True)
    )


METRICS = {
    "retention_rates": lambda ds, **w: ins.retention_rates(ds, period=2024, timeline=(7, 30), **w),
    "repurchase_rate": lambda ds, **w: ins.repurchase_rate(ds, period=2024, **w),
    "aov": lambda ds, **w: ins.aov(ds, period="2024Q4", **w),
    "activity_90d": lambda ds, **w: ins.activity_90d(ds, period="2024Q3", **w),
    "interaction_rate": lambda ds, **w: ins.interaction_rate(ds, period="2024Q4", **w),
    "cac": lambda ds, **w: ins.cac(ds, period=2024, **w),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_restrict_gives_the_numbers_of_where(make_engine_dataset, frames, platform) -> None:
    ds = make_engine_dataset(frames, as_of="2024-12-31")  # Polars, DuckDB, Spark and pandas input
    where = {"platform": platform}
    scoped = ds.restrict(where)
    assert scoped.as_of == ds.as_of and scoped.names == ds.names
    for name, call in METRICS.items():
        restricted, filtered = call(scoped), call(ds, where=where)
        assert filtered.height > 0 and filtered["n"].sum() > 0, name
        assert _same(_rows(restricted), _rows(filtered)), (name, restricted, filtered)
        assert _rows(restricted) != _rows(call(ds)), name  # and not the whole population's


def test_every_table_holds_only_the_users_in_scope(make_dataset, backend, frames) -> None:
    ds = make_dataset(frames, as_of="2024-12-31")
    scoped = ds.restrict({"platform": ["douyin", "other"]})
    for name in scoped.names:
        assert backend_name(scoped.raw(name)) == backend  # still the engine's own lazy frame
    users = collect(scoped.raw("users"))
    assert set(users["platform"]) == {"douyin", "other"}
    keep = set(frames["users"].filter(pl.col("platform").is_in(["douyin", "other"]))["user_id"])
    assert set(users["user_id"]) == keep
    for name in ("orders", "views", "interactions", "community", "experiments"):
        got = collect(scoped.raw(name))
        want = frames[name].filter(pl.col("user_id").is_in(list(keep)))
        assert got.height == want.height > 0 and set(got["user_id"]) <= keep, name
    spend = collect(scoped.raw("spend"))
    assert set(spend["platform"]) == {"douyin"}  # filtered on its own platform column
    # restrictions compose; None and {} change nothing
    both = scoped.restrict({"city_tier": "tier1"})
    assert set(collect(both.raw("users"))["platform"]) <= {"douyin", "other"}
    assert set(collect(both.raw("users"))["city_tier"]) == {"tier1"}
    assert ds.restrict(None) is ds and ds.restrict({}) is ds


def test_restrict_is_lazy(frames) -> None:
    ds = ins.frames_dataset(**{k: v.lazy() for k, v in frames.items()}, as_of="2024-12-31")
    scoped = ds.restrict({"platform": "douyin"})
    assert all(isinstance(t, pl.LazyFrame) for t in scoped.tables.values())


def test_a_table_that_cannot_be_restricted_is_left_out_and_says_why(frames) -> None:
    ds = ins.frames_dataset(**frames, as_of="2024-12-31")
    scoped = ds.restrict({"city_tier": "tier1"})  # spend has no city_tier
    assert not scoped.has("spend") and ds.has("spend")
    with pytest.raises(MissingTableError, match="neither user_id nor city_tier"):
        ins.cac(scoped, period=2024)
    card, notes = ins.kpi_scorecard(scoped, quarter="2024Q4")
    assert "cac" not in set(card["metric"])
    assert any(n.startswith("cac: skipped") and "city_tier" in n for n in notes), notes
    expr = ds.restrict(nw.col("platform") == "douyin")  # an expression: spend cannot follow
    assert not expr.has("spend")
    assert set(collect(expr.raw("users"))["platform"]) == {"douyin"}


def test_unknown_where_column_is_an_error(frames) -> None:
    ds = ins.frames_dataset(**frames, as_of="2024-12-31")
    with pytest.raises(ValueError, match=r"where: \['platfrom'\] are not users columns"):
        ds.restrict({"platfrom": "douyin"})


def test_the_scorecard_where_is_the_restricted_dataset(frames) -> None:
    ds = ins.frames_dataset(**frames, as_of="2024-12-31")
    card, _ = ins.kpi_scorecard(ds, quarter="2024Q4", where={"platform": "douyin"})
    same, _ = ins.kpi_scorecard(ds.restrict({"platform": "douyin"}), quarter="2024Q4")
    whole, _ = ins.kpi_scorecard(ds, quarter="2024Q4")
    assert _same(card.rows(), same.rows()) and not _same(card.rows(), whole.rows())
    new = (
        frames["users"]
        .filter(
            (pl.col("platform") == "douyin")
            & pl.col("first_seen_at")
            .dt.date()
            .is_between(pl.date(2024, 10, 1), pl.date(2024, 12, 31))
        )
        .height
    )
    d7 = card.filter((pl.col("metric") == "retention_d7") & (pl.col("quarter") == "2024Q4"))
    assert d7["n"].item() == new


def test_grouped_scorecard_rows_are_the_restricted_ones(frames) -> None:
    # `insights kpis --by platform`: every KPI row of a segment is that segment's own numbers
    ds = ins.frames_dataset(**frames, as_of="2024-12-31")
    card, _ = ins.kpi_scorecard(ds, quarter="2024Q4", by="platform", min_cell=1)
    assert "cac" in set(card["metric"])  # spend has a platform column here
    for platform in PLATFORMS:
        alone, _ = ins.kpi_scorecard(ds, quarter="2024Q4", where={"platform": platform}, min_cell=1)
        part = card.filter(pl.col("segment") == platform).drop("segment")
        assert _same(
            part.sort("metric", "quarter").rows(),
            alone.drop("segment").sort("metric", "quarter").rows(),
        ), platform


def test_results_cache_keys_on_the_restriction(small_sim_dir, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "cache" / "results"
    # results remembered: entries, less those recording a shared intermediate (one .parquet each)
    stored = lambda: len(list(results.glob("*.entry"))) - len(list(results.glob("*.parquet")))  # noqa: E731
    curves = lambda ds: ins.retention_curves(ds, period=2024).table  # noqa: E731  (remembered)
    ds = load_dataset(small_sim_dir)
    whole = curves(ds)
    douyin = curves(ds.restrict({"platform": "douyin"}))
    assert stored() == 2  # remembered apart
    again = curves(load_dataset(small_sim_dir).restrict({"platform": "douyin"}))
    assert stored() == 2 and again.equals(douyin) and not douyin.equals(whole)
    assert douyin["at_risk"][0] < whole["at_risk"][0]
    assert curves(load_dataset(small_sim_dir)).equals(whole)
    kuaishou = curves(ds.restrict({"platform": "kuaishou"}))
    assert stored() == 3 and not kuaishou.equals(douyin)
    expr = curves(ds.restrict(nw.col("platform") == "douyin"))
    assert expr.equals(douyin) and stored() == 3  # an expression is never stored
