"""A segment report is about the segment in every chapter: the scope is in the dataset.

``insights report --by platform`` runs every chapter with ``filters={"platform": value}``;
the chapters' set-up restricts the dataset once (``Dataset.restrict``), so the executive
summary's scorecard (and the key findings, alerts and playbook built from it) counts that
platform's users only. Chapter 00 is executed as the renderer runs it, and the n of its
scorecard is checked against counts made with plain Polars on the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import polars as pl
import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
QUARTER = "2024Q4"
MARK = "SCORECARD-JSON "


def _execute_summary(
    data: Path, tmp_path: Path, filters: dict | None
) -> tuple[pl.DataFrame, list[str], str]:
    """Chapter 00 executed with ``filters``: its scorecard, its notes and its printed text."""
    nb = nbformat.read(NOTEBOOKS / "00-summary.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json\nprint({MARK!r} + json.dumps({{'card': scorecard.to_dicts(), 'notes': notes}}, default=str))"
    ))  # fmt: skip
    source = tmp_path / "00-summary.ipynb"
    nbformat.write(nb, source)
    done = papermill.execute_notebook(
        str(source),
        str(tmp_path / "00-summary.out.ipynb"),
        parameters={"data": str(data), "quarter": QUARTER, "lang": "en", "filters": filters},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    printed = "\n".join(  # what the chapter shows (text/markdown) and the test cell's line
        o.get("text", "")
        if o.output_type == "stream"
        else str(o.get("data", {}).get("text/markdown", ""))
        for c in done.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if (o.output_type == "stream" and o.name == "stdout")
        or o.output_type in ("display_data", "execute_result")
    )
    line = next(x for x in printed.splitlines() if x.startswith(MARK))
    payload = json.loads(line[len(MARK) :])
    return pl.DataFrame(payload["card"]), payload["notes"], printed


def _n(card: pl.DataFrame, metric: str, quarter: str = QUARTER) -> int:
    return card.filter((pl.col("metric") == metric) & (pl.col("quarter") == quarter))["n"].item()


@pytest.mark.slow
def test_summary_of_a_platform_counts_that_platforms_users(sim_dir: Path, tmp_path: Path) -> None:
    users = pl.read_parquet(sim_dir / "users.parquet")
    platform = users.group_by("platform").len().sort("len", descending=True)["platform"][1]
    card, notes, printed = _execute_summary(sim_dir, tmp_path, {"platform": platform})

    # independent counts, plain Polars on the files
    mine = users.filter(pl.col("platform") == platform)
    q4 = pl.col("first_seen_at").dt.date().is_between(pl.date(2024, 10, 1), pl.date(2024, 12, 31))
    q3 = pl.col("first_seen_at").dt.date().is_between(pl.date(2024, 7, 1), pl.date(2024, 9, 30))
    new_q4, new_q3 = mine.filter(q4).height, mine.filter(q3).height
    orders = pl.read_parquet(sim_dir / "orders.parquet").join(mine.select("user_id"), on="user_id")
    paid_q4 = orders.filter(
        ~pl.col("refunded")
        & pl.col("ordered_at").dt.date().is_between(pl.date(2024, 10, 1), pl.date(2024, 12, 31))
    ).height

    for metric in ("retention_d7", "retention_d30", "retention_d60"):
        assert _n(card, metric) == new_q4, metric
        assert _n(card, metric, "2024Q3") == new_q3, metric
    assert _n(card, "aov") == paid_q4
    assert set(card["segment"]) == {"all"}  # the segment is the whole scope of the chapter
    # spend has no platform column: CAC cannot be the platform's, so it is left out, with a note
    assert "cac" not in set(card["metric"])
    assert any(n.startswith("cac: skipped") and "platform" in n for n in notes), notes
    whole = users.filter(q4).height
    assert new_q4 < whole  # the old report printed the platform-wide scorecard under this cover
    assert f"{whole:,}" not in printed
