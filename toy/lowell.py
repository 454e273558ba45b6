"""Lowell 2022's protocol in the toy regime, on the edge of stability, where every eigenvalue of H
is known exactly.

A run (:class:`EdgeConfig`, a :class:`~simlab.toy.run.ToyConfig` with a few more fields) trains a
small MLP by full-batch GD through the one trainer (:func:`simlab.trainer.train`):

- telemetry every ``telemetry_every`` iterations (≤ 1/(5η) in the grids, so the edge phase is
  seen), the top-k eigenpairs by Lanczos on the *exact* float64 Hessian-vector products
  (``eig_method="lanczos"``; no dense H per point), ρ_i = ηλ_i/2, ‖P_top g‖, ‖P_bulk g‖,
  ΔL_top, ΔL_bulk by re-evaluation;
- full dense spectra (``Landscape.hessian`` + ``eigvalsh``) at θ_0, every ``dense_every``
  iterations and at the end, kept in ``arrays.npz`` as ``dense_steps`` / ``dense_eigenvalues``
  and summarised per spectrum in ``summary["dense_spectra"]``;
- stop at L < ``target_loss``, L < ``loss_fraction``·L(θ_0) (MSE: L = 1/n_c at zero output makes
  a fixed target meaningless), t = Σ η ≥ ``max_t`` or ``max_steps``; ``schedule="flow"`` gives
  gradient flow η = min(lr, flow_c/λ_1) with λ_1 from the exact operator at every iteration;
- under gradient flow, Lowell's cusp (L9) at the end: θ* of peak λ_1 replayed from θ_0 with the
  run's own η history (:func:`simlab.cusp.theta_at_step`, bit for bit the run's θ), h_1 there by
  Lanczos on the exact operator and L(θ*+Δh_1) − L(θ*) for ``cusp_points`` Δ in
  [−``cusp_radius``, ``cusp_radius``], in ``summary["cusp"]`` as in the scale regime.

The grids that use it are declared once, in :mod:`simlab.experiments`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from simlab.cusp import cusp_at, theta_at_step
from simlab.errors import UsageError, require
from simlab.landscape import Landscape
from simlab.record import Record, RecordWriter
from simlab.spectrum import spectrum_stats
from simlab.toy import data as toy_data
from simlab.toy.models import build_mlp
from simlab.toy.run import DTYPES, ToyConfig
from simlab.trainer import TrainConfig, flow_peak, run_summary, train


@dataclass(frozen=True)
class EdgeConfig(ToyConfig):
    dataset: str = "cifar8"
    n_data: int | None = 500
    hidden: int = 16
    depth: int | None = 2
    activation: str = "tanh"
    grad_tol: float | None = None
    target_loss: float | None = 0.1
    experiment: str = "lr_sweep"
    standardise: bool = True            # z-score every input feature over the training subset
    eig_method: str = "lanczos"         # top-k by Lanczos on the exact HVP operator
    eig_tol: float = 1e-4
    dense_every: int = 0                # full dense spectrum every N iterations (0: θ_0 and end)
    max_t: float | None = None          # stop at t = Σ η ≥ max_t
    loss_fraction: float | None = None  # stop at L < loss_fraction · L(θ_0)
    schedule: str = "constant"          # constant | flow
    flow_c: float = 0.5                 # flow: η = min(lr, flow_c / λ_1)
    entry_every: int = 0
    entry_until: int = 0
    cusp_radius: float = 0.003          # flow: the cusp slice's Δ ∈ [−r, r] along h_1 (Lowell)
    cusp_points: int = 41               # flow: slice points (odd: Δ = 0 included; 0: no slice)

    def validate(self) -> None:
        super().validate()
        require("cusp_radius", self.cusp_radius, positive=True)
        require("cusp_points", self.cusp_points, integer=True, nonneg=True, hi=100_001)
        if self.cusp_points and (self.cusp_points < 3 or self.cusp_points % 2 == 0):
            raise UsageError(f"--cusp-points must be 0 (no slice) or odd and ≥ 3 (Δ = 0 and a point "
                             f"on each side), got {self.cusp_points}")


def build_edge(cfg: EdgeConfig):
    """(landscape, data info): the toy data (standardised per feature if asked), the seeded MLP."""
    cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    X, y, info = toy_data.load(replace(cfg.data_config(), standardise=cfg.standardise))
    n_c = info["n_classes"]
    model = build_mlp(X.shape[1], cfg.widths(), n_c, activation=cfg.activation, seed=cfg.seed)
    land = Landscape(model, X, y, loss=cfg.loss, n_classes=n_c, chunk_size=cfg.chunk_size,
                     dtype=DTYPES[cfg.dtype], device=cfg.device)
    return land, info


def train_config(cfg: EdgeConfig, loss0: float) -> TrainConfig:
    target = cfg.target_loss
    if cfg.loss_fraction is not None:
        frac = cfg.loss_fraction * loss0
        target = frac if target is None else max(target, frac)
    return TrainConfig(lr=cfg.lr, schedule=cfg.schedule, flow_c=cfg.flow_c,
                       max_steps=cfg.max_steps, max_t=cfg.max_t, target_loss=target,
                       grad_tol=cfg.grad_tol, telemetry_every=cfg.telemetry_every,
                       entry_every=cfg.entry_every, entry_until=cfg.entry_until, k=cfg.k,
                       eig_method=cfg.eig_method, eig_tol=cfg.eig_tol, eps=cfg.eps,
                       snapshot_every=cfg.dense_every)


def run_edge(cfg: EdgeConfig, out: Path | str, *, progress: bool = True) -> dict:
    """Train, take the dense spectra, write the record into ``out``; returns the summary."""
    t0 = time.perf_counter()
    out = Path(out)
    land, info = build_edge(cfg)
    writer = RecordWriter(out, cfg, meta={"regime": "toy", "experiment": cfg.experiment,
                                          "data": info}, device=cfg.device)
    loss0 = land.loss(land.theta0)
    tc = train_config(cfg, loss0)
    res = train(land, tc, writer, progress=progress,
                desc=f"toy {cfg.experiment} η={cfg.lr:g} n_c={info['n_classes']}")
    train_s = time.perf_counter() - t0
    n_c = info["n_classes"]
    # dense spectra: the snapshots (θ_0 and every dense_every iterations) and the final θ
    t1 = time.perf_counter()
    thetas = {}
    for p in sorted((out / "snapshots").glob("step_*.pt")):
        thetas[int(p.stem.split("_")[1])] = torch.load(p, weights_only=True)
    thetas.setdefault(0, land.theta0)
    thetas[res.step] = res.theta
    steps = sorted(thetas)
    spectra = [torch.linalg.eigvalsh(land.hessian(thetas[s].to(land.device, land.dtype)))
               .cpu().numpy() for s in steps]
    dense_s = time.perf_counter() - t1
    for p in (out / "snapshots").glob("step_*.pt"):
        p.unlink()
    lam0, lam = spectra[0], spectra[-1]
    writer.save_arrays({**{f"history_{k}": v for k, v in res.history.items()},
                        "dense_steps": np.asarray(steps), "dense_eigenvalues": np.stack(spectra),
                        "eigenvalues": lam, "eigenvalues_init": lam0})
    stats = spectrum_stats(lam, n_classes=n_c, eps=cfg.eps)
    stats0 = spectrum_stats(lam0, n_classes=n_c, eps=cfg.eps)
    summary = {
        "regime": "toy", "experiment": cfg.experiment,
        "n_params": land.n_params, "dataset": info["name"], "n_data": info["n_data"],
        "n_classes": n_c, "widths": list(cfg.widths()), "activation": cfg.activation,
        "loss": cfg.loss, "lr": cfg.lr, "schedule": cfg.schedule, "seed": cfg.seed,
        "steps": res.step, "t": res.t, "stop_reason": res.stop_reason, "message": res.message,
        "target_loss_used": tc.target_loss, "initial_loss": loss0,
        **run_summary(res, tc, land),
        "final_loss": res.loss, "final_grad_norm": res.grad_norm,
        "final_accuracy": land.accuracy(res.theta),
        "theta_norm": float(torch.linalg.vector_norm(res.theta)),
        "theta_norm_init": float(torch.linalg.vector_norm(land.theta0)),
        "eigenvalues": lam.tolist(), "eigenvalues_init": lam0.tolist(),
        **stats, **{f"{k}_init": v for k, v in stats0.items()}, "eps": cfg.eps,
        "dense_spectra": [{"step": s, **spectrum_stats(w, n_classes=n_c, eps=cfg.eps)}
                          for s, w in zip(steps, spectra)],
        "n_telemetry": res.n_points,
        "run_seconds": train_s, "dense_seconds": dense_s,
        "wall_time": time.perf_counter() - t0,
    }
    if cfg.schedule == "flow":
        summary.update(flow_peak(res.history))
        if cfg.cusp_points and "peak_step" in summary and res.stop_reason != "diverged":
            summary["cusp"] = flow_cusp(land, res.history, summary["peak_step"], cfg)
            summary["cusp"]["n_data"] = info["n_data"]
    rho1 = [p["rho"][0] for p in Record.load(out, drop_truncated=True).telemetry if p.get("rho")]
    summary["max_rho_1"] = max(rho1) if rho1 else None
    writer.write_summary(summary)
    return summary


def flow_cusp(land: Landscape, history: dict, peak_step: int, cfg: EdgeConfig) -> dict:
    """The cusp slice at the flow's peak θ* (replayed from θ_0 with ``history["lr"]``):
    :func:`simlab.cusp.cusp_at` plus ``peak_step``, ``seconds`` and ``replay_loss_error`` =
    |L(θ*) − the run's loss at that step| (0 when the replay is the run's θ, as it is on the
    device, dtype and threads the run used)."""
    t0 = time.perf_counter()
    theta = theta_at_step(land, history["lr"], peak_step)
    err = abs(land.loss(theta) - float(history["loss"][peak_step]))
    c = cusp_at(land, theta, radius=cfg.cusp_radius, points=cfg.cusp_points, tol=cfg.eig_tol)
    return {**c, "peak_step": int(peak_step), "replay_loss_error": err,
            "seconds": time.perf_counter() - t0}


# ============================================================================ figures and lines


def summary_line(d: Path) -> str:
    """One line per run for the console: stop, loss and where the run was relative to the edge
    (from :mod:`simlab.claims.readers`, the numbers the claims use)."""
    from simlab.claims import Thresholds, readers

    r = Record.load(d, drop_truncated=True)
    s = r.summary or {}
    e = readers.edge(r, Thresholds())
    ok, why = readers.validity(r)
    where = (f"on the edge for {e.iterations} iterations, edge count {e.edge_count} (n_c − 1 = "
             f"{(e.n_classes or 0) - 1})" if e.reached else readers.edge_not_reached([r], Thresholds()))
    return (f"{d.name}: η {r.config['lr']:g}, {s.get('stop_reason')} at step {s.get('steps')} "
            f"(t {s.get('t', 0):.3g}), loss {s.get('final_loss', math.nan):.4g}, "
            f"{len(r.telemetry)} points, {where}" + ("" if ok else f"; EXCLUDED: {why}"))