"""Checking a dataset against the data contract, and reporting what was found.

Every check runs in the data engine (narwhals, lazy): only counts and at most five
example keys per finding come back, never whole rows. Rule names:

==================  ========  ==============================================================
rule                severity  meaning
==================  ========  ==============================================================
missing_table       error     users absent (warning for orders, info for optional tables);
                              the loader derives users from orders, so only a Dataset
                              built without ``load_dataset`` can lack them
missing_column      error     a required column is absent
type                error     values that cannot be cast to the contract type
duplicate_key       error     user_id (users) or order_id (orders) not unique
null                error     null/empty value in a required column
negative            error     amount or watch_seconds below 0
nonfinite           error     NaN or infinite value in a float column (orders.amount,
                              views.watch_seconds, spend.amount): it would print as ``nan``
unknown_user        error     user_id not in users (orders, views, interactions, community, experiments)
before_first_seen   error     event more than 1 calendar day before the user's first_seen_at
unknown_label       error     category label outside the contract's set (warning when allowed)
community_action    error     community.action other than join / leave
empty_table         error     a table with no rows
after_as_of         info      rows after as_of, left out of analyses (counted by the loader)
derived             info      what the loader built: users from orders, order ids, line
                              items summed, refunds netted/flagged, acquisitions before
                              ``export_start`` (``insights.data.derive``)
==================  ========  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import narwhals as nw

from insights._progress import progress as progress_bar
from insights.data._backend import backend_name, collect, epoch_day
from insights.data.contract import CONTRACT, SKEW_DAYS, ColumnSpec, TableSpec, kind_matches
from insights.data.dataset import Dataset
from insights.data.quality import QualityEntry, QualityLog

__all__ = [
    "validate",
    "check_dataset",
    "label_findings",
    "format_report",
    "log_to_records",
    "kind_matches",
]

_ROW = "__row"
_MAX_EXAMPLES = 5


def validate(
    dataset: Dataset | str | Path,
    *,
    allow_unknown_labels: bool = False,
    progress: bool | None = None,
) -> QualityLog:
    """Check a dataset (or a dataset directory) against every rule of the contract.

    Parameters
    ----------
    dataset
        A :class:`Dataset`, or a directory that :func:`load_dataset` can read.
    allow_unknown_labels
        Report unknown category labels as warnings (the loader maps them to ``other``)
        instead of errors.
    progress
        Show a bar, one step per contract table (``True``/``False``; default ``None``:
        in a terminal or Jupyter, not in CI; see ``insights._progress``).

    Returns
    -------
    QualityLog
        The loader's findings (cast failures, rows after ``as_of``, ...) followed by
        one entry per broken rule. ``log.ok`` is False when any rule is broken.

    Raises
    ------
    DataReadError
        When a directory cannot be read at all.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": ["a", "a"], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> [(e.rule, e.rows, e.examples) for e in validate(ins.frames_dataset(users=users)).errors]
    [('duplicate_key', 2, ('a',))]
    """
    if isinstance(dataset, (str, Path)):
        from insights.data.load import load_dataset

        dataset = load_dataset(dataset, validate=False, allow_unknown_labels=allow_unknown_labels)
    allow = allow_unknown_labels or bool(dataset.meta.get("allow_unknown_labels", False))
    n_loaded = int(dataset.meta.get("load_findings", 0))
    log = QualityLog(list(dataset.quality.entries[:n_loaded]))
    for entry in check_dataset(dataset, allow_unknown_labels=allow, progress=progress):
        log.add(entry)
    return log


def check_dataset(
    dataset: Dataset, *, allow_unknown_labels: bool = False, progress: bool | None = None
) -> list[QualityEntry]:
    """The contract checks alone (no loader findings), table by table in contract order.

    ``progress`` shows a bar with one step per contract table (``insights._progress``).
    """
    entries: list[QualityEntry] = []
    users = _users_lookup(dataset)
    with progress_bar(total=len(CONTRACT), desc="validate", enabled=progress) as bar:
        for name, spec in CONTRACT.items():
            bar.set_postfix_str(name, refresh=False)
            if dataset.has(name):
                entries.extend(_check_table(dataset.raw(name), spec, users, allow_unknown_labels))
            else:
                entries.append(_absent(spec))
            bar.update(1)
    return entries


def label_findings(
    frame: nw.LazyFrame[Any],
    spec: TableSpec,
    *,
    allow_unknown_labels: bool,
    severity: str | None = None,
) -> list[QualityEntry]:
    """Unknown category labels per column of ``frame`` (one aggregate query, then examples).

    ``community.action`` is always an error (rule ``community_action``); other columns give
    ``unknown_label`` errors, or warnings when ``allow_unknown_labels`` (then ``other`` is
    accepted for every label set, as the loader maps unknown labels to it).
    """
    schema = frame.collect_schema()
    conds: dict[str, nw.Expr] = {}
    for col in spec.columns:
        if (
            col.labels is None
            or col.name not in schema
            or not kind_matches(schema[col.name], col.kind)
        ):
            continue
        action = spec.name == "community" and col.name == "action"
        allowed = set(col.labels) | ({"other"} if allow_unknown_labels and not action else set())
        conds[col.name] = ~nw.col(col.name).is_null() & ~nw.col(col.name).cast(nw.String).is_in(
            sorted(allowed)
        )
    if not conds:
        return []
    base = _with_row(frame)
    counts = _counts(base, conds)
    out = []
    for column, rows in counts.items():
        if not rows:
            continue
        action = spec.name == "community" and column == "action"
        values = collect(
            base.filter(conds[column])
            .select(nw.col(column).cast(nw.String))
            .unique()
            .sort(column)
            .head(5)
        )
        labels = ", ".join(repr(v) for v in values[column].to_list())
        expected = ", ".join(sorted(spec.column(column).labels or ()))
        if action:
            rule, sev, tail = "community_action", "error", "action must be join or leave"
        elif allow_unknown_labels:
            rule, sev, tail = (
                "unknown_label",
                severity or "warning",
                "mapped to 'other' (allow_unknown_labels)",
            )
        else:
            rule, sev, tail = (
                "unknown_label",
                severity or "error",
                (
                    "fix them, or allow unknown labels (--allow-unknown-labels, or allow_unknown_labels: true "
                    "in dataset.yaml) to map them to 'other'"
                ),
            )
        message = f"{rows} rows with labels outside the contract ({labels}); expected one of: {expected}; {tail}"
        out.append(
            _entry(
                spec, column, rule, rows, message, _examples(base, conds[column], spec, column), sev
            )
        )
    return out


def _absent(spec: TableSpec) -> QualityEntry:
    if spec.required:
        message = f"table '{spec.name}' is required; add {spec.name}.parquet or {spec.name}.csv"
        return _entry(spec, None, "missing_table", 0, message)
    severity = "warning" if spec.name == "orders" else "info"
    message = f"no {spec.name} table: {spec.purpose} will be skipped"
    return _entry(spec, None, "missing_table", 0, message, severity=severity)


def _entry(
    spec: TableSpec,
    column: str | None,
    rule: str,
    rows: int,
    message: str,
    examples: tuple[str, ...] = (),
    severity: str = "error",
) -> QualityEntry:
    return QualityEntry(spec.name, column, rule, rows, examples, severity, message)


def _users_lookup(dataset: Dataset) -> nw.LazyFrame[Any] | None:
    if not dataset.has("users"):
        return None
    users = dataset.raw("users")
    schema = users.collect_schema()
    spec = CONTRACT["users"]
    if not all(
        c in schema and kind_matches(schema[c], spec.column(c).kind)
        for c in ("user_id", "first_seen_at")
    ):
        return None
    return (
        users.filter(~nw.col("user_id").is_null())
        .group_by("user_id")
        .agg(epoch_day(nw.col("first_seen_at").min(), like=users).alias("__first_day"))
        .with_columns(nw.lit(1).alias("__known"))
    )


def _check_table(
    frame: nw.LazyFrame[Any], spec: TableSpec, users: nw.LazyFrame[Any] | None, allow: bool
) -> list[QualityEntry]:
    schema = frame.collect_schema()
    present = [c for c in spec.columns if c.name in schema]
    wrong = [c for c in present if not kind_matches(schema[c.name], c.kind)]
    usable = {c.name: c for c in present if c not in wrong}
    base = _with_row(frame)
    conds: dict[str, nw.Expr | None] = {"__n": None}
    for c in wrong:
        conds[f"type:{c.name}"] = ~nw.col(c.name).is_null()
    for c in usable.values():
        if c.required and not c.nullable:
            conds[f"null:{c.name}"] = nw.col(c.name).is_null()
        finite = None
        if c.kind == "float" and schema[c.name].is_float():
            finite = nw.col(c.name).is_finite()
            conds[f"nonfinite:{c.name}"] = ~finite & ~nw.col(c.name).is_null()
        if c.non_negative:
            below = nw.col(c.name) < 0
            conds[f"negative:{c.name}"] = below if finite is None else below & finite
    counts = _counts(base, conds)
    n = counts.pop("__n")
    hint = "rename it or map it in dataset.yaml"
    out = [
        _entry(
            spec,
            c.name,
            "missing_column",
            n,
            f"required column '{c.name}' ({c.kind}) is missing from all {n} rows; {hint}",
        )
        for c in spec.required_columns
        if c.name not in schema
    ]
    if n == 0:
        message = f"table '{spec.name}' has 0 rows; remove the file if the table is not available"
        return [*out, _entry(spec, None, "empty_table", 0, message)]
    for key, rows in counts.items():
        if not rows:
            continue
        rule, column = key.split(":")
        col = spec.column(column)
        cond = conds[key]
        assert cond is not None
        message = _message(rule, col, rows, schema[column])
        out.append(_entry(spec, column, rule, rows, message, _examples(base, cond, spec, column)))
    if spec.key and spec.key in usable:
        out.extend(_duplicates(frame, spec))
    out.extend(label_findings(frame, spec, allow_unknown_labels=allow))
    if spec.user_ref and users is not None and "user_id" in usable:
        out.extend(_user_checks(base, spec, users, usable))
    return out


def _message(rule: str, col: ColumnSpec, rows: int, dtype: Any) -> str:
    if rule == "null":
        return f"{rows} rows have no {col.name} (null, empty or not parseable); it is required"
    if rule == "negative":
        return f"{rows} rows have {col.name} < 0; it must be >= 0"
    if rule == "nonfinite":
        return (
            f"{rows} rows have {col.name} NaN or infinite; it must be a finite number "
            "(leave it empty when unknown)"
        )
    return f"{rows} values of type {dtype} cannot be used as {col.kind}; load_dataset casts it, or cast it before"


def _duplicates(frame: nw.LazyFrame[Any], spec: TableSpec) -> list[QualityEntry]:
    key = str(spec.key)
    dup = (
        frame.filter(~nw.col(key).is_null())
        .group_by(key)
        .agg(nw.len().alias("__k"))
        .filter(nw.col("__k") > 1)
    )
    stats = collect(dup.select(nw.col("__k").sum().alias("rows"), nw.len().alias("values")))
    rows = int(stats["rows"][0] or 0)
    if not rows:
        return []
    keys = collect(dup.select(key).sort(key).head(_MAX_EXAMPLES))[key].to_list()
    message = (
        f"{rows} rows share {stats['values'][0]} duplicated {key} value(s); {key} must be unique"
    )
    return [_entry(spec, key, "duplicate_key", rows, message, tuple(str(k) for k in keys))]


def _user_checks(
    base: nw.LazyFrame[Any],
    spec: TableSpec,
    users: nw.LazyFrame[Any],
    usable: dict[str, ColumnSpec],
) -> list[QualityEntry]:
    left_type = base.collect_schema()["user_id"]
    right_type = users.collect_schema()["user_id"]
    if left_type != right_type:  # e.g. ids read as text from CSV but as integers from Parquet
        base = base.with_columns(nw.col("user_id").cast(nw.String))
        users = users.with_columns(nw.col("user_id").cast(nw.String))
    joined = base.join(users, on="user_id", how="left")
    conds = {"unknown_user": ~nw.col("user_id").is_null() & nw.col("__known").is_null()}
    time = spec.time_column
    if spec.skew_check and time in usable:
        day = epoch_day(str(time), like=base)  # the engine's fast spelling: every event row
        conds["before_first_seen"] = (day - nw.col("__first_day")) < -SKEW_DAYS
    out = []
    for rule, rows in _counts(joined, conds).items():
        if not rows:
            continue
        if rule == "unknown_user":
            ids = collect(
                joined.filter(conds[rule])
                .select(nw.col("user_id"))
                .unique()
                .sort("user_id")
                .head(5)
            )
            examples = tuple(str(v) for v in ids["user_id"].to_list())
            message = f"{rows} rows have a user_id that is not in users"
            column = "user_id"
        else:
            examples = _examples(joined, conds[rule], spec, str(time))
            message = (
                f"{rows} rows have {time} more than {SKEW_DAYS} day before the user's first_seen_at "
                "(clock skew allowance)"
            )
            column = str(time)
        out.append(QualityEntry(spec.name, column, rule, rows, examples, "error", message))
    return out


def _with_row(frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """Add a 1-based row number on Polars (file order); other engines have no row order."""
    if backend_name(frame) == "polars":
        return nw.from_native(frame.to_native().with_row_index(_ROW, offset=1))
    return frame


def _counts(frame: nw.LazyFrame[Any], conds: Mapping[str, nw.Expr | None]) -> dict[str, int]:
    """Rows matching each condition (``None`` counts all rows), in one aggregate query."""
    aggs = [
        nw.len().alias(k)
        if c is None
        else nw.when(c).then(nw.lit(1)).otherwise(nw.lit(0)).sum().alias(k)
        for k, c in conds.items()
    ]
    row = collect(frame.select(*aggs)).row(0, named=True)
    return {k: int(v or 0) for k, v in row.items()}


def _examples(
    frame: nw.LazyFrame[Any], cond: nw.Expr, spec: TableSpec, column: str
) -> tuple[str, ...]:
    """Up to five example keys of rows matching ``cond``: the table key, else row numbers."""
    names = frame.collect_schema().names()
    if spec.key and column != spec.key and spec.key in names:
        key = spec.key
    elif _ROW in names:
        key = _ROW
    elif "user_id" in names and column != "user_id":
        key = "user_id"
    else:
        return ()
    values = collect(
        frame.filter(cond & ~nw.col(key).is_null())
        .select(key)
        .unique()
        .sort(key)
        .head(_MAX_EXAMPLES)
    )
    return tuple(f"row {v}" if key == _ROW else str(v) for v in values[key].to_list())


def format_report(log: QualityLog, *, title: str = "Data check") -> str:
    """One readable plain-text report, grouped by table (contract order), errors first.

    Each line: severity, column, rule, rows, message and example keys.
    """
    return log.report(title=title, table_order=list(CONTRACT))


def log_to_records(log: QualityLog) -> list[dict[str, Any]]:
    """The log as JSON-ready dicts (``insights validate --json``)."""
    return log.to_records()
