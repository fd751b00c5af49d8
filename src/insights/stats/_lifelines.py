"""The one door to lifelines (and pandas): fitters in, NumPy arrays out.

No pandas object leaves this module. Callers hand in NumPy arrays (durations,
event flags, integer weights = counts of identical rows) and get plain arrays
back, which :mod:`insights.stats.km` turns into tidy Polars frames.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "CoxArrays",
    "KMArrays",
    "ParametricArrays",
    "fit_cox",
    "fit_kaplan_meier",
    "fit_parametric_survival",
]


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
    entry: ArrayLike | None = None,
) -> KMArrays:
    """Fit lifelines' ``KaplanMeierFitter`` and return its estimates as arrays.

    Parameters
    ----------
    durations, events
        One entry per row (or per group of identical rows when ``weights`` is given).
    weights
        Counts of identical rows; a weighted fit equals the fit on the expanded
        rows (same S, Greenwood variance, CI and at-risk numbers). Non-integer case
        weights are allowed (lifelines' warning about propensity weights is silenced:
        the caller documents what its weights mean).
    alpha
        1 - confidence level of the pointwise CI.
    entry
        Left-truncation (delayed entry) times, passed to lifelines' ``entry=``: a
        unit is at risk from its entry time on (the timeline then also has a row at
        each entry time, where nothing but ``at_risk`` changes).
    """
    from lifelines import KaplanMeierFitter

    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    en = None if entry is None else np.asarray(entry, dtype=float)
    # lifelines calls np.seterr(...) globally; errstate restores the caller's settings.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="It looks like your weights are not integers")
        kmf = KaplanMeierFitter(alpha=alpha).fit(d, e, weights=w, entry=en)
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


@dataclass(frozen=True)
class CoxArrays:
    """A Cox proportional hazards fit as arrays aligned with ``names``.

    ``coef`` are log hazard ratios; ``se`` model-based standard errors (inverse
    observed information); ``ci_low``/``ci_high`` Wald bounds of ``coef``; ``z`` and
    ``p_value`` the Wald tests; ``log_likelihood`` the partial log-likelihood at the fit.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    log_likelihood: float


def fit_cox(
    durations: ArrayLike,
    events: ArrayLike,
    covariates: ArrayLike,
    names: tuple[str, ...] | list[str],
    *,
    weights: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    alpha: float = 0.05,
    robust: bool = False,
) -> CoxArrays:
    """Fit lifelines' ``CoxPHFitter`` (Efron ties) and return its estimates as arrays.

    Parameters
    ----------
    durations, events
        One entry per row (or per group of identical rows with ``weights``).
    covariates
        ``(rows, p)`` design matrix, columns named by ``names``.
    weights
        Row weights, passed as ``weights_col``. With ``robust=False`` they are
        frequency weights (counts of identical rows), for which the model-based variance
        is the right one (the robust sandwich would treat each aggregated row as one
        unit). Note
        that lifelines' Efron correction counts tied *rows*, not their weights (R's
        ``coxph(weights=)`` convention), so when several users share an event time
        the fit differs slightly from the fit on the expanded rows (the exact
        frequency-weighted fit is in :mod:`insights.stats.cox`); lifelines' warning about
        non-integer weights is silenced (the caller documents what its weights mean).
    strata
        Optional stratum label per row (separate baseline hazards).
    alpha
        1 - confidence level of the Wald CI.
    robust
        lifelines' ``robust=True``: the sandwich variance for sampling weights, each row
        one unit (invariant to the weights' scale).

    Raises
    ------
    ValueError
        When lifelines reports that the fit did not converge (e.g. a level with no
        events, whose hazard ratio is 0).
    """
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    labels = [str(n) for n in names]
    x = np.asarray(covariates, dtype=float).reshape(len(np.asarray(durations)), len(labels))
    frame = pd.DataFrame(x, columns=labels)
    frame["__duration"] = np.asarray(durations, dtype=float)
    frame["__event"] = np.asarray(events, dtype=int)
    frame["__weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    if strata is not None:
        frame["__stratum"] = np.asarray(strata).astype(str)
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter(alpha=alpha).fit(
                frame,
                duration_col="__duration",
                event_col="__event",
                weights_col="__weight",
                strata=["__stratum"] if strata is not None else None,
                robust=robust,
            )
        except ConvergenceError as err:
            raise ValueError(f"the Cox model could not be fitted: {err}") from None
    problems = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    if problems:
        raise ValueError(
            "the Cox model did not converge (often a level with no events or a column "
            f"that separates events perfectly): {problems[0]}"
        )
    ci = cph.confidence_intervals_.loc[labels]
    return CoxArrays(
        names=tuple(labels),
        coef=cph.params_.loc[labels].to_numpy(dtype=float),
        se=cph.standard_errors_.loc[labels].to_numpy(dtype=float),
        ci_low=ci.iloc[:, 0].to_numpy(dtype=float),
        ci_high=ci.iloc[:, 1].to_numpy(dtype=float),
        z=cph.summary.loc[labels, "z"].to_numpy(dtype=float),
        p_value=cph.summary.loc[labels, "p"].to_numpy(dtype=float),
        log_likelihood=float(cph.log_likelihood_),
    )


@dataclass(frozen=True)
class ParametricArrays:
    """A lifelines parametric survival fit: its name, fit statistics and S(t) on a grid.

    ``name`` is ``"weibull"``, ``"log_logistic"`` or ``"log_normal"``; ``params`` the
    fitted parameters by lifelines' names; ``aic`` = 2k - 2 log L (weighted);
    ``survival`` is S(t) at the ``times`` asked for.
    """

    name: str
    params: dict[str, float]
    log_likelihood: float
    aic: float
    times: np.ndarray
    survival: np.ndarray


def fit_parametric_survival(
    durations: ArrayLike,
    events: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    times: ArrayLike,
    models: tuple[str, ...] = ("weibull", "log_logistic", "log_normal"),
) -> list[ParametricArrays]:
    """Fit lifelines' Weibull / log-logistic / log-normal fitters (weighted) and evaluate S.

    Rows with duration <= 0 are dropped (these fitters need positive times; a unit
    censored at 0 carries no information). A model that fails to converge is left
    out of the result (the caller picks the smallest AIC among those returned).
    """
    from lifelines import LogLogisticFitter, LogNormalFitter, WeibullFitter

    fitters = {
        "weibull": WeibullFitter,
        "log_logistic": LogLogisticFitter,
        "log_normal": LogNormalFitter,
    }
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    keep = (d > 0) & (w > 0)
    grid = np.asarray(times, dtype=float)
    out: list[ParametricArrays] = []
    for name in models:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                f = fitters[name]().fit(d[keep], e[keep], weights=w[keep])
            except Exception:  # noqa: BLE001 - lifelines raises several types on non-convergence
                continue
            surv = np.asarray(f.survival_function_at_times(np.maximum(grid, 1e-9)), dtype=float)
            out.append(
                ParametricArrays(
                    name=name,
                    params={str(k): float(v) for k, v in f.params_.items()},
                    log_likelihood=float(f.log_likelihood_),
                    aic=float(f.AIC_),
                    times=grid,
                    survival=surv,
                )
            )
    return out
