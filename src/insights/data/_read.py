"""Reading a dataset directory into Polars lazy frames, and parsing raw columns.

Everything here is Polars-specific on purpose: files are always read with Polars.

* Parquet (one file, or a directory of part files, hive partitions allowed) is scanned
  lazily with ``pl.scan_parquet``; the ``PAR1`` magic bytes are checked first.
* CSV is read with every column as text (``infer_schema=False``); the loader then
  parses each column to its contract kind and counts what fails.
  The encoding is detected on the first MiB: UTF-8 with a BOM, plain UTF-8, then
  GB18030 (a superset of GBK/GB2312), UTF-16 when it has a BOM, and
  charset-normalizer only as a last resort. UTF-8 files (with or without BOM) are
  scanned lazily with ``pl.scan_csv``; any other encoding is decoded in memory and
  read eagerly (convert large GBK exports to Parquet for out-of-core work).
* pandas DataFrames (and Arrow tables) given as tables are converted to Polars once,
  column by column (:func:`engine_frame`): datetimes keep their wall clock (time-zone
  aware ones are converted to the dataset's zone like Parquet timestamps), nullable
  integers and booleans keep their nulls, categories become text, ``NaN`` becomes
  missing. A column that has no faithful Polars type (mixed Python objects, periods)
  is refused with an error naming the table and the column, never guessed.
* The delimiter is sniffed among ``, ; \\t |`` on the first 50 lines: a candidate is
  consistent when the header splits into more than one field and every line has the
  header's field count. One consistent candidate is used; none or several is an error
  naming the file.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import Any, cast

import polars as pl
import yaml

from insights.data.contract import CONTRACT, Kind, TableSpec
from insights.data.quality import QualityEntry

__all__ = [
    "DataReadError",
    "cast_polars",
    "engine_frame",
    "find_tables",
    "read_config",
    "scan_table",
    "parse_column",
]

_SAMPLE_BYTES = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


class DataReadError(ValueError):
    """The input cannot be read at all (no directory, no users table, not Parquet/CSV, undecodable)."""


def read_config(directory: Path) -> dict[str, Any]:
    """The contents of ``dataset.yaml`` (or ``dataset.yml``) in ``directory``; ``{}`` when absent."""
    for name in ("dataset.yaml", "dataset.yml"):
        path = directory / name
        if path.is_file():
            try:
                config = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise DataReadError(f"{path}: not valid YAML ({exc})") from exc
            if not isinstance(config, dict):
                raise DataReadError(
                    f"{path}: expected a mapping of settings (timezone, as_of, mapping, ...)"
                )
            return config
    return {}


def find_tables(directory: Path) -> dict[str, Path]:
    """Table name -> file or partition directory for each contract table found in ``directory``.

    Raises :class:`DataReadError` when the directory does not exist, a table comes in
    a format other than Parquet/CSV, or in two forms at once.
    """
    if not directory.exists():
        raise DataReadError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise DataReadError(
            f"{directory}: not a directory; give the directory that holds users.parquet / users.csv"
        )
    found: dict[str, Path] = {}
    for name in CONTRACT:
        candidates = sorted(
            p
            for p in directory.iterdir()
            if p.name == name or p.name.lower().split(".")[0] == name and not p.name.startswith(".")
        )
        readable = [p for p in candidates if p.is_dir() or p.suffix.lower() in (".parquet", ".csv")]
        others = [p for p in candidates if p not in readable]
        if others and not readable:
            raise DataReadError(
                f"{others[0]}: table '{name}' is not a Parquet or CSV file "
                f"(got '{others[0].suffix or 'no extension'}'); export it as {name}.parquet or {name}.csv"
            )
        if len(readable) > 1:
            listed = ", ".join(p.name for p in readable)
            raise DataReadError(f"{directory}: table '{name}' is given twice ({listed}); keep one")
        if readable:
            found[name] = readable[0]
    return found


def scan_table(path: Path) -> tuple[pl.LazyFrame, dict[str, str]]:
    """A lazy frame for one table file or partition directory, and how it was read."""
    if path.is_dir():
        parts = sorted(path.rglob("*.parquet"))
        if not parts:
            raise DataReadError(
                f"{path}: a partitioned table directory must hold .parquet files; found none"
            )
        for part in parts:
            _check_parquet(part)
        frame = pl.scan_parquet(str(path), hive_partitioning=True)
        info = {"format": "parquet", "files": str(len(parts))}
    elif path.suffix.lower() == ".parquet":
        _check_parquet(path)
        frame = pl.scan_parquet(path)
        info = {"format": "parquet"}
    else:
        frame, info = _scan_csv(path)
    try:
        frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataReadError(f"{path}: cannot be read ({exc})") from exc
    return frame, info


def _check_parquet(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise DataReadError(
            f"{path}: not a Parquet file (the PAR1 magic bytes are missing); is it another format renamed?"
        )


def _scan_csv(path: Path) -> tuple[pl.LazyFrame, dict[str, str]]:
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES + 1)
    whole = len(sample) <= _SAMPLE_BYTES
    sample = sample[:_SAMPLE_BYTES]
    if not sample.strip():
        raise DataReadError(f"{path}: the file is empty (not even a header line)")
    encoding = detect_encoding(path, sample, whole)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=whole)
    delimiter = sniff_delimiter(path, text, whole)
    info = {"format": "csv", "encoding": encoding, "delimiter": _DELIMITER_NAMES[delimiter]}
    options: dict[str, Any] = {"separator": delimiter, "infer_schema": False}
    if encoding in ("utf-8", "utf-8-sig"):
        return pl.scan_csv(path, **options), info
    try:
        decoded = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataReadError(
            f"{path}: looked like {encoding} but byte {exc.start} cannot be decoded; save it as UTF-8"
        ) from exc
    return pl.read_csv(decoded.encode("utf-8"), **options).lazy(), info


def detect_encoding(path: Path, sample: bytes, whole: bool = True) -> str:
    """The text encoding of a CSV from its first bytes (see the module docstring for the order)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise DataReadError(
            f"{path}: binary content (NUL bytes), not a CSV text file; is it Excel or Parquet renamed?"
        )
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
            return encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and best.encoding:
        return str(best.encoding)
    raise DataReadError(
        f"{path}: cannot tell the text encoding (not UTF-8, UTF-8 with BOM or GBK); save it as UTF-8"
    )


