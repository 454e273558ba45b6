"""Landscape: loss, gradient and HVP against independent references.

Every matrix-free product is checked against the dense float64 Hessian ``Landscape.hessian``
(which is itself checked against ``torch.func.hessian`` of a loss written out here), against
finite differences, across chunk sizes, across HVP methods and against the held-graph operator.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

from conftest import make_landscape, random_theta, random_vector
from simlab.errors import UsageError
from simlab.landscape import Landscape

nets = st.fixed_dictionaries({
    "widths": st.lists(st.integers(1, 5), min_size=0, max_size=2).map(tuple),
    "activation": st.sampled_from(["relu", "tanh"]),
    "loss": st.sampled_from(["ce", "mse"]),
    "n_data": st.integers(3, 10),
    "n_classes": st.integers(2, 4),
    "seed": st.integers(0, 2**16),
})


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b).clamp_min(1e-300))


def reference_loss(landscape, theta: torch.Tensor) -> torch.Tensor:
    """The objective written out without the landscape's chunking or normaliser:
    CE = mean_x −log softmax(f(x))_y,  MSE = mean over examples and classes of (f − onehot)²."""
    params, i = {}, 0
    for name, p in landscape.model.named_parameters():
        params[name] = theta[i:i + p.numel()].view(p.shape)
        i += p.numel()
    out = functional_call(landscape.model, params, (landscape.X,))
    if landscape.loss_name == "ce":
        return -out.log_softmax(-1).gather(1, landscape.y[:, None]).mean()
    target = torch.eye(landscape.n_classes, dtype=out.dtype)[landscape.y]
    return ((out - target) ** 2).mean()


# --- the objective itself -------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_loss_and_accuracy_match_a_hand_written_objective(loss):
    ls = make_landscape((5, 3), loss=loss, n_data=17, chunk_size=4, seed=3)
    theta = random_theta(ls, 1)
    assert ls.loss(theta) == pytest.approx(float(reference_loss(ls, theta)), rel=1e-13)
    with torch.no_grad():
        out = ls.outputs(theta, ls.X)
    acc = float((out.argmax(1) == ls.y).double().mean())
    assert ls.accuracy(theta) == pytest.approx(acc, abs=1e-15)
    if loss == "ce":
        assert ls.loss(theta) == pytest.approx(float(F.cross_entropy(out, ls.y)), rel=1e-13)
    else:
        onehot = F.one_hot(ls.y, 3).double()
        assert ls.loss(theta) == pytest.approx(float(F.mse_loss(out, onehot)), rel=1e-13)
    assert ls.n_data == 17 and ls.n_classes == 3 and ls.n_params == 3 * 5 + 5 + 5 * 3 + 3 + 3 * 3 + 3
    assert torch.equal(ls.theta0, torch.cat([p.detach().reshape(-1) for p in ls.model.parameters()]))


def test_dense_hessian_matches_torch_func_hessian():
    """The dense reference against an independent one: torch.func.hessian of the loss above."""
    for loss, act in [("ce", "tanh"), ("mse", "relu"), ("ce", "relu")]:
        ls = make_landscape((3, 2), activation=act, loss=loss, n_data=9, chunk_size=4, seed=7)
        theta = random_theta(ls, 2)
        H = ls.hessian(theta)
        H_ref = torch.func.hessian(lambda th: reference_loss(ls, th))(theta)
        assert H.shape == (ls.n_params, ls.n_params) and H.dtype == torch.float64
        assert torch.allclose(H, H.T, rtol=0, atol=0)
        assert rel(H, H_ref) < 1e-12, (loss, act)


# --- HVP against the dense Hessian ----------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(net=nets, chunk=st.integers(1, 10), vseed=st.integers(0, 1000))
def test_hvp_matches_dense_hessian(net, chunk, vseed):
    ls = make_landscape(chunk_size=chunk, **net)
    theta = random_theta(ls, vseed)
    H = ls.hessian(theta)
    v = random_vector(ls.n_params, vseed)
    Hv = H @ v
    if float(torch.linalg.vector_norm(Hv)) < 1e-12:  # e.g. a dead ReLU net: H = 0
        scale = 1.0
    else:
        scale = float(torch.linalg.vector_norm(Hv))
    for method in ("rev-rev", "fwd-rev"):
        assert float(torch.linalg.vector_norm(ls.hvp(theta, v, method=method) - Hv)) <= 1e-10 * scale
    for hold in (True, False):
        op = ls.operator(theta, hold_graph=hold)
        assert op.shape == (ls.n_params, ls.n_params)
        out = op.matvec(v)
        assert float(torch.linalg.vector_norm(out - Hv)) <= 1e-10 * scale
        out2 = op.matvec(2 * v)  # the held graph is reused, not consumed
        assert float(torch.linalg.vector_norm(out2 - 2 * Hv)) <= 2e-10 * scale
        assert op.n_matvecs == 2


@settings(max_examples=15, deadline=None)
@given(net=nets, seed=st.integers(0, 1000))
def test_hvp_is_symmetric(net, seed):
    """uᵀ(Hv) = vᵀ(Hu) for matrix-free products (H symmetric), both methods."""
    ls = make_landscape(**net)
    theta = random_theta(ls, seed)
    u, v = random_vector(ls.n_params, seed), random_vector(ls.n_params, seed + 1)
    for method in ("rev-rev", "fwd-rev"):
        a, b = float(u @ ls.hvp(theta, v, method)), float(v @ ls.hvp(theta, u, method))
        size = float(torch.linalg.vector_norm(ls.hvp(theta, v, method))) * float(torch.linalg.vector_norm(u))
        assert abs(a - b) <= 1e-12 * max(size, 1e-300)


@settings(max_examples=15, deadline=None)
@given(net=nets, chunk=st.integers(1, 4), seed=st.integers(0, 1000))
def test_chunked_equals_unchunked(net, chunk, seed):
    whole = make_landscape(chunk_size=None, **net)
    parts = make_landscape(chunk_size=chunk, **net)
    assert len(list(parts.chunks())) == math.ceil(net["n_data"] / chunk)
    theta = random_theta(whole, seed)
    v = random_vector(whole.n_params, seed)
    assert parts.loss(theta) == pytest.approx(whole.loss(theta), rel=1e-13, abs=1e-15)
    assert parts.accuracy(theta) == whole.accuracy(theta)
    gw, gp = whole.grad(theta), parts.grad(theta)
    assert float(torch.linalg.vector_norm(gp - gw)) <= 1e-13 * max(float(torch.linalg.vector_norm(gw)), 1e-3)
    lw, gw2 = whole.loss_grad(theta)
    assert lw == whole.loss(theta) and torch.equal(gw2, gw)
    hw, hp = whole.hvp(theta, v), parts.hvp(theta, v)
    assert float(torch.linalg.vector_norm(hp - hw)) <= 1e-12 * max(float(torch.linalg.vector_norm(hw)), 1e-3)


def budget_for(ls: Landscape, examples: float) -> float:
    """A memory budget (MiB) that holds the gradient graph of about ``examples`` examples."""
    return examples * ls.graph_bytes_per_example() / 2 ** 20


@settings(max_examples=15, deadline=None)
@given(net=nets, held=st.floats(0.5, 12.0), seed=st.integers(0, 1000))
def test_memory_budget_chunking_equals_one_chunk(net, held, seed):
    """Chunks sized to a budget, the first ones' graphs held and the rest recomputed: every
    quantity equals the unbudgeted one-chunk landscape's to 1e−12 (float64)."""
    net = {**net, "n_data": net["n_data"] + 10}
    whole = make_landscape(**net)
    whole.memory_budget_mb = None  # one chunk, graph held
    parts = make_landscape(**net)
    parts.memory_budget_mb = budget_for(parts, held)
    c = parts.chunking()
    assert c["n_chunks"] == math.ceil(net["n_data"] / c["chunk_size"]) and c["memory_budget_mb"] > 0
    assert 0 <= c["held_chunks"] <= c["n_chunks"] and c["hold_graph"] == (c["held_chunks"] > 0)
    # what is held fits the budget, with a working chunk beside it when there are several
    per = c["chunk_size"] * parts.graph_bytes_per_example() / 2 ** 20
    assert c["held_chunks"] * per + (per if c["n_chunks"] > 1 else 0) <= c["memory_budget_mb"] * (1 + 1e-9) \
        or c["chunk_size"] == 1
    w = whole.chunking()
    assert {k: w[k] for k in ("chunk_size", "n_chunks", "hold_graph", "held_chunks", "memory_budget_mb")} \
        == {"chunk_size": net["n_data"], "n_chunks": 1, "hold_graph": True, "held_chunks": 1,
            "memory_budget_mb": None}
    assert w["graph_mib_per_example"] is None and w["why"].startswith("no memory budget: one chunk")
    # the budgeted choice says why, with the probe's measurement it rests on
    assert c["graph_mib_per_example"] * 2 ** 20 == pytest.approx(parts.graph_bytes_per_example())
    assert (f"{c['held_chunks']} of {c['n_chunks']} chunks' graphs held" in c["why"]) == (c["n_chunks"] > 1)
    assert ("recomputed at each product" in c["why"]) == (c["held_chunks"] < c["n_chunks"])
    theta = random_theta(whole, seed)
    v = random_vector(whole.n_params, seed)
    assert parts.loss(theta) == pytest.approx(whole.loss(theta), rel=1e-12, abs=1e-15)
    assert rel(parts.grad(theta), whole.grad(theta)) <= 1e-12 or float(torch.linalg.vector_norm(whole.grad(theta))) < 1e-12
    Hv = whole.operator(theta).matvec(v)
    scale = max(float(torch.linalg.vector_norm(Hv)), 1e-3)
    op = parts.operator(theta)
    assert op.hold_graph == c["hold_graph"]
    for a in (1.0, 3.0):  # held graphs are reused, not consumed
        assert float(torch.linalg.vector_norm(op.matvec(a * v) - a * Hv)) <= 1e-12 * a * scale
    assert rel(parts.hessian(theta), whole.hessian(theta)) <= 1e-12 or scale <= 1e-3


