"""The core (``simlab/``) imports nothing from the regimes or ``paper/`` (DESIGN.md), not even
inside functions: every module of simlab/ is read with ``ast`` and each import it makes is
resolved to an absolute module name (``import simlab.toy.run``, ``from simlab.scale import data``,
``from simlab import paper``, relative forms such as ``from ..toy import run``) and each
``importlib.import_module("...")`` / ``__import__("...")`` with a constant name. The commands of
the regimes and of paper/ reach the core as entry points (pyproject.toml), not by name.
"""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "simlab"
FORBIDDEN = ("simlab.toy", "simlab.scale", "simlab.paper")


def module_name(path: Path, root: Path = CORE) -> tuple[str, bool]:
    """(dotted name, is a package) of a file under ``root`` (the folder of package ``simlab``)."""
    rel = path.relative_to(root).with_suffix("")
    parts = ["simlab", *rel.parts]
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def imported(source: str, name: str, is_pkg: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, at any depth; ``from a import
    b`` gives ``a.b`` (b may be a module)."""
    out = []
    package = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name)
                       and node.func.id in ("import_module", "__import__")))):
            target = node.args[0].value
            if target.startswith(".") and len(node.args) > 1:  # import_module(".x", "simlab")
                continue  # a relative name with a computed anchor: not seen in the core
            out.append((node.lineno, target))
    return out


def violations(source: str, name: str, is_pkg: bool = False) -> list[str]:
    return [f"{name}:{line} imports {target}" for line, target in imported(source, name, is_pkg)
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("code", [
    "import simlab.toy.run",
    "import simlab.scale",
    "from simlab.paper.runner import run_grid",
    "from simlab import paper",
    "from simlab.toy import run as toy_run",
    "def f():\n    from simlab.scale.run import build_landscape\n",
    "class C:\n    def m(self):\n        import simlab.paper.common as c\n",
    "from ..toy import run",             # in simlab/experiments/x.py: simlab.toy.run
    "from .. import scale",
    "import importlib\nimportlib.import_module('simlab.toy.cli')",
    "__import__('simlab.paper.cli')",
])
def test_every_form_of_import_is_caught(code):
    """A planted import of each form, in a module one level below the core's root."""
    assert violations(code, "simlab.experiments.x"), code


@pytest.mark.parametrize("code", [
    "import simlab.trainer",
    "from simlab import spectrum, toys_helper",   # a name that only starts like a regime
    "from . import operators",
    "from .claims import readers",
    "import importlib.metadata",
    "x = 'simlab.toy is a regime'",                # a string is not an import
])
def test_core_imports_are_not_flagged(code):
    assert violations(code, "simlab.experiments.x") == []


def test_relative_imports_resolve_like_python():
    assert imported("from ..toy import run", "simlab.claims.x", False) == [(1, "simlab.toy.run")]
    assert imported("from . import x", "simlab.claims", True) == [(1, "simlab.claims.x")]
    assert imported("from .readers import edge", "simlab.claims", True) == [
        (1, "simlab.claims.readers.edge")]


def test_the_core_imports_nothing_from_the_regimes_or_paper():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 30 and CORE / "cli.py" in files and CORE / "continuation.py" in files
    bad = []
    for f in files:
        name, is_pkg = module_name(f)
        bad += violations(f.read_text(), name, is_pkg)
    assert bad == []


def test_the_commands_are_entry_points_of_their_own_packages():
    """The core finds the regimes' and paper's commands in the installed metadata; each loads to
    a module of its own package with ``main`` and a one-line ``HELP``."""
    from simlab.cli import COMMAND_GROUP, commands

    found = commands()
    assert set(found) == {"toy", "scale", "claims", "paper"}
    assert {ep.value for ep in importlib.metadata.entry_points(group=COMMAND_GROUP)} == {
        "simlab.toy.cli", "simlab.scale.cli", "simlab.claims.cli", "simlab.paper.cli"}
    for name, ep in found.items():
        mod = ep.load()
        assert callable(mod.main) and mod.HELP and "\n" not in mod.HELP, name
