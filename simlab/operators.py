"""One linear-operator type for every curvature matrix.

A dense matrix (the toy regime's exact Hessian) and the matrix-free Hessian-vector product (the
scale regime) present the same interface, so every eigensolver and estimator is written once:

    op.shape              (n, n)
    op.dtype, op.device   of the vectors it takes and returns
    op.matvec(v)          H v for a 1-D tensor v
    op.matmat(V)          H V for the columns of V
    op.n_matvecs          how many products have been taken (a matmat of m columns counts m)
    op.as_scipy()         a ``scipy.sparse.linalg.LinearOperator`` in float64 (counts too)
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from simlab.landscape import _all_reduce


class Operator:
    """Base class: subclasses implement ``_matvec``; counting and conversions live here."""

    shape: tuple[int, int]
    dtype: torch.dtype
    device: torch.device

    def __init__(self):
        self.n_matvecs = 0

    def _matvec(self, v: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        self.n_matvecs += 1
        return self._matvec(v.to(device=self.device, dtype=self.dtype))

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.matvec(V[:, j]) for j in range(V.shape[1])], dim=1)

    def as_scipy(self) -> LinearOperator:
        """A scipy LinearOperator over float64 numpy vectors, counting every product."""
        def mv(x: np.ndarray) -> np.ndarray:
            v = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))
            return self.matvec(v).detach().to("cpu", torch.float64).numpy()

        return LinearOperator(self.shape, matvec=mv, dtype=np.float64)

    def dense(self) -> torch.Tensor:
        """The full matrix, column by column (n products; for tiny operators and tests)."""
        eye = torch.eye(self.shape[0], dtype=self.dtype, device=self.device)
        M = self.matmat(eye)
        return (M + M.T) / 2


class DenseOperator(Operator):
    """An explicit symmetric matrix as an operator."""

    def __init__(self, H: torch.Tensor):
        super().__init__()
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"a square matrix is needed, got shape {tuple(H.shape)}")
        self.H = H
        self.shape = tuple(H.shape)
        self.dtype, self.device = H.dtype, H.device

    def _matvec(self, v):
        return self.H @ v

    def dense(self):
        return self.H


class HVPOperator(Operator):
    """The Hessian of a :class:`~simlab.landscape.Landscape` at a fixed θ, matrix-free.

    With ``hold_graph`` (default: when the data is one chunk) the gradient graph of every chunk
    is built once with ``create_graph=True`` and kept, and each product is one more backward pass
    through it (the vector-Jacobian product of g, equal to Hv since H is symmetric). Otherwise
    each product recomputes the gradient by the landscape's ``hvp_method``.
    """

    def __init__(self, landscape, theta: torch.Tensor, *, hold_graph: bool | None = None):
        super().__init__()
        self.landscape = landscape
        self.theta = theta.detach()
        n = self.theta.numel()
        self.shape = (n, n)
        self.dtype, self.device = landscape.dtype, landscape.device
        if hold_graph is None:
            hold_graph = landscape.chunk_size >= landscape.n_local
        self.hold_graph = hold_graph
        self._graphs = None

    def _build_graphs(self):
        self._graphs = []
        for xb, yb in self.landscape.chunks():
            th = self.theta.clone().requires_grad_(True)
            (gb,) = torch.autograd.grad(self.landscape._chunk_loss(th, xb, yb), th, create_graph=True)
            self._graphs.append((th, gb))

    def _matvec(self, v):
        if not self.hold_graph:
            return self.landscape.hvp(self.theta, v)
        if self._graphs is None:
            self._build_graphs()
        out = torch.zeros_like(self.theta)
        for th, gb in self._graphs:
            (hv,) = torch.autograd.grad(gb, th, grad_outputs=v, retain_graph=True)
            out += hv
        return _all_reduce(out)

    def release(self):
        """Drop the held graphs (frees their memory)."""
        self._graphs = None
