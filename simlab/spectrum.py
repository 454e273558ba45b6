"""Eigensolvers over an :class:`~simlab.operators.Operator`, and statistics of a spectrum.

Solvers (scipy's names: ``k``, ``v0``, ``tol``, ``ncv``, ``maxiter``), all returning
:class:`Eigen` with eigenvalues in descending order, eigenvectors as columns, the number of
operator products the solve used (checks included) and residuals ‖H h_i − λ_i h_i‖:

- ``lanczos``  (default, built for telemetry) Lanczos with full reorthogonalisation, written here
               on the operator. It stops on a certificate: each top-k residual-based bound
               r_i ≤ ``tol``·|θ_i| (residuals from the recurrence, r_i = β_m |s_{m,i}|, no extra
               products), and no eigenvector holding more than δ of the start vector can have
               its eigenvalue above θ_k + tol|θ_k| except within tol of a returned value
               (:meth:`Krylov.start_bound`). Then |θ_i − λ_i| ≤ tol·|θ_i| for the i-th largest
               eigenvalue λ_i, except with probability ≤ k·``miss`` over the random start or on a
               cluster tighter than 2·tol (statement and proof: :func:`_lanczos`). The Krylov size
               is chosen for k (3k + 20 vectors, doubled when full up to 256 MiB of basis; past
               that, or past a given ``ncv``, a thick restart keeps the best Ritz vectors).
               Warm start: ``v0`` (n × m, the previous point's eigenvectors) gives
               the start vector â + ĝ, â the normalised sum of the h_i, ĝ a random unit vector
               (â + 0.01·ĝ with ``miss=None``); certified, it converges the top values sooner but
               must still exclude what it does not hold, so it costs about a cold solve. ``miss=None`` stops on residuals
               alone (and settled values): cheap when the previous eigenvectors still hold, no
               guard against a skipped eigenvalue.
- ``arpack``   scipy's ``eigsh`` (implicitly restarted Lanczos, which="LA") on ``as_scipy()``,
               the reference of the tests; its ``tol`` bounds residuals (so it delivers far more
               eigenvalue accuracy than asked, at more products); residuals by k more products
               (not counted in ``n_matvecs``).
- ``power``    power iteration with deflation (the method of Lowell 2022; kept for fidelity,
               costlier than Lanczos): each pair stops when its residual ‖Hv − μv‖ (from the
               product just taken) is ≤ ``tol``·|μ|, so μ is within ``tol`` of an eigenvalue;
               pairs returned in descending order.
- ``dense``    build H (or take it from a :class:`DenseOperator`) and call ``eigh``;
               ``Eigen.spectrum`` then holds every eigenvalue.

:mod:`simlab.density` estimates the spectral density for the bulk when only products are
affordable (SLQ on this module's :class:`Krylov` basis), its near-zero mass and the band that mass
is known to resolve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from simlab.errors import MAX_SEED, UsageError, require
from simlab.operators import DenseOperator, Operator

METHODS = ("lanczos", "arpack", "power", "dense")


@dataclass
class Eigen:
    """Top eigenpairs: ``eigenvalues[i]`` pairs with ``eigenvectors[:, i]``; descending.
    ``spectrum``: every eigenvalue (ascending) when the solve was dense, else None."""

    eigenvalues: np.ndarray
    eigenvectors: torch.Tensor
    n_matvecs: int
    residuals: np.ndarray
    spectrum: np.ndarray | None = field(default=None, repr=False)
    # lanczos: how the solve ended: "certified" (the certificate, or the whole space spanned),
    # "settled" (miss=None: residuals and values settled) or "budget" (maxiter products taken
    # without either: the values are the best Ritz values, their accuracy not established)
    stop: str | None = None


def residuals(op: Operator, values: np.ndarray, vectors: torch.Tensor) -> np.ndarray:
    """‖H h_i − λ_i h_i‖ for each column (uses len(values) products, then resets the count)."""
    before = op.n_matvecs
    HV = op.matmat(vectors)
    op.n_matvecs = before
    lam = torch.as_tensor(values, dtype=vectors.dtype, device=vectors.device)
    return torch.linalg.vector_norm(HV - vectors * lam, dim=0).cpu().numpy().astype(np.float64)


def full_spectrum(H: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """All eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, float64."""
    w, V = torch.linalg.eigh(H.to(torch.float64))
    return w.cpu().numpy(), V.cpu().numpy()


def _random_vector(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


# Warm starts mix in a random unit vector with this weight (see _lanczos: the stop rule's
# guarantee holds for eigenvectors the previous ones miss because of it). Certified, a warm solve
# must exclude what the previous vectors miss as a cold one does, so an equal weight costs nothing
# and keeps δ large (float32 rounding floors δ, see _lanczos); uncertified (miss=None) a small one
# lets the previous vectors stop the solve in a few products. MISS_PROBABILITY is the default
# bound on the chance, per top-k eigenvector, that the start holds too little of it to be seen.
WARM_RANDOM = 1.0
WARM_RANDOM_FAST = 0.01
MISS_PROBABILITY = 1e-3


def _start_vector(op: Operator, v0, seed: int, weight: float = WARM_RANDOM_FAST) -> torch.Tensor:
    """A seeded random unit vector ĝ, or (warm) â + weight·ĝ with â the normalised sum of the
    normalised columns of ``v0``."""
    n = op.shape[0]
    g = torch.from_numpy(_random_vector(n, seed))
    start = g / torch.linalg.vector_norm(g)
    if v0 is not None:
        V0 = torch.as_tensor(v0).reshape(n, -1).detach().to("cpu", torch.float64)
        V0 = V0 / torch.linalg.vector_norm(V0, dim=0).clamp_min(1e-300)
        a = V0.sum(dim=1)
        norm = torch.linalg.vector_norm(a)
        if norm > 0:  # columns that cancel leave the random part alone
            start = a / norm + weight * start
    return start.to(op.device, op.dtype)


def _miss_delta(n: int, warm: bool, p: float) -> float:
    """δ with P(|u·q_1| < δ) ≤ p for every fixed unit u, q_1 the normalised start: a coordinate of
    a uniform unit vector has density ≤ √(n/2π), so P(|u·ĝ| < δ) ≤ δ√(2n/π); warm, q_1 = b/‖b‖
    with ‖b‖ ≤ 1 + w and u·b = u·â + w u·ĝ (â fixed), so P ≤ δ(1 + w)/w·√(2n/π)."""
    d = p / math.sqrt(2 * n / math.pi)
    return d * WARM_RANDOM / (1 + WARM_RANDOM) if warm else d


def _rounding_delta(op: Operator, theta: np.ndarray, nu: np.ndarray) -> float:
    """The smallest δ the certificate can resolve with products accurate to ε‖H‖: ψ at a point
    ν from a Ritz value is known to about ε‖H‖/ν (ε the operator's unit roundoff, ×10)."""
    eps = float(torch.finfo(op.dtype).eps) if op.dtype.is_floating_point else 0.0
    return 10 * eps * float(np.max(np.abs(theta))) / max(float(np.min(nu)), 1e-300)


def _dense(op: Operator, k: int):
    H = op.H if isinstance(op, DenseOperator) else op.dense()
    w, V = torch.linalg.eigh(H.to(torch.float64))
    order = torch.argsort(w, descending=True)[:k]
    return w[order].cpu().numpy(), V[:, order].to(op.dtype), w.cpu().numpy()


# ----------------------------------------------------------------------------- Lanczos (telemetry)

class Krylov:
    """An orthonormal Krylov basis Q (full reorthogonalisation, two passes; stored as rows, each
    basis vector contiguous) and the projected matrix T = QᵀHQ, column j taken from the
    coefficients of H q_j on Q. Every H q_j except the last lies in span(Q), so a Ritz pair
    (θ, Q s) has residual |β s_m|, β the norm of the last product's remainder ``r`` — no further
    product needed.

    It also tracks where the start vector q_1 went (``c``, its coordinates on Q, and one filter
    per thick restart), for :meth:`start_bound`: how much of q_1 an eigenvector the space has not
    found can hold."""

    def __init__(self, op: Operator, start: torch.Tensor, size: int, seed: int = 0):
        n = op.shape[0]
        self.op, self.size, self.seed = op, size, seed
        # basis vectors as rows: each one contiguous, so the reorthogonalisation's products walk
        # memory in order (2–4× faster than columns of an n × size array at 143k parameters)
        self.Q = torch.zeros(size, n, dtype=op.dtype, device=op.device)
        self.T = np.zeros((size, size))
        self.m = 0       # columns of Q with their product taken
        self.beta = 0.0  # ‖r‖
        self.Q[0] = start / torch.linalg.vector_norm(start)
        self.c = np.zeros(size)  # the (current) start's coordinates on Q
        self.c[0] = 1.0
        self.filters: list[tuple[np.ndarray, float]] = []  # per restart: discarded θ's, log N
        self.fresh = False  # the last step met an invariant subspace

    def step(self) -> None:
        """One product: H q_m, its coefficients on Q (T's column m) and the next basis vector."""
        j = self.m
        w = self.op.matvec(self.Q[j])
        Qj = self.Q[:j + 1]
        c = Qj @ w
        w = w - Qj.T @ c
        c2 = Qj @ w  # twice is enough (Kahan)
        w = w - Qj.T @ c2
        col = (c + c2).to("cpu", torch.float64).numpy()
        self.T[:j + 1, j] = col
        self.T[j, :j + 1] = col
        self.m = j + 1
        self.beta = float(torch.linalg.vector_norm(w))
        self.fresh = self.beta <= 1e-10 * max(np.abs(col).max(), 1e-300)
        if self.fresh:
            # an invariant subspace: go on from a fresh random direction (no coupling)
            self.beta = 0.0
            g = torch.from_numpy(_random_vector(w.numel(), self.seed + 7919 * self.m))
            w = g.to(w.device, w.dtype)
            for _ in range(2):
                w = w - Qj.T @ (Qj @ w)
        self.next = w / torch.linalg.vector_norm(w)
        if self.m < self.size:
            self.Q[self.m] = self.next
            if self.fresh:  # every eigen-component of the start is found: the fresh vector is the start now
                self._restart_from(self.m)

    def grow(self, size: int) -> None:
        """Room for ``size`` basis vectors: Q and T copied into larger arrays, the next Lanczos
        vector stored. Growing instead of restarting keeps the start bound a single Lanczos
        polynomial's: after a thick restart the bound multiplies in the filter's gain towards
        the converged top (up to 1e9 per restart on a flat spectrum), which rounding cannot
        match, and the certificate is then out of reach however many products follow."""
        Q = torch.zeros(size, self.Q.shape[1], dtype=self.Q.dtype, device=self.Q.device)
        Q[:self.size] = self.Q
        T = np.zeros((size, size))
        T[:self.size, :self.size] = self.T
        self.c = np.r_[self.c, np.zeros(size - self.size)]
        self.Q, self.T, self.size = Q, T, size
        self.Q[self.m] = self.next
        if self.fresh:
            self._restart_from(self.m)

    def _restart_from(self, j: int) -> None:
        self.c[:] = 0.0
        self.c[j] = 1.0
        self.filters = []

    def ritz(self):
        """Ritz values (descending), their vectors' coordinates S and recurrence residuals."""
        theta, S = np.linalg.eigh(self.T[:self.m, :self.m])
        theta, S = theta[::-1], S[:, ::-1]
        return theta, S, self.beta * np.abs(S[-1, :])

    def restart(self, keep: int) -> None:
        """Thick restart: keep the ``keep`` top Ritz vectors and the next Lanczos vector."""
        theta, S, _ = self.ritz()
        Y = torch.from_numpy(np.ascontiguousarray(S[:, :keep].T)).to(self.Q) @ self.Q[:self.m]
        nxt = self.next
        # The kept space is K(H, φ(H) q_1), φ(λ) = Π_d (λ − θ_d) over the discarded Ritz values:
        # its start has coordinates φ(θ_j)(s_j·c)/N on the kept Ritz vectors, N = ‖φ(H) q_1‖, and
        # u·(φ(H)q_1/N) = φ(λ)/N · u·q_1 for an eigenpair (λ, u).
        D = theta[keep:].copy()
        # a kept Ritz value equal to a discarded one (a degenerate spectrum: a block of zeros)
        # makes φ vanish there; floor the factors at rounding so log φ stays finite
        floor = np.finfo(np.float64).eps * max(1.0, float(np.abs(theta).max()))
        logphi = np.log(np.maximum(np.abs(theta[:keep, None] - D[None, :]), floor)).sum(axis=1)
        x = (S[:, :keep].T @ self.c[:self.m]) * np.exp(logphi - logphi.max())
        N = float(np.linalg.norm(x))
        self.T[:] = 0.0
        self.T[np.arange(keep), np.arange(keep)] = theta[:keep]
        self.Q[:keep] = Y
        self.m = keep
        self.Q[keep] = nxt
        if self.fresh or not np.isfinite(N) or N == 0.0:
            self._restart_from(keep)
        else:
            self.c[:] = 0.0
            self.c[:keep] = x / N
            self.filters.append((D, math.log(N) + float(logphi.max())))

    def start_bound(self, lam: np.ndarray, theta: np.ndarray, S: np.ndarray) -> np.ndarray:
        """ψ(λ) ≥ |u·q_1| for every eigenpair (λ, u) of H (exact arithmetic), at each λ given.

        From H Q = Q T + β q_{m+1} e_mᵀ: Qᵀu = β (u·q_{m+1}) (λ − T)⁻¹ e_m, so with q_1 = Q c,
        |u·q_1| ≤ |Σ_j β s_{m,j} (s_j·c)/(λ − θ_j)| (= Π β_j/|χ_T(λ)| without restarts: the
        Lanczos polynomial's reciprocal), times N_r/|φ_r(λ)| for each thick restart r (above).
        On an interval free of Ritz values (current and discarded) ψ is a constant over a
        polynomial with real roots, so log-convex: its maximum there is at an end."""
        lam = np.asarray(lam, dtype=np.float64)
        a = self.beta * S[-1, :] * (S.T @ self.c[:self.m])
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.log(np.abs((a[None, :] / (lam[:, None] - theta[None, :])).sum(axis=1)))
            for D, logN in self.filters:
                val = val + logN - np.log(np.abs(lam[:, None] - D[None, :])).sum(axis=1)
        return np.exp(np.minimum(np.where(np.isnan(val), np.inf, val), 700.0))

    def vectors(self, S: np.ndarray) -> torch.Tensor:
        return self.Q[:self.m].T @ torch.from_numpy(np.ascontiguousarray(S)).to(self.Q)


def krylov_size(k: int, n: int) -> int:
    """Krylov vectors a solve starts with: 3k + 20, at most n (the bench's CNNs need ~2.4k + 2
    products for the top k). Past it the basis grows (:func:`krylov_cap`)."""
    return min(n, 3 * k + 20)


# The memory a Krylov basis may grow to before the solve thick-restarts instead.
KRYLOV_BYTES = 256 * 2 ** 20


def krylov_cap(k: int, n: int, itemsize: int) -> int:
    """Krylov vectors a solve holds at most: as many as :data:`KRYLOV_BYTES` allows, at least
    :func:`krylov_size`, at most n. Measured (toy cifar8 MLPs of 1.7k–17k parameters at θ_0, top
    20 to tol 1e−4): 87–134 products certify with room for them; with 3k + 20 = 80 vectors the
    restarts left every solve uncertified at the 1600-product budget, with exact values."""
    return min(n, max(krylov_size(k, n), KRYLOV_BYTES // max(n * itemsize, 1)))


def _certified(kry: Krylov, theta: np.ndarray, S: np.ndarray, res: np.ndarray, k: int, tol: float,
               delta: float) -> bool:
    """The stop rule: each of the top-k Ritz values has residual r_i ≤ ν_i = tol·|θ_i|, and no
    eigenvector holding δ or more of the start vector can have its eigenvalue in
    R = [θ_k + ν_k, ∞) minus the open neighbourhoods (θ_j − ν_j, θ_j + ν_j), j < k:
    ψ < δ (:meth:`Krylov.start_bound`) at R's ends, hence on all of R (log-convexity)."""
    if len(theta) < k:
        return False
    top = theta[:k]
    nu = tol * np.maximum(np.abs(top), np.finfo(float).eps * abs(theta[0]))
    if np.any(res[:k] > nu):
        return False
    low = top[-1] + nu[-1]
    ends = np.r_[low, top[:-1] + nu[:-1], top[:-1] - nu[:-1]]
    inside = np.any(np.abs(ends[:, None] - top[None, :-1]) < nu[None, :-1] * (1 - 1e-12), axis=1)
    ends = ends[(ends >= low) & ~inside]
    delta = max(delta, _rounding_delta(kry.op, theta, nu))
    return bool(np.all(kry.start_bound(ends, theta, S) < delta))


def _residuals_settled(theta, prev, res, k: int, tol: float) -> bool:
    """The stop rule without a certificate (``miss=None``): each top-k Ritz value has an eigenvalue
    within r_i ≤ tol·|θ_i|, and none moved by more than that since the last step. Cheap on a warm
    start that still holds the top k; nothing guards against an eigenvalue the space has not met."""
    if prev is None or len(prev) < k or len(theta) < k:
        return False
    nu = tol * np.abs(theta[:k])
    return bool(np.all(res[:k] <= nu) and np.all(np.abs(theta[:k] - prev[:k]) <= nu))


def _lanczos(op: Operator, k: int, tol: float, v0, maxiter, seed: int, ncv, miss: float | None):
    """Lanczos with full reorthogonalisation and thick restarts, stopped by :func:`_certified`.

    What it delivers. Let λ_1 ≥ … ≥ λ_n be H's eigenvalues with eigenvectors u_i, q_1 the
    normalised start vector, and θ_1 ≥ … ≥ θ_k the returned values. Cauchy interlacing gives
    θ_i ≤ λ_i. If λ_i > θ_i + ν_i for some i, then λ_1, …, λ_i all exceed θ_i + ν_i ≥ θ_k + ν_k,
    so (by the stop rule) each one whose eigenvector holds |u·q_1| ≥ δ lies in one of the i − 1
    neighbourhoods (θ_j − ν_j, θ_j + ν_j), j < i, and two of them lie in the same one. Hence

        |λ_i − θ_i| ≤ tol·|θ_i|   for every i ≤ k,

    unless (a) some u_i, i ≤ k, has |u_i·q_1| < δ, or (b) two of the top k eigenvalues lie within
    2·tol·|θ_j| of each other (a cluster tighter than the tolerance: a single start vector sees
    one direction of it, as no single-vector Krylov method can tell a multiple eigenvalue from a
    simple one). The start holds a random unit vector ĝ (cold: q_1 = ĝ; warm: ĝ with weight
    WARM_RANDOM), and δ is chosen (:func:`_miss_delta`) so that P(|u·q_1| < δ) ≤ ``miss`` for any
    fixed u: P(a) ≤ k·``miss`` for every H, and an eigenvector exactly orthogonal to the start
    (invisible to any Krylov method) has probability 0. Each returned value also has an
    eigenvalue within r_i ≤ tol·|θ_i|. Rounding: with products accurate to ε‖H‖, ψ is known to
    about ε‖H‖/ν_j, so δ is raised to 10·ε·|θ_1|/ν_k where that is larger (float32 at tol 1e−3:
    δ ≈ 1e−3·θ_1/θ_k, and the bound on P(a) grows by the same factor over δ: there the
    certificate excludes only eigenvectors holding ≳ 1e−3 of the start; rounding itself feeds
    every direction into the space at about ε per step).
    A warm start helps the top values converge, but seeing an eigenvalue it does not hold takes
    as many products as a cold start: the certificate costs about the same either way.
    """
    n = op.shape[0]
    if k >= n:
        raise UsageError(f"lanczos needs k < n (k={k}, n={n}); use method='dense' for the full spectrum")
    size = min(n, ncv or krylov_size(k, n))
    if size <= k:
        raise UsageError(f"ncv must exceed k (ncv={ncv}, k={k})")
    # ncv given: that size, restarted when full; else grown (doubling) up to the cap first
    cap = size if ncv else krylov_cap(k, n, torch.empty((), dtype=op.dtype).element_size())
    kry = Krylov(op, _start_vector(op, v0, seed, WARM_RANDOM if miss is not None else WARM_RANDOM_FAST),
                 size, seed)
    delta = None if miss is None else _miss_delta(n, v0 is not None, miss)
    budget = maxiter or 20 * size  # products before giving up with what has converged
    used, prev, stop = 0, None, "budget"
    while True:
        kry.step()
        used += 1
        theta, S, res = kry.ritz()
        if kry.m >= n:
            stop = "certified"
            break
        if used > k and not kry.fresh:
            if delta is None:
                if _residuals_settled(theta, prev, res, k, tol):
                    stop = "settled"
                    break
            elif _certified(kry, theta, S, res, k, tol, delta):
                stop = "certified"
                break
        if used >= budget:
            break
        prev = theta
        if kry.m == kry.size < cap:
            kry.grow(min(cap, 2 * kry.size))
        elif kry.m == kry.size:
            kry.restart(min(kry.size - 1, k + (kry.size - k) // 2))
            prev = None  # restarted Ritz values are the same numbers: wait for the next step
    m = min(k, kry.m)
    return theta[:m].copy(), kry.vectors(S[:, :m]), res[:m].copy(), stop


# ----------------------------------------------------------------------------- scipy, power

def _arpack(op: Operator, k: int, tol: float, v0, maxiter, seed: int, ncv):
    n = op.shape[0]
    if k >= n:
        raise UsageError(f"arpack needs k < n (k={k}, n={n}); use method='dense' for the full spectrum")
    start = _start_vector(op, v0, seed).to("cpu", torch.float64).numpy()
    try:
        w, V = eigsh(op.as_scipy(), k=k, which="LA", v0=start, tol=tol, maxiter=maxiter, ncv=ncv)
    except ArpackNoConvergence as e:  # keep what converged rather than nothing
        w, V = e.eigenvalues, e.eigenvectors
    order = np.argsort(w)[::-1]
    return w[order], torch.from_numpy(np.ascontiguousarray(V[:, order])).to(op.device, op.dtype)


def _power(op: Operator, k: int, tol: float, v0, maxiter, seed: int):
    """Deflated power iteration for the algebraically largest eigenpairs.

    Each pair stops when the residual of its Rayleigh quotient μ, ‖(H − shift − deflation) v − μ v‖
    from the product just taken, is ≤ tol·|μ + shift|: then an eigenvalue lies within that
    distance. Plain power iteration finds the largest |λ|; when that is a negative eigenvalue
    (common away from minima) the iteration is restarted on H − sI with s that eigenvalue, so that
    every eigenvalue ≥ s becomes non-negative and the largest algebraic one dominates again.
    Returns (values, vectors, residuals) sorted descending.
    """
    n = op.shape[0]
    maxiter = maxiter or 1000
    gen = torch.Generator().manual_seed(seed)
    V0 = None if v0 is None else torch.as_tensor(v0).reshape(n, -1)
    values, vectors, res, shift = [], [], [], 0.0
    i = 0
    while i < k:
        if V0 is not None and V0.shape[1] > i:
            v = V0[:, i].to(op.device, op.dtype).clone()
        else:
            v = torch.randn(n, generator=gen, dtype=torch.float64).to(op.device, op.dtype)
        v /= torch.linalg.vector_norm(v)
        for _ in range(maxiter):
            w = op.matvec(v) - shift * v
            for lj, hj in zip(values, vectors):  # deflate: remove (λ_j − s) h_j h_jᵀ v
                w -= (lj - shift) * (hj @ v) * hj
            mu = float(v @ w)
            r = float(torch.linalg.vector_norm(w - mu * v))
            norm = torch.linalg.vector_norm(w)
            if r <= tol * max(abs(mu + shift), 1e-300) or norm == 0:
                break
            v = w / norm
        lam = mu + shift
        if mu < 0:  # converged to the most negative eigenvalue: shift past it and redo this one
            shift = lam
            continue
        values.append(lam)
        vectors.append(v)
        res.append(r)
        i += 1
    order = np.argsort(values)[::-1]
    V = torch.stack(vectors, dim=1)[:, torch.from_numpy(order.copy())]
    return np.array(values)[order], V, np.array(res)[order]


def check_args(op, k, *, method="lanczos", tol=1e-3, v0=None, maxiter=None, seed=0,
               ncv=None, miss=MISS_PROBABILITY) -> None:
    """:func:`top_eigen`'s arguments, each failure a :class:`UsageError` (a ValueError) naming
    the argument: an operator, 1 ≤ k ≤ n (an integer), a known method, a finite tol > 0, v0 of
    n rows and finite, positive integers for maxiter and ncv, a seed in 0..2^63−1."""
    if not (hasattr(op, "matvec") and isinstance(getattr(op, "shape", None), tuple)):
        raise UsageError(f"op must be a simlab Operator (landscape.operator(θ) or "
                         f"DenseOperator(H)), got {type(op).__name__}")
    if method not in METHODS:
        raise UsageError(f"unknown eigensolver {method!r}; choose one of {', '.join(METHODS)}")
    n = op.shape[0]
    require("k", k, integer=True, arg=True)
    if not 1 <= k <= n:
        raise UsageError(f"k must be between 1 and the dimension {n}, got {k}")
    require("tol", tol, positive=True, arg=True)
    require("maxiter", maxiter, integer=True, positive=True, optional=True, arg=True)
    require("ncv", ncv, integer=True, positive=True, optional=True, arg=True)
    require("seed", seed, integer=True, lo=0, hi=MAX_SEED, arg=True)
    if miss is not None:
        require("miss", miss, positive=True, arg=True)
        if not miss < 1:
            raise UsageError(f"miss must be a probability below 1 (or None), got {miss}")
    if v0 is not None:
        if not isinstance(v0, (torch.Tensor, np.ndarray)):
            raise UsageError(f"v0 must be a tensor of start vectors (n × m), got {type(v0).__name__}")
        V0 = torch.as_tensor(v0)
        if V0.ndim not in (1, 2) or V0.shape[0] != n or V0.numel() == 0:
            raise UsageError(f"v0 must have the operator's {n} rows (a vector or n × m), got shape "
                             f"{tuple(V0.shape)}")
        if not V0.dtype.is_floating_point or not bool(torch.isfinite(V0).all()):
            raise UsageError("v0 must be finite floating-point start vectors")


def top_eigen(op: Operator, k: int, *, method: str = "lanczos", tol: float = 1e-3,
              v0: torch.Tensor | None = None, maxiter: int | None = None, seed: int = 0,
              ncv: int | None = None, with_residuals: bool = True,
              miss: float | None = MISS_PROBABILITY) -> Eigen:
    """The k algebraically largest eigenpairs of a symmetric operator.

    ``tol`` is the relative accuracy asked of each eigenvalue (for ``arpack``, ARPACK's residual
    tolerance). ``v0`` (n × m) warm-starts ``lanczos``, ``arpack`` and ``power`` from previous
    eigenvectors. ``lanczos`` and ``power`` return residuals from the products they made;
    ``arpack`` and ``dense`` take k more products for them unless ``with_residuals`` is False
    (then NaN). ``n_matvecs`` counts the solve's products.

    ``lanczos`` delivers ``tol``: |θ_i − λ_i| ≤ tol·|θ_i| for the i-th largest eigenvalue λ_i,
    except with probability ≤ k·``miss`` over its random start, or where two of the top k lie
    closer than 2·tol (see :func:`_lanczos` for the statement and proof). ``miss=None`` stops on
    residuals alone (each value is an eigenvalue to tol; cheaper on a warm start that still
    holds the top k, but an eigenvalue the Krylov space has not met can be skipped).
    """
    check_args(op, k, method=method, tol=tol, v0=v0, maxiter=maxiter, seed=seed, ncv=ncv, miss=miss)
    start = op.n_matvecs
    res, spectrum, stop = None, None, None
    if method == "dense":
        w, V, spectrum = _dense(op, k)
    elif method == "lanczos":
        w, V, res, stop = _lanczos(op, k, tol, v0, maxiter, seed, ncv, miss)
    elif method == "arpack":
        w, V = _arpack(op, k, tol, v0, maxiter, seed, ncv)
    else:
        w, V, res = _power(op, k, tol, v0, maxiter, seed)
    used = op.n_matvecs - start
    if res is None:
        res = residuals(op, w, V) if with_residuals else np.full(len(w), np.nan)
    return Eigen(np.asarray(w, dtype=np.float64), V, used, np.asarray(res, dtype=np.float64), spectrum,
                 stop)


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
