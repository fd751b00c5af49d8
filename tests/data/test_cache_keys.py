"""What the caches key on: the code that reads and derives tables, and the dataset's churn gap."""

from __future__ import annotations

import dataclasses
import importlib
import types

import polars as pl
import pytest

from insights.data import _cache
from insights.data._cache import fingerprint, memo
from insights.data.load import load_dataset


def _write(directory) -> None:
    directory.mkdir(exist_ok=True)
    pl.DataFrame(
        {
            "user_id": [1, 2],
            "ordered_at": ["2024-01-02 10:00", "2024-01-05 11:00"],
            "amount": [5.0, 7.5],
        }
    ).write_csv(directory / "orders.csv")


@pytest.mark.parametrize("module", ["_read", "_parse", "_config", "derive", "contract", "validate"])
def test_fingerprint_changes_with_the_code_that_reads_derives_and_checks(
    tmp_path, monkeypatch, module
) -> None:
    _write(tmp_path / "d")
    files = {"orders": tmp_path / "d" / "orders.csv"}
    source = tmp_path / f"{module}.py"
    real = importlib.import_module

    def fake_import(name: str, package: str | None = None):
        if name == f"insights.data.{module}":
            return types.SimpleNamespace(__file__=str(source))
        return real(name, package)

    monkeypatch.setattr(_cache.importlib, "import_module", fake_import)
    source.write_text("RULE = 1\n")
    before = fingerprint(tmp_path / "d", files, {})
    assert fingerprint(tmp_path / "d", files, {}) == before  # stable
    source.write_text("RULE = 2\n")
    assert fingerprint(tmp_path / "d", files, {}) != before


def test_results_are_not_shared_between_churn_gaps(tmp_path) -> None:
    _write(tmp_path / "d")
    ds = load_dataset(tmp_path / "d")
    assert ds.meta.get("fingerprint") is not None  # loaded from files: results are remembered
    calls: list[int | None] = []

    def compute(gap: int | None):
        def run() -> int | None:
            calls.append(gap)
            return gap

        return run

    assert memo(ds, "f", {"x": 1}, compute(ds.churn_gap)) is None
    assert memo(ds, "f", {"x": 1}, compute(-1)) is None  # remembered
    wider = dataclasses.replace(ds, churn_gap=90)
    assert memo(wider, "f", {"x": 1}, compute(wider.churn_gap)) == 90
    assert memo(wider, "f", {"x": 1}, compute(-1)) == 90  # remembered under its own key
    assert calls == [None, 90]
    loaded = load_dataset(tmp_path / "d", churn_gap=90)  # never the default gap's result
    assert memo(loaded, "f", {"x": 1}, compute(loaded.churn_gap)) == 90
