"""Step rules: *how* θ moves in the one GD loop (:func:`simlab.trainer.train`).

The loop asks a rule two things at every iteration n, with g = ∇L(θ_n):

- ``rule.size(theta, g, n, solve) -> (η_n, λ_1)`` before the telemetry point at θ_n (which
  reports η_n), at every iteration including the last; ``λ_1`` is the top eigenvalue the rule
  measured at θ_n (NaN when it measured none); t advances by η_n;
- ``rule.move(theta, g, n, eta, solve) -> θ_{n+1}`` once the stop rules have let the step happen.

``solve(theta, k, v0, tol, miss)`` is the loop's eigensolver: the top-k eigenpairs of H at θ
(:func:`simlab.spectrum.top_eigen`, warm-started from the columns of ``v0``), its products and
seconds counted as telemetry cost (``step_rule_hvps``, ``step_rule_seconds``), not as training.
``rule.state()`` / ``rule.load(state)`` carry what the rule keeps between iterations (warm starts,
a held λ_1) through a checkpoint: tensors and plain data only. A rule whose ``size`` solves at
θ_n at every iteration says so (``solves_every_step = True``): the loop then builds that
iteration's Hessian operator first and takes g from its gradient graph, instead of a separate
gradient pass over the data (the same numbers, one pass fewer).

The rules (``schedule`` in :class:`~simlab.trainer.TrainConfig`; :func:`for_config` builds one):

=============  ================================================================================
``constant``   θ ← θ − η g, η = lr
``flow``       η = min(lr, c/λ_1), λ_1 at every iteration (Lowell 2022's gradient flow)
``stable``     η = lr for ``stable_after`` iterations, then c/λ_1, λ_1 every ``stable_every``
``expeuler``   exponential Euler on the top k + 1 eigenpairs (Lowell & Kastner 2024; below)
``newton``     η = lr for ``stable_after`` iterations, then saddle-free damped Newton on the
               dense Hessian (a finish to a critical point on small nets; below)
(projected)    θ ← θ − η P g, P = P_bulk or P_top (Bulk-GD / Top-GD, the continuations of L10)
(replay)       θ ← θ − η_n g with a recorded η_n per iteration (a run's ``history["lr"]``)
=============  ================================================================================
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

import torch

from simlab.errors import UsageError
from simlab.spectrum import Eigen

# solve(θ, k, v0, tol, miss) -> the top-k eigenpairs of H at θ, its cost counted by the loop.
# The rules that re-solve at every iteration (flow, stable, expeuler) pass miss=None: warm from
# the previous iteration's eigenvectors, uncertified (a skipped eigenvalue shows as a jump of η
# that the next solves correct), since the certificate costs 2 → 12 products per warm k = 1
# solve (bench/eig_tol_bench.py); the projected rule and telemetry keep the certificate.
Solve = Callable[[torch.Tensor, int, "torch.Tensor | None", float], Eigen]
NAN = float("nan")


class StepRule(Protocol):
    def size(self, theta: torch.Tensor, g: torch.Tensor, n: int, solve: Solve) -> tuple[float, float]: ...
    def move(self, theta: torch.Tensor, g: torch.Tensor, n: int, eta: float, solve: Solve) -> torch.Tensor: ...
    def state(self) -> dict: ...
    def load(self, state: dict) -> None: ...


class _Stateless:
    def state(self) -> dict:
        return {}

    def load(self, state: dict) -> None:
        pass

    def move(self, theta, g, n, eta, solve):
        return theta - eta * g


class Constant(_Stateless):
    """θ ← θ − η g with η = ``lr`` at every iteration."""

    def __init__(self, lr: float):
        self.lr = lr

    def size(self, theta, g, n, solve):
        return self.lr, NAN


class Replay(_Stateless):
    """θ ← θ − η_n g with η_n = ``lrs[n]``: a recorded run's steps taken again (its history's
    ``lr``); the same update as the run's, so the same θ bit for bit on the same device."""

    def __init__(self, lrs: Sequence[float]):
        self.lrs = [float(x) for x in lrs]

    def size(self, theta, g, n, solve):
        return self.lrs[n], NAN


