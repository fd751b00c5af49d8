"""Remember work done on a dataset directory: its validation, and results of heavy calls.

Validating every rule of the contract scans every table (about 2 s at 200k users,
10 s at 1M); a report run loads the same directory many times. After a clean
validation, the findings are stored under a fingerprint of the directory: for each
file its name, size, modification time and a hash of its last 64 KiB (the Parquet
footer with its statistics), plus the loading options, the contract and the
package version and the code that reads, derives and checks the tables
(``_read``, ``_parse``, ``_config``, ``derive``, ``contract``, ``validate``). Any
change to a file, an option or that code gives another fingerprint, so the data are
validated again. Failed validations are never stored.

Results of heavy, deterministic calls (the KPI scorecard, the calibration table)
are remembered the same way by :func:`memo`: under the dataset's fingerprint, its
``as_of`` and ``churn_gap``, the call's name and arguments, and a hash of the package's own source
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
import inspect
import json
import linecache
import os
import pickle
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from insights.data.quality import QualityEntry

__all__ = ["fingerprint", "load_findings", "store_findings", "memo", "remembered", "prune"]

T = TypeVar("T")

_TAIL = 65_536
#: The modules whose code decides what a directory loads as and what validation finds.
_LOADING_MODULES = ("_read", "_parse", "_config", "derive", "contract", "validate")
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
    for name in _LOADING_MODULES:  # reading, derivations and rules: any edit re-validates
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


_MISSING: Any = object()


@dataclasses.dataclass(frozen=True)
class _Slot:
    """Where one result lives on disk; ``get`` is :data:`_MISSING` until ``put``."""

    path: Path
    limit: float

    def get(self) -> Any:
        try:
            with open(self.path, "rb") as fh:
                value = pickle.load(fh)
            os.utime(self.path)  # last use, for pruning
            return value
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return _MISSING

    def put(self, value: Any) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            return
        prune(self.path.parents[1], max_bytes=self.limit)


def _slot(dataset: Any, name: str, params: Mapping[str, Any]) -> _Slot | None:
    """The cache slot of a call, or None when it is not remembered (see :func:`memo`).

    The key is the dataset's file fingerprint, its restriction (``Dataset.restrict``:
    a restricted dataset never shares results with the whole one), its ``as_of`` and
    ``churn_gap`` (the default of every churn-based call), the call's name and
    arguments and the package's code.
    """
    root = _cache_dir()
    meta = getattr(dataset, "meta", None) or {}
    fp = meta.get("fingerprint")
    scope = meta.get("restriction")
    if root is None or fp is None or not _plain(dict(params)) or not _plain(scope):
        return None
    limit = _max_bytes()  # a bad INSIGHTS_CACHE_MAX_MB fails before the work, not after it
    h = hashlib.sha256()
    text = json.dumps(dict(params), sort_keys=True, default=repr)
    where = json.dumps(scope, sort_keys=True, default=repr)
    gap = str(getattr(dataset, "churn_gap", None))
    for part in (fp, where, str(dataset.as_of), gap, name, text, _code_hash()):
        h.update(part.encode())
        h.update(b"\0")
    return _Slot(root / "results" / f"{h.hexdigest()}.pkl", limit)


def memo(dataset: Any, name: str, params: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``, remembered on disk for a dataset loaded from files.

    Computed afresh (and not stored) when the dataset has no file fingerprint (frames
    built in memory), an argument or the dataset's restriction is not plain data
    (numbers, strings, lists, dicts), or the cache is off. The stored value is
    pickled (the cache directory is the user's own); a stored value that cannot be
    read is recomputed.

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> ds = ins.frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01")
    >>> memo(ds, "answer", {"x": 1}, lambda: 42)  # in-memory data: just computed
    42
    """
    slot = _slot(dataset, name, params)
    if slot is None:
        return compute()
    value = slot.get()
    if value is _MISSING:
        value = compute()
        slot.put(value)
    return value  # type: ignore[no-any-return]


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
    """Decorate ``func(dataset, ...)`` so that its results go through :func:`memo`.

    For the heavy analyses a report calls from several chapters and in both
    languages. Every argument but the dataset is part of the key, defaults
    included (see :func:`memo` for when nothing is remembered).

    The wrapper is generated with ``func``'s own signature, so a call that does not
    fit it (a misspelt keyword, a missing argument) fails at the user's call, before
    any key is hashed, exactly as ``func`` itself would: the traceback holds the
    caller's frame only. ``func`` is called straight from the wrapper, so its own
    argument errors come from its own frame with no cache machinery between; the
    wrapper's one frame is named after ``func``, shows its line
    (``<remembered module.func>``) and sets ``__tracebackhide__`` so pytest and
    IPython leave it out. The wrapper lives in ``func``'s module namespace
    (``__globals__``), so doctest and ``inspect`` treat it as ``func``.

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> @remembered
    ... def rows(dataset, /, *, limit: int = 10):
    ...     return min(limit, 1)
    >>> ds = ins.frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01")
    >>> rows(ds, limit=5)
    1
    >>> rows(ds, limt=5)
    Traceback (most recent call last):
    ...
    TypeError: rows() got an unexpected keyword argument 'limt'
    """
    return _generate(func)


