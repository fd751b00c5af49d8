"""The one registry of metric ids: what each metric is, in which unit, and which way is better.

A metric is registered once, next to the function that computes it, with its id
*template*: a fixed id (``"aov"``) or an id with integer fields
(``"repurchase_{window}d"``, ``"retention_d{day}"``). The template is the metric's
family: :func:`metric_id` builds an id from it, :func:`metric_info` resolves any id
back to it, and the catalogs name it under the same key (``metric.repurchase_{window}d:
"{window}-day repurchase rate"``). The narrative, tables and figures never parse ids
themselves: they ask this registry.

This module imports nothing from the package, so every layer (metrics, narrative,
tables, figures) can use it.

Examples
--------
>>> metric_id("repurchase_{window}d", window=90)
'repurchase_90d'
>>> info, params = resolve("repurchase_90d")
>>> info.template, info.unit, info.better, params
('repurchase_{window}d', 'rate', 'higher', {'window': 90})
>>> metric_info("cac").better
'lower'
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Better",
    "Kind",
    "METRICS",
    "MetricInfo",
    "metric_id",
    "metric_info",
    "register",
    "resolve",
    "unit_kind",
]

#: How a metric's value is written: a fraction shown as %, money (in the currency set
#: with ``ins.options``), a duration, a ratio ...
Kind = Literal["rate", "money", "days", "minutes", "ratio", "uplift", "count", "index"]
#: Which way a metric is good: ``"higher"``, ``"lower"``, or ``None`` (a mix, neither way).
Better = Literal["higher", "lower"] | None

_KINDS: tuple[str, ...] = ("rate", "money", "days", "minutes", "ratio", "uplift", "count", "index")
#: Former spellings of a kind, still accepted: ``"yuan"`` is ``"money"``.
_KIND_ALIASES = {"yuan": "money"}


def unit_kind(kind: str) -> Kind:
    """The kind ``kind`` names (``"yuan"``, the former name of ``"money"``, included).

    Examples
    --------
    >>> unit_kind("yuan"), unit_kind("rate")
    ('money', 'rate')
    """
    return _KIND_ALIASES.get(kind, kind)  # type: ignore[return-value]


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric family: its id template, unit kind and better direction.

    Attributes
    ----------
    template
        The id, with ``{field}`` placeholders for integer parameters
        (``"retention_d{day}"``); a fixed id has none (``"aov"``).
    unit
        How values are written (:data:`Kind`): ``"rate"`` is a fraction shown as %.
    better
        ``"higher"``, ``"lower"`` or ``None`` (neither: a share of a mix).
    base
        For a relative metric (an uplift, a ratio), the unit of the two group values it
        compares (the AOVs behind an AOV uplift).
    """

    template: str
    unit: Kind
    better: Better = "higher"
    base: Kind | None = None
    fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", unit_kind(self.unit))
        if self.base is not None:
            object.__setattr__(self, "base", unit_kind(self.base))
        parts = list(string.Formatter().parse(self.template))
        names = tuple(name for _, name, spec, conv in parts if name is not None)
        if any(not n or not n.isidentifier() for n in names) or len(set(names)) != len(names):
            raise ValueError(f"metric template {self.template!r}: fields must be distinct names")
        if any(spec or conv for _, name, spec, conv in parts if name is not None):
            raise ValueError(f"metric template {self.template!r}: fields take no format spec")
        if self.unit not in _KINDS or (self.base is not None and self.base not in _KINDS):
            raise ValueError(f"metric {self.template!r}: unit and base must be one of {_KINDS}")
        if self.better not in ("higher", "lower", None):
            raise ValueError(f"metric {self.template!r}: better must be 'higher', 'lower' or None")
        regex = "".join(
            re.escape(text) + (rf"(?P<{name}>\d+)" if name is not None else "")
            for text, name, _, _ in parts
        )
        object.__setattr__(self, "fields", names)
        object.__setattr__(self, "_pattern", re.compile(rf"^{regex}$"))

    def id(self, **params: int) -> str:
        """The id of this family for ``params`` (one non-negative integer per field)."""
        if set(params) != set(self.fields):
            raise ValueError(
                f"metric {self.template!r} takes {sorted(self.fields)}, got {sorted(params)}"
            )
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"metric {self.template!r}: {name} must be a non-negative integer, "
                    f"got {value!r}"
                )
        return self.template.format(**params)

    def match(self, metric: str) -> dict[str, int] | None:
        """``{field: value}`` when ``metric`` is an id of this family, else ``None``."""
        found = self._pattern.match(metric)
        return None if found is None else {k: int(v) for k, v in found.groupdict().items()}


#: Every registered family, by template (fixed ids are templates without fields).
METRICS: dict[str, MetricInfo] = {}


def register(
    template: str,
    *,
    unit: Kind | Literal["yuan"],
    better: Better = "higher",
    base: Kind | Literal["yuan"] | None = None,
) -> MetricInfo:
    """Register a metric family (once, next to the function that computes it).

    Parameters
    ----------
    template
        The metric id, with ``{field}`` placeholders for integer parameters:
        ``"aov"``, ``"repurchase_{window}d"``.
    unit
        How its values are written (:data:`Kind`; ``"yuan"`` is read as ``"money"``).
    better
        ``"higher"`` (default), ``"lower"`` or ``None``.
    base
        The unit of the group values a relative metric compares.

    Returns
    -------
    MetricInfo
        The family; ``info.id(window=60)`` builds an id.

    Examples
    --------
    >>> register("retention_d{day}", unit="rate").id(day=14)
    'retention_d14'
    """
    info = MetricInfo(template, unit_kind(unit), better, None if base is None else unit_kind(base))
    known = METRICS.get(template)
    if known is not None:
        if known != info:
            raise ValueError(f"metric {template!r} is already registered as {known}")
        return known
    METRICS[template] = info
    return info


