"""The words printed on figures: the ``figure.*`` entries of the text catalogs.

Identifiers stay English; the text a reader sees lives in
``insights/narrative/catalog_{zh,en}.yaml`` with every other user-facing string.
:func:`label` looks a key up for a language (already resolved from the ``lang`` argument
or ``ins.options`` by the ``plot_*`` function), :func:`check_lang` validates it.
"""

from __future__ import annotations

from insights._options import LANGS, Lang
from insights.narrative.catalog import catalog, check_lang, text_message

__all__ = ["Lang", "check_lang", "figure_texts", "label"]  # and LABELS, built on first use


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
    '2 group(s) < 10 users hidden'
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
