"""The error every failed render raises (subclasses say which step failed)."""

from __future__ import annotations

__all__ = ["RenderError"]


class RenderError(RuntimeError):
    """Rendering a report failed; the message says what, where and how to fix it."""
