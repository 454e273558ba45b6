"""Named toy experiments for ``python -m simlab toy --experiment NAME [--preset smoke|cpu]``.

    python -m simlab toy --experiment lr_sweep --preset cpu --out runs/toy     # one grid
    python -m simlab toy --experiment continuation --out runs/toy              # L10 (+ its sources)
    python -m simlab toy --experiment reproduce --preset smoke --out runs/toy-smoke   # everything

Every toy grid is declared once, in :mod:`simlab.paper.experiments` — the paper's grid runs the very
same records: ``lr_sweep``, ``class_sweep``, ``entry``, ``mse``, ``continuation``, ``flow``,
``edge_nd`` (Lowell on the edge of stability, cifar8), ``sagun_width``, ``sagun_std``,
``sagun_mse``, ``sagun_random`` (Sagun) and ``predictions`` (Y1–Y8). ``--experiment NAME`` runs
that grid's records into ``--out`` (default ``runs/toy-<name>-<timestamp>``; folders as in the
paper's grid, e.g. ``OUT/toy/lr_sweep/lr0.1_s0``), resumably (a record with a summary.json is
skipped), first running any record a member needs (a continuation's source run), and draws the
grid's figures into ``--out``.

Three of Sagun's experiments are toy-only views, not claims' inputs, sized by
:data:`simlab.toy.grid.SIZES`: ``training_spectrum``, ``fluctuation`` (``--inits``) and
``interpolation``. ``reproduce`` runs every toy grid of the preset and those three, then the
claims table (``claims.md`` / ``claims.json``) and ``timings.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from simlab.record import Record, write_json
from simlab.toy import sagun
from simlab.toy.grid import Sizes, sizes

EXTRAS = ("training_spectrum", "fluctuation", "interpolation")


def registry_grids(preset: str | None = None) -> dict[str, str]:
    """{CLI name: registry grid name} of the toy regime (``toy_`` dropped from the name): the
    grids a preset declares, or (``None``) every toy grid of any preset."""
    from simlab.paper.experiments import grid, grid_names, names

    toy = names("toy")
    present = toy if preset is None else [g for g in grid_names(grid(preset)) if g in toy]
    return {g.removeprefix("toy_"): g for g in present}


def run_registry(name: str, root: Path, preset: str, *, progress: bool = False,
                 log=print) -> list[Path]:
    """The records of one registry grid (and the sources they need) in ``root``; its figures."""
    from simlab.paper.experiments import expand
    from simlab.paper.runner import run_grid

    grid_name = registry_grids(preset).get(name, name)
    runs = expand(grid_name, preset, with_sources=True)
    res = run_grid(runs, root, progress=progress, log=log)
    for what, why in res.failed:
        log(f"{what}: not run: {why}")
    dirs = [root / r.name for r in runs if (root / r.name / "summary.json").is_file()]
    figures(grid_name, [root / r.name for r in runs if r.grid == grid_name], root)
    return dirs


def figures(grid_name: str, dirs: list[Path], root: Path) -> list[Path]:
    """The figures of a toy grid from its finished records."""
    done = [d for d in dirs if (d / "summary.json").is_file()]
    if not done:
        return []
    recs = [Record.load(d) for d in done]
    if grid_name == "sagun_width":
        return [sagun.width_figure(recs, root / "fig_sagun_width.png")]
    if grid_name == "sagun_std":
        return [sagun.std_figure([r for r in recs if r.doc.get("experiment") == "std_sweep"],
                                 root / "fig_sagun_std.png")]
    if grid_name in ("sagun_random", "sagun_mse"):
        return [sagun.overlay_figure(recs, root / f"fig_{grid_name}.png",
                                     lambda r: r.path.name)]
    if grid_name == "toy_continuation":
        from simlab.figures import fig_continuation

        recs = [r for r in recs if (r.summary or {}).get("continuation")]
        return [fig_continuation(recs, root / "fig_continuation.png")[0]] if recs else []
    if grid_name in ("toy_lr_sweep", "toy_class_sweep", "toy_entry", "toy_flow"):
        from simlab.figures import make_figures

        return make_figures(done, root, regime="toy")
    return []


def run_extra(name: str, root: Path, sz: Sizes, *, inits: int | None = None,
              progress: bool = False) -> list[Path]:
    kw: dict = {"progress": progress}
    if name == "fluctuation":
        kw["inits"] = inits
    return sagun.EXPERIMENTS[name](Path(root), sz, **kw)


def describe(d: Path) -> str:
    from simlab.toy.lowell import summary_line

    r = Record.load(d)
    if r.doc.get("experiment") in ("lr_sweep", "class_sweep", "entry", "mse", "gradient_flow",
                                   "edge_nd"):
        return summary_line(d)
    if r.doc.get("experiment") == "continuation":
        s = r.summary or {}
        return f"{d.name}: {s.get('invalid_reason') or s.get('decrease')}"
    if r.doc.get("experiment") == "predictions":
        return f"{d.name}: Y1–Y8 checked"
    return sagun.summary_line(d)


def reproduce(root: Path, preset: str = "cpu", *, inits: int | None = None,
              progress: bool = False, log=print) -> dict:
    """Every toy grid of the preset and the toy-only extras into ``root``, then the claims
    table. Returns ``{"timings": {part: {"cpu_s", "wall_s"}}, "records": [...]}``."""
    from simlab.claims.cli import main as claims_main

    root = Path(root)
    timings, records = {}, []
    parts = [(n, "registry") for n in registry_grids(preset)] + [(n, "extra") for n in EXTRAS]
    for name, kind in parts:
        c0, w0 = time.process_time(), time.perf_counter()
        if kind == "registry":
            outs = run_registry(name, root, preset, progress=progress, log=log)
        else:
            outs = run_extra(name, root / name, sizes(preset), inits=inits, progress=progress)
        timings[name] = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
        records += outs
        log(f"[{name}] {len(outs)} record(s), {timings[name]['cpu_s']:.1f} s CPU, "
            f"{timings[name]['wall_s']:.1f} s wall")
    c0, w0 = time.process_time(), time.perf_counter()
    claims_main([str(root), "--out", str(root)])
    timings["claims"] = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
    timings["total"] = {k: sum(v[k] for v in timings.values()) for k in ("cpu_s", "wall_s")}
    write_json(root / "timings.json", timings)
    log(f"total: {timings['total']['cpu_s']:.1f} s CPU (this process), "
        f"{timings['total']['wall_s']:.1f} s wall; records and figures under {root}")
    return {"timings": timings, "records": [str(r) for r in records]}


# ============================================================================ CLI


def default_root(name: str) -> Path:
    return Path("runs") / f"toy-{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _setup(args) -> tuple[str, Path, dict]:
    threads = getattr(args, "threads", 1)
    if threads and threads > 0:
        torch.set_num_threads(threads)
    preset = getattr(args, "preset", None) or "cpu"
    sizes(preset)  # a usage error for an unknown preset, before any work
    root = Path(getattr(args, "out", None) or default_root(args.experiment))
    return preset, root, {"progress": not getattr(args, "no_progress", False)}


def _cli(name: str, kind: str):
    def main(args) -> int:
        preset, root, kw = _setup(args)
        c0, w0 = time.process_time(), time.perf_counter()
        if kind == "registry":
            outs = run_registry(name, root, preset, **kw)
        else:
            outs = run_extra(name, root, sizes(preset), inits=getattr(args, "inits", None), **kw)
        for d in outs:
            print(describe(d))
        figs = sorted(p.name for p in root.glob("fig*.png"))
        print(f"{len(outs)} record(s) and figure(s) {', '.join(figs)} in {root} "
              f"({time.process_time() - c0:.1f} s CPU, {time.perf_counter() - w0:.1f} s wall)")
        return 0

    main.__name__ = f"cli_{name}"
    return main


def cli_reproduce(args) -> int:
    """``--experiment reproduce``: every toy grid, the extras, the claims table."""
    preset, root, kw = _setup(args)
    reproduce(root, preset, inits=getattr(args, "inits", None), **kw)
    return 0


EXPERIMENTS = {**{n: _cli(n, "registry") for n in registry_grids()},
               **{n: _cli(n, "extra") for n in EXTRAS}, "reproduce": cli_reproduce}

__all__ = ["EXPERIMENTS", "EXTRAS", "reproduce", "run_registry", "registry_grids"]
