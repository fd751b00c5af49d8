"""insights: retention, repurchase, LTV and strategy-effect analytics for live-stream e-commerce."""

from insights.data import Dataset, MissingTableError, frames_dataset

__all__ = ["Dataset", "MissingTableError", "frames_dataset"]
__version__ = "0.1.0"