def test_default_budget_holds_a_small_set_and_chunks_a_large_one():
    ls = make_landscape((6,), n_data=200, seed=1)
    assert ls.memory_budget_mb == 1024.0
    c = ls.chunking()
    assert {k: c[k] for k in ("chunk_size", "n_chunks", "hold_graph", "held_chunks", "memory_budget_mb")} \
        == {"chunk_size": 200, "n_chunks": 1, "hold_graph": True, "held_chunks": 1, "memory_budget_mb": 1024.0}
    assert "fits the 1024 MiB budget: one chunk; its graph held" in c["why"]
    small = make_landscape((6,), n_data=200, seed=1)
    small.memory_budget_mb = budget_for(small, 40)  # room for 40 examples' graphs
    c = small.chunking()
    assert c["chunk_size"] == 10 and c["n_chunks"] == 20 and c["held_chunks"] == 3  # 40 − a working chunk of 10
    assert "exceeds the" in c["why"] and "3 of 20 chunks' graphs held beside one working chunk, 17 " \
        "recomputed at each product" in c["why"]
    fixed = make_landscape((6,), n_data=200, seed=1, chunk_size=50)
    assert fixed.chunking()["chunk_size"] == 50 and fixed.chunking()["held_chunks"] == 4
    assert fixed.chunking()["why"].startswith("chunks of 50 as given; 4 of 4 chunks' graphs held")


