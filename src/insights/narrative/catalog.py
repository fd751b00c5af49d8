"""Text catalogs: every word a reader sees, in ``zh`` and ``en``.

One catalog per language, for the narrative, table headers, figure labels (``figure.*``)
and the report's cover (``report.*``): YAML files shipped inside the package
(``catalog_zh.yaml``, ``catalog_en.yaml``) with the same nested keys. A message is
addressed by its dotted key (``"sentence.change_up"``) and filled with
:meth:`str.format` fields. Metric names are keyed by the registry's id templates
(``metric.repurchase_{window}d``), so :func:`text_metric` names every id of a family.

The lookups a report author calls are the ``text_*`` family of the front door
(``ins.text_message``, ``ins.text_metric``, ``ins.text_segment``, ``ins.text_unit``,
``ins.text_chapter``, ``ins.text_caption``, ``ins.text_heading``,
``ins.text_not_available``): each takes the ``key`` it looks up, and ``lang``
defaults to the language set with ``ins.options``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from insights._display import Markdown, NotAvailable
from insights._options import LANGS, Lang, resolve_lang
from insights._registry import resolve

__all__ = [
    "Lang",
    "LANGS",
    "check_lang",
    "catalog",
    "text_message",
    "text_metric",
    "text_unit",
    "text_segment",
    "text_chapter",
    "text_heading",
    "text_caption",
    "text_not_available",
]

_HERE = Path(__file__).parent


def check_lang(lang: str | None) -> Lang:
    """``lang`` if it is a supported language (None: the one set with ``ins.options``).

    Anything else raises a ``ValueError`` naming the choices.
    """
    return resolve_lang(lang)


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
def _read(lang: Lang) -> dict[str, str]:
    with open(_HERE / f"catalog_{lang}.yaml", encoding="utf-8") as fh:
        return _flatten(yaml.safe_load(fh))


def catalog(lang: Lang | None = None) -> dict[str, str]:
    """The flat ``{dotted key: message}`` catalog of ``lang`` (read once, cached).

    Examples
    --------
    >>> catalog("en")["metric.aov"], catalog("en")["metric.retention_d{day}"]
    ('AOV', 'D{day} retention')
    """
    return _read(check_lang(lang))


def text_message(key: str, *, lang: Lang | None = None, **fields: Any) -> str:
    """The catalog message ``key`` in ``lang``, with ``fields`` filled in.

    Parameters
    ----------
    key
        A dotted catalog key (``"sig.footnote"``, ``"unavailable.needs"``).
    lang
        ``"zh"`` or ``"en"`` (default: the language set with ``ins.options``).
    **fields
        The values of the message's ``{}`` fields.

    Raises
    ------
    KeyError
        When the catalog has no message ``key``.

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_message("unit.points", lang="en", x="1.3")
    '1.3 points'
    """
    lang = check_lang(lang)
    messages = catalog(lang)
    if key not in messages:
        raise KeyError(f"no message {key!r} in the {lang} catalog")
    return messages[key].format(**fields) if fields else messages[key]


def text_unit(key: str, *, lang: Lang | None = None) -> str:
    """The display name of a unit code of the calibration targets (``pct`` → "%").

    ``"money"`` names the currency set with ``ins.options`` (``"US dollars ($)"``);
    ``"yuan"`` is a figure the documents state in yuan. Unknown codes come back unchanged.

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_unit("pct", lang="en"), ins.text_unit("days", lang="en"), ins.text_unit("furlong", lang="en")
    ('%', 'days', 'furlong')
    >>> with ins.options(currency="USD"):
    ...     ins.text_unit("money", lang="en")
    'US dollars ($)'
    """
    if key == "money":
        from insights.narrative.numbers import currency_name

        return currency_name(lang=lang)
    return catalog(lang).get(f"unit_name.{key}", key)


def text_not_available(key: str, *, lang: Lang | None = None) -> NotAvailable:
    """What a figure or table cell shows when the optional table ``key`` is absent.

    A :class:`~insights._display.NotAvailable` note: displayed as the cell's result, the
    report renderer sets the sentence in place of the figure or table.

    Examples
    --------
    >>> import insights as ins
    >>> print(ins.text_not_available("spend", lang="en"))  # doctest: +ELLIPSIS
    Not available: needs the spend table (spend.csv / spend.parquet).
    """
    needs = text_message("unavailable.table", lang=lang, table=key)  # the chapters' wording
    return NotAvailable(text_message("unavailable.needs", lang=lang, needs=needs))


def text_metric(key: str, *, lang: Lang | None = None) -> str:
    """The display name of a metric id (``retention_d30`` → "D30 retention").

    The catalog names each registered family under its template
    (``metric.retention_d{day}: "D{day} retention"``); an entry for the id itself
    (``metric.retention_d1``) wins. Ids neither named nor registered come back unchanged.

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_metric("retention_d14", lang="en"), ins.text_metric("retention_d1", lang="en")
    ('D14 retention', 'D1 retention')
    """
    messages = catalog(lang)
    name = f"metric.{key}"
    if name in messages:
        return messages[name]
    try:
        info, params = resolve(key)
    except ValueError:
        return key
    text = messages.get(f"metric.{info.template}")
    return key if text is None else text.format(**params)


def text_segment(key: Any, *, lang: Lang | None = None) -> str:
    """The display name of a value of a ``segment`` column (``gen_z`` → "Gen Z").

    The values of the users' category columns, experiment arms and names, and
    lifecycle layers are named in the catalog; others are values from data and come
    back as Markdown text that reads literally (escaped by
    :func:`insights.tables._escape.markdown_text`, cut at 40 characters with "…").

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_segment("gen_z", lang="en"), ins.text_segment("xyz", lang="en")
    ('Gen Z', 'xyz')
    >>> print(ins.text_segment("<b>arm_1</b>", lang="en"))
    \\<b>arm\\_1\\</b>
    """
    from insights.tables._escape import LABEL_LIMIT, markdown_text

    text = str(key)
    named = catalog(lang).get(f"value.{text}")
    return named if named is not None else markdown_text(text, limit=LABEL_LIMIT)


def text_chapter(key: int | str, *, lang: Lang | None = None) -> str:
    """The title of chapter ``0``–``8`` (8 is the appendix).

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_chapter(7, lang="en")
    'Strategy effects'
    """
    name = f"chapter.{int(key):02d}"
    messages = catalog(lang)
    if name not in messages:
        raise ValueError(f"chapter must be 0-8, got {key!r}")
    return messages[name]


def text_heading(key: str, *, lang: Lang | None = None, level: int = 2) -> Markdown:
    """A Markdown heading from the catalog's ``section.<key>`` (a cell's result renders it).

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_heading("key_findings", lang="en")
    '## Key findings'
    >>> ins.text_heading("alerts", lang="en", level=3)
    '### Alerts'
    """
    if not 1 <= level <= 6:
        raise ValueError(f"level must be 1-6, got {level}")
    return Markdown("#" * level + " " + text_message(f"section.{key}", lang=lang))


def text_caption(key: str, *, lang: Lang | None = None, default: str | None = None) -> str:
    """The caption of figure/table label ``key`` (``fig-…``/``tbl-…``) in ``lang``.

    Notebook ``#| fig-cap`` / ``#| tbl-cap`` options hold the English caption; a
    renderer can look the label up here to print it in the report's language.
    Unknown labels give ``default`` (or a ``KeyError``).

    Examples
    --------
    >>> import insights as ins
    >>> ins.text_caption("tbl-scorecard", lang="en")
    'KPI scorecard'
    """
    lang = check_lang(lang)
    messages = catalog(lang)
    name = f"caption.{key}"
    if name in messages:
        return messages[name]
    if default is not None:
        return default
    raise KeyError(f"no caption for {key!r} in the {lang} catalog")
