"""The words printed on figures, in English and Chinese (a small label catalog).

Identifiers stay English; only the text a reader sees lives here. :func:`label`
looks a key up for a language, :func:`check_lang` validates the ``lang`` argument
of every ``plot_*`` function.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["LABELS", "Lang", "check_lang", "label"]

Lang = Literal["en", "zh"]

#: key -> text per language; ``{k}``-style fields are filled by :func:`label`.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "days": "Days since start",
        "retained": "Retained",
        "at_risk": "Number at risk",
        "all": "All users",
        "logrank": "Log-rank",
        "median": "Median",
        "hidden_groups": "{k} group(s) < {m} users hidden",
        "hidden_segments": "{k} segment(s) < {m} users hidden",
        "hidden_cells": "{k} estimate(s) < {m} users hidden",
        "cohort": "Cohort",
        "period": "Periods since cohort start",
        "mean": "Mean",
        "n": "n",
        "retention_rate": "Retention rate",
        "retained_users": "Retained users",
        "incomplete": "Not yet fully observable",
        "suppressed": "< {m} users, not shown",
        "ci": "95% CI",
        "value": "Value",
        "segment": "Segment",
        "no_groups": "No group with at least {m} users",
    },
    "zh": {
        "days": "天数",
        "retained": "留存率",
        "at_risk": "风险人数",
        "all": "全部用户",
        "logrank": "对数秩检验",
        "median": "中位数",
        "hidden_groups": "{k} 个分组少于 {m} 人，未显示",
        "hidden_segments": "{k} 个分群少于 {m} 人，未显示",
        "hidden_cells": "{k} 个估计值少于 {m} 人，未显示",
        "cohort": "同期群",
        "period": "距同期群起始的期数",
        "mean": "均值",
        "n": "人数",
        "retention_rate": "留存率",
        "retained_users": "留存人数",
        "incomplete": "尚未完整观察",
        "suppressed": "少于 {m} 人，不显示",
        "ci": "95% 置信区间",
        "value": "数值",
        "segment": "分群",
        "no_groups": "没有不少于 {m} 人的分组",
    },
}


def check_lang(lang: str) -> Lang:
    """Validate a ``lang`` argument and return it.

    Examples
    --------
    >>> check_lang("zh")
    'zh'
    """
    allowed = get_args(Lang)
    if lang not in allowed:
        raise ValueError(f"lang must be one of {allowed}, got {lang!r}")
    return lang  # type: ignore[return-value]


def label(key: str, lang: str = "en", **fields: object) -> str:
    """The text for ``key`` in ``lang``, with ``{field}`` placeholders filled.

    Examples
    --------
    >>> label("at_risk", "zh")
    '风险人数'
    >>> label("hidden_groups", "en", k=2, m=10)
    '2 group(s) < 10 users hidden'
    """
    text = LABELS[check_lang(lang)][key]
    return text.format(**fields) if fields else text
