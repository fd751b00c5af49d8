"""insights.viz: figures drawn from tidy frames (never aggregates).

Every ``plot_*`` function takes a frame (or a result object holding frames) first,
keyword-only options, an optional ``ax``, ``lang`` ("en"/"zh") and ``min_cell``
(groups and cells with fewer users are never drawn or printed), and returns the
Axes it drew on.
"""

from insights.viz._fonts import MissingFontError, cjk_font
from insights.viz._matrix_html import RetentionMatrixHTML, retention_matrix_html
from insights.viz._palette import group_palette
from insights.viz.retention_matrix import plot_retention_matrix
from insights.viz.segment_rates import plot_segment_rates
from insights.viz.survival import plot_survival

__all__ = [
    "MissingFontError",
    "RetentionMatrixHTML",
    "cjk_font",
    "group_palette",
    "plot_retention_matrix",
    "plot_segment_rates",
    "plot_survival",
    "retention_matrix_html",
]
