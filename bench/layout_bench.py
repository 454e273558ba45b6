"""What the channels-last layout (``memory_format="channels_last"``) buys, and what it changes.

    python bench/layout_bench.py                  # nets at 256 images + a 100-iteration cpu run
    python bench/layout_bench.py --steps 0        # the nets only
    python bench/layout_bench.py --n-data 512 --repeats 9

1. For each conv net, in one process and interleaved per repeat (the machine's load drifts; a
   ratio of two timings taken side by side does not): a full-batch gradient and one held-graph
   product with the contiguous (NCHW) layout and with channels-last (NHWC) images and conv
   weights. Printed: the milliseconds of the contiguous gradient, channels-last ÷ contiguous
   for the gradient and for the product (median over repeats; < 1 is faster), and the largest
   relative difference between the two layouts' gradients and products (float32 rounding).
2. ``--steps N`` (default 100): ``scale --preset cpu --max-steps N`` in each layout, one after
   the other, and how far apart the two records' telemetry points are (loss, ‖g‖, top-10).
   Gradient descent at the edge of stability amplifies a rounding difference, so this says how
   soon the two runs part: why the layout is a choice and not the default.

CIFAR-10 from ../shared/data/cifar10_subset.npz (beside the checkout). One torch thread.
Asserts nothing (tests/test_landscape.py checks the layouts agree).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from simlab.landscape import Landscape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from product_bench import seconds  # noqa: E402
from telemetry_bench import CIFAR_NPZ, cifar  # noqa: E402

NETS = (("alexnet", 1 / 16, "relu"), ("alexnet", 1 / 8, "relu"), ("alexnet", 1 / 8, "tanh"),
        ("alexnet", 1 / 4, "relu"), ("vgg16", 1 / 16, "relu"), ("vgg16", 1 / 8, "relu"))


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def measure(arch: str, width: float, activation: str, X, y, repeats: int) -> None:
    from simlab.scale.models import build_model

    model = build_model(arch, width=width, activation=activation)
    lands = {f: Landscape(model, X, y, n_classes=10, dtype=torch.float32, memory_format=f)
             for f in ("contiguous", "channels_last")}
    theta = lands["contiguous"].theta0
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(0))
    ops = {f: land.operator(theta, hold_graph=True) for f, land in lands.items()}
    grads = {f: land.loss_grad(theta)[1] for f, land in lands.items()}
    prods = {f: op.matvec(v) for f, op in ops.items()}
    rows = []
    for _ in range(repeats):
        t = {}
        for f in lands:
            t[f, "g"] = seconds(lambda: lands[f].loss_grad(theta))
            t[f, "p"] = seconds(lambda: ops[f].matvec(v))
        rows.append((t["contiguous", "g"], t["channels_last", "g"] / t["contiguous", "g"],
                     t["channels_last", "p"] / t["contiguous", "p"]))
    g, rg, rp = np.median(np.array(rows), axis=0)
    label = f"{arch} width 1/{round(1 / width)} {activation}"
    print(f"{label:26s} {theta.numel():>10,} {g * 1e3:8.0f} ms {rg:9.2f} {rp:9.2f}   "
          f"{rel(grads['channels_last'], grads['contiguous']):.1e} "
          f"{rel(prods['channels_last'], prods['contiguous']):.1e}")


def run_apart(steps: int, data_root: Path) -> None:
    """Section 2: the two layouts' cpu-preset runs, point by point."""
    print(f"\n## 2. scale --preset cpu --max-steps {steps}, each layout: how far apart the points are "
          f"(one run each, not interleaved: their seconds drift with the load)")
    points, wall = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("contiguous", "channels_last"):
            out = Path(tmp) / f
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "simlab", "scale", "--preset", "cpu",
                                   "--max-steps", str(steps), "--data-root", str(data_root),
                                   "--memory-format", f, "--out", str(out), "--no-progress",
                                   "--no-figures"], capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"the {f} run failed (exit {done.returncode}): {done.stderr.strip()}")
            wall[f] = time.perf_counter() - t
            points[f] = [json.loads(line) for line in (out / "telemetry.jsonl").read_text().splitlines()]
            s = json.loads((out / "summary.json").read_text())
            print(f"{f:14s} wall {wall[f]:6.1f} s, train {s['train_seconds']:6.1f} s, telemetry "
                  f"{s['telemetry_seconds']:6.1f} s")
    print(f"{'step':>6s} {'loss':>9s} {'|g|':>9s} {'top-10':>9s}   (largest relative difference)")
    for a, b in zip(points["contiguous"], points["channels_last"]):
        ev = [abs(p - q) / abs(p) for p, q in zip(a.get("eigenvalues") or [], b.get("eigenvalues") or [])]
        print(f"{a['step']:6d} {abs(a['loss'] - b['loss']) / abs(a['loss']):9.1e} "
              f"{abs(a['grad_norm'] - b['grad_norm']) / abs(a['grad_norm']):9.1e} "
              f"{max(ev) if ev else float('nan'):9.1e}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-data", type=int, default=256, help="CIFAR-10 images (default 256)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--steps", type=int, default=100, help="section 2's iterations (0: skip it)")
    a = p.parse_args(argv)
    if not CIFAR_NPZ.exists():
        print(f"needs CIFAR-10: {CIFAR_NPZ} not found (see ../shared/data/README.md)")
        return
    torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# layout bench, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, torch {torch.__version__}, "
          f"1 thread, float32, n_D {a.n_data}, median of {a.repeats}")
    print("## 1. channels-last ÷ contiguous, interleaved (< 1: faster); difference of the results")
    print(f"{'net':26s} {'params':>10s} {'gradient':>11s} {'gradient':>9s} {'product':>9s}   "
          f"{'Δgrad':>7s} {'Δproduct':>7s}")
    X, y = cifar(a.n_data)
    for arch, width, act in NETS:
        measure(arch, width, act, X, y, a.repeats)
    if a.steps:
        run_apart(a.steps, CIFAR_NPZ.parent)


if __name__ == "__main__":
    main()
