"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma–Gamma spend model: vectorised MLE with SciPy.

Inputs are per-customer summaries (small NumPy arrays or a Polars frame):
``x`` repeat purchases (distinct purchase days - 1) in the calibration period,
``t_x`` time of the last purchase and ``T`` the calibration length, both measured
from the first purchase, and for Gamma–Gamma ``m`` the mean value of the repeat
purchases (customers with x > 0). Parameters are fitted on the log scale with
L-BFGS-B; on the CDNOW sample they reproduce the published values
(r = 0.243, α = 4.414, a = 0.793, b = 2.426; p = 6.25, q = 3.74, γ = 15.44).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

__all__ = [
    "BGNBD",
    "GammaGamma",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "bgnbd_loglik",
    "gamma_gamma_loglik",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "customer_clv",
]


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters and the maximised log-likelihood."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma–Gamma parameters and the maximised log-likelihood."""

    p: float
    q: float
    gamma: float
    log_likelihood: float


#: L-BFGS-B stopping rules tighter than SciPy's defaults: on flat likelihoods (a few hundred
#: customers) the default ftol stops early enough that the last bits of the inputs (a mean
#: summed in another order by another engine) moved a projection by 6e-5; with these the
#: engines agree to 1e-6 (``tests/metrics/test_btyd_ltv.py``).
_TIGHT = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000}
#: every parameter within e^-25 .. e^25: with the analytic gradient a degenerate sample (the
#: likelihood still rising as a parameter runs off to 0 or infinity) takes long steps that
#: would overflow ``exp``; the fit then stops at the bound, as far as the data can say.
_LOG_BOUNDS = [(-25.0, 25.0)]


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def _bgnbd_terms(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,  # noqa: N803
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-customer parts of FHL 2005 eq. 6: ``A1 + A2``, and ``A3``, ``A4`` of the log-sum."""
    a12 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a12 += gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a12, a3, a4


def bgnbd_loglik(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:  # noqa: N803
    """Per-customer BG/NBD log-likelihood at ``params = (r, alpha, a, b)`` (FHL 2005, eq. 6)."""
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype=float))
    a12, a3, a4 = _bgnbd_terms(r, alpha, a, b, *_arrays(x, t_x, T))
    return a12 + np.logaddexp(a3, a4)


def _bgnbd_nll_grad(
    theta: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,  # noqa: N803
) -> tuple[float, np.ndarray]:
    """Negative BG/NBD log-likelihood and its gradient in ``theta = log(r, alpha, a, b)``.

    Why by hand: without a gradient L-BFGS-B differences the likelihood numerically,
    five evaluations per step over every customer (4 parameters + 1), and cannot reach
    the tight gradient tolerance; the analytic gradient (digamma terms of FHL 2005
    eq. 6, the two branches of the log-sum weighted by their shares) costs about
    one more evaluation. ``tests/stats/test_btyd.py`` checks it against central
    differences.
    """
    r, alpha, a, b = np.exp(theta)
    a12, a3, a4 = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1, 1.0)
    both = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - both), np.where(repeat, np.exp(a4 - both), 0.0)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T)
    d_r -= w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / bx1
    grad = np.array([d_r.sum() * r, d_alpha.sum() * alpha, d_a.sum() * a, d_b.sum() * b])
    return -float((a12 + both).sum()), -grad


def _gamma_gamma_nll_grad(
    theta: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative Gamma–Gamma log-likelihood and its gradient in ``theta = log(p, q, gamma)``.

    By hand for the reason of :func:`_bgnbd_nll_grad` (checked the same way).
    """
    p, q, g = np.exp(theta)
    ll = gamma_gamma_loglik((p, q, g), x, m)
    px, gm = p * x, g + m * x
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - np.log(gm))
    d_q = digamma(px + q) - digamma(q) + np.log(g) - np.log(gm)
    d_g = q / g - (px + q) / gm
    grad = np.array([d_p.sum() * p, d_q.sum() * q, d_g.sum() * g])
    return -float(ll.sum()), -grad