class Flow:
    """Gradient flow as Lowell 2022 follows it: λ_1 at every iteration (warm-started from the
    previous iteration's h_1), η = min(lr, c/λ_1); λ_1 ≤ 0 keeps η = lr."""

    solves_every_step = True

    def __init__(self, lr: float, c: float, tol: float):
        self.lr, self.c, self.tol = lr, c, tol
        self.warm = None

    def size(self, theta, g, n, solve):
        e = solve(theta, 1, self.warm, self.tol, None)
        lam1, self.warm = float(e.eigenvalues[0]), e.eigenvectors
        return (min(self.lr, self.c / lam1) if lam1 > 0 else self.lr), lam1

    move = _Stateless.move

    def state(self) -> dict:
        return {"warm": _cpu(self.warm)}

    def load(self, state: dict) -> None:
        self.warm = state.get("warm")


class Stable:
    """η = lr for the first ``after`` iterations, then η = c/λ_1 with λ_1 re-measured every
    ``every`` iterations and held in between (λ_1 ≤ 0: η = lr)."""

    def __init__(self, lr: float, c: float, after: int, every: int, tol: float):
        self.lr, self.c, self.after, self.every, self.tol = lr, c, after, every, tol
        self.warm = self.lam1 = None

    def size(self, theta, g, n, solve):
        if n < self.after:
            return self.lr, NAN
        if self.lam1 is None or (n - self.after) % self.every == 0:
            e = solve(theta, 1, self.warm, self.tol, None)
            self.lam1, self.warm = float(e.eigenvalues[0]), e.eigenvectors
        return (self.c / self.lam1 if self.lam1 > 0 else self.lr), self.lam1

    move = _Stateless.move

    def state(self) -> dict:
        return {"warm": _cpu(self.warm), "lam1": self.lam1}

    def load(self, state: dict) -> None:
        self.warm, self.lam1 = state.get("warm"), state.get("lam1")


PROJECTIONS = ("gd", "bulk", "top")


def check_projection(mode: str) -> str:
    if mode not in PROJECTIONS:
        raise UsageError(f"unknown projection {mode!r}; choose one of {', '.join(PROJECTIONS)}")
    return mode


def project(g: torch.Tensor, V: torch.Tensor | None, mode: str) -> torch.Tensor:
    """g, P_bulk g = g − V Vᵀ g, or P_top g = V Vᵀ g (V: orthonormal columns)."""
    if check_projection(mode) == "gd":
        return g
    top = V @ (V.T @ g)
    return top if mode == "top" else g - top


class Projected:
    """Bulk-GD / Top-GD at a constant η: θ ← θ − η P_bulk g or θ − η P_top g, with V the top
    ``n_top`` eigenvectors of H, recomputed (warm-started from the previous V) at the iterations
    n with n % ``refresh_every`` == 0 and held in between; ``mode="gd"`` is plain GD.
    ``eig_fn(θ, V_prev)``, when given, supplies V instead of the loop's solver (uncounted)."""

    def __init__(self, lr: float, mode: str, n_top: int, *, refresh_every: int = 1,
                 tol: float = 1e-6, eig_fn=None):
        self.lr, self.mode, self.n_top = lr, check_projection(mode), n_top
        self.refresh_every, self.tol, self.eig_fn = refresh_every, tol, eig_fn
        self.V = None

    def size(self, theta, g, n, solve):
        return self.lr, NAN

    def move(self, theta, g, n, eta, solve):
        if self.mode != "gd" and (self.V is None or n % self.refresh_every == 0):
            V = (self.eig_fn(theta, self.V) if self.eig_fn is not None
                 else solve(theta, self.n_top, self.V, self.tol).eigenvectors)
            self.V = V.to(g.dtype)
        return theta - eta * project(g, self.V, self.mode)

    def state(self) -> dict:
        return {"V": _cpu(self.V)}

    def load(self, state: dict) -> None:
        self.V = state.get("V")


