"""customer_summary, btyd_ltv and ltv_holdout against lifetimes, FHL 2005 and the CDNOW data.

CDNOW (the files ship in the lifetimes wheel; references in /work/shared/reference): the
summary equals ``lifetimes.utils.summary_data_from_transaction_data``, the fit on the
sample reproduces the published BG/NBD and Gamma–Gamma parameters, and the holdout
(weeks 40-78) is checked against purchases counted in plain Python and against
lifetimes' own BetaGeoFitter / GammaGammaFitter predictions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

import insights as ins
from insights.data.dataset import Dataset, frames_dataset

CAL_END = "1997-09-30"
HOLD_END = "1998-06-30"


def _cdnow(name: str) -> pl.DataFrame:
    """``id, date, amount`` of a CDNOW file (master: header + 4 columns; sample: 5, no header)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the lifetimes wheel (which ships the CDNOW files) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / name
    if not path.exists():
        pytest.skip(f"{path} not found in the lifetimes wheel")
    fields = [f for f in (line.split() for line in path.read_text().splitlines()) if f]
    fields = [f for f in fields if f[0].isdigit()]
    return pl.DataFrame(
        {
            "id": [int(f[0]) for f in fields],
            "date": [f[-3] for f in fields],
            "amount": [float(f[-1]) for f in fields],
        }  # fmt: skip
    ).with_columns(pl.col("date").str.to_date("%Y%m%d"))


