"""insights.narrative: findings as sentences, built from the numbers, in Chinese and English.

Every user-facing word comes from the message catalogs (``catalog_zh.yaml``,
``catalog_en.yaml``); the documents' figures from the packaged ``seed_figures.csv``.
Anything computed on fewer than ``min_cell`` users is never written out.

Examples
--------
>>> import insights.narrative as nr
>>> nr.describe_value({"metric": "retention_d30", "segment": "all", "value": 0.352,
...                    "ci_low": 0.348, "ci_high": 0.356, "n": 1673}, lang="zh")
'30日留存为35.2%（95%置信区间 34.8–35.6%；n = 1,673）。'
"""

from insights.narrative.appendix import (
    DEFAULT_SEGMENTS,
    definitions_table,
    method_notes,
    parameters_table,
)
from insights.narrative.catalog import (
    LANGS,
    Lang,
    caption,
    catalog,
    chapter_title,
    heading,
    message,
    metric_label,
    not_available,
    unit_label,
    value_label,
)
from insights.narrative.compare import Change, change_test, compare_quarters
from insights.narrative.documents import (
    document_figures,
    document_lines,
    document_vs_data,
    seed_figures,
)
from insights.narrative.experiments import effect_lines, simulator_truth, srm_sentence, srm_test
from insights.narrative.playbook import PLAYBOOK, Play, open_gaps, playbook_lines, playbook_table
from insights.narrative.registry import METRICS, MetricInfo, metric_info
from insights.narrative.sentences import (
    bullets,
    describe_change,
    describe_spread,
    describe_value,
    is_suppressed,
    paragraph,
    significance,
)
from insights.narrative.summary import (
    AlertRule,
    Target,
    alerts,
    default_alert_rules,
    default_targets,
    key_findings,
    scorecard_summary,
    scorecard_table,
    significance_marker,
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
    "alerts",
    "bullets",
    "caption",
    "catalog",
    "change_test",
    "chapter_title",
    "compare_quarters",
    "default_alert_rules",
    "default_targets",
    "definitions_table",
    "describe_change",
    "describe_spread",
    "describe_value",
    "document_figures",
    "document_lines",
    "document_vs_data",
    "effect_lines",
    "heading",
    "is_suppressed",
    "key_findings",
    "message",
    "method_notes",
    "metric_info",
    "metric_label",
    "not_available",
    "open_gaps",
    "paragraph",
    "parameters_table",
    "playbook_lines",
    "playbook_table",
    "scorecard_summary",
    "scorecard_table",
    "seed_figures",
    "significance",
    "significance_marker",
    "simulator_truth",
    "srm_sentence",
    "srm_test",
    "unit_label",
    "value_label",
]
