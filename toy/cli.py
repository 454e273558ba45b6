"""``python -m simlab toy``: train a toy net, measure its exact Hessian, write a record.

    python -m simlab toy --hidden 10                      # Sagun's blobs, two hidden layers
    python -m simlab toy --dataset mnist --data-root DIR --n-data 1000 --hidden 20
    python -m simlab toy --dataset cifar8 --data-root DIR --classes 3 --activation tanh --hidden 16
    python -m simlab toy --check-predictions              # Y1–Y8: sympy + numerical residuals
    python -m simlab toy --experiment sagun_width         # Sagun's experiments (see --help)

Every field of :class:`~simlab.toy.run.ToyConfig` is a flag (``--field-name``), generated from
the dataclass; everything is checked before any work, and bad input is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from simlab.cli import ArgumentParser, config_flags, given, positive
from simlab.errors import UsageError, check_out_dir, require
from simlab.models import mlp_param_count
from simlab.paper import experiments as grids
from simlab.paper.runner import run_experiment
from simlab import data as toy_data
from simlab.toy.experiments import EXPERIMENTS
from simlab.runspec import RunSpec, run_spec
from simlab.toy.run import MAX_DENSE_PARAMS, ToyConfig, with_overrides
from simlab.steps import check_newton_size
from simlab.runcost import cost_line
from simlab.toy.run import run_spec as run_toy_spec

RUNNERS = {"toy": run_toy_spec}  # how simlab.runspec.run_spec runs a "toy" RunSpec

HELP = "exact Hessians of small MLPs (Sagun et al. 2016)"  # one line in `python -m simlab --help`
INPUT_DIM = {"blobs": 2, "digits": 64, "mnist": 784, "cifar8": 192}


def experiment_names() -> list[str]:
    """Every ``--experiment`` name, one spelling each: the registry's toy grids without their
    ``toy_`` prefix (``lr_sweep``; ``toy_lr_sweep`` is accepted too, as ``paper run --only``
    spells it), Sagun's toy-only views and ``reproduce``."""
    short = [g.removeprefix("toy_") for g in grids.names("toy")]
    return list(dict.fromkeys(short + sorted(set(EXPERIMENTS) - set(short))))


def record_experiments() -> dict[str, str]:
    """{a record's ``experiment`` field: the grid that writes it}, for names that are not grids
    (``width_sweep`` is what the records of ``sagun_width`` say): a hint for the error."""
    hints: dict[str, list[str]] = {}
    for r in grids.grid("cpu"):
        exp = getattr(r.config, "experiment", None)
        if r.regime == "toy" and isinstance(exp, str):
            grid = r.grid.removeprefix("toy_")
            if grid not in hints.setdefault(exp, []):
                hints[exp].append(grid)
    return {exp: " or ".join(grids) for exp, grids in hints.items()}


def unknown_experiment(name: str) -> UsageError:
    names = experiment_names()
    hint = record_experiments().get(name) if name not in names else None
    why = (f"{name!r} is the records' experiment name; the grid that writes them is {hint}"
           if hint else f"unknown experiment {name!r}")
    return UsageError(f"{why}; choose one of {', '.join(names)}")


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m simlab toy",
                       description="Exact-Hessian experiments on small MLPs (Sagun et al. 2016).")
    g = p.add_argument_group("the run's config (every ToyConfig field; defaults in brackets)")
    fields = config_flags(g, ToyConfig, skip=("experiment",), aliases={"max_steps": ("--steps",)})
    p.set_defaults(config_fields=fields)
    d = ToyConfig()
    for action in g._group_actions:  # the default, where the help does not already say it
        default = getattr(d, action.dest, None)
        if default is not None:
            action.help = f"{action.help} [{default}]"
    g = p.add_argument_group("run")
    g.add_argument("--out", type=Path, help="record directory (default: a new folder under runs/)")
    g.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    g.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    g.add_argument("--dry-run", action="store_true",
                   help="check the config and print the run's size and cost estimate; run nothing")
    g.add_argument("--no-figures", action="store_true",
                   help="do not draw the record's figures (spectra, Hessian heat map)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars (as in scale)")
    g.add_argument("--quiet", dest="no_progress", action="store_true", help=argparse.SUPPRESS)
    g = p.add_argument_group("other toy commands")
    g.add_argument("--check-predictions", action="store_true",
                   help="derive Y1–Y8 with sympy and check them on exact toy Hessians")
    names = experiment_names()
    g.add_argument("--experiment", metavar="NAME",
                   help="run a declared grid of paper/experiments/ or one of Sagun's experiments"
                   + (f" ({', '.join(names)})" if names else ""))
    g.add_argument("--preset", choices=("smoke", "cpu"),
                   help="size of --experiment runs: smoke (seconds, plumbing only) "
                   "or cpu (the default; the reproduction at CPU size)")
    g.add_argument("--inits", type=positive(int),
                   help="--experiment fluctuation/reproduce: random initialisations "
                   "(default: the preset's; the paper used 5000)")
    return p


