"""insights.tables: tidy frames formatted as report tables (Markdown / HTML)."""

from insights.tables.format import format_table, table_frame

__all__ = ["format_table", "table_frame"]
