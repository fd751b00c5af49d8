"""Lifetimes: piecewise-constant churn hazards, episodes of activity and returns.

A user's lifetime L is the day of their last activity before a gap of more than
30 days (``docs/metrics.md``). The simulator draws L directly from the hazard
``h_u(t) = base(t) * year(t) * segments(t) * frailty_u`` (continuous time,
``L = floor(T)``), so the true survival curve of any group is known:
``P(L >= t) = mean_u exp(-Lambda_u(t))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insights.simulator.population import Population
from insights.simulator.scenario import Scenario

__all__ = ["Episodes", "hazard_slopes", "cumulative_hazard", "draw_lifetimes", "draw_episodes"]


def _knots(scenario: Scenario) -> np.ndarray:
    return np.asarray(scenario["lifetime"]["knots"], dtype=float)


def hazard_slopes(
    pop: Population,
    scenario: Scenario,
    rng: np.random.Generator,
    buyer_class: np.ndarray | None = None,
) -> np.ndarray:
    """Per-user hazard per day in each piece, shape (users, pieces).

    ``buyer_class`` (0 non-buyer, 1 casual, 2 loyal buyer) applies ``buyer_hazard_mult``.
    """
    spec = scenario["lifetime"]
    knots = _knots(scenario)
    base = np.asarray(spec["base_hazard"], dtype=float)
    early = knots < 30
    slopes = np.tile(base, (pop.n, 1))
    for y in np.unique(pop.year):
        m = scenario.by_year(spec["year_mult"], int(y))
        mask = pop.year == y
        slopes[mask] *= np.where(early, m["early"], m["late"])
    for attribute, table in spec["segment_mult"].items():
        names = pop.labels[attribute]
        mult = np.ones((len(names), knots.size))
        for label, m in table.items():
            mult[names.index(label)] = np.where(early, m["early"], m["late"])
        slopes *= mult[pop.codes[attribute]]
    if buyer_class is not None and "buyer_hazard_mult" in spec:
        table = spec["buyer_hazard_mult"]
        for code, name in ((1, "casual"), (2, "loyal")):
            slopes[buyer_class == code] *= np.where(
                early, table[name]["early"], table[name]["late"]
            )
    var = float(spec["frailty_variance"])
    if var > 0:
        frailty = rng.gamma(1.0 / var, var, pop.n)
        slopes *= frailty[:, None]
    return slopes


def cumulative_hazard(slopes: np.ndarray, knots: np.ndarray, t: float) -> np.ndarray:
    """Lambda_u(t) for every row of ``slopes``."""
    widths = np.diff(np.append(knots, np.inf))
    exposure = np.clip(t - knots, 0, widths)
    return slopes @ exposure


def draw_lifetimes(slopes: np.ndarray, knots: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """L = floor(T) with T from the piecewise-exponential hazard (inverse transform)."""
    e = np.asarray(rng.exponential(1.0, slopes.shape[0]))
    widths = np.diff(knots)
    cum = np.concatenate(
        [np.zeros((slopes.shape[0], 1)), np.cumsum(slopes[:, :-1] * widths, axis=1)], axis=1
    )
    piece = (cum <= e[:, None]).sum(axis=1) - 1
    rows = np.arange(slopes.shape[0])
    t = knots[piece] + (e - cum[rows, piece]) / slopes[rows, piece]
    return np.minimum(np.floor(t), 1e6).astype(np.int64)


@dataclass
class Episodes:
    """Alive spells: user index, start day and length (last active day = start + length)."""

    user: np.ndarray
    start: np.ndarray
    length: np.ndarray
    number: np.ndarray

    @property
    def end(self) -> np.ndarray:
        return self.start + self.length


def draw_episodes(
    pop: Population, slopes: np.ndarray, scenario: Scenario, rng: np.random.Generator
) -> Episodes:
    """The first spell from day 0, then returns after a > 30-day gap (``reactivation``)."""
    spec = scenario["reactivation"]
    knots = _knots(scenario)
    users = np.arange(pop.n)
    start = np.zeros(pop.n, dtype=np.int64)
    current = slopes
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for number in range(int(spec["max_episodes"])):
        length = draw_lifetimes(current, knots, rng)
        parts.append((users, start, length, np.full(users.size, number, dtype=np.int8)))
        end = start + length
        back = (end < pop.horizon[users]) & (rng.random(users.size) < float(spec["probability"]))
        gap = 31 + np.floor(rng.exponential(float(spec["mean_days_after_gap"]), users.size)).astype(
            np.int64
        )
        nxt = end + gap
        keep = back & (nxt <= pop.horizon[users])
        users, start = users[keep], nxt[keep]
        current = current[keep] * float(spec["hazard_mult"])
        if users.size == 0:
            break
    u, s, ln, no = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((s, u))
    return Episodes(user=u[order], start=s[order], length=ln[order], number=no[order])
