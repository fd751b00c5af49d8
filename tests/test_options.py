"""``ins.options``: the language and the smallest group shown, set once (issue 12).

Read and set, restored by a ``with`` block, checked; and seen through what the
functions draw and print: under ``ins.options(lang="zh")`` a figure carries the
Chinese catalog's words (read here from the YAML, not through the package's catalog
code), under ``ins.options(min_cell=20)`` a group of 15 users that the default shows
is hidden, and a keyword on the call still wins over the option.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import insights as ins  # noqa: E402

CATALOGS = Path(__file__).resolve().parents[1] / "src" / "insights" / "narrative"


def yaml_text(lang: str, dotted: str) -> str:
    """A catalog entry read straight from ``catalog_<lang>.yaml``."""
    node: Any = yaml.safe_load((CATALOGS / f"catalog_{lang}.yaml").read_text(encoding="utf-8"))
    for part in dotted.split("."):
        node = node[part]
    assert isinstance(node, str)
    return node


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture(autouse=True)
def _restore_options() -> Iterator[None]:
    """Every test starts from, and leaves, the options it found; figures are closed."""
    before = ins.options()
    yield
    ins.options(lang=before.lang, min_cell=before.min_cell)
    plt.close("all")


# ---- read, set, restore, check --------------------------------------------------------


def test_defaults_and_plain_set_stays() -> None:
    assert (ins.options().lang, ins.options().min_cell) == ("en", 10)
    ins.options(lang="zh")
    assert (ins.options().lang, ins.options().min_cell) == ("zh", 10)  # min_cell kept
    ins.options(min_cell=25)
    assert (ins.options().lang, ins.options().min_cell) == ("zh", 25)  # lang kept


def test_with_block_restores_even_nested_and_after_an_error() -> None:
    with ins.options(lang="zh", min_cell=20) as opts:
        assert (opts.lang, opts.min_cell) == ("zh", 20)
        assert (ins.options().lang, ins.options().min_cell) == ("zh", 20)
        with ins.options(min_cell=0):
            assert (ins.options().lang, ins.options().min_cell) == ("zh", 0)
        assert (ins.options().lang, ins.options().min_cell) == ("zh", 20)
    assert (ins.options().lang, ins.options().min_cell) == ("en", 10)
    with pytest.raises(RuntimeError, match="boom"), ins.options(lang="zh"):
        raise RuntimeError("boom")
    assert ins.options().lang == "en"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lang": "fr"}, "lang must be one of"),
        ({"lang": "ZH"}, "lang must be one of"),
        ({"min_cell": -1}, "min_cell must be an integer >= 0"),
        ({"min_cell": True}, "min_cell must be an integer >= 0"),
        ({"min_cell": 2.5}, "min_cell must be an integer >= 0"),
        ({"min_cell": "10"}, "min_cell must be an integer >= 0"),
    ],
)
def test_bad_options_are_refused_and_change_nothing(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ins.options(**kwargs)
    assert (ins.options().lang, ins.options().min_cell) == ("en", 10)


def test_bad_keyword_on_a_call_is_still_refused() -> None:
    with ins.options(lang="zh", min_cell=20):
        with pytest.raises(ValueError, match="lang must be one of"):
            ins.plot_survival(survival_table(), lang="fr")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="min_cell"):
            ins.plot_segment_rates(rates_frame(), min_cell=-1)
        with pytest.raises(ValueError, match="min_cell"):
            ins.format_table(rates_frame(), min_cell=True)


# every public function that writes text or draws, or suppresses small cells
PRESENTATION = [
    "format_table", "lifecycle_transitions", "plot_dose_response", "plot_effects", "plot_funnel",
    "plot_ltv", "plot_pareto", "plot_retention_matrix", "plot_segment_rates", "plot_survival",
    "plot_transitions", "retention_matrix",
]  # fmt: skip


@pytest.mark.parametrize("name", PRESENTATION)
def test_lang_and_min_cell_default_to_the_options(name: str) -> None:
    params = inspect.signature(getattr(ins, name)).parameters
    assert "min_cell" in params
    for p in ("lang", "min_cell"):
        if p in params:
            assert params[p].default is None, f"{name}({p}=...) should default to ins.options"
            assert params[p].kind is inspect.Parameter.KEYWORD_ONLY


def test_every_plot_takes_both() -> None:
    import insights.viz as viz

    plots = [n for n in ins.__all__ if n.startswith("plot_")]
    assert set(plots) <= set(PRESENTATION)
    for f in [*(getattr(ins, n) for n in plots), viz.retention_matrix_html, ins.format_table]:
        params = inspect.signature(f).parameters
        assert params["lang"].default is None and params["min_cell"].default is None


# ---- frames with one group of 15 (shown at min_cell 10, hidden at 20) -------------------


def survival_table() -> pl.DataFrame:
    """Kaplan-Meier rows of segment a (40 users) and b (15 users)."""
    return pl.DataFrame(
        {"segment": ["a"] * 3 + ["b"] * 3, "t": [0, 5, 9] * 2,
         "survival": [1.0, 0.8, 0.5, 1.0, 0.6, 0.3], "ci_low": [1.0, 0.7, 0.4, 1.0, 0.5, 0.2],
         "ci_high": [1.0, 0.9, 0.6, 1.0, 0.7, 0.4], "at_risk": [40, 40, 20, 15, 15, 6],
         "events": [0, 8, 10, 0, 6, 3], "censored": [0, 0, 10, 0, 0, 3]}
    )  # fmt: skip


def rates_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"metric": "retention_d30", "segment": ["a", "b"], "value": [0.3, 0.4],
         "ci_low": [0.25, 0.2], "ci_high": [0.35, 0.6], "n": [300, 15]}
    )  # fmt: skip


def dose_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"metric": "order_rate", "segment": ["d00", "d01", "d02"], "decile": [0, 1, 2],
         "value": [0.1, 0.2, 0.3], "ci_low": [0.08, 0.17, 0.1], "ci_high": [0.12, 0.23, 0.5],
         "n": [900, 400, 15]}
    )  # fmt: skip


def effects_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"outcome": ["retention_d7", "aov"], "arm": "treatment", "control": "control",
         "n_arm": [500, 200], "n_control": [500, 15], "relative": [0.1, 0.02],
         "relative_ci_low": [0.03, -0.1], "relative_ci_high": [0.17, 0.14],
         "p_adjusted": [0.01, 0.7]}
    )  # fmt: skip


def funnel_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"step": [1, 2, 3], "stage": ["viewers", "clicked", "ordered"], "users": [200, 50, 15],
         "value": [1.0, 0.25, 0.3], "ci_low": [None, 0.195, 0.19], "ci_high": [None, 0.314, 0.44],
         "n": [200, 200, 50], "overall": [1.0, 0.25, 0.075], "drop_off": [None, 0.75, 0.7]}
    )  # fmt: skip


def ltv_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"cohort": ["2024-01"] * 3 + ["2024-02"] * 3, "t": [0, 7, 30] * 2,
         "value": [1.0, 3.0, 5.0, 2.0, 4.0, 6.0], "n": [50] * 3 + [15] * 3}
    )  # fmt: skip


def pareto_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"segment": ["a"] * 3 + ["b"] * 3, "buyer_share": [0.0, 0.2, 1.0] * 2,
         "value": [0.0, 0.7, 1.0, 0.0, 0.5, 1.0], "n": [50] * 3 + [15] * 3}
    )  # fmt: skip


def matrix_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"cohort": ["2024-01", "2024-01", "2024-02", "2024-02"], "period": [0, 1, 0, 1],
         "value": [1.0, 0.4, 1.0, 0.4], "n": [50, 50, 15, 15], "retained": [50, 20, 15, 6],
         "complete": [True, True, True, False]}
    )  # fmt: skip


def transitions_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"from_layer": ["new", "new"], "to_layer": ["active", "churned"], "value": [0.75, 0.25],
         "users": [45, 15], "n": [60, 60], "suppressed": [False, False]}
    )  # fmt: skip


PLOTS: dict[str, Callable[[], Any]] = {
    "plot_survival": survival_table,
    "plot_segment_rates": rates_frame,
    "plot_dose_response": dose_frame,
    "plot_effects": effects_frame,
    "plot_funnel": funnel_frame,
    "plot_ltv": ltv_frame,
    "plot_pareto": pareto_frame,
    "plot_retention_matrix": matrix_frame,
    "plot_transitions": transitions_frame,
}


def drawn(name: str, **kwargs: Any) -> list[tuple[str, str, str]]:
    """What a reader of the figure sees: every artist's type, gid and text, sorted."""
    ax = getattr(ins, name)(PLOTS[name](), **kwargs)
    fig = ax.figure
    seen = []
    for artist in fig.findobj():
        text = artist.get_text() if isinstance(artist, Text) else ""
        if text or artist.get_gid():
            seen.append((type(artist).__name__, str(artist.get_gid() or ""), text))
    plt.close(fig)
    return sorted(seen)


