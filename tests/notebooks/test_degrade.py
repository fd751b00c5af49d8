"""Every chapter renders on any subset of the data contract, saying once what is missing.

The chapters run in this process (their code cells in order, ``display`` collected) on
the 2,000-user simulation with each optional table removed in turn, with all of them
removed, with orders and users only, and on an orders-only slice of the CDNOW master
file loaded through ``dataset.yaml`` (the worked example of ``docs/byod-cdnow.md``).
Running in-process keeps the 90 chapter runs to about a minute; the report renderer's
own path (kernels, Markdown, typst) is rendered whole in ``test_degrade_render.py``.

What must hold, for every chapter and dataset: no exception; no exception name or
traceback in what the chapter shows; a "not available" sentence names what is missing
in words and is not repeated within one section (between two headings).
"""

from __future__ import annotations

import ast
import contextvars
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest

import insights as ins

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
OPTIONAL = ("orders", "views", "interactions", "community", "experiments", "spend")
EXCEPTION_NAME = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b")
NOT_AVAILABLE = ("Not available", "暂不可用")


def run_chapter(path: Path, **parameters: Any) -> list[str]:
    """Run a chapter's code cells in order; the text of everything it displays, in order.

    As in Jupyter, a cell's last expression is displayed (figures are drawn and closed).
    """
    import matplotlib

    matplotlib.use("Agg")

    shown: list[str] = []

    def display(*objects: Any) -> None:
        shown.extend(str(o) for o in objects if o is not None)

    ns: dict[str, Any] = {"display": display}
    nb = nbformat.read(path, as_version=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty periods warn by design; the report keeps stderr out
        # a chapter sets ins.options for its session (a kernel): here, for this run only
        contextvars.copy_context().run(_run_cells, nb, path, ns, parameters, display)
    return shown


def _run_cells(
    nb: Any, path: Path, ns: dict[str, Any], parameters: dict[str, Any], display: Any
) -> None:
    import matplotlib.pyplot as plt

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.stem}[{index}]"
        tree = ast.parse(cell.source, where)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, where, "exec"), ns)
        if "parameters" in cell.metadata.get("tags", []):
            ns.update(parameters)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), where, "eval"), ns)
            if value is not None and not hasattr(value, "figure"):  # an Axes is a drawn figure
                display(value)
        plt.close("all")


def _variants(sim: Path, root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}

    def make(name: str, drop: set[str]) -> None:
        target = root / name
        target.mkdir()
        for item in sim.iterdir():
            if item.name.split(".")[0] not in drop:
                (shutil.copytree if item.is_dir() else shutil.copy)(item, target / item.name)
        out[name] = target

    for table in OPTIONAL:
        make(f"without-{table}", {table})
    make("users-only", set(OPTIONAL))
    make("orders-and-users", set(OPTIONAL) - {"orders"})
    return out


@pytest.fixture(scope="module")
def datasets(
    small_sim_dir: Path, cdnow_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("degrade")
    return {**_variants(small_sim_dir, root), "cdnow": cdnow_dir}


def _check(shown: list[str], where: str) -> list[str]:
    notes: list[str] = []
    section: set[str] = set()
    for text in shown:
        assert not EXCEPTION_NAME.search(text), f"{where}: shows {text[:200]!r}"
        if text.lstrip().startswith("#"):  # a heading opens a section
            section = set()
        for line in text.splitlines():
            if line.strip().lstrip("*-• ").startswith(NOT_AVAILABLE):
                note = line.strip()
                assert note not in section, f"{where}: {note!r} twice in one section"
                assert not re.search(r"\w+\.\w+\(|\bNone\b", note), f"{where}: {note!r}"
                section.add(note)
                notes.append(note)
    return notes


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [*(f"without-{t}" for t in OPTIONAL), "users-only", "orders-and-users", "cdnow"],
)
def test_every_chapter_degrades(name: str, datasets: dict[str, Path]) -> None:
    quarter = "1997Q4" if name == "cdnow" else "2024Q4"
    notes: list[str] = []
    for lang in ("en", "zh") if name in ("users-only", "cdnow") else ("en",):
        for chapter in CHAPTERS:
            shown = run_chapter(chapter, data=str(datasets[name]), quarter=quarter, lang=lang)
            notes += _check(shown, f"{name} {lang} {chapter.stem}")
    missing = {t for t in OPTIONAL if t not in name and name != "cdnow"}
    if name.startswith("without-"):
        missing = {name.removeprefix("without-")}
    for table in missing:  # each missing table is named where a section needs it
        if table != "spend" or name != "users-only":
            assert any(table in n for n in notes), (name, table)


@pytest.mark.slow
def test_orders_only_data_get_purchase_views(datasets: dict[str, Path]) -> None:
    ds = ins.load_dataset(datasets["cdnow"])
    assert ds.meta["activity"] == "orders" and ds.currency == "USD"
    chapter = next(p for p in CHAPTERS if p.stem == "02-retention")
    shown = "\n".join(
        run_chapter(chapter, data=str(datasets["cdnow"]), quarter="1997Q1", lang="en")
    )
    assert "Buying again" in shown  # time to the next order instead of idle-gap retention
    assert "the data record activity only as orders" in shown
    growth = next(p for p in CHAPTERS if p.stem == "01-growth")
    shown = "\n".join(run_chapter(growth, data=str(datasets["cdnow"]), quarter="1997Q1", lang="en"))
    assert "100% by construction" in shown  # first-purchase conversion is not shown


@pytest.mark.slow
def test_a_single_segment_gives_a_sentence(small_sim_dir: Path, tmp_path: Path) -> None:
    """Every user in one generation (the chapters' first segment column): nothing to compare, said once."""
    import polars as pl

    data = tmp_path / "one-generation"
    shutil.copytree(small_sim_dir, data)
    users = pl.read_parquet(data / "users.parquet").with_columns(generation=pl.lit("gen_z"))
    users.write_parquet(data / "users.parquet")
    chapter = next(p for p in CHAPTERS if p.stem == "02-retention")
    shown = run_chapter(chapter, data=str(data), quarter="2024Q4", lang="en")
    notes = _check(shown, "one-generation 02-retention")
    assert any("single generation segment" in n.lower() for n in notes), notes
