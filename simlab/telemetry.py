"""The measurements of one telemetry point at θ (Lowell 2022's protocol, plus Sagun's statistics).

At θ with learning rate η and n_c classes (top subspace = span(h_1 … h_{n_c−1})):

    λ_1 ≥ … ≥ λ_k, h_i       top-k eigenpairs of H (``method``; or all of them from a dense H)
    η*_i = 2/λ_i,  ρ_i = η λ_i / 2
    d_i = h_i · g
    P_top g = Σ_{i<n_c} d_i h_i,   P_bulk g = g − P_top g
    ΔL_top  = L(θ − η P_top g)  − L(θ)     by moving the weights and re-evaluating the loss,
    ΔL_bulk = L(θ − η P_bulk g) − L(θ)     never by a Taylor expansion
    ‖θ‖, ‖g‖, L, accuracy

and, when the full spectrum is known (``method="dense"``, on any operator), the statistics of
:func:`simlab.spectrum.spectrum_stats` (near-zero fraction, outlier count and gap, λ_min,
negative count). Every field of the point, its meaning and units: :class:`simlab.point.Point`.
The eigenpairs always come from :func:`simlab.spectrum.top_eigen` on an
:class:`~simlab.operators.Operator` (``landscape.operator(θ)`` unless one is given).
"""

from __future__ import annotations

import math

import torch

from simlab.errors import MAX_SEED, UsageError, require
from simlab.landscape import check_landscape, check_vector
from simlab.point import Point
from simlab.record import rho_of
from simlab.spectrum import METHODS, Eigen, spectrum_stats, top_eigen


def _safe_inv(x: float) -> float:
    return 2.0 / x if x > 0 else math.inf


def projections(g: torch.Tensor, eigenvectors: torch.Tensor, n_top: int):
    """(d, P_top g, P_bulk g): coordinates of g on the eigenvectors, and its split into the span
    of the first ``n_top`` eigenvectors and the orthogonal complement."""
    d = eigenvectors.T @ g
    top = eigenvectors[:, :n_top] @ d[:n_top]
    return d, top, g - top


def check_args(landscape, theta, *, lr, operator=None, n_classes=None, k=20, method="lanczos",
               tol=1e-3, eps=1e-3, seed=0) -> torch.Tensor:
    """:func:`measure`'s arguments (a :class:`UsageError`, i.e. a ValueError, naming the first
    bad one); returns θ as the landscape's flat vector."""
    check_landscape(landscape)
    theta = check_vector("theta", theta, landscape.n_params, dtype=landscape.dtype,
                         device=landscape.device)
    require("lr", lr, nonneg=True, arg=True)
    require("eps", eps, positive=True, hi=1, arg=True)
    require("n_classes", n_classes, integer=True, positive=True, optional=True, arg=True)
    require("k", k, integer=True, positive=True, arg=True)
    if method not in METHODS:
        raise UsageError(f"unknown eigensolver {method!r}; choose one of {', '.join(METHODS)}")
    require("tol", tol, positive=True, arg=True)
    require("seed", seed, integer=True, lo=0, hi=MAX_SEED, arg=True)
    if operator is not None and tuple(getattr(operator, "shape", ())) != (landscape.n_params,) * 2:
        raise UsageError(f"operator must be {landscape.n_params} × {landscape.n_params} (the "
                         f"landscape's parameters), got {getattr(operator, 'shape', type(operator).__name__)}")
    return theta


def measure(landscape, theta: torch.Tensor, *, lr: float, operator=None, n_classes: int | None = None,
            k: int = 20, method: str = "lanczos", tol: float = 1e-3,
            v0: torch.Tensor | None = None, eps: float = 1e-3, seed: int = 0,
            loss_grad=None) -> tuple[Point, Eigen]:
    """One telemetry point at θ (a :class:`~simlab.point.Point`: every field documented there;
    it reads as the dict a record stores), its eigenpairs by ``top_eigen(operator, k, method=...)``.

    ``operator`` defaults to ``landscape.operator(theta)``; ``method="dense"`` takes the full
    spectrum (from a :class:`DenseOperator`'s matrix, else column by column) and adds the
    full-spectrum statistics (``operator=DenseOperator(landscape.hessian(θ))`` takes them from the
    exact Hessian); ``loss_grad`` reuses an already computed (L, g)."""
    theta = check_args(landscape, theta, lr=lr, operator=operator, n_classes=n_classes, k=k,
                       method=method, tol=tol, eps=eps, seed=seed).detach()
    n_c = n_classes or landscape.n_classes
    n_top = max(n_c - 1, 1) if n_c > 1 else 1
    loss, g = loss_grad if loss_grad is not None else landscape.loss_grad(theta)
    op = operator if operator is not None else landscape.operator(theta)
    dense = method == "dense"
    k = min(k, landscape.n_params - (0 if dense else 1))
    eig = top_eigen(op, k, method=method, tol=tol, v0=v0, seed=seed)
    full = eig.spectrum  # every eigenvalue when dense, else None
    if operator is None and hasattr(op, "release"):
        op.release()
    lam = eig.eigenvalues
    # P_top spans n_c − 1 eigenvectors; with fewer computed (k < n_c − 1) the point says how many
    # it used (``n_top``) so no reader mistakes it for n_c − 1 (the claims refuse such points)
    n_top = min(n_top, int(eig.eigenvectors.shape[1]))
    d, p_top, p_bulk = projections(g, eig.eigenvectors.to(g.dtype), n_top)
    dl_top = landscape.loss(theta - lr * p_top) - loss
    dl_bulk = landscape.loss(theta - lr * p_bulk) - loss
    point = Point(
        loss=loss,
        accuracy=landscape.accuracy(theta),
        grad_norm=float(torch.linalg.vector_norm(g)),
        theta_norm=float(torch.linalg.vector_norm(theta)),
        eigenvalues=lam.tolist(),
        eta_star=[_safe_inv(x) for x in lam],
        rho=rho_of(lr, lam),
        d=d.cpu().tolist(),
        n_top=n_top,
        p_top_norm=float(torch.linalg.vector_norm(p_top)),
        p_bulk_norm=float(torch.linalg.vector_norm(p_bulk)),
        dl_top=dl_top,
        dl_bulk=dl_bulk,
        n_matvecs=eig.n_matvecs,
        residuals=eig.residuals.tolist(),
        **(spectrum_stats(full, n_classes=n_c, eps=eps) if full is not None else {}),
        solver_stop="budget" if eig.stop == "budget" else None,
    )
    return point, eig
