"""How much of the sharpness is the Gauss–Newton term's ([K] Lowell & Kastner 2024, claim K2).

The Hessian of a loss ℓ(f_θ(x), y) averaged over the training set splits as

    H = G + R,   G = Σ_x J_xᵀ ∇²_f ℓ J_x   (J_x = ∂f_θ(x)/∂θ),   R = Σ_x Σ_o ∂ℓ/∂f_o · ∇²_θ f_o(x),

G the generalised Gauss–Newton matrix (positive semi-definite for cross-entropy and MSE;
:class:`simlab.operators.GGNOperator`) and R the residual, which vanishes where f is linear in θ
or the fit is exact. Lowell & Kastner attribute the rise of λ_1(H) to G. :func:`sharpness_parts`
measures λ_1(H), λ_1(G) and their ratio at one θ, for the whole net and for each layer's block of
parameters (the principal sub-matrix H[I, I] of layer I: its own curvature, the cross-layer terms
left out), either exactly from the dense matrices (``method="dense"``, the toy regime) or by
Lanczos on the matrix-free operators (``method="lanczos"``, any net).
"""

from __future__ import annotations

import time

import torch
from torch.func import jacrev

from simlab.distributed import all_reduce
from simlab.errors import UsageError, require
from simlab.landscape import check_landscape, check_vector
from simlab.operators import BlockOperator
from simlab.spectrum import top_eigen

METHODS = ("dense", "lanczos")


def layer_blocks(names) -> dict[str, list[str]]:
    """Parameter names grouped by the module that owns them, in θ's order
    (``"0.weight", "0.bias", "2.weight"`` → ``{"0": [...], "2": [...]}``)."""
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(name.rsplit(".", 1)[0] if "." in name else name, []).append(name)
    return out


def dense_ggn(landscape, theta: torch.Tensor) -> torch.Tensor:
    """The dense G = Σ_chunks J_cᵀ H_c J_c at θ: J_c (batch × n_outputs × n) by
    ``torch.func.jacrev``, H_c J_c by :meth:`Landscape.output_hvp` (block-diagonal over examples;
    cross-entropy and MSE apply it to all n columns at once). A loss callable goes column by
    column through :class:`simlab.operators.GGNOperator` (n products)."""
    if landscape.loss_name not in ("ce", "mse"):
        return landscape.operator(theta, curvature="ggn").dense()
    n = landscape.n_params
    G = torch.zeros(n, n, dtype=landscape.dtype, device=landscape.device)
    for xb, yb in landscape.chunks():
        J = jacrev(lambda th: landscape.outputs(th, xb))(theta)         # (b, c, n)
        HJ = landscape.output_hvp(landscape.outputs(theta, xb), yb, J.permute(2, 0, 1))
        G += torch.einsum("pbc,bcq->pq", HJ, J)
    return all_reduce(G)


def _lambda_1_dense(M: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(M)[-1])


def sharpness_parts(landscape, theta: torch.Tensor, *, method: str = "dense", blocks: bool = True,
                    tol: float = 1e-6) -> dict:
    """λ_1 of the Hessian and of its Gauss–Newton part at θ (the algebraically largest
    eigenvalues), their ratio, and the same per layer block.

    Returns ``{"lambda_1_h", "lambda_1_ggn", "ggn_ratio" (= λ_1(G)/λ_1(H)), "ggn_blocks":
    {layer: {"h": λ_1(H[I, I]), "ggn": λ_1(G[I, I])}}, "ggn_seconds"}``. ``dense`` builds H
    (:meth:`Landscape.hessian`) and G (:func:`dense_ggn`) and takes their eigenvalues by
    ``eigvalsh``; ``lanczos`` takes each λ_1 by :func:`simlab.spectrum.top_eigen` to the relative
    accuracy ``tol``."""
    check_landscape(landscape)
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    require("tol", tol, positive=True, arg=True)
    theta = check_vector("theta", theta, landscape.n_params, dtype=landscape.dtype,
                         device=landscape.device)
    names = [n for n, _ in landscape.model.named_parameters()]
    groups = layer_blocks(names) if blocks else {}
    t0 = time.perf_counter()
    if method == "dense":
        H = landscape.hessian(theta)
        G = dense_ggn(landscape, theta)
        G = (G + G.T) / 2
        lam_h, lam_g = _lambda_1_dense(H), _lambda_1_dense(G)
        per = {}
        for layer, params in groups.items():
            idx = landscape.param_indices(params)
            per[layer] = {"h": _lambda_1_dense(H[idx][:, idx]),
                          "ggn": _lambda_1_dense(G[idx][:, idx])}
    else:
        # one operator of each kind (each holds its graphs), its layer blocks as views of it
        ops = {c: landscape.operator(theta, curvature=c) for c in ("hessian", "ggn")}

        def top(curvature, params=None):
            op = ops[curvature]
            if params is not None:
                op = BlockOperator(op, landscape.param_indices(params))
            return float(top_eigen(op, 1, tol=tol).eigenvalues[0])

        lam_h, lam_g = top("hessian"), top("ggn")
        per = {layer: {"h": top("hessian", params), "ggn": top("ggn", params)}
               for layer, params in groups.items()}
    return {"lambda_1_h": lam_h, "lambda_1_ggn": lam_g,
            "ggn_ratio": lam_g / lam_h if lam_h > 0 else float("nan"),
            "ggn_blocks": per, "ggn_seconds": time.perf_counter() - t0}


def probe(method: str = "dense", blocks: bool = True, tol: float = 1e-6):
    """A :class:`simlab.trainer.Probe` function: ``sharpness_parts`` at the probe's θ."""
    def fn(theta, step, landscape):
        return sharpness_parts(landscape, theta, method=method, blocks=blocks, tol=tol)
    return fn
