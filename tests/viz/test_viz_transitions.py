"""plot_transitions draws what lifecycle_transitions returns, hiding small cells."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest

from insights.data import frames_dataset
from insights.metrics.lifecycle_transitions import lifecycle_transitions
from insights.viz.transitions import plot_transitions


def _frame(min_cell: int = 0) -> pl.DataFrame:
    # 30 users first seen 2024-01-01 (silent at Q1 end): 20 view in June (silent -> active? no:
    # gap at 06-30 is 0..29 -> active), 10 never return (churned); 3 new users in late June.
    first = [dt.datetime(2024, 1, 1)] * 30 + [dt.datetime(2024, 6, 25)] * 3
    users = pl.DataFrame({"user_id": list(range(33)), "first_seen_at": first})
    views = pl.DataFrame(
        {"user_id": list(range(20)), "started_at": [dt.datetime(2024, 6, 20)] * 20,
         "watch_seconds": [60.0] * 20}
    )  # fmt: skip
    ds = frames_dataset(users=users, views=views, as_of="2024-06-30")
    return lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], min_cell=min_cell)


def _cell_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == "cell-text"]


def test_plot_transitions_shares_and_counts():
    frame = _frame()
    ax = plot_transitions(frame, min_cell=0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["New", "Active", "Silent", "Churned"]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0].startswith("Not yet acquired") and rows[3].startswith("Silent  (n=30)")
    texts = _cell_texts(ax)
    assert "66.7%\n20" in texts and "33.3%\n10" in texts and "100.0%\n3" in texts
    # colour of the silent -> active cell is its row share
    mesh = next(c for c in ax.collections if c.get_gid() == "cells")
    values = np.ma.filled(mesh.get_array(), np.nan).reshape(5, 4)
    assert values[3, 1] == pytest.approx(2 / 3) and np.isnan(values[1, 0])  # new row: n = 0


def test_plot_transitions_masks_small_cells():
    frame = _frame(min_cell=5)  # the 3 not-yet-acquired -> new are flagged by the metric
    assert frame.filter("suppressed").height == 1
    ax = plot_transitions(frame, min_cell=5)
    hidden = [p for p in ax.patches if p.get_gid() == "suppressed"]
    # the whole not-yet-acquired row (n = 3 < 5) and the empty rows (n = 0) stay uncoloured
    assert len(hidden) == 4
    assert "<5" in _cell_texts(ax) and not any(t.endswith("\n3") for t in _cell_texts(ax))
    assert ax.get_yticklabels()[0].get_text().endswith("(n<5)")
    mesh = next(c for c in ax.collections if c.get_gid() == "cells")
    assert np.ma.getmaskarray(mesh.get_array()).reshape(5, 4)[0].all()
    # viz min_cell also hides cells the metric did not flag
    ax2 = plot_transitions(_frame(), min_cell=15)
    assert "33.3%\n10" not in _cell_texts(ax2) and "66.7%\n20" in _cell_texts(ax2)


def test_plot_transitions_zh_and_errors():
    frame = _frame()
    _fig, ax = plt.subplots()
    assert plot_transitions(frame, ax=ax, lang="zh", title="分层迁移") is ax
    assert ax.get_xticklabels()[1].get_text() == "活跃" and ax.get_title() == "分层迁移"
    ax.get_figure().savefig(io.BytesIO(), format="png")  # no missing-glyph warning (errors)
    with pytest.raises(ValueError, match="lang"):
        plot_transitions(frame, lang="fr")
    with pytest.raises(ValueError, match="missing columns"):
        plot_transitions(frame.drop("users"))
    two = pl.concat([frame, frame.with_columns(segment=pl.lit("b"))])
    with pytest.raises(ValueError, match="segment"):
        plot_transitions(two)
    assert plot_transitions(two, segment="b") is not None
