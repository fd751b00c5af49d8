"""Shared fixtures: every metric test runs on each data engine.

Use the ``backend`` fixture (parametrized over ``"polars"``, ``"duckdb"`` and ``"pyspark"``) together
with ``make_dataset`` (or the plain function :func:`to_dataset`) to turn a dict of
Polars frames into a :class:`~insights.data.Dataset` on that engine::

    def test_something(make_dataset):
        ds = make_dataset(users=users_df, orders=orders_df, as_of="2024-03-31")
        out = some_metric(ds, period="2024Q1")

``make_dataset`` accepts the table frames as keyword arguments (or one mapping as
its first argument) plus ``as_of`` (defaults like ``frames_dataset``: the end of the
day of the latest timestamp in the frames). The Polars frames given are never
modified; DuckDB relations and Spark DataFrames are built from their Arrow copies.

The ``"pyspark"`` parameter carries the ``spark`` marker (``-m spark`` runs only it,
``-m "not spark"`` leaves it out) and is skipped with a reason when pyspark or a Java
runtime is missing. One local SparkSession serves the whole test session; it is
started only when the first Spark-parametrised test runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from insights.data.dataset import Dataset, frames_dataset

# kernels started by tests (papermill, nbval) would otherwise draw progress bars into outputs
os.environ.setdefault("INSIGHTS_PROGRESS", "off")

BACKENDS = ("polars", "duckdb", "pyspark")
#: the engines plus pandas input (converted to Polars on the way in): the ``engine`` fixture
ENGINES = (*BACKENDS, "pandas")


def _spark_skip_reason() -> str | None:
    """Why Spark tests cannot run here, or None when they can."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark not installed (pip install 'pyspark>=4.0,<5')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (
        java_home and os.path.exists(os.path.join(java_home, "bin", "java"))
    ):
        return "no Java runtime: install openjdk-17-jre-headless"
    return None


_SPARK: Any = None


def spark_session() -> Any:
    """The one local SparkSession of the test session (started on first use)."""
    global _SPARK
    if _SPARK is None:
        reason = _spark_skip_reason()
        if reason:
            pytest.skip(reason)
        from pyspark.sql import SparkSession

        _SPARK = (
            SparkSession.builder.master("local[2]")
            .appName("insights-tests")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", "1g")
            .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -Xss4m")
            .config("spark.sql.catalogImplementation", "in-memory")
            # tables saved by tests go to a temporary directory, not the working directory
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="insights-spark-"))
            .getOrCreate()
        )
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def to_spark(frame: pl.DataFrame) -> Any:
    """``frame`` as a Spark DataFrame with the same columns and types.

    Goes through Arrow with an explicit schema: naive Datetime becomes
    ``TimestampNTZType`` (wall-clock values kept, no time-zone shift), Date stays
    Date, Categorical/Enum become text, unsigned integers become the next wider
    signed type, and datetimes are cut to microseconds (Spark's precision).
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, (pl.Categorical, pl.Enum)):
            casts.append(pl.col(name).cast(pl.String))
        elif dtype.is_unsigned_integer():  # Spark has no unsigned types: widen (strict cast)
            wider = {pl.UInt8: pl.Int16, pl.UInt16: pl.Int32}.get(dtype.base_type(), pl.Int64)
            casts.append(pl.col(name).cast(wider))
        elif isinstance(dtype, pl.Datetime) and (dtype.time_unit != "us"):
            casts.append(pl.col(name).cast(pl.Datetime("us", dtype.time_zone)))
    table = (frame.with_columns(casts) if casts else frame).to_arrow(
        compat_level=pl.CompatLevel.oldest()
    )
    schema = from_arrow_schema(table.schema, prefer_timestamp_ntz=True)
    return spark_session().createDataFrame(table, schema=schema)


def to_dataset(
    frames: Mapping[str, pl.DataFrame],
    backend: str,
    *,
    as_of: dt.datetime | dt.date | str | None = None,
) -> Dataset:
    """A Dataset holding ``frames`` on ``backend`` (``"polars"``, ``"duckdb"``, ``"pyspark"`` or ``"pandas"``).

    ``"pandas"`` hands pandas copies of the frames to ``frames_dataset``, which converts
    them to Polars (the engine-parity tests of ``tests/test_engines.py`` check the numbers).

    ``as_of`` is resolved on the Polars frames first (so every engine sees the same
    observation end); for DuckDB each frame becomes a relation on one fresh
    in-memory connection kept alive in ``dataset.meta["duckdb_connection"]``; for
    Spark each frame becomes a DataFrame of the shared session (:func:`to_spark`).
    """
    base = frames_dataset(as_of=as_of, **{k: v.lazy() for k, v in frames.items()})
    if backend == "polars":
        return base
    if backend == "duckdb":
        con = duckdb.connect()
        tables = {name: con.from_arrow(frame.to_arrow()) for name, frame in frames.items()}
        return dataclasses.replace(base, tables=tables, meta={"duckdb_connection": con})
    if backend == "pyspark":
        tables = {name: to_spark(frame) for name, frame in frames.items()}
        return dataclasses.replace(base, tables=tables)
    if backend == "pandas":  # converted to Polars on the way in (insights.data._read.engine_frame)
        return frames_dataset(as_of=base.as_of, **{k: v.to_pandas() for k, v in frames.items()})
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS} or 'pandas'")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "spark: runs on a local PySpark session (needs pyspark and Java)"
    )


def _engine_param(name: str) -> Any:
    if name != "pyspark":
        return name
    reason = _spark_skip_reason()
    marks = [pytest.mark.spark] + ([pytest.mark.skip(reason=reason)] if reason else [])
    return pytest.param(name, marks=marks)


@pytest.fixture(params=[_engine_param(b) for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The data engine under test: ``"polars"``, ``"duckdb"`` or ``"pyspark"``."""
    if request.param == "pyspark":
        request.getfixturevalue("spark")
    return str(request.param)


