"""compare_proportions against scipy's chi2_contingency and statsmodels' proportions_ztest."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import chi2_contingency
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from insights.stats.proportions import compare_proportions, newcombe_diff_interval

TABLE = pl.DataFrame(
    {
        "segment": ["gen_z", "millennial", "gen_x", "silver"],
        "successes": [220, 130, 50, 40],
        "n": [630, 430, 180, 150],
    }
)


def test_chi_square_matches_scipy() -> None:
    out = compare_proportions(TABLE)
    x, n = TABLE["successes"].to_numpy(), TABLE["n"].to_numpy()
    ref = chi2_contingency(np.column_stack([x, n - x]), correction=False)
    row = out.filter(pl.col("test") == "chi_square").row(0, named=True)
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row["df"] == ref.dof == 3
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("adjust,sm_method", [("holm", "holm"), ("bh", "fdr_bh")])
def test_pairs_match_statsmodels_ztest_and_adjustment(adjust: str, sm_method: str) -> None:
    out = compare_proportions(TABLE, adjust=adjust).filter(pl.col("test") == "two_proportion")  # type: ignore[arg-type]
    assert out.height == 6
    counts = {r["segment"]: (r["successes"], r["n"]) for r in TABLE.iter_rows(named=True)}
    raw = []
    for r in out.iter_rows(named=True):
        (xa, na), (xb, nb) = counts[r["segment_a"]], counts[r["segment_b"]]
        z, p = proportions_ztest([xa, xb], [na, nb])
        raw.append(p)
        assert r["statistic"] == pytest.approx(z, rel=1e-10)
        assert r["p_value"] == pytest.approx(p, rel=1e-9)
        assert r["difference"] == pytest.approx(xa / na - xb / nb)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(newcombe_diff_interval(xa, na, xb, nb))
    expected = multipletests(raw, method=sm_method)[1]
    assert out["p_adjusted"].to_numpy() == pytest.approx(expected, rel=1e-10)


def test_reference_and_edge_rows() -> None:
    out = compare_proportions(TABLE, reference="gen_z", adjust="none")
    pairs = out.filter(pl.col("test") == "two_proportion")
    assert pairs.height == 3 and set(pairs["segment_b"]) == {"gen_z"}
    assert pairs["p_adjusted"].to_list() == pairs["p_value"].to_list()
    # a 2 x 2 table: z^2 equals the chi-square
    both = compare_proportions(TABLE.head(2))
    assert both["statistic"][1] ** 2 == pytest.approx(both["statistic"][0])
    # nobody succeeded anywhere: no test, nulls instead of NaN
    none = compare_proportions(TABLE.with_columns(pl.lit(0).alias("successes")))
    assert none["p_value"].null_count() == none.height
    before = TABLE.clone()
    compare_proportions(TABLE)
    assert TABLE.equals(before)
    with pytest.raises(ValueError, match="duplicates"):
        compare_proportions(pl.concat([TABLE, TABLE]))
    with pytest.raises(ValueError, match="successes"):
        compare_proportions(TABLE.with_columns(pl.col("n").alias("successes") + 1))
    with pytest.raises(ValueError, match="not in the frame"):
        compare_proportions(TABLE, by="generation")
