"""The Gauss–Newton operator against its dense float64 twin, built here from the full Jacobian
of the outputs (torch.func.jacrev) and the closed-form output Hessians; PSD; equal to the
Hessian on a model linear in θ."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import hessian, jacrev

from conftest import make_landscape
from simlab.landscape import Landscape
from simlab.operators import GGNOperator
from simlab.spectrum import top_eigen

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)


def dense_ggn(land, theta) -> torch.Tensor:
    """G = Jᵀ H_out J over the whole set: J the (n·c) × P Jacobian of the outputs, H_out
    block-diagonal, (diag(p) − ppᵀ)/n per example for CE and 2I/(n·c) for MSE (torch's means)."""
    X, y = land.X, land.y
    J = jacrev(lambda th: land.outputs(th, X))(theta)  # (n, c, P)
    n, c, _ = J.shape
    out = land.outputs(theta, X)
    if land.loss_name == "ce":
        p = torch.softmax(out, dim=-1)
        H_out = (torch.diag_embed(p) - p[:, :, None] * p[:, None, :]) / n
    else:
        H_out = 2 * torch.eye(c, dtype=J.dtype).expand(n, c, c) / (n * c)
    return torch.einsum("ncp,ncd,ndq->pq", J, H_out, J)


@SETTINGS
@given(widths=st.sampled_from([(3,), (4,), (3, 2)]), activation=st.sampled_from(["tanh", "relu"]),
       loss=st.sampled_from(["ce", "mse"]), chunk=st.sampled_from([None, 3, 5]),
       hold=st.sampled_from([None, True, False]), seed=st.integers(0, 500))
def test_the_operator_equals_the_dense_ggn(widths, activation, loss, chunk, hold, seed):
    land = make_landscape(widths, activation=activation, loss=loss, n_data=11, chunk_size=chunk,
                          seed=seed)
    g = torch.Generator().manual_seed(seed)
    theta = land.theta0 + 0.3 * torch.randn(land.n_params, generator=g, dtype=torch.float64)
    ref = dense_ggn(land, theta)
    op = GGNOperator(land, theta, hold_graph=hold)
    G = op.dense()
    assert op.n_matvecs == land.n_params
    scale = float(torch.linalg.matrix_norm(ref))
    assert float((G - ref).abs().max()) <= 1e-10 * scale + 1e-14
    # positive semi-definite, and a product applied twice gives the same vector
    w = torch.linalg.eigvalsh(G)
    assert float(w.min()) >= -1e-12 * float(w.max())
    v = torch.randn(land.n_params, generator=g, dtype=torch.float64)
    assert torch.equal(op.matvec(v), op.matvec(v))


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_on_a_model_linear_in_theta_the_ggn_is_the_hessian(loss):
    g = torch.Generator().manual_seed(3)
    X = torch.randn(20, 4, generator=g, dtype=torch.float64)
    y = torch.arange(20) % 3
    torch.manual_seed(0)
    land = Landscape(nn.Linear(4, 3), X, y, loss=loss, n_classes=3)
    theta = land.theta0 + 0.5 * torch.randn(land.n_params, generator=g, dtype=torch.float64)
    H = land.hessian(theta)
    G = land.operator(theta, curvature="ggn").dense()
    assert float((G - H).abs().max()) <= 1e-12 * float(H.abs().max())
    assert float(H.abs().max()) > 1e-3


def test_on_a_nonlinear_net_ggn_and_hessian_differ_by_the_residual_term():
    land = make_landscape((4,), n_data=12, seed=2)
    theta = land.theta0
    H, G = land.hessian(theta), land.operator(theta, curvature="ggn").dense()
    assert float((G - H).abs().max()) > 1e-4 * float(H.abs().max())
    # the top of the spectrum: Lanczos on the GGN operator against eigh of the dense GGN
    ref = np.linalg.eigvalsh(dense_ggn(land, theta).numpy())[::-1][:3]
    eig = top_eigen(land.operator(theta, curvature="ggn"), k=3, tol=1e-8)
    np.testing.assert_allclose(eig.eigenvalues, ref, rtol=1e-6)


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_output_hessian_closed_forms_equal_autograd(loss):
    land = make_landscape((3,), loss=loss, n_data=6, seed=4)
    out = land.outputs(land.theta0, land.X)
    u = torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    Hf = hessian(lambda o: land.output_loss(o, land.y))(out)  # (n, c, n, c)
    ref = torch.einsum("icjd,jd->ic", Hf, u)
    got = land.output_hvp(out, land.y, u)
    assert torch.allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_cross_entropy_output_hessian_is_the_softmax_covariance():
    land = make_landscape((3,), n_data=5, seed=1)
    out = land.outputs(land.theta0, land.X)
    p = F.softmax(out, dim=-1)
    E = torch.eye(3, dtype=torch.float64)
    cols = torch.stack([land.output_hvp(out, land.y, E[j].expand_as(out)) for j in range(3)], -1)
    want = (torch.diag_embed(p) - p[:, :, None] * p[:, None, :]) / 5
    assert torch.allclose(cols, want, atol=1e-15)
