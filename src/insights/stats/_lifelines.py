"""The one door to lifelines (and pandas): fitters in, NumPy arrays out.

No pandas object leaves this module. Callers hand in NumPy arrays (durations,
event flags, integer weights = counts of identical rows) and get plain arrays
back, which :mod:`insights.stats.km` turns into tidy Polars frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["KMArrays", "fit_kaplan_meier"]


@dataclass(frozen=True)
class KMArrays:
    """A Kaplan–Meier fit as aligned arrays over lifelines' timeline.

    ``t`` is lifelines' timeline (0 prepended when no duration is 0, then every
    distinct duration); ``survival`` is S(t) = P(T > t); ``ci_low``/``ci_high`` are
    the exponential-Greenwood (log-log) bounds; ``at_risk``, ``events`` and
    ``censored`` come from lifelines' event table (weighted counts).
    """

    t: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray


def fit_kaplan_meier(
    durations: ArrayLike,
    events: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    alpha: float = 0.05,
) -> KMArrays:
    """Fit lifelines' ``KaplanMeierFitter`` and return its estimates as arrays.

    Parameters
    ----------
    durations, events
        One entry per row (or per group of identical rows when ``weights`` is given).
    weights
        Integer counts of identical rows; a weighted fit equals the fit on the
        expanded rows (same S, Greenwood variance, CI and at-risk numbers).
    alpha
        1 - confidence level of the pointwise CI.
    """
    from lifelines import KaplanMeierFitter

    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    # lifelines calls np.seterr(...) globally; errstate restores the caller's settings.
    with np.errstate(all="ignore"):
        kmf = KaplanMeierFitter(alpha=alpha).fit(d, e, weights=w)
        table = kmf.event_table
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_
        return KMArrays(
            t=np.asarray(sf.index, dtype=float),
            survival=sf.to_numpy(dtype=float),
            ci_low=ci.iloc[:, 0].to_numpy(dtype=float),
            ci_high=ci.iloc[:, 1].to_numpy(dtype=float),
            at_risk=table["at_risk"].reindex(sf.index).to_numpy(dtype=float),
            events=table["observed"].reindex(sf.index).to_numpy(dtype=float),
            censored=table["censored"].reindex(sf.index).to_numpy(dtype=float),
        )
