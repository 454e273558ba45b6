"""``python -m simlab paper``: the cross-regime reproduction.

    python -m simlab paper run --preset cpu [--only GRID ...] [--runs DIR] [--dry-run]
    python -m simlab paper report [--runs DIR] [--out paper/report.md] [--figures DIR]
    python -m simlab paper list [--preset cpu]

``run`` runs every run of the preset's grids that has no complete record under ``--runs``
(default ``paper/runs``) and skips the others, so it can be stopped and continued any day.
Several ``run`` processes may share one grid (one per core): each takes the runs no other live
process holds.
``report`` reads the records only and writes the Markdown report and its PNG figures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from simlab.cli import ArgumentParser, nonnegative
from simlab.errors import UsageError, check_out_dir, check_out_file
from simlab.paper.common import DEFAULT_FIGURES, DEFAULT_REPORT, DEFAULT_RUNS
from simlab.experiments import PRESETS, grid, grid_names, select


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m simlab paper",
                       description="The cross-regime reproduction of Sagun 2016 and Lowell 2022.")
    sub = p.add_subparsers(dest="command", metavar="{run,report,list}")
    r = sub.add_parser("run", help="run the grids' missing records")
    r.add_argument("--preset", choices=PRESETS, default="cpu",
                   help="grid sizes: cpu (about two hours on 2 cores) or smoke (under a minute)")
    r.add_argument("--only", nargs="+", metavar="GRID",
                   help="run only these grids (see `paper list`), or run folders")
    r.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="where the records go")
    r.add_argument("--dry-run", action="store_true", help="list the runs and their status")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--threads", type=nonnegative(int), default=1,
                   help="torch CPU threads per run (default 1; 0 keeps torch's default)")
    q = sub.add_parser("report", help="write the report from the records")
    q.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="folder holding the records")
    q.add_argument("--out", type=Path, default=DEFAULT_REPORT, help="the Markdown file written")
    q.add_argument("--figures", type=Path, default=None,
                   help="where the PNGs go (default: figures/ beside --out)")
    q.add_argument("--preset", choices=PRESETS, default=None,
                   help="the preset the runs came from (named in the regenerate commands)")
    ls = sub.add_parser("list", help="list the grids of a preset")
    ls.add_argument("--preset", choices=PRESETS, default="cpu")
    return p


def cmd_run(a) -> int:
    from simlab.paper.runner import holder, run_grid, status

    check_out_dir(a.runs, "--runs")
    runs = select(grid(a.preset), a.only)
    if a.dry_run:
        total = 0.0
        for r in runs:
            st = status(r, a.runs)
            if st != "done" and holder(r, a.runs) is not None:
                st = "running"
            if st != "done":
                total += r.cost_s
            print(f"{st:<8} {r.regime:<6} {r.name:<40} ~{r.cost_s:>5.0f} s  {' '.join(r.claims)}")
        print(f"{len(runs)} runs; still to run: about {total / 60:.0f} min of one core")
        return 0
    t0 = time.perf_counter()
    res = run_grid(runs, a.runs, progress=not a.quiet, threads=a.threads)
    busy = f", {len(res.busy)} left to other processes" if res.busy else ""
    print(f"ran {len(res.ran)}, skipped {len(res.skipped)} complete{busy}, "
          f"{len(res.failed)} not run; {time.perf_counter() - t0:.1f} s; records in {a.runs}")
    for name, why in res.failed:
        print(f"  not run: {name}: {why}")
    return 1 if res.failed else 0


def cmd_report(a) -> int:
    from simlab.paper.report import write_report

    figures = a.figures if a.figures is not None else (
        DEFAULT_FIGURES if a.out == DEFAULT_REPORT else a.out.parent / "figures")
    if not a.runs.is_dir():
        raise UsageError(f"--runs {a.runs} is not a folder of records; run `paper run` first "
                         "or point --runs at one")
    check_out_file(a.out, "--out")
    check_out_dir(figures, "--figures")
    path = write_report(a.runs, a.out, figures, preset=a.preset)
    print(f"wrote {path} and figures in {figures}")
    return 0


def cmd_list(a) -> int:
    runs = grid(a.preset)
    for g in grid_names(runs):
        rs = [r for r in runs if r.grid == g]
        claims = sorted({c for r in rs for c in r.claims})
        print(f"{g:<18} {rs[0].regime:<6} {len(rs):>2} runs  {' '.join(claims)}")
    return 0


def main(argv=None) -> int:
    a = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if a.command is None:
        raise UsageError("say what to do: `paper run`, `paper report` or `paper list` "
                         "(see python -m simlab paper --help)")
    return {"run": cmd_run, "report": cmd_report, "list": cmd_list}[a.command](a)
