"""``load_dataset``: a directory or frames -> a contract-shaped, validated :class:`Dataset`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import narwhals as nw
import polars as pl

from insights.data._backend import backend_name, collect, datetime_lit, to_lazy
from insights.data._cache import fingerprint, load_findings, store_findings
from insights.data._read import (
    DataReadError,
    cast_polars,
    engine_frame,
    find_tables,
    read_config,
    scan_table,
)
from insights.data._warehouse import is_warehouse, warehouse_tables
from insights.data.contract import CONTRACT, TableSpec, generation_from_birth_year
from insights.data.dataset import Dataset, parse_as_of
from insights.data.derive import (
    Derivation,
    Refunds,
    derive_options,
    derive_orders,
    mark_acquired,
    refunds_option,
    users_from_activity,
)
from insights.data.quality import QualityEntry, QualityLog
from insights.data.validate import check_dataset, format_report, kind_matches, label_findings

__all__ = ["load_dataset", "DataValidationError", "DataReadError"]

_ACTIVITY_TABLES = ("users", "orders", "views", "interactions")
_MAX_MANIFEST_BYTES = 1 << 24


class DataValidationError(ValueError):
    """The data breaks the contract; the message is the readable report, ``.log`` the findings."""

    def __init__(self, log: QualityLog) -> None:
        self.log = log
        super().__init__(format_report(log, title="Data does not follow the contract"))


def load_dataset(
    source: str | Path | None = None,
    /,
    *,
    as_of: dt.datetime | dt.date | str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
    mapping: Mapping[str, Mapping[str, str]] | None = None,
    allow_unknown_labels: bool = False,
    derive: Mapping[str, Any] | None = None,
    refunds: Refunds | None = None,
    export_start: dt.date | str | None = None,
    churn_gap: int | None = None,
    validate: bool = True,
    progress: bool | None = None,
    **tables: Any,
) -> Dataset:
    """Load a dataset directory, or frames, into a :class:`Dataset` shaped by the data contract.

    Parameters
    ----------
    source
        A directory with ``<table>.parquet`` / ``<table>.csv`` files or ``<table>/``
        directories of Parquet parts, and optionally ``dataset.yaml`` (keys ``timezone``,
        ``as_of``, ``currency``, ``mapping``, ``allow_unknown_labels``). CSV may be UTF-8,
        UTF-8 with BOM or GBK, delimited by ``, ; \\t |`` (see ``insights.data._read``).
        Or a warehouse: ``"spark:<database>"`` (tables ``<database>.users`` ... of the
        active Spark session) or ``"duckdb:<file>"`` (see ``insights.data._warehouse``).
    as_of
        Observation end, inclusive (a date means the end of that day). Default: the end of
        the day of the latest timestamp in users, orders, views and interactions.
        Rows after it stay in the tables but are left out by ``Dataset.table`` and counted
        in the quality log (rule ``after_as_of``, severity info).
    timezone
        Local time zone of the platform (default ``Asia/Shanghai``); tz-aware timestamps
        are converted to it and made naive.
    currency
        Currency of amounts (default ``CNY``).
    mapping
        ``{table: {canonical_column: source_column}}``; merged over ``dataset.yaml``.
        The reverse direction (``{source: canonical}``) is recognised too.
    allow_unknown_labels
        Map category labels outside the contract to ``other`` (counted as warnings)
        instead of failing.
    derive
        What to build from the rows when a table is not given as such; merged over
        ``derive`` of ``dataset.yaml``: ``users`` (default true: without a users table,
        users come from orders), ``order_id: generate`` (automatic when orders has no
        ``order_id``), ``line_items: <basket column>`` (sum line items into orders),
        ``warmup_days`` (see ``export_start``). Rules in ``insights.data.derive``.
    refunds
        Negative amounts in orders: ``"error"`` (default: the contract's ``negative``
        rule fails), ``"net"`` (subtracted from the order with the same id) or
        ``"flag"`` (that order marked refunded). Rows left out are counted.
    export_start
        The first day of the export. Users first seen before it (with users derived from
        orders: before it plus ``derive: {warmup_days: N}``) get users column
        ``acquired_in_data = False``: they may have been customers before the export.
    churn_gap
        Days without activity that make a churn, for every analysis that does not set
        its own (``Dataset.churn_gap``; ``None``: each analysis's default, 30 days).
    validate
        Check every contract rule; raise :class:`DataValidationError` on errors. A
        directory that passed is remembered by a fingerprint of its files and options
        (``insights.data._cache``; ``INSIGHTS_CACHE_DIR=off`` disables it) and is not
        checked again until a file or an option changes.
    progress
        Show a bar while the rules are checked, one step per contract table (``True`` /
        ``False``; default ``None``: in a terminal or Jupyter, not in CI; see
        ``insights._progress``). A remembered check shows none.
    **tables
        Tables as frames instead of a directory (``users=..., orders=...``): Polars eager
        or lazy frames, DuckDB relations or PySpark DataFrames, or pandas DataFrames
        (converted to Polars once, column by column: datetimes, time-zone aware ones,
        nullable integers, categories and ``NaN`` as missing; a column with no faithful
        type, such as mixed Python objects, raises :class:`DataReadError` naming it).
        Input frames are not modified.

    Returns
    -------
    Dataset
        Polars LazyFrames for files and Polars input, native lazy frames otherwise, with
        ``as_of``, ``timezone``, ``currency``, ``source``, ``churn_gap`` and the quality
        log. Nothing is collected except counts and a few example keys. ``meta`` holds
        ``config`` (the parsed ``dataset.yaml``, ``{}`` without one), ``derived`` (one
        English sentence per derivation, also in the quality log as rule ``derived``),
        ``derivations`` (the same as ``{"key", "table", "column", "count"}``),
        ``activity`` (``"orders"`` when orders are the only activity table, ``"events"``
        when views or interactions exist, ``None`` without any), ``export_start`` (a
        date or ``None``) and ``simulated`` (True only for a directory written by
        ``insights simulate``, i.e. holding its ``manifest.json``).

    Raises
    ------
    DataReadError
        The input cannot be read (no directory, neither a users nor an orders table, not
        Parquet/CSV, undecodable CSV, a pandas column that cannot be converted, a
        ``derive``/``refunds`` setting that cannot be applied).
    DataValidationError
        ``validate=True`` and a rule is broken.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": ["2024-01-01 10:00", "2024-01-02 09:00"]})
    >>> ds = load_dataset(users=users, timezone="Asia/Shanghai")
    >>> ds.as_of
    datetime.datetime(2024, 1, 2, 23, 59, 59, 999999)

    Orders alone: users are derived from them (and said once).

    >>> orders = pl.DataFrame({"user_id": [1, 2, 1], "amount": [5.0, 7.0, 9.0],
    ...                        "ordered_at": ["2024-01-01", "2024-01-03", "2024-02-01"]})
    >>> ds = load_dataset(orders=orders)
    >>> ds.table("users").collect().to_native().rows()
    [(1, datetime.datetime(2024, 1, 1, 0, 0)), (2, datetime.datetime(2024, 1, 3, 0, 0))]
    >>> print(ds.meta["derived"][0])
    Order ids were generated for 3 orders (orders has no order_id column): each order's id is its row number in file order.
    >>> ds.meta["activity"]
    'orders'
    """
    warehouse, keep = None, dict[str, Any]()  # a warehouse: its tables + a connection to keep
    if is_warehouse(source) and not tables:
        warehouse, source = str(source), None
        tables, keep = warehouse_tables(warehouse)
    unknown = sorted(set(tables) - set(CONTRACT))
    if unknown:
        raise TypeError(
            f"load_dataset() got unknown tables or keywords: {', '.join(unknown)}; tables are {', '.join(CONTRACT)}"
        )
    if (source is None) == (not tables):
        raise TypeError(
            "load_dataset() needs either a directory or tables as keyword frames (users=..., ...)"
        )
    config: dict[str, Any] = {}
    reads: dict[str, dict[str, str]] = {}
    if source is not None:
        directory = Path(source).expanduser()
        files = find_tables(directory)
        config = read_config(directory)
        if "users" not in files and "orders" not in files:
            raise DataReadError(
                f"{directory}: neither a users nor an orders table (users.parquet, users.csv, "
                "orders.parquet, orders.csv ...); at least one is required"
            )
        raw: dict[str, Any] = {}
        for name, path in files.items():
            raw[name], reads[name] = scan_table(path, (config.get("files") or {}).get(name))
        origin = str(directory)
    else:
        if "users" not in tables and "orders" not in tables:
            raise DataReadError(
                "neither a users nor an orders table was given (users=..., orders=...); "
                "at least one is required"
            )
        raw = {name: engine_frame(native, name) for name, native in tables.items()}
        origin = warehouse or "frames"
    tz = str(timezone or config.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataReadError(
            f"unknown timezone {tz!r} (use an IANA name such as Asia/Shanghai)"
        ) from exc
    allow = bool(allow_unknown_labels or config.get("allow_unknown_labels", False))
    maps = {t: dict(m) for t, m in (config.get("mapping") or {}).items()}
    for table, pairs in (mapping or {}).items():
        maps.setdefault(table, {}).update(pairs)
    options = derive_options({**(config.get("derive") or {}), **(derive or {})})
    refund_mode = refunds_option(refunds if refunds is not None else config.get("refunds"))
    start = _export_start(export_start if export_start is not None else config.get("export_start"))
    gap = _churn_gap(churn_gap if churn_gap is not None else config.get("churn_gap"))
    if "users" not in raw and not options.users:
        raise DataReadError(
            f"{origin}: no users table, and derive: users is false; add users.parquet or "
            "users.csv, or let users be derived from orders"
        )

    log = QualityLog()
    loaded: dict[str, nw.LazyFrame[Any]] = {}
    try:
        for name, native in raw.items():
            spec = CONTRACT[name]
            frame = _rename(to_lazy(native), spec, maps.get(name, {}))
            frame = _cast(frame, spec, tz, log, (config.get("files") or {}).get(name))
            if allow:
                frame = _map_unknown_labels(frame, spec, log)
            loaded[name] = _fill_refunded(frame, spec, log)
        done: list[Derivation] = []
        if "orders" in loaded:
            loaded["orders"], steps = derive_orders(
                loaded["orders"], options=options, refunds=refund_mode
            )
            done += steps
            _warn_all_refunded(loaded["orders"], log)
        _harmonise_ids(loaded, log)
        derived_users = "users" not in loaded
        if derived_users:
            users, steps = users_from_activity(loaded)
            done += steps
            users = _cast(users, CONTRACT["users"], tz, log)
            loaded["users"] = _map_unknown_labels(users, CONTRACT["users"], log) if allow else users
        if start is not None:
            loaded["users"], steps = mark_acquired(
                loaded["users"],
                export_start=start,
                warmup_days=options.warmup_days,
                derived=derived_users,
            )
            done += steps
        for step in done:
            log.add(step.entry())
        cut = _resolve_as_of(as_of if as_of is not None else config.get("as_of"), loaded, tz)
        if "users" in loaded:
            loaded["users"] = _derive_generation(loaded["users"], cut)
        _count_after(loaded, cut, log)
    except pl.exceptions.PolarsError as exc:
        raise DataReadError(f"{origin}: a table could not be read while loading ({exc})") from exc

    key = None  # the files' fingerprint: validation and results caches (insights.data._cache)
    if source is not None:
        settings = {
            "as_of": cut,
            "tz": tz,
            "allow": allow,
            "maps": maps,
            "derive": options,
            "refunds": refund_mode,
            "export_start": start,
            "churn_gap": gap,
        }
        key = fingerprint(Path(source).expanduser(), files, settings)
    dataset = Dataset(
        tables={name: frame.to_native() for name, frame in loaded.items()},
        as_of=cut,
        timezone=tz,
        currency=str(currency or config.get("currency") or "CNY"),
        quality=log,
        source=origin,
        churn_gap=gap,
        meta={
            "reads": reads,
            "mapping": maps,
            "allow_unknown_labels": allow,
            "load_findings": len(log.entries),
            "notes": config.get("notes"),
            "fingerprint": key,
            "config": config,
            "derived": [step.sentence for step in done],
            "derivations": [step.record() for step in done],
            "activity": _activity(loaded),
            "export_start": start,
            "simulated": source is not None and _simulated(Path(source).expanduser()),
            **keep,
        },
    )
    if validate:
        if key is not None:
            cached = load_findings(key)
            if cached is not None:
                for entry in cached:
                    log.add(entry)
                return dataset
        found = check_dataset(dataset, allow_unknown_labels=allow, progress=progress)
        for entry in found:
            log.add(entry)
        if not log.ok:
            raise DataValidationError(log)
        if key is not None:
            store_findings(key, found)
    return dataset


def _export_start(value: Any) -> dt.date | None:
    """``export_start`` as a date (a datetime keeps its day)."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise DataReadError(
            f"export_start must be a date such as 2024-01-01, got {value!r}"
        ) from None