def phi(lam: torch.Tensor, tau: float) -> torch.Tensor:
    """φ(λ, τ) = (1 − e^{−λτ})/λ, the exact flow's step along an eigendirection of curvature λ,
    capped at τ: for λ ≤ 0 (and λ → 0, where φ → τ) the direction takes a plain Euler step τ."""
    out = torch.full_like(lam, tau)
    pos = lam > 0
    out[pos] = torch.minimum(-torch.expm1(-lam[pos] * tau) / lam[pos], out[pos])
    return out


class ExpEuler:
    r"""Exponential Euler (Lowell & Kastner 2024, arXiv 2406.00127): the gradient flow
    dθ/dt = −∇L(θ) integrated exactly on the local quadratic's stiff directions.

    With the top k + 1 eigenpairs (λ_i, h_i) of H at θ_n (warm-started from θ_{n−1}'s) and
    c_i = h_iᵀ g:

        τ_n     = min(lr, 1/|λ_{k+1}|)            (lr = η_max; λ_{k+1} = 0: τ_n = lr)
        θ_{n+1} = θ_n − Σ_{i≤k} φ(λ_i, τ_n) c_i h_i − τ_n P_bulk g,
        φ(λ, τ) = min((1 − e^{−λτ})/λ, τ)          (φ → τ as λ → 0; τ for λ ≤ 0)
        P_bulk g = g − Σ_{i≤k} c_i h_i,           t_{n+1} = t_n + τ_n.

    On L(θ) = ½ θᵀAθ the stiff coordinates land exactly on the flow's e^{−λ_i τ} c_i: the step
    is e^{−Aτ} on span(h_1..h_k), a plain Euler step of size τ ≤ 1/λ_{k+1} on the rest (stable:
    a bulk direction of curvature 0 < λ ≤ λ_{k+1} contracts by 1 − τλ ∈ [0, 1)). The eigenpairs
    are the loop's Lanczos (``solve``, at ``eig_tol``) whatever the telemetry's method. k is the stiff dimension: n_c − 1 for
    cross-entropy, the output dimension for MSE. The authors' solver (``stable_solvers``)
    clamps φ at τ and takes 1/|λ_{k+1}| the same way.
    """

    solves_every_step = True

    def __init__(self, lr: float, k: int, tol: float):
        self.lr, self.k, self.tol = lr, k, tol
        self.warm = None
        self.eig = None  # (λ_1..λ_{k+1}, h_1..h_k) at the current θ, from size() for move()

    def size(self, theta, g, n, solve):
        e = solve(theta, self.k + 1, self.warm, self.tol, None)
        self.warm = e.eigenvectors
        lam = torch.as_tensor(e.eigenvalues, dtype=g.dtype, device=g.device)
        last = abs(float(lam[self.k]))
        tau = min(self.lr, 1.0 / last) if last > 0 else self.lr
        self.eig = (lam[:self.k], e.eigenvectors[:, :self.k].to(g.dtype))
        return tau, float(lam[0])

    def move(self, theta, g, n, eta, solve):
        lam, V = self.eig
        c = V.T @ g                                   # (k,) stiff coordinates of g
        bulk = g - V @ c                              # P_bulk g
        return theta - V @ (phi(lam, eta) * c) - eta * bulk

    def state(self) -> dict:
        return {"warm": _cpu(self.warm)}

    def load(self, state: dict) -> None:
        self.warm = state.get("warm")


# the dense Hessian and its eigh at every iteration: for the toy regime's small nets only
NEWTON_MAX_PARAMS = 5000


def check_newton_size(n_params: int) -> None:
    """The ``newton`` rule's size limit, a :class:`UsageError` that says how to fix it (checked
    by the rule, and by the toy command before it prints its plan or writes a record)."""
    if n_params > NEWTON_MAX_PARAMS:
        raise UsageError(f"schedule 'newton' builds the dense Hessian every iteration: at most "
                         f"{NEWTON_MAX_PARAMS:,} parameters, the net has {n_params:,}; "
                         "use a smaller net or another schedule")


