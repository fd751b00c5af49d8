"""insights.viz: figures drawn from tidy frames (never aggregates).

Every ``plot_*`` function takes its ``data`` (a frame, or a result object holding
frames) first, keyword-only options, an optional ``ax``, ``lang`` ("en"/"zh") and
``min_cell`` (segments and cells with fewer users are never drawn or printed), and
returns the Axes it drew on. ``lang`` and ``min_cell`` default to the presentation
options: ``with ins.options(lang="zh", min_cell=20): ins.plot_survival(curves)``
draws in Chinese with groups under 20 users hidden; a keyword on the call still wins.
Every word on a figure comes from the text catalogs in ``lang``: data values
(``gen_x`` -> "Gen X", also each part of ``"douyin · gen_x"``), metric ids
(``retention_d30`` -> "D30 retention") and column names; a value the catalog does not
know is printed as it is. Percent axes print as many decimals as the tick step needs.
With ``ax=`` a plot draws on it and returns that same Axes (``plot_survival(col=...)``
splits it into panels and returns the first).
This package is the only one that imports seaborn (the cohort heatmap,
:mod:`insights.viz.retention_matrix`, loads it when it draws).
"""

from insights.viz._fonts import MissingFontError, cjk_font
from insights.viz._matrix_html import RetentionMatrixHTML, retention_matrix_html
from insights.viz._palette import group_palette
from insights.viz.dose_response import plot_dose_response
from insights.viz.effects import plot_effects
from insights.viz.funnel import plot_funnel
from insights.viz.ltv import plot_ltv
from insights.viz.pareto import plot_pareto
from insights.viz.retention_matrix import plot_retention_matrix
from insights.viz.segment_rates import plot_segment_rates
from insights.viz.survival import plot_survival
from insights.viz.transitions import plot_transitions

__all__ = [
    "MissingFontError",
    "RetentionMatrixHTML",
    "cjk_font",
    "group_palette",
    "plot_dose_response",
    "plot_effects",
    "plot_funnel",
    "plot_ltv",
    "plot_pareto",
    "plot_retention_matrix",
    "plot_segment_rates",
    "plot_survival",
    "plot_transitions",
    "retention_matrix_html",
]
