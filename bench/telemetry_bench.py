"""Telemetry bench: what a Hessian eigensolve costs, as ratios measured in one run.

    python bench/telemetry_bench.py           # PERFORMANCE.md's floor net (34,522 parameters), 256 images
    python bench/telemetry_bench.py --full    # the PERFORMANCE.md task: 136,874-parameter CNN, 512 images

Printed, all measured in this run (issue 11's list):

θ_a = 20 GD steps (η = 0.05) from Kaiming init (30 with --full), θ_b = θ_a + 1/η steps.

1. eigensolvers at θ_b, cold and warm-started from θ_a's eigenvectors (θ_b = θ_a moved by one
   telemetry interval, 1/η GD steps), k = 1, 5, 10, 20, tol 1e−3: simlab's ``lanczos`` and scipy
   ``eigsh`` (``arpack``; plus the k products of its residual check), and curvlinops/PyHessian
   when installed — HVPs including checks, seconds, seconds in gradients, largest relative error
   of the k eigenvalues against a float64 reference (eigsh, tol 1e−10, float64 landscape);
2. the Krylov floor: the fewest products after which plain Lanczos (full reorthogonalisation,
   random start) has the top k to 1e−3 — read off one recorded Krylov run, no extra products;
3. gradient flow: λ_1 at every iteration, warm-started from the previous iteration's h_1;
4. costs: one gradient, one held-graph product (gradients per HVP), 20 products one at a time
   vs batched (``is_grads_batched``); telemetry/training time at cadence 1/η and 1/(5η)
   (one point with k = 20 against 1/η resp. 1/(5η) gradient steps) and per flow iteration;
5. peak memory (resident set, in a fresh process each) of a held-graph product at
   n_D = 512, 2048, 5085, with the default memory budget and with none.

CIFAR-10 comes from ../shared/data/cifar10_subset.npz; without it the bench says so and stops.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from simlab.landscape import Landscape
from simlab.spectrum import Krylov, _start_vector, top_eigen

CIFAR_NPZ = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10_subset.npz"
KS = (1, 5, 10, 20)
TOL = 1e-3


def cnn(width: int, seed: int = 0) -> nn.Sequential:
    """conv(w)-pool-conv(2w)-pool-fc(4w)-fc10, ReLU, Kaiming init; w = 16 is PERFORMANCE.md's
    136,874-parameter net, w = 8 the smaller one of its floor."""
    from simlab.scale.models import kaiming_init_

    net = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(2 * width * 64, 4 * width), nn.ReLU(),
                        nn.Linear(4 * width, 10))
    kaiming_init_(net, "relu", torch.Generator().manual_seed(seed))
    return net


def cifar(n: int):
    from simlab.scale.data import DataSpec, load_cifar10

    X, y, _ = load_cifar10(DataSpec(data_root=str(CIFAR_NPZ), n_data=n, seed=0), verify=False)
    return X, y


def rel_err(values, ref) -> float:
    k = len(values)
    return float(np.max(np.abs(np.asarray(values) - ref[:k]) / np.abs(ref[:k])))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def grad_seconds(land: Landscape, theta, repeats: int = 3) -> float:
    return float(np.median([timed(lambda: land.loss_grad(theta))[1] for _ in range(repeats)]))


# ------------------------------------------------------------------------------------ peers

PEER_TOLS = (1e-3, 1e-4, 1e-5)  # a peer's tol is tightened along these until it meets TOL


def peers() -> tuple[dict, dict]:
    """The optional peers (the ``bench`` extra): ({name: solve(model, X, y, k, tol, seed) ->
    (values descending, HVPs)}, {name: why it is skipped}). HVPs are counted at the peers' own
    product calls (curvlinops: its scipy operator's matvecs, plus the k products of eigsh's
    residual check as for scipy eigsh; PyHessian: ``hessian_vector_product``)."""
    found, missing = {}, {}
    try:
        from curvlinops import HessianLinearOperator
        from scipy.sparse.linalg import LinearOperator, eigsh

        def curv(model, X, y, k, tol, seed):
            params = [p for p in model.parameters() if p.requires_grad]
            H = HessianLinearOperator(model, nn.CrossEntropyLoss(), params, [(X, y)],
                                      check_deterministic=False).to_scipy()
            count = [0]

            def mv(x):
                count[0] += 1
                return H.matvec(x)
            op = LinearOperator(H.shape, matvec=mv, dtype=H.dtype)
            v0 = np.random.default_rng(seed).standard_normal(H.shape[0]).astype(H.dtype)
            w, V = eigsh(op, k=k, which="LA", tol=tol, v0=v0)
            for j in range(k):  # the residual check scipy eigsh gets in section 1
                mv(V[:, j])
            return np.sort(w)[::-1], count[0]
        found["curvlinops + eigsh"] = curv
    except Exception as e:  # noqa: BLE001 (not installed or another API: skipped, and said so)
        missing["curvlinops + eigsh"] = f"{type(e).__name__}: {e}"
    try:
        import importlib

        ph = importlib.import_module("pyhessian.hessian")  # the module (the package re-exports a class of that name)

        def pyhessian(model, X, y, k, tol, seed):
            count = [0]
            hvp = ph.hessian_vector_product

            def counted(*args):
                count[0] += 1
                return hvp(*args)
            ph.hessian_vector_product = counted
            try:
                torch.manual_seed(seed)  # PyHessian draws its start vectors from torch's global RNG
                h = ph.hessian(model, nn.CrossEntropyLoss(), data=(X, y), cuda=False)
                vals, _ = h.eigenvalues(top_n=k, tol=tol)
            finally:
                ph.hessian_vector_product = hvp
            return np.sort(vals)[::-1], count[0]
        found["PyHessian power"] = pyhessian
    except Exception as e:  # noqa: BLE001
        missing["PyHessian power"] = f"{type(e).__name__}: {e}"
    return found, missing


# ------------------------------------------------------------------------------------ sections

def floor(land: Landscape, theta, ref: np.ndarray, steps: int) -> dict:
    """Products after which plain Lanczos from a random start has the top k to TOL."""
    op = land.operator(theta)
    kry = Krylov(op, _start_vector(op, None, 3), steps)
    out = {}
    for m in range(1, steps + 1):
        kry.step()
        theta_m = kry.ritz()[0]
        for k in KS:
            if k not in out and len(theta_m) >= k and rel_err(theta_m[:k], ref) <= TOL:
                out[k] = m
    return out


def solvers(land, theta_a, theta_b, ref, peer_fns, model_b, X, y, ks=KS, peer_max_k=10) -> list[dict]:
    """Each solve is timed between two gradients at θ_b; its seconds in gradients use their mean
    (the machine's load drifts over minutes; a ratio taken this way does not)."""
    rows = []
    prev = {k: top_eigen(land.operator(theta_a), k, tol=TOL, seed=5).eigenvectors for k in ks}

    def clocked(fn):
        g0 = grad_seconds(land, theta_b, 1)
        out, sec = timed(fn)
        return out, sec, (g0 + grad_seconds(land, theta_b, 1)) / 2

    for k in ks:
        for name, method, v0 in [("simlab lanczos cold", "lanczos", None),
                                 ("simlab lanczos warm", "lanczos", prev[k]),
                                 ("scipy eigsh cold", "arpack", None),
                                 ("scipy eigsh warm", "arpack", prev[k])]:
            def solve():
                op = land.operator(theta_b)
                eig = top_eigen(op, k, method=method, tol=TOL, v0=v0, seed=1, with_residuals=False)
                if method == "arpack":  # eigsh's residual check: k more products
                    land.operator(theta_b).matmat(eig.eigenvectors)
                return eig
            eig, sec, g = clocked(solve)
            checks = k if method == "arpack" else 0
            rows.append({"k": k, "solver": name, "hvps": eig.n_matvecs + checks, "seconds": sec,
                         "gradients": sec / g, "error": rel_err(eig.eigenvalues, ref)})
        for name, fn in peer_fns.items():
            if name.startswith("PyHessian") and k > peer_max_k:
                print(f"{name} at k={k}: skipped (power iteration takes up to 100 products per "
                      f"eigenvalue and tol; --peer-max-k {peer_max_k})")
                continue
            for tol in PEER_TOLS:  # equal accuracy: tighten the peer's tol until it meets TOL
                try:
                    model_b.zero_grad(set_to_none=True)
                    (vals, n), sec, g = clocked(lambda: fn(model_b, X, y, k, tol, 1))
                except Exception as e:  # noqa: BLE001 (a peer's API changed: say so, go on)
                    print(f"{name} failed at k={k}: {type(e).__name__}: {e}")
                    break
                err = rel_err(vals, ref)
                if err <= TOL or tol == PEER_TOLS[-1]:
                    rows.append({"k": k, "solver": f"{name} tol {tol:g}", "hvps": n, "seconds": sec,
                                 "gradients": sec / g, "error": err, "peer": name})
                    break
    return rows


def flow(land, theta, lr: float, iters: int, c: float = 0.5) -> list[int]:
    """HVPs of λ_1 at each of ``iters`` gradient-flow iterations (η = min(lr, c/λ_1), the
    trainer's schedule), each warm-started from the previous iteration's h_1."""
    out, v0 = [], None
    for _ in range(iters):
        e = top_eigen(land.operator(theta), 1, tol=TOL, v0=v0)
        out.append(e.n_matvecs)
        v0 = e.eigenvectors
        theta = theta - min(lr, c / float(e.eigenvalues[0])) * land.grad(theta)
    return out


def costs(land, theta, repeats: int = 3) -> dict:
    """Gradient, held-graph product, graph build and 20 batched products, interleaved within each
    repeat; ratios per repeat, median over repeats."""
    V = torch.randn(land.n_params, 20, generator=torch.Generator().manual_seed(0)).to(land.dtype)
    rows = []
    for _ in range(repeats):
        g = grad_seconds(land, theta, 1)
        op = land.operator(theta)
        _, build = timed(lambda: op.matvec(V[:, 0]))  # graph build + one product
        _, one = timed(lambda: op.matmat(V))
        _, batched = timed(lambda: op.matmat_batched(V))
        rows.append((g, one / 20 / g, (build - one / 20) / g, batched / one))
    g, hvp, build, ratio = np.median(np.array(rows), axis=0)
    return {"gradient_s": g, "hvp_gradients": hvp, "build_gradients": build, "batched_over_one_at_a_time": ratio}


def _vm(key: str) -> float:
    """A /proc/self/status field in MiB (VmRSS: now; VmHWM: peak since the last reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


MEMORY_NETS = {"cnn": "136,874-parameter CNN", "alexnet": "cpu AlexNet (width 1/16, 143,118 parameters)"}


def memory_net(net: str) -> nn.Module:
    if net == "alexnet":
        from simlab.scale.models import build_model

        return build_model("alexnet", width=1 / 16)
    return cnn(16)


def memory_child(n: int, budget: str, net: str) -> None:
    """In a fresh process: two held-graph products at n_D = n; prints the peak resident set above
    the loaded data (the peak is reset after loading: /proc/self/clear_refs), what stays held
    after them, and the chunking."""
    torch.set_num_threads(1)
    X, y = cifar(n)
    land = Landscape(memory_net(net), X, y, n_classes=10, dtype=torch.float32,
                     memory_budget_mb=None if budget == "none" else float(budget))
    land.chunking()  # the probe, before the reset
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    base = _vm("VmRSS")
    op = land.operator(land.theta0)
    for _ in range(2):
        op.matvec(torch.ones(land.n_params))
    print(json.dumps({"n": n, "budget": budget, "extra_mib": _vm("VmHWM") - base,
                      "held_mib": _vm("VmRSS") - base, "chunking": land.chunking()}))


def memory(net: str, sizes) -> list[dict]:
    rows = []
    for n in sizes:
        for budget in ("1024", "none"):
            out = subprocess.run([sys.executable, __file__, "--memory-child", str(n), budget, net],
                                 capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            if out.returncode != 0:
                rows.append({"n": n, "budget": budget, "error": out.stderr.strip().splitlines()[-1]})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


# ------------------------------------------------------------------------------------ main

def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--full", action="store_true", help="PERFORMANCE.md's 136,874-parameter CNN on 512 images")
    p.add_argument("--only-memory", action="store_true", help="section 5 alone")
    p.add_argument("--only-solvers", action="store_true", help="section 1 alone (the solvers and peers)")
    p.add_argument("--ks", type=int, nargs="+", default=list(KS), help="k's of section 1 (default 1 5 10 20)")
    p.add_argument("--peer-max-k", type=int, default=10,
                   help="largest k for PyHessian's power iteration (up to 100 products per eigenvalue)")
    p.add_argument("--memory-net", choices=tuple(MEMORY_NETS), default="cnn",
                   help="section 5's net: the bench CNN (default) or the cpu AlexNet")
    p.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.memory_child:
        n, budget, net = a.memory_child
        return memory_child(int(n), budget, net)
    torch.set_num_threads(1)
    sys.stdout.reconfigure(line_buffering=True)
    if not CIFAR_NPZ.exists():
        print(f"bench skipped: {CIFAR_NPZ} not found (the bench is defined on real CIFAR-10 images)")
        return
    if a.only_memory:
        return print_memory(a.memory_net)
    width, n, pre, lr = (16, 512, 30, 0.05) if a.full else (8, 256, 20, 0.05)
    interval = round(1 / lr)
    print(f"# telemetry bench, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"torch {torch.__version__}, 1 thread")
    X, y = cifar(n)
    land = Landscape(cnn(width), X, y, n_classes=10, dtype=torch.float32)
    land64 = Landscape(cnn(width), X, y, n_classes=10, dtype=torch.float64)
    theta = land64.theta0
    for _ in range(pre):
        theta = theta - lr * land64.grad(theta)
    theta_a = theta
    for _ in range(interval):
        theta = theta - lr * land64.grad(theta)
    theta_b = theta
    print(f"net conv{width}-pool-conv{2 * width}-pool-fc{4 * width}-fc10, {land.n_params:,} parameters, "
          f"{n} images; θ_a = {pre} GD steps (η = {lr}), θ_b = θ_a + {interval} steps (one interval 1/η)")
    ref, ref_s = timed(lambda: top_eigen(land64.operator(theta_b), 21, method="arpack", tol=1e-10).eigenvalues)
    print(f"reference: float64 eigsh tol 1e-10, {ref_s:.0f} s; λ_1 = {ref[0]:.4g}, λ_20 = {ref[19]:.4g}")
    f32 = lambda t: t.to(torch.float32)  # noqa: E731
    model_b = cnn(width)
    torch.nn.utils.vector_to_parameters(f32(theta_b), model_b.parameters())

    print("\n## 1. top-k at θ_b, tol 1e-3 (HVPs include checks; error: largest relative over the k)")
    peer_fns, missing = peers()
    ks = tuple(a.ks)
    rows = solvers(land, f32(theta_a), f32(theta_b), ref, peer_fns, model_b, X, y, ks, a.peer_max_k)
    print(f"{'k':>3} {'solver':<28} {'HVPs':>5} {'seconds':>8} {'gradients':>9} {'error':>8}")
    for r in rows:
        print(f"{r['k']:>3} {r['solver']:<28} {r['hvps'] if r['hvps'] is not None else '-':>5} "
              f"{r['seconds']:>8.2f} {r['gradients']:>9.1f} {r['error']:>8.1e}")
    for k in ks:
        by = {r["solver"]: r for r in rows if r["k"] == k}
        for mode in ("cold", "warm"):
            s, e = by[f"simlab lanczos {mode}"], by[f"scipy eigsh {mode}"]
            print(f"k={k:<2} {mode}: eigsh/simlab HVPs {e['hvps'] / s['hvps']:.2f}×, seconds {e['seconds'] / s['seconds']:.2f}×")
        s = by["simlab lanczos cold"]
        for r in (r for r in rows if r["k"] == k and "peer" in r):
            eq = "" if r["error"] <= TOL else f" (NOT at equal accuracy: error {r['error']:.1e} at its tightest tol)"
            print(f"k={k:<2} cold: {r['solver']}/simlab HVPs {r['hvps'] / s['hvps']:.2f}×, "
                  f"seconds {r['seconds'] / s['seconds']:.2f}×{eq}")
        eq = [r for r in rows if r["k"] == k and r["error"] <= TOL and not r["solver"].startswith("simlab")
              and not r["solver"].endswith("warm")]
        if eq:
            best = min(eq, key=lambda r: r["seconds"])
            print(f"k={k:<2} fastest equal-accuracy peer (cold): {best['solver']}, "
                  f"{best['seconds'] / s['seconds']:.2f}× simlab cold's seconds")
    for name, why in missing.items():
        print(f"({name}: skipped, not importable: {why}; pip install -e '.[bench]' adds it)")
    if a.only_solvers:
        return

    print("\n## 2. Krylov floor (plain Lanczos, random start, first m with the top k to 1e-3)")
    fl = floor(land, f32(theta_b), ref, 90)
    for k in ks:
        cold = next(r for r in rows if r["k"] == k and r["solver"] == "simlab lanczos cold")["hvps"]
        print(f"k={k:<2} floor {fl.get(k, '>90')}, simlab cold {cold}"
              + (f" ({cold / fl[k]:.2f}× the floor)" if k in fl else ""))

    print("\n## 3. gradient flow (η = min(η, 0.5/λ_1)): λ_1 per iteration, warm-started from the previous h_1")
    counts = flow(land, f32(theta_b), lr, 8)
    print(f"HVPs per iteration: {counts} (first one cold)")

    print("\n## 4. costs")
    c = costs(land, f32(theta_b))
    print(f"gradient {c['gradient_s'] * 1e3:.0f} ms; held-graph product {c['hvp_gradients']:.2f} gradients "
          f"(graph build, once per operator: {c['build_gradients']:.2f}); 20 products batched / one at a time: "
          f"{c['batched_over_one_at_a_time']:.2f}×")
    point20 = next((r for r in rows if r["k"] == 20 and r["solver"] == "simlab lanczos warm"),
                   {"gradients": float("nan")})["gradients"]
    flow_it = np.mean(counts[1:]) * c["hvp_gradients"]
    for every in (interval, max(1, interval // 5)):
        print(f"telemetry/training time at cadence {every} steps (k = 20, warm): {point20 / every:.2f}")
    print(f"one telemetry point k = 20: {point20:.0f} gradient-equivalents; flow λ_1 per iteration: "
          f"{flow_it:.1f} gradient-equivalents ({flow_it:.1f}× the step's own gradient)")

    print_memory(a.memory_net)


def print_memory(net: str = "cnn") -> None:
    print(f"\n## 5. peak memory of two held-graph products, {MEMORY_NETS[net]} (fresh process each; "
          "MiB above the loaded data; held: what stays after them)")
    for r in memory(net, (256, 512, 1024, 2048, 5085)):
        if "error" in r:
            print(f"n_D={r['n']:>5} budget {r['budget']:>5}: failed: {r['error']}")
        else:
            ch = r["chunking"]
            est = ch.get("graph_mib_per_example")
            print(f"n_D={r['n']:>5} budget {r['budget']:>5} MiB: +{r['extra_mib']:.0f} MiB peak "
                  f"({r['extra_mib'] / r['n']:.3f} an example), held +{r['held_mib']:.0f}; chunks "
                  f"{ch['n_chunks']} × {ch['chunk_size']}, held {ch['held_chunks']}"
                  + (f"; the probe's held graph {est:.3f} MiB an example" if est else ""))


if __name__ == "__main__":
    main()
