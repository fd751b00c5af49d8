"""A small valid dataset written by hand, and helpers that write it to disk.

Ten users (u01..u10, acquired 2024-01-01..10 at 10:00), twenty orders (o01..o20),
views, interactions, community events, an experiment and monthly spend; every row
follows the data contract, so each bad-input test changes exactly one thing.
The latest timestamp is 2024-03-20 21:00 (a view), so the default as_of is
2024-03-20 23:59:59.999999.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest


def _t(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, month, day, hour)


def valid_tables() -> dict[str, pl.DataFrame]:
    """Fresh copies of the valid tables."""
    uids = [f"u{i:02d}" for i in range(1, 11)]
    users = pl.DataFrame(
        {
            "user_id": uids,
            "first_seen_at": [_t(1, i, 10) for i in range(1, 11)],
            "platform": [
                "douyin",
                "kuaishou",
                "taobao_live",
                "wechat_channels",
                "xiaohongshu",
                "douyin",
                "douyin",
                "kuaishou",
                "other",
                "douyin",
            ],
            "channel": [
                "organic",
                "paid",
                "referral",
                "short_video",
                "private_domain",
                "campaign",
                "other",
                "paid",
                "organic",
                "paid",
            ],
            "city_tier": ["tier1", "new_tier1", "tier2", "tier3", "tier4_county"] * 2,
            "generation": ["gen_z", "millennial", "gen_x", "silver", "gen_z"] * 2,
            "income_band": ["low", "middle", "new_middle_class", "high", "middle"] * 2,
            "gender": ["f", "m", "other", "unknown", "f"] * 2,
            "category": [
                "beauty",
                "apparel",
                "home",
                "digital",
                "food",
                "fresh",
                "mother_baby",
                "other",
                "beauty",
                "apparel",
            ],
        }
    )
    # order k (1-based) belongs to user ((k-1) % 10) + 1, placed 3 + k days after that user's first day
    order_users = [uids[(k - 1) % 10] for k in range(1, 21)]
    orders = pl.DataFrame(
        {
            "order_id": [f"o{k:02d}" for k in range(1, 21)],
            "user_id": order_users,
            "ordered_at": [
                _t(1, (k - 1) % 10 + 1) + dt.timedelta(days=3 + k) for k in range(1, 21)
            ],
            "amount": [float(10 * k) for k in range(1, 21)],
            "category": ["beauty", "apparel", "home", "digital", "food"] * 4,
            "source": ["live", "short_video", "private_domain", "shelf", "other"] * 4,
            "stream_id": [f"s{k % 3}" for k in range(1, 21)],
            "refunded": [k == 7 for k in range(1, 21)],
        }
    )
    views = pl.DataFrame(
        {
            "user_id": uids + uids[:5],
            "started_at": [_t(1, i, 20) for i in range(1, 11)]
            + [_t(3, 16 + i, 21) for i in range(5)],
            "watch_seconds": [
                30.0,
                120.0,
                600.0,
                45.0,
                0.0,
                900.0,
                75.0,
                61.0,
                59.0,
                300.0,
                100.0,
                200.0,
                300.0,
                400.0,
                500.0,
            ],
            "stream_id": ["s1"] * 15,
            "category": ["beauty"] * 15,
            "host_tier": ["head", "waist", "tail"] * 5,
        }
    )
    interactions = pl.DataFrame(
        {
            "user_id": uids,
            "at": [_t(1, i, 21) for i in range(1, 11)],
            "kind": [
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
            ],
            "stream_id": ["s1"] * 10,
        }
    )
    community = pl.DataFrame(
        {
            "user_id": ["u01", "u02", "u03", "u01", "u04", "u05"],
            "at": [_t(1, 5), _t(1, 6), _t(1, 7), _t(2, 5), _t(1, 9), _t(1, 10)],
            "action": ["join", "join", "join", "leave", "join", "join"],
            "kind": ["wecom", "group", "official_account", "wecom", "member_club", "mini_program"],
        }
    )
    experiments = pl.DataFrame(
        {
            "user_id": uids,
            "experiment": ["newcomer_7day_plan"] * 10,
            "arm": ["control", "treatment"] * 5,
            "assigned_at": [_t(1, i, 11) for i in range(1, 11)],
        }
    )
    spend = pl.DataFrame(
        {
            "period_start": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)],
            "amount": [1000.0, 800.0, 500.0],
            "channel": ["paid", "paid", "campaign"],
        }
    )
    return {
        "users": users,
        "orders": orders,
        "views": views,
        "interactions": interactions,
        "community": community,
        "experiments": experiments,
        "spend": spend,
    }


def write_tables(directory: Path, tables: dict[str, pl.DataFrame], fmt: str = "parquet") -> Path:
    """Write each table as ``<name>.parquet`` or ``<name>.csv`` (UTF-8, comma) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.write_parquet(directory / f"{name}.parquet")
        else:
            frame.write_csv(directory / f"{name}.csv")
    return directory


@pytest.fixture
def tables() -> dict[str, pl.DataFrame]:
    """The valid tables (a fresh dict per test: mutate freely)."""
    return valid_tables()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(tables, fmt="parquet", name="ds")`` -> the dataset directory."""

    def _write(tables: dict[str, pl.DataFrame], fmt: str = "parquet", name: str = "ds") -> Path:
        return write_tables(tmp_path / name, tables, fmt)

    return _write
