"""Remember work done on a dataset directory: its validation, and results of heavy calls.

Validating every rule of the contract scans every table (about 2 s at 200k users,
10 s at 1M); a report run loads the same directory many times. After a clean
validation, the findings are stored under a fingerprint of the directory: for each
file its name, size, modification time and a hash of its last 64 KiB (the Parquet
footer with its statistics), plus the loading options, the contract and the
package version. Any change to a file, an option or the contract gives another
fingerprint, so the data are validated again. Failed validations are never stored.

Results of heavy, deterministic calls (the KPI scorecard, the calibration table)
are remembered the same way by :func:`memo`: under the dataset's fingerprint, its
``as_of``, the call's name and arguments, and a hash of the package's own source
(so editing the code recomputes). A report renders nine chapters in two
languages, each in its own kernel; without this, each would recompute them.

The cache lives in ``$INSIGHTS_CACHE_DIR`` (default ``~/.cache/insights``);
``INSIGHTS_CACHE_DIR=off`` disables it. It stays small: after each store, entries
unused for 30 days go, then the least recently used ones until the directory
holds at most ``$INSIGHTS_CACHE_MAX_MB`` (default 512) megabytes (:func:`prune`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import importlib
import json
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from insights.data.quality import QualityEntry

__all__ = ["fingerprint", "load_findings", "store_findings", "memo", "remembered", "prune"]

T = TypeVar("T")

_TAIL = 65_536
_MAX_AGE_DAYS = 30
_DEFAULT_MAX_MB = 512.0


def _cache_dir() -> Path | None:
    value = os.environ.get("INSIGHTS_CACHE_DIR", "")
    if value.lower() in ("off", "0", "none"):
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "insights"


def _file_parts(path: Path) -> list[str]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    parts = []
    for f in files:
        st = f.stat()
        with open(f, "rb") as fh:
            fh.seek(max(st.st_size - _TAIL, 0))
            tail = hashlib.sha256(fh.read()).hexdigest()
        parts.append(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}|{tail}")
    return parts


def fingerprint(directory: Path, files: dict[str, Path], options: dict[str, Any]) -> str:
    """A key that changes whenever a table file, ``dataset.yaml`` or an option changes."""
    from insights import __version__

    h = hashlib.sha256()
    h.update(__version__.encode())
    for name in ("contract", "validate"):  # the rules themselves: any edit re-validates
        module = importlib.import_module(f"insights.data.{name}")
        h.update(Path(str(module.__file__)).read_bytes())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    config = directory / "dataset.yaml"
    extra = [config] if config.exists() else []
    for name in sorted(files):
        for part in _file_parts(files[name]):
            h.update(f"{name}:{part}\n".encode())
    for path in extra:
        for part in _file_parts(path):
            h.update(f"config:{part}\n".encode())
    return h.hexdigest()


def load_findings(key: str) -> list[QualityEntry] | None:
    """The stored findings of a clean validation, or None when there are none."""
    root = _cache_dir()
    if root is None:
        return None
    path = root / "validated" / f"{key}.json"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        return [QualityEntry(**{**r, "examples": tuple(r["examples"])}) for r in records]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def store_findings(key: str, entries: list[QualityEntry]) -> None:
    """Store the findings of a clean validation (best effort: a read-only home is fine)."""
    root = _cache_dir()
    if root is None:
        return
    records = [
        {
            "table": e.table,
            "column": e.column,
            "rule": e.rule,
            "rows": e.rows,
            "examples": list(e.examples),
            "severity": e.severity,
            "message": e.message,
        }
        for e in entries
    ]
    target = root / "validated" / f"{key}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        return


@functools.cache
def _code_hash() -> str:
    """Hash of every module of the installed ``insights`` package (read once per process)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _plain(value: Any) -> bool:
    """True for values whose text identifies them (the cacheable arguments)."""
    if value is None or isinstance(value, str | int | float | bool | dt.date):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        frozen = type(value).__dataclass_params__.frozen  # type: ignore[attr-defined]
        return bool(frozen) and all(
            _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def memo(dataset: Any, name: str, params: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``, remembered on disk for a dataset loaded from files.

    Computed afresh (and not stored) when the dataset has no file fingerprint (frames
    built in memory), an argument is not plain data (numbers, strings, lists, dicts),
    or the cache is off. The stored value is pickled (the cache directory is the
    user's own); a stored value that cannot be read is recomputed.

    Examples
    --------
    >>> import polars as pl
    >>> from insights.data import frames_dataset
    >>> ds = frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01")
    >>> memo(ds, "answer", {"x": 1}, lambda: 42)  # in-memory data: just computed
    42
    """
    root = _cache_dir()
    fp = getattr(dataset, "meta", {}).get("fingerprint")
    if root is None or fp is None or not _plain(dict(params)):
        return compute()
    limit = _max_bytes()  # a bad INSIGHTS_CACHE_MAX_MB fails before the work, not after it
    h = hashlib.sha256()
    text = json.dumps(dict(params), sort_keys=True, default=repr)
    for part in (fp, str(dataset.as_of), name, text, _code_hash()):
        h.update(part.encode())
        h.update(b"\0")
    path = root / "results" / f"{h.hexdigest()}.pkl"
    try:
        with open(path, "rb") as fh:
            value = pickle.load(fh)
        os.utime(path)  # last use, for pruning
        return value  # type: ignore[no-any-return]
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return value
    prune(root, max_bytes=limit)
    return value


def _max_bytes() -> float:
    text = os.environ.get("INSIGHTS_CACHE_MAX_MB", "")
    try:
        megabytes = float(text) if text else _DEFAULT_MAX_MB
    except ValueError:
        raise ValueError(
            f"INSIGHTS_CACHE_MAX_MB must be a number of megabytes, got {text!r}"
        ) from None
    return megabytes * 1024 * 1024


def prune(
    root: Path, *, max_bytes: float | None = None, max_age_days: float = _MAX_AGE_DAYS
) -> int:
    """Delete cache entries under ``root`` unused for ``max_age_days``, then the least
    recently used ones until at most ``max_bytes`` remain; returns how many were deleted.

    "Used" is the file's modification time: a store writes it and a hit touches it.
    Best effort: files that vanish meanwhile (another process pruning) are skipped.
    Written here rather than taken from a cache library (e.g. ``diskcache``) because
    the store is a flat directory of files with atomic replaces; an eviction pass
    over it is this one function, where a library would bring an index database of
    its own.

    Examples
    --------
    >>> import tempfile, time
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "results").mkdir()
    >>> for i in range(3):
    ...     _ = (root / "results" / f"{i}.pkl").write_bytes(b"x" * 100)
    ...     os.utime(root / "results" / f"{i}.pkl", (time.time() - 10 + i,) * 2)
    >>> prune(root, max_bytes=250)  # the oldest goes
    1
    >>> sorted(p.name for p in (root / "results").iterdir())
    ['1.pkl', '2.pkl']
    """
    limit = _max_bytes() if max_bytes is None else max_bytes
    entries = []
    for sub in ("results", "validated"):
        try:
            with os.scandir(root / sub) as it:
                for e in it:
                    if e.is_file() and not e.name.endswith(".tmp"):
                        st = e.stat()
                        entries.append((st.st_mtime, st.st_size, e.path))
        except OSError:
            continue
    cutoff = dt.datetime.now().timestamp() - max_age_days * 86_400
    entries.sort()  # oldest first
    total = sum(size for _, size, _ in entries)
    removed = 0
    for mtime, size, path in entries:
        if mtime >= cutoff and total <= limit:
            break
        try:
            os.remove(path)
            removed += 1
        except OSError:
            pass
        total -= size
    return removed


def remembered(func: Callable[..., T]) -> Callable[..., T]:
    """Decorate ``func(dataset, *, ...)`` so that its results go through :func:`memo`.

    For the heavy analyses a report calls from several chapters and in both
    languages; the keyword arguments are the key (see :func:`memo` for when nothing
    is remembered).
    """
    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(dataset: Any, /, *args: Any, **kwargs: Any) -> T:
        if args:
            return func(dataset, *args, **kwargs)
        return memo(dataset, name, kwargs, lambda: func(dataset, **kwargs))

    return wrapper
