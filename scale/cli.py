"""``python -m simlab scale``: build a :class:`ScaleConfig` from a preset and flags, run it.

    python -m simlab scale --arch vgg16 --preset cpu --data-root ../shared/data
    python -m simlab scale --preset cpu --experiment lr_sweep --data-root ../shared/data
    torchrun --nproc_per_node=2 -m simlab scale --preset cpu --data-root ../shared/data

Every flag left out keeps the preset's value; bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simlab.cli import ArgumentParser, nonnegative, positive
from simlab.scale.config import DTYPES, EXPERIMENTS, PRESETS, preset
from simlab.scale.models import ACTIVATIONS, ARCHS


def _int_list(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not out or any(v <= 0 for v in out):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return out


def _float_list(text: str) -> tuple[float, ...]:
    try:
        out = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not out or any(not v > 0 for v in out):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return out


def _classes(text: str):
    """``5`` → n_c = 5 (labels 0..4); ``3,5,7`` → those CIFAR-10 labels."""
    v = _int_list(text) if "," in text else positive(int)(text)
    return v


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="simlab scale", description=__doc__.split("\n\n")[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--preset", choices=sorted(PRESETS), default="paper", help="named sizes (default: paper)")
    a("--experiment", choices=EXPERIMENTS, default="scale", help="what to run (default: scale, one run)")
    a("--arch", choices=ARCHS)
    a("--activation", choices=ACTIVATIONS)
    a("--width", type=positive(float), help="hidden-width multiplier")
    a("--data-root", help="folder with cifar-10-batches-py/ or cifar10_subset.npz (or the .npz)")
    a("--download", action="store_true", default=None, help="let torchvision download CIFAR-10")
    a("--n-data", type=positive(int), help="n_D: seeded balanced subset size")
    a("--classes", type=_classes, help="n_c (labels 0..n_c−1) or comma-separated labels")
    a("--loss", choices=("ce", "mse"))
    a("--lr", type=positive(float), help="η (η_max under --schedule flow)")
    a("--lrs", type=_float_list, help="learning rates of --experiment lr_sweep, comma-separated")
    a("--class-counts", type=_int_list, help="n_c values of --experiment class_sweep")
    a("--flow-sizes", type=_int_list, help="n_D values of --experiment gradient_flow")
    a("--schedule", choices=("constant", "flow"))
    a("--target-loss", type=positive(float))
    a("--max-t", type=positive(float))
    a("--max-steps", type=nonnegative(int))
    a("--max-seconds", type=positive(float))
    a("--telemetry-every", type=nonnegative(int), help="iterations between telemetry points (default 1/η)")
    a("--k", type=positive(int), help="eigenpairs per telemetry point")
    a("--eig-method", choices=("lanczos", "power"))
    a("--eig-tol", type=positive(float))
    a("--entry-every", type=nonnegative(int))
    a("--entry-until", type=nonnegative(int))
    a("--snapshot-every", type=nonnegative(int))
    a("--slq-vectors", type=nonnegative(int), help="SLQ probes for the end-of-run density (0: skip)")
    a("--slq-steps", type=positive(int))
    a("--cusp-radius", type=positive(float))
    a("--cusp-points", type=positive(int))
    a("--seed", type=nonnegative(int))
    a("--device", help="auto (cuda when available), cpu, cuda, cuda:1")
    a("--dtype", choices=DTYPES)
    a("--chunk-size", type=positive(int), help="examples per forward pass")
    a("--hvp-method", choices=("rev-rev", "fwd-rev"))
    a("--checkpoint-every", type=nonnegative(int), help="save resumable state every N iterations")
    a("--out", help="output folder (default runs/scale/<experiment>-<arch>-<activation>-<preset>)")
    a("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    a("--from", dest="sources", nargs="+", default=(), help="gradient-flow records for --experiment cusp")
    a("--no-progress", action="store_true", help="no progress bars")
    a("--no-figures", action="store_true", help="do not draw figures at the end")
    return p


CONTROL = {"preset", "out", "resume", "sources", "no_progress", "no_figures"}


def config_from_args(args) -> "ScaleConfig":  # noqa: F821
    fields = {k: v for k, v in vars(args).items() if k not in CONTROL}
    return preset(args.preset, **fields)


def main(argv=None) -> int:
    from simlab.scale.experiments import run_experiment

    args = parser().parse_args(argv)
    cfg = config_from_args(args)
    out = Path(args.out) if args.out else Path("runs") / "scale" / f"{cfg.experiment}-{cfg.arch}-{cfg.activation}-{args.preset}"
    dirs = run_experiment(cfg, out, resume=args.resume, progress=not args.no_progress,
                          sources=args.sources, figures=not args.no_figures)
    from simlab.scale.distributed import world

    if world()[0] == 0:
        print(f"wrote {len(dirs)} record(s) under {out}")
    return 0
