"""The loader's door: ``dataset.yaml`` against its schema, encodings, headers, manifests.

Each test hands the loader one hostile or broken input written by hand and checks that it
is refused with a short message naming the file (and table or key), or read correctly.
The expected values are worked out by hand from the bytes written, not by the loader.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest

from insights.data import load_dataset, validate
from insights.data._config import CONFIG_KEYS, MAX_CONFIG_BYTES, check_config, parse_config
from insights.data._read import DataReadError

USERS = "user_id,first_seen_at,platform\nu1,2024-01-01 10:00,douyin\nu2,2024-01-02 09:00,kuaishou\n"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dataset-yaml.md"


def _dataset(tmp_path: Path, config: str | bytes | None = None, users: bytes | None = None) -> Path:
    d = tmp_path / "ds"
    d.mkdir(exist_ok=True)
    (d / "users.csv").write_bytes(users if users is not None else USERS.encode())
    if config is not None:
        data = config.encode() if isinstance(config, str) else config
        (d / "dataset.yaml").write_bytes(data)
    return d


def _refused(path: Path) -> str:
    with pytest.raises(DataReadError) as info:
        load_dataset(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    return message


# --- dataset.yaml ----------------------------------------------------------------------------

LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
    "timezone: *i\n"
)


def test_billion_laughs_is_refused_in_one_short_line(tmp_path: Path) -> None:
    assert len(LAUGHS.encode()) < 400  # 9**9 "lol"s once expanded
    message = _refused(_dataset(tmp_path, LAUGHS))
    assert "dataset.yaml" in message and "anchors and aliases" in message and "line 1" in message


def test_merge_keys_need_anchors_so_are_refused_too(tmp_path: Path) -> None:
    config = "report: &r {title: A}\nnotes: x\nfiles:\n  users:\n    <<: *r\n"
    assert "anchors and aliases" in _refused(_dataset(tmp_path, config))


def test_size_limit(tmp_path: Path) -> None:
    config = "notes: '" + "x" * MAX_CONFIG_BYTES + "'\n"
    message = _refused(_dataset(tmp_path, config))
    assert f"at most {MAX_CONFIG_BYTES:,}" in message and "dataset.yaml" in message


def test_deep_nesting_is_a_short_error(tmp_path: Path) -> None:
    config = "notes: " + "[" * 50_000 + "]" * 50_000 + "\n"
    assert "dataset.yaml: nested more than 32 levels deep (line 1)" in _refused(
        _dataset(tmp_path, config)
    )


def test_not_utf8(tmp_path: Path) -> None:
    config = "notes: " + "\u4e2d\u6587\n"
    assert "not UTF-8" in _refused(_dataset(tmp_path, config.encode("gbk")))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("timezon: UTC\n", "unknown key 'timezon' (did you mean 'timezone'?)"),
        ("report:\n  titel: A\n", "unknown key 'titel' in report (did you mean 'title'?)"),
        ("files:\n  users:\n    delimeter: ';'\n", "(did you mean 'delimiter'?)"),
        ("mapping:\n  user:\n    user_id: id\n", "in mapping (did you mean 'users'?)"),
        ("timezone: 5\n", "timezone is 5; expected text"),
        ("allow_unknown_labels: sometimes\n", "expected true or false"),
        ("refunds: partial\n", "refunds is 'partial'; expected one of net, flag, error"),
        ("churn_gap: 1.5\n", "churn_gap is 1.5; expected a whole number"),
        ("export_start: soon\n", "export_start is 'soon'; expected a date"),
        ("as_of: [2024]\n", "as_of is [2024]; expected a date"),
        ("notes: {a: 1}\n", "notes is {'a': 1}; expected text"),
        ("report: [1]\n", "report is [1]; expected a mapping"),
        ("report:\n  compare_documents: maybe\n", "report.compare_documents is 'maybe'"),
        ("derive: users\n", "derive is 'users'; expected a mapping"),
        ("mapping:\n  orders:\n    amount: [a, b]\n", "mapping.orders: 'amount': ['a', 'b']"),
        ("- a\n- b\n", "expected a mapping of settings"),
        ("as_of: 2024-13-45\n", "a value cannot be read (month must be in 1..12)"),
        ("timezone: 'UTC\n", "not valid YAML"),
    ],
)
def test_schema_errors_name_the_file_and_key(tmp_path: Path, config: str, expected: str) -> None:
    message = _refused(_dataset(tmp_path, config))
    assert message.startswith(str(tmp_path / "ds" / "dataset.yaml")), message
    assert expected in message, message


def test_quoted_input_is_capped(tmp_path: Path) -> None:
    key = "k" * 100_000
    message = _refused(_dataset(tmp_path, f"? {key}\n: 1\n"))  # an explicit (long) key
    assert "unknown key 'kkkk" in message and len(message) < 400
    message = _refused(_dataset(tmp_path, f"timezone: [{', '.join(['zzzz'] * 5_000)}]\n"))
    assert "timezone is ['zzzz', " in message and len(message) < 400


def test_every_documented_key_passes_the_schema() -> None:
    """The complete example of docs/dataset-yaml.md is accepted as written."""
    text = DOCS.read_text(encoding="utf-8")
    example = re.search(r"A complete example.*?```yaml\n(.*?)```", text, re.S)
    assert example is not None
    config = parse_config(example.group(1).encode(), Path("dataset.yaml"))
    assert set(config) == set(CONFIG_KEYS)
    check_config(config, Path("dataset.yaml"))


def test_empty_and_null_values_mean_the_default(tmp_path: Path) -> None:
    ds = load_dataset(_dataset(tmp_path, "# nothing\ntimezone:\nreport:\n"))
    assert ds.timezone == "Asia/Shanghai"


# --- text tables -----------------------------------------------------------------------------


def _gbk_users(bom: bool) -> bytes:
    text = "user_id,first_seen_at,platform,note\nu1,2024-01-01,douyin,\u4e2d\u6587\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("gbk")


def test_gbk_behind_a_utf8_bom_names_file_table_and_option(tmp_path: Path) -> None:
    message = _refused(_dataset(tmp_path, users=_gbk_users(bom=True)))
    assert "users.csv: table users: starts with a UTF-8 byte-order mark" in message
    assert "files: {users: {encoding: gb18030}}" in message
    with pytest.raises(DataReadError, match="table users"):
        validate(tmp_path / "ds")


def test_gbk_behind_a_bom_reads_with_the_encoding_option(tmp_path: Path) -> None:
    config = "files:\n  users:\n    encoding: gb18030\n"
    ds = load_dataset(_dataset(tmp_path, config, users=_gbk_users(bom=True)))
    users = ds.raw("users").collect().to_native()
    assert users.columns[0] == "user_id"  # the BOM is not part of the first name
    assert users["note"].to_list() == ["\u4e2d\u6587"]


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    ds = load_dataset(_dataset(tmp_path, users=b"\xef\xbb\xbf" + USERS.encode()))
    assert ds.raw("users").collect().to_native()["user_id"].to_list() == ["u1", "u2"]


def test_bad_byte_after_the_sniffed_sample_is_found(tmp_path: Path) -> None:
    line = "u{},2024-01-01 10:00,douyin\n"
    body = "".join(line.format(i) for i in range(60_000))  # ~1.7 MB: beyond the 1 MiB sample
    data = ("user_id,first_seen_at,platform\n" + body).encode() + b"u-x,2024-01-01,\xff\xfe\n"
    message = _refused(_dataset(tmp_path, users=data))
    offset = len(data) - len(b"\xff\xfe\n")
    assert f"byte {offset:,} is not UTF-8" in message and "table users" in message


def test_duplicate_header_names_file_and_column(tmp_path: Path) -> None:
    users = b"user_id,first_seen_at,platform,platform\nu1,2024-01-01,douyin,kuaishou\n"
    message = _refused(_dataset(tmp_path, users=users))
    assert "users.csv: table users: column 'platform' appears twice in the header" in message


def test_duplicate_header_can_be_renamed_with_columns(tmp_path: Path) -> None:
    users = b"user_id,first_seen_at,platform,platform\nu1,2024-01-01,douyin,kuaishou\n"
    config = "files:\n  users:\n    columns: [user_id, first_seen_at, platform, platform_2]\n"
    ds = load_dataset(_dataset(tmp_path, config, users=users))
    row = ds.raw("users").collect().to_native().row(0, named=True)
    assert (row["platform"], row["platform_2"]) == ("douyin", "kuaishou")


# --- manifest.json, as_of, refunds -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"generator": "insights.simulator", ', "not valid JSON (line 1, column 37"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"generator": "insights.simulator", "experiments": [1]}', "'experiments' must be"),
        ("[" * 100_000 + "]" * 100_000, "manifest.json"),
    ],
)
def test_broken_manifest_is_one_line_naming_it(tmp_path: Path, text: str, expected: str) -> None:
    d = _dataset(tmp_path)
    (d / "manifest.json").write_text(text)
    message = _refused(d)
    assert message.startswith(str(d / "manifest.json")) and expected in message


def test_manifest_of_another_tool_is_not_simulated(tmp_path: Path) -> None:
    d = _dataset(tmp_path)
    (d / "manifest.json").write_text(json.dumps({"generator": "shop-export", "rows": [1]}))
    assert load_dataset(d).meta["simulated"] is False


@pytest.mark.parametrize("as_of", ["2024-02-30", "yesterday", "2024-01-01T25:00"])
def test_malformed_as_of_names_it(tmp_path: Path, as_of: str) -> None:
    with pytest.raises(DataReadError, match=f"as_of must be a date .*got '{as_of}'"):
        load_dataset(_dataset(tmp_path), as_of=as_of)


def test_all_refunded_orders_are_said_with_a_count(tmp_path: Path) -> None:
    d = _dataset(tmp_path)
    orders = pl.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "user_id": ["u1", "u2", "u1"],
            "ordered_at": [
                dt.datetime(2024, 1, 3),
                dt.datetime(2024, 1, 4),
                dt.datetime(2024, 1, 5),
            ],
            "amount": [10.0, 20.0, 5.0],
            "refunded": [True, True, True],
        }
    )
    orders.write_parquet(d / "orders.parquet")
    log = validate(d)
    found = [e for e in log.entries if e.rule == "all_refunded"]
    assert [(e.table, e.column, e.rows, e.severity) for e in found] == [
        ("orders", "refunded", 3, "warning")
    ]
    assert log.ok  # a warning: the data are valid, the metrics will have no orders
    orders.with_columns(pl.Series("refunded", [True, False, True])).write_parquet(
        d / "orders.parquet"
    )
    assert not [e for e in validate(d).entries if e.rule == "all_refunded"]
    # refunds: net that empties every order: the same warning, after the netting
    refunds = orders.with_columns(-pl.col("amount"), pl.lit(False).alias("refunded"))
    pl.concat([orders.with_columns(pl.lit(False).alias("refunded")), refunds]).write_parquet(
        d / "orders.parquet"
    )
    (d / "dataset.yaml").write_text("refunds: net\n")
    log = validate(d)
    assert [(e.rule, e.rows) for e in log.entries if e.rule == "all_refunded"] == [
        ("all_refunded", 3)
    ]


def test_refund_rows_that_match_nothing_are_counted(tmp_path: Path) -> None:
    """refunds: net with every row a refund of an unknown order: each row is counted, none silently."""
    d = _dataset(tmp_path, "refunds: net\n")
    pl.DataFrame(
        {
            "order_id": ["x1", "x2"],
            "user_id": ["u1", "u2"],
            "ordered_at": [dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 4)],
            "amount": [-10.0, -20.0],
        }
    ).write_parquet(d / "orders.parquet")
    log = validate(d)
    left = [e for e in log.entries if e.rule == "derived" and "match no order" in e.message]
    assert [e.rows for e in left] == [2]
    empty = [e for e in log.errors if e.rule == "empty_table"]
    assert [(e.table, e.severity) for e in empty] == [("orders", "error")]  # never silently
