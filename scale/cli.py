"""``python -m simlab scale``: build a :class:`ScaleConfig` from a preset and flags, run it.

    python -m simlab scale --arch vgg16 --data-root ../shared/data     # preset: paper on CUDA, else cpu
    python -m simlab scale --preset cpu --experiment lr_sweep --data-root ../shared/data
    torchrun --nproc_per_node=2 -m simlab scale --preset cpu --data-root ../shared/data

Every field of :class:`~simlab.scale.config.ScaleConfig` (its TrainConfig part included) is a
flag generated from the dataclass; a flag left out keeps the preset's value. Before it starts,
the run checks its inputs (flags, output folder, the data root), then prints the preset, its size
and a cost estimate; bad input is one line and exit code 2, with no plan before it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from simlab.cli import ArgumentParser, config_flags, given
from simlab.errors import UsageError, check_out_dir
from simlab.paper import experiments as grids
from simlab.paper.runner import run_experiment
from simlab.scale.config import EXPERIMENTS, PRESETS, ScaleConfig, preset
from simlab.scale.models import forward_flops
from simlab.scale.run import resolve_device
from simlab.scale.run import run_spec as run_scale_spec

def run_cusp_spec(spec, out, **options):
    """A "cusp" RunSpec: :func:`simlab.scale.experiments.run_cusp_spec` (imported when run: the
    experiments module reads simlab.claims, a second of every start-up)."""
    from simlab.scale.experiments import run_cusp_spec as run

    return run(spec, out, **options)


RUNNERS = {"scale": run_scale_spec,  # how simlab.runspec.run_spec runs a "scale" RunSpec
           "cusp": run_cusp_spec}    # and a "cusp" re-scan of a gradient-flow record

HELP = "AlexNet / VGG-16 on CIFAR-10, Lowell 2022's protocol"  # one line in `python -m simlab --help`
# nominal sustained rates for the cost estimate (measured order of magnitude: the cpu-preset
# AlexNet took ~2–5 s per Hessian-vector product on one loaded core, i.e. ~2e9 FLOP/s)
NOMINAL_FLOPS = {"cpu": 3e9, "cuda": 1e13}


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m simlab scale",
                       description="AlexNet / VGG-16 on CIFAR-10 by full-batch gradient descent with "
                       "Lowell 2022's telemetry: a preset's config with the given flags replaced, "
                       "checked, then run into --out.")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="named sizes; default: paper on a CUDA device, cpu otherwise")
    g = p.add_argument_group("the run's config (every ScaleConfig field; the presets' values in "
                             "brackets)")
    p.set_defaults(config_fields=config_flags(g, ScaleConfig))
    for action in g._group_actions:
        values = {name: getattr(cfg, action.dest) for name, cfg in sorted(PRESETS.items())}
        shown = (_shown(next(iter(values.values()))) if len(set(map(repr, values.values()))) == 1
                 else "; ".join(f"{name}: {_shown(v)}" for name, v in values.items()))
        action.help = f"{action.help} [{shown.replace('%', '%%')}]"
    g = p.add_argument_group("run")
    g.add_argument("--out", help="output folder (default runs/scale/<experiment>-<arch>-<activation>-<preset>)")
    g.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    g.add_argument("--overwrite", action="store_true", help="replace the record already in --out")
    g.add_argument("--dry-run", action="store_true",
                   help="check the config and print the preset, size and cost estimate; run nothing")
    g.add_argument("--from", dest="sources", nargs="+", default=(), help="gradient-flow records for --experiment cusp")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--quiet", dest="no_progress", action="store_true", help=argparse.SUPPRESS)
    g.add_argument("--no-figures", action="store_true", help="do not draw figures at the end")
    g.add_argument("--remeasure-density", nargs="+", metavar="RUN_DIR",
                   help="re-measure finished scale records' end-of-run SLQ density from weights.pt at "
                        "--slq-vectors x --slq-steps (default 4 x 160) into density_<p>x<s>.json; runs nothing else")
    return p


def _shown(value) -> str:
    """A preset's value as a flag would take it: ``(1, 2)`` → ``1,2``, ``0.0625`` → ``0.0625``."""
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def device_kind(device: str | None) -> str:
    """``cuda`` or ``cpu``: the kind of the device ``--device`` names (absent: ``auto``), as
    :func:`simlab.scale.run.resolve_device` resolves it, for the default preset and the cost."""
    return "cuda" if resolve_device(device or "auto").startswith("cuda") else "cpu"