def _generate(func: Callable[..., T]) -> Callable[..., T]:
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if not params or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(
            f"@remembered needs the dataset as the first positional parameter of {func.__name__}"
        )
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        raise TypeError(f"@remembered cannot key *args of {func.__name__}; make them keywords")
    reserved = {
        "_remembered_func",
        "_remembered_slot",
        "_remembered_missing",
        "_remembered_defaults",
    }
    if reserved & set(sig.parameters):
        raise TypeError(f"{func.__name__}: parameter names {sorted(reserved)} are reserved")
    heads: list[str] = []
    calls: list[str] = []
    keys: list[str] = []
    extra = ""
    star = False
    for i, p in enumerate(params):
        default = (
            "" if p.default is inspect.Parameter.empty else f"=_remembered_defaults[{p.name!r}]"
        )
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            heads.append(p.name + default)
            calls.append(p.name)
            if i + 1 == len(params) or params[i + 1].kind is not inspect.Parameter.POSITIONAL_ONLY:
                heads.append("/")
        elif p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            heads.append(p.name + default)
            calls.append(p.name if i == 0 else f"{p.name}={p.name}")
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            if not star:
                heads.append("*")
                star = True
            heads.append(p.name + default)
            calls.append(f"{p.name}={p.name}")
        else:  # VAR_KEYWORD
            heads.append(f"**{p.name}")
            calls.append(f"**{p.name}")
            extra = f", **{p.name}"
        if i > 0 and p.kind is not inspect.Parameter.VAR_KEYWORD:
            keys.append(f"{p.name!r}: {p.name}")
    name = func.__name__
    filename = f"<remembered {func.__module__}.{func.__qualname__}>"
    source = (
        "def _remembered_make(_remembered_func, _remembered_slot, _remembered_missing, _remembered_defaults):\n"
        f"    def {name}({', '.join(heads)}):\n"
        "        __tracebackhide__ = True  # pytest and IPython leave this frame out\n"
        f"        slot = _remembered_slot({params[0].name}, {{{', '.join(keys)}{extra}}})\n"
        "        value = _remembered_missing if slot is None else slot.get()\n"
        "        if value is _remembered_missing:\n"
        f"            value = _remembered_func({', '.join(calls)})\n"
        "            if slot is not None:\n"
        "                slot.put(value)\n"
        "        return value\n"
        f"    return {name}\n"
    )
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)
    key = f"{func.__module__}.{func.__qualname__}"
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    inner = namespace["_remembered_make"](
        func, lambda dataset, arguments: _slot(dataset, key, arguments), _MISSING, defaults
    )
    code = inner.__code__.replace(co_qualname=func.__qualname__)
    # func's module namespace: doctest, pickle and inspect see the wrapper as func itself
    wrapper = types.FunctionType(
        code, func.__globals__, name, inner.__defaults__, inner.__closure__
    )
    wrapper.__kwdefaults__ = inner.__kwdefaults__
    functools.update_wrapper(wrapper, func)
    return wrapper  # type: ignore[return-value]
