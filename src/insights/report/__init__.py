"""``insights.report``: render the parameterised chapter notebooks into the quarterly report.

Two backends behind one :func:`render`:

``quarto``
    ``quarto render`` of the book declared in ``reports/_quarto.yml`` (when the
    ``quarto`` executable exists).
``builtin``
    papermill executes each chapter with the injected parameters (``data, quarter,
    compare_to, filters, lang, min_cell, compare_documents, churn_gap``) → nbconvert turns it into Markdown (figures
    extracted) → pandoc (``pypandoc_binary``) converts it to Typst with
    ``reports/templates/crossref.lua`` → the ``typst`` package compiles the PDF with
    ``reports/templates/insights.typ``; HTML is pandoc's self-contained page.

Both use the same typst template. The built-in backend supports the subset of Quarto
syntax documented in :mod:`insights.report._syntax` and fails on anything else; the
privacy rule applied to every report is in :mod:`insights.report._privacy`.

>>> import insights as ins
>>> ins.render_report("data/demo", quarter="2024Q4", lang="zh", formats="pdf")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from insights.report._errors import RenderError
    from insights.report._execute import ChapterError
    from insights.report._privacy import PrivacyError
    from insights.report._syntax import QuartoSyntaxError
    from insights.report._typst import FontError
    from insights.report.renderer import render, report_path

# Imported on first use: a chapter's kernel imports ``insights.report.context`` (``ins.chapter``)
# and none of these, and the executor's notebook stack (nbformat, jsonschema) costs ~3 s per kernel.
_LAZY = {
    "ChapterError": "insights.report._execute",
    "FontError": "insights.report._typst",
    "PrivacyError": "insights.report._privacy",
    "QuartoSyntaxError": "insights.report._syntax",
    "RenderError": "insights.report._errors",
    "render": "insights.report.renderer",
    "report_path": "insights.report.renderer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'insights.report' has no attribute {name!r}")


__all__ = [
    "ChapterError",
    "FontError",
    "PrivacyError",
    "QuartoSyntaxError",
    "RenderError",
    "render",
    "report_path",
]
