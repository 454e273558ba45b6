"""Telemetry: projections, ΔL by re-evaluation, ρ and η*, and matrix-free = dense on a tiny net."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_landscape, random_theta
from simlab.operators import DenseOperator
from simlab.telemetry import measure, projections

STATS = ("near_zero_fraction", "outlier_count", "gap_ratio", "gap_index", "lambda_min",
         "lambda_max", "n_negative", "negative_fraction")
KEYS = ("loss", "accuracy", "grad_norm", "theta_norm", "eigenvalues", "eta_star", "rho", "d",
        "n_top", "p_top_norm", "p_bulk_norm", "dl_top", "dl_bulk", "n_matvecs", "residuals")


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), k=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_projections_split_g_orthogonally(n, k, seed):
    k = min(k, n)
    g_ = torch.Generator().manual_seed(seed)
    V, _ = torch.linalg.qr(torch.randn(n, k, generator=g_, dtype=torch.float64))
    g = torch.randn(n, generator=g_, dtype=torch.float64)
    for n_top in range(1, k + 1):
        d, top, bulk = projections(g, V, n_top)
        assert torch.allclose(d, V.T @ g, atol=1e-14)
        assert torch.allclose(top + bulk, g, atol=1e-14)
        assert abs(float(top @ bulk)) <= 1e-12 * float(g @ g)
        # P_top g lies in the span of the first n_top columns, P_bulk g is orthogonal to it
        assert torch.allclose(V[:, :n_top] @ (V[:, :n_top].T @ top), top, atol=1e-12)
        assert float(torch.linalg.vector_norm(V[:, :n_top].T @ bulk)) <= 1e-12 * float(torch.linalg.vector_norm(g))
        # Pythagoras, and the norm of the top part is that of its coordinates
        assert float(top @ top + bulk @ bulk) == pytest.approx(float(g @ g), rel=1e-12)
        assert float(torch.linalg.vector_norm(top)) == pytest.approx(float(torch.linalg.vector_norm(d[:n_top])), rel=1e-12)


@pytest.fixture(scope="module")
def tiny():
    """A 3-class tanh net away from initialisation, its θ, gradient and dense Hessian."""
    ls = make_landscape((5,), activation="tanh", loss="ce", n_data=15, n_classes=3, seed=2)
    theta = random_theta(ls, 3)
    H = ls.hessian(theta)
    lam = np.linalg.eigvalsh(H.numpy())[::-1]
    # the comparisons below need distinct top eigenvalues (eigenvectors defined up to sign)
    assert np.min(-np.diff(lam[:7])) > 1e-3 * lam[0]
    return ls, theta, H, lam


def test_point_fields_and_definitions(tiny):
    ls, theta, H, lam = tiny
    lr = 0.37
    point, eig = measure(ls, theta, lr=lr, k=5, method="lanczos", tol=1e-12)
    assert set(KEYS) <= set(point) and not set(STATS) & set(point)
    assert point["n_top"] == 2 and len(point["eigenvalues"]) == 5 and len(point["d"]) == 5
    np.testing.assert_allclose(point["eigenvalues"], lam[:5], rtol=1e-9)
    ev = np.array(point["eigenvalues"])
    np.testing.assert_allclose(point["rho"], lr * ev / 2, rtol=1e-15)
    np.testing.assert_allclose(point["eta_star"], [2 / x if x > 0 else math.inf for x in ev], rtol=1e-15)
    loss, g = ls.loss_grad(theta)
    assert point["loss"] == pytest.approx(loss, rel=1e-14)
    assert point["accuracy"] == ls.accuracy(theta)
    assert point["grad_norm"] == pytest.approx(float(torch.linalg.vector_norm(g)), rel=1e-14)
    assert point["theta_norm"] == pytest.approx(float(torch.linalg.vector_norm(theta)), rel=1e-14)
    np.testing.assert_allclose(point["d"], (eig.eigenvectors.T @ g).numpy(), rtol=1e-12, atol=1e-15)
    assert point["n_matvecs"] == eig.n_matvecs > 0
    # tol bounds the eigenvalue error; the residuals r are ~ sqrt(tol·λ·gap), reported from the recurrence
    assert max(point["residuals"]) < 1e-6 * lam[0]
    res = torch.linalg.vector_norm(H @ eig.eigenvectors - eig.eigenvectors * torch.as_tensor(ev), dim=0)
    np.testing.assert_allclose(point["residuals"], res.numpy(), rtol=1e-3, atol=1e-10 * lam[0])


def test_delta_l_is_an_independent_re_evaluation(tiny):
    """ΔL = L(θ − η P g) − L(θ), recomputed here by the forward pass of a fresh landscape."""
    ls, theta, H, lam = tiny
    lr = 0.5
    point, eig = measure(ls, theta, lr=lr, k=4, method="lanczos", tol=1e-12)
    fresh = make_landscape((5,), activation="tanh", loss="ce", n_data=15, n_classes=3, seed=2,
                           chunk_size=4)  # other chunks, same objective
    g = fresh.grad(theta)
    V = eig.eigenvectors[:, :2]
    top = V @ (V.T @ g)
    bulk = g - top
    L0 = fresh.loss(theta)
    assert point["dl_top"] == pytest.approx(fresh.loss(theta - lr * top) - L0, rel=1e-9, abs=1e-15)
    assert point["dl_bulk"] == pytest.approx(fresh.loss(theta - lr * bulk) - L0, rel=1e-9, abs=1e-15)
    assert point["p_top_norm"] == pytest.approx(float(torch.linalg.vector_norm(top)), rel=1e-9)
    assert point["p_bulk_norm"] == pytest.approx(float(torch.linalg.vector_norm(bulk)), rel=1e-9)
    # not a Taylor expansion: the second-order model differs from the re-evaluation
    taylor = float(-lr * g @ top + lr ** 2 / 2 * top @ H @ top)
    assert point["dl_top"] != taylor


def test_lanczos_telemetry_equals_dense_hessian_telemetry(tiny):
    ls, theta, H, lam = tiny
    lr = 0.2
    p_l, e_l = measure(ls, theta, lr=lr, k=6, method="lanczos", tol=1e-14)
    p_d, e_d = measure(ls, theta, lr=lr, k=6, operator=DenseOperator(H), method="dense")
    np.testing.assert_allclose(p_l["eigenvalues"], p_d["eigenvalues"], rtol=1e-10)
    np.testing.assert_allclose(np.abs(p_l["d"]), np.abs(p_d["d"]), rtol=1e-7, atol=1e-12)
    for key in ("p_top_norm", "p_bulk_norm", "dl_top", "dl_bulk", "loss", "grad_norm", "theta_norm"):
        assert p_l[key] == pytest.approx(p_d[key], rel=1e-8, abs=1e-14), key
    np.testing.assert_allclose(p_l["rho"], p_d["rho"], rtol=1e-10)
    # the dense point carries the full-spectrum statistics of eigh's spectrum, the Lanczos one not
    assert all(key in p_d for key in STATS) and not any(key in p_l for key in STATS)
    assert p_d["lambda_max"] == pytest.approx(lam[0], rel=1e-12)
    assert p_d["lambda_min"] == pytest.approx(lam[-1], rel=1e-9, abs=1e-12)
    assert p_d["n_matvecs"] == 0 and max(p_d["residuals"]) < 1e-10
    # power iteration agrees too (the method of Lowell 2022)
    p_p, _ = measure(ls, theta, lr=lr, k=3, method="power", tol=1e-13)
    np.testing.assert_allclose(p_p["eigenvalues"], lam[:3], rtol=1e-6)
    assert p_p["dl_top"] == pytest.approx(p_d["dl_top"], rel=1e-4)


def test_k_is_capped_and_two_classes_have_one_top_direction():
    ls = make_landscape((2,), n_data=6, n_classes=2, seed=1)  # 3·2+2 + 2·2+2 = 14 parameters
    theta = random_theta(ls, 1)
    point, _ = measure(ls, theta, lr=0.1, k=50, method="lanczos", tol=1e-10)
    assert len(point["eigenvalues"]) == ls.n_params - 1  # Lanczos needs k < n
    assert point["n_top"] == 1
    point, _ = measure(ls, theta, lr=0.1, k=50, method="dense")  # H column by column
    assert len(point["eigenvalues"]) == ls.n_params
    # with every eigenvector, P_top g + P_bulk g = g and ‖d‖ = ‖g‖
    assert float(np.linalg.norm(point["d"])) == pytest.approx(point["grad_norm"], rel=1e-10)


def test_fewer_eigenpairs_than_n_c_minus_1_are_marked_not_passed_off_as_p_top():
    """k = 1 < n_c − 1 = 3: the point says P_top spans 1 eigenvector (the claims then refuse
    it for L4–L6, L10), never 'n_top: 3' over one vector."""
    import torch
    from torch import nn

    from simlab import Landscape, measure

    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 4))
    land = Landscape(m, torch.randn(32, 5), torch.randint(0, 4, (32,)), loss="ce", n_classes=4,
                     dtype=torch.float64)
    one, _ = measure(land, land.theta0, lr=0.1, k=1)
    three, _ = measure(land, land.theta0, lr=0.1, k=5)
    assert (one["n_top"], three["n_top"]) == (1, 3)


def test_a_point_says_when_its_solve_ran_out_of_products(monkeypatch):
    """``solver_stop`` is in the line only when the Lanczos solve ended at its budget without
    its certificate; a certified point's line is as before."""
    import simlab.telemetry as tel

    ls = make_landscape(widths=(4,), n_data=12, seed=3)
    theta = random_theta(ls, 3)
    point, eig = measure(ls, theta, lr=0.1, k=3, method="lanczos", tol=1e-8)
    assert eig.stop == "certified" and "solver_stop" not in point.to_json()
    real = tel.top_eigen

    def out_of_products(*a, **kw):
        e = real(*a, **kw)
        e.stop = "budget"
        return e

    monkeypatch.setattr(tel, "top_eigen", out_of_products)
    point, _ = measure(ls, theta, lr=0.1, k=3, method="lanczos", tol=1e-8)
    assert point["solver_stop"] == "budget" and list(point.to_json())[-1] == "solver_stop"
