"""Validation shows one progress step per contract table, and only when asked (or watched)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins

#: the contract's tables, counted by hand: users, orders, views, interactions, community,
#: experiments, spend
CONTRACT_TABLES = 7


def _dataset() -> ins.Dataset:
    users = pl.DataFrame(
        {"user_id": ["a", "a", "b"], "first_seen_at": [dt.datetime(2024, 1, 1)] * 3}
    )
    return ins.frames_dataset(users=users)


def _findings(log: object) -> list[tuple]:
    return [(e.table, e.column, e.rule, e.rows, e.examples, e.severity) for e in log.entries]  # type: ignore[attr-defined]


def test_validate_bar_counts_the_contract_tables(capsys: pytest.CaptureFixture[str]) -> None:
    shown = ins.validate(_dataset(), progress=True)
    err = capsys.readouterr().err
    assert "validate" in err and f"{CONTRACT_TABLES}/{CONTRACT_TABLES}" in err
    silent = ins.validate(_dataset(), progress=False)
    assert capsys.readouterr().err == ""
    assert _findings(shown) == _findings(silent)
    assert ("users", "user_id", "duplicate_key", 2, ("a",), "error") in _findings(shown)


def test_validate_is_silent_in_ci_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    ins.validate(_dataset())
    assert capsys.readouterr().err == ""


def test_load_dataset_shows_the_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", "off")
    users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    shown = ins.load_dataset(users=users, progress=True)
    assert f"{CONTRACT_TABLES}/{CONTRACT_TABLES}" in capsys.readouterr().err
    silent = ins.load_dataset(users=users, progress=False)
    assert capsys.readouterr().err == ""
    assert _findings(shown.quality) == _findings(silent.quality)
