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
    return pl.DataFrame(
        {"user_id": ids, "first_seen_at": ["2024-01-01 10:00"] * len(ids)}
    ).with_columns(pl.col("first_seen_at").str.to_datetime())


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
    again = memo(
        load_dataset(tmp_path / "d"), "f", {"by": None, "q": "2024Q4"}, _counted(calls, None)
    )
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


def test_memo_evicts_the_least_recently_used_beyond_the_size_cap(tmp_path, monkeypatch) -> None:
    import os
    import time

    from insights.data._cache import memo

    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("INSIGHTS_CACHE_MAX_MB", str(2.5 * 1200 / 2**20))  # room for two entries
    _write(tmp_path / "d", _users([1, 2]))
    ds = load_dataset(tmp_path / "d")
    calls: list[int] = []
    blob = "x" * 1100  # stored as about 1.2 kB (the text in a JSON header)
    for name in ("a", "b"):
        memo(ds, name, {}, _counted(calls, blob))
        time.sleep(0.02)
    memo(ds, "a", {}, _counted(calls, blob))  # a hit: "a" is now the most recently used
    time.sleep(0.02)
    memo(ds, "c", {}, _counted(calls, blob))  # over the cap: "b" goes
    assert calls == [1, 1, 1]
    results = tmp_path / "cache" / "results"
    assert len(list(results.iterdir())) == 2
    assert sum(p.stat().st_size for p in results.iterdir()) <= 2.5 * 1200
    memo(ds, "a", {}, _counted(calls, blob))
    memo(ds, "c", {}, _counted(calls, blob))
    assert calls == [1, 1, 1]  # both remembered
    memo(ds, "b", {}, _counted(calls, blob))
    assert calls == [1, 1, 1, 1]  # evicted, so computed again

    stale = results / "stale.pkl"
    stale.write_bytes(b"old")
    month_ago = time.time() - 31 * 86_400
    os.utime(stale, (month_ago, month_ago))
    monkeypatch.setenv("INSIGHTS_CACHE_MAX_MB", "512")
    memo(ds, "d", {}, _counted(calls, 1))
    assert not stale.exists()  # unused for more than 30 days


def test_cache_size_cap_must_be_a_number(tmp_path, monkeypatch) -> None:
    from insights.data._cache import memo

    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("INSIGHTS_CACHE_MAX_MB", "lots")
    _write(tmp_path / "d", _users([1]))
    calls: list[int] = []
    with pytest.raises(ValueError, match="INSIGHTS_CACHE_MAX_MB must be a number"):
        memo(load_dataset(tmp_path / "d"), "f", {}, _counted(calls, 1))
    assert calls == []  # refused before the work, not after it


# --- arguments are checked at the user's call, before any cache machinery -------------------


def _frames(tb) -> list:
    import traceback

    return traceback.extract_tb(tb)


def test_remembered_call_that_does_not_fit_the_signature_fails_at_the_callers_line(
    tmp_path,
) -> None:
    import insights as ins

    _write(tmp_path / "d", _users([1, 2, 3]))
    ds = load_dataset(tmp_path / "d")
    for call, message in (
        (lambda: ins.retention_curves(ds, perod=2024), "unexpected keyword argument 'perod'"),
        (lambda: ins.retention_curves(ds, 2024), "takes 1 positional argument but 2 were given"),
        (lambda: ins.kpi_scorecard(ds), "missing 1 required keyword-only argument: 'quarter'"),
    ):
        with pytest.raises(TypeError, match=message) as info:
            call()
        frames = _frames(info.value.__traceback__)
        # only this file's frames: Python refused the call itself, no insights frame ran
        assert all(f.filename == __file__ for f in frames), frames
        assert info.value.__context__ is None and info.value.__cause__ is None


def test_remembered_functions_own_argument_errors_have_no_cache_frames(
    tmp_path, monkeypatch
) -> None:
    import insights as ins
    from insights.data import _cache

    _write(tmp_path / "d", _users([1, 2, 3]))
    for cache in ("on", "off"):  # the cached path (a key is hashed) and the uncached one
        if cache == "off":
            monkeypatch.setenv("INSIGHTS_CACHE_DIR", "off")
        ds = load_dataset(tmp_path / "d")
        with pytest.raises(ValueError, match="2024Q5") as info:
            ins.first_purchase_conversion(ds, period="2024Q5")
        frames = _frames(info.value.__traceback__)
        files = [f.filename for f in frames]
        assert _cache.__file__ not in files, frames  # no memo, no lambda, no slot
        assert files[0] == __file__
        # one generated frame named after the function (hidden by pytest and IPython),
        # then the function's own frame, where the argument is checked
        name = "first_purchase_conversion"
        assert frames[1].filename == f"<remembered insights.metrics.purchase.{name}>", frames
        assert frames[1].name == name and frames[1].line
        assert frames[2].name == name and frames[2].filename.endswith("purchase.py"), frames
        tb = info.value.__traceback__.tb_next
        assert tb.tb_frame.f_locals.get("__tracebackhide__") is True


def test_remembered_wrapper_keeps_the_signature_docs_and_module(tmp_path) -> None:
    import inspect

    import insights.metrics.purchase as purchase

    f = purchase.first_purchase_conversion
    name = "first_purchase_conversion"
    assert f.__wrapped__.__name__ == name and f.__doc__ == f.__wrapped__.__doc__
    assert inspect.signature(f) == inspect.signature(f.__wrapped__)
    assert f.__globals__ is vars(purchase)  # doctest and pickle find it by its module
    assert f.__kwdefaults__ == f.__wrapped__.__kwdefaults__


def test_remembered_keys_on_every_argument_defaults_included(tmp_path) -> None:
    from insights.data._cache import remembered

    calls: list[tuple] = []

    @remembered
    def heavy(dataset, /, *, period: int, by: str | None = None):
        calls.append((period, by))
        return period

    _write(tmp_path / "d", _users([1, 2, 3]))
    ds = load_dataset(tmp_path / "d")
    assert heavy(ds, period=1) == heavy(ds, period=1, by=None) == 1
    assert calls == [(1, None)]  # the default spelled out is the same call
    heavy(ds, period=1, by="platform")
    heavy(ds.restrict({"user_id": [1, 2]}), period=1)  # a restricted dataset is another key
    assert calls == [(1, None), (1, "platform"), (1, None)]
