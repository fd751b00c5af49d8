"""The built-in backend: papermill -> nbconvert -> pandoc -> typst (PDF) and pandoc (HTML)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import polars as pl

from insights.report._chapters import Chapter
from insights.report._execute import execute_chapter
from insights.report._labels import (
    cover_details,
    report_subtitle,
    report_title,
    short_title,
    toc_title,
)
from insights.report._markdown import chapter_markdown
from insights.report._pandoc import markdown_to_html, markdown_to_typst
from insights.report._params import Request
from insights.report._privacy import check_privacy
from insights.report._settings import build_time
from insights.report._typst import check_glyphs, compile_pdf, typst_string

__all__ = ["render_builtin"]

APPENDIX_MARK = "::: {.insights-appendix}\n:::"


def render_builtin(
    book: list[Chapter],
    *,
    metas: dict[str, dict[str, Any]],
    request: Request,
    parameters: dict[str, Any],
    segment: str | None,
    templates: Path,
    work: Path,
    known_ids: pl.Series,
    as_of: dt.datetime,
    jobs: int,
    on_done: Callable[[str], None],
    timestamp: int | None = None,
) -> dict[str, Path]:
    """Render one report into ``work``; ``{"pdf": path, "html": path}`` of the finished files.

    Chapters run in up to ``jobs`` kernels at once; the first failing chapter in book
    order raises (chapters not yet started are cancelled). The cover and HTML date is
    ``as_of``'s day; ``timestamp`` (UNIX seconds, default: ``as_of``) is the PDF's
    creation date. Nothing depends on the wall clock.
    """
    executed = _execute_all(book, parameters, work=work, jobs=jobs, on_done=on_done)
    parts: list[str] = []
    for chapter, nb in zip(book, executed, strict=True):
        if chapter.appendix and APPENDIX_MARK not in parts:
            parts.append(APPENDIX_MARK)
        meta = metas[chapter.name]
        skip = (
            frozenset() if parameters.get("compare_documents", True) else frozenset({"documents"})
        )
        parts.append(
            chapter_markdown(
                nb, chapter, meta=meta, lang=request.lang, workdir=work, skip_tags=skip
            )
        )
    markdown = "\n\n".join(parts) + "\n"
    (work / "report.md").write_text(markdown, encoding="utf-8")
    check_privacy(markdown, known_ids=known_ids)

    seg = (request.by, segment) if segment is not None and request.by else None
    title = report_title(request.lang, request.title)
    subtitle = report_subtitle(request.quarter, request.lang, seg, subtitle=request.subtitle)
    date = as_of.date().isoformat()  # the data's day, not today: reproducible files
    stamp = timestamp if timestamp is not None else build_time(as_of)
    files: dict[str, Path] = {}
    if "pdf" in request.formats:
        check_glyphs(markdown)
        body = markdown_to_typst(markdown, lang=request.lang, templates=templates)
        shutil.copy2(templates / "insights.typ", work / "insights.typ")
        details = cover_details(
            lang=request.lang, data=request.data.name if isinstance(request.data, Path) else request.data, compare_to=request.compare_to,
            min_cell=request.min_cell, as_of=as_of.date().isoformat(), segment=seg,
        )  # fmt: skip
        preamble = _preamble(request, title=title, subtitle=subtitle, date=date, details=details)
        (work / "main.typ").write_text(preamble + body, encoding="utf-8")
        files["pdf"] = work / "report.pdf"
        compile_pdf(work / "main.typ", files["pdf"], root=work, timestamp=stamp)
    if "html" in request.formats:
        files["html"] = work / "report.html"
        markdown_to_html(
            markdown, lang=request.lang, templates=templates, resource_dir=work,
            output=files["html"], title=title, subtitle=subtitle, date=date,
            toc_title=toc_title(request.lang),
        )  # fmt: skip
    return files


def _execute_all(
    book: list[Chapter],
    parameters: dict[str, Any],
    *,
    work: Path,
    jobs: int,
    on_done: Callable[[str], None],
) -> list[nbformat.NotebookNode]:
    def run(chapter: Chapter) -> nbformat.NotebookNode:
        start = time.perf_counter()
        nb = execute_chapter(chapter, parameters, workdir=work)
        _record_time(chapter.name, time.perf_counter() - start, nb)
        on_done(chapter.name)
        return nb

    def run_in_thread(chapter: Chapter) -> nbformat.NotebookNode:
        try:
            return run(chapter)
        finally:
            _close_thread_loop()

    if jobs <= 1 or len(book) == 1:
        return [run(chapter) for chapter in book]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="chapter") as pool:
        futures: list[Future[nbformat.NotebookNode]] = [pool.submit(run_in_thread, c) for c in book]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _record_time(chapter: str, seconds: float, nb: nbformat.NotebookNode) -> None:
    """Append ``{"chapter", "seconds", "cells"}`` as one JSON line to the file named by
    ``INSIGHTS_TIMINGS``, when set: how the benchmarks see where a report's time goes.

    ``seconds`` is the wall time of the chapter's kernel (chapters run two at a time, so
    their times overlap); ``cells`` the five slowest cells (papermill's per-cell duration,
    with the cell's first line).
    """
    path = os.environ.get("INSIGHTS_TIMINGS")
    if not path:
        return
    cells: list[dict[str, Any]] = []
    for cell in nb.cells:
        took = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell.cell_type == "code" and isinstance(took, int | float):
            first = next((ln for ln in cell.source.splitlines() if not ln.startswith("#")), "")
            cells.append({"seconds": round(float(took), 2), "cell": first[:60]})
    cells.sort(key=lambda c: -c["seconds"])
    entry = {"chapter": chapter, "seconds": round(seconds, 2), "cells": cells[:5]}
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as fh:  # one short write per line: no interleaving
        fh.write(line)


def _close_thread_loop() -> None:
    """Close the event loop the kernel client opened in this worker thread."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


def _preamble(
    request: Request, *, title: str, subtitle: str, date: str, details: list[tuple[str, str]]
) -> str:
    """The head of ``main.typ``: import the template and apply it with the cover values."""
    rows = ", ".join(f"({typst_string(k)}, {typst_string(v)})" for k, v in details)
    return (
        '#import "insights.typ": *\n'
        "#show: insights-report.with(\n"
        f"  title: {typst_string(title)},\n"
        f"  subtitle: {typst_string(subtitle)},\n"
        f"  short-title: {typst_string(short_title(request.lang, request.title))},\n"
        f"  quarter: {typst_string(request.quarter)},\n"
        f"  lang: {typst_string(request.lang)},\n"
        f"  date: {typst_string(date)},\n"
        f"  details: ({rows},),\n"
        ")\n\n"
    )
