"""The package's modules import each other without a cycle, and `_errors` imports none of them.

The graph is read from the source with `ast`: every import at any depth (inside functions
too, where a cycle hides until the function runs), except under `if TYPE_CHECKING:`. A
relative import is resolved against the importing module's package, and `from pkg import name`
imports the submodule `pkg.name` when there is one (else `pkg` itself). An import of a
submodule is not counted as an import of its parent package's `__init__`: Python has that one
under way already whenever a submodule of it runs.
"""

from __future__ import annotations

import ast
import graphlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "stompmodels"

Graph = dict[str, set[str]]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of `package` (found under `root`) by dotted name; a package by its own."""
    names: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    """Whether an `if` test is `TYPE_CHECKING` or `typing.TYPE_CHECKING`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of `tree` at any depth, except those under `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # the `else:` branch runs
        else:
            stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name `from ...x import` names, seen from `module`."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of the dotted `name` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path, package: str) -> Graph:
    """Module -> the package's modules it imports at run time."""
    modules = module_names(root, package)
    graph: Graph = {}
    for module, path in modules.items():
        targets: set[str | None] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in runtime_imports(tree):
            if isinstance(node, ast.Import):
                targets.update(_known(alias.name, modules) for alias in node.names)
                continue
            source = _resolve(module, path.name == "__init__.py", node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in modules else _known(source, modules))
        targets.discard(None)
        targets.discard(module)  # `from . import x` of a name its own __init__ defines
        graph[module] = {target for target in targets if target is not None}
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """A cycle of `graph` as [a, b, ..., a], or None if it has none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        return cycle[::-1]  # graphlib lists it against the edges' direction
    return None


# ---- The package.


GRAPH = import_graph(ROOT, PACKAGE)


def test_the_walk_sees_the_whole_package() -> None:
    """Guards against a walk that finds nothing, and so nothing wrong."""
    for name in ("aio", "blocking", "twisted", "cli", "_client"):
        assert f"{PACKAGE}.{name}" in GRAPH
        assert any(module.startswith(f"{PACKAGE}.{name}.") for module in GRAPH)
    assert f"{PACKAGE}._model" in GRAPH[f"{PACKAGE}._decoder"]
    assert f"{PACKAGE}._frames" in GRAPH[f"{PACKAGE}._decoder"]
    assert f"{PACKAGE}.cli" in GRAPH[f"{PACKAGE}.__main__"]


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_errors_is_a_leaf() -> None:
    """Every module may import the errors: they import nothing of the package at run time."""
    assert GRAPH[f"{PACKAGE}._errors"] == set()


# ---- The checker, on small packages written for it.


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .b import B\n",
            "pkg/b.py": "class B:\n    def f(self):\n        from .c import C\n        return C\n",
            "pkg/c.py": "import pkg.a\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}
    cycle = find_cycle(graph)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"pkg.a", "pkg.b", "pkg.c"}
    assert all(after in graph[before] for before, after in itertools.pairwise(cycle))


def test_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from . import b\n",
            "pkg/b.py": (
                "import typing\nfrom typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from .a import A\nelse:\n    from . import c\n"
                "if typing.TYPE_CHECKING:\n    import pkg.a\n"
            ),
            "pkg/c.py": "",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": set()}
    assert find_cycle(graph) is None


def test_relative_imports_and_submodules_resolve(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from .sub import thing\n",
            "pkg/base.py": "VALUE = 1\n",
            "pkg/sub/__init__.py": "from .mod import thing\nfrom . import other\n",
            "pkg/sub/mod.py": "from ..base import VALUE\nfrom .. import base, sub\nthing = VALUE\n",
            "pkg/sub/other.py": "from pkg.sub.mod import thing\nfrom pkg import VALUE\n",
        },
    )
    assert import_graph(tmp_path, "pkg") == {
        "pkg": {"pkg.sub"},
        "pkg.base": set(),
        "pkg.sub": {"pkg.sub.mod", "pkg.sub.other"},
        "pkg.sub.mod": {"pkg.base", "pkg.sub"},
        "pkg.sub.other": {"pkg.sub.mod", "pkg"},
    }


@pytest.mark.parametrize(
    ("files", "cyclic"),
    [
        ({"pkg/__init__.py": "from .a import x\n", "pkg/a.py": "from pkg import y\nx = 1\n"}, True),
        ({"pkg/__init__.py": "", "pkg/a.py": "from . import a\n"}, False),
    ],
    ids=["package-init-and-submodule", "self-import"],
)
def test_a_package_and_its_own_modules(tmp_path: Path, files: dict[str, str], cyclic: bool) -> None:
    """A submodule importing a name from its package's __init__, which imports the submodule,
    is a cycle (the name may not be defined yet); a module importing itself is no edge."""
    write_package(tmp_path, files)
    assert (find_cycle(import_graph(tmp_path, "pkg")) is not None) == cyclic
