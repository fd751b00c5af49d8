"""The report path against a Spark warehouse: Parquet tables in a Hive metastore, as on an edge node.

What a cluster's edge node has, reproduced locally: a Hive metastore *service* (the
``HiveMetaStore`` server shipped in pyspark's jars, over an embedded Derby database in a
temporary folder) and a ``spark-defaults.conf`` in ``$SPARK_CONF_DIR`` that points every
Spark session at it (``spark.sql.catalogImplementation hive``,
``spark.hadoop.hive.metastore.uris thrift://...``, ``spark.sql.warehouse.dir``). The
contract tables of a small simulated dataset are written with ``saveAsTable`` as Parquet
files under the warehouse folder and registered in the metastore as ``dw.users``, ...

Every process that runs here is a separate client of that catalog, as on an edge node:
the loader, a notebook-like probe (the KPI scorecard and the curves by segment, counting
the Spark jobs and the rows that reach Python), and ``insights report spark:dw`` (its own
process plus the chapter's kernel, which starts its own Spark driver from the same
``spark-defaults.conf``). An embedded Derby metastore without the
service would allow one process at a time (the report's process and its kernel are two),
and Spark's in-memory catalog is not shared between processes at all.

The numbers are compared with the same dataset read from its Parquet files on Polars
(the independent engine). Skipped with a reason when pyspark or Java is missing; CI runs
it (``spark`` and ``slow`` markers are part of ``make test``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

QUARTER = "2024Q4"

#: The loader: every ``<table>.parquet`` of a dataset directory saved as ``dw.<table>``.
LOAD = """
import sys
from pathlib import Path
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
spark.sql("CREATE DATABASE IF NOT EXISTS dw")
for path in sorted(Path(sys.argv[1]).glob("*.parquet")):
    frame = spark.read.parquet(str(path))
    frame.write.format("parquet").mode("overwrite").saveAsTable(f"dw.{path.stem}")
print(spark.conf.get("spark.sql.catalogImplementation"))
"""

#: The probe, what a notebook on the edge node runs: the KPI scorecard and the curves by
#: segment on ``spark:dw``, written to ``argv[2]``, counting what Spark runs (the jobs and
#: tasks of one job group) and the rows of every collect that reaches Python.
PROBE = """
import json
import sys
from pathlib import Path
from pyspark.sql import SparkSession
import insights as ins

spark = SparkSession.builder.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
collected = []
kind = type(spark.range(1))
for name in ("toArrow", "toPandas", "collect"):
    def counted(self, *args, _original=getattr(kind, name), **kwargs):
        out = _original(self, *args, **kwargs)
        collected.append(int(getattr(out, "num_rows", None) or len(out)))
        return out
    setattr(kind, name, counted)
sc = spark.sparkContext
sc.setJobGroup("insights-probe", "kpi scorecard and curves on spark:dw")
ds = ins.load_dataset("spark:dw")
card, _ = ins.kpi_scorecard(ds, quarter=sys.argv[1])
curves = ins.retention_curves(ds, by="city_tier")
tracker = sc.statusTracker()
jobs = tracker.getJobIdsForGroup("insights-probe")
stages = [s for j in jobs for s in tracker.getJobInfo(j).stageIds]
tasks = sum(tracker.getStageInfo(s).numTasks for s in stages if tracker.getStageInfo(s))
sc.setJobGroup("other", "counting")
events = sum(spark.table(f"dw.{t}").count() for t in ("views", "interactions", "orders"))
users = spark.table("dw.users").count()
card.write_parquet(Path(sys.argv[2]) / "scorecard.parquet")
curves.table.write_parquet(Path(sys.argv[2]) / "curves.parquet")
print(json.dumps({"jobs": len(jobs), "tasks": tasks, "collected": collected,
                  "events": events, "users": users, "as_of": str(ds.as_of),
                  "catalog": spark.conf.get("spark.sql.catalogImplementation")}))
