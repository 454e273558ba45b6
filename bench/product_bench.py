"""What one Hessian-vector product costs, in gradients, with and without simlab.dataconv.

    python bench/product_bench.py             # cpu AlexNet, VGG-16 (width 1/16), the bench CNN, a toy MLP
    python bench/product_bench.py --n-data 512

For each net, in one process and interleaved per repeat (the machine's load drifts; a ratio
taken beside its gradient does not): one full-batch gradient; one product through the held
gradient graph built under :func:`simlab.dataconv.data_convolutions` (what simlab does) and
through one built without it (autograd's own second derivative of a convolution, which also
computes the unused gradient with respect to the data); and whether the two products are equal
bit for bit. Median over repeats. Asserts nothing.

CIFAR-10 comes from ../shared/data/cifar10_subset.npz (the MLP uses scikit-learn's digits).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from simlab.dataconv import data_convolutions
from simlab.landscape import Landscape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from telemetry_bench import CIFAR_NPZ, cifar, cnn  # noqa: E402


def held_graph(land: Landscape, theta, mode):
    th = theta.clone().requires_grad_(True)
    with mode():
        (g,) = torch.autograd.grad(land.chunk_loss(th, land.X, land.y), th, create_graph=True)
    return th, g


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(name: str, land: Landscape, repeats: int) -> None:
    theta = land.theta0
    v = torch.randn(land.n_params, generator=torch.Generator().manual_seed(0)).to(land.dtype)
    ours, plain = held_graph(land, theta, data_convolutions), held_graph(land, theta, contextlib.nullcontext)
    prod = {k: (lambda th=th, g=g: torch.autograd.grad(g, th, v, retain_graph=True)[0])
            for k, (th, g) in (("ours", ours), ("plain", plain))}
    same = torch.equal(prod["ours"](), prod["plain"]())
    rows = []
    for _ in range(repeats):
        g = seconds(lambda: land.loss_grad(theta))
        rows.append((g, seconds(prod["ours"]) / g, seconds(prod["plain"]) / g))
    g, a, b = np.median(np.array(rows), axis=0)
    print(f"{name:44s} {land.n_params:>9,} {g * 1e3:8.0f} ms {a:8.2f} {b:10.2f} {b / a:8.2f}×   "
          f"{'yes' if same else 'NO'}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-data", type=int, default=256, help="CIFAR-10 images (default 256)")
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# product bench, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, torch {torch.__version__}, "
          f"1 thread, float32, median of {a.repeats}")
    print(f"{'net':44s} {'params':>9s} {'gradient':>11s} {'HVP/grad':>8s} {'without':>10s} "
          f"{'speed-up':>9s}   bit-identical")
    from simlab.data import digits
    from simlab.toy.models import mnist_mlp

    X, y, _ = digits(1797, seed=0)
    measure("toy MLP 64-16-10 tanh, digits n_D 1797", Landscape(
        mnist_mlp(16, activation="tanh", in_dim=64), X, y, n_classes=10, dtype=torch.float32), a.repeats)
    if not CIFAR_NPZ.exists():
        print(f"CIFAR-10 nets skipped: {CIFAR_NPZ} not found")
        return
    from simlab.scale.models import build_model

    X, y = cifar(a.n_data)
    nets = [("alexnet", 1 / 16, "cpu AlexNet (width 1/16)"), ("vgg16", 1 / 16, "VGG-16 (width 1/16)")]
    for arch, width, label in nets:
        measure(f"{label}, n_D {a.n_data}", Landscape(build_model(arch, width=width), X, y,
                                                     n_classes=10, dtype=torch.float32), a.repeats)
    measure(f"bench CNN conv8-conv16-fc32, n_D {a.n_data}",
            Landscape(cnn(8), X, y, n_classes=10, dtype=torch.float32), a.repeats)


if __name__ == "__main__":
    main()
