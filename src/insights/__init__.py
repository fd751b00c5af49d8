"""insights: retention, repurchase, LTV and strategy-effect analytics for live-stream e-commerce.

One front door: ``import insights as ins`` gives every function a researcher or report
author calls, flat, by topic prefix (``retention_*``, ``repurchase_*``, ``ltv_*``,
``interaction_*``, ``community_*``, ``lifecycle_*``, ``experiment_*``, ``plot_*``).
Submodules are loaded on first use (PEP 562 module ``__getattr__``, as polars and
scipy do), so ``import insights`` stays light. The parameter names follow one
vocabulary (``docs/vocabulary.md``).

Examples
--------
>>> import insights as ins
>>> "retention_curves" in ins.__all__ and "plot_survival" in ins.__all__
True
>>> ins.options().lang
'en'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from insights._options import Options, options  # noqa: F401 (listed in __all__)

__version__ = "0.1.0"

# public name -> the module that defines it (loaded on first attribute access)
_LAZY: dict[str, str] = {
    # data: load, simulate, validate
    "Dataset": "insights.data.dataset",
    "MissingTableError": "insights.data.dataset",
    "EmptyPeriodWarning": "insights.data.dataset",
    "frames_dataset": "insights.data.dataset",
    "load_dataset": "insights.data.load",
    "DataValidationError": "insights.data.load",
    "DataReadError": "insights.data._read",
    "validate": "insights.data.validate",
    "simulate": "insights.simulator.world",
    "calibrate": "insights.calibration",
    "kpi_scorecard": "insights.kpis",
    # experiments
    "did_effect": "insights.stats.did",
    "srm_test": "insights.stats.effects",
    "proportion_effect": "insights.stats.effects",
    "welch_effect": "insights.stats.effects",
    "mde": "insights.stats.effects",
    # estimators a user calls on their own frames
    "compare_survival": "insights.stats.comparison",
    "SurvivalComparison": "insights.stats.comparison",
    "SurvivalCurves": "insights.stats.curves",
    "survival_curves": "insights.stats.curves",
    "kaplan_meier": "insights.stats.km",
    "median_survival": "insights.stats.km",
    "survival_at": "insights.stats.km",
    "logrank_test": "insights.stats.logrank",
    "pairwise_logrank": "insights.stats.logrank",
    "cox_hazard_ratios": "insights.stats.cox",
    "rmst": "insights.stats.rmst",
    "rmst_difference": "insights.stats.milestone",
    "milestone_survival": "insights.stats.milestone",
    "milestone_difference": "insights.stats.milestone",
    "adjust_pvalues": "insights.stats.adjust",
    "wilson_interval": "insights.stats.proportions",
    "newcombe_diff_interval": "insights.stats.proportions",
    "compare_proportions": "insights.stats.proportions",
    "ratio_ci": "insights.stats.ratio",
    "fit_bgnbd": "insights.stats.btyd",
    "fit_gamma_gamma": "insights.stats.btyd",
    "p_alive": "insights.stats.btyd",
    "expected_purchases": "insights.stats.btyd",
    "expected_spend": "insights.stats.btyd",
    "customer_clv": "insights.stats.btyd",
    # figures and tables
    "plot_survival": "insights.viz.survival",
    "plot_retention_matrix": "insights.viz.retention_matrix",
    "plot_segment_rates": "insights.viz.segment_rates",
    "plot_effects": "insights.viz.effects",
    "plot_funnel": "insights.viz.funnel",
    "plot_dose_response": "insights.viz.dose_response",
    "plot_transitions": "insights.viz.transitions",
    "plot_pareto": "insights.viz.pareto",
    "plot_ltv": "insights.viz.ltv",
    "format_table": "insights.tables.format",
    "publishable": "insights.tables._suppress",
    "table_retention_matrix": "insights.viz._matrix_html",
    # the report
    "render_report": "insights.report.renderer",
    "chapter": "insights.report.context",  # a chapter notebook's set-up in one call
    # the report's calendar: a period, its comparison quarter, the trailing quarters
    "parse_period": "insights.metrics._periods",
    "comparison_period": "insights.metrics._periods",
    "default_quarters": "insights.metrics._periods",
    # report authoring: text looked up in the catalogs by key
    "text_message": "insights.narrative.catalog",
    "text_metric": "insights.narrative.catalog",
    "text_segment": "insights.narrative.catalog",
    "text_unit": "insights.narrative.catalog",
    "text_chapter": "insights.narrative.catalog",
    "text_caption": "insights.narrative.catalog",
    "text_heading": "insights.narrative.catalog",
    "text_not_available": "insights.narrative.catalog",
    # report authoring: sentences from metric rows, scorecards and comparisons
    "describe_value": "insights.narrative.sentences",
    "describe_change": "insights.narrative.sentences",
    "describe_spread": "insights.narrative.sentences",
    "describe_findings": "insights.narrative.summary",
    "describe_provisional": "insights.narrative.summary",
    "describe_alerts": "insights.narrative.summary",
    "describe_playbook": "insights.narrative.playbook",
    "describe_documents": "insights.narrative.documents",
    "describe_srm": "insights.narrative.experiments",
    "describe_effects": "insights.narrative.experiments",
    "describe_simulator_truth": "insights.narrative.experiments",
    "describe_methods": "insights.narrative.appendix",
    "format_bullets": "insights.narrative.sentences",
    "format_paragraph": "insights.narrative.sentences",
    "show": "insights._display",
    # report authoring: the scorecard summary, display tables, the chapters' splits
    "kpi_summary": "insights.narrative.summary",
    "table_scorecard": "insights.narrative.summary",
    "table_playbook": "insights.narrative.playbook",
    "table_parameters": "insights.narrative.appendix",
    "table_definitions": "insights.narrative.appendix",
    "segment_columns": "insights.narrative.appendix",
    "format_benchmarks": "insights.narrative.appendix",
    "is_simulated": "insights.narrative.appendix",
}

# a front-door name that differs from the name in its module
_ALIASES: dict[str, str] = {
    "render_report": "render",
    "table_retention_matrix": "retention_matrix_html",
}


def _metrics() -> dict[str, Any]:
    """The metric functions and result types of ``insights.metrics`` (imports it)."""
    metrics = importlib.import_module("insights.metrics")
    return {
        name: getattr(metrics, name)
        for name in metrics.__all__
        if callable(getattr(metrics, name)) and not name.isupper()
    }


def _public_names() -> list[str]:
    return sorted({*_LAZY, *_metrics(), "Options", "options"})


def __getattr__(name: str) -> Any:
    """Load the module holding ``name`` on first access (PEP 562).

    Names of the static table load their own module; metrics are found in the topic
    modules of :mod:`insights.metrics` (a new metric listed in its module's
    ``__all__`` is here without touching this file). ``__all__`` itself is computed
    on first access, which loads the metrics.
    """
    if name == "__all__":
        value: Any = _public_names()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), _ALIASES.get(name, name))
    elif not name.startswith("_") and name in (found := _metrics()):
        value = found[name]
    else:
        raise AttributeError(f"module 'insights' has no attribute {name!r}")
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_public_names()))


if TYPE_CHECKING:  # static type checkers and IDEs see the real objects (regenerate from the live names when one is added)
    from insights._display import show
    from insights.calibration import calibrate
    from insights.data._read import DataReadError
    from insights.data.dataset import Dataset, EmptyPeriodWarning, MissingTableError, frames_dataset
    from insights.data.load import DataValidationError, load_dataset
    from insights.data.validate import validate
    from insights.kpis import kpi_scorecard
    from insights.metrics._periods import comparison_period, default_quarters, parse_period
    from insights.metrics.activity import active_users, activity_90d
    from insights.metrics.community import (
        community_activity,
        community_exit_rate,
        community_leave_curves,
        community_spells,
        private_gmv_share,
        public_to_private_conversion,
    )
    from insights.metrics.community_members import member_comparison, member_retention
    from insights.metrics.concentration import gmv_share_top_buyers, pareto_curve
    from insights.metrics.experiments import ExperimentEffects, experiment_effects
    from insights.metrics.funnel import interaction_funnel, private_funnel
    from insights.metrics.growth import (
        bounce_rate,
        cac,
        new_user_share,
        new_users,
        user_share,
        watch_minutes_per_session,
    )
    from insights.metrics.growth_table import growth_table
    from insights.metrics.interaction import (
        interaction_intensity,
        interaction_rate,
        repurchase_after_interaction,
    )
    from insights.metrics.interaction_outcomes import (
        high_vs_ordinary,
        interaction_dose_response,
        interaction_fatigue,
        interaction_participation,
        interaction_type_mix,
    )
    from insights.metrics.lifecycle import lifecycle_layers, silent_reactivation
    from insights.metrics.lifecycle_transitions import lifecycle_transitions
    from insights.metrics.lifetimes import user_lifetimes
    from insights.metrics.ltv import cohort_ltv, ltv_matrix
    from insights.metrics.ltv_btyd import btyd_ltv, customer_summary, ltv_holdout
    from insights.metrics.ltv_projection import ltv_backtest, projected_ltv
    from insights.metrics.purchase import (
        aov,
        aov_ratio,
        first_purchase_conversion,
        repurchase_cycle,
        repurchase_rate,
    )
    from insights.metrics.retention import retention_curves, retention_rates
    from insights.metrics.retention_index import RetentionIndex, retention_index
    from insights.metrics.retention_matrix import retention_matrix
    from insights.metrics.rfm import rfm_scores, rfm_segments
    from insights.metrics.unit_economics import ltv_cac, retention_ltv_elasticity
    from insights.narrative.appendix import (
        describe_methods,
        format_benchmarks,
        is_simulated,
        segment_columns,
        table_definitions,
        table_parameters,
    )
    from insights.narrative.catalog import (
        text_caption,
        text_chapter,
        text_heading,
        text_message,
        text_metric,
        text_not_available,
        text_segment,
        text_unit,
    )
    from insights.narrative.documents import describe_documents
    from insights.narrative.experiments import (
        describe_effects,
        describe_simulator_truth,
        describe_srm,
    )
    from insights.narrative.playbook import describe_playbook, table_playbook
    from insights.narrative.sentences import (
        describe_change,
        describe_spread,
        describe_value,
        format_bullets,
        format_paragraph,
    )
    from insights.narrative.summary import (
        describe_alerts,
        describe_findings,
        describe_provisional,
        kpi_summary,
        table_scorecard,
    )
    from insights.report.context import chapter
    from insights.report.renderer import render as render_report
    from insights.simulator.world import simulate
    from insights.stats.adjust import adjust_pvalues
    from insights.stats.btyd import (
        customer_clv,
        expected_purchases,
        expected_spend,
        fit_bgnbd,
        fit_gamma_gamma,
        p_alive,
    )
    from insights.stats.comparison import SurvivalComparison, compare_survival
    from insights.stats.cox import cox_hazard_ratios
    from insights.stats.curves import SurvivalCurves, survival_curves
    from insights.stats.did import did_effect
    from insights.stats.effects import mde, proportion_effect, srm_test, welch_effect
    from insights.stats.km import kaplan_meier, median_survival, survival_at
    from insights.stats.logrank import logrank_test, pairwise_logrank
    from insights.stats.milestone import milestone_difference, milestone_survival, rmst_difference
    from insights.stats.proportions import (
        compare_proportions,
        newcombe_diff_interval,
        wilson_interval,
    )
    from insights.stats.ratio import ratio_ci
    from insights.stats.rmst import rmst
    from insights.tables._suppress import publishable
    from insights.tables.format import format_table
    from insights.viz._matrix_html import retention_matrix_html as table_retention_matrix
    from insights.viz.dose_response import plot_dose_response
    from insights.viz.effects import plot_effects
    from insights.viz.funnel import plot_funnel
    from insights.viz.ltv import plot_ltv
    from insights.viz.pareto import plot_pareto
    from insights.viz.retention_matrix import plot_retention_matrix
    from insights.viz.segment_rates import plot_segment_rates
    from insights.viz.survival import plot_survival
    from insights.viz.transitions import plot_transitions
