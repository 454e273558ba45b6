"""``python -m simlab toy``: train a toy net, measure its exact Hessian, write a record.

    python -m simlab toy --hidden 10                      # Sagun's blobs, two hidden layers
    python -m simlab toy --dataset mnist --data-root DIR --n-data 1000 --hidden 20
    python -m simlab toy --check-predictions              # Y1–Y8: sympy + numerical residuals
    python -m simlab toy --experiment width_sweep         # Sagun's experiments (see --help)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from simlab.cli import ArgumentParser, positive
from simlab.errors import UsageError
from simlab.toy.data import DATASETS
from simlab.toy.run import DTYPES, ToyConfig, run, with_overrides


def experiments() -> dict:
    """Named toy experiments (Sagun 2016, Lowell's protocol in the toy regime, presets)."""
    try:
        from simlab.toy.experiments import EXPERIMENTS
    except ImportError:
        return {}
    return EXPERIMENTS


def parse_classes(text: str):
    """``3`` → the first 3 classes; ``0,3,7`` → those labels, relabelled 0..n_c−1."""
    try:
        parts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--classes takes a count (e.g. 3) or labels (e.g. 0,3,7), got {text!r}") from None
    return parts[0] if len(parts) == 1 else tuple(parts)


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m simlab toy",
                       description="Exact-Hessian experiments on small MLPs (Sagun et al. 2016).")
    d = ToyConfig()
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default=d.dataset,
                   help="blobs (two 2-D Gaussians), random inputs, digits (scikit-learn 8x8), mnist, "
                   "cifar8 (CIFAR-10 average-pooled to 8x8x3)")
    g.add_argument("--n-data", type=positive(int), help="number of training examples "
                   "(default 1000; all 1797 for digits)")
    g.add_argument("--std", type=positive(float), default=d.std, help="blob standard deviation")
    g.add_argument("--data-root", help="mnist: a folder with MNIST/raw (torchvision) or "
                   "mnist_subset.npz; cifar8: a folder with cifar-10-batches-py/ or "
                   "cifar10_subset.npz; or the .npz itself (default $SIMLAB_DATA or ~/.cache/simlab)")
    g.add_argument("--download", action="store_true", help="MNIST: let torchvision download it")
    g.add_argument("--classes", type=str, help="keep classes: a count n_c or labels like 0,3,7")
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=int, default=d.hidden, help="hidden width h")
    g.add_argument("--depth", type=int, help="hidden layers (default 2 for blobs, 1 for mnist)")
    g.add_argument("--activation", choices=("relu", "tanh"), default=d.activation)
    g.add_argument("--loss", choices=("ce", "mse"), default=d.loss,
                   help="ce: softmax cross-entropy (NLL); mse: squared error on one-hot targets")
    g = p.add_argument_group("training (full-batch gradient descent)")
    g.add_argument("--lr", type=float, default=d.lr, help="learning rate η")
    g.add_argument("--steps", type=int, default=d.max_steps, help="iteration limit")
    g.add_argument("--grad-tol", type=float, default=d.grad_tol, help="stop when ‖g‖ ≤ this")
    g.add_argument("--target-loss", type=float, help="stop when the loss is below this")
    g.add_argument("--telemetry-every", type=positive(int),
                   help="iterations between telemetry points (default max(1/η, steps/40))")
    g.add_argument("--k", type=positive(int), default=d.k, help="eigenpairs listed per point")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--device", default=d.device, help="cpu or cuda")
    g.add_argument("--dtype", choices=tuple(DTYPES), default=d.dtype)
    g.add_argument("--chunk-size", type=positive(int), help="examples per chunk of the full-batch sums")
    g.add_argument("--threads", type=int, default=d.threads,
                   help="torch CPU threads (default 1: toy tensors are too small to share; 0 keeps torch's)")
    g.add_argument("--out", type=Path, help="record directory (default: a new folder under runs/)")
    g.add_argument("--no-figures", action="store_true")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    g = p.add_argument_group("other toy commands")
    g.add_argument("--check-predictions", action="store_true",
                   help="derive Y1–Y8 with sympy and check them on exact toy Hessians")
    names = sorted(experiments())
    g.add_argument("--experiment", choices=names or None,
                   help="run one of Sagun's experiments or a preset grid"
                   + (f" ({', '.join(names)})" if names else ""))
    g.add_argument("--preset", help="size of --experiment runs: smoke (seconds, plumbing only) "
                   "or cpu (the default; the reproduction at CPU size)")
    g.add_argument("--inits", type=positive(int),
                   help="--experiment fluctuation/reproduce: random initialisations "
                   "(default: the preset's; the paper used 5000)")
    return p


def config_from_args(a) -> ToyConfig:
    cfg = ToyConfig(dataset=a.dataset, n_data=a.n_data, std=a.std, data_root=a.data_root,
                    download=a.download, classes=parse_classes(a.classes) if a.classes else None,
                    hidden=a.hidden, depth=a.depth, activation=a.activation, loss=a.loss,
                    lr=a.lr, max_steps=a.steps, grad_tol=a.grad_tol, target_loss=a.target_loss,
                    telemetry_every=a.telemetry_every, k=a.k, seed=a.seed, device=a.device,
                    dtype=a.dtype, chunk_size=a.chunk_size, threads=a.threads)
    cfg.validate()
    return cfg


def default_out(cfg: ToyConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"toy-{cfg.dataset}-h{cfg.hidden}-{cfg.loss}-s{cfg.seed}-{stamp}"


def print_summary(s: dict, out: Path) -> None:
    rows = [
        ("parameters", f"{s['n_params']}  (widths {s['widths']}, {s['activation']}, {s['loss']})"),
        ("data", f"{s['dataset']}: {s['n_data']} examples, {s['n_classes']} classes"),
        ("training", s["message"]),
        ("final loss", f"{s['final_loss']:.6g}   accuracy {s['final_accuracy']:.4f}"),
        ("final ‖g‖", f"{s['final_grad_norm']:.3g}"),
        ("λ_max", f"{s['lambda_max']:.6g}   (at init {s['lambda_max_init']:.6g})"),
        ("λ_min", f"{s['lambda_min']:.6g}   ({s['n_negative']} negative eigenvalues)"),
        ("near-zero fraction", f"{s['near_zero_fraction']:.4f}   (|λ| ≤ {s['eps']:g}·λ_max; "
                               f"at init {s['near_zero_fraction_init']:.4f})"),
        ("outliers", f"{s['outlier_count']}   (largest gap ratio {s['gap_ratio']:.3g} after "
                     f"λ_{s['gap_index']})"),
        ("record", str(out)),
    ]
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    if a.check_predictions:
        from simlab.toy import symbolic

        return symbolic.main(["--out", str(a.out)] if a.out else [])
    if a.experiment:
        exp = experiments()[a.experiment]
        return exp(a)
    cfg = config_from_args(a)
    out = a.out or default_out(cfg)
    if (out / "config.json").exists():
        raise UsageError(f"{out} already holds a record; choose another --out or remove it")
    summary = run(cfg, out, progress=not a.quiet, figures=not a.no_figures)
    print_summary(summary, out)
    return 0


__all__ = ["main", "parser", "config_from_args", "with_overrides"]

if __name__ == "__main__":
    sys.exit(main())
