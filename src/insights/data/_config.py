"""``dataset.yaml``: reading it safely and checking it against a declarative schema.

The file is data from outside, so it is read defensively (:func:`parse_config`): at most
:data:`MAX_CONFIG_BYTES`, UTF-8 (a BOM is allowed), YAML anchors and aliases (``&a`` /
``*a``, the "billion laughs" expansion) refused before anything is built, and every
message that quotes the input capped (:func:`shorten`).

The parsed mapping is checked against :data:`CONFIG_SCHEMA` (:func:`check_config`): a
misspelt key is an error naming the key and the closest allowed one, never silently
ignored, and each value's type is checked. The checker is a small hand-written walker
over that declarative dict rather than ``jsonschema``/``pydantic``: neither is a declared
dependency of the package (they are only installed transitively), and their messages
neither suggest the closest key nor name the file the way every other data error does.
The top-level keys are :data:`CONFIG_KEYS`; ``files:`` holds per-table read options
(:data:`FILE_KEYS`), checked here with their values::

    files:
      orders:
        delimiter: whitespace     # , ; tab | whitespace (default: detected)
        header: false             # the first line is data; then columns: is required
        columns: [user_id, ordered_at, quantity, amount]
        decimal: ","              # "." (default) or ","
        thousands: "."            # , . ' " " or none (default: , with ".", . or space with ",")
        formats: {ordered_at: "%d/%m/%Y %H:%M"}   # strftime, or epoch_s / epoch_ms
        true_values: [paid back]  # extra words for true / false flags
        false_values: [kept]
        encoding: gb18030         # default: detected
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from insights.data.contract import CONTRACT

__all__ = [
    "CONFIG_KEYS",
    "CONFIG_SCHEMA",
    "DELIMITERS",
    "FILE_KEYS",
    "MAX_CONFIG_BYTES",
    "check_config",
    "closest",
    "parse_config",
    "shorten",
]

#: The largest ``dataset.yaml`` read (1 MiB); a real one is a few hundred bytes.
MAX_CONFIG_BYTES = 1 << 20
_MAX_DEPTH = 32

#: The keys of one table under ``files:``.
FILE_KEYS = (
    "header",
    "columns",
    "delimiter",
    "decimal",
    "thousands",
    "formats",
    "true_values",
    "false_values",
    "encoding",
)
#: The type of each top-level value (``files`` and ``mapping`` are checked in detail below):
#: ``text``, ``bool``, ``int``, ``date`` (a YAML date, or text such as 2024-12-31), ``table
#: map`` (table name -> mapping), ``mapping`` (checked by its reader), ``notes`` (text or a
#: list of text), or a nested schema dict of the same shape.
CONFIG_SCHEMA: dict[str, Any] = {
    "timezone": "text",
    "currency": "text",
    "as_of": "date",
    "mapping": "table map",
    "allow_unknown_labels": "bool",
    "notes": "notes",
    "files": "table map",
    "derive": "mapping",
    "refunds": ("net", "flag", "error"),
    "export_start": "date",
    "churn_gap": "int",
    "report": {"title": "text", "subtitle": "text", "compare_documents": "bool"},
}
#: The top-level keys of ``dataset.yaml``.
CONFIG_KEYS = tuple(CONFIG_SCHEMA)
_EXPECTED = {
    "text": "text",
    "bool": "true or false",
    "int": "a whole number",
    "date": "a date such as 2024-12-31",
    "table map": "a mapping of table names to settings",
    "mapping": "a mapping",
    "notes": "text",
}


#: ``delimiter:`` values and the character each stands for (``whitespace``: runs of spaces/tabs).
DELIMITERS = {
    ",": ",",
    "comma": ",",
    ";": ";",
    "semicolon": ";",
    "\t": "\t",
    "tab": "\t",
    "|": "|",
    "pipe": "|",
    "whitespace": "whitespace",
}
_THOUSANDS = (",", ".", " ", "'", "none")


def closest(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when nothing is close.

    Examples
    --------
    >>> closest("timezon", ["timezone", "currency"])
    " (did you mean 'timezone'?)"
    """
    found = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{found[0]}'?)" if found else ""


