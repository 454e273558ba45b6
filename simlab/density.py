"""The spectral density by stochastic Lanczos quadrature (SLQ), for the bulk when only products
are affordable: Rademacher probes, Lanczos tridiagonals on the :class:`simlab.spectrum.Krylov`
basis, Gauss nodes and weights, the near-zero mass read two ways (``count``, ``cell``) and the
narrowest band |λ| ≤ ε·λ_1 a setting of probes × steps resolves, as measured against the bridge
CNN's exact Hessian by :mod:`simlab.paper.slq_validation` (stored in :data:`SLQ_VALIDATION`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from simlab.errors import MAX_SEED, UsageError, require
from simlab.operators import Operator
from simlab.spectrum import Krylov


def lanczos_tridiag(op: Operator, v: torch.Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` Lanczos steps with full reorthogonalisation from ``v`` (the :class:`Krylov` basis):
    the tridiagonal's diagonal α and off-diagonal β (ends early on an invariant subspace)."""
    kry = Krylov(op, v, min(steps, op.shape[0]))
    for _ in range(kry.size):
        kry.step()
        if kry.beta == 0.0:
            break
    T = kry.T[:kry.m, :kry.m]
    return np.diag(T).copy(), np.diag(T, 1).copy()


# SLQ defaults: 4 probes × 160 steps. Which band |λ| ≤ ε·λ_1 a setting's near-zero mass resolves
# (within 0.03 of the exact fraction) is not a constant here: it is measured against the exact
# Hessian of the bridge CNN by ``python -m simlab.paper.slq_validation`` and stored in SLQ_VALIDATION,
# which :func:`validated_band` reads (nothing is validated when that file is absent).
SLQ_PROBES, SLQ_STEPS = 4, 160
SLQ_VALIDATION = Path(__file__).with_name("slq_validation.json")
ESTIMATORS = ("count", "cell")


def slq_density(op: Operator, *, n_vectors: int = SLQ_PROBES, steps: int = SLQ_STEPS, seed: int = 0):
    """Stochastic Lanczos quadrature: nodes and weights of the spectral measure (1/n) Σ δ_{λ_i}.

    Returns ``(nodes, weights)`` pooled over ``n_vectors`` Rademacher starts (probe after probe,
    ``steps`` nodes each), weights summing to 1. The density over a grid follows by Gaussian
    smoothing of these nodes (:func:`smooth_density`); the near-zero mass by
    :func:`near_zero_mass`.
    """
    if not (hasattr(op, "matvec") and isinstance(getattr(op, "shape", None), tuple)):
        raise UsageError(f"op must be a simlab Operator, got {type(op).__name__}")
    require("n_vectors", n_vectors, integer=True, positive=True, arg=True)
    require("steps", steps, integer=True, positive=True, arg=True)
    require("seed", seed, integer=True, lo=0, hi=MAX_SEED, arg=True)
    n = op.shape[0]
    gen = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for _ in range(n_vectors):
        v = (torch.randint(0, 2, (n,), generator=gen) * 2 - 1).to(op.device, op.dtype)
        a, b = lanczos_tridiag(op, v, min(steps, n))
        theta, w = gauss_nodes(a, b)
        nodes.append(theta)
        weights.append(w / n_vectors)
    return np.concatenate(nodes), np.concatenate(weights)


def gauss_nodes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (ascending) and weights (summing to 1) of the Gauss quadrature of one Lanczos run:
    the eigenvalues of the tridiagonal (α on, β off the diagonal) and the squared first
    components of its eigenvectors. A leading block of (α, β) is the shorter run's."""
    T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
    theta, S = np.linalg.eigh(T)
    return theta, S[0] ** 2