def texts(view: list[tuple[str, str, str]]) -> str:
    return "\n".join(t for _, _, t in view)


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_min_cell_option_hides_the_small_group_and_a_keyword_wins(name: str) -> None:
    default = drawn(name)
    explicit_20 = drawn(name, min_cell=20)
    assert explicit_20 != default  # the group of 15 is shown at 10 and hidden at 20
    notes = {yaml_text("en", f"figure.{key}").format(k=k, m=20)
             for key in ("hidden_groups", "hidden_segments", "hidden_cells")
             for k in (1, 2)}  # fmt: skip
    words = texts(explicit_20)
    assert "<20" in words or any(note in words for note in notes)
    with ins.options(min_cell=20):
        assert drawn(name) == explicit_20
        assert drawn(name, min_cell=10) == default
    assert drawn(name) == default  # restored


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_lang_option_draws_in_chinese_and_a_keyword_wins(name: str) -> None:
    default = drawn(name)
    assert not has_cjk(texts(default))
    with ins.options(lang="zh"):
        chinese = drawn(name)
        assert has_cjk(texts(chinese))
        assert chinese == drawn(name, lang="zh")
        assert drawn(name, lang="en") == default


def test_plot_survival_under_options_speaks_the_zh_catalog_and_hides_group_b() -> None:
    with ins.options(lang="zh", min_cell=20):
        ax = ins.plot_survival(survival_table())
    assert ax.get_xlabel() == yaml_text("zh", "figure.days")
    assert ax.get_ylabel() == yaml_text("zh", "figure.retained")
    (table,) = [c for c in ax.child_axes if c.get_gid() == "risk-table"]
    shown = [t.get_text() for t in table.findobj(Text)]
    assert yaml_text("zh", "figure.at_risk") in shown
    curves = {ln.get_gid() for ln in ax.lines if str(ln.get_gid()).startswith("curve:")}
    assert curves == {"curve:a"}  # b has 15 users < 20
    note = yaml_text("zh", "figure.hidden_groups").format(k=1, m=20)
    assert sum(note in t.get_text() for t in ax.figure.findobj(Text)) == 1  # legend or corner


