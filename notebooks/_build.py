"""Write the chapter notebooks (``python notebooks/_build.py``).

The chapters share their front matter, parameters cell and set-up, so they are
generated here and committed as plain ``.ipynb`` files without outputs. Edit this
file, run it, and commit both. Notebooks hold no reusable logic: every number,
sentence, table and figure comes from ``insights``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_raw_cell

from insights.narrative import caption, chapter_title

HERE = Path(__file__).parent

PARAMETERS = """\
data = "../data/demo"
quarter = "2024Q4"
compare_to = None
segment_by = None
filters = None
lang = "zh"
min_cell = 10"""

SETUP = """\
import polars as pl

import insights.metrics as m
import insights.narrative as nr
from insights.data import load_dataset
from insights.kpis import comparison_quarter
from insights.metrics import parse_period
from insights.tables import format_table

period = parse_period(quarter)
ds = load_dataset(data)
ds = ds.with_as_of(min(period.end_at, ds.as_of))
previous = comparison_quarter(period, compare_to or "previous").label
year = period.label[:4]
where = filters
dims = [segment_by] if isinstance(segment_by, str) else list(segment_by or nr.DEFAULT_SEGMENTS)"""


def front(title: str, index: int) -> nbformat.NotebookNode:
    """Quarto front matter; ``title-zh``/``title-en`` let the built-in renderer print the report's language."""
    zh, en = chapter_title(index, lang="zh"), chapter_title(index, lang="en")
    return new_raw_cell(
        f'---\ntitle: "{title}"\ntitle-zh: "{zh}"\ntitle-en: "{en}"\njupyter: python3\nexecute:\n  echo: false\n---'
    )


def code(source: str, **options: str) -> nbformat.NotebookNode:
    quote = {"fig_cap", "tbl_cap", "fig_cap_zh", "fig_cap_en", "tbl_cap_zh", "tbl_cap_en"}
    head = "".join(
        f"#| {k.replace('_', '-')}: {json.dumps(v, ensure_ascii=False) if k in quote else v}\n"
        for k, v in options.items()
    )
    return new_code_cell(head + source.strip("\n"))


def asis(source: str) -> nbformat.NotebookNode:
    return code(source, output="asis")


_NEEDS = re.compile(r'^if ds\.has\("(\w+)"\):\n')


def _or_not_available(source: str) -> str:
    """``if ds.has("t"): ...`` gains ``else: print(nr.not_available("t", ...))``.

    A figure or table cell must show one figure or table; when an optional table is
    absent it prints the marked sentence the renderer shows instead.
    """
    need = _NEEDS.match(source)
    if need is None or re.search(r"^else:", source, re.MULTILINE):
        return source
    return f'{source}\nelse:\n    print(nr.not_available("{need.group(1)}", lang=lang))'


def figure(label: str, source: str) -> nbformat.NotebookNode:
    """A figure cell; its caption is the English ``caption.<label>`` of the narrative catalog."""
    return code(
        _or_not_available(source),
        label=label,
        fig_cap=caption(label, lang="en"),
        fig_cap_zh=caption(label, lang="zh"),
        fig_cap_en=caption(label, lang="en"),
    )


def table(label: str, source: str) -> nbformat.NotebookNode:
    """A table cell printing one Markdown table; caption from the catalog like :func:`figure`."""
    return code(
        _or_not_available(source),
        label=label,
        tbl_cap=caption(label, lang="en"),
        tbl_cap_zh=caption(label, lang="zh"),
        tbl_cap_en=caption(label, lang="en"),
        output="asis",
    )


def notebook(title: str, cells: list[nbformat.NotebookNode], index: int) -> nbformat.NotebookNode:
    params = new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})
    setup = SETUP
    if not any("m." in c.source.replace("nr.", "") for c in cells):
        setup = setup.replace("import insights.metrics as m\n", "")
    nb = new_notebook(cells=[front(title, index), params, new_code_cell(setup), *cells])
    for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives the same file
        cell.id = f"cell-{i:02d}"
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


CHAPTERS: dict[str, tuple[str, list[nbformat.NotebookNode]]] = {}


def chapter(name: str, title: str, *cells: nbformat.NotebookNode) -> None:
    CHAPTERS[name] = (title, list(cells))