def test_batched_products_equal_one_at_a_time():
    ls = make_landscape((5, 4), n_data=30, seed=2)
    ls.memory_budget_mb = budget_for(ls, 22)  # some chunks held, some recomputed
    theta = random_theta(ls, 2)
    V = torch.stack([random_vector(ls.n_params, s) for s in range(4)], dim=1)
    op = ls.operator(theta)
    ref = ls.hessian(theta) @ V
    out = op.matmat_batched(V)
    assert op.n_matvecs == 4
    assert rel(out, ref) < 1e-12 and rel(op.matmat(V), ref) < 1e-12


def test_hvp_is_deterministic():
    """The same product twice gives bit-identical results (no hidden randomness)."""
    ls = make_landscape((6, 5), activation="relu", n_data=20, chunk_size=7, seed=4)
    theta, v = random_theta(ls, 4), random_vector(ls.n_params, 4)
    for method in ("rev-rev", "fwd-rev"):
        assert torch.equal(ls.hvp(theta, v, method), ls.hvp(theta, v, method))
    op = ls.operator(theta, hold_graph=True)
    assert torch.equal(op.matvec(v), op.matvec(v))
    assert torch.equal(ls.grad(theta), ls.grad(theta))


def test_float32_landscape_agrees_with_float64():
    ls64 = make_landscape((8, 6), loss="ce", n_data=30, seed=5)
    ls32 = make_landscape((8, 6), loss="ce", n_data=30, seed=5, dtype=torch.float32)
    assert ls32.theta0.dtype == torch.float32 and ls32.X.dtype == torch.float32
    theta = random_theta(ls64, 5)
    v = random_vector(ls64.n_params, 5)
    t32, v32 = theta.float(), v.float()
    assert ls32.loss(t32) == pytest.approx(ls64.loss(theta), rel=1e-5)
    g32 = ls32.grad(t32)
    assert g32.dtype == torch.float32
    assert rel(g32.double(), ls64.grad(theta)) < 1e-5
    for method in ("rev-rev", "fwd-rev"):
        h32 = ls32.hvp(t32, v32, method)
        assert h32.dtype == torch.float32
        assert rel(h32.double(), ls64.hvp(theta, v)) < 1e-4
    # ... and the float64 answer is much closer to the dense reference than float32 is
    Hv = ls64.hessian(theta) @ v
    assert rel(ls64.hvp(theta, v), Hv) < 1e-12 < rel(ls32.hvp(t32, v32).double(), Hv)


