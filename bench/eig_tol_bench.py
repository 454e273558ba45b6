"""Eigenvalue tolerance bench (issue 19): does ``tol`` bound the error ``top_eigen`` returns, and
what does that cost? Ratios measured in one run, the starting commit's solver beside this one.

    python bench/eig_tol_bench.py                 # 150 planted spectra + a digits MLP Hessian
    python bench/eig_tol_bench.py --cases 40      # fewer planted spectra

"Before" is ``simlab/spectrum.py`` at BASE (issue 19's starting commit, read with ``git show``
and imported beside this tree's module, same operators), "after" is this tree's ``top_eigen``.
A miss is a solve whose largest relative error over the top k, against float64
``numpy.linalg.eigvalsh``, exceeds ``tol``. Products are ``n_matvecs`` (checks included).

1. Planted spectra: n ∈ [60, 300], k ∈ [1, 12], k + 4 outliers from 10 down with relative gaps
   log-uniform in [2.5·tol, 0.3], a bulk uniform on [−0.1, 0.9]·(the last outlier), a random
   rotation. Cold: a random start. Warm: the eigenvectors of H, for H + E, E symmetric with
   ‖E‖₂ = 1e−4·λ_1 (a small step of training).
2. A real Hessian: a 64-16-10 tanh MLP (1,210 parameters) on 512 digits, θ_a = 100 GD steps
   (η = 0.5), θ_b = θ_a + 20 steps (a telemetry interval), float64; k = 1, 5, 10, 20, cold over
   seeds, warm from each solver's own eigenvectors at θ_a; and gradient flow's case, k = 1 warm
   from θ_b − 1 step. Plus the same solves on the float32 landscape (rounding: no stall).
3. ``--widths``: the toy width nets of the edge map (cifar8 192-h-h-10 tanh, 500 images of
   ``../shared/data``), top 20 at tol 1e−4 at θ_0, cold and warm, with the basis growing (this
   tree) against the same solver held to 3k + 20 vectors and thick restarts (``ncv``, as before
   c18a48e): products, seconds and how each solve stopped.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from simlab import spectrum as after
from simlab.data import digits
from simlab.landscape import Landscape
from simlab.operators import DenseOperator
from simlab.toy.models import mnist_mlp

BASE = "35d9f16"  # issue 19's starting commit for this work (branch wt19)
REPO = Path(__file__).resolve().parents[1]


def before_module():
    """The starting commit's spectrum module, imported under another name."""
    src = subprocess.run(["git", "-C", str(REPO), "show", f"{BASE}:simlab/spectrum.py"],
                         check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "spectrum_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("spectrum_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def planted_case(seed: int, tol: float):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 301))
    k = int(rng.integers(1, 13))
    gaps = np.exp(rng.uniform(np.log(2.5 * tol), np.log(0.3), k + 3))
    top = 10.0 * np.cumprod(np.r_[1.0, 1 - gaps])
    lam = np.r_[top, rng.uniform(-0.1 * top[-1], 0.9 * top[-1], n - len(top))]
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (Q * lam) @ Q.T
    H = (H + H.T) / 2
    E = rng.standard_normal((n, n))
    E = (E + E.T) / 2
    E *= 1e-4 * top[0] / np.linalg.norm(E, 2)
    return k, torch.from_numpy(H), torch.from_numpy(H + E)


def solve(mod, *args, **kw):
    """``top_eigen`` of either module; the after one at the bench's ``--miss``."""
    if mod is after:
        kw["miss"] = MISS[0]
    return mod.top_eigen(*args, **kw)


MISS = [after.MISS_PROBABILITY]


def rel_err(values, ref) -> float:
    k = len(values)
    return float(np.max(np.abs(np.asarray(values) - ref[:k]) / np.abs(ref[:k])))


def ratio_line(label, b, a):
    (mb, pb, nb), (ma, pa, na) = b, a
    print(f"{label}: misses before {mb}/{nb}, after {ma}/{na}; products before {pb}, after {pa}, "
          f"after/before {pa / pb:.2f}×")


def planted(before, cases: int, tol: float) -> None:
    print(f"\n## 1. planted spectra, tol {tol:g}, {cases} cases (misses: error > tol; products summed)")
    stats = {}
    for seed in range(cases):
        k, H, H2 = planted_case(seed, tol)
        ref = np.linalg.eigvalsh(H2.numpy())[::-1]
        prev = torch.from_numpy(np.ascontiguousarray(np.linalg.eigh(H.numpy())[1][:, ::-1][:, :k]))
        for name, mod in (("before", before), ("after", after)):
            for mode, v0 in (("cold", None), ("warm", prev)):
                e = solve(mod, DenseOperator(H2), k, tol=tol, seed=seed, v0=v0)
                m, p, c = stats.get((name, mode), (0, 0, 0))
                stats[(name, mode)] = (m + (rel_err(e.eigenvalues, ref) > tol), p + e.n_matvecs, c + 1)
    for mode in ("cold", "warm"):
        ratio_line(f"{mode}", stats[("before", mode)], stats[("after", mode)])


