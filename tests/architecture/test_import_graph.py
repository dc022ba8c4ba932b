"""The import graph of flowrisk follows the arrows of docs/architecture.md, modules and
functions stay small, and ``lgb.train`` has one home."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.architecture.rooms import ALLOWED, imports_of, package_imports, violations

ROOT = Path(__file__).resolve().parents[2]
MODULES = frozenset({"flowrisk.features.context", "flowrisk.features.catalog"})
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def test_the_package_follows_the_allowed_arrows() -> None:
    graph = package_imports(ROOT)
    assert len(graph) > 100  # the reader really found the imports
    assert violations(graph) == []


def test_every_room_is_declared() -> None:
    rooms = {p.stem if p.is_file() else p.name for p in (ROOT / "flowrisk").iterdir()}
    rooms = {r for r in rooms if not r.startswith(("_", ".")) or r == "__main__"} - {"py"}
    assert rooms - {"__pycache__"} <= set(ALLOWED)


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("flowrisk.features.build", "from flowrisk.models import RiskModel", "may not import"),
        ("flowrisk.synth.flows", "import flowrisk.features", "may not import"),
        ("flowrisk.models.explain", "from flowrisk.features.context import X", "import only"),
        ("flowrisk.api.app", "from flowrisk.cli import app", "may not import"),
        ("flowrisk.models.batch", "def f():\n    from ..api import app", "may not import"),
        ("flowrisk.data_contracts.rules", "from ..features import catalog", "may not import"),
        ("flowrisk.reports.case", "from flowrisk.features import context", "import only"),
        ("flowrisk.reports.case", "from flowrisk.audit import Store", "may not import"),
    ],
)
def test_a_forbidden_import_is_caught(module: str, source: str, broken: str) -> None:
    """The check fails on each kind of forbidden arrow, lazy and relative imports included."""
    found = violations(list(imports_of(source, module, modules=MODULES)))
    assert len(found) == 1 and broken in found[0]


def test_allowed_imports_pass() -> None:
    ok = "from flowrisk.features import build_profiles\nfrom flowrisk.schema import TABLES"
    assert violations(list(imports_of(ok, "flowrisk.models.batch"))) == []


def _python_files() -> list[Path]:
    return sorted((ROOT / "flowrisk").rglob("*.py"))


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _python_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    assert long == {}


def _lightgbm_train_calls(source: str) -> list[int]:
    """Lines that call LightGBM's ``train``, however it was imported (module alias or name)."""
    tree = ast.parse(source)
    modules, names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "lightgbm"}
        elif isinstance(node, ast.ImportFrom) and node.module == "lightgbm":
            names |= {a.asname or a.name for a in node.names if a.name == "train"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (
            isinstance(f, ast.Attribute)
            and f.attr == "train"
            and isinstance(f.value, ast.Name)
            and f.value.id in modules
        ) or (isinstance(f, ast.Name) and f.id in names):
            lines.append(node.lineno)
    return lines


def test_lightgbm_is_trained_in_one_place() -> None:
    calls = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in _python_files()
        for line in _lightgbm_train_calls(p.read_text(encoding="utf-8"))
    ]
    assert len(calls) == 1 and calls[0].startswith("flowrisk/models/learner.py:"), calls


@pytest.mark.parametrize(
    "source",
    [
        "import lightgbm as lgb\nlgb.train({}, d)",
        "import lightgbm\nlightgbm.train({}, d)",
        "from lightgbm import train as fit\nfit({}, d)",
    ],
)
def test_every_way_of_calling_lightgbm_train_is_seen(source: str) -> None:
    assert _lightgbm_train_calls(source) == [2]
    assert _lightgbm_train_calls("import lightgbm as lgb\nlgb.Dataset(x)") == []


def _documented_arrows() -> dict[str, set[str]]:
    """The 'may import' column of the rooms table in docs/architecture.md."""
    from tests.architecture.rooms import FOUNDATION

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    arrows: dict[str, set[str]] = {}
    for room, allowed in re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$", text, re.MULTILINE):
        names: set[str] = set()
        for item in (part.strip() for part in allowed.split(",")):
            if item == "foundation":
                names |= FOUNDATION
            elif item == "everything above":
                names |= set(arrows)
            elif item != "nothing":
                names.add(item)
        arrows[room] = names
    return arrows


def test_the_architecture_document_draws_the_checked_arrows() -> None:
    documented = _documented_arrows()
    assert documented == {k: v for k, v in ALLOWED.items() if k != "__main__"}
