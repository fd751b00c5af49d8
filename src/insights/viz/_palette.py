"""One colour per group, the same in every figure.

Colours are assigned to the *sorted* distinct group names, so the same set of
groups gets the same colours whatever order the rows come in and whichever plot
draws them. Plot functions build the palette from all groups, before hiding the
small ones, so hiding a group never shifts the colours of the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from matplotlib import colormaps
from matplotlib.colors import to_hex

__all__ = ["ALL_COLOUR", "BASE_COLOURS", "PaletteLike", "group_palette"]

#: Okabe–Ito colour-blind-safe colours (yellow and black left out: poor on white).
BASE_COLOURS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
)

#: Next colours, distinct from the first six (tab10's brown, purple, grey, olive).
_MORE_COLOURS: tuple[str, ...] = ("#8c564b", "#9467bd", "#7f7f7f", "#bcbd22")

#: Colour of the single overall curve ``"all"``.
ALL_COLOUR = "#333333"

PaletteLike = Mapping[str, str] | Sequence[str] | str | None


def _extended(k: int) -> list[str]:
    """``k`` colours: the Okabe–Ito ones first, then tab20 for many groups."""
    extra = [to_hex(c) for c in colormaps["tab20"].colors[1::2]]  # type: ignore[attr-defined]
    colours = [*BASE_COLOURS, *_MORE_COLOURS, *extra]
    return [colours[i % len(colours)] for i in range(k)]


def group_palette(groups: Iterable[object], palette: PaletteLike = None) -> dict[str, str]:
    """Map each distinct group name to a hex colour, independent of input order.

    Parameters
    ----------
    groups
        Group names (any iterable; duplicates and order do not matter).
    palette
        ``None`` (Okabe–Ito, then tab20), a matplotlib colormap name, a sequence
        of colours (used in sorted-group order) or a mapping group -> colour
        (missing groups fall back to the default colours).

    Returns
    -------
    dict
        ``{group: "#rrggbb"}`` in sorted group order. The single group ``"all"``
        is dark grey.

    Examples
    --------
    >>> group_palette(["b", "a", "b"])
    {'a': '#0072b2', 'b': '#d55e00'}
    >>> group_palette(["a", "b"]) == group_palette(["b", "a"])
    True
    """
    names = sorted({str(g) for g in groups})
    if isinstance(palette, Mapping):
        base = group_palette([n for n in names if n not in palette])
        return {n: to_hex(palette[n]) if n in palette else base[n] for n in names}
    if names == ["all"] and palette is None:
        return {"all": ALL_COLOUR}
    if palette is None:
        colours = _extended(len(names))
    elif isinstance(palette, str):
        if palette not in colormaps:
            raise ValueError(f"palette {palette!r} is not a matplotlib colormap name")
        cmap = colormaps[palette]
        listed = getattr(cmap, "colors", None)
        if listed is not None and len(listed) >= len(names):
            colours = [to_hex(c) for c in listed[: len(names)]]
        else:
            step = 1 / max(len(names) - 1, 1)
            colours = [to_hex(cmap(i * step)) for i in range(len(names))]
    else:
        if len(palette) == 0:
            raise ValueError("palette must not be an empty sequence")
        colours = [to_hex(palette[i % len(palette)]) for i in range(len(names))]
    return {n: c.lower() for n, c in zip(names, colours, strict=True)}
