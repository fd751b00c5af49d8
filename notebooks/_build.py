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

import insights as ins

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

import insights as ins

ins.options(lang=lang, min_cell=min_cell)  # every sentence, table and figure below follows these
period = ins.parse_period(quarter)
ds = ins.load_dataset(data)
# the scope by construction: every table holds only the users of `filters` (one report of
# `insights report --by`), so every number of every chapter is about them
ds = ds.restrict(filters).with_as_of(min(period.end_at, ds.as_of))
where = None  # the scope is in ds; a call with a filter of its own adds it to this
previous = ins.comparison_period(period, compare_to=compare_to or "previous").label
year = period.label[:4]
dims = ins.segment_columns(by=segment_by, where=filters)  # one value of a filtered column is no split"""


def front(title: str, index: int) -> nbformat.NotebookNode:
    """Quarto front matter; ``title-zh``/``title-en`` let the built-in renderer print the report's language."""
    zh, en = ins.text_chapter(index, lang="zh"), ins.text_chapter(index, lang="en")
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


def text(source: str) -> nbformat.NotebookNode:
    """A text cell: its result (or ``display``) is Markdown (:mod:`insights._display`)."""
    return code(source)


_NEEDS = re.compile(r'^if ds\.has\("(\w+)"\):\n')


def _or_not_available(source: str) -> str:
    """``if ds.has("t"): ...`` gains ``else: display(ins.text_not_available("t"))``.

    A figure or table cell must show one figure or table; when an optional table is
    absent it displays the note the renderer shows instead.
    """
    need = _NEEDS.match(source)
    if need is None or re.search(r"^else:", source, re.MULTILINE):
        return source
    return f'{source}\nelse:\n    display(ins.text_not_available("{need.group(1)}"))'


def figure(label: str, source: str) -> nbformat.NotebookNode:
    """A figure cell; its caption is the English ``caption.<label>`` of the text catalog."""
    return code(
        _or_not_available(source),
        label=label,
        fig_cap=ins.text_caption(label, lang="en"),
        fig_cap_zh=ins.text_caption(label, lang="zh"),
        fig_cap_en=ins.text_caption(label, lang="en"),
    )


def table(label: str, source: str) -> nbformat.NotebookNode:
    """A table cell showing one table (``ins.format_table``); caption from the catalog like :func:`figure`."""
    return code(
        _or_not_available(source),
        label=label,
        tbl_cap=ins.text_caption(label, lang="en"),
        tbl_cap_zh=ins.text_caption(label, lang="zh"),
        tbl_cap_en=ins.text_caption(label, lang="en"),
    )


def notebook(title: str, cells: list[nbformat.NotebookNode], index: int) -> nbformat.NotebookNode:
    params = new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[front(title, index), params, new_code_cell(SETUP), *cells])
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
scorecard, notes = ins.kpi_scorecard(ds, quarter=quarter, compare_to=compare_to or "previous", min_cell=min_cell)
year_ago, _ = ins.kpi_scorecard(ds, quarter=quarter, compare_to="year_ago", min_cell=min_cell)
summary = ins.kpi_summary(scorecard, year_ago=year_ago, quarter=quarter)"""),
    text("""\
ins.show(ins.text_heading("key_findings"), ins.format_bullets(ins.describe_findings(scorecard, quarter=quarter)))"""),
    table(
        "tbl-scorecard",
        """\
ins.show(ins.format_table(ins.table_scorecard(summary)), ins.text_message("sig.footnote"))""",
    ),
    text("""\
ins.show(ins.text_heading("alerts"), ins.format_bullets(ins.describe_alerts(scorecard, quarter=quarter)))"""),
    text("""\
ins.show(ins.text_heading("playbook"), ins.format_bullets(ins.describe_playbook(summary, period=quarter)))"""),
    text("""\
ins.show(ins.text_heading("documents"), ins.format_bullets(ins.describe_documents(scorecard.filter(pl.col("quarter") == quarter))))"""),
    code("""\
