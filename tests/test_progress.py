"""The one progress helper: when a bar is shown, where it goes, and that it changes nothing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from insights._progress import progress, progress_enabled, quiet_kernels

REPORT_NOTEBOOKS = Path(__file__).parent / "report" / "notebooks"


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("INSIGHTS_PROGRESS", raising=False)


def test_explicit_choice_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert progress_enabled(True) is True
    monkeypatch.delenv("CI")
    assert progress_enabled(False) is False


def test_auto_follows_the_terminal(no_ci: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal, not Jupyter
    assert progress_enabled(None) is False
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert progress_enabled(None) is True


@pytest.mark.parametrize(
    ("name", "value"),
    [("CI", "true"), ("CI", "1"), ("INSIGHTS_PROGRESS", "off"), ("INSIGHTS_PROGRESS", "0")],
)
def test_auto_is_silent_in_ci_and_when_switched_off(
    no_ci: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv(name, value)
    assert progress_enabled(None) is False
    assert list(progress(range(4), desc="work")) == [0, 1, 2, 3]
    assert terminal.getvalue() == ""


def test_a_shown_bar_writes_its_total_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with progress(["a", "b", "c"], desc="work", enabled=True) as bar:
        items = list(bar)
    captured = capsys.readouterr()
    assert items == ["a", "b", "c"]
    assert captured.out == ""
    assert "work" in captured.err and "3/3" in captured.err


def test_a_manual_bar_counts_updates(capsys: pytest.CaptureFixture[str]) -> None:
    with progress(total=5, desc="manual", enabled=True) as bar:
        for _ in range(5):
            bar.update(1)
    assert "5/5" in capsys.readouterr().err


def test_a_silent_bar_writes_nothing_and_accepts_every_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress(total=5, desc="manual", enabled=False) as bar:
        bar.set_postfix_str("x", refresh=False)
        bar.update(1)
    assert list(progress(range(3), enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_quiet_kernels_switches_off_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHTS_PROGRESS", raising=False)
    with quiet_kernels():
        assert os.environ["INSIGHTS_PROGRESS"] == "off"
    assert "INSIGHTS_PROGRESS" not in os.environ
    monkeypatch.setenv("INSIGHTS_PROGRESS", "on")
    with quiet_kernels():
        assert os.environ["INSIGHTS_PROGRESS"] == "off"
    assert os.environ["INSIGHTS_PROGRESS"] == "on"


def _fake_builtin(seen: list[str | None]):
    """Stand-in for the built-in backend: no kernel; each chapter 'done', one HTML file."""

    def render_builtin(book, *, on_done, work, **_: object):
        for chapter in book:
            seen.append(os.environ.get("INSIGHTS_PROGRESS"))  # what a kernel would inherit
            on_done(chapter.name)
        page = work / "report.html"
        page.write_text("<html></html>", encoding="utf-8")
        return {"html": page}

    return render_builtin


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    import polars as pl

    folder = tmp_path / "data"
    folder.mkdir()
    pl.DataFrame({"user_id": [1, 2], "first_seen_at": ["2024-01-01", "2024-12-01"]}).write_csv(
        folder / "users.csv"
    )
    return folder


def test_report_bar_counts_chapters_and_kernels_stay_quiet(
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import insights.report.renderer as renderer

    seen: list[str | None] = []
    monkeypatch.setattr(renderer, "render_builtin", _fake_builtin(seen))
    monkeypatch.delenv("INSIGHTS_PROGRESS", raising=False)
    options = dict(
        quarter="2024Q4", lang="en", formats="html", backend="builtin", out=tmp_path / "out",
        notebooks=REPORT_NOTEBOOKS,
    )  # fmt: skip
    shown = renderer.render(tiny_data, progress=True, **options)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    # the three test chapters, counted by hand: 01-growth, 02-orders, 99-appendix
    assert "report 2024Q4 en" in err and "3/3" in err
    assert seen == ["off", "off", "off"]
    assert "INSIGHTS_PROGRESS" not in os.environ
    silent = renderer.render(tiny_data, progress=False, **options)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""
    assert shown == silent
