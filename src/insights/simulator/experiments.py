"""The four strategy experiments of the simulated world, generated with known true effects.

Each ``assign_*`` function picks the eligible users, randomises arms, applies the
arm's true effect to the generative model and returns the assignments plus the
true effect (recorded in the dataset's ``manifest.json``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from insights.simulator.activity import ActiveDays
from insights.simulator.community import NO_DAY
from insights.simulator.lifetimes import Episodes, cumulative_hazard, draw_lifetimes
from insights.simulator.population import EPOCH, Population
from insights.simulator.scenario import Scenario

__all__ = [
    "Assignment",
    "assign_newcomer_plan",
    "assign_lottery",
    "assign_return_pack",
    "assign_invite",
]


@dataclass
class Assignment:
    """Users (indices), arm labels, assignment day index and the true effect."""

    experiment: str
    user: np.ndarray
    arm: np.ndarray  # arm label per user (object array of str)
    day: np.ndarray
    truth: dict = field(default_factory=dict)


def _epoch(value: object) -> int:
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return (d - EPOCH).days


def _randomise(spec: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    arms = list(spec["arms"])
    p = np.array(list(spec["arms"].values()), dtype=float)
    return np.array(arms, dtype=object)[rng.choice(len(arms), size=n, p=p / p.sum())]


def _enrol_new_users(pop: Population, spec: dict, rng: np.random.Generator) -> np.ndarray:
    lo, hi = (_epoch(d) for d in spec["window"])
    eligible = np.flatnonzero((pop.first_day >= lo) & (pop.first_day <= hi))
    return eligible[rng.random(eligible.size) < float(spec["enrol_share"])]


def _early(scenario: Scenario) -> np.ndarray:
    return np.asarray(scenario["lifetime"]["knots"], dtype=float) < 30


def _true_d30(slopes: np.ndarray, knots: np.ndarray) -> float:
    return float(np.mean(np.exp(-cumulative_hazard(slopes, knots, 30.0))))


def assign_newcomer_plan(
    pop: Population, slopes: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> Assignment:
    """New users in the window; treatment multiplies the day 0-30 churn hazard (in place)."""
    spec = scenario["experiments"]["newcomer_7day_plan"]
    users = _enrol_new_users(pop, spec, rng)
    arm = _randomise(spec, users.size, rng)
    knots = np.asarray(scenario["lifetime"]["knots"], dtype=float)
    early = _early(scenario)
    truth: dict = {"hazard_ratio_days_0_30": {}, "true_d30": {}}
    for name, mult in spec["early_hazard_mult"].items():
        rows = users[arm == name]
        slopes[np.ix_(rows, early)] *= float(mult)
        truth["hazard_ratio_days_0_30"][name] = float(mult)
        truth["true_d30"][name] = _true_d30(slopes[rows], knots) if rows.size else None
    return Assignment("newcomer_7day_plan", users, arm, np.zeros(users.size, dtype=np.int64), truth)


def assign_lottery(
    pop: Population, slopes: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> tuple[Assignment, np.ndarray]:
    """New users in the window; arms scale D30 retention and interactor propensity.

    The day 0-30 hazard multiplier of each arm is solved so that the expected D30 of the
    enrolled users is the scenario's relative value times control's. Returns the
    assignment and the per-user relative interactor propensity.
    """
    spec = scenario["experiments"]["comment_vs_danmaku_lottery"]
    users = _enrol_new_users(pop, spec, rng)
    arm = _randomise(spec, users.size, rng)
    knots = np.asarray(scenario["lifetime"]["knots"], dtype=float)
    early = _early(scenario)
    lam30 = cumulative_hazard(slopes[users], knots, 30.0)
    base = float(np.mean(np.exp(-lam30)))
    relative = np.ones(pop.n)
    truth: dict = {
        "d30_relative": {},
        "early_hazard_mult": {},
        "interactor_relative": {},
        "true_d30": {},
    }
    for name, rel in spec["d30_relative"].items():
        target = float(rel) * base
        mult = optimize.brentq(
            lambda c, tg=target: float(np.mean(np.exp(-c * lam30))) - tg, 1e-6, 10.0
        )
        rows = users[arm == name]
        slopes[np.ix_(rows, early)] *= mult
        truth["d30_relative"][name] = float(rel)
        truth["early_hazard_mult"][name] = float(mult)
        truth["true_d30"][name] = float(np.mean(np.exp(-mult * lam30)))
        ir = float(spec["interactor_relative"][name])
        relative[rows] = ir
        truth["interactor_relative"][name] = ir
    return Assignment(
        "comment_vs_danmaku_lottery", users, arm, np.zeros(users.size, dtype=np.int64), truth
    ), relative


def assign_return_pack(
    pop: Population, eps: Episodes, slopes: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> tuple[Assignment, Episodes, tuple[np.ndarray, np.ndarray]]:
    """Churned users (> 90 days without activity) on the assignment date.

    Their natural activity after the date is replaced: with the arm's probability they
    come back on a uniform day within 90 days and order that day (a new spell).
    Returns the assignment, the new episodes and the forced (user, day) orders.
    """
    spec = scenario["experiments"]["return_benefit_pack"]
    a_epoch = _epoch(spec["assign_date"])
    a_idx_ep = a_epoch - pop.first_day[eps.user]
    spanning = (eps.start <= a_idx_ep) & (eps.end >= a_idx_ep - 90)
    blocked = np.zeros(pop.n, dtype=bool)
    blocked[eps.user[spanning]] = True
    blocked[pop.first_day > a_epoch - 91] = True
    eligible = np.flatnonzero(~blocked)
    users = eligible[rng.random(eligible.size) < float(spec["enrol_share"])]
    arm = _randomise(spec, users.size, rng)
    a_idx = a_epoch - pop.first_day[users]
    enrolled = np.zeros(pop.n, dtype=bool)
    enrolled[users] = True
    drop = enrolled[eps.user] & (eps.start >= a_epoch - pop.first_day[eps.user])
    p = np.array([float(spec["return_with_order_90d"][a]) for a in arm])
    back = rng.random(users.size) < p
    ret_users = users[back]
    ret_day = a_idx[back] + rng.integers(1, 91, ret_users.size)
    knots = np.asarray(scenario["lifetime"]["knots"], dtype=float)
    mult = float(scenario["reactivation"]["hazard_mult"])
    length = draw_lifetimes(slopes[ret_users] * mult, knots, rng)
    new = Episodes(
        user=np.concatenate([eps.user[~drop], ret_users]),
        start=np.concatenate([eps.start[~drop], ret_day]),
        length=np.concatenate([eps.length[~drop], length]),
        number=np.concatenate([eps.number[~drop], np.full(ret_users.size, 9, dtype=np.int8)]),
    )
    order = np.lexsort((new.start, new.user))
    new = Episodes(new.user[order], new.start[order], new.length[order], new.number[order])
    truth = {"repurchase_90d": {k: float(v) for k, v in spec["return_with_order_90d"].items()}}
    return Assignment("return_benefit_pack", users, arm, a_idx, truth), new, (ret_users, ret_day)


def assign_invite(
    pop: Population,
    days: ActiveDays,
    join: np.ndarray,
    scenario: Scenario,
    rng: np.random.Generator,
) -> tuple[Assignment, np.ndarray]:
    """Non-members with a view in the window, assigned on their first active day there.

    Natural joins within 30 days after assignment are replaced by the arm's join
    probability (joining on a random active day in those 30 days). Returns the
    assignment and the updated join days.
    """
    spec = scenario["experiments"]["private_domain_invite"]
    lo, hi = (_epoch(d) for d in spec["window"])
    epoch_day = pop.first_day[days.user] + days.day
    in_window = (epoch_day >= lo) & (epoch_day <= hi)
    first = np.full(pop.n, NO_DAY, dtype=np.int64)
    np.minimum.at(first, days.user[in_window], days.day[in_window])
    eligible = np.flatnonzero((first < NO_DAY) & (join > first))
    users = eligible[rng.random(eligible.size) < float(spec["enrol_share"])]
    arm = _randomise(spec, users.size, rng)
    a_idx = first[users]
    join = join.copy()
    natural_in_window = join[users] <= a_idx + 30
    join[users[natural_in_window]] = NO_DAY
    p = np.array([float(spec["join_30d"][a]) for a in arm])
    joins = rng.random(users.size) < p
    # a random active day within [a, a+30] for those who join
    enrolled_pos = np.full(pop.n, -1, dtype=np.int64)
    enrolled_pos[users] = a_idx
    cand = (
        (enrolled_pos[days.user] >= 0)
        & (days.day >= enrolled_pos[days.user])
        & (days.day <= enrolled_pos[days.user] + 30)
    )
    key = rng.random(int(cand.sum()))
    cu, cd = days.user[cand], days.day[cand]
    order = np.lexsort((key, cu))
    cu, cd = cu[order], cd[order]
    firsts = np.ones(cu.size, dtype=bool)
    firsts[1:] = cu[1:] != cu[:-1]
    pick_day = np.full(pop.n, NO_DAY, dtype=np.int64)
    pick_day[cu[firsts]] = cd[firsts]
    chosen = users[joins]
    join[chosen] = pick_day[chosen]
    truth = {"join_30d": {k: float(v) for k, v in spec["join_30d"].items()}}
    return Assignment("private_domain_invite", users, arm, a_idx, truth), join