assert {"retention_d7", "retention_d30", "aov_yuan"} <= set(scorecard["metric"])
rates = scorecard.filter(pl.col("metric").str.starts_with("retention") & pl.col("value").is_not_null())
assert rates["value"].is_between(0, 1).all()
assert summary.height == scorecard["metric"].n_unique()
# the scorecard agrees with the metrics computed directly for the quarter
direct = {"retention_d30": ins.retention_rates(ds, period=quarter, timeline=(30,))["value"][0],
          "aov_yuan": ins.aov(ds, period=quarter)["value"][0]}
for metric, value in direct.items():
    shown = summary.filter(pl.col("metric") == metric)["value"][0]
    assert shown is None or abs(shown - value) < 1e-9, (metric, shown, value)"""),
)

chapter(
    "01-growth",
    "User growth",
    code("""\
quarters = ins.default_quarters(period.end, count=5)
active = ins.active_users(ds, period=quarters, where=where)
new = ins.new_users(ds, period=quarters, where=where)
by_channel = ins.new_users(ds, period=quarters, by="channel", where=where)
organic = pl.concat([ins.new_user_share(ds, period=q, values=["organic"], where=where) for q in quarters])
conversion = pl.concat([ins.first_purchase_conversion(ds, period=q, where=where) for q in quarters])"""),
    text("""\
rows = {q: active.filter(pl.col("period") == q) for q in (quarter, previous)}
ins.show(ins.text_heading("growth_users"), ins.format_bullets([
    ins.describe_change(rows[quarter], previous=rows[previous]),
    ins.describe_change(new.filter(pl.col("period") == quarter),
                        previous=new.filter(pl.col("period") == previous)),
    ins.describe_change(organic.filter(pl.col("period") == quarter),
                        previous=organic.filter(pl.col("period") == previous)),
]))"""),
    table(
        "tbl-active-users",
        """\
ins.format_table(pl.concat([active.select("metric", "period", "value", "n"),
                            new.select("metric", "period", "value", "n")]))""",
    ),
    table(
        "tbl-new-users-channel",
        """\
ins.format_table(by_channel.select("period", "segment", "n"))""",
    ),
    figure(
        "fig-platform-mix",
        """\
platforms = ins.new_users(ds, period=quarter, by="platform", where=where)["segment"]
mix = pl.concat([ins.user_share(ds, period=quarter, column="platform", values=[v], where=where, segment=v) for v in platforms])
ax = ins.plot_segment_rates(mix)""",
    ),
    table(
        "tbl-new-user-mix",
        """\
mixes = pl.concat([
    ins.user_share(ds, period=quarter, column="city_tier", values=["tier3", "tier4_county"], segment="lower_tier", where=where),
    ins.user_share(ds, period=quarter, column="generation", values=["gen_z"], where=where),
    ins.user_share(ds, period=quarter, column="income_band", values=["new_middle_class"], where=where),
])
ins.format_table(mixes.select("metric", "segment", "value", "ci_low", "ci_high", "n"))""",
    ),
    table(
        "tbl-cac",
        """\
if ds.has("spend"):
    cac = ins.cac(ds, period=quarter, by="channel")
    aov = ins.aov(ds, period=quarter, where=where)
    display(ins.format_table(pl.concat([cac.select("metric", "segment", "value", "n"),
                                      aov.select("metric", "segment", "value", "n")])))
else:
    display(ins.text_not_available("spend"))""",
    ),
    text("""\
engagement = [ins.watch_minutes_per_session(ds, period=q, where=where) for q in (quarter, previous)]
bounce = [ins.bounce_rate(ds, period=q, where=where) for q in (quarter, previous)]
ins.show(ins.text_heading("growth_quality"), ins.format_bullets([
    ins.describe_change(conversion.filter(pl.col("period") == quarter),
                        previous=conversion.filter(pl.col("period") == previous)),
    ins.describe_change(engagement[0], previous=engagement[1]),
    ins.describe_change(bounce[0], previous=bounce[1]),
]))"""),
    table(
        "tbl-conversion",
        """\
