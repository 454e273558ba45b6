"""The one MLP builder and the one parameter count, shared by both regimes.

``mlp(dims, activation)``: Linear(d_0, d_1), act, Linear(d_1, d_2), …, Linear(d_{L−1}, d_L): logits,
no activation on the output; a linear layer d_{l−1} → d_l has (d_{l−1} + 1) d_l parameters.
``build_mlp`` seeds PyTorch's default ``nn.Linear`` initialisation (U(±1/√fan_in) for weights and
biases) under ``torch.manual_seed(seed)`` inside ``torch.random.fork_rng(devices=[])``: the same
seed gives the same net and the caller's global CPU RNG state is restored. The scale regime's
heads are ``mlp`` too, re-initialised (Kaiming) by :mod:`simlab.scale.models`.
"""

from __future__ import annotations

import torch
from torch import nn

from simlab.errors import UsageError

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def mlp(dims, activation: str = "relu") -> nn.Sequential:
    """Linear layers between consecutive ``dims``, the activation after every one but the last."""
    if activation not in ACTIVATIONS:
        raise UsageError(f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    dims = list(dims)
    for w in dims:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise UsageError(f"every layer size must be a positive integer, got {dims}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        if i > 0:
            layers.append(ACTIVATIONS[activation]())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


def build_mlp(in_dim: int, widths: tuple[int, ...], out_dim: int, *, activation: str = "relu",
              seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """``mlp((in_dim, *widths, out_dim))``, seeded as the module docstring says; ``widths=()``
    gives a linear model. ``dtype`` casts after initialisation, so the values do not depend on it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = mlp((in_dim, *tuple(widths), out_dim), activation)
    return net.to(dtype)


def count_params(model: nn.Module) -> int:
    """Number of scalar parameters, ``Σ p.numel()`` over every parameter (all are trained here)."""
    return sum(p.numel() for p in model.parameters())


def mlp_param_count(dims) -> int:
    """The parameter count of ``mlp(dims)`` from the sizes alone: Σ (d_{l−1} + 1) d_l."""
    dims = list(dims)
    return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
