"""AlexNet / VGG-16 for 32×32 inputs: shapes, init, parameter counts, torch.func compatibility."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn
from torch.func import functional_call, grad, jvp

from simlab.errors import UsageError
from simlab.scale.models import ARCHS, build_model, count_params, param_count, param_table

TINY = 1 / 32  # AlexNet convs 2-6-12-8-8, FC 128; VGG convs 2..16, FC 16


@settings(max_examples=12, deadline=None)
@given(
    arch=st.sampled_from(ARCHS),
    activation=st.sampled_from(["relu", "tanh"]),
    width=st.sampled_from([1 / 64, 1 / 32, 0.05]),
    n_classes=st.integers(2, 10),
    batch=st.integers(1, 3),
)
def test_output_shapes(arch, activation, width, n_classes, batch):
    model = build_model(arch, n_classes=n_classes, activation=activation, width=width, seed=0)
    out = model(torch.randn(batch, 3, 32, 32))
    assert out.shape == (batch, n_classes) and torch.isfinite(out).all()
    assert count_params(model) == param_count(arch, n_classes=n_classes, width=width)


@pytest.mark.parametrize("arch", ARCHS)
def test_init_is_deterministic_and_leaves_global_rng(arch):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = build_model(arch, width=TINY, seed=7).state_dict()
    assert torch.equal(torch.get_rng_state(), before)
    b = build_model(arch, width=TINY, seed=7).state_dict()
    c = build_model(arch, width=TINY, seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if k.endswith("weight"))


@pytest.mark.parametrize("activation,gain", [("relu", math.sqrt(2.0)), ("tanh", 5.0 / 3.0)])
def test_kaiming_fan_in_init(activation, gain):
    model = build_model("alexnet", activation=activation, width=0.25, seed=0)
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 8
    for m in layers:
        assert torch.count_nonzero(m.bias) == 0
        fan_in = m.weight[0].numel()
        expected = gain / math.sqrt(fan_in)
        n = m.weight.numel()
        # sample std of n Gaussian draws: relative error ~ 1/sqrt(2n); allow 6 of those
        assert abs(m.weight.std().item() / expected - 1) < 6 / math.sqrt(2 * n)


def test_vgg16_parameter_count_by_hand():
    conv = lambda c_in, c_out: 9 * c_in * c_out + c_out  # noqa: E731
    fc = lambda a, b: a * b + b  # noqa: E731
    chans = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    features = sum(conv(a, b) for a, b in zip(chans[:-1], chans[1:]))
    assert features == 14_714_688  # torchvision's vgg16().features
    by_hand = features + fc(512, 512) + fc(512, 512) + fc(512, 10)
    assert by_hand == 15_245_130
    assert param_count("vgg16") == by_hand
    assert count_params(build_model("vgg16")) == by_hand


def test_alexnet_parameter_count_by_hand():
    conv = lambda c_in, c_out: 9 * c_in * c_out + c_out  # noqa: E731
    fc = lambda a, b: a * b + b  # noqa: E731
    by_hand = conv(3, 64) + conv(64, 192) + conv(192, 384) + conv(384, 256) + conv(256, 256)
    by_hand += fc(256 * 4 * 4, 4096) + fc(4096, 4096) + fc(4096, 10)
    assert param_count("alexnet") == by_hand == 35_855_178
    assert param_count("alexnet", n_classes=2) == by_hand - 8 * 4097


def test_param_table_and_width_rounding():
    rows = param_table(widths=(1.0, 0.5))
    assert {(r["arch"], r["width"]): r["n_params"] for r in rows}[("vgg16", 1.0)] == 15_245_130
    for arch in ARCHS:
        for w in (0.5, 0.3, 0.01):
            assert param_count(arch, n_classes=3, width=w) == count_params(build_model(arch, n_classes=3, width=w))
    convs = [m for m in build_model("vgg16", width=0.001).modules() if isinstance(m, nn.Conv2d)]
    assert {m.out_channels for m in convs} == {1}  # max(1, round(c · width))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_no_normalisation_no_dropout_no_inplace(arch, activation):
    model = build_model(arch, activation=activation, width=TINY)
    kinds = {type(m) for m in model.modules()}
    assert not any(issubclass(k, (nn.modules.batchnorm._NormBase, nn.modules.dropout._DropoutNd, nn.LayerNorm, nn.GroupNorm)) for k in kinds)
    assert all(not getattr(m, "inplace", False) for m in model.modules())
    n_acts = 15 if arch == "vgg16" else 7  # one after every conv and every hidden FC
    wanted, unwanted = (nn.ReLU, nn.Tanh) if activation == "relu" else (nn.Tanh, nn.ReLU)
    assert sum(isinstance(m, wanted) for m in model.modules()) == n_acts
    assert not any(isinstance(m, unwanted) for m in model.modules())


def test_usage_errors():
    with pytest.raises(UsageError, match="architecture"):
        build_model("resnet18")
    with pytest.raises(UsageError, match="activation"):
        build_model("vgg16", activation="gelu")
    for w in (0.0, -1.0):
        with pytest.raises(UsageError, match="width"):
            build_model("alexnet", width=w)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_torch_func_forward_grad_and_hvp(arch, activation):
    """functional_call reproduces forward; forward-over-reverse HVP equals double-backward HVP."""
    model = build_model(arch, n_classes=3, activation=activation, width=TINY, seed=1).double()
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 1])
    params = {k: v.detach() for k, v in model.named_parameters()}
    torch.testing.assert_close(functional_call(model, params, (x,)), model(x))

    def loss(p):
        return nn.functional.cross_entropy(functional_call(model, p, (x,)), y)

    g = grad(loss)(params)
    v = {k: torch.randn_like(t) for k, t in params.items()}
    _, hv_fwd = jvp(grad(loss), (params,), (v,))

    leaves = [t.clone().requires_grad_(True) for t in params.values()]
    p2 = dict(zip(params, leaves))
    g2 = torch.autograd.grad(loss(p2), leaves, create_graph=True)
    hv_rev = torch.autograd.grad(g2, leaves, grad_outputs=list(v.values()))
    for k, a, b, gk in zip(params, hv_fwd.values(), hv_rev, g2):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=k)
        torch.testing.assert_close(g[k], gk.detach())
