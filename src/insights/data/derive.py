"""What the loader builds when an export does not have a contract table as such.

Each derivation is counted and said once: a :class:`Derivation` becomes a quality-log
entry (severity ``info``, rule ``derived``) and a sentence in ``Dataset.meta["derived"]``.
Rows are never dropped silently. The rules, in the order the loader applies them:

1. **Order ids** (``derive: {order_id: generate}``, and automatically when ``orders``
   has no ``order_id`` column and no ``line_items`` column is named): the id of an
   order is its 1-based row number in file order (Parquet parts in name order), an
   integer; the same file gives the same ids.
2. **Refunds** (``refunds: net | flag | error``), rows with ``amount < 0``:

   * ``error`` (default): nothing is changed; the contract's ``negative`` rule
     reports them as errors.
   * ``net``: a negative row is a refund of the order with the same order id (the
     basket id with ``line_items``): its amount is subtracted from that order. An
     order refunded to 0 or below gets ``amount = 0`` and ``refunded = true``
     (counted). A negative row whose order is not in the data (refunding an order
     before the export, or an id that matches nothing) is left out and counted:
     subtracting it from another order would understate that order's value.
   * ``flag``: the order with the same id gets ``refunded = true`` and keeps its
     amount; the negative row is left out and counted (unmatched ones too).

   With generated ids no refund can match an order, so every negative row is
   left out (counted) under ``net`` and ``flag``.
3. **Line items** (``derive: {line_items: <column>}``): rows are the lines of the
   basket named by that column, summed into one order per basket: ``order_id`` = the
   basket id (an ``order_id`` column of line ids is replaced), ``amount`` = the sum of
   the lines (unknown when a line's amount is unknown), ``ordered_at`` = the earliest
   line, ``refunded`` = every line refunded, and every other column (``category``,
   ``source``, ...) from the line with the largest amount (ties: the first line in
   file order). A basket must belong to one user; lines without a basket id are
   kept as they are (the contract then reports their missing ``order_id``).
4. **Users** (``derive: {users: true}``, the default when there is no users table):
   one user per ``user_id`` of ``orders``; ``first_seen_at`` = the earliest order, or
   an earlier view (``views.started_at``) or interaction (``interactions.at``) when
   those tables exist (their users are included too). Users columns of the contract
   (``platform``, ``channel``, ``city_tier``, ``category``, ``birth_year``, ...) that
   ``orders`` carries under those names are taken from the user's first order (ties at
   the same moment: the smallest value). Every activity row then has a user by
   construction.
5. **Acquisition inside the export** (``export_start``): users column
   ``acquired_in_data`` is false for users first seen before ``export_start``; with
   users derived from activity, for users whose first activity is before
   ``export_start`` + ``warmup_days`` (``derive: {warmup_days: N}``, default 0): such
   customers may have been active before the export began, so they are not counted as
   newly acquired.

Order derivations (1-3) read the rows in file order and run on Polars frames (files,
Polars and pandas input); on a DuckDB or Spark warehouse build the orders in the
engine first. Users (4) and ``acquired_in_data`` (5) stay lazy in any engine.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import narwhals as nw
import polars as pl

from insights.data._backend import backend_name, collect, datetime_lit
from insights.data._read import DataReadError
from insights.data.contract import CONTRACT
from insights.data.quality import QualityEntry

__all__ = [
    "Derivation",
    "DeriveOptions",
    "Refunds",
    "derive_options",
    "refunds_option",
    "derive_orders",
    "users_from_activity",
    "mark_acquired",
]

Refunds = Literal["net", "flag", "error"]
_REFUNDS = ("net", "flag", "error")
_DERIVE_KEYS = ("users", "order_id", "line_items", "warmup_days")
_MAX_EXAMPLES = 5
_LINE = "__line"
_REFUND = "__refund"
_EVENT_TIMES = (("orders", "ordered_at"), ("views", "started_at"), ("interactions", "at"))


@dataclass(frozen=True)
class Derivation:
    """One thing the loader derived: a machine ``key``, where, how many rows, and a sentence."""

    key: str
    table: str
    column: str | None
    count: int
    sentence: str

    def entry(self) -> QualityEntry:
        """The quality-log entry (severity ``info``, rule ``derived``)."""
        return QualityEntry(
            self.table, self.column, "derived", self.count, (), "info", self.sentence
        )

    def record(self) -> dict[str, Any]:
        """``{"key", "table", "column", "count"}`` for ``Dataset.meta["derivations"]``."""
        return {"key": self.key, "table": self.table, "column": self.column, "count": self.count}


@dataclass(frozen=True)
class DeriveOptions:
    """The ``derive`` settings of ``dataset.yaml`` / ``load_dataset(derive=...)``."""

    users: bool = True
    generate_order_id: bool = False
    line_items: str | None = None
    warmup_days: int = 0


def derive_options(value: Mapping[str, Any] | None) -> DeriveOptions:
    """Check and read the ``derive`` mapping; an unknown key names the closest one.

    Examples
    --------
    >>> derive_options({"line_items": "basket_id", "warmup_days": 30})
    DeriveOptions(users=True, generate_order_id=False, line_items='basket_id', warmup_days=30)
    >>> derive_options({"line_item": "basket_id"})
    Traceback (most recent call last):
    ...
    insights.data._read.DataReadError: derive: unknown key 'line_item' (did you mean 'line_items'?); keys are users, order_id, line_items, warmup_days
    """
    if value is None:
        return DeriveOptions()
    if not isinstance(value, Mapping):
        raise DataReadError(
            f"derive: expected a mapping such as {{line_items: basket_id}}, got {value!r}"
        )
    for key in value:
        if key not in _DERIVE_KEYS:
            close = difflib.get_close_matches(str(key), _DERIVE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataReadError(
                f"derive: unknown key {key!r}{hint}; keys are {', '.join(_DERIVE_KEYS)}"
            )
    users = value.get("users", True)
    if not isinstance(users, bool):
        raise DataReadError(f"derive: users must be true or false, got {users!r}")
    order_id = value.get("order_id")
    if order_id not in (None, "generate"):
        raise DataReadError(f"derive: order_id must be 'generate', got {order_id!r}")
    line_items = value.get("line_items")
    if line_items is not None and (not isinstance(line_items, str) or not line_items):
        raise DataReadError(
            f"derive: line_items must name the basket (order) id column, got {line_items!r}"
        )
    if line_items is not None and order_id == "generate":
        raise DataReadError(
            "derive: choose either line_items (the basket id is the order id) or order_id: generate"
        )
    warmup = value.get("warmup_days", 0)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise DataReadError(
            f"derive: warmup_days must be a whole number of days >= 0, got {warmup!r}"
        )
    return DeriveOptions(users, order_id == "generate", line_items, warmup)


def refunds_option(value: Any) -> Refunds:
    """Check ``refunds`` (``None`` means ``"error"``)."""
    if value is None:
        return "error"
    if value not in _REFUNDS:
        raise DataReadError(f"refunds must be one of net, flag, error; got {value!r}")
    return cast("Refunds", value)


def derive_orders(
    orders: nw.LazyFrame[Any], *, options: DeriveOptions, refunds: Refunds
) -> tuple[nw.LazyFrame[Any], list[Derivation]]:
    """Order ids, refunds and line items (rules 1-3 of the module), with what was derived.

    ``orders`` has canonical, cast columns. Collects counts only.

    Examples
    --------
    Two baskets of line items, one line a refund of 5 in basket ``b1``:

    >>> import datetime as dt, polars as pl, narwhals as nw
    >>> t = dt.datetime(2024, 1, 1)
    >>> lines = nw.from_native(pl.LazyFrame({
    ...     "basket": ["b1", "b1", "b1", "b2"], "user_id": [1, 1, 1, 2],
    ...     "ordered_at": [t, t, t, t], "amount": [10.0, 30.0, -5.0, 7.0]}))
    >>> out, done = derive_orders(lines, options=DeriveOptions(line_items="basket"), refunds="net")
    >>> out.collect().to_native().select("order_id", "amount").rows()
    [('b1', 35.0), ('b2', 7.0)]
    >>> [d.key for d in done]
    ['refunds_netted', 'line_items_summed']
    """
    names = orders.collect_schema().names()
    key = options.line_items or "order_id"
    if options.line_items is not None and options.line_items not in names:
        close = difflib.get_close_matches(options.line_items, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataReadError(
            f"derive: line_items names column {options.line_items!r}, which orders does not have"
            f"{hint}; columns are {', '.join(names)}"
        )
    generate = options.line_items is None and (options.generate_order_id or "order_id" not in names)
    negatives = refunds != "error" and _numeric(orders, "amount")
    if not (generate or negatives or options.line_items):
        return orders, []
    if backend_name(orders) != "polars":
        raise DataReadError(
            f"orders on {backend_name(orders)}: generated order ids, refunds: {refunds} and "
            "line items need the rows in file order; build orders in the engine first, or "
            "load files or Polars/pandas frames"
        )
    frame = cast("pl.LazyFrame", orders.to_native())
    done: list[Derivation] = []
    if generate:
        frame, step = _generate_ids(frame, replace="order_id" in names)
        done.append(step)
    refund_rows = None
    if negatives:
        if "refunded" not in frame.collect_schema().names():
            frame = frame.with_columns(pl.lit(False).alias("refunded"))
        refund_rows = frame.filter(pl.col("amount") < 0)
        frame = frame.filter(~(pl.col("amount") < 0).fill_null(False))
    summed = None
    if options.line_items is not None:
        frame, summed = _sum_lines(frame, options.line_items)
    if refund_rows is not None:
        frame, steps = _apply_refunds(frame, refund_rows, key, refunds)
        done.extend(steps)
    if summed is not None:
        done.append(summed)
    return nw.from_native(frame), done


def _numeric(frame: nw.LazyFrame[Any], column: str) -> bool:
    dtype = frame.collect_schema().get(column)
    return dtype is not None and bool(dtype.is_numeric())


def _generate_ids(frame: pl.LazyFrame, *, replace: bool) -> tuple[pl.LazyFrame, Derivation]:
    rows = int(frame.select(pl.len()).collect().item())
    out = frame.drop("order_id") if replace else frame
    out = out.with_row_index("order_id", offset=1).with_columns(pl.col("order_id").cast(pl.Int64))
    why = "derive: order_id: generate" if replace else "orders has no order_id column"
    sentence = (
        f"Order ids were generated for {rows:,} orders ({why}): each order's id is its row "
        "number in file order."
    )
    return out, Derivation("order_ids_generated", "orders", "order_id", rows, sentence)


def _sum_lines(frame: pl.LazyFrame, key: str) -> tuple[pl.LazyFrame, Derivation]:
    """One order per basket ``key`` (rule 3); a basket with several users is an error."""
    lines = frame.with_row_index(_LINE)
    users = (
        lines.filter(pl.col(key).is_not_null())
        .group_by(key)
        .agg(pl.col("user_id").n_unique().alias("__users"))
        .filter(pl.col("__users") > 1)
    )
    mixed = users.select(
        pl.len().alias("n"), pl.col(key).sort().head(_MAX_EXAMPLES).implode().alias("e")
    )
    stats = mixed.collect().row(0, named=True)
    if stats["n"]:
        examples = ", ".join(str(v) for v in stats["e"])
        raise DataReadError(
            f"orders: {stats['n']} baskets ({key}) hold lines of more than one user_id, e.g. "
            f"{examples}; a basket (derive: line_items: {key}) must belong to one user"
        )
    names = lines.collect_schema().names()
    fixed = {key, "user_id", "ordered_at", "amount", "refunded", _LINE, "order_id"}
    others = [c for c in names if c not in fixed]
    order = [c for c in names if c not in (_LINE, "order_id") and c != key]
    aggs = [pl.col("user_id").first(), pl.col(_LINE).min()]
    if "ordered_at" in names:
        aggs.append(pl.col("ordered_at").min())
    if "amount" in names:
        aggs.append(
            pl.when(pl.col("amount").null_count() > 0)
            .then(pl.lit(None, pl.Float64))
            .otherwise(pl.col("amount").sum().cast(pl.Float64))
            .alias("amount")
        )
    if "refunded" in names:
        aggs.append(pl.col("refunded").all())
    if "amount" in names:
        aggs += [
            pl.col(c).sort_by(["amount", _LINE], descending=[True, False], nulls_last=True).first()
            for c in others
        ]
    else:
        aggs += [pl.col(c).first() for c in others]
    baskets = lines.filter(pl.col(key).is_not_null()).group_by(key).agg(aggs)
    loose = lines.filter(pl.col(key).is_null())
    columns = [pl.col(key).alias("order_id"), *[pl.col(c) for c in order], pl.col(_LINE)]
    out = (
        pl.concat([baskets.select(columns), loose.select(columns)], how="vertical_relaxed")
        .sort(_LINE)
        .drop(_LINE)
    )
    counts = (
        lines.select(pl.len().alias("lines"), pl.col(key).drop_nulls().n_unique().alias("baskets"))
        .collect()
        .row(0, named=True)
    )
    sentence = (
        f"{counts['lines']:,} order lines were summed into {counts['baskets']:,} orders, one per "
        f"{key} (derive: line_items): amount summed, ordered_at the earliest line, other "
        "columns from the line with the largest amount."
    )
    return out, Derivation("line_items_summed", "orders", "order_id", counts["lines"], sentence)


def _apply_refunds(
    frame: pl.LazyFrame, refund_rows: pl.LazyFrame, key: str, mode: Refunds
) -> tuple[pl.LazyFrame, list[Derivation]]:
    """Net or flag refunds (negative rows) against the orders with the same id (rule 2)."""
    order_key = "order_id"  # after line items the basket id is the order id
    per_order = (
        refund_rows.filter(pl.col(key).is_not_null())
        .group_by(pl.col(key).alias(order_key))
        .agg(pl.col("amount").sum().alias(_REFUND), pl.len().alias("__rows"))
    )
    known = frame.select(order_key).unique()
    matched = per_order.join(known, on=order_key, how="semi")
    counts = (
        pl.concat(
            [
                refund_rows.select(pl.len().alias("rows")),
                matched.select(pl.col("__rows").sum().alias("rows")),
                matched.select(pl.len().cast(pl.UInt32).alias("rows")),
            ],
            how="vertical_relaxed",
        )
        .collect()["rows"]
        .to_list()
    )
    total, hits, orders_hit = (int(v or 0) for v in counts)
    if not total:
        return frame, []
    joined = frame.join(
        matched.select(order_key, _REFUND), on=order_key, how="left", maintain_order="left"
    )
    hit = pl.col(_REFUND).is_not_null()
    done: list[Derivation] = []
    if mode == "net":
        net = pl.col("amount") + pl.col(_REFUND)
        emptied = hit & (net <= 0)
        zeroed = int(joined.select(emptied.fill_null(False).sum()).collect().item() or 0)
        joined = joined.with_columns(
            pl.when(emptied)
            .then(pl.lit(0.0))
            .when(hit)
            .then(net)
            .otherwise(pl.col("amount"))
            .alias("amount"),
            (pl.col("refunded") | emptied.fill_null(False)).alias("refunded"),
        )
        sentence = (
            f"{hits:,} refund rows (negative amount) were subtracted from the {orders_hit:,} "
            "orders with the same order id (refunds: net)"
            + (
                f"; {zeroed:,} orders refunded in full are kept at 0 and marked refunded."
                if zeroed
                else "."
            )
        )
        done.append(Derivation("refunds_netted", "orders", "amount", hits, sentence))
    else:
        joined = joined.with_columns((pl.col("refunded") | hit).alias("refunded"))
        sentence = (
            f"{hits:,} refund rows (negative amount) were removed and the {orders_hit:,} orders "
            "with the same order id marked refunded (refunds: flag)."
        )
        done.append(Derivation("refunds_flagged", "orders", "refunded", hits, sentence))
    if total > hits:
        left = total - hits
        sentence = (
            f"{left:,} refund rows (negative amount) match no order in the data (the order is "
            f"before the export or its id is unknown) and were left out (refunds: {mode})."
        )
        done.append(Derivation("refunds_unmatched", "orders", "amount", left, sentence))
    return joined.drop(_REFUND), done


def users_from_activity(
    tables: Mapping[str, nw.LazyFrame[Any]],
) -> tuple[nw.LazyFrame[Any], list[Derivation]]:
    """The users table derived from orders (and views, interactions) (rule 4), lazily.

    Collects one count for the sentence.

    Examples
    --------
    >>> import datetime as dt, polars as pl, narwhals as nw
    >>> orders = nw.from_native(pl.LazyFrame({
    ...     "order_id": [1, 2, 3], "user_id": ["a", "b", "a"], "amount": [1.0, 2.0, 3.0],
    ...     "ordered_at": [dt.datetime(2024, 1, d) for d in (5, 2, 1)],
    ...     "platform": ["taobao_live", "douyin", "douyin"]}))
    >>> users, done = users_from_activity({"orders": orders})
    >>> users.collect().to_native().rows()
    [('a', datetime.datetime(2024, 1, 1, 0, 0), 'douyin'), ('b', datetime.datetime(2024, 1, 2, 0, 0), 'douyin')]
    """
    orders = tables["orders"]
    schema = orders.collect_schema()
    for column in ("user_id", "ordered_at"):
        if column not in schema:
            raise DataReadError(
                f"no users table, and users cannot be derived from orders: orders has no "
                f"{column} column (map it in dataset.yaml, or add users.parquet / users.csv)"
            )
    events = []
    used = []
    for name, column in _EVENT_TIMES:
        frame = tables.get(name)
        if frame is None:
            continue
        dtype = frame.collect_schema().get(column)
        if "user_id" not in frame.collect_schema() or not isinstance(dtype, nw.Datetime):
            continue
        used.append(name)
        events.append(
            frame.select(nw.col("user_id"), nw.col(column).cast(nw.Datetime("us")).alias("__t"))
        )
    if not events:
        raise DataReadError(
            "no users table, and users cannot be derived from orders: orders.ordered_at is not "
            "a timestamp"
        )
    stacked = events[0] if len(events) == 1 else nw.concat(events, how="vertical")
    users = (
        stacked.filter(~nw.col("user_id").is_null() & ~nw.col("__t").is_null())
        .group_by("user_id")
        .agg(nw.col("__t").min().alias("first_seen_at"))
    )
    spec = CONTRACT["users"]
    carried = [c for c in spec.names if c not in ("user_id", "first_seen_at") and c in schema]
    if carried:
        placed = orders.filter(~nw.col("user_id").is_null() & ~nw.col("ordered_at").is_null())
        first = placed.group_by("user_id").agg(nw.col("ordered_at").min().alias("__first"))
        attrs = (
            placed.join(first, on="user_id")
            .filter(nw.col("ordered_at") == nw.col("__first"))
            .group_by("user_id")
            .agg(*[nw.col(c).cast(nw.String).min().alias(c) for c in carried])
        )
        users = users.join(attrs, on="user_id", how="left")
    users = users.sort("first_seen_at", "user_id")
    n = int(collect(users.select(nw.len())).item())
    also = [name for name in used if name != "orders"]
    sources = " and ".join([", ".join(used[:-1]), used[-1]]) if len(used) > 1 else "orders"
    origin = "their first order" + (f" or an earlier event in {' or '.join(also)}" if also else "")
    cols = f"; {', '.join(carried)} from the first order" if carried else ""
    sentence = (
        f"There is no users table: {n:,} users were derived from {sources}, first seen at "
        f"{origin}{cols}."
    )
    return users, [Derivation("users_from_orders", "users", None, n, sentence)]


def mark_acquired(
    users: nw.LazyFrame[Any], *, export_start: dt.date, warmup_days: int = 0, derived: bool = False
) -> tuple[nw.LazyFrame[Any], list[Derivation]]:
    """Add ``acquired_in_data`` (rule 5); collects one count.

    Examples
    --------
    >>> import datetime as dt, polars as pl, narwhals as nw
    >>> users = nw.from_native(pl.LazyFrame({"user_id": [1, 2, 3],
    ...     "first_seen_at": [dt.datetime(2024, 1, d) for d in (1, 10, 20)]}))
    >>> out, done = mark_acquired(users, export_start=dt.date(2024, 1, 1), warmup_days=14, derived=True)
    >>> out.collect().to_native()["acquired_in_data"].to_list()
    [False, False, True]
    """
    start = dt.datetime.combine(export_start, dt.time())
    bound = start + dt.timedelta(days=warmup_days if derived else 0)
    flag = nw.col("first_seen_at") >= datetime_lit(bound, users)
    out = users.with_columns(flag.alias("acquired_in_data"))
    before = int(
        collect(out.select((~nw.col("acquired_in_data")).cast(nw.Int64).sum())).item() or 0
    )
    if derived and warmup_days:
        when = f"in the first {warmup_days} days of the export (it starts {export_start:%Y-%m-%d})"
    else:
        when = f"before the export starts ({export_start:%Y-%m-%d})"
    sentence = (
        f"{before:,} users first seen {when} may have been customers already; they are not "
        "counted as newly acquired (users.acquired_in_data = false)."
    )
    return out, [
        Derivation("acquired_before_export", "users", "acquired_in_data", before, sentence)
    ]
