"""Community rates at the edge of the data: a window nobody has been followed through."""

from __future__ import annotations

import datetime as dt

import polars as pl

from insights.metrics import community_exit_rate, public_to_private_conversion

d = dt.datetime


def _frames(view_days: list[dt.datetime]) -> dict[str, pl.DataFrame]:
    n = len(view_days)
    return {
        "users": pl.DataFrame(
            {"user_id": list(range(1, n + 1)), "first_seen_at": [d(2024, 10, 1)] * n}
        ),
        "views": pl.DataFrame(
            {"user_id": list(range(1, n + 1)), "started_at": view_days, "watch_seconds": [60.0] * n}
        ),
        "community": pl.DataFrame({"user_id": [1], "at": [d(2024, 12, 28)], "action": ["join"]}),
    }


def test_conversion_of_viewers_nobody_followed_for_the_window_is_not_observed(make_dataset) -> None:
    # as_of 2024-12-31: a view up to Dec 1 is followed 30 days; both views are later
    late = make_dataset(_frames([d(2024, 12, 20), d(2024, 12, 26)]), as_of="2024-12-31")
    out = public_to_private_conversion(late, period="2024Q4")
    # (user 1's join on Dec 28 is 8 days after a view whose window is not complete: not counted)
    assert out.select("value", "ci_low", "n", "converted", "status").row(0) == (
        None, None, 0, 0, "not_observed",
    )  # fmt: skip
    # the viewer of Nov 20 is followed through the window and counts alone (0 of 1);
    # user 1, viewing on Dec 20, waits until its 30 days are observed
    early = make_dataset(_frames([d(2024, 12, 20), d(2024, 11, 20)]), as_of="2024-12-31")
    out = public_to_private_conversion(early, period="2024Q4")
    assert out.select("value", "n", "converted", "status").row(0) == (0.0, 1, 0, "observed")


def test_exit_rate_nobody_followed_for_90_days_is_not_observed(make_dataset) -> None:
    # one join on Dec 28, still in the community at as_of: censored at day 3, nobody at day 90
    ds = make_dataset(_frames([d(2024, 12, 20)]), as_of="2024-12-31")
    out = community_exit_rate(ds, period="2024Q4")
    assert out.select("value", "ci_low", "ci_high", "n", "at_risk", "status").row(0) == (
        None, None, None, 1, 0, "not_observed",
    )  # fmt: skip
    # the same join followed to 2025-06-30: at risk at day 90, nobody left: 0 observed
    later = make_dataset(_frames([d(2024, 12, 20)]), as_of="2025-06-30")
    assert community_exit_rate(later, period="2024Q4").select("value", "at_risk", "status").row(0) == (
        0.0, 1, "observed",
    )  # fmt: skip
