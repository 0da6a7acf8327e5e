"""The layers only point down: read every import of every module (function-level ones
included) and check it against the rules in shardis/assembly.py's docstring."""

from __future__ import annotations

import ast
import os

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.source  # reads the checkout's source (scripts/build-check skips it)

# layer -> the layers its modules may import (itself included)
MAY_IMPORT = {
    "base": {"base"},
    "router": {"base", "router"},
    "shardd": {"base", "shardd"},
    "coord": {"base", "shardd", "coord"},
    "top": {"base", "router", "shardd", "coord", "top"},
}
TOP = {"shardis.assembly", "shardis.supervisor"}


def layer(module: str) -> str:
    if module in TOP or module.endswith(".__main__"):
        return "top"
    for sub in ("router", "shardd", "coord"):
        if module == f"shardis.{sub}" or module.startswith(f"shardis.{sub}."):
            return sub
    return "base"


def modules() -> dict[str, str]:
    """module name -> its file, for every module of the installed package ``shardis``
    (router/ and shardd/ come in through the links in shardis/)."""
    found = {}
    top = os.path.join(ROOT, "shardis")
    for dirpath, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(dirpath, ROOT).split(os.sep)
        for name in files:
            if name.endswith(".py"):
                parts = rel + ([] if name == "__init__.py" else [name[:-3]])
                found[".".join(parts)] = os.path.join(dirpath, name)
    return found


def imports(path: str) -> list[tuple[int, str, bool]]:
    """(line, imported module, inside a function) for each import of the file."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    in_function = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(fn))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, id(node) in in_function) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: a relative import (name the module)"
            mod = node.module or ""
            # ``from shardis import errors`` imports the module shardis.errors
            names = [f"{mod}.{a.name}" for a in node.names] if mod in ("shardis", "shardis.router",
                                                                       "shardis.shardd",
                                                                       "shardis.coord") else [mod]
            out += [(node.lineno, n, id(node) in in_function) for n in names]
    return out


MODULES = modules()


def test_the_packages_are_found():
    assert {"shardis.resp", "shardis.router.app", "shardis.shardd.daemon", "shardis.coord.coordinator",
            "shardis.assembly"} <= set(MODULES)


def test_layers_point_down():
    wrong = []
    for module, path in MODULES.items():
        mine = layer(module)
        for line, target, _ in imports(path):
            if target.split(".")[0] in ("router", "shardd"):
                wrong.append(f"{path}:{line}: imports {target}: the packages are shardis.router and "
                             f"shardis.shardd")
                continue
            if target != "shardis" and not target.startswith("shardis."):
                continue
            if target not in MODULES and target.rsplit(".", 1)[0] in MODULES:
                target = target.rsplit(".", 1)[0]  # ``from shardis.x import name``
            theirs = layer(target)
            if theirs not in MAY_IMPORT[mine]:
                wrong.append(f"{os.path.relpath(path, ROOT)}:{line}: {module} ({mine}) imports "
                             f"{target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_project_import_hides_in_a_function():
    """An import inside a function hides a module's dependencies (and usually dodges a cycle)."""
    hidden = [f"{os.path.relpath(path, ROOT)}:{line}: {target}"
              for path in MODULES.values() for line, target, inside in imports(path)
              if inside and target.split(".")[0] in ("shardis", "router", "shardd")]
    assert not hidden, "\n".join(hidden)


def test_the_rule_is_checked():
    """The checker itself: a base module importing the router is caught."""
    assert layer("shardis.resp") == "base" and layer("shardis.router.app") == "router"
    assert layer("shardis.router.__main__") == "top" and layer("shardis.coord.hub") == "coord"
    assert "router" not in MAY_IMPORT["base"] and "router" not in MAY_IMPORT["coord"]
