"""What the toy-only Sagun experiments share: preset sizes, cached runs, GD and seeded SGD.

Presets (:data:`SIZES`): ``cpu`` at a size that fits a 2-core CPU in minutes; ``smoke`` shrunk
until it runs in seconds (its numbers are not science, they prove the plumbing). Every run is a
:class:`~simlab.toy.run.ToyConfig` (or a frozen subclass of it that adds a few fields), so a
record's ``config`` is flat and the claims engine finds ``hidden``, ``loss``, ``lr``, ... at the
top.

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
from simlab.trainer import TrainConfig, train

# ============================================================================ preset sizes


@dataclass(frozen=True)
class Sizes:
    """Sizes of the toy-only Sagun experiments (defaults: the ``cpu`` preset). The grids the
    claims read (Lowell on the edge, Sagun's width/std/MSE/random-input sweeps) are declared in
    :mod:`simlab.paper.experiments`."""

    blob_n: int = 1000
    blob_lr: float = 0.1               # 2/η = 20, far above λ_1 of the blob nets (≈ 2–4): stable GD
    blob_steps: int = 4000             # iteration cap; ‖g‖ plateaus near 3e-3 (overlapping blobs)
    blob_grad_tol: float = 1e-4        # Sagun's stop rule, kept; the cap usually ends the run
    blob_hidden: int = 10              # the net of these experiments
    spectrum_points: int = 8           # training_spectrum: telemetry points (full spectra kept)
    inits: int = 60                    # fluctuation: random initialisations (paper: 5000)
    # interpolation (outlook): SGD mini-batch and steps, grid of α
    sgd_batch: int = 50
    sgd_steps: int = 2000
    n_alpha: int = 41                  # points on α ∈ [−0.5, 1.5] (0 and 1 always included)


SIZES: dict[str, Sizes] = {
    "cpu": Sizes(),
    "smoke": Sizes(blob_n=200, blob_steps=300, spectrum_points=3, inits=4, sgd_steps=150,
                   n_alpha=9),
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
    """Full-batch GD θ ← θ − η ∇L(θ) by the one trainer (:func:`simlab.trainer.train`, its
    telemetry reduced to λ_1 at the start and the end): stops when ‖g‖ ≤ grad_tol or after
    max_steps. Returns (θ, info) with the final loss and ‖g‖ (at the returned θ), the steps
    taken and the stop reason."""
    res = train(land, TrainConfig(lr=lr, max_steps=max_steps, grad_tol=grad_tol,
                                  telemetry_every=0, k=1), theta=theta, progress=False)
    return res.theta, {"steps": res.step, "loss": res.loss, "grad_norm": res.grad_norm,
                       "stop_reason": res.stop_reason}


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
