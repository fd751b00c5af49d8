"""Scenario files: the parameters of the simulated platform, read from YAML."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Scenario", "load_scenario", "default_scenario_path"]


def default_scenario_path() -> Path:
    """The default scenario: ``data/scenarios/default.yaml`` (copied into the wheel)."""
    packaged = Path(__file__).parent / "scenarios" / "default.yaml"
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[3] / "data" / "scenarios" / "default.yaml"


@dataclass(frozen=True)
class Scenario:
    """Parsed scenario with helpers to read year-dependent values."""

    params: dict[str, Any]
    path: Path
    sha256: str

    @property
    def start(self) -> dt.date:
        return _as_date(self.params["start"])

    @property
    def end(self) -> dt.date:
        return _as_date(self.params["end"])

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    @staticmethod
    def by_year(table: dict[Any, Any], year: int) -> Any:
        """Value of a ``{year: value}`` table at ``year``, interpolated linearly between given years.

        Values may be numbers or dicts of numbers (shares are renormalised by the caller).
        """
        years = sorted(int(y) for y in table)
        values = {int(y): v for y, v in table.items()}
        if year <= years[0]:
            return values[years[0]]
        if year >= years[-1]:
            return values[years[-1]]
        hi = next(y for y in years if y >= year)
        lo = max(y for y in years if y <= year)
        if hi == lo:
            return values[lo]
        w = (year - lo) / (hi - lo)
        return _lerp(values[lo], values[hi], w)


def _lerp(a: Any, b: Any, w: float) -> Any:
    if isinstance(a, dict):
        return {k: _lerp(a[k], b[k], w) for k in a}
    return (1 - w) * float(a) + w * float(b)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario YAML file (default: :func:`default_scenario_path`)."""
    p = Path(path) if path is not None else default_scenario_path()
    if not p.exists():
        raise FileNotFoundError(f"scenario file {p} does not exist")
    raw = p.read_bytes()
    params = yaml.safe_load(raw)
    if not isinstance(params, dict):
        raise ValueError(f"scenario file {p} is not a YAML mapping")
    return Scenario(params=params, path=p, sha256=hashlib.sha256(raw).hexdigest())
