"""The import graph of simlab/, toy/, scale/ and paper/ (installed as simlab.*; every import
statement, also inside functions, read with ast) has no cycle; the claims package, the figures
module and the report in particular; readers imports no evaluator, and no module of theirs is
over ~500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"simlab": ROOT / "simlab", "simlab.toy": ROOT / "toy", "simlab.scale": ROOT / "scale",
            "simlab.paper": ROOT / "paper"}
MINE = ("simlab.claims", "simlab.figures", "simlab.plots", "simlab.paper.report",
        "simlab.paper.published", "simlab.paper.experiments", "simlab.data")


def modules() -> dict[str, Path]:
    out = {}
    for pkg, folder in PACKAGES.items():
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "simlab" and parts and parts[0] in ("toy", "scale", "paper"):
                continue
            out[name] = f
    return out


def graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    g = {}
    for name, f in mods.items():
        deps = set()
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(ast.parse(f.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import mod` depends on pkg.mod; `from mod import name` on mod
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        g[name] = deps
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``g``: its strongly connected components of two or more modules
    (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_cycles_finds_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(g) == [["a", "b", "c"]]


def test_no_import_cycle_anywhere():
    mods = modules()
    for pkg in PACKAGES:   # every installed package is read, and its modules are found
        assert pkg in mods and any(m.startswith(pkg + ".") for m in mods), pkg
    assert not cycles(graph(mods)), cycles(graph(mods))


def test_no_import_cycle_through_claims_figures_or_report():
    mods = modules()
    g = graph(mods)
    mine = [m for m in g if m.startswith(MINE)]
    assert "simlab.claims.readers.edge" in mine and "simlab.figures" in mine

    def reaches(a: str, b: str) -> list[str] | None:
        stack, seen = [(a, [a])], set()
        while stack:
            node, path = stack.pop()
            for d in g.get(node, ()):
                if d == b:
                    return path + [d]
                if d not in seen:
                    seen.add(d)
                    stack.append((d, path + [d]))
        return None

    cycles = [c for m in mine if (c := reaches(m, m))]
    assert not cycles, cycles


def test_readers_import_no_evaluator_or_figure():
    g = graph(modules())
    for m in [m for m in g if m.startswith("simlab.claims.readers")]:
        bad = {d for d in g[m] if d.startswith(("simlab.claims.sagun", "simlab.claims.lowell",
                                                 "simlab.claims.further", "simlab.claims.registry",
                                                 "simlab.figures", "simlab.paper"))}
        assert not bad, (m, bad)


def test_modules_are_small():
    for name, f in modules().items():
        if name.startswith(MINE):
            assert len(f.read_text().splitlines()) <= 500, name
