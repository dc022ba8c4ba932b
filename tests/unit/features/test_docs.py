"""The README's feature catalog is the generated one."""

from __future__ import annotations

from pathlib import Path

from flowrisk.features import catalog, catalog_markdown

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_catalog_is_generated() -> None:
    text = README.read_text(encoding="utf-8")
    begin, end = "<!-- catalog:begin -->\n", "<!-- catalog:end -->"
    section = text[text.index(begin) + len(begin) : text.index(end)]
    assert section == catalog_markdown(), (
        "README catalog is stale: replace it with `flowrisk catalog --markdown`"
    )
    assert all(f"`{f.name}`" in section for f in catalog())
