"""End to end: a cpu-preset scale run at this tree against issue 19's starting commit, interleaved.

    python bench/e2e_bench.py                       # 100 iterations, 2 rounds, base 35d9f16
    python bench/e2e_bench.py --steps 200 --rounds 3

The starting commit is checked out beside this one (``git worktree``, under a temporary folder)
and installed into its own virtual environment (``--system-site-packages``: the same torch,
``--no-deps``), then ``python -m simlab scale --preset cpu --max-steps N`` (AlexNet width 1/16,
n_D 256, the preset's cadence and k) runs from each, one after the other within each round, on
one thread. Printed: each run's wall time, training and telemetry seconds (from its summary), the
ratio base / this per round and its median, and whether the two records agree: every telemetry
point's loss, gradient norm and eigenvalues within a relative 1e−4 (float32 products summed in
another order may differ in the last digits; the eigensolver's tolerance is 1e−3). Asserts
nothing. A truncated run (``--max-steps``) has the same cost per iteration as a full one.

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
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BASE = "35d9f16"  # issue 19's starting commit (bench/README.md)
TOL = 1e-4


def install_base(commit: str, where: Path) -> Path:
    """The base commit in ``where``/tree, installed in ``where``/venv; returns its python."""
    tree, venv = where / "tree", where / "venv"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), commit],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    str(tree)], check=True, capture_output=True)
    return python


def run(python: Path, out: Path, steps: int) -> float:
    cmd = [str(python), "-m", "simlab", "scale", "--preset", "cpu", "--data-root", str(DATA),
           "--max-steps", str(steps), "--out", str(out), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=out.parent)
    return time.perf_counter() - t


def record_dir(out: Path) -> Path:
    """The folder holding summary.json (the scale command writes one record below --out)."""
    return next(p.parent for p in sorted(out.rglob("summary.json")))


def agree(a: Path, b: Path) -> tuple[bool, float]:
    """(every telemetry point's loss, gradient norm and eigenvalues within TOL, the largest
    relative difference seen)."""
    def points(d):
        return [json.loads(line) for line in (record_dir(d) / "telemetry.jsonl").read_text().splitlines()]
    pa, pb = points(a), points(b)
    if [p["step"] for p in pa] != [p["step"] for p in pb]:
        return False, float("inf")
    worst = 0.0
    for x, y in zip(pa, pb):
        for key in ("loss", "grad_norm", "eigenvalues"):
            if key in x and key in y and x[key] is not None:
                u, v = np.atleast_1d(x[key]).astype(float), np.atleast_1d(y[key]).astype(float)
                if u.shape != v.shape:
                    return False, float("inf")
                worst = max(worst, float(np.max(np.abs(u - v) / np.maximum(np.abs(v), 1e-30))))
    return worst <= TOL, worst


def seconds(out: Path) -> tuple[float, float]:
    s = json.loads((record_dir(out) / "summary.json").read_text())
    return s.get("train_seconds", float("nan")), s.get("telemetry_seconds", float("nan"))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default=BASE, help=f"the commit to compare against (default {BASE})")
    p.add_argument("--steps", type=int, default=100, help="iterations per run (default 100)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved pairs of runs (default 2)")
    a = p.parse_args(argv)
    if not (DATA / "cifar10_subset.npz").exists():
        print(f"bench skipped: {DATA / 'cifar10_subset.npz'} not found (the run is defined on real CIFAR-10)")
        return
    sys.stdout.reconfigure(line_buffering=True)
    load = os.getloadavg()[0]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    print(f"# end-to-end bench, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; scale --preset cpu "
          f"--max-steps {a.steps}, one thread; base {a.base}, this {head}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            sides = {"base": install_base(a.base, tmp), "this": Path(sys.executable)}
            ratios = []
            print(f"{'round':>5} {'side':5} {'wall s':>8} {'train s':>8} {'telemetry s':>12}")
            for r in range(a.rounds):
                wall = {}
                for side, python in sides.items():
                    out = tmp / f"{side}_{r}" / "run"
                    out.parent.mkdir()
                    wall[side] = run(python, out, a.steps)
                    train, tele = seconds(out)
                    print(f"{r:>5} {side:5} {wall[side]:8.1f} {train:8.1f} {tele:12.1f}")
                ratios.append(wall["base"] / wall["this"])
                same, worst = agree(tmp / f"base_{r}" / "run", tmp / f"this_{r}" / "run")
                print(f"round {r}: base / this = {ratios[-1]:.2f}×; records agree within {TOL:g}: "
                      f"{'yes' if same else 'NO'} (largest relative difference {worst:.1e})")
            print(f"end to end: this tree is {np.median(ratios):.2f}× faster than {a.base} "
                  f"(median over {a.rounds} rounds)")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "tree")],
                           capture_output=True)


if __name__ == "__main__":
    main()
