"""λ_1(H) and λ_1(G) of simlab.gauss_newton against references built here: the dense Hessian's and
the dense Gauss–Newton matrix's (J from torch.func.jacrev, closed-form output Hessians) top
eigenvalues, whole and per layer; the matrix-free path agrees with the dense one; on a net that is
linear in θ, G = H and the ratio is 1."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_landscape
from simlab.errors import UsageError
from simlab.gauss_newton import layer_blocks, sharpness_parts
from test_ggn import dense_ggn

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)


def _theta(land, seed):
    g = torch.Generator().manual_seed(seed)
    return land.theta0 + 0.5 * torch.randn(land.n_params, generator=g, dtype=torch.float64)


@SETTINGS
@given(widths=st.sampled_from([(3,), (4, 3)]), chunk=st.sampled_from([None, 4]), activation=st.sampled_from(["tanh", "relu"]),
       loss=st.sampled_from(["ce", "mse"]), seed=st.integers(0, 300))
def test_dense_parts_match_the_references(widths, chunk, activation, loss, seed):
    land = make_landscape(widths, activation=activation, loss=loss, n_data=9, seed=seed,
                          chunk_size=chunk)
    theta = _theta(land, seed)
    got = sharpness_parts(land, theta, method="dense")
    H = land.hessian(theta)
    G = dense_ggn(land, theta)
    assert got["lambda_1_h"] == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-10, abs=1e-13)
    assert got["lambda_1_ggn"] == pytest.approx(float(torch.linalg.eigvalsh(G)[-1]), rel=1e-9, abs=1e-13)
    assert got["ggn_ratio"] == pytest.approx(got["lambda_1_ggn"] / got["lambda_1_h"])
    names = [n for n, _ in land.model.named_parameters()]
    assert list(got["ggn_blocks"]) == list(layer_blocks(names))
    assert len(got["ggn_blocks"]) == len(widths) + 1
    for layer, params in layer_blocks(names).items():
        idx = land.param_indices(params)
        ref_h = float(torch.linalg.eigvalsh(H[idx][:, idx])[-1])
        ref_g = float(torch.linalg.eigvalsh(G[idx][:, idx])[-1])
        assert got["ggn_blocks"][layer]["h"] == pytest.approx(ref_h, rel=1e-9, abs=1e-12)
        assert got["ggn_blocks"][layer]["ggn"] == pytest.approx(ref_g, rel=1e-9, abs=1e-12)
    assert got["ggn_seconds"] > 0


def test_matrix_free_agrees_with_dense():
    land = make_landscape((5,), activation="tanh", loss="ce", n_data=12, seed=3)
    theta = _theta(land, 3)
    dense = sharpness_parts(land, theta, method="dense")
    lanczos = sharpness_parts(land, theta, method="lanczos", tol=1e-8)
    for key in ("lambda_1_h", "lambda_1_ggn"):
        assert lanczos[key] == pytest.approx(dense[key], rel=1e-6)
    for layer, d in dense["ggn_blocks"].items():
        assert lanczos["ggn_blocks"][layer]["ggn"] == pytest.approx(d["ggn"], rel=1e-6)


def test_on_a_linear_model_the_gauss_newton_part_is_the_whole_sharpness():
    """MSE on f linear in θ: R = 0, so G = H and the ratio is exactly 1 (up to rounding)."""
    land = make_landscape((), loss="mse", n_data=10, seed=1)
    got = sharpness_parts(land, _theta(land, 1), method="dense")
    assert got["ggn_ratio"] == pytest.approx(1.0, abs=1e-10)


def test_bad_method_is_a_usage_error():
    land = make_landscape((3,), n_data=5, seed=0)
    with pytest.raises(UsageError, match="method must be one of dense, lanczos"):
        sharpness_parts(land, land.theta0, method="exact")


def test_the_toy_flag_puts_both_sharpnesses_in_the_telemetry(tmp_path, capsys):
    """--ggn-every N: every N iterations the point carries λ_1(H), λ_1(G) and the per-layer
    blocks; λ_1(H) there is the dense one and agrees with the point's own Lanczos λ_1. The last
    layer enters f linearly, so its block of G equals its block of H. The summary says the full
    spectrum was switched off, not that the run diverged."""
    from simlab.cli import main

    out = tmp_path / "run"
    assert main(["toy", "--dataset", "blobs", "--n-data", "40", "--hidden", "6", "--lr", "0.2",
                 "--steps", "20", "--grad-tol", "none", "--telemetry-every", "5", "--ggn-every", "10",
                 "--eig-method", "lanczos", "--k", "4", "--eig-tol", "1e-10",
                 "--no-full-spectra", "--out", str(out), "--quiet"]) == 0
    assert "not taken (--no-full-spectra" in capsys.readouterr().out
    from simlab.record import Record

    pts = Record.load(out).telemetry
    probed = [p for p in pts if "lambda_1_ggn" in p]
    assert [p["step"] for p in probed] == [0, 10, 20]
    for p in probed:
        assert p["lambda_1_h"] == pytest.approx(p["eigenvalues"][0], rel=1e-8)
        assert 0 < p["lambda_1_ggn"] and p["ggn_ratio"] == p["lambda_1_ggn"] / p["lambda_1_h"]
        last = p["ggn_blocks"][list(p["ggn_blocks"])[-1]]
        assert last["ggn"] == pytest.approx(last["h"], rel=1e-10)
    assert all("lambda_1_ggn" not in p for p in pts if p["step"] % 10)


def test_the_readme_block_runs_and_prints_the_parts_it_claims(capsys):
    from conftest import readme_block

    code = readme_block("### How much of the sharpness is Gauss–Newton's? (Lowell & Kastner 2024)")
    ns: dict = {}
    exec(compile(code, "README", "exec"), ns)
    out = capsys.readouterr().out
    parts = ns["parts"]
    assert f"ratio {parts['ggn_ratio']:.3f}" in out and out.count("layer ") == 2
    last = parts["ggn_blocks"]["2"]
    assert last["ggn"] == pytest.approx(last["h"], rel=1e-6)   # f is linear in the last layer
    assert 0 < parts["ggn_ratio"] <= 1.5
