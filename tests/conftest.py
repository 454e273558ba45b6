"""Shared fixtures: tiny random MLP landscapes (exact dense Hessians are cheap for them).

``make_landscape(...)`` builds a :class:`simlab.landscape.Landscape` of a seeded MLP on seeded
Gaussian inputs with uniform labels: small enough that ``Landscape.hessian`` takes milliseconds, so
every matrix-free number can be checked against its dense float64 twin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from simlab.landscape import Landscape
from simlab.toy.models import build_mlp

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Every tensor in the suite is tiny: intra-op threads only add synchronisation, and on a busy
# 2-core machine they slow small ops ~100x (bench/README.md). One thread keeps the suite fast
# and its timing stable.
torch.set_num_threads(1)


def make_landscape(widths=(4,), *, activation="tanh", loss="ce", n_data=12, in_dim=3,
                   n_classes=3, seed=0, chunk_size=None, dtype=torch.float64,
                   hvp_method="rev-rev") -> Landscape:
    """A landscape of build_mlp(in_dim, widths, n_classes) on x ~ N(0, I), y ~ U{0..n_c−1}.

    The data and the net are drawn from ``seed`` with their own generators (the global RNG is
    untouched). Every class appears at least once when n_data ≥ n_classes.
    """
    g = torch.Generator().manual_seed(1000 + seed)
    X = torch.randn(n_data, in_dim, generator=g, dtype=torch.float64)
    y = torch.randint(0, n_classes, (n_data,), generator=g)
    y[:min(n_classes, n_data)] = torch.arange(min(n_classes, n_data))
    model = build_mlp(in_dim, tuple(widths), n_classes, activation=activation, seed=seed)
    return Landscape(model, X, y, loss=loss, n_classes=n_classes, chunk_size=chunk_size,
                     dtype=dtype, hvp_method=hvp_method)


def random_theta(landscape: Landscape, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    """θ_0 plus a seeded Gaussian perturbation (moves ReLU kinks away from the initial point)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(landscape.n_params, generator=g, dtype=torch.float64)
    return landscape.theta0 + (0.3 * scale * noise).to(landscape.dtype)


def random_vector(n: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(10_000 + seed)
    return torch.randn(n, generator=g, dtype=torch.float64).to(dtype)


def gd(landscape: Landscape, theta: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Plain full-batch gradient descent, written out by hand (the trainer's reference)."""
    for _ in range(steps):
        theta = theta - lr * landscape.grad(theta)
    return theta


@pytest.fixture(scope="session")
def landscape_factory():
    return make_landscape


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


# the toy edge grids (cifar8) read CIFAR-10; the shared subset is not part of a user's checkout
needs_cifar = pytest.mark.skipif(
    not (SHARED_DATA / "cifar10_subset.npz").exists(),
    reason="the smoke grid's cifar8 runs need ../shared/data/cifar10_subset.npz, which is absent")


README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(heading: str) -> str:
    """The first python block under the README's ``heading`` (``## …`` or ``### …``, as written)."""
    import re

    section = README.read_text(encoding="utf-8").split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)
