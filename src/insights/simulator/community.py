"""Private-domain membership: joins on active days, leaves some time later."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insights.simulator.activity import ActiveDays
from insights.simulator.population import Population
from insights.simulator.scenario import Scenario

__all__ = ["Membership", "draw_joins", "draw_leaves", "NO_DAY"]

NO_DAY = np.iinfo(np.int64).max // 4


@dataclass
class Membership:
    """Per user: day index of joining (NO_DAY if never), of leaving (NO_DAY if not), kind code."""

    join: np.ndarray
    leave: np.ndarray
    kind: np.ndarray


def draw_joins(
    pop: Population, days: ActiveDays, scenario: Scenario, rng: np.random.Generator
) -> np.ndarray:
    """Day of each user's first join: the first active day whose Bernoulli(join_prob) succeeds."""
    q = float(scenario["community"]["join_prob_per_active_day"])
    hit = rng.random(days.user.size) < q
    join = np.full(pop.n, NO_DAY, dtype=np.int64)
    # days are sorted by (user, day): the first hit per user is its minimum
    np.minimum.at(join, days.user[hit], days.day[hit])
    return join


def draw_leaves(
    pop: Population, join: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> Membership:
    """Leave after an exponential time: a share soon, the rest much later (or never in the data)."""
    spec = scenario["community"]
    early = rng.random(pop.n) < float(spec["early_leave_share"])
    wait = np.where(
        early,
        rng.exponential(float(spec["early_leave_mean_days"]), pop.n),
        rng.exponential(float(spec["late_leave_mean_days"]), pop.n),
    )
    leave = np.where(join < NO_DAY, join + 1 + np.floor(wait).astype(np.int64), NO_DAY)
    leave = np.where(leave <= pop.horizon, leave, NO_DAY)
    kinds = spec["kind_mix"]
    p = np.array(list(kinds.values()), dtype=float)
    kind = rng.choice(len(p), size=pop.n, p=p / p.sum()).astype(np.int8)
    return Membership(join=join, leave=leave, kind=kind)
