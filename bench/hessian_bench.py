"""Hessian benchmark: ratios measured in one run, on this machine.

    python bench/hessian_bench.py            # full, ~5 min on 2 CPU cores
    python bench/hessian_bench.py --quick    # < 1 min, smaller sizes, same sections

(a) cost of one Hessian-vector product in gradients, for each way of taking it
    (double backward "rev-rev", forward-over-reverse "fwd-rev", and the held-graph operator,
    which builds the gradient graph once and answers each product with one backward pass),
    on a toy MLP, a small CNN with max-pooling and its twin without pooling (stride-2 convs,
    same parameter count), and AlexNet at width 1/8 from simlab.scale.models;
(b) HVPs per eigenpair for Lanczos vs deflated power iteration, at equal accuracy (relative
    eigenvalue error vs eigh of the exact dense Hessian of a trained toy net), k = 1, 5, 10;
(c) the PERFORMANCE.md task: conv16-pool-conv32-pool-fc64-fc10 (136,874 parameters) on 512
    CIFAR-10 images, top-20 by Lanczos tol 1e-3 from a cold start and warm-started from the
    eigenvectors of a few GD steps earlier, against a tol-1e-10 float64 reference.

Every number printed is measured in this run; ratios (HVP / gradient) are what carry to another
machine. CIFAR-10 comes from ../shared/data/cifar10_subset.npz when present (otherwise (a) uses
synthetic Gaussian images, and (c), which is defined on real images, is skipped — the output says
which).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from simlab.landscape import Landscape
from simlab.operators import DenseOperator
from simlab.spectrum import top_eigen
from simlab.toy.data import digits
from simlab.toy.hessian import dense_hessian
from simlab.toy.models import build_mlp

CIFAR_NPZ = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10_subset.npz"


# --------------------------------------------------------------------------- helpers

def median_time(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cnn(pool: bool, seed: int = 0) -> nn.Sequential:
    """conv16-pool-conv32-pool-fc64-fc10 (136,874 parameters), ReLU, Kaiming init; without
    ``pool`` the two 2×2 max-pools become stride 2 in the convs before them (same shapes and
    parameter count, no pooling)."""
    from simlab.scale.models import kaiming_init_

    s = 1 if pool else 2
    layers = [nn.Conv2d(3, 16, 3, stride=s, padding=1), nn.ReLU()]              # (B, 16, 32|16, ·)
    layers += [nn.MaxPool2d(2)] if pool else []                                  # (B, 16, 16, 16)
    layers += [nn.Conv2d(16, 32, 3, stride=s, padding=1), nn.ReLU()]
    layers += [nn.MaxPool2d(2)] if pool else []                                  # (B, 32, 8, 8)
    layers += [nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 10)]
    net = nn.Sequential(*layers)
    kaiming_init_(net, "relu", torch.Generator().manual_seed(seed))
    return net


def cifar(n: int):
    """(X float32 [n, 3, 32, 32], y, description): the real subset if present, else synthetic."""
    if CIFAR_NPZ.exists():
        from simlab.scale.data import DataSpec, load_cifar10

        X, y, info = load_cifar10(DataSpec(data_root=str(CIFAR_NPZ), n_data=n, seed=0), verify=False)
        return X, y, f"real CIFAR-10 ({info['source']}, {n} images, balanced, standardised)"
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return X, y, f"SYNTHETIC Gaussian images ({n}; {CIFAR_NPZ} not found)"


def gd_steps(ls: Landscape, theta: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    for _ in range(steps):
        theta = theta - lr * ls.grad(theta)
    return theta


def rel_err(values: np.ndarray, ref: np.ndarray) -> float:
    """Largest relative error over the top k eigenvalues."""
    k = len(values)
    return float(np.max(np.abs(np.asarray(values) - ref[:k]) / np.abs(ref[:k])))


# --------------------------------------------------------------------------- (a)

def hvp_costs(name: str, ls: Landscape, repeats: int, products: int) -> dict:
    """Seconds per gradient and per HVP (three ways), at θ_0 with a fixed random vector.

    The four timings are interleaved within each repeat and the *ratios* are taken per repeat,
    then the median over repeats, so load from other processes affects numerator and
    denominator alike. The held-graph operator pays its build (one create_graph gradient) once,
    then one backward per product: reported per product, as build cost, and amortised over
    ``products`` products (a Lanczos solve takes 20-50).
    """
    theta = ls.theta0
    v = torch.randn(ls.n_params, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(ls.dtype)

    def clock(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def held():
        op = ls.operator(theta, hold_graph=True)
        t_first = clock(lambda: op.matvec(v))
        t_rest = clock(lambda: [op.matvec(v) for _ in range(products - 1)]) / (products - 1)
        op.release()
        return t_first - t_rest, t_rest

    ls.loss_grad(theta), ls.hvp(theta, v, method="rev-rev"), ls.hvp(theta, v, method="fwd-rev"), held()
    rows = []
    for _ in range(repeats):
        t_grad = clock(lambda: ls.loss_grad(theta))
        t_rr = clock(lambda: ls.hvp(theta, v, method="rev-rev"))
        t_fr = clock(lambda: ls.hvp(theta, v, method="fwd-rev"))
        t_build, t_held = held()
        t_grad = (t_grad + clock(lambda: ls.loss_grad(theta))) / 2  # before and after
        rows.append((t_grad, t_rr / t_grad, t_fr / t_grad, t_held / t_grad, t_build / t_grad))
    med = [statistics.median(c) for c in zip(*rows)]
    row = {"name": name, "n_params": ls.n_params, "grad_s": med[0], "rev-rev": med[1], "fwd-rev": med[2],
           "held": med[3], "held_build": med[4], "held_amortised": (med[4] + products * med[3]) / products}
    best = min(("rev-rev", "fwd-rev"), key=lambda m: row[m])
    print(f"  {name:<34} {ls.n_params:>9,} {row['grad_s'] * 1e3:>8.1f} ms   rev-rev {row['rev-rev']:4.2f}   "
          f"fwd-rev {row['fwd-rev']:4.2f}   held {row['held']:4.2f} (+{row['held_build']:.2f} build, "
          f"{row['held_amortised']:.2f} over {products})   faster recomputing method: {best}", flush=True)
    return row


def section_a(quick: bool) -> list[dict]:
    n_img, repeats = (128, 3) if quick else (512, 5)
    X, y, what = cifar(n_img)
    print(f"\n(a) HVP time / gradient time (median of {repeats}); images: {what}")
    print(f"  {'model':<34} {'params':>9} {'gradient':>11}")
    rows = []
    Xd, yd, _ = digits(1000, seed=0)
    rows.append(hvp_costs("toy MLP 64-32-32-10 (digits, f64)",
                          Landscape(build_mlp(64, (32, 32), 10, seed=0), Xd, yd, n_classes=10), repeats * 2, 20))
    rows.append(hvp_costs("CNN conv-pool-conv-pool (f32)",
                          Landscape(cnn(pool=True), X, y, n_classes=10, dtype=torch.float32), repeats, 20))
    rows.append(hvp_costs("CNN stride-2, no pooling (f32)",
                          Landscape(cnn(pool=False), X, y, n_classes=10, dtype=torch.float32), repeats, 20))
    if not quick:
        from simlab.scale.models import build_model

        rows.append(hvp_costs("AlexNet width 1/8, pools (f32)",
                              Landscape(build_model("alexnet", width=0.125), X[:256], y[:256], n_classes=10,
                                        dtype=torch.float32), repeats, 20))
    return rows


# --------------------------------------------------------------------------- (b)

TOLS = [10.0 ** -e for e in np.arange(1, 12.5, 0.5)]


def cheapest(H: torch.Tensor, ref: np.ndarray, k: int, method: str, target: float, *,
             ncvs=(None,), maxiter: int = 20000):
    """The fewest products with which ``method`` reaches ``target`` relative error, swept over
    tol (and over ARPACK's Krylov dimension ``ncv`` for Lanczos): (products, tol, ncv)."""
    best = (None, None, None)
    for ncv in ncvs:
        for tol in TOLS:
            eig = top_eigen(DenseOperator(H), k, method=method, tol=tol, maxiter=maxiter, ncv=ncv,
                            with_residuals=False) if method == "lanczos" else \
                top_eigen(DenseOperator(H), k, method=method, tol=tol, maxiter=maxiter, with_residuals=False)
            if len(eig.eigenvalues) == k and rel_err(eig.eigenvalues, ref) <= target:
                if best[0] is None or eig.n_matvecs < best[0]:
                    best = (eig.n_matvecs, tol, ncv)
                break
    return best


def section_b(quick: bool) -> list[dict]:
    n, hidden = (300, 16) if quick else (600, 32)
    X, y, _ = digits(n, seed=0)
    ls = Landscape(build_mlp(64, (hidden,), 10, seed=0), X, y, n_classes=10)
    steps = 50 if quick else 100
    theta = gd_steps(ls, ls.theta0, lr=0.5, steps=steps)
    H = dense_hessian(ls, theta)
    ref = np.linalg.eigvalsh(H.numpy())[::-1]
    print(f"\n(b) HVPs per eigenpair at equal accuracy: digits MLP 64-{hidden}-10 ({ls.n_params} params, "
          f"{n} images, {steps} GD steps, loss {ls.loss(theta):.3f}); reference eigh of the dense "
          f"Hessian; λ1..λ11 = {np.array2string(ref[:11], precision=3)}")
    print("  fewest HVPs reaching the target max relative eigenvalue error, tol swept 1e-1 … 1e-12;"
          " Lanczos with ARPACK's default ncv = max(2k+1, 20), and with the best ncv of k+3, k+6, k+10, 2k+1")
    rows = []
    for target in (1e-3, 1e-6):
        for k in (1, 5, 10):
            row = {"target": target, "k": k}
            row["lanczos"] = cheapest(H, ref, k, "lanczos", target)
            row["lanczos_ncv"] = cheapest(H, ref, k, "lanczos", target,
                                          ncvs=sorted({k + 3, k + 6, k + 10, 2 * k + 1} - {k + 1}))
            row["power"] = cheapest(H, ref, k, "power", target)

            def fmt(m):
                used, tol, ncv = row[m]
                if used is None:
                    return "not reached".rjust(28)
                extra = f", ncv {ncv}" if ncv else ""
                return f"{used / k:5.1f} ({used:3d} HVPs, tol {tol:.0e}{extra})".ljust(28)

            ratio = (f"power / best Lanczos {row['power'][0] / row['lanczos_ncv'][0]:.1f}x"
                     if row["power"][0] and row["lanczos_ncv"][0] else "")
            print(f"  target {target:.0e} k={k:<2}  lanczos {fmt('lanczos')}  lanczos(ncv) {fmt('lanczos_ncv')}"
                  f"  power {fmt('power')}  {ratio}", flush=True)
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- (c)

def section_c(quick: bool) -> dict | None:
    if not CIFAR_NPZ.exists():
        print(f"\n(c) skipped: {CIFAR_NPZ} not found (the PERFORMANCE.md task is defined on real CIFAR-10)")
        return None
    n, k, steps_before, steps_between = (128, 5, 10, 2) if quick else (512, 20, 20, 3)
    ref_tol = 1e-8 if quick else 1e-10
    X, y, what = cifar(n)
    ls = Landscape(cnn(pool=True), X, y, n_classes=10, dtype=torch.float32)
    lr = 0.05
    theta_a = gd_steps(ls, ls.theta0, lr, steps_before)
    theta_b = gd_steps(ls, theta_a, lr, steps_between)
    t_grad = median_time(lambda: ls.loss_grad(theta_b), 5)
    print(f"\n(c) PERFORMANCE.md task: conv16-pool-conv32-pool-fc64-fc10 ({ls.n_params:,} params), {what};"
          f" float32 HVPs by the default operator (held graph: one chunk); one gradient {t_grad:.3f} s")

    def grad_time():
        t0 = time.perf_counter()
        ls.loss_grad(theta_b)
        return time.perf_counter() - t0

    def solve(theta, tol, v0=None, ncv=None, seed=1):
        op = ls.operator(theta)
        t0 = time.perf_counter()
        eig = top_eigen(op, k, method="lanczos", tol=tol, v0=v0, ncv=ncv, seed=seed, with_residuals=False)
        secs = time.perf_counter() - t0
        op.release()
        return eig, secs

    prev, _ = solve(theta_a, 1e-3)
    ref, t_ref = solve(theta_b, ref_tol, seed=12345)  # its own start vector
    print(f"  θ_a: {steps_before} GD steps (lr {lr}) from Kaiming init, top-{k} there ({prev.n_matvecs} HVPs) "
          f"give the warm vectors; θ_b: {steps_between} more steps. Reference at θ_b: tol {ref_tol:.0e}, "
          f"{ref.n_matvecs} HVPs, {t_ref:.1f} s; λ1 = {ref.eigenvalues[0]:.4g}, λ{k} = {ref.eigenvalues[-1]:.4g} "
          f"(float32 products: errors below ~1e-6 are at the rounding floor)")
    out = {"k": k, "grad_s": t_grad, "ref": (ref.n_matvecs, t_ref)}
    runs = [("cold, tol 1e-3", 1e-3, None, None), ("warm, tol 1e-3", 1e-3, prev.eigenvectors, None),
            (f"cold, tol 1e-3, ncv {k + 10}", 1e-3, None, k + 10),
            (f"warm, tol 1e-3, ncv {k + 10}", 1e-3, prev.eigenvectors, k + 10)]
    for name, tol, v0, ncv in runs:
        g0 = grad_time()  # gradient time right before and after each solve: load drifts
        eig, secs = solve(theta_b, tol, v0, ncv)
        t_grad = (g0 + grad_time()) / 2
        err = rel_err(eig.eigenvalues, ref.eigenvalues)
        out[name] = (eig.n_matvecs, secs, err)
        print(f"  {name:<24} {eig.n_matvecs:>4} HVPs  {secs:6.2f} s = {secs / t_grad:6.1f} gradients "
              f"({secs / eig.n_matvecs / t_grad:.2f} per HVP)   max rel. error {err:.1e}", flush=True)
    return out


# --------------------------------------------------------------------------- main

def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes: < 1 minute")
    p.add_argument("--only", choices=["a", "b", "c"], action="append", help="run only these sections")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads (default: torch's choice); use 1 when other processes "
                        "share the cores, where spinning OpenMP threads inflate small ops 100-fold")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sections = args.only or ["a", "b", "c"]
    print(f"simlab Hessian bench, {datetime.datetime.now():%Y-%m-%d %H:%M}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads)"
          f"{', quick' if args.quick else ''}")
    t0 = time.perf_counter()
    if "a" in sections:
        section_a(args.quick)
    if "b" in sections:
        section_b(args.quick)
    if "c" in sections:
        section_c(args.quick)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
