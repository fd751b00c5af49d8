"""The data contract as code: one spec per table and column.

The loader casts to it and the validator checks against it; ``insights validate``
reports a dataset against it.

Examples
--------
>>> CONTRACT["orders"].key
'order_id'
>>> sorted(CONTRACT["users"].column("platform").labels)
['douyin', 'kuaishou', 'other', 'taobao_live', 'wechat_channels', 'xiaohongshu']
>>> [c.name for c in CONTRACT["views"].required_columns]
['user_id', 'started_at', 'watch_seconds']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import narwhals as nw

__all__ = [
    "CONTRACT",
    "ColumnSpec",
    "Kind",
    "TableSpec",
    "CITY_TIER_GROUPS",
    "SKEW_DAYS",
    "LABELS",
    "generation_from_birth_year",
    "kind_matches",
]

Kind = Literal["id", "datetime", "date", "float", "int", "bool", "category", "string"]

#: Events may precede ``first_seen_at`` by this many calendar days (clock skew) before it is an error.
SKEW_DAYS = 1

PLATFORMS = frozenset(
    {"douyin", "kuaishou", "taobao_live", "wechat_channels", "xiaohongshu", "other"}
)
CHANNELS = frozenset(
    {"organic", "paid", "referral", "short_video", "private_domain", "campaign", "other"}
)
CITY_TIERS = frozenset({"tier1", "new_tier1", "tier2", "tier3", "tier4_county"})
GENERATIONS = frozenset({"gen_z", "millennial", "gen_x", "silver"})
INCOME_BANDS = frozenset({"low", "middle", "new_middle_class", "high"})
GENDERS = frozenset({"f", "m", "other", "unknown"})
CATEGORIES = frozenset(
    {"beauty", "apparel", "home", "digital", "food", "fresh", "mother_baby", "other"}
)
ORDER_SOURCES = frozenset({"live", "short_video", "private_domain", "shelf", "other"})
HOST_TIERS = frozenset({"head", "waist", "tail"})
INTERACTION_KINDS = frozenset(
    {
        "comment",
        "like",
        "share",
        "gift",
        "lottery",
        "quiz",
        "co_stream",
        "vote",
        "coupon_claim",
        "check_in",
        "group_buy",
        "other",
    }
)
COMMUNITY_ACTIONS = frozenset({"join", "leave"})
COMMUNITY_KINDS = frozenset({"wecom", "group", "official_account", "member_club", "mini_program"})

#: Label sets by name, for documentation and the report appendix.
LABELS: dict[str, frozenset[str]] = {
    "platform": PLATFORMS,
    "channel": CHANNELS,
    "city_tier": CITY_TIERS,
    "generation": GENERATIONS,
    "income_band": INCOME_BANDS,
    "gender": GENDERS,
    "category": CATEGORIES,
    "order_source": ORDER_SOURCES,
    "host_tier": HOST_TIERS,
    "interaction_kind": INTERACTION_KINDS,
    "community_action": COMMUNITY_ACTIONS,
    "community_kind": COMMUNITY_KINDS,
}

#: City-tier groups used in reports: ``tier12`` and ``lower_tier`` (the "lower-tier markets").
CITY_TIER_GROUPS: dict[str, frozenset[str]] = {
    "tier12": frozenset({"tier1", "new_tier1", "tier2"}),
    "lower_tier": frozenset({"tier3", "tier4_county"}),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    ``labels`` is the allowed label set of a category column (``None`` for other kinds);
    ``non_negative`` marks amounts and durations; ``rule`` is the human rule text.
    """

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = True
    labels: frozenset[str] | None = None
    non_negative: bool = False
    rule: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract.

    ``key`` is the unique key column (``None`` when rows have no key); ``time_column`` is
    what ``as_of`` cuts on; ``user_ref`` means ``user_id`` must exist in users;
    ``skew_check`` means events may not precede the user's ``first_seen_at`` by more than
    :data:`SKEW_DAYS` days.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: str | None = None
    required: bool = False
    time_column: str | None = None
    user_ref: bool = False
    skew_check: bool = False
    purpose: str = ""

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name`` (``KeyError`` when not in the contract)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name}.{name} is not in the data contract")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.required)


def _req(name: str, kind: Kind, rule: str = "", **kw: object) -> ColumnSpec:
    return ColumnSpec(name, kind, required=True, nullable=False, rule=rule, **kw)  # type: ignore[arg-type]


def _cat(name: str, labels: frozenset[str], rule: str = "") -> ColumnSpec:
    return ColumnSpec(name, "category", labels=labels, rule=rule)


_USER_ID = _req("user_id", "id", "must exist in users")

