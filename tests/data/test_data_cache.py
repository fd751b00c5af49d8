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
