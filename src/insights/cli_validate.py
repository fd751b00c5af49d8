"""``insights validate DIR``: check a dataset directory against the data contract.

Exit codes: 0 clean (warnings allowed), 1 a rule is broken, 2 the input cannot be read
at all (no such directory, no users table, not Parquet/CSV, undecodable CSV, bad
``dataset.yaml``). The lead wires :func:`validate_command` into the typer app.

It also holds the door every command goes through (:class:`DoorGroup`): option errors
exit 2 with one line listing the valid choices, data that break the contract are refused
with the validate message in at most three lines (:func:`data_refusal`), ``kpis`` and
``report`` options are checked against the data before any work (:func:`check_options`),
and no traceback reaches the user without ``--debug``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import traceback
import types
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import typer
from typer.core import TyperGroup

_typer_click: types.ModuleType
try:  # typer >= 0.20 ships its own copy of click; older typer uses click itself
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover
    _typer_click = click.exceptions
_HELP = (click.exceptions.NoArgsIsHelpError, _typer_click.NoArgsIsHelpError)
_USAGE = (click.UsageError, _typer_click.UsageError)
_CLICK = (click.ClickException, _typer_click.ClickException)
_ABORT = (click.Abort, typer.Abort)

if TYPE_CHECKING:  # the data layer is imported when a command runs, not by `insights --help`
    from insights.data.quality import QualityLog

__all__ = [
    "DoorGroup",
    "OptionError",
    "check_choices",
    "check_options",
    "data_refusal",
    "refuse",
    "validate_command",
]


def validate_command(path: Path, json_out: bool, debug: bool, allow_unknown_labels: bool) -> int:
    """Print the validation report for ``path`` and return the exit code.

    With ``json_out`` the findings are printed as a JSON list of records
    (``table, column, rule, rows, examples, severity, message``); an unreadable input
    gives one record with rule ``unreadable``. Tracebacks only with ``debug``.
    """
    from insights.data._read import DataReadError
    from insights.data.validate import format_report, log_to_records, validate

    try:
        log = validate(Path(path), allow_unknown_labels=allow_unknown_labels)
    except DataReadError as exc:
        return _fail(str(exc), json_out, debug, "unreadable")
    except Exception as exc:  # an unexpected failure still gets one readable paragraph
        message = f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
        return _fail(f"could not validate {path}: {message}", json_out, debug, "internal_error")
    if json_out:
        print(json.dumps(log_to_records(log), ensure_ascii=False, indent=2))
    else:
        print(format_report(log, title=f"Data check of {path}"))
    return 0 if log.ok else 1


def _fail(message: str, json_out: bool, debug: bool, rule: str) -> int:
    if debug:
        traceback.print_exc()
    if json_out:
        record: dict[str, object] = {
            "table": None,
            "column": None,
            "rule": rule,
            "rows": 0,
            "examples": [],
            "severity": "error",
            "message": message,
        }
        print(json.dumps([record], ensure_ascii=False, indent=2))
    else:
        print(f"Cannot read the dataset: {message}", file=sys.stderr)
    return 2


# --- the door of every command: option errors, data refusals, no tracebacks ----------------

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_LANGS = ("zh", "en")
_FORMATS = ("pdf", "html")
_BACKENDS = ("auto", "quarto", "builtin")
_MAX_LINE = 400


class OptionError(ValueError):
    """A command-line option the data cannot take; the message is one line naming it."""


class DoorGroup(TyperGroup):
    """The ``insights`` command group, with one short line for every refusal.

    * An option error (unknown option, bad value, a missing argument) exits 2 with one
      line: the command, click's message (which lists the valid choices) and where help is.
    * An unexpected exception exits 1 with one line naming its type; the traceback is
      printed only with ``--debug`` (as before, each command prints its own with it).
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        name = "insights"
        try:
            code = super().main(argv, prog_name or name, complete_var, False, **extra)
        except _HELP as exc:  # `insights` alone: the help is printed (on stdout) already
            if exc.format_message().strip():
                print(exc.format_message(), file=sys.stderr)
            sys.exit(2)
        except _USAGE as exc:
            where = exc.ctx.command_path if exc.ctx is not None else name
            _say(f"{where}: {exc.format_message()} (see {where} --help)")
            sys.exit(2)
        except _ABORT:
            _say(f"{name}: aborted")
            sys.exit(1)
        except _CLICK as exc:
            _say(f"{name}: {exc.format_message()}")
            sys.exit(exc.exit_code)
        except Exception as exc:  # the last door: one line, the traceback only on request
            if "--debug" in argv:
                traceback.print_exc()
            _say(
                f"{name}: unexpected {type(exc).__name__}: {exc}"
                + ("" if "--debug" in argv else " (run with --debug for the traceback)")
            )
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _say(line: str) -> None:
    """One line on stderr, plain (no markup: the text may come from data), capped."""
    line = " ".join(str(line).split())
    print(line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "...", file=sys.stderr)


