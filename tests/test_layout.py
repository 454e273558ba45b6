"""Landscape(memory_format="channels_last"): the same landscape in another memory layout.

Images and conv weights held channels-last must give the contiguous layout's loss, gradient,
products (held graph, recomputed, fwd-rev) and generalised Gauss–Newton products to float64
rounding, on tiny conv nets with max-pools, ReLU and tanh (hypothesis), and the dense Hessian of
either layout is the other's."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from simlab.errors import UsageError
from simlab.landscape import Landscape


class PoolNet(nn.Module):
    """conv-act-pool-conv-act-pool-linear on 8×8 images: the scale nets' pieces, tiny."""

    def __init__(self, c1, c2, activation, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.conv1 = nn.Conv2d(3, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.head = nn.Linear(c2 * 4, 3)
        self.act = torch.relu if activation == "relu" else torch.tanh

    def forward(self, x):
        h = F.max_pool2d(self.act(self.conv1(x)), 2)
        h = F.max_pool2d(self.act(self.conv2(h)), 2)
        return self.head(torch.flatten(h, 1))


nets = st.fixed_dictionaries({
    "c1": st.integers(1, 3), "c2": st.integers(1, 3), "activation": st.sampled_from(["relu", "tanh"]),
    "loss": st.sampled_from(["ce", "mse"]), "n_data": st.integers(2, 7), "seed": st.integers(0, 999),
})


def pair(p, **kw):
    g = torch.Generator().manual_seed(p["seed"])
    X = torch.randn(p["n_data"], 3, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (p["n_data"],), generator=g)
    net = PoolNet(p["c1"], p["c2"], p["activation"], p["seed"]).double()
    return [Landscape(net, X, y, n_classes=3, loss=p["loss"], dtype=torch.float64, memory_format=f, **kw)
            for f in ("contiguous", "channels_last")]


def close(a, b, scale):
    return torch.allclose(a, b, rtol=0, atol=1e-12 * max(scale, 1e-300))


@settings(max_examples=20, deadline=None)
@given(nets)
def test_channels_last_gives_the_contiguous_landscape(p):
    flat, last = pair(p, chunk_size=max(1, p["n_data"] // 2))
    assert last.X.is_contiguous(memory_format=torch.channels_last) and not flat.X.is_contiguous(
        memory_format=torch.channels_last)
    assert all(w.is_contiguous(memory_format=torch.channels_last)
               for w in last.unflatten(last.theta0).values() if w.dim() == 4)
    theta = flat.theta0 + 0.3 * torch.randn(flat.n_params, generator=torch.Generator().manual_seed(1),
                                            dtype=torch.float64)
    H = flat.hessian(theta, block=flat.n_params)
    s = float(H.abs().max())
    assert close(last.hessian(theta, block=last.n_params), H, s)
    (lf, gf), (ll, gl) = flat.loss_grad(theta), last.loss_grad(theta)
    assert ll == pytest.approx(lf, rel=1e-13) and close(gl, gf, float(gf.abs().max()))
    V = torch.randn(flat.n_params, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for op in (last.operator(theta, hold_graph=True), last.operator(theta, hold_graph=False)):
        assert close(op.matmat(V), H @ V, s)
    assert close(last.hvp(theta, V[:, 0], method="fwd-rev"), H @ V[:, 0], s)
    G, Gl = flat.operator(theta, curvature="ggn"), last.operator(theta, curvature="ggn")
    ref = G.matmat(V)
    assert close(Gl.matmat(V), ref, float(ref.abs().max()))
    # and a wrong answer would be caught: a 1e-6 relative error is far above the tolerance
    assert not close(last.operator(theta).matvec(V[:, 0]) * (1 + 1e-6), H @ V[:, 0], s)


def test_bad_memory_formats_are_usage_errors():
    p = {"c1": 1, "c2": 1, "activation": "relu", "loss": "ce", "n_data": 3, "seed": 0}
    net = PoolNet(1, 1, "relu", 0).double()
    X = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    with pytest.raises(UsageError, match="unknown memory_format 'nhwc'"):
        Landscape(net, X, torch.tensor([0, 1, 2]), memory_format="nhwc", dtype=torch.float64)
    mlp = nn.Sequential(nn.Linear(4, 3)).double()
    with pytest.raises(UsageError, match="4-d images"):
        Landscape(mlp, torch.randn(3, 4, dtype=torch.float64), torch.tensor([0, 1, 2]),
                  memory_format="channels_last", dtype=torch.float64)
    assert [ls.memory_format for ls in pair(p)] == ["contiguous", "channels_last"]