chapter(
    "00-summary",
    "Executive summary",
    code("""\
from insights.kpis import kpi_scorecard

scorecard, notes = kpi_scorecard(ds, quarter=quarter, compare_to=compare_to or "previous", min_cell=min_cell)
year_ago, _ = kpi_scorecard(ds, quarter=quarter, compare_to="year_ago", min_cell=min_cell)
summary = nr.scorecard_summary(scorecard, year_ago, quarter=quarter)"""),
    asis("""\
print(nr.heading("key_findings", lang=lang))
print(nr.bullets(nr.key_findings(scorecard, quarter=quarter, lang=lang, min_cell=min_cell)))"""),
    table(
        "tbl-scorecard",
        """\
print(format_table(nr.scorecard_table(summary, lang=lang, min_cell=min_cell), lang=lang))
print()
print(nr.message("sig.footnote", lang=lang))""",
    ),
    asis("""\
print(nr.heading("alerts", lang=lang))
print(nr.bullets(nr.alerts(scorecard, quarter=quarter, lang=lang, min_cell=min_cell)))"""),
    asis("""\
print(nr.heading("playbook", lang=lang))
print(nr.bullets(nr.playbook_lines(summary, lang=lang, period=quarter, min_cell=min_cell)))"""),
    asis("""\
print(nr.heading("documents", lang=lang))
print(nr.bullets(nr.document_lines(scorecard.filter(pl.col("quarter") == quarter), lang=lang, min_cell=min_cell)))"""),
    code("""\
assert {"retention_d7", "retention_d30", "aov_yuan"} <= set(scorecard["metric"])
rates = scorecard.filter(pl.col("metric").str.starts_with("retention") & pl.col("value").is_not_null())
assert rates["value"].is_between(0, 1).all()
assert summary.height == scorecard["metric"].n_unique()
# the scorecard agrees with the metrics computed directly for the quarter
direct = {"retention_d30": m.retention_rates(ds, period=quarter, days=(30,))["value"][0], "aov_yuan": m.aov(ds, period=quarter)["value"][0]}
for metric, value in direct.items():
    shown = summary.filter(pl.col("metric") == metric)["value"][0]
    assert shown is None or abs(shown - value) < 1e-9, (metric, shown, value)"""),
)

chapter(
    "01-growth",
    "User growth",
    code("""\
from insights.metrics.activity import default_quarters

quarters = default_quarters(period.end, count=5)
active = m.active_users(ds, quarters=quarters, where=where)
new = m.new_users(ds, periods=quarters, where=where)
by_channel = m.new_users(ds, periods=quarters, by="channel", where=where)
organic = pl.concat([m.new_user_share(ds, period=q, values=["organic"], where=where) for q in quarters])
conversion = pl.concat([m.first_purchase_conversion(ds, period=q, where=where) for q in quarters])"""),
    asis("""\
print(nr.heading("growth_users", lang=lang))
rows = {q: active.filter(pl.col("period") == q) for q in (quarter, previous)}
print(nr.bullets([
    nr.describe_change(rows[quarter], rows[previous], lang=lang, min_cell=min_cell),
    nr.describe_change(new.filter(pl.col("period") == quarter), new.filter(pl.col("period") == previous),
                       lang=lang, min_cell=min_cell),
    nr.describe_change(organic.filter(pl.col("period") == quarter), organic.filter(pl.col("period") == previous),
                       lang=lang, min_cell=min_cell),
]))"""),
    table(
        "tbl-active-users",
        """\
print(format_table(pl.concat([active.select("metric", "period", "value", "n"), new.select("metric", "period", "value", "n")]),
                   lang=lang, min_cell=min_cell))""",
    ),
    table(
        "tbl-new-users-channel",
        """\
print(format_table(by_channel.select("period", "segment", "n"), lang=lang, min_cell=min_cell))""",
    ),
    figure(
        "fig-platform-mix",
        """\
from insights.viz import plot_segment_rates

platforms = m.new_users(ds, periods=[quarter], by="platform", where=where)["segment"]
mix = pl.concat([m.user_share(ds, period=quarter, column="platform", values=[v], where=where, label=v) for v in platforms])
ax = plot_segment_rates(mix, lang=lang, min_cell=min_cell)""",
    ),
    table(
        "tbl-new-user-mix",
        """\
mixes = pl.concat([
    m.user_share(ds, period=quarter, column="city_tier", values=["tier3", "tier4_county"], label="lower_tier", where=where),
    m.user_share(ds, period=quarter, column="generation", values=["gen_z"], where=where),
    m.user_share(ds, period=quarter, column="income_band", values=["new_middle_class"], where=where),
])
print(format_table(mixes.select("metric", "segment", "value", "ci_low", "ci_high", "n"), lang=lang, min_cell=min_cell))""",
    ),
    table(
        "tbl-cac",
        """\
if ds.has("spend"):
    cac = m.cac(ds, period=quarter, by="channel")
    aov = m.aov(ds, period=quarter, where=where)
    print(format_table(pl.concat([cac.select("metric", "segment", "value", "n"), aov.select("metric", "segment", "value", "n")]),
                       lang=lang, min_cell=min_cell))
else:
    print(nr.not_available("spend", lang=lang))""",
    ),
    asis("""\
print(nr.heading("growth_quality", lang=lang))
engagement = [m.watch_minutes_per_session(ds, period=q, where=where) for q in (quarter, previous)]
bounce = [m.bounce_rate(ds, period=q, where=where) for q in (quarter, previous)]
print(nr.bullets([
    nr.describe_change(conversion.filter(pl.col("period") == quarter), conversion.filter(pl.col("period") == previous),
                       lang=lang, min_cell=min_cell),
    nr.describe_change(*engagement, lang=lang, min_cell=min_cell),
    nr.describe_change(*bounce, lang=lang, min_cell=min_cell),
]))"""),
    table(
        "tbl-conversion",
        """\
print(format_table(conversion.select("metric", "period", "value", "ci_low", "ci_high", "n"), lang=lang, min_cell=min_cell))""",
    ),
    asis("""\
print(nr.heading("documents", lang=lang))
frames = [organic.filter(pl.col("period") == year + "Q4"), engagement[0], bounce[0],
          conversion.filter(pl.col("period") == quarter)]
if ds.has("spend"):
    frames.append(m.cac(ds, period=int(year)))
print(nr.bullets(nr.document_lines(pl.concat([f.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n")
                                              for f in frames]), lang=lang, period=year, min_cell=min_cell)))"""),
    code("""\
assert active["value"].min() > 0
assert organic["value"].is_between(0, 1).all() and conversion["value"].is_between(0, 1).all()
# new users of each quarter add up over channels
for q in quarters:
    assert new.filter(pl.col("period") == q)["n"][0] == by_channel.filter(pl.col("period") == q)["n"].sum(), q"""),
)

