"""An edge-of-stability monitor for any PyTorch training loop: :class:`EdgeMonitor`.

A small observer the user calls from their own loop (SGD with or without momentum, Adam, AdamW,
mini-batches, any schedule). Every ``every`` steps it measures, on a *fixed measurement batch*
(X_meas, y_meas) and at the model's current parameters θ:

- the top-k eigenvalues of the curvature the optimizer's step sees (warm-started Lanczos,
  :func:`simlab.spectrum.top_eigen`, on the matrix-free :class:`~simlab.operators.HVPOperator` of a
  :class:`~simlab.landscape.Landscape` over the measurement batch; every product counted);
- the effective step size's ρ_i = η_eff λ_i / 2, where η_eff is the gradient-descent step with the
  same stability threshold 2/η_eff as the optimizer (so ρ_i ≥ 1 is "at or past the edge" along
  direction i, as for GD):

  ===================  ===============================  ====================================
  optimizer            curvature λ_i                    η_eff (threshold 2/η_eff on λ_i)
  ===================  ===============================  ====================================
  none / SGD           eigenvalues of H (+ wd)          η(1−τ)/(1+β)   heavy-ball momentum β
  SGD, nesterov        eigenvalues of H (+ wd)          η(1−τ)(1+2β)/(1+β)
  Adam / AdamW         eigenvalues of P⁻¹H (+ wd, Adam) η(1−β1)/(1+β1)
  ===================  ===============================  ====================================

  (η the optimizer's lr, β its momentum, τ its dampening, wd its coupled weight decay, which adds
  wd·I to the Hessian of the objective it follows.) SGD with momentum β on a quadratic of
  curvature λ is stable iff ηλ < 2 + 2β (Cohen et al. 2021, "Gradient Descent on Neural Networks
  Typically Occurs at the Edge of Stability", App. on momentum; Nesterov: ηλ < (2+2β)/(1+2β)):
  ρ_i = ηλ_i / (2(1+β)). For Adam, Cohen et al. 2022 ("Adaptive Gradient Methods at the Edge of
  Stability", arXiv:2207.14484) freeze the preconditioner P = (1 − β1^t)·diag(√v̂_t + ε) and
  call λ_1(P⁻¹H) the *preconditioned sharpness*; the update is then EMA-momentum GD on P⁻¹H,
  stable iff η λ(P⁻¹H) < (2 + 2β1)/(1 − β1), i.e. λ_1(P⁻¹H) < 38/η at β1 = 0.9. P is read from
  the optimizer's state (``exp_avg_sq`` or AMSGrad's ``max_exp_avg_sq``, ``step``); the
  eigenvalues of P⁻¹H are those of the symmetric P^{-1/2} H P^{-1/2}, which is what is solved.
  AdamW's decoupled decay is not part of the gradient and is left out (its factor 1 − ηwd per
  step is a contraction). A step where Adam has no state yet (before its first step) is skipped.
- the edge count #{i : ρ_i ≥ 1} against n_c − 1, and ‖P_top g‖, ‖P_bulk g‖ with the top
  subspace spanned by the n_c − 1 leading eigenvectors (for Adam in the preconditioned
  coordinates: g̃ = P^{-1/2} g split along the eigenvectors of P^{-1/2} H P^{-1/2}), the
  coordinates d_i, and ΔL_top = L(θ − η_eff S P_top g̃) − L(θ), ΔL_bulk likewise (S = P^{-1/2}
  for Adam, I otherwise: the optimizer's step restricted to each subspace, by re-evaluation).

All of it is over the whole measurement batch (the mean loss of :class:`Landscape`), measured on
a copy of the model in eval mode and in ``dtype`` (float64 by default). The monitor never
changes the user's model, parameters, buffers, ``.grad``, optimizer state or RNG state: θ is a
copy of the parameters, the forward passes run on the copy (buffers copied in before each
measurement), and the measurement runs inside ``torch.random.fork_rng``; training with the
monitor gives the same parameters, bit for bit, as training without it.

With ``out``, the points go to a simlab record as the trainer writes them (``telemetry.jsonl``
with the trainer's keys: step, t, lr = η_eff, loss, accuracy, grad_norm, theta_norm,
eigenvalues, eta_star, rho, d, n_top, p_top_norm, p_bulk_norm, dl_top, dl_bulk, n_matvecs,
residuals, wall_time; plus edge_count, optimizer_lr, threshold = 2/η_eff, seconds), a
``config.json`` (the optimizer's settings, the measurement batch and loss; regime and experiment
``own``) and, on :meth:`EdgeMonitor.close`, ``summary.json`` and ``weights.pt``, so that
``python -m simlab claims DIR`` and the figures read it. ``t`` accumulates η_eff over the steps
between points. The cost (products, seconds, the share of the loop's wall time) is printed on
close and stored in the summary.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from simlab.errors import UsageError, require
from simlab.landscape import MEMORY_BUDGET_MB, Landscape
from simlab.operators import Operator
from simlab.own import OWN, describe_data, describe_loss, dtype_name
from simlab.record import RecordWriter, prepare_out, rho_of
from simlab.spectrum import top_eigen
from simlab.telemetry import projections
from simlab.runcost import landscape_cost

ADAM_TYPES = ("Adam", "AdamW")


class PreconditionedOperator(Operator):
    """S (H + shift·I) S for a diagonal S = diag(s): the symmetric form of P⁻¹H with S = P^{-1/2}
    (same eigenvalues; eigenvectors u of it give P⁻¹H's as S u). Counts products like its base."""

    def __init__(self, base: Operator, s: torch.Tensor | None, shift: float = 0.0):
        super().__init__()
        self.base, self.shift = base, float(shift)
        self.s = None if s is None else s.to(device=base.device, dtype=base.dtype)
        self.shape, self.dtype, self.device = base.shape, base.dtype, base.device

    def _matvec(self, v):
        w = v if self.s is None else self.s * v
        out = self.base.matvec(w)
        if self.shift:
            out = out + self.shift * w
        return out if self.s is None else self.s * out

    def release(self):
        if hasattr(self.base, "release"):
            self.base.release()


def _groups_value(optimizer, key: str):
    """The one value of a hyperparameter over the optimizer's parameter groups."""
    vals = {repr(g.get(key)) for g in optimizer.param_groups}
    if len(vals) > 1:
        raise UsageError(f"the optimizer's parameter groups differ in {key!r} "
                         f"({', '.join(sorted(vals))}); the monitor needs one value")
    return optimizer.param_groups[0].get(key)


def step_rule(optimizer, lr: float | None) -> dict:
    """The optimizer's kind and hyperparameters, and η_eff: the GD step whose threshold 2/η_eff
    is the optimizer's stability threshold on the curvature the monitor measures (module doc)."""
    if optimizer is None:
        if lr is None:
            raise UsageError("pass optimizer= (torch.optim.SGD, Adam or AdamW) or lr= (plain "
                             "gradient descent with step lr)")
        require("lr", lr, positive=True, arg=True)
        return {"optimizer": "GD", "optimizer_lr": float(lr), "lr": float(lr), "weight_decay": 0.0,
                "sharpness": "hessian", "threshold_rule": "2/η (gradient descent)"}
    kind = type(optimizer).__name__
    eta = float(_groups_value(optimizer, "lr"))
    if lr is not None and float(lr) != eta:
        raise UsageError(f"lr={lr!r} differs from the optimizer's lr {eta!r}; pass one of them")
    wd = float(_groups_value(optimizer, "weight_decay") or 0.0)
    if isinstance(optimizer, torch.optim.SGD):
        beta = float(_groups_value(optimizer, "momentum") or 0.0)
        tau = float(_groups_value(optimizer, "dampening") or 0.0)
        nesterov = bool(_groups_value(optimizer, "nesterov"))
        if _groups_value(optimizer, "maximize"):
            raise UsageError("the monitor measures minimisation; the optimizer has maximize=True")
        factor = (1 + 2 * beta) / (1 + beta) if nesterov else 1 / (1 + beta)
        rule = ("(2+2β)/((1+2β)(1−τ)η) (Nesterov momentum)" if nesterov else
                "(2+2β)/((1−τ)η) (heavy-ball momentum; Cohen et al. 2021)")
        return {"optimizer": kind, "optimizer_lr": eta, "lr": eta * (1 - tau) * factor,
                "momentum": beta, "dampening": tau, "nesterov": nesterov, "weight_decay": wd,
                "sharpness": "hessian", "threshold_rule": rule}
    if kind in ADAM_TYPES and isinstance(optimizer, torch.optim.Optimizer):
        b1, b2 = (float(b) for b in _groups_value(optimizer, "betas"))
        if _groups_value(optimizer, "maximize"):
            raise UsageError("the monitor measures minimisation; the optimizer has maximize=True")
        return {"optimizer": kind, "optimizer_lr": eta, "lr": eta * (1 - b1) / (1 + b1),
                "betas": [b1, b2], "eps": float(_groups_value(optimizer, "eps")),
                "amsgrad": bool(_groups_value(optimizer, "amsgrad")),
                "weight_decay": wd if kind == "Adam" else 0.0,
                "decoupled_weight_decay": wd if kind == "AdamW" else 0.0,
                "sharpness": "preconditioned",
                "threshold_rule": "(2+2β1)/((1−β1)η) on λ(P⁻¹H) (Cohen et al. 2022; 38/η at β1 = 0.9)"}
    raise UsageError(f"the monitor knows torch.optim.SGD, Adam and AdamW, got {kind}; pass lr= "
                     "instead of optimizer= to measure ρ_i = lr·λ_i/2")


def adam_preconditioner(optimizer, params) -> torch.Tensor | None:
    """Adam's P = (1 − β1^t)·(√(v_t/(1 − β2^t)) + ε) per coordinate, flattened in ``params``'s
    order, from the optimizer's state after its t-th step; None before its first step."""
    b1, b2 = (float(b) for b in _groups_value(optimizer, "betas"))
    eps = float(_groups_value(optimizer, "eps"))
    amsgrad = bool(_groups_value(optimizer, "amsgrad"))
    parts = []
    for p in params:
        st = optimizer.state.get(p) or {}
        if "step" not in st:
            return None
        t = float(st["step"])
        if t < 1:
            return None
        v = st["max_exp_avg_sq" if amsgrad else "exp_avg_sq"].detach().to(torch.float64)
        parts.append(((1 - b1 ** t) * ((v / (1 - b2 ** t)).sqrt() + eps)).reshape(-1))
    return torch.cat(parts)


class EdgeMonitor:
    """Is my training on the edge of stability, along how many directions, and is the top
    subspace learning? See the module docstring for what is measured and how.

    ``model`` is observed (never modified); ``X``, ``y`` the fixed measurement batch (tensors,
    or X a DataLoader read once and y left out); ``loss`` "ce", "mse" or a criterion callable
    with ``reduction`` "mean" or "sum" (as :class:`Landscape`); ``optimizer`` a torch.optim.SGD/Adam/AdamW (its
    settings give η_eff and, for Adam, the preconditioner) or ``lr`` for plain GD; ``every``:
    :meth:`step` measures when ``step % every == 0``; ``k`` eigenpairs (default n_c + 1: enough
    for ρ_{n_c}); ``tol`` the eigensolver's relative tolerance; ``out`` a record folder (None:
    points are kept in :attr:`points` only; a folder holding a run needs ``overwrite``).
    Call :meth:`step` after ``optimizer.step()`` (Adam's preconditioner is then the one its
    next step uses, up to the next v update) and :meth:`close` at the end (or use ``with``).
    """

    def __init__(self, model: torch.nn.Module, X, y=None, *, optimizer=None,
                 lr: float | None = None, loss="ce", reduction: str | None = None,
                 n_classes: int | None = None, every: int = 10,
                 k: int | None = None, tol: float = 1e-4, out: str | Path | None = None,
                 dtype: torch.dtype = torch.float64, device=None, seed: int | None = None,
                 data_name: str = "own", chunk_size: int | None = None,
                 memory_budget_mb: float | None = MEMORY_BUDGET_MB, verbose: bool = True,
                 overwrite: bool = False):
        if not isinstance(model, torch.nn.Module):
            raise UsageError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        require("every", every, integer=True, positive=True, arg=True)
        require("k", k, integer=True, positive=True, optional=True, arg=True)
        require("tol", tol, positive=True, arg=True)
        if seed is not None:
            require("seed", seed, integer=True, nonneg=True, arg=True)
        self.model, self.optimizer = model, optimizer
        self.params = list(model.parameters())
        if optimizer is not None:
            known = {id(p) for g in optimizer.param_groups for p in g["params"]}
            missing = sum(p.numel() for p in self.params if id(p) not in known)
            if missing:
                raise UsageError(f"{missing} of the model's parameters are not in the optimizer; "
                                 "the monitor measures the curvature of every parameter it trains")
        self.rule = step_rule(optimizer, lr)
        if device is None:
            device = self.params[0].device if self.params else "cpu"
        self.every, self.tol, self.verbose = every, tol, verbose
        # the landscape works on a copy of the model (eval mode, ``dtype``); the copy's buffers
        # are refreshed from the model before each point
        with torch.random.fork_rng(devices=self._cuda_devices(device)):
            self.land = Landscape(model, X, y, loss=loss, reduction=reduction, n_classes=n_classes,
                                  dtype=dtype, device=device, chunk_size=chunk_size,
                                  memory_budget_mb=memory_budget_mb)
        n = sum(p.numel() for p in self.params)
        if n != self.land.n_params:
            raise UsageError(f"the model has {n} parameter entries but the landscape {self.land.n_params} "
                             "(shared or frozen parameters?); the monitor needs them to agree")
        self.n_classes = self.land.n_classes
        self.k = min(k or self.n_classes + 1, self.land.n_params - 1)
        self.n_top = max(self.n_classes - 1, 1)
        self.points: list[dict] = []
        self.writer = None
        self._warm = None
        self._t, self._last_step = 0.0, None
        self._start, self._cpu_start = time.perf_counter(), time.process_time()
        self._seconds = 0.0
        self._hvps = 0
        self._skipped = 0
        self._closed = False
        self.theta0_norm = float(torch.linalg.vector_norm(self._theta()))
        self.data = describe_data(self.land, X, data_name)
        self.config = {
            **{k_: v for k_, v in self.rule.items()}, "schedule": "constant",
            "telemetry_every": every, "k": self.k, "eig_tol": tol, "eig_method": "lanczos",
            "loss": self.land.loss_name, "dtype": dtype_name(dtype), "dataset": data_name,
            "n_data": self.data["n_data"], "n_classes": self.n_classes,
            "input_shape": self.data["input_shape"], "model": type(model).__name__,
            "n_params": int(self.land.n_params), "seed": seed, "device": str(self.land.device),
            "measurement": "a fixed batch, the whole of it per point, model in eval mode"}
        if out is not None:
            out = prepare_out(out, overwrite=overwrite)
            self.writer = RecordWriter(out, self.config, device=str(self.land.device), meta={
                "regime": OWN, "experiment": OWN, "source": "simlab.EdgeMonitor",
                "protocol": (f"the user's own training loop ({self.rule['optimizer']}), observed "
                             f"by simlab.EdgeMonitor every {every} steps on a fixed measurement batch "
                             f"of {self.data['n_data']} examples; ρ_i = η_eff λ_i / 2 with "
                             f"threshold {self.rule['threshold_rule']}"),
                "data": self.data, "loss": describe_loss(self.land)})
        self.out = None if out is None else Path(out)

    # ------------------------------------------------------------------------------ helpers
    @staticmethod
    def _cuda_devices(device) -> list[int]:
        d = torch.device(device)
        return [d.index or 0] if d.type == "cuda" else []

    def _theta(self) -> torch.Tensor:
        """A copy of the model's current parameters as one flat vector (the landscape's dtype)."""
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        return flat.to(device=self.land.device, dtype=self.land.dtype)

    def _sync_buffers(self) -> None:
        """The copy's buffers (batch-norm statistics, ...) set to the model's, in place."""
        mine = dict(self.model.named_buffers())
        with torch.no_grad():
            for name, b in self.land.model.named_buffers():
                if name in mine:
                    b.copy_(mine[name])

    def scale(self) -> torch.Tensor | None:
        """S = P^{-1/2} for Adam (None for SGD/GD; None too before Adam's first step)."""
        if self.rule["sharpness"] != "preconditioned":
            return None
        P = adam_preconditioner(self.optimizer, self.params)
        return None if P is None else P.rsqrt().to(self.land.device, self.land.dtype)

    # ------------------------------------------------------------------------------ measuring
    def step(self, step: int) -> dict | None:
        """Measure when ``step % every == 0`` (returns the point), else do nothing (None)."""
        require("step", step, integer=True, nonneg=True, arg=True)
        if step % self.every:
            return None
        return self.measure(step)

    def measure(self, step: int) -> dict | None:
        """One point at the model's current θ (see the module docstring); None when Adam has no
        state yet. Appended to :attr:`points` and to the record."""
        if self._closed:
            raise UsageError("the monitor is closed; create a new one to measure again")
        require("step", step, integer=True, nonneg=True, arg=True)
        s0 = time.perf_counter()
        sharp = self.rule["sharpness"]
        with torch.random.fork_rng(devices=self._cuda_devices(self.land.device)):
            S = self.scale()
            if sharp == "preconditioned" and S is None:
                self._skipped += 1
                if self.verbose and self._skipped == 1:
                    print(f"[EdgeMonitor] step {step}: {self.rule['optimizer']} has no state yet "
                          "(P is defined after its first step): point skipped; call "
                          "monitor.step after optimizer.step()", file=sys.stderr, flush=True)
                return None
            point = self._measure(step, S)
        seconds = time.perf_counter() - s0
        self._seconds += seconds
        self._hvps += point["n_matvecs"]
        point["seconds"] = seconds
        point["wall_time"] = time.perf_counter() - self._start
        self.points.append(point)
        if self.writer is not None:
            self.writer.append(point)
        return point

    def _measure(self, step: int, S: torch.Tensor | None) -> dict:
        land = self.land
        self._sync_buffers()
        theta = self._theta()
        wd = self.rule.get("weight_decay", 0.0)
        eta = self.rule["lr"]
        loss, g = land.loss_grad(theta)
        if wd:
            g = g + wd * theta
        base = land.operator(theta)
        op = PreconditionedOperator(base, S, wd)
        eig = top_eigen(op, self.k, tol=self.tol, v0=self._warm, seed=step % (2 ** 31))
        op.release()
        self._warm = eig.eigenvectors
        lam = [float(x) for x in eig.eigenvalues]
        U = eig.eigenvectors.to(g.dtype)
        n_top = min(self.n_top, U.shape[1])
        gt = g if S is None else S * g
        d, p_top, p_bulk = projections(gt, U, n_top)
        step_top, step_bulk = (p_top, p_bulk) if S is None else (S * p_top, S * p_bulk)

        def objective(th):
            return land.loss(th) + (0.5 * wd * float(th @ th) if wd else 0.0)

        f0 = loss + (0.5 * wd * float(theta @ theta) if wd else 0.0)
        if self._last_step is not None and step > self._last_step:
            self._t += (step - self._last_step) * eta
        self._last_step = step
        rho = rho_of(eta, lam)
        return {
            "step": step, "t": self._t, "lr": eta, "optimizer_lr": self._current_lr(),
            "loss": loss, "accuracy": land.accuracy(theta),
            "grad_norm": float(torch.linalg.vector_norm(g)),
            "theta_norm": float(torch.linalg.vector_norm(theta)),
            "eigenvalues": lam, "eta_star": [2.0 / x if x > 0 else math.inf for x in lam],
            "rho": rho, "d": d.cpu().tolist(), "n_top": n_top,
            "p_top_norm": float(torch.linalg.vector_norm(p_top)),
            "p_bulk_norm": float(torch.linalg.vector_norm(p_bulk)),
            "dl_top": objective(theta - eta * step_top) - f0,
            "dl_bulk": objective(theta - eta * step_bulk) - f0,
            "edge_count": int(sum(r >= 1 for r in rho)), "n_c_minus_1": self.n_classes - 1,
            "threshold": 2.0 / eta, "n_matvecs": int(eig.n_matvecs),
            "residuals": [float(r) for r in eig.residuals],
        }

    def _current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"]) if self.optimizer is not None \
            else self.rule["optimizer_lr"]

    # ------------------------------------------------------------------------------ the end
    def cost(self) -> dict:
        """Products and seconds the monitor took, and its share of the wall time since it was
        created (the user's loop included)."""
        wall = time.perf_counter() - self._start
        return {"points": len(self.points), "total_hvps": self._hvps,
                "telemetry_seconds": self._seconds, "wall_seconds": wall,
                "share": self._seconds / wall if wall > 0 else None,
                "hvps_per_point": self._hvps / len(self.points) if self.points else None}

    def cost_line(self) -> str:
        c = self.cost()
        share = f" ({100 * c['share']:.0f} % of {c['wall_seconds']:.3g} s)" if c["share"] is not None else ""
        return (f"EdgeMonitor: {c['points']} points, {c['total_hvps']} Hessian-vector products "
                f"({c['hvps_per_point'] or 0:.3g} per point), {c['telemetry_seconds']:.3g} s{share}")

    def summary(self) -> dict:
        """The record's summary: validity (a non-finite loss makes the run invalid), the last
        point's numbers, the largest ρ_1, the edge count at the end against n_c − 1, the cost."""
        pts = self.points
        last = pts[-1] if pts else {}
        bad = next((p for p in pts if not math.isfinite(p["loss"])), None)
        if bad is not None:
            valid, why = False, f"diverged at step {bad['step']} (loss={bad['loss']})"
        elif not pts:
            valid, why = False, "no point was measured"
        else:
            valid, why = True, None
        rho1 = [p["rho"][0] for p in pts if p.get("rho") and math.isfinite(p["rho"][0])]
        c = self.cost()
        return {
            "regime": OWN, "experiment": OWN, "source": "simlab.EdgeMonitor",
            "optimizer": self.rule["optimizer"], "lr": self.rule["lr"],
            "loss": self.land.loss_name, "dataset": self.data["name"],
            "n_data": self.data["n_data"], "n_classes": self.n_classes,
            "n_params": int(self.land.n_params), "seed": self.config["seed"],
            "stop_reason": "loop_end", "valid": valid, "invalid_reason": why,
            "steps": last.get("step", 0), "t": last.get("t", 0.0),
            "final_loss": last.get("loss"), "final_accuracy": last.get("accuracy"),
            "final_grad_norm": last.get("grad_norm"), "theta_norm": last.get("theta_norm"),
            "theta0_norm": self.theta0_norm,
            "lambda_max": (last.get("eigenvalues") or [None])[0],
            "max_rho_1": max(rho1) if rho1 else None, "edge_count": last.get("edge_count"),
            "n_c_minus_1": self.n_classes - 1, "n_telemetry": len(pts),
            "skipped_points": self._skipped,
            "train_seconds": c["wall_seconds"] - c["telemetry_seconds"],
            "telemetry_seconds": c["telemetry_seconds"], "total_hvps": c["total_hvps"],
            "grads_per_hvp": None, **landscape_cost(self.land), "cost": c,
            "cpu_seconds": time.process_time() - self._cpu_start,   # the user's loop included
        }

    def close(self) -> dict:
        """Write summary.json and weights.pt (with ``out``), print the cost; returns the summary.
        A second call only returns it again."""
        if self._closed:
            return self._summary
        self._summary = self.summary()
        if self.writer is not None:
            self.writer.save_weights(self._theta())
            self.writer.save_arrays({"monitor_steps": np.asarray([p["step"] for p in self.points])})
            self.writer.write_summary(self._summary)
        self._closed = True
        if self.verbose:
            where = f" → {self.out}" if self.out is not None else ""
            print(self.cost_line() + where, file=sys.stderr, flush=True)
        return self._summary

    def __enter__(self) -> "EdgeMonitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
