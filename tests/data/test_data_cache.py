"""The validation cache: a clean directory is checked once, and again after any change."""

from __future__ import annotations

import polars as pl
import pytest

import insights.data.load as load_module
from insights.data.load import DataValidationError, load_dataset


def _write(directory, users: pl.DataFrame) -> None:
    directory.mkdir(exist_ok=True)
    users.write_parquet(directory / "users.parquet")


def _users(ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"user_id": ids, "first_seen_at": ["2024-01-01 10:00"] * len(ids)}).with_columns(
        pl.col("first_seen_at").str.to_datetime()
    )


def test_second_load_skips_validation_until_a_file_changes(tmp_path, monkeypatch) -> None:
    _write(tmp_path / "d", _users([1, 2, 3]))
    load_dataset(tmp_path / "d")
    calls: list[int] = []
    real = load_module.check_dataset

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module, "check_dataset", counting)
    load_dataset(tmp_path / "d")
    assert calls == []  # remembered
    load_dataset(tmp_path / "d", as_of="2024-06-30")
    assert calls == [1]  # another option: checked again
    _write(tmp_path / "d", _users([1, 1, 3]))  # a duplicate key now
    with pytest.raises(DataValidationError, match="duplicate"):
        load_dataset(tmp_path / "d")
    with pytest.raises(DataValidationError):  # failures are never remembered
        load_dataset(tmp_path / "d")


def test_cache_can_be_switched_off(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", "off")
    _write(tmp_path / "d", _users([1, 2]))
    load_dataset(tmp_path / "d")
    calls: list[int] = []
    monkeypatch.setattr(load_module, "check_dataset", lambda *a, **k: calls.append(1) or [])
    load_dataset(tmp_path / "d")
    assert calls == [1]


def _counted(calls: list[int], value: object):
    def compute():
        calls.append(1)
        return value

    return compute


def test_memo_computes_once_per_files_as_of_and_arguments(tmp_path) -> None:
    from insights.data._cache import memo

    _write(tmp_path / "d", _users([1, 2, 3]))
    calls: list[int] = []
    frame = pl.DataFrame({"x": [1.5, None]})
    ds = load_dataset(tmp_path / "d")
    first = memo(ds, "f", {"q": "2024Q4", "by": None}, _counted(calls, frame))
    again = memo(load_dataset(tmp_path / "d"), "f", {"by": None, "q": "2024Q4"}, _counted(calls, None))
    assert calls == [1] and again.equals(first)  # a fresh load of the same files: remembered
    memo(ds, "f", {"q": "2024Q3", "by": None}, _counted(calls, frame))  # other arguments
    memo(ds, "g", {"q": "2024Q4", "by": None}, _counted(calls, frame))  # another call
    memo(ds.with_as_of("2024-01-02"), "f", {"q": "2024Q4", "by": None}, _counted(calls, frame))
    assert calls == [1, 1, 1, 1]
    _write(tmp_path / "d", _users([1, 2, 4]))  # the data changed: computed again
    memo(load_dataset(tmp_path / "d"), "f", {"q": "2024Q4", "by": None}, _counted(calls, frame))
    assert calls == [1, 1, 1, 1, 1]


def test_memo_never_remembers_frames_in_memory_or_unplain_arguments(tmp_path, monkeypatch) -> None:
    from insights.data import frames_dataset
    from insights.data._cache import memo

    calls: list[int] = []
    mem = frames_dataset(users=_users([1]))
    for _ in range(2):
        memo(mem, "f", {}, _counted(calls, 1))
    assert calls == [1, 1]
    _write(tmp_path / "d", _users([1, 2]))
    ds = load_dataset(tmp_path / "d")
    for _ in range(2):
        memo(ds, "f", {"where": pl.col("x") > 1}, _counted(calls, 1))
    assert calls == [1, 1, 1, 1]
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", "off")
    for _ in range(2):
        memo(ds, "f", {}, _counted(calls, 1))
    assert len(calls) == 6