def _churn_gap(value: Any) -> int | None:
    """``churn_gap`` as whole days >= 1 (``None``: each analysis's default)."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value != int(value)
        or value < 1
    ):
        raise DataReadError(f"churn_gap must be a whole number of days >= 1, got {value!r}")
    return int(value)


def _activity(tables: Mapping[str, Any]) -> str | None:
    """``"orders"`` when orders are the only activity, ``"events"`` with views or interactions."""
    if "views" in tables or "interactions" in tables:
        return "events"
    return "orders" if "orders" in tables else None


def _simulated(directory: Path) -> bool:
    """Whether ``directory`` holds the manifest ``insights simulate`` writes.

    Raises :class:`DataReadError` (one line naming the file) when a ``manifest.json`` is
    there but is not a JSON object, or claims the simulator with sections of the wrong
    shape: the report reads it for the simulator's truth.
    """
    path = directory / "manifest.json"
    if not path.is_file():
        return False
    try:
        if path.stat().st_size > _MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than {_MAX_MANIFEST_BYTES:,} bytes")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataReadError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "write it again with insights simulate, or remove it"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80]
        raise DataReadError(f"{path}: cannot be read ({reason}); remove it") from None
    if not isinstance(manifest, dict):
        raise DataReadError(
            f"{path}: expected a JSON object, got {type(manifest).__name__}; remove it"
        )
    simulated = str(manifest.get("generator", "")).startswith("insights.simulator")
    for section in ("rows", "experiments", "scenario"):
        if simulated and not isinstance(manifest.get(section, {}), dict):
            raise DataReadError(
                f"{path}: '{section}' must be a JSON object; write it again with insights simulate"
            )
    return simulated


def _rename(
    frame: nw.LazyFrame[Any], spec: TableSpec, pairs: Mapping[str, str]
) -> nw.LazyFrame[Any]:
    """Apply a column mapping; each pair may be written canonical: source or source: canonical.

    Raises :class:`DataReadError` when a pair names no contract column of the table, or
    a source column the table does not have (the message names the table, the column and
    the closest column there is).
    """
    from insights.data._config import closest

    names = [str(n) for n in frame.collect_schema().names()]
    renames: dict[str, str] = {}
    for a, b in ((str(a), str(b)) for a, b in pairs.items()):
        if b in spec.names and a not in spec.names:
            canonical, src = b, a
        elif a in spec.names:
            canonical, src = a, b
        else:
            hint = closest(a, spec.names) or closest(b, spec.names)
            raise DataReadError(
                f"{spec.name}: mapping '{a}: {b}' names no column of the {spec.name} table{hint}; "
                f"its columns are {', '.join(spec.names)}"
            )
        if src not in names:
            shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
            raise DataReadError(
                f"{spec.name}: mapping {canonical} <- '{src}': the {spec.name} table has no "
                f"column '{src}'{closest(src, names)}; its columns are {shown}"
            )
        if src != canonical:
            renames[src] = canonical
    if not renames:
        return frame
    present = set(names)
    clash = [c for c in renames.values() if c in present and c not in renames]
    return frame.drop(clash).rename(renames) if clash else frame.rename(renames)


def _cast(
    frame: nw.LazyFrame[Any],
    spec: TableSpec,
    tz: str,
    log: QualityLog,
    options: Mapping[str, Any] | None = None,
) -> nw.LazyFrame[Any]:
    """Cast contract columns to their kinds, counting values that cannot be cast (rule ``type``).

    ``options``: the table's ``files:`` settings of ``dataset.yaml`` (formats, decimal, ...).
    """
    if backend_name(frame) == "polars":
        native, found = cast_polars(frame.to_native(), spec, tz, options)
        for entry in found:
            log.add(entry)
        return nw.from_native(native)
    return _cast_engine(frame, spec, tz, log)


def _cast_engine(
    frame: nw.LazyFrame[Any], spec: TableSpec, tz: str, log: QualityLog
) -> nw.LazyFrame[Any]:
    """Other engines (DuckDB, Spark): only safe casts; text that needs parsing is reported.

    Numbers widen to Float64/Int64, dates become datetimes and anything becomes text for
    category/string columns. Text timestamps or numbers and tz-aware timestamps must be
    cast in the engine first (its casts fail on the first bad value instead of counting).
    """
    schema = frame.collect_schema()
    casts, refused = [], []
    for col in spec.columns:
        dtype = schema.get(col.name)
        if dtype is None or kind_matches(dtype, col.kind):
            continue
        if col.kind in ("category", "string"):
            casts.append(nw.col(col.name).cast(nw.String))
        elif (
            col.kind in ("float", "int", "id")
            and dtype.is_numeric()
            and not (col.kind != "float" and dtype.is_float())
        ):
            casts.append(nw.col(col.name).cast(nw.Float64 if col.kind == "float" else nw.Int64))
        elif col.kind == "datetime" and dtype == nw.Date:
            casts.append(nw.col(col.name).cast(nw.Datetime("us")))
        else:
            refused.append(col)
    if refused:
        counts = collect(
            frame.select(*[nw.col(c.name).count().alias(c.name) for c in refused])
        ).row(0, named=True)
        engine = backend_name(frame)
        for col in refused:
            dtype = schema[col.name]
            zone = (
                f", tz-aware: convert to naive local time ({tz})"
                if isinstance(dtype, nw.Datetime)
                else ""
            )
            log.add(
                QualityEntry(
                    spec.name,
                    col.name,
                    "type",
                    int(counts[col.name] or 0),
                    (),
                    "error",
                    f"{col.name} is {dtype} on a {engine} frame but must be {col.kind}{zone}; "
                    f"cast it in {engine} before loading (files and Polars frames are parsed automatically)",
                )
            )
    return frame.with_columns(*casts) if casts else frame


def _map_unknown_labels(
    frame: nw.LazyFrame[Any], spec: TableSpec, log: QualityLog
) -> nw.LazyFrame[Any]:
    """Count unknown labels (warnings) and map them to ``other``; community actions are never mapped."""
    found = [
        e
        for e in label_findings(frame, spec, allow_unknown_labels=True)
        if e.rule == "unknown_label"
    ]
    mapped = []
    for entry in found:
        log.add(entry)
        if entry.column is None:
            continue
        labels = sorted(spec.column(entry.column).labels or ())
        col = nw.col(entry.column)
        mapped.append(
            nw.when(col.is_null() | col.is_in(labels))
            .then(col)
            .otherwise(nw.lit("other"))
            .alias(entry.column)
        )
    return frame.with_columns(*mapped) if mapped else frame


def _derive_generation(users: nw.LazyFrame[Any], as_of: dt.datetime) -> nw.LazyFrame[Any]:
    """users.generation from birth_year when only birth_year is given (rule in ``contract``)."""
    names = users.collect_schema().names()
    if "generation" in names or "birth_year" not in names:
        return users
    return users.with_columns(generation_from_birth_year("birth_year", as_of).alias("generation"))


def _fill_refunded(frame: nw.LazyFrame[Any], spec: TableSpec, log: QualityLog) -> nw.LazyFrame[Any]:
    """orders.refunded defaults to False: nulls are filled and counted (info)."""
    if spec.name != "orders" or "refunded" not in frame.collect_schema().names():
        return frame
    missing = nw.col("refunded").is_null().cast(nw.Int64).sum()
    nulls = int(collect(frame.select(missing)).item() or 0)
    if not nulls:
        return frame
    log.add(
        QualityEntry(
            "orders",
            "refunded",
            "null_default",
            nulls,
            (),
            "info",
            f"{nulls} orders have no refunded flag; treated as not refunded",
        )
    )
    return frame.with_columns(nw.col("refunded").fill_null(False))


def _warn_all_refunded(orders: nw.LazyFrame[Any], log: QualityLog) -> None:
    """A warning when every order is refunded (as given, or after ``refunds: net|flag``).

    Order and value metrics leave refunded orders out (``include_refunded=False``), so
    they would be empty without a word; the report refuses such data.
    """
    schema = orders.collect_schema()
    if "refunded" not in schema or not kind_matches(schema["refunded"], "bool"):
        return
    counts = collect(
        orders.select(
            nw.col("refunded").fill_null(False).cast(nw.Int64).sum().alias("refunded"),
            nw.len().alias("rows"),
        )
    ).row(0, named=True)
    rows, refunded = int(counts["rows"] or 0), int(counts["refunded"] or 0)
    if rows and refunded == rows:
        log.add(
            QualityEntry(
                "orders",
                "refunded",
                "all_refunded",
                rows,
                (),
                "warning",
                f"all {rows} orders are marked refunded; order and value metrics (AOV, "
                "repurchase, GMV, LTV) leave refunded orders out, so they have no orders",
            )
        )


def _harmonise_ids(tables: dict[str, nw.LazyFrame[Any]], log: QualityLog) -> None:
    """When user_id is text in one table and integer in another, make it text everywhere."""
    kinds = {name: f.collect_schema().get("user_id") for name, f in tables.items()}
    present = {k: v for k, v in kinds.items() if v is not None}
    if len({str(v) for v in present.values()}) <= 1:
        return
    for name, dtype in present.items():
        if dtype != nw.String:
            tables[name] = tables[name].with_columns(nw.col("user_id").cast(nw.String))
            log.add(
                QualityEntry(
                    name,
                    "user_id",
                    "id_cast",
                    0,
                    (),
                    "info",
                    f"user_id read as {dtype} here but as text elsewhere; compared as text",
                )
            )


def _resolve_as_of(value: Any, tables: dict[str, nw.LazyFrame[Any]], tz: str) -> dt.datetime:
    if value is not None:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        try:
            return parse_as_of(value)
        except (TypeError, ValueError):
            from insights.data._config import shorten

            raise DataReadError(
                f"as_of must be a date such as 2024-12-31 (or a date and time such as "
                f"2024-12-31 18:00), got {shorten(value)}"
            ) from None
    latest: dt.datetime | None = None
    for name in _ACTIVITY_TABLES:
        column = CONTRACT[name].time_column
        if name not in tables or column is None:
            continue
        dtype = tables[name].collect_schema().get(column)
        if dtype is None or not kind_matches(dtype, "datetime"):
            continue
        found = collect(tables[name].select(nw.col(column).max())).item()
        if found is not None:
            latest = found if latest is None else max(latest, found)
    return parse_as_of((latest or dt.datetime.now()).date())


def _count_after(tables: dict[str, nw.LazyFrame[Any]], as_of: dt.datetime, log: QualityLog) -> None:
    """Count rows after ``as_of`` per table (left out of analyses, never dropped silently)."""
    for name, frame in tables.items():
        spec = CONTRACT[name]
        column = spec.time_column
        dtype = frame.collect_schema().get(column) if column else None
        if column is None or dtype is None or not kind_matches(dtype, spec.column(column).kind):
            continue
        bound = nw.lit(as_of.date()) if dtype == nw.Date else datetime_lit(as_of, frame)
        rows = int(collect(frame.select((nw.col(column) > bound).cast(nw.Int64).sum())).item() or 0)
        if rows:
            log.add(
                QualityEntry(
                    name,
                    column,
                    "after_as_of",
                    rows,
                    (),
                    "info",
                    f"{rows} rows after as_of {as_of:%Y-%m-%d %H:%M}; left out of every analysis",
                )
            )
