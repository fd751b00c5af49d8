"""The words printed on figures: the ``figure.*`` entries of the text catalogs.

Identifiers stay English; the text a reader sees lives in
``insights/narrative/catalog_{zh,en}.yaml`` with every other user-facing string.
:func:`label` looks a key up for a language (already resolved from the ``lang`` argument
or ``ins.options`` by the ``plot_*`` function), :func:`check_lang` validates it.
"""

from __future__ import annotations

from insights._options import LANGS, Lang, resolve_currency
from insights._registry import resolve
from insights.narrative.catalog import (
    catalog,
    check_lang,
    text_message,
    text_metric,
)
from insights.tables._escape import figure_text

__all__ = [
    "Lang",
    "check_lang",
    "column_label",
    "figure_texts",
    "label",
    "metric_label",
    "value_label",
]  # and LABELS, built on first use

#: How a combined segment joins its parts (``"douyin · gen_z"`` for ``by=[platform, generation]``).
SEP = " · "


def _figure_labels(lang: Lang) -> dict[str, str]:
    prefix = "figure."
    return {k[len(prefix) :]: v for k, v in catalog(lang).items() if k.startswith(prefix)}


def __getattr__(name: str) -> object:
    # LABELS: key -> text per language, the catalogs' ``figure.*`` entries (read on first use)
    if name == "LABELS":
        return {lang: _figure_labels(check_lang(lang)) for lang in LANGS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def label(key: str, lang: str = "en", **fields: object) -> str:
    """The text for ``key`` in ``lang`` (catalog ``figure.<key>``), with ``{field}``s filled.

    ``lang`` is checked here (a ``ValueError`` names the choices), so callers may pass
    what the user gave.

    Examples
    --------
    >>> label("at_risk", "en")
    'Number at risk'
    >>> label("hidden_groups", "en", k=2, m=10)
    '2 group(s) hidden (< 10 users, or to protect one)'
    """
    return text_message(f"figure.{key}", lang=check_lang(lang), **fields)


def figure_texts(figure: str, lang: str) -> dict[str, str]:
    """Every ``figure.<figure>.*`` text of ``lang``, by key, placeholders left for the caller.

    Examples
    --------
    >>> figure_texts("ltv", "en")["x"]
    'Days since acquisition'
    """
    prefix = f"figure.{figure}."
    texts = catalog(check_lang(lang))
    return {k[len(prefix) :]: v for k, v in texts.items() if k.startswith(prefix)}


def value_label(value: object, lang: str = "en") -> str:
    """What a figure prints for a data value (a segment, arm, layer, stage ...).

    The catalog name (``text_segment``) of the value, or of each part of a combined
    segment (``"douyin · gen_z"`` -> ``"Douyin · Gen Z"``); a value the catalog does
    not name (the user's own labels, dates of cohorts) is printed as it is, as text
    (:func:`insights.tables._escape.figure_text`: one line, ``$`` never mathematics,
    cut at 40 characters with "…").

    Examples
    --------
    >>> value_label("mother_baby", "en"), value_label("douyin · gen_x", "en")
    ('Mother and baby', 'Douyin · Gen X')
    >>> value_label("2024-03", "en"), value_label(7, "en")
    ('2024-03', '7')
    >>> value_label("$x^2$", "en")
    '\\\\$x^2\\\\$'
    """
    lang = check_lang(lang)
    text = str(value)
    named = catalog(lang).get(f"value.{text}")
    if named is not None:
        return named
    texts = catalog(lang)
    return SEP.join(texts.get(f"value.{part}") or figure_text(part) for part in text.split(SEP))


def currency_label(lang: str = "en") -> str:
    """The currency of amounts as a figure prints it (the ISO code, or its Chinese name).

    From the catalogs' ``currency_axis.<code>``, else the code set with
    ``ins.options(currency=...)``; never a dollar sign (matplotlib reads a pair of
    them as mathematics).

    Examples
    --------
    >>> import insights as ins
    >>> with ins.options(currency="USD"):
    ...     currency_label("en")
    'USD'
    """
    texts = catalog(check_lang(lang))
    code = resolve_currency(None)
    key = f"currency_axis.{code}" if f"currency_axis.{code}" in texts else "currency_axis.other"
    return texts[key].format(code=code)


def metric_label(metric: str, lang: str = "en") -> str:
    """What a figure prints for a metric id (``retention_d30`` -> ``"D30 retention"``).

    Ids the catalog does not name are printed as they are; an amount names its
    currency (``"AOV (USD)"``).

    Examples
    --------
    >>> metric_label("retention_d30", "en"), metric_label("my_metric", "en")
    ('D30 retention', 'my_metric')
    >>> import insights as ins
    >>> with ins.options(currency="USD"):
    ...     metric_label("aov", "en")
    'AOV (USD)'
    """
    name = text_metric(str(metric), lang=check_lang(lang))
    if name == str(metric):  # an id the catalog does not name: text from data
        name = figure_text(name)
    try:
        money = resolve(str(metric))[0].unit == "money"
    except ValueError:
        money = False
    return f"{name} ({currency_label(lang)})" if money else name


def column_label(column: str, lang: str = "en") -> str:
    """What a figure prints for a column name (an axis or legend title).

    ``figure.column.<column>`` when the catalog has it, else the name of the
    dimension (``dimension.<column>``, first letter capitalised), else the name itself.

    Examples
    --------
    >>> column_label("platform", "en"), column_label("layer", "en"), column_label("tag", "en")
    ('Platform', 'Lifecycle layer', 'tag')
    """
    texts = catalog(check_lang(lang))
    own = texts.get(f"figure.column.{column}")
    if own is not None:
        return own
    name = texts.get(f"dimension.{column}")
    return figure_text(column) if name is None else name[:1].upper() + name[1:]
