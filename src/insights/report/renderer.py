"""``render``: execute the chapter notebooks with parameters and publish the report."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from insights._progress import progress as progress_bar
from insights._progress import quiet_kernels
from insights.metrics._periods import parse_period
from insights.report._builtin import render_builtin
from insights.report._chapters import default_notebooks, discover_chapters, quarto_config
from insights.report._errors import RenderError
from insights.report._execute import check_chapter
from insights.report._labels import report_title
from insights.report._params import Backend, Format, Lang, Request, check_request
from insights.report._quarto import quarto_executable, render_quarto
from insights.report._settings import dataset_config, report_settings
from insights.report._typst import check_fonts

__all__ = ["render", "report_path"]

# reports/templates of a source checkout, or the copy a wheel ships inside the package
_DEFAULT_TEMPLATES = (
    Path(__file__).resolve().parents[3] / "reports" / "templates",
    Path(__file__).resolve().parent / "templates",
    Path(__file__).resolve().parents[1] / "reports" / "templates",
)


def report_path(
    out: str | Path, quarter: str, lang: Lang, segment: str | None = None, *, fmt: str = "pdf"
) -> Path:
    """Where a report lands: ``<out>/<quarter>/insights-<quarter>-<lang>[-<segment>].<fmt>``.

    >>> report_path("reports", "2024Q4", "zh").as_posix()
    'reports/2024Q4/insights-2024Q4-zh.pdf'
    """
    suffix = "" if segment is None else "-" + re.sub(r"[^\w.]+", "-", segment).strip("-")
    return Path(out) / quarter / f"insights-{quarter}-{lang}{suffix}.{fmt}"


def render(
    data: str | Path,
    *,
    quarter: str,
    lang: Lang = "zh",
    formats: str | Sequence[Format] = ("pdf", "html"),
    out: str | Path = "reports",
    backend: Backend = "auto",
    by: str | None = None,
    min_cell: int = 10,
    chapters: Sequence[str] | None = None,
    compare_to: str = "previous",
    notebooks: str | Path | None = None,
    jobs: int = 2,
    progress: bool | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    compare_documents: bool | None = None,
    churn_gap: int | None = None,
) -> list[Path]:
    """Render the quarterly report of ``data``: one PDF and/or HTML per language and segment.

    Parameters
    ----------
    data
        Dataset directory (``users.parquet`` … as written by ``insights simulate``).
    quarter
        Quarter reported, like ``"2024Q4"``.
    lang
        ``"zh"`` or ``"en"``: the language of the narrative, captions and cover.
    formats
        ``"pdf"``, ``"html"`` or both (a sequence or ``"pdf,html"``).
    out
        Output root; files go to ``<out>/<quarter>/insights-<quarter>-<lang>[-<segment>].<fmt>``.
    backend
        ``"quarto"`` (needs the ``quarto`` executable), ``"builtin"`` (papermill,
        nbconvert, pandoc, typst), or ``"auto"``: quarto when installed, else builtin.
    by
        A users column (e.g. ``"platform"``): one report per value, each with
        ``filters={by: value}``; values with fewer than ``min_cell`` users (and users
        without a value) are skipped. Every chapter restricts the dataset to those
        users (:meth:`insights.Dataset.restrict`), so every number of a segment's report,
        the scorecard, key findings and playbooks included, is about that segment.
    min_cell
        Smallest segment the chapters may show (passed to every chapter).
    chapters
        Render only these chapters (names like ``"02-retention"`` or ``"02"``).
    compare_to
        ``"previous"``, ``"year_ago"`` or a quarter (passed to every chapter).
    notebooks
        Directory of the chapter notebooks (default: the project's ``notebooks/``,
        else the chapters shipped with the package); the book order comes from
        ``../reports/_quarto.yml`` next to it, else from the file names.
    jobs
        Chapters executed at once (one kernel each) by the built-in backend.
    progress
        Show a bar, one step per chapter executed (``True``/``False``; default ``None``:
        in a terminal or Jupyter, not in CI; see ``insights._progress``). The chapters'
        own kernels never draw one (``INSIGHTS_PROGRESS=off`` while they run).
    title, subtitle
        The cover's title and subtitle, printed as written in either language
        (default: ``report: {title:, subtitle:}`` of ``dataset.yaml``, else the
        standard title and the quarter).
    compare_documents
        Quote the industry documents' figures next to the data (default:
        ``report: {compare_documents:}`` of ``dataset.yaml``, else True); passed to
        every chapter as the parameter ``compare_documents``.
    churn_gap
        Days without activity after which a user counts as churned, passed to every
        chapter as the parameter ``churn_gap`` (default ``None``: the dataset's own).

    Returns
    -------
    list of Path
        The files written. Nothing is written unless a report rendered completely:
        work happens in a temporary directory and finished files are moved into place.

    Raises
    ------
    ValueError
        A bad parameter, found before any kernel starts.
    RenderError
        A chapter failed (``ChapterError`` names chapter, cell and error), a font is
        missing, or the report would list user ids.

    Examples
    --------
    >>> render("data/demo", quarter="2024Q4", lang="en", formats="pdf")  # doctest: +SKIP
    [PosixPath('.../reports/2024Q4/insights-2024Q4-en.pdf')]
    """
    request = check_request(
        data, quarter=quarter, lang=lang, formats=formats, out=out, backend=backend,
        by=by, min_cell=min_cell, compare_to=compare_to, title=title, subtitle=subtitle,
        compare_documents=compare_documents, churn_gap=churn_gap,
    )  # fmt: skip
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: must be a whole number >= 1; got {jobs!r}")
    folder = Path(notebooks) if notebooks is not None else default_notebooks()
    book = discover_chapters(folder, only=chapters)
    metas = {c.name: check_chapter(c) for c in book}
    use_quarto = _choose_backend(request.backend)
    templates = _templates(folder)
    if "pdf" in request.formats and not use_quarto:
        check_fonts()
    dataset = _load(request.data)
    settings = report_settings(
        dataset_config(dataset), title=request.title, subtitle=request.subtitle,
        compare_documents=request.compare_documents,
    )  # fmt: skip
    request = replace(
        request, title=settings.title, subtitle=settings.subtitle,
        compare_documents=settings.compare_documents,
    )  # fmt: skip
    if parse_period(request.quarter).start > dataset.as_of.date():
        raise ValueError(
            f"quarter: {request.quarter} starts after the data ends ({dataset.as_of.date()}); "
            "choose a quarter the data covers"
        )
    segments = _segments(dataset, request) if request.by else [None]
    known_ids = _user_ids(dataset)

    written: list[Path] = []
    total = len(segments) * len(book)
    desc = f"report {request.quarter} {request.lang}"
    with progress_bar(total=total, desc=desc, enabled=progress) as bar, quiet_kernels():
        for segment in segments:
            label = f"{request.by}={segment}: " if segment else ""

            def done(chapter: str, label: str = label) -> None:
                bar.set_postfix_str(f"{label}{chapter}", refresh=False)
                bar.update(1)

            with tempfile.TemporaryDirectory(prefix="insights-report-") as tmp:
                work = Path(tmp)
                parameters = _parameters(request, segment)
                if use_quarto:
                    files = render_quarto(
                        book, config=quarto_config(folder), templates=templates,
                        parameters=parameters, formats=request.formats,
                        title=report_title(request.lang, request.title), workdir=work,
                        lang=request.lang,
                    )  # fmt: skip
                    bar.update(len(book))
                else:
                    files = render_builtin(
                        book, metas=metas, request=request, parameters=parameters,
                        segment=segment, templates=templates, work=work, known_ids=known_ids,
                        as_of=dataset.as_of, jobs=jobs, on_done=done,
                    )  # fmt: skip
                written += _publish(files, request, segment)
    return written


def _choose_backend(backend: str) -> bool:
    """True for quarto."""
    if backend == "quarto":
        if quarto_executable() is None:
            raise ValueError(
                "backend: 'quarto' needs the quarto executable on PATH "
                "(pip install 'insights[quarto]' where there is internet); use 'builtin'"
            )
        return True
    return backend == "auto" and quarto_executable() is not None


def _templates(notebooks: Path) -> Path:
    """The project's ``reports/templates`` beside the notebooks, else the default one."""
    candidates = (notebooks.parent / "reports" / "templates", *_DEFAULT_TEMPLATES)
    for folder in candidates:
        if (folder / "insights.typ").is_file():
            return folder
    raise RenderError(f"report templates not found (looked in {[str(c) for c in candidates]})")


def _load(path: Path | str) -> Any:
    from insights.data.load import load_dataset

    return load_dataset(path, validate=False)


def _segments(dataset: Any, request: Request) -> list[str]:
    """Values of ``request.by`` with at least ``min_cell`` users, most users first."""
    import narwhals as nw

    from insights.data._backend import collect

    users = dataset.table("users")
    columns = users.collect_schema().names()
    by = str(request.by)
    if by not in columns:
        raise ValueError(f"by: {by!r} is not a users column; choose one of {columns}")
    # a report is about the users equal to its value (filters={by: value}): no value, no report
    values = users.filter(~nw.col(by).is_null()).select(nw.col(by).cast(nw.String).alias("segment"))
    counts = collect(values.group_by("segment").agg(nw.len().alias("n")))
    counts = counts.sort(["n", "segment"], descending=[True, False])
    kept = counts.filter(pl.col("n") >= request.min_cell)["segment"].to_list()
    if not kept:
        raise ValueError(
            f"by: no value of {request.by!r} has at least min_cell={request.min_cell} users"
        )
    return [str(v) for v in kept]


def _user_ids(dataset: Any) -> pl.Series:
    from insights.data._backend import collect

    name = "users" if dataset.has("users") else "orders"  # users derived from orders
    return collect(dataset.raw(name).select("user_id").unique())["user_id"]


def _parameters(request: Request, segment: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "data": str(request.data),
        "quarter": request.quarter,
        "compare_to": request.compare_to,
        "lang": request.lang,
        "min_cell": request.min_cell,
        "compare_documents": request.compare_documents is not False,
        "churn_gap": request.churn_gap,
    }
    if segment is not None and request.by is not None:
        params["filters"] = {request.by: segment}
    return params


def _publish(files: dict[str, Path], request: Request, segment: str | None) -> list[Path]:
    """Move finished files into ``<out>/<quarter>/``: copy beside the target, then rename."""
    staged: list[tuple[Path, Path]] = []
    try:
        for fmt, source in files.items():
            target = report_path(request.out, request.quarter, request.lang, segment, fmt=fmt)
            if source.is_dir():  # quarto's HTML book is a folder
                target = target.with_name(f"{target.stem}-html")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            if source.is_dir():
                shutil.copytree(source, partial, dirs_exist_ok=True)
            else:
                shutil.copy2(source, partial)
            staged.append((partial, target))
        for partial, target in staged:
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(partial, target)
    except BaseException:
        for partial, _ in staged:
            if partial.is_dir():
                shutil.rmtree(partial, ignore_errors=True)
            else:
                partial.unlink(missing_ok=True)
        raise
    return [target for _, target in staged]