def default_preset(device: str | None) -> str:
    """``paper`` on a CUDA device, ``cpu`` otherwise."""
    return "paper" if device_kind(device) == "cuda" else "cpu"


def config_from_args(args) -> ScaleConfig:
    name = args.preset or default_preset(args.device)
    return preset(name, **given(args, args.config_fields))


def n_members(cfg: ScaleConfig) -> int:
    return {"lr_sweep": len(cfg.lrs), "class_sweep": len(cfg.class_counts),
            "gradient_flow": len(cfg.flow_sizes)}.get(cfg.experiment, 1)


# schedules whose η falls below lr as λ_1 grows: t = Σ η bounds nothing, only max_steps does
ADAPTIVE = ("flow", "stable", "expeuler")


def iterations(cfg: ScaleConfig) -> int | None:
    """The iteration limit the stop rules imply (None: only a loss/accuracy target). Under a
    schedule whose η shrinks with λ_1 (flow, stable, expeuler), max_t/lr is a lower bound on the
    iterations, not a limit: only max_steps bounds them."""
    limits = [cfg.max_steps] if cfg.max_steps is not None else []
    if cfg.max_t is not None and cfg.schedule not in ADAPTIVE:
        limits.append(math.ceil(cfg.max_t / cfg.lr))
    return min(limits) if limits else None


def step_rule_products(cfg: ScaleConfig) -> int:
    """Hessian-vector products the step rule takes per iteration, warm-started: flow's λ_1 (about
    4), expeuler's top n_c (or n_c + 1) pairs (about that many + 4); stable re-measures λ_1 only
    every stable_every iterations (counted as 4 / stable_every, rounded up), constant none."""
    return {"flow": 4, "stable": math.ceil(4 / max(cfg.stable_every, 1)),
            "expeuler": cfg.n_classes + 5}.get(cfg.schedule, 0)


def plan(cfg: ScaleConfig, chosen: bool) -> list[str]:
    """The preset, the run's size and a rough cost bound, as plain lines."""
    device = device_kind(cfg.device)
    why = (f" (chosen for this machine: {'a CUDA device' if device == 'cuda' else 'no CUDA device'}; "
           f"--preset {'cpu' if cfg.preset == 'paper' else 'paper'} for the other)") if chosen else ""
    n_img = cfg.n_data or 50_000 * cfg.n_classes // 10
    iters = iterations(cfg)
    fwd = forward_flops(cfg.arch, n_classes=cfg.n_classes, width=cfg.width) * n_img
    lines = [f"preset {cfg.preset}{why}",
             f"{cfg.experiment}: {n_members(cfg)} run(s) of {cfg.arch} {cfg.activation} width {cfg.width:g} "
             f"({cfg.n_params():,} parameters), n_D = {n_img:,} (n_c = {cfg.n_classes}), η = {cfg.lr:g}, "
             f"{cfg.loss}, top-{cfg.k} every {cfg.train_config().cadence()} iterations"]
    if iters is None:
        lines.append("no iteration limit (stops at the loss/accuracy target only): cost unknown; "
                     "set --max-steps or --max-t to bound it")
        return lines
    points = iters // max(cfg.train_config().cadence(), 1) + 2
    flops = n_members(cfg) * (iters * 3 * fwd + points * (4 * cfg.k + 10) * 5 * fwd
                              + iters * step_rule_products(cfg) * 5 * fwd)
    seconds = flops / NOMINAL_FLOPS[device]
    lines.append(f"at most {iters:,} iterations and {points:,} telemetry points per run; "
                 f"estimated ≤ {_duration(seconds)} on {device} (rough: {flops:.2g} FLOP at "
                 f"{NOMINAL_FLOPS[device]:.0e} FLOP/s; it stops earlier at L < {cfg.target_loss})")
    if cfg.schedule in ADAPTIVE:
        lines.append(f"schedule {cfg.schedule}: η shrinks as λ_1 grows, so --max-t {cfg.max_t} "
                     f"does not bound the iterations (≥ {math.ceil((cfg.max_t or 0) / cfg.lr):,} "
                     f"at η = lr); --max-steps does; about {step_rule_products(cfg)} "
                     "Hessian-vector products per iteration for the step size, counted above")
    return lines


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 1.5 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{max(seconds, 1):.0f} s"