chapter(
    "02-retention",
    "Retention",
    code("""\
from insights.metrics.retention import retention_curves
from insights.metrics.retention_index import retention_index
from insights.metrics.retention_matrix import retention_matrix
from insights.stats.comparison import compare_survival
from insights.viz import plot_retention_matrix, plot_segment_rates, plot_survival

columns = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
index = retention_index(ds, years=(2021, int(year)), where=where).components
index_base, index_now = (index.filter(pl.col("year") == y).select(columns) for y in (2021, int(year)))
curves = retention_curves(ds, period=quarter, where=where)
rates = m.retention_rates(ds, period=quarter, days=(7, 30, 60, 90), where=where)"""),
    asis("""\
print(nr.heading("retention_index", lang=lang))
print(nr.bullets([nr.describe_change(index_now.filter(pl.col("metric") == k), index_base.filter(pl.col("metric") == k),
                                     lang=lang, min_cell=min_cell)
                  for k in index_now["metric"]]))"""),
    table(
        "tbl-retention-index",
        """\
print(format_table(index.select("metric", "period", "value", "ci_low", "ci_high", "n"), lang=lang, min_cell=min_cell))""",
    ),
    figure(
        "fig-km-new-users",
        """\
ax = plot_survival(curves, lang=lang, min_cell=min_cell)""",
    ),
    asis("""\
print(nr.heading("churn_timing", lang=lang))
print(nr.bullets([nr.describe_value(r, lang=lang, min_cell=min_cell) for r in rates.iter_rows(named=True)]))"""),
    table(
        "tbl-churn-timing",
        """\
print(format_table(rates.select("metric", "value", "ci_low", "ci_high", "n", "at_risk"), lang=lang, min_cell=min_cell,
                   n_cols=("n", "at_risk")))""",
    ),
    code("""\
segment_curves = retention_curves(ds, period=quarter, by=dims[0], where=where)
segment_test = compare_survival(segment_curves, milestones=[7, 30])"""),
    figure(
        "fig-km-segments",
        """\
ax = plot_survival(segment_curves, comparison=segment_test, lang=lang, min_cell=min_cell, at_risk_table=False)""",
    ),
    code("""\
by_segment = pl.concat([m.retention_rates(ds, period=quarter, days=(7, 30, 60), by=d, where=where).with_columns(
    dimension=pl.lit(d)) for d in dims])"""),
    asis("""\
print(nr.heading("retention_segments", lang=lang))
print(nr.bullets([nr.describe_spread(by_segment.filter((pl.col("dimension") == d) & (pl.col("metric") == "retention_d30")),
                                     lang=lang, dimension=d, min_cell=min_cell) or "" for d in dims]))"""),
    figure(
        "fig-d30-segments",
        """\
ax = plot_segment_rates(by_segment.filter((pl.col("dimension") == dims[0]) & (pl.col("metric") == "retention_d30")),
                        lang=lang, min_cell=min_cell)""",
    ),
    table(
        "tbl-retention-segments",
        """\
print(format_table(by_segment.select("dimension", "segment", "metric", "value", "ci_low", "ci_high", "n"),
                   lang=lang, min_cell=min_cell))""",
    ),
    table(
        "tbl-rmst-segments",
        """\
print(format_table(segment_curves.summary.select("group", "n", "median", "median_ci_low", "median_ci_high", "tau", "rmst",
                                                 "rmst_ci_low", "rmst_ci_high"), lang=lang, min_cell=min_cell, ci=False))""",
    ),
    figure("fig-cohort-matrix", """\
matrix = retention_matrix(ds, cohort="month", period="month", cohort_period=int(year), periods=6, where=where,
                          min_cell=min_cell)
ax = plot_retention_matrix(matrix, lang=lang, min_cell=min_cell)"""),
    asis("""\
print(nr.heading("acquisition_quality", lang=lang))
quality = m.retention_rates(ds, period=quarter, days=(30,), by="channel", where={**(where or {}), "channel": ["campaign", "organic"]})
rows = {r["segment"]: r for r in quality.iter_rows(named=True)}
if {"campaign", "organic"} <= set(rows):
    print(nr.bullets([nr.describe_change({**rows["campaign"], "period": "campaign"}, {**rows["organic"], "period": "organic"},
                                         lang=lang, min_cell=min_cell, previous_label=nr.value_label("organic", lang=lang))]))"""),
    asis("""\
print(nr.heading("documents", lang=lang))
print(nr.bullets(nr.document_lines(pl.concat([index_now, m.retention_rates(ds, period=int(year), days=(7,), where=where)
                                              .select(columns)]), lang=lang, min_cell=min_cell)))"""),
    code("""\
assert rates["value"].is_between(0, 1).all()
assert (rates.sort("day")["value"].diff().drop_nulls() <= 0).all()
assert curves.table["survival"].is_between(0, 1).all()
# D30 retention is the Kaplan-Meier curve at day 30
km30 = curves.table.filter(pl.col("t") <= 30).sort("t")["survival"][-1]
assert abs(rates.filter(pl.col("day") == 30)["value"][0] - km30) < 1e-9, km30"""),
)