@pytest.fixture(params=[_engine_param(b) for b in ENGINES])
def engine(request: pytest.FixtureRequest) -> str:
    """Like ``backend``, plus ``"pandas"``: frames handed over as pandas DataFrames (parity tests)."""
    if request.param == "pyspark":
        request.getfixturevalue("spark")
    return str(request.param)


@pytest.fixture(scope="session")
def spark():
    """The shared local SparkSession, stopped at the end of the test session."""
    session = spark_session()
    yield session
    global _SPARK
    session.stop()
    _SPARK = None


@pytest.fixture
def make_dataset(backend: str) -> Callable[..., Dataset]:
    """Factory: ``make_dataset(users=..., orders=..., as_of=...)`` -> Dataset on ``backend``."""

    def make(
        frames: Mapping[str, pl.DataFrame] | None = None,
        /,
        *,
        as_of: dt.datetime | dt.date | str | None = None,
        **tables: pl.DataFrame,
    ) -> Dataset:
        merged: dict[str, Any] = {**(frames or {}), **tables}
        return to_dataset(merged, backend, as_of=as_of)

    return make


@pytest.fixture
def make_engine_dataset(engine: str) -> Callable[..., Dataset]:
    """Like ``make_dataset`` on the ``engine`` fixture's engines (``pandas`` too)."""

    def make(
        frames: Mapping[str, pl.DataFrame] | None = None,
        /,
        *,
        as_of: dt.datetime | dt.date | str | None = None,
        **tables: pl.DataFrame,
    ) -> Dataset:
        return to_dataset({**(frames or {}), **tables}, engine, as_of=as_of)

    return make


@pytest.fixture(scope="session", autouse=True)
def _validation_cache(tmp_path_factory: pytest.TempPathFactory):
    """Keep the validation cache of ``load_dataset`` inside the test session."""
    import os

    old = os.environ.get("INSIGHTS_CACHE_DIR")
    os.environ["INSIGHTS_CACHE_DIR"] = str(tmp_path_factory.mktemp("insights-cache"))
    yield
    if old is None:
        os.environ.pop("INSIGHTS_CACHE_DIR", None)
    else:
        os.environ["INSIGHTS_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def small_sim_dir(tmp_path_factory: pytest.TempPathFactory):
    """A small simulated dataset (2,000 users, seed 3): realistic tables for engine comparisons."""
    from insights.simulator import simulate

    out = tmp_path_factory.mktemp("sim") / "s2k"
    simulate(out, users=2_000, seed=3)
    return out


#: The title the CDNOW slice's dataset.yaml gives its report.
CDNOW_TITLE = "CDNOW: Growth and Retention of CD Buyers"


@pytest.fixture(scope="session")
def cdnow_dir(tmp_path_factory: pytest.TempPathFactory):
    """An orders-only export: the first 3,000 purchases of the CDNOW master file (``lifetimes``).

    As in ``docs/byod-cdnow.md``: the file as shipped (header line, whitespace-aligned
    fields, ``YYYYMMDD`` dates) and a ``dataset.yaml`` with US dollars, a report title and
    no comparison with the industry documents.
    """
    lifetimes = pytest.importorskip("lifetimes")
    master = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"
    target = tmp_path_factory.mktemp("cdnow") / "cdnow"
    target.mkdir()
    lines = master.read_text(encoding="utf-8").splitlines()[:3001]
    (target / "orders.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (target / "dataset.yaml").write_text(
        "timezone: America/New_York\ncurrency: USD\n"
        "files:\n  orders:\n    delimiter: whitespace\n"
        "    columns: [user_id, ordered_at, quantity, amount]\n"
        '    formats: {ordered_at: "%Y%m%d"}\n'
        f'report:\n  title: "{CDNOW_TITLE}"\n  compare_documents: false\n',
        encoding="utf-8",
    )
    return target


@pytest.fixture(scope="session")
def small_sim_frames(small_sim_dir) -> dict[str, pl.DataFrame]:
    """The tables of ``small_sim_dir`` as Polars frames (contract-typed; do not modify)."""
    from insights.data import load_dataset

    ds = load_dataset(small_sim_dir)
    return {name: ds.raw(name).collect().to_native() for name in ds.names}


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory):
    """A CI-sized simulated dataset (20k users, seed 7), written once per test session."""
    from insights.simulator import simulate

    out = tmp_path_factory.mktemp("sim") / "s20k"
    simulate(out, users=20_000, seed=7)
    return out


@pytest.fixture(scope="session")
def sim200k_dir(tmp_path_factory: pytest.TempPathFactory):
    """The size the calibration targets are set for (200k users, seed 7), written once (about 10 s).

    For checks whose 20k sampling error is as large as what they check (calibration bands,
    LTV back-test accuracy): at 20k they pass or fail with the seed.
    """
    from insights.simulator import simulate

    out = tmp_path_factory.mktemp("sim") / "s200k"
    simulate(out, users=200_000, seed=7)
    return out
