"""Survival curves of several segments as one result: tidy table, per-segment summary, counts.

:func:`survival_curves` turns a survival counts frame (one row per segment x entry x
duration x event with a ``count``, built in the data engine) into a
:class:`SurvivalCurves`: Kaplan–Meier per segment (weighted lifelines fit, equal to
the fit on the per-unit rows), Brookmeyer–Crowley medians and RMST(τ) with the
Greenwood-type SE (:mod:`insights.stats.rmst`).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from insights.stats.km import kaplan_meier, median_survival
from insights.stats.rmst import rmst

__all__ = ["SurvivalCurves", "survival_curves", "default_tau", "TABLE_COLUMNS", "SUMMARY_COLUMNS"]

TABLE_COLUMNS = ("segment", "t", "survival", "ci_low", "ci_high", "at_risk", "events", "censored")
SUMMARY_COLUMNS = (
    "segment", "n", "events", "censored", "median", "median_ci_low", "median_ci_high",
    "tau", "rmst", "rmst_se", "rmst_ci_low", "rmst_ci_high",
)  # fmt: skip
#: Default RMST horizon in days (``docs/metrics.md``), shortened when the data are thinner.
DEFAULT_TAU = 90.0
#: Units that must still be at risk in every segment at the default τ.
MIN_AT_RISK = 10


@dataclass(frozen=True, repr=False)
class SurvivalCurves:
    """Kaplan–Meier curves of one or more segments with their summaries.

    Attributes
    ----------
    table
        ``segment, <by columns>, t, survival, ci_low, ci_high, at_risk, events, censored``
        sorted by segment, t: S(t) = P(T > t) (lifelines' convention), log-log
        Greenwood CI, ``at_risk`` = units with entry < t <= duration (entry 0: from
        t = 0 on; the risk set of S, Greenwood and the RMST SE). On the full
        timeline ``events``/``censored`` are the units ending at t; on a requested
        ``timeline`` they are the units ending in (previous time, t] (as R's
        ``summary.survfit(times=)``).
    summary
        One row per segment: ``segment, <by columns>, n, events, censored, median,
        median_ci_low, median_ci_high, tau, rmst, rmst_se, rmst_ci_low, rmst_ci_high``.
    counts
        The survival counts frame the curves were fitted on (comparisons and Cox
        models start from it).
    km
        The full Kaplan–Meier table (every time of the fit), equal to ``table``
        when no ``timeline`` was requested.
    by, origin, churn_gap, alpha, as_of, tau
        How the curves were made (``origin`` is what started the clock; ``churn_gap``
        is None when the origin does not use it; ``tau`` is the RMST horizon of
        ``summary``).
    """

    table: pl.DataFrame
    summary: pl.DataFrame
    counts: pl.DataFrame
    km: pl.DataFrame
    by: tuple[str, ...] = ()
    origin: str = "first_seen"
    churn_gap: int | None = 30
    alpha: float = 0.05
    as_of: dt.datetime | None = None
    tau: float = DEFAULT_TAU

    @property
    def segments(self) -> list[str]:
        """The segment labels, sorted."""
        return self.summary["segment"].to_list()

    def at(self, t: float | Sequence[float]) -> pl.DataFrame:
        """The curves evaluated at time(s) ``t`` (same columns as :attr:`table`).

        Examples
        --------
        >>> import insights as ins
        >>> c = pl.DataFrame({"segment": "all", "entry": 0, "duration": [3, 3, 5],
        ...                   "event": [1, 0, 1], "count": [2.0, 1.0, 1.0]})
        >>> ins.survival_curves(c).at([2, 4]).select("t", "survival", "at_risk").rows()
        [(2, 1.0, 4), (4, 0.5, 1)]
        """
        times = [t] if isinstance(t, int | float) else list(t)
        return _evaluate(self.km, self.counts, times, self.by)

    def __repr__(self) -> str:
        head = (
            f"SurvivalCurves(origin={self.origin!r}, by={list(self.by)}, "
            f"segments={self.summary.height}, "
            f"churn_gap={self.churn_gap}, alpha={self.alpha}, tau={self.tau:g})"
        )
        return f"{head}\n{self.summary}"

    def _repr_html_(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        cells = []
        for row in self.summary.iter_rows(named=True):
            median = _fmt(row["median"])
            median_ci = f"{_fmt(row['median_ci_low'])} – {_fmt(row['median_ci_high'])}"
            rmst_ci = f"{_fmt(row['rmst_ci_low'], 1)} – {_fmt(row['rmst_ci_high'], 1)}"
            values = [
                html.escape(str(row["segment"])),
                _fmt(row["n"]),
                _fmt(row["events"]),
                _fmt(row["censored"]),
                f"{median} ({median_ci})",
                f"{_fmt(row['rmst'], 1)} ± {_fmt(row['rmst_se'], 2)} ({rmst_ci})",
            ]
            cells.append("<tr>" + "".join(f"<td>{v}</td>" for v in values) + "</tr>")
        heads = ["segment", "n", "events", "censored", f"median ({level} CI)",
                 f"RMST({self.tau:g}) ± SE ({level} CI)"]  # fmt: skip
        as_of = f", as_of {self.as_of:%Y-%m-%d}" if self.as_of is not None else ""
        gap = f", churn_gap {self.churn_gap}" if self.churn_gap is not None else ""
        caption = html.escape(f"Survival from {self.origin}{gap}{as_of}; Kaplan–Meier, {level} CI")
        return (
            f"<table><caption>{caption}</caption><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in heads)
            + "</tr></thead><tbody>"
            + "".join(cells)
            + "</tbody></table>"
        )


def _fmt(value: float | None, digits: int = 0) -> str:
    """A number for the HTML summary: ``–`` when missing, thousands separators."""
    if value is None or not np.isfinite(value):
        return "–"
    if digits == 0:
        return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{value:,.{digits}f}"


def default_tau(
    data: pl.DataFrame, *, cap: float = DEFAULT_TAU, min_at_risk: int = MIN_AT_RISK
) -> float:
    """The default RMST horizon: min(``cap``, largest t where every segment has ≥ ``min_at_risk`` at risk).

    ``data`` is a full Kaplan–Meier table with ``segment, t, at_risk``. When some
    segment never has ``min_at_risk`` units at risk, the bound is the shortest last
    time of the segments instead (every curve is known up to it).

    Examples
    --------
    >>> km = pl.DataFrame({"segment": ["a", "a", "b", "b"], "t": [0, 40, 0, 120],
    ...                    "at_risk": [50, 12, 30, 11]})
    >>> default_tau(km)
    40.0
    """
    per_group = data.group_by("segment").agg(
        pl.col("t").filter(pl.col("at_risk") >= min_at_risk).max().alias("t_ok"),
        pl.col("t").max().alias("t_last"),
    )
    if per_group["t_ok"].null_count() == 0:
        bound = float(per_group["t_ok"].min())  # type: ignore[arg-type]
    else:
        bound = float(per_group["t_last"].min())  # type: ignore[arg-type]
    return min(float(cap), bound)


def _evaluate(
    km: pl.DataFrame, counts: pl.DataFrame, times: Sequence[float], by: Sequence[str]
) -> pl.DataFrame:
    """Step functions of ``km`` at ``times`` with at-risk and interval counts from ``counts``."""
    if any(not np.isfinite(v) or v < 0 for v in times):
        raise ValueError(f"timeline must hold finite times >= 0, got {list(times)}")
    grid_values = np.unique(np.asarray(times, dtype=float))
    integer = km.schema["t"].is_integer() and all(float(v).is_integer() for v in times)
    tdtype = pl.Int64 if integer else pl.Float64
    grid = pl.Series("t", grid_values).cast(tdtype)
    count_type = km.schema["at_risk"]
    parts = []
    for key in km["segment"].unique().sort().to_list():
        sub = km.filter(pl.col("segment") == key).sort("t")
        c = counts.filter(pl.col("segment") == key)
        steps = np.searchsorted(sub["t"].to_numpy().astype(float), grid_values, side="right") - 1
        found = steps >= 0
        idx = np.where(found, steps, 0)
        pick = {
            name: np.where(found, sub[name].to_numpy()[idx], 1.0)
            for name in ("survival", "ci_low", "ci_high")
        }
        entry, dur = c["entry"].to_numpy().astype(float), c["duration"].to_numpy().astype(float)
        w, ev = c["count"].to_numpy().astype(float), c["event"].to_numpy()
        g = grid_values[:, None]
        at_risk = (((entry <= 0) | (entry < g)) & (dur >= g)) @ w  # entry < t <= duration
        done_ev = (dur <= g) @ (w * (ev == 1))  # units ended by each grid time
        done_ce = (dur <= g) @ (w * (ev == 0))
        parts.append(
            pl.DataFrame(
                {
                    "segment": [key] * grid_values.size,
                    "t": grid,
                    **pick,
                    "at_risk": at_risk,
                    "events": np.diff(np.concatenate([[0.0], done_ev])),
                    "censored": np.diff(np.concatenate([[0.0], done_ce])),
                }
            )
        )
    out = pl.concat(parts).with_columns(
        [
            pl.col(c).round(0).cast(count_type) if count_type == pl.Int64 else pl.col(c)
            for c in ("at_risk", "events", "censored")
        ]
    )
    return _with_by(out, km, by).sort("segment", "t")


def _with_by(frame: pl.DataFrame, source: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Put the by-columns of ``source`` (keyed by segment) right after ``segment``."""
    if not by:
        return frame
    labels = source.select("segment", *by).unique()
    rest = [c for c in frame.columns if c != "segment" and c not in by]
    return (
        frame.drop([c for c in by if c in frame.columns])
        .join(labels, on="segment", how="left")
        .select("segment", *by, *rest)
    )


def survival_curves(
    data: pl.DataFrame,
    *,
    by: Sequence[str] = (),
    alpha: float = 0.05,
    timeline: Sequence[float] | None = None,
    tau: float | None = None,
    origin: str = "first_seen",
    churn_gap: int | None = None,
    as_of: dt.datetime | None = None,
) -> SurvivalCurves:
    """Fit Kaplan–Meier per segment of a survival counts frame and summarise each one.

    Parameters
    ----------
    data
        Survival counts ``segment, <by columns>, entry, duration, event, count``
        (one row per distinct combination; ``count`` = units, frequency weights:
        summed case weights are read as counts of units, so the CIs narrow when every
        weight is multiplied by the same factor; ``segment`` labels the curves). A
        unit is at risk at t when entry < t <= duration (entry 0: from t = 0 on);
        rows with 0 < entry == duration are refused.
    by
        The by-columns present in ``data`` (carried into ``table`` and ``summary``).
    alpha
        1 - confidence level of every interval.
    timeline
        Times at which to report ``table`` (default: every time of the fit).
    tau
        RMST horizon; default :func:`default_tau`: min(90, the largest t at which
        every segment still has >= 10 units at risk).
    origin, churn_gap, as_of
        Recorded on the result.

    Returns
    -------
    SurvivalCurves
        See the class. Counts with integer values give integer ``at_risk``,
        ``events``, ``censored`` and ``n`` columns; case weights give floats.

    Examples
    --------
    >>> import insights as ins
    >>> c = pl.DataFrame({"segment": "all", "entry": 0, "duration": [1, 2, 3, 4, 5, 6],
    ...                   "event": 1, "count": 1.0})
    >>> s = ins.survival_curves(c, tau=4)
    >>> s.summary.select("n", "median", "median_ci_low", "median_ci_high", "rmst").row(0)
    (6, 3.0, 1.0, 6.0, 3.0)
    """
    if not 0 < alpha < 1:
        raise ValueError(
            f"alpha must be between 0 and 1 (e.g. 0.05 for 95% intervals), got {alpha!r}"
        )
    counts = data
    if counts.is_empty():
        raise ValueError("counts is empty: there are no units to fit a survival curve on")
    whole = bool((counts["count"] == counts["count"].round(0)).all())
    fit_counts = counts.with_columns(pl.col("count").round(0).cast(pl.Int64)) if whole else counts
    truncated = bool((counts["entry"] != 0).any())
    km = kaplan_meier(
        fit_counts,
        by="segment",
        weight="count",
        alpha=alpha,
        entry="entry" if truncated else None,
    )
    km = _with_by(km, counts, by)
    table = km if timeline is None else _evaluate(km, fit_counts, list(timeline), by)

    horizon = default_tau(km) if tau is None else float(tau)
    totals = fit_counts.group_by("segment").agg(
        pl.col("count").sum().alias("n"),
        (pl.col("count") * pl.col("event")).sum().alias("events"),
    )
    totals = totals.with_columns((pl.col("n") - pl.col("events")).alias("censored"))
    med = median_survival(km).rename({"ci_low": "median_ci_low", "ci_high": "median_ci_high"})
    if horizon > 0:
        area = rmst(km, tau=horizon, alpha=alpha).drop("tau")
    else:  # no follow-up at all: RMST(0) is not informative
        area = totals.select("segment").with_columns(
            [pl.lit(None, dtype=pl.Float64).alias(c) for c in ("rmst", "se", "ci_low", "ci_high")]
        )
    area = area.rename({"se": "rmst_se", "ci_low": "rmst_ci_low", "ci_high": "rmst_ci_high"})
    summary = (
        totals.join(med, on="segment", how="left")
        .join(area, on="segment", how="left")
        .with_columns(pl.lit(horizon, dtype=pl.Float64).alias("tau"))
        .select(SUMMARY_COLUMNS)
        .sort("segment")
    )
    return SurvivalCurves(
        table=table,
        summary=_with_by(summary, counts, by),
        counts=counts,
        km=km,
        by=tuple(by),
        origin=origin,
        churn_gap=churn_gap,
        alpha=alpha,
        as_of=as_of,
        tau=horizon,
    )