chapter(
    "03-value",
    "Repurchase and customer value",
    code("""\
from insights.metrics.retention import retention_curves
from insights.viz import plot_segment_rates, plot_survival

second_order = retention_curves(ds, start="first_order", by="category", period=int(year), where=where)
cycle = m.repurchase_cycle(ds, period=int(year), by="category", where=where)
cycle_groups = m.repurchase_cycle(ds, period=int(year), by="category", where=where,
                                  groups={"beauty+apparel": ["beauty", "apparel"], "home+digital": ["home", "digital"]}
                                  ).filter(pl.col("segment").is_in(["beauty+apparel", "home+digital"]))
aov_now = pl.concat([m.aov(ds, period=quarter, by=d, where=where).with_columns(dimension=pl.lit(d)) for d in dims])
repurchase = pl.concat([m.repurchase_rate(ds, period=int(year), by=d, where=where).with_columns(dimension=pl.lit(d))
                        for d in dims])
top = m.gmv_share_top_buyers(ds, period=quarter, where=where)"""),
    asis("""\
print(nr.heading("repurchase_cycle", lang=lang))
print(nr.bullets([nr.describe_spread(cycle, lang=lang, dimension="category", min_cell=min_cell) or "",
                  *[nr.describe_value(r, lang=lang, min_cell=min_cell) for r in cycle_groups.iter_rows(named=True)]]))"""),
    figure(
        "fig-second-order",
        """\
ax = plot_survival(second_order, lang=lang, min_cell=min_cell, at_risk_table=False, median_lines=True)""",
    ),
    table(
        "tbl-repurchase-cycle",
        """\
print(format_table(pl.concat([cycle, cycle_groups]).select("metric", "segment", "value", "ci_low", "ci_high", "n"),
                   lang=lang, min_cell=min_cell))""",
    ),
    asis("""\
print(nr.heading("customer_value", lang=lang))
print(nr.bullets([nr.describe_value(top, lang=lang, min_cell=min_cell),
                  *[nr.describe_spread(aov_now.filter(pl.col("dimension") == d), lang=lang, dimension=d, min_cell=min_cell) or ""
                    for d in dims],
                  *[nr.describe_spread(repurchase.filter(pl.col("dimension") == d), lang=lang, dimension=d, min_cell=min_cell) or ""
                    for d in dims]]))"""),
    figure(
        "fig-aov-segments",
        """\
ax = plot_segment_rates(aov_now.filter(pl.col("dimension") == dims[0]), lang=lang, min_cell=min_cell)""",
    ),
    table(
        "tbl-repurchase-segments",
        """\
print(format_table(repurchase.select("dimension", "segment", "metric", "value", "ci_low", "ci_high", "n"), lang=lang,
                   min_cell=min_cell))""",
    ),
    asis("""\
print(nr.heading("documents", lang=lang))
columns = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
rows = pl.concat([m.repurchase_rate(ds, period=int(year), where=where).select(columns), top.select(columns),
                  cycle_groups.select(columns)])
print(nr.bullets(nr.document_lines(rows, lang=lang, min_cell=min_cell)))"""),
    code("""\
assert repurchase["value"].is_between(0, 1).all()
assert (cycle["value"].drop_nulls() > 0).all()
# the year's repurchase rate pools the segments of the first dimension
overall = m.repurchase_rate(ds, period=int(year), where=where)
parts = repurchase.filter(pl.col("dimension") == dims[0])
if parts["n"].sum() == overall["n"][0]:
    assert abs(parts["successes"].sum() / parts["n"].sum() - overall["value"][0]) < 1e-9"""),
)

