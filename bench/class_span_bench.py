"""Beyond the Krylov floor? Starting the top-k solve from the class structure (Papyan 2020).

    python bench/class_span_bench.py            # digits MLP (exact) and the floor CNN (CIFAR-10)
    python bench/class_span_bench.py --no-cnn   # the digits MLP alone (~1 min)

A classifier's top n_c − 1 Hessian eigenvectors are known to lie near a span built from the class
structure: Papyan (2020) traces the outliers to class means of per-example gradients. If the
solver started from that span, could the top k be found in fewer products than the single-vector
Krylov floor (plain Lanczos, full reorthogonalisation, random start)? This script measures it on
the same operator, counting every product, and asserts nothing.

Start spans (n_c vectors each, from one pass over the data per class: about one gradient in all):

- ``loss``: the class means of the loss gradient, g_c = ∇ mean_{i∈c} ℓ_i;
- ``papyan``: Papyan's class means δ_{c,c} = mean_{i∈c} √p_{i,c} ∇ℓ_i (the Gauss–Newton matrix is
  Σ_{c'} mean_i p_{i,c'} ∇ℓ(x_i, c') ∇ℓ(x_i, c')ᵀ, and its class/class means carry the outliers);
- ``logit``: the n_c² class means of the logit gradients mean_{i∈c} ∇z_{c'} (n_c passes; only
  its capture is printed: a Rayleigh–Ritz step on n_c² vectors costs more products than the floor);
- ``previous``: the previous telemetry point's top eigenvectors (θ_a, 10 or 20 steps earlier): not
  the class structure, but the other span a solver could start from.

Printed per net: (1) how much of the top n_c − 1 eigenspace each span holds (the mean of
‖P u_i‖² over i < n_c, 1 = all of it) and the accuracy of a Rayleigh–Ritz step on it alone;
(2) products until the top k are within 1e−3 (relative) of the reference, for plain Lanczos from
a random start (the floor), from the normalised sum of the previous eigenvectors plus a random
vector (simlab's warm start), and for the span itself followed by Krylov vectors from a random
start (an augmented basis: full Rayleigh–Ritz on span ∪ K_m(H, r), the span's products counted).
Reference: the dense spectrum (digits) or a 240-product float64 Lanczos run whose top-k residuals
are printed (CNN).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from simlab.landscape import Landscape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from telemetry_bench import CIFAR_NPZ, cifar, cnn  # noqa: E402

TOL = 1e-3
KS = (9, 10, 11, 20)


# ----------------------------------------------------------------------------- start spans

def class_span(land: Landscape, theta: torch.Tensor, kind: str) -> torch.Tensor:
    """The start span ``kind`` (see the module docstring) as columns, one forward/backward pass
    over each class's examples (``logit``: n_c of them)."""
    cols = []
    for c in range(land.n_classes):
        m = land.y == c
        th = theta.detach().clone().requires_grad_(True)
        logp = F.log_softmax(land.outputs(th, land.X[m]), dim=1)
        if kind == "logit":
            z = land.outputs(th, land.X[m]).mean(0)
            cols += [torch.autograd.grad(z[j], th, retain_graph=True)[0] for j in range(len(z))]
            continue
        w = logp[:, c].detach().exp().sqrt() if kind == "papyan" else torch.ones(int(m.sum()))
        cols.append(torch.autograd.grad(-(w.to(logp) * logp[:, c]).mean(), th)[0])
    return torch.stack(cols, 1)


