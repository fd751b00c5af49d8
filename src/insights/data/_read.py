"""Reading a dataset directory into Polars lazy frames.

Everything here is Polars-specific on purpose: files are always read with Polars.
Column values are parsed to their contract kinds in ``insights.data._parse``;
``dataset.yaml`` is checked in ``insights.data._config``.

* Parquet (one file, or a directory of part files, hive partitions allowed) is scanned
  lazily with ``pl.scan_parquet``; the ``PAR1`` magic bytes are checked first.
* Text tables (``.csv``, ``.tsv``, ``.txt``) are read with every column as text
  (``infer_schema=False``); the loader then parses each column to its contract kind and
  counts what fails. The encoding is detected on the first MiB: UTF-8 with a BOM, plain
  UTF-8, then GB18030 (a superset of GBK/GB2312), UTF-16 when it has a BOM, and
  charset-normalizer only as a last resort (``files: {orders: {encoding: ...}}`` in
  ``dataset.yaml`` overrides it). UTF-8 files (with or without BOM) are scanned lazily;
  any other encoding is decoded in memory and read eagerly (convert large GBK exports to
  Parquet for out-of-core work).
* pandas DataFrames (and Arrow tables) given as tables are converted to Polars once,
  column by column (:func:`engine_frame`): datetimes keep their wall clock (time-zone
  aware ones are converted to the dataset's zone like Parquet timestamps), nullable
  integers and booleans keep their nulls, categories become text, ``NaN`` becomes
  missing. A column that has no faithful Polars type (mixed Python objects, periods)
  is refused with an error naming the table and the column, never guessed.
* The delimiter is sniffed among ``, ; \\t |`` on the first 50 lines: a candidate is
  consistent when the header splits into more than one field and every line has the
  header's field count. One consistent candidate is used; several is an error naming
  the file. When none is consistent but every line splits into the same number (two or
  more) of fields on runs of spaces and tabs, the file is whitespace-separated (leading
  and trailing spaces ignored; fields cannot contain spaces), like the CDNOW master file
  ``00001 19970101  1  11.77``. ``files: {orders: {delimiter: whitespace}}`` sets it.
* ``files: {orders: {header: false, columns: [...]}}`` reads a file without a header
  line, naming its fields in order (``columns`` also renames the fields of a file with a
  header).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import polars as pl

from insights.data._config import (
    DELIMITERS,
    MAX_CONFIG_BYTES,
    check_config,
    parse_config,
    shorten,
)
from insights.data._parse import cast_polars, parse_column
from insights.data.contract import CONTRACT

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
_WHITESPACE = "whitespace"
_DELIMITER_NAMES = {
    ",": "comma",
    ";": "semicolon",
    "\t": "tab",
    "|": "pipe",
    _WHITESPACE: _WHITESPACE,
}
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


class DataReadError(ValueError):
    """The input cannot be read at all (no directory, no users table, not Parquet/CSV, undecodable)."""


def read_config(directory: Path) -> dict[str, Any]:
    """The contents of ``dataset.yaml`` (or ``dataset.yml``) in ``directory``; ``{}`` when absent.

    Raises
    ------
    DataReadError
        The file is too large, not YAML, uses anchors/aliases, is not a mapping, has an
        unknown key (the message names it and the closest allowed key) or a value of the
        wrong type (see ``insights.data._config``).
    """
    for name in ("dataset.yaml", "dataset.yml"):
        path = directory / name
        if path.is_file():
            try:
                if path.stat().st_size > MAX_CONFIG_BYTES:
                    raise ValueError(
                        f"{path}: {path.stat().st_size:,} bytes; dataset.yaml may hold at most "
                        f"{MAX_CONFIG_BYTES:,}"
                    )
                config = parse_config(path.read_bytes(), path)
                check_config(config, path)
            except OSError as exc:
                raise DataReadError(f"{path}: cannot be read ({exc.strerror})") from None
            except ValueError as exc:
                raise DataReadError(str(exc)) from None
            return config
    return {}


def find_tables(directory: Path) -> dict[str, Path]:
    """Table name -> file or partition directory for each contract table found in ``directory``.

    Raises :class:`DataReadError` when the directory does not exist, a table comes in
    a format other than Parquet or a text table (``.csv``, ``.tsv``, ``.txt``), or in
    two forms at once.
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
        readable = [
            p for p in candidates if p.is_dir() or p.suffix.lower() in (".parquet", *_TEXT_SUFFIXES)
        ]
        others = [p for p in candidates if p not in readable]
        if others and not readable:
            raise DataReadError(
                f"{others[0]}: table '{name}' is not a Parquet or CSV file "
                f"(got '{others[0].suffix or 'no extension'}'); export it as {name}.parquet "
                f"or {name}.csv (.tsv and .txt text tables are read too)"
            )
        if len(readable) > 1:
            listed = ", ".join(p.name for p in readable)
            raise DataReadError(f"{directory}: table '{name}' is given twice ({listed}); keep one")
        if readable:
            found[name] = readable[0]
    return found