chapter(
    "04-interaction",
    "Interaction",
    code("""\
from insights.metrics.activity import default_quarters
from insights.viz import plot_segment_rates

quarters = default_quarters(period.end, count=5)
by_quarter = pl.concat([m.interaction_rate(ds, period=q, where=where) for q in quarters])
by_dim = pl.concat([m.interaction_rate(ds, period=quarter, by=d, where=where).with_columns(dimension=pl.lit(d))
                    for d in ("city_tier", "generation", "category")])
uplift = m.interaction_uplift(ds, period=int(year))
chain = m.repurchase_after_interaction(ds, period=int(year))"""),
    asis("""\
print(nr.heading("interaction_rate", lang=lang))
print(nr.bullets([nr.describe_change(by_quarter.filter(pl.col("period") == quarter),
                                     by_quarter.filter(pl.col("period") == previous), lang=lang, min_cell=min_cell),
                  *[nr.describe_spread(by_dim.filter(pl.col("dimension") == d), lang=lang, dimension=d, min_cell=min_cell) or ""
                    for d in ("city_tier", "generation", "category")]]))"""),
    figure(
        "fig-interaction-tier",
        """\
ax = plot_segment_rates(by_dim.filter(pl.col("dimension") == "city_tier"), lang=lang, min_cell=min_cell)""",
    ),
    table(
        "tbl-interaction-quarters",
        """\
print(format_table(by_quarter.select("metric", "period", "value", "ci_low", "ci_high", "n"), lang=lang, min_cell=min_cell))""",
    ),
    asis("""\
print(nr.heading("high_interaction", lang=lang))
print(nr.bullets([nr.describe_value(r, lang=lang, min_cell=min_cell) for r in uplift.iter_rows(named=True)]
                 + [nr.describe_value(chain, lang=lang, min_cell=min_cell)]))"""),
    table(
        "tbl-interaction-uplift",
        """\
print(format_table(uplift.select("metric", "segment", "value_high", "value_ordinary", "value", "ci_low", "ci_high", "n"),
                   lang=lang, min_cell=min_cell, n_cols=("n",)))""",
    ),
    asis("""\
print(nr.heading("documents", lang=lang))
print(nr.bullets(nr.document_lines(pl.concat([m.interaction_rate(ds, period=int(year), where=where)
                                              .select("metric", "segment", "period", "value", "ci_low", "ci_high", "n"),
                                              uplift.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n")]),
                                   lang=lang, min_cell=min_cell)))"""),
    code("""\
assert by_quarter["value"].is_between(0, 1).all()
assert set(uplift["metric"]) == {"aov_uplift", "repurchase_uplift"}
# the quarter's interaction rate pools the city tiers
tiers, now = by_dim.filter(pl.col("dimension") == "city_tier"), by_quarter.filter(pl.col("period") == quarter)
if tiers["n"].sum() == now["n"][0]:
    assert abs(tiers["interacted"].sum() / tiers["n"].sum() - now["value"][0]) < 1e-9"""),
)

