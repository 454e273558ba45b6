"""Hutchinson and Hutch++ against exact traces: dense Hessians of tiny nets (Landscape.hessian),
planted low-rank matrices (Hutch++ is exact once its sketch covers the rank) and diagonal
matrices (every Rademacher quadratic form of a diagonal matrix is its trace)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_landscape
from simlab.errors import UsageError
from simlab.operators import DenseOperator
from simlab.trace_estimators import Trace, hutchinson, hutchpp, trace

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def low_rank(n: int, r: int, seed: int) -> torch.Tensor:
    """A symmetric n × n matrix of rank r with eigenvalues of both signs."""
    g = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(n, r, generator=g, dtype=torch.float64))
    lam = torch.randn(r, generator=g, dtype=torch.float64) * 3 + 1
    return (U * lam) @ U.T


@pytest.fixture(scope="module")
def hessian():
    land = make_landscape(widths=(4,), n_data=24, seed=1)
    theta = land.theta0
    return land, theta, land.hessian(theta)


def test_hutchinson_on_the_hvp_operator_equals_it_on_the_dense_hessian(hessian):
    land, theta, H = hessian
    a = hutchinson(land.operator(theta), probes=40, seed=3)
    b = hutchinson(DenseOperator(H), probes=40, seed=3)
    assert a.n_matvecs == 40 and a.method == "hutchinson"
    assert abs(a.estimate - b.estimate) <= 1e-10 * abs(float(torch.trace(H))) + 1e-12
    assert a.stderr == pytest.approx(b.stderr, rel=1e-8)


def test_hutchinson_is_within_its_standard_error_of_the_exact_trace(hessian):
    land, theta, H = hessian
    exact = float(torch.trace(H))
    t = hutchinson(land.operator(theta), probes=400, seed=0)
    assert t.stderr > 0
    assert abs(t.estimate - exact) <= 4 * t.stderr
    # the standard error is the one the estimator's variance formula predicts
    var = 2 * (float((H ** 2).sum()) - float((torch.diagonal(H) ** 2).sum())) / 400
    assert t.stderr == pytest.approx(np.sqrt(var), rel=0.25)


def test_hutchpp_is_exact_when_its_sketch_spans_the_whole_space(hessian):
    land, theta, H = hessian
    n = H.shape[0]
    op = land.operator(theta)
    t = hutchpp(op, probes=3 * n, seed=0)
    assert t.n_matvecs == 2 * n and t.stderr == 0.0
    assert t.estimate == pytest.approx(float(torch.trace(H)), rel=1e-10, abs=1e-12)


@SETTINGS
@given(n=st.integers(4, 40), r=st.integers(1, 6), extra=st.integers(0, 5), seed=st.integers(0, 2**32))
def test_hutchpp_is_exact_on_a_low_rank_matrix_when_probes_cover_the_rank(n, r, extra, seed):
    r = min(r, n)
    A = low_rank(n, r, seed)
    k = min(r + extra, n)
    t = hutchpp(DenseOperator(A), probes=3 * k, seed=seed % 1000)
    exact = float(torch.trace(A))
    scale = float(torch.linalg.matrix_norm(A, "nuc"))
    assert abs(t.estimate - exact) <= 1e-10 * scale
    assert t.n_matvecs == (2 * k if k == n else 3 * k)


@SETTINGS
@given(n=st.integers(1, 50), probes=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_hutchinson_is_exact_on_a_diagonal_matrix(n, probes, seed):
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, generator=g, dtype=torch.float64)
    t = hutchinson(DenseOperator(torch.diag(d)), probes=probes, seed=seed)
    assert t.estimate == pytest.approx(float(d.sum()), abs=1e-12 * (1 + float(d.abs().sum())))
    assert t.n_matvecs == probes
    assert (np.isnan(t.stderr) if probes == 1 else t.stderr <= 1e-12 * (1 + float(d.abs().sum())))


@SETTINGS
@given(widths=st.sampled_from([(3,), (5,), (3, 2)]), loss=st.sampled_from(["ce", "mse"]),
       seed=st.integers(0, 1000))
def test_estimates_of_tiny_net_hessians_are_reproducible_and_near_the_exact_trace(widths, loss, seed):
    land = make_landscape(widths, loss=loss, n_data=10, seed=seed)
    H = land.hessian(land.theta0)
    exact = float(torch.trace(H))
    op = DenseOperator(H)
    for method in ("hutchinson", "hutch++"):
        a = trace(op, 90, method=method, seed=seed)
        assert a.estimate == trace(op, 90, method=method, seed=seed).estimate  # seeded
        assert float(a) == a.estimate
        # 6 standard errors of the random part; the Frobenius norm bounds the error's scale
        assert abs(a.estimate - exact) <= 6 * a.stderr + 1e-9 * float(torch.linalg.matrix_norm(H))


def _mean_abs_error(estimator, A, probes, seeds=range(20)):
    exact = float(torch.trace(A))
    op = DenseOperator(A)
    return float(np.mean([abs(estimator(op, probes, seed=s).estimate - exact) for s in seeds]))


def test_the_error_shrinks_with_probes(hessian):
    _, _, H = hessian  # 31 parameters
    e = [_mean_abs_error(hutchinson, H, m) for m in (4, 40, 400)]
    assert e[0] > e[1] > e[2]
    assert e[2] < e[0] / 4  # ~1/sqrt(m): a factor 10 expected over 100x the probes
    e = [_mean_abs_error(hutchpp, H, m) for m in (3, 12, 48)]
    assert e[0] > e[1] > e[2]


def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    n = 200
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    lam = 1.0 / torch.arange(1, n + 1, dtype=torch.float64) ** 2
    A = (Q * lam) @ Q.T
    plain, plus = _mean_abs_error(hutchinson, A, 60), _mean_abs_error(hutchpp, A, 60)
    assert plus < plain / 5


def test_the_probes_are_rademacher_and_independent_of_the_block_size():
    from simlab.trace_estimators import rademacher

    like = torch.empty(0, dtype=torch.float64)
    Z = rademacher(7, 5, torch.Generator().manual_seed(4), like)
    gen = torch.Generator().manual_seed(4)
    Z2 = torch.cat([rademacher(7, 2, gen, like), rademacher(7, 3, gen, like)], dim=1)
    assert torch.equal(Z, Z2) and set(Z.unique().tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("call, word", [
    (lambda op: hutchinson(op, probes=0), "probes"),
    (lambda op: hutchpp(op, probes=2), "at least 3"),
    (lambda op: hutchinson(op, probes=2.5), "probes"),
    (lambda op: hutchinson(op, seed=-1), "seed"),
    (lambda op: trace(op, method="exact"), "unknown trace method"),
    (lambda op: trace("H"), "Operator"),
])
def test_arguments(call, word):
    with pytest.raises(UsageError, match=word):
        call(DenseOperator(torch.eye(4, dtype=torch.float64)))


def test_trace_result_type():
    t = trace(DenseOperator(torch.eye(5, dtype=torch.float64)), 15)
    assert isinstance(t, Trace) and t.method == "hutch++" and t.estimate == pytest.approx(5.0)
