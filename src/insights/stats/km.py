"""Kaplan–Meier curves from aggregated counts, points on them, and median lifetimes.

The engine hands back one row per ``segment x duration x event`` with a ``count``;
:func:`kaplan_meier` fits lifelines' ``KaplanMeierFitter`` with those counts as
``weights``, which gives exactly the fit on the expanded per-user rows (same S,
Greenwood variance, log-log CI and numbers at risk) at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from insights.stats._lifelines import fit_kaplan_meier

__all__ = ["KM_COLUMNS", "kaplan_meier", "survival_at", "median_survival", "merge_segments"]

#: Columns of the tidy Kaplan–Meier table, in order.
KM_COLUMNS = ("segment", "t", "survival", "ci_low", "ci_high", "at_risk", "events", "censored")


def kaplan_meier(
    data: pl.DataFrame,
    *,
    duration: str = "duration",
    event: str = "event",
    weight: str | None = "count",
    by: str | None = "segment",
    alpha: float = 0.05,
    entry: str | None = None,
) -> pl.DataFrame:
    """Kaplan–Meier estimate per segment from aggregated counts, as a tidy frame.

    Parameters
    ----------
    data
        Survival counts: one row per segment x duration x event (0 = censored,
        1 = observed) with the number of units in column ``weight`` (``None``: each
        row is one unit).
    duration, event, weight
        Column names.
    by
        The column whose values are the curves (output column ``segment``);
        ``by=None`` fits one curve labelled ``"all"``.
    alpha
        1 - confidence level.
    entry
        Column of left-truncation (delayed entry) times, or ``None`` (everyone at
        risk from 0). A unit is at risk from its entry on (lifelines' ``entry=``).

    Returns
    -------
    polars.DataFrame
        ``segment, t, survival, ci_low, ci_high, at_risk, events, censored``: one row
        per segment and time of lifelines' timeline (t = 0 first, then each distinct
        duration, and each entry time when ``entry`` is given). ``survival`` is S(t) = P(T > t) (lifelines convention);
        variance by Greenwood's formula; CI on the log(-log S) scale
        ("exponential Greenwood", lifelines' default); ``at_risk`` = units with
        duration >= t; ``events``/``censored`` = units ending at t. Rows are sorted
        by segment and t. The input is not modified.

    Examples
    --------
    >>> c = pl.DataFrame({"duration": [3, 3, 5], "event": [1, 0, 1], "count": [2, 1, 1]})
    >>> import insights as ins
    >>> ins.kaplan_meier(c, by=None).select("t", "survival", "at_risk").rows()
    [(0, 1.0, 4), (3, 0.5, 4), (5, 0.0, 1)]
    """
    counts = data
    frame = counts if by is not None else counts.with_columns(pl.lit("all").alias("__g"))
    gcol = by if by is not None else "__g"
    w_expr = pl.col(weight) if weight is not None else pl.lit(1)
    frame = frame.select(
        pl.col(gcol).cast(pl.String).alias("segment"),
        pl.col(duration).alias("d"),
        pl.col(event).cast(pl.Int8).alias("e"),
        w_expr.alias("w"),
        (pl.col(entry) if entry is not None else pl.lit(0)).alias("entry"),
    ).filter(pl.col("w") > 0)
    int_time = counts.schema[duration].is_integer() and (
        entry is None or counts.schema[entry].is_integer()
    )
    int_weight = weight is None or counts.schema[weight].is_integer()
    parts: list[pl.DataFrame] = []
    for seg in sorted(frame["segment"].unique().to_list()):
        sub = frame.filter(pl.col("segment") == seg)
        fit = fit_kaplan_meier(
            sub["d"].to_numpy(),
            sub["e"].to_numpy(),
            sub["w"].to_numpy(),
            alpha=alpha,
            entry=sub["entry"].to_numpy() if entry is not None else None,
        )
        parts.append(
            pl.DataFrame(
                {
                    "segment": [seg] * len(fit.t),
                    "t": fit.t,
                    "survival": fit.survival,
                    "ci_low": fit.ci_low,
                    "ci_high": fit.ci_high,
                    "at_risk": fit.at_risk,
                    "events": fit.events,
                    "censored": fit.censored,
                }
            )
        )
    schema = {
        "segment": pl.String,
        "t": pl.Int64 if int_time else pl.Float64,
        "survival": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "at_risk": pl.Int64 if int_weight else pl.Float64,
        "events": pl.Int64 if int_weight else pl.Float64,
        "censored": pl.Int64 if int_weight else pl.Float64,
    }
    if not parts:
        return pl.DataFrame(schema=schema)
    out = pl.concat(parts)
    return out.with_columns(
        [
            pl.col(c).round(0).cast(dt) if dt == pl.Int64 else pl.col(c).cast(dt)
            for c, dt in schema.items()
        ]
    )


def survival_at(data: pl.DataFrame, *, t: float | Sequence[float]) -> pl.DataFrame:
    """Value of each segment's Kaplan–Meier step function at time(s) ``t``.

    Parameters
    ----------
    data
        A tidy frame from :func:`kaplan_meier` (``segment, t, survival, ...``).
    t
        One time or several (>= 0).

    Returns
    -------
    polars.DataFrame
        ``segment, t, survival, ci_low, ci_high, at_risk``, one row per segment x t
        (sorted), where survival and CI are those of the last step at or before t
        (S(t) = P(T > t), right-continuous as in lifelines' ``predict``) and
        ``at_risk`` is the number of units with duration >= t (0 past the last time).

    Examples
    --------
    >>> c = pl.DataFrame({"duration": [3, 3, 5], "event": [1, 0, 1], "count": [2, 1, 1]})
    >>> import insights as ins
    >>> km = ins.kaplan_meier(c, by=None)
    >>> ins.survival_at(km, t=[2, 3, 4]).select("t", "survival", "at_risk").rows()
    [(2, 1.0, 4), (3, 0.5, 4), (4, 0.5, 1)]
    """
    km = data
    times = [t] if isinstance(t, int | float) else list(t)
    if any(v < 0 for v in times):
        raise ValueError(f"survival_at needs times >= 0, got {times}")
    tdtype = km.schema["t"] if all(isinstance(v, int) for v in times) else pl.Float64
    grid = (
        km.select("segment")
        .unique()
        .join(pl.DataFrame({"t_query": times}, schema={"t_query": tdtype}), how="cross")
        .sort("t_query")
    )
    steps = km.sort("t").with_columns(pl.col("t").cast(tdtype).alias("t_query"))
    joined = grid.join_asof(
        steps, on="t_query", by="segment", strategy="backward", check_sortedness=False
    )
    leaving = pl.col("events") + pl.col("censored")
    return joined.select(
        "segment",
        pl.col("t_query").alias("t"),
        "survival",
        "ci_low",
        "ci_high",
        pl.when(pl.col("t_query") == pl.col("t"))
        .then(pl.col("at_risk"))
        .otherwise(pl.col("at_risk") - leaving)
        .alias("at_risk"),
    ).sort("segment", "t")


_TIE_TOL = 1e-12


def _first_time_at_or_below(t: np.ndarray, values: np.ndarray, q: float) -> float | None:
    # S is a product of fractions: allow for rounding so that S = 0.5 exactly counts
    # (lifelines compares 0.5000000000000001 <= 0.5 and reports the next time).
    hit = np.flatnonzero(values <= q + _TIE_TOL)
    return float(t[hit[0]]) if hit.size else None


def median_survival(
    data: pl.DataFrame,
    *,
    alpha: float = 0.05,
    duration: str = "duration",
    event: str = "event",
    weight: str | None = "count",
    by: str | None = "segment",
) -> pl.DataFrame:
    """Median survival time per segment with the Brookmeyer–Crowley confidence interval.

    Parameters
    ----------
    data
        A tidy Kaplan–Meier frame from :func:`kaplan_meier` (used as is; its CI
        level applies), or aggregated counts (fitted with :func:`kaplan_meier` at
        ``alpha``).
    alpha
        1 - confidence level (only when fitting from counts).
    duration, event, weight, by
        The counts' columns, as :func:`kaplan_meier` (only when fitting from counts).

    Returns
    -------
    polars.DataFrame
        ``segment, median, ci_low, ci_high``. The median is the first t with
        S(t) <= 0.5 (as lifelines' ``median_survival_times``, but counting a value of
        exactly 0.5 up to floating-point rounding, which lifelines misses). The CI inverts the
        pointwise test of S(t) = 0.5 (Brookmeyer & Crowley 1982, Biometrics 38:29-41)
        with the log-log interval: lower limit = first t with ci_low(t) <= 0.5,
        upper limit = first t with ci_high(t) <= 0.5. Null where the curve (or the
        band) never falls to 0.5 (unbounded above).

    Examples
    --------
    >>> c = pl.DataFrame({"duration": [1, 2, 3, 4, 5, 6], "event": [1, 1, 1, 1, 1, 1]})
    >>> import insights as ins
    >>> ins.median_survival(c, weight=None, by=None).rows()
    [('all', 3.0, 1.0, 6.0)]
    """
    km = (
        data
        if "survival" in data.columns
        else kaplan_meier(data, alpha=alpha, duration=duration, event=event, weight=weight, by=by)
    )
    rows = []
    for seg in sorted(km["segment"].unique().to_list()):
        sub = km.filter(pl.col("segment") == seg).sort("t")
        t = sub["t"].to_numpy().astype(float)
        rows.append(
            (
                seg,
                _first_time_at_or_below(t, sub["survival"].to_numpy(), 0.5),
                _first_time_at_or_below(t, sub["ci_low"].to_numpy(), 0.5),
                _first_time_at_or_below(t, sub["ci_high"].to_numpy(), 0.5),
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "segment": pl.String,
            "median": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
        orient="row",
    )


def merge_segments(
    data: pl.DataFrame,
    *,
    values: Mapping[str, Sequence[str]] | None,
    by: str = "segment",
    weight: str = "count",
) -> pl.DataFrame:
    """Pool the counts of several segments under new names (counts are additive).

    ``values`` maps a new name to the values of column ``by`` it pools, e.g.
    ``{"beauty+apparel": ["beauty", "apparel"]}``; a value may appear in several
    new names; values named in none keep their own rows. ``None``/empty: unchanged.

    Examples
    --------
    >>> c = pl.DataFrame({"segment": ["a", "b", "c"], "duration": [1, 1, 2],
    ...                   "event": [1, 1, 0], "count": [2, 3, 4]})
    >>> merge_segments(c, values={"a+b": ["a", "b"]}).sort("segment").rows()
    [('a+b', 1, 1, 5), ('c', 2, 0, 4)]
    """
    if not values:
        return data
    keys = [c for c in data.columns if c != weight]
    named = sorted({str(v) for members in values.values() for v in members})
    parts = [
        data.filter(pl.col(by).is_in([str(v) for v in members])).with_columns(
            pl.lit(name, dtype=pl.String).alias(by)
        )
        for name, members in values.items()
    ]
    parts.append(data.filter(~pl.col(by).is_in(named)))
    return pl.concat(parts).group_by(keys, maintain_order=True).agg(pl.col(weight).sum())
