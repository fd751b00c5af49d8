"""Large simulated platforms written chunk by chunk, never all in memory.

The simulator draws a whole platform in memory (about 4 GB at 1M users). For the
L tier (10M users, about 300M events) :func:`simulate_chunked` simulates
independent chunks of at most ``chunk`` users (seeds ``seed, seed + 1, ...``) one
after the other and writes every event table as a directory of Parquet parts,
``views/part-00000.parquet`` ..., which ``load_dataset`` (and DuckDB or Spark)
read as one table. Ids stay unique: chunk ``i`` adds ``i * chunk`` to ``user_id``
and ``i * ORDER_ID_STRIDE`` to ``order_id``. ``spend`` is summed over chunks per
period and channel. The manifest sums row and arm counts and averages each
experiment's true effects over chunks weighted by users (every chunk draws the
same scenario, so they differ only by sampling).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from insights.simulator.scenario import Scenario, load_scenario
from insights.simulator.world import _TABLES, finish, generate

__all__ = ["simulate_chunked", "ORDER_ID_STRIDE"]

#: ``order_id`` offset between chunks (a chunk never has this many orders).
ORDER_ID_STRIDE = 1_000_000_000


def _merge_truth(parts: list[tuple[int, Any]]) -> Any:
    """Sum counts (ints), average effects (floats) weighted by chunk users, recursively."""
    first = parts[0][1]
    if isinstance(first, dict):
        return {k: _merge_truth([(w, p[k]) for w, p in parts if k in p]) for k in first}
    if isinstance(first, bool) or not isinstance(first, int | float):
        return first
    if isinstance(first, int):
        return sum(int(p) for _, p in parts)
    known = [(w, float(p)) for w, p in parts if p is not None]
    total = sum(w for w, _ in known)
    return round(sum(w * p for w, p in known) / total, 12) if total else None


def simulate_chunked(
    out: str | Path,
    *,
    users: int,
    chunk: int = 1_000_000,
    seed: int = 42,
    scenario: str | Path | Scenario | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Simulate ``users`` users in chunks of ``chunk`` and write tables as Parquet parts.

    Peak memory is that of one chunk. The directory is written atomically (a
    temporary sibling replaces ``out`` at the end). Same arguments give the same
    files.

    Parameters
    ----------
    out
        Directory to write.
    users
        Total number of users.
    chunk
        Users per chunk (the last chunk takes the remainder).
    seed
        Seed of chunk 0; chunk ``i`` uses ``seed + i``.
    scenario, progress
        As :func:`insights.simulator.simulate`.

    Returns
    -------
    dict
        The manifest: as ``simulate``'s, plus ``chunk``, ``chunks`` and ``chunk_seeds``.

    Examples
    --------
    >>> import tempfile
    >>> import insights as ins
    >>> d = tempfile.mkdtemp() + "/two"
    >>> m = simulate_chunked(d, users=600, chunk=300, seed=1)
    >>> m["rows"]["users"], m["chunks"]
    (600, 2)
    >>> ins.load_dataset(d).raw("users").select("user_id").unique().collect().shape[0]
    600
    """
    if users < 1 or chunk < 1:
        raise ValueError(f"users and chunk must be >= 1, got users={users}, chunk={chunk}")
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    say = progress or (lambda _msg: None)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    sizes = [min(chunk, users - start) for start in range(0, users, chunk)]
    manifests: list[dict] = []
    spends: list[pl.DataFrame] = []
    try:
        for i, n in enumerate(sizes):
            frames, manifest = generate(
                n,
                seed=seed + i,
                scenario=sc,
                progress=lambda s, i=i: say(f"chunk {i + 1}/{len(sizes)}: {s}"),  # type: ignore[misc]
            )
            say(f"chunk {i + 1}/{len(sizes)}: writing")
            for name in _TABLES:
                frame = frames.pop(name)
                shift = {"user_id": i * chunk, "order_id": i * ORDER_ID_STRIDE}
                frame = frame.with_columns(
                    pl.col(c) + k for c, k in shift.items() if c in frame.columns and k
                )
                if name == "spend":
                    spends.append(frame)
                    continue
                (tmp / name).mkdir(exist_ok=True)
                frame.write_parquet(
                    tmp / name / f"part-{i:05d}.parquet", compression="zstd", statistics=True
                )
                del frame
            manifests.append(manifest)
        keys = [c for c in spends[0].columns if c != "amount"]
        spend = pl.concat(spends).group_by(keys, maintain_order=True).agg(pl.col("amount").sum())
        spend.write_parquet(tmp / "spend.parquet", compression="zstd", statistics=True)
        first = manifests[0]
        manifest = {
            **first,
            "seed": seed,
            "users": users,
            "chunk": chunk,
            "chunks": len(sizes),
            "chunk_seeds": [m["seed"] for m in manifests],
            "rows": {
                name: (spend.height if name == "spend" else sum(m["rows"][name] for m in manifests))
                for name in _TABLES
            },
            "experiments": _merge_truth([(m["users"], m["experiments"]) for m in manifests]),
        }
        finish(tmp, out, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
