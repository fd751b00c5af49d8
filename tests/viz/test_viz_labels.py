"""Every plot speaks the reader's language and draws on the ``ax`` it is given.

Each ``plot_*`` is drawn in zh and en on frames holding data codes (``gen_x``,
``mother_baby``, ``douyin``, ``retention_d30`` ...): no text on the figure (tick labels,
legend entries and titles, axis labels, titles, texts) is a code, and the names the
catalog YAML gives them appear instead. Codes the catalog does not know are printed as
they are. Also: percent ticks follow the tick step, and ``plot_ltv`` stays readable
with many cohorts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

import insights as ins
from insights.viz._common import percent_axis

LANGS = ("en", "zh")
SEP = " · "


# ---------------------------------------------------------------- frames with codes


def rates() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "metric": "retention_d30",
            "segment": ["gen_x", "mother_baby", "tier1", "douyin", "my_own_label"],
            "value": [0.30, 0.325, 0.35, 0.375, 0.40],
            "ci_low": [0.28, 0.30, 0.33, 0.35, 0.38],
            "ci_high": [0.32, 0.35, 0.37, 0.40, 0.42],
            "n": [400, 300, 200, 500, 100],
        }
    )


def layers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "metric": "lifecycle_layer_share",
            "period": ["2024Q2"] * 2 + ["2024Q3"] * 2,
            "layer": ["new", "churned"] * 2,
            "value": [0.4, 0.6, 0.3, 0.7],
            "ci_low": [0.35, 0.55, 0.25, 0.65],
            "ci_high": [0.45, 0.65, 0.35, 0.75],
            "n": [500] * 4,
        }
    )


def km_table(segments: list[str]) -> pl.DataFrame:
    k = len(segments)
    return pl.DataFrame(
        {
            "segment": [s for s in segments for _ in range(3)],
            "t": [0.0, 10.0, 20.0] * k,
            "survival": [1.0, 0.7, 0.5] * k,
            "ci_low": [1.0, 0.6, 0.4] * k,
            "ci_high": [1.0, 0.8, 0.6] * k,
            "at_risk": [100, 70, 50] * k,
            "events": [0, 30, 20] * k,
            "censored": [0, 0, 0] * k,
        }
    )


@dataclass(frozen=True)
class Curves:
    """What plot_survival reads of a SurvivalCurves result."""

    table: pl.DataFrame
    by: tuple[str, ...]
    summary: pl.DataFrame | None = None
    counts: pl.DataFrame | None = None


def facet_curves() -> Curves:
    segments = [f"{p}{SEP}{g}" for p in ("douyin", "kuaishou") for g in ("gen_x", "silver")]
    return Curves(table=km_table(segments), by=("platform", "generation"))


def effects() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "outcome": ["retention_d30", "aov"],
            "arm": "treatment",
            "control": "control",
            "n_arm": [500, 500],
            "n_control": [500, 500],
            "relative": [0.1, -0.05],
            "relative_ci_low": [0.02, -0.12],
            "relative_ci_high": [0.18, 0.02],
            "p_adjusted": [0.01, 0.3],
        }
    )


def dose() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "metric": "retention_d30",
            "segment": ["d00", "d01", "d02"],
            "decile": [0, 1, 2],
            "value": [0.2, 0.3, 0.4],
            "ci_low": [0.18, 0.27, 0.37],
            "ci_high": [0.22, 0.33, 0.43],
            "n": [900, 400, 400],
        }
    )


def funnel() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "step": [1, 2, 3],
            "stage": ["viewers", "ordered", "my_stage"],
            "users": [200, 50, 20],
            "value": [1.0, 0.25, 0.4],
            "ci_low": [None, 0.195, 0.28],
            "ci_high": [None, 0.314, 0.53],
            "n": [200, 200, 50],
            "overall": [1.0, 0.25, 0.1],
            "drop_off": [None, 0.75, 0.6],
        }
    )


def pareto() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "segment": ["douyin"] * 3 + ["mother_baby"] * 3,
            "buyer_share": [0.0, 0.2, 1.0] * 2,
            "value": [0.0, 0.7, 1.0, 0.0, 0.6, 1.0],
            "n": [50] * 6,
        }
    )


def ltv(cohorts: int = 3, segments: tuple[str, ...] = ("gen_x", "mother_baby")) -> pl.DataFrame:
    rows = []
    for seg in segments:
        for i in range(cohorts):
            cohort = f"{2023 + (i // 12)}-{i % 12 + 1:02d}"
            for t, v in ((0, 1.0), (30, 3.0 + i / 10), (60, 5.0 + i / 10)):
                rows.append(
                    {"segment": seg, "cohort": cohort, "t": t, "value": v, "n": 50,
                     "ci_low": v - 0.5, "ci_high": v + 0.5, "complete": True}
                )  # fmt: skip
    return pl.DataFrame(rows)


def matrix() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "segment": "gen_x",
            "cohort": ["2024-01", "2024-01", "2024-02", "2024-02"],
            "period": [0, 1, 0, 1],
            "value": [1.0, 0.4, 1.0, 0.35],
            "n": [50] * 4,
            "retained": [50, 20, 50, 17],
            "complete": [True, True, True, False],
        }
    )


def transitions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "from_layer": ["new", "new", "active"],
            "to_layer": ["active", "churned", "silent"],
            "value": [0.75, 0.25, 1.0],
            "users": [30, 10, 20],
            "n": [40, 40, 20],
        }
    )


# ------------------------------------------------- each plot: codes -> catalog keys

#: name -> (draw(ax, lang), codes in its data, catalog keys whose text must appear)
CASES: dict[str, tuple[Callable[[Axes, str], Any], set[str], list[str]]] = {
    "segment_rates": (
        lambda ax, lang: ins.plot_segment_rates(rates(), ax=ax, lang=lang),
        {"gen_x", "mother_baby", "tier1", "douyin", "retention_d30"},
        ["value.gen_x", "value.mother_baby", "value.tier1", "value.douyin", "metric.retention_d30"],
    ),
    "segment_rates_hue": (
        lambda ax, lang: ins.plot_segment_rates(
            layers(), ax=ax, lang=lang, x="layer", hue="period"
        ),
        {"new", "churned", "layer", "period", "lifecycle_layer_share"},
        [
            "value.new",
            "value.churned",
            "figure.column.layer",
            "figure.column.period",
            "metric.lifecycle_layer_share",
        ],
    ),  # fmt: skip
    "survival": (
        lambda ax, lang: ins.plot_survival(km_table(["douyin", "gen_x"]), ax=ax, lang=lang),
        {"douyin", "gen_x"},
        ["value.douyin", "value.gen_x"],
    ),
    "survival_col": (
        lambda ax, lang: ins.plot_survival(facet_curves(), ax=ax, lang=lang, col="platform"),
        {"douyin", "kuaishou", "gen_x", "silver", "platform", "generation"},
        ["value.douyin", "value.kuaishou", "value.gen_x", "value.silver"],
    ),
    "effects": (
        lambda ax, lang: ins.plot_effects(effects(), ax=ax, lang=lang),
        {"retention_d30", "aov", "control", "treatment"},
        ["metric.retention_d30", "metric.aov"],
    ),
    "dose_response": (
        lambda ax, lang: ins.plot_dose_response(dose(), ax=ax, lang=lang),
        {"retention_d30"},
        ["metric.retention_d30"],
    ),
    "funnel": (
        lambda ax, lang: ins.plot_funnel(funnel(), ax=ax, lang=lang),
        {"viewers", "ordered"},
        ["figure.funnel.stages.viewers", "figure.funnel.stages.ordered"],
    ),
    "pareto": (
        lambda ax, lang: ins.plot_pareto(pareto(), ax=ax, lang=lang),
        {"douyin", "mother_baby"},
        ["value.douyin", "value.mother_baby"],
    ),
    "ltv": (
        lambda ax, lang: ins.plot_ltv(ltv(), ax=ax, lang=lang),
        {"gen_x", "mother_baby"},
        ["value.gen_x", "value.mother_baby"],
    ),
    "retention_matrix": (
        lambda ax, lang: ins.plot_retention_matrix(matrix(), ax=ax, lang=lang),
        {"gen_x", "mean"},
        ["figure.cohort", "figure.period"],
    ),
    "transitions": (
        lambda ax, lang: ins.plot_transitions(transitions(), ax=ax, lang=lang),
        {"new", "active", "churned", "silent"},
        ["figure.transitions.new", "figure.transitions.churned"],
    ),
}

#: the catalog names metric families by template
TEMPLATES = {"metric.retention_d30": ("metric.retention_d{day}", {"day": 30})}


def expected(catalog_text: Callable[[str, str], str], lang: str, key: str) -> str:
    if key in TEMPLATES:
        template, fields = TEMPLATES[key]
        return catalog_text(lang, template).format(**fields)
    return catalog_text(lang, key)


def figure_texts(figure: Figure) -> list[str]:
    """Every visible text of the figure, split at line breaks and between the parts
    of a combined segment (``a · b``) and a facet title (``col = value``)."""
    figure.canvas.draw()
    out = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text():
            continue
        for line in text.get_text().split("\n"):
            out.append(line.strip())
            out.extend(p.strip() for p in line.replace(" = ", SEP).split(SEP))
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_no_code_on_a_figure_and_catalog_names_instead(name, lang, catalog_text):
    draw, codes, keys = CASES[name]
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    assert draw(ax, lang) is ax
    texts = figure_texts(fig)
    assert not codes & set(texts), f"{name} ({lang}) prints codes {sorted(codes & set(texts))}"
    joined = "\n".join(texts)
    for key in keys:
        assert expected(catalog_text, lang, key) in joined, (name, lang, key)


@pytest.mark.parametrize("lang", LANGS)
def test_values_the_catalog_does_not_know_print_as_they_are(lang, catalog_text):
    ax = ins.plot_segment_rates(rates(), lang=lang, show_n=False)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "my_own_label" in ticks and catalog_text(lang, "value.gen_x") in ticks
    ax = ins.plot_funnel(funnel(), lang=lang)
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "my_stage"


@pytest.mark.parametrize("lang", LANGS)
def test_axis_names_come_from_the_catalog(lang, catalog_text):
    frame = rates().with_columns(dimension=pl.lit("generation"))
    ax = ins.plot_segment_rates(frame, lang=lang)
    assert ax.get_ylabel() == expected(catalog_text, lang, "metric.retention_d30")
    name = catalog_text(lang, "dimension.generation")
    assert ax.get_xlabel() == name[:1].upper() + name[1:]
    ax = ins.plot_segment_rates(layers(), lang=lang, x="layer", hue="period")
    assert ax.get_xlabel() == catalog_text(lang, "figure.column.layer")
    assert ax.get_legend().get_title().get_text() == catalog_text(lang, "figure.column.period")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["2024Q2", "2024Q3"]


# ------------------------------------------------------------------- every plot: ax


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_plot_returns_the_ax_it_was_given(name):
    draw, _codes, _keys = CASES[name]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    out = draw(right, "en")
    assert out is right and isinstance(out, Axes)
    assert not left.lines and not left.collections and not left.texts  # nothing drawn elsewhere
    assert fig is right.get_figure()


@pytest.mark.parametrize(
    "plot",
    [ins.plot_segment_rates, ins.plot_survival, ins.plot_ltv, ins.plot_funnel, ins.plot_pareto],
)
def test_without_ax_every_plot_returns_one_axes(plot):
    data = {
        ins.plot_segment_rates: rates(),
        ins.plot_survival: km_table(["douyin"]),
        ins.plot_ltv: ltv(),
        ins.plot_funnel: funnel(),
        ins.plot_pareto: pareto(),
    }[plot]
    assert isinstance(plot(data), Axes)
    assert isinstance(ins.plot_survival(facet_curves(), col="platform"), Axes)


# ------------------------------------------------------------------- percent ticks


def test_percent_ticks_follow_a_two_and_a_half_percent_step():
    ax = ins.plot_segment_rates(rates(), show_n=False)
    ax.set_ylim(0.25, 0.45)
    ax.set_yticks(np.arange(0.25, 0.451, 0.025))
    ax.get_figure().canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "25.0%",
        "27.5%",
        "30.0%",
        "32.5%",
        "35.0%",
        "37.5%",
        "40.0%",
        "42.5%",
        "45.0%",
    ]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize(
    ("ticks", "labels"),
    [
        ([0.0, 0.1, 0.2], ["0%", "10%", "20%"]),
        ([0.0, 0.005, 0.01], ["0.0%", "0.5%", "1.0%"]),
        ([0.1, 0.1025, 0.105], ["10.00%", "10.25%", "10.50%"]),
    ],
)
def test_percent_decimals_are_the_fewest_that_write_every_tick(ticks, labels):
    fig, ax = plt.subplots()
    ax.set_ylim(ticks[0], ticks[-1])
    ax.set_yticks(ticks)
    percent_axis(ax.yaxis)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == labels


def test_percent_ticks_chosen_by_matplotlib_are_distinct():
    fig, ax = plt.subplots(figsize=(4, 6))
    ax.plot([0, 1], [0.301, 0.318])
    percent_axis(ax.yaxis)
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(shown) > 2 and len(set(shown)) == len(shown)


# ---------------------------------------------------------------- ltv, many cohorts


def legend_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_ltv_with_24_cohorts_colours_the_latest_six(catalog_text):
    frame = ltv(cohorts=24, segments=("all",))
    ax = ins.plot_ltv(frame)
    entries = legend_texts(ax)
    latest = ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
    assert entries == [*latest, catalog_text("en", "figure.ltv.others")]
    assert len(entries) <= 7
    faded = [a for a in ax.lines if str(a.get_gid()).startswith("faded:")]
    assert len(faded) == 18 and all(a.get_color() == faded[0].get_color() for a in faded)
    assert all(a.get_linewidth() < 1 for a in faded)
    bands = {c.get_gid() for c in ax.collections}
    assert bands == {f"ci:{c}" for c in latest}  # no band for the grey cohorts


def test_ltv_with_segments_and_chosen_cohorts(catalog_text):
    frame = ltv(cohorts=24)
    ax = ins.plot_ltv(frame, lang="zh")
    entries = legend_texts(ax)
    assert len(entries) == 7  # 6 // 2 segments = 3 latest cohorts x 2 segments, + others
    assert catalog_text("zh", "value.gen_x") + SEP + "2024-12" in entries
    ax = ins.plot_ltv(frame, highlight=["2023-01"])
    assert sorted(legend_texts(ax))[:2] == sorted(
        f"{catalog_text('en', f'value.{s}')}{SEP}2023-01" for s in ("gen_x", "mother_baby")
    )
    ax = ins.plot_ltv(frame, highlight=1)
    assert len(legend_texts(ax)) == 3
    with pytest.raises(ValueError, match="highlight"):
        ins.plot_ltv(frame, highlight=["1999-01"])
    with pytest.raises(ValueError, match="highlight"):
        ins.plot_ltv(frame, highlight=0)


def test_ltv_few_cohorts_all_in_colour_and_small_ones_still_hidden():
    frame = ltv(cohorts=3, segments=("all",)).with_columns(
        n=pl.when(pl.col("cohort") == "2023-03").then(5).otherwise(50)
    )
    ax = ins.plot_ltv(frame)
    assert legend_texts(ax) == ["2023-01", "2023-02"]
    assert not [a for a in ax.lines if str(a.get_gid()).startswith("faded:")]
    assert [t for t in ax.texts if t.get_gid() == "hidden-note"]