def n_classes(cfg: ToyConfig) -> int:
    """The number of classes ``cfg``'s data will have (checked against the dataset)."""
    from simlab.data import normalise_classes

    if cfg.dataset == "blobs":
        if cfg.classes is not None:
            raise UsageError("blobs always has 2 classes: drop --classes or pick another dataset")
        return 2
    if cfg.dataset == "random":
        if cfg.classes is None:
            return 10
        if not isinstance(cfg.classes, int):
            raise UsageError(f"random inputs take --classes as a number of classes, got {cfg.classes}")
        return require("classes", cfg.classes, integer=True, lo=2, hi=10_000)
    return len(normalise_classes(cfg.classes, 10))


def n_params(cfg: ToyConfig) -> int:
    """The net's parameter count, from the sizes alone (no net is built)."""
    in_dim = INPUT_DIM.get(cfg.dataset, cfg.input_dim)
    return mlp_param_count((in_dim, *cfg.widths(), n_classes(cfg)))


def validate(cfg: ToyConfig) -> ToyConfig:
    """The config's own checks (:meth:`ToyConfig.validate`, the one place for every field), then
    what only the sizes together say: enough examples for the classes, and a net whose exact
    Hessian the toy regime can build (from the sizes alone, before any data is read)."""
    cfg.validate()
    n_c = n_classes(cfg)
    if cfg.n_data is not None and cfg.n_data < n_c:
        raise UsageError(f"--n-data {cfg.n_data} is fewer examples than the {n_c} classes of "
                         f"{cfg.dataset}: every class needs at least one; give --n-data ≥ {n_c}"
                         + ("" if cfg.dataset == "blobs" else " or keep fewer --classes"))
    n = n_params(cfg)
    if n > MAX_DENSE_PARAMS:
        raise UsageError(f"the net would have {n:,} parameters; the exact Hessian is built for at "
                         f"most {MAX_DENSE_PARAMS:,}: use a smaller --hidden/--depth or the scale regime")
    if cfg.k >= n:
        raise UsageError(f"--k {cfg.k} must be smaller than the net's {n} parameters")
    if cfg.schedule == "newton":
        check_newton_size(n)
    return cfg


def config_from_args(a) -> ToyConfig:
    cfg = replace(ToyConfig(), **given(a, a.config_fields))
    return validate(cfg)


