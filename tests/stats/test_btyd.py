"""BG/NBD and Gamma–Gamma against the published CDNOW values (references.md)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from insights.stats.btyd import (
    customer_clv,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)

CAL_END = dt.date(1997, 9, 30)


def _cdnow_file() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "the lifetimes wheel (which ships CDNOW_sample.txt) is not installed; add it to dev"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_sample.txt"
    if not path.exists():
        pytest.skip(f"{path} not found in the lifetimes wheel")
    return path


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    """Calibration summary x, t_x, T (weeks), m (mean repeat spend); same-day purchases merged."""
    fields = [line.split() for line in _cdnow_file().read_text().splitlines() if line.strip()]
    tx = pl.DataFrame(
        {
            "id": [f[0] for f in fields],
            "date": [f[2] for f in fields],
            "amount": [float(f[4]) for f in fields],
        }  # fmt: skip
    ).with_columns(pl.col("date").str.to_date("%Y%m%d"))
    days = tx.group_by("id", "date").agg(pl.col("amount").sum())
    first = days.group_by("id").agg(pl.col("date").min().alias("first"))
    return (
        days.filter(pl.col("date") <= CAL_END)
        .join(first, on="id")
        .sort("id", "date")
        .group_by("id")
        .agg(
            (pl.len() - 1).alias("x"),
            ((pl.col("date").max() - pl.col("first").first()).dt.total_days() / 7).alias("t_x"),
            ((pl.lit(CAL_END) - pl.col("first").first()).dt.total_days() / 7).alias("T"),
            pl.col("amount").slice(1).mean().fill_null(0.0).alias("m"),
        )
    )


def test_cdnow_summary_matches_reference(cdnow):
    assert cdnow.height == 2357
    assert cdnow["x"].sum() == 2457


def test_bgnbd_reproduces_published_cdnow(cdnow):
    m = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert (round(m.r, 3), round(m.alpha, 2), round(m.a, 3), round(m.b, 2)) == pytest.approx(
        (0.243, 4.41, 0.793, 2.43), abs=1e-9
    )
    assert m.log_likelihood == pytest.approx(-9582.4, abs=0.05)


def test_gamma_gamma_reproduces_published_cdnow(cdnow):
    g = fit_gamma_gamma(cdnow["x"], cdnow["m"])
    assert (round(g.p, 2), round(g.q, 2), round(g.gamma, 2)) == (6.25, 3.74, 15.44)
    assert g.log_likelihood == pytest.approx(-4055.92, abs=0.01)


def test_predictions_behave(cdnow):
    m = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    x, t_x, T = (cdnow[c].to_numpy() for c in ("x", "t_x", "T"))
    alive = p_alive(m, x, t_x, T)
    assert ((alive > 0) & (alive <= 1)).all()
    assert (alive[x == 0] == 1).all()
    # FHL 2005: a customer with x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks
    assert expected_purchases(m, 39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=0.01)
    # total holdout forecast is close to the 1,788 repeat purchases FHL report for weeks 40-78
    total = expected_purchases(m, 39, x, t_x, T).sum()
    assert 1500 < total < 2100
    g = fit_gamma_gamma(x, cdnow["m"])
    spend = expected_spend(g, x, cdnow["m"].to_numpy())
    assert np.isfinite(spend).all()
    clv = customer_clv(m, g, x, t_x, T, cdnow["m"].to_numpy(), horizon=52, discount=0.01)
    assert (clv >= 0).all() and clv.max() > clv.mean()


def test_gamma_gamma_needs_repeat_buyers():
    with pytest.raises(ValueError, match="x > 0"):
        fit_gamma_gamma([0, 0], [1.0, 2.0])


def test_the_analytic_gradients_match_central_differences() -> None:
    """The gradients the fits use, against central differences of the log-likelihoods themselves."""
    from insights.stats.btyd import (
        _bgnbd_nll_grad,
        _gamma_gamma_nll_grad,
        bgnbd_loglik,
        gamma_gamma_loglik,
    )

    rng = np.random.default_rng(1)
    n = 2000
    x = rng.poisson(1.5, n).astype(float)
    T = rng.uniform(5, 50, n)  # noqa: N806
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    m = rng.gamma(2.0, 10.0, n)
    h = 1e-6

    def central(f, theta):
        return np.array([(f(theta + e) - f(theta - e)) / (2 * h) for e in np.eye(theta.size) * h])

    for params in ([0.243, 4.414, 0.793, 2.426], [1.5, 10.0, 0.3, 0.5], [0.8, 2.0, 3.0, 0.9]):
        theta = np.log(params)
        nll = lambda t: -float(bgnbd_loglik(np.exp(t), x, t_x, T).sum())  # noqa: E731
        value, grad = _bgnbd_nll_grad(theta, x, t_x, T)
        assert value == pytest.approx(nll(theta), rel=1e-12)
        np.testing.assert_allclose(grad, central(nll, theta), rtol=1e-5, atol=1e-4)
    xs = np.maximum(x, 1.0)
    for params in ([6.25, 3.74, 15.44], [1.0, 2.0, 30.0]):
        theta = np.log(params)
        nll = lambda t: -float(gamma_gamma_loglik(np.exp(t), xs, m).sum())  # noqa: E731
        value, grad = _gamma_gamma_nll_grad(theta, xs, m)
        assert value == pytest.approx(nll(theta), rel=1e-12)
        np.testing.assert_allclose(grad, central(nll, theta), rtol=1e-5, atol=1e-4)
