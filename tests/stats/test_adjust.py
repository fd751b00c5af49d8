"""Multiple-testing adjustment against hand-worked values, SciPy's BH and (if present) statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from insights.stats.adjust import adjust_pvalues, comparison_pairs


def test_holm_hand_values() -> None:
    # sorted p: .005 .01 .03 .04 (m = 4): 4*.005=.02, 3*.01=.03, 2*.03=.06, 1*.04=.04 -> cummax .06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(adjust_pvalues(p, method="holm"), [0.03, 0.06, 0.06, 0.02])


def test_bh_hand_values() -> None:
    # m p / rank on sorted p: .02 .02 .04 .04 -> reverse cummin unchanged
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(adjust_pvalues(p, method="bh"), [0.02, 0.04, 0.04, 0.02])
    # textbook sequence: 0.01..0.05 with m = 5 -> all 0.05 (BH); Holm .05 .08 .09 .09 .09
    seq = [0.01, 0.02, 0.03, 0.04, 0.05]
    np.testing.assert_allclose(adjust_pvalues(seq, method="bh"), [0.05] * 5)
    np.testing.assert_allclose(adjust_pvalues(seq, method="holm"), [0.05, 0.08, 0.09, 0.09, 0.09])


def test_bh_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(11)
    p = np.round(rng.uniform(0, 0.2, 40) ** 2, 3)  # many ties and small values
    np.testing.assert_allclose(
        adjust_pvalues(p, method="bh"), false_discovery_control(p, method="bh"), rtol=1e-12
    )


def test_bonferroni_none_and_caps() -> None:
    p = [0.2, 0.6, 0.01]
    np.testing.assert_allclose(adjust_pvalues(p, method="bonferroni"), [0.6, 1.0, 0.03])
    np.testing.assert_allclose(adjust_pvalues(p, method="none"), p)
    assert np.all(adjust_pvalues(p, method="holm") <= 1.0)


def test_nan_entries_are_kept_out_of_the_family() -> None:
    out = adjust_pvalues([0.01, np.nan, 0.04], method="holm")
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.04])


def test_adjusted_never_below_raw_and_input_untouched() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(size=25)
    before = p.copy()
    for method in ("holm", "bh", "bonferroni"):
        assert np.all(adjust_pvalues(p, method=method) >= p - 1e-15)
    np.testing.assert_array_equal(p, before)


def test_against_statsmodels_if_installed() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(3).uniform(0, 0.1, 15)
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        np.testing.assert_allclose(
            adjust_pvalues(p, method=ours), multitest.multipletests(p, method=theirs)[1]
        )


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        adjust_pvalues([0.1], method="hochberg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([1.2], method="holm")


def test_comparison_pairs() -> None:
    assert comparison_pairs(["b", "a", "b", "c"]) == [("b", "a"), ("b", "c"), ("a", "c")]
    assert comparison_pairs(["a", "b", "c"], reference="c") == [("a", "c"), ("b", "c")]
    with pytest.raises(ValueError, match="reference='z'"):
        comparison_pairs(["a", "b"], reference="z")