def sniff_delimiter(path: Path, text: str, whole: bool = True) -> str:
    """The field delimiter of a CSV sample (see the module docstring)."""
    lines = text.splitlines()
    if not whole and len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut
    lines = [line for line in lines if line.strip()][:50]
    consistent: list[str] = []
    ragged: dict[str, str] = {}
    for delimiter in _DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        width = len(rows[0])
        if width < 2:
            continue
        bad = next((i for i, row in enumerate(rows) if len(row) != width), None)
        if bad is None:
            consistent.append(delimiter)
        else:
            ragged[delimiter] = f"header has {width} fields but line {bad + 1} has {len(rows[bad])}"
    if len(consistent) == 1:
        return consistent[0]
    if consistent:
        names = " and ".join(_DELIMITER_NAMES[d] for d in consistent)
        raise DataReadError(
            f"{path}: ambiguous delimiter ({names} both split every line evenly); use commas"
        )
    if ragged:
        delimiter, why = next(iter(ragged.items()))
        raise DataReadError(
            f"{path}: rows have different numbers of fields with the {_DELIMITER_NAMES[delimiter]} delimiter ({why})"
        )
    raise DataReadError(
        f"{path}: no delimiter found: the header has one field for each of comma, semicolon, tab and pipe"
    )


def engine_frame(native: Any, table: str) -> Any:
    """``native`` itself when it is a lazy engine frame; a Polars frame for pandas or Arrow input.

    Lazy frames (Polars, DuckDB, Spark) and Polars DataFrames pass through. A pandas
    DataFrame is converted once here, column by column (the narwhals pandas backend
    would compute every analysis eagerly in pandas, and its datetime arithmetic gave
    wrong day counts: every user churned). Arrow tables and other eager frames go
    through Arrow.

    Raises
    ------
    DataReadError
        A pandas column cannot be converted faithfully; the message names
        ``table.column``, its dtype and what to do.

    Examples
    --------
    >>> import pandas as pd
    >>> f = engine_frame(pd.DataFrame({"user_id": pd.array([1, None], dtype="Int64"),
    ...                                "platform": pd.Categorical(["douyin", "douyin"])}), "users")
    >>> f.schema
    Schema([('user_id', Int64), ('platform', Categorical)])
    >>> engine_frame(pd.DataFrame({"user_id": [1, "a"]}), "users")
    Traceback (most recent call last):
    ...
    insights.data._read.DataReadError: users.user_id: the pandas column (object) mixes Python types ...
    """
    if isinstance(native, pl.DataFrame | pl.LazyFrame):
        return native
    if type(native).__module__.split(".")[0] == "pandas":
        return _from_pandas(native, table)
    import narwhals as nw

    try:
        wrapped = nw.from_native(native)
    except TypeError:
        return native  # not a frame narwhals knows: reading it says so
    if not isinstance(wrapped, nw.DataFrame):
        return native  # a lazy engine frame (DuckDB, Spark): computed in its engine
    inner = wrapped.to_native()
    if isinstance(inner, pl.DataFrame):
        return inner
    if type(inner).__module__.split(".")[0] == "pandas":
        return _from_pandas(inner, table)
    return pl.from_arrow(wrapped.to_arrow())  # Arrow tables and other eager frames


