"""Loading, the data contract and validation."""

from insights.data._read import DataReadError
from insights.data.contract import (
    CITY_TIER_GROUPS,
    CONTRACT,
    ColumnSpec,
    TableSpec,
    generation_from_birth_year,
)
from insights.data.dataset import (
    Dataset,
    EmptyPeriodWarning,
    MissingTableError,
    frames_dataset,
    parse_as_of,
)
from insights.data.load import DataValidationError, load_dataset
from insights.data.quality import QualityEntry, QualityLog
from insights.data.validate import format_report, log_to_records, validate

__all__ = [
    "CITY_TIER_GROUPS",
    "CONTRACT",
    "ColumnSpec",
    "DataReadError",
    "DataValidationError",
    "Dataset",
    "EmptyPeriodWarning",
    "MissingTableError",
    "QualityEntry",
    "QualityLog",
    "TableSpec",
    "format_report",
    "frames_dataset",
    "generation_from_birth_year",
    "load_dataset",
    "log_to_records",
    "parse_as_of",
    "validate",
]