"""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the metastore service exited:\n{log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise RuntimeError(f"the metastore service did not listen within {timeout:g} s")


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 900) -> str:
    """Run a client process; its stdout (the test fails with its stderr tail otherwise)."""
    done = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"{args[:3]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, small_sim_dir: Path) -> Any:
    """A Hive metastore service on a free port, ``spark-defaults.conf`` and the ``dw`` tables.

    Yields the environment every client process runs with (``SPARK_CONF_DIR`` set) and the
    folder they run in; the service is stopped (by its process id) at the end.
    """
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import pyspark

    root = tmp_path_factory.mktemp("warehouse")
    port = _free_port()
    log = root / "metastore.log"
    jars = Path(pyspark.__file__).parent / "jars"
    # the Hive 2.3 metastore server of pyspark's jars, its Derby schema created on first use
    service = [
        str(_java()),
        "-Xmx512m",
        "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
        "-cp",
        f"{jars}/*",
        "org.apache.hadoop.hive.metastore.HiveMetaStore",
        "-p",
        str(port),
        "--hiveconf",
        f"javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "--hiveconf",
        "datanucleus.schema.autoCreateAll=true",
        "--hiveconf",
        "hive.metastore.schema.verification=false",
        "--hiveconf",
        f"hive.metastore.warehouse.dir={root / 'warehouse'}",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(service, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, proc, log, timeout=180)
        conf = root / "conf"
        conf.mkdir()
        (conf / "spark-defaults.conf").write_text(
            "\n".join(
                [
                    "spark.master local[2]",
                    "spark.driver.memory 1g",
                    "spark.sql.catalogImplementation hive",
                    f"spark.hadoop.hive.metastore.uris thrift://127.0.0.1:{port}",
                    f"spark.sql.warehouse.dir {root / 'warehouse'}",
                    "spark.sql.shuffle.partitions 2",
                    "spark.sql.session.timeZone UTC",
                    "spark.sql.execution.arrow.pyspark.enabled true",
                    "spark.ui.enabled false",
                    "spark.ui.showConsoleProgress false",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "SPARK_CONF_DIR": str(conf),
            "INSIGHTS_CACHE_DIR": "off",
            "INSIGHTS_PROGRESS": "off",
        }
        catalog = _run([sys.executable, "-c", LOAD, str(small_sim_dir)], env, root)
        assert catalog.strip().splitlines()[-1] == "hive"
        yield {"env": env, "cwd": root, "root": root}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _skip_reason() -> str | None:
    if shutil.which("insights", path=str(Path(sys.executable).parent)) is None:
        return "the insights command is not installed next to this Python"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark not installed (pip install 'pyspark>=4.0,<5')"
    if _java() is None:
        return "no Java runtime: install openjdk-17-jre-headless"
    return None


def _cli() -> str:
    return str(Path(sys.executable).parent / "insights")


def test_the_tables_live_as_parquet_files_under_the_warehouse(warehouse) -> None:
    users = warehouse["root"] / "warehouse" / "dw.db" / "users"
    assert users.is_dir() and any(users.glob("part-*.parquet"))


@pytest.fixture(scope="module")
def probe(warehouse) -> dict[str, Any]:
    """The probe's counts; its scorecard and curves are in ``warehouse["root"]``."""
    cmd = [sys.executable, "-c", PROBE, QUARTER, str(warehouse["root"])]
    return json.loads(_run(cmd, warehouse["env"], warehouse["cwd"]).splitlines()[-1])


def test_key_figures_from_the_warehouse_equal_polars(warehouse, probe, small_sim_dir) -> None:
    import insights as ins

    ds = ins.load_dataset(small_sim_dir)  # the same files, on Polars
    assert probe["as_of"].startswith(str(ds.as_of.date()))
    card, _ = ins.kpi_scorecard(ds, quarter=QUARTER)
    spark = pl.read_parquet(warehouse["root"] / "scorecard.parquet")
    key = ["metric", "segment", "quarter"]
    assert spark.height == card.height >= 20 and spark.columns == card.columns
    both = card.join(spark, on=key, how="full", coalesce=True, suffix="_spark")
    assert both.height == card.height
    for column in [c for c in card.columns if c not in key]:
        ours, theirs = both[column], both[f"{column}_spark"]
        if ours.dtype.is_float():
            gap = (ours - theirs).abs().max()
            assert gap is None or gap <= 1e-9, column
            assert ours.is_null().to_list() == theirs.is_null().to_list(), column
        else:
            assert ours.to_list() == theirs.to_list(), column
    # the retention curves by segment: same risk sets, survival within 1e-9
    polars = ins.retention_curves(ds, by="city_tier").table
    curves = pl.read_parquet(warehouse["root"] / "curves.parquet")
    joined = polars.join(curves, on=["segment", "t"], how="full", coalesce=True, suffix="_s")
    assert joined.height == polars.height == curves.height > 100
    assert (joined["survival"] - joined["survival_s"]).abs().max() <= 1e-9
    for column in ("at_risk", "events", "censored"):
        assert joined[column].to_list() == joined[f"{column}_s"].to_list()


def test_the_aggregates_are_computed_in_spark(probe) -> None:
    assert probe["catalog"] == "hive"
    # the scorecard and the curves ran as Spark jobs over the warehouse tables ...
    assert probe["jobs"] >= 5 and probe["tasks"] >= probe["jobs"]
    # ... and only aggregates came back: no collect is as large as the users table, and
    # all of them together are a small fraction of the events
    assert probe["collected"], "nothing was collected: the probe did not see the collects"
    assert max(probe["collected"]) < probe["users"] < probe["events"]
    assert sum(probe["collected"]) < probe["events"] / 10


def _report_text(html: Path) -> str:
    """The visible text of a rendered report, numbers included, without markup."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html.read_text(encoding="utf-8"), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def test_a_chapter_renders_from_the_warehouse_like_from_files(warehouse, small_sim_dir) -> None:
    args = ["--quarter", QUARTER, "--lang", "en", "--format", "html", "--backend", "builtin"]
    args += ["--chapters", "00"]
    out = warehouse["root"] / "reports"
    _run([_cli(), "report", "spark:dw", *args, "--out", str(out / "spark")], warehouse["env"],
         warehouse["cwd"])  # fmt: skip
    polars_env = {k: v for k, v in warehouse["env"].items() if k != "SPARK_CONF_DIR"}
    _run([_cli(), "report", str(small_sim_dir), *args, "--out", str(out / "polars")], polars_env,
         warehouse["cwd"])  # fmt: skip
    name = f"{QUARTER}/insights-{QUARTER}-en.html"
    spark, polars = _report_text(out / "spark" / name), _report_text(out / "polars" / name)
    assert len(polars) > 2_000
    assert spark == polars


def test_a_source_missing_from_an_in_memory_catalog_says_why(spark) -> None:
    from insights.data import load_dataset

    # the test session's own Spark session has Spark's in-memory catalog
    assert spark.conf.get("spark.sql.catalogImplementation") == "in-memory"
    with pytest.raises(ValueError, match=r"no table nowhere\.users.*in-memory one"):
        load_dataset("spark:nowhere")