ins.format_table(conversion.select("metric", "period", "value", "ci_low", "ci_high", "n"))""",
    ),
    text("""\
frames = [organic.filter(pl.col("period") == year + "Q4"), engagement[0], bounce[0],
          conversion.filter(pl.col("period") == quarter)]
if ds.has("spend"):
    frames.append(ins.cac(ds, period=int(year)))
ins.show(ins.text_heading("documents"), ins.format_bullets(ins.describe_documents(
    pl.concat([f.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n") for f in frames]), period=year)))"""),
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
columns = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
index = ins.retention_index(ds, period=int(year), baseline=2021, where=where).components
index_base, index_now = (index.filter(pl.col("year") == y).select(columns) for y in (2021, int(year)))
curves = ins.retention_curves(ds, period=quarter, where=where)
rates = ins.retention_rates(ds, period=quarter, timeline=(7, 30, 60, 90), where=where)"""),
    text("""\
ins.show(ins.text_heading("retention_index"), ins.format_bullets([ins.describe_change(index_now.filter(pl.col("metric") == k),
                                              previous=index_base.filter(pl.col("metric") == k))
                          for k in index_now["metric"]]))"""),
    table(
        "tbl-retention-index",
        """\
ins.format_table(index.select("metric", "period", "value", "ci_low", "ci_high", "n"))""",
    ),
    figure(
        "fig-km-new-users",
        """\
ax = ins.plot_survival(curves)""",
    ),
    text("""\
ins.show(ins.text_heading("churn_timing"), ins.format_bullets([ins.describe_value(r) for r in rates.iter_rows(named=True)]))"""),
    table(
        "tbl-churn-timing",
        """\
ins.format_table(rates.select("metric", "value", "ci_low", "ci_high", "n", "at_risk"),
                       n_cols=("n", "at_risk"))""",
    ),
    code("""\
segment_curves = ins.retention_curves(ds, period=quarter, by=dims[0], where=where)
segment_test = ins.compare_survival(segment_curves, milestones=[7, 30])"""),
    figure(
        "fig-km-segments",
        """\
ax = ins.plot_survival(segment_curves, comparison=segment_test, at_risk_table=False)""",
    ),
    code("""\
by_segment = pl.concat([ins.retention_rates(ds, period=quarter, timeline=(7, 30, 60), by=d, where=where).with_columns(
    dimension=pl.lit(d)) for d in dims])"""),
    text("""\
ins.show(ins.text_heading("retention_segments"), ins.format_bullets([ins.describe_spread(by_segment.filter((pl.col("dimension") == d) & (pl.col("metric") == "retention_d30")),
                                              by=d) or "" for d in dims]))"""),
    figure(
        "fig-d30-segments",
        """\
ax = ins.plot_segment_rates(by_segment.filter((pl.col("dimension") == dims[0]) & (pl.col("metric") == "retention_d30")))""",
    ),
    table(
        "tbl-retention-segments",
        """\
ins.format_table(by_segment.select("dimension", "segment", "metric", "value", "ci_low", "ci_high", "n"))""",
    ),
    table(
        "tbl-rmst-segments",
        """\
ins.format_table(segment_curves.summary.select("segment", "n", "median", "median_ci_low", "median_ci_high", "tau", "rmst",
                                               "rmst_ci_low", "rmst_ci_high"), ci=False)""",
    ),
    figure("fig-cohort-matrix", """\
matrix = ins.retention_matrix(ds, cohort_unit="month", unit="month", period=int(year), horizon=6, where=where)
ax = ins.plot_retention_matrix(matrix)"""),
    text("""\
display(ins.text_heading("acquisition_quality"))
quality = ins.retention_rates(ds, period=quarter, timeline=(30,), by="channel", where={**(where or {}), "channel": ["campaign", "organic"]})
rows = {r["segment"]: r for r in quality.iter_rows(named=True)}
if {"campaign", "organic"} <= set(rows):
    display(ins.format_bullets([ins.describe_change({**rows["campaign"], "period": "campaign"},
                                                  previous={**rows["organic"], "period": "organic"},
                                                  previous_label=ins.text_segment("organic"))]))"""),
    text("""\
ins.show(ins.text_heading("documents"), ins.format_bullets(ins.describe_documents(
    pl.concat([index_now, ins.retention_rates(ds, period=int(year), timeline=(7,), where=where).select(columns)]))))"""),
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
second_order = ins.retention_curves(ds, origin="first_order", by="category", period=int(year), where=where)
cycle = ins.repurchase_cycle(ds, period=int(year), by="category", where=where)
pooled = {"beauty+apparel": ["beauty", "apparel"], "home+digital": ["home", "digital"]}  # the documents' pairs
cycle_groups = pl.concat([ins.repurchase_cycle(ds, period=int(year), where={**(where or {}), "category": members})
                          .with_columns(segment=pl.lit(name)) for name, members in pooled.items()])
aov_now = pl.concat([ins.aov(ds, period=quarter, by=d, where=where).with_columns(dimension=pl.lit(d)) for d in dims])
repurchase = pl.concat([ins.repurchase_rate(ds, period=int(year), by=d, where=where).with_columns(dimension=pl.lit(d))
                        for d in dims])
top = ins.gmv_share_top_buyers(ds, period=quarter, where=where)"""),
    text("""\
ins.show(ins.text_heading("repurchase_cycle"), ins.format_bullets([ins.describe_spread(cycle, by="category") or "",
                          *[ins.describe_value(r) for r in cycle_groups.iter_rows(named=True)]]))"""),
    figure(
        "fig-second-order",
        """\
ax = ins.plot_survival(second_order, at_risk_table=False, median_lines=True)""",
    ),
    table(
        "tbl-repurchase-cycle",
        """\
ins.format_table(pl.concat([cycle, cycle_groups]).select("metric", "segment", "value", "ci_low", "ci_high", "n"))""",
    ),
    text("""\
ins.show(ins.text_heading("customer_value"), ins.format_bullets([ins.describe_value(top),
                          *[ins.describe_spread(aov_now.filter(pl.col("dimension") == d), by=d) or "" for d in dims],
                          *[ins.describe_spread(repurchase.filter(pl.col("dimension") == d), by=d) or "" for d in dims]]))"""),
    figure(
        "fig-aov-segments",
        """\
ax = ins.plot_segment_rates(aov_now.filter(pl.col("dimension") == dims[0]))""",
    ),
    table(
        "tbl-repurchase-segments",
        """\
ins.format_table(repurchase.select("dimension", "segment", "metric", "value", "ci_low", "ci_high", "n"))""",
    ),
    text("""\
columns = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
rows = pl.concat([ins.repurchase_rate(ds, period=int(year), where=where).select(columns), top.select(columns),
                  cycle_groups.select(columns)])
ins.show(ins.text_heading("documents"), ins.format_bullets(ins.describe_documents(rows)))"""),
    code("""\
assert repurchase["value"].is_between(0, 1).all()
assert (cycle["value"].drop_nulls() > 0).all()
# the year's repurchase rate pools the segments of the first dimension
overall = ins.repurchase_rate(ds, period=int(year), where=where)
parts = repurchase.filter(pl.col("dimension") == dims[0])
if parts["n"].sum() == overall["n"][0]:
    assert abs(parts["successes"].sum() / parts["n"].sum() - overall["value"][0]) < 1e-9"""),
)

chapter(
    "04-interaction",
    "Interaction",
    code("""\
quarters = ins.default_quarters(period.end, count=5)
by_quarter = ins.interaction_participation(ds, period=quarters, where=where)
by_dim = pl.concat([ins.interaction_rate(ds, period=quarter, by=d, where=where).with_columns(dimension=pl.lit(d))
                    for d in ("city_tier", "generation", "category")])
high_vs = ins.high_vs_ordinary(ds, period=int(year), where=where)
uplift = high_vs.filter(pl.col("metric").is_in(["aov_uplift", "repurchase_uplift"]))  # the gap rows
chain = ins.repurchase_after_interaction(ds, period=int(year), where=where).with_columns(
    segment=pl.lit("interacted_before_first_order"))  # who the rate is about, for the sentence"""),
    text("""\
ins.show(ins.text_heading("interaction_rate"), ins.format_bullets([ins.describe_change(by_quarter.filter(pl.col("period") == quarter),
                                              previous=by_quarter.filter(pl.col("period") == previous)),
                          *[ins.describe_spread(by_dim.filter(pl.col("dimension") == d), by=d) or ""
                            for d in ("city_tier", "generation", "category")]]))"""),
    figure(
        "fig-interaction-tier",
        """\
ax = ins.plot_segment_rates(by_dim.filter(pl.col("dimension") == "city_tier"))""",
    ),
    table(
        "tbl-interaction-quarters",
        """\
ins.format_table(by_quarter.select("metric", "period", "value", "ci_low", "ci_high", "n"))""",
    ),
    text("""\
ins.show(ins.text_heading("high_interaction"), ins.format_bullets([ins.describe_value(r) for r in uplift.iter_rows(named=True)]
                         + [ins.describe_value(chain)]))"""),
    table(
        "tbl-interaction-uplift",
        """\
ins.format_table(uplift.select("metric", "segment", "value_high", "value_ordinary", "value", "ci_low", "ci_high", "n"),
                       n_cols=("n",))""",
    ),
    text("""\
columns = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
ins.show(ins.text_heading("documents"), ins.format_bullets(ins.describe_documents(
    pl.concat([ins.interaction_rate(ds, period=int(year), where=where).select(columns), uplift.select(columns)]))))"""),
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
    text("""\
if not ds.has("community"):
    display(ins.show(ins.text_message("sentence.missing_table", table="community")))"""),
    code("""\
if ds.has("community"):
    quarters = ins.default_quarters(period.end, count=5)
    conversion = pl.concat([ins.public_to_private_conversion(ds, period=q, where=where) for q in quarters])
    by_dim = pl.concat([ins.public_to_private_conversion(ds, period=quarter, by=d, where=where).with_columns(dimension=pl.lit(d))
                        for d in dims])
    # members vs non-members, landmark design: groups fixed 30 days after acquisition, outcomes counted after
    members = ins.member_comparison(ds, period=int(year), where=where)
    gaps = members.filter(pl.col("segment") == "member vs non_member")
    exit_rate = ins.community_exit_rate(ds, period=int(year), where=where)
    leaving = ins.community_leave_curves(ds, period=int(year), where=where)"""),
    text("""\
if ds.has("community"):
    display(ins.text_heading("private_funnel"))
    display(ins.format_bullets([ins.describe_change(conversion.filter(pl.col("period") == quarter),
                                                  previous=conversion.filter(pl.col("period") == previous)),
                              *[ins.describe_value(r) for r in gaps.iter_rows(named=True)],
                              ins.describe_value(exit_rate)]))"""),
    table(
        "tbl-private-conversion",
        """\
if ds.has("community"):
    display(ins.format_table(conversion.select("metric", "period", "value", "ci_low", "ci_high", "n")))""",
    ),
    figure(
        "fig-private-segments",
        """\
if ds.has("community"):
    ax = ins.plot_segment_rates(by_dim.filter(pl.col("dimension") == dims[0]))""",
    ),
    figure(
        "fig-community-leave",
        """\
if ds.has("community"):
    ax = ins.plot_survival(leaving)""",
    ),
    table(
        "tbl-members",
        """\
if ds.has("community"):
    display(ins.format_table(pl.concat([members.select("metric", "segment", "value", "ci_low", "ci_high", "n"),
                                      exit_rate.select("metric", "segment", "value", "ci_low", "ci_high", "n")])))""",
    ),
    text("""\
if ds.has("community"):
    display(ins.text_heading("documents"))
    rows = pl.concat([f.select("metric", "segment", "period", "value", "ci_low", "ci_high", "n")
                      for f in (ins.public_to_private_conversion(ds, period=int(year), where=where), exit_rate)])
    display(ins.format_bullets(ins.describe_documents(rows)))"""),
    code("""\
if ds.has("community"):
    assert conversion["value"].is_between(0, 1).all()
    assert set(members["design"]) == {"landmark"} and (gaps["value"].drop_nulls() > 0).all()
    # the quarter's conversion pools the segments of the first dimension
    parts, now = by_dim.filter(pl.col("dimension") == dims[0]), conversion.filter(pl.col("period") == quarter)
    if parts["n"].sum() == now["n"][0]:
        assert abs(parts["converted"].sum() / parts["n"].sum() - now["value"][0]) < 1e-9"""),
)

chapter(
    "06-lifecycle",
    "Lifecycle layers",
    code("""\
quarters = ins.default_quarters(period.end, count=4)
layers = ins.lifecycle_layers(ds, at=quarters, where=where)
reactivation = ins.silent_reactivation(ds, at=previous, where=where)
top = ins.gmv_share_top_buyers(ds, period=quarter, where=where)
scorecard, _ = ins.kpi_scorecard(ds, quarter=quarter, compare_to=compare_to or "previous", min_cell=min_cell)
kpis = pl.concat([scorecard.filter(pl.col("quarter") == quarter).select("metric", "segment", "value", "ci_low", "ci_high", "n"),
                  reactivation.select("metric", "segment", "value", "ci_low", "ci_high", "n")])"""),
    text("""\
now = layers.filter(pl.col("period") == quarter)
ins.show(ins.text_heading("layers"), ins.format_bullets([ins.describe_value(r | {"segment": r["layer"]}) for r in now.iter_rows(named=True)]
                         + [ins.describe_value(reactivation), ins.describe_value(top)]))"""),
    figure(
        "fig-layers",
        """\
ax = ins.plot_segment_rates(layers, x="layer", hue="period", sort=False)""",
    ),
    table(
        "tbl-layers",
        """\
ins.format_table(layers.select("period", "layer", "users", "value", "ci_low", "ci_high", "n"),
                       n_cols=("users",), percent_cols=("value", "ci_low", "ci_high"))""",
    ),
    table(
        "tbl-playbook",
        """\
ins.format_table(ins.table_playbook(kpis, period=quarter))""",
    ),
    text("""\
columns = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
ins.show(ins.text_heading("documents"), ins.format_bullets(ins.describe_documents(pl.concat([reactivation.select(columns), top.select(columns)]))))"""),
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
    text("""\
if not ds.has("experiments"):
    display(ins.show(ins.text_message("sentence.missing_table", table="experiments")))"""),
    code("""\
if ds.has("experiments"):
    all_arms = ins.retention_curves(ds, origin="experiment", by=["experiment", "arm"])
    experiments = all_arms.summary["experiment"].unique(maintain_order=True).to_list()
    curves = {e: ins.retention_curves(ds, origin="experiment", by="arm", where={"experiment": e}) for e in experiments}
    tests = {e: ins.compare_survival(c, milestones=[7, 30], cox=True, reference="control") for e, c in curves.items()}
    sizes = {e: dict(c.summary.select("segment", "n").iter_rows()) for e, c in curves.items()}"""),
    text("""\
if ds.has("experiments"):
    for e in experiments:
        display(ins.show(f"## {ins.text_segment(e)}",
                         ins.format_bullets([ins.describe_srm(sizes[e]), *ins.describe_effects(tests[e].milestones, sizes=sizes[e])])))"""),
    figure(
        "fig-experiment-curves",
        """\
if ds.has("experiments"):
    axes = ins.plot_survival(all_arms, col="experiment", at_risk_table=False, xmax=90)""",
    ),
    table(
        "tbl-experiment-effects",
        """\
if ds.has("experiments"):
    effects = pl.concat([t.summary.filter(pl.col("estimate").is_not_null()).with_columns(experiment=pl.lit(e))
                         for e, t in tests.items()])
    display(ins.format_table(effects.select("experiment", "measure", "segment_a", "segment_b", "estimate", "ci_low", "ci_high",
                                          "p_value", "p_adjusted"), digits=3))""",
    ),
    table(
        "tbl-experiment-outcomes",
        """\
shared = ("retention_d7", "first_purchase_30d", "repurchase_60d", "aov", "interaction_rate")  # every experiment's outcomes
primary = {"return_benefit_pack": ("order_90d",), "private_domain_invite": ("join_30d",)}  # and its own
if ds.has("experiments"):
    effects_of = {e: ins.experiment_effects(ds, experiment=e, outcomes=(*shared, *primary.get(e, ())), survival=False)
                  for e in experiments}
    outcomes = pl.concat([f.summary.with_columns(experiment=pl.lit(e)) for e, f in effects_of.items()])
    display(ins.format_table(outcomes.select("experiment", "outcome", "arm", "n_arm", "n_control", "value_arm", "value_control",
                                           "difference", "ci_low", "ci_high", "p_adjusted", "mde"),
                           n_cols=("n_arm", "n_control"), digits=3))
else:
    display(ins.text_not_available("experiments"))""",
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
    text("""\
ins.show(ins.text_heading("parameters"),
         ins.format_table(ins.table_parameters({"data": data, "quarter": quarter, "compare_to": compare_to or "previous",
                                                "segment_by": ", ".join(dims), "filters": filters, "lang": lang,
                                                "min_cell": min_cell, "as_of": f"{ds.as_of:%Y-%m-%d}", "churn_gap": 30})))"""),
    table(
        "tbl-definitions",
        """\
ins.format_table(ins.table_definitions())""",
    ),
    text("""\
findings = ds.quality.to_frame()
ins.show(ins.text_heading("data_quality"),
         ins.format_table(findings.drop("examples"), n_cols=()) if findings.height else ins.text_message("quality.none"))"""),
    table(
        "tbl-benchmarks",
        """\
bench = ins.calibrate(ds)
plain = {c: "index" for c in ("target", "value", "ci_low", "ci_high", "difference")}
units = {u: ins.text_unit(u) for u in bench["unit"].unique().drop_nulls()}
bench = bench.with_columns((pl.col("value") - pl.col("target")).alias("difference"), pl.col("unit").replace(units))
ins.format_table(bench.select(
    "id", "metric", "segment", "period", "target", "value", "ci_low", "ci_high", "difference", "unit", "n", "source"),
    kinds=plain, labels={"target": ins.text_message("column.doc_value")})""",
    ),
    text("""\
import json
from pathlib import Path

manifest = Path(data) / "manifest.json"
if manifest.exists():
    display(ins.text_heading("simulator_truth"))
    display(ins.format_bullets(ins.describe_simulator_truth(json.loads(manifest.read_text(encoding="utf-8")))))"""),
    text("""\
ins.show(ins.text_heading("methods"), ins.format_bullets(ins.describe_methods()))"""),
    code("""\
assert bench.height > 0
# the benchmark's D30 retention of the year is the metric computed directly (shown in %)
d30 = bench.filter((pl.col("metric") == "retention_d30") & (pl.col("segment") == "all") & (pl.col("period") == year))
if d30.height:
    direct = ins.retention_rates(ds, period=int(year), timeline=(30,))["value"][0]
    assert abs(d30["value"][0] / 100 - direct) < 1e-9, (d30["value"][0], direct)"""),
)


def build(out: Path = HERE) -> list[Path]:
    """Write every chapter notebook into ``out``; returns the paths written."""
    paths = []
    for i, (name, (title, cells)) in enumerate(CHAPTERS.items()):
        assert title == ins.text_chapter(i, lang="en"), (name, title)
        nb = notebook(title, cells, i)
        nbformat.validate(nb)
        path = out / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