chapter(
    "05-private-domain",
    "Private domain",
    asis("""\
if not ds.has("community"):
    print(nr.message("sentence.missing_table", lang=lang, table="community"))"""),
    code("""\
from insights.metrics.activity import default_quarters
from insights.metrics.retention import retention_curves
from insights.viz import plot_segment_rates, plot_survival

if ds.has("community"):
    quarters = default_quarters(period.end, count=5)
    conversion = pl.concat([m.public_to_private_conversion(ds, period=q, where=where) for q in quarters])
    by_dim = pl.concat([m.public_to_private_conversion(ds, period=quarter, by=d, where=where).with_columns(dimension=pl.lit(d))
                        for d in dims])
    frequency = m.repurchase_frequency_ratio(ds, period=int(year), where=where)
    premium = m.private_aov_uplift(ds, period=int(year), where=where)
    exit_rate = m.community_exit_rate(ds, period=int(year), where=where)
    leaving = retention_curves(ds, start="community_join", period=int(year), where=where)"""),
    asis("""\
if ds.has("community"):
    print(nr.heading("private_funnel", lang=lang))
    print(nr.bullets([nr.describe_change(conversion.filter(pl.col("period") == quarter),
                                         conversion.filter(pl.col("period") == previous), lang=lang, min_cell=min_cell),
                      nr.describe_value(frequency, lang=lang, min_cell=min_cell),
                      nr.describe_value(premium, lang=lang, min_cell=min_cell),
                      nr.describe_value(exit_rate, lang=lang, min_cell=min_cell)]))"""),
    table(
        "tbl-private-conversion",
        """\
if ds.has("community"):
    print(format_table(conversion.select("metric", "period", "value", "ci_low", "ci_high", "n"), lang=lang, min_cell=min_cell))""",
    ),
    figure(
        "fig-private-segments",
        """\
if ds.has("community"):
    ax = plot_segment_rates(by_dim.filter(pl.col("dimension") == dims[0]), lang=lang, min_cell=min_cell)""",
    ),
    figure(
        "fig-community-leave",
        """\
if ds.has("community"):
    ax = plot_survival(leaving, lang=lang, min_cell=min_cell)""",
    ),
    table(
        "tbl-members",
        """\
if ds.has("community"):
    print(format_table(pl.concat([frequency.select("metric", "segment", "value", "ci_low", "ci_high", "n"),
                                  premium.select("metric", "segment", "value", "ci_low", "ci_high", "n"),
                                  exit_rate.select("metric", "segment", "value", "ci_low", "ci_high", "n")]),
                       lang=lang, min_cell=min_cell))""",
    ),
    asis("""\
if ds.has("community"):
    print(nr.heading("documents", lang=lang))
    rows = pl.concat([f.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n")
                      for f in (m.public_to_private_conversion(ds, period=int(year), where=where), frequency, premium, exit_rate)])
    print(nr.bullets(nr.document_lines(rows, lang=lang, min_cell=min_cell)))"""),
    code("""\
if ds.has("community"):
    assert conversion["value"].is_between(0, 1).all()
    assert frequency["value"][0] > 0
    # the quarter's conversion pools the segments of the first dimension
    parts, now = by_dim.filter(pl.col("dimension") == dims[0]), conversion.filter(pl.col("period") == quarter)
    if parts["n"].sum() == now["n"][0]:
        assert abs(parts["converted"].sum() / parts["n"].sum() - now["value"][0]) < 1e-9"""),
)

