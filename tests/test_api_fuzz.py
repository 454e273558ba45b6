"""Property-based test of the Python API: whatever is drawn, ``Landscape``, ``top_eigen`` and
``measure`` either work (and then give finite numbers) or raise a one-line ``ValueError`` — never
another exception type from torch or numpy, and never a silent NaN.

Draws: X of several shapes, dtypes and widths (the model wants 3 features), NaN/inf planted in
it, labels of several lengths, dtypes and ranges, n_classes of any kind, models with and without
parameters; then θ of several lengths, lr, k, tol, eps, method and v0 of any kind. Bounded and
derandomised (well under a second per hundred draws).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from simlab import Landscape, measure, top_eigen

D_IN, N_OUT = 3, 3
NUMBERS = st.sampled_from([0, 1, 2, 3, 5, -1, 2.5, math.nan, math.inf, -math.inf, 1e-9, 1e9, None,
                           "3", True, 10**30])


def model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(D_IN, 4), nn.Tanh(), nn.Linear(4, N_OUT))
    if kind == "wide":
        return nn.Linear(D_IN, N_OUT + 2)
    if kind == "no parameters":
        return nn.Sequential(nn.Identity())
    return nn.Flatten()  # "flatten": no parameters either, another shape


@st.composite
def landscape_args(draw):
    n = draw(st.integers(0, 6))
    d = draw(st.sampled_from([D_IN, D_IN, D_IN, 1, 5]))
    shape = draw(st.sampled_from([(n, d), (n, d), (n,), (n, d, 1)]))
    X = torch.randn(*shape, generator=torch.Generator().manual_seed(n + 7 * d), dtype=torch.float64)
    if X.numel() and draw(st.booleans()):
        X.view(-1)[draw(st.integers(0, X.numel() - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    X = X.to(draw(st.sampled_from([torch.float64, torch.float32, torch.float16, torch.int64])))
    m = n + draw(st.sampled_from([0, 0, 0, 1, -1]))
    y = torch.tensor(draw(st.lists(st.integers(-2, 5), min_size=max(m, 0), max_size=max(m, 0))),
                     dtype=torch.int64)
    y = y.to(draw(st.sampled_from([torch.int64, torch.int64, torch.int32, torch.float32, torch.bool])))
    as_numpy = draw(st.booleans())
    kw = {}
    if draw(st.booleans()):
        kw["n_classes"] = draw(NUMBERS)
    if draw(st.booleans()):
        kw[draw(st.sampled_from(["chunk_size", "memory_budget_mb"]))] = draw(NUMBERS)
    if draw(st.booleans()):
        kw["loss"] = draw(st.sampled_from(["ce", "mse", "hinge", ""]))
    if draw(st.booleans()):
        kw["dtype"] = draw(st.sampled_from([torch.float32, torch.float16, torch.int32, "float64"]))
    net = model(draw(st.sampled_from(["mlp", "mlp", "mlp", "wide", "no parameters", "flatten"])))
    return net, (X.numpy() if as_numpy and X.dtype != torch.bfloat16 else X), y, kw


def one_line_value_error(err: BaseException) -> None:
    assert isinstance(err, ValueError), f"{type(err).__name__}: {err}"
    msg = str(err)
    assert msg and "\n" not in msg and "Traceback" not in msg, msg


SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(args=landscape_args())
def test_landscape_works_or_says_what_is_wrong(args):
    net, X, y, kw = args
    try:
        land = Landscape(net, X, y, **kw)
    except Exception as err:  # noqa: BLE001 - the property: only a one-line ValueError
        one_line_value_error(err)
        return
    # accepted: the numbers are finite (nothing bad slipped through)
    loss, g = land.loss_grad(land.theta0)
    assert math.isfinite(loss) and bool(torch.isfinite(g).all())


def _good_landscape() -> Landscape:
    X = torch.randn(8, D_IN, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return Landscape(model("mlp"), X, torch.arange(8) % N_OUT, n_classes=N_OUT)


LAND = _good_landscape()
VECTORS = st.sampled_from(["theta0", "short", "long", "matrix", "nan", "int", "list", None])


def vector(kind, n):
    return {"theta0": LAND.theta0, "short": LAND.theta0[:-1], "long": torch.zeros(n + 1, dtype=torch.float64),
            "matrix": LAND.theta0.reshape(1, -1), "nan": torch.full((n,), math.nan, dtype=torch.float64),
            "int": torch.zeros(n, dtype=torch.int64), "list": [0.0] * n, None: None}[kind]


@SETTINGS
@given(theta=VECTORS, lr=NUMBERS, k=NUMBERS, tol=NUMBERS, eps=NUMBERS, seed=NUMBERS,
       method=st.sampled_from(["lanczos", "power", "dense", "arpack", "qr", 3]))
def test_measure_works_or_says_what_is_wrong(theta, lr, k, tol, eps, seed, method):
    n = LAND.n_params
    try:
        point, _ = measure(LAND, vector(theta, n), lr=lr, k=k, tol=tol, eps=eps, seed=seed, method=method)
    except Exception as err:  # noqa: BLE001
        one_line_value_error(err)
        return
    assert theta in ("theta0",) and math.isfinite(point["loss"])
    assert all(math.isfinite(v) for v in point["eigenvalues"])


@SETTINGS
@given(k=NUMBERS, tol=NUMBERS, maxiter=NUMBERS, ncv=NUMBERS, seed=NUMBERS, v0=VECTORS,
       method=st.sampled_from(["lanczos", "power", "dense", "arpack", "qr"]))
def test_top_eigen_works_or_says_what_is_wrong(k, tol, maxiter, ncv, seed, v0, method):
    op = LAND.operator(LAND.theta0)
    try:
        eig = top_eigen(op, k, method=method, tol=tol, maxiter=maxiter, ncv=ncv, seed=seed,
                        v0=vector(v0, LAND.n_params))
    except Exception as err:  # noqa: BLE001
        one_line_value_error(err)
        return
    assert np.all(np.isfinite(eig.eigenvalues))
