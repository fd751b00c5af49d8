"""Remember work done on a dataset directory: its validation, and results of heavy calls.

Validating every rule of the contract scans every table (about 2 s at 200k users,
10 s at 1M); a report run loads the same directory many times. After a clean
validation, the findings are stored under a fingerprint of the directory: for each
file its path, size and a SHA-256 hash of its whole content (about 0.1 s for the
67 MB of a 200k-user dataset), plus the loading options, the contract and the
package version and the code that reads, derives and checks the tables
(``_read``, ``_parse``, ``_config``, ``derive``, ``contract``, ``validate``). Any
change to a file's content, an option or that code gives another fingerprint, so the
data are validated again; the modification time plays no part, so an edit that keeps
a file's size and restores its modification time is still seen. Failed validations
are never stored.

Results of heavy, deterministic calls (the KPI scorecard, the calibration table,
the chapter analyses) are remembered the same way by :func:`memo`: under the
dataset's fingerprint, its ``as_of`` and ``churn_gap``, the call's name and
arguments, and a hash of the package's own source (so editing the code recomputes).
A report renders nine chapters in two languages, each in its own kernel; without
this, each would recompute them.

What is stored, and what is read back
-------------------------------------
Nothing is stored as serialised Python objects (whose loader runs code named by the
data): reading an entry never runs code it names. One entry is one file:
``insights-cache/2``, a line with the SHA-256 of the rest and its lengths, a JSON
header, then one Arrow IPC stream per frame (:func:`_pack`). The JSON holds
``None``, booleans, integers, floats (non-finite ones tagged), strings, lists,
tuples, string-keyed dicts, bytes, dates, datetimes (naive or a fixed offset),
timedeltas, NumPy scalars (booleans and numbers), Polars frames and series (as a
reference to their Arrow stream), and dataclasses of this package (by their
``module:qualname``, looked up among modules already imported, never imported by
name). A result holding anything else (a NumPy array, an object column, a lazy
frame, a foreign class) is computed on every call and not stored: there is no
fallback to object serialisation. One file per entry, rather than a JSON sidecar
beside a data file, so that a store is one atomic replace and a reader never pairs
the metadata of one write with the frames of another.

An entry is verified before anything in it is parsed: a wrong magic line (a foreign
file, a serialised Python object renamed to an entry's name), a hash mismatch
(flipped bytes), a truncated file or one that does not decode gives one
:class:`CacheWarning` line, the entry is deleted and the result is computed again
and stored afresh; it never raises. The hash guards against damage, not against
someone who can write the directory: that is what the permissions are for.

The cache lives in ``$INSIGHTS_CACHE_DIR`` (default ``~/.cache/insights``);
``INSIGHTS_CACHE_DIR=off`` disables it. On POSIX a directory it creates is 0700, its
``results`` and ``validated`` folders are made 0700 (tightened if an older version
left them open) and every file is written 0600, whatever the umask; a folder that
is not a directory owned by the user is not used at all (nothing is read or
written). The entries hold results before small-group suppression (numbers about a
handful of users, examples of bad values): that is acceptable only because the
cache is private to the user who made it; never point ``INSIGHTS_CACHE_DIR`` at a
shared folder. It stays small: after each store, entries unused for 30 days go,
then the least recently used ones until the directory holds at most
``$INSIGHTS_CACHE_MAX_MB`` (default 512) megabytes (:func:`prune`); the files older
versions left (serialised objects, JSON findings) are deleted on the way.

The store is written here rather than taken from a library: ``joblib.Memory``,
``diskcache`` and ``cachier`` all store results as serialised Python objects, whose
loading runs code (``diskcache`` adds an SQLite index of its own), and none stores
Arrow frames with JSON metadata and verifies an entry before reading it. What is
left is a flat folder of self-verifying files replaced atomically, in this module.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import importlib
import inspect
import io
import json
import linecache
import math
import os
import secrets
import stat
import sys
import types
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from insights.data.quality import QualityEntry

__all__ = [
    "CacheWarning",
    "fingerprint",
    "load_findings",
    "store_findings",
    "memo",
    "remembered",
    "prune",
    "load_intermediate",
    "store_intermediate",
]

T = TypeVar("T")

#: The modules whose code decides what a directory loads as and what validation finds.
_LOADING_MODULES = ("_read", "_parse", "_config", "derive", "contract", "validate")
_MAX_AGE_DAYS = 30
_DEFAULT_MAX_MB = 512.0
_MAGIC = b"insights-cache/2\n"
_SUFFIX = ".entry"
#: Large intermediate frames (:func:`store_intermediate`): Parquet files named by their SHA-256.
_PARQUET = ".parquet"
#: Files older versions wrote (``results/*.pkl``, ``validated/*.json``): deleted by :func:`prune`.
_LEGACY = {"results": ".pkl", "validated": ".json"}
_STALE_TMP_SECONDS = 86_400.0
_MAX_DEPTH = 64
_POSIX = os.name == "posix"


class CacheWarning(UserWarning):
    """A cache entry was damaged or foreign: it was deleted and the result computed again."""


class _Damaged(Exception):
    """An entry that fails verification or decoding (its text is the reason)."""


class _Unstorable(Exception):
    """A value the entry format does not hold: computed on each call, never stored."""


def _cache_dir() -> Path | None:
    value = os.environ.get("INSIGHTS_CACHE_DIR", "")
    if value.lower() in ("off", "0", "none"):
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "insights"


# --- fingerprints --------------------------------------------------------------------------


def _file_parts(path: Path) -> list[str]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    parts = []
    for f in files:
        with open(f, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        parts.append(f"{f.resolve()}|{size}|{digest}")
    return parts


def fingerprint(directory: Path, files: dict[str, Path], options: dict[str, Any]) -> str:
    """A key that changes whenever a table file's content, ``dataset.yaml`` or an option changes.

    Keyed on content (a SHA-256 of every byte of every file), not on sizes and
    modification times.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "users.csv").write_text("user_id\\n1\\n")
    >>> before = fingerprint(d, {"users": d / "users.csv"}, {})
    >>> st = (d / "users.csv").stat()
    >>> _ = (d / "users.csv").write_text("user_id\\n2\\n")  # same size
    >>> os.utime(d / "users.csv", ns=(st.st_atime_ns, st.st_mtime_ns))  # same time
    >>> fingerprint(d, {"users": d / "users.csv"}, {}) == before
    False
    """
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


# --- private folders and files ---------------------------------------------------------------


def _area(sub: str, *, create: bool) -> Path | None:
    """The cache's ``sub`` folder if it is a private directory of this user, else None.

    With ``create``, the cache root (0700 when made here) and the folder are made.
    An existing folder of this user that others can enter (an older version made it
    0755) is tightened to 0700; a symlink, a file or another user's folder is never used.
    """
    root = _cache_dir()
    if root is None:
        return None
    path = root / sub
    try:
        if create:
            if not root.is_dir():
                root.mkdir(parents=True, exist_ok=True)
                if _POSIX:
                    os.chmod(root, 0o700)  # mkdir's mode is subject to the umask
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            return None
        if _POSIX:
            if st.st_uid != os.geteuid():
                return None
            if stat.S_IMODE(st.st_mode) != 0o700:
                os.chmod(path, 0o700)
    except OSError:
        return None
    return path


def _write_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` as a 0600 file, atomically (a temporary name, then a replace)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags | getattr(os, "O_BINARY", 0), 0o600)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            if _POSIX:
                os.fchmod(fh.fileno(), 0o600)  # exactly 0600, whatever the umask
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        return False
    return True


def _discard(path: Path, reason: str) -> None:
    """Delete a damaged entry and say so in one line, located at the entry itself.

    ``warn_explicit`` with the entry's path as the location: the line names the file
    that was dropped, with no source line under it (``warnings.warn`` would point at
    whichever caller's frame, inside the CLI's framework or a notebook's kernel).
    """
    with contextlib.suppress(OSError):
        os.remove(path)
    warnings.warn_explicit(
        f"insights cache: discarded a damaged entry ({reason}); computing it again",
        CacheWarning,
        filename=str(path),
        lineno=0,
    )


def _read_entry(path: Path) -> Any:
    """The value stored at ``path``, or :data:`_MISSING` (absent; damaged: deleted, warned)."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # a link, a FIFO
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return _MISSING
    except OSError as exc:  # a symlink planted under the entry's name, an unreadable file
        _discard(path, f"cannot be opened: {exc.strerror}")
        return _MISSING
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or (_POSIX and st.st_uid != os.geteuid()):
                raise _Damaged("not a regular file of this user")
            if st.st_size > _largest():
                raise _Damaged(f"larger than the cache may hold ({st.st_size:,} bytes)")
            data = fh.read()
        value = _unpack(data)
    except _Damaged as exc:
        _discard(path, str(exc))
        return _MISSING
    except (Exception, pl.exceptions.PanicException) as exc:  # whatever the bytes: never raises
        _discard(path, f"undecodable: {type(exc).__name__}")
        return _MISSING
    with contextlib.suppress(OSError):
        os.utime(path)  # last use, for pruning
    return value


# --- the entry format: JSON with Arrow IPC streams, verified by a SHA-256 ----------------------


def _pack(value: Any) -> bytes:
    """The bytes of an entry holding ``value``; raises :class:`_Unstorable` for other types.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"x": [1.5, None]})
    >>> data = _pack((frame, ["note"], {"n": float("nan")}))
    >>> data.splitlines()[0]
    b'insights-cache/2'
    >>> back = _unpack(data)
    >>> back[0].equals(frame), back[1], back[2]
    (True, ['note'], {'n': nan})
    >>> _pack(object())
    Traceback (most recent call last):
    ...
    insights.data._cache._Unstorable: object
    """
    blobs: list[bytes] = []
    try:
        tree = _encode(value, blobs, 0)
    except RecursionError:
        raise _Unstorable("nested too deeply") from None
    header = json.dumps(
        {"value": tree, "blobs": [len(b) for b in blobs]},
        allow_nan=False,
        ensure_ascii=True,
        separators=(",", ":"),
    ).encode()
    h = hashlib.sha256(header)
    for blob in blobs:
        h.update(blob)
    body_len = len(header) + sum(len(b) for b in blobs)
    line = f"{h.hexdigest()} {len(header)} {body_len}\n".encode()
    return b"".join([_MAGIC, line, header, *blobs])


def _unpack(data: bytes) -> Any:
    """The value of an entry's bytes, after checking its magic, lengths and hash."""
    if not data.startswith(_MAGIC):
        raise _Damaged("not an insights cache entry")
    view = memoryview(data)
    end = data.find(b"\n", len(_MAGIC), len(_MAGIC) + 128)
    try:
        digest, header_text, body_text = bytes(view[len(_MAGIC) : end]).split(b" ")
        header_len, body_len = int(header_text), int(body_text)
    except ValueError:
        raise _Damaged("unreadable header line") from None
    body = view[end + 1 :]
    if len(body) != body_len:
        raise _Damaged(f"truncated or extended: {len(body)} bytes, {body_len} expected")
    if hashlib.sha256(body).hexdigest().encode() != digest:
        raise _Damaged("content hash mismatch")
    header = json.loads(bytes(body[:header_len]))
    sizes = header["blobs"]
    if not isinstance(sizes, list) or sum(sizes) != body_len - header_len:
        raise _Damaged("inconsistent lengths")
    blobs, start = [], header_len
    for size in sizes:
        blobs.append(body[start : start + size])
        start += size
    return _decode(header["value"], blobs, 0)


def _frame_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    try:
        frame.write_ipc(buffer, compression="lz4")
    except Exception as exc:  # an Object column, an extension type Arrow cannot hold
        raise _Unstorable(f"frame: {exc}") from None
    return buffer.getvalue()


def _encode(value: Any, blobs: list[bytes], depth: int) -> Any:
    """The JSON tree of ``value``, appending frames' Arrow streams to ``blobs``.

    Exact types only (``type(v) is float``, not ``isinstance``): a subclass would
    come back as its base class, so it is not stored.
    """
    if depth > _MAX_DEPTH:
        raise _Unstorable("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, str, int):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if kind is list:
        return [_encode(v, blobs, depth + 1) for v in value]
    if kind is tuple:
        return {"$": "tuple", "v": [_encode(v, blobs, depth + 1) for v in value]}
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise _Unstorable("dict with keys that are not strings")
        return {"$": "dict", "v": {k: _encode(v, blobs, depth + 1) for k, v in value.items()}}
    if kind is bytes:
        return {"$": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if kind is pl.DataFrame:
        blobs.append(_frame_bytes(value))
        return {"$": "frame", "v": len(blobs) - 1}
    if kind is pl.Series:
        blobs.append(_frame_bytes(value.to_frame()))
        return {"$": "series", "v": len(blobs) - 1}
    if kind is dt.datetime:
        if value.tzinfo is not None and type(value.tzinfo) is not dt.timezone:
            raise _Unstorable("datetime with a named time zone")
        return {"$": "datetime", "v": value.isoformat()}
    if kind is dt.date:
        return {"$": "date", "v": value.isoformat()}
    if kind is dt.timedelta:
        return {"$": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
        return {"$": "numpy", "v": [value.dtype.str, _encode(value.item(), blobs, depth + 1)]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        module = kind.__module__
        fields = dataclasses.fields(value)
        if not (module == "insights" or module.startswith("insights.")):
            raise _Unstorable(f"{module}.{kind.__qualname__}: not a class of this package")
        if not all(f.init for f in fields) or "<locals>" in kind.__qualname__:
            raise _Unstorable(f"{kind.__qualname__}: cannot be rebuilt from its fields")
        return {
            "$": "dataclass",
            "type": f"{module}:{kind.__qualname__}",
            "v": {f.name: _encode(getattr(value, f.name), blobs, depth + 1) for f in fields},
        }
    raise _Unstorable(kind.__qualname__)


def _dataclass_type(name: str) -> type:
    """The class ``module:qualname`` of this package, from modules already imported only."""
    module, _, qualname = name.partition(":")
    if not (module == "insights" or module.startswith("insights.")):
        raise _Damaged(f"names a foreign type {name!r}")
    found: Any = sys.modules.get(module)  # never imported here: a name loads no code
    if found is None:
        raise _Damaged(f"names a type of a module not loaded {name!r}")
    for part in qualname.split("."):
        found = vars(found).get(part)  # no module __getattr__: nothing is loaded by name
        if found is None:
            raise _Damaged(f"names an unknown type {name!r}")
    if not (
        isinstance(found, type)
        and dataclasses.is_dataclass(found)
        and found.__module__ == module
        and found.__qualname__ == qualname
    ):
        raise _Damaged(f"names a type that is not a dataclass {name!r}")
    return found


def _decode(node: Any, blobs: list[memoryview], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise _Damaged("nested too deeply")
    if node is None or type(node) in (bool, str, int, float):
        return node
    if type(node) is list:
        return [_decode(v, blobs, depth + 1) for v in node]
    if type(node) is not dict:
        raise _Damaged("unknown node")
    tag, payload = node.get("$"), node.get("v")
    if tag == "float" and payload in ("nan", "inf", "-inf"):
        return float(payload)
    if tag == "tuple" and type(payload) is list:
        return tuple(_decode(v, blobs, depth + 1) for v in payload)
    if tag == "dict" and type(payload) is dict:
        return {k: _decode(v, blobs, depth + 1) for k, v in payload.items()}
    if tag == "bytes" and type(payload) is str:
        return base64.b64decode(payload, validate=True)
    if tag in ("frame", "series") and type(payload) is int and 0 <= payload < len(blobs):
        frame = pl.read_ipc(io.BytesIO(blobs[payload]))
        return frame if tag == "frame" else frame.to_series()
    if tag == "datetime" and type(payload) is str:
        return dt.datetime.fromisoformat(payload)
    if tag == "date" and type(payload) is str:
        return dt.date.fromisoformat(payload)
    if tag == "timedelta" and type(payload) is list and len(payload) == 3:
        return dt.timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
    if tag == "numpy" and type(payload) is list and len(payload) == 2:
        import numpy

        dtype = numpy.dtype(str(payload[0]))
        if dtype.kind not in "biuf":
            raise _Damaged("unexpected NumPy type")
        return dtype.type(_decode(payload[1], blobs, depth + 1))
    if tag == "dataclass" and type(payload) is dict:
        cls = _dataclass_type(str(node.get("type")))
        names = {f.name for f in dataclasses.fields(cls)}
        if set(payload) != names:
            raise _Damaged(f"fields do not match {cls.__qualname__}")
        return cls(**{k: _decode(v, blobs, depth + 1) for k, v in payload.items()})
    raise _Damaged(f"unknown tag {tag!r}")


# --- validation findings ---------------------------------------------------------------------


def load_findings(key: str) -> list[QualityEntry] | None:
    """The stored findings of a clean validation, or None when there are none."""
    area = _area("validated", create=False)
    if area is None:
        return None
    path = area / f"{key}{_SUFFIX}"
    value = _read_entry(path)
    if value is _MISSING:
        return None
    if not (isinstance(value, list) and all(type(e) is QualityEntry for e in value)):
        _discard(path, "not a list of findings")
        return None
    return value


def store_findings(key: str, entries: list[QualityEntry]) -> None:
    """Store the findings of a clean validation (best effort: a read-only home is fine)."""
    area = _area("validated", create=True)
    if area is None:
        return
    try:
        data = _pack(list(entries))
    except _Unstorable:
        return
    _write_private(area / f"{key}{_SUFFIX}", data)


# --- results of heavy calls ------------------------------------------------------------------


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
    """Where one result lives on disk (a file name under ``results``); ``get`` is
    :data:`_MISSING` until ``put``."""

    name: str
    limit: float

    def get(self) -> Any:
        area = _area("results", create=False)
        return _MISSING if area is None else _read_entry(area / self.name)

    def put(self, value: Any) -> None:
        try:
            data = _pack(value)
        except _Unstorable:
            return  # computed on every call: never stored as an object
        area = _area("results", create=True)
        if area is not None and _write_private(area / self.name, data):
            prune(area.parent, max_bytes=self.limit)


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
    return _Slot(f"{h.hexdigest()}{_SUFFIX}", limit)


def memo(dataset: Any, name: str, params: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``, remembered on disk for a dataset loaded from files.

    Computed afresh (and not stored) when the dataset has no file fingerprint (frames
    built in memory), an argument or the dataset's restriction is not plain data
    (numbers, strings, lists, dicts), the result is of a type the store does not hold
    (see the module's docstring: frames, plain data and this package's dataclasses;
    no object serialisation), or the cache is off. A stored value that is damaged is deleted
    with a :class:`CacheWarning` and recomputed.

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


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def store_intermediate(
    dataset: Any, name: str, params: Mapping[str, Any], frame: pl.LazyFrame
) -> bool:
    """Write a large intermediate frame to the results cache as Parquet; True when stored.

    For frames too large for an entry (the shared active days of
    ``insights.metrics.activity_days``: tens of millions of rows). The frame is
    written (streaming) to a Parquet file named by its SHA-256, and an ordinary
    entry under the call's key (:func:`memo`'s: the dataset's file fingerprint, its
    restriction, ``as_of``, ``name``, ``params`` and the package's code) records
    that name and hash. Nothing is stored when :func:`memo` would not store (cache
    off, a dataset built from frames in memory), nor when the file is larger than
    ``INSIGHTS_CACHE_MAX_MB``. The files count towards that cap and are pruned with
    the entries (:func:`prune`).

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> ds = ins.frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01")
    >>> store_intermediate(ds, "days", {}, pl.LazyFrame({"a": [1]}))  # in-memory data
    False
    """
    slot = _slot(dataset, name, params)
    area = None if slot is None else _area("results", create=True)
    if slot is None or area is None:
        return False
    tmp = area / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        frame.sink_parquet(tmp)
        if _POSIX:
            os.chmod(tmp, 0o600)
        if tmp.stat().st_size > slot.limit:  # larger than the whole cache: pruning would drop it
            os.remove(tmp)
            return False
        digest = _file_sha256(tmp)
        path = area / f"{digest}{_PARQUET}"
        os.replace(tmp, path)
    except Exception:  # a full disk, a frame Parquet cannot hold: computed again next time
        with contextlib.suppress(OSError):
            os.remove(tmp)
        return False
    slot.put({"file": path.name, "sha256": digest})
    return True


def load_intermediate(dataset: Any, name: str, params: Mapping[str, Any]) -> pl.LazyFrame | None:
    """The frame :func:`store_intermediate` wrote under this key, scanned lazily; None if absent.

    The file's SHA-256 is checked against its entry before it is scanned (a damaged
    or replaced file is deleted with a :class:`CacheWarning`, and None returned), and
    its modification time is touched (pruning is least recently used first).

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> ds = ins.frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01")
    >>> load_intermediate(ds, "days", {}) is None
    True
    """
    slot = _slot(dataset, name, params)
    area = None if slot is None else _area("results", create=False)
    if slot is None or area is None:
        return None
    meta = slot.get()
    if not isinstance(meta, dict):
        return None
    file, digest = str(meta.get("file", "")), str(meta.get("sha256", ""))
    if file != f"{digest}{_PARQUET}" or len(digest) != 64:
        return None
    path = area / file
    try:
        if _file_sha256(path) != digest:
            _discard(path, "an intermediate file does not match its hash")
            return None
        os.utime(path)
    except OSError:  # pruned meanwhile: computed again
        return None
    return pl.scan_parquet(path)


def _largest() -> float:
    """The size beyond which a file is not read at all: the cache's cap, at least its default
    (a lowered cap does not turn the entries already stored into damaged ones)."""
    default = _DEFAULT_MAX_MB * 1024 * 1024
    try:
        return max(_max_bytes(), default)
    except ValueError:
        return default


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
    Files older versions left (``results/*.pkl``, ``validated/*.json``) and
    temporary files of writes killed more than a day ago are deleted too; other
    files are left alone and never read. Best effort: files that vanish meanwhile
    (another process pruning) are skipped. Written here rather than taken from a
    cache library (e.g. ``diskcache``) because the store is a flat directory of
    files with atomic replaces; an eviction pass over it is this one function,
    where a library would bring an index database of its own.

    Examples
    --------
    >>> import tempfile, time
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "results").mkdir()
    >>> for i in range(3):
    ...     _ = (root / "results" / f"{i}.entry").write_bytes(b"x" * 100)
    ...     os.utime(root / "results" / f"{i}.entry", (time.time() - 10 + i,) * 2)
    >>> _ = (root / "results" / "old.pkl").write_bytes(b"x")  # left by an older version
    >>> prune(root, max_bytes=250)  # the oldest entry goes, and the old file
    2
    >>> sorted(p.name for p in (root / "results").iterdir())
    ['1.entry', '2.entry']
    """
    limit = _max_bytes() if max_bytes is None else max_bytes
    now = dt.datetime.now().timestamp()
    entries = []
    removed = 0
    for sub, legacy in _LEGACY.items():
        try:
            with os.scandir(root / sub) as it:
                for e in it:
                    if not e.is_file(follow_symlinks=False):
                        continue
                    st = e.stat(follow_symlinks=False)
                    stale_tmp = e.name.endswith(".tmp") and st.st_mtime < now - _STALE_TMP_SECONDS
                    if e.name.endswith(legacy) or stale_tmp:
                        with contextlib.suppress(OSError):
                            os.remove(e.path)
                            removed += 1
                    elif e.name.endswith(_SUFFIX) or (
                        sub == "results" and e.name.endswith(_PARQUET)
                    ):
                        entries.append((st.st_mtime, st.st_size, e.path))
        except OSError:
            continue
    cutoff = now - max_age_days * 86_400
    entries.sort()  # oldest first
    total = sum(size for _, size, _ in entries)
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
    # func's module namespace: doctest, serialisers and inspect see the wrapper as func itself
    wrapper = types.FunctionType(
        code, func.__globals__, name, inner.__defaults__, inner.__closure__
    )
    wrapper.__kwdefaults__ = inner.__kwdefaults__
    functools.update_wrapper(wrapper, func)
    return wrapper  # type: ignore[return-value]
