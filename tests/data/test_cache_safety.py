"""A cache that cannot hurt: no serialised objects, private files, verified entries, content keys.

Each test plants or damages what an attacker or a bad disk would, and checks the
observable outcome (a marker file that must not appear, the value a call returns,
the permission bits on disk), not the cache's internals.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import pickle  # to plant hostile files only: src/ must never use it
import stat
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import insights
from insights.data._cache import CacheWarning, memo
from insights.data.load import DataValidationError, load_dataset

SRC = Path(insights.__file__).resolve().parent
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def _users(ids: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": ids, "first_seen_at": ["2024-01-01 10:00"] * len(ids)}
    ).with_columns(pl.col("first_seen_at").str.to_datetime())


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(root))
    return root


@pytest.fixture
def ds(tmp_path, cache):
    (tmp_path / "d").mkdir()
    _users([1, 2, 3]).write_parquet(tmp_path / "d" / "users.parquet")
    return load_dataset(tmp_path / "d")


def _counted(calls: list[int], value: object):
    def compute():
        calls.append(1)
        return value

    return compute


def _value() -> tuple[pl.DataFrame, list[str]]:
    return pl.DataFrame({"segment": ["a", "b"], "n": [4, 1_000], "s": [0.75, 0.5]}), ["note"]


def _entries(cache: Path, sub: str = "results") -> list[Path]:
    """The stored files of ``sub`` (whatever their format: hidden temporary files aside)."""
    folder = cache / sub
    return (
        sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []
    )


@contextlib.contextmanager
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _assert_value(got) -> None:
    frame, notes = got
    assert_frame_equal(frame, _value()[0])
    assert notes == ["note"]


# --- no object serialisation anywhere ------------------------------------------------------------


def test_source_never_uses_object_serialisation() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert files
    mentions = [
        f"{p}:{i}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "pickle" in line.lower()
    ]
    assert mentions == []
    banned = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal", "joblib"}
    imports = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            imports += [f"{path}: {n}" for n in names if n.split(".")[0] in banned]
    assert imports == []


# --- planted files never run ------------------------------------------------------------------


class _Bomb:
    """Unserialising this creates ``path``: the proof that a loader ran planted code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_the_planted_payload_is_live(tmp_path) -> None:
    # the check of the check: Python's own loader does run it
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Bomb(marker)))
    assert marker.exists()


def test_a_planted_object_file_is_never_run_for_a_result(tmp_path, cache, ds) -> None:
    calls: list[int] = []
    _assert_value(memo(ds, "f", {}, _counted(calls, _value())))
    (entry,) = _entries(cache)
    marker = tmp_path / "ran"
    bomb = pickle.dumps(_Bomb(marker))
    entry.write_bytes(bomb)  # renamed to the entry's own name
    (cache / "results" / f"{entry.stem}.pkl").write_bytes(bomb)  # the name older versions read
    (cache / "results" / "foreign.bin").write_bytes(bomb)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = memo(ds, "f", {}, _counted(calls, _value()))
    assert not marker.exists()  # the planted code did not run
    _assert_value(got)
    assert [w.category for w in record] == [CacheWarning] and calls == [1, 1]
    assert "not an insights cache entry" in str(record[0].message)
    with _no_warnings():  # stored afresh: a plain hit from now on
        _assert_value(memo(ds, "f", {}, _counted(calls, None)))
    assert calls == [1, 1] and not marker.exists()
    assert not (cache / "results" / f"{entry.stem}.pkl").exists()  # old format: deleted
    assert (cache / "results" / "foreign.bin").exists()  # not ours: left, never read


def test_a_planted_object_file_is_never_run_for_a_validation(tmp_path, cache) -> None:
    (tmp_path / "d").mkdir()
    _users([1, 2, 3]).write_parquet(tmp_path / "d" / "users.parquet")
    load_dataset(tmp_path / "d")
    (entry,) = _entries(cache, "validated")
    marker = tmp_path / "ran"
    entry.write_bytes(pickle.dumps(_Bomb(marker)))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ds = load_dataset(tmp_path / "d")
    assert not marker.exists()  # the planted code did not run
    assert [w.category for w in record] == [CacheWarning]
    assert ds.tables["users"].collect().height == 3


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="no O_NOFOLLOW")
def test_a_symlink_under_an_entry_name_is_not_followed(tmp_path, cache, ds) -> None:
    calls: list[int] = []
    memo(ds, "f", {}, _counted(calls, _value()))
    (entry,) = _entries(cache)
    outside = tmp_path / "outside.entry"
    outside.write_bytes(entry.read_bytes())  # a valid entry, elsewhere
    entry.unlink()
    entry.symlink_to(outside)
    with pytest.warns(CacheWarning, match="cannot be opened"):
        _assert_value(memo(ds, "f", {}, _counted(calls, _value())))
    assert calls == [1, 1] and not entry.is_symlink()
    assert outside.exists()  # the link went, not its target


