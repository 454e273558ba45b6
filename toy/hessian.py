"""The exact Hessian of a toy landscape: thin names over the core's one reference.

The dense Hessian lives in :meth:`simlab.landscape.Landscape.hessian` and the full ``eigh`` in
:func:`simlab.spectrum.full_spectrum`; these two names remain for the toy modules that still
import them from here.
"""

from __future__ import annotations

import torch

from simlab.spectrum import full_spectrum  # noqa: F401 (re-exported)


def dense_hessian(landscape, theta: torch.Tensor, *, block: int = 64) -> torch.Tensor:
    """``landscape.hessian(theta, block=block)``."""
    return landscape.hessian(theta, block=block)
