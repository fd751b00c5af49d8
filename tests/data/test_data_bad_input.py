"""The bad-input corpus: every example of the contract's "What bad input gets" section.

Each case changes one thing in the valid hand-written dataset (``conftest.py``), writes it
as Parquet, and checks (1) the quality log from ``validate`` (table, column, rule, row
count, example keys), (2) the exit code and the message of ``validate_command``, and
(3) for value rules, the same finding on frames held by Polars and DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pytest

from insights.cli_validate import validate_command
from insights.data import DataValidationError, frames_dataset, load_dataset, validate
from insights.data.quality import QualityEntry, QualityLog

Tables = dict[str, pl.DataFrame]


def _set(frame: pl.DataFrame, column: str, row: int, value: object) -> pl.DataFrame:
    """``frame`` with ``column`` at 0-based ``row`` replaced by ``value`` (a new frame)."""
    values = frame[column].to_list()
    values[row] = value
    dtype = frame.schema[column] if value is not None and not isinstance(value, str) else None
    series = (
        pl.Series(column, values, dtype=dtype) if dtype is not None else pl.Series(column, values)
    )
    return frame.with_columns(series)


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Tables], None]
    table: str
    column: str | None
    rule: str
    rows: int
    examples: tuple[str, ...]
    also: frozenset[tuple[str, str | None, str]] = frozenset()  # other errors this change implies
    engine_rule: bool = True  # also found on frames (not only by the file loader)


def _dup_user(t: Tables) -> None:
    t["users"] = pl.concat([t["users"], t["users"].filter(pl.col("user_id") == "u03")])


def _dup_order(t: Tables) -> None:
    t["orders"] = pl.concat([t["orders"], t["orders"].filter(pl.col("order_id") == "o04")])


def _unknown_user(table: str, row: int, uid: str) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t[table] = _set(t[table], "user_id", row, uid)

    return change


def _edit(table: str, column: str, row: int, value: object) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t[table] = _set(t[table], column, row, value)

    return change


def _orders_unknown(t: Tables) -> None:
    t["orders"] = _set(_set(t["orders"], "user_id", 6, "u99"), "user_id", 7, "u99")


def _amount_text(t: Tables) -> None:
    amounts = [str(v) for v in t["orders"]["amount"].to_list()]
    amounts[2], amounts[8] = "abc", "12,5"  # o03 and o09 cannot be read as numbers
    t["orders"] = t["orders"].with_columns(pl.Series("amount", amounts))


def _first_seen_text(t: Tables) -> None:
    stamps = [f"{v:%Y-%m-%d %H:%M:%S}" for v in t["users"]["first_seen_at"].to_list()]
    stamps[4] = "yesterday"  # u05
    t["users"] = t["users"].with_columns(pl.Series("first_seen_at", stamps))


def _drop(table: str, column: str) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        t[table] = t[table].drop(column)

    return change


def _empty_views(t: Tables) -> None:
    t["views"] = t["views"].head(0)


# u01 first seen 2024-01-01 10:00; u04 on 2024-01-04 10:00 (see conftest)
CASES = [
    Case("duplicate_user_id", _dup_user, "users", "user_id", "duplicate_key", 2, ("u03",)),
    Case("duplicate_order_id", _dup_order, "orders", "order_id", "duplicate_key", 2, ("o04",)),
    Case(
        "null_first_seen",
        _edit("users", "first_seen_at", 3, None),
        "users",
        "first_seen_at",
        "null",
        1,
        ("u04",),
    ),
    Case(
        "null_order_user",
        _edit("orders", "user_id", 5, None),
        "orders",
        "user_id",
        "null",
        1,
        ("o06",),
    ),
    Case(
        "null_watch_seconds",
        _edit("views", "watch_seconds", 2, None),
        "views",
        "watch_seconds",
        "null",
        1,
        ("row 3",),
    ),
    Case(
        "negative_amount",
        _edit("orders", "amount", 4, -3.0),
        "orders",
        "amount",
        "negative",
        1,
        ("o05",),
    ),
    Case(
        "negative_watch",
        _edit("views", "watch_seconds", 1, -1.0),
        "views",
        "watch_seconds",
        "negative",
        1,
        ("row 2",),
    ),
    Case(
        "negative_spend",
        _edit("spend", "amount", 0, -5.0),
        "spend",
        "amount",
        "negative",
        1,
        ("row 1",),
    ),
    # NaN / inf would print as nan in every mean: refused, and not also called negative
    Case(
        "nan_amount",
        _edit("orders", "amount", 2, float("nan")),
        "orders",
        "amount",
        "nonfinite",
        1,
        ("o03",),
    ),
    Case(
        "inf_watch_seconds",
        _edit("views", "watch_seconds", 1, float("inf")),
        "views",
        "watch_seconds",
        "nonfinite",
        1,
        ("row 2",),
    ),
    Case(
        "minus_inf_spend",
        _edit("spend", "amount", 0, float("-inf")),
        "spend",
        "amount",
        "nonfinite",
        1,
        ("row 1",),
    ),
    Case("orders_unknown_user", _orders_unknown, "orders", "user_id", "unknown_user", 2, ("u99",)),
    Case(
        "views_unknown_user",
        _unknown_user("views", 0, "u98"),
        "views",
        "user_id",
        "unknown_user",
        1,
        ("u98",),
    ),
    Case(
        "interactions_unknown_user",
        _unknown_user("interactions", 1, "u97"),
        "interactions",
        "user_id",
        "unknown_user",
        1,
        ("u97",),
    ),
    Case(
        "community_unknown_user",
        _unknown_user("community", 2, "u96"),
        "community",
        "user_id",
        "unknown_user",
        1,
        ("u96",),
    ),
    Case(
        "experiments_unknown_user",
        _unknown_user("experiments", 3, "u95"),
        "experiments",
        "user_id",
        "unknown_user",
        1,
        ("u95",),
    ),
    # o11 belongs to u01 (first day 2024-01-01): moved to 2023-12-29, 3 days before
    Case(
        "order_before_first_seen",
        _edit("orders", "ordered_at", 10, dt.datetime(2023, 12, 29, 12)),
        "orders",
        "ordered_at",
        "before_first_seen",
        1,
        ("o11",),
    ),
    # views row 4 is u04 (first day 2024-01-04): 2024-01-01 is 3 days before
    Case(
        "view_before_first_seen",
        _edit("views", "started_at", 3, dt.datetime(2024, 1, 1, 8)),
        "views",
        "started_at",
        "before_first_seen",
        1,
        ("row 4",),
    ),
    Case(
        "interaction_before_first_seen",
        _edit("interactions", "at", 9, dt.datetime(2024, 1, 2)),
        "interactions",
        "at",
        "before_first_seen",
        1,
        ("row 10",),
    ),
    # community row 5 is u04's join: 2024-01-02 is 2 days before 2024-01-04
    Case(
        "community_before_first_seen",
        _edit("community", "at", 4, dt.datetime(2024, 1, 2)),
        "community",
        "at",
        "before_first_seen",
        1,
        ("row 5",),
    ),
    Case(
        "unknown_platform",
        _edit("users", "platform", 1, "tiktok"),
        "users",
        "platform",
        "unknown_label",
        1,
        ("u02",),
    ),
    Case(
        "unknown_order_source",
        _edit("orders", "source", 0, "live_room"),
        "orders",
        "source",
        "unknown_label",
        1,
        ("o01",),
    ),
    Case(
        "unknown_interaction_kind",
        _edit("interactions", "kind", 4, "dance"),
        "interactions",
        "kind",
        "unknown_label",
        1,
        ("row 5",),
    ),
    Case(
        "community_action",
        _edit("community", "action", 1, "quit"),
        "community",
        "action",
        "community_action",
        1,
        ("row 2",),
    ),
    Case("empty_table", _empty_views, "views", None, "empty_table", 0, ()),
    Case("missing_column", _drop("orders", "amount"), "orders", "amount", "missing_column", 20, ()),
    Case(
        "missing_first_seen",
        _drop("users", "first_seen_at"),
        "users",
        "first_seen_at",
        "missing_column",
        10,
        (),
    ),
    Case(
        "uncastable_amount",
        _amount_text,
        "orders",
        "amount",
        "type",
        2,
        ("o03", "o09"),
        also=frozenset({("orders", "amount", "null")}),
        engine_rule=False,
    ),
    Case(
        "uncastable_datetime",
        _first_seen_text,
        "users",
        "first_seen_at",
        "type",
        1,
        ("u05",),
        also=frozenset({("users", "first_seen_at", "null")}),
        engine_rule=False,
    ),
]


def _find(log: QualityLog, table: str, column: str | None, rule: str) -> QualityEntry:
    found = [e for e in log.entries if (e.table, e.column, e.rule) == (table, column, rule)]
    assert len(found) == 1, f"expected one {table}.{column} {rule}, got {log.entries}"
    return found[0]


def _errors(log: QualityLog) -> set[tuple[str, str | None, str]]:
    return {(e.table, e.column, e.rule) for e in log.errors}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_in_log_and_cli(
    case: Case, tables: Tables, write, capsys: pytest.CaptureFixture[str]
) -> None:
    case.change(tables)
    path = write(tables)
    log = validate(path)
    entry = _find(log, case.table, case.column, case.rule)
    assert (entry.rows, entry.examples, entry.severity) == (case.rows, case.examples, "error")
    assert str(case.rows) in entry.message
    assert _errors(log) == {(case.table, case.column, case.rule)} | case.also

    assert validate_command(path, False, False, False) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and case.table in out and case.rule in out
    line = next(li for li in out.splitlines() if case.rule in li and (case.column or "-") in li)
    assert f"{case.rows} rows" in line
    assert all(example in line for example in case.examples)

    assert validate_command(path, True, False, False) == 1
    records = json.loads(capsys.readouterr().out)
    assert {
        "table": case.table,
        "column": case.column,
        "rule": case.rule,
        "rows": case.rows,
        "examples": list(case.examples),
        "severity": "error",
    }.items() <= next(
        r for r in records if r["rule"] == case.rule and r["column"] == case.column
    ).items()

    with pytest.raises(DataValidationError) as err:
        load_dataset(path)
    assert case.rule in str(err.value) and err.value.log.errors


ENGINE_CASES = [c for c in CASES if c.engine_rule and c.rule != "missing_column"]


@pytest.mark.parametrize("case", ENGINE_CASES, ids=lambda c: c.id)
def test_bad_input_on_each_engine(case: Case, tables: Tables, make_dataset, backend: str) -> None:
    case.change(tables)
    originals = {k: v.clone() for k, v in tables.items()}
    log = validate(make_dataset(tables))
    entry = _find(log, case.table, case.column, case.rule)
    assert entry.rows == case.rows
    if backend == "polars" or not any(e.startswith("row ") for e in case.examples):
        assert entry.examples == case.examples
    assert _errors(log) == {(case.table, case.column, case.rule)}
    assert all(tables[k].equals(v) for k, v in originals.items())


def test_valid_dataset_is_clean(tables: Tables, write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tables)
    assert validate(path).entries == []
    assert validate_command(path, False, False, False) == 0
    assert "OK" in capsys.readouterr().out


def test_skew_of_one_day_is_allowed(tables: Tables, write) -> None:
    # o12 belongs to u02 (first day 2024-01-02 10:00): 2024-01-01 00:30 is 1 calendar day before: allowed
    tables["orders"] = _set(tables["orders"], "ordered_at", 11, dt.datetime(2024, 1, 1, 0, 30))
    assert validate(write(tables)).ok


def test_missing_users_and_orders_files_exit_2(
    tables: Tables, write, capsys: pytest.CaptureFixture[str]
) -> None:
    del tables["users"], tables["orders"]
    path = write(tables)
    assert validate_command(path, False, False, False) == 2
    err = capsys.readouterr().err
    assert "neither a users nor an orders table" in err and "Traceback" not in err


def test_missing_users_file_is_derived_from_activity(
    tables: Tables, write, capsys: pytest.CaptureFixture[str]
) -> None:
    del tables["users"]
    path = write(tables)
    assert validate_command(path, False, False, False) == 0
    out = capsys.readouterr().out
    assert "derived" in out and "10 users were derived" in out


def test_missing_users_frame_in_log() -> None:
    orders = pl.DataFrame(
        {
            "order_id": ["o1"],
            "user_id": ["u1"],
            "ordered_at": [dt.datetime(2024, 1, 1)],
            "amount": [1.0],
        }
    )
    log = validate(frames_dataset(orders=orders))
    entry = _find(log, "users", None, "missing_table")
    assert (entry.severity, entry.rows) == ("error", 0)
    assert "users.parquet" in entry.message


def test_missing_orders_is_a_warning(
    tables: Tables, write, capsys: pytest.CaptureFixture[str]
) -> None:
    del tables["orders"]
    path = write(tables)
    log = validate(path)
    entry = _find(log, "orders", None, "missing_table")
    assert entry.severity == "warning" and "value metrics" in entry.message
    assert log.ok
    assert validate_command(path, False, False, False) == 0
    assert "warning" in capsys.readouterr().out


def test_unknown_labels_allowed_become_warnings_and_other(tables: Tables, write, capsys) -> None:
    tables["users"] = _set(
        _set(tables["users"], "platform", 1, "tiktok"), "platform", 2, "bilibili"
    )
    path = write(tables)
    log = validate(path, allow_unknown_labels=True)
    entry = _find(log, "users", "platform", "unknown_label")
    assert (entry.severity, entry.rows, entry.examples) == ("warning", 2, ("u02", "u03"))
    assert "'bilibili', 'tiktok'" in entry.message and log.ok
    ds = load_dataset(path, allow_unknown_labels=True)
    platforms = ds.raw("users").collect().to_native().sort("user_id")["platform"].to_list()
    assert platforms[1:3] == ["other", "other"]
    assert validate_command(path, False, False, True) == 0
    assert validate_command(path, False, False, False) == 1
    capsys.readouterr()


def test_community_action_is_never_mapped(tables: Tables, write) -> None:
    tables["community"] = _set(tables["community"], "action", 1, "quit")
    log = validate(write(tables), allow_unknown_labels=True)
    assert _find(log, "community", "action", "community_action").severity == "error"


def test_several_problems_in_one_report(
    tables: Tables, write, capsys: pytest.CaptureFixture[str]
) -> None:
    _dup_user(tables)
    tables["orders"] = _set(tables["orders"], "amount", 4, -3.0)
    path = write(tables)
    assert validate_command(path, False, False, False) == 1
    out = capsys.readouterr().out
    assert "FAILED: 2 rules broken" in out
    assert out.index("\nusers") < out.index("\norders")
