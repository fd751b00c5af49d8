"""Plots are drawn with the Agg backend and every figure is closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import yaml

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


CATALOGS = Path(__file__).resolve().parents[2] / "src" / "insights" / "narrative"


@pytest.fixture(scope="session")
def catalog_text() -> Callable[[str, str], str]:
    """``catalog_text(lang, "value.gen_x")``: a catalog entry read straight from the YAML."""
    trees = {
        lang: yaml.safe_load((CATALOGS / f"catalog_{lang}.yaml").read_text(encoding="utf-8"))
        for lang in ("en", "zh")
    }

    def lookup(lang: str, key: str) -> str:
        node = trees[lang]
        for part in key.split("."):
            node = node[part]
        assert isinstance(node, str), key
        return node

    return lookup