def _frames(tx: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Orders at noon of each date; users made from the first orders."""
    orders = tx.with_row_index("order_id").select(
        pl.col("order_id").cast(pl.Int64),
        pl.col("id").alias("user_id"),
        (pl.col("date").cast(pl.Datetime("us")) + pl.duration(hours=12)).alias("ordered_at"),
        "amount",
    )
    users = orders.group_by("user_id").agg(pl.col("ordered_at").min().alias("first_seen_at"))
    return {"users": users.sort("user_id"), "orders": orders}


def _dataset(frames: dict[str, pl.DataFrame], engine: str, as_of: str = HOLD_END) -> Dataset:
    base = frames_dataset(as_of=as_of, **frames)
    if engine == "polars":
        return base
    con = duckdb.connect()
    tables = {name: con.from_arrow(frame.to_arrow()) for name, frame in frames.items()}
    return dataclasses.replace(base, tables=tables, meta={"duckdb_connection": con})


@pytest.fixture(scope="module")
def master() -> pl.DataFrame:
    return _cdnow("CDNOW_master.txt")


@pytest.fixture(scope="module")
def master_ds(master) -> Dataset:
    return _dataset(_frames(master), "polars")


def _lifetimes_summary(tx: pl.DataFrame, freq: str, end: str | None):
    from lifetimes.utils import summary_data_from_transaction_data

    return summary_data_from_transaction_data(
        tx.to_pandas(), "id", "date", "amount", observation_period_end=end, freq=freq
    )


def _compare(ours: pl.DataFrame, theirs) -> None:
    ref = pl.from_pandas(theirs.reset_index()).rename({"id": "user_id"})
    both = ref.join(ours, on="user_id", how="full", suffix="_ours")
    assert both.height == ref.height == ours.height
    for column in ("frequency", "recency", "T"):
        assert (both[column] == both[f"{column}_ours"]).all(), column
    np.testing.assert_allclose(
        both["monetary_value_ours"].to_numpy(), both["monetary_value"].to_numpy(), rtol=1e-12
    )


# --- customer_summary ---------------------------------------------------------------


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_summary_equals_lifetimes_daily_at_the_cutoff(master, engine):
    ds = _dataset(_frames(master), engine)
    ours = ins.customer_summary(ds, cutoff=CAL_END)
    assert ours.columns == ["user_id", "segment", "frequency", "recency", "T", "monetary_value"]
    assert ours.height == 23_570 and ours["frequency"].sum() == 24_337
    _compare(ours, _lifetimes_summary(master, "D", CAL_END))


@pytest.mark.parametrize("cutoff", [None, "1997-09-28"])  # data end; a Sunday (a week's end)
def test_summary_equals_lifetimes_weekly(master, master_ds, cutoff):
    ours = ins.customer_summary(master_ds, cutoff=cutoff, unit="week")
    _compare(ours, _lifetimes_summary(master, "W", cutoff))


def test_summary_on_the_sample_matches_the_published_counts():
    ds = _dataset(_frames(_cdnow("CDNOW_sample.txt")), "polars")
    s = ins.customer_summary(ds, cutoff=CAL_END)
    assert s.height == 2_357 and s["frequency"].sum() == 2_457  # references.md


T0 = dt.datetime(2024, 1, 1, 12)  # a Monday


def _small() -> dict[str, pl.DataFrame]:
    """Hand-worked: user 1 buys Jan 1 (10), Jan 5 (5 + 15), Jan 9 (30), a refunded 100 on
    Jan 10 and 50 on Jan 20; user 2 once on Jan 8 (7); user 3 on Jan 2 (4) and Jan 3 (6)."""
    rows = [(1, 0, 10.0, False), (1, 4, 5.0, False), (1, 4, 15.0, False), (1, 8, 30.0, False),
            (1, 9, 100.0, True), (1, 19, 50.0, False), (2, 7, 7.0, False), (3, 1, 4.0, False),
            (3, 2, 6.0, False)]  # fmt: skip
    orders = pl.DataFrame(
        {
            "order_id": list(range(len(rows))),
            "user_id": [r[0] for r in rows],
            "ordered_at": [T0 + dt.timedelta(days=r[1]) for r in rows],
            "amount": [r[2] for r in rows],
            "refunded": [r[3] for r in rows],
        }
    )
    users = pl.DataFrame(
        {"user_id": [1, 2, 3], "first_seen_at": [T0, T0, T0], "platform": ["a", "a", "b"]}
    )
    return {"users": users, "orders": orders}


def test_summary_hand_worked_on_every_engine(make_dataset):
    frames = _small()
    before = {k: v.clone() for k, v in frames.items()}
    ds = make_dataset(frames, as_of="2024-01-31")
    day = ins.customer_summary(ds, cutoff="2024-01-11", by="platform")
    assert day.rows() == [
        (1, "a", 2, 8.0, 10.0, 25.0),  # days 0, 4, 8: repeats (5 + 15) and 30
        (2, "a", 0, 0.0, 3.0, 0.0),
        (3, "b", 1, 1.0, 9.0, 6.0),
    ]
    week = ins.customer_summary(ds, cutoff="2024-01-11", unit="week")
    assert week.select("user_id", "frequency", "recency", "T", "monetary_value").rows() == [
        (1, 1, 1.0, 1.0, 30.0),  # week of Jan 1 (10 + 5 + 15), week of Jan 8 (30)
        (2, 0, 0.0, 0.0, 0.0),
        (3, 0, 0.0, 1.0, 0.0),  # both purchases in the first week
    ]
    refunded = ins.customer_summary(ds, cutoff="2024-01-11", include_refunded=True)
    assert refunded.row(0)[2:] == (3, 9.0, 10.0, 50.0)  # (20 + 30 + 100) / 3
    only_a = ins.customer_summary(ds, cutoff="2024-01-11", where={"platform": "a"})
    assert only_a["user_id"].to_list() == [1, 2]
    assert all(frames[k].equals(before[k]) for k in frames)  # inputs untouched


def test_summary_rejects_bad_options():
    ds = frames_dataset(as_of="2024-01-31", **_small())
    with pytest.raises(ValueError, match="unit must be 'day' or 'week'"):
        ins.customer_summary(ds, unit="month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after the data's as_of"):
        ins.customer_summary(ds, cutoff="2024-03-01")


# --- btyd_ltv ------------------------------------------------------------------------


def test_fit_from_the_summary_reproduces_published_cdnow():
    ds = _dataset(_frames(_cdnow("CDNOW_sample.txt")), "polars")
    row = ins.btyd_ltv(ds, cutoff=CAL_END, horizon=273).row(0, named=True)
    # Fader, Hardie & Lee (2005); Fader & Hardie (2013) Gamma-Gamma note
    assert (round(row["r"], 3), round(row["alpha"], 2), round(row["a"], 3)) == (0.243, 4.41, 0.793)
    assert round(row["b"], 2) == 2.43
    assert (round(row["p"], 2), round(row["q"], 2), round(row["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert row["n"] == 2_357 and row["horizon"] == 273
    # FHL 2005 report 1,788 repeat purchases in weeks 40-78; the model forecasts close to it
    assert 1_600 < row["purchases"] * row["n"] < 1_900


def test_btyd_ltv_per_segment_and_discount():
    rng = np.random.default_rng(3)
    days = [(u, f + d) for u, f in enumerate(rng.integers(0, 60, 300))
            for d in np.cumsum(np.append(0, rng.exponential(20, rng.geometric(0.2) - 1)))]  # fmt: skip
    orders = pl.DataFrame(days, schema=["user_id", "day"], orient="row").select(
        pl.int_range(pl.len()).alias("order_id"), "user_id",
        amount=pl.Series(rng.gamma(4.0, 5.0, len(days))),
        ordered_at=pl.datetime(2024, 1, 1) + pl.duration(days=pl.col("day").cast(pl.Int64)),
    )  # fmt: skip
    users = orders.group_by("user_id").agg(first_seen_at=pl.col("ordered_at").min())
    users = users.with_columns(platform=pl.when(pl.col("user_id") % 2 == 0).then(pl.lit("x"))
                               .otherwise(pl.lit("y")))  # fmt: skip
    ds = frames_dataset(users=users, orders=orders, as_of="2024-12-31")
    out = ins.btyd_ltv(ds, cutoff="2024-06-30", by="platform")
    assert out["segment"].to_list() == ["x", "y"] and out["n"].sum() == 300
    assert out["r"].n_unique() == 1  # one pooled fit
    assert out["total"].to_list() == pytest.approx((out["value"] * out["n"]).to_list())
    discounted = ins.btyd_ltv(ds, cutoff="2024-06-30", by="platform", discount_monthly=0.02)
    assert (discounted["value"] < out["value"]).all()
    assert (discounted["purchases"] == out["purchases"]).all()


def test_btyd_ltv_needs_repeat_purchases():
    orders = pl.DataFrame({"order_id": [1, 2], "user_id": [1, 2], "amount": [5.0, 6.0],
                           "ordered_at": [T0, T0 + dt.timedelta(days=3)]})  # fmt: skip
    users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [T0, T0]})
    ds = frames_dataset(users=users, orders=orders, as_of="2024-06-30")
    with pytest.raises(ValueError, match="none of the 2 customers .* repeat purchases"):
        ins.btyd_ltv(ds)
    with pytest.raises(ValueError, match="horizon must be a whole number"):
        ins.btyd_ltv(ds, horizon=0)


# --- ltv_holdout ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def holdout(master_ds) -> pl.DataFrame:
    return ins.ltv_holdout(master_ds, cutoff=CAL_END, churn_gap=90)


@pytest.fixture(scope="module")
def lifetimes_forecast(master):
    """Per customer: lifetimes' BG/NBD purchases and BG/NBD x Gamma-Gamma value in the holdout."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    s = _lifetimes_summary(master, "D", CAL_END)
    x, t_x, big_t = s["frequency"], s["recency"] / 7, s["T"] / 7
    bgf = BetaGeoFitter().fit(x, t_x, big_t)
    purchases = bgf.conditional_expected_number_of_purchases_up_to_time(273 / 7, x, t_x, big_t)
    repeat = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    spend = ggf.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    return pl.DataFrame(
        {"user_id": s.index.to_numpy(), "purchases": purchases.to_numpy(),
         "value": (purchases * spend).to_numpy()}
    )  # fmt: skip


def _actual_in_plain_python(master: pl.DataFrame) -> tuple[dict[int, int], dict[int, float]]:
    """Purchase days and spend per customer in the holdout, counted row by row."""
    cal, end = dt.date(1997, 9, 30), dt.date(1998, 6, 30)
    days: dict[int, set[dt.date]] = {}
    spend: dict[int, float] = {}
    for uid, day, amount in master.iter_rows():
        if cal < day <= end:
            days.setdefault(uid, set()).add(day)
            spend[uid] = spend.get(uid, 0.0) + amount
    return {u: len(d) for u, d in days.items()}, spend


def test_holdout_actuals_are_the_repeat_purchases_in_weeks_40_to_78(master, holdout):
    purchases, spend = _actual_in_plain_python(master)
    row = {(r["method"], r["measure"]): r for r in holdout.iter_rows(named=True)}
    assert row["btyd", "purchases"]["actual"] == sum(purchases.values()) == 19_684
    assert row["btyd", "value"]["actual"] == pytest.approx(sum(spend.values()), rel=1e-12)
    assert row["projected_ltv", "value"]["actual"] == row["btyd", "value"]["actual"]
    assert ("projected_ltv", "purchases") not in row
    assert set(holdout["n"]) == {23_570}
    assert holdout["cutoff"][0] == dt.date(1997, 9, 30)
    assert holdout["holdout_end"][0] == dt.date(1998, 6, 30)


def test_holdout_btyd_equals_lifetimes_forecast(master, holdout, lifetimes_forecast):
    purchases, _ = _actual_in_plain_python(master)
    row = {(r["method"], r["measure"]): r for r in holdout.iter_rows(named=True)}
    ref = lifetimes_forecast
    assert row["btyd", "purchases"]["predicted"] == pytest.approx(ref["purchases"].sum(), rel=1e-4)
    assert row["btyd", "value"]["predicted"] == pytest.approx(ref["value"].sum(), rel=1e-4)
    actual = np.array([purchases.get(u, 0) for u in ref["user_id"].to_list()], dtype=float)
    mae = float(np.abs(ref["purchases"].to_numpy() - actual).mean())
    assert row["btyd", "purchases"]["mae"] == pytest.approx(mae, rel=1e-3)


def test_holdout_errors_on_cdnow(master_ds, holdout):
    """The figures of the module docstring (weeks 40-78, 23,570 customers)."""
    err = {(r["method"], r["measure"]): r["value"] for r in holdout.iter_rows(named=True)}
    assert err["btyd", "purchases"] == pytest.approx(-0.143, abs=0.001)
    assert err["btyd", "value"] == pytest.approx(-0.173, abs=0.001)
    assert err["projected_ltv", "value"] == pytest.approx(-0.213, abs=0.001)  # churn_gap 90
    default = ins.ltv_holdout(master_ds, cutoff=CAL_END, method=["projected_ltv"])
    assert default["value"][0] == pytest.approx(0.150, abs=0.001)  # churn_gap 30
    spearman = {(r["method"], r["measure"]): r["spearman"] for r in holdout.iter_rows(named=True)}
    assert spearman["btyd", "purchases"] > 0.4 > spearman["projected_ltv", "value"]


def test_holdout_projected_ltv_reads_the_curve_between_ages(master, master_ds, holdout):
    """Each customer's prediction = the curve from their age at the cut-off to the end."""
    cut = master_ds.with_as_of(CAL_END)
    curve = ins.projected_ltv(cut, horizon=546, churn_gap=90, curve=True)
    cum = np.append(0.0, curve["value"].to_numpy())
    first = master.group_by("id").agg(pl.col("date").min())["date"].to_list()
    cal, end = dt.date(1997, 9, 30), dt.date(1998, 6, 30)
    total = sum(cum[(end - d).days + 1] - cum[(cal - d).days + 1] for d in first)
    row = holdout.filter(method="projected_ltv")
    assert row["predicted"][0] == pytest.approx(total, rel=1e-9)


def test_holdout_default_cutoff_is_the_middle_of_the_orders(master_ds):
    out = ins.ltv_holdout(master_ds, method="btyd")
    assert out["cutoff"][0] == dt.date(1997, 9, 30)  # 546 days of orders: 273 + 273


def test_holdout_too_short_says_so():
    orders = pl.DataFrame(
        {"order_id": [1, 2, 3], "user_id": [1, 1, 2], "amount": [5.0, 6.0, 7.0],
         "ordered_at": [T0, T0 + dt.timedelta(days=50), T0 + dt.timedelta(days=119)]}
    )  # fmt: skip
    users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [T0, T0]})
    ds = frames_dataset(users=users, orders=orders, as_of="2024-04-29")
    with pytest.raises(ValueError, match=r"orders cover 120 days .* too short for a holdout"):
        ins.ltv_holdout(ds)
    longer = ds.with_as_of("2024-12-31")
    with pytest.raises(ValueError, match=r"leaves 31 days of orders before it .* at least 90"):
        ins.ltv_holdout(longer, cutoff="2024-01-31")
    with pytest.raises(ValueError, match="ends after the data's as_of"):
        ins.ltv_holdout(longer, cutoff="2024-06-30", horizon=300)
    with pytest.raises(ValueError, match="choose from"):
        ins.ltv_holdout(longer, method=["pareto"])  # type: ignore[list-item]


