"""The README's contract section is the generated one, and every rule is documented once."""

from __future__ import annotations

from pathlib import Path

from flowrisk.data_contracts.docs import contract_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_contract_section_is_generated_from_the_suites() -> None:
    text = README.read_text(encoding="utf-8")
    begin, end = "<!-- contracts:begin -->\n", "<!-- contracts:end -->"
    section = text[text.index(begin) + len(begin) : text.index(end)]
    assert section == contract_markdown(), (
        "README contract section is stale: replace it with `flowrisk contracts --markdown`"
    )


def test_every_rule_name_is_unique() -> None:
    names = [
        line.split("`")[1] for line in contract_markdown().splitlines() if line.startswith("| `")
    ]
    assert len(names) == len(set(names)) > 80
