"""The facts each chapter's numbers must satisfy, checked on the CI data (``test_execute.py``).

They used to be ``assert`` cells at the end of the chapters; a chapter is the report, so
they live here. Each entry is run as one extra cell appended to the executed copy of
its chapter (the chapter runs once): it sees the chapter's variables (``ds``, ``period``,
``scorecard``, ...) and fails the test when a fact does not hold. Every check compares a
number the chapter shows with the same number computed another way.
"""

CHECKS: dict[str, str] = {
    "00-summary": """\
assert {"retention_d7", "retention_d30", "aov"} <= set(scorecard["metric"])
rates = scorecard.filter(pl.col("metric").str.starts_with("retention") & pl.col("value").is_not_null())
assert rates["value"].is_between(0, 1).all()
assert summary.height == scorecard["metric"].n_unique()
# the scorecard agrees with the metrics computed directly for the quarter
direct = {"retention_d30": ins.retention_rates(ds, period=quarter, timeline=(30,))["value"][0],
          "aov": ins.aov(ds, period=quarter)["value"][0]}
for metric, value in direct.items():
    shown = summary.filter(pl.col("metric") == metric)["value"][0]
    assert shown is None or abs(shown - value) < 1e-9, (metric, shown, value)
""",
    "01-growth": """\
assert active["value"].min() > 0
assert organic["value"].is_between(0, 1).all() and conversion["value"].is_between(0, 1).all()
# new users of each quarter add up over channels
for q in quarters:
    assert new.filter(pl.col("period") == q)["n"][0] == by_channel.filter(pl.col("period") == q)["n"].sum(), q
""",
    "02-retention": """\
assert rates["value"].is_between(0, 1).all()
assert (rates.sort("day")["value"].diff().drop_nulls() <= 0).all()
assert curves.table["survival"].is_between(0, 1).all()
# D30 retention is the Kaplan-Meier curve at day 30
km30 = curves.table.filter(pl.col("t") <= 30).sort("t")["survival"][-1]
assert abs(rates.filter(pl.col("day") == 30)["value"][0] - km30) < 1e-9, km30
""",
    "03-value": """\
assert repurchase["value"].is_between(0, 1).all()
assert (cycle["value"].drop_nulls() > 0).all()
# the year's repurchase rate pools the segments of the first dimension
overall = ins.repurchase_rate(ds, period=int(year), where=where)
parts = repurchase.filter(pl.col("dimension") == dims[0])
if parts["n"].sum() == overall["n"][0]:
    assert abs(parts["successes"].sum() / parts["n"].sum() - overall["value"][0]) < 1e-9
""",
    "04-interaction": """\
assert by_quarter["value"].is_between(0, 1).all()
assert set(uplift["metric"]) == {"aov_uplift", "repurchase_uplift"}
# the quarter's interaction rate pools the city tiers
tiers, now = by_dim.filter(pl.col("dimension") == "city_tier"), by_quarter.filter(pl.col("period") == quarter)
if tiers["n"].sum() == now["n"][0]:
    assert abs(tiers["interacted"].sum() / tiers["n"].sum() - now["value"][0]) < 1e-9
""",
    "05-private-domain": """\
if ds.has("community"):
    assert conversion["value"].is_between(0, 1).all()
    assert set(members["design"]) == {"landmark"} and (gaps["value"].drop_nulls() > 0).all()
    # the quarter's conversion pools the segments of the first dimension
    parts, now = by_dim.filter(pl.col("dimension") == dims[0]), conversion.filter(pl.col("period") == quarter)
    if parts["n"].sum() == now["n"][0]:
        assert abs(parts["converted"].sum() / parts["n"].sum() - now["value"][0]) < 1e-9
""",
    "06-lifecycle": """\
shares = layers.group_by("period").agg(pl.col("value").sum())
assert ((shares["value"] - 1).abs() < 1e-9).all()
assert set(layers["layer"]) == {"new", "active", "silent", "churned"}
# the reactivation base is the silent layer of the comparison quarter
silent = layers.filter((pl.col("period") == previous) & (pl.col("layer") == "silent"))
assert silent.height == 0 or silent["users"][0] == reactivation["n"][0], (silent, reactivation)
""",
    "07-strategy-effects": """\
if ds.has("experiments"):
    assert outcomes["p_adjusted"].drop_nulls().is_between(0, 1).all()
    assert all(set(s) >= {"control"} for s in sizes.values())
    assert all(t.milestones["survival_a"].is_between(0, 1).all() for t in tests.values())
    # the arm sizes of the outcome analysis are those of the survival curves; no outcome counts more users
    for e, f in effects_of.items():
        assert dict(f.arms.select("arm", "n").iter_rows()) == sizes[e], (e, sizes[e])
    for r in outcomes.iter_rows(named=True):
        if r["suppressed"]:  # an arm or control with fewer than min_cell users: no number about it
            assert r["value_arm"] is None and r["difference"] is None and r["p_value"] is None, r
            continue
        assert r["n_arm"] <= sizes[r["experiment"]][r["arm"]] and r["n_control"] <= sizes[r["experiment"]]["control"]
""",
    "08-appendix": """\
bench = ins.calibrate(ds)  # what ins.format_benchmarks(ds) shows
assert bench.height > 0
# the benchmark's D30 retention of the year is the metric computed directly (shown in %)
d30 = bench.filter((pl.col("metric") == "retention_d30") & (pl.col("segment") == "all") & (pl.col("period") == year))
if d30.height:
    direct = ins.retention_rates(ds, period=int(year), timeline=(30,))["value"][0]
    assert abs(d30["value"][0] / 100 - direct) < 1e-9, (d30["value"][0], direct)
""",
}