CONTRACT: dict[str, TableSpec] = {
    "users": TableSpec(
        "users",
        (
            _req("user_id", "id", "unique, not null"),
            _req("first_seen_at", "datetime", "not null; the acquisition moment"),
            _cat("platform", PLATFORMS),
            _cat("channel", CHANNELS, "acquisition channel"),
            _cat("city_tier", CITY_TIERS, "groups: tier12, lower_tier"),
            _cat("generation", GENERATIONS, "or derived from birth_year"),
            ColumnSpec("birth_year", "int", rule="derives generation when generation is absent"),
            _cat("income_band", INCOME_BANDS),
            _cat("gender", GENDERS),
            _cat("category", CATEGORIES, "preferred category"),
        ),
        key="user_id",
        required=True,
        time_column="first_seen_at",
        purpose="every analysis",
    ),
    "orders": TableSpec(
        "orders",
        (
            _req("order_id", "id", "unique"),
            _USER_ID,
            _req("ordered_at", "datetime", "not before first_seen_at minus 1 day"),
            _req("amount", "float", ">= 0 yuan (GMV of the order)", non_negative=True),
            _cat("category", CATEGORIES),
            _cat("source", ORDER_SOURCES),
            ColumnSpec("stream_id", "string"),
            ColumnSpec("refunded", "bool", rule="default false"),
        ),
        key="order_id",
        time_column="ordered_at",
        user_ref=True,
        skew_check=True,
        purpose="value metrics (LTV, AOV, repurchase)",
    ),
    "views": TableSpec(
        "views",
        (
            _USER_ID,
            _req("started_at", "datetime"),
            _req("watch_seconds", "float", ">= 0", non_negative=True),
            ColumnSpec("stream_id", "string"),
            _cat("category", CATEGORIES),
            _cat("host_tier", HOST_TIERS),
        ),
        time_column="started_at",
        user_ref=True,
        skew_check=True,
        purpose="viewing metrics",
    ),
    "interactions": TableSpec(
        "interactions",
        (
            _USER_ID,
            _req("at", "datetime"),
            _req("kind", "category", labels=INTERACTION_KINDS),
            ColumnSpec("stream_id", "string"),
        ),
        time_column="at",
        user_ref=True,
        skew_check=True,
        purpose="interaction metrics",
    ),
    "community": TableSpec(
        "community",
        (
            _USER_ID,
            _req("at", "datetime"),
            _req("action", "category", "join or leave", labels=COMMUNITY_ACTIONS),
            _cat("kind", COMMUNITY_KINDS),
        ),
        time_column="at",
        user_ref=True,
        skew_check=True,
        purpose="private-domain metrics",
    ),
    "experiments": TableSpec(
        "experiments",
        (
            _USER_ID,
            _req("experiment", "string"),
            _req("arm", "string"),
            _req("assigned_at", "datetime", "outcomes are measured from here"),
        ),
        time_column="assigned_at",
        user_ref=True,
        purpose="strategy-test effects",
    ),
    "spend": TableSpec(
        "spend",
        (
            _req("period_start", "date", "day or month start"),
            _req("amount", "float", ">= 0 yuan", non_negative=True),
            _cat("channel", CHANNELS),
            _cat("platform", PLATFORMS),
        ),
        time_column="period_start",
        purpose="CAC",
    ),
}


def generation_from_birth_year(birth_year: str | nw.Expr, as_of: dt.date | dt.datetime) -> nw.Expr:
    """The ``generation`` label derived from a birth-year column (narwhals expression).

    Rule, evaluated in this order (age counted in whole calendar years at ``as_of``):

    1. ``silver``: age >= 50, i.e. ``as_of.year - birth_year >= 50``;
    2. ``gen_z``: born 1995 or later (1995-2010 in the contract; later years also land here);
    3. ``millennial``: born 1980-1994;
    4. ``gen_x``: otherwise (born before 1980 and younger than 50).

    A null birth year gives a null generation.

    Examples
    --------
    >>> import polars as pl, narwhals as nw
    >>> f = nw.from_native(pl.DataFrame({"y": [2000, 1990, 1976, 1974, None]}))
    >>> f.select(g=generation_from_birth_year("y", dt.date(2024, 12, 31)))["g"].to_list()
    ['gen_z', 'millennial', 'gen_x', 'silver', None]
    """
    year = nw.col(birth_year) if isinstance(birth_year, str) else birth_year
    return (
        nw.when(year.is_null())
        .then(nw.lit(None, nw.String))
        .when(nw.lit(as_of.year) - year >= 50)
        .then(nw.lit("silver"))
        .when(year >= 1995)
        .then(nw.lit("gen_z"))
        .when(year >= 1980)
        .then(nw.lit("millennial"))
        .otherwise(nw.lit("gen_x"))
    )


def kind_matches(dtype: Any, kind: Kind) -> bool:
    """Whether a narwhals dtype already has the contract kind (naive datetimes only)."""
    if kind == "id":
        return dtype == nw.String or dtype.is_integer()
    if kind == "datetime":
        return isinstance(dtype, nw.Datetime) and dtype.time_zone is None
    if kind == "date":
        return dtype == nw.Date or (isinstance(dtype, nw.Datetime) and dtype.time_zone is None)
    if kind in ("float", "int"):
        return bool(dtype.is_numeric()) if kind == "float" else bool(dtype.is_integer())
    if kind == "bool":
        return dtype == nw.Boolean
    return dtype == nw.String or dtype == nw.Categorical or isinstance(dtype, nw.Enum)