_SCANNED = False


def _scan_metric_modules() -> None:
    """Import every module of :mod:`insights.metrics` once, so their registrations run."""
    global _SCANNED
    if _SCANNED:
        return
    _SCANNED = True
    package = importlib.import_module("insights.metrics")
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)


def _lookup(metric: str) -> tuple[MetricInfo, dict[str, int]] | None:
    fixed = METRICS.get(metric)
    if fixed is not None and not fixed.fields:
        return fixed, {}
    for info in METRICS.values():
        if info.fields:
            params = info.match(metric)
            if params is not None:
                return info, params
    return None


def resolve(metric: str) -> tuple[MetricInfo, dict[str, int]]:
    """The family of the id ``metric`` and its parameters; unknown ids raise ``ValueError``.

    Examples
    --------
    >>> info, params = resolve("retention_d30")
    >>> info.template, params
    ('retention_d{day}', {'day': 30})
    """
    found = _lookup(metric)
    if found is None:
        _scan_metric_modules()
        found = _lookup(metric)
    if found is None:
        raise ValueError(f"metric {metric!r} is not registered; known: {sorted(METRICS)}")
    return found


def metric_info(metric: str) -> MetricInfo:
    """The :class:`MetricInfo` of the id ``metric``; unknown ids raise ``ValueError``.

    Examples
    --------
    >>> metric_info("retention_d30").unit
    'rate'
    >>> metric_info("cac").better
    'lower'
    """
    return resolve(metric)[0]


def metric_id(family: str, **params: int) -> str:
    """The id of a registered ``family`` (its template) for ``params``.

    Metric functions build their ``metric`` column with it, so an id always resolves
    back to its family.

    Examples
    --------
    >>> metric_id("retention_d{day}", day=7), metric_id("aov")
    ('retention_d7', 'aov')
    """
    info = METRICS.get(family)
    if info is None:
        _scan_metric_modules()
        info = METRICS.get(family)
    if info is None:
        raise ValueError(f"metric family {family!r} is not registered; known: {sorted(METRICS)}")
    return info.id(**params)


# The metrics the package computes today. A new metric registers itself in its topic
# module instead (CONTRIBUTING.md), next to its function.
for _template, _unit, _better, _base in [
    # retention and lifetimes
    ("retention_d{day}", "rate", "higher", None),
    ("churn_week1", "rate", "lower", None),
    ("churn_month1", "rate", "lower", None),
    ("rmst_90", "days", "higher", None),
    ("median_lifetime", "days", "higher", None),
    # activity, growth and lifecycle
    ("active_90d", "rate", "higher", None),
    ("new_users", "count", "higher", None),
    ("active_users", "count", "higher", None),
    ("active_users_index", "index", "higher", None),
    ("new_user_share", "rate", None, None),
    ("user_share", "rate", None, None),
    ("watch_minutes_per_session_mean", "minutes", "higher", None),
    ("bounce_rate", "rate", "lower", None),
    ("cac", "money", "lower", None),
    ("cac_yuan", "money", "lower", None),  # former id of cac
    ("lifecycle_layer_share", "rate", None, None),
    ("lifecycle_transition_share", "rate", None, None),
    ("rfm_segment_share", "rate", None, None),
    ("active_users_qoq", "uplift", "higher", "count"),
    ("active_users_yoy", "uplift", "higher", "count"),
    ("new_users_qoq", "uplift", "higher", "count"),
    ("new_users_yoy", "uplift", "higher", "count"),
    ("silent_reactivation_{window}d", "rate", "higher", None),
    # purchase
    ("repurchase_{window}d", "rate", "higher", None),
    ("first_purchase_{window}d", "rate", "higher", None),
    ("first_purchase_conversion_{window}d", "rate", "higher", None),  # calibration targets' id
    ("aov", "money", "higher", None),
    ("aov_yuan", "money", "higher", None),  # former id of aov
    ("aov_ratio", "ratio", "higher", "money"),
    ("repurchase_cycle", "days", "lower", None),
    ("repurchase_cycle_median_days", "days", "lower", None),
    ("gmv_share_top{pct}pct_buyers", "rate", None, None),
    ("pareto_gmv_share", "rate", None, None),
    # interaction
    ("interaction_rate", "rate", "higher", None),
    ("aov_uplift", "uplift", "higher", "money"),
    ("repurchase_uplift", "uplift", "higher", "rate"),
    ("interaction_type_share", "rate", None, None),
    ("interaction_funnel", "rate", "higher", None),
    ("order_rate", "rate", "higher", None),
    ("return_{window}d", "rate", "higher", None),
    # private domain
    ("public_to_private_conversion_{window}d", "rate", "higher", None),
    ("community_exit_rate_{window}d", "rate", "lower", None),
    ("community_exit_rate_monthly", "rate", "lower", None),
    ("private_funnel", "rate", "higher", None),
    ("private_gmv_share_membership", "rate", "higher", None),
    ("private_gmv_share_source", "rate", "higher", None),
    # the documents' comparison, member_comparison(design="naive"): a reproduction of their
    # figure (calibration D02), biased under no effect; never the effect of joining
    ("repurchase_frequency_ratio", "ratio", "higher", "index"),
    # experiment outcomes (insights.metrics.experiment_effects)
    ("order_{window}d", "rate", "higher", None),
    ("join_{window}d", "rate", "higher", None),
    ("interaction_rate_{window}d", "rate", "higher", None),
    ("gmv_{window}d", "money", "higher", None),
    ("aov_{window}d", "money", "higher", None),
]:
    register(_template, unit=_unit, better=_better, base=_base)  # type: ignore[arg-type]
del _template, _unit, _better, _base
