"""Remember that a dataset directory passed validation, so it is checked once per change.

Validating every rule of the contract scans every table (about 2 s at 200k users,
10 s at 1M); a report run loads the same directory many times. After a clean
validation, the findings are stored under a fingerprint of the directory: for each
file its name, size, modification time and a hash of its last 64 KiB (the Parquet
footer with its statistics), plus the loading options, the contract and the
package version. Any change to a file, an option or the contract gives another
fingerprint, so the data are validated again. Failed validations are never stored.

The cache lives in ``$INSIGHTS_CACHE_DIR`` (default ``~/.cache/insights``);
``INSIGHTS_CACHE_DIR=off`` disables it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any

from insights.data.quality import QualityEntry

__all__ = ["fingerprint", "load_findings", "store_findings"]

_TAIL = 65_536


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
