"""insights.tables."""