chapter(
    "06-lifecycle",
    "Lifecycle layers",
    code("""\
from insights.kpis import kpi_scorecard
from insights.metrics.activity import default_quarters
from insights.viz import plot_segment_rates

quarters = default_quarters(period.end, count=4)
layers = pl.concat([m.lifecycle_layers(ds, at=q, where=where) for q in quarters])
reactivation = m.silent_reactivation(ds, at=previous, where=where)
top = m.gmv_share_top_buyers(ds, period=quarter, where=where)
scorecard, _ = kpi_scorecard(ds, quarter=quarter, compare_to=compare_to or "previous", min_cell=min_cell)
kpis = pl.concat([scorecard.filter(pl.col("quarter") == quarter).select("metric", "segment", "value", "ci_low", "ci_high", "n"),
                  reactivation.select("metric", "segment", "value", "ci_low", "ci_high", "n")])"""),
    asis("""\
print(nr.heading("layers", lang=lang))
now = layers.filter(pl.col("period") == quarter)
print(nr.bullets([nr.describe_value(r | {"segment": r["layer"]}, lang=lang, min_cell=min_cell) for r in now.iter_rows(named=True)]
                 + [nr.describe_value(reactivation, lang=lang, min_cell=min_cell), nr.describe_value(top, lang=lang, min_cell=min_cell)]))"""),
    figure(
        "fig-layers",
        """\
ax = plot_segment_rates(layers, x="layer", hue="period", lang=lang, min_cell=min_cell, sort=False)""",
    ),
    table(
        "tbl-layers",
        """\
print(format_table(layers.select("period", "layer", "users", "value", "ci_low", "ci_high", "n"), lang=lang, min_cell=min_cell,
                   n_cols=("users",), percent_cols=("value", "ci_low", "ci_high")))""",
    ),
    table(
        "tbl-playbook",
        """\
print(format_table(nr.playbook_table(kpis, lang=lang, period=quarter, min_cell=min_cell), lang=lang))""",
    ),
    asis("""\
print(nr.heading("documents", lang=lang))
print(nr.bullets(nr.document_lines(pl.concat([reactivation.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n"),
                                              top.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n")]),
                                   lang=lang, min_cell=min_cell)))"""),
    code("""\
shares = layers.group_by("period").agg(pl.col("value").sum())
assert ((shares["value"] - 1).abs() < 1e-9).all()
assert set(layers["layer"]) == {"new", "active", "silent", "churned"}
# the reactivation base is the silent layer of the comparison quarter
silent = layers.filter((pl.col("period") == previous) & (pl.col("layer") == "silent"))
assert silent.height == 0 or silent["users"][0] == reactivation["n"][0], (silent, reactivation)"""),
)

chapter(
    "07-strategy-effects",
    "Strategy effects",
    asis("""\
if not ds.has("experiments"):
    print(nr.message("sentence.missing_table", lang=lang, table="experiments"))"""),
    code("""\
from insights.metrics.retention import retention_curves
from insights.stats.comparison import compare_survival
from insights.viz import plot_survival

if ds.has("experiments"):
    all_arms = retention_curves(ds, start="experiment", by=["experiment", "arm"])
    experiments = all_arms.summary["experiment"].unique(maintain_order=True).to_list()
    curves = {e: retention_curves(ds, start="experiment", by="arm", where={"experiment": e}) for e in experiments}
    tests = {e: compare_survival(c, milestones=[7, 30], cox=True, reference="control") for e, c in curves.items()}
    sizes = {e: dict(c.summary.select("group", "n").iter_rows()) for e, c in curves.items()}"""),
    asis("""\
if ds.has("experiments"):
    for e in experiments:
        print(f"## {nr.value_label(e, lang=lang)}")
        print()
        print(nr.bullets([nr.srm_sentence(sizes[e], lang=lang, min_cell=min_cell),
                          *nr.effect_lines(tests[e].milestones, lang=lang, sizes=sizes[e], min_cell=min_cell)]))
        print()"""),
    figure(
        "fig-experiment-curves",
        """\
if ds.has("experiments"):
    axes = plot_survival(all_arms, col="experiment", lang=lang, min_cell=min_cell, at_risk_table=False, xmax=90)""",
    ),
    table(
        "tbl-experiment-effects",
        """\
if ds.has("experiments"):
    effects = pl.concat([t.summary.filter(pl.col("estimate").is_not_null()).with_columns(experiment=pl.lit(e))
                         for e, t in tests.items()])
    print(format_table(effects.select("experiment", "measure", "group_a", "group_b", "estimate", "ci_low", "ci_high",
                                      "p_value", "p_adjusted"), lang=lang, min_cell=min_cell, digits=3))""",
    ),
    table(
        "tbl-experiment-outcomes",
        """\
from insights.metrics import DEFAULT_OUTCOMES, experiment_effects

primary = {"return_benefit_pack": ("order_90d",), "private_domain_invite": ("join_30d",)}
if ds.has("experiments"):
    effects_of = {e: experiment_effects(ds, experiment=e, outcomes=(*DEFAULT_OUTCOMES, *primary.get(e, ())), survival=False)
                  for e in experiments}
    outcomes = pl.concat([f.summary.with_columns(experiment=pl.lit(e)) for e, f in effects_of.items()])
    print(format_table(outcomes.select("experiment", "outcome", "arm", "n_arm", "n_control", "value_arm", "value_control",
                                       "difference", "ci_low", "ci_high", "p_adjusted", "mde"),
                       lang=lang, min_cell=min_cell, n_cols=("n_arm", "n_control"), digits=3))
else:
    print(nr.not_available("experiments", lang=lang))""",
    ),
    code("""\
if ds.has("experiments"):
    assert outcomes["p_adjusted"].drop_nulls().is_between(0, 1).all()
    assert all(set(s) >= {"control"} for s in sizes.values())
    assert all(t.milestones["survival_a"].is_between(0, 1).all() for t in tests.values())
    # the arm sizes of the outcome analysis are those of the survival curves; no outcome counts more users
    for e, f in effects_of.items():
        assert dict(f.arms.select("arm", "n").iter_rows()) == sizes[e], (e, sizes[e])
    for r in outcomes.iter_rows(named=True):
        assert r["n_arm"] <= sizes[r["experiment"]][r["arm"]] and r["n_control"] <= sizes[r["experiment"]]["control"]"""),
)

