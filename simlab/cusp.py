"""Lowell's cusp (L9) in either regime: the one-dimensional slice L(θ* + Δh_1) − L(θ*) along the
top Hessian eigenvector at the gradient-flow peak θ*, by re-evaluating the loss.

- :func:`cusp_deltas` — the Δ grid (Lowell: Δ ∈ [−0.003, 0.003]);
- :func:`loss_slice` — L(θ + Δh) − L(θ) for each Δ, h normalised;
- :func:`cusp_at` — h_1 at θ (Lanczos on the landscape's operator) and the slice along it;
- :func:`theta_at_step` — θ after ``step`` iterations of a full-batch GD run, replayed from θ_0
  with the run's own per-iteration η (``history["lr"]``), by the one GD loop with the
  :class:`~simlab.steps.Replay` step rule (θ ← θ − η_n ∇L(θ), the run's own update with the same
  ``Landscape.loss_grad``), so on the same device, dtype and thread count the replay gives the
  run's θ bit for bit: a gradient-flow run needs no snapshot
  at its peak to be sliced there (the toy regime, whose gradients cost milliseconds);
- :func:`theta_by_rerun` — θ after ``step`` iterations of a run whose step rule is not a
  function of η_n alone (exponential Euler: the step needs the top eigenpairs), by running the
  same rule again from θ_0 for ``step`` iterations without telemetry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from simlab.spectrum import top_eigen
from simlab.steps import Replay
from simlab.trainer import TrainConfig, train


def cusp_deltas(radius: float, points: int) -> np.ndarray:
    """``points`` evenly spaced Δ in [−radius, radius] (odd counts include Δ = 0)."""
    return np.linspace(-radius, radius, points)


def loss_slice(landscape, theta: torch.Tensor, direction: torch.Tensor,
               deltas: Sequence[float]) -> list[float]:
    """The one-dimensional slice L(θ + Δ h) − L(θ) for each Δ (h = direction / ‖direction‖)."""
    h = direction / torch.linalg.vector_norm(direction)
    base = landscape.loss(theta)
    return [landscape.loss(theta + float(d) * h) - base for d in deltas]


def cusp_at(landscape, theta: torch.Tensor, *, radius: float, points: int,
            tol: float = 1e-3) -> dict:
    """h_1 at θ (Lanczos on ``landscape.operator``) and the slice along it over
    Δ ∈ [−radius, radius]: ``{"deltas", "values", "lambda_1", "n_matvecs"}``."""
    op = landscape.operator(theta)
    eig = top_eigen(op, 1, tol=tol, seed=0, with_residuals=False)
    deltas = cusp_deltas(radius, points)
    values = loss_slice(landscape, theta, eig.eigenvectors[:, 0], deltas)
    return {"deltas": deltas.tolist(), "values": values, "lambda_1": float(eig.eigenvalues[0]),
            "n_matvecs": op.n_matvecs}


def theta_at_step(landscape, lrs: Sequence[float], step: int,
                  theta0: torch.Tensor | None = None) -> torch.Tensor:
    """θ after ``step`` GD iterations from ``theta0`` (default θ_0), iteration n taking
    η = ``lrs[n]`` (a run's ``history["lr"]``)."""
    if not 0 <= step <= len(lrs):
        raise ValueError(f"step {step} is outside the run's {len(lrs)} recorded iterations")
    theta = (landscape.theta0 if theta0 is None else theta0).detach().clone()
    if step == 0:
        return theta
    # lr=1.0 only satisfies the config: the Replay rule takes η_n from lrs
    return train(landscape, TrainConfig(lr=1.0, max_steps=step, telemetry_every=0), theta=theta,
                 rule=Replay(lrs), telemetry=False, progress=False, desc="replay").theta


def theta_by_rerun(landscape, cfg: TrainConfig, step: int) -> torch.Tensor:
    """θ after ``step`` iterations of ``cfg``'s own step rule from θ_0, with no telemetry point
    and no probe: the run again, stopped at ``step``. The rule's eigensolves start as the run's
    did (no warm start at θ_0, the same seeded start vector), so on the same device, dtype and
    thread count this is the run's θ; the caller checks it by the loss at ``step``."""
    if step < 0:
        raise ValueError(f"step must be ≥ 0, got {step}")
    if step == 0:
        return landscape.theta0.detach().clone()
    return train(landscape, replace(cfg, max_steps=step, telemetry_every=0), telemetry=False,
                 progress=False, desc="rerun").theta