def _from_pandas(frame: Any, table: str) -> pl.DataFrame:
    import pandas as pd

    names = [str(n) for n in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataReadError(
            f"{table}: the pandas frame has columns {twice} more than once; keep one"
        )
    if not isinstance(frame.index, pd.RangeIndex) and any(n is not None for n in frame.index.names):
        frame = frame.reset_index()  # a named index (user_id set as index) is a column
    columns: list[pl.Series] = []
    for name in frame.columns:
        series = frame[name]
        dtype = series.dtype
        where = f"{table}.{name}: the pandas column ({dtype})"
        if isinstance(dtype, pd.PeriodDtype):
            raise DataReadError(
                f"{where} holds periods; convert it with .dt.start_time (a timestamp) before loading"
            )
        try:
            plain = series.rename(str(name)).reset_index(drop=True)
            out = cast(pl.Series, pl.from_pandas(plain, nan_to_null=True))
        except (TypeError, ValueError, pl.exceptions.PolarsError, ImportError) as exc:
            kind = "mixes Python types" if str(dtype) == "object" else "cannot be converted"
            raise DataReadError(
                f"{where} {kind} ({type(exc).__name__}: {exc}); give one type per column "
                "(e.g. .astype(str) for text ids, pd.to_datetime for timestamps)"
            ) from None
        if out.dtype == pl.Object or (not out.dtype.is_nested() and "Extension" in str(out.dtype)):
            raise DataReadError(
                f"{where} holds Python objects Polars cannot type (got {out.dtype}); "
                "give one plain type per column (text, number, timestamp, date or bool)"
            )
        if isinstance(out.dtype, pl.Datetime) and out.dtype.time_unit == "ns":
            # microseconds, like Parquet files and Spark: the same instants for every input
            out = out.cast(pl.Datetime("us", out.dtype.time_zone))
        columns.append(out)
    return pl.DataFrame(columns)


def parse_column(name: str, dtype: pl.DataType, kind: Kind, timezone: str) -> pl.Expr | None:
    """A Polars expression turning column ``name`` of ``dtype`` into contract ``kind``.

    ``None`` when the column already has the right type. Values that cannot be
    parsed become null (``strict=False``) so the loader can count them.
    Tz-aware datetimes are converted to ``timezone`` and made naive.
    """
    col = pl.col(name)
    converted = False
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        col = col.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
        dtype, converted = pl.Datetime(dtype.time_unit), True
    text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if kind in ("category", "string"):
        return None if dtype == pl.String else col.cast(pl.String)
    if kind == "id":
        if dtype in (pl.String, pl.Int64):
            return None
        if dtype.is_integer():
            return col.cast(pl.Int64)
        if dtype.is_float():
            return pl.when(col == col.floor()).then(col.cast(pl.Int64, strict=False))
        return col.cast(pl.String)
    if kind == "datetime":
        if isinstance(dtype, pl.Datetime):
            return col if converted else None
        if dtype == pl.Date:
            return col.cast(pl.Datetime("us"))
        if text:
            return _parse_datetime(col.cast(pl.String).str.strip_chars(), timezone)
        return pl.lit(None, pl.Datetime("us"))
    if kind == "date":
        if dtype == pl.Date:
            return None
        if isinstance(dtype, pl.Datetime):
            return col.dt.date()
        if text:
            return _parse_datetime(col.cast(pl.String).str.strip_chars(), timezone).dt.date()
        return pl.lit(None, pl.Date)
    if kind in ("float", "int"):
        target = pl.Float64 if kind == "float" else pl.Int64
        if dtype == target:
            return None
        if dtype.is_numeric():
            if kind == "int" and dtype.is_float():
                return pl.when(col == col.floor()).then(col.cast(pl.Int64, strict=False))
            return col.cast(target, strict=False)
        if text:
            return col.cast(pl.String).str.strip_chars().cast(target, strict=False)
        return pl.lit(None, target)
    # bool
    if dtype == pl.Boolean:
        return None
    if dtype.is_integer():
        return pl.when(col == 1).then(pl.lit(True)).when(col == 0).then(pl.lit(False))
    if text:
        lowered = col.cast(pl.String).str.strip_chars().str.to_lowercase()
        return (
            pl.when(lowered.is_in(_TRUE))
            .then(pl.lit(True))
            .when(lowered.is_in(_FALSE))
            .then(pl.lit(False))
        )
    return pl.lit(None, pl.Boolean)


def _parse_datetime(text: pl.Expr, timezone: str) -> pl.Expr:
    naive = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    aware = [
        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        .dt.convert_time_zone(timezone)
        .dt.replace_time_zone(None)
        for f in _AWARE_FORMATS
    ]
    return pl.coalesce(*naive, *aware)


def cast_polars(
    native: pl.LazyFrame, spec: TableSpec, timezone: str
) -> tuple[pl.LazyFrame, list[QualityEntry]]:
    """Parse every contract column of a Polars frame; count what cannot be parsed (rule ``type``).

    Blank text counts as missing (null), not as a parse failure. One aggregate query
    counts the failures per column, then one small query per failing column fetches
    up to five example keys (the table key, else 1-based row numbers).
    """
    schema = native.collect_schema()
    present = [c for c in spec.columns if c.name in schema]
    blanks = [
        pl.when(pl.col(c.name).str.strip_chars() != "").then(pl.col(c.name)).alias(c.name)
        for c in present
        if schema[c.name] == pl.String
    ]
    if blanks:
        native = native.with_columns(blanks)
    exprs = {
        c.name: e
        for c in present
        if (e := parse_column(c.name, schema[c.name], c.kind, timezone)) is not None
    }
    if not exprs:
        return native, []
    fails = {c: pl.col(c).is_not_null() & e.is_null() for c, e in exprs.items()}
    counts = (
        native.select([f.sum().alias(c) for c, f in fails.items()])
        .collect(engine="streaming")
        .row(0, named=True)
    )
    found: list[QualityEntry] = []
    for column, rows in counts.items():
        if not rows:
            continue
        key = spec.key if spec.key and spec.key != column and spec.key in schema else None
        pick = pl.col(key) if key else pl.col("__row")
        keys = (
            native.with_row_index("__row", offset=1)
            .filter(fails[column])
            .select(pick)
            .head(5)
            .collect()
        )
        shown = tuple(str(v) if key else f"row {v}" for v in keys.to_series().to_list())
        message = (
            f"{rows} values of {column} cannot be read as {spec.column(column).kind} "
            f"(stored as {schema[column]}); they are treated as missing"
        )
        found.append(QualityEntry(spec.name, column, "type", int(rows), shown, "error", message))
    return native.with_columns(**exprs), found
