"""The contract of every table as Markdown, generated from the rules and their GX expectations
(the README embeds this text; a test keeps the two equal)."""

from __future__ import annotations

from datetime import UTC, datetime

from flowrisk.data_contracts.rules import ContractContext, contract
from flowrisk.data_contracts.validate import ORDER

__all__ = ["contract_markdown"]

# Rules whose bounds depend on the day of validation are shown with this reference day.
_DOC_CONTEXT = ContractContext(now=datetime(2026, 1, 1, tzinfo=UTC))


def contract_markdown() -> str:
    """One Markdown table per data-model table: rule, how it is checked, what it requires."""
    from flowrisk.data_contracts.suites import expectation_of

    lines: list[str] = []
    for table in ORDER:
        lines += [f"#### `{table}`", "", "| rule | checked by | requirement |", "|---|---|---|"]
        for rule in contract(table, _DOC_CONTEXT):
            by = (
                f"GX `{type(expectation_of(rule)).__name__}`"
                if rule.row_rule
                else f"Polars ({rule.kind})"
            )
            text = rule.description.replace("|", "\\|")
            lines.append(f"| `{rule.name}` | {by} | {text} |")
        lines.append("")
    return "\n".join(lines)
