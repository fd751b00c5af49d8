"""insights.metrics: compute in the data engine, return small tidy Polars frames.

One module per topic; each lists its public functions in ``__all__`` and this package
collects them, so a new metric needs no line here (nor in ``insights/__init__.py``):
writing it in its topic module and listing it there makes it ``ins.<name>``.
"""

from __future__ import annotations

import importlib
import types

#: The topic modules, in the order of the report's chapters.
TOPICS = (
    "growth",
    "growth_table",
    "activity",
    "retention",
    "retention_matrix",
    "retention_index",
    "lifetimes",
    "purchase",
    "concentration",
    "ltv",
    "ltv_projection",
    "ltv_btyd",
    "unit_economics",
    "interaction",
    "interaction_outcomes",
    "funnel",
    "community",
    "community_members",
    "lifecycle",
    "lifecycle_transitions",
    "rfm",
    "experiments",
)

__all__: list[str] = []
for _topic in TOPICS:
    _module = importlib.import_module(f"insights.metrics.{_topic}")
    for _name in _module.__all__:
        _seen = globals().get(_name)
        if (
            _seen is not None
            and not isinstance(_seen, types.ModuleType)
            and _seen is not getattr(_module, _name)
        ):
            raise ImportError(f"insights.metrics.{_topic}.{_name} is defined twice")
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
del _topic, _module, _name, _seen
