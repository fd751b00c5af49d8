"""A ``Dataset`` introduces itself: ``repr`` and the HTML view in Jupyter, checked by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from html.parser import HTMLParser

import polars as pl

import insights as ins
from insights.data.dataset import Dataset


class _Cells(HTMLParser):
    """The text of every table row: a list of cell texts per ``<tr>`` (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _rows(markup: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(markup)
    return parser.rows


def _small_frames() -> dict[str, pl.DataFrame]:
    """Three users, three orders (one after 2024-03-31)."""
    d = dt.datetime
    users = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "first_seen_at": [d(2024, 1, 1), d(2024, 2, 1), d(2024, 3, 5, 10)],
            "platform": ["douyin", "kuaishou", "<script>alert(1)</script>"],
        }
    )
    orders = pl.DataFrame(
        {
            "order_id": [10, 11, 12],
            "user_id": [1, 2, 1],
            "ordered_at": [d(2024, 2, 10), d(2024, 3, 1, 8, 30), d(2024, 4, 10)],
            "amount": [5.0, 7.0, 9.0],
        }
    )
    return {"users": users, "orders": orders}


def _small() -> Dataset:
    """:func:`_small_frames` observed up to 2024-03-31."""
    return ins.frames_dataset(**_small_frames(), as_of="2024-03-31")


def test_html_view_shows_counts_span_and_facts() -> None:
    ds = replace(_small(), source="warehouse <b>x</b>", currency="CNY", timezone="Asia/Shanghai")
    markup = ds._repr_html_()
    rows = _rows(markup)
    facts = {r[0]: r[1] for r in rows if len(r) == 2}
    assert facts["as_of"] == "2024-03-31 23:59:59"
    assert facts["timezone"] == "Asia/Shanghai" and facts["currency"] == "CNY"
    assert facts["source"] == "warehouse <b>x</b>"  # shown as text, not markup
    tables = {r[0]: r for r in rows if len(r) == 6 and r[0] in ("users", "orders")}
    # by hand: 3 users; 2 orders up to as_of (the 2024-04-10 one is after it)
    assert tables["users"][1:5] == [
        "3",
        "2024-01-01 00:00:00",
        "2024-03-05 10:00:00",
        "first_seen_at",
    ]
    assert tables["orders"][1:5] == [
        "2",
        "2024-02-10 00:00:00",
        "2024-03-01 08:30:00",
        "ordered_at",
    ]
    assert tables["orders"][5] == "order_id, user_id, ordered_at, amount"
    assert "Quality notes: none." in markup


def test_html_view_escapes_what_comes_from_data() -> None:
    ds = _small()
    log = ins.validate(ds)  # the platform label "<script>…" breaks the contract
    assert any("<script>" in e.message for e in log.entries)
    evil = pl.LazyFrame({"<script>x</script>": [1]})
    ds = replace(ds, quality=log, tables={**ds.tables, "<script>alert(2)</script>": evil})
    markup = ds._repr_html_()
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup  # the label, in the quality note
    rows = _rows(markup)
    names = [r[0] for r in rows if len(r) == 6]
    assert "<script>alert(2)</script>" in names
    evil_row = next(r for r in rows if r and r[0] == "<script>alert(2)</script>")
    assert evil_row[1] == "1" and evil_row[5] == "<script>x</script>"
    notes = [r for r in rows if len(r) == 6 and r[3] == "unknown_label"]
    assert notes and notes[0][1] == "users" and notes[0][2] == "platform"


def test_repr_reads_no_data_and_names_the_facts() -> None:
    ds = _small()
    text = repr(ds)
    assert text == (
        "Dataset(tables=['users', 'orders'], as_of=2024-03-31 23:59:59, timezone='Asia/Shanghai', "
        "currency='CNY', source=None, quality=0 findings)"
    )


def test_a_restricted_dataset_notes_the_tables_it_left_out() -> None:
    spend = pl.DataFrame(
        {"period_start": [dt.date(2024, 1, 1)], "channel": ["ads"], "amount": [1.0]}
    )
    ds = ins.frames_dataset(
        users=_small().tables["users"].collect(), spend=spend, as_of="2024-03-31"
    )
    restricted = ds.restrict({"platform": "douyin"})
    rows = _rows(restricted._repr_html_())
    users = next(r for r in rows if r and r[0] == "users")
    assert users[1] == "1"
    assert any(r[1] == "spend" and r[3] == "left_out" for r in rows if len(r) == 6)


def test_counts_and_spans_come_from_every_engine(make_dataset) -> None:
    """The same hand counts on Polars, DuckDB and Spark (one aggregate query per table)."""
    rows = _rows(make_dataset(_small_frames(), as_of="2024-03-31")._repr_html_())
    tables = {r[0]: r[1:4] for r in rows if len(r) == 6 and r[0] in ("users", "orders")}
    assert tables == {
        "users": ["3", "2024-01-01 00:00:00", "2024-03-05 10:00:00"],
        "orders": ["2", "2024-02-10 00:00:00", "2024-03-01 08:30:00"],
    }
