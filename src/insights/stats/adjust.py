"""Families of pairwise comparisons and multiple-testing adjustment of their p-values.

Holm (1979) step-down controls the family-wise error rate (the chance of at least
one false rejection) at ``alpha`` under any dependence between the tests;
Benjamini & Hochberg (1995) step-up controls the false discovery rate (the expected
share of false rejections among the rejections) for independent or positively
dependent tests. Both are written out here (as R's ``p.adjust``), since
statsmodels is not a dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Adjust", "adjust_pvalues", "comparison_pairs"]

#: Multiple-testing adjustments: Holm (FWER), Benjamini–Hochberg (FDR), Bonferroni, none.
Adjust = Literal["holm", "bh", "bonferroni", "none"]


def adjust_pvalues(p_values: ArrayLike, *, method: Adjust = "holm") -> np.ndarray:
    """Adjusted p-values for one family of tests (same order as the input).

    Parameters
    ----------
    p_values
        The raw p-values of the family. NaN entries (tests that could not be run)
        stay NaN and do not count in the family size m.
    method
        ``"holm"``: p̃_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) over the sorted
        p-values (step-down, family-wise error rate); ``"bh"``: p̃_(i) =
        min_{j >= i} min(1, m p_(j) / j) (step-up, false discovery rate);
        ``"bonferroni"``: min(1, m p); ``"none"``: unchanged. Rejecting where
        p̃ <= alpha is the corresponding procedure at level alpha.

    Returns
    -------
    numpy.ndarray
        Float array of the adjusted p-values, each >= its raw p-value and <= 1.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").round(4).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="bh").round(4).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in get_args(Adjust):
        raise ValueError(f"method must be one of {get_args(Adjust)}, got {method!r}")
    p = np.asarray(p_values, dtype=float).ravel()
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p_values must lie in [0, 1], got {p[(p < 0) | (p > 1)].tolist()}")
    out = p.copy()
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if method == "none" or m == 0:
        return out
    q = p[ok]
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, m * q)
        return out
    order = np.argsort(q, kind="stable")
    sorted_p = q[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * sorted_p))
    else:  # bh
        adj = np.minimum.accumulate(np.minimum(1.0, m * sorted_p / rank)[::-1])[::-1]
    result = np.empty(m)
    result[order] = adj
    out[ok] = result
    return out


def comparison_pairs(
    groups: Sequence[str], *, reference: str | None = None
) -> list[tuple[str, str]]:
    """The family of pairwise comparisons between ``groups``.

    Parameters
    ----------
    groups
        Group labels in display order (duplicates are dropped).
    reference
        ``None``: all k(k-1)/2 pairs ``(a, b)`` with a before b; a label: the k - 1
        comparisons ``(other, reference)`` of every other group against it.

    Examples
    --------
    >>> comparison_pairs(["a", "b", "c"])
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
    >>> comparison_pairs(["a", "b", "c"], reference="b")
    [('a', 'b'), ('c', 'b')]
    """
    labels = list(dict.fromkeys(groups))
    if reference is None:
        return list(combinations(labels, 2))
    if reference not in labels:
        raise ValueError(f"reference={reference!r} is not one of the groups {labels}")
    return [(g, reference) for g in labels if g != reference]
