"""The direction of imports is the architecture: doors (channels) call services, services never call doors,
and no module imports itself back through others. Read from the source, so it needs no environment."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("api", "channels", "actions", "bot")
# What the domain layer may never import: the doors, the HTTP routes, the app that wires them.
DOORS_AND_WIRING = ("channels", "api.routes", "api.main", "api.deps")
DOMAIN = ("api.services", "api.core", "api.models", "api.db", "api.i18n")


def _modules() -> dict[str, Path]:
    found = {}
    for package in FIRST_PARTY:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Every first-party module each module imports, wherever the import stands (lazy ones included)."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {resolve(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {resolve(f"{node.module}.{alias.name}") for alias in node.names}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_module_imports_itself_back():
    assert _cycles(_imports(_modules())) == []


def test_the_domain_never_imports_a_door_a_route_or_the_app():
    graph = _imports(_modules())
    wrong = sorted(
        (module, target)
        for module, targets in graph.items()
        if _under(module, DOMAIN)
        for target in targets
        if _under(target, DOORS_AND_WIRING)
    )
    assert wrong == []


def test_doors_do_not_import_each_other_or_the_app():
    def door(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if parts[0] == "channels" and len(parts) > 1 else None

    graph = _imports(_modules())
    wrong = sorted(
        (module, target)
        for module, targets in graph.items()
        if door(module)
        for target in targets
        if _under(target, ("api.main", "api.routes")) or (door(target) not in (None, door(module)))
    )
    assert wrong == []


def test_the_checks_see_a_cycle_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_two_test_modules_share_a_name():
    """pytest imports test modules by their file name (the test folders are not packages): two test files
    with one name stop the whole run at collection."""
    names: dict[str, list[str]] = {}
    for path in (REPO / "tests").rglob("test_*.py"):
        names.setdefault(path.name, []).append(str(path.relative_to(REPO)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