def scan_table(
    path: Path, options: Mapping[str, Any] | None = None
) -> tuple[pl.LazyFrame, dict[str, str]]:
    """A lazy frame for one table file or partition directory, and how it was read.

    ``options`` are the table's ``files:`` settings from ``dataset.yaml`` (``header``,
    ``columns``, ``delimiter``, ``encoding``; the others are for parsing); they apply
    to text tables.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "orders.txt"
    >>> _ = path.write_text(" 00001 19970101  1  11.77\\n 00002 19970112  1  12.00\\n")
    >>> frame, info = scan_table(path, {"header": False,
    ...                                 "columns": ["user_id", "ordered_at", "cds", "amount"]})
    >>> info["delimiter"], frame.collect().row(0)
    ('whitespace', ('00001', '19970101', '1', '11.77'))
    """
    options = options or {}
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
        frame, info = _scan_text(path, options)
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


def _scan_text(path: Path, options: Mapping[str, Any]) -> tuple[pl.LazyFrame, dict[str, str]]:
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES + 1)
    whole = len(sample) <= _SAMPLE_BYTES
    sample = sample[:_SAMPLE_BYTES]
    if not sample.strip():
        raise DataReadError(f"{path}: the file is empty (not even a header line)")
    table = path.name.lower().split(".")[0]
    encoding = str(options.get("encoding") or detect_encoding(path, sample, whole))
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig", "utf8")
    if not utf8 and sample.startswith(codecs.BOM_UTF8):
        sample = sample[len(codecs.BOM_UTF8) :]  # a UTF-8 BOM on a file of another encoding
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=whole)
    given = options.get("delimiter")
    delimiter = DELIMITERS[given] if given is not None else sniff_delimiter(path, text, whole)
    header = bool(options.get("header", True))
    first = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    if delimiter == _WHITESPACE:
        names = first.split()
    else:
        names = next(csv.reader([first], delimiter=delimiter))
    columns = [str(c) for c in options.get("columns") or ()]
    if header and not columns:
        _refuse_duplicates(path, table, names)
    if columns and len(columns) != len(names):
        raise DataReadError(
            f"{path}: files.{path.stem}.columns names {len(columns)} fields but the first line "
            f"has {len(names)} ({_DELIMITER_NAMES[delimiter]}-separated)"
        )
    info = {"format": "csv", "encoding": encoding, "delimiter": _DELIMITER_NAMES[delimiter]}
    source: Path | bytes = path
    if utf8:
        _check_utf8(path, table, bom=sample.startswith(codecs.BOM_UTF8))
    else:
        raw = path.read_bytes()
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            source = raw.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataReadError(
                f"{path}: table {table}: byte {exc.start} cannot be decoded as {encoding}; "
                f"set files: {{{table}: {{encoding: ...}}}} in dataset.yaml, or save it as UTF-8"
            ) from None
    if delimiter == _WHITESPACE:
        return _scan_whitespace(source, columns or names, header), info
    scan_options: dict[str, Any] = {
        "separator": delimiter,
        "infer_schema": False,
        "has_header": header,
    }
    if columns:
        scan_options["new_columns"] = columns
    if isinstance(source, Path):
        return pl.scan_csv(source, **scan_options), info
    return pl.read_csv(source, **scan_options).lazy(), info


def _refuse_duplicates(path: Path, table: str, names: list[str]) -> None:
    """A header that names a column twice is an error (one of them would be lost)."""
    seen: set[str] = set()
    for name in (n.strip().lstrip("\ufeff") for n in names):
        if name in seen:
            raise DataReadError(
                f"{path}: table {table}: column {shorten(name, 40)} appears twice in the header; "
                f"rename one, or name the fields with files: {{{table}: {{columns: [...]}}}}"
            )
        seen.add(name)


def _check_utf8(path: Path, table: str, *, bom: bool, chunk: int = 1 << 24) -> None:
    """Decode the whole file as UTF-8 (streamed): a bad byte past the sample is named here."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = offset + exc.start
                head = "starts with a UTF-8 byte-order mark but " if bom else ""
                raise DataReadError(
                    f"{path}: table {table}: {head}byte {at:,} is not UTF-8 (GBK text?); set "
                    f"files: {{{table}: {{encoding: gb18030}}}} (or its encoding) in dataset.yaml, "
                    "or save it as UTF-8"
                ) from None
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise DataReadError(
            f"{path}: table {table}: the file ends inside a UTF-8 character; set "
            f"files: {{{table}: {{encoding: ...}}}} in dataset.yaml, or save it as UTF-8"
        ) from None


def _scan_whitespace(source: Path | bytes, names: list[str], header: bool) -> pl.LazyFrame:
    """Lines split on runs of spaces and tabs (lazy).

    A short line leaves its last fields missing; a long one keeps the extra fields in its
    last field, so that value is rejected with its row number instead of dropped.
    """
    line = pl.col("line").str.strip_chars_start("\ufeff").str.strip_chars()
    lines = pl.scan_lines(source).select(line).filter(pl.col("line") != "")
    if header:
        lines = lines.slice(1)
    fields = (
        pl.col("line")
        .str.replace_all(r"\s+", " ")
        .str.splitn(" ", len(names))
        .struct.rename_fields(names)
    )
    return lines.select(fields.alias("__fields")).unnest("__fields")


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
    """The field delimiter of a text-table sample, or ``"whitespace"`` (see the module docstring)."""
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
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and min(widths) >= 2:
        return _WHITESPACE
    if ragged:
        delimiter, why = next(iter(ragged.items()))
        raise DataReadError(
            f"{path}: rows have different numbers of fields with the {_DELIMITER_NAMES[delimiter]} delimiter ({why})"
        )
    raise DataReadError(
        f"{path}: no delimiter found: the header has one field for each of comma, semicolon, "
        "tab and pipe, and lines do not split evenly on spaces"
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
