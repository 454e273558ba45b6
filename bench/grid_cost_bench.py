"""What the cpu grid costs a quiet core: committed records' wall seconds against a rerun's CPU.

    python bench/grid_cost_bench.py                        # one run a grid, the cheapest ≤ 240 s
    python bench/grid_cost_bench.py --grids toy_lr_sweep scale_entry --max-seconds 600
    python bench/grid_cost_bench.py --only toy/lr_sweep/lr0.2_s0 scale/entry/lr_0.01_s0

Every committed record (paper/records) states the wall seconds its run took, under whatever
load shared the two cores then (two or three grid processes, test suites): `paper run --dry-run`
adds them up, so its total overstates what the grid costs a quiet machine, by a factor the
records alone cannot give. Records written since 2026-12-05 also state their CPU seconds
(``cpu_seconds``: process time, which the load does not inflate). This reruns a sample of
committed runs (a run is a function of its config and seed) into a temporary folder, one after
the other, on one torch thread, and prints for each: the committed wall seconds, the rerun's
wall and CPU seconds, **committed wall / rerun CPU** (how far the committed number overstates a
quiet core), and whether the rerun reproduced the committed numbers (its telemetry's steps,
losses and eigenvalues, largest relative difference). Then the median and range of that factor
over the sample, and the dry-run's measured total divided by them: the grid on a quiet core,
estimated. Toy and scale runs only (a continuation or alias needs its source run). Asserts
nothing; CIFAR-10 runs need the grid's data root ($SIMLAB_DATA, else ../shared/data; without
it they are left out, saying so).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from simlab.paper.common import data_root, has_cifar
from simlab.paper.experiments import K_TIER, grid
from simlab.paper.records import DEFAULT_RECORDS
from simlab.paper.runner import plan, run_grid
from simlab.record import SUMMARY, Record, cpu_seconds, read_json_object, wall_seconds



def sample(planned, *, grids=None, only=None, max_seconds: float = 240.0) -> list:
    """The runs to rerun: ``only`` by name, else per grid (all, or ``grids``) its cheapest
    complete toy or scale run whose committed wall seconds are ≤ ``max_seconds``."""
    done = [p for p in planned if p.status in ("done", "kept") and p.measured_s
            and p.run.kind in ("toy", "scale")]
    if only:
        return [p for p in done if p.run.name in set(only)]
    best: dict[str, object] = {}
    for p in done:
        if (grids and p.run.grid not in grids) or p.measured_s > max_seconds:
            continue
        if p.run.grid not in best or p.measured_s < best[p.run.grid].measured_s:
            best[p.run.grid] = p
    return list(best.values())


def largest_difference(a: Path, b: Path) -> tuple[float, str]:
    """Largest difference between two records' telemetry, point by point, relative to the
    field's scale (a loss or gradient norm to itself, eigenvalues to the point's largest |λ|,
    so a near-zero eigenvalue's rounding does not read as a large change), over the steps both
    measured, and where it is; the words say so when one ran longer (an edge run amplifies
    rounding, so a stop rule may be met a step apart). inf when the number of eigenvalues differs."""
    pa, pb = Record.load(a).telemetry, Record.load(b).telemetry
    at = {p["step"]: p for p in pb}
    ends = ("" if [p["step"] for p in pa] == list(at) else
            f"; the committed run ends at step {pa[-1]['step'] if pa else None}, the rerun at "
            f"{pb[-1]['step'] if pb else None}")
    worst, where = 0.0, ""
    for x, y in ((p, at[p["step"]]) for p in pa if p["step"] in at):
        for k in ("loss", "grad_norm", "eigenvalues"):
            if x.get(k) is None or y.get(k) is None:
                continue
            u, v = np.atleast_1d(np.asarray(x[k], float)), np.atleast_1d(np.asarray(y[k], float))
            if u.shape != v.shape:
                return float("inf"), f"{k} at step {x['step']}"
            if not u.size or not np.isfinite(u).all():
                continue
            d = float(np.max(np.abs(u - v)) / max(float(np.max(np.abs(u))), 1e-300))
            if d > worst:
                worst, where = d, f"{k} at step {x['step']}"
    return worst, where + ends


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grids", nargs="+", help="only these grids (see `paper list`)")
    ap.add_argument("--only", nargs="+", help="these run folders instead of a sample")
    ap.add_argument("--max-seconds", type=float, default=240.0,
                    help="largest committed wall time a sampled run may have (default 240)")
    ap.add_argument("--records", type=Path, default=DEFAULT_RECORDS)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    runs = grid("cpu")
    planned = plan(runs, Path(tempfile.gettempdir()) / "simlab-no-runs", [args.records])
    total_wall = sum(p.measured_s or 0.0 for p in planned if p.status in ("done", "kept"))
    chosen = sample(planned, grids=args.grids, only=args.only, max_seconds=args.max_seconds)
    if not has_cifar(data_root()):   # where the grid's own runs look ($SIMLAB_DATA, ../shared/data)
        left = [p for p in chosen if getattr(p.run.config, "dataset", None) in ("cifar8", "cifar10")]
        if left:
            print(f"no CIFAR-10 subset under the grid's data root: {len(left)} CIFAR-10 run(s) left out")
        chosen = [p for p in chosen if p not in left]
    if not chosen:
        print("no committed run matches: nothing to rerun (see --grids, --only, --max-seconds)")
        return 2
    print(f"# grid cost bench, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"torch {torch.__version__}, 1 thread")
    print(f"{len(chosen)} committed run(s) rerun from {args.records}; the grid's committed wall "
          f"total: {total_wall / 3600:.1f} h\n")
    print(f"{'run':<44} {'made at':>7} {'committed wall':>14} {'rerun wall':>10} {'rerun CPU':>9} "
          f"{'wall/CPU':>8} {'committed/CPU':>13} {'largest diff':>12}")
    factors = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in chosen:
            t0 = time.perf_counter()
            run_grid([p.run], Path(tmp), progress=False, log=lambda m: None)
            out = Path(tmp) / p.run.name
            s = read_json_object(out / SUMMARY)
            wall, cpu = wall_seconds(s) or time.perf_counter() - t0, cpu_seconds(s)
            kept_dir = args.records / p.run.name
            diff, where = largest_difference(kept_dir, out)
            made = (Record.load(kept_dir).doc.get("environment") or {}).get("git_commit") or "?"
            f = p.measured_s / cpu if cpu else float("nan")
            factors.append(f)
            print(f"{p.run.name:<44} {made[:7]:>7} {p.measured_s:>12.0f} s {wall:>8.0f} s {cpu or float('nan'):>7.0f} s "
                  f"{wall / cpu if cpu else float('nan'):>8.2f} {f:>13.2f} {diff:>12.1e}"
                  + (f" ({where.lstrip('; ')})" if diff > 1e-6 or where.startswith(";") else ""),
                  flush=True)
    print("\n".join(summary_lines(planned, chosen, factors)))
    return 0


def summary_lines(planned, chosen, factors) -> list[str]:
    """The closing lines: the factors' median and range over the sampled runs, and the complete
    runs' committed wall as hours of a quiet core (:func:`quiet_hours`), with and without the
    [K] tier."""
    good = [f for f in factors if np.isfinite(f)]
    if not good:
        return []
    m = statistics.median(good)
    total = sum(p.measured_s or 0.0 for p in planned if p.status in ("done", "kept")) / 3600
    by_grid = {p.run.grid: f for p, f in zip(chosen, factors) if np.isfinite(f)}
    out = [f"\ncommitted wall / quiet CPU: median {m:.2f}, range {min(good):.2f}–{max(good):.2f} "
           f"over {len(good)} run(s)",
           f"the grid's committed {total:.1f} h of wall is then about "
           f"{quiet_hours(planned, by_grid, m):.1f} h of a quiet core at this commit (a record's own "
           f"CPU time where it states it, else its wall over its grid's sampled factor, the "
           f"median's where none was sampled; "
           f"{total / m:.1f} h by the median alone)",
           f"without the [K] tier ({' '.join(K_TIER)}): about "
           f"{quiet_hours(planned, by_grid, m, skip=K_TIER):.1f} h of a quiet core"]
    rest = {p.run.grid for p in planned if p.status in ("done", "kept") and p.measured_s} - set(by_grid)
    if rest:
        h = sum(p.measured_s for p in planned if p.run.grid in rest and p.measured_s) / 3600
        out.append(f"grids with no run sampled (the median's factor): {' '.join(sorted(rest))} "
                   f"({h:.1f} h of the committed wall)")
    return out

def quiet_hours(planned, by_grid: dict, default: float, skip=()) -> float:
    """The complete runs' hours on a quiet core: a record's own CPU seconds where it states them,
    else its committed wall divided by its grid's factor (``default`` for a grid not in
    ``by_grid``), leaving out the grids in ``skip``."""
    return sum(p.cpu_s if p.cpu_s else (p.measured_s or 0.0) / by_grid.get(p.run.grid, default)
               for p in planned if p.status in ("done", "kept") and p.run.grid not in skip) / 3600


if __name__ == "__main__":
    sys.exit(main())
