"""insights.viz."""
