"""The Python API checks its inputs at the door: each bad input is a ValueError naming the
argument and what is expected, in one line, never a torch or numpy traceback from deep inside.

The cases are the ones issue 18 lists (X of the wrong width, labels out of range, 64 inputs with
50 labels, a model with no parameters, θ of the wrong length, NaN/inf in X, float16 X, float
labels, lr=nan, tol=-1, k < 1), for ``Landscape``, ``top_eigen``, ``measure`` and ``train``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from simlab import Landscape, measure, top_eigen, train
from simlab.errors import UsageError
from simlab.operators import DenseOperator
from simlab.trainer import TrainConfig


def data(n=16, d=3, n_c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % n_c
    return X, y


def net(d=3, n_c=3, h=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, n_c))


def raises(fn, *words):
    """``fn()`` raises a ValueError whose one-line message holds every word; returns it."""
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


@pytest.fixture(scope="module")
def land():
    X, y = data()
    return Landscape(net(), X, y, n_classes=3)


# ---------------------------------------------------------------- Landscape(model, X, y, ...)

def test_usage_errors_are_value_errors():
    assert issubclass(UsageError, ValueError)


def test_x_of_the_wrong_width_names_its_shape_and_the_model_error():
    X, y = data(d=5)
    msg = raises(lambda: Landscape(net(d=3), X, y, n_classes=3), "X of shape (16, 5)", "does not fit")
    assert "mat1" in msg or "shape" in msg  # the model's own complaint, in one line


@pytest.mark.parametrize("bad, words", [(3, ["label 3", "n_classes is 3"]), (-1, ["label -1"])])
def test_labels_out_of_range(bad, words):
    X, y = data()
    y[5] = bad
    raises(lambda: Landscape(net(), X, y, n_classes=3), *words)


def test_a_label_beyond_the_model_outputs_without_n_classes():
    X, y = data()
    y[0] = 7
    raises(lambda: Landscape(net(), X, y), "label 7", "outputs")


def test_more_inputs_than_labels():
    X, y = data(n=64)
    raises(lambda: Landscape(net(), X, y[:50], n_classes=3), "64 examples", "50 labels")


def test_a_model_without_parameters():
    X, y = data()
    raises(lambda: Landscape(nn.Identity(), X, y, n_classes=3), "model", "no parameters")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_inputs(value):
    X, y = data()
    X[7, 1] = value
    raises(lambda: Landscape(net(), X, y, n_classes=3), "X holds NaN or inf", "row 7")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64, torch.uint8])
def test_x_dtypes_other_than_float32_and_float64_are_refused(dtype):
    X, y = data()
    raises(lambda: Landscape(net(), X.to(dtype), y, n_classes=3), "X must be float32 or float64",
           str(dtype))


def test_landscape_dtype_must_be_float32_or_float64():
    X, y = data()
    raises(lambda: Landscape(net(), X, y, n_classes=3, dtype=torch.float16), "dtype")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bool])
def test_labels_must_be_integers(dtype):
    X, y = data()
    raises(lambda: Landscape(net(), X, y.to(dtype), n_classes=3), "y must hold integer class labels")


def test_shapes_of_y_and_x():
    X, y = data()
    raises(lambda: Landscape(net(), X, y[:, None], n_classes=3), "y must be 1-D")
    raises(lambda: Landscape(net(), X[:, 0], y, n_classes=3), "X must have one row per example")


def test_the_model_outputs_must_match_n_classes():
    X, y = data()
    raises(lambda: Landscape(net(n_c=4), X, y, n_classes=3), "4 outputs", "n_classes is 3")


@pytest.mark.parametrize("kw, word", [({"n_classes": 0}, "n_classes"), ({"n_classes": 2.5}, "n_classes"),
                                      ({"chunk_size": 0}, "chunk_size"), ({"chunk_size": 1.5}, "chunk_size"),
                                      ({"memory_budget_mb": math.nan}, "memory_budget_mb"),
                                      ({"loss": "hinge"}, "loss"), ({"device": "gpu0"}, "device")])
def test_keyword_arguments(kw, word):
    X, y = data()
    raises(lambda: Landscape(net(), X, y, **{"n_classes": 3, **kw}), word)


def test_not_tensors():
    X, y = data()
    raises(lambda: Landscape(net(), X.tolist(), y, n_classes=3), "X must be a torch.Tensor")
    raises(lambda: Landscape("net", X, y, n_classes=3), "model must be a torch.nn.Module")


def test_numpy_inputs_are_accepted_and_give_the_same_landscape(land):
    X, y = data()
    other = Landscape(net(), X.numpy(), y.numpy(), n_classes=3)
    assert other.loss(other.theta0) == land.loss(land.theta0)


def test_the_probe_forward_pass_leaves_rng_and_buffers_alone():
    X, y = data()
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.BatchNorm1d(4), nn.Linear(4, 3))
    before = model[2].running_mean.clone()
    torch.manual_seed(5)
    state = torch.get_rng_state()
    Landscape(model, X, y, n_classes=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(model[2].running_mean, before.to(model[2].running_mean.dtype))


def test_n_classes_defaults_to_the_model_outputs():
    X, y = data(n_c=2)  # labels 0, 1 only; the model has 3 outputs
    assert Landscape(net(), X, y).n_classes == 3


# ---------------------------------------------------------------- θ and v on the methods

@pytest.mark.parametrize("method", ["loss", "grad", "loss_grad", "accuracy", "hessian", "operator"])
def test_theta_of_the_wrong_length(land, method):
    theta = torch.zeros(land.n_params + 1, dtype=torch.float64)
    raises(lambda: getattr(land, method)(theta), "theta", f"{land.n_params} parameters", "shape")


def test_hvp_checks_theta_and_v(land):
    raises(lambda: land.hvp(land.theta0, torch.ones(3)), "v must be a flat vector")
    raises(lambda: land.hvp(land.theta0[:5], land.theta0), "theta must be a flat vector")
    raises(lambda: land.loss(land.theta0.reshape(1, -1)), "theta must be a flat vector")


def test_a_theta_of_another_dtype_gives_the_same_numbers(land):
    assert land.loss(land.theta0.float().double()) == land.loss(land.theta0.double())
    assert land.loss(land.theta0.float()) == land.loss(land.theta0.float().double())


def test_a_non_finite_theta_is_still_evaluated(land):
    """Divergence is detected from the loss, so a θ holding NaN must not be refused."""
    theta = land.theta0.clone()
    theta[0] = math.nan
    assert not math.isfinite(land.loss(theta))


# ---------------------------------------------------------------- top_eigen, measure, train

@pytest.mark.parametrize("kw, word", [({"k": 0}, "k must be"), ({"k": -3}, "k must be"), ({"k": 2.5}, "k must be"),
                                      ({"k": 10_000}, "k must be between"), ({"tol": -1}, "tol"),
                                      ({"tol": math.nan}, "tol"), ({"method": "qr"}, "eigensolver"),
                                      ({"maxiter": 0}, "maxiter"), ({"seed": -1}, "seed"),
                                      ({"v0": torch.ones(7)}, "v0"), ({"v0": torch.full((5,), math.nan)}, "v0"),
                                      ({"ncv": 0}, "ncv")])
def test_top_eigen_arguments(kw, word):
    op = DenseOperator(torch.diag(torch.arange(5, dtype=torch.float64)))
    raises(lambda: top_eigen(op, **{"k": 2, **kw}), word)


def test_top_eigen_needs_an_operator():
    raises(lambda: top_eigen(np.eye(3), 1), "op must be a simlab Operator")


@pytest.mark.parametrize("kw, word", [({"lr": math.nan}, "lr"), ({"lr": -0.1}, "lr"), ({"tol": -1}, "tol"),
                                      ({"k": 0}, "k must be"), ({"eps": 2}, "eps"), ({"method": "x"}, "eigensolver"),
                                      ({"n_classes": 0}, "n_classes"), ({"seed": 1.5}, "seed"),
                                      ({"operator": DenseOperator(torch.eye(3, dtype=torch.float64))}, "operator")])
def test_measure_arguments(land, kw, word):
    raises(lambda: measure(land, land.theta0, **{"lr": 0.1, "k": 2, **kw}), word)


def test_measure_theta_of_the_wrong_length(land):
    raises(lambda: measure(land, land.theta0[:-1], lr=0.1, k=2), "theta", "shape")


@pytest.mark.parametrize("cfg, word", [(TrainConfig(lr=math.nan), "lr"), (TrainConfig(eig_tol=-1), "eig-tol"),
                                       (TrainConfig(k=0), "k"), (TrainConfig(max_steps=-1), "max-steps")])
def test_train_config(land, cfg, word):
    raises(lambda: train(land, cfg, progress=False), word)


def test_not_a_landscape():
    raises(lambda: measure("land", torch.zeros(3), lr=0.1), "landscape must be a simlab Landscape")
    raises(lambda: train(None, TrainConfig(max_steps=1), progress=False), "landscape must be")


def test_train_arguments(land):
    raises(lambda: train(land, {"lr": 0.1}, progress=False), "cfg must be a TrainConfig")
    raises(lambda: train(land, TrainConfig(max_steps=1), theta=torch.zeros(3), progress=False),
           "theta", "shape")


def test_valid_inputs_still_measure(land):
    point, eig = measure(land, land.theta0, lr=0.1, k=2)
    assert len(point["eigenvalues"]) == 2 and math.isfinite(point["loss"])


@pytest.mark.parametrize("kw, word", [({"n_vectors": 0}, "n_vectors"), ({"steps": 2.5}, "steps"),
                                      ({"seed": -2}, "seed")])
def test_slq_density_arguments(kw, word):
    from simlab.density import slq_density

    op = DenseOperator(torch.diag(torch.arange(5, dtype=torch.float64)))
    raises(lambda: slq_density(op, **kw), word)
