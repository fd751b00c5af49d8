"""Orders: buyers order in a renewal process while alive; value by category and segment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from insights.simulator.activity import Interactors
from insights.simulator.community import Membership
from insights.simulator.lifetimes import Episodes
from insights.simulator.population import Population
from insights.simulator.scenario import Scenario

__all__ = ["Orders", "draw_buyers", "draw_orders", "CASUAL", "LOYAL", "NON_BUYER"]

NON_BUYER, CASUAL, LOYAL = 0, 1, 2


@dataclass
class Orders:
    """Order rows as arrays: user index, day index, amount, category code, source code, refunded."""

    user: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    category: np.ndarray
    source: np.ndarray
    refunded: np.ndarray
    source_labels: list[str]


def _segment_product(pop: Population, table: dict, users: np.ndarray) -> np.ndarray:
    out = np.ones(users.size)
    for attribute, values in table.items():
        if attribute not in pop.labels:
            continue
        names = pop.labels[attribute]
        mult = np.array([float(values.get(name, 1.0)) for name in names])
        out *= mult[pop.codes[attribute][users]]
    return out


def _by_year(pop: Population, scenario: Scenario, table: dict) -> np.ndarray:
    out = np.empty(pop.n)
    for y in np.unique(pop.year):
        out[pop.year == y] = scenario.by_year(table, int(y))
    return out


def draw_buyers(pop: Population, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Buyer class per user (NON_BUYER, CASUAL, LOYAL): buyer by year and segment (logit), loyal share."""
    spec = scenario["orders"]
    logit = _by_year(pop, scenario, spec["buyer_logit"])
    for attribute, table in spec["buyer_segment_logit"].items():
        names = pop.labels[attribute]
        logit += np.array([float(table.get(n, 0.0)) for n in names])[pop.codes[attribute]]
    buyer = rng.random(pop.n) < 1 / (1 + np.exp(-logit))
    loyal = rng.random(pop.n) < float(spec["loyal_share"])
    return np.where(buyer, np.where(loyal, LOYAL, CASUAL), NON_BUYER).astype(np.int8)


def draw_orders(
    pop: Population,
    eps: Episodes,
    buyer_class: np.ndarray,
    interactors: Interactors,
    members: Membership,
    forced: tuple[np.ndarray, np.ndarray],
    scenario: Scenario,
    rng: np.random.Generator,
) -> Orders:
    """Draw every order; ``forced`` = (user, day) orders set by experiments."""
    spec = scenario["orders"]
    buyer = buyer_class > NON_BUYER
    fm = spec["frequency_mult"]
    var = float(spec["frequency_variance"])
    freq = np.where(buyer_class == LOYAL, float(spec["loyal_mult"]), float(spec["casual_mult"]))
    freq = freq * rng.gamma(1 / var, var, pop.n) * _by_year(pop, scenario, fm["year"])
    freq *= _segment_product(
        pop, {k: v for k, v in fm.items() if isinstance(v, dict) and k != "year"}, np.arange(pop.n)
    )
    mean_per_view = float(scenario["interaction"]["per_view_mean"])
    freq *= 1 + float(fm["interactor_per_unit_intensity"]) * interactors.per_view / mean_per_view
    freq *= np.where(interactors.per_view > 0, float(fm.get("interactor", 1.0)), 1.0)

    cats = pop.labels["category"]
    shape = float(spec["gap_shape"])
    median1 = float(stats.gamma.median(shape))
    gap_scale = np.array([float(spec["gap_median_days"][c]) for c in cats]) / median1

    take = buyer[eps.user]
    ep_user, ep_start, ep_end = (
        eps.user[take],
        eps.start[take],
        np.minimum(eps.end[take], pop.horizon[eps.user[take]]),
    )
    t = ep_start + rng.exponential(float(spec["first_order_mean_days"]), ep_user.size)
    users_out: list[np.ndarray] = []
    days_out: list[np.ndarray] = []
    alive = t <= ep_end
    idx = np.flatnonzero(alive)
    while idx.size:
        users_out.append(ep_user[idx])
        days_out.append(np.floor(t[idx]).astype(np.int64))
        u = ep_user[idx]
        rate = freq[u] * np.where(members.join[u] <= t[idx], float(fm["member"]), 1.0)
        t[idx] += rng.gamma(shape, gap_scale[pop.codes["category"][u]] / rate)
        idx = idx[t[idx] <= ep_end[idx]]
    user = np.concatenate(users_out + [forced[0]])
    day = np.concatenate(days_out + [forced[1]])
    order = np.lexsort((day, user))
    user, day = user[order], day[order]

    am = spec["amount_mult"]
    n = user.size
    preferred = pop.codes["category"][user]
    other = rng.integers(0, len(cats), n)
    category = np.where(rng.random(n) < 0.7, preferred, other).astype(np.int8)
    mean = np.array([float(spec["mean_amount"][c]) for c in cats])[category]
    mean *= _segment_product(pop, {k: v for k, v in am.items() if isinstance(v, dict)}, user)
    mean *= (
        1 + float(am["interactor_per_unit_intensity"]) * interactors.per_view[user] / mean_per_view
    )
    is_member = members.join[user] <= day
    mean *= np.where(is_member, float(am["member"]), 1.0)
    mean *= _by_year(pop, scenario, spec["overall_scale"])[user]
    sigma = float(spec["amount_sigma"])
    amount = np.round(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma), 2)

    sources = list(spec["source_mix"])
    labels = sources + ["private_domain"]
    p = np.array(list(spec["source_mix"].values()), dtype=float)
    source = rng.choice(len(sources), size=n, p=p / p.sum()).astype(np.int8)
    private = is_member & (rng.random(n) < float(spec["member_private_share"]))
    source[private] = len(sources)
    refunded = rng.random(n) < float(spec["refund_rate"])
    return Orders(
        user=user,
        day=day,
        amount=amount,
        category=category,
        source=source,
        refunded=refunded,
        source_labels=labels,
    )
