"""``dataset.yaml``: reading it and refusing keys it does not know.

A misspelt key is an error naming the key and the closest allowed one, never silently
ignored. The top-level keys are :data:`CONFIG_KEYS`; ``files:`` holds per-table read
options (:data:`FILE_KEYS`), checked here with their values::

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
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from insights.data.contract import CONTRACT

__all__ = ["CONFIG_KEYS", "DELIMITERS", "FILE_KEYS", "check_config", "closest"]

#: The top-level keys of ``dataset.yaml``.
CONFIG_KEYS = (
    "timezone",
    "currency",
    "as_of",
    "mapping",
    "allow_unknown_labels",
    "notes",
    "files",
    "derive",
    "refunds",
    "export_start",
    "churn_gap",
    "report",
)
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
    _check_keys(config, CONFIG_KEYS, path, "")
    _check_tables(config.get("mapping"), path, "mapping")
    _check_files(config.get("files"), path)


def _check_keys(found: Mapping[Any, Any], allowed: Iterable[str], path: Path, where: str) -> None:
    allowed = tuple(allowed)
    for key in found:
        if key not in allowed:
            place = f" in {where}" if where else ""
            raise ValueError(
                f"{path}: unknown key '{key}'{place}{closest(key, allowed)}; "
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
        return ValueError(f"{path}: {where}.{key} is {options[key]!r}; expected {expected}")

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
                    f"{path}: {where}.formats.{column} is {fmt!r}; expected a strftime "
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
