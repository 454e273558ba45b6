"""Eigensolvers over an :class:`~simlab.operators.Operator`, and statistics of a spectrum.

Solvers (scipy's names: ``k``, ``v0``, ``tol``, ``maxiter``), all returning :class:`Eigen` with
eigenvalues in descending order, eigenvectors as columns, the number of operator products the
solve used, and residuals ‖H h_i − λ_i h_i‖ (computed with k further products, not counted in
``n_matvecs``):

- ``dense``    build H (or take it from a :class:`DenseOperator`) and call ``eigh``;
- ``lanczos``  ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``, which="LA")
               on the operator; warm-started from previous eigenvectors by starting the Krylov
               space at their sum (every previous direction is in the first Krylov vector);
- ``power``    power iteration with deflation against the eigenpairs already found (the method of
               Lowell 2022; kept for fidelity, many times costlier than Lanczos).

:func:`slq_density` estimates the spectral density (stochastic Lanczos quadrature) for the bulk
when only products are affordable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from simlab.errors import UsageError
from simlab.operators import DenseOperator, Operator

METHODS = ("dense", "lanczos", "power")


@dataclass
class Eigen:
    """Top eigenpairs: ``eigenvalues[i]`` pairs with ``eigenvectors[:, i]``; descending."""

    eigenvalues: np.ndarray
    eigenvectors: torch.Tensor
    n_matvecs: int
    residuals: np.ndarray


def residuals(op: Operator, values: np.ndarray, vectors: torch.Tensor) -> np.ndarray:
    """‖H h_i − λ_i h_i‖ for each column (uses len(values) products, then resets the count)."""
    before = op.n_matvecs
    HV = op.matmat(vectors)
    op.n_matvecs = before
    lam = torch.as_tensor(values, dtype=vectors.dtype, device=vectors.device)
    return torch.linalg.vector_norm(HV - vectors * lam, dim=0).cpu().numpy().astype(np.float64)


def _random_vector(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _dense(op: Operator, k: int):
    H = op.H if isinstance(op, DenseOperator) else op.dense()
    w, V = torch.linalg.eigh(H.to(torch.float64))
    order = torch.argsort(w, descending=True)[:k]
    return w[order].cpu().numpy(), V[:, order].to(op.dtype)


def _lanczos(op: Operator, k: int, tol: float, v0, maxiter, seed: int, ncv):
    n = op.shape[0]
    if k >= n:
        raise UsageError(f"lanczos needs k < n (k={k}, n={n}); use method='dense' for the full spectrum")
    start = _random_vector(n, seed)
    if v0 is not None and ncv is None:
        # a warm start needs a small Krylov space, not scipy's minimum of 20 (measured on the
        # cpu-preset AlexNet, k = 1 after a GD step: 6 products with ncv = 5 instead of 21)
        ncv = min(n - 1, max(2 * k + 1, k + 4, 20 if k > 8 else 0))
    if v0 is not None:
        V0 = torch.as_tensor(v0).reshape(n, -1).detach().to("cpu", torch.float64)
        V0 = V0 / torch.linalg.vector_norm(V0, dim=0).clamp_min(1e-300)
        # the previous eigenvectors plus a little of everything else
        start = V0.sum(dim=1).numpy() + 1e-3 * start / np.sqrt(n)
    try:
        w, V = eigsh(op.as_scipy(), k=k, which="LA", v0=start, tol=tol, maxiter=maxiter, ncv=ncv)
    except ArpackNoConvergence as e:  # keep what converged rather than nothing
        w, V = e.eigenvalues, e.eigenvectors
    order = np.argsort(w)[::-1]
    return w[order], torch.from_numpy(np.ascontiguousarray(V[:, order])).to(op.device, op.dtype)


def _power(op: Operator, k: int, tol: float, v0, maxiter, seed: int):
    """Deflated power iteration for the algebraically largest eigenpairs.

    Plain power iteration finds the largest |λ|; when that is a negative eigenvalue (common away
    from minima) the iteration is restarted on H − sI with s that eigenvalue, so that every
    eigenvalue ≥ s becomes non-negative and the largest algebraic one dominates again.
    """
    n = op.shape[0]
    maxiter = maxiter or 1000
    gen = torch.Generator().manual_seed(seed)
    V0 = None if v0 is None else torch.as_tensor(v0).reshape(n, -1)
    values, vectors, shift = [], [], 0.0
    i = 0
    while i < k:
        if V0 is not None and V0.shape[1] > i:
            v = V0[:, i].to(op.device, op.dtype).clone()
        else:
            v = torch.randn(n, generator=gen, dtype=torch.float64).to(op.device, op.dtype)
        v /= torch.linalg.vector_norm(v)
        mu = None  # Rayleigh quotient of the shifted, deflated operator
        for _ in range(maxiter):
            w = op.matvec(v) - shift * v
            for lj, hj in zip(values, vectors):  # deflate: remove (λ_j − s) h_j h_jᵀ v
                w -= (lj - shift) * (hj @ v) * hj
            new = float(v @ w)
            norm = torch.linalg.vector_norm(w)
            if norm == 0:
                mu = new
                break
            v = w / norm
            done = mu is not None and abs(new - mu) <= tol * max(abs(new + shift), 1e-300)
            mu = new
            if done:
                break
        lam = mu + shift
        if mu < 0:  # converged to the most negative eigenvalue: shift past it and redo this one
            shift = lam
            continue
        values.append(lam)
        vectors.append(v)
        i += 1
    return np.array(values), torch.stack(vectors, dim=1)


def top_eigen(op: Operator, k: int, *, method: str = "lanczos", tol: float = 1e-4,
              v0: torch.Tensor | None = None, maxiter: int | None = None, seed: int = 0,
              ncv: int | None = None, with_residuals: bool = True) -> Eigen:
    """The k algebraically largest eigenpairs of a symmetric operator.

    ``tol`` is the relative accuracy asked of each eigenvalue (ARPACK's ``tol``; for ``power``
    the relative change of the Rayleigh quotient between iterations). ``v0`` (n × m) warm-starts
    ``lanczos`` and ``power`` from previous eigenvectors.
    """
    if method not in METHODS:
        raise UsageError(f"unknown eigensolver {method!r}; choose one of {', '.join(METHODS)}")
    n = op.shape[0]
    if not 1 <= k <= n:
        raise UsageError(f"k must be between 1 and the dimension {n}, got {k}")
    start = op.n_matvecs
    if method == "dense":
        w, V = _dense(op, k)
    elif method == "lanczos":
        w, V = _lanczos(op, k, tol, v0, maxiter, seed, ncv)
    else:
        w, V = _power(op, k, tol, v0, maxiter, seed)
    used = op.n_matvecs - start
    res = residuals(op, w, V) if with_residuals else np.full(len(w), np.nan)
    return Eigen(np.asarray(w, dtype=np.float64), V, used, res)


def spectrum_stats(eigenvalues: np.ndarray, *, n_classes: int, eps: float = 1e-3,
                   gap: float = 3.0, zero_tol: float = 1e-10) -> dict:
    """Sagun-style statistics of a *full* spectrum (any order).

    - ``near_zero_fraction``: fraction with |λ| ≤ eps·λ_max;
    - ``gap_ratio``, ``gap_index``: the largest ratio λ_i / max(λ_{i+1}, eps·λ_max) over
      i = 1..min(2 n_c, n − 1) (descending order); the floor keeps a bulk at zero from making
      every ratio infinite;
    - ``outlier_count``: the eigenvalues above that gap (= gap_index) when gap_ratio ≥ ``gap``,
      else 0;
    - ``lambda_min``, ``lambda_max``; ``n_negative`` and ``negative_fraction`` count
      λ < −zero_tol·λ_max (below the numerical zero of a float64 eigh).
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    n = len(lam)
    lmax = float(lam[0])
    scale = abs(lmax) if lmax != 0 else 1.0
    near_zero = float(np.mean(np.abs(lam) <= eps * scale))
    m = min(2 * n_classes, n - 1)
    if m >= 1:
        floor = eps * scale
        ratios = lam[:m] / np.maximum(lam[1:m + 1], floor)
        i = int(np.argmax(ratios))
        gap_ratio, gap_index = float(ratios[i]), i + 1
    else:
        gap_ratio, gap_index = float("nan"), 0
    n_neg = int(np.sum(lam < -zero_tol * scale))
    return {
        "near_zero_fraction": near_zero,
        "outlier_count": gap_index if gap_ratio >= gap else 0,
        "gap_ratio": gap_ratio,
        "gap_index": gap_index,
        "lambda_min": float(lam[-1]),
        "lambda_max": lmax,
        "n_negative": n_neg,
        "negative_fraction": n_neg / n,
    }