class Newton:
    r"""η = ``lr`` (GD) for the first ``after`` iterations, then saddle-free damped Newton on the
    exact dense Hessian (Dauphin et al. 2014's |H|, Levenberg–Marquardt's damping μ):

        θ_{n+1} = θ_n − Σ_i (h_iᵀ g) / (|λ_i| + μ) h_i

    over every eigenpair (λ_i, h_i) of H(θ_n) (:meth:`Landscape.hessian`, ``eigh``). The step is
    kept when it lowers the loss, and μ is then halved; otherwise μ is multiplied by 10 and the
    step retaken, at most ``tries`` times (then a GD step of ``lr``). μ starts at 1e−3·max|λ| and
    stays ≥ 1e−12·max|λ|. Near a minimum of a smooth piece of the loss (H ≻ 0, μ → 0) this is
    Newton's step and converges quadratically; |λ| turns a saddle's negative directions into
    descent ones. Sagun's stop rule ‖g‖ ≤ 1e−4 is out of GD's reach on non-separable blobs
    (the ReLU kinks: ‖g‖ stalls at 1e−3–1e−2), hence this finish. The η_n it reports (t advances
    by it) is 1/(max|λ| + μ), its step along the stiffest direction; the Hessian and its eigh
    are part of the step (training time), as a gradient is part of a GD step.
    """

    def __init__(self, lr: float, after: int, landscape, tries: int = 30):
        check_newton_size(landscape.n_params)
        self.lr, self.after, self.land, self.tries = lr, after, landscape, tries
        self.mu = None
        self.eig = None

    def size(self, theta, g, n, solve):
        if n < self.after:
            return self.lr, NAN
        lam, V = torch.linalg.eigh(self.land.hessian(theta).to(torch.float64))
        self.eig = (lam, V)
        top = float(lam.abs().max())
        if self.mu is None:
            self.mu = 1e-3 * top
        self.mu = max(self.mu, 1e-12 * top)
        return 1.0 / (top + self.mu) if top + self.mu > 0 else self.lr, float(lam[-1])

    def move(self, theta, g, n, eta, solve):
        if n < self.after:
            return theta - eta * g
        lam, V = self.eig
        c = V.T @ g.to(torch.float64)
        loss0 = self.land.loss(theta)
        for _ in range(self.tries):
            new = theta - (V @ (c / (lam.abs() + self.mu))).to(theta.dtype)
            if self.land.loss(new) < loss0:
                self.mu /= 2
                return new
            self.mu *= 10
        return theta - self.lr * g

    def state(self) -> dict:
        return {"mu": self.mu}

    def load(self, state: dict) -> None:
        self.mu = state.get("mu")


def stiff_dim(landscape) -> int:
    """k of the exponential Euler rule, the stiff dimension: n_c − 1 under cross-entropy (the
    softmax's outputs sum to one), n_c, the output dimension, under MSE."""
    n_c = int(landscape.n_classes)
    return max(n_c - 1, 1) if getattr(landscape, "loss_name", "ce") == "ce" else n_c


def for_config(cfg, landscape) -> StepRule:
    """The step rule of ``cfg.schedule`` (a :class:`~simlab.trainer.TrainConfig`)."""
    if cfg.schedule == "constant":
        return Constant(cfg.lr)
    if cfg.schedule == "flow":
        return Flow(cfg.lr, cfg.flow_c, cfg.eig_tol)
    if cfg.schedule == "stable":
        return Stable(cfg.lr, cfg.flow_c, cfg.stable_after, cfg.stable_every, cfg.eig_tol)
    if cfg.schedule == "expeuler":
        return ExpEuler(cfg.lr, stiff_dim(landscape), cfg.eig_tol)
    if cfg.schedule == "newton":
        return Newton(cfg.lr, cfg.stable_after, landscape)
    raise UsageError(f"unknown schedule {cfg.schedule!r}")


def _cpu(x):
    return None if x is None else x.detach().cpu()