def refuse(message: str, *, debug: bool = False) -> NoReturn:
    """Print ``message`` (one to three lines) on stderr and exit 2."""
    if debug:
        traceback.print_exc()
    for line in str(message).splitlines()[:3]:
        _say(line)
    raise typer.Exit(2)


def data_refusal(log: QualityLog, path: Path | str) -> str:
    """The validate message of broken data, in at most three lines (``refuse`` prints it).

    Examples
    --------
    >>> from insights.data.quality import QualityEntry, QualityLog
    >>> log = QualityLog([QualityEntry("orders", "amount", "nonfinite", 2, ("o1",), "error",
    ...                                "2 rows have amount NaN or infinite")])
    >>> print(data_refusal(log, "shop"))
    shop: orders.amount breaks rule nonfinite (2 rows): 2 rows have amount NaN or infinite (e.g. o1)
    run insights validate shop for the full report
    """
    errors = log.errors
    lines = []
    if errors:
        e = errors[0]
        column = f"{e.table}.{e.column}" if e.column else e.table
        examples = f" (e.g. {', '.join(e.examples[:3])})" if e.examples else ""
        lines.append(
            f"{path}: {column} breaks rule {e.rule} ({e.rows} rows): {e.message}{examples}"
        )
    if len(errors) > 1:
        more = sorted({f"{e.table}.{e.column or '-'} {e.rule}" for e in errors[1:]})
        shown = ", ".join(more[:4]) + (", ..." if len(more) > 4 else "")
        lines.append(f"and {len(errors) - 1} more broken rule(s): {shown}")
    lines.append(f"run insights validate {path} for the full report")
    return "\n".join(lines)


def check_choices(option: str, given: str, choices: Sequence[str]) -> tuple[str, ...]:
    """The comma-separated values of ``option``, each one of ``choices``, else :class:`OptionError`.

    Examples
    --------
    >>> check_choices("--lang", "zh,en", ("zh", "en"))
    ('zh', 'en')
    >>> check_choices("--lang", "fr", ("zh", "en"))
    Traceback (most recent call last):
    ...
    insights.cli_validate.OptionError: --lang: 'fr' is not one of zh, en (several: zh,en)
    """
    from insights.data._config import shorten

    values = tuple(dict.fromkeys(v.strip().lower() for v in str(given).split(",") if v.strip()))
    bad = [v for v in values if v not in choices] or ([] if values else [given])
    if bad:
        raise OptionError(
            f"{option}: {shorten(bad[0], 40)} is not one of {', '.join(choices)}"
            f" (several: {','.join(choices)})"
        )
    return values


