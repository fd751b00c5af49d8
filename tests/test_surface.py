"""The public surface: one front door, one vocabulary (issue 12; ``docs/vocabulary.md``).

Walks ``insights.__all__`` and checks, for every public function: data first, every
option keyword-only, every parameter name from the vocabulary tables, every compute
result carries a ``segment`` column, and no two public names for one computation.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys
import warnings
from pathlib import Path

import narwhals as nw
import polars as pl
import pytest

import insights as ins

ROOT = Path(__file__).resolve().parents[1]
VOCABULARY = ROOT / "docs" / "vocabulary.md"

#: Names removed by the merge of duplicated computations: each had a twin.
MERGED_AWAY = {
    "retention_curve": "retention_curves",
    "survival_counts": "retention_curves",
    "interaction_uplift": "high_vs_ordinary",
    "repurchase_frequency_ratio": "member_comparison",
    "private_aov_uplift": "member_comparison",
    "layers_by_quarter": "lifecycle_layers",
    "transitions_by_quarter": "lifecycle_transitions",
}

#: Functions whose first parameter is not data: they make or configure data, or read
#: periods and the catalog, not a dataset.
NO_DATA = {
    "options", "simulate", "load_dataset", "frames_dataset", "parse_period",
    "comparison_period", "default_quarters", "describe_methods", "table_definitions",
    "segment_columns", "show",
}  # fmt: skip

#: Functions that take no data positional but only arrays in a fixed notation.
ARRAY_FIRST = {
    "fit_bgnbd", "fit_gamma_gamma", "p_alive", "expected_purchases", "expected_spend",
    "customer_clv", "proportion_effect", "welch_effect", "wilson_interval",
    "newcombe_diff_interval", "ratio_ci", "adjust_pvalues", "mde",
}  # fmt: skip


def vocabulary() -> set[str]:
    """Every backticked name in the first column of the vocabulary tables."""
    names: set[str] = set()
    for line in VOCABULARY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", first))
    return names


def public_functions() -> list[tuple[str, object]]:
    out = []
    for name in ins.__all__:
        obj = getattr(ins, name)
        if inspect.isfunction(obj):
            out.append((name, obj))
    return out


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in ins.__all__:
        assert getattr(ins, name) is not None, name
    assert sorted(ins.__all__) == list(ins.__all__)
    assert len(set(ins.__all__)) == len(ins.__all__)
    assert set(ins.__all__) <= set(dir(ins))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ins.nope  # noqa: B018


def test_import_is_light() -> None:
    """``import insights`` loads no engine, estimator or plotting library."""
    code = (
        "import sys, insights; "
        "print(','.join(m for m in ('polars', 'narwhals', 'pandas', 'matplotlib', 'scipy',"
        " 'lifelines', 'duckdb', 'pyspark') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_documented_names_are_the_front_door() -> None:
    """The names the issue and the README promise are there; the merged twins are gone."""
    for name in (
        "load_dataset", "frames_dataset", "simulate", "Dataset", "retention_curves",
        "retention_rates", "retention_matrix", "retention_index", "repurchase_rate",
        "cohort_ltv", "projected_ltv", "experiment_effects", "member_comparison",
        "kpi_scorecard", "compare_survival", "fit_bgnbd", "format_table", "render_report",
        "plot_survival", "options",
    ):  # fmt: skip
        assert name in ins.__all__, name
    for gone, kept in MERGED_AWAY.items():
        assert gone not in ins.__all__, f"{gone} was merged into {kept}"
        assert kept in ins.__all__


def test_no_two_public_names_for_one_object() -> None:
    seen: dict[int, str] = {}
    for name in ins.__all__:
        obj = getattr(ins, name)
        assert id(obj) not in seen, f"{name} and {seen[id(obj)]} are the same object"
        seen[id(obj)] = name


def test_every_plot_is_exported() -> None:
    import insights.viz as viz

    plots = {n for n in viz.__all__ if n.startswith("plot_")}
    assert plots <= set(ins.__all__)


def test_metrics_package_names_are_all_at_the_front_door() -> None:
    """Every function the metrics package lists is reachable as ``ins.<name>``."""
    import insights.metrics as metrics

    funcs = {n for n in metrics.__all__ if inspect.isfunction(getattr(metrics, n))}
    assert funcs - set(ins.__all__) == set()


@pytest.mark.parametrize("name", [n for n, _ in public_functions()])
def test_signature_follows_the_vocabulary(name: str) -> None:
    func = getattr(ins, name)
    params = list(inspect.signature(func).parameters.values())
    words = vocabulary()
    unknown = [p.name for p in params if p.name not in words]
    assert not unknown, f"{name}: parameter names not in docs/vocabulary.md: {unknown}"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if name in ARRAY_FIRST:
        return
    if name.startswith("text_"):  # catalog lookups: the key, then options
        assert [p.name for p in positional] == ["key"], f"{name}: text lookups take a key"
        return
    if name in NO_DATA:
        assert len(positional) <= 1, f"{name}: options must be keyword-only"
        return
    assert positional, f"{name}: data first"
    assert positional[0].name in {"dataset", "data"}, f"{name}: first is {positional[0].name}"
    assert len(positional) == 1, f"{name}: options must be keyword-only: {positional[1:]}"


# ---- every compute result carries `segment` -----------------------------------------


def _compute_functions() -> list[str]:
    names = []
    for name, func in public_functions():
        module = getattr(func, "__module__", "")
        first = next(iter(inspect.signature(func).parameters))
        if first == "dataset" and (
            module.startswith("insights.metrics") or name == "kpi_scorecard"
        ):
            names.append(name)
    return names


def _frames_of(result: object) -> list[pl.DataFrame]:
    if isinstance(result, nw.LazyFrame | nw.DataFrame):  # a per-user frame stays lazy
        return [pl.DataFrame(schema=result.collect_schema().names())]
    if isinstance(result, pl.DataFrame):
        return [result]
    if isinstance(result, tuple):  # (frame, notes)
        return [x for x in result if isinstance(x, pl.DataFrame)]
    frames = []
    if dataclasses.is_dataclass(result):
        for field in dataclasses.fields(result):
            value = getattr(result, field.name)
            if isinstance(value, pl.DataFrame) and field.name in {"summary", "table"}:
                frames.append(value)
    for attr in ("summary", "table"):
        value = getattr(result, attr, None)
        if isinstance(value, pl.DataFrame) and not any(value is f for f in frames):
            frames.append(value)
    return frames


@pytest.fixture(scope="module")
def small_world(sim_dir):
    return ins.load_dataset(sim_dir)


#: Required options a compute function cannot run without, by parameter name.
def _required(name: str, ds) -> dict:
    func = getattr(ins, name)
    kwargs: dict = {}
    for p in inspect.signature(func).parameters.values():
        if p.kind is not p.KEYWORD_ONLY or p.default is not inspect.Parameter.empty:
            continue
        if p.name == "experiment":
            names = ds.table("experiments").select("experiment").unique().collect()
            kwargs["experiment"] = sorted(names.to_native()["experiment"].to_list())[0]
        elif p.name == "period":
            # a back-test needs its horizon observed after the period
            kwargs["period"] = "2023Q3" if name == "ltv_backtest" else "2024Q3"
        elif p.name == "column":
            kwargs["column"] = "platform"
        elif p.name == "values":
            column = "platform" if name != "new_user_share" else "channel"
            first = ds.table("users").select(column).unique().collect().to_native()
            kwargs["values"] = sorted(first[column].drop_nulls().to_list())[:1]
        elif p.name == "quarter":
            kwargs["quarter"] = "2024Q4"
        elif p.name == "at":
            two = name == "lifecycle_transitions"  # a transition needs two dates
            kwargs["at"] = ["2024-06-30", "2024-09-30"] if two else "2024-09-30"
        elif p.name == "cutoff":
            kwargs["cutoff"] = "2024-06-30"
        else:
            raise AssertionError(f"{name}: no sample value for required option {p.name}")
    return kwargs


@pytest.mark.slow
@pytest.mark.parametrize("name", _compute_functions())
def test_every_compute_result_carries_segment(name: str, small_world) -> None:
    func = getattr(ins, name)
    kwargs = _required(name, small_world)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = func(small_world, **kwargs)
    frames = _frames_of(result)
    assert frames, f"{name} returned {type(result).__name__} without a frame"
    from insights._registry import resolve

    for frame in frames:
        assert "segment" in frame.columns, f"{name}: columns {frame.columns}"
        assert "group" not in frame.columns, f"{name}: the group column is called segment"
        # every metric id a result carries is known to the registry (unit, better direction),
        # so the narrative, tables and scorecard can write it
        if "metric" in frame.columns and frame.height:
            for metric in frame["metric"].drop_nulls().unique().to_list():
                resolve(metric)


def test_every_vocabulary_name_is_used() -> None:
    """The vocabulary lists the names in use, no more: a dead name would invite a second meaning."""
    used: set[str] = set()
    for _, func in public_functions():
        used |= set(inspect.signature(func).parameters)
    assert vocabulary() - used == set()


def test_no_public_name_is_also_a_submodule() -> None:
    """Importing ``insights.<x>`` binds ``x`` on the package: a function of that name would
    silently become a module (``insights.simulate`` did, until the package was renamed)."""
    import importlib.util

    clashes = [n for n in ins.__all__ if importlib.util.find_spec(f"insights.{n}") is not None]
    assert clashes == []


#: Whole-dataset checks: the contract and the documents' targets are about all the data.
WHOLE_DATASET = {"validate", "calibrate", "format_benchmarks", "is_simulated"}


@pytest.mark.parametrize("name", [n for n, _ in public_functions()])
def test_every_function_with_a_population_takes_where(name: str) -> None:
    params = inspect.signature(getattr(ins, name)).parameters
    if next(iter(params), None) != "dataset" or name in WHOLE_DATASET:
        return
    assert "where" in params, f"{name} reads a user population but takes no where="
    assert params["where"].kind is inspect.Parameter.KEYWORD_ONLY


def test_type_checkers_see_every_public_name() -> None:
    """The ``TYPE_CHECKING`` block of ``insights/__init__.py`` imports each name of ``__all__``
    from the module that defines it, so IDEs and mypy see what the lazy front door gives."""
    import ast

    tree = ast.parse((ROOT / "src" / "insights" / "__init__.py").read_text(encoding="utf-8"))
    imported: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:  # the eager imports (options)
            imported |= {a.asname or a.name: node.module for a in node.names}
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in ast.walk(node):
                if isinstance(imp, ast.ImportFrom) and imp.module:
                    imported |= {a.asname or a.name: imp.module for a in imp.names}
    public = set(ins.__all__)
    assert sorted(public - set(imported)) == []
    wrong = {n: m for n, m in imported.items() if n in public and getattr(ins, n).__module__ != m}
    assert wrong == {}
