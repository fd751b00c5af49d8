"""``load_dataset``: file formats, encodings, delimiters, partitions, dataset.yaml and frames."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from insights.cli_validate import validate_command
from insights.data import DataReadError, Dataset, DataValidationError, load_dataset, validate
from insights.data._backend import collect

AS_OF = dt.datetime(
    2024, 3, 20, 23, 59, 59, 999999
)  # end of the day of the last view (2024-03-20 21:00)


def _frame(ds: Dataset, name: str) -> pl.DataFrame:
    return collect(ds.raw(name))


def _same(ds: Dataset, tables: dict[str, pl.DataFrame]) -> None:
    assert sorted(ds.names) == sorted(tables)
    for name, frame in tables.items():
        assert_frame_equal(_frame(ds, name), frame, check_dtypes=True)


def test_parquet_directory_loads_lazily(tables, write) -> None:
    ds = load_dataset(write(tables))
    assert all(isinstance(t, pl.LazyFrame) for t in ds.tables.values())
    assert ds.as_of == AS_OF and ds.timezone == "Asia/Shanghai" and ds.currency == "CNY"
    assert ds.quality.entries == []
    _same(ds, tables)


def _with_chinese(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    tables["experiments"] = tables["experiments"].with_columns(
        pl.lit("新人7日计划").alias("experiment")
    )
    tables["orders"] = tables["orders"].with_columns(pl.lit("直播间·美妆").alias("stream_id"))
    return tables


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")]
)
def test_csv_encodings(tables, tmp_path: Path, encoding: str, expected: str) -> None:
    tables = _with_chinese(tables)
    directory = tmp_path / encoding
    directory.mkdir()
    for name, frame in tables.items():
        (directory / f"{name}.csv").write_bytes(frame.write_csv().encode(encoding))
    ds = load_dataset(directory)
    assert ds.meta["reads"]["experiments"]["encoding"] == expected
    _same(ds, tables)
    assert _frame(ds, "experiments")["experiment"][0] == "新人7日计划"


@pytest.mark.parametrize(("separator", "label"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_csv_other_delimiters(tables, tmp_path: Path, separator: str, label: str) -> None:
    for name, frame in tables.items():
        frame.write_csv(tmp_path / f"{name}.csv", separator=separator)
    ds = load_dataset(tmp_path)
    assert ds.meta["reads"]["users"]["delimiter"] == label
    _same(ds, tables)


def test_csv_ragged_or_ambiguous_delimiter_is_unreadable(tables, tmp_path: Path, capsys) -> None:
    tables["users"].write_csv(tmp_path / "users.csv")
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id;ordered_at,amount\no1,u01;2024-01-05,1\n", encoding="utf-8"
    )
    with pytest.raises(
        DataReadError, match=r"orders\.csv: ambiguous delimiter \(comma and semicolon"
    ):
        load_dataset(tmp_path)
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,ordered_at,amount\no1,u01,2024-01-05\n", encoding="utf-8"
    )
    with pytest.raises(
        DataReadError, match=r"orders\.csv: rows have different numbers of fields .*line 2 has 3"
    ):
        load_dataset(tmp_path)
    assert validate_command(tmp_path, False, False, False) == 2
    assert "orders.csv" in capsys.readouterr().err


def test_partitioned_parquet_directory(tables, write) -> None:
    path = write({k: v for k, v in tables.items() if k != "orders"})
    (path / "orders").mkdir()
    tables["orders"].head(12).write_parquet(path / "orders" / "part-0.parquet")
    tables["orders"].tail(8).write_parquet(path / "orders" / "part-1.parquet")
    ds = load_dataset(path)
    assert ds.meta["reads"]["orders"] == {"format": "parquet", "files": "2"}
    assert_frame_equal(_frame(ds, "orders").sort("order_id"), tables["orders"])


def test_dataset_yaml_mapping_timezone_and_as_of(tables, write) -> None:
    # orders exported with other column names and UTC timestamps: local (Asia/Shanghai) = UTC + 8h
    local = tables["orders"]["ordered_at"]
    exported = (
        tables["orders"]
        .rename({"order_id": "order_no", "ordered_at": "order_time"})
        .with_columns((pl.col("order_time") - pl.duration(hours=8)).dt.replace_time_zone("UTC"))
    )
    path = write({**tables, "orders": exported})
    (path / "dataset.yaml").write_text(
        "timezone: Asia/Shanghai\ncurrency: CNY\nas_of: 2024-01-20\n"
        "mapping:\n  orders:\n    order_time: ordered_at   # source: canonical (as in the contract doc)\n"
        "    order_id: order_no      # canonical: source (the other direction)\n",
        encoding="utf-8",
    )
    ds = load_dataset(path)
    orders = _frame(ds, "orders")
    assert orders.columns[:3] == ["order_id", "user_id", "ordered_at"]
    assert orders.schema["ordered_at"] == pl.Datetime("us")
    assert orders["ordered_at"].to_list() == local.to_list()
    assert ds.as_of == dt.datetime(2024, 1, 20, 23, 59, 59, 999999)
    # rows after as_of are kept, left out by ds.table and counted (hand count from conftest):
    # order k is on Jan ((k-1)%10+1)+3+k: after Jan 20 for k = 9, 10, 14..20 -> 9 orders;
    # 5 views in March; community: u01's leave on Feb 5; spend: Feb 1 and Mar 1
    after = {e.table: e.rows for e in ds.quality.entries if e.rule == "after_as_of"}
    assert after == {"orders": 9, "views": 5, "community": 1, "spend": 2}
    assert all(e.severity == "info" for e in ds.quality.entries)
    assert orders.height == 20
    assert collect(ds.table("orders")).height == 11
    assert collect(ds.table("spend")).height == 1
    assert "after_as_of" in validate(path).to_frame()["rule"].to_list()


def test_tz_aware_parquet_and_offsets_in_csv(tables, tmp_path: Path) -> None:
    users = tables["users"]
    aware = users.with_columns(
        pl.col("first_seen_at").dt.replace_time_zone("Asia/Shanghai").dt.convert_time_zone("UTC")
    )
    aware.write_parquet(tmp_path / "users.parquet")
    ds = load_dataset(tmp_path)
    assert_frame_equal(_frame(ds, "users"), users)
    text = users.with_columns(pl.col("first_seen_at").dt.strftime("%Y-%m-%dT%H:%M:%S+08:00"))
    (tmp_path / "users.parquet").unlink()
    text.write_csv(tmp_path / "users.csv")
    assert_frame_equal(_frame(load_dataset(tmp_path), "users"), users)


def test_as_of_argument_and_rows_after_it(tables, write) -> None:
    ds = load_dataset(write(tables), as_of=dt.date(2024, 1, 5))
    after = {e.table: e.rows for e in ds.quality.entries if e.rule == "after_as_of"}
    # users first seen Jan 6..10 -> 5; interactions Jan 6..10 -> 5; experiments Jan 6..10 -> 5
    assert after["users"] == 5 and after["interactions"] == 5 and after["experiments"] == 5
    assert collect(ds.raw("users")).height == 10


@pytest.mark.parametrize("kind", ["eager", "lazy", "duckdb"])
def test_frames_input_and_no_mutation(tables, kind: str) -> None:
    # users.first_seen_at as a Date (cast to datetime) and platform as Categorical (cast to text)
    raw = dict(tables)
    raw["users"] = tables["users"].with_columns(
        pl.col("first_seen_at").dt.date(), pl.col("platform").cast(pl.Categorical)
    )
    before = {k: v.clone() for k, v in raw.items()}
    con = duckdb.connect()
    given = {
        "eager": raw,
        "lazy": {k: v.lazy() for k, v in raw.items()},
        "duckdb": {k: con.from_arrow(v.to_arrow()) for k, v in raw.items()},
    }[kind]
    ds = load_dataset(**given)
    native = pl.LazyFrame if kind != "duckdb" else duckdb.DuckDBPyRelation
    assert all(isinstance(t, native) for t in ds.tables.values())
    assert ds.as_of == AS_OF and ds.quality.ok and ds.source == "frames"
    users = _frame(ds, "users").sort("user_id")
    expected = tables["users"].with_columns(pl.col("first_seen_at").dt.truncate("1d"))
    assert_frame_equal(users, expected)
    assert all(raw[k].equals(v) for k, v in before.items())


def test_polars_frames_with_text_are_parsed_duckdb_text_is_reported(tables) -> None:
    users = tables["users"].with_columns(pl.col("first_seen_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
    ds = load_dataset(users=users)
    assert_frame_equal(_frame(ds, "users"), tables["users"])
    con = duckdb.connect()
    with pytest.raises(DataValidationError) as err:
        load_dataset(users=con.from_arrow(users.to_arrow()))
    entry = err.value.log.errors[0]
    assert (entry.table, entry.column, entry.rule, entry.rows) == (
        "users",
        "first_seen_at",
        "type",
        10,
    )
    assert "cast it in duckdb before loading" in entry.message


def test_validation_error_is_a_value_error_with_the_log(tables, write) -> None:
    tables["orders"] = tables["orders"].with_columns(pl.lit(-1.0).alias("amount"))
    with pytest.raises(ValueError, match=r"orders\s+error\s+amount\s+negative\s+20 rows") as err:
        load_dataset(write(tables))
    assert err.value.log.errors[0].examples == ("o01", "o02", "o03", "o04", "o05")
    assert load_dataset(write(tables, name="again"), validate=False).quality.ok


def test_generation_derived_from_birth_year(tables, write) -> None:
    # as_of 2024-03-20: 2000 -> gen_z; 1990 -> millennial; 1976 (age 48) -> gen_x; 1974 (age 50) -> silver
    years = [2000, 1990, 1976, 1974, None, 1995, 1980, 1979, 1960, 2010]
    tables["users"] = (
        tables["users"].drop("generation").with_columns(pl.Series("birth_year", years))
    )
    got = _frame(load_dataset(write(tables)), "users")["generation"].to_list()
    assert got == [
        "gen_z",
        "millennial",
        "gen_x",
        "silver",
        None,
        "gen_z",
        "millennial",
        "gen_x",
        "silver",
        "gen_z",
    ]


def test_text_ids_and_integer_ids_are_compared_as_text(tables, tmp_path: Path) -> None:
    users = tables["users"].with_columns(pl.col("user_id").str.slice(1).cast(pl.Int64))
    orders = tables["orders"].with_columns(pl.col("user_id").str.slice(1).cast(pl.Int64))
    users.write_csv(tmp_path / "users.csv")  # "01".. read as text "1".. by polars write -> "1"
    orders.write_parquet(tmp_path / "orders.parquet")
    ds = load_dataset(tmp_path)
    assert [
        e.rule for e in ds.quality.entries if e.severity != "info" or e.rule != "missing_table"
    ] == ["id_cast"]
    assert _frame(ds, "orders").schema["user_id"] == pl.String


def test_refunded_text_and_nulls(tables, tmp_path: Path) -> None:
    flags = ["yes" if k == 7 else ("" if k == 8 else "false") for k in range(1, 21)]
    tables["orders"].with_columns(pl.Series("refunded", flags)).write_csv(tmp_path / "orders.csv")
    tables["users"].write_csv(tmp_path / "users.csv")
    ds = load_dataset(tmp_path)
    refunded = _frame(ds, "orders")["refunded"].to_list()
    assert refunded == [k == 7 for k in range(1, 21)]
    assert [(e.rule, e.rows) for e in ds.quality.entries if e.rule != "missing_table"] == [
        ("null_default", 1)
    ]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("users.xlsx", None, "users.xlsx: table 'users' is not a Parquet or CSV file"),
        (
            "users.json",
            b'[{"user_id": 1}]',
            "users.json: table 'users' is not a Parquet or CSV file",
        ),
        ("users.parquet", b"user_id,first_seen_at\n1,2024-01-01\n", "not a Parquet file"),
        ("users.csv", b"PK\x03\x04\x00\x00binary", "binary content"),
        ("users.csv", b"", "the file is empty"),
    ],
)
def test_unreadable_files_exit_2(
    tmp_path: Path, capsys, filename: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / filename
    if content is None:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(content)
    with pytest.raises(DataReadError, match=message):
        load_dataset(tmp_path)
    assert validate_command(tmp_path, False, False, False) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert validate_command(tmp_path, True, False, False) == 2
    assert '"rule": "unreadable"' in capsys.readouterr().out


def test_no_such_directory_exit_2(tmp_path: Path, capsys) -> None:
    assert validate_command(tmp_path / "nope", False, False, False) == 2
    assert "no such directory" in capsys.readouterr().err


def test_table_given_twice_is_unreadable(tables, write) -> None:
    path = write(tables)
    tables["users"].write_csv(path / "users.csv")
    with pytest.raises(DataReadError, match="table 'users' is given twice"):
        load_dataset(path)


def test_bad_yaml_and_timezone(tables, write) -> None:
    path = write(tables)
    (path / "dataset.yaml").write_text("timezone: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataReadError, match="not valid YAML"):
        load_dataset(path)
    (path / "dataset.yaml").write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(DataReadError, match="unknown timezone 'Mars/Olympus'"):
        load_dataset(path)


def test_usage_errors() -> None:
    with pytest.raises(TypeError, match="either a directory or tables"):
        load_dataset()
    with pytest.raises(TypeError, match="unknown tables or keywords: ordrs"):
        load_dataset(ordrs=pl.DataFrame())


def test_debug_prints_traceback(tmp_path: Path, capsys) -> None:
    assert validate_command(tmp_path / "nope", False, True, False) == 2
    assert "Traceback" in capsys.readouterr().err


# --- pandas frames: converted faithfully, or refused naming the column ----------------------


def _messy_pandas(tables: dict[str, pl.DataFrame]) -> dict:
    """The tables as pandas frames the way people have them: every awkward dtype at once."""
    import pandas as pd

    out = {name: frame.to_pandas() for name, frame in tables.items()}
    users = out["users"]
    # tz-aware timestamps (the same instants in UTC), categories, a nanosecond column
    users["first_seen_at"] = (
        pd.to_datetime(users["first_seen_at"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    )
    users["platform"] = users["platform"].astype("category")
    users["city_tier"] = users["city_tier"].astype("string[pyarrow]")
    orders = out["orders"]
    orders["ordered_at"] = orders["ordered_at"].astype("datetime64[ns]")
    orders["refunded"] = orders["refunded"].astype("boolean")  # nullable boolean
    views = out["views"]
    views["started_at"] = views["started_at"].dt.tz_localize("Asia/Shanghai")
    out["spend"]["period_start"] = out["spend"]["period_start"].astype(
        object
    )  # datetime.date objects
    out["community"]["kind"] = out["community"]["kind"].astype("category")
    return out


def test_pandas_frames_are_converted_like_parquet(tables) -> None:
    frames = _messy_pandas(tables)
    before = {k: v.copy(deep=True) for k, v in frames.items()}
    ds = load_dataset(**frames)
    assert all(isinstance(t, pl.LazyFrame) for t in ds.tables.values())  # analyses run in Polars
    assert ds.as_of == AS_OF and ds.quality.ok
    _same(ds, tables)  # the values and types of the Parquet files
    assert all(before[k].equals(v) for k, v in frames.items())  # inputs not modified
    frames["orders"].loc[0, "amount"] = float("nan")  # NaN is missing, as a null in Parquet
    with pytest.raises(DataValidationError, match="1 rows have no amount"):
        load_dataset(**frames)
    # frames_dataset takes pandas too (no parsing: plain dtypes)
    plain = ins_frames(tables)
    assert_frame_equal(_frame(plain, "orders"), tables["orders"])


def ins_frames(tables: dict[str, pl.DataFrame]) -> Dataset:
    from insights.data import frames_dataset

    return frames_dataset(**{k: v.to_pandas() for k, v in tables.items()})


def test_pandas_named_index_and_nullable_integer_ids(tables) -> None:
    import pandas as pd

    users = tables["users"].with_columns(pl.col("user_id").str.slice(1).cast(pl.Int64))
    frame = users.to_pandas()
    frame["user_id"] = frame["user_id"].astype("Int64")
    ds = load_dataset(users=frame.set_index("user_id"))
    assert_frame_equal(_frame(ds, "users"), users)
    assert isinstance(frame.index, pd.RangeIndex)  # the caller's frame is untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.assign(amount=[1.5, "x"] + [2.0] * (len(f) - 2)),
            r"orders\.amount: the pandas column \(object\) mixes Python types",
        ),
        (
            lambda f: f.assign(
                ordered_at=__import__("pandas").period_range("2024-01", periods=len(f), freq="D")
            ),
            r"orders\.ordered_at: the pandas column \(period\[D\]\) holds periods; convert it with \.dt\.start_time",
        ),
        (
            lambda f: f.rename(columns={"category": "source"}),
            r"orders: the pandas frame has columns \['source'\] more than once",
        ),
    ],
)
def test_pandas_columns_that_cannot_be_converted_are_refused_by_name(
    tables, change, message
) -> None:
    orders = change(tables["orders"].to_pandas())
    with pytest.raises(DataReadError, match=message):
        load_dataset(users=tables["users"].to_pandas(), orders=orders)