def default_out(cfg: ToyConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"toy-{cfg.dataset}-h{cfg.hidden}-{cfg.loss}-s{cfg.seed}-{stamp}"


def check_data(cfg: ToyConfig) -> None:
    """Read the data a file-backed dataset (cifar8, mnist) needs before the plan is printed: a
    missing data root, or fewer examples than asked, is one line (DataError), not a plan and
    then an error. Synthetic data and the digits (shipped with scikit-learn) need no check."""
    if cfg.dataset in ("cifar8", "mnist"):
        toy_data.load(cfg.data_config())


# measured here (one core): a GD step costs about 4 multiply-adds per parameter and example
# (forward + backward); a dense Hessian n columns of Hessian-vector products (~8 per parameter
# and example each) plus an n³/3 eigh; 1e9 multiply-adds per second on one core is the rule
NOMINAL_FLOPS = 1e9


def plan(cfg: ToyConfig) -> list[str]:
    """What the run will do and roughly what it costs, as plain lines (printed before it starts)."""
    n, n_data = n_params(cfg), cfg.n_data or (1797 if cfg.dataset == "digits" else 1000)
    tc = cfg.train_config()
    every = tc.cadence() or cfg.max_steps or 1
    points = cfg.max_steps // every + 2
    step = 4.0 * n * n_data
    dense = 8.0 * n * n * n_data + n**3 / 3       # one exact Hessian and its eigendecomposition
    point = dense if cfg.eig_method == "dense" else 8.0 * n * n_data * 3 * cfg.k
    spectra = ((2 + (cfg.max_steps // cfg.dense_every if cfg.dense_every else 0))
               if cfg.full_spectra else 0)
    seconds = (cfg.max_steps * step + points * point + spectra * dense) / NOMINAL_FLOPS
    dims = "-".join(str(d) for d in (INPUT_DIM.get(cfg.dataset, cfg.input_dim), *cfg.widths(),
                                     n_classes(cfg)))
    return [f"toy run: {cfg.dataset}, {n_data} examples, MLP {dims} {cfg.activation} "
            f"({n:,} parameters), {cfg.loss}, η = {cfg.lr:g}",
            f"up to {cfg.max_steps:,} steps, telemetry every {every} ({points} points, "
            f"{cfg.eig_method} top-{cfg.k}), "
            + (f"{spectra} full dense spectra (θ_0, end" + (f", every {cfg.dense_every}" if cfg.dense_every
                                                          else "") + f"; {_duration(spectra * dense / NOMINAL_FLOPS)})"
               if spectra else "no full spectra (--no-full-spectra)")
            + f"; estimated cost ≈ {_duration(seconds)} on one core"]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _num(s: dict, key: str, fmt: str) -> str:
    v = s.get(key)
    return format(v, fmt) if isinstance(v, (int, float)) else "none (no finite θ)"


def print_summary(s: dict, out: Path) -> None:
    rows = [
        ("parameters", f"{s['n_params']}  (widths {s['widths']}, {s['activation']}, {s['loss']})"),
        ("data", f"{s['dataset']}: {s['n_data']} examples, {s['n_classes']} classes"),
        ("training", s["message"]),
        ("final loss", f"{_num(s, 'final_loss', '.6g')}   accuracy {_num(s, 'final_accuracy', '.4f')}"),
        ("final ‖g‖", _num(s, "final_grad_norm", ".3g")),
    ]
    if "lambda_max" in s:
        rows += [
            ("λ_max", f"{s['lambda_max']:.6g}   (at init {_num(s, 'lambda_max_init', '.6g')})"),
            ("λ_min", f"{s['lambda_min']:.6g}   ({s.get('n_negative')} negative eigenvalues)"),
            ("near-zero fraction", f"{s['near_zero_fraction']:.4f}   (|λ| ≤ {s['eps']:g}·λ_max; "
                                   f"at init {_num(s, 'near_zero_fraction_init', '.4f')})"),
            ("outliers", f"{s.get('outlier_count')}   (largest gap ratio {_num(s, 'gap_ratio', '.3g')} "
                         f"after λ_{s.get('gap_index')})"),
        ]
    elif s.get("final_loss") is not None and "final_accuracy" in s:
        rows.append(("spectrum", "not taken (--no-full-spectra: the top-k telemetry only)"))
    else:
        rows.append(("spectrum", "none (diverged at initialisation: no finite θ)"))
    rows.append(("cost", cost_line(s)))
    if s.get("valid") is False:
        rows.append(("not a measurement", str(s.get("invalid_reason"))))
    rows.append(("record", str(out)))
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))


def exit_code(s: dict) -> int:
    """1 when the result the user asked for does not exist (the run diverged or died), else 0;
    a run that is valid only in part says why on stderr in one line."""
    reason = s.get("invalid_reason")
    if s.get("stop_reason") in ("diverged", "dead"):
        print(f"simlab toy: not a valid run: {reason or s.get('stop_reason')}", file=sys.stderr)
        return 1
    if s.get("valid") is False and reason:
        print(f"simlab toy: note: {reason}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    if a.out is not None:
        check_out_dir(a.out)
    if a.check_predictions:
        if a.dry_run:
            print("check-predictions: derive Y1–Y8 with sympy and check them on exact toy "
                  "Hessians (seconds); --dry-run stops here")
            return 0
        from simlab.toy import check_predictions

        return check_predictions.main(["--out", str(a.out)] if a.out else [])
    if a.experiment and (grids.declared(a.experiment, "toy") or a.experiment not in EXPERIMENTS):
        if not grids.declared(a.experiment, "toy"):
            raise unknown_experiment(a.experiment)
        return run_experiment(a.experiment, "toy", a.preset or "cpu", a.out, progress=not a.no_progress,
                              dry_run=a.dry_run, given_flags=list(given(a, a.config_fields)))
    if a.experiment:
        if a.dry_run:
            print(f"experiment {a.experiment}: Sagun's experiment of simlab.toy.experiments "
                  f"({a.preset or 'cpu'} preset); --dry-run stops here")
            return 0
        exp = EXPERIMENTS[a.experiment]
        for name in ("threads", "data_root"):
            setattr(a, name, getattr(a, name) if getattr(a, name) is not None else getattr(ToyConfig(), name))
        return exp(a)
    cfg = config_from_args(a)
    out = a.out or default_out(cfg)
    if not a.dry_run:
        check_data(cfg)
    print("\n".join(plan(cfg)), flush=True)
    if a.dry_run:
        return 0
    check_out_dir(out, create=True)
    summary = run_spec(RunSpec("toy", cfg), out, progress=not a.no_progress,
                       figures=not a.no_figures, resume=a.resume, overwrite=a.overwrite)
    print_summary(summary, out)
    return exit_code(summary)


__all__ = ["main", "parser", "config_from_args", "validate", "plan", "with_overrides"]

if __name__ == "__main__":
    sys.exit(main())
