"""Shared fixtures: every metric test runs on each data engine.

Use the ``backend`` fixture (parametrized over ``"polars"`` and ``"duckdb"``) together
with ``make_dataset`` (or the plain function :func:`to_dataset`) to turn a dict of
Polars frames into a :class:`~insights.data.Dataset` on that engine::

    def test_something(make_dataset):
        ds = make_dataset(users=users_df, orders=orders_df, as_of="2024-03-31")
        out = some_metric(ds, period="2024Q1")

``make_dataset`` accepts the table frames as keyword arguments (or one mapping as
its first argument) plus ``as_of`` (defaults like ``frames_dataset``: the end of the
day of the latest timestamp in the frames). The Polars frames given are never
modified; DuckDB relations are built from their Arrow copies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import polars as pl
import pytest

from insights.data.dataset import Dataset, frames_dataset

BACKENDS = ("polars", "duckdb")


def to_dataset(
    frames: Mapping[str, pl.DataFrame],
    backend: str,
    *,
    as_of: dt.datetime | dt.date | str | None = None,
) -> Dataset:
    """A Dataset holding ``frames`` on ``backend`` (``"polars"`` or ``"duckdb"``).

    ``as_of`` is resolved on the Polars frames first (so both engines see the same
    observation end); for DuckDB each frame becomes a relation on one fresh
    in-memory connection kept alive in ``dataset.meta["duckdb_connection"]``.
    """
    base = frames_dataset(as_of=as_of, **{k: v.lazy() for k, v in frames.items()})
    if backend == "polars":
        return base
    if backend == "duckdb":
        con = duckdb.connect()
        tables = {name: con.from_arrow(frame.to_arrow()) for name, frame in frames.items()}
        return dataclasses.replace(base, tables=tables, meta={"duckdb_connection": con})
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The data engine under test: ``"polars"`` or ``"duckdb"``."""
    return str(request.param)


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
def sim_dir(tmp_path_factory: pytest.TempPathFactory):
    """A CI-sized simulated dataset (20k users, seed 7), written once per test session."""
    from insights.simulate import simulate

    out = tmp_path_factory.mktemp("sim") / "s20k"
    simulate(out, users=20_000, seed=7)
    return out