def test_holdout_same_on_every_engine(make_dataset):
    rng = np.random.default_rng(11)
    days = [(u, f + d) for u, f in enumerate(rng.integers(0, 60, 150))
            for d in np.cumsum(np.append(0, rng.exponential(25, rng.geometric(0.2) - 1)))]  # fmt: skip
    scale = rng.gamma(3.0, 2.0, 150)  # customers differ in spend: Gamma-Gamma is identified
    orders = pl.DataFrame(days, schema=["user_id", "day"], orient="row").select(
        pl.int_range(pl.len()).alias("order_id"), "user_id",
        amount=pl.Series(np.round(rng.gamma(4.0, scale[[u for u, _ in days]]), 2)),
        ordered_at=pl.datetime(2024, 1, 1, 12) + pl.duration(days=pl.col("day").cast(pl.Int64)),
    )  # fmt: skip
    users = orders.group_by("user_id").agg(first_seen_at=pl.col("ordered_at").min())
    frames = {"users": users, "orders": orders}
    engine = ins.ltv_holdout(make_dataset(frames, as_of="2024-12-31"), cutoff="2024-06-30")
    reference = ins.ltv_holdout(frames_dataset(as_of="2024-12-31", **frames), cutoff="2024-06-30")
    assert engine.select("method", "measure", "actual", "n").equals(
        reference.select("method", "measure", "actual", "n")
    )
    np.testing.assert_allclose(engine["predicted"], reference["predicted"], rtol=1e-6)
