"""``render``: execute the chapter notebooks with parameters and publish the report."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

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
from insights.report._privacy import check_published
from insights.report._publish import PublishError, check_targets, publish, workspace
from insights.report._quarto import quarto_executable, render_quarto
from insights.report._settings import build_time, dataset_config, report_settings
from insights.report._typst import check_fonts

__all__ = ["render", "report_path", "segment_slug"]

_SLUG_MAX = 64

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

    A segment value is used as is when it is a plain name (letters, digits, ``_ . -``,
    at most 64 characters, not starting with a dot); otherwise its slug is followed by a
    short hash of the value, so distinct values never share a file name and the name
    stays short.

    >>> report_path("reports", "2024Q4", "zh").as_posix()
    'reports/2024Q4/insights-2024Q4-zh.pdf'
    >>> report_path("reports", "2024Q4", "en", "douyin").name
    'insights-2024Q4-en-douyin.pdf'
    >>> report_path("r", "2024Q4", "en", "a b").name, report_path("r", "2024Q4", "en", "a/b").name
    ('insights-2024Q4-en-a-b-c8687a08.pdf', 'insights-2024Q4-en-a-b-c14cddc0.pdf')
    """
    suffix = "" if segment is None else "-" + segment_slug(segment)
    return Path(out) / quarter / f"insights-{quarter}-{lang}{suffix}.{fmt}"


