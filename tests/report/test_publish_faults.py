"""Faults while publishing a report: nothing half-written, no debris, one clear line.

Issue 16, point 4: each render works in its own temporary folder (cleaned on exit, on
errors, on SIGTERM; a killed render's folder is cleaned by the next run), publishes with
a unique hidden name and ``os.replace``, all reports of a run or none, distinct segment
values never share a file name, and disk full / read-only / file-typed / too-long outputs
exit 1 with one line and leave nothing behind.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from insights.cli import app
from insights.report import RenderError, render
from insights.report import _publish as publish_module
from insights.report._publish import PublishError, clean_stale, publish, workspace
from insights.report.renderer import report_path

NOTEBOOKS = Path(__file__).parent / "notebooks"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data4k(tmp_path_factory) -> Path:
    """The 4,000-user simulation with a ``team`` column of awkward values."""
    import insights as ins

    out = tmp_path_factory.mktemp("sim") / "d4k"
    ins.simulate(out, users=4_000, seed=7)
    users = pl.read_parquet(out / "users.parquet")
    values = ["a b", "a/b", "x" * 300]
    users = users.with_columns(
        pl.Series("team", [values[i % 3] for i in range(users.height)], dtype=pl.String)
    )
    users.write_parquet(out / "users.parquet")
    return out


def _everything(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, hidden ones included."""
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _cli(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, args)
    return res.exit_code, res.stdout, res.stderr


# -- file names ---------------------------------------------------------------------------


def test_distinct_segment_values_never_share_a_file_name(tmp_path):
    values = ["a b", "a/b", "a-b", "a_b", "a\\b", "A b", "../x", ".", "", "x" * 300, "\u62d6" * 200]
    paths = [report_path(tmp_path, "2024Q4", "en", v) for v in values]
    names = [p.name for p in paths]
    assert len(set(names)) == len(values)
    for p in paths:
        assert p.parent == tmp_path / "2024Q4"  # never outside <out>/<quarter>/
        assert len(p.name.encode()) <= 200 and "/" not in p.name
    # a plain value keeps its plain, readable name
    assert report_path(tmp_path, "2024Q4", "en", "douyin").name == "insights-2024Q4-en-douyin.pdf"


# -- publish ------------------------------------------------------------------------------


