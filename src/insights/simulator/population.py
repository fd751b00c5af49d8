"""Users: acquisition moments and attributes drawn from the scenario's yearly shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from insights.simulator.scenario import Scenario

__all__ = ["Population", "draw_population", "ATTRIBUTES", "EPOCH"]

ATTRIBUTES = ("platform", "channel", "city_tier", "generation", "income_band", "gender", "category")
EPOCH = dt.date(1970, 1, 1)
USER_ID_OFFSET = 10_000_001


@dataclass
class Population:
    """Column arrays of the users table; attributes as integer codes into ``labels``."""

    user_id: np.ndarray  # int64
    first_day: np.ndarray  # epoch day of first_seen
    first_second: np.ndarray  # second of the day of first_seen
    year: np.ndarray  # acquisition year
    codes: dict[str, np.ndarray]
    labels: dict[str, list[str]]
    horizon: np.ndarray  # last observable day index (end date - first day)

    @property
    def n(self) -> int:
        return int(self.user_id.size)

    def is_in(self, attribute: str, values: list[str]) -> np.ndarray:
        idx = [self.labels[attribute].index(v) for v in values]
        return np.isin(self.codes[attribute], idx)


def _quarter_days(start: dt.date, end: dt.date) -> list[tuple[int, int, int, int]]:
    """(year, quarter, first epoch day, last epoch day) for each quarter in [start, end]."""
    out = []
    for year in range(start.year, end.year + 1):
        for q in range(4):
            a = dt.date(year, 3 * q + 1, 1)
            b = dt.date(year + (q == 3), (3 * q + 3) % 12 + 1, 1) - dt.timedelta(days=1)
            if b < start or a > end:
                continue
            out.append((year, q, (max(a, start) - EPOCH).days, (min(b, end) - EPOCH).days))
    return out


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds of the day, evening-heavy like live-stream traffic (peak around 20:30)."""
    evening = rng.normal(20.5 * 3600, 1.6 * 3600, n)
    daytime = rng.uniform(8 * 3600, 24 * 3600, n)
    pick = rng.random(n) < 0.6
    return np.clip(np.where(pick, evening, daytime), 0, 86399).astype(np.int64)


def draw_population(n: int, scenario: Scenario, rng: np.random.Generator) -> Population:
    """Draw ``n`` users: acquisition quarter by weight, day uniform in it, attributes by year."""
    quarters = _quarter_days(scenario.start, scenario.end)
    weights = np.array(
        [
            scenario["acquisition"]["quarter_weights"][y][q] * (d1 - d0 + 1) / 91.0
            for y, q, d0, d1 in quarters
        ]
    )
    qi = rng.choice(len(quarters), size=n, p=weights / weights.sum())
    d0 = np.array([q[2] for q in quarters])[qi]
    d1 = np.array([q[3] for q in quarters])[qi]
    first_day = d0 + np.floor(rng.random(n) * (d1 - d0 + 1)).astype(np.int64)
    order = np.argsort(first_day, kind="stable")
    first_day = first_day[order]
    first_second = time_of_day(rng, n)
    year = np.array([q[0] for q in quarters])[qi][order]

    codes: dict[str, np.ndarray] = {}
    labels: dict[str, list[str]] = {}
    for attribute in ATTRIBUTES:
        table = scenario["attributes"][attribute]
        names = list(next(iter(table.values())).keys())
        labels[attribute] = names
        code = np.empty(n, dtype=np.int8)
        for y in np.unique(year):
            shares = scenario.by_year(table, int(y))
            p = np.array([shares[k] for k in names], dtype=float)
            mask = year == y
            code[mask] = rng.choice(len(names), size=int(mask.sum()), p=p / p.sum())
        codes[attribute] = code
    end_day = (scenario.end - EPOCH).days
    return Population(
        user_id=np.arange(USER_ID_OFFSET, USER_ID_OFFSET + n, dtype=np.int64),
        first_day=first_day,
        first_second=first_second,
        year=year,
        codes=codes,
        labels=labels,
        horizon=end_day - first_day,
    )
