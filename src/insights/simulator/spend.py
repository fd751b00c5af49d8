"""Acquisition spend: per month and channel, the new users times the channel's unit cost."""

from __future__ import annotations

import numpy as np
import polars as pl

from insights.simulator.population import Population
from insights.simulator.scenario import Scenario

__all__ = ["draw_spend"]


def draw_spend(pop: Population, scenario: Scenario, rng: np.random.Generator) -> pl.DataFrame:
    """``period_start, channel, amount`` rows: new users x unit cost x year scale x noise (5%)."""
    spec = scenario["spend"]
    channels = pop.labels["channel"]
    month = pop.first_day.astype("datetime64[D]").astype("datetime64[M]")
    frame = (
        pl.DataFrame(
            {
                "month": month.astype("datetime64[D]"),
                "channel": np.asarray(channels)[pop.codes["channel"]],
            }
        )
        .group_by("month", "channel")
        .len("new_users")
        .sort("month", "channel")
    )
    years = frame["month"].dt.year().to_numpy()
    scale = np.array([scenario.by_year(spec["year_scale"], int(y)) for y in years])
    cost = np.array([float(spec["unit_cost"][c]) for c in frame["channel"].to_list()])
    noise = rng.lognormal(0.0, 0.05, frame.height)
    amount = np.round(frame["new_users"].to_numpy() * cost * scale * noise, 2)
    return frame.select(pl.col("month").alias("period_start"), "channel").with_columns(
        amount=pl.Series(amount)
    )
