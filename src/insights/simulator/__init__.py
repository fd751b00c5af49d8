"""The simulator: a calibrated live-commerce platform written in the data contract's shape."""

from insights.simulator.chunked import simulate_chunked
from insights.simulator.scenario import Scenario, default_scenario_path, load_scenario
from insights.simulator.world import simulate

__all__ = ["simulate", "simulate_chunked", "Scenario", "load_scenario", "default_scenario_path"]
