"""Numerical checks of the analytic predictions Y1–Y8 on real toy nets with exact Hessians.

Each ``yN_numeric`` builds a small MLP (:mod:`simlab.toy.models`) on blobs or random inputs
(:mod:`simlab.data`), wraps it in a :class:`~simlab.landscape.Landscape` (float64) and
compares the prediction derived in :mod:`simlab.toy.symbolic` with the exact Hessian
(:meth:`simlab.landscape.Landscape.hessian`), exact Jacobians (``torch.func.jacrev``) or a seeded
Monte Carlo estimate. Every check returns a
:class:`~simlab.toy.symbolic.PredictionResult` with ``check="numeric"``, its residual and the
tolerance it was held to; ``proved`` is ``residual <= tolerance``.

Flat θ follows ``model.named_parameters()`` order, as in the Landscape; an ``nn.Linear`` weight
(out × in) is stored row-major, so entry W[i, j] sits at offset ``i * in + j`` of its slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import hessian, jacrev

from simlab.errors import UsageError
from simlab.landscape import Landscape
from simlab.data import blobs, random_inputs
from simlab.toy.models import blob_mlp, build_mlp, mnist_mlp
from simlab.toy.symbolic import PredictionResult, ellipsoid_volume_formula, mlp_param_count
from simlab.trainer import Probe, TrainConfig, train

__all__ = [
    "LinearSlices", "linear_slices", "toy_landscape", "shift_null_vectors", "rescaling_direction",
    "numerical_rank", "exact_ggn",
    "y1_numeric", "y2_numeric", "y3_numeric", "y4_numeric", "y6_numeric", "y7_numeric",
    "y8_numeric", "numeric_checks",
]


# ------------------------------------------------------------------------------------------
# toy problems and where each layer lives in θ
# ------------------------------------------------------------------------------------------

def toy_landscape(*, widths: Sequence[int] = (6, 6), n_data: int = 16, n_classes: int = 2,
                  loss: str = "ce", activation: str = "relu", seed: int = 0,
                  std: float = 1.0) -> Landscape:
    """A float64 landscape of a 2-input MLP with hidden ``widths``: Sagun's two blobs for
    n_c = 2, seeded Gaussian inputs with uniform labels for n_c > 2."""
    if n_classes == 2:
        X, y, _ = blobs(n_data, std=std, seed=seed)
    else:
        X, y, _ = random_inputs(n_data, dim=2, n_classes=n_classes, seed=seed)
    model = build_mlp(2, tuple(widths), n_classes, activation=activation, seed=seed)
    return Landscape(model, X, y, loss=loss, n_classes=n_classes, dtype=torch.float64)


@dataclass(frozen=True)
class LinearSlices:
    """Where one ``nn.Linear`` sits in the flat θ: its weight (out × in, row-major) and bias."""

    weight: slice
    bias: slice | None
    out_features: int
    in_features: int


def linear_slices(model: nn.Module) -> list[LinearSlices]:
    """The model's ``nn.Linear`` layers in forward order (for ``nn.Sequential`` MLPs) with their
    offsets in θ, which concatenates ``model.named_parameters()``."""
    offsets, i = {}, 0
    for name, p in model.named_parameters():
        offsets[name] = slice(i, i + p.numel())
        i += p.numel()
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            pre = f"{name}." if name else ""
            out.append(LinearSlices(offsets[pre + "weight"],
                                    offsets.get(pre + "bias") if mod.bias is not None else None,
                                    mod.out_features, mod.in_features))
    if not out:
        raise UsageError("the model has no nn.Linear layer; Y3/Y4 directions need an MLP")
    return out


def shift_null_vectors(model: nn.Module, n_params: int, dtype=torch.float64) -> torch.Tensor:
    """(n_params, m+1) unit columns: for each input j of the last layer, W[:, j] += 1 (all class
    rows), and b += 1. Each moves every logit by the same amount, so CE is constant along it."""
    last = linear_slices(model)[-1]
    if last.bias is None:
        raise UsageError("the last layer has no bias; Y3 counts m + 1 directions including b")
    n_c, m = last.out_features, last.in_features
    V = torch.zeros(n_params, m + 1, dtype=dtype)
    for j in range(m):
        V[last.weight.start + torch.arange(n_c) * m + j, j] = 1.0
    V[last.bias, m] = 1.0
    return V / V.norm(dim=0, keepdim=True)


def rescaling_direction(model: nn.Module, n_params: int, layer: int, unit: int,
                        dtype=torch.float64) -> torch.Tensor:
    """The diagonal D (as a ±1/0 vector) of hidden unit ``unit`` after Linear ``layer``: +1 on
    its incoming weights W_l[unit, :] and bias b_l[unit], −1 on its outgoing weights
    W_{l+1}[:, unit]. The rescaling direction at θ is v = D ⊙ θ."""
    layers = linear_slices(model)
    if not 0 <= layer < len(layers) - 1:
        raise UsageError(f"layer {layer} has no following layer; hidden layers are 0..{len(layers) - 2}")
    lin, nxt = layers[layer], layers[layer + 1]
    d = torch.zeros(n_params, dtype=dtype)
    d[lin.weight.start + unit * lin.in_features + torch.arange(lin.in_features)] = 1.0
    if lin.bias is not None:
        d[lin.bias.start + unit] = 1.0
    d[nxt.weight.start + torch.arange(nxt.out_features) * nxt.in_features + unit] = -1.0
    return d


def numerical_rank(M: torch.Tensor, rtol: float = 1e-10) -> int:
    """Number of eigenvalues of the symmetric M with |λ| > rtol · max|λ|."""
    w = torch.linalg.eigvalsh(M)
    return int((w.abs() > rtol * w.abs().max()).sum())


def _loss_of_outputs(land: Landscape):
    """L as a function of the (n_D, n_c) outputs, the same mean the Landscape takes."""
    y = land.y
    if land.loss_name == "ce":
        return lambda out: F.cross_entropy(out, y, reduction="sum") / land.n_data
    onehot = F.one_hot(y, land.n_classes).to(land.dtype)
    return lambda out: F.mse_loss(out, onehot, reduction="sum") / (land.n_data * land.n_classes)


def exact_ggn(land: Landscape, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """The Gauss–Newton decomposition H = Jᵀ H_out J + Σ_{n,c} (∂L/∂f_nc) ∇²_θ f_nc, every
    piece exact: J = ∂f/∂θ (n_D·n_c × P) by ``jacrev``, H_out = ∇²_f L (block diagonal over
    examples), ∇²_θ f by ``torch.func.hessian``. Returns ``ggn``, ``residual_term``, ``H_out``
    and ``J``."""
    theta = theta.detach().to(land.dtype)
    outputs = lambda th: land.outputs(th, land.X)  # noqa: E731
    out = outputs(theta)
    J = jacrev(outputs)(theta).reshape(out.numel(), -1)
    loss_f = _loss_of_outputs(land)
    H_out = hessian(loss_f)(out).reshape(out.numel(), out.numel())
    dL_df = torch.func.grad(loss_f)(out).reshape(-1)
    d2f = hessian(outputs)(theta).reshape(out.numel(), theta.numel(), theta.numel())
    return {"ggn": J.T @ H_out @ J, "residual_term": torch.einsum("k,kij->ij", dL_df, d2f),
            "H_out": H_out, "J": J}


def _numeric(id_: str, statement: str, result: str, residual: float, tolerance: float,
             conditions: dict[str, bool] | None = None, **details) -> PredictionResult:
    conditions = {k: bool(v) for k, v in (conditions or {}).items()}
    return PredictionResult(id=id_, statement=statement, result=result,
                            proved=bool(residual <= tolerance and all(conditions.values())),
                            check="numeric", residual=float(residual), tolerance=float(tolerance),
                            details=details, conditions=conditions)


# ------------------------------------------------------------------------------------------
# Y1–Y4
# ------------------------------------------------------------------------------------------

def y1_numeric(*, seed: int = 0, n_classes: Sequence[int] = (2, 3, 4, 5, 10),
               scale: float = 2.0, tol: float = 1e-12) -> PredictionResult:
    """torch's Hessian of ``F.cross_entropy`` w.r.t. random logits (float64) equals
    diag(p) − ppᵀ; its spectrum has exactly one eigenvalue at machine zero, with eigenvector
    ±1/√n_c, and n_c − 1 positive ones. Residual: the largest entrywise / kernel error."""
    g = torch.Generator().manual_seed(seed)
    worst, ranks = 0.0, {}
    for n in n_classes:
        z = scale * torch.randn(n, generator=g, dtype=torch.float64)
        y = torch.randint(0, n, (1,), generator=g)
        H = hessian(lambda zz: F.cross_entropy(zz[None], y))(z)
        p = torch.softmax(z, 0)
        M = torch.diag(p) - torch.outer(p, p)
        w, V = torch.linalg.eigh(H)
        ones = torch.ones(n, dtype=torch.float64) / math.sqrt(n)
        worst = max(worst, (H - M).abs().max().item(), (H @ ones).abs().max().item(),
                    1 - abs(float(V[:, 0] @ ones)))
        ranks[n] = int((w > 1e-10 * w.max()).sum())
        worst = max(worst, float(-w.min()) if w.min() < 0 else 0.0)
    rank_ok = all(r == n - 1 for n, r in ranks.items())
    return _numeric("Y1", "∇²_z CE = diag(p) − ppᵀ, PSD, rank n_c−1, kernel span(1)",
                    f"torch Hessian of cross_entropy vs diag(p) − ppᵀ, n_c ∈ {tuple(n_classes)}; "
                    f"ranks {ranks}", worst, tol, {"rank is n_c − 1": rank_ok}, ranks=ranks)


def y2_numeric(*, seed: int = 0, widths: Sequence[int] = (10, 10), n_data: int = 8,
               n_classes: int = 2, activation: str = "relu", tol_decomp: float = 1e-10
               ) -> PredictionResult:
    """Exact GGN ranks G = Jᵀ H_out J on a toy net with P > n_D·n_c.

    Always: rank G_MSE = rank J (H_out = (2/(n_D n_c))·I, i.e. (1/n_D)·(2/n_c)·I per example,
    checked), and rank J − n_D ≤ rank G_CE ≤ min(rank J, n_D(n_c − 1)) (H_out is block diagonal
    with an n_D-dimensional kernel). Where the bound binds (J of full row rank n_D·n_c, the
    generic case): rank G_CE = n_D(n_c − 1), rank G_MSE = n_D·n_c, difference exactly n_D.
    (A ReLU net can have a rank-deficient J at some seeds, e.g. dead units; then only the
    inequalities are asserted, and the result says the bound does not bind.) Also checks that
    Jᵀ H_out J plus the second-order output term reproduces :meth:`~simlab.landscape.Landscape.hessian`, so G is the
    Gauss–Newton part of *the* Hessian. Residual: the total rank mismatch (must be 0)."""
    ranks, decomp, mse_out, rank_j = {}, 0.0, None, None
    for loss in ("ce", "mse"):
        land = toy_landscape(widths=widths, n_data=n_data, n_classes=n_classes, loss=loss,
                             activation=activation, seed=seed)
        if land.n_params <= n_data * n_classes:
            raise UsageError(f"the bound only binds when P > n_D·n_c; got P = {land.n_params}, "
                             f"n_D·n_c = {n_data * n_classes}: use wider layers or fewer examples")
        theta = land.theta0
        parts = exact_ggn(land, theta)
        H = land.hessian(theta)
        decomp = max(decomp, ((parts["ggn"] + parts["residual_term"] - H).abs().max()
                              / H.abs().max()).item())
        ranks[loss] = numerical_rank(parts["ggn"])
        rank_j = int(torch.linalg.matrix_rank(parts["J"]))  # J does not depend on the loss
        if loss == "mse":
            eye = torch.eye(n_data * n_classes, dtype=torch.float64)
            mse_out = (parts["H_out"] - 2.0 / (n_data * n_classes) * eye).abs().max().item()
    bound_ce, bound_mse = n_data * (n_classes - 1), n_data * n_classes
    binds = rank_j == bound_mse
    mismatch = (abs(ranks["mse"] - rank_j) + max(0, ranks["ce"] - min(rank_j, bound_ce))
                + max(0, rank_j - n_data - ranks["ce"]))
    if binds:
        mismatch += abs(ranks["ce"] - bound_ce) + abs(ranks["mse"] - ranks["ce"] - n_data)
    return _numeric("Y2", "rank GGN ≤ n_D(n_c−1) (CE), ≤ n_D·n_c (MSE)",
                    f"P={land.n_params}, n_D={n_data}, n_c={n_classes}, rank J = {rank_j} "
                    f"({'bound binds' if binds else 'J rank-deficient: bound does not bind'}): "
                    f"rank CE {ranks['ce']} (bound {bound_ce}), MSE {ranks['mse']} (bound "
                    f"{bound_mse}), difference {ranks['mse'] - ranks['ce']}; "
                    f"|JᵀH_outJ + Σ∂L·∇²f − H|/|H| = {decomp:.1e}",
                    mismatch, 0,
                    {"JᵀH_outJ + Σ ∂L/∂f ∇²f reproduces dense_hessian": decomp <= tol_decomp,
                     "MSE output Hessian is (2/(n_D n_c))·I": mse_out <= 1e-14},
                    ranks=ranks, bounds={"ce": bound_ce, "mse": bound_mse}, rank_J=rank_j,
                    binds=binds, decomposition_error=decomp, mse_output_hessian_error=mse_out,
                    n_params=land.n_params)


def y3_numeric(*, seed: int = 0, widths: Sequence[int] = (6, 6), n_data: int = 16,
               n_classes: int = 2, activation: str = "relu", perturb: float = 0.5,
               tol: float = 1e-12, zero_rtol: float = 1e-10) -> PredictionResult:
    """At a random θ (init plus a seeded perturbation, not a minimum), the exact CE Hessian
    annihilates the m + 1 logit-shift vectors of the last layer (‖Hv‖/‖H‖ at machine zero), g is
    orthogonal to them, and H has ≥ m + 1 eigenvalues with |λ| ≤ zero_rtol·max|λ|."""
    land = toy_landscape(widths=widths, n_data=n_data, n_classes=n_classes, loss="ce",
                         activation=activation, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    theta = land.theta0 + perturb * torch.randn(land.n_params, generator=gen, dtype=torch.float64)
    H = land.hessian(theta)
    g = land.grad(theta)
    V = shift_null_vectors(land.model, land.n_params)
    m = V.shape[1] - 1
    h_norm = torch.linalg.matrix_norm(H, ord=2).item()
    hv = ((H @ V).norm(dim=0) / h_norm).max().item()
    gv = ((g @ V).abs() / g.norm()).max().item()
    w = torch.linalg.eigvalsh(H)
    n_zero = int((w.abs() <= zero_rtol * w.abs().max()).sum())
    return _numeric("Y3", "m+1 logit-shift directions of the last layer are exact null "
                          "directions of H at every θ",
                    f"P={land.n_params}, m={m}: max‖Hv‖/‖H‖ = {hv:.1e}, max|g·v|/‖g‖ = {gv:.1e}, "
                    f"{n_zero} eigenvalues at machine zero (≥ m+1 = {m + 1})",
                    max(hv, gv), tol, {"≥ m+1 eigenvalues at machine zero": n_zero >= m + 1},
                    m=m, n_zero_eigenvalues=n_zero, max_Hv=hv, max_gv=gv)


def _unit_directions(land: Landscape) -> list[tuple[int, int, torch.Tensor]]:
    layers = linear_slices(land.model)
    return [(l, u, rescaling_direction(land.model, land.n_params, l, u))
            for l in range(len(layers) - 1) for u in range(layers[l].out_features)]


def y4_numeric(*, seed: int = 0, widths: Sequence[int] = (6, 6), n_data: int = 16,
               n_classes: int = 2, lr: float = 1.0, steps: int = 300, every: int = 30,
               tol: float = 1e-10) -> PredictionResult:
    """For every hidden ReLU unit, v = D⊙θ satisfies g·v = 0 and the exact identity
    H v = −D g (so ‖Hv‖ = ‖D g‖ ≤ ‖g‖), checked with the exact Hessian at init; then along a
    full-batch GD run, at every ``every`` steps, the same identities with the Landscape's HVP,
    and ‖Hv‖ falling with ‖g‖ (Spearman correlation of max_unit ‖Hv‖ with ‖g‖ over the run).
    Residual: the largest relative violation max(|g·v|/(‖g‖‖v‖), ‖Hv + Dg‖/‖g‖)."""
    land = toy_landscape(widths=widths, n_data=n_data, n_classes=n_classes, loss="ce",
                         activation="relu", seed=seed)
    units = _unit_directions(land)
    theta = land.theta0.clone()
    H = land.hessian(theta)
    g = land.grad(theta)
    worst = 0.0
    for _, _, d in units:
        v = d * theta
        worst = max(worst, abs(float(g @ v)) / float(g.norm() * v.norm()),
                    float((H @ v + d * g).norm() / g.norm()))
    def probe(th, step, landscape):
        g = landscape.grad(th)
        hv_max, bad = 0.0, 0.0
        for _, _, d in units:
            v = d * th
            hv = landscape.hvp(th, v)
            bad = max(bad, abs(float(g @ v)) / float(g.norm() * v.norm()),
                      float((hv + d * g).norm() / g.norm()))
            hv_max = max(hv_max, float(hv.norm()))
        return {"y4_grad_norm": float(g.norm()), "y4_hv_max": hv_max, "y4_worst": bad}

    # GD by the one trainer; the probe measures the units at every ``every`` steps
    pts = []
    train(land, TrainConfig(lr=lr, max_steps=steps, telemetry_every=every, k=1),
          probes=[Probe(every, probe)], progress=False, on_point=lambda p, e: pts.append(p))
    gnorms = [p["y4_grad_norm"] for p in pts]
    hvnorms = [p["y4_hv_max"] for p in pts]
    worst = max([worst] + [p["y4_worst"] for p in pts])
    bound_ok = all(h <= g * (1 + 1e-9) for g, h in zip(gnorms, hvnorms))
    from scipy.stats import spearmanr
    rho = float(spearmanr(gnorms, hvnorms).statistic)
    falls = hvnorms[-1] < hvnorms[0] and gnorms[-1] < gnorms[0]
    return _numeric("Y4", "g ⟂ every ReLU rescaling direction; H v = −D g, so ‖Hv‖ → 0 as ‖g‖ → 0",
                    f"{len(units)} units; GD {steps} steps: ‖g‖ {gnorms[0]:.2e} → {gnorms[-1]:.2e}, "
                    f"max‖Hv‖ {hvnorms[0]:.2e} → {hvnorms[-1]:.2e} (Spearman {rho:.2f}, "
                    f"‖Hv‖ ≤ ‖g‖ {'always' if bound_ok else 'VIOLATED'})",
                    worst, tol,
                    {"‖Hv‖ ≤ ‖g‖ at every checkpoint": bound_ok,
                     "‖Hv‖ and ‖g‖ fall together (Spearman ≥ 0.9)": falls and rho >= 0.9},
                    grad_norms=gnorms, hv_norms=hvnorms, spearman=rho, n_units=len(units))


# ------------------------------------------------------------------------------------------
# Y6–Y8
# ------------------------------------------------------------------------------------------

def y6_numeric(*, seed: int = 0, widths: Sequence[int] = (6, 6), n_data: int = 16,
               n_classes: int = 2, activation: str = "tanh",
               rho: Sequence[float] = tuple(np.geomspace(0.01, 0.2, 7)),
               slope_tol: float = 0.3) -> PredictionResult:
    """ΔL = L(θ − ηg) − L(θ), re-evaluated, vs η Σ d_i²(½ηλ_i − 1) from the full exact
    eigendecomposition, at η = 2ρ/λ_1 for each ρ; the error should be O(η³): the slope of
    log error against log η is fitted and must be 3 ± slope_tol. Default tanh, so L is smooth
    (a ReLU net's loss has kinks a step may cross). Residual: |slope − 3|."""
    land = toy_landscape(widths=widths, n_data=n_data, n_classes=n_classes, loss="ce",
                         activation=activation, seed=seed)
    theta = land.theta0
    H = land.hessian(theta)
    lam, V = torch.linalg.eigh(H)
    loss0, g = land.loss_grad(theta)
    d = V.T @ g
    etas = 2 * np.asarray(rho, dtype=float) / float(lam.max())
    measured = np.array([land.loss(theta - eta * g) - loss0 for eta in etas])
    predicted = np.array([float(eta * (d ** 2 * (0.5 * eta * lam - 1)).sum()) for eta in etas])
    err = np.abs(measured - predicted)
    slope = float(np.polyfit(np.log(etas), np.log(err), 1)[0])
    return _numeric("Y6", "ΔL = η Σ d_i²(½ηλ_i − 1) + O(η³)",
                    f"P={land.n_params}, η ∈ [{etas[0]:.1e}, {etas[-1]:.1e}]: |ΔL − formula| "
                    f"from {err[0]:.1e} to {err[-1]:.1e}, fitted order {slope:.2f} (expect 3); "
                    f"relative error at smallest η {err[0] / abs(measured[0]):.1e}",
                    abs(slope - 3), slope_tol, None,
                    etas=etas.tolist(), measured=measured.tolist(), predicted=predicted.tolist(),
                    slope=slope)


def y7_numeric(*, ks: Sequence[int] = (1, 2, 10, 50), hs: Sequence[int] = (2, 6, 10, 14, 18),
               archs: Sequence[tuple[int, ...]] = ((3, (4,), 5), (2, (7, 3, 2), 4))
               ) -> PredictionResult:
    """sum(p.numel()) of the built 784-k-10, 2-h-h-2 and other MLPs vs the sympy counts
    785k + 10(k+1), h² + 6h + 2 and Σ (n_i + 1)n_{i+1}. Residual: the largest difference."""
    def numel(model):
        return sum(p.numel() for p in model.parameters())
    diffs = [abs(numel(mnist_mlp(k)) - (785 * k + 10 * (k + 1))) for k in ks]
    diffs += [abs(numel(blob_mlp(h)) - (h * h + 6 * h + 2)) for h in hs]
    diffs += [abs(numel(build_mlp(a, w, c)) - int(mlp_param_count([a, *w, c]))) for a, w, c in archs]
    return _numeric("Y7", "784-k-10 has 785k + 10(k+1) parameters; 2-h-h-2 has h² + 6h + 2",
                    f"built models: k ∈ {tuple(ks)}, h ∈ {tuple(hs)}, {len(archs)} other MLPs; "
                    f"blob h→P {[numel(blob_mlp(h)) for h in hs]}",
                    max(diffs), 0)


def y8_numeric(*, seed: int = 0, lam: tuple[float, float] = (3.0, 0.5), angle: float = 0.6,
               eps: float = 0.1, n_samples: int = 400_000, z: float = 4.0) -> PredictionResult:
    """Monte Carlo volume of {x : ½ xᵀHx ≤ ε} for a rotated 2-D H with eigenvalues ``lam``:
    uniform samples in the bounding box |x_i| ≤ √(2ε (H⁻¹)_ii), volume = box · fraction inside.
    Must agree with the formula within ``z`` standard errors. Also records the formula's growth
    V ∝ λ_2^{−1/2} as λ_2 → 0 (the divergence)."""
    c, s = math.cos(angle), math.sin(angle)
    Q = np.array([[c, -s], [s, c]])
    H = Q @ np.diag(lam) @ Q.T
    half = np.sqrt(2 * eps * np.diag(np.linalg.inv(H)))
    rng = np.random.default_rng(seed)
    x = rng.uniform(-half, half, size=(n_samples, 2))
    inside = 0.5 * np.einsum("ni,ij,nj->n", x, H, x) <= eps
    box = float(np.prod(2 * half))
    frac = float(inside.mean())
    est, se = box * frac, box * math.sqrt(frac * (1 - frac) / n_samples)
    expr, e_sym, l_sym = ellipsoid_volume_formula(2)
    volume = lambda l2: float(expr.subs({e_sym: eps, l_sym[0]: lam[0], l_sym[1]: l2}))  # noqa: E731
    exact = volume(lam[1])
    growth = {f"{l2:g}": volume(l2) for l2 in (1e-2, 1e-4, 1e-6)}
    return _numeric("Y8", "basin volume V = (2ε)^{d/2} π^{d/2} / (Γ(d/2+1) Π√λ_i)",
                    f"2-D, λ = {lam}, ε = {eps}: formula {exact:.5f}, Monte Carlo {est:.5f} ± {se:.5f} "
                    f"(n = {n_samples}); V(λ_2 → 0) = {', '.join(f'{v:.3g}' for v in growth.values())} "
                    f"for λ_2 = {', '.join(growth)}",
                    abs(est - exact), z * se, None,
                    formula=exact, monte_carlo=est, standard_error=se, divergence=growth)


def numeric_checks(*, seed: int = 0) -> list[PredictionResult]:
    """Every numerical check, with its defaults and the given seed."""
    return [y1_numeric(seed=seed), y2_numeric(seed=seed), y3_numeric(seed=seed),
            y4_numeric(seed=seed), y6_numeric(seed=seed), y7_numeric(), y8_numeric(seed=seed)]
