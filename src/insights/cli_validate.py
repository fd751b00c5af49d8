"""``insights validate DIR``: check a dataset directory against the data contract.

Exit codes: 0 clean (warnings allowed), 1 a rule is broken, 2 the input cannot be read
at all (no such directory, no users table, not Parquet/CSV, undecodable CSV, bad
``dataset.yaml``). The lead wires :func:`validate_command` into the typer app.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from insights.data._read import DataReadError
from insights.data.validate import format_report, log_to_records, validate

__all__ = ["validate_command"]


def validate_command(path: Path, json_out: bool, debug: bool, allow_unknown_labels: bool) -> int:
    """Print the validation report for ``path`` and return the exit code.

    With ``json_out`` the findings are printed as a JSON list of records
    (``table, column, rule, rows, examples, severity, message``); an unreadable input
    gives one record with rule ``unreadable``. Tracebacks only with ``debug``.
    """
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
