"""Simulate a whole platform and write it as a contract-shaped dataset."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from insights.simulator import (
    activity,
    community,
    experiments,
    lifetimes,
    orders,
    population,
    spend,
)
from insights.simulator.scenario import Scenario, load_scenario

__all__ = ["simulate", "GENERATOR_VERSION"]

GENERATOR_VERSION = "1"
_TABLES = ("users", "orders", "views", "interactions", "community", "experiments", "spend")


def _ts(seconds: np.ndarray) -> pl.Series:
    return pl.Series((seconds.astype(np.int64) * 1_000_000).astype("datetime64[us]"))


def _labels(values: list[str], codes: np.ndarray) -> pl.Series:
    # gather from the small label Series: no Python object per row (memory at 1M users)
    return pl.Series(values, dtype=pl.String).gather(codes.astype(np.int64))


def simulate(
    out: str | Path,
    *,
    users: int = 200_000,
    seed: int = 42,
    scenario: str | Path | Scenario | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Generate a dataset of ``users`` users and write it to ``out`` (Parquet + manifest.json).

    Same ``seed`` and scenario give byte-identical files. The directory is written
    atomically: files go to a temporary directory that replaces ``out`` at the end.

    Returns the manifest (seed, scenario, row counts, true experiment effects).

    Examples
    --------
    >>> import tempfile
    >>> m = simulate(tempfile.mkdtemp() + "/tiny", users=500, seed=1)
    >>> m["rows"]["users"]
    500
    """
    if users < 1:
        raise ValueError("users must be >= 1")
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    say = progress or (lambda _msg: None)
    frames, manifest = generate(users, seed=seed, scenario=sc, progress=say)
    say("writing")
    _write(Path(out), frames, manifest)
    return manifest


def generate(
    users: int, *, seed: int, scenario: Scenario, progress: Callable[[str], None]
) -> tuple[dict[str, pl.DataFrame], dict]:
    """The tables and manifest of a simulated platform, in memory (see :func:`simulate`)."""
    sc, say = scenario, progress
    rng = np.random.default_rng(np.random.PCG64(seed))

    say("users")
    pop = population.draw_population(users, sc, rng)
    buyer_class = orders.draw_buyers(pop, sc, rng)
    slopes = lifetimes.hazard_slopes(pop, sc, rng, buyer_class)
    newcomer = experiments.assign_newcomer_plan(pop, slopes, sc, rng)
    lottery, interactor_rel = experiments.assign_lottery(pop, slopes, sc, rng)
    say("lifetimes")
    eps = lifetimes.draw_episodes(pop, slopes, sc, rng)
    ret_pack, eps, forced = experiments.assign_return_pack(pop, eps, slopes, sc, rng)
    say("activity")
    days = activity.draw_active_days(pop, eps, sc, rng)
    sessions = activity.draw_sessions(pop, days, sc, rng)
    join = community.draw_joins(pop, days, sc, rng)
    invite, join = experiments.assign_invite(pop, days, join, sc, rng)
    members = community.draw_leaves(pop, join, sc, rng)
    interactors = activity.draw_interactors(pop, sc, rng, interactor_rel)
    say("orders")
    ords = orders.draw_orders(pop, eps, buyer_class, interactors, members, forced, sc, rng)
    i_user, i_at, i_kind = activity.draw_interactions(sessions, interactors, sc, rng)

    del (
        days,
        eps,
    )  # the tables need sessions, not the active days: free them first (memory at 1M users)
    say("tables")
    frames = _frames(
        pop,
        sessions,
        ords,
        (i_user, i_at, i_kind),
        members,
        (newcomer, lottery, ret_pack, invite),
        sc,
        rng,
    )
    frames["spend"] = spend.draw_spend(pop, sc, rng)

    truth = {
        a.experiment: {
            "arms": {
                k: int(v)
                for k, v in zip(*np.unique(a.arm.astype(str), return_counts=True), strict=True)
            },
            "true_effect": a.truth,
            "doc": sc["experiments"][a.experiment]["doc"],
        }
        for a in (newcomer, lottery, ret_pack, invite)
    }
    manifest = {
        "generator": "insights.simulator",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "users": users,
        "start": str(sc.start),
        "end": str(sc.end),
        "as_of": f"{sc.end}T23:59:59",
        "timezone": sc["timezone"],
        "currency": sc["currency"],
        "scenario": {
            "name": sc["name"],
            "file": sc.path.name,
            "sha256": sc.sha256,
            "parameters": sc.params,
        },
        "rows": {name: frames[name].height for name in _TABLES},
        "experiments": truth,
    }
    return frames, manifest