chapter(
    "08-appendix",
    "Appendix",
    asis("""\
print(nr.heading("parameters", lang=lang))
print(format_table(nr.parameters_table({"data": data, "quarter": quarter, "compare_to": compare_to or "previous",
                                        "segment_by": ", ".join(dims), "filters": filters, "lang": lang, "min_cell": min_cell,
                                        "as_of": f"{ds.as_of:%Y-%m-%d}", "churn_gap": 30}, lang=lang), lang=lang))"""),
    table(
        "tbl-definitions",
        """\
print(format_table(nr.definitions_table(lang=lang), lang=lang))""",
    ),
    asis("""\
print(nr.heading("data_quality", lang=lang))
findings = ds.quality.to_frame()
print(format_table(findings.drop("examples"), lang=lang, n_cols=()) if findings.height else nr.message("quality.none", lang=lang))"""),
    table(
        "tbl-benchmarks",
        """\
from insights.calibration import calibrate

bench = calibrate(ds)
plain = {c: "index" for c in ("target", "value", "ci_low", "ci_high", "difference")}
units = {u: nr.unit_label(u, lang=lang) for u in bench["unit"].unique().drop_nulls()}
bench = bench.with_columns((pl.col("value") - pl.col("target")).alias("difference"), pl.col("unit").replace(units))
print(format_table(bench.select(
    "id", "metric", "segment", "period", "target", "value", "ci_low", "ci_high", "difference", "unit", "n", "source"),
    lang=lang, min_cell=min_cell, kinds=plain, labels={"target": nr.message("column.doc_value", lang=lang)}))""",
    ),
    asis("""\
import json
from pathlib import Path

manifest = Path(data) / "manifest.json"
if manifest.exists():
    print(nr.heading("simulator_truth", lang=lang))
    print(nr.bullets(nr.simulator_truth(json.loads(manifest.read_text(encoding="utf-8")), lang=lang)))"""),
    asis("""\
print(nr.heading("methods", lang=lang))
print(nr.bullets(nr.method_notes(lang=lang, min_cell=min_cell)))"""),
    code("""\
assert bench.height > 0
# the benchmark's D30 retention of the year is the metric computed directly (shown in %)
d30 = bench.filter((pl.col("metric") == "retention_d30") & (pl.col("segment") == "all") & (pl.col("period") == year))
if d30.height:
    direct = m.retention_rates(ds, period=int(year), days=(30,))["value"][0]
    assert abs(d30["value"][0] / 100 - direct) < 1e-9, (d30["value"][0], direct)"""),
)


def build(out: Path = HERE) -> list[Path]:
    """Write every chapter notebook into ``out``; returns the paths written."""
    paths = []
    for i, (name, (title, cells)) in enumerate(CHAPTERS.items()):
        assert title == chapter_title(i, lang="en"), (name, title)
        nb = notebook(title, cells, i)
        nbformat.validate(nb)
        path = out / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
