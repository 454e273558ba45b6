"""The bench's peer adapters (bench/telemetry_bench.py) on a tiny CNN: each installed peer returns
the top-k eigenvalues of the same objective as simlab's landscape, descending, with its products
counted; an absent peer is reported with its import error instead."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from simlab.landscape import Landscape
from simlab.spectrum import top_eigen

BENCH = Path(__file__).resolve().parents[1] / "bench" / "telemetry_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("telemetry_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny(bench):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(24, 3, 32, 32, generator=g)
    y = torch.arange(24) % 10
    land = Landscape(bench.cnn(1), X, y, n_classes=10, dtype=torch.float64)
    spectrum = top_eigen(land.operator(land.theta0), 1, method="dense").spectrum
    return bench.cnn(1), X, y, spectrum


def test_peers_found_or_reported(bench):
    found, missing = bench.peers()
    assert set(found) | set(missing) == {"curvlinops + eigsh", "PyHessian power"}
    assert not set(found) & set(missing)
    assert all(isinstance(why, str) and why for why in missing.values())


@pytest.mark.parametrize("name", ["curvlinops + eigsh", "PyHessian power"])
def test_peer_matches_the_dense_reference(bench, tiny, name):
    found, missing = bench.peers()
    if name not in found:
        pytest.skip(f"{name} not installed: {missing[name]}")
    model, X, y, spectrum = tiny
    k = 3
    # eigsh which="LA" gives the algebraically largest; power iteration the largest |λ| (at this
    # Kaiming init two negative eigenvalues come before λ_2: the bench's error column shows that)
    ref = (spectrum[::-1] if name.startswith("curvlinops")
           else np.sort(spectrum[np.argsort(-np.abs(spectrum))[:k]])[::-1])
    vals, hvps = found[name](model, X, y, k, 1e-6, 0)
    assert len(vals) == k and np.all(np.diff(vals) <= 0)
    assert hvps >= k  # at least one product per eigenvalue, each counted
    assert np.max(np.abs(vals - ref[:k]) / np.abs(ref[:k])) <= 1e-3, (vals, ref[:k])