def check_options(
    dataset: Any,
    *,
    quarter: str | None,
    compare_to: str,
    by: str | None,
    lang: str | None = None,
    formats: str | None = None,
    backend: str | None = None,
) -> tuple[str, str, list[str]]:
    """Check the options of ``kpis`` / ``report`` against the loaded data, before any work.

    Returns the quarter (default: the one holding ``as_of``), the comparison
    (``previous``, ``year_ago`` or a quarter label), both normalised, and notes to print
    (users without a ``--by`` value). Raises :class:`OptionError` with one line naming
    the option, what was given and what is valid.

    Examples
    --------
    >>> import insights as ins, polars as pl, datetime as dt
    >>> users = pl.DataFrame({"user_id": [1, 2], "platform": ["douyin", None],
    ...                       "first_seen_at": [dt.datetime(2024, 1, 5), dt.datetime(2024, 5, 1)]})
    >>> check_options(ins.frames_dataset(users=users), quarter=None, compare_to="2024q1",
    ...               by="platform")
    ('2024Q2', '2024Q1', ['users.platform: 1 users have no value and are in no segment'])
    >>> check_options(ins.frames_dataset(users=users), quarter="2023Q4", compare_to="previous",
    ...               by=None)
    Traceback (most recent call last):
    ...
    insights.cli_validate.OptionError: --quarter: 2023Q4 is outside the data (the data run from 2024-01-05 to 2024-05-01); choose a quarter in it
    """
    from insights.data._config import shorten
    from insights.metrics._periods import parse_period, quarter_of

    if lang is not None:
        check_choices("--lang", lang, _LANGS)
    if formats is not None:
        check_choices("--format", formats, _FORMATS)
    if backend is not None and backend not in _BACKENDS:
        raise OptionError(f"--backend: {shorten(backend, 40)} is not one of {', '.join(_BACKENDS)}")
    first, last = _data_span(dataset)
    span = f"the data run from {first} to {last}" if first else f"the data end on {last}"
    if quarter is None:
        quarter = quarter_of(last).label
    label = str(quarter).strip().upper()
    if not _QUARTER.match(label):
        raise OptionError(
            f"--quarter: {shorten(quarter, 40)} is not a quarter; write it like 2024Q4"
        )
    period = parse_period(label)
    if period.start > last or (first is not None and period.end < first):
        raise OptionError(
            f"--quarter: {label} is outside the data ({span}); choose a quarter in it"
        )
    compare = str(compare_to).strip()
    if compare not in ("previous", "year_ago"):
        if not _QUARTER.match(compare.upper()):
            raise OptionError(
                f"--compare-to: {shorten(compare_to, 40)} is not previous, year_ago or a quarter "
                "such as 2023Q4"
            )
        compare = compare.upper()
        other = parse_period(compare)
        if other.start > last or (first is not None and other.end < first):
            raise OptionError(f"--compare-to: {compare} is outside the data ({span})")
    notes = [] if by is None else _check_by(dataset, by)
    if lang is not None:  # a report: its value chapters need orders that count
        refunded = [e for e in dataset.quality.entries if e.rule == "all_refunded"]
        if refunded:
            raise OptionError(
                f"orders.refunded: all {refunded[0].rows:,} orders are refunded, so the value "
                "chapters would have no orders; report on data with kept orders"
            )
    return label, compare, notes


def _data_span(dataset: Any) -> tuple[dt.date | None, dt.date]:
    """First day of the users table (None when unknown) and the day of ``as_of``."""
    import narwhals as nw

    from insights.data._backend import collect

    last = dataset.as_of.date()
    if not dataset.has("users"):
        return None, last
    users = dataset.table("users")
    if "first_seen_at" not in users.collect_schema().names():
        return None, last
    first = collect(users.select(nw.col("first_seen_at").min())).item()
    return (first.date() if isinstance(first, dt.datetime) else first), last


def _check_by(dataset: Any, by: str) -> list[str]:
    """``--by`` must name a text column of users; users without a value are noted."""
    import narwhals as nw

    from insights.data._backend import collect
    from insights.data._config import closest, shorten
    from insights.data.contract import CONTRACT
    from insights.tables._suppress import IDENTIFYING_NAME

    schema = dataset.table("users").collect_schema()
    ids = {c.name for c in CONTRACT["users"].columns if c.kind in ("id", "datetime", "date")}
    # the choices offered never include a column of ids: it would be refused anyway
    text = [
        n
        for n, t in schema.items()
        if n not in ids
        and not IDENTIFYING_NAME.match(n)
        and (t == nw.String or t == nw.Categorical or t == nw.Enum)
    ]
    shown = ", ".join(text[:12]) + (", ..." if len(text) > 12 else "")
    if by in schema and (by in ids or IDENTIFYING_NAME.match(by)):
        raise OptionError(
            f"--by: users.{by} identifies individuals (an id column); "
            f"split by a grouping column such as {shown or 'platform or channel'}"
        )
    if by not in schema:
        hint = closest(by, text)
        raise OptionError(
            f"--by: {shorten(by, 40)} is not a users column{hint}; choose one of {shown}"
        )
    if by not in text:
        raise OptionError(
            f"--by: users.{by} is {schema[by]}, not a text or category column; choose one of {shown}"
        )
    users = dataset.table("users")
    missing = int(collect(users.select(nw.col(by).is_null().cast(nw.Int64).sum())).item() or 0)
    if missing:
        return [f"users.{by}: {missing:,} users have no value and are in no segment"]
    return []
