"""Toy MLPs: parameter counts against the closed forms, seeding, shapes, errors."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from simlab.errors import UsageError
from simlab.toy.models import blob_mlp, build_mlp, count_params, mnist_mlp


@pytest.mark.parametrize("h, n", [(2, 18), (6, 74), (10, 162), (14, 282), (18, 434)])
def test_blob_mlp_param_counts(h, n):
    assert count_params(blob_mlp(h)) == n == h * h + 6 * h + 2


@pytest.mark.parametrize("k", [1, 5, 16, 50])
def test_mnist_mlp_param_count(k):
    assert count_params(mnist_mlp(k)) == (784 + 1) * k + (k + 1) * 10
    assert count_params(mnist_mlp(k, in_dim=64, n_classes=3)) == 65 * k + (k + 1) * 3


@settings(max_examples=25, deadline=None)
@given(
    in_dim=st.integers(1, 6),
    widths=st.lists(st.integers(1, 5), max_size=3).map(tuple),
    out_dim=st.integers(1, 4),
    activation=st.sampled_from(["relu", "tanh"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_build_mlp_structure_and_count(in_dim, widths, out_dim, activation, seed):
    net = build_mlp(in_dim, widths, out_dim, activation=activation, seed=seed)
    dims = (in_dim, *widths, out_dim)
    assert count_params(net) == sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
    linears = [m for m in net if isinstance(m, nn.Linear)]
    acts = [m for m in net if not isinstance(m, nn.Linear)]
    assert len(linears) == len(dims) - 1 and len(acts) == len(dims) - 2
    assert isinstance(net[-1], nn.Linear)  # no activation on the logits
    act_type = nn.ReLU if activation == "relu" else nn.Tanh
    assert all(isinstance(a, act_type) for a in acts)
    assert net(torch.zeros(3, in_dim)).shape == (3, out_dim)
    # default init: |w|, |b| <= 1/sqrt(fan_in)
    for lin in linears:
        bound = lin.in_features ** -0.5
        assert lin.weight.abs().max() <= bound and lin.bias.abs().max() <= bound


def _flat(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_seed_determinism_and_global_rng_untouched():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b = blob_mlp(6, seed=7), blob_mlp(6, seed=7)
    assert torch.equal(torch.get_rng_state(), state)  # global RNG restored
    assert torch.equal(_flat(a), _flat(b))
    assert not torch.equal(_flat(a), _flat(blob_mlp(6, seed=8)))
    # the same as PyTorch's default init under manual_seed(seed)
    torch.manual_seed(7)
    ref = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 2))
    assert torch.equal(_flat(a), _flat(ref))


def test_dtype_cast_keeps_init_values():
    a32 = mnist_mlp(4, seed=3)
    a64 = mnist_mlp(4, seed=3, dtype=torch.float64)
    assert a64[0].weight.dtype == torch.float64
    assert torch.equal(_flat(a32).double(), _flat(a64))


def test_tanh_activation():
    net = blob_mlp(3, activation="tanh")
    assert isinstance(net[1], nn.Tanh) and isinstance(net[3], nn.Tanh)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((2, (0,), 2), {}),
        ((2, (3, -1), 2), {}),
        ((0, (3,), 2), {}),
        ((2, (3,), 0), {}),
        ((2, (2.5,), 2), {}),
        ((2, (3,), 2), {"activation": "sigmoidish"}),
    ],
)
def test_build_mlp_errors(args, kwargs):
    with pytest.raises(UsageError) as e:
        build_mlp(*args, **kwargs)
    assert "\n" not in str(e.value)
