"""SLQ's near-zero mass: the estimators, the validation document, the band lookup and F1's reader
of a scale density, on tiny planted spectra whose exact fraction is known (fast), and against
the exact Hessian of the bridge CNN (slow)."""

from __future__ import annotations

import dataclasses

import json

import numpy as np
import pytest
import torch

from simlab import density
from simlab.claims import Thresholds, evaluate_claim
from simlab.operators import DenseOperator
from simlab.record import Record, RecordWriter
from simlab.paper.slq_validation import SLQValidationConfig, document, table
from simlab.density import near_zero_mass, slq, slq_density, validated_band


def test_near_zero_mass_count_and_cell_by_hand():
    nodes, weights = np.array([0.0, 1.0, 3.0, 10.0]), np.array([0.5, 0.2, 0.2, 0.1])
    # count: the nodes inside |λ| ≤ a
    assert near_zero_mass(nodes, weights, 10.0, 0.05) == pytest.approx(0.5)
    assert near_zero_mass(nodes, weights, 10.0, 0.1) == pytest.approx(0.7)
    # cell: node 0's cell is [0, 0.5] (the lowest node's cell starts at it), node 1's [0.5, 2]:
    # a = 0.25 covers half of node 0's cell; a = 1.25 all of it and half of node 1's
    assert near_zero_mass(nodes, weights, 10.0, 0.025, estimator="cell") == pytest.approx(0.25)
    assert near_zero_mass(nodes, weights, 10.0, 0.125, estimator="cell") == pytest.approx(0.6)
    # two probes are read probe by probe; the weights need not be normalised
    two = near_zero_mass(np.r_[nodes, nodes], np.r_[weights, weights], 10.0, 0.125,
                         n_vectors=2, estimator="cell")
    assert two == pytest.approx(0.6)
    with pytest.raises(Exception, match="unknown near-zero estimator"):
        near_zero_mass(nodes, weights, 10.0, 0.1, estimator="kde")


def planted(n: int, zero: float, seed: int, rotate: bool = True) -> torch.Tensor:
    """A spectrum (rotated by a random orthogonal Q, else diagonal): a fraction ``zero`` spread over ±1e-4 (near zero for every band ≥ 1e-3
    of λ_1 = 10), the rest log-spread over [0.5, 8] (outside every band ≤ 3e-2) and λ_1 = 10."""
    g = torch.Generator().manual_seed(seed)
    nz = int(round(zero * n))
    lam = torch.cat([torch.empty(nz, dtype=torch.float64).uniform_(-1e-4, 1e-4, generator=g),
                     torch.logspace(np.log10(0.5), np.log10(8.0), n - nz - 1, dtype=torch.float64),
                     torch.tensor([10.0], dtype=torch.float64)])
    if not rotate:  # diagonal: a ±1 probe weighs every eigenvalue 1/n, no probe noise
        return torch.diag(lam[torch.randperm(n, generator=g)])
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return (Q * lam) @ Q.T


CFG = SLQValidationConfig(steps=(4, 40), eps=(1e-3, 1e-2), probes=(1, 2), seeds=6, dtype="float64")


@pytest.fixture
def validation(tmp_path, monkeypatch):
    """A validation document measured on two planted diagonal 'θ's (exact fraction 0.7 and 0.9:
    no probe noise, the errors are the quadrature's), stored where :func:`validated_band` looks."""
    doc = document(CFG, [(0, 1.0, planted(200, 0.7, 0, rotate=False)),
                         (1, 0.5, planted(200, 0.9, 1, rotate=False))], "planted {n}")
    path = tmp_path / "slq_validation.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(density, "SLQ_VALIDATION", path)
    return doc


def test_validation_document_on_planted_spectra(validation):
    doc = validation
    assert doc["net"] == "planted 200" and [p["theta"] for p in doc["points"]] == [0, 1]
    for p, f in zip(doc["points"], (0.7, 0.9)):
        assert p["exact"]["0.001"] == pytest.approx(f) and p["lambda_1"] == pytest.approx(10.0)
    rows = {(r["estimator"], r["probes"], r["steps"], r["eps"]): r for r in doc["rows"]}
    assert len(rows) == 2 * 2 * 2 * 2
    # 2 probes: 3 estimates per θ, each the mean of two single-probe masses
    one, two = rows[("count", 1, 40, 1e-3)], rows[("count", 2, 40, 1e-3)]
    assert [len(e) for e in two["estimates"]] == [3, 3] and [len(e) for e in one["estimates"]] == [6, 6]
    np.testing.assert_allclose(two["estimates"][0], np.reshape(one["estimates"][0], (3, 2)).mean(1), atol=2e-6)
    # 40 steps resolve the gap between the zero cluster and 0.5 (a node sits in the cluster);
    # 4 steps cannot (a node stands for the cluster and part of the rest)
    assert rows[("count", 1, 40, 1e-3)]["max_abs_error"] <= 0.03
    assert rows[("count", 1, 4, 1e-3)]["max_abs_error"] > 0.03
    assert all(r["max_probe_noise"] < 1e-12 for r in doc["rows"])
    assert rows[("count", 1, 4, 1e-3)]["max_quadrature_error"] == pytest.approx(rows[("count", 1, 4, 1e-3)]["max_abs_error"])
    b = {(x["probes"], x["steps"]): x for x in doc["bands"]}
    assert b[(1, 40)]["band"] == 1e-3 and b[(1, 4)]["band"] is None
    assert "narrowest band within the tolerance" in table(doc)


