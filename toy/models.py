"""Small fully connected nets for the toy regime (exact dense Hessians).

Parameter counts (weights + biases):

- ``build_mlp(d, (w_1..w_L), c)``: Σ_l (w_{l-1} + 1) w_l with w_0 = d, w_{L+1} = c;
- ``blob_mlp(h)`` = 2-h-h-2 (Sagun et al. 2016 §3): 3h + (h + 1)h + 2(h + 1) = h² + 6h + 2;
- ``mnist_mlp(k)`` = 784-k-10: (784 + 1)k + (k + 1)10.

``build_mlp`` and ``count_params`` are the shared ones of :mod:`simlab.models` (PyTorch's default
``nn.Linear`` initialisation under a forked, seeded RNG).
"""

from __future__ import annotations

from torch import nn

from simlab.models import ACTIVATIONS, build_mlp, count_params  # noqa: F401  (the one builder)


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

