"""``python -m simlab paper``: the cross-regime reproduction.

    python -m simlab paper run --preset cpu [--only GRID ...] [--runs DIR] [--dry-run]
    python -m simlab paper report [--runs DIR] [--out paper/report.md] [--figures DIR]
    python -m simlab paper compact [--runs paper/runs] [--out paper/records]
    python -m simlab paper list [--preset cpu]

``run`` runs every run of the preset's grids that has no complete record under ``--runs``
(default ``paper/runs``) and skips the others, so it can be stopped and continued any day.
Several ``run`` processes may share one grid (one per core): each takes the runs no other live
process holds.
``report`` reads the records only and writes the Markdown report and its PNG figures; without
``--runs`` it reads the committed ``paper/records`` when that folder holds records, else
``paper/runs``.
``compact`` copies the complete records of a runs folder to ``paper/records`` with only what the
report reads (no weights, Hessians or checkpoints) and checks that they give the same verdicts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from simlab.cli import ArgumentParser, nonnegative
from simlab.errors import UsageError, check_out_dir, check_out_file
from simlab.paper.common import DEFAULT_FIGURES, DEFAULT_REPORT, DEFAULT_RUNS
from simlab.paper.records import DEFAULT_RECORDS, DROP_TELEMETRY
from simlab.paper.experiments import PRESETS, grid, grid_names, select
from simlab.paper.runner import RUNNERS  # noqa: F401 - simlab.runspec finds paper's runners here


HELP = "the cross-regime reproduction and its report"  # one line in `python -m simlab --help`


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m simlab paper",
                       description="The cross-regime reproduction of Sagun 2016 and Lowell 2022.")
    sub = p.add_subparsers(dest="command", metavar="{run,report,compact,list}")
    r = sub.add_parser("run", help="run the grids' missing records")
    r.add_argument("--preset", choices=PRESETS, default="cpu",
                   help="grid sizes: cpu (about 29 h of a quiet core, 24 h without the [K] tier; "
                   "resumable, two processes share it; costs per grid: paper/README.md or "
                   "--dry-run) or smoke (a few minutes)")
    r.add_argument("--only", nargs="+", metavar="GRID",
                   help="run only these grids (see `paper list`), or run folders")
    r.add_argument("--skip", nargs="+", metavar="GRID", default=(),
                   help="leave out these grids or run folders (e.g. the [K] tier: toy_kastner "
                        "scale_kastner toy_gauss_newton, about 6 h of a quiet core)")
    r.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="where the records go")
    r.add_argument("--records", type=Path, default=DEFAULT_RECORDS,
                   help="a folder of kept records (default paper/records, the committed ones): "
                        "a run complete there with the same config is not run again")
    r.add_argument("--fresh", action="store_true",
                   help="ignore --records: run everything --runs lacks")
    r.add_argument("--dry-run", action="store_true", help="list the runs and their status")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--threads", type=nonnegative(int), default=1,
                   help="torch CPU threads per run (default 1; 0 keeps torch's default)")
    q = sub.add_parser("report", help="write the report from the records")
    q.add_argument("--runs", type=Path, default=None,
                   help="folder holding the records (default: paper/records when it holds "
                        "records, else paper/runs)")
    q.add_argument("--out", type=Path, default=DEFAULT_REPORT, help="the Markdown file written")
    q.add_argument("--figures", type=Path, default=None,
                   help="where the PNGs go (default: figures/ beside --out)")
    q.add_argument("--preset", choices=PRESETS, default=None,
                   help="the preset the runs came from (named in the regenerate commands)")
    c = sub.add_parser("compact", help="copy the records the report reads, without weights, to "
                                       "paper/records (committed beside the report)")
    c.add_argument("--runs", type=Path, default=DEFAULT_RUNS,
                   help="the runs folder read (never written; default paper/runs)")
    c.add_argument("--out", type=Path, default=DEFAULT_RECORDS,
                   help="where the compacted records go (default paper/records)")
    c.add_argument("--telemetry", choices=("lean", "full"), default="lean",
                   help="lean (default): drop the telemetry keys no reader reads ("
                        + ", ".join(k for k in DROP_TELEMETRY if k != "rho")
                        + ") and rho where it is exactly lr*eigenvalue/2 (derived again on "
                        "load); full: keep every key")
    c.add_argument("--prune", action="store_true",
                   help="remove records under --out that --runs has no complete record for")
    c.add_argument("--no-verify", action="store_true",
                   help="skip the check that the compacted records give the same verdicts")
    ls = sub.add_parser("list", help="list the grids of a preset")
    ls.add_argument("--preset", choices=PRESETS, default="cpu")
    return p


def cmd_run(a) -> int:
    from simlab.paper.runner import cost_lines, plan, run_grid

    check_out_dir(a.runs, "--runs")
    runs = select(grid(a.preset), a.only)
    if a.skip:
        left_out = {r.name for r in select(runs, list(a.skip))}
        runs = [r for r in runs if r.name not in left_out]
    also = [] if a.fresh or not a.records.is_dir() else [a.records]
    if a.dry_run:
        print("\n".join(cost_lines(plan(runs, a.runs, also))))
        return 0
    t0 = time.perf_counter()
    res = run_grid(runs, a.runs, progress=not a.quiet, threads=a.threads, also=also)
    busy = f", {len(res.busy)} left to other processes" if res.busy else ""
    print(f"ran {len(res.ran)}, skipped {len(res.skipped)} complete{busy}, "
          f"{len(res.failed)} not run; {time.perf_counter() - t0:.1f} s; records in {a.runs}")
    for name, why in res.failed:
        print(f"  not run: {name}: {why}")
    return 1 if res.failed else 0


def default_report_runs() -> Path:
    """The folder ``paper report`` reads without ``--runs``: the committed ``paper/records`` when
    it holds records (a fresh clone), else ``paper/runs`` (where ``paper run`` writes)."""
    from simlab.record import CONFIG

    if DEFAULT_RECORDS.is_dir() and next(DEFAULT_RECORDS.rglob(CONFIG), None) is not None:
        return DEFAULT_RECORDS
    return DEFAULT_RUNS


def cmd_report(a) -> int:
    from simlab.paper.report import write_report

    if a.runs is None:
        a.runs = default_report_runs()
    print(f"reading the records under {a.runs}")
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


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def cmd_compact(a) -> int:
    from simlab.paper.records import compact, verify

    res = compact(a.runs, a.out, drop=DROP_TELEMETRY if a.telemetry == "lean" else (),
                  prune=a.prune)
    for rel in res.records:
        files = [w.rsplit("/", 1)[1] for w in res.written if w.rsplit("/", 1)[0] == rel]
        if files:
            print(f"wrote {rel}: {', '.join(files)}")
    for rel in res.removed:
        print(f"removed {rel}")
    unchanged = len(res.records) - len({w.rsplit("/", 1)[0] for w in res.written})
    print(f"{len(res.records)} records in {a.out} ({unchanged} unchanged), {_mb(res.bytes_out)} "
          f"(from {_mb(res.bytes_in)} under {a.runs}); skipped {len(res.unfinished)} unfinished")
    for kind, (n, size) in sorted(res.by_kind.items()):
        print(f"  {kind:<28} {n:>3} records  {_mb(size):>9}  ({size / n / 1e3:.0f} kB each)")
    if res.extra:
        print(f"{len(res.extra)} records under {a.out} have no complete record under {a.runs} "
              f"(kept; --prune removes them): {', '.join(res.extra[:5])}"
              + (" …" if len(res.extra) > 5 else ""))
    if a.no_verify or not res.records:
        return 0
    diffs = verify(a.runs, a.out, res.records)
    if diffs:
        print(f"the compacted records do NOT give the verdicts of the full ones ({len(diffs)} "
              "differ); do not commit them (try --telemetry full):")
        for d in diffs:
            print(f"  {d}")
        return 1
    print("verified: the compacted records give the same verdicts as the full ones")
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
        raise UsageError("say what to do: `paper run`, `paper report`, `paper compact` or "
                         "`paper list` (see python -m simlab paper --help)")
    return {"run": cmd_run, "report": cmd_report, "compact": cmd_compact,
            "list": cmd_list}[a.command](a)
