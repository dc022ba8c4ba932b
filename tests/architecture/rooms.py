"""The package's rooms and the arrows allowed between them (docs/architecture.md draws them),
and a reader of the import graph of the source tree."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "flowrisk"
# room -> rooms it may import; every room may import the foundation
FOUNDATION = {"config", "errors", "schema", "reference", "io"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "schema": {"errors"},
    "reference": {"errors", "schema"},
    "io": {"errors", "schema"},
    "synth": FOUNDATION,
    "data_contracts": FOUNDATION,
    "importers": FOUNDATION | {"data_contracts"},
    "features": FOUNDATION,
    "models": FOUNDATION | {"features"},
    "audit": FOUNDATION,
    "reports": FOUNDATION | {"features", "models"},
    "cases": FOUNDATION | {"audit"},
    "pipeline": FOUNDATION
    | {"synth", "data_contracts", "features", "models", "audit", "cases", "reports"},
    "api": FOUNDATION | {"data_contracts", "features", "models", "audit", "cases", "reports"},
    "cli": FOUNDATION
    | {
        "synth",
        "data_contracts",
        "importers",
        "features",
        "models",
        "audit",
        "cases",
        "pipeline",
        "api",
        "reports",
    },
    "__main__": {"cli"},
}
# the public face of a room: modules of other rooms import only these
PUBLIC_ONLY = {"features": {"flowrisk.features"}}


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, where."""

    module: str  # importing module, dotted
    target: str  # imported module, dotted (``from a import b`` gives ``a``)
    line: int


def room(module: str) -> str:
    """The room of a dotted module name: the first part below ``flowrisk``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(
    source: str, module: str, is_package: bool = False, modules: frozenset[str] = frozenset()
) -> Iterator[Import]:
    """Every flowrisk import of a module's source, top-level and inside functions alike;
    ``from a import b`` where ``a.b`` is one of ``modules`` (submodules, not names a package
    exports) counts as an import of ``a.b``."""
    tree = ast.parse(source)
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
            for name in subs or [target]:
                yield Import(module, name, node.lineno)


def public_names(source: str) -> list[str]:
    """The names a module lists in ``__all__`` (empty when it has none)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [e.value for e in getattr(node.value, "elts", []) if isinstance(e, ast.Constant)]
    return []


def package_imports(root: Path) -> list[Import]:
    """The import graph of the package under ``root`` (the folder holding ``flowrisk/``)."""
    paths = sorted((root / PACKAGE).rglob("*.py"))
    exported = {
        f"{module_name(p, root)}.{name}"
        for p in paths
        if p.name == "__init__.py"
        for name in public_names(p.read_text(encoding="utf-8"))
    }
    modules = frozenset(module_name(p, root) for p in paths) - exported
    found: list[Import] = []
    for path in paths:
        source, name = path.read_text(encoding="utf-8"), module_name(path, root)
        found.extend(imports_of(source, name, path.name == "__init__.py", modules))
    return found


def violations(graph: list[Import]) -> list[str]:
    """Imports that break an arrow of :data:`ALLOWED` or reach past a room's public face."""
    out = []
    for imp in graph:
        source, target = room(imp.module), room(imp.target)
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        if source == target or target == "__init__" or source == "__init__":
            continue
        if target not in ALLOWED.get(source, set()):
            out.append(f"{where}: {source} may not import {target}")
        elif target in PUBLIC_ONLY and imp.target not in PUBLIC_ONLY[target]:
            out.append(f"{where}: outside {target}/, import only {sorted(PUBLIC_ONLY[target])}")
    return out
