"""The one child-process harness of the benchmarks.

Every benchmark case runs in a fresh process, so that its time, CPU and memory are its
own and not those of the cases before it:

- :func:`run` starts a command in its own session and waits for it with ``os.wait4``,
  which gives that child's own resource usage: wall seconds, CPU seconds (user + system,
  including the processes it started and waited for, such as Spark's JVM or the report's
  kernels) and peak RSS (the largest of the child and those processes). The 1-minute load
  average before and after is recorded next to them (the machine is shared: read the
  timings next to it). Children run with the results cache off unless told otherwise, so
  the cache never answers for the engine. A time limit stops the whole process group; an
  address-space limit turns an out-of-memory into a result instead of a crash.
- A script's own cases run as ``script --one ARGS`` (:func:`case_command`); the script's
  ``__main__`` hands such a call to :func:`serve_child`, which runs the case and prints
  its JSON line; :func:`run` merges that line into the measurements.
- :func:`open_dataset` loads a simulated directory on Polars or DuckDB the same way in
  every script (single Parquet files or a chunked simulation's directories of parts),
  :func:`ensure_simulated` simulates a tier once, and :func:`write_results` writes a
  benchmark's ``results/<name>.json`` and ``<name>.md`` (tables by :func:`markdown_table`,
  stamped by :func:`machine`).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TABLES = ("users", "orders", "views", "interactions", "community", "experiments", "spend")
ENGINES = ("polars", "duckdb")
#: The default environment change of a child: measure the work, not the results cache.
CACHE_OFF = {"INSIGHTS_CACHE_DIR": "off"}
#: Lines of output kept from a failed child.
TAIL_LINES = 12


def run(
    cmd: Sequence[str | Path],
    *,
    env: Mapping[str, str] = CACHE_OFF,
    timeout: float | None = None,
    memory_limit_gb: float | None = None,
    child_json: bool = False,
) -> dict[str, Any]:
    """Run ``cmd`` in a fresh process and measure it.

    Parameters
    ----------
    cmd
        The command (``[sys.executable, script, "--one", ...]`` from :func:`case_command`,
        or any program such as the ``insights`` CLI).
    env
        Variables set for the child on top of this process's environment (default: the
        results cache off).
    timeout
        Seconds after which the child's whole process group is killed (recorded as
        ``timed_out``, like an out-of-memory: a result, not a crash).
    memory_limit_gb
        ``RLIMIT_AS`` of the child, so that a case that would exhaust the machine fails
        with a MemoryError instead.
    child_json
        The child prints its result as one JSON object on its last line of output
        (:func:`serve_child`); merge it into the returned dict when the child succeeds.

    Returns
    -------
    dict
        ``process_seconds`` (wall), ``process_cpu_seconds`` (user + system of the child and
        of the processes it waited for), ``peak_mb`` (peak RSS of the child or of any of
        those processes), ``exit`` (the exit code, negative for a signal),
        ``loadavg_before`` and ``loadavg_after`` (1-minute load average); when the child
        fails, ``tail`` (its last lines of output) and, when it was stopped, ``timed_out``.
    """
    limit = None if memory_limit_gb is None else int(memory_limit_gb * 2**30)

    def limit_memory() -> None:  # runs in the child between fork and exec
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd],
            stdout=out,
            stderr=err,
            env={**os.environ, **env},
            start_new_session=True,  # its own process group: a timeout stops all of it, by id
            preexec_fn=limit_memory if limit is not None else None,
        )
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, stop) if timeout is not None else None
        if timer is not None:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own usage (RUSAGE_BOTH)
        wall = time.perf_counter() - start
        if timer is not None:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        load_after = os.getloadavg()[0]
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    res: dict[str, Any] = {
        "process_seconds": round(wall, 1),
        "process_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_mb": round(usage.ru_maxrss / 1024),  # kB on Linux
        "exit": proc.returncode,
        "loadavg_before": round(load_before, 2),
        "loadavg_after": round(load_after, 2),
    }
    if proc.returncode == 0:
        if child_json:
            lines = stdout.strip().splitlines()
            try:
                res.update(json.loads(lines[-1]))
            except (IndexError, json.JSONDecodeError):
                res["exit"] = 1
                res["tail"] = _tail(stdout + stderr) or "the child printed no JSON result line"
        return res
    res["tail"] = _tail(stdout + stderr)
    if stopped.is_set():
        res["timed_out"] = f"timed out after {timeout:g} s"
    return res


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-TAIL_LINES:])[-1500:]


def case_command(script: str | Path, *args: object) -> list[str]:
    """The command that runs one of ``script``'s own cases in a fresh interpreter."""
    return [sys.executable, str(script), "--one", *(str(a) for a in args)]


