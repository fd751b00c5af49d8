"""Parsing raw columns to their contract kinds: timestamps, amounts, flags and ids.

Everything is a Polars expression; a table is read lazily and collected only to count.
The format of a column is decided per column, on its data: every candidate format is
tried on the whole column in one aggregate query, the one that reads the most values
is used for every value (a tie goes to the earlier one in the lists below), and the
values it cannot read are rejected and counted. A column never mixes formats value by
value, except within the ISO family (a date with or without a time of day).

Timestamps (kinds ``datetime`` and ``date``), in this order:

* ISO 8601: ``2024-01-31``, ``2024-01-31 10:05``, ``2024-01-31 10:05:00.123``, with
  ``T`` or a space before the time, ``/`` instead of ``-``, and an optional UTC offset
  (converted to the dataset's time zone, then made naive);
* ``YYYYMMDD`` (``19970101``) and ``YYYYMMDDHHMMSS``, as text or as integers;
* the Chinese form ``2017\u5e7401\u670801\u65e5``, optionally with a time
  ``10\u65f605\u5206[30\u79d2]`` or ``10:05[:30]``;
* epoch seconds: 9 or 10 digits, optionally with a fraction (1973-03-03 to 2286-11-20);
* epoch milliseconds: 12 or 13 digits (the same range).

  Epochs are UTC instants, shown in the dataset's time zone. The number of digits tells
  them apart: 8 digits are ``YYYYMMDD``, 9-10 seconds, 12-13 milliseconds (11 digits
  are neither). A format set in ``dataset.yaml`` (``files: {orders: {formats:
  {ordered_at: "%d/%m/%Y"}}}``; ``epoch_s`` and ``epoch_ms`` are accepted as formats
  too) replaces the detection for that column.

Amounts (kind ``float``; ``int`` takes the same text when the value is whole): an
optional currency symbol or code before or after the number (``\u00a5 \uffe5 \u5143 $
US$ HK$ RMB CNY USD EUR GBP \u20ac \u00a3``), surrounding spaces, a sign (``-12.5``,
``\u00a5-12.5``, ``-\u00a512.5``) or parentheses (``(12.50)`` is -12.5), thousands
separators in groups of three (``1,234,567.89``) and an exponent (``1.2e3``). The
decimal comma (``1.234,56``, ``1 234,56``) is used when ``decimal: ","`` is set for the
table, or, when neither ``decimal`` nor ``thousands`` is set, when it reads more values
of the column than the decimal point (``1,234`` alone reads as 1234 either way, so a
column of such values keeps the decimal point). Negative amounts stay negative.

Flags (kind ``bool``): ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``1/0``,
``\u662f/\u5426``, ``\u5df2\u9000\u6b3e/\u672a\u9000\u6b3e`` (any case, surrounding
spaces ignored), plus the table's ``true_values`` / ``false_values``.

Ids: text stays text (``00001`` keeps its zeros; surrounding spaces are removed),
integers stay integers, whole floats become integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from insights.data.contract import Kind, TableSpec
from insights.data.quality import QualityEntry

__all__ = ["ACCEPTED", "cast_polars", "parse_column", "parse_number"]

_ISO_NAIVE = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
# year, month, day, hour, minute, second in Chinese dates
_YEAR, _MONTH, _DAY = "\u5e74", "\u6708", "\u65e5"
_HOUR, _MINUTE, _SECOND = "\u65f6", "\u5206", "\u79d2"
_TRUE = ("true", "t", "yes", "y", "1", "1.0", "\u662f", "\u5df2\u9000\u6b3e")  # shi, yi tuikuan
_FALSE = ("false", "f", "no", "n", "0", "0.0", "\u5426", "\u672a\u9000\u6b3e")  # fou, wei tuikuan
_CURRENCY = r"(?:US\$|HK\$|RMB|CNY|USD|EUR|GBP|[\u00a5\uffe5\u5143$\u20ac\u00a3])"
_SPACES = " \u00a0\u202f"

#: What each kind accepts, for rejection messages.
ACCEPTED: dict[str, str] = {
    "datetime": (
        "ISO 8601 (2024-01-31, 2024-01-31 10:05[:00[.123]], T or / allowed, optional UTC offset), "
        "YYYYMMDD[HHMMSS] (20240131), 2024\u5e7401\u670831\u65e5 [10\u65f605\u5206 | 10:05], "
        "epoch seconds (9-10 digits) or milliseconds (12-13 digits); for another format set "
        'files: {TABLE: {formats: {COLUMN: "%d/%m/%Y"}}} in dataset.yaml'
    ),
    "float": (
        "numbers with an optional currency (\u00a5 \uffe5 \u5143 $ US$ RMB CNY USD \u20ac \u00a3), "
        "thousands separators (1,234.56), a sign or parentheses for negatives; "
        'a decimal comma (1.234,56) with files: {TABLE: {decimal: ","}} in dataset.yaml'
    ),
    "int": "whole numbers (1990, 1,990, 1990.0)",
    "bool": (
        "true/false, t/f, yes/no, y/n, 1/0, \u662f/\u5426, \u5df2\u9000\u6b3e/\u672a\u9000\u6b3e "
        "(any case); more with files: {TABLE: {true_values: [...], false_values: [...]}}"
    ),
    "id": "text or whole numbers",
}
ACCEPTED["date"] = ACCEPTED["datetime"]


def parse_column(
    name: str,
    dtype: pl.DataType,
    kind: Kind,
    timezone: str,
    options: Mapping[str, Any] | None = None,
) -> pl.Expr | None:
    """A Polars expression turning column ``name`` of ``dtype`` into contract ``kind``.

    ``None`` when the column already has the right type. Values that cannot be parsed
    become null so the loader can count them. When a kind has several candidate formats
    this is the first one (see :func:`cast_polars`, which decides on the data).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"paid": [" \u00a51,234.50 ", "(12)", "USD 3"]})
    >>> f.select(parse_column("paid", pl.String, "float", "UTC"))["paid"].to_list()
    [1234.5, -12.0, 3.0]
    """
    found = _candidates(name, dtype, kind, timezone, options or {})
    return None if found is None else next(iter(found.values()))


def parse_number(text: pl.Expr, *, decimal: str = ".", thousands: str | None = None) -> pl.Expr:
    """Text amounts as Float64 (currency, separators, signs: see the module docstring).

    ``thousands`` defaults to ``,`` with a decimal point and to ``.`` or a space with a
    decimal comma; ``"none"`` allows no separator. Text that is not such a number is null.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"a": ["1.234,56 \u20ac", "-7,5", "12.5"]})
    >>> f.select(parse_number(pl.col("a"), decimal=","))["a"].to_list()
    [1234.56, -7.5, None]
    """
    if thousands is None:
        thousands = "," if decimal == "." else "." + _SPACES
    elif thousands == " ":
        thousands = _SPACES
    sep = "" if thousands == "none" else "[" + "".join(_escape(c) for c in thousands) + "]"
    dec = _escape(decimal)
    digits = rf"(?:\d{{1,3}}(?:{sep}\d{{3}})+|\d+)" if sep else r"\d+"
    number = rf"^(?:{digits}(?:{dec}\d*)?|{dec}\d+)(?:[eE][-+]?\d+)?$"
    s = text.cast(pl.String).str.strip_chars()
    parens = s.str.contains(r"^\(.*\)$")
    s = pl.when(parens).then(s.str.slice(1, s.str.len_chars() - 2)).otherwise(s).str.strip_chars()
    s = s.str.replace(rf"^([-+\u2212]?)\s*{_CURRENCY}\s*", "${1}")
    s = s.str.replace(rf"\s*{_CURRENCY}$", "")
    negative = parens | s.str.contains(r"^[-\u2212]")
    body = s.str.replace(r"^[-+\u2212]\s*", "")
    plain = body.str.replace_all(sep, "") if sep else body
    value = plain.str.replace(dec, ".", literal=False).cast(pl.Float64, strict=False)
    return pl.when(body.str.contains(number)).then(pl.when(negative).then(-value).otherwise(value))


def _escape(char: str) -> str:
    return "\\" + char if char in r".^$*+?()[]{}|\-" else char


def _candidates(
    name: str, dtype: pl.DataType, kind: Kind, timezone: str, options: Mapping[str, Any]
) -> dict[str, pl.Expr] | None:
    """Candidate parses of one column, by label, in order of preference (None: no cast)."""
    col = pl.col(name)
    converted = False
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        col = col.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
        dtype, converted = pl.Datetime(dtype.time_unit), True
    text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if kind in ("category", "string"):
        return None if dtype == pl.String else {"text": col.cast(pl.String)}
    if kind == "id":
        if dtype == pl.String:
            return {"text": col.str.strip_chars()}
        if dtype == pl.Int64:
            return None
        if dtype.is_integer():
            return {"integer": col.cast(pl.Int64, strict=False)}
        if dtype.is_float():
            return {"integer": pl.when(col == col.floor()).then(col.cast(pl.Int64, strict=False))}
        return {"text": col.cast(pl.String)}
    if kind in ("datetime", "date"):
        if kind == "date" and dtype == pl.Date:
            return None
        if kind == "date" and isinstance(dtype, pl.Datetime):
            return {"timestamp": col.dt.date()}
        found = _datetime_candidates(
            col, dtype, text, converted, timezone, (options.get("formats") or {}).get(name)
        )
        if found is None or kind == "datetime":
            return found
        return {k: e.dt.date() for k, e in found.items()}
    if kind in ("float", "int"):
        target = pl.Float64 if kind == "float" else pl.Int64
        if dtype == target:
            return None
        if dtype.is_numeric():
            if kind == "int" and dtype.is_float():
                return {
                    "number": pl.when(col == col.floor()).then(col.cast(pl.Int64, strict=False))
                }
            return {"number": col.cast(target, strict=False)}
        if not text:
            return {"number": pl.lit(None, target)}
        found = _number_candidates(col, options)
        if kind == "int":
            found = {
                k: pl.when(v == v.floor()).then(v.cast(pl.Int64, strict=False))
                for k, v in found.items()
            }
        return found
    return _bool_candidates(col, dtype, text, options)


def _number_candidates(col: pl.Expr, options: Mapping[str, Any]) -> dict[str, pl.Expr]:
    decimal, thousands = options.get("decimal"), options.get("thousands")
    if decimal is None and thousands is None:
        return {
            "decimal point": parse_number(col),
            "decimal comma": parse_number(col, decimal=","),
        }
    thousands = None if thousands is None else str(thousands)
    label = "decimal comma" if decimal == "," else "decimal point"
    return {label: parse_number(col, decimal=str(decimal or "."), thousands=thousands)}


def _bool_candidates(
    col: pl.Expr, dtype: pl.DataType, text: bool, options: Mapping[str, Any]
) -> dict[str, pl.Expr] | None:
    if dtype == pl.Boolean:
        return None
    if dtype.is_numeric():
        return {"flag": pl.when(col == 1).then(pl.lit(True)).when(col == 0).then(pl.lit(False))}
    if not text:
        return {"flag": pl.lit(None, pl.Boolean)}
    yes = [*_TRUE, *(str(v).strip().lower() for v in options.get("true_values") or ())]
    no = [*_FALSE, *(str(v).strip().lower() for v in options.get("false_values") or ())]
    lowered = col.cast(pl.String).str.strip_chars().str.to_lowercase()
    flag = (
        pl.when(lowered.is_in(yes)).then(pl.lit(True)).when(lowered.is_in(no)).then(pl.lit(False))
    )
    return {"flag": flag}


def _datetime_candidates(
    col: pl.Expr,
    dtype: pl.DataType,
    text: bool,
    converted: bool,
    timezone: str,
    fmt: str | None,
) -> dict[str, pl.Expr] | None:
    if isinstance(dtype, pl.Datetime):
        return {"timestamp": col} if converted else None
    if dtype == pl.Date:
        return {"date": col.cast(pl.Datetime("us"))}
    if dtype.is_numeric():
        whole = pl.when(col == col.floor()).then(col.cast(pl.Int64, strict=False).cast(pl.String))
        digits = whole.otherwise(col.cast(pl.String)) if dtype.is_float() else col.cast(pl.String)
        if fmt:
            return {f"the format {fmt!r}": _explicit(digits, fmt, timezone)}
        return {
            "YYYYMMDD": _compact(digits),
            "epoch seconds": _epoch(digits, timezone, "s"),
            "epoch milliseconds": _epoch(digits, timezone, "ms"),
        }
    if not text:
        return {"timestamp": pl.lit(None, pl.Datetime("us"))}
    s = col.cast(pl.String).str.strip_chars()
    if fmt:
        return {f"the format {fmt!r}": _explicit(s, fmt, timezone)}
    return {
        "ISO 8601": _iso(s, timezone),
        "YYYYMMDD": _compact(s),
        "YYYY\u5e74MM\u6708DD\u65e5": _chinese(s, timezone),
        "epoch seconds": _epoch(s, timezone, "s"),
        "epoch milliseconds": _epoch(s, timezone, "ms"),
    }


def _iso(text: pl.Expr, timezone: str) -> pl.Expr:
    naive = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _ISO_NAIVE]
    aware = [_aware(text, f, timezone) for f in _ISO_AWARE]
    return pl.coalesce(*naive, *aware)


def _aware(text: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    return (
        text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        .dt.convert_time_zone(timezone)
        .dt.replace_time_zone(None)
    )


def _compact(text: pl.Expr) -> pl.Expr:
    return (
        pl.when(text.str.contains(r"^\d{8}$"))
        .then(text.str.to_datetime("%Y%m%d", strict=False, time_unit="us"))
        .when(text.str.contains(r"^\d{14}$"))
        .then(text.str.to_datetime("%Y%m%d%H%M%S", strict=False, time_unit="us"))
    )


def _chinese(text: pl.Expr, timezone: str) -> pl.Expr:
    iso = (
        text.str.replace_all(r"\s+", "")
        .str.replace(_YEAR, "-", literal=True)
        .str.replace(_MONTH, "-", literal=True)
        .str.replace(_DAY, " ", literal=True)
        .str.replace(_HOUR, ":", literal=True)
        .str.replace(_MINUTE, ":", literal=True)
        .str.replace(_SECOND, "", literal=True)
        .str.strip_chars(" :")
    )
    return pl.when(text.str.contains(_YEAR, literal=True)).then(_iso(iso, timezone))


def _epoch(text: pl.Expr, timezone: str, unit: str) -> pl.Expr:
    pattern, scale = (r"^\d{9,10}(\.\d+)?$", 1e6) if unit == "s" else (r"^\d{12,13}$", 1e3)
    micros = (text.cast(pl.Float64, strict=False) * scale).round().cast(pl.Int64, strict=False)
    stamp = (
        pl.from_epoch(micros, time_unit="us")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
        .dt.replace_time_zone(None)
    )
    return pl.when(text.str.contains(pattern)).then(stamp)


def _explicit(text: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    if fmt in ("epoch_s", "epoch_ms"):
        scale = 1e6 if fmt == "epoch_s" else 1e3
        micros = (text.cast(pl.Float64, strict=False) * scale).round().cast(pl.Int64, strict=False)
        return _aware_epoch(micros, timezone)
    if "%z" in fmt or "%#z" in fmt or "%:z" in fmt:
        return _aware(text, fmt, timezone)
    return text.str.to_datetime(fmt, strict=False, time_unit="us")


def _aware_epoch(micros: pl.Expr, timezone: str) -> pl.Expr:
    return (
        pl.from_epoch(micros, time_unit="us")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)
        .dt.replace_time_zone(None)
    )


def cast_polars(
    native: pl.LazyFrame,
    spec: TableSpec,
    timezone: str,
    options: Mapping[str, Any] | None = None,
) -> tuple[pl.LazyFrame, list[QualityEntry]]:
    """Parse every contract column of a Polars frame; count what cannot be parsed (rule ``type``).

    ``options`` are the table's read options from ``dataset.yaml`` (``files: {table:
    {...}}``): ``formats``, ``decimal``, ``thousands``, ``true_values``, ``false_values``.
    Blank text counts as missing (null), not as a parse failure. One aggregate query
    tries every candidate format of every column and counts what each reads; each
    column keeps the format that reads the most values (module docstring). Then one
    small query per failing column fetches up to five offending values with their row
    numbers (1-based, counting data rows; the header is not a row). The finding's
    ``examples`` are the table keys of those rows (row numbers when the table has no
    key); its message shows ``row 17: '2024-13-45'`` and the accepted formats.
    The returned frame is still lazy.

    Examples
    --------
    >>> import polars as pl
    >>> from insights.data.contract import CONTRACT
    >>> raw = pl.LazyFrame({"order_id": ["00001", "00002", "00003"],
    ...                     "ordered_at": ["19970101", "19970102", "1997-13-45"]})
    >>> frame, found = cast_polars(raw, CONTRACT["orders"], "UTC")
    >>> frame.collect()["ordered_at"].dt.day().to_list()
    [1, 2, None]
    >>> found[0].examples, "row 3: '1997-13-45'" in found[0].message
    (('00003',), True)
    """
    options = options or {}
    schema = native.collect_schema()
    present = [c for c in spec.columns if c.name in schema]
    blanks = [
        pl.when(pl.col(c.name).str.strip_chars() != "").then(pl.col(c.name)).alias(c.name)
        for c in present
        if schema[c.name] == pl.String
    ]
    if blanks:
        native = native.with_columns(blanks)
    plans = {
        c.name: found
        for c in present
        if (found := _candidates(c.name, schema[c.name], c.kind, timezone, options)) is not None
    }
    if not plans:
        return native, []
    counts: list[pl.Expr] = []
    for column, found in plans.items():
        given = pl.col(column).is_not_null()
        counts.append(given.sum().alias(f"{column}\x00"))
        counts += [
            (given & e.is_not_null()).sum().alias(f"{column}\x00{k}") for k, e in found.items()
        ]
    row = native.select(counts).collect(engine="streaming").row(0, named=True)
    chosen: dict[str, pl.Expr] = {}
    found_entries: list[QualityEntry] = []
    for column, found in plans.items():
        label = max(found, key=lambda k: (row[f"{column}\x00{k}"], -list(found).index(k)))
        chosen[column] = found[label]
        rejected = int(row[f"{column}\x00"] or 0) - int(row[f"{column}\x00{label}"] or 0)
        if rejected:
            entry = _rejection(
                native, spec, schema, column, chosen[column], label, rejected, len(found)
            )
            found_entries.append(entry)
    return native.with_columns(**chosen), found_entries


def _rejection(
    native: pl.LazyFrame,
    spec: TableSpec,
    schema: pl.Schema,
    column: str,
    parsed: pl.Expr,
    label: str,
    rows: int,
    candidates: int,
) -> QualityEntry:
    """The ``type`` finding of one column: counts, keys, rows with their values, formats."""
    kind = spec.column(column).kind
    key = spec.key if spec.key and spec.key != column and spec.key in schema else None
    picks = [pl.col("__row"), pl.col(column).cast(pl.String).alias("__value")]
    if key:
        picks.append(pl.col(key).cast(pl.String).alias("__key"))
    bad = (
        native.with_row_index("__row", offset=1)
        .filter(pl.col(column).is_not_null() & parsed.is_null())
        .select(picks)
        .head(5)
        .collect()
    )
    shown = ", ".join(
        f"row {r}: {_short(v)!r}" for r, v in zip(bad["__row"], bad["__value"], strict=True)
    )
    examples = tuple(str(v) for v in (bad["__key"] if key else (f"row {r}" for r in bad["__row"])))
    accepted = ACCEPTED.get(kind, "").replace("TABLE", spec.name).replace("COLUMN", column)
    how = f"read as {label}, the format that reads the most values; " if candidates > 1 else ""
    if label.startswith("the format"):
        how = f"read with {label} set in dataset.yaml; "
        accepted = (
            f"{label} (files: {{{spec.name}: {{formats: {{{column}: ...}}}}}} in dataset.yaml)"
        )
    message = (
        f"{rows} values of {column} cannot be read as {kind} (stored as {schema[column]}; "
        f"{how}they are treated as missing): {shown}. Accepted: {accepted}"
    )
    return QualityEntry(spec.name, column, "type", rows, examples, "error", message)


def _short(value: str | None, width: int = 40) -> str | None:
    if value is None or len(value) <= width:
        return value
    return value[: width - 3] + "..."
