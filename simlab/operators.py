"""One linear-operator type for every curvature matrix.

A dense matrix (the toy regime's exact Hessian), the matrix-free Hessian-vector product (the
scale regime), the generalised Gauss–Newton matrix and any principal sub-block of these (one
layer's parameters) present the same interface, so every eigensolver and estimator is written
once:

    op.shape              (n, n)
    op.dtype, op.device   of the vectors it takes and returns
    op.matvec(v)          H v for a 1-D tensor v
    op.matmat(V)          H V for the columns of V
    op.n_matvecs          how many products have been taken (a matmat of m columns counts m)
    op.as_scipy()         a ``scipy.sparse.linalg.LinearOperator`` in float64 (counts too)
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator
from torch.func import jvp, vjp

from simlab.dataconv import data_convolutions
from simlab.distributed import all_reduce
from simlab.errors import UsageError


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
        # contiguous: a strided column (a Krylov basis's) slows autograd's backward by ~7 %
        return self._matvec(v.to(device=self.device, dtype=self.dtype).contiguous())

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


class TimedOperator(Operator):
    """Another operator's products, forwarded and timed: the same interface, the same numbers.

    ``n_matvecs`` counts as every operator's does (a solver may reset it, as
    :func:`simlab.spectrum.residuals` does); ``n_timed`` counts every product forwarded and
    ``seconds`` is their wall-clock time, neither ever reset. ``matmat`` and ``dense`` go to the
    base's own (a block product stays one; an explicit matrix is returned as it is). The trainer wraps each matrix-free telemetry operator in one
    to measure what a product costs (``grads_per_hvp`` in a run's summary)."""

    def __init__(self, base: Operator):
        super().__init__()
        self.base = base
        self.shape, self.dtype, self.device = base.shape, base.dtype, base.device
        self.n_timed = 0
        self.seconds = 0.0

    def _matvec(self, v):
        s = time.perf_counter()
        out = self.base.matvec(v)
        self.seconds += time.perf_counter() - s
        self.n_timed += 1
        return out

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        s = time.perf_counter()
        out = self.base.matmat(V)
        self.seconds += time.perf_counter() - s
        self.n_matvecs += V.shape[1]
        self.n_timed += V.shape[1]
        return out

    def dense(self) -> torch.Tensor:
        """The base's own dense form (an explicit matrix's, a block's slice), its products
        counted and timed here too."""
        before = self.base.n_matvecs
        s = time.perf_counter()
        H = self.base.dense()
        self.seconds += time.perf_counter() - s
        self.n_matvecs += self.base.n_matvecs - before
        self.n_timed += self.base.n_matvecs - before
        return H

    def release(self):
        """The base's held graphs dropped, where it holds any."""
        if hasattr(self.base, "release"):
            self.base.release()


class _ChunkedOperator(Operator):
    """A curvature matrix of a landscape at a fixed θ, summed over its data chunks: the first
    ``landscape.held_chunks`` chunks (all with ``hold_graph=True``, none with False; default: as
    many as the landscape's memory budget allows) keep a graph between products in
    ``self._graphs``, built by the subclass on the first product; the others recompute it."""

    def __init__(self, landscape, theta: torch.Tensor, *, hold_graph: bool | None = None):
        super().__init__()
        self.landscape = landscape
        self.theta = theta.detach()
        n = self.theta.numel()
        self.shape = (n, n)
        self.dtype, self.device = landscape.dtype, landscape.device
        chunks = list(landscape.chunks())
        if hold_graph is None:
            n_held = landscape.held_chunks
        else:
            n_held = len(chunks) if hold_graph else 0
        self._held_data, self._free_data = chunks[:n_held], chunks[n_held:]
        self.hold_graph = n_held > 0
        self._graphs = None

    def release(self):
        """Drop the held graphs (frees their memory)."""
        self._graphs = self._losses = None


class HVPOperator(_ChunkedOperator):
    """The Hessian of a :class:`~simlab.landscape.Landscape` at a fixed θ, matrix-free.

    The gradient graph of the first ``landscape.held_chunks`` chunks (all with ``hold_graph=True``,
    none with False; default: as many as the landscape's memory budget allows) is built once with
    ``create_graph=True`` and kept, and each product through it is one more backward pass (the
    vector-Jacobian product of g, equal to Hv since H is symmetric). The other chunks recompute
    their gradient at each product by the landscape's ``hvp_method``.
    """


    def _build_graphs(self):
        self._graphs, self._losses = [], []
        for xb, yb in self._held_data:
            th = self.theta.clone().requires_grad_(True)
            with data_convolutions():  # no second derivative w.r.t. the data (simlab.dataconv)
                lb = self.landscape.chunk_loss(th, xb, yb)
                (gb,) = torch.autograd.grad(lb, th, create_graph=True)
            self._graphs.append((th, gb))
            self._losses.append(lb.detach())

    def loss_grad(self) -> tuple[float, torch.Tensor]:
        """(L(θ), ∇L(θ)) with the held chunks' terms read off their gradient graphs (built now
        if not yet) and the others' computed, summed in the landscape's chunk order: the same
        numbers as ``landscape.loss_grad(θ)`` bit for bit, without its pass over the held
        chunks when products at θ follow (a step rule that solves at every iteration)."""
        if self._graphs is None:
            self._build_graphs()
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        g = torch.zeros_like(self.theta)
        for (_, gb), lb in zip(self._graphs, self._losses):
            g += gb.detach()
            total += lb
        for xb, yb in self._free_data:
            lb, gb = self.landscape.chunk_loss_grad(self.theta, xb, yb)
            g += gb
            total += lb
        all_reduce(g)
        return float(all_reduce(total).item()), g

    def _matvec(self, v):
        if self._graphs is None:
            self._build_graphs()
        out = torch.zeros_like(self.theta)
        for th, gb in self._graphs:
            out += torch.autograd.grad(gb, th, grad_outputs=v, retain_graph=True)[0]
        for xb, yb in self._free_data:
            out += self.landscape.chunk_hvp(self.theta, v, xb, yb)
        return all_reduce(out)

    def matmat_batched(self, V: torch.Tensor) -> torch.Tensor:
        """H V for the columns of V in one batched backward per held chunk (``is_grads_batched``);
        chunks that are not held go column by column. Counts V.shape[1] products. Faster than
        :meth:`matmat` only on some devices (bench/ measures it; on CPU here it is slower)."""
        V = V.to(device=self.device, dtype=self.dtype)
        self.n_matvecs += V.shape[1]
        if self._graphs is None:
            self._build_graphs()
        out = torch.zeros(V.shape[1], V.shape[0], dtype=self.dtype, device=self.device)
        for th, gb in self._graphs:
            out += torch.autograd.grad(gb, th, grad_outputs=V.T.contiguous(), retain_graph=True,
                                       is_grads_batched=True)[0]
        for xb, yb in self._free_data:
            for j in range(V.shape[1]):
                out[j] += self.landscape.chunk_hvp(self.theta, V[:, j], xb, yb)
        return all_reduce(out.T.contiguous())


class GGNOperator(_ChunkedOperator):
    """The generalised Gauss–Newton matrix of a :class:`~simlab.landscape.Landscape` at θ,
    matrix-free:

        G = Σ_chunks J_cᵀ H_c J_c,   J_c = ∂f_θ(X_c)/∂θ,   H_c = ∇²_f (Σ_{x∈c} ℓ(f, y) / N),

    the Hessian with the term Σ (∂ℓ/∂f) ∇²_θ f left out (the full-batch mean's N as in the
    loss). H_c is block-diagonal over examples: for cross-entropy (diag(p) − p pᵀ)/N with
    p = softmax(f), for MSE 2I/N (:meth:`Landscape.output_hvp`), so G is positive semi-definite
    for both; for a loss callable, the Hessian of the criterion w.r.t. the outputs by autograd.
    Each product is, per chunk, a forward-mode J v (``torch.func.jvp``), H_c times it, and one
    reverse-mode product with Jᵀ (``torch.func.vjp``); the first ``landscape.held_chunks``
    chunks keep their reverse graph between products (``hold_graph`` as for
    :class:`HVPOperator`). Equal to the Hessian where f is linear in θ.
    """


    def _outputs_fn(self, xb):
        return lambda th: self.landscape.outputs(th, xb)

    def _chunk_product(self, v, xb, yb, vjp_fn=None):
        out, Jv = jvp(self._outputs_fn(xb), (self.theta,), (v,))  # (batch, n_outputs) each
        u = self.landscape.output_hvp(out.detach(), yb, Jv)
        if vjp_fn is None:
            _, vjp_fn = vjp(self._outputs_fn(xb), self.theta)
        return vjp_fn(u)[0]

    def _matvec(self, v):
        if self._graphs is None:
            self._graphs = [vjp(self._outputs_fn(xb), self.theta)[1] for xb, _ in self._held_data]
        out = torch.zeros_like(self.theta)
        for (xb, yb), vjp_fn in zip(self._held_data, self._graphs):
            out += self._chunk_product(v, xb, yb, vjp_fn)
        for xb, yb in self._free_data:
            out += self._chunk_product(v, xb, yb)
        return all_reduce(out)


class BlockOperator(Operator):
    """The principal sub-block A[I, I] of an operator A for an index set I (one layer's
    parameters, any subset of θ): v ↦ (A P v)[I], P placing v at the positions I of a zero
    vector. The curvature of the loss restricted to those parameters, the others held fixed
    (not a Schur complement). Each product is one product of A (no cheaper than A's), and
    ``n_matvecs`` counts the block's own; A's count goes on as usual.

    ``indices``: positions in θ (a 1-D integer sequence or tensor, distinct, kept in the order
    given) or a boolean mask of length n; :meth:`Landscape.param_indices` gives a layer's.
    """

    def __init__(self, op: Operator, indices):
        super().__init__()
        if not (hasattr(op, "matvec") and isinstance(getattr(op, "shape", None), tuple)):
            raise UsageError(f"op must be a simlab Operator, got {type(op).__name__}")
        n = op.shape[0]
        idx = torch.as_tensor(indices)
        if idx.dtype == torch.bool:
            if idx.shape != (n,):
                raise UsageError(f"a boolean mask of indices needs the operator's length {n}, got "
                                 f"shape {tuple(idx.shape)}")
            idx = torch.nonzero(idx).reshape(-1)
        if idx.ndim != 1 or idx.numel() == 0 or idx.dtype.is_floating_point or idx.dtype.is_complex:
            raise UsageError(f"indices must be a non-empty 1-D set of integer positions, got "
                             f"{idx.dtype} of shape {tuple(idx.shape)}")
        idx = idx.long()
        if int(idx.min()) < 0 or int(idx.max()) >= n:
            raise UsageError(f"indices must lie in 0..{n - 1}, got {int(idx.min())}..{int(idx.max())}")
        if torch.unique(idx).numel() != idx.numel():
            raise UsageError("indices must be distinct")
        self.op = op
        self.indices = idx.to(op.device)
        m = idx.numel()
        self.shape = (m, m)
        self.dtype, self.device = op.dtype, op.device

    def _matvec(self, v):
        full = torch.zeros(self.op.shape[0], dtype=self.dtype, device=self.device)
        full[self.indices] = v
        return self.op.matvec(full)[self.indices]

    def matmat(self, V: torch.Tensor) -> torch.Tensor:
        V = V.to(device=self.device, dtype=self.dtype)
        self.n_matvecs += V.shape[1]
        full = torch.zeros(self.op.shape[0], V.shape[1], dtype=self.dtype, device=self.device)
        full[self.indices] = V
        return self.op.matmat(full)[self.indices]

    def dense(self) -> torch.Tensor:
        if isinstance(self.op, DenseOperator):
            return self.op.H[self.indices][:, self.indices]
        return super().dense()