@posix_only
def test_a_fifo_or_a_huge_file_under_an_entry_name_is_not_read(tmp_path, cache, ds) -> None:
    import signal

    calls: list[int] = []
    memo(ds, "f", {}, _counted(calls, _value()))
    (entry,) = _entries(cache)
    entry.unlink()
    os.mkfifo(entry)  # opening it for reading would wait for a writer forever
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked on a FIFO"))
    signal.alarm(10)
    try:
        with pytest.warns(CacheWarning, match="not a regular file"):
            _assert_value(memo(ds, "f", {}, _counted(calls, _value())))
    finally:
        signal.alarm(0)
    entry.unlink(missing_ok=True)
    with open(entry, "wb") as fh:  # 600 MB, sparse: reading it would take the memory
        fh.write(b"insights-cache/2\n")
        fh.truncate(600 * 2**20)
    with pytest.warns(CacheWarning, match="larger than the cache may hold"):
        _assert_value(memo(ds, "f", {}, _counted(calls, _value())))
    assert calls == [1, 1, 1] and entry.stat().st_size < 2**20


# --- damaged entries: one warning, recomputed, never a traceback -------------------------------


def _rehash(data: bytes, edit) -> bytes:
    """An entry whose JSON header was changed by ``edit``, with a correct hash and lengths:
    what someone who knows the format would plant (hashlib and json here, not the cache)."""
    magic, line, rest = data.split(b"\n", 2)
    _, header_len, _ = line.split(b" ")
    header = json.loads(rest[: int(header_len)])
    edit(header)
    text = json.dumps(header).encode()
    body = text + rest[int(header_len) :]
    line = f"{hashlib.sha256(body).hexdigest()} {len(text)} {len(body)}".encode()
    return magic + b"\n" + line + b"\n" + body


def _flip(data: bytes, part: str) -> bytes:
    """Two bytes flipped in the middle of the hash line, the JSON header or the frames."""
    line_start = data.index(b"\n") + 1
    header_start = data.index(b"\n", line_start) + 1
    header_len = int(data[line_start:header_start].split(b" ")[1])
    start, end = {
        "line": (line_start, header_start - 1),
        "header": (header_start, header_start + header_len),
        "frames": (header_start + header_len, len(data)),
    }[part]
    i = (start + end) // 2
    return data[:i] + bytes([data[i] ^ 0x5A, data[i + 1] ^ 0x5A]) + data[i + 2 :]


def _set(path: list, value):
    def edit(header: dict) -> None:
        node = header
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