def shorten(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters: any message that quotes input uses it.

    Examples
    --------
    >>> shorten("x" * 100, width=12)
    "'xxxxxxxx..."
    """
    text = repr(value[: width + 1] if isinstance(value, str) else value)
    return text if len(text) <= width else text[: width - 3] + "..."


def parse_config(data: bytes, path: Path) -> dict[str, Any]:
    """The mapping in the bytes of a ``dataset.yaml``, read defensively; ``{}`` when empty.

    Raises
    ------
    ValueError
        The file is larger than :data:`MAX_CONFIG_BYTES`, not UTF-8, not YAML, uses anchors
        or aliases, or is not a mapping. One short line naming the file (input quoted
        at most a few dozen characters).

    Examples
    --------
    >>> parse_config(b"timezone: UTC\\n", Path("dataset.yaml"))
    {'timezone': 'UTC'}
    >>> parse_config(b"a: &x [1]\\nb: *x\\n", Path("dataset.yaml"))
    Traceback (most recent call last):
    ...
    ValueError: dataset.yaml: YAML anchors and aliases (&name, *name) are not allowed (line 1); write each value out
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(
            f"{path}: {len(data):,} bytes; dataset.yaml may hold at most {MAX_CONFIG_BYTES:,}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        alias = _first_alias(text, path)
        config = None if alias is not None else yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = str(getattr(exc, "problem", None) or type(exc).__name__)[:80]
        raise ValueError(f"{path}: not valid YAML{line} ({problem})") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid YAML (nested too deeply)") from None
    except ValueError as exc:  # a value YAML recognises but cannot build, e.g. 2024-13-45
        if str(exc).startswith(f"{path}: "):
            raise
        raise ValueError(f"{path}: a value cannot be read ({str(exc)[:80]})") from None
    if alias is not None:
        raise ValueError(
            f"{path}: YAML anchors and aliases (&name, *name) are not allowed "
            f"(line {alias.start_mark.line + 1}); write each value out"
        )
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(
            f"{path}: expected a mapping of settings (timezone, as_of, mapping, ...), "
            f"got {type(config).__name__}"
        )
    return config


_OPEN = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _first_alias(text: str, path: Path) -> yaml.Token | None:
    """The first anchor or alias token, scanning lazily; refuses nesting deeper than 32.

    Scanning stops at the first problem, so neither an alias expansion nor PyYAML's
    slow (quadratic) handling of deep flow nesting is ever reached.
    """
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
            return token
        if isinstance(token, _OPEN):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ValueError(
                    f"{path}: nested more than {_MAX_DEPTH} levels deep "
                    f"(line {token.start_mark.line + 1}); dataset.yaml needs a few"
                )
        elif isinstance(token, _CLOSE):
            depth -= 1
    return None


def check_config(config: Mapping[str, Any], path: Path) -> None:
    """Refuse unknown keys and bad ``files`` options of a parsed ``dataset.yaml``.

    Raises
    ------
    ValueError
        A key outside :data:`CONFIG_KEYS`, a ``mapping`` or ``files`` entry for a table
        outside the contract, or a ``files`` option outside :data:`FILE_KEYS` or with a
        value it cannot take. The message names the file, the key and the closest
        allowed key (``read_config`` raises it as ``DataReadError``).

    Examples
    --------
    >>> check_config({"timezone": "UTC", "curency": "USD"}, Path("dataset.yaml"))
    Traceback (most recent call last):
    ...
    ValueError: dataset.yaml: unknown key 'curency' (did you mean 'currency'?); keys are timezone, ...
    """
    _check_schema(config, CONFIG_SCHEMA, path, "")
    _check_tables(config.get("mapping"), path, "mapping")
    for table, pairs in (config.get("mapping") or {}).items():
        for a, b in pairs.items():
            if not isinstance(a, str) or not isinstance(b, str):
                raise ValueError(
                    f"{path}: mapping.{table}: {shorten(a)}: {shorten(b)} must map a column "
                    "name to a column name (mapping: {orders: {amount: total}})"
                )
    _check_files(config.get("files"), path)


def _check_schema(
    found: Mapping[Any, Any], schema: Mapping[str, Any], path: Path, where: str
) -> None:
    """Keys of ``found`` against ``schema`` (closest key on a miss), then each value's type."""
    _check_keys(found, schema, path, where)
    for key, value in found.items():
        want, name = schema[key], f"{where}.{key}" if where else str(key)
        if value is None:
            continue
        if isinstance(want, dict):
            if not isinstance(value, dict):
                raise ValueError(f"{path}: {name} is {shorten(value)}; expected a mapping")
            _check_schema(value, want, path, name)
        elif isinstance(want, tuple):
            if value not in want:
                raise ValueError(
                    f"{path}: {name} is {shorten(value)}; expected one of {', '.join(want)}"
                )
        elif not _is(value, want):
            raise ValueError(f"{path}: {name} is {shorten(value)}; expected {_EXPECTED[want]}")


def _is(value: Any, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "date":
        if isinstance(value, dt.date):
            return True
        if not isinstance(value, str):
            return False
        try:
            dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return False
        return True
    if kind == "notes":
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
    return isinstance(value, dict)


def _check_keys(found: Mapping[Any, Any], allowed: Iterable[str], path: Path, where: str) -> None:
    allowed = tuple(allowed)
    for key in found:
        if key not in allowed:
            place = f" in {where}" if where else ""
            raise ValueError(
                f"{path}: unknown key {shorten(key, 40)}{place}{closest(str(key)[:100], allowed)}; "
                f"keys are {', '.join(allowed)}"
            )


def _check_tables(section: Any, path: Path, where: str) -> None:
    if section is None:
        return
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise ValueError(
            f"{path}: {where} must map table names to settings ({where}: {{orders: {{...}}}})"
        )
    _check_keys(section, CONTRACT, path, where)


def _check_files(files: Any, path: Path) -> None:
    _check_tables(files, path, "files")
    for table, options in (files or {}).items():
        _check_file_options(table, options, path)


def _check_file_options(table: str, options: Mapping[str, Any], path: Path) -> None:
    where = f"files.{table}"
    _check_keys(options, FILE_KEYS, path, where)

    def bad(key: str, expected: str) -> ValueError:
        return ValueError(f"{path}: {where}.{key} is {shorten(options[key])}; expected {expected}")

    if "header" in options and not isinstance(options["header"], bool):
        raise bad("header", "true or false")
    columns = options.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not columns or len(set(map(str, columns))) != len(columns)
    ):
        raise bad("columns", "a list of distinct column names")
    if options.get("header") is False and not columns:
        raise ValueError(
            f"{path}: {where}.header is false, so {where}.columns must name the fields in order"
        )
    if "delimiter" in options and options["delimiter"] not in DELIMITERS:
        raise bad("delimiter", "one of , ; tab | whitespace")
    if "decimal" in options and options["decimal"] not in (".", ","):
        raise bad("decimal", '"." or ","')
    thousands = options.get("thousands", "none")
    if str(thousands) not in _THOUSANDS and thousands is not None:
        raise bad("thousands", 'one of , . \' " " none')
    if "decimal" in options and thousands == options["decimal"]:
        raise bad("thousands", "a character other than the decimal separator")
    formats = options.get("formats")
    if formats is not None:
        if not isinstance(formats, dict) or not all(isinstance(v, str) for v in formats.values()):
            raise bad("formats", 'a mapping of column to format ({ordered_at: "%d/%m/%Y"})')
        _check_keys(formats, CONTRACT[table].names, path, f"{where}.formats")
        for column, fmt in formats.items():
            if "%" not in fmt and fmt not in ("epoch_s", "epoch_ms"):
                raise ValueError(
                    f"{path}: {where}.formats.{column} is {shorten(fmt)}; expected a strftime "
                    "format such as '%d/%m/%Y %H:%M', or epoch_s / epoch_ms"
                )
    for key in ("true_values", "false_values"):
        if key in options and not isinstance(options[key], list):
            raise bad(key, "a list of words")
    if "encoding" in options:
        try:
            codecs.lookup(str(options["encoding"]))
        except LookupError:
            raise bad("encoding", "a text encoding such as utf-8 or gb18030") from None