def check_data_root(cfg: ScaleConfig) -> None:
    """CIFAR-10 is where the run will look for it (a DataError naming the fix otherwise): checked
    before the plan is printed, so a missing data root is one line, not a plan and then an error."""
    from simlab.scale.data import resolve_source

    resolve_source(cfg.data_root, download=cfg.download)


def data_line(cfg: ScaleConfig) -> str:
    """The dry run's line on the data: where the run would read CIFAR-10 on this machine, or why
    it would stop (a dry run may plan for another machine, so this is said, not refused)."""
    from simlab.errors import DataError
    from simlab.scale.data import resolve_source

    try:
        kind, path = resolve_source(cfg.data_root, download=cfg.download)
    except DataError as e:
        return f"data: not found on this machine, the run would stop here: {e}"
    return f"data: CIFAR-10 from {path} ({kind})"


def remeasure_density(args) -> int:
    """``--remeasure-density``: :func:`simlab.scale.remeasure.main` (only --slq-vectors,
    --slq-steps, --device and --no-progress go with it)."""
    from simlab.scale.remeasure import main as remeasure_main

    other = [n for n in given(args, args.config_fields) if n not in ("slq_vectors", "slq_steps", "device")]
    if other or args.preset or args.out or args.resume or args.overwrite or args.dry_run or args.sources:
        raise UsageError("--remeasure-density takes only --slq-vectors, --slq-steps, --device and "
                         "--no-progress; drop the other flags")
    return remeasure_main(args.remeasure_density, probes=args.slq_vectors, steps=args.slq_steps,
                          device=args.device, progress=not args.no_progress)


def main(argv=None) -> int:
    from simlab.scale.distributed import world

    args = parser().parse_args(argv)
    if args.remeasure_density:
        return remeasure_density(args)
    if args.experiment and args.experiment not in EXPERIMENTS:
        if not grids.declared(args.experiment, "scale"):
            names = sorted(set(EXPERIMENTS) | set(grids.names("scale")))
            raise UsageError(f"unknown experiment {args.experiment!r}; choose one of {', '.join(names)}")
        others = [n for n in given(args, args.config_fields) if n != "experiment"]
        return run_experiment(args.experiment, "scale", args.preset or "cpu", args.out,
                              progress=not args.no_progress, dry_run=args.dry_run, given_flags=others)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out else Path("runs") / "scale" / f"{cfg.experiment}-{cfg.arch}-{cfg.activation}-{cfg.preset}"
    check_out_dir(out)
    from simlab.scale.run import check_memory, memory_line

    if not args.dry_run and cfg.experiment != "cusp":  # a size that would not fit: one line
        check_memory(cfg)
    if not args.dry_run and cfg.experiment != "cusp":  # cusp reads its sources' data roots
        check_data_root(cfg)
    rank = world()[0]
    if rank == 0:
        print("\n".join(plan(cfg, chosen=args.preset is None)), flush=True)
        if args.dry_run and cfg.experiment != "cusp":  # (it may be planned for another machine)
            print(memory_line(cfg), flush=True)
            print(data_line(cfg), flush=True)
    if args.dry_run:
        return 0
    from simlab.scale.experiments import run_experiment

    kw = {}
    if args.overwrite:
        import inspect

        if "overwrite" not in inspect.signature(run_experiment).parameters:
            raise UsageError("--overwrite is not available for scale runs yet; remove the old "
                             f"record from {out} or choose another --out")
        kw["overwrite"] = True
    dirs = run_experiment(cfg, out, resume=args.resume, progress=not args.no_progress,
                          sources=args.sources, figures=not args.no_figures, **kw)
    if rank == 0:
        print(f"wrote {len(dirs)} record(s) under {out}")
    return 0