def test_plot_survival_by_default_shows_group_b_in_english() -> None:
    ax = ins.plot_survival(survival_table())
    assert ax.get_xlabel() == yaml_text("en", "figure.days")
    curves = {ln.get_gid() for ln in ax.lines if str(ln.get_gid()).startswith("curve:")}
    assert curves == {"curve:a", "curve:b"}
    template = yaml_text("en", "figure.hidden_groups")  # "{k} group(s) hidden (< {m} users, or to protect one)"
    note = re.compile(re.escape(template).replace(r"\{k\}", r"\d+").replace(r"\{m\}", r"\d+"))
    assert note.search(template.format(k=1, m=20))  # the pattern finds a note
    assert not any(note.search(t.get_text()) for t in ax.figure.findobj(Text))


def test_plot_survival_keywords_beat_the_options() -> None:
    with ins.options(lang="zh", min_cell=20):
        ax = ins.plot_survival(survival_table(), lang="en", min_cell=10)
    assert ax.get_xlabel() == yaml_text("en", "figure.days")
    assert ax.get_ylabel() == yaml_text("en", "figure.retained")
    curves = {ln.get_gid() for ln in ax.lines if str(ln.get_gid()).startswith("curve:")}
    assert curves == {"curve:a", "curve:b"}


def test_retention_matrix_html_follows_the_options() -> None:
    from insights.viz import retention_matrix_html

    default = retention_matrix_html(matrix_frame())
    assert 'title="n = 15' in default  # the cohort of 15 has tooltips at min_cell 10
    with ins.options(lang="zh", min_cell=20):
        html = retention_matrix_html(matrix_frame())
        assert retention_matrix_html(matrix_frame(), lang="en", min_cell=10) == default
    assert 'title="n = 15' not in html and "&lt;20" in html
    assert yaml_text("zh", "figure.cohort") in html


# ---- tables ---------------------------------------------------------------------------


def table_rows(markdown: str) -> list[list[str]]:
    lines = markdown.splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] for line in [lines[0], *lines[2:]]]


