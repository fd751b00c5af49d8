"""Derivations of the loader (``insights.data.derive``): users from orders, order ids,
line items, refunds, ``export_start`` and the dataset's churn gap.

Every expected value is worked out by hand from the small frames written here.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import insights as ins
from insights.cli import app
from insights.data import DataReadError, DataValidationError, load_dataset
from insights.data._backend import collect


def _t(day: int, hour: int = 12, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, hour)


def _rows(ds: ins.Dataset, name: str, *columns: str) -> list[tuple]:
    frame = collect(ds.raw(name))
    return frame.select(columns).rows()


def _derived(ds: ins.Dataset) -> dict[str, int]:
    return {e.message: e.rows for e in ds.quality.entries if e.rule == "derived"}


# --- users from orders -----------------------------------------------------------------


ORDERS = pl.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "user_id": ["a", "b", "a", "c", "b"],
        "ordered_at": [_t(5), _t(2), _t(1), _t(9), _t(2, 18)],
        "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
        "category": ["beauty", "food", "apparel", "home", "beauty"],
        "platform": ["douyin", "kuaishou", "taobao_live", "douyin", "douyin"],
    }
)


def test_users_are_derived_from_the_first_order() -> None:
    ds = load_dataset(orders=ORDERS)
    # a: orders on Jan 5 and Jan 1 -> first is o3 (apparel, taobao_live)
    # b: Jan 2 12:00 (o2) and Jan 2 18:00 (o5) -> o2 (food, kuaishou); c: o4
    assert _rows(ds, "users", "user_id", "first_seen_at", "platform", "category") == [
        ("a", _t(1), "taobao_live", "apparel"),
        ("b", _t(2), "kuaishou", "food"),
        ("c", _t(9), "douyin", "home"),
    ]
    assert ds.meta["derivations"] == [
        {"key": "users_from_orders", "table": "users", "column": None, "count": 3}
    ]
    (sentence,) = ds.meta["derived"]
    assert sentence.startswith("There is no users table: 3 users were derived from orders")
    assert _derived(ds) == {sentence: 3}
    assert ds.quality.ok and ds.meta["activity"] == "orders"
    assert ds.churn_gap is None and ds.meta["simulated"] is False and ds.meta["config"] == {}


def test_users_first_seen_includes_earlier_views() -> None:
    views = pl.DataFrame(
        {"user_id": ["b", "d"], "started_at": [_t(1), _t(3)], "watch_seconds": [5.0, 6.0]}
    )
    ds = load_dataset(orders=ORDERS, views=views)
    # b viewed on Jan 1 before buying on Jan 2; d only viewed (no first order: no platform)
    assert _rows(ds, "users", "user_id", "first_seen_at", "platform") == [
        ("a", _t(1), "taobao_live"),
        ("b", _t(1), "kuaishou"),
        ("d", _t(3), None),
        ("c", _t(9), "douyin"),
    ]
    assert ds.meta["activity"] == "events"


def test_neither_users_nor_orders_is_a_read_error() -> None:
    views = pl.DataFrame({"user_id": ["b"], "started_at": [_t(1)], "watch_seconds": [5.0]})
    with pytest.raises(DataReadError, match="neither a users nor an orders table"):
        load_dataset(views=views)
    with pytest.raises(DataReadError, match="derive: users is false"):
        load_dataset(orders=ORDERS, derive={"users": False})


def test_unknown_derive_key_names_the_closest() -> None:
    with pytest.raises(DataReadError, match="did you mean 'line_items'"):
        load_dataset(orders=ORDERS, derive={"line_item": "basket"})


# --- order ids -------------------------------------------------------------------------


def test_order_ids_are_generated_by_row_number() -> None:
    orders = ORDERS.drop("order_id")
    ds = load_dataset(orders=orders)
    assert _rows(ds, "orders", "order_id", "user_id") == [
        (1, "a"), (2, "b"), (3, "a"), (4, "c"), (5, "b"),
    ]  # fmt: skip
    assert ds.meta["derivations"][0] == {
        "key": "order_ids_generated", "table": "orders", "column": "order_id", "count": 5,
    }  # fmt: skip
    forced = load_dataset(orders=ORDERS, derive={"order_id": "generate"})
    assert _rows(forced, "orders", "order_id") == [(1,), (2,), (3,), (4,), (5,)]


# --- line items ------------------------------------------------------------------------


LINES = pl.DataFrame(
    {
        "basket": ["b1", "b1", "b2", "b1", "b3", "b3"],
        "order_id": ["l1", "l2", "l3", "l4", "l5", "l6"],
        "user_id": ["a", "a", "b", "a", "c", "c"],
        "ordered_at": [_t(2, 10), _t(2, 9), _t(3), _t(2, 11), _t(4), _t(4)],
        "amount": [10.0, 25.0, 8.0, 5.0, 12.0, 12.0],
        "category": ["food", "beauty", "home", "apparel", "digital", "fresh"],
        "refunded": [True, False, True, True, True, True],
    }
)


def test_line_items_are_summed_into_orders() -> None:
    ds = load_dataset(orders=LINES, derive={"line_items": "basket"})
    # b1: 10 + 25 + 5 = 40, earliest 09:00, largest line beauty, not every line refunded
    # b2: one line; b3: 24, tie of 12 and 12 -> the first line (digital), all refunded
    assert _rows(
        ds, "orders", "order_id", "user_id", "ordered_at", "amount", "category", "refunded"
    ) == [
        ("b1", "a", _t(2, 9), 40.0, "beauty", False),
        ("b2", "b", _t(3), 8.0, "home", True),
        ("b3", "c", _t(4), 24.0, "digital", True),
    ]
    assert {"key": "line_items_summed", "table": "orders", "column": "order_id", "count": 6} in (
        ds.meta["derivations"]
    )
    assert any("6 order lines were summed into 3 orders" in s for s in ds.meta["derived"])
    assert ds.quality.ok


def test_a_basket_of_two_users_is_an_error_naming_count_and_examples() -> None:
    lines = LINES.with_columns(
        pl.when(pl.col("order_id").is_in(["l4", "l6"]))
        .then(pl.lit("z"))
        .otherwise("user_id")
        .alias("user_id")
    )
    with pytest.raises(
        DataReadError,
        match=r"2 baskets \(basket\) hold lines of more than one user_id, e.g. b1, b3",
    ):
        load_dataset(orders=lines, derive={"line_items": "basket"})


# --- refunds ---------------------------------------------------------------------------


REFUNDS = pl.DataFrame(
    {
        "order_id": ["o1", "o2", "o1", "o3", "o2", "o9"],
        "user_id": ["a", "b", "a", "c", "b", "a"],
        "ordered_at": [_t(1), _t(2), _t(3), _t(4), _t(5), _t(6)],
        "amount": [100.0, 30.0, -40.0, 20.0, -50.0, -7.0],
    }
)


def test_negative_amounts_are_an_error_by_default() -> None:
    with pytest.raises(DataValidationError) as caught:
        load_dataset(orders=REFUNDS)
    found = {(e.table, e.column, e.rule): e.rows for e in caught.value.log.errors}
    # the refund rows also repeat the ids of o1 and o2 (4 rows share 2 ids)
    assert found == {
        ("orders", "amount", "negative"): 3,
        ("orders", "order_id", "duplicate_key"): 4,
    }


def test_refunds_net() -> None:
    ds = load_dataset(orders=REFUNDS, refunds="net")
    # o1: 100 - 40 = 60; o2: 30 - 50 < 0 -> 0 and refunded; o3 untouched; o9 matches nothing
    assert _rows(ds, "orders", "order_id", "amount", "refunded") == [
        ("o1", 60.0, False), ("o2", 0.0, True), ("o3", 20.0, False),
    ]  # fmt: skip
    counts = {d["key"]: d["count"] for d in ds.meta["derivations"]}
    assert counts == {"refunds_netted": 2, "refunds_unmatched": 1, "users_from_orders": 3}
    assert any("1 orders refunded in full" in s for s in ds.meta["derived"])
    assert ds.quality.ok


def test_refunds_flag() -> None:
    ds = load_dataset(orders=REFUNDS, refunds="flag")
    assert _rows(ds, "orders", "order_id", "amount", "refunded") == [
        ("o1", 100.0, True), ("o2", 30.0, True), ("o3", 20.0, False),
    ]  # fmt: skip
    counts = {d["key"]: d["count"] for d in ds.meta["derivations"]}
    assert counts == {"refunds_flagged": 2, "refunds_unmatched": 1, "users_from_orders": 3}


def test_refunds_net_inside_line_items() -> None:
    lines = pl.DataFrame(
        {
            "basket": ["b1", "b1", "b1", "b2"],
            "user_id": ["a", "a", "a", "b"],
            "ordered_at": [_t(1), _t(1), _t(2), _t(3)],
            "amount": [10.0, 30.0, -15.0, 7.0],
        }
    )
    ds = load_dataset(orders=lines, derive={"line_items": "basket"}, refunds="net")
    assert _rows(ds, "orders", "order_id", "amount", "refunded") == [
        ("b1", 25.0, False), ("b2", 7.0, False),
    ]  # fmt: skip


def test_refunds_setting_is_checked() -> None:
    with pytest.raises(DataReadError, match="refunds must be one of net, flag, error"):
        load_dataset(orders=REFUNDS, refunds="subtract")  # type: ignore[arg-type]


# --- export_start ----------------------------------------------------------------------


def test_export_start_with_a_users_table() -> None:
    users = pl.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "first_seen_at": [_t(1, month=1) - dt.timedelta(days=40), _t(1), _t(9)],
        }
    )
    ds = load_dataset(
        users=users, orders=ORDERS, export_start="2024-01-01", derive={"warmup_days": 30}
    )
    # warm-up only applies to users derived from activity: only a (2023-11-22) is before
    assert _rows(ds, "users", "user_id", "acquired_in_data") == [
        ("a", False),
        ("b", True),
        ("c", True),
    ]
    assert ds.meta["export_start"] == dt.date(2024, 1, 1)
    assert {
        "key": "acquired_before_export",
        "table": "users",
        "column": "acquired_in_data",
        "count": 1,
    } in (ds.meta["derivations"])


def test_export_start_with_derived_users_and_warmup() -> None:
    ds = load_dataset(orders=ORDERS, export_start=dt.date(2024, 1, 1), derive={"warmup_days": 2})
    # first orders: a Jan 1, b Jan 2 12:00 (before Jan 3 00:00), c Jan 9
    assert _rows(ds, "users", "user_id", "acquired_in_data") == [
        ("a", False),
        ("b", False),
        ("c", True),
    ]
    assert any(
        s.startswith("2 users first seen in the first 2 days of the export")
        for s in ds.meta["derived"]
    )
    no_warmup = load_dataset(orders=ORDERS, export_start=dt.date(2024, 1, 1))
    assert _rows(no_warmup, "users", "acquired_in_data") == [(True,), (True,), (True,)]
    plain = load_dataset(orders=ORDERS)
    assert "acquired_in_data" not in plain.raw("users").collect_schema().names()


# --- churn gap -------------------------------------------------------------------------


def _retention_world(**options: object) -> ins.Dataset:
    """Three users first seen 2024-01-01 12:00, observed to 2024-03-31 (day 90).

    Active days: user 1 on 0 and 10, user 2 on 0, user 3 on 0, 20, 45 and 70.
    With a 30-day gap: L = 10, 0, 70 (censored) -> D7 = 2/3.
    With a 15-day gap: user 3 churns after day 0 (20 - 0 > 15): L = 10, 0, 0 -> D7 = 1/3.
    """
    t0 = _t(1)
    users = pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [t0] * 3})
    views = pl.DataFrame(
        {
            "user_id": [1, 3, 3, 3],
            "watch_seconds": [60.0] * 4,
            "started_at": [t0 + dt.timedelta(days=d) for d in (10, 20, 45, 70)],
        }
    )
    return load_dataset(users=users, views=views, as_of="2024-03-31", **options)  # type: ignore[arg-type]


def test_retention_uses_the_datasets_churn_gap() -> None:
    default = _retention_world()
    short = _retention_world(churn_gap=15)
    assert short.churn_gap == 15 and default.churn_gap is None
    d7 = lambda ds, **kw: ins.retention_rates(ds, period="2024Q1", timeline=(7,), **kw)["value"][0]  # noqa: E731
    assert d7(default) == pytest.approx(2 / 3)
    assert d7(short) == pytest.approx(1 / 3)
    assert d7(short, churn_gap=30) == pytest.approx(2 / 3)  # the call's own gap wins
    curves = ins.retention_curves(short)
    assert curves.churn_gap == 15
    assert curves.at([7]).select("survival").item() == pytest.approx(1 / 3)
    # kept by restrict and with_as_of
    assert short.restrict({"user_id": [1, 3]}).churn_gap == 15
    assert short.with_as_of("2024-03-01").churn_gap == 15


def test_churn_gap_is_checked() -> None:
    with pytest.raises(DataReadError, match="churn_gap must be a whole number of days >= 1"):
        load_dataset(orders=ORDERS, churn_gap=0)


# --- a directory with only orders ------------------------------------------------------


def _orders_only(tmp_path: Path, yaml: str) -> Path:
    directory = tmp_path / "shop"
    directory.mkdir()
    ORDERS.drop("order_id").write_csv(directory / "orders.csv")
    (directory / "dataset.yaml").write_text(yaml, encoding="utf-8")
    return directory


def test_orders_only_directory_passes_insights_validate(tmp_path: Path) -> None:
    directory = _orders_only(
        tmp_path,
        "currency: USD\nchurn_gap: 90\nexport_start: 2024-01-01\nderive:\n  warmup_days: 2\n",
    )
    result = CliRunner().invoke(app, ["validate", str(directory)])
    assert result.exit_code == 0, result.output
    assert "derived" in result.output and "3 users were derived from orders" in result.output
    ds = load_dataset(directory)
    assert ds.churn_gap == 90 and ds.currency == "USD"
    assert ds.meta["config"]["churn_gap"] == 90 and ds.meta["config"]["derive"] == {
        "warmup_days": 2
    }
    assert ds.meta["activity"] == "orders" and ds.meta["simulated"] is False
    assert [d["key"] for d in ds.meta["derivations"]] == [
        "order_ids_generated", "users_from_orders", "acquired_before_export",
    ]  # fmt: skip
    assert _rows(ds, "users", "user_id", "acquired_in_data") == [
        ("a", False),
        ("b", False),
        ("c", True),
    ]


def test_simulated_only_with_the_simulators_manifest(tmp_path: Path) -> None:
    directory = _orders_only(tmp_path, "timezone: Asia/Shanghai\n")
    (directory / "manifest.json").write_text(
        json.dumps({"generator": "something else"}), encoding="utf-8"
    )
    assert load_dataset(directory).meta["simulated"] is False
    (directory / "manifest.json").write_text(
        json.dumps({"generator": "insights.simulator", "seed": 1}), encoding="utf-8"
    )
    assert load_dataset(directory).meta["simulated"] is True


def test_input_frames_are_not_modified() -> None:
    before = LINES.clone()
    load_dataset(orders=LINES, derive={"line_items": "basket"}, refunds="net")
    assert LINES.equals(before)