def lanczos_tridiag(op: Operator, v: torch.Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` Lanczos steps with full reorthogonalisation from a unit vector ``v``: the
    tridiagonal's diagonal α and off-diagonal β (ends early on an invariant subspace)."""
    Q = [v / torch.linalg.vector_norm(v)]
    alphas, betas = [], []
    for j in range(steps):
        w = op.matvec(Q[-1])
        a = float(Q[-1] @ w)
        alphas.append(a)
        Qm = torch.stack(Q, dim=1)
        w = w - Qm @ (Qm.T @ w)
        w = w - Qm @ (Qm.T @ w)  # twice is enough (Kahan)
        b = float(torch.linalg.vector_norm(w))
        if j == steps - 1 or b < 1e-12 * max(1.0, abs(a)):
            break
        betas.append(b)
        Q.append(w / b)
    return np.array(alphas), np.array(betas)


def slq_density(op: Operator, *, n_vectors: int = 4, steps: int = 40, seed: int = 0):
    """Stochastic Lanczos quadrature: nodes and weights of the spectral measure (1/n) Σ δ_{λ_i}.

    Returns ``(nodes, weights)`` pooled over ``n_vectors`` Rademacher starts, weights summing to
    1; near-zero mass is ``weights[|nodes| ≤ eps·λ_max].sum()``. The density over a grid follows
    by Gaussian smoothing of these nodes.
    """
    n = op.shape[0]
    gen = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for _ in range(n_vectors):
        v = (torch.randint(0, 2, (n,), generator=gen) * 2 - 1).to(op.device, op.dtype)
        a, b = lanczos_tridiag(op, v, min(steps, n))
        T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
        theta, S = np.linalg.eigh(T)
        nodes.append(theta)
        weights.append(S[0] ** 2 / n_vectors)
    return np.concatenate(nodes), np.concatenate(weights)


def smooth_density(nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed density of a discrete spectral measure on ``grid``."""
    z = (grid[:, None] - nodes[None, :]) / sigma
    return (np.exp(-0.5 * z ** 2) * weights[None, :]).sum(1) / (sigma * np.sqrt(2 * np.pi))
