"""What the toy experiment grid shares: preset sizes, cached runs, plain GD and seeded SGD.

Presets (:data:`SIZES`): ``cpu`` is the reproduction at a size that fits a 2-core CPU in well
under 20 minutes; ``smoke`` is the same grid shrunk until it runs in well under a minute (its
numbers are not science, they prove the plumbing). The paper-size values are noted beside each
field. Every run of the grid is a :class:`~simlab.toy.run.ToyConfig` (or a frozen subclass of it
that adds a few fields), so a record's ``config`` is flat and the claims engine finds ``hidden``,
``loss``, ``lr``, ... at the top.

Resumable: :func:`run_cached` skips a run whose ``summary.json`` exists and redoes one that was
interrupted (config.json but no summary.json).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from simlab.errors import UsageError
from simlab.record import SUMMARY
from simlab.toy.run import ToyConfig, run

# ============================================================================ preset sizes


@dataclass(frozen=True)
class Sizes:
    """Sizes of every experiment in the toy grid (defaults: the ``cpu`` preset)."""

    # Sagun's blobs (paper: n = 1000, GD until ‖g‖ ≈ 1e-4)
    widths: tuple[int, ...] = (2, 6, 10, 14, 18)   # h of the 2-h-h-2 net
    blob_n: int = 1000
    blob_lr: float = 0.2              # 2/η = 10, above every λ_1 seen on blobs (≈ 1–4): stable GD
    blob_steps: int = 2000            # iteration cap; ‖g‖ stalls near 1e-3 (overlapping blobs)
    blob_grad_tol: float = 1e-4       # Sagun's stop rule, kept; the cap usually ends the run
    blob_hidden: int = 10             # the net of the single-width experiments
    mnist_k: tuple[int, ...] = (2, 4, 6)  # 784-k-10 on MNIST-1000 (only with a data root)
    mnist_lr: float = 0.5
    mnist_steps: int = 1000
    spectrum_points: int = 8          # training_spectrum: telemetry points (full spectra kept)
    inits: int = 60                   # fluctuation: random initialisations (paper: 5000)
    stds: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)   # blob std sweep
    seeds: int = 2                    # seeds per setting (std sweep, MSE, random inputs)
    # real vs random inputs: 64-k-10 on digits (784-k-10 on MNIST with a data root)
    digits_n: int = 500
    digits_hidden: int = 8
    digits_lr: float = 0.5
    digits_steps: int = 1000
    # interpolation (outlook): SGD mini-batch and steps, grid of α
    sgd_batch: int = 50
    sgd_steps: int = 2000
    n_alpha: int = 41                 # points on α ∈ [−0.5, 1.5] (0 and 1 always included)
    # Lowell in the toy regime: digits MLP 64-h-h-10, full-batch GD
    lowell_n: int = 500
    lowell_hidden: int = 10
    lowell_depth: int = 2
    lowell_lrs: tuple[float, ...] = (0.5, 0.25, 0.1)   # paper (CIFAR): 3e-3 … 1e-4
    lowell_class_lr: float = 0.25
    lowell_classes: tuple[int, ...] = (2, 3, 5, 10)
    lowell_t: float = 40.0            # stop at t = nη = 40 ...
    lowell_target_loss: float = 0.1   # ... or L < 0.1 (paper)
    lowell_cap: int = 2000            # and at most this many iterations
    entry_lr: float = 0.25
    entry_every: int = 1              # telemetry cadence during entry capture (paper: 10 it.)
    entry_steps: int = 120            # entry capture length (paper: 2000 it.)


SIZES: dict[str, Sizes] = {
    "cpu": Sizes(),
    "smoke": Sizes(widths=(2, 6, 10), blob_n=200, blob_steps=300, mnist_k=(2,), mnist_steps=100,
                   spectrum_points=3, inits=4, stds=(0.5, 1.0, 2.0), seeds=2, digits_n=150,
                   digits_hidden=4, digits_steps=150, sgd_steps=150, n_alpha=9, lowell_n=150,
                   lowell_hidden=4, lowell_lrs=(0.5, 0.25, 0.1), lowell_classes=(2, 3, 5),
                   lowell_t=10.0, lowell_cap=100, entry_steps=20, entry_every=2),
}


def sizes(preset: str | None) -> Sizes:
    name = preset or "cpu"
    if name not in SIZES:
        raise UsageError(f"unknown --preset {name!r}; choose one of {', '.join(SIZES)}")
    return SIZES[name]


# ============================================================================ cached runs


def load_summary(out: Path) -> dict | None:
    path = Path(out) / SUMMARY
    return json.loads(path.read_text()) if path.exists() else None


def fresh(out: Path) -> Path:
    """A directory for a run that must be (re)done: an interrupted record there is removed."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    return out