def fit_bgnbd(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BGNBD:  # noqa: N803
    """Maximum-likelihood BG/NBD fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = fit_bgnbd(rng.poisson(1, 500), np.full(500, 20.0), np.full(500, 30.0))
    >>> m.r > 0 and m.alpha > 0
    True
    """
    x, t_x, T = _arrays(x, t_x, T)  # noqa: N806
    if not (x.size and x.shape == t_x.shape == T.shape):
        raise ValueError("x, t_x and T must be non-empty arrays of the same length")
    if (x < 0).any() or (t_x < 0).any() or (T < t_x).any():
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every customer")

    start = np.log([1.0, max(float(T.mean()), 1.0), 1.0, 1.0])
    res = minimize(_bgnbd_nll_grad, start, args=(x, t_x, T), jac=True, method="L-BFGS-B",
                   bounds=_LOG_BOUNDS * 4, options=_TIGHT)  # fmt: skip
    r, alpha, a, b = np.exp(res.x)
    return BGNBD(float(r), float(alpha), float(a), float(b), -float(res.fun))


def gamma_gamma_loglik(params: ArrayLike, x: ArrayLike, m: ArrayLike) -> np.ndarray:
    """Per-customer Gamma–Gamma log-likelihood of mean spend ``m`` over ``x`` purchases."""
    p, q, g = (float(v) for v in np.asarray(params, dtype=float))
    x, m = _arrays(x, m)
    return (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + m * x)
    )  # fmt: skip


def fit_gamma_gamma(x: ArrayLike, m: ArrayLike) -> GammaGamma:
    """Maximum-likelihood Gamma–Gamma fit on customers with x > 0 repeat purchases."""
    x, m = _arrays(x, m)
    keep = (x > 0) & (m > 0)
    if not keep.any():
        raise ValueError("Gamma–Gamma needs customers with x > 0 repeat purchases and spend m > 0")
    x, m = x[keep], m[keep]

    start = np.log([1.0, 1.0, max(float(m.mean()), 1.0)])
    res = minimize(_gamma_gamma_nll_grad, start, args=(x, m), jac=True, method="L-BFGS-B",
                   bounds=_LOG_BOUNDS * 3, options=_TIGHT)  # fmt: skip
    p, q, g = np.exp(res.x)
    return GammaGamma(float(p), float(q), float(g), -float(res.fun))


def p_alive(model: BGNBD, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:  # noqa: N803
    """P(customer still alive at T | x, t_x, T) (FHL 2005, eq. 11)."""
    x, t_x, T = _arrays(x, t_x, T)  # noqa: N806
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / np.maximum(b + x - 1, 1e-300) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return np.where(x > 0, 1.0 / (1.0 + ratio), 1.0)


def expected_purchases(
    model: BGNBD,
    t: float | ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
    x, t_x, T = _arrays(x, t_x, T)  # noqa: N806
    t = np.asarray(t, dtype=float)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = 1 + np.where(
            x > 0, a / np.maximum(b + x - 1, 1e-300) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0
        )
    return num / den


def expected_spend(model: GammaGamma, x: ArrayLike, m: ArrayLike) -> np.ndarray:
    """E[mean spend per purchase | x, m] = (p (γ + x m)) / (p x + q - 1); population mean when x = 0."""
    x, m = _arrays(x, m)
    prior = model.p * model.gamma / (model.q - 1)
    post = model.p * (model.gamma + x * m) / (model.p * x + model.q - 1)
    return np.where(x > 0, post, prior)


def customer_clv(
    purchases: BGNBD,
    spend: GammaGamma,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    m: ArrayLike,
    *,
    horizon: float,
    steps: int = 12,
    discount: float = 0.0,
    margin: float = 1.0,
) -> np.ndarray:
    """Individual CLV over ``horizon`` (model time units) in ``steps`` discounted slices.

    CLV = margin · E[spend] · Σ_i (E[X(t_i)] - E[X(t_{i-1})]) / (1 + discount)^i.
    """
    edges = np.linspace(0.0, horizon, steps + 1)
    cum = np.stack([expected_purchases(purchases, e, x, t_x, T) for e in edges[1:]])
    inc = np.diff(np.vstack([np.zeros_like(cum[:1]), cum]), axis=0)
    factor = (1.0 + discount) ** -np.arange(1, steps + 1)
    return margin * expected_spend(spend, x, m) * (factor[:, None] * inc).sum(axis=0)