def near_zero_mass(nodes, weights, lam_max: float, eps: float, *, n_vectors: int = 1,
                   estimator: str = "count") -> float:
    """Mass of an SLQ measure in |λ| ≤ eps·|lam_max|, over its total weight.

    ``count``: the summed weight of the nodes inside the band (Gauss quadrature of the
    indicator). ``cell``: each probe's node carries its weight spread evenly over its cell, from
    the midpoint to the neighbour below to the midpoint to the neighbour above (the extreme
    nodes' cells end at the node): a band edge that cuts a cell takes the covered share, where
    ``count`` takes all or nothing. ``nodes`` are ``n_vectors`` probes' runs one after another
    (as :func:`slq_density` returns them)."""
    x = np.asarray(nodes, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    total = w.sum()
    if total <= 0 or x.size == 0:
        return float("nan")
    a = eps * abs(lam_max)
    if estimator == "count":
        return float(w[np.abs(x) <= a].sum() / total)
    if estimator != "cell":
        raise UsageError(f"unknown near-zero estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    n_vectors = n_vectors if n_vectors >= 1 and x.size % n_vectors == 0 else 1
    mass = 0.0
    for xp, wp in zip(np.split(x, n_vectors), np.split(w, n_vectors)):
        order = np.argsort(xp)
        xp, wp = xp[order], wp[order]
        mid = (xp[1:] + xp[:-1]) / 2
        lo, hi = np.r_[xp[:1], mid], np.r_[mid, xp[-1:]]
        width = hi - lo
        cover = np.clip(np.minimum(hi, a) - np.maximum(lo, -a), 0.0, None)
        share = np.where(width > 0, cover / np.where(width > 0, width, 1.0), np.abs(xp) <= a)
        mass += float((wp * share).sum())
    return mass / total


def validated_band(probes: int, steps: int, *, eps: float = 1e-3, tolerance: float = 0.03,
                   path: Path | str | None = None) -> dict | None:
    """The narrowest band |λ| ≤ ε·λ_1 (ε ≥ ``eps``) whose near-zero mass SLQ at ``probes`` ×
    ``steps`` got within ``tolerance`` of the exact fraction in the stored validation
    (:mod:`simlab.paper.slq_validation`; every θ and probe seed there), or None.

    A row validated with p probes covers every setting with ≥ p probes at the same steps (a
    p-probe mass is the mean of single-probe masses, so it is no further off than the worst of
    them). Returns {"band", "estimator", "max_abs_error", "probes", "steps", "net", "source"}."""
    path = Path(path) if path is not None else SLQ_VALIDATION
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    rows = [r for r in doc.get("rows", [])
            if int(r["steps"]) == int(steps) and int(r["probes"]) <= int(probes)
            and float(r["eps"]) >= eps * (1 - 1e-9) and float(r["max_abs_error"]) <= tolerance]
    if not rows:
        return None
    best = min(rows, key=lambda r: (float(r["eps"]), float(r["max_abs_error"])))
    return {"band": float(best["eps"]), "estimator": best["estimator"],
            "max_abs_error": float(best["max_abs_error"]), "probes": int(best["probes"]),
            "steps": int(best["steps"]), "net": doc.get("net", "?"), "source": path.name}


def slq(op: Operator, *, probes: int = SLQ_PROBES, steps: int = SLQ_STEPS, seed: int = 0,
        eps: float = 1e-3, lam_max: float | None = None) -> dict:
    """SLQ density, its near-zero mass and the narrowest band the settings are validated for.

    Returns {"nodes", "weights", "probes", "steps", "eps", "n_matvecs", "band" (the validated
    band ε_v ≥ eps as a multiple of λ_1, see :func:`validated_band`; None when these settings
    resolve no band), "validated" (band is not None), "estimator" (the validated one, else
    ``count``), "near_zero_fraction" (the mass in |λ| ≤ eps·λ_1: trustworthy to 0.03 only when
    band == eps), "band_fraction" (the mass in |λ| ≤ band·λ_1, or None)}. ``lam_max``: λ_1 if
    known (else the largest node)."""
    before = op.n_matvecs
    nodes, weights = slq_density(op, n_vectors=probes, steps=steps, seed=seed)
    lam1 = abs(lam_max if lam_max is not None else float(nodes.max())) or 1.0
    val = validated_band(probes, steps, eps=eps)
    est = val["estimator"] if val else "count"
    band = val["band"] if val else None

    def mass(e):
        return near_zero_mass(nodes, weights, lam1, e, n_vectors=probes, estimator=est)
    return {"nodes": nodes, "weights": weights, "probes": probes, "steps": steps, "eps": eps,
            "near_zero_fraction": mass(eps), "band": band, "validated": val is not None,
            "band_fraction": None if band is None else mass(band), "estimator": est,
            "n_matvecs": op.n_matvecs - before}


def smooth_density(nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed density of a discrete spectral measure on ``grid``."""
    z = (grid[:, None] - nodes[None, :]) / sigma
    return (np.exp(-0.5 * z ** 2) * weights[None, :]).sum(1) / (sigma * np.sqrt(2 * np.pi))
