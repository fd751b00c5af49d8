"""Coverage study of the members-vs-non-members ratios of ``member_comparison``.

Small worlds with a known truth, built directly (not by the simulator, whose
members have a real order-rate effect): ``--users`` users acquired uniformly over
2024 (at midnight, so an event ``t`` days after acquisition falls on day index
floor(t)), observed to 2025-06-30. Each user i has

- a lifetime L_i ~ Exponential(mean 150 days): no activity after it;
- an order rate λ_i ~ Gamma(shape 0.5, mean 0.03 a day) (heterogeneous: a few heavy
  buyers, so users must be the clusters of every ratio), orders a Poisson process on
  [0, L_i), amounts lognormal around a user-level mean exp(μ_i), μ_i ~ N(log 100, 0.5);
- views, a Poisson process at rate ν_i ~ Gamma(1, mean 0.1 a day) on [0, L_i).

Scenarios (``--scenarios``):

- ``null``: 35% of users join the community at acquisition + Exponential(mean 60
  days), independently of everything else, and joining changes nothing: every
  member-vs-non-member ratio's truth is 1.
- ``effect``: as ``null``, but joining multiplies the order rate by 1.5 from the
  join day on (power). The landmark design's estimands (orders and GMV per user in
  days 30 .. 119, members = joined before day 30, later joiners are non-members, so
  part of the effect lands on the non-member arm) are computed once from a large
  world's expected values (``--truth-users``): the expected window counts given each
  user's latent rates, averaged per arm.
- ``selection``: no effect, but users join on one of their view days (each view day
  with probability 0.02): joiners are, by construction, users alive and active then.
  Not a coverage target: it shows what the landmark design does *not* remove
  (self-selection), so that its ratio describes members and is never the effect of
  joining.

For each run: ``member_comparison(ds, period=2024, design="landmark")`` (default
landmark 30, horizon 90) and ``design="naive"`` (the documents' comparison). Each
ratio row (segment ``member vs non_member``) is checked: does its 95% CI cover the
truth (coverage; target 0.95), and does it exclude 1 (rejection: the size under the
null, the power under the effect)? Coverage is given with a Wilson 95% interval.

Runs stop early when ``--minutes`` is used up (the report says how many ran).
Results: ``benchmarks/results/coverage_members.json`` and ``.md``.

Usage: ``python benchmarks/coverage_members.py [--runs 1000] [--users 4000] [--minutes 8] [--sim-users 200000]``
(about 6 minutes on 2 shared cores; the simulator world alone about 1 minute).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _harness import RESULTS, machine, markdown_table, write_results

from insights.data.dataset import Dataset, frames_dataset
from insights.metrics.community_members import member_comparison
from insights.stats.proportions import wilson_interval

START = dt.datetime(2024, 1, 1)
AS_OF = "2025-06-30"
DAYS_IN_PERIOD = 366  # 2024
OBSERVED = (dt.date(2025, 6, 30) - START.date()).days  # day index of as_of from 2024-01-01
LIFE_MEAN, ORDER_SHAPE, ORDER_MEAN, VIEW_MEAN = 150.0, 0.5, 0.03, 0.1
JOIN_SHARE, JOIN_DELAY, JOIN_PER_VIEW_DAY = 0.35, 60.0, 0.02
AMOUNT_MU, AMOUNT_USER_SD, AMOUNT_ORDER_SD = float(np.log(100.0)), 0.5, 0.3
LANDMARK, HORIZON = 30, 90
EFFECT = 1.5
SCENARIOS: dict[str, dict[str, Any]] = {
    "null": {"effect": 1.0, "joins": "random"},
    "effect": {"effect": EFFECT, "joins": "random"},
    "selection": {"effect": 1.0, "joins": "active"},
}
#: The ratio rows of each design (the gap rows of ``member_comparison``).
RATIOS = {
    "landmark": ("orders_per_user_ratio", "gmv_per_user_ratio", "aov_ratio", "active_rate_ratio"),
    "naive": ("repurchase_frequency_ratio", "aov_ratio"),
}


def _latent(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Each user's acquisition day, lifetime, order and view rates, and mean log amount."""
    return {
        "fs": rng.integers(0, DAYS_IN_PERIOD, n),
        "life": rng.exponential(LIFE_MEAN, n),
        "lam": rng.gamma(ORDER_SHAPE, ORDER_MEAN / ORDER_SHAPE, n),
        "nu": rng.gamma(1.0, VIEW_MEAN, n),
        "mu": rng.normal(AMOUNT_MU, AMOUNT_USER_SD, n),
    }


