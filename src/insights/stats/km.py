"""Kaplan–Meier curves from aggregated counts, points on them, and median lifetimes.

The engine hands back one row per ``segment x duration x event`` with a ``count``;
:func:`kaplan_meier` fits lifelines' ``KaplanMeierFitter`` with those counts as
``weights``, which gives exactly the fit on the expanded per-user rows (same S,
Greenwood variance, log-log CI and numbers at risk) at a fraction of the cost.
Counts are *frequency* weights: a row with count w stands for w identical units, so
the Greenwood variance (and every CI) shrinks when all counts are multiplied by the
same factor. For sampling (survey, inverse-probability) weights use the tests with
``weights_kind="sampling"`` (:func:`insights.logrank_test`,
:func:`insights.cox_hazard_ratios`), whose robust variances do not depend on the
weights' scale.

Left truncation (delayed entry) follows the counting-process convention of R's
``Surv(entry, duration, event)``, the risk interval (entry, duration]: a unit is at
risk at t when entry < t <= duration, so a unit entering on day e can die from day
e + 1 on. ``entry = 0`` means "followed from the origin": such a unit is at risk from
t = 0 on, t = 0 included (the untruncated convention, where a duration of 0 is an
event at 0 with everyone at risk). Rows with 0 < entry == duration enter and leave at
the same instant: they are never at risk, and the functions refuse them
(:func:`check_entry`). The same risk set is used for S, ``at_risk``, Greenwood, the
RMST standard error, the log-rank family and the Cox model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from insights.stats._lifelines import fit_kaplan_meier

__all__ = [
    "KM_COLUMNS",
    "check_entry",
    "kaplan_meier",
    "survival_at",
    "median_survival",
    "merge_segments",
]

#: Columns of the tidy Kaplan–Meier table, in order.
KM_COLUMNS = ("segment", "t", "survival", "ci_low", "ci_high", "at_risk", "events", "censored")


def check_entry(entry: np.ndarray, duration: np.ndarray, weight: np.ndarray) -> None:
    """Refuse entry times that the risk set entry < t <= duration cannot use.

    Raises ``ValueError`` naming how many units (sum of ``weight``) and rows have a
    negative entry, an entry after their duration, or 0 < entry == duration (they
    enter and leave at the same instant, so they are never at risk: counting their
    event would leave S at 1 while the event is counted). Rows of weight 0 are ignored.

    Examples
    --------
    >>> check_entry(np.array([0, 2, 3]), np.array([4, 5, 3]), np.array([1.0, 1.0, 2.0]))
    Traceback (most recent call last):
    ...
    ValueError: 2 units (1 rows) have 0 < entry == duration ...
    """
    entry = np.asarray(entry, dtype=float)
    duration = np.asarray(duration, dtype=float)
    weight = np.asarray(weight, dtype=float)
    live = weight > 0
    for bad, what in (
        (live & (entry < 0), "a negative entry"),
        (live & (entry > duration), "entry > duration (they leave before they enter)"),
    ):
        if np.any(bad):
            raise ValueError(
                f"{weight[bad].sum():g} units ({int(bad.sum())} rows) have {what}, "
                f"e.g. entry={entry[bad][0]:g}, duration={duration[bad][0]:g}"
            )
    same = live & (entry > 0) & (entry == duration)
    if np.any(same):
        raise ValueError(
            f"{weight[same].sum():g} units ({int(same.sum())} rows) have 0 < entry == "
            f"duration (e.g. entry = duration = {entry[same][0]:g}): a unit is at risk on "
            "(entry, duration], so these are never at risk and their events cannot be "
            "used. If follow-up covers the whole entry day, record entry one unit earlier "
            "(entry - 1); otherwise drop these rows"
        )


def _at_risk(
    times: np.ndarray, entry: np.ndarray | None, duration: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Σ weight of the units with entry < t <= duration (entry <= 0: from t = 0 on) at each t."""
    order = np.sort(duration)
    cum = np.concatenate([[0.0], np.cumsum(weight[np.argsort(duration, kind="stable")])])
    still = cum[-1] - cum[np.searchsorted(order, times, side="left")]  # duration >= t
    if entry is None:
        return still
    late = entry > 0
    e_sorted = np.sort(entry[late])
    e_cum = np.concatenate([[0.0], np.cumsum(weight[late][np.argsort(entry[late], kind="stable")])])
    not_yet = e_cum[-1] - e_cum[np.searchsorted(e_sorted, times, side="left")]  # entry >= t
    return still - not_yet


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
        risk from 0). A unit is at risk at t when entry < t <= duration (R's
        ``Surv(entry, duration, event)``; entry 0: from t = 0 on); rows with
        0 < entry == duration are refused (see the module docstring).

    Returns
    -------
    polars.DataFrame
        ``segment, t, survival, ci_low, ci_high, at_risk, events, censored``: one row
        per segment and time of lifelines' timeline (t = 0 first, then each distinct
        duration, and each entry time when ``entry`` is given). ``survival`` is
        S(t) = P(T > t) (lifelines convention); variance by Greenwood's formula; CI
        on the log(-log S) scale ("exponential Greenwood", lifelines' default);
        ``at_risk`` = units with entry < t <= duration (duration >= t without
        ``entry``), the risk set of S and Greenwood at t; ``events``/``censored`` =
        units ending at t. Counts are frequency weights (module docstring). Rows are
        sorted by segment and t. The input is not modified.

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
    if entry is not None:
        check_entry(frame["entry"].to_numpy(), frame["d"].to_numpy(), frame["w"].to_numpy())
    parts: list[pl.DataFrame] = []
    for seg in sorted(frame["segment"].unique().to_list()):
        sub = frame.filter(pl.col("segment") == seg)
        d_arr = sub["d"].to_numpy().astype(float)
        w_arr = sub["w"].to_numpy().astype(float)
        e_arr = sub["entry"].to_numpy().astype(float) if entry is not None else None
        fit = fit_kaplan_meier(d_arr, sub["e"].to_numpy(), w_arr, alpha=alpha, entry=e_arr)
        parts.append(
            pl.DataFrame(
                {
                    "segment": [seg] * len(fit.t),
                    "t": fit.t,
                    "survival": fit.survival,
                    "ci_low": fit.ci_low,
                    "ci_high": fit.ci_high,
                    "at_risk": _at_risk(fit.t, e_arr, d_arr, w_arr),
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
        ``at_risk`` is the number of units at risk at t (entry < t <= duration, as
        :func:`kaplan_meier`; 0 past the last time).

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
    # Between two rows of the fit nobody enters or leaves, so the risk set at a time
    # strictly inside (t_i, t_{i+1}) is the one at t_{i+1} (0 past the last row).
    upcoming = grid.join_asof(
        steps.select("segment", "t_query", pl.col("at_risk").alias("__next")),
        on="t_query",
        by="segment",
        strategy="forward",
        check_sortedness=False,
    )
    joined = joined.join(upcoming, on=["segment", "t_query"], how="left")
    return joined.select(
        "segment",
        pl.col("t_query").alias("t"),
        "survival",
        "ci_low",
        "ci_high",
        pl.when(pl.col("t_query") == pl.col("t"))
        .then(pl.col("at_risk"))
        .otherwise(pl.col("__next").fill_null(0))
        .cast(km.schema["at_risk"])
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
