"""Data contracts: one declared rule set per table, run by Great Expectations (or Polars), with
cross-table checks and a quarantine that keeps every rejected row and its reasons."""

from flowrisk.data_contracts.rules import ContractContext, Rule, contract
from flowrisk.data_contracts.validate import (
    Engine,
    TableReport,
    ValidationReport,
    context_for,
    validate_dataset,
)

__all__ = [
    "ContractContext",
    "Engine",
    "Rule",
    "TableReport",
    "ValidationReport",
    "context_for",
    "contract",
    "validate_dataset",
]