# --- finite differences ---------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_gradient_and_hvp_match_central_differences(loss):
    """g_i ≈ (L(θ+h e_i) − L(θ−h e_i))/2h and Hv ≈ (g(θ+hv) − g(θ−hv))/2h (smooth tanh net)."""
    ls = make_landscape((4,), activation="tanh", loss=loss, n_data=10, seed=6)
    theta = random_theta(ls, 6)
    g = ls.grad(theta)
    h = 1e-5
    eye = torch.eye(ls.n_params, dtype=torch.float64)
    fd = torch.tensor([(ls.loss(theta + h * e) - ls.loss(theta - h * e)) / (2 * h) for e in eye])
    assert rel(fd, g) < 1e-7
    for seed in range(3):
        v = random_vector(ls.n_params, seed)
        fd_hv = (ls.grad(theta + h * v) - ls.grad(theta - h * v)) / (2 * h)
        assert rel(fd_hv, ls.hvp(theta, v)) < 1e-6
    # and a wrong answer would be caught: the tolerance is far below a 1 % error
    assert rel(fd_hv, 1.01 * ls.hvp(theta, v)) > 1e-3


# --- usage errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{"loss": "hinge"}, {"hvp_method": "fd"}, {"chunk_size": 0}])
def test_bad_arguments_are_usage_errors(kw):
    with pytest.raises(UsageError):
        make_landscape(**kw)
