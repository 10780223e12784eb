"""The shape of the code: package faces, the way interfaces reach the domain, no import cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"
FACES = [
    "soloist.domain.campaigns",
    "soloist.domain.customers",
    "soloist.domain.imports",
    "soloist.domain.journeys",
    "soloist.domain.jobs",
    "soloist.domain.loyalty",
    "soloist.domain.sales",
    "soloist.domain.scoring",
    "soloist.domain.service",
    "soloist.domain.surveys",
    "soloist.domain.webhooks",
    "soloist.demo",
]
INTERFACES = ("soloist.api", "soloist.web", "soloist.cli", "soloist.demo", "soloist.app")


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "soloist").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _top_level_imports(path: Path, module: str) -> set[str]:
    """Modules imported when ``module`` is imported: module-level statements, outside
    ``if TYPE_CHECKING:`` blocks; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if "TYPE_CHECKING" not in test:
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)

    visit(tree.body)
    return names


@pytest.mark.parametrize("face", FACES)
def test_every_exported_name_of_a_package_face_exists(face: str) -> None:
    package = importlib.import_module(face)
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert missing == []
    assert sorted(package.__all__) == sorted(set(package.__all__))


def test_interfaces_reach_domain_packages_only_through_their_faces() -> None:
    offenders = []
    for module, path in _modules().items():
        if not module.startswith(INTERFACES):
            continue
        for imported in _top_level_imports(path, module) | _lazy_imports(path):
            for face in FACES:
                inside_own_face = module == face or module.startswith(face + ".")
                if imported.startswith(face + ".") and not inside_own_face:
                    submodule = imported[len(face) + 1 :].split(".")[0]
                    if (SRC / (face.replace(".", "/")) / f"{submodule}.py").exists():
                        offenders.append(f"{module} imports {imported}")
    assert offenders == []


def _lazy_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_no_module_imports_itself_through_a_cycle() -> None:
    modules = _modules()
    graph = {name: _edges(name, path, modules) for name, path in modules.items()}
    assert [sorted(component) for component in _strongly_connected(graph)] == []


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """What importing ``name`` runs first: each module it imports, and the packages above that
    module (their ``__init__`` runs before it) except the packages above ``name`` itself, which
    are already being imported when ``name`` is."""
    own_ancestors = {name.rsplit(".", depth)[0] for depth in range(1, name.count(".") + 1)}
    edges = set()
    for target in _top_level_imports(path, name):
        if target in modules and target != name:
            edges.add(target)
        parts = target.split(".")
        for depth in range(1, len(parts)):
            prefix = ".".join(parts[:depth])
            if prefix in modules and prefix not in own_ancestors and prefix != name:
                edges.add(prefix)
    return edges


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm; components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            connect(node)
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    """A name that starts with ``_`` belongs to its module; a helper shared by siblings gets a
    public name (or lives in a private module, such as ``analytics/_frames.py``). Tests may
    reach a module's private fast path through the module (to compare it with the slow one),
    but do not import private names."""
    offenders = []
    for path in [*(SRC / "soloist").rglob("*.py"), *(SRC.parent / "tests").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("soloist"):
                private = [
                    a.name for a in node.names if a.name.startswith("_") and a.name[1] != "_"
                ]
                if private:
                    offenders.append(f"{path.name}: from {node.module} import {private}")
            elif (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and "tests" not in path.parts
            ):
                owner = node.value
                if (
                    isinstance(owner, ast.Name)
                    and owner.id not in {"self", "cls", "sys", "os", "np", "pl", "pd"}
                    and not node.attr.startswith("__")
                    and owner.id in _imported_soloist_modules(tree)
                ):
                    offenders.append(f"{path.name}: {owner.id}.{node.attr}")
    assert offenders == []


def _imported_soloist_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("soloist"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.startswith("soloist")
            )
    return names


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(SRC)): lines
        for path in (SRC / "soloist").rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}
