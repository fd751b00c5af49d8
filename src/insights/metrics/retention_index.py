"""The three-dimensional retention index of seed document 000 §2.2, for any two years.

``ins.retention_index(ds, period=2024, baseline=2021)``: ``period`` is the year
compared, ``baseline`` the year it is measured against (default the year before).

000 §2.2 describes retention on three dimensions and compares them across years
(industry averages, 2021 → 2024): **D30 retention** 48% → 35%, **60-day repurchase**
40% → 28%, and **90-day activity** ("watched at least one live every month")
55% → 42%, each "down 12–13 points" (``benchmarks/seed_figures.csv``, rows of
000 §2.2). The document gives no weights, base or formula that combine the three
into one number. So the index here *is* the three components. Each comes with its
CI, its change between the two years in percentage points (with CI and p-value),
and ``index`` = 100 × value(year 2) / value(year 1) (year 1 = 100). No composite
score is invented. Definitions are those of ``docs/metrics.md``:

- ``retention_d30``: Kaplan–Meier S(30) of users acquired in the year
  (:func:`insights.metrics.retention.retention_rates`; log-log CI).
- ``repurchase_60d``: share of buyers whose first order falls in the year, and who
  order again within 60 days (:func:`insights.metrics.purchase.repurchase_rate`;
  Wilson CI).
- ``active_90d``: share of the users active in the 30 days before the year's Q4 who
  are active in each of the three following 30-day months
  (:func:`insights.metrics.activity.activity_90d`; Wilson CI). Q4 is where the
  calibration targets A01/A02 measure it; change it with ``activity_quarter``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import polars as pl
from scipy.stats import norm

from insights.data.dataset import Dataset, churn_gap_of
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where
from insights.metrics.activity import activity_90d
from insights.metrics.activity_days import as_of_day
from insights.metrics.purchase import repurchase_rate
from insights.metrics.retention import retention_rates
from insights.stats.proportions import newcombe_diff_interval, z_value

__all__ = ["RetentionIndex", "retention_index", "COMPONENTS"]

#: The three dimensions, in report order.
COMPONENTS = ("retention_d30", "repurchase_60d", "active_90d")
_EMPTY = {
    "retention_d30": "no users acquired in {year}",
    "repurchase_60d": "no buyers with a first order in {year} observable for 60 days",
    "active_90d": "no users active before the {year} window",
}
_COLUMNS = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n", "year", "population"]


@dataclass(frozen=True)
class RetentionIndex:
    """The three components for two years, and their changes.

    Attributes
    ----------
    components
        ``metric, segment, period, value, ci_low, ci_high, n, year, population``: one
        row per metric × segment × year. ``value`` is null when the year's window is
        not observable by ``as_of`` (``n`` = 0).
    changes
        ``metric, segment, base, compare, value_base, value_compare, difference,
        ci_low, ci_high, p_value, index, n_base, n_compare, method``: difference =
        value(compare) − value(base), as a fraction (0.01 = 1 pp). ``index`` =
        100 · value_compare / value_base.
    years
        (base year, compared year).
    """

    components: pl.DataFrame
    changes: pl.DataFrame
    years: tuple[int, int]

    @property
    def summary(self) -> pl.DataFrame:
        """One row per metric × segment: both values, the change in pp with CI, p, index."""
        return self.changes.select(
            "metric",
            "segment",
            pl.col("value_base").alias(str(self.years[0])),
            pl.col("value_compare").alias(str(self.years[1])),
            (100 * pl.col("difference")).alias("change_pp"),
            (100 * pl.col("ci_low")).alias("change_pp_ci_low"),
            (100 * pl.col("ci_high")).alias("change_pp_ci_high"),
            "p_value",
            "index",
        )

    def _repr_html_(self) -> str:
        head = f"<b>Retention index {self.years[0]} → {self.years[1]}</b> (000 §2.2)"
        return head + self.summary._repr_html_()


def _greenwood_se(value: float | None, ci_low: float | None, z: float) -> float | None:
    """Greenwood SE of a KM point from its log-log lower limit: S·sqrt(G).

    The lower limit is S^exp(z·sqrt(G)/|log S|) (lifelines' exponential Greenwood).
    So sqrt(G) = |log S| · log(log ci_low / log S) / z.
    """
    if value is None or ci_low is None or not 0 < ci_low < value < 1:
        return None
    root_g = abs(math.log(value)) * math.log(math.log(ci_low) / math.log(value)) / z
    return value * root_g


def _change(
    metric: str, a: dict[str, Any], b: dict[str, Any], z: float, alpha: float
) -> dict[str, Any]:
    va, vb, na, nb = a["value"], b["value"], a["n"], b["n"]
    row: dict[str, Any] = {"difference": None, "ci_low": None, "ci_high": None, "p_value": None}
    if va is not None and vb is not None:
        row["difference"] = vb - va
        if metric == "retention_d30":  # Klein et al. 2007: Wald on Greenwood variances
            ses = (_greenwood_se(va, a["ci_low"], z), _greenwood_se(vb, b["ci_low"], z))
            se = math.hypot(*ses) if None not in ses else None  # type: ignore[arg-type]
            method = "Greenwood Wald (Klein et al. 2007)"
            lo, hi = (vb - va - z * se, vb - va + z * se) if se else (None, None)
        else:  # Newcombe hybrid score CI, pooled two-proportion z-test
            xa, xb = a["successes"], b["successes"]
            lo, hi = newcombe_diff_interval(xb, nb, xa, na, alpha=alpha)
            pooled = (xa + xb) / (na + nb)
            var = pooled * (1 - pooled) * (1 / na + 1 / nb)
            se = math.sqrt(var) if var > 0 else None
            method = "Newcombe hybrid score; pooled z-test"
        row.update(ci_low=lo, ci_high=hi, method=method)
        if se:
            row["p_value"] = float(2 * norm.sf(abs(vb - va) / se))
    return row


def _activity(
    dataset: Dataset, year: int, quarter: int, by: str | None, where: Where, alpha: float
) -> pl.DataFrame:
    p = parse_period(f"{year}Q{quarter}")
    last = p.start + dt.timedelta(days=89)
    population = f"active {p.start - dt.timedelta(days=30)}..{p.start - dt.timedelta(days=1)}; months from {p.start}"
    if as_of_day(dataset) < p.start_day + 89:  # the window is not observed yet: say so, no error
        return pl.DataFrame(
            [
                {
                    "metric": "active_90d",
                    "segment": "all",
                    "period": p.label,
                    "n": 0,
                    "population": f"{population} (not observed by as_of: ends {last})",
                }
            ]
        )
    out = activity_90d(dataset, period=p, by=by, where=where, alpha=alpha)
    return out.with_columns(pl.lit(population).alias("population"))


def retention_index(
    dataset: Dataset,
    *,
    period: PeriodLike | None = None,
    baseline: PeriodLike | None = None,
    by: str | None = None,
    where: Where = None,
    churn_gap: int | None = None,
    activity_quarter: int = 4,
    alpha: float = 0.05,
) -> RetentionIndex:
    """D30 retention, 60-day repurchase and 90-day activity for two years, and their change.

    Parameters
    ----------
    dataset
        The data (``as_of`` = observation end).
    period
        The calendar year compared (``2024`` or ``"2024"``); default the last year
        whose 31 December is on or before ``as_of``.
    baseline
        The calendar year it is measured against (index 100), e.g. ``2021`` for
        000's baseline; default the year before ``period``.
    by, where
        Users column to split every component by, and a filter on users columns.
    churn_gap
        Churn definition of the D30 retention (days without activity; default
        ``dataset.churn_gap``, else 30).
    activity_quarter
        Quarter of each year whose 90-day window measures ``active_90d`` (default 4).
    alpha
        1 - confidence level of every interval.

    Returns
    -------
    RetentionIndex
        ``components`` (tidy, one row per metric × segment × year) and ``changes``
        (``period`` − ``baseline`` per metric × segment). The two years' populations
        are treated as independent. For ``active_90d`` the active bases of two years
        can share users, so that interval is conservative.

    Examples
    --------
    User 1 (first seen 2023-09-15) orders on Oct 15 and Nov 15 and watches on Dec 15;
    user 2 (first seen 2024-09-15) never comes back. 2023: D30 1 (churn after day 30),
    repurchase 1/1, active in each month from Oct 1 1/1; 2024: 0 on all three.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [d(2023, 9, 15), d(2024, 9, 15)]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 1, 2], "amount": [9.0] * 3,
    ...                          "ordered_at": [d(2023, 10, 15), d(2023, 11, 15), d(2024, 9, 15)]}),
    ...     views=pl.DataFrame({"user_id": [1], "started_at": [d(2023, 12, 15)], "watch_seconds": [60.0]}),
    ...     as_of="2024-12-31")
    >>> ri = ins.retention_index(ds, period=2024, baseline=2023)
    >>> ri.summary.select("metric", "2023", "2024", "change_pp").rows()
    [('retention_d30', 1.0, 0.0, -100.0), ('repurchase_60d', 1.0, 0.0, -100.0), ('active_90d', 1.0, 0.0, -100.0)]
    """
    comp = _year(period, "period") if period is not None else _last_full_year(dataset)
    base = _year(baseline, "baseline") if baseline is not None else comp - 1
    years = (base, comp)
    if activity_quarter not in (1, 2, 3, 4):
        raise ValueError(f"activity_quarter must be 1, 2, 3 or 4, got {activity_quarter!r}")
    names = dataset.table("users").collect_schema().names()
    if by is not None and by not in names:
        raise ValueError(f"by={by!r} is not a users column; available: {sorted(names)}")
    z = z_value(alpha)
    parts: list[pl.DataFrame] = []
    for year in years:
        d30 = retention_rates(
            dataset,
            period=year,
            timeline=(30,),
            by=by,
            where=where,
            churn_gap=churn_gap_of(dataset, churn_gap),
            alpha=alpha,
        ).with_columns(pl.lit(f"users acquired in {year}").alias("population"))
        rep = repurchase_rate(dataset, period=year, by=by, where=where, alpha=alpha)
        rep = rep.with_columns(pl.lit(f"buyers with first order in {year}").alias("population"))
        act = _activity(dataset, year, activity_quarter, by, where, alpha)
        for metric, frame in zip(COMPONENTS, (d30, rep, act), strict=True):
            if frame.is_empty():  # nobody in the population: one explicit row, n = 0
                frame = pl.DataFrame([{"metric": metric, "segment": "all", "n": 0}])
                frame = frame.with_columns(
                    pl.lit(_EMPTY[metric].format(year=year)).alias("population")
                )
            cols = [c for c in [*_COLUMNS, "successes"] if c in frame.columns and c != "year"]
            parts.append(frame.select(cols).with_columns(pl.lit(year, pl.Int64).alias("year")))
    components = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("n").fill_null(0).cast(pl.Int64)
    )
    rows: list[dict[str, Any]] = []
    for key, frame in components.group_by("metric", "segment"):
        by_year = {r["year"]: r for r in frame.iter_rows(named=True)}
        empty = {"value": None, "n": 0, "ci_low": None, "successes": None}
        a, b = by_year.get(base, empty), by_year.get(comp, empty)
        row = {"metric": key[0], "segment": key[1], "base": str(base), "compare": str(comp)}
        row |= {"value_base": a["value"], "value_compare": b["value"], "method": None}
        row |= _change(str(key[0]), a, b, z, alpha)
        ok = a["value"] and b["value"] is not None
        row |= {"index": 100 * b["value"] / a["value"] if ok else None}
        rows.append(row | {"n_base": a["n"], "n_compare": b["n"]})
    order = {m: i for i, m in enumerate(COMPONENTS)}
    changes = _changes_frame(rows).sort(pl.col("metric").replace_strict(order), "segment")
    components = components.select(_COLUMNS).sort(
        pl.col("metric").replace_strict(order), "segment", "year", nulls_last=True
    )
    return RetentionIndex(components=components, changes=changes, years=(base, comp))


def _year(value: PeriodLike, name: str) -> int:
    """The calendar year named by ``value`` (``2024`` or ``"2024"``), or a ``ValueError``."""
    try:
        label = parse_period(value).label
    except ValueError:
        label = ""
    if not (len(label) == 4 and label.isdigit()):
        raise ValueError(
            f"{name} must be a calendar year, e.g. period=2024, baseline=2021; got {value!r}"
        )
    return int(label)


def _last_full_year(dataset: Dataset) -> int:
    """The last calendar year whose 31 December is on or before ``as_of``."""
    as_of = dataset.as_of.date()
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


def _changes_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        "metric": pl.String, "segment": pl.String, "base": pl.String, "compare": pl.String,
        "value_base": pl.Float64, "value_compare": pl.Float64, "difference": pl.Float64,
        "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64,
        "index": pl.Float64, "n_base": pl.Int64, "n_compare": pl.Int64, "method": pl.String,
    }  # fmt: skip
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
