"""``projected_ltv`` and ``ltv_backtest`` take the dataset's churn gap unless a call sets its own.

Hand-worked (the orders of ``test_lifetimes_churn_gap``): the longest lifetime is L = 5
days with a 30-day gap and L = 44 with a 60-day gap, so Kaplan–Meier (one user at risk
is enough here) runs to ``t_km`` = L + 1 = 6, respectively 45.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

import insights as ins


def _t(month: int, day: int) -> dt.datetime:
    return dt.datetime(2024, month, day, 10)


ORDERS = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 3],
        "ordered_at": [_t(1, 2), _t(2, 15), _t(1, 20), _t(1, 25), _t(3, 1)],
        "amount": [10.0, 5.0, 20.0, 30.0, 40.0],
    }
)


def _t_km(ds: ins.Dataset, **kw) -> int:
    return int(ins.projected_ltv(ds, horizon=365, min_at_risk=1, **kw)["t_km"].item())


@pytest.fixture(scope="module")
def plain() -> ins.Dataset:
    return ins.load_dataset(orders=ORDERS, as_of="2024-06-30")


def test_projected_ltv_default_is_the_datasets_churn_gap(plain) -> None:
    assert _t_km(plain) == 6
    assert _t_km(ins.load_dataset(orders=ORDERS, as_of="2024-06-30", churn_gap=60)) == 45
    assert _t_km(dataclasses.replace(plain, churn_gap=60)) == 45
    assert _t_km(dataclasses.replace(plain, churn_gap=60), churn_gap=30) == 6
    with pytest.raises(ValueError, match="churn_gap must be a whole number"):
        ins.projected_ltv(plain, churn_gap=0)


def test_backtest_passes_the_datasets_churn_gap_on(plain) -> None:
    ds = dataclasses.replace(plain, churn_gap=60)
    kw = {"cutoff": "2024-03-31", "period": "2024-01", "horizon": 60, "min_at_risk": 1}
    assert (
        ins.ltv_backtest(ds, **kw)["t_km"].item()
        == ins.ltv_backtest(plain, churn_gap=60, **kw)["t_km"].item()
    )
    assert ins.ltv_backtest(ds, **kw)["t_km"].item() != ins.ltv_backtest(plain, **kw)["t_km"].item()