def serve_child(case: Callable[..., dict[str, Any]], argv: Sequence[str] | None = None) -> bool:
    """Child side of :func:`case_command`: run ``case(*ARGS)`` and print its JSON line.

    Returns False (and does nothing) when the script was not called as ``--one ARGS``, so a
    script ends with ``if __name__ == "__main__" and not serve_child(case): main()``.
    """
    argv = sys.argv if argv is None else argv
    if len(argv) < 2 or argv[1] != "--one":
        return False
    print(json.dumps(rounded(case(*argv[2:]))), flush=True)
    return True


def rounded(values: Mapping[str, Any], digits: int = 3) -> dict[str, Any]:
    """``values`` with every float rounded to ``digits`` (phase seconds of a case)."""
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in values.items()}


# --------------------------------------------------------------------------- data


def parquet_source(data: Path, table: str) -> str:
    """``<table>.parquet``, or the glob of a chunked simulation's ``<table>/*.parquet``."""
    single = data / f"{table}.parquet"
    return str(single) if single.exists() else str(data / table / "*.parquet")


def has_table(data: Path, table: str) -> bool:
    return (data / f"{table}.parquet").exists() or (data / table).is_dir()


def open_dataset(
    data: str | Path, engine: str, *, as_of: str | None = None, tables: Sequence[str] = TABLES
) -> Any:
    """The simulated dataset in ``data`` on ``engine`` (``validate=False``).

    ``polars``: ``load_dataset(data)`` (lazy Parquet scans). ``duckdb``: one
    ``con.read_parquet`` per table present, then ``load_dataset(**relations)``. ``as_of``
    defaults to the manifest's.
    """
    from insights.data import load_dataset

    data = Path(data)
    if engine == "polars":
        return load_dataset(data, as_of=as_of, validate=False)
    if engine != "duckdb":
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    import duckdb

    as_of = as_of or json.loads((data / "manifest.json").read_text())["as_of"]
    con = duckdb.connect()
    rels: dict[str, Any] = {
        t: con.read_parquet(parquet_source(data, t)) for t in tables if has_table(data, t)
    }
    return load_dataset(as_of=as_of, validate=False, **rels)


def ensure_simulated(out: Path, *, users: int, seed: int) -> Path:
    """Simulate ``users`` users into ``out`` with the CLI unless its manifest is already there.

    From 1M users the simulator writes chunk by chunk (tables as directories of parts).
    """
    if not (out / "manifest.json").exists():
        cmd = [sys.executable, "-m", "insights.cli", "simulate", "--out", str(out)]
        subprocess.run([*cmd, "--users", str(users), "--seed", str(seed)], check=True)
    return out


# --------------------------------------------------------------------------- results


def machine(**extra: Any) -> dict[str, Any]:
    """Where and when: machine (cores, RAM), Python, date; plus ``extra``."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {ram:.0f} GB RAM",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        **extra,
    }


def markdown_table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """The lines of a Markdown table: a header, its rule, one line per row of cells."""
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def loadavg_cell(res: Mapping[str, Any]) -> str:
    """``before/after`` 1-minute load average of a :func:`run` result."""
    return f"{res['loadavg_before']}/{res['loadavg_after']}"


def write_results(out: Path, name: str, markdown: str, record: Any = None) -> None:
    """Write ``out/<name>.md`` and, when given, ``out/<name>.json`` (the rows behind it)."""
    out.mkdir(parents=True, exist_ok=True)
    if record is not None:
        (out / f"{name}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    (out / f"{name}.md").write_text(markdown, encoding="utf-8")
