"""The user documentation stays in step with the code it describes.

``docs/data-contract.md`` names every table and column of the contract (and whether it is
required, and every allowed label); ``docs/dataset-yaml.md`` documents every key
``dataset.yaml`` accepts, and its examples are accepted; the CDNOW walk-through, its script
and the README use one ``dataset.yaml``, and the script runs on a slice of the file.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from insights.data._config import CONFIG_KEYS, FILE_KEYS, check_config
from insights.data.contract import CONTRACT
from insights.data.derive import _DERIVE_KEYS, derive_options, refunds_option
from insights.report._settings import ReportSettings, report_settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    stop = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start + len(heading) + 1)
    return text[start : stop.start() if stop else len(text)]


def _rows(section: str) -> dict[str, str]:
    """Table rows keyed by their first cell's code name (``| `name` | ...``)."""
    return {m[1]: m[0] for m in re.finditer(r"^\| `([^`]+)` \|.*$", section, re.M)}


def _check(config: dict) -> None:
    """Every check ``dataset.yaml`` goes through before any table is read."""
    check_config(config, Path("dataset.yaml"))
    derive_options(config.get("derive"))
    refunds_option(config.get("refunds"))
    report_settings(config)


# --- docs/data-contract.md ---------------------------------------------------------------

CONTRACT_DOC = (DOCS / "data-contract.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", list(CONTRACT))
def test_contract_doc_lists_every_column(table: str) -> None:
    spec = CONTRACT[table]
    rows = _rows(_section(CONTRACT_DOC, f"### `{table}`"))
    assert [c.name for c in spec.columns if c.name not in rows] == []
    assert set(rows) - set(spec.names) == set(), "columns documented but not in the contract"
    for col in spec.columns:
        cells = [c.strip() for c in rows[col.name].strip("|").split("|")]
        assert cells[1] == col.kind, (table, col.name)
        assert cells[2] == ("yes" if col.required else "no"), (table, col.name)
        missing = sorted(label for label in col.labels or () if f"`{label}`" not in cells[3])
        assert missing == [], (table, col.name)


def test_contract_doc_lists_every_rule() -> None:
    validate = importlib.import_module("insights.data.validate")
    documented = set(
        re.findall(r"^([a-z_]+) +(?:error|warning|info)", validate.__doc__ or "", re.M)
    )
    assert documented, "the rule table of insights.data.validate moved"
    rows = _rows(_section(CONTRACT_DOC, "## Rules"))
    assert sorted(documented - set(rows)) == []


# --- docs/dataset-yaml.md ----------------------------------------------------------------

YAML_DOC = (DOCS / "dataset-yaml.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", CONFIG_KEYS)
def test_dataset_yaml_doc_has_every_key(key: str) -> None:
    section = _section(YAML_DOC, f"## `{key}`")
    assert "```yaml" in section, f"{key}: no example"


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("files", FILE_KEYS),
        ("derive", _DERIVE_KEYS),
        ("report", tuple(f.name for f in dataclasses.fields(ReportSettings))),
    ],
)
def test_dataset_yaml_doc_has_every_nested_key(key: str, allowed: tuple[str, ...]) -> None:
    rows = _rows(_section(YAML_DOC, f"## `{key}`"))
    assert sorted(set(allowed) - set(rows)) == []
    assert sorted(set(rows) - set(allowed)) == [], "keys documented but not accepted"


def test_dataset_yaml_doc_has_no_other_top_level_key() -> None:
    documented = re.findall(r"^## `([^`]+)`", YAML_DOC, re.M)
    assert sorted(documented) == sorted(CONFIG_KEYS)


def test_dataset_yaml_doc_examples_are_accepted() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", YAML_DOC, re.S)
    assert len(blocks) > len(CONFIG_KEYS)
    for block in blocks:
        _check(yaml.safe_load(block))
    complete = yaml.safe_load(blocks[0])
    assert sorted(complete) == sorted(CONFIG_KEYS), "the complete example names every key"


# --- the CDNOW walk-through ----------------------------------------------------------------

SCRIPT = DOCS / "examples" / "cdnow.sh"


def _script_yaml() -> str:
    text = SCRIPT.read_text(encoding="utf-8")
    return text.split("<<'YAML'\n", 1)[1].split("\nYAML\n", 1)[0] + "\n"


def test_walkthrough_and_script_use_one_dataset_yaml() -> None:
    walkthrough = (DOCS / "byod-cdnow.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", walkthrough, re.S)
    assert block == _script_yaml()
    _check(yaml.safe_load(block))
    for command in re.findall(r"^insights .*$", walkthrough, re.M):
        verb = command.split()[1]
        assert f"insights {verb} " in SCRIPT.read_text(encoding="utf-8"), command


def test_readme_walks_through_the_cdnow_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = _section(readme, "## Bring your own data")
    for link in ("docs/data-contract.md", "docs/dataset-yaml.md", "docs/byod-cdnow.md"):
        assert f"({link})" in section
        assert (ROOT / link).is_file()
    config = yaml.safe_load(section.split("<<'YAML'\n", 1)[1].split("\nYAML\n", 1)[0])
    _check(config)
    assert {k: config[k] for k in ("timezone", "currency", "files")} == {
        k: yaml.safe_load(_script_yaml())[k] for k in ("timezone", "currency", "files")
    }
    assert "insights validate cdnow" in section
    assert "insights report cdnow --quarter 1998Q2" in section


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("lifetimes") is None, reason="needs lifetimes")
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_cdnow_script_runs_on_a_slice(tmp_path: Path) -> None:
    """The walk-through's commands, on the first 3,000 purchases: validate, then two chapters."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHON": sys.executable,
        "ROWS": "3000",
        "OUT": str(tmp_path / "reports"),
        "LANGS": "en",
        "FORMATS": "html",
        "CHAPTERS": "00,03",
        "INSIGHTS_PROGRESS": "off",
    }
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "cdnow")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "OK" in proc.stdout
    html = (tmp_path / "reports" / "1998Q2" / "insights-1998Q2-en.html").read_text(encoding="utf-8")
    assert "CDNOW: Growth and Retention of CD Buyers" in html
    assert "Traceback" not in html
    assert "¥" not in html and "yuan" not in html.lower()
