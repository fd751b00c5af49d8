"""Treatment-effect statistics on small aggregates: SRM, two-arm differences, MDE.

Everything here works on per-arm aggregates (counts, means, variances, standard
errors) or on a small tidy frame, never on raw event rows:

- :func:`srm_test`: sample-ratio mismatch, Pearson chi-square goodness of fit of the
  arm sizes against the designed split (Kohavi, Tang & Xu 2020, *Trustworthy Online
  Controlled Experiments*, ch. 21).
- :func:`proportion_effect`: p1 − p0 with the Newcombe hybrid score interval
  (Newcombe 1998, method 10), pooled two-proportion z-test, and the relative
  difference p1/p0 − 1 with the Katz log risk-ratio interval.
- :func:`welch_effect`: m1 − m0 with the Welch–Satterthwaite t interval and test;
  relative difference by the delta method on log(m1/m0).
- :func:`normal_effect`: an estimate with a standard error per arm (Kaplan–Meier
  S(t) with Greenwood SE, a clustered ratio such as AOV with its delta-method SE):
  Wald interval and z-test; relative difference by the delta method on the log ratio.
- :func:`mde`: minimum detectable (absolute) effect at ``power`` for a two-sided test
  at ``alpha``: (z_{1−α/2} + z_{power}) · SE₀, where SE₀ is the standard error of the
  difference when both arms have the control arm's variance (the normal-approximation
  two-sample formula, Chow, Shao & Wang 2008, *Sample Size Calculations in Clinical
  Research*, §4.2 for two proportions and §3.2 for two means).

Difference-in-differences (:func:`did_effect`, :class:`DiDResult`,
:data:`PARALLEL_TRENDS`) lives in :mod:`insights.stats.did` and is re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from insights.stats.did import PARALLEL_TRENDS, DiDResult, did_effect
from insights.stats.proportions import newcombe_diff_interval, z_value

__all__ = [
    "SRMResult",
    "srm_test",
    "Effect",
    "proportion_effect",
    "welch_effect",
    "normal_effect",
    "mde",
    "DiDResult",
    "did_effect",
    "PARALLEL_TRENDS",
]


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio-mismatch test: observed vs expected arm sizes."""

    arms: tuple[str, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    df: int
    p_value: float


def srm_test(data: Mapping[str, int], *, split: Mapping[str, float] | None = None) -> SRMResult:
    """Chi-square goodness-of-fit test of arm sizes against the designed split.

    Parameters
    ----------
    data
        Units per arm (``{arm: n}``).
    split
        Designed share (or weight) per arm, normalised to 1; default equal shares.

    Returns
    -------
    SRMResult
        chi2 = Σ (O − E)² / E with k − 1 degrees of freedom and its p-value. A small
        p (the usual alarm is p < 0.001) means the assignment did not follow the design.

    Examples
    --------
    60 vs 40 users on a 50/50 design: chi2 = (10² + 10²) / 50 = 4, p = 0.0455.

    >>> import insights as ins
    >>> r = ins.srm_test({"control": 60, "treatment": 40})
    >>> round(r.chi2, 3), round(r.p_value, 4)
    (4.0, 0.0455)
    """
    counts = data
    arms = tuple(sorted(counts))
    if len(arms) < 2:
        raise ValueError(f"counts must have at least two arms, got {list(arms)}")
    obs = np.array([float(counts[a]) for a in arms])
    if split is None:
        share = np.full(len(arms), 1.0 / len(arms))
    else:
        missing = [a for a in arms if a not in split]
        if missing:
            raise ValueError(
                f"split has no share for arms {missing}; give one per arm {list(arms)}"
            )
        share = np.array([float(split[a]) for a in arms])
        if np.any(share <= 0):
            raise ValueError(f"split shares must be > 0, got {dict(split)}")
        share = share / share.sum()
    exp = share * obs.sum()
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    df = len(arms) - 1
    return SRMResult(
        arms,
        tuple(int(v) for v in obs),
        tuple(exp.tolist()),
        chi2,
        df,
        float(stats.chi2.sf(chi2, df)),
    )


@dataclass(frozen=True)
class Effect:
    """A treatment-vs-control difference with its intervals, test and MDE."""

    value_treatment: float
    value_control: float
    difference: float
    ci_low: float
    ci_high: float
    relative: float
    relative_ci_low: float
    relative_ci_high: float
    p_value: float
    mde: float
    method: str

    def as_dict(self) -> dict[str, float | str]:
        """The fields as a plain dict (for building frames)."""
        return dict(self.__dict__)


def mde(se0: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable absolute effect: (z_{1−α/2} + z_{power}) · SE₀.

    Examples
    --------
    >>> round(mde(0.01), 4)  # (1.96 + 0.8416) * 0.01
    0.028
    """
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1 (0.8 for 80%), got {power!r}")
    return float((z_value(alpha) + stats.norm.ppf(power)) * se0)


def _log_ratio_ci(r: float, se_log: float, z: float) -> tuple[float, float, float]:
    if not (r > 0 and math.isfinite(se_log)):
        return (math.nan, math.nan, math.nan)
    return (r - 1.0, r * math.exp(-z * se_log) - 1.0, r * math.exp(z * se_log) - 1.0)


def proportion_effect(
    x1: float, n1: float, x0: float, n0: float, *, alpha: float = 0.05, power: float = 0.8
) -> Effect:
    """Treatment (x1/n1) minus control (x0/n0) share: Newcombe CI, z-test, Katz RR CI, MDE.

    Examples
    --------
    Newcombe (1998) Table II (a): 56/70 vs 48/80, difference 0.2 in (0.0524, 0.3339).

    >>> e = proportion_effect(56, 70, 48, 80)
    >>> round(e.difference, 4), round(e.ci_low, 4), round(e.ci_high, 4)
    (0.2, 0.0524, 0.3339)
    """
    if n1 <= 0 or n0 <= 0:
        nan = math.nan
        return Effect(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, "newcombe")
    p1, p0 = x1 / n1, x0 / n0
    lo, hi = newcombe_diff_interval(x1, n1, x0, n0, alpha=alpha)
    pooled = (x1 + x0) / (n1 + n0)
    se_null = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    p = float(2 * stats.norm.sf(abs(p1 - p0) / se_null)) if se_null > 0 else math.nan
    se_log = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0) if x1 > 0 and x0 > 0 else math.nan
    rel, rlo, rhi = _log_ratio_ci(p1 / p0 if p0 > 0 else math.nan, se_log, z_value(alpha))
    se0 = math.sqrt(p0 * (1 - p0) * (1 / n1 + 1 / n0))
    return Effect(
        p1, p0, p1 - p0, lo, hi, rel, rlo, rhi, p, mde(se0, alpha=alpha, power=power), "newcombe"
    )


def welch_effect(
    mean1: float,
    var1: float,
    n1: float,
    mean0: float,
    var0: float,
    n0: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Effect:
    """Treatment minus control mean with the Welch t interval and test (``var`` = sample variances).

    Examples
    --------
    Means 5 and 3, variances 4 and 1, 10 units each: se = sqrt(0.5), df = 13.2.

    >>> e = welch_effect(5.0, 4.0, 10, 3.0, 1.0, 10)
    >>> round(e.ci_low, 3), round(e.ci_high, 3), round(e.p_value, 4)
    (0.475, 3.525, 0.014)
    """
    if n1 < 2 or n0 < 2:
        nan = math.nan
        return Effect(mean1, mean0, mean1 - mean0, nan, nan, nan, nan, nan, nan, nan, "welch")
    a, b = var1 / n1, var0 / n0
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1)) if se > 0 else math.inf
    t = float(stats.t.ppf(1 - alpha / 2, df))
    d = mean1 - mean0
    p = float(2 * stats.t.sf(abs(d) / se, df)) if se > 0 else math.nan
    se_log = math.sqrt(a / mean1**2 + b / mean0**2) if mean1 > 0 and mean0 > 0 else math.nan
    rel, rlo, rhi = _log_ratio_ci(mean1 / mean0 if mean0 > 0 else math.nan, se_log, z_value(alpha))
    se0 = math.sqrt(var0 * (1 / n1 + 1 / n0))
    return Effect(
        mean1,
        mean0,
        d,
        d - t * se,
        d + t * se,
        rel,
        rlo,
        rhi,
        p,
        mde(se0, alpha=alpha, power=power),
        "welch",
    )


def normal_effect(
    est1: float,
    se1: float,
    est0: float,
    se0: float,
    *,
    n1: float,
    n0: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: str = "wald",
) -> Effect:
    """Treatment minus control estimate with independent standard errors (Wald CI, z-test).

    The MDE uses SE₀ = se0 · sqrt(1 + n0 / n1): the control arm's variance scaled to the
    treatment arm's size.

    Examples
    --------
    >>> e = normal_effect(0.5, 0.03, 0.4, 0.04, n1=100, n0=100)
    >>> round(e.difference, 3), round(e.ci_low, 3), round(e.ci_high, 3)
    (0.1, 0.002, 0.198)
    """
    z = z_value(alpha)
    d = est1 - est0
    se = math.sqrt(se1**2 + se0**2)
    p = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else math.nan
    se_log = math.sqrt((se1 / est1) ** 2 + (se0 / est0) ** 2) if est1 > 0 and est0 > 0 else math.nan
    rel, rlo, rhi = _log_ratio_ci(est1 / est0 if est0 > 0 else math.nan, se_log, z)
    m = mde(se0 * math.sqrt(1 + n0 / n1), alpha=alpha, power=power) if n1 > 0 else math.nan
    return Effect(est1, est0, d, d - z * se, d + z * se, rel, rlo, rhi, p, m, method)