def net(before, tol: float, seeds: int) -> None:
    X, y, _ = digits(512, seed=0)
    model = mnist_mlp(16, activation="tanh", in_dim=64, seed=0)
    land = Landscape(model, X, y, n_classes=10, dtype=torch.float64)
    land32 = Landscape(model, X, y, n_classes=10, dtype=torch.float32)
    theta = land.theta0
    for _ in range(100):
        theta = theta - 0.5 * land.grad(theta)
    theta_a = theta
    for _ in range(19):
        theta = theta - 0.5 * land.grad(theta)
    theta_f = theta  # one step before θ_b: gradient flow's warm start
    theta_b = theta - 0.5 * land.grad(theta)
    ref = np.linalg.eigvalsh(land.hessian(theta_b).numpy())[::-1]
    print(f"\n## 2. digits MLP 64-16-10 tanh, {land.n_params} parameters, 512 images, tol {tol:g}; "
          f"λ_1 = {ref[0]:.4g}, λ_20 = {ref[19]:.4g}")
    print("  k mode          before HVPs (misses)   after HVPs (misses)   after/before   after, float32")
    for k in (1, 5, 10, 20):
        rows = []
        for mode in ("cold", "warm", "flow") if k == 1 else ("cold", "warm"):
            out = {}
            for name, mod in (("before", before), ("after", after)):
                p = m = 0
                p32 = 0
                for s in range(seeds):
                    v0 = None
                    if mode != "cold":
                        at = theta_a if mode == "warm" else theta_f
                        v0 = solve(mod, land.operator(at), k, tol=tol, seed=s).eigenvectors
                    e = solve(mod, land.operator(theta_b), k, tol=tol, seed=s, v0=v0)
                    p += e.n_matvecs
                    m += rel_err(e.eigenvalues, ref) > tol
                    if name == "after":
                        v32 = None if v0 is None else v0.float()
                        p32 += solve(mod, land32.operator(theta_b.float()), k, tol=tol, seed=s,
                                     v0=v32).n_matvecs
                out[name] = (p / seeds, m, p32 / seeds)
            (pb, mb, _), (pa, ma, p32) = out["before"], out["after"]
            rows.append((mode, pb, pa))
            print(f"{k:3d} {mode:5s} {pb:18.1f} ({mb}/{seeds}) {pa:18.1f} ({ma}/{seeds}) {pa / pb:12.2f}× {p32:10.1f}")
    return None


def widths(hs) -> None:
    """Section 3: products per certified top-20 solve on the toy width nets, grown vs restarted."""
    import time

    from simlab.toy.run import ToyConfig, build

    root = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (root / "cifar10_subset.npz").exists():
        print(f"\n## 3. width nets: skipped ({root / 'cifar10_subset.npz'} not found)")
        return
    print("\n## 3. toy width nets, top 20 at tol 1e-4 at θ_0 (products, seconds, stop)")
    print("   h  params   grown cold      grown warm      restarted (ncv = 80) cold   ratio")
    for h in hs:
        land, _ = build(ToyConfig(dataset="cifar8", n_data=500, standardise=True, hidden=h,
                                  activation="tanh", data_root=str(root), k=20))
        op = land.operator(land.theta0)
        rows = []
        for kw in ({}, {"warm": True}, {"ncv": 80}):
            t = time.perf_counter()
            v0 = rows[0][3].eigenvectors if kw.get("warm") else None
            e = after.top_eigen(op, 20, tol=1e-4, seed=1 if v0 is not None else 0, v0=v0,
                                ncv=kw.get("ncv"))
            rows.append((e.n_matvecs, time.perf_counter() - t, e.stop, e))
        (g, gs, gst, _), (w, ws, wst, _), (r, rs, rst, _) = rows
        print(f"{h:>4} {land.n_params:>7}  {g:>4} {gs:6.1f}s {gst:<9} {w:>4} {ws:6.1f}s {wst:<9} "
              f"{r:>5} {rs:6.1f}s {rst:<9}  {r / g:5.1f}× products")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=150, help="planted spectra per tol (default 150)")
    p.add_argument("--tols", type=float, nargs="+", default=[1e-3, 1e-4])
    p.add_argument("--seeds", type=int, default=5, help="seeds per solve on the net (default 5)")
    p.add_argument("--miss", type=lambda v: None if v == "none" else float(v), default=after.MISS_PROBABILITY,
                   help="the after solver's miss probability (default the library's; none: "
                        "the uncertified residual rule)")
    p.add_argument("--no-planted", action="store_true", help="section 2 alone")
    p.add_argument("--widths", type=int, nargs="*", default=None,
                   help="section 3 alone, at these hidden widths (e.g. 8 32 64)")
    a = p.parse_args(argv)
    MISS[0] = a.miss
    torch.set_num_threads(1)
    sys.stdout.reconfigure(line_buffering=True)
    print(f"# eig_tol bench, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"torch {torch.__version__}, 1 thread; before = {BASE}, after = this tree "
          f"(miss = {a.miss}, warm random weight {after.WARM_RANDOM if a.miss is not None else after.WARM_RANDOM_FAST:g})")
    if a.widths is not None:
        widths(a.widths or (8, 32, 64))
        return
    before = before_module()
    for tol in a.tols if not a.no_planted else ():
        planted(before, a.cases, tol)
    for tol in a.tols:
        net(before, tol, a.seeds)


if __name__ == "__main__":
    main()
