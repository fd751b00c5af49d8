"""The data-quality log: what loading found and left out, counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["QualityLog", "QualityEntry"]


@dataclass(frozen=True)
class QualityEntry:
    """One finding: a broken rule (``severity="error"``), a warning, or a count of rows left out."""

    table: str
    column: str | None
    rule: str
    rows: int
    examples: tuple[str, ...] = ()
    severity: str = "error"  # error | warning | info
    message: str = ""


@dataclass
class QualityLog:
    """Findings in the order they were made; ``to_frame()`` for reports."""

    entries: list[QualityEntry] = field(default_factory=list)

    def add(self, entry: QualityEntry) -> None:
        self.entries.append(entry)

    @property
    def errors(self) -> list[QualityEntry]:
        return [e for e in self.entries if e.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per finding (table, column, rule, rows, examples, severity, message)."""
        return [
            {
                "table": e.table,
                "column": e.column,
                "rule": e.rule,
                "rows": e.rows,
                "examples": list(e.examples),
                "severity": e.severity,
                "message": e.message,
            }
            for e in self.entries
        ]

    def report(self, *, title: str = "Data check", table_order: Sequence[str] = ()) -> str:
        """A plain-text report: a verdict line, then findings grouped by table, errors first."""
        errors = len(self.errors)
        warnings = sum(e.severity == "warning" for e in self.entries)
        notes = sum(e.severity == "info" for e in self.entries)
        verdict = f"FAILED: {errors} rule{'s' if errors != 1 else ''} broken" if errors else "OK"
        lines = [f"{title}: {verdict} ({warnings} warnings, {notes} notes)"]
        rank = {"error": 0, "warning": 1, "info": 2}
        seen = {e.table for e in self.entries}
        for table in [*table_order, *sorted(seen - set(table_order))]:
            entries = [e for e in self.entries if e.table == table]
            entries.sort(key=lambda e: rank.get(e.severity, 3))
            if entries:
                lines += ["", table]
            for e in entries:
                examples = f" (e.g. {', '.join(e.examples)})" if e.examples else ""
                lines.append(
                    f"  {e.severity:<7} {e.column or '-':<14} {e.rule:<18} {e.rows:>8} rows  {e.message}{examples}"
                )
        if not self.entries:
            lines.append("No findings: every table follows the data contract.")
        return "\n".join(lines)

    def to_frame(self) -> pl.DataFrame:
        """One row per finding: table, column, rule, rows, examples, severity, message."""
        return pl.DataFrame(
            {
                "table": [e.table for e in self.entries],
                "column": [e.column for e in self.entries],
                "rule": [e.rule for e in self.entries],
                "rows": [e.rows for e in self.entries],
                "examples": [list(e.examples) for e in self.entries],
                "severity": [e.severity for e in self.entries],
                "message": [e.message for e in self.entries],
            },
            schema={
                "table": pl.String,
                "column": pl.String,
                "rule": pl.String,
                "rows": pl.Int64,
                "examples": pl.List(pl.String),
                "severity": pl.String,
                "message": pl.String,
            },
        )
