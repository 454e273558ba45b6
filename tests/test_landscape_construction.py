"""Landscape construction: the caller's model left as it was (a copy in the working dtype, eval
mode during measurement), the determinism check, a DataLoader as the data, and any criterion
with a stated reduction — each checked against the tensor / named-loss landscape's numbers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import make_landscape
from simlab.errors import UsageError
from simlab.landscape import Landscape

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


def data(n=20, d=3, n_c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.arange(n) % n_c


def net(seed=0, dropout=False, batchnorm=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(3, 5)]
    layers += [nn.BatchNorm1d(5)] if batchnorm else []
    layers += [nn.Tanh()] + ([nn.Dropout(0.5)] if dropout else []) + [nn.Linear(5, 3)]
    return nn.Sequential(*layers)


def one_line(err):
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    return str(err.value)


# ------------------------------------------------------------------ the caller's model

def test_the_callers_model_is_left_as_it_was():
    model = net(dropout=True, batchnorm=True)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = data()
    land = Landscape(model, X, y, dtype=torch.float64)
    theta = land.theta0 + 0.1
    land.loss_grad(theta)
    land.hessian(theta)
    land.operator(theta, curvature="ggn").matvec(torch.ones(land.n_params))
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())
    assert next(model.parameters()).dtype == torch.float32
    assert land.model is not model and not land.model.training
    assert land.theta0.dtype == torch.float64


def test_measurement_is_in_eval_mode():
    """Dropout off and batch-norm on its running statistics: the loss is that of the model in
    eval mode, and products applied twice agree."""
    model = net(dropout=True, batchnorm=True)
    model[1].running_mean.fill_(0.3)
    model[1].running_var.fill_(2.0)
    X, y = data()
    land = Landscape(model, X, y, dtype=torch.float64)
    ref = model.double().eval()
    with torch.no_grad():
        want = float(F.cross_entropy(ref(X.double()), y))
    assert land.loss(land.theta0) == pytest.approx(want, rel=1e-12)
    op = land.operator(land.theta0)
    v = torch.randn(land.n_params, dtype=torch.float64)
    assert torch.equal(op.matvec(v), op.matvec(v))


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x) + 0.1 * torch.randn(x.shape[0], 3, dtype=x.dtype)


def test_a_model_with_randomness_in_its_forward_pass_is_refused():
    X, y = data()
    torch.manual_seed(1)
    model = Noisy()
    state = torch.get_rng_state()
    with pytest.raises(UsageError) as err:
        Landscape(model, X, y)
    assert "not deterministic" in one_line(err) and "θ_0" in str(err.value)
    assert torch.equal(torch.get_rng_state(), state)


# ------------------------------------------------------------------ a DataLoader as the data

@pytest.mark.parametrize("batch_size, shuffle", [(1, False), (7, True), (64, False)])
def test_a_dataloader_gives_the_landscape_of_its_tensors(batch_size, shuffle):
    X, y = data(n=21)
    a = Landscape(net(), X, y, chunk_size=5)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle,
                        generator=torch.Generator().manual_seed(0))
    b = Landscape(net(), loader, chunk_size=5)
    assert b.n_data == 21
    theta = a.theta0
    la, ga = a.loss_grad(theta)
    lb, gb = b.loss_grad(theta)
    assert lb == pytest.approx(la, rel=1e-12)
    assert torch.allclose(ga, gb, rtol=1e-10, atol=1e-14)
    assert torch.allclose(a.hessian(theta), b.hessian(theta), rtol=1e-10, atol=1e-14)


class Dicts(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"x": torch.zeros(3), "y": 0}


@pytest.mark.parametrize("loader, word", [
    (DataLoader(Dicts(), batch_size=2), "batch 0 is a dict"),
    (DataLoader(TensorDataset(torch.zeros(4, 3), torch.zeros(4).long(), torch.zeros(4)), batch_size=2),
     "(inputs, labels) pairs of tensors"),
    (DataLoader(TensorDataset(torch.zeros(0, 3), torch.zeros(0).long())), "no batches"),
])
def test_a_dataloader_yielding_something_else_is_refused_in_one_line(loader, word):
    with pytest.raises(UsageError) as err:
        Landscape(net(), loader)
    assert word in one_line(err)


def test_y_with_a_dataloader_or_no_y_with_tensors():
    X, y = data()
    with pytest.raises(UsageError, match="y must be left out"):
        Landscape(net(), DataLoader(TensorDataset(X, y)), y)
    with pytest.raises(UsageError, match="y is needed"):
        Landscape(net(), X)


# ------------------------------------------------------------------ any criterion

def mse_onehot_mean(out, y):
    return F.mse_loss(out, F.one_hot(y, out.shape[1]).to(out.dtype))


@SETTINGS
@given(chunk=st.sampled_from([None, 1, 4, 7]), seed=st.integers(0, 1000),
       case=st.sampled_from(["ce-mean", "ce-sum", "mse-mean"]))
def test_a_criterion_callable_gives_the_named_losss_landscape(chunk, seed, case):
    X, y = data(n=13, seed=seed)
    named, crit, red = {"ce-mean": ("ce", nn.CrossEntropyLoss(), "mean"),
                        "ce-sum": ("ce", nn.CrossEntropyLoss(reduction="sum"), "sum"),
                        "mse-mean": ("mse", mse_onehot_mean, "mean")}[case]
    a = Landscape(net(seed), X, y, loss=named, chunk_size=chunk)
    b = Landscape(net(seed), X, y, loss=crit, reduction=red, chunk_size=chunk)
    theta = a.theta0 + 0.2 * torch.randn(a.n_params, generator=torch.Generator().manual_seed(seed),
                                         dtype=torch.float64)
    la, ga = a.loss_grad(theta)
    lb, gb = b.loss_grad(theta)
    assert lb == pytest.approx(la, rel=1e-12)
    assert torch.allclose(ga, gb, rtol=1e-10, atol=1e-14)
    Ha = a.hessian(theta)
    assert torch.allclose(b.hessian(theta), Ha, rtol=1e-10, atol=1e-13)
    v = torch.randn(a.n_params, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(b.operator(theta).matvec(v), Ha @ v, rtol=1e-9, atol=1e-13)
    # the Gauss–Newton operator through the criterion's autograd output Hessian
    Ga = a.operator(theta, curvature="ggn").dense()
    assert torch.allclose(b.operator(theta, curvature="ggn").dense(), Ga, rtol=1e-10, atol=1e-13)
    assert b.loss_description.endswith(f"(reduction={red!r})") and a.loss_description == named


def test_a_criterion_that_is_not_a_per_example_mean_is_measured_as_stated():
    """A criterion averaging over examples *and* outputs, stated as "mean": L is its value on the
    whole set (a mean over n_D · n_c numbers), which is the named "mse"."""
    X, y = data(n=9)
    land = Landscape(net(), X, y, loss=mse_onehot_mean, reduction="mean", chunk_size=2)
    with torch.no_grad():
        out = land.outputs(land.theta0, land.X)
    assert land.loss(land.theta0) == pytest.approx(float(mse_onehot_mean(out, land.y)), rel=1e-12)


@pytest.mark.parametrize("kw, word", [
    ({"loss": nn.CrossEntropyLoss()}, "needs reduction='mean' or 'sum'"),
    ({"loss": nn.CrossEntropyLoss(), "reduction": "none"}, "needs reduction='mean' or 'sum'"),
    ({"loss": nn.CrossEntropyLoss(reduction="none"), "reduction": "mean"}, "must return one number"),
    ({"loss": lambda out, y: out.sum() / 0 + y.float().mean() * "x", "reduction": "sum"},
     "could not be evaluated"),
    ({"loss": "ce", "reduction": "sum"}, "reduction is for a loss callable"),
    ({"loss": "hinge"}, "unknown loss"),
])
def test_criterion_arguments(kw, word):
    X, y = data()
    with pytest.raises(UsageError) as err:
        Landscape(net(), X, y, **kw)
    assert word in one_line(err)


def test_the_named_losses_are_unchanged():
    """The conftest landscapes (named losses, tensors) still give the losses they always did."""
    land = make_landscape((4,), loss="mse", n_data=10, seed=3)
    out = land.outputs(land.theta0, land.X)
    want = float(F.mse_loss(out, F.one_hot(land.y, 3).double()))
    assert land.loss(land.theta0) == pytest.approx(want, rel=1e-12)