def _poisson_times(
    rng: np.random.Generator, rate: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Events of independent Poisson processes at ``rate`` on [lo, hi): (user index, time)."""
    span = np.clip(hi - lo, 0.0, None)
    k = rng.poisson(rate * span)
    user = np.repeat(np.arange(rate.size), k)
    return user, lo[user] + rng.random(user.size) * span[user]


def world(seed: int, users: int, scenario: str) -> Dataset:
    """One small world of ``scenario`` (module docstring) as a dataset."""
    spec = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    u = _latent(rng, users)
    end = np.minimum(u["life"], OBSERVED - u["fs"] + 1.0)  # alive and observed
    zero = np.zeros(users)
    v_user, v_t = _poisson_times(rng, u["nu"], zero, end)
    if spec["joins"] == "random":
        joins = rng.random(users) < JOIN_SHARE
        join = np.where(joins, np.floor(rng.exponential(JOIN_DELAY, users)), np.inf)
    else:  # the first of the view days drawn with probability JOIN_PER_VIEW_DAY
        day_user, day = np.unique(np.stack([v_user, np.floor(v_t)]), axis=1)
        hit = rng.random(day_user.size) < JOIN_PER_VIEW_DAY
        join = np.full(users, np.inf)
        np.minimum.at(join, day_user[hit].astype(np.int64), day[hit])
    join = np.where(u["fs"] + join <= OBSERVED, join, np.inf)
    # orders: rate lam before the join, lam * effect from the join day on
    switch = np.minimum(join, end)
    b_user, b_t = _poisson_times(rng, u["lam"], zero, switch)
    a_user, a_t = _poisson_times(rng, u["lam"] * spec["effect"], switch, end)
    o_user, o_t = np.concatenate([b_user, a_user]), np.concatenate([b_t, a_t])
    amount = np.exp(u["mu"][o_user] + rng.normal(0.0, AMOUNT_ORDER_SD, o_user.size))

    base = pl.lit(START)
    users_df = pl.DataFrame({"user_id": np.arange(users), "fs": u["fs"]}).select(
        "user_id", (base + pl.duration(days=pl.col("fs"))).alias("first_seen_at")
    )
    orders = pl.DataFrame(
        {"order_id": np.arange(o_user.size), "user_id": o_user, "t": u["fs"][o_user] + o_t,
         "amount": amount}
    ).select("order_id", "user_id", _time("t"), "amount")  # fmt: skip
    views = pl.DataFrame({"user_id": v_user, "t": u["fs"][v_user] + v_t}).select(
        "user_id", _time("t").alias("started_at")
    )
    joined = np.flatnonzero(np.isfinite(join))
    community = pl.DataFrame(
        {"user_id": joined, "t": u["fs"][joined] + join[joined] + 0.5, "action": "join"}
    ).select("user_id", _time("t").alias("at"), "action")
    return frames_dataset(
        users=users_df, orders=orders.rename({"t": "ordered_at"}), views=views,
        community=community, as_of=AS_OF,
    )  # fmt: skip


def _time(column: str) -> pl.Expr:
    """Days since 2024-01-01 (float) as a timestamp."""
    return (
        pl.lit(START) + pl.duration(microseconds=(pl.col(column) * 86_400e6).cast(pl.Int64))
    ).alias(column)


def landmark_truth(users: int, seed: int = 999) -> dict[str, float]:
    """The effect scenario's landmark estimands, from expected window counts of a large world.

    For user i, with the window [30, 120) days after acquisition cut at the lifetime
    (all users of 2024 are observable for it), expected orders = λ_i · (time alive in
    the window before the join + effect · time alive after it); expected GMV = that ·
    E[amount_i] = exp(μ_i + σ²/2); P(active) = 1 − exp(−(ν_i · time alive + expected
    orders)). Members: join day < 30. Ratios of the arm means (AOV: 1, amounts do not
    change).
    """
    rng = np.random.default_rng(seed)
    u = _latent(rng, users)
    join = np.where(
        rng.random(users) < JOIN_SHARE, np.floor(rng.exponential(JOIN_DELAY, users)), np.inf
    )
    lo, hi = float(LANDMARK), np.minimum(float(LANDMARK + HORIZON), u["life"])
    alive = np.clip(hi - lo, 0.0, None)
    after = np.clip(hi - np.maximum(lo, join), 0.0, None)
    orders = u["lam"] * (alive - after + EFFECT * after)
    gmv = orders * np.exp(u["mu"] + AMOUNT_ORDER_SD**2 / 2)
    active = 1.0 - np.exp(-(u["nu"] * alive + orders))
    member = join < LANDMARK

    def ratio(x: np.ndarray) -> float:
        return float(x[member].mean() / x[~member].mean())

    return {
        "orders_per_user_ratio": ratio(orders),
        "gmv_per_user_ratio": ratio(gmv),
        "aov_ratio": 1.0,
        "active_rate_ratio": ratio(active),
    }


def one_run(seed: int, users: int, scenario: str, truth: dict[str, float]) -> list[dict]:
    """Every ratio row of both designs on one world, with its truth and checks."""
    ds = world(seed, users, scenario)
    rows = []
    for design, metrics in RATIOS.items():
        t = member_comparison(ds, period=2024, design=design)  # type: ignore[arg-type]
        gap = t.filter(pl.col("segment") == "member vs non_member")
        for r in gap.filter(pl.col("metric").is_in(metrics)).iter_rows(named=True):
            # the naive design has no estimand once joining has an effect: no truth then
            true = truth.get(r["metric"], 1.0) if design == "landmark" or not truth else None
            lo, hi = r["ci_low"], r["ci_high"]
            ok = lo is not None and hi is not None
            rows.append(
                {
                    "scenario": scenario, "seed": seed, "design": design, "metric": r["metric"],
                    "value": r["value"], "ci_low": lo, "ci_high": hi, "n": r["n"], "truth": true,
                    "covered": None if true is None else bool(ok and lo <= true <= hi),
                    "rejects_1": bool(ok and (lo > 1.0 or hi < 1.0)),
                }
            )  # fmt: skip
    return rows


def summarise(runs: pl.DataFrame) -> pl.DataFrame:
    """Per scenario x design x metric: mean estimate, truth, coverage (Wilson CI), rejection."""
    out = runs.group_by("scenario", "design", "metric", maintain_order=True).agg(
        pl.len().alias("intervals"),
        pl.col("covered").cast(pl.Int64).sum().alias("covered"),
        pl.col("covered").is_null().all().alias("no_truth"),
        pl.col("rejects_1").mean().alias("rejects_1"),
        pl.col("value").mean().alias("mean_value"),
        pl.col("value").log().mean().exp().alias("geo_mean_value"),
        pl.col("truth").first().alias("truth"),
        (pl.col("ci_high") / pl.col("ci_low")).log().mean().alias("mean_log_width"),
        pl.col("n").mean().alias("mean_n"),
    )
    cis = [wilson_interval(c, n) for c, n in zip(out["covered"], out["intervals"], strict=True)]
    none = pl.col("no_truth")
    return out.with_columns(
        pl.when(none)
        .then(None)
        .otherwise(pl.col("covered") / pl.col("intervals"))
        .alias("coverage"),
        pl.when(none).then(None).otherwise(pl.Series([c[0] for c in cis])).alias("cov_ci_low"),
        pl.when(none).then(None).otherwise(pl.Series([c[1] for c in cis])).alias("cov_ci_high"),
    ).drop("no_truth")


def simulator_world(users: int, seed: int, work: Path) -> list[dict]:
    """The package simulator's world with joining made useless: members' order-rate and
    amount multipliers set to 1 (``orders.frequency_mult.member``, ``amount_mult.member``).

    Joins happen on active days there (self-selection), so no design has 1 as its
    truth; the rows show what each design reports when joining changes nothing.
    """
    import yaml

    from insights.data import load_dataset
    from insights.simulator import simulate
    from insights.simulator.scenario import default_scenario_path

    spec = yaml.safe_load(default_scenario_path().read_text(encoding="utf-8"))
    spec["orders"]["frequency_mult"]["member"] = 1.0
    spec["orders"]["amount_mult"]["member"] = 1.0
    scenario = work / "no_member_effect.yaml"
    scenario.write_text(yaml.safe_dump(spec), encoding="utf-8")
    simulate(work / "sim", users=users, seed=seed, scenario=scenario)
    ds = load_dataset(work / "sim")
    rows = []
    for design, metrics in RATIOS.items():
        t = member_comparison(ds, period=2024, design=design)  # type: ignore[arg-type]
        gap = t.filter(
            (pl.col("segment") == "member vs non_member") & pl.col("metric").is_in(metrics)
        )
        rows += [
            {"design": design, **r}
            for r in gap.select("metric", "value", "ci_low", "ci_high", "n").to_dicts()
        ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=1000, help="worlds per scenario (upper bound)")
    ap.add_argument("--users", type=int, default=4000, help="users per world")
    ap.add_argument("--truth-users", type=int, default=2_000_000, help="users of the truth world")
    ap.add_argument("--seed0", type=int, default=5000, help="first seed")
    ap.add_argument("--scenarios", default="null,effect,selection", help="comma-separated")
    ap.add_argument(
        "--minutes",
        type=float,
        default=8.0,
        help="time budget of the small worlds, shared evenly by the scenarios",
    )
    ap.add_argument(
        "--sim-users", type=int, default=200_000,
        help="users of the one simulator world without a member effect (0: skip it)",
    )  # fmt: skip
    ap.add_argument("--sim-seed", type=int, default=42, help="its seed (the demo's)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    scenarios = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    start = time.perf_counter()
    truths = {s: {} for s in scenarios}
    if "effect" in scenarios:
        truths["effect"] = landmark_truth(a.truth_users)
    rows: list[dict] = []
    done: dict[str, int] = {}
    for k, scenario in enumerate(scenarios):
        budget = start + a.minutes * 60 * (k + 1) / len(scenarios)
        done[scenario] = 0
        for i in range(a.runs):
            if time.perf_counter() > budget:
                break
            rows += one_run(a.seed0 + i, a.users, scenario, truths[scenario])
            done[scenario] += 1
            if done[scenario] % 20 == 0:
                print(f"{scenario} run {done[scenario]:3d}  {time.perf_counter() - start:6.0f} s",
                      flush=True)  # fmt: skip
    sim: list[dict] = []
    if a.sim_users:
        with tempfile.TemporaryDirectory(prefix="insights-members-") as tmp:
            sim = simulator_world(a.sim_users, a.sim_seed, Path(tmp))
    elapsed = time.perf_counter() - start
    runs = pl.DataFrame(rows)
    table = summarise(runs)
    load = os.getloadavg()
    meta = machine(
        runs=done, runs_requested=a.runs, users=a.users, seed0=a.seed0, scenarios=scenarios,
        truth_users=a.truth_users, truths=truths, landmark=LANDMARK, horizon=HORIZON,
        effect=EFFECT, alpha=0.05, sim_users=a.sim_users, sim_seed=a.sim_seed,
        seconds=round(elapsed, 1),
        loadavg_1_5_15=[round(x, 2) for x in load],
    )  # fmt: skip
    text = report(table, sim, a, done, elapsed, load, meta)
    # per-run rows are not kept (54,000 of them at the defaults): the seeds reproduce them
    record = {"meta": meta, "summary": table.to_dicts(), "simulator_world": sim}
    write_results(a.out, "coverage_members", text, record)
    print(text)


def report(
    table: pl.DataFrame, sim: list[dict], a: argparse.Namespace, done: dict[str, int],
    elapsed: float, load: tuple[float, float, float], meta: dict[str, Any],
) -> str:  # fmt: skip
    """The Markdown page of the results."""
    runs = ", ".join(f"{s}: {n}" for s, n in done.items())
    lines = [
        "# Members vs non-members: coverage of the ratio CIs (`member_comparison`)",
        "",
        f"Worlds of {a.users:,} users acquired over 2024 (runs per scenario: {runs}; seeds from "
        f"{a.seed0}); each world's truth is known (`benchmarks/coverage_members.py` docstring). "
        "Heterogeneous order rates (Gamma shape 0.5) and user-level amounts, lifetimes "
        "Exponential(mean 150 days); 35% join at a random time after acquisition (mean 60 days), "
        "independently of everything (`null`, `effect`), or on one of their view days "
        "(`selection`). `landmark` = `member_comparison(ds, period=2024)` (landmark day 30, "
        'outcomes on days 30–119); `naive` = `design="naive"`, the documents\' comparison '
        "(ever- vs never-joined, frequency per buyer-month from the join).",
        "",
        "Coverage = share of 95% CIs containing the truth (target 0.95), with a Wilson 95% CI; "
        "'rejects 1' = share of CIs excluding 1 (size under `null`, power under `effect`).",
        "",
    ]
    head = ["scenario", "design", "ratio", "truth", "mean estimate", "runs", "coverage",
            "Wilson 95% CI", "rejects 1", "mean CI width (log)", "mean n"]  # fmt: skip

    def num(x: float | None, fmt: str = ".3f") -> str:
        return "—" if x is None else format(x, fmt)

    body = [
        [r["scenario"], r["design"], f"`{r['metric']}`", num(r["truth"]),
         num(r["mean_value"]), r["intervals"], num(r["coverage"]),
         "—" if r["coverage"] is None else f"{r['cov_ci_low']:.3f}–{r['cov_ci_high']:.3f}",
         num(r["rejects_1"]), num(r["mean_log_width"]), num(r["mean_n"], ".0f")]
        for r in table.iter_rows(named=True)
    ]  # fmt: skip
    lines += markdown_table(head, body)
    lines += [
        "",
        "The `effect` truths are the landmark design's estimands (joining multiplies the order "
        f"rate by {EFFECT}; later joiners are non-members at the landmark, so the ratio is below "
        f"{EFFECT}); the naive rows have no estimand there (—). Under `selection` (no effect) "
        "any ratio other than 1 is self-selection: the landmark design removes immortal time "
        "and the conditioning on buying, not the choice to join.",
        "",
    ]
    if sim:
        lines += [
            f"## The package simulator without a member effect ({a.sim_users:,} users, seed "
            f"{a.sim_seed})",
            "",
            "`data/scenarios/default.yaml` with `orders.frequency_mult.member` and "
            "`orders.amount_mult.member` set to 1: joining changes nothing, but users join on "
            "active days, so members are self-selected.",
            "",
        ]
        lines += markdown_table(
            ["design", "ratio", "value", "95% CI", "n"],
            [[r["design"], f"`{r['metric']}`", num(r["value"]),
              f"{num(r['ci_low'])}–{num(r['ci_high'])}", r["n"]] for r in sim],
        )  # fmt: skip
        lines.append("")
    lines += [
        f"Wall {elapsed:.0f} s; load average (1/5/15 min) at the end "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} on {meta['machine']} (shared machine). "
        f"{meta['date']}.",
        "",
        f"Command: `python benchmarks/coverage_members.py --runs {a.runs} --users {a.users} "
        f"--seed0 {a.seed0} --scenarios {','.join(done)} --minutes {a.minutes:g} "
        f"--sim-users {a.sim_users} --sim-seed {a.sim_seed}`",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
