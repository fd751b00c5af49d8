"""``ins.chapter``: a chapter's set-up in one call equals the explicit steps it replaces."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import insights as ins


@pytest.fixture
def restore_options():
    before = ins.options()
    with ins.options(lang=before.lang, min_cell=before.min_cell):
        yield
    assert ins.options() == before


def test_the_context_is_the_explicit_set_up(small_sim_dir: Path, restore_options) -> None:
    users = pl.read_parquet(small_sim_dir / "users.parquet")
    platform = users["platform"].value_counts(sort=True)["platform"][0]
    filters = {"platform": platform}
    ctx = ins.chapter(
        small_sim_dir, quarter="2024Q4", compare_to="year_ago", by=None, where=filters,
        lang="en", min_cell=25,
    )  # fmt: skip
    # presentation set once, for the session
    assert (ins.options().lang, ins.options().min_cell) == ("en", 25)
    # the calendar, by hand
    assert (ctx.period.label, ctx.previous, ctx.year) == ("2024Q4", "2023Q4", "2024")
    assert ctx.where is None and ctx.compare_to == "year_ago"
    # the explicit steps of the old set-up cell
    period = ins.parse_period("2024Q4")
    ds = ins.load_dataset(small_sim_dir)
    explicit = ds.restrict(filters).with_as_of(min(period.end_at, ds.as_of))
    assert (
        ctx.ds.as_of
        == explicit.as_of
        <= dt.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=ds.as_of.tzinfo)
    )
    assert ctx.dims == ins.segment_columns(by=None, where=filters)
    assert "platform" not in ctx.dims  # one value of a filtered column is no split
    for name in ("users", "orders"):
        mine = ctx.ds.table(name).collect().to_native()
        theirs = explicit.table(name).collect().to_native()
        assert mine.equals(theirs), name
    # every user in scope is of the filtered platform, and all of them are there
    kept = ctx.ds.table("users").collect().to_native()
    assert set(kept["platform"]) == {platform}
    assert kept.height == users.filter(pl.col("platform") == platform).height


def test_defaults_compare_with_the_previous_quarter(small_sim_dir: Path, restore_options) -> None:
    ctx = ins.chapter(small_sim_dir, quarter="2024Q1")
    assert (ctx.previous, ctx.year, ctx.compare_to) == ("2023Q4", "2024", "previous")
    assert (ins.options().lang, ins.options().min_cell) == ("zh", 10)
    assert ctx.dims == ins.segment_columns()


def test_a_section_says_once_what_would_enable_it() -> None:
    """Missing inputs found before or inside the block, reasons, silence after another section."""
    import polars as pl

    from insights.report.context import Section

    ds = ins.load_dataset(users=pl.DataFrame({"user_id": [1], "first_seen_at": ["2024-01-01"]}))
    sec = Section(ds, needs=("users.city_tier",), lang="en")
    with sec:
        ins.interaction_rate(ds, period="2024Q1")  # also needs views: found by the call
    assert not sec
    assert sec.note == (
        "Not available: needs the city_tier column of the users table and the views table "
        "(views.csv / views.parquet)."
    )
    assert sec.heading("interaction_rate").startswith("## ")
    by_column = Section(ds, lang="zh")
    with by_column:
        ins.new_users(ds, period="2024Q1", by="channel")  # a by= column the users lack
    assert by_column.note == "暂不可用：需要 users 表的 channel 列。"
    reason = Section(ds, lang="en")
    with reason:
        reason.require(False, "no_new_users", quarter="2024Q2")
    assert reason.note == "Not available: no users were newly acquired in 2024Q2."
    after = Section(ds, lang="en")
    with after:
        after.require(sec)  # the earlier section already says why
    assert not after and after.note is None and after.heading("x") is None
    with pytest.raises(ZeroDivisionError):  # anything else is a bug, not a missing input
        with Section(ds, lang="en"):
            1 / 0  # noqa: B018
