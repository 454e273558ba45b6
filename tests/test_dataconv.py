"""simlab.dataconv: products through a convolution of the data, without the unused input term.

Under ``data_convolutions`` the gradient must be bit for bit autograd's own, and every product
(held graph, recomputed, batched) equal to the dense float64 Hessian's, on tiny CNNs over strides,
paddings, dilations, groups and with or without bias (hypothesis)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from simlab.dataconv import _DataConv, data_convolutions
from simlab.landscape import Landscape


class TinyCNN(nn.Module):
    def __init__(self, c_in, c_mid, groups, bias, stride, padding, dilation, n_classes=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv1 = nn.Conv2d(c_in, c_mid * groups, 3, stride=stride, padding=padding,
                               dilation=dilation, groups=groups, bias=bias)
        self.conv2 = nn.Conv2d(c_mid * groups, 2, 2, bias=True)  # a conv of activations: unchanged
        self.head = nn.LazyLinear(n_classes)

    def forward(self, x):
        h = torch.tanh(self.conv1(x))
        h = F.relu(self.conv2(h)) + 0.1 * h[:, :2, :h.shape[2] - 1, :h.shape[3] - 1]
        return self.head(h.flatten(1))


cnns = st.fixed_dictionaries({
    "c_mid": st.integers(1, 3), "groups": st.sampled_from([1, 2]), "bias": st.booleans(),
    "stride": st.sampled_from([1, 2, (1, 2)]), "padding": st.sampled_from([0, 1, (2, 1)]),
    "dilation": st.sampled_from([1, 2]), "n_data": st.integers(2, 6), "seed": st.integers(0, 999),
})


def landscape(p, chunk_size=None):
    g = torch.Generator().manual_seed(p["seed"])
    c_in = 2 * p["groups"]
    X = torch.randn(p["n_data"], c_in, 9, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (p["n_data"],), generator=g)
    net = TinyCNN(c_in, p["c_mid"], p["groups"], p["bias"], p["stride"], p["padding"],
                  p["dilation"], seed=p["seed"]).double()
    net(X)  # materialise the lazy head
    return Landscape(net, X, y, n_classes=3, chunk_size=chunk_size, dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(cnns)
def test_products_through_data_convolutions_match_the_dense_hessian(p):
    ls = landscape(p, chunk_size=max(1, p["n_data"] // 2))
    theta = ls.theta0 + 0.3 * torch.randn(ls.n_params, generator=torch.Generator().manual_seed(1),
                                          dtype=torch.float64)
    H = ls.hessian(theta, block=ls.n_params)  # forward-over-reverse, no data_convolutions
    V = torch.randn(ls.n_params, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tol = 1e-11 * float(H.abs().max())
    held = ls.operator(theta, hold_graph=True)
    free = ls.operator(theta, hold_graph=False)  # recomputed per chunk: Landscape.chunk_hvp
    for j in range(V.shape[1]):
        ref = H @ V[:, j]
        assert torch.allclose(held.matvec(V[:, j]), ref, rtol=0, atol=tol)
        assert torch.allclose(free.matvec(V[:, j]), ref, rtol=0, atol=tol)
    assert torch.allclose(held.matmat_batched(V), H @ V, rtol=0, atol=tol)


@settings(max_examples=25, deadline=None)
@given(cnns)
def test_the_gradient_under_data_convolutions_is_autograds_bit_for_bit(p):
    ls = landscape(p)
    th = ls.theta0.clone().requires_grad_(True)
    (plain,) = torch.autograd.grad(ls.chunk_loss(th, ls.X, ls.y), th)
    with data_convolutions():
        (ours,) = torch.autograd.grad(ls.chunk_loss(th, ls.X, ls.y), th, create_graph=True)
    assert torch.equal(ours.detach(), plain)


def test_only_convolutions_of_data_are_replaced():
    """The first conv (its input is the data) runs as _DataConv, the second (its input needs a
    gradient) as autograd's own; calls by keyword and 'same' padding pass through."""
    seen = []
    original = _DataConv.apply

    def spy(*args):
        seen.append(tuple(args[0].shape))
        return original(*args)

    x = torch.randn(2, 3, 6, 6)
    w1 = torch.randn(4, 3, 3, 3, requires_grad=True)
    w2 = torch.randn(2, 4, 3, 3, requires_grad=True)
    _DataConv.apply = spy
    try:
        with data_convolutions():
            h = F.conv2d(x, w1, padding=1)
            out = F.conv2d(h, w2)
            keyword = F.conv2d(input=x, weight=w1, stride=2)
            same = F.conv2d(x, w1, padding="same")
    finally:
        _DataConv.apply = original
    assert seen == [(2, 3, 6, 6), (2, 3, 6, 6)]  # conv1 and the keyword call; not conv2, not "same"
    assert torch.equal(h, F.conv2d(x, w1, padding=1)) and torch.equal(keyword, F.conv2d(x, w1, stride=2))
    assert torch.equal(same, F.conv2d(x, w1, padding="same")) and out.shape == (2, 2, 4, 4)


def test_the_unused_data_term_is_not_computed():
    """The point of the module: the second derivative of a conv of data no longer computes the
    transposed convolution back onto the data (autograd's own does, though nothing asks)."""
    from contextlib import nullcontext

    from torch.profiler import ProfilerActivity, profile

    x = torch.randn(8, 3, 16, 16)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    head = torch.randn(4 * 16 * 16, 5, requires_grad=True)

    def transposed_convs(mode: bool) -> int:
        with data_convolutions() if mode else nullcontext():
            loss = (torch.tanh(F.conv2d(x, w, padding=1)).flatten(1) @ head).logsumexp(1).sum()
            g = torch.autograd.grad(loss, [w, head], create_graph=True)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            torch.autograd.grad(sum((a * a).sum() for a in g), [w, head])
        # a transposed conv has the 4-channel gradient as input and w as weight: shapes (8,4,16,16), (4,3,3,3)
        return sum(1 for e in prof.events() if e.name == "aten::_convolution"
                   and e.input_shapes[:2] == [[8, 4, 16, 16], [4, 3, 3, 3]])

    assert transposed_convs(True) == 0
    if transposed_convs(False) == 0:  # a later torch may stop computing it: then nothing to save
        pytest.skip("this torch no longer computes the unused term (simlab.dataconv can go)")