def run_cached(cfg: ToyConfig, out: Path, *, progress: bool = False) -> dict:
    """``toy.run.run(cfg, out)`` unless ``out/summary.json`` exists (then its summary)."""
    done = load_summary(out)
    if done is not None:
        return done
    return run(cfg, fresh(out), progress=progress)


def blob_config(sz: Sizes, **changes) -> ToyConfig:
    """Sagun's blob setting at this preset's size (telemetry only at the start and the end)."""
    base = dict(dataset="blobs", n_data=sz.blob_n, hidden=sz.blob_hidden, lr=sz.blob_lr,
                max_steps=sz.blob_steps, grad_tol=sz.blob_grad_tol, telemetry_every=sz.blob_steps)
    base.update(changes)
    return ToyConfig(**base)


# ============================================================================ optimisers


def gd(land, theta: torch.Tensor, *, lr: float, max_steps: int,
       grad_tol: float | None = None) -> tuple[torch.Tensor, dict]:
    """Full-batch GD θ ← θ − η ∇L(θ), the very update of :func:`simlab.trainer.train`, without
    telemetry: stops when ‖g‖ ≤ grad_tol or after max_steps. Returns (θ, info) with the final
    loss and ‖g‖ (at the returned θ), the steps taken and the stop reason."""
    theta = theta.detach().clone()
    step, reason = 0, "max_steps"
    while True:
        loss, g = land.loss_grad(theta)
        gnorm = float(torch.linalg.vector_norm(g))
        if grad_tol is not None and gnorm <= grad_tol:
            reason = "grad_tol"
            break
        if step >= max_steps:
            break
        theta = theta - lr * g
        step += 1
    return theta, {"steps": step, "loss": loss, "grad_norm": gnorm, "stop_reason": reason}


def sgd(land, theta: torch.Tensor, *, lr: float, batch: int, steps: int,
        seed: int = 0) -> torch.Tensor:
    """Mini-batch SGD: each epoch a seeded permutation of the examples, cut into batches of
    ``batch``; each step θ ← θ − η ∇ℓ_B(θ) with ℓ_B the mean loss over the batch (for MSE the
    mean over its examples and classes, the landscape's own normalisation). No momentum."""
    g = torch.Generator().manual_seed(int(seed))
    theta = theta.detach().clone()
    n = land.n_data
    # the landscape's chunk loss is Σ_B ℓ / N; rescaling by N/|B| gives the batch mean
    order = torch.randperm(n, generator=g)
    pos = 0
    for _ in range(steps):
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=g), 0
        idx = order[pos:pos + batch].to(land.X.device)
        pos += batch
        th = theta.clone().requires_grad_(True)
        lb = land.chunk_loss(th, land.X[idx], land.y[idx]) * (n / len(idx))
        (gb,) = torch.autograd.grad(lb, th)
        theta = theta - lr * gb
    return theta.detach()


def top_of(lam) -> float:
    """λ_1 of an ascending spectrum."""
    return float(lam[-1])