def test_format_table_hides_a_small_row_under_the_option() -> None:
    frame = rates_frame().select("segment", "value", "n")
    default = table_rows(ins.format_table(frame))
    assert default[2] == ["b", "0.4", "15"]  # shown at min_cell 10 (plain numbers)
    small = yaml_text("en", "table.suppressed").format(min_cell=20)
    with ins.options(min_cell=20):
        hidden = table_rows(ins.format_table(frame))
        assert table_rows(ins.format_table(frame, min_cell=10)) == default
    assert small == "<20"
    # segment a (300 users) is hidden too: the two make one whole, and a total printed
    # anywhere minus a's 300 would give b's 15 back
    assert hidden[1] == ["a", "–", "–"]
    assert hidden[2] == ["b", "–", small]
    from insights.tables import table_frame

    with ins.options(min_cell=20):
        assert table_frame(frame)["n"].to_list() == ["–", small]


def test_format_table_headers_follow_the_lang_option() -> None:
    frame = rates_frame().select("segment", "n")
    with ins.options(lang="zh"):
        zh = table_rows(ins.format_table(frame))
        en = table_rows(ins.format_table(frame, lang="en"))
    assert zh[0] == [yaml_text("zh", "column.segment"), yaml_text("zh", "column.n")]
    assert en[0] == [yaml_text("en", "column.segment"), yaml_text("en", "column.n")]
    assert table_rows(ins.format_table(frame)) == en


# ---- metrics that suppress small cells --------------------------------------------------


def _users_views() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Users 1, 2 first seen 2024-01-01 (user 1 back on 2024-02-05), user 3 on 2024-02-01."""
    d = dt.datetime
    users = pl.DataFrame(
        {"user_id": [1, 2, 3], "first_seen_at": [d(2024, 1, 1), d(2024, 1, 1), d(2024, 2, 1)]}
    )
    views = pl.DataFrame({"user_id": [1], "started_at": [d(2024, 2, 5)], "watch_seconds": [60.0]})
    return users, views


def test_retention_matrix_suppresses_by_the_option() -> None:
    users, views = _users_views()
    ds = ins.frames_dataset(users=users, views=views, as_of="2024-03-31")
    default = ins.retention_matrix(ds, kind="on")
    observed = default.filter(pl.col("n") > 0)  # n = 1 or 2 < 10: every cell hidden
    assert observed.height == 8
    assert observed["suppressed"].all() and observed["value"].is_null().all()
    with ins.options(min_cell=1):
        shown = ins.retention_matrix(ds, kind="on")
        assert ins.retention_matrix(ds, kind="on", min_cell=10).equals(default)
    first = shown.filter(pl.col("cohort") == "2024-01").select("period", "value", "n").rows()
    # hand count: cohort 2024-01 has 2 users, user 1 returns 35 days later (period 1)
    assert first[:3] == [(0, 1.0, 2), (1, 0.5, 2), (2, 0.0, 2)]
    assert not shown["suppressed"].any()


def test_retention_matrix_cache_keys_on_the_resolved_min_cell(tmp_path: Path, monkeypatch) -> None:
    """A remembered result computed under one option is not served under another."""
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(tmp_path / "cache"))
    users, views = _users_views()
    (tmp_path / "d").mkdir()
    users.write_parquet(tmp_path / "d" / "users.parquet")
    views.write_parquet(tmp_path / "d" / "views.parquet")
    ds = ins.load_dataset(tmp_path / "d", as_of="2024-03-31")
    hidden = ins.retention_matrix(ds, kind="on")
    assert hidden.filter(pl.col("n") > 0)["suppressed"].all()
    assert any((tmp_path / "cache").rglob("*.entry"))  # remembered
    with ins.options(min_cell=1):
        assert not ins.retention_matrix(ds, kind="on")["suppressed"].any()
    assert ins.retention_matrix(ds, kind="on").equals(hidden)


def test_lifecycle_transitions_suppresses_by_the_option() -> None:
    users, views = _users_views()
    ds = ins.frames_dataset(users=users, views=views, as_of="2024-06-30")
    default = ins.lifecycle_transitions(ds, at=["2024Q1", "2024Q2"])
    with ins.options(min_cell=0):
        shown = ins.lifecycle_transitions(ds, at=["2024Q1", "2024Q2"])
        assert ins.lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], min_cell=10).equals(default)
    nonzero = pl.col("users") > 0
    assert shown.filter(nonzero)["suppressed"].not_().all()
    assert default.filter(pl.col("suppressed")).height == shown.filter(nonzero).height
    # hand count (silent: 30 <= days since last seen <= 90): at 2024-03-31 user 1 (last seen
    # 2024-02-05, 55 days), user 2 (2024-01-01, 90 days) and user 3 (first seen 2024-02-01,
    # 59 days, no longer new) are silent; at 2024-06-30 all are > 90 days away: churned
    assert shown.filter(nonzero).select("from_layer", "to_layer", "users").rows() == [
        ("silent", "churned", 3)
    ]
