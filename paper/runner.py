"""Run a grid: every run that has no complete record yet, resumably.

A run is complete when its ``summary.json`` exists (every runner writes it last, atomically), so
running a grid twice does no work the second time. An interrupted run is continued where that is
possible — a scale or toy run with a checkpoint (``checkpoints/state.pt``) of its very config
resumes from it, which the trainer guarantees gives the same record — and otherwise its partial
folder is removed and the run starts again (bridge runs take seconds and keep no checkpoints).
A run that raises a usage or data error (e.g. CIFAR-10 absent) is reported and skipped; the rest
of the grid still runs.

Records kept elsewhere count too: ``run_grid(..., also=[paper/records])`` treats a run whose
complete record of this very config is in one of those folders (the compacted records committed
beside the report) as done, and a continuation or alias whose source is only there reads it from
there (a continuation replays its source's GD from the config, so no weights are needed). A grid
therefore continues across sessions from what was committed, not from scratch.

Several processes may work on one grid at once (e.g. one per core): each run is claimed by a
lock file ``.locks/<run>.lock`` under the runs directory, created exclusively and holding the
owner's pid; a process skips runs another live process holds, and takes over the lock of a
process that died.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from simlab.checkpoint import CHECKPOINT
from simlab.cli import one_line
from simlab.errors import UsageError, check_out_dir, flag
from simlab.paper.common import is_complete
from simlab.paper.experiments import Run, expand
from simlab.runspec import RunSpec, run_spec


@dataclass
class GridResult:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # held by another live process
    seconds: dict = field(default_factory=dict)


CHECKED_KINDS = ("toy", "scale", "bridge", "continuation")  # kinds whose record stores run.config as is
IGNORED_FIELDS = ("device", "data_root")


def _configs(run: Run, run_dir: Path) -> tuple[dict, dict] | None:
    """(the config a record in ``run_dir`` wrote, ``run.config``) as plain data; None when the
    folder has no config.json."""
    import json

    from simlab.record import CONFIG, to_jsonable

    if not (run_dir / CONFIG).is_file():
        return None
    return json.loads((run_dir / CONFIG).read_text()).get("config", {}), to_jsonable(run.config)


def stale_fields(run: Run, run_dir: Path) -> list[str]:
    """The config fields a record wrote that differ from ``run.config`` (fields the record lacks,
    e.g. added to the config later with a default, do not count)."""
    both = _configs(run, run_dir) if run.kind in CHECKED_KINDS else None
    if both is None:
        return []
    old, new = both
    return sorted(k for k in old if k in new and k not in IGNORED_FIELDS and old[k] != new[k])


def same_config(run: Run, run_dir: Path) -> bool:
    """The record in ``run_dir`` was written with exactly ``run.config`` (every field; ``device``
    aside, as a toy resume checks it; a field added to the config since, at its default, is
    not a difference: :func:`simlab.record.config_diff`): a partial run that can be resumed."""
    from simlab.record import config_diff

    both = _configs(run, run_dir)
    return both is not None and not [k for k in config_diff(both[0], run.config) if k != "device"]


def kept(run: Run, also=()) -> Path | None:
    """The first folder of ``also`` holding a complete record of ``run`` with this very config."""
    for root in also:
        d = Path(root) / run.name
        if is_complete(d) and not stale_fields(run, d):
            return d
    return None


def status(run: Run, runs_dir: Path, also=()) -> str:
    """``done`` (summary.json of this very config, under ``runs_dir`` or one of ``also``),
    ``stale`` (a complete record written with a different config: it is redone), ``partial`` (a
    folder without a summary), or ``todo``."""
    d = runs_dir / run.name
    if is_complete(d):
        return "stale" if stale_fields(run, d) else "done"
    if kept(run, also) is not None:
        return "done"
    return "partial" if d.exists() else "todo"


def source_dir(source: str, runs_dir: Path, also=()) -> Path:
    """Where a continuation's or alias's source record is: ``runs_dir`` when complete there, else
    the first of ``also`` that holds it complete (else ``runs_dir``, for the error message)."""
    for root in (runs_dir, *also):
        if is_complete(Path(root) / source):
            return Path(root) / source
    return Path(runs_dir) / source


LOCKS = ".locks"


def lock_path(run: Run, runs_dir: Path) -> Path:
    return runs_dir / LOCKS / (run.name.replace("/", "__") + ".lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def holder(run: Run, runs_dir: Path) -> int | None:
    """The pid of the live process that holds ``run``'s lock, or None."""
    try:
        pid = int(lock_path(run, runs_dir).read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and pid != os.getpid() and _alive(pid) else None


@dataclass(frozen=True)
class Planned:
    """One run of a grid as ``paper run --dry-run`` shows it: its status (``done``, ``kept`` —
    complete only in a records folder —, ``running``, ``partial``, ``stale``, ``todo``) and
    what it cost (the record's wall seconds, and its CPU seconds where the record states them,
    for a complete run) or is guessed to cost."""

    run: Run
    status: str
    measured_s: float | None
    cpu_s: float | None = None


def plan(runs: list[Run], runs_dir: Path, also=()) -> list[Planned]:
    """Each run's status and, where its record is complete, its measured wall and CPU seconds
    (:func:`simlab.record.wall_seconds`, :func:`simlab.record.cpu_seconds` of the summary it
    wrote; 0 for an alias, whose summary is its source's)."""
    from simlab.record import SUMMARY, cpu_seconds, read_json_object, wall_seconds

    out = []
    for r in runs:
        here = status(r, runs_dir)   # each status reads the record's files: once per folder
        where = runs_dir / r.name if here == "done" else kept(r, also)
        st = here if here == "done" or where is None else "kept"
        if st not in ("done", "kept") and holder(r, runs_dir) is not None:
            st = "running"
        sec = cpu = None
        if st in ("done", "kept") and r.kind == "alias":
            sec = cpu = 0.0   # a copy of its source's record (and its seconds): counted there
        elif st in ("done", "kept") and where is not None:
            try:
                summary = read_json_object(Path(where) / SUMMARY)
                sec, cpu = wall_seconds(summary), cpu_seconds(summary)
            except (OSError, ValueError, UsageError):
                pass
        out.append(Planned(r, st, sec, cpu))
    return out


def cost_lines(planned: list[Planned]) -> list[str]:
    """``paper run --dry-run``'s lines: one per run (status, measured or guessed seconds, the
    claims it feeds), then per grid the measured cost of its complete runs and the guess for
    the rest, then the total."""
    lines = []
    for p in planned:
        cost = (f"{p.measured_s:>7.0f} s measured" if p.measured_s is not None else
                f"~{p.run.cost_s:>6.0f} s guessed ")
        cpu = f" (CPU {p.cpu_s:.0f} s)" if p.cpu_s else ""   # an alias's 0: counted at its source
        lines.append(f"{p.status:<8} {p.run.regime:<6} {p.run.name:<40} {cost}{cpu}  "
                     f"{' '.join(p.run.claims)}")
    lines += ["", f"{'grid':<20} {'runs':>5} {'complete':>9} {'measured':>12} {'to run (guess)':>15}"]
    grids: dict[str, list[Planned]] = {}
    for p in planned:
        grids.setdefault(p.run.grid, []).append(p)
    tot_m = tot_g = 0.0
    for g, ps in grids.items():
        done = [p for p in ps if p.status in ("done", "kept")]
        m = sum(p.measured_s or 0.0 for p in done)
        left = sum(p.run.cost_s for p in ps if p.status not in ("done", "kept"))
        tot_m, tot_g = tot_m + m, tot_g + left
        shown = (f"{m / 60:>8.1f} min" if any(p.measured_s is not None for p in done)
                 else f"{'–' if done else '':>12}")   # a record that states no wall time
        lines.append(f"{g:<20} {len(ps):>5} {len(done):>9} {shown} {left / 60:>11.0f} min")
    lines.append(f"{len(planned)} runs: {tot_m / 3600:.1f} h of wall measured for the complete ones "
                 f"(one core each, inflated by whatever shared the machine: a quiet core's cost is "
                 f"their CPU time, bench/grid_cost_bench.py); still to run: about {tot_g / 60:.0f} min "
                 f"of one core (a guess)")
    both = [p for p in planned if p.cpu_s and p.measured_s]
    if both:   # wall seconds carry the load each run shared the machine with; CPU seconds do not
        wall, cpu = sum(p.measured_s for p in both), sum(p.cpu_s for p in both)
        lines.append(f"{len(both)} of them state their CPU time: {cpu / 3600:.2f} h of CPU against "
                     f"{wall / 3600:.2f} h of wall (wall / CPU = {wall / cpu:.2f}: the load they ran "
                     f"under; a quiet core takes about the CPU time)")
    return lines


def claim(run: Run, runs_dir: Path) -> bool:
    """Take ``run``'s lock (exclusive create); a lock left by a dead process is taken over.
    False when a live process holds it."""
    path = lock_path(run, runs_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if holder(run, runs_dir) is not None:
                return False
            path.unlink(missing_ok=True)  # its owner died: take it over
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def release(run: Run, runs_dir: Path) -> None:
    path = lock_path(run, runs_dir)
    try:
        if int(path.read_text().strip() or 0) == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def execute(run: Run, out: Path, *, progress: bool = True, threads: int = 1, also=()) -> None:
    """Run one grid entry into ``out`` (which holds no complete record), on ``threads`` torch
    CPU threads (0: torch's default), through :func:`simlab.runspec.run_spec` like every other
    run. One thread is the default: these nets are small, and on a
    shared two-core machine a second intra-op thread mostly waits (measured here: the same tiny
    scale run took 8 s on one thread and up to 58 s on two while other work ran). A toy or scale
    run resumes from a checkpoint of its very config, a continuation from its finished paths;
    any other partial folder is removed first.
    A source a continuation or alias needs is looked up under ``out``'s runs folder, then under
    ``also``."""
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        resume = False
        if run.kind == "scale":
            resume = ((out / "config.json").exists() and (out / CHECKPOINT).exists()
                      and not stale_fields(run, out))
        elif run.kind == "toy":  # every toy run, Sagun's and Lowell's edge protocol alike
            resume = (out / CHECKPOINT).exists() and same_config(run, out)
        elif run.kind == "continuation":  # its finished paths are kept (simlab.continuation.run)
            resume = (out / "checkpoints").is_dir() and same_config(run, out)
        if out.exists() and not resume:
            shutil.rmtree(out)
        depth = len(Path(run.name).parts)  # out is RUNS_DIR/run.name
        runs_dir = out.parents[depth - 1] if len(out.parents) >= depth else None
        run_spec(run.spec, out, resume=resume, progress=progress, figures=False,
                 sources=(runs_dir, *also) if runs_dir is not None else tuple(also))
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------ the runners of paper's own kinds
# (simlab.runspec finds them through paper's command module, simlab.paper.cli.RUNNERS)


def _source(spec: RunSpec, sources) -> Path:
    roots = [Path(r) for r in sources] or [Path(".")]
    return source_dir(spec.config.source, roots[0], roots[1:])


def run_alias(spec: RunSpec, out: Path, *, sources=(), **_options) -> None:
    """An alias: its source's record copied under the alias's experiment (:func:`copy_as`)."""
    copy_as(_source(spec, sources), out, spec.config.experiment, spec.config.source)


def run_continuation(spec: RunSpec, out: Path, *, progress: bool = True, sources=(),
                     resume: bool = False, **_options) -> None:
    """GD / Bulk-GD / Top-GD from a source record's on-edge θ (:mod:`simlab.continuation`)."""
    from simlab.continuation import run as continuation_run

    src = _source(spec, sources)
    continuation_run(spec.config, out, runs_dir=src.parents[len(Path(spec.config.source).parts) - 1],
                     rebuild=rebuilder(spec.config.regime), progress=progress, resume=resume)


def run_bridge(spec: RunSpec, out: Path, *, progress: bool = True, **_options) -> None:
    from simlab.paper.bridge import run as bridge_run

    bridge_run(spec.config, out, progress=progress)


def run_predictions(spec: RunSpec, out: Path, **_options) -> None:
    from simlab.toy import check_predictions

    check_predictions.run(spec.config, out)


RUNNERS = {"alias": run_alias, "continuation": run_continuation, "bridge": run_bridge,
           "predictions": run_predictions}


def rebuilder(regime: str):
    """The regime's ``rebuild(config) -> (landscape, η, schedule)`` a continuation replays its
    source run with."""
    if regime == "toy":
        from simlab.toy.run import rebuild
    elif regime == "scale":
        from simlab.scale.run import rebuild
    else:
        raise UsageError(f"unknown regime {regime!r} for a continuation; use toy or scale")
    return rebuild


def copy_as(src: Path, out: Path, experiment: str, source_name: str) -> None:
    """A finished record copied into ``out`` under another ``experiment`` (config.json and
    summary.json say so, with ``alias_of`` naming the source); summary.json is written last."""
    import json

    from simlab.record import CONFIG, SUMMARY, write_json

    if not is_complete(src):
        raise UsageError(f"{out} is {src} under experiment {experiment!r}; run {src} first")
    out.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file() and f.name not in (CONFIG, SUMMARY):
            shutil.copy2(f, out / f.name)
    for name in (CONFIG, SUMMARY):
        doc = json.loads((src / name).read_text())
        doc["experiment"] = experiment
        if isinstance(doc.get("config"), dict) and "experiment" in doc["config"]:
            doc["config"]["experiment"] = experiment
        doc["alias_of"] = source_name
        write_json(out / name, doc)


def run_grid(runs: list[Run], runs_dir: Path | str, *, progress: bool = True,
             threads: int = 1, log=None, also=()) -> GridResult:
    """Run every entry of ``runs`` that is not complete under ``runs_dir`` or one of ``also``
    (folders of kept records, e.g. the committed ``paper/records``)."""
    runs_dir = Path(runs_dir)
    also = [Path(a) for a in also if Path(a).resolve() != runs_dir.resolve()]
    log = log or (lambda m: print(m, file=sys.stderr))
    res = GridResult()
    todo = [r for r in runs if status(r, runs_dir, also) != "done"]
    res.skipped = [r.name for r in runs if r not in todo]
    if res.skipped:
        where = " or ".join(str(p) for p in (runs_dir, *also))
        log(f"{len(res.skipped)} of {len(runs)} runs already complete under {where}: skipped")
    bar = tqdm(todo, desc="paper grid", unit="run", disable=not progress or None,
               dynamic_ncols=True)
    for run in bar:
        bar.set_postfix_str(run.name)
        if not claim(run, runs_dir):
            log(f"{run.name}: skipped, another process (pid {holder(run, runs_dir)}) is running it")
            res.busy.append(run.name)
            continue
        t0 = time.perf_counter()
        try:
            if status(run, runs_dir, also) == "done":  # finished by another process meanwhile
                res.skipped.append(run.name)
                continue
            execute(run, runs_dir / run.name, progress=progress, threads=threads, also=also)
        except UsageError as e:  # DataError is a UsageError: the grid goes on without this run
            res.failed.append((run.name, str(e)))
            log(f"{run.name}: not run: {e}")
            continue
        finally:
            release(run, runs_dir)
        res.seconds[run.name] = time.perf_counter() - t0
        res.ran.append(run.name)
    bar.close()
    return res


def run_experiment(name: str, regime: str, preset: str, out, *, progress: bool = True,
                   dry_run: bool = False, given_flags=()) -> int:
    """``toy|scale --experiment NAME``: the runs :mod:`simlab.paper.experiments` declares for the
    grid NAME (and the sources they need), resumable (runs whose record is complete under ``out``
    are skipped): the very runs ``paper run --only`` makes."""
    if given_flags:
        raise UsageError(f"--experiment {name} runs the configs declared in paper/experiments/; "
                         f"drop {' '.join(flag(n) for n in given_flags)} (or run one config without "
                         "--experiment)")
    runs = expand(name, preset, regime=regime, with_sources=True)
    out = check_out_dir(out if out is not None else Path("runs") / f"{regime}-{name}-{preset}")
    print(f"experiment {name} ({preset} preset): {len(runs)} run(s), roughly "
          f"{sum(r.cost_s for r in runs) / 60:.0f} min of one core (a guess, not a measurement); "
          f"records in {out}", flush=True)
    if dry_run:
        for r in runs:
            print(f"  {r.name:<40} {' '.join(r.claims)}")
        return 0
    res = run_grid(runs, out, progress=progress)
    print(f"ran {len(res.ran)}, skipped {len(res.skipped)} complete, {len(res.failed)} not run; "
          f"records in {out}")
    for run_name, why in res.failed:
        print(f"  not run: {run_name}: {one_line(why)}")
    return 1 if res.failed else 0
