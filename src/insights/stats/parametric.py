"""Kaplan–Meier extended beyond the data by the AIC-best lifelines parametric model.

:func:`extended_survival` takes one group's survival counts (``duration, event,
count``), evaluates the weighted Kaplan–Meier curve on days ``0..horizon-1`` while
at least ``min_at_risk`` units are at risk (up to day ``t_km``) and continues it
past ``t_km`` with the conditional survival of the best (smallest AIC) of the
Weibull, log-logistic and log-normal fits: S(t) = S_KM(t_km) · S_m(t) / S_m(t_km).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from insights.stats._lifelines import fit_kaplan_meier, fit_parametric_survival

__all__ = ["ExtendedSurvival", "extended_survival", "MODELS"]

MODELS = ("weibull", "log_logistic", "log_normal")


@dataclass(frozen=True)
class ExtendedSurvival:
    """S(t) on days ``0..horizon-1``: Kaplan–Meier up to ``t_km``, the model after.

    ``model`` is the AIC-best fitter's name (``"none"`` when the data cover the
    horizon), ``aic`` the AIC of every model that converged.
    """

    days: np.ndarray
    survival: np.ndarray
    t_km: int
    model: str
    aic: dict[str, float]


def extended_survival(
    data: pl.DataFrame, *, horizon: int, min_at_risk: int = 10
) -> ExtendedSurvival:
    """Kaplan–Meier S(t) = P(T > t) of one group, extended by the AIC-best model.

    Examples
    --------
    Exponential-like data observed to day 40; S is extrapolated to day 99.

    >>> import numpy as np
    >>> d = np.arange(1, 41)
    >>> c = pl.DataFrame({"duration": d, "event": 1, "count": 100 * np.exp(-d / 20)})
    >>> tail = pl.DataFrame({"duration": [40], "event": [0], "count": [300.0]})
    >>> c = pl.concat([c, tail], how="vertical_relaxed")
    >>> s = extended_survival(c, horizon=100)
    >>> s.model in MODELS, bool(s.survival[99] < s.survival[40])
    (True, True)
    """
    counts = data
    if counts.is_empty():
        raise ValueError("counts is empty: no units to fit a survival curve on")
    d = counts["duration"].to_numpy().astype(float)
    e = counts["event"].to_numpy().astype(bool)
    w = counts["count"].to_numpy().astype(float)
    km = fit_kaplan_meier(d, e, w)
    days = np.arange(int(horizon), dtype=float)
    idx = np.searchsorted(km.t, days, side="right") - 1
    s_km = np.where(idx >= 0, km.survival[np.clip(idx, 0, None)], 1.0)
    ok = km.t[km.at_risk >= min_at_risk]
    t_km = int(min(ok.max() if ok.size else 0.0, horizon - 1))
    if t_km >= horizon - 1:
        return ExtendedSurvival(days.astype(int), s_km, t_km, "none", {})
    fits = fit_parametric_survival(d, e, w, times=np.append(days, t_km))
    if not fits:
        raise ValueError("no parametric model (Weibull, log-logistic, log-normal) converged")
    best = min(fits, key=lambda f: f.aic)
    s_model = best.survival[:-1]
    anchor = best.survival[-1]
    tail = s_km[t_km] * s_model / anchor if anchor > 0 else np.zeros_like(s_model)
    survival = np.where(days <= t_km, s_km, np.minimum(tail, s_km[t_km]))
    return ExtendedSurvival(
        days.astype(int), survival, t_km, best.name, {f.name: f.aic for f in fits}
    )
