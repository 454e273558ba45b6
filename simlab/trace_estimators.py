"""The trace of a symmetric operator from products alone: Hutchinson and Hutch++.

Both take any :class:`~simlab.operators.Operator` (dense, HVP, Gauss–Newton, a parameter block)
and draw Rademacher probes z (entries ±1 with probability ½ each, so E[z zᵀ] = I) from a seeded
generator: the same seed gives the same estimate.

- **Hutchinson** (1989): tr(A) ≈ (1/m) Σ_{i=1..m} z_iᵀ A z_i, the mean over m probes of the
  quadratic form; unbiased, with variance 2(‖A‖_F² − Σ_i A_ii²)/m. The standard error reported
  is the sample standard deviation of the m values z_iᵀ A z_i over √m.
- **Hutch++** (Meyer, Musco, Musco & Woodruff 2021, Algorithm 1): of m products, k = m/3 go to
  a sketch Q = orth(A S) (S an n × k Rademacher matrix), k to A Q, and the rest g = m − 2k to
  Hutchinson on what Q leaves out:

      tr(A) ≈ tr(Qᵀ A Q) + (1/g) Σ_j z_jᵀ (I − QQᵀ) A (I − QQᵀ) z_j.

  The first term is exact on span(Q), so a matrix of rank ≤ k gets its trace exactly (up to
  rounding), and the error falls as 1/m rather than 1/√m when the spectrum decays. The
  standard error reported is that of the second (Hutchinson) term, given Q.

Products go through ``op.matmat`` (a block at a time), and ``n_matvecs`` says how many were used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from simlab.errors import MAX_SEED, UsageError, require

TRACE_METHODS = ("hutch++", "hutchinson")


@dataclass
class Trace:
    """A trace estimate: ``estimate`` ± ``stderr`` (the standard error of its random part, NaN
    when that part had fewer than two probes), from ``n_matvecs`` operator products."""

    estimate: float
    stderr: float
    n_matvecs: int
    method: str

    def __float__(self) -> float:
        return self.estimate


def _check(op, probes: int, seed: int, least: int) -> None:
    if not (hasattr(op, "matmat") and isinstance(getattr(op, "shape", None), tuple)):
        raise UsageError(f"op must be a simlab Operator (landscape.operator(θ) or DenseOperator(H)), "
                         f"got {type(op).__name__}")
    require("probes", probes, integer=True, positive=True, arg=True)
    if probes < least:
        raise UsageError(f"probes must be at least {least} for this estimator, got {probes}")
    require("seed", seed, integer=True, lo=0, hi=MAX_SEED, arg=True)


PROBE_BLOCK = 16  # probes multiplied together: bounds the memory of the n × block probe matrix


def rademacher(n: int, m: int, gen: torch.Generator, like) -> torch.Tensor:
    """An n × m matrix of independent ±1 entries in ``like``'s dtype and device, drawn on the
    CPU from ``gen`` one column after another (so a block of columns is the same numbers
    whatever the block size)."""
    Z = torch.stack([torch.randint(0, 2, (n,), generator=gen) for _ in range(m)], dim=1) * 2 - 1
    return Z.to(device=like.device, dtype=like.dtype)


def _quad_forms(op, m: int, gen: torch.Generator, like,
                project: torch.Tensor | None = None) -> torch.Tensor:
    """z_jᵀ P A P z_j for m fresh probes, PROBE_BLOCK at a time (P = I − QQᵀ when ``project``
    holds Q, else I)."""
    n, out = op.shape[0], []
    for j in range(0, m, PROBE_BLOCK):
        Z = rademacher(n, min(PROBE_BLOCK, m - j), gen, like)
        if project is not None:
            Z = Z - project @ (project.T @ Z)
        AZ = op.matmat(Z)
        if project is not None:
            AZ = AZ - project @ (project.T @ AZ)
        out.append((Z * AZ).sum(dim=0).to(torch.float64))
    return torch.cat(out)


def _stderr(values: torch.Tensor) -> float:
    m = values.numel()
    return float(values.std(unbiased=True) / math.sqrt(m)) if m > 1 else float("nan")


def hutchinson(op, probes: int = 100, *, seed: int = 0) -> Trace:
    """tr(A) ≈ (1/m) Σ_i z_iᵀ A z_i over ``probes`` = m Rademacher vectors (m products), with
    the standard error std(z_iᵀ A z_i)/√m."""
    _check(op, probes, seed, 1)
    before = op.n_matvecs
    gen = torch.Generator().manual_seed(seed)
    like = torch.empty(0, dtype=op.dtype, device=op.device)
    q = _quad_forms(op, probes, gen, like)
    return Trace(float(q.mean()), _stderr(q), op.n_matvecs - before, "hutchinson")


def hutchpp(op, probes: int = 99, *, seed: int = 0) -> Trace:
    """Hutch++ with ``probes`` = m products in all: k = ⌊m/3⌋ (at most n) sketch vectors, k
    products for A Q and the remaining m − 2k for Hutchinson on (I − QQᵀ) A (I − QQᵀ). When
    k = n the sketch spans everything, the trace is tr(QᵀAQ) and the remaining products are not
    taken."""
    _check(op, probes, seed, 3)
    before = op.n_matvecs
    n = op.shape[0]
    k = min(probes // 3, n)
    gen = torch.Generator().manual_seed(seed)
    like = torch.empty(0, dtype=op.dtype, device=op.device)
    S = rademacher(n, k, gen, like)
    Q, _ = torch.linalg.qr(op.matmat(S))  # n × k, orthonormal; range(A S) ⊆ span(Q)
    top = float((Q * op.matmat(Q)).sum().to(torch.float64))  # tr(Qᵀ A Q)
    if k == n:
        return Trace(top, 0.0, op.n_matvecs - before, "hutch++")
    q = _quad_forms(op, probes - 2 * k, gen, like, project=Q)
    return Trace(top + float(q.mean()), _stderr(q), op.n_matvecs - before, "hutch++")


def trace(op, probes: int = 99, *, method: str = "hutch++", seed: int = 0) -> Trace:
    """tr(A) of a symmetric operator by ``method`` ("hutch++", the default, or "hutchinson")
    with ``probes`` operator products; see :func:`hutchpp` and :func:`hutchinson`."""
    if method == "hutch++":
        return hutchpp(op, probes, seed=seed)
    if method == "hutchinson":
        return hutchinson(op, probes, seed=seed)
    raise UsageError(f"unknown trace method {method!r}; choose one of {', '.join(TRACE_METHODS)}")