def _view_span(sessions, user: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last view (epoch second) of each queried (user index, day index); -1 without a view.

    Sessions come grouped by (user, day) in ascending order, so a binary search finds
    each day's block; only the queried days are reduced (no per-day table of all views).
    """
    key = sessions.user.astype(np.int64) * activity.DAY_KEY + sessions.day
    q = user.astype(np.int64) * activity.DAY_KEY + day
    lo, hi = np.searchsorted(key, q, "left"), np.searchsorted(key, q, "right")
    has = hi > lo
    first = np.full(q.size, -1, dtype=np.int64)
    last = np.full(q.size, -1, dtype=np.int64)
    if has.any():
        at = np.append(sessions.at.astype(np.int64), 0)  # sentinel keeps every bound in range
        bounds = np.ravel(np.column_stack([lo[has], hi[has]]))
        first[has] = np.minimum.reduceat(at, bounds)[::2]
        last[has] = np.maximum.reduceat(at, bounds)[::2]
    return first, last


def _frames(
    pop, sessions, ords, inter, members, assignments, sc: Scenario, rng
) -> dict[str, pl.DataFrame]:
    cats = pop.labels["category"]
    users = pl.DataFrame(
        {
            "user_id": pop.user_id,
            "first_seen_at": _ts(pop.first_day * 86400 + pop.first_second),
            **{a: _labels(pop.labels[a], pop.codes[a]) for a in population.ATTRIBUTES},
        }
    )
    order_at = activity.event_seconds(pop, ords.user, ords.day, rng)
    orders_df = pl.DataFrame(
        {
            "order_id": np.arange(1, ords.user.size + 1, dtype=np.int64) + 500_000_000,
            "user_id": pop.user_id[ords.user],
            "ordered_at": _ts(order_at),
            "amount": ords.amount,
            "category": _labels(cats, ords.category),
            "source": _labels(ords.source_labels, ords.source),
            "refunded": ords.refunded,
        }
    ).sort("ordered_at", "order_id")
    host = rng.choice(3, size=sessions.user.size, p=[0.2, 0.35, 0.45]).astype(np.int8)
    view_cat = np.where(
        rng.random(sessions.user.size) < 0.6,
        pop.codes["category"][sessions.user],
        rng.integers(0, len(cats), sessions.user.size),
    ).astype(np.int8)
    # rows in output order (started_at, user_id) built once: no unsorted copy of the table
    order = np.lexsort((pop.user_id[sessions.user], sessions.at))
    views = pl.DataFrame(
        {
            "user_id": pop.user_id[sessions.user[order]],
            "started_at": _ts(sessions.at[order]),
            "watch_seconds": sessions.watch[order],
            "category": _labels(cats, view_cat[order]),
            "host_tier": _labels(["head", "waist", "tail"], host[order]),
        }
    )
    del order, view_cat, host
    i_user, i_at, i_kind = inter
    interactions = pl.DataFrame(
        {
            "user_id": pop.user_id[i_user],
            "at": _ts(i_at),
            "kind": _labels(list(sc["interaction"]["kind_mix"]), i_kind),
        }
    )
    # a join happens right after the user's last view of that day; a leave at a random time
    joined = np.flatnonzero(members.join < community.NO_DAY)
    # a join happens one minute after the user's last view that day (21:00 without a view)
    day_start = (pop.first_day[joined] + members.join[joined]) * 86400
    _, last = _view_span(sessions, joined, members.join[joined])
    join_sec = np.where(last >= 0, np.minimum(last + 60, day_start + 86399), day_start + 21 * 3600)
    kinds = list(sc["community"]["kind_mix"])
    left = joined[members.leave[joined] < community.NO_DAY]
    leave_at = (pop.first_day[left] + members.leave[left]) * 86400 + population.time_of_day(
        rng, left.size
    )
    community_df = pl.concat(
        [
            pl.DataFrame(
                {
                    "user_id": pop.user_id[joined],
                    "at": _ts(join_sec),
                    "action": "join",
                    "kind": _labels(kinds, members.kind[joined]),
                }
            ),
            pl.DataFrame(
                {
                    "user_id": pop.user_id[left],
                    "at": _ts(leave_at),
                    "action": "leave",
                    "kind": _labels(kinds, members.kind[left]),
                }
            ),
        ]
    ).sort("at", "user_id")
    exp_rows = []
    for a in assignments:
        seconds = (pop.first_day[a.user] + a.day) * 86400 + np.where(
            a.day == 0, pop.first_second[a.user], 10 * 3600
        )
        if (
            a.experiment == "private_domain_invite"
        ):  # assigned at the first view of the assignment day
            first, _ = _view_span(sessions, a.user, a.day)
            seconds = np.where(first >= 0, first, seconds)
        exp_rows.append(
            pl.DataFrame(
                {
                    "user_id": pop.user_id[a.user],
                    "experiment": a.experiment,
                    "arm": pl.Series(a.arm.astype(str), dtype=pl.String),
                    "assigned_at": _ts(seconds),
                }
            )
        )
    exps = pl.concat(exp_rows)
    exps = exps.sort("experiment", "assigned_at", "user_id")
    interactions = interactions.sort("at", "user_id")
    return {
        "users": users,
        "orders": orders_df,
        "views": views,
        "interactions": interactions,
        "community": community_df,
        "experiments": exps,
    }


def _write(out: Path, frames: dict[str, pl.DataFrame], manifest: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name in _TABLES:
            frames[name].write_parquet(tmp / f"{name}.parquet", compression="zstd", statistics=True)
        manifest["files"] = {
            f"{name}.parquet": hashlib.sha256((tmp / f"{name}.parquet").read_bytes()).hexdigest()
            for name in _TABLES
        }
        finish(tmp, out, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def finish(tmp: Path, out: Path, manifest: dict) -> None:
    """Write ``manifest.json`` and ``dataset.yaml`` into ``tmp``, then let it replace ``out``."""
    (tmp / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    (tmp / "dataset.yaml").write_text(
        f"# written by insights simulate\ntimezone: {manifest['timezone']}\ncurrency: {manifest['currency']}\nas_of: {manifest['end']}\n",
        encoding="utf-8",
    )
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
