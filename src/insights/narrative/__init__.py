"""insights.narrative: findings as sentences, built from the numbers, in Chinese and English.

Every user-facing word comes from the text catalogs (``catalog_zh.yaml``,
``catalog_en.yaml``, shared with the tables, figures and report); what each metric is
(unit, better direction) from the metric registry (:mod:`insights._registry`); the
documents' figures from the packaged ``seed_figures.csv``. Anything computed on fewer
than ``min_cell`` users is never written out.

A report author reaches all of it through the front door, in four families:
``ins.text_*`` (catalog lookups by key), ``ins.describe_*`` (sentences from metric
rows, scorecards and comparisons), ``ins.table_*`` (display tables for
``ins.format_table``) and ``ins.format_bullets`` / ``ins.format_paragraph``.
``lang`` and ``min_cell`` default to the values set with ``ins.options``.

Examples
--------
>>> import insights as ins
>>> ins.describe_value({"metric": "retention_d30", "segment": "all", "value": 0.352,
...                     "ci_low": 0.348, "ci_high": 0.356, "n": 1673}, lang="en")
'D30 retention was 35.2% (95% CI 34.8–35.6%; n = 1,673).'
>>> with ins.options(lang="en", min_cell=2000):  # set once, for every call in the block
...     ins.describe_value({"metric": "retention_d30", "segment": "all", "value": 0.352, "n": 1673})
'D30 retention: fewer than 2000 users, not shown.'
"""

from insights._registry import METRICS, MetricInfo, metric_info
from insights.narrative.appendix import (
    DEFAULT_SEGMENTS,
    describe_methods,
    segment_columns,
    table_definitions,
    table_parameters,
)
from insights.narrative.catalog import (
    LANGS,
    Lang,
    catalog,
    text_caption,
    text_chapter,
    text_heading,
    text_message,
    text_metric,
    text_not_available,
    text_segment,
    text_unit,
)
from insights.narrative.compare import Change, change_test, compare_quarters
from insights.narrative.documents import (
    describe_documents,
    document_figures,
    document_vs_data,
    seed_figures,
)
from insights.narrative.experiments import (
    describe_effects,
    describe_simulator_truth,
    describe_srm,
)
from insights.narrative.playbook import (
    PLAYBOOK,
    Play,
    describe_playbook,
    open_gaps,
    table_playbook,
)
from insights.narrative.sentences import (
    describe_change,
    describe_spread,
    describe_value,
    format_bullets,
    format_paragraph,
    is_suppressed,
    significance,
)
from insights.narrative.summary import (
    AlertRule,
    Target,
    default_alert_rules,
    default_targets,
    describe_alerts,
    describe_findings,
    describe_provisional,
    kpi_summary,
    significance_marker,
    table_scorecard,
)

__all__ = [
    "DEFAULT_SEGMENTS",
    "LANGS",
    "METRICS",
    "PLAYBOOK",
    "AlertRule",
    "Change",
    "Lang",
    "MetricInfo",
    "Play",
    "Target",
    "catalog",
    "change_test",
    "compare_quarters",
    "default_alert_rules",
    "default_targets",
    "describe_alerts",
    "describe_change",
    "describe_documents",
    "describe_effects",
    "describe_findings",
    "describe_provisional",
    "describe_methods",
    "describe_playbook",
    "describe_simulator_truth",
    "describe_spread",
    "describe_srm",
    "describe_value",
    "document_figures",
    "document_vs_data",
    "format_bullets",
    "format_paragraph",
    "is_suppressed",
    "kpi_summary",
    "metric_info",
    "open_gaps",
    "seed_figures",
    "segment_columns",
    "significance",
    "significance_marker",
    "table_definitions",
    "table_parameters",
    "table_playbook",
    "table_scorecard",
    "text_caption",
    "text_chapter",
    "text_heading",
    "text_message",
    "text_metric",
    "text_not_available",
    "text_segment",
    "text_unit",
]
