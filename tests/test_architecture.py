"""The layout's rules (docs/architecture.md), checked on the code's own imports.

Every import counts, also those inside functions (the status path imports lazily);
only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orchestrator", "status", "nixos_build_status", "sinks", "records", "system",
            "parsers")

# Top to bottom: a module imports its own layer or a lower one.  A layer holds one or
# more groups (each a few package prefixes); groups of one layer are independent.
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("orchestrator",), ("status.cli", "status.commands")),  # the two programs
    (("nixos_build_status",),),                     # the library's public face
    (("status",),),                                 # the status report and its probes
    (("sinks",),),                                  # where events go
    (("records",), ("system",)),                    # the files' formats; the NixOS tree
    (("parsers",),),                                # bytes -> lines -> events (pure)
    (("parsers.events",),),                         # the contract
)
# The only modules that start processes (and what they start).
SPAWNERS = {
    "orchestrator.pty": "the wrapped tool, under a PTY",
    "orchestrator.nom_relay": "the user's nom, fed nix's stream",
    "orchestrator.versions": "nh --version, home-manager --version (once per run, deadline)",
    "status.probes.tools": "systemctl, journalctl, nixos-version, nix (with deadlines)",
    "orchestrator.ci_annotate": "buildkite-agent annotate, with the job summary (deadline)",
}
SPAWN_MODULES = frozenset({"subprocess", "multiprocessing", "pty"})
SPAWN_CALLS = frozenset({"posix_spawn", "posix_spawnp", "fork", "forkpty", "system", "popen",
                         "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp",
                         "spawnv", "spawnve", "spawnl"})
# Heavy libraries, each only where it is needed (the status path must stay fast).
ONLY_IN = {
    "trio": ("orchestrator",),
    "anyio": ("orchestrator",),
    "rich": ("sinks.console_live",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what is under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imported(module: str) -> Iterator[tuple[str, int]]:
    """(absolute name, line) of everything ``module`` imports (names, not modules: a
    name is resolved to the longest module it can be)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def project_target(name: str) -> str | None:
    """The project module an imported name belongs to, if any."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for name, _ in imported(module):
            target = project_target(name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def layer_of(module: str) -> tuple[int, int]:
    """(layer, group) of a module: the most specific prefix wins."""
    best: tuple[int, int, str] | None = None
    for index, groups in enumerate(LAYERS):
        for group_index, group in enumerate(groups):
            for prefix in group:
                if (module == prefix or module.startswith(prefix + ".")) and (
                        best is None or len(prefix) > len(best[2])):
                    best = (index, group_index, prefix)
    assert best is not None, f"{module} is in no layer"
    return best[0], best[1]


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_only_go_down() -> None:
    wrong = []
    for module, targets in edges().items():
        level, group = layer_of(module)
        for target in targets:
            target_level, target_group = layer_of(target)
            if target_level < level:
                wrong.append(f"{module} imports {target} (a higher layer)")
            elif target_level == level and target_group != group:
                wrong.append(f"{module} imports {target} (its layer's groups are independent)")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles_between_files() -> None:
    graph = edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))  # restored below: other tests rely on it

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
                cycles.append(sorted(component))

    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_parsers_import_nothing_of_ours_but_parsers() -> None:
    wrong = [f"{m} imports {t}" for m, targets in edges().items() if m.startswith("parsers")
             for t in targets if not t.startswith("parsers")]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_heavy_libraries_only_where_needed(library: str) -> None:
    allowed = ONLY_IN[library]
    wrong = [f"{m}:{line} imports {name}" for m in MODULES for name, line in imported(m)
             if (name == library or name.startswith(library + "."))
             and not any(m == a or m.startswith(a + ".") for a in allowed)]
    assert not wrong, "\n".join(wrong)


def test_processes_start_in_the_named_modules_only() -> None:
    wrong = []
    for module, path in MODULES.items():
        if module in SPAWNERS:
            continue
        for name, line in imported(module):
            if name.split(".")[0] in SPAWN_MODULES:
                wrong.append(f"{module}:{line} imports {name}")
        for node in _nodes(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "os"
                    and node.func.attr in SPAWN_CALLS):
                wrong.append(f"{module}:{node.lineno} calls os.{node.func.attr}")
    assert not wrong, "\n".join(wrong)


def test_the_spawners_exist() -> None:
    """The list above names real modules (a rename must update it and the docs)."""
    assert set(SPAWNERS) <= set(MODULES)
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for module in SPAWNERS:
        assert module.replace(".", "/") + ".py" in architecture
