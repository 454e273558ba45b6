"""TimedOperator: another operator's products forwarded, counted and timed, the numbers untouched;
the trainer times its telemetry products through it instead of patching the operator's methods."""

from __future__ import annotations

import torch

from conftest import make_landscape, random_theta
from simlab.operators import BlockOperator, DenseOperator, HVPOperator, TimedOperator
from simlab.spectrum import residuals, top_eigen
from simlab.trainer import TrainConfig, train


def test_products_are_the_bases_bit_for_bit_and_counted():
    land = make_landscape((4,), n_data=10, seed=1)
    theta = random_theta(land, seed=1)
    base, plain = HVPOperator(land, theta), HVPOperator(land, theta)
    op = TimedOperator(base)
    assert op.shape == plain.shape and op.dtype == plain.dtype
    g = torch.Generator().manual_seed(0)
    v, V = (torch.randn(op.shape[0], generator=g, dtype=torch.float64),
            torch.randn(op.shape[0], 3, generator=g, dtype=torch.float64))
    assert torch.equal(op.matvec(v), plain.matvec(v))
    assert torch.equal(op.matmat(V), plain.matmat(V))
    x = torch.randn(op.shape[0], generator=g, dtype=torch.float64).numpy()
    assert (op.as_scipy() @ x == plain.as_scipy() @ x).all()
    assert op.n_matvecs == plain.n_matvecs == 5 and base.n_matvecs == 5
    assert op.n_timed == 5 and op.seconds > 0
    # a solver may reset n_matvecs (residuals does); the timed count keeps every product
    residuals(op, torch.ones(2).numpy(), V[:, :2])
    assert op.n_matvecs == 5 and op.n_timed == 7


def test_an_eigensolve_through_it_gives_the_same_numbers():
    land = make_landscape((5, 3), n_data=16, seed=2)
    theta = random_theta(land, seed=2)
    a = top_eigen(TimedOperator(land.operator(theta)), 3, tol=1e-8, seed=4)
    b = top_eigen(land.operator(theta), 3, tol=1e-8, seed=4)
    assert (a.eigenvalues == b.eigenvalues).all() and a.n_matvecs == b.n_matvecs > 3
    assert torch.equal(a.eigenvectors, b.eigenvectors)
    assert (a.residuals == b.residuals).all()


def test_dense_is_the_bases_own():
    H = torch.tensor([[2.0, 1.0, 0.5], [1.0, 3.0, 0.25], [0.5, 0.25, 4.0]], dtype=torch.float64)
    block = BlockOperator(DenseOperator(H), [2, 0])
    op = TimedOperator(block)
    assert torch.equal(op.dense(), H[[2, 0]][:, [2, 0]]) and op.n_matvecs == 0
    land = make_landscape((3,), n_data=8, seed=3)
    hv = TimedOperator(land.operator(land.theta0))
    assert torch.equal(hv.dense(), land.operator(land.theta0).dense())
    assert hv.n_matvecs == hv.n_timed == land.n_params


def test_the_trainer_times_products_without_patching_the_operator():
    land = make_landscape((4,), n_data=12, seed=0)
    made = []

    def operator_fn(theta):
        made.append(land.operator(theta))
        return made[-1]

    cfg = TrainConfig(lr=0.1, max_steps=4, telemetry_every=2, k=2)
    res = train(land, cfg, operator_fn=operator_fn, progress=False)
    assert len(made) == 3    # steps 0, 2 and the last
    assert all("_matvec" not in op.__dict__ and "matvec" not in op.__dict__ for op in made)
    assert res.total_hvps == sum(op.n_matvecs for op in made) > 0
    assert res.grads_per_hvp is not None and res.grads_per_hvp > 0
    # the same run on the unwrapped path of an explicit matrix: no product is timed
    dense = train(land, cfg, operator_fn=lambda th: DenseOperator(land.hessian(th)),
                  progress=False)
    assert dense.grads_per_hvp is None and dense.total_hvps > 0
