"""The loss landscape of one model on one training set, as a function of a flat θ.

Every quantity is over the *whole* training set and accumulated chunk by chunk, so memory does
not grow with n_D and the result does not depend on the chunk size:

    L(θ) = (1/N) Σ_x ℓ(f_θ(x), y)          cross-entropy ("ce"): ℓ = −log softmax(f)_y, N = n_D
                                            mean squared error ("mse"): ℓ = ‖f − onehot(y)‖²,
                                            N = n_D · n_c (torch's ``mse_loss`` mean reduction)
    g = ∇L(θ),   Hv = ∇²L(θ) v,   accuracy = mean[argmax f = y]

Each chunk contributes its *sum* divided by the global N, so chunks (and, under
``torch.distributed``, ranks holding shards of the data) simply add up.

The Hessian-vector product comes two ways, which check each other:

- ``"fwd-rev"``: forward-over-reverse, ``torch.func.jvp`` of ``torch.func.grad``;
- ``"rev-rev"``: double backward, ∇(g·v) with ``torch.autograd.grad(create_graph=True)``.

:meth:`Landscape.operator` returns the HVP at a fixed θ as a linear operator; with
``hold_graph`` it keeps the gradient graph of every chunk and answers each product with one
more backward pass (cheapest when the whole batch fits in memory).
"""

from __future__ import annotations

import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.func import functional_call, grad, jvp

from simlab.errors import UsageError

# torch.func's forward mode calls torch.jit.script internally and warns about it on first use;
# the warning is torch's own business, not the user's
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)

LOSSES = ("ce", "mse")
HVP_METHODS = ("rev-rev", "fwd-rev")


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    """Sum over ranks when running under torch.distributed (each rank holds a shard)."""
    if _distributed():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


class Landscape:
    """Loss, gradient, HVP and accuracy of ``model`` on (X, y) as functions of a flat θ.

    ``X`` and ``y`` are this process's examples (under torch.distributed: this rank's shard);
    ``n_data`` is the global number of examples. The model's parameters at construction are
    ``theta0``; the model itself is only used as a function (``functional_call``).
    """

    def __init__(self, model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, *,
                 loss: str = "ce", n_classes: int | None = None, chunk_size: int | None = None,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
                 hvp_method: str = "rev-rev"):
        if loss not in LOSSES:
            raise UsageError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        if hvp_method not in HVP_METHODS:
            raise UsageError(f"unknown HVP method {hvp_method!r}; choose one of {', '.join(HVP_METHODS)}")
        if chunk_size is not None and chunk_size <= 0:
            raise UsageError(f"chunk size must be positive, got {chunk_size}")
        self.device = torch.device(device)
        if self.device.type == "cuda":
            # measurements in full float32: no TF32 in matmuls or convolutions
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.dtype = dtype
        self.model = model.to(device=self.device, dtype=dtype)
        self.loss_name = loss
        self.hvp_method = hvp_method
        self.X = X.to(device=self.device, dtype=dtype)
        self.y = y.to(device=self.device, dtype=torch.long)
        self.n_classes = int(n_classes if n_classes is not None else int(self.y.max()) + 1)
        self.n_local = len(self.X)
        self.n_data = int(_all_reduce(torch.tensor(float(self.n_local), device=self.device)).item())
        self.chunk_size = chunk_size or max(self.n_local, 1)
        params = dict(self.model.named_parameters())
        self._names = list(params)
        self._shapes = [p.shape for p in params.values()]
        self._numels = [p.numel() for p in params.values()]
        self._buffers = dict(self.model.named_buffers())
        self.theta0 = torch.cat([p.detach().reshape(-1) for p in params.values()]).clone()
        self.n_params = self.theta0.numel()
        # the normaliser N of the mean: examples for CE, examples × classes for MSE
        self._norm = float(self.n_data * (self.n_classes if loss == "mse" else 1))

    # --- θ <-> parameters -------------------------------------------------------------------
    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of the flat θ shaped as the model's parameters (differentiable)."""
        out, i = {}, 0
        for name, shape, k in zip(self._names, self._shapes, self._numels):
            out[name] = theta[i:i + k].view(shape)
            i += k
        return out

    def outputs(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """f_θ(X): the model's outputs (logits) for a batch."""
        return functional_call(self.model, {**self.unflatten(theta), **self._buffers}, (X,))

    def chunks(self):
        for i in range(0, self.n_local, self.chunk_size):
            yield self.X[i:i + self.chunk_size], self.y[i:i + self.chunk_size]

    def _chunk_loss(self, theta: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """This chunk's share of the mean: Σ_chunk ℓ / N."""
        out = self.outputs(theta, xb)
        if self.loss_name == "ce":
            s = F.cross_entropy(out, yb, reduction="sum")
        else:
            s = F.mse_loss(out, F.one_hot(yb, self.n_classes).to(out.dtype), reduction="sum")
        return s / self._norm

    # --- full-batch quantities ----------------------------------------------------------------
    def loss(self, theta: torch.Tensor) -> float:
        with torch.no_grad():
            total = torch.zeros((), dtype=self.dtype, device=self.device)
            for xb, yb in self.chunks():
                total += self._chunk_loss(theta, xb, yb)
        return float(_all_reduce(total).item())

    def loss_grad(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        theta = theta.detach()
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        g = torch.zeros_like(theta)
        for xb, yb in self.chunks():
            # plain reverse mode: on small nets torch.func.grad costs several times more
            th = theta.clone().requires_grad_(True)
            lb = self._chunk_loss(th, xb, yb)
            (gb,) = torch.autograd.grad(lb, th)
            g += gb
            total += lb.detach()
        _all_reduce(g)
        return float(_all_reduce(total).item()), g

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        return self.loss_grad(theta)[1]

    def hvp(self, theta: torch.Tensor, v: torch.Tensor, method: str | None = None) -> torch.Tensor:
        """H(θ) v over the whole set, by ``method`` (default: the landscape's ``hvp_method``)."""
        method = method or self.hvp_method
        theta, v = theta.detach(), v.to(device=self.device, dtype=self.dtype)
        out = torch.zeros_like(theta)
        for xb, yb in self.chunks():
            if method == "fwd-rev":
                out += jvp(lambda th: grad(self._chunk_loss)(th, xb, yb), (theta,), (v,))[1]
            elif method == "rev-rev":
                th = theta.clone().requires_grad_(True)
                (gb,) = torch.autograd.grad(self._chunk_loss(th, xb, yb), th, create_graph=True)
                (hv,) = torch.autograd.grad(gb @ v, th)
                out += hv
            else:
                raise UsageError(f"unknown HVP method {method!r}; choose one of {', '.join(HVP_METHODS)}")
        return _all_reduce(out)

    def accuracy(self, theta: torch.Tensor) -> float:
        with torch.no_grad():
            correct = torch.zeros((), dtype=self.dtype, device=self.device)
            for xb, yb in self.chunks():
                correct += (self.outputs(theta, xb).argmax(-1) == yb).sum()
        return float(_all_reduce(correct).item()) / self.n_data

    def operator(self, theta: torch.Tensor, *, hold_graph: bool | None = None):
        """The Hessian at θ as a :class:`simlab.operators.HVPOperator`."""
        from simlab.operators import HVPOperator

        return HVPOperator(self, theta, hold_graph=hold_graph)
