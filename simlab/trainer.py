"""Full-batch gradient descent with Lowell 2022's telemetry cadence.

    θ_{n+1} = θ_n − η_n ∇L(θ_n),   t_n = Σ_{m<n} η_m   (t = nη for a constant η)

No momentum, no mini-batches: ∇L is the whole-set mean of :class:`~simlab.landscape.Landscape`.
Schedules: ``constant`` (η_n = lr) and ``flow`` (gradient flow as in Lowell: λ_1 at every
iteration and η_n = min(lr, flow_c/λ_1)). Telemetry (:func:`simlab.telemetry.measure`) every
``telemetry_every`` iterations (default round(1/η)), plus every ``entry_every`` iterations before
``entry_until`` (the entry-capture experiment), warm-starting each eigensolve from the previous
point's eigenvectors; and at the final θ.

Stops at the first of: L < ``target_loss``, ‖g‖ ≤ ``grad_tol``, ``max_steps`` iterations,
t ≥ ``max_t``, ``max_seconds`` of wall time; or when L or ‖g‖ is NaN/inf ("diverged"), keeping
everything recorded so far. With a record writer and ``checkpoint_every``, the state is saved so
that ``resume=True`` continues an interrupted run and yields the same record.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from simlab.errors import UsageError
from simlab.record import RecordWriter, _atomic_write_bytes
from simlab.spectrum import top_eigen
from simlab.telemetry import measure

SCHEDULES = ("constant", "flow")


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 0.01                    # η (constant) or η_max (flow)
    schedule: str = "constant"          # "constant" | "flow"
    flow_c: float = 0.5                 # flow: η = min(lr, flow_c / λ_1)
    max_steps: int | None = 10_000      # iteration limit
    max_t: float | None = None          # stop when t = Σ η ≥ max_t (Lowell: 40)
    target_loss: float | None = None    # stop when L < target (Lowell: 0.1)
    grad_tol: float | None = None       # stop when ‖g‖ ≤ tol (Sagun: 1e-4)
    max_seconds: float | None = None    # wall-time limit
    telemetry_every: int | None = None  # None: round(1/η); 0: only at start and end
    entry_every: int = 0                # extra cadence before entry_until (entry capture: 10)
    entry_until: int = 0                # (entry capture: 2000)
    k: int = 20                         # eigenpairs per telemetry point
    eig_method: str = "lanczos"         # "lanczos" | "power" | "dense"
    eig_tol: float = 1e-4
    eps: float = 1e-3                   # near-zero threshold |λ| ≤ eps·λ_max
    snapshot_every: int = 0             # save θ every N iterations (gradient flow: 100)
    checkpoint_every: int = 0           # save resumable state every N iterations

    def validate(self) -> None:
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise UsageError(f"the learning rate must be positive, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.max_steps is not None and self.max_steps < 0:
            raise UsageError(f"the step limit must be ≥ 0, got {self.max_steps}")
        if self.k < 1:
            raise UsageError(f"k (eigenpairs per telemetry point) must be ≥ 1, got {self.k}")

    def cadence(self) -> int:
        if self.telemetry_every is not None:
            return self.telemetry_every
        return max(1, round(1.0 / self.lr))


@dataclass
class TrainResult:
    theta: torch.Tensor
    step: int
    t: float
    loss: float
    grad_norm: float
    stop_reason: str
    message: str
    n_points: int
    wall_time: float
    history: dict = field(default_factory=dict)


CHECKPOINT = "checkpoints/state.pt"


def _save_state(writer: RecordWriter, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    _atomic_write_bytes(writer.path / CHECKPOINT, buf.getvalue())


def _load_state(writer: RecordWriter) -> dict | None:
    path = writer.path / CHECKPOINT
    return torch.load(path, weights_only=False) if path.exists() else None


def train(landscape, cfg: TrainConfig, writer: RecordWriter | None = None, *,
          theta: torch.Tensor | None = None, hessian_fn=None, progress: bool = True,
          desc: str = "GD", resume: bool = False, on_point=None) -> TrainResult:
    """Run full-batch GD from ``theta`` (default: the landscape's θ_0) under ``cfg``.

    ``hessian_fn(θ)`` (toy regime) gives the dense Hessian for every telemetry point, which then
    carries the full-spectrum statistics. ``on_point(point, eig)`` is called after each point.
    """
    cfg.validate()
    theta = (landscape.theta0 if theta is None else theta).detach().clone()
    step, t, n_points, elapsed0 = 0, 0.0, 0, 0.0
    warm = lam1_warm = None
    hist = {"step": [], "t": [], "loss": [], "grad_norm": [], "lr": [], "lambda_1": []}
    if resume and writer is not None:
        state = _load_state(writer)
        if state is not None:
            theta, step, t = state["theta"].to(landscape.device, landscape.dtype), state["step"], state["t"]
            n_points, warm, hist, elapsed0 = state["n_points"], state["warm"], state["history"], state["elapsed"]
            if warm is not None:
                warm = warm.to(landscape.device, landscape.dtype)
            # the flow schedule's λ_1 warm start: without it a resumed run's η differs in the last bits
            lam1_warm = state.get("lam1_warm")
            if lam1_warm is not None:
                lam1_warm = lam1_warm.to(landscape.device, landscape.dtype)
            writer.truncate_telemetry(n_points)
    every = cfg.cadence()
    start = time.perf_counter() - elapsed0
    last_point_step = -1
    bar = tqdm(total=cfg.max_steps, initial=step, desc=desc, disable=not progress or None,
               leave=False, dynamic_ncols=True)
    stop_reason, message = "", ""
    loss = gnorm = float("nan")
    last_fields = {}
    while True:
        loss, g = landscape.loss_grad(theta)
        gnorm = float(torch.linalg.vector_norm(g))
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            stop_reason = "diverged"
            message = (f"training diverged at step {step} (loss={loss}, |g|={gnorm}); "
                       f"everything recorded up to here is kept; try a smaller learning rate")
            break
        lr = cfg.lr
        lam1 = float("nan")
        if cfg.schedule == "flow":
            e = top_eigen(landscape.operator(theta), 1, tol=cfg.eig_tol, v0=lam1_warm,
                          with_residuals=False)
            lam1, lam1_warm = float(e.eigenvalues[0]), e.eigenvectors
            lr = min(cfg.lr, cfg.flow_c / lam1) if lam1 > 0 else cfg.lr
        due = (every > 0 and step % every == 0) or step == 0 or (
            cfg.entry_every > 0 and step < cfg.entry_until and step % cfg.entry_every == 0)
        stop_reason = _stop(cfg, step, t, loss, gnorm, time.perf_counter() - start)
        if (due or stop_reason) and step != last_point_step:
            point, eig = measure(landscape, theta, lr=lr, k=cfg.k, method=cfg.eig_method,
                                 tol=cfg.eig_tol, v0=warm, eps=cfg.eps, loss_grad=(loss, g),
                                 hessian=hessian_fn(theta) if hessian_fn else None, seed=step)
            warm = eig.eigenvectors
            point = {"step": step, "t": t, "lr": lr, **point,
                     "wall_time": time.perf_counter() - start}
            if writer is not None:
                writer.append(point)
            n_points += 1
            last_point_step = step
            lam = point["eigenvalues"]
            nt = point["n_top"]
            last_fields = {"λ1": f"{lam[0]:.3g}",
                           f"ρ{nt}": f"{point['rho'][nt - 1]:.3f}" if len(lam) >= nt else "-"}
            if on_point is not None:
                on_point(point, eig)
        for key, val in zip(hist, (step, t, loss, gnorm, lr, lam1)):
            hist[key].append(val)
        if stop_reason:
            message = _message(stop_reason, step, t, loss, gnorm)
            break
        if cfg.snapshot_every and step % cfg.snapshot_every == 0 and writer is not None:
            _save_snapshot(writer, step, theta)
        theta = theta - lr * g
        step += 1
        t += lr
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}", **last_fields, refresh=False)
        if writer is not None and cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
            _save_state(writer, {"theta": theta.cpu(), "step": step, "t": t, "n_points": n_points,
                                 "warm": None if warm is None else warm.cpu(),
                                 "lam1_warm": None if lam1_warm is None else lam1_warm.cpu(), "history": hist,
                                 "elapsed": time.perf_counter() - start})
    bar.close()
    history = {k: np.asarray(v, dtype=np.float64) for k, v in hist.items()}
    if writer is not None:
        writer.save_arrays({f"history_{k}": v for k, v in history.items()})
        writer.save_weights(theta)
    return TrainResult(theta, step, t, loss, gnorm, stop_reason, message, n_points,
                       time.perf_counter() - start, history)


def _save_snapshot(writer: RecordWriter, step: int, theta: torch.Tensor) -> None:
    buf = io.BytesIO()
    torch.save(theta.detach().cpu(), buf)
    _atomic_write_bytes(writer.path / "snapshots" / f"step_{step:07d}.pt", buf.getvalue())


def _stop(cfg: TrainConfig, step: int, t: float, loss: float, gnorm: float, seconds: float) -> str:
    if cfg.target_loss is not None and loss < cfg.target_loss:
        return "target_loss"
    if cfg.grad_tol is not None and gnorm <= cfg.grad_tol:
        return "grad_tol"
    if cfg.max_steps is not None and step >= cfg.max_steps:
        return "max_steps"
    if cfg.max_t is not None and t >= cfg.max_t:
        return "max_t"
    if cfg.max_seconds is not None and seconds >= cfg.max_seconds:
        return "max_seconds"
    return ""


def _message(reason: str, step: int, t: float, loss: float, gnorm: float) -> str:
    what = {"target_loss": "reached the target loss", "grad_tol": "reached the gradient tolerance",
            "max_steps": "reached the iteration limit", "max_t": "reached the time limit t = Σ η",
            "max_seconds": "reached the wall-time limit"}[reason]
    return f"{what} at step {step} (t={t:.4g}, loss={loss:.6g}, |g|={gnorm:.3g})"
