"""The house's rules (docs/architecture.md), read from the source's import statements.

- SQL is written only in ``store/``: no other module imports a query builder from SQLAlchemy
  (``select``, ``insert``, ``update``, ``delete``, ``text``, …) or the tables (``store.tables``).
  Services may still name ``Connection`` and ``Engine`` as types and catch SQLAlchemy's errors.
- The floors: a package imports only from the floors below it (and itself), never from a floor
  above nor from a neighbour on its own floor.
- The worker host (``worker/host.py``) runs loops without knowing whose; each service offers its
  loop in ``<service>/loop.py``, and only ``worker/`` (the wiring of the worker process) imports
  one: no service imports another's loop.
- The import graph under ``src/callvault`` has no cycle (imports inside functions count too).

Each rule is checked on the real tree and, so that a check that cannot fail is caught, on a
small tree written here that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Names a module outside store/ may import from SQLAlchemy's top level: types (and the URL parser),
# nothing that builds a statement.
SQLALCHEMY_TYPES = frozenset({"Connection", "Engine", "Row", "RowMapping", "make_url"})
# Sub-modules of SQLAlchemy that hold no query builder (errors, engine types).
SQLALCHEMY_SAFE_MODULES = frozenset({"sqlalchemy.exc", "sqlalchemy.engine"})

# Bottom to top. A package (or top-level module) of ``callvault`` may import from its own package
# and from packages on lower floors only.
FLOORS: list[set[str]] = [
    {
        "errors",
        "text",
        "ids",
        "files",
        "phone",
        "emails",
        "crypto",
        "settings",
        "ratelimit",
        "leases",
    },
    {"store", "blobs"},
    {"runtime", "metrics", "audit"},
    {"suppressions", "webhooks"},
    {"auth", "capture"},
    {"purge"},
    {"holds", "retention", "certificates", "exports", "redactions", "demo"},
    {"worker"},
    {"console"},
    {"api"},
    {"cli"},
]
# The SDK stands alone: it imports nothing of the server (a client-only install has none of it).
STANDALONE = {"client"}
# The package's own __init__ (its version) may be imported from anywhere.
ANYWHERE = {"callvault"}


@dataclass(frozen=True)
class Import:
    importer: str  # module name, e.g. callvault.purge.loop
    module: str  # the module named in the statement, e.g. sqlalchemy or callvault.store
    names: tuple[str, ...]  # the names of a `from` import; () for `import x`
    line: int


def module_names(src: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[Import]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield Import(name, module, tuple(a.name for a in node.names), node.lineno)


def all_imports(src: Path) -> list[Import]:
    return [i for name, path in module_names(src).items() for i in imports_of(name, path)]


def targets(imp: Import, modules: dict[str, Path]) -> set[str]:
    """The callvault modules an import loads (``from callvault.store import calls`` loads the
    module ``callvault.store.calls``; ``from callvault.store.calls import x`` loads the module)."""
    found = set()
    for name in imp.names:
        if f"{imp.module}.{name}" in modules:
            found.add(f"{imp.module}.{name}")
        elif imp.module in modules:
            found.add(imp.module)
    if not imp.names and imp.module in modules:
        found.add(imp.module)
    return found


def sql_outside_store(src: Path) -> list[str]:
    bad = []
    for imp in all_imports(src):
        if imp.importer.startswith("callvault.store"):
            continue
        where = f"{imp.importer}:{imp.line}"
        if imp.module == "sqlalchemy":
            builders = sorted(set(imp.names) - SQLALCHEMY_TYPES) if imp.names else ["sqlalchemy"]
            if builders:
                bad.append(f"{where} imports {', '.join(builders)} from sqlalchemy")
        elif imp.module.startswith("sqlalchemy.") and not any(
            imp.module == safe or imp.module.startswith(safe + ".")
            for safe in SQLALCHEMY_SAFE_MODULES
        ):
            bad.append(f"{where} imports {imp.module}")
        elif imp.module == "callvault.store.tables" or (
            imp.module == "callvault.store" and "tables" in imp.names
        ):
            bad.append(f"{where} imports the tables (callvault.store.tables)")
    return bad


def floor_of(package: str) -> int | None:
    for number, floor in enumerate(FLOORS):
        if package in floor:
            return number
    return None


def top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def floor_violations(src: Path) -> list[str]:
    modules = module_names(src)
    bad = []
    for imp in all_imports(src):
        here = top_package(imp.importer)
        for target in targets(imp, modules):
            there = top_package(target)
            if there == here or there in ANYWHERE:
                continue
            where = f"{imp.importer}:{imp.line} imports {target}"
            if here in STANDALONE or there in STANDALONE:
                if here != "cli":  # the CLI's client commands are the SDK's one user
                    bad.append(f"{where}: the SDK ({', '.join(STANDALONE)}) stands alone")
                continue
            mine, theirs = floor_of(here), floor_of(there)
            if mine is None or theirs is None:
                bad.append(f"{where}: {here if mine is None else there} is on no floor")
            elif theirs >= mine:
                bad.append(f"{where}: floor {mine} may import only from floors below it")
    return bad


def loop_violations(src: Path) -> list[str]:
    modules = module_names(src)
    bad = []
    for imp in all_imports(src):
        for target in targets(imp, modules):
            parts = target.split(".")
            if len(parts) != 3 or parts[2] != "loop":
                continue
            owner = parts[1]
            here = top_package(imp.importer)
            if here not in {owner, "worker"}:
                bad.append(f"{imp.importer}:{imp.line} imports {target}: only worker/ runs loops")
            elif imp.importer == "callvault.worker.host":
                bad.append(f"{imp.importer}:{imp.line} imports {target}: the host knows no loop")
    return bad


def cycles(src: Path) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    modules = module_names(src)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for imp in all_imports(src):
        graph[imp.importer] |= targets(imp, modules) - {imp.importer}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# The real tree.


def test_sql_is_written_only_in_store():
    assert sql_outside_store(SRC) == []


def test_every_package_imports_only_from_the_floors_below_it():
    assert floor_violations(SRC) == []


def test_every_package_of_the_tree_is_on_a_floor():
    packages = {top_package(name) for name in module_names(SRC)} - ANYWHERE - STANDALONE
    assert packages <= set().union(*FLOORS)


def test_only_the_worker_process_imports_a_service_s_loop():
    assert loop_violations(SRC) == []


def test_the_worker_host_is_generic():
    host = SRC / "callvault" / "worker" / "host.py"
    imported = {i.module for i in imports_of("callvault.worker.host", host)}
    assert not {m for m in imported if m.startswith("callvault.")}


def test_the_import_graph_has_no_cycle():
    assert cycles(SRC) == []


# Each check fails on a tree that breaks its rule.


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "callvault" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            init = tmp_path / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("")
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select\n",
        "from sqlalchemy import Connection, text\n",
        "import sqlalchemy\n",
        "from sqlalchemy.sql import func\n",
        "from callvault.store.tables import calls\n",
        "from callvault.store import tables\n",
        "def f():\n    from sqlalchemy import delete\n",
    ],
)
def test_sql_outside_store_is_found(tmp_path, source):
    src = _tree(tmp_path, {"purge/service.py": source, "store/tables.py": ""})
    assert len(sql_outside_store(src)) == 1


def test_types_and_errors_of_sqlalchemy_and_sql_inside_store_are_allowed(tmp_path):
    src = _tree(
        tmp_path,
        {
            "purge/service.py": "from sqlalchemy import Connection, Engine\n"
            "from sqlalchemy.exc import IntegrityError\n",
            "store/calls.py": "from sqlalchemy import select\nfrom callvault.store import tables\n",
        },
    )
    assert sql_outside_store(src) == []


def test_an_import_of_a_floor_above_or_a_neighbour_is_found(tmp_path):
    src = _tree(
        tmp_path,
        {
            "purge/worker.py": "from callvault.retention.service import RetentionService\n",
            "retention/service.py": "from callvault.purge.service import PurgeService\n",
            "purge/service.py": "",
            "holds/service.py": "from callvault.retention import service\n",
        },
    )
    found = floor_violations(src)
    assert len(found) == 2
    assert any("callvault.purge.worker" in v for v in found)
    assert any("callvault.holds.service" in v for v in found)


def test_the_sdk_importing_the_server_is_found(tmp_path):
    src = _tree(
        tmp_path, {"client/_core.py": "from callvault.errors import BadInput\n", "errors.py": ""}
    )
    assert len(floor_violations(src)) == 1


def test_a_service_importing_another_s_loop_is_found(tmp_path):
    src = _tree(
        tmp_path,
        {
            "purge/service.py": "from callvault.retention.loop import RetentionLoop\n",
            "retention/loop.py": "",
            "worker/process.py": "from callvault.retention import loop\n",
            "worker/host.py": "from callvault.retention.loop import RetentionLoop\n",
        },
    )
    found = loop_violations(src)
    assert len(found) == 2
    assert any(v.startswith("callvault.purge.service") for v in found)
    assert any(v.startswith("callvault.worker.host") for v in found)


def test_a_cycle_is_found_even_through_an_import_inside_a_function(tmp_path):
    src = _tree(
        tmp_path,
        {
            "auth/users.py": "def f():\n    from callvault.auth.passwords import hash_password\n",
            "auth/passwords.py": "from callvault.auth.tokens import Principal\n",
            "auth/tokens.py": "from callvault.auth import users\n",
            "auth/permissions.py": "",
        },
    )
    assert cycles(src) == [
        ["callvault.auth.passwords", "callvault.auth.tokens", "callvault.auth.users"]
    ]
