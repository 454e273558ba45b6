"""Named toy experiments for ``python -m simlab toy --experiment NAME [--preset smoke|cpu]``.

    python -m simlab toy --experiment width_sweep --out runs/widths      # one experiment
    python -m simlab toy --experiment fluctuation --inits 500            # more initialisations
    python -m simlab toy --experiment reproduce --preset cpu --out runs/toy-grid   # everything

Each experiment writes its records under ``--out`` (default ``runs/toy-<name>-<timestamp>``)
together with its figure(s) ``fig_*.png``; rerunning with the same ``--out`` skips every run
whose ``summary.json`` exists, so an interrupted grid resumes where it stopped.

``reproduce`` runs the whole toy grid (Sagun's experiments: :mod:`simlab.toy.sagun`; Lowell's
protocol: :mod:`simlab.toy.lowell`) into one folder, one sub-folder per experiment, writes the
analytic prediction checks as a ``predictions`` record (:mod:`simlab.toy.symbolic`), then
evaluates every claim on all of its records (:mod:`simlab.claims`), printing the verdict table
and writing ``claims.md`` / ``claims.json`` beside them, and ``timings.json`` with each part's
CPU and wall time. Sizes: :data:`simlab.toy.grid.SIZES`.

Torch runs single-threaded by default (``--threads``, as every toy run): these nets are so
small that intra-op threads cost more than they give, badly so on a loaded machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from simlab.record import Record, write_json
from simlab.toy import lowell, sagun
from simlab.toy.grid import Sizes, load_summary, sizes

ORDER = ("width_sweep", "training_spectrum", "fluctuation", "std_sweep", "mse", "random_inputs",
         "interpolation", "lr_sweep", "class_sweep", "entry")
FUNCTIONS = {**sagun.EXPERIMENTS, **lowell.EXPERIMENTS}
TAKES_DATA_ROOT = ("width_sweep", "random_inputs", "lr_sweep", "class_sweep", "entry")


def run_experiment(name: str, root: Path, sz: Sizes, *, data_root: str | None = None,
                   inits: int | None = None, progress: bool = False) -> list[Path]:
    """One named experiment into ``root``: its record directories."""
    kw: dict = {"progress": progress}
    if name in TAKES_DATA_ROOT:
        kw["data_root"] = data_root
    if name == "fluctuation":
        kw["inits"] = inits
    return FUNCTIONS[name](Path(root), sz, **kw)


def describe(d: Path) -> str:
    if Record.load(d).doc.get("experiment") in lowell.EXPERIMENTS:
        return lowell.summary_line(d)
    return sagun.summary_line(d)


def predictions(root: Path) -> Path:
    """The Y1–Y8 checks (sympy + exact toy Hessians) as a ``predictions`` record in ``root``."""
    from simlab.toy import symbolic

    root = Path(root)
    if load_summary(root) is None:
        symbolic.main(["--out", str(root)])
    return root


def reproduce(root: Path, sz: Sizes, *, data_root: str | None = None, inits: int | None = None,
              progress: bool = False, log=print) -> dict:
    """The whole toy grid into ``root``, then the prediction checks and the claims table.
    Returns ``{"timings": {part: {"cpu_s", "wall_s"}}, "records": [...], "verdicts": [...]}``."""
    from simlab.claims.cli import main as claims_main

    root = Path(root)
    timings, records = {}, []
    for name in ORDER:
        c0, w0 = time.process_time(), time.perf_counter()
        outs = run_experiment(name, root / name, sz, data_root=data_root, inits=inits,
                              progress=progress)
        timings[name] = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
        records += outs
        log(f"[{name}] {len(outs)} record(s), {timings[name]['cpu_s']:.1f} s CPU, "
            f"{timings[name]['wall_s']:.1f} s wall")
        for d in outs:
            log("    " + describe(d))
    c0, w0 = time.process_time(), time.perf_counter()
    records.append(predictions(root / "predictions"))
    timings["predictions"] = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
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


def _setup(args) -> tuple[Sizes, Path, dict]:
    threads = getattr(args, "threads", 1)
    if threads and threads > 0:
        torch.set_num_threads(threads)
    sz = sizes(getattr(args, "preset", None))
    root = args.out or default_root(args.experiment)
    kw = {"data_root": getattr(args, "data_root", None), "inits": getattr(args, "inits", None),
          "progress": not getattr(args, "quiet", False)}
    return sz, Path(root), kw


def _cli(name: str):
    def main(args) -> int:
        sz, root, kw = _setup(args)
        c0, w0 = time.process_time(), time.perf_counter()
        outs = run_experiment(name, root, sz, **kw)
        for d in outs:
            print(describe(d))
        figs = sorted(p.name for p in root.glob("fig_*.png"))
        print(f"{len(outs)} record(s) and figure(s) {', '.join(figs)} in {root} "
              f"({time.process_time() - c0:.1f} s CPU, {time.perf_counter() - w0:.1f} s wall)")
        return 0

    main.__name__ = f"cli_{name}"
    main.__doc__ = f"``--experiment {name}``: {FUNCTIONS[name].__doc__.splitlines()[0]}"
    return main


def cli_reproduce(args) -> int:
    """``--experiment reproduce``: the whole toy grid, the prediction checks, the claims table."""
    sz, root, kw = _setup(args)
    reproduce(root, sz, **kw)
    return 0


EXPERIMENTS = {**{name: _cli(name) for name in ORDER}, "reproduce": cli_reproduce}

__all__ = ["EXPERIMENTS", "ORDER", "reproduce", "run_experiment", "predictions"]