def orthonormal(V: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of span(V), directions below 1e−10 of the largest dropped."""
    U, s, _ = torch.linalg.svd(V, full_matrices=False)
    return U[:, s > 1e-10 * s[0]]


def capture(V: torch.Tensor, U: torch.Tensor) -> float:
    """Mean over U's columns of ‖P_V u‖² (1: span(V) holds all of span(U))."""
    Q = orthonormal(V)
    return float(((Q.T @ U) ** 2).sum(0).mean())


# ----------------------------------------------------------------------------- Krylov runs

class Basis:
    """An orthonormal basis grown one vector at a time, every vector's product stored, Ritz values
    by full Rayleigh–Ritz (so a block of given vectors and Krylov vectors mix freely)."""

    def __init__(self, hvp, n: int):
        self.hvp, self.Q, self.W = hvp, torch.zeros(0, n, dtype=torch.float64), None
        self.products = 0

    def add(self, v: torch.Tensor, w: torch.Tensor | None = None) -> bool:
        """Add span(v); ``w`` = H v when known (then no product is taken: H of the
        orthogonalised v is the same combination of the stored products)."""
        if w is None:
            w = self.hvp(v)
            self.products += 1
        for _ in range(2):
            c = self.Q @ v
            v, w = v - self.Q.T @ c, w - (self.W.T @ c if self.W is not None else 0)
        norm = torch.linalg.vector_norm(v)
        if norm < 1e-10:
            return False
        v, w = v / norm, w / norm
        self.Q = torch.cat([self.Q, v[None]])
        self.W = w[None] if self.W is None else torch.cat([self.W, w[None]])
        return True

    def ritz(self):
        T = (self.Q @ self.W.T).numpy()
        theta, S = np.linalg.eigh((T + T.T) / 2)
        return theta[::-1], S[:, ::-1]

    def residuals(self, k: int) -> np.ndarray:
        theta, S = self.ritz()
        Sk = torch.from_numpy(np.ascontiguousarray(S[:, :k]))
        R = Sk.T @ self.W - (Sk.T @ self.Q) * torch.from_numpy(theta[:k].copy())[:, None]
        return torch.linalg.vector_norm(R, dim=1).numpy()


def run(hvp, n: int, block: torch.Tensor | None, start: torch.Tensor, ref: np.ndarray,
        ks, limit: int) -> dict:
    """Products until each k's top values are within TOL of ``ref``: the block first (its
    products counted), then the Krylov space K_m(H, start) of plain Lanczos (full
    reorthogonalisation among its own vectors), Rayleigh–Ritz on span(block) + K_m."""
    B = Basis(hvp, n)
    if block is not None:
        for j in range(block.shape[1]):
            B.add(block[:, j])
    K = torch.zeros(0, n, dtype=torch.float64)
    v, found = start / torch.linalg.vector_norm(start), {}
    while B.products < limit and len(found) < len(ks):
        w = hvp(v)
        B.products += 1
        B.add(v, w)
        K = torch.cat([K, v[None]])
        for _ in range(2):
            w = w - K.T @ (K @ w)
        v = w / torch.linalg.vector_norm(w)
        theta = B.ritz()[0]
        for k in ks:
            if k not in found and len(theta) >= k and \
                    np.max(np.abs(theta[:k] - ref[:k]) / np.abs(ref[:k])) <= TOL:
                found[k] = B.products
    return found


def random_unit(n: int, seed: int) -> torch.Tensor:
    g = torch.from_numpy(np.random.default_rng(seed).standard_normal(n))
    return g / torch.linalg.vector_norm(g)


def rr_error(hvp, V: torch.Tensor, ref: np.ndarray, k: int) -> float:
    B = Basis(hvp, V.shape[0])
    for j in range(V.shape[1]):
        B.add(V[:, j])
    theta = B.ritz()[0][:k]
    return float(np.max(np.abs(theta - ref[:len(theta)]) / np.abs(ref[:len(theta)])))


# ----------------------------------------------------------------------------- one net

def measure(name: str, land: Landscape, theta_a, theta_b, ref: np.ndarray, U: torch.Tensor,
            seeds: int, limit: int) -> None:
    n, C = land.n_params, land.n_classes
    hvp = (lambda v, op=land.operator(theta_b): op.matvec(v))
    prev = top_vectors(land, theta_a, max(KS))
    print(f"\n### {name}: {n:,} parameters, n_D {land.n_data}, λ_1 = {ref[0]:.4g}, "
          f"λ_{C - 1} / λ_{C} = {ref[C - 2] / ref[C - 1]:.3f}, λ_{C} / λ_{C + 1} = {ref[C - 1] / ref[C]:.3f}")
    spans = {kind: class_span(land, theta_b, kind) for kind in ("loss", "papyan", "logit")}
    spans["previous"] = prev[:, :C - 1]
    print(f"(1) span holds of the top {C - 1} eigenspace (mean ‖P u_i‖²), and a Rayleigh–Ritz "
          "step on it alone")
    for kind, V in spans.items():
        err = "" if kind == "logit" else \
            f"; RR on its {V.shape[1]} vectors: top-{C - 1} error {rr_error(hvp, V, ref, C - 1):.2e}"
        print(f"    {kind:9s} {V.shape[1]:4d} vectors: {capture(V, U[:, :C - 1]):.3f}{err}")
    print(f"(2) products until the top k are within {TOL:g} (mean over {seeds} seeds; "
          f"'>{limit}': not within {limit})")
    starts = {
        "floor: K(H, random)": lambda s: (None, random_unit(n, s)),
        "warm: K(H, Σ prev + random)": lambda s: (None, warm_start(prev, n, s)),
        "loss span ∪ K(H, random)": lambda s: (spans["loss"], random_unit(n, s)),
        "papyan span ∪ K(H, random)": lambda s: (spans["papyan"], random_unit(n, s)),
        f"prev top {C - 1} ∪ K(H, random)": lambda s: (prev[:, :C - 1], random_unit(n, s)),
        f"prev top {max(KS)} ∪ K(H, random)": lambda s: (prev, random_unit(n, s)),
        f"prev top {C - 1} ∪ loss span ∪ K": lambda s: (torch.cat([prev[:, :C - 1], spans["loss"]], 1),
                                                        random_unit(n, s)),
    }
    print("    " + f"{'start':32s}" + "".join(f"  k={k:<5d}" for k in KS))
    floor = None
    for label, make in starts.items():
        got = {k: [] for k in KS}
        for s in range(seeds):
            block, start = make(s)
            found = run(hvp, n, block, start, ref, KS, limit)
            for k in KS:
                got[k].append(found.get(k, np.inf))
        mean = {k: float(np.mean(v)) for k, v in got.items()}
        floor = floor or mean
        cells = "".join(f"  {mean[k]:6.1f}" if np.isfinite(mean[k]) else f"  {'>' + str(limit):>6s}"
                        for k in KS)
        ratio = " ".join(f"{mean[k] / floor[k]:.2f}" for k in KS if np.isfinite(mean[k]))
        print(f"    {label:32s}{cells}   × floor: {ratio}")


def warm_start(prev: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    a = (prev / torch.linalg.vector_norm(prev, dim=0)).sum(1)
    v = a / torch.linalg.vector_norm(a) + random_unit(n, seed)
    return v / torch.linalg.vector_norm(v)


def top_vectors(land: Landscape, theta, k: int) -> torch.Tensor:
    from simlab.spectrum import top_eigen

    return top_eigen(land.operator(theta), k, tol=1e-6, seed=123).eigenvectors


def reference(land: Landscape, theta, k: int, products: int):
    """(values, vectors) of the top k: dense for a small net, else a long Lanczos run."""
    if land.n_params <= 4000:
        w, V = torch.linalg.eigh(land.hessian(theta))
        return w.numpy()[::-1].copy(), V.flip(1)[:, :k]
    op = land.operator(theta)
    B = Basis(op.matvec, land.n_params)
    v = random_unit(land.n_params, 999)
    for _ in range(products):
        w = op.matvec(v)
        B.products += 1
        B.add(v, w)
        for _ in range(2):
            w = w - B.Q.T @ (B.Q @ w)
        v = w / torch.linalg.vector_norm(w)
    theta_r, S = B.ritz()
    res = B.residuals(k)
    print(f"reference: {products} float64 Lanczos products, top-{k} residual / λ ≤ "
          f"{np.max(res / np.abs(theta_r[:k])):.1e}")
    Sk = torch.from_numpy(np.ascontiguousarray(S[:, :k]))
    return theta_r, B.Q.T @ Sk


def gd(land: Landscape, theta, eta: float, steps: int):
    for _ in range(steps):
        theta = theta - eta * land.grad(theta)
    return theta


def digits_net(seeds: int) -> None:
    from simlab.data import digits
    from simlab.toy.models import mnist_mlp

    X, y, _ = digits(1797, seed=0)
    land = Landscape(mnist_mlp(16, activation="tanh", in_dim=64, seed=0), X, y, n_classes=10,
                     dtype=torch.float64)
    eta, steps, gap = 2.0, 90, 10  # on the edge at θ_b (ρ_1 ≈ 0.95); θ_a 10 steps earlier
    theta_a = gd(land, land.theta0, eta, steps)
    theta_b = gd(land, theta_a, eta, gap)
    ref, U = reference(land, theta_b, max(KS), 0)
    measure(f"digits MLP 64-16-10 tanh, η = {eta}, θ_b = {steps + gap} GD steps, θ_a {gap} before, "
            f"ρ_1 = {ref[0] * eta / 2:.2f}", land, theta_a, theta_b, ref, U, seeds, 200)


def cnn_net(seeds: int, n_data: int) -> None:
    if not CIFAR_NPZ.exists():
        print(f"\n### CNN: skipped ({CIFAR_NPZ} not found; see ../shared/data/README.md)")
        return
    X, y = cifar(n_data)
    land = Landscape(cnn(8), X, y, n_classes=10, dtype=torch.float64)
    eta = 0.05
    theta_a = gd(land, land.theta0, eta, 20)
    theta_b = gd(land, theta_a, eta, round(1 / eta))
    ref, U = reference(land, theta_b, max(KS), 240)
    measure(f"CNN conv8-pool-conv16-pool-fc32-fc10, η = {eta}, θ_b = 40 GD steps, "
            f"ρ_1 = {ref[0] * eta / 2:.2f}", land,
            theta_a, theta_b, ref, U, seeds, 200)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="random starts per row (default 3)")
    p.add_argument("--no-cnn", action="store_true", help="the digits MLP alone")
    p.add_argument("--n-data", type=int, default=256, help="CIFAR-10 images for the CNN (default 256)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"# class-span starts against the Krylov floor, tol {TOL:g}, k = {', '.join(map(str, KS))}")
    digits_net(a.seeds)
    if not a.no_cnn:
        cnn_net(a.seeds, a.n_data)


if __name__ == "__main__":
    main()
