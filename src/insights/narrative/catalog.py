"""Message catalogs: every user-facing word of the narrative, in ``zh`` and ``en``.

The catalogs are YAML files shipped inside the package (``catalog_zh.yaml``,
``catalog_en.yaml``) with the same nested keys; a message is addressed by its dotted
key (``"sentence.change_up"``) and filled with :meth:`str.format` fields.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

__all__ = [
    "Lang",
    "LANGS",
    "check_lang",
    "catalog",
    "message",
    "metric_label",
    "unit_label",
    "value_label",
    "chapter_title",
    "heading",
    "caption",
]

#: The report languages.
Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = get_args(Lang)
_HERE = Path(__file__).parent


def check_lang(lang: str) -> Lang:
    """``lang`` if it is a supported language, else a ``ValueError`` naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang  # type: ignore[return-value]


def _flatten(tree: dict[Any, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise ValueError(f"catalog key {prefix}{key!r} is not a string (quote it in the YAML)")
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, str):
            out[name] = value
        else:
            raise ValueError(f"catalog entry {name!r} must be a string, got {type(value).__name__}")
    return out


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flat ``{dotted key: message}`` catalog of ``lang`` (read once, cached).

    Examples
    --------
    >>> catalog("en")["metric.retention_d30"]
    'D30 retention'
    """
    lang = check_lang(lang)
    with open(_HERE / f"catalog_{lang}.yaml", encoding="utf-8") as fh:
        return _flatten(yaml.safe_load(fh))


def message(key: str, *, lang: str, **fields: Any) -> str:
    """The message ``key`` of ``lang`` with ``fields`` filled in.

    Examples
    --------
    >>> message("unit.points", lang="zh", x="1.3")
    '1.3个百分点'
    """
    messages = catalog(lang)
    if key not in messages:
        raise KeyError(f"no message {key!r} in the {lang} catalog")
    return messages[key].format(**fields) if fields else messages[key]


def unit_label(code: str, *, lang: str) -> str:
    """The display name of a unit code of the calibration targets (``pct`` → "%").

    Unknown codes come back unchanged.

    Examples
    --------
    >>> unit_label("yuan", lang="zh"), unit_label("days", lang="en"), unit_label("furlong", lang="en")
    ('元', 'days', 'furlong')
    """
    return catalog(lang).get(f"unit_name.{code}", code)


#: First line of a figure or table cell that has nothing to show because an optional
#: table is absent; the report renderer then prints the sentence in place of the figure.
NOT_AVAILABLE = "<!-- insights:not-available -->"


def not_available(table: str, *, lang: str) -> str:
    """What a figure or table cell prints when the optional ``table`` is absent.

    Examples
    --------
    >>> print(not_available("spend", lang="en"))  # doctest: +ELLIPSIS
    <!-- insights:not-available -->
    This section needs the `spend` table, which this dataset does not have; ...
    """
    return f"{NOT_AVAILABLE}\n{message('sentence.missing_table', lang=lang, table=table)}"


_PATTERNS = [
    (re.compile(r"^retention_d(\d+)$"), "retention_d"),
    (re.compile(r"^repurchase_(\d+)d$"), "repurchase_d"),
    (re.compile(r"^first_purchase_(\d+)d$"), "first_purchase_d"),
    (re.compile(r"^first_purchase_conversion_(\d+)d$"), "first_purchase_d"),  # calibration targets' id
    (re.compile(r"^silent_reactivation_(\d+)d$"), "silent_reactivation_d"),
    (re.compile(r"^public_to_private_conversion_(\d+)d$"), "public_to_private_conversion_d"),
    (re.compile(r"^community_exit_rate_(\d+)d$"), "community_exit_rate_d"),
    (re.compile(r"^gmv_share_top(\d+)pct_buyers$"), "gmv_share_top_pct"),
    (re.compile(r"^order_(\d+)d$"), "order_d"),
    (re.compile(r"^join_(\d+)d$"), "join_d"),
    (re.compile(r"^gmv_(\d+)d$"), "gmv_d"),
    (re.compile(r"^aov_(\d+)d$"), "aov_d"),
    (re.compile(r"^interaction_rate_(\d+)d$"), "interaction_rate_d"),
]


def metric_label(metric: str, *, lang: str) -> str:
    """The display name of a metric id (``retention_d30`` → "D30 retention" / "30日留存").

    Unknown ids come back unchanged.

    Examples
    --------
    >>> metric_label("retention_d14", lang="en")
    'D14 retention'
    """
    messages = catalog(lang)
    key = f"metric.{metric}"
    if key in messages:
        return messages[key]
    for pattern, name in _PATTERNS:
        match = pattern.match(metric)
        if match:
            return messages[f"metric_pattern.{name}"].format(n=match.group(1))
    return metric


def value_label(value: Any, *, lang: str) -> str:
    """The display name of a category value (``gen_z`` → "Gen Z" / "Z世代"); others unchanged."""
    text = str(value)
    return catalog(lang).get(f"value.{text}", text)


def chapter_title(chapter: int | str, *, lang: str) -> str:
    """The title of chapter ``0``–``8`` (8 is the appendix).

    Examples
    --------
    >>> chapter_title(7, lang="zh")
    '策略效果评估'
    """
    key = f"chapter.{int(chapter):02d}"
    if key not in catalog(lang):
        raise ValueError(f"chapter must be 0-8, got {chapter!r}")
    return catalog(lang)[key]


def heading(section: str, *, lang: str, level: int = 2) -> str:
    """A Markdown heading from the catalog's ``section.<section>`` (chapters print their own headings).

    Examples
    --------
    >>> heading("key_findings", lang="zh")
    '## 主要发现'
    """
    if not 1 <= level <= 6:
        raise ValueError(f"level must be 1-6, got {level}")
    return "#" * level + " " + message(f"section.{section}", lang=lang)


def caption(label: str, *, lang: str, default: str | None = None) -> str:
    """The caption of figure/table ``label`` (``fig-…``/``tbl-…``) in ``lang``.

    Notebook ``#| fig-cap`` / ``#| tbl-cap`` options hold the English caption; a
    renderer can look the label up here to print it in the report's language.
    Unknown labels give ``default`` (or a ``KeyError``).

    Examples
    --------
    >>> caption("tbl-scorecard", lang="zh")
    'KPI 记分卡'
    """
    messages = catalog(lang)
    key = f"caption.{label}"
    if key in messages:
        return messages[key]
    if default is not None:
        return default
    raise KeyError(f"no caption for {label!r} in the {lang} catalog")
