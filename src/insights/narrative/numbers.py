"""Numbers as every sentence, table and figure writes them: percentages, money, days, CIs, p-values.

Money is written in the currency set with ``ins.options(currency=...)`` (``"CNY"`` unless
set): the catalogs' ``money.<code>`` entries (``"${x}"``; in Chinese the currency's name after the number); a currency
without an entry is written with its ISO code (``"CHF 12.5"``).
"""

from __future__ import annotations

import math

from insights._options import Lang, resolve_currency
from insights._registry import Kind, unit_kind
from insights.narrative.catalog import catalog, text_message

__all__ = [
    "fmt_value",
    "fmt_range",
    "fmt_ci",
    "fmt_change",
    "fmt_diff",
    "fmt_diff_range",
    "fmt_p",
    "fmt_money",
    "currency_name",
    "is_missing",
    "MINUS",
]

MINUS = "\u2212"


def is_missing(value: object) -> bool:
    """True for ``None`` and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(x: float, digits: int, *, sign: bool = False) -> str:
    text = f"{abs(x):,.{digits}f}"
    if x < 0 and float(text.replace(",", "")) != 0:
        return MINUS + text
    return ("+" + text) if sign else text


def _bare(value: float, kind: Kind, *, sign: bool = False) -> str:
    """The number of ``value`` in the unit of ``kind``, without the unit."""
    if kind in ("rate", "uplift"):
        return _num(value * 100, 1, sign=sign)
    if kind == "ratio":
        return _num(value, 2, sign=sign)
    if kind == "count":
        return _num(value, 0, sign=sign)
    if kind == "days":
        return _num(value, 0 if float(value).is_integer() else 1, sign=sign)
    return _num(value, 1, sign=sign)


_UNIT = {
    "rate": "percent",
    "uplift": "percent",
    "days": "days",
    "minutes": "minutes",
    "ratio": "ratio",
    "count": "count",
    "index": "index",
}


def fmt_money(x: str, *, lang: Lang | None = None, currency: str | None = None) -> str:
    """The number text ``x`` as an amount of ``currency`` (default: ``ins.options``).

    Examples
    --------
    >>> fmt_money("12.5", lang="en", currency="USD")
    '$12.5'
    >>> fmt_money("12.5", lang="zh", currency="USD") == "12.5\u7f8e\u5143"  # dollars, in Chinese
    True
    >>> fmt_money("12.5", lang="en", currency="CHF")
    'CHF 12.5'
    """
    code = resolve_currency(currency)
    key = f"money.{code}" if f"money.{code}" in catalog(lang) else "money.other"
    return text_message(key, lang=lang, x=x, code=code)


def currency_name(*, lang: Lang | None = None, currency: str | None = None) -> str:
    """How a label names the unit of amounts: ``"US dollars ($)"``, its Chinese name, else the code.

    Examples
    --------
    >>> currency_name(lang="en", currency="USD"), currency_name(lang="en", currency="CHF")
    ('US dollars ($)', 'CHF')
    """
    code = resolve_currency(currency)
    key = f"currency.{code}" if f"currency.{code}" in catalog(lang) else "currency.other"
    return text_message(key, lang=lang, code=code)


def _unit(kind: Kind, x: str, lang: Lang | None) -> str:
    """The number text ``x`` with the unit of ``kind``."""
    kind = unit_kind(kind)
    if kind == "money":
        return fmt_money(x, lang=lang)
    return text_message(f"unit.{_UNIT[kind]}", lang=lang, x=x)


def fmt_value(value: float | None, kind: Kind, *, lang: Lang | None = None) -> str:
    """``value`` with its unit: rates are fractions shown as %, uplifts signed.

    Examples
    --------
    >>> fmt_value(0.3517, "rate", lang="en"), fmt_value(128.84, "money", lang="en")
    ('35.2%', '¥128.8')
    >>> import insights as ins
    >>> with ins.options(currency="USD"):
    ...     fmt_value(128.84, "money", lang="en")
    '$128.8'
    >>> fmt_value(0.272, "uplift", lang="en"), fmt_value(12000, "count", lang="en")
    ('+27.2%', '12,000')
    """
    if is_missing(value):
        return "–"
    assert value is not None
    return _unit(kind, _bare(value, kind, sign=kind == "uplift"), lang)


def fmt_range(
    low: float | None, high: float | None, kind: Kind, *, lang: Lang | None = None
) -> str:
    """ "34.8–35.6%" (the unit written once); "–" when a bound is missing.

    Examples
    --------
    >>> fmt_range(15, 18, "days", lang="en"), fmt_range(118.3, 139.3, "money", lang="en")
    ('15–18 days', '¥118.3–139.3')
    """
    if is_missing(low) or is_missing(high):
        return "–"
    assert low is not None and high is not None
    if kind == "uplift":
        return f"{fmt_value(low, kind, lang=lang)} – {fmt_value(high, kind, lang=lang)}"
    return _unit(kind, f"{_bare(low, kind)}–{_bare(high, kind)}", lang)


def fmt_ci(low: float | None, high: float | None, kind: Kind, *, lang: Lang | None = None) -> str:
    """ "95% CI 34.8–35.6%" (the unit written once); empty when a bound is missing.

    Examples
    --------
    >>> fmt_ci(0.348, 0.356, "rate", lang="en")
    '95% CI 34.8–35.6%'
    >>> fmt_ci(118.3, 139.3, "money", lang="en")
    '95% CI ¥118.3–139.3'
    """
    if is_missing(low) or is_missing(high):
        return ""
    return text_message("ci", lang=lang, range=fmt_range(low, high, kind, lang=lang))


def fmt_change(
    diff: float, kind: Kind, *, lang: Lang | None = None, previous: float | None = None
) -> str:
    """The size of a change, without its direction.

    Rates and uplifts change in percentage points; other kinds by a relative %
    of ``previous`` (or in their own unit when ``previous`` is missing or 0).

    Examples
    --------
    >>> fmt_change(-0.021, "rate", lang="en")
    '2.1 points'
    >>> fmt_change(5.0, "money", lang="en", previous=125.0)
    '4.0%'
    """
    if kind in ("rate", "uplift"):
        return text_message("unit.points", lang=lang, x=_num(abs(diff) * 100, 1))
    if previous is not None and not is_missing(previous) and previous != 0:
        return text_message("unit.percent", lang=lang, x=_num(abs(diff / previous) * 100, 1))
    return fmt_value(abs(diff), kind, lang=lang)


def fmt_diff(diff: float | None, kind: Kind, *, lang: Lang | None = None) -> str:
    """A signed difference in the unit of ``kind`` (rates in points).

    Examples
    --------
    >>> fmt_diff(0.0013, "rate", lang="en"), fmt_diff(-8.84, "money", lang="en")
    ('+0.1 points', '−¥8.8')
    """
    if is_missing(diff):
        return "–"
    assert diff is not None
    if kind in ("rate", "uplift"):
        return text_message("unit.points", lang=lang, x=_num(diff * 100, 1, sign=True))
    sign = MINUS if _bare(diff, kind).startswith(MINUS) else "+"
    return sign + fmt_value(abs(diff), kind, lang=lang)


def fmt_diff_range(
    low: float | None, high: float | None, kind: Kind, *, lang: Lang | None = None
) -> str:
    """The CI of a difference in the unit of ``kind`` (rates in points); "–" when a bound is missing.

    Examples
    --------
    >>> fmt_diff_range(-0.023, 0.125, "rate", lang="en")
    '−2.3 – 12.5 points'
    >>> fmt_diff_range(-15.02, 50.666, "money", lang="en")
    '¥−15.0 – 50.7'
    """
    if is_missing(low) or is_missing(high):
        return "–"
    assert low is not None and high is not None
    if kind in ("rate", "uplift"):
        return text_message(
            "unit.points", lang=lang, x=f"{_num(low * 100, 1)} – {_num(high * 100, 1)}"
        )
    return _unit(kind, f"{_bare(low, kind)} – {_bare(high, kind)}", lang)


def fmt_p(p: float | None, *, prefix: bool = True) -> str:
    """A p-value as every sentence, table and figure prints it (the one p-value format).

    ``"p < 0.001"``; three decimals below 0.1 (``"p = 0.012"``), two from 0.1
    (``"p = 0.34"``); ``"p > 0.99"`` at the top; ``"p = –"`` when missing.
    ``prefix=False`` gives the bare cell of a table's p column: ``"<0.001"``,
    ``"0.012"``, ``">0.99"``, ``"–"``.

    Raises
    ------
    ValueError
        When ``p`` is a number outside [0, 1].

    Examples
    --------
    >>> [fmt_p(x) for x in (0.0004, 0.01234, 0.3391, 0.999, None)]
    ['p < 0.001', 'p = 0.012', 'p = 0.34', 'p > 0.99', 'p = –']
    >>> [fmt_p(x, prefix=False) for x in (0.0004, 0.01234, 1.0)]
    ['<0.001', '0.012', '>0.99']
    """
    if is_missing(p):
        return "p = –" if prefix else "–"
    assert p is not None
    if not math.isfinite(p) or p < 0 or p > 1 + 1e-9:
        raise ValueError(f"p-value must be a number in [0, 1], got {p!r}")
    if p < 0.001:
        text = "< 0.001"
    elif p > 0.99:
        text = "> 0.99"
    else:
        text = f"= {p:.3f}" if p < 0.1 else f"= {p:.2f}"
    return f"p {text}" if prefix else text.removeprefix("= ").replace(" ", "")