def test_validated_band_lookup(validation):
    assert validated_band(1, 40)["band"] == 1e-3
    # a row validated at 1 probe covers 4 probes; other steps are not covered
    assert validated_band(4, 40)["probes"] == 1
    assert validated_band(1, 20) is None and validated_band(1, 4) is None
    # a stricter tolerance than the stored errors: nothing validated
    assert validated_band(1, 40, tolerance=-1.0) is None
    assert validated_band(1, 40, path="/nonexistent.json") is None


def record(tmp, name, summary, **config):
    w = RecordWriter(tmp / name, {"n_classes": 10, **config},
                     meta={"regime": "scale", "experiment": "lr_sweep", "data": {"name": "cifar10"}})
    w.write_summary(summary)
    return Record.load(tmp / name)


def test_F1_reads_a_scale_density_at_its_validated_band(validation, tmp_path):
    """slq() on a third planted 'net' (exact fraction 0.8), stored as a scale run stores it:
    F1 reads the fraction at the validated band and says so; 4-step densities are set aside."""
    H = planted(200, 0.8, 2, rotate=False)
    est = slq(DenseOperator(H), probes=1, steps=40, seed=3, lam_max=10.0)
    assert est["validated"] and est["band"] == 1e-3 and est["band_fraction"] == est["near_zero_fraction"]
    assert abs(est["near_zero_fraction"] - 0.8) <= 0.03

    def summary(e):
        return {"lambda_max": 10.0, "n_params": 200, "valid": True,
                "density": {"nodes": e["nodes"].tolist(), "weights": e["weights"].tolist(),
                            "method": "slq", "n_vectors": e["probes"], "steps": e["steps"]}}

    good = record(tmp_path, "good", summary(est))
    # one 200-parameter record: judged as its own setting of one seed (min_seeds=1), and counted
    # as a network for F1 (f1_min_params=100): the thresholds say so explicitly
    th = Thresholds(min_seeds=1, f1_min_params=100)
    v = evaluate_claim("F1", [good], th)
    (run,) = [n for s in v.settings for lab, _, n in s.seeds if lab == good.name]
    assert run["band"] == 1e-3 and run["probes"] == 1 and run["steps"] == 40
    assert run["near_zero_fraction"] == pytest.approx(est["near_zero_fraction"])
    assert v.status == "fails"  # 0.8 < 0.85
    assert "validated for |λ| ≤ 0.001·λ_1" in v.reason and "planted 200" in v.reason
    assert evaluate_claim("F1", [good], dataclasses.replace(th, f1_fraction=0.75)).status == "holds"
    rough = slq(DenseOperator(H), probes=1, steps=4, seed=3, lam_max=10.0)
    assert not rough["validated"] and rough["band"] is None and rough["band_fraction"] is None
    bad = record(tmp_path, "bad", summary(rough))
    v = evaluate_claim("F1", [bad], th)
    assert v.status == "not applicable" and "unvalidated estimator (1 probe(s) × 4 Lanczos steps)" in v.reason
    assert bad.name in dict(v.not_applicable)


def test_probe_noise_is_separated_from_the_quadrature_error():
    """A rotated spectrum: a single ±1 probe's own mass scatters around the exact fraction (noise
    ~√(2f(1−f)/n)); at enough steps the estimate tracks the probe's own mass, not the exact one."""
    doc = document(CFG, [(0, 1.0, planted(200, 0.7, 5))], "rotated {n}")
    r = next(r for r in doc["rows"] if (r["estimator"], r["probes"], r["steps"], r["eps"]) == ("count", 1, 40, 1e-3))
    assert r["max_probe_noise"] > 0.01
    assert r["max_quadrature_error"] < 1e-3
    assert r["max_abs_error"] == pytest.approx(r["max_probe_noise"], abs=1e-3)


def test_slq_density_is_the_leading_block_of_a_longer_run():
    """The validation reads s-step densities off one max(steps) run: the same nodes as an s-step run."""
    H = planted(120, 0.5, 4)
    short = slq_density(DenseOperator(H), n_vectors=1, steps=15, seed=2)
    a, b = density.lanczos_tridiag(DenseOperator(H), (torch.randint(
        0, 2, (120,), generator=torch.Generator().manual_seed(2)) * 2 - 1).double(), 60)
    nodes, weights = density.gauss_nodes(a[:15], b[:14])
    np.testing.assert_allclose(nodes, short[0], atol=1e-10)
    np.testing.assert_allclose(weights, short[1], atol=1e-10)


@pytest.mark.slow
def test_slq_against_the_exact_hessian_of_the_bridge_cnn(shared_data):
    """The bridge CNN (2,641 parameters, 200 CIFAR-10 images) at Kaiming init: SLQ's near-zero
    mass at the narrowest band the stored validation gives the defaults, against the exact
    fraction there, within the validation's tolerance (another probe seed than the validation's)."""
    npz = shared_data / "cifar10_subset.npz"
    if not npz.exists():
        pytest.skip(f"{npz} not found")
    from simlab.paper.slq_validation import bridge_landscape

    val = validated_band(density.SLQ_PROBES, density.SLQ_STEPS)
    if val is None:
        pytest.skip("the stored validation resolves no band at the default settings")
    land = bridge_landscape(SLQValidationConfig(data_root=str(npz)))
    H = land.hessian(land.theta0, block=16)
    lam = np.linalg.eigvalsh(H.numpy())
    exact = float(np.mean(np.abs(lam) <= val["band"] * lam[-1]))
    # the matrix-free path a scale run takes (Hessian-vector products, no Hessian formed)
    out = slq(land.operator(land.theta0), seed=101, lam_max=float(lam[-1]))
    assert out["band"] == val["band"]
    assert abs(out["near_zero_fraction"] - exact) <= 0.03, (out["near_zero_fraction"], exact)
