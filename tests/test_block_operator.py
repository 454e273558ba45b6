"""Parameter-block operators: the restriction of a Hessian, Gauss–Newton or dense operator to a
set of parameters equals the corresponding principal sub-block of the dense matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_landscape
from simlab.errors import UsageError
from simlab.operators import BlockOperator, DenseOperator, HVPOperator
from simlab.spectrum import top_eigen
from simlab.trace_estimators import hutchpp

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def land():
    return make_landscape((4, 3), n_data=14, seed=5)


@pytest.mark.parametrize("names", [["0.weight"], ["0.bias"], ["2.weight", "2.bias"],
                                   ["4.bias", "0.weight"]])
def test_a_layer_block_of_the_hessian(land, names):
    theta = land.theta0
    H = land.hessian(theta)
    idx = land.param_indices(names)
    # the positions are θ's, in θ's order, and cover exactly the named tensors
    params = dict(land.model.named_parameters())
    assert idx.numel() == sum(params[n].numel() for n in names)
    assert torch.all(idx[1:] > idx[:-1])
    op = land.operator(theta, params=names)
    assert isinstance(op, BlockOperator) and op.shape == (idx.numel(), idx.numel())
    B = op.dense()
    assert float((B - H[idx][:, idx]).abs().max()) <= 1e-12 * float(H.abs().max())
    assert op.n_matvecs == idx.numel() and op.op.n_matvecs == idx.numel()


def test_param_indices_slice_theta_as_unflatten_does(land):
    theta = torch.arange(land.n_params, dtype=torch.float64)
    views = land.unflatten(theta)
    for name, view in views.items():
        assert torch.equal(theta[land.param_indices(name)], view.reshape(-1))


def test_a_layer_block_of_the_ggn(land):
    theta = land.theta0
    G = land.operator(theta, curvature="ggn").dense()
    idx = land.param_indices(["2.weight"])
    B = land.operator(theta, curvature="ggn", params=["2.weight"]).dense()
    assert float((B - G[idx][:, idx]).abs().max()) <= 1e-12 * float(G.abs().max())


@SETTINGS
@given(seed=st.integers(0, 10_000), size=st.integers(1, 20), as_mask=st.booleans())
def test_any_index_set_of_the_hvp_operator(land, seed, size, as_mask):
    H = land.hessian(land.theta0)
    n = land.n_params
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(n, generator=g)[:min(size, n)]
    if as_mask:
        mask = torch.zeros(n, dtype=torch.bool)
        mask[idx] = True
        idx, given_idx = torch.nonzero(mask).reshape(-1), mask
    else:
        given_idx = idx  # any order: the block follows it
    op = BlockOperator(HVPOperator(land, land.theta0), given_idx)
    v = torch.randn(len(idx), generator=g, dtype=torch.float64)
    ref = H[idx][:, idx] @ v
    assert torch.allclose(op.matvec(v), ref, rtol=1e-10, atol=1e-12)
    V = torch.randn(len(idx), 3, generator=g, dtype=torch.float64)
    assert torch.allclose(op.matmat(V), H[idx][:, idx] @ V, rtol=1e-10, atol=1e-12)
    assert op.n_matvecs == 4


def test_a_block_of_a_dense_operator_and_measurements_on_it():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(30, 30, generator=g, dtype=torch.float64)
    A = A @ A.T
    idx = torch.tensor([3, 7, 8, 20, 29, 1])
    op = BlockOperator(DenseOperator(A), idx)
    assert torch.equal(op.dense(), A[idx][:, idx])
    sub = A[idx][:, idx]
    eig = top_eigen(op, k=2, tol=1e-10)
    np.testing.assert_allclose(eig.eigenvalues, np.linalg.eigvalsh(sub.numpy())[::-1][:2], rtol=1e-8)
    assert hutchpp(op, probes=18).estimate == pytest.approx(float(torch.trace(sub)), rel=1e-12)
    nested = BlockOperator(op, [0, 2])  # a block of a block: positions of the outer block
    assert torch.allclose(nested.dense(), A[[3, 8]][:, [3, 8]])


@pytest.mark.parametrize("indices, word", [([], "non-empty"), ([0.5], "integer"), ([40], "0..29"),
                                           ([-1], "0..29"), ([1, 1], "distinct"),
                                           (torch.ones(5, dtype=torch.bool), "mask")])
def test_bad_indices(indices, word):
    with pytest.raises(UsageError, match=word):
        BlockOperator(DenseOperator(torch.eye(30, dtype=torch.float64)), indices)


def test_unknown_parameter_names_and_curvature(land):
    with pytest.raises(UsageError, match="'conv1.weight'"):
        land.operator(land.theta0, params=["conv1.weight"])
    with pytest.raises(UsageError, match="params must name"):
        land.param_indices([])
    with pytest.raises(UsageError, match="unknown curvature"):
        land.operator(land.theta0, curvature="fisher")