def segment_slug(segment: str, *, hashed: bool = False) -> str:
    """The file-name part of a segment value (see :func:`report_path`).

    >>> segment_slug("douyin"), segment_slug("Douyin", hashed=True)
    ('douyin', 'Douyin-5da5bac9')
    >>> len(segment_slug("x" * 300))
    73
    """
    slug = re.sub(r"[^\w.-]+", "-", segment).strip("-.")
    # at most _SLUG_MAX characters and 2 * _SLUG_MAX bytes (CJK takes 3 bytes a character)
    cut = slug[:_SLUG_MAX].encode("utf-8", "surrogatepass")[: 2 * _SLUG_MAX]
    slug = cut.decode("utf-8", "ignore").strip("-.")
    if hashed or slug != segment or not slug:
        digest = hashlib.sha256(segment.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else digest
    return slug


def render(
    data: str | Path,
    *,
    quarter: str,
    lang: Lang | str | Sequence[Lang] = "zh",
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
        ``"zh"`` or ``"en"``: the language of the narrative, captions and cover; several
        (``"zh,en"`` or ``["zh", "en"]``) render one report per language.
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
        The files written. All or nothing: every report (each language and segment)
        is rendered in a private temporary directory first, and only when all of them
        succeeded are they moved into place (a unique hidden name, then an atomic rename,
        so concurrent renders into one ``out`` each leave complete files). On any failure
        nothing new is left in ``out``; files already there are untouched. Temporary
        directories of renders that were killed are removed by the next render.

        Dates are reproducible: the cover and HTML date is the dataset's ``as_of``, the
        PDF's creation date is ``SOURCE_DATE_EPOCH`` when set, else ``as_of``: the same
        data and parameters give byte-identical files.

    Raises
    ------
    ValueError
        A bad parameter, found before any kernel starts.
    RenderError
        A chapter failed (``ChapterError`` names chapter, cell and error), a font is
        missing, the report would list user ids, or ``out`` cannot be written
        (``PublishError``: a file in the way, not writable, disk full, name too long).

    Examples
    --------
    >>> render("data/demo", quarter="2024Q4", lang="en", formats="pdf")  # doctest: +SKIP
    [PosixPath('.../reports/2024Q4/insights-2024Q4-en.pdf')]
    """
    langs = _langs(lang)
    request = check_request(
        data, quarter=quarter, lang=langs[0], formats=formats, out=out, backend=backend,
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
    stamp = build_time(dataset.as_of)  # a malformed SOURCE_DATE_EPOCH fails here
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
    segments: list[str | None] = list(_segments(dataset, request)) if request.by else [None]
    known_ids = _user_ids(dataset)
    runs = [(replace(request, lang=one), segment) for one in langs for segment in segments]
    targets = _targets(runs)
    check_targets([t for run in targets for t in run.values()])

    try:
        return _render_all(
            runs, targets, book=book, metas=metas, use_quarto=use_quarto, folder=folder,
            templates=templates, known_ids=known_ids, as_of=dataset.as_of, stamp=stamp,
            jobs=jobs, progress=progress,
        )  # fmt: skip
    except PublishError:
        raise
    except OSError as exc:  # e.g. the temporary folder is full or not writable
        where = f" ({exc.filename})" if exc.filename else ""
        raise RenderError(f"cannot write temporary files{where}: {exc.strerror or exc}") from None


def _render_all(
    runs: list[tuple[Request, str | None]],
    targets: list[dict[str, Path]],
    *,
    book: list[Any],
    metas: dict[str, dict[str, Any]],
    use_quarto: bool,
    folder: Path,
    templates: Path,
    known_ids: pl.Series,
    as_of: Any,
    stamp: int,
    jobs: int,
    progress: bool | None,
) -> list[Path]:
    """Render every run in one private work folder, then publish all files at once."""
    staged: list[tuple[Path, Path]] = []
    total = len(runs) * len(book)
    first = runs[0][0]
    desc = f"report {first.quarter} {','.join(dict.fromkeys(r.lang for r, _ in runs))}"
    with (
        workspace() as root,
        progress_bar(total=total, desc=desc, enabled=progress) as bar,
        quiet_kernels(),
    ):
        for index, ((one, segment), paths) in enumerate(zip(runs, targets, strict=True)):
            label = f"{one.lang} {one.by}={segment}: " if segment else f"{one.lang}: "

            def done(chapter: str, label: str = label) -> None:
                bar.set_postfix_str(f"{label}{chapter}", refresh=False)
                bar.update(1)

            work = root / f"report-{index}"
            work.mkdir()
            parameters = _parameters(one, segment)
            if use_quarto:
                files = render_quarto(
                    book, config=quarto_config(folder), templates=templates,
                    parameters=parameters, formats=one.formats,
                    title=report_title(one.lang, one.title), workdir=work, lang=one.lang,
                )  # fmt: skip
                bar.update(len(book))
            else:
                files = render_builtin(
                    book, metas=metas, request=one, parameters=parameters,
                    segment=segment, templates=templates, work=work, known_ids=known_ids,
                    as_of=as_of, jobs=jobs, on_done=done, timestamp=stamp,
                )  # fmt: skip
            # ids, small-group values and local paths: in names, metadata, cover, text
            check_published(
                files, names=[p.name for p in paths.values()], known_ids=known_ids, data=one.data
            )
            for fmt, source in files.items():
                target = paths[fmt]
                if source.is_dir():  # quarto's HTML book is a folder
                    target = target.with_name(f"{target.stem}-html")
                staged.append((source, target))
        # every report rendered: publish them all at once (nothing is written otherwise)
        return publish(staged)


def _langs(lang: str | Sequence[str]) -> list[Lang]:
    """``"zh"``, ``"zh,en"`` or ``["zh", "en"]`` as a list without repeats."""
    names = lang.split(",") if isinstance(lang, str) else list(lang)
    cleaned = [str(n).strip().lower() for n in names]
    found = list(dict.fromkeys(n for n in cleaned if n))
    bad = [n for n in found if n not in get_args(Lang)]
    if bad or not found:
        shown = bad[0] if len(bad) == 1 else lang
        raise ValueError(f"lang: {shown!r} is not supported; choose one of {list(get_args(Lang))}")
    return found  # type: ignore[return-value]


def _targets(runs: list[tuple[Request, str | None]]) -> list[dict[str, Path]]:
    """The files of each run; segments whose names would clash on a case-insensitive
    file system (``Douyin``/``douyin``) get a hash of their value."""
    folded: dict[str, set[str]] = {}
    for _, segment in runs:
        if segment is not None:
            folded.setdefault(segment_slug(segment).casefold(), set()).add(segment)
    clash = {s for values in folded.values() if len(values) > 1 for s in values}
    out: list[dict[str, Path]] = []
    for one, segment in runs:
        paths: dict[str, Path] = {}
        for fmt in one.formats:
            path = report_path(one.out, one.quarter, one.lang, None, fmt=fmt)
            if segment is not None:
                slug = segment_slug(segment, hashed=segment in clash)
                path = path.with_name(f"{path.stem}-{slug}.{fmt}")
            paths[fmt] = path
        out.append(paths)
    names = [p.as_posix().casefold() for paths in out for p in paths.values()]
    if len(set(names)) != len(names):  # a value crafted to equal another's slug and hash
        raise ValueError(f"by: two values of {runs[0][0].by!r} map to one file name")
    return out


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
    """Values of ``request.by`` with at least ``min_cell`` users, most users first.

    A column that identifies individuals (an id column, nearly unique values) is refused
    with a ``ValueError`` naming the column and none of its values
    (:func:`insights.tables._suppress.check_by_column`); smaller values are skipped, so
    they never reach a cover or a file name.
    """
    from insights.tables._suppress import by_values

    # a report is about the users equal to its value (filters={by: value}): no value, no report
    counts = by_values(dataset.table("users"), str(request.by), min_cell=request.min_cell)
    kept = counts["segment"].to_list()
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
