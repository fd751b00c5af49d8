"""insights.report."""
