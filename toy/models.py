"""Small fully connected nets for the toy regime (exact dense Hessians).

Parameter counts (weights + biases):

- ``build_mlp(d, (w_1..w_L), c)``: Σ_l (w_{l-1} + 1) w_l with w_0 = d, w_{L+1} = c;
- ``blob_mlp(h)`` = 2-h-h-2 (Sagun et al. 2016 §3): 3h + (h + 1)h + 2(h + 1) = h² + 6h + 2;
- ``mnist_mlp(k)`` = 784-k-10: (784 + 1)k + (k + 1)10.

Initialisation is PyTorch's default for ``nn.Linear`` (weights and biases
U(-1/√fan_in, 1/√fan_in)), drawn under ``torch.manual_seed(seed)`` inside
``torch.random.fork_rng(devices=[])``: the same seed gives the same net, and the caller's
global CPU RNG state is restored afterwards (no CUDA state is touched; the net is built on CPU).
"""

from __future__ import annotations

import torch
from torch import nn

from simlab.errors import UsageError

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def build_mlp(
    in_dim: int,
    widths: tuple[int, ...],
    out_dim: int,
    *,
    activation: str = "relu",
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """Linear(in_dim, w_1), act, Linear(w_1, w_2), act, ..., Linear(w_L, out_dim): logits, no
    activation on the output. ``widths=()`` gives a linear model. Seeded as the module docstring
    says; ``dtype`` casts after initialisation, so the initial values do not depend on it."""
    if activation not in ACTIVATIONS:
        raise UsageError(
            f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}"
        )
    widths = tuple(widths)
    dims = (in_dim, *widths, out_dim)
    for name, w in [("in_dim", in_dim), *[("width", w) for w in widths], ("out_dim", out_dim)]:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise UsageError(f"every layer size must be a positive integer, got {name}={w!r}")
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            if i > 0:
                layers.append(ACTIVATIONS[activation]())
            layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers).to(dtype)


def blob_mlp(h: int, activation: str = "relu", seed: int = 0, **kw) -> nn.Sequential:
    """Sagun et al.'s blob net 2-h-h-2, with h² + 6h + 2 parameters."""
    return build_mlp(2, (h, h), 2, activation=activation, seed=seed, **kw)


def mnist_mlp(
    k: int,
    activation: str = "relu",
    seed: int = 0,
    in_dim: int = 784,
    n_classes: int = 10,
    **kw,
) -> nn.Sequential:
    """One hidden layer of width k: in_dim-k-n_classes, (in_dim + 1)k + (k + 1)n_classes parameters."""
    return build_mlp(in_dim, (k,), n_classes, activation=activation, seed=seed, **kw)


def count_params(model: nn.Module) -> int:
    """Number of scalar parameters (all of them, trainable or not)."""
    return sum(p.numel() for p in model.parameters())