DAMAGE = {
    "two bytes flipped in the frames": lambda b: _flip(b, "frames"),
    "two bytes flipped in the header": lambda b: _flip(b, "header"),
    "two bytes flipped in the hash line": lambda b: _flip(b, "line"),
    "truncated": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "extended": lambda b: b + b"\0" * 10,
    "garbage": lambda b: os.urandom(len(b)),
    "unknown tag": lambda b: _rehash(b, _set(["value", "$"], "eval")),
    "frame index out of range": lambda b: _rehash(b, _set(["value", "v", 0, "v"], 7)),
    "foreign class": lambda b: _rehash(
        b, lambda h: h.update(value={"$": "dataclass", "type": "subprocess:Popen", "v": {}})
    ),
    "class of a module not loaded": lambda b: _rehash(
        b,
        lambda h: h.update(value={"$": "dataclass", "type": "insights.__main__:main", "v": {}}),
    ),
    "deeply nested": lambda b: _rehash(
        b, lambda h: h.update(value=json.loads("[" * 500 + "]" * 500))
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_entry_is_discarded_with_one_warning_and_recomputed(cache, ds, damage) -> None:
    calls: list[int] = []
    memo(ds, "f", {}, _counted(calls, _value()))
    (entry,) = _entries(cache)
    entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    with pytest.warns(CacheWarning) as record:
        _assert_value(memo(ds, "f", {}, _counted(calls, _value())))
    assert len(record) == 1 and calls == [1, 1]
    assert "\n" not in str(record[0].message) and record[0].filename == str(entry)
    with _no_warnings():  # the next run is a clean hit, not another failure
        _assert_value(memo(ds, "f", {}, _counted(calls, None)))
    assert calls == [1, 1]


def test_a_damaged_validation_entry_validates_again(tmp_path, cache, monkeypatch) -> None:
    import insights.data.load as load_module

    (tmp_path / "d").mkdir()
    _users([1, 2, 3]).write_parquet(tmp_path / "d" / "users.parquet")
    load_dataset(tmp_path / "d")
    (entry,) = _entries(cache, "validated")
    entry.write_bytes(_flip(entry.read_bytes(), "header"))
    calls: list[int] = []
    real = load_module.check_dataset
    monkeypatch.setattr(
        load_module, "check_dataset", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    with pytest.warns(CacheWarning):
        load_dataset(tmp_path / "d")
    with _no_warnings():
        load_dataset(tmp_path / "d")
    assert calls == [1]  # checked again once, then remembered again


# --- private on disk, whatever the umask ---------------------------------------------------------


@posix_only
@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_cache_folders_are_0700_and_files_0600(tmp_path, cache, umask) -> None:
    old = os.umask(umask)
    try:
        (tmp_path / "d").mkdir()
        _users([1, 2]).write_parquet(tmp_path / "d" / "users.parquet")
        memo(load_dataset(tmp_path / "d"), "f", {}, lambda: _value())
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(cache) == 0o700
    assert {mode(cache / s) for s in ("results", "validated")} == {0o700}
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert len(files) == 2 and {mode(p) for p in files} == {0o600}


@posix_only
def test_an_open_folder_left_by_an_older_version_is_tightened(tmp_path, cache, ds) -> None:
    (cache / "results").mkdir(parents=True, exist_ok=True)
    os.chmod(cache / "results", 0o755)
    memo(ds, "f", {}, lambda: _value())
    assert stat.S_IMODE((cache / "results").stat().st_mode) == 0o700
    assert len(_entries(cache)) == 1


@posix_only
def test_a_user_chosen_existing_folder_is_not_chmodded(tmp_path, monkeypatch) -> None:
    shared = tmp_path / "mine"
    shared.mkdir()
    os.chmod(shared, 0o755)
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(shared))
    (tmp_path / "d").mkdir()
    _users([1, 2]).write_parquet(tmp_path / "d" / "users.parquet")
    memo(load_dataset(tmp_path / "d"), "f", {}, lambda: _value())
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # the user's folder: left as it was
    assert stat.S_IMODE((shared / "results").stat().st_mode) == 0o700  # ours: private


@posix_only
def test_a_results_folder_that_is_a_symlink_is_not_used(tmp_path, cache, ds) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache.mkdir(exist_ok=True)
    (cache / "results").symlink_to(elsewhere)
    calls: list[int] = []
    for _ in range(2):
        _assert_value(memo(ds, "f", {}, _counted(calls, _value())))
    assert calls == [1, 1] and list(elsewhere.iterdir()) == []


# --- what is and is not stored -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Foreign:
    x: int = 1


@pytest.mark.parametrize(
    "value",
    [
        np.arange(3),
        pl.DataFrame({"o": pl.Series([object()], dtype=pl.Object)}),
        {1: "int key"},
        {"a", "b"},
        _Foreign(),
        pl.LazyFrame({"x": [1]}),
        dt.datetime(2024, 1, 1, tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Shanghai")),
    ],
    ids=["ndarray", "object column", "int keys", "set", "foreign dataclass", "lazy", "zoneinfo"],
)
def test_a_value_the_store_cannot_hold_is_computed_every_time(cache, ds, value) -> None:
    calls: list[int] = []
    with _no_warnings():
        for _ in range(2):
            assert memo(ds, "f", {}, _counted(calls, value)) is value
    assert calls == [1, 1] and _entries(cache) == []


def test_stored_values_come_back_with_their_types(cache, ds) -> None:
    from insights.data.quality import QualityEntry

    frame = pl.DataFrame(
        {
            "label": pl.Series(["a", None, "b"], dtype=pl.Enum(["a", "b"])),
            "at": pl.Series([dt.datetime(2024, 1, 1)] * 3).dt.replace_time_zone("Asia/Shanghai"),
            "share": [float("nan"), float("inf"), None],
            "items": [[1, 2], None, []],
            "n": pl.Series([1, 2, 3], dtype=pl.UInt8),
        }
    )
    value = {
        "frame": frame,
        "series": pl.Series("s", [1.5, None]),
        "pair": (1, "a"),
        "list": [1, 2.5, None, True],
        "floats": [float("nan"), float("inf"), -float("inf"), 0.1 + 0.2],
        "when": (dt.date(2024, 3, 31), dt.datetime(2024, 3, 31, 23, 59, 59, 999_999)),
        "offset": dt.datetime(2024, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "gap": dt.timedelta(days=30, microseconds=1),
        "numpy": (np.float64(0.25), np.int32(-7), np.bool_(True)),
        "raw": b"\x00\xff",
        "finding": QualityEntry("users", "user_id", "unique", 2, ("1", "1")),
    }
    calls: list[int] = []
    memo(ds, "f", {}, _counted(calls, value))
    got = memo(ds, "f", {}, _counted(calls, None))
    assert calls == [1]  # read back from disk
    assert_frame_equal(got.pop("frame"), frame)
    pl.testing.assert_series_equal(got.pop("series"), value.pop("series"))
    value.pop("frame")
    nan, inf, minf, third = got.pop("floats")
    assert np.isnan(nan) and (inf, minf, third) == (float("inf"), -float("inf"), 0.1 + 0.2)
    value.pop("floats")
    assert [type(x) for x in got["numpy"]] == [np.float64, np.int32, np.bool_]
    assert got == value and type(got["pair"]) is tuple and type(got["finding"]) is QualityEntry


def test_a_report_s_remembered_results_are_all_stored(tmp_path, cache) -> None:
    # a result type the store cannot hold would silently make every report slow
    insights.simulate(tmp_path / "sim", users=1_500, seed=7)
    ds = load_dataset(tmp_path / "sim")
    calls = {
        "curves": lambda: insights.retention_curves(ds),
        "scorecard": lambda: insights.kpi_scorecard(ds, quarter="2024Q4"),
        "conversion": lambda: insights.first_purchase_conversion(ds, period="2024Q4"),
    }
    first = {name: call() for name, call in calls.items()}
    assert len(_entries(cache)) >= len(calls)
    with _no_warnings():
        again = {name: call() for name, call in calls.items()}
    for field in dataclasses.fields(first["curves"]):  # every field, as computed
        cold, warm = (getattr(r["curves"], field.name) for r in (first, again))
        if isinstance(cold, pl.DataFrame):
            assert_frame_equal(warm, cold)
        else:
            assert warm == cold and type(warm) is type(cold), field.name
    assert_frame_equal(again["scorecard"][0], first["scorecard"][0])
    assert again["scorecard"][1] == first["scorecard"][1]
    assert_frame_equal(again["conversion"], first["conversion"])


# --- validity keyed on content ------------------------------------------------------------------


def _users_csv(path: Path, first: list[int]) -> None:
    """``first`` then 4,000 more users: the file is larger than any tail or block a
    cheap check might hash (about 100 kB), and the edits below touch its first rows."""
    rows = [f"{i},2024-01-01 10:00" for i in [*first, *range(1_000, 5_000)]]
    path.write_text("user_id,first_seen_at\n" + "\n".join(rows) + "\n")
    assert path.stat().st_size > 65_536


def _same_size_edit(path: Path, old: bytes, new: bytes) -> None:
    st = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def test_a_same_size_edit_with_the_time_restored_is_validated_again(tmp_path, cache) -> None:
    d = tmp_path / "d"
    d.mkdir()
    _users_csv(d / "users.csv", [1, 2, 3])
    load_dataset(d)  # valid: remembered
    _same_size_edit(d / "users.csv", b"\n2,", b"\n1,")  # now a duplicate user id
    with pytest.raises(DataValidationError, match="duplicate"):
        load_dataset(d)


def test_a_same_size_edit_with_the_time_restored_recomputes_results(tmp_path, cache) -> None:
    d = tmp_path / "d"
    d.mkdir()
    _users_csv(d / "users.csv", [1, 2])
    calls: list[int] = []

    def first_ids(ds) -> list[str]:
        return sorted(ds.tables["users"].collect()["user_id"].cast(pl.String).head(2))

    ds = load_dataset(d)
    assert memo(ds, "ids", {}, _counted(calls, first_ids(ds))) == ["1", "2"]
    _same_size_edit(d / "users.csv", b"\n2,", b"\n5,")
    ds = load_dataset(d)
    assert memo(ds, "ids", {}, _counted(calls, first_ids(ds))) == ["1", "5"]
    assert calls == [1, 1]