def test_publish_disk_full_leaves_nothing_and_keeps_old_files(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.pdf", "b.pdf"):
        (src / name).write_bytes(b"%PDF new " + name.encode())
    out = tmp_path / "out" / "2024Q4"
    out.mkdir(parents=True)
    (out / "a.pdf").write_bytes(b"old a")
    calls = {"n": 0}
    real = publish_module.shutil.copyfileobj

    def full(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the first copy succeeded, the second finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(publish_module.shutil, "copyfileobj", full)
    new_dir = tmp_path / "out" / "2025Q1"
    with pytest.raises(PublishError, match="no space left") as info:
        publish([(src / "a.pdf", out / "a.pdf"), (src / "b.pdf", new_dir / "b.pdf")])
    assert "\n" not in str(info.value)
    assert _everything(tmp_path / "out") == ["2024Q4", "2024Q4/a.pdf"]  # no .partial, no 2025Q1
    assert (out / "a.pdf").read_bytes() == b"old a"


def test_a_failed_rename_puts_every_published_file_back(tmp_path, monkeypatch):
    """The renames are one transaction: the third fails, the first two are undone."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.pdf", "b.html", "c.pdf"):
        (src / name).write_bytes(b"new " + name.encode())
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.pdf").write_bytes(b"old a")  # b.html and c.pdf are new
    real = os.replace
    renames = {"n": 0}

    def third_fails(a, b):
        if Path(b).name == "c.pdf":
            renames["n"] += 1
            raise OSError(errno.EIO, "Input/output error")
        return real(a, b)

    monkeypatch.setattr(publish_module.os, "replace", third_fails)
    with pytest.raises(PublishError, match="c.pdf"):
        publish([(src / n, out / n) for n in ("a.pdf", "b.html", "c.pdf")])
    assert renames["n"] == 1
    assert _everything(out) == ["a.pdf"]  # b.html removed again, no hidden file left
    assert (out / "a.pdf").read_bytes() == b"old a"
    monkeypatch.setattr(publish_module.os, "replace", real)
    published = publish([(src / n, out / n) for n in ("a.pdf", "b.html", "c.pdf")])
    assert [p.name for p in published] == ["a.pdf", "b.html", "c.pdf"]
    assert _everything(out) == ["a.pdf", "b.html", "c.pdf"]  # the kept old a.pdf is gone
    assert (out / "a.pdf").read_bytes() == b"new a.pdf"


_WRITER = """
import sys
from pathlib import Path
from insights.report._publish import publish
src, target, byte, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
src.write_bytes(byte.encode() * (16 << 20))
for _ in range(rounds):
    publish([(src, target)])
"""


def test_two_processes_publishing_one_target_leave_a_complete_file(tmp_path):
    """Two writers of 16 MiB files race on one target: the file left is one of them, whole."""
    target = tmp_path / "out" / "2024Q4" / "report.pdf"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path / f"{b}.bin"), str(target), b, "4"]
        )
        for b in "ab"
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    data = target.read_bytes()
    assert len(data) == 16 << 20 and data.count(data[:1]) == len(data)  # not mixed
    assert _everything(target.parent) == ["report.pdf"]  # no .partial left


def test_stale_partials_of_dead_processes_are_removed_on_publish(tmp_path):
    out = tmp_path / "2024Q4"
    out.mkdir()
    dead = out / ".insights-999999999-abc.partial"  # no such process
    dead.write_bytes(b"half")
    src = tmp_path / "r.pdf"
    src.write_bytes(b"%PDF")
    publish([(src, out / "r.pdf")])
    assert _everything(out) == ["r.pdf"]


# -- work folders -------------------------------------------------------------------------


def test_stale_work_folders_are_cleaned_and_live_ones_kept(tmp_path):
    def folder(name: str, pid: int | None, age: float) -> Path:
        path = tmp_path / f".insights-render-{name}"
        path.mkdir()
        (path / "kernel-01.json").write_text("{}")
        if pid is not None:
            (path / "owner.pid").write_text(str(pid))
        os.utime(path, (time.time() - age,) * 2)
        return path

    dead = folder("dead", 999_999_999, 10)
    live = folder("live", os.getppid(), 10)  # the process that runs pytest
    orphan_old = folder("old", None, 7200)
    orphan_new = folder("new", None, 10)
    other = tmp_path / "something-else"
    other.mkdir()
    removed = clean_stale(tmp_path)
    assert sorted(p.name for p in removed) == [dead.name, orphan_old.name]
    assert live.exists() and orphan_new.exists() and other.exists()


def test_work_folder_is_removed_on_error_and_on_sigterm(tmp_path):
    with pytest.raises(ZeroDivisionError), workspace(tmp_path) as work:
        (work / "x").write_text("x")
        1 / 0  # noqa: B018
    assert _everything(tmp_path) == []
    code = (
        "import sys, time\n"
        "from insights.report._publish import workspace\n"
        "with workspace(sys.argv[1]) as work:\n"
        "    print(work, flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    work = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
    assert work.is_dir()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    proc.stdout.close()  # type: ignore[union-attr]
    assert not work.exists()


# -- the command line ---------------------------------------------------------------------


def _report_args(data: Path, out: Path, *extra: str, lang: str = "en") -> list[str]:
    return ["report", str(data), "--quarter", "2024Q4", "--lang", lang, "--format", "html",
            "--out", str(out), "--notebooks", str(NOTEBOOKS), "--backend", "builtin",
            "--no-progress", *extra]  # fmt: skip


def _one_clear_line(code: int, stderr: str, *words: str) -> None:
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "nothing was written" in lines[0]
    for word in words:
        assert word in lines[0], (word, stderr)


def test_out_that_is_a_file_exits_1_before_rendering(data4k, tmp_path):
    out = tmp_path / "reports"
    out.write_text("not a folder")
    code, _, stderr = _cli(_report_args(data4k, out))
    _one_clear_line(code, stderr, "not a directory")
    assert out.read_text() == "not a folder"


def test_read_only_out_exits_1_and_leaves_nothing(data4k, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: what a read-only folder answers
        real = os.access

        def access(path, mode, **kwargs):
            if Path(path) == out and mode & os.W_OK:
                return False
            return real(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    out.chmod(0o555)
    try:
        code, _, stderr = _cli(_report_args(data4k, out))
    finally:
        out.chmod(0o755)
    _one_clear_line(code, stderr, "not writable")
    assert _everything(out) == []


def test_too_long_out_name_exits_1(data4k, tmp_path):
    code, _, stderr = _cli(_report_args(data4k, tmp_path / ("o" * 300)))
    _one_clear_line(code, stderr, "longer than")
    assert _everything(tmp_path) == []


def test_disk_full_while_publishing_exits_1_and_leaves_nothing(data4k, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish_module.shutil, "copyfileobj", full)
    out = tmp_path / "reports"
    code, _, stderr = _cli(_report_args(data4k, out))
    _one_clear_line(code, stderr, "no space left")
    assert _everything(out) == []


def test_segments_get_distinct_names_and_the_run_lists_them(data4k, tmp_path):
    out = tmp_path / "reports"
    files = render(data4k, quarter="2024Q4", lang="en", formats="html", out=out,
                   notebooks=NOTEBOOKS, by="team", chapters=["01"], progress=False)  # fmt: skip
    assert len(files) == 3 and len({f.name for f in files}) == 3
    assert sorted(_everything(out)) == sorted(["2024Q4", *(f"2024Q4/{f.name}" for f in files)])
    assert all(len(f.name.encode()) < 200 for f in files)


def test_multi_report_run_is_all_or_nothing(data4k, tmp_path, monkeypatch):
    """The second report (en) fails: the first (zh) is not published, old files stay."""
    import insights.report.renderer as renderer

    out = tmp_path / "reports"
    (out / "2024Q4").mkdir(parents=True)
    old = out / "2024Q4" / "insights-2024Q4-zh.html"
    old.write_text("last quarter's run")
    real = renderer.render_builtin
    calls: list[str] = []

    def second_fails(*args, **kwargs):
        calls.append(kwargs["request"].lang)
        if len(calls) == 2:
            raise RenderError("chapter 01-growth, cell 2 failed: boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(renderer, "render_builtin", second_fails)
    args = _report_args(data4k, out, "--chapters", "01", lang="zh,en")
    code, stdout, stderr = _cli(args)
    assert calls == ["zh", "en"]
    _one_clear_line(code, stderr, "boom")
    assert _everything(out) == ["2024Q4", "2024Q4/insights-2024Q4-zh.html"]
    assert old.read_text() == "last quarter's run" and "wrote" not in stdout
    monkeypatch.setattr(renderer, "render_builtin", real)
    code, stdout, _ = _cli(args)
    assert code == 0
    wrote = [line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith("wrote ")]
    assert [Path(w).name for w in wrote] == ["insights-2024Q4-zh.html", "insights-2024Q4-en.html"]
    assert "last quarter" not in old.read_text()


# -- killed and concurrent renders (real processes) ---------------------------------------


def _insights(data: Path, out: Path, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp), "INSIGHTS_PROGRESS": "off"}
    args = ["report", str(data), "--quarter", "2024Q4", "--lang", "en", "--out", str(out),
            "--notebooks", str(NOTEBOOKS), "--backend", "builtin", "--no-progress", *extra]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "insights.cli", *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find kernels")
def test_sigkill_mid_render_then_clean_rerun_leaves_no_debris(data4k, tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "reports"
    tmp.mkdir()
    proc = _insights(data4k, out, tmp)
    deadline = time.time() + 120
    while not list(tmp.glob(".insights-render-*/*/kernel-*.json")):  # a kernel is running
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes its pipes
    assert list(tmp.glob(".insights-render-*"))  # the debris a killed run leaves
    deadline = time.time() + 30  # its kernels notice their parent is gone and exit
    while _processes_mentioning(str(tmp)) and time.time() < deadline:
        time.sleep(0.5)
    rerun = _insights(data4k, out, tmp)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert _everything(tmp) == []  # no work folder, no kernel connection file
    assert _everything(out) == sorted(
        ["2024Q4", "2024Q4/insights-2024Q4-en.html", "2024Q4/insights-2024Q4-en.pdf"]
    )
    assert _processes_mentioning(str(tmp)) == []


@pytest.mark.slow
def test_two_concurrent_renders_into_one_out_both_succeed(data4k, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "reports"
    procs = [_insights(data4k, out, tmp_path, "--chapters", "01") for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    folder = out / "2024Q4"
    assert _everything(folder) == ["insights-2024Q4-en.html", "insights-2024Q4-en.pdf"]
    assert len(PdfReader(folder / "insights-2024Q4-en.pdf").pages) >= 2
    page = (folder / "insights-2024Q4-en.html").read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>")
    assert not list(tmp_path.glob(".insights-render-*"))
