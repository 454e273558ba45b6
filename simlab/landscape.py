"""The loss landscape of one model on one training set, as a function of a flat θ.

Every quantity is over the *whole* training set and accumulated chunk by chunk, so memory does
not grow with n_D and the result does not depend on the chunk size:

    L(θ) = (1/N) Σ_x ℓ(f_θ(x), y)          cross-entropy ("ce"): ℓ = −log softmax(f)_y, N = n_D
                                            mean squared error ("mse"): ℓ = ‖f − onehot(y)‖²,
                                            N = n_D · n_c (torch's ``mse_loss`` mean reduction)
                                            a callable criterion(f, y) with its stated reduction
                                            ("mean" or "sum" over a batch): N = n_D (Landscape)
    g = ∇L(θ),   Hv = ∇²L(θ) v,   accuracy = mean[argmax f = y]

Each chunk contributes its *sum* divided by the global N (:meth:`Landscape.chunk_loss`, the one
per-chunk loss every other module builds on), so chunks (and, under ``torch.distributed``, ranks
holding shards of the data, :mod:`simlab.distributed`) simply add up.

Chunking follows a memory budget by default (``memory_budget_mb``, 1024 MiB): the bytes that one
example's gradient graph keeps (measured once on two small probe chunks with saved-tensor hooks)
decide whether the whole set's graph fits; if it does, one chunk and its graph is held; if not,
chunks of a quarter of the budget, and the graphs of as many chunks as fit in the other three
quarters are held while the rest are recomputed at each product (:mod:`simlab.chunking`): the
budget caps held graphs; :meth:`Landscape.chunking` says what was chosen and why (in records).

The Hessian-vector product comes two ways, which check each other:

- ``"fwd-rev"``: forward-over-reverse, ``torch.func.jvp`` of ``torch.func.grad``;
- ``"rev-rev"``: double backward, ∇(g·v) with ``torch.autograd.grad(create_graph=True)``.

:meth:`Landscape.operator` returns the HVP at a fixed θ as a linear operator; with
``hold_graph`` it keeps the gradient graph of every chunk and answers each product with one
more backward pass (cheapest when the whole batch fits in memory). :meth:`Landscape.hessian` is
the dense exact Hessian (every entry, by forward-over-reverse products of the basis vectors), the
one reference of the toy regime and the tests.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, jvp, vmap

from simlab import chunking
from simlab.dataconv import data_convolutions
from simlab.distributed import all_reduce, is_distributed
from simlab.errors import UsageError, require

# torch.func's forward mode calls torch.jit.script internally and warns about it on first use;
# the warning is torch's own business, not the user's
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)

LOSSES = ("ce", "mse")
REDUCTIONS = ("mean", "sum")  # what a loss callable returns over a batch's examples
DETERMINISM_PROBE = 64  # examples on which construction evaluates the loss twice
HVP_METHODS = ("rev-rev", "fwd-rev")
MEMORY_BUDGET_MB = 1024.0  # default budget for held graphs + one working chunk
DTYPES = (torch.float32, torch.float64)  # the precisions measurements are taken in
MEMORY_FORMATS = ("contiguous", "channels_last")  # how 4-d images and conv weights are laid out


# --- the API's argument checks: once, at the door, each a ValueError naming the argument -------

def _as_tensor(name: str, value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise UsageError(f"{name} must be a numeric array, got an array of Python objects")
        return torch.from_numpy(value)
    raise UsageError(f"{name} must be a torch.Tensor (or a numpy array), got {type(value).__name__}")


def check_data(model, X, y, *, n_classes: int | None = None):
    """``(X, y)`` as tensors after the checks that need no forward pass: a model with parameters;
    X floating point (float32/float64), at least 2-D, finite; y 1-D integer class labels, one per
    row of X, in 0..n_classes−1. Each failure is a :class:`UsageError` (a ValueError) naming the
    argument and what is expected."""
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(True for _ in model.parameters()):
        raise UsageError(f"model ({type(model).__name__}) has no parameters: the landscape is a "
                         "function of the parameters; pass a model with at least one")
    X, y = _as_tensor("X", X), _as_tensor("y", y)
    if X.dtype not in DTYPES:
        hint = (" (scale images to [0, 1] first)" if not X.dtype.is_floating_point else "")
        raise UsageError(f"X must be float32 or float64, got {X.dtype}: pass X.double() or "
                         f"X.float(){hint}")
    if X.ndim < 2:
        raise UsageError(f"X must have one row per example (at least 2-D: n × features), got shape "
                         f"{tuple(X.shape)}; e.g. X.reshape(-1, 1) for one feature")
    if y.ndim != 1:
        raise UsageError(f"y must be 1-D (one class label per example), got shape {tuple(y.shape)}")
    if len(y) != len(X):
        raise UsageError(f"X has {len(X)} examples but y has {len(y)} labels; give one label per row of X")
    if not len(X) and not is_distributed():  # (a rank's shard may be empty)
        raise UsageError("X holds no examples; give at least one row")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise UsageError(f"y must hold integer class labels (0..n_classes−1), got dtype {y.dtype}; "
                         f"pass y.long() if they are whole numbers")
    if n_classes is not None:
        require("n_classes", n_classes, integer=True, positive=True, arg=True)
    check_labels(y, n_classes)
    if X.numel() and not bool(torch.isfinite(X).all()):
        bad = (~torch.isfinite(X)).reshape(len(X), -1).any(dim=1)
        rows = torch.nonzero(bad).reshape(-1)
        raise UsageError(f"X holds NaN or inf in {len(rows)} example(s) (the first: row "
                         f"{int(rows[0])}); remove or impute them")
    return X, y


def check_labels(y: torch.Tensor, n_classes: int | None, what: str = "n_classes") -> None:
    """Labels in 0..n_classes−1 (only ≥ 0 when n_classes is not known yet)."""
    if not len(y):
        return
    lo, hi = int(y.min()), int(y.max())
    if lo < 0:
        raise UsageError(f"y holds the label {lo}; labels must be 0..n_classes−1")
    if n_classes is not None and hi >= n_classes:
        raise UsageError(f"y holds the label {hi} but {what} is {n_classes}; labels must be "
                         f"0..{n_classes - 1}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


def _output_width(model, X: torch.Tensor, device) -> int | None:
    """The model's number of outputs, by one forward pass on (at most) two examples of X (None
    when X is empty): X's rows must be the model's input and its output (batch, n_outputs)
    logits. Neither the RNG (dropout) nor buffers (batch-norm statistics) are touched."""
    if not len(X):
        return None
    params = dict(model.named_parameters())
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    cuda = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            out = functional_call(model, {**params, **buffers}, (X[:2],))
    except Exception as e:  # noqa: BLE001 - any error of the forward pass is a mismatch of X
        raise UsageError(f"X of shape {tuple(X.shape)} does not fit the model "
                         f"({type(model).__name__}): {type(e).__name__}: {_first_line(e)}") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != len(X[:2]):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UsageError(f"the model must map X's rows to logits of shape (batch, n_classes), got "
                         f"{shape} for X[:{len(X[:2])}]")
    return int(out.shape[1])


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}: " + ", ".join(type(v).__name__ for v in value)
    return f"a {type(value).__name__}"


def materialise(loader) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, y): every batch of a ``torch.utils.data.DataLoader`` read once and concatenated (the
    landscape is over the whole set, so the loader's order and batch size do not matter; a
    random transform is sampled once). Each batch must be an (inputs, labels) pair of tensors."""
    xs, ys = [], []
    for i, batch in enumerate(loader):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2
                and all(isinstance(b, torch.Tensor) for b in batch)):
            raise UsageError(f"the DataLoader must yield (inputs, labels) pairs of tensors; its batch "
                             f"{i} is {_describe(batch)}")
        xs.append(batch[0])
        ys.append(batch[1].reshape(-1) if batch[1].ndim == 0 else batch[1])
    if not xs:
        raise UsageError("the DataLoader yielded no batches; give it at least one example")
    try:
        return torch.cat(xs), torch.cat(ys)
    except RuntimeError as e:
        raise UsageError(f"the DataLoader's batches do not concatenate into one set: "
                         f"{_first_line(e)}") from None


def working_copy(model: torch.nn.Module, device, dtype) -> torch.nn.Module:
    """A copy of ``model`` in the working device and dtype, in eval mode (no dropout; batch-norm
    uses its running statistics): the caller's model is left as it was."""
    try:
        work = copy.deepcopy(model)
    except Exception as e:  # noqa: BLE001 - whatever stops the copy, the user must hear it in one line
        raise UsageError(f"model ({type(model).__name__}) could not be copied ({type(e).__name__}: "
                         f"{_first_line(e)}); simlab measures a copy so that the model is left as "
                         f"it was") from None
    return work.to(device=device, dtype=dtype).eval()


def check_landscape(landscape) -> None:
    """What the measuring functions take: a :class:`Landscape` (or an object with its methods)."""
    if not all(hasattr(landscape, a) for a in ("loss_grad", "loss", "accuracy", "n_params", "theta0")):
        raise UsageError(f"landscape must be a simlab Landscape (Landscape(model, X, y)), got "
                         f"{type(landscape).__name__}")


def check_vector(name: str, value, n: int, *, dtype=None, device=None) -> torch.Tensor:
    """A flat vector of length ``n`` (θ, v), moved to ``dtype``/``device`` when given (a no-op
    when it already is)."""
    t = _as_tensor(name, value)
    if t.ndim != 1 or t.numel() != n:
        raise UsageError(f"{name} must be a flat vector of the model's {n} parameters, got shape "
                         f"{tuple(t.shape)}")
    if not t.dtype.is_floating_point:
        raise UsageError(f"{name} must be floating point, got {t.dtype}")
    return t if dtype is None else t.to(device=device, dtype=dtype)


class Landscape:
    """Loss, gradient, HVP and accuracy of ``model`` on (X, y) as functions of a flat θ.

    ``X`` and ``y`` are this process's examples (under torch.distributed: this rank's shard):
    tensors (or numpy arrays), or ``X`` a ``torch.utils.data.DataLoader`` of (inputs, labels)
    batches, read once (``y`` then left out). ``n_data`` is the global number of examples.

    ``loss``: ``"ce"``, ``"mse"`` (see the module docstring) or a callable
    ``criterion(outputs, y)`` with ``reduction`` stating what it returns for a batch:
    ``"mean"`` (the mean over its examples, as ``nn.CrossEntropyLoss()``; a chunk then adds
    criterion · |chunk| / n_D) or ``"sum"`` (the sum over its examples; a chunk adds
    criterion / n_D). Either way L(θ) is a mean over the n_D examples; y reaches the criterion
    as the integer labels.

    The model is copied (:func:`working_copy`: the working dtype and device, eval mode) and the
    caller's model left as it was; the copy's parameters at construction are ``theta0``, and it
    is only used as a function (``functional_call``). Construction evaluates the loss at θ_0
    twice on the first examples and refuses a model whose two values differ (randomness in its
    forward pass), as curvlinops does.

    ``chunk_size`` fixes the examples per forward pass; left out, it follows ``memory_budget_mb``
    (``None``: no budget, one chunk and its graph held, whatever n_D).

    ``memory_format``: ``"contiguous"`` (default) or ``"channels_last"``, which holds 4-d images
    (N, C, H, W) and every 4-d parameter (conv weights) in torch's channels-last layout (NHWC in
    memory), the one oneDNN's CPU convolutions and max-pools run fastest in: on the scale nets
    at 256 images a gradient costs 0.68–0.87 of the contiguous one, a product 0.78–1.04
    (bench/layout_bench.py). θ, gradients and products keep their flat layout; values agree
    with ``"contiguous"`` to float rounding (which training at the edge of stability amplifies:
    two runs that differ only in layout part after a few dozen iterations). Only for a model
    whose forward reshapes rather than ``view``s its activations (``torch.flatten``, as
    torchvision's and simlab's nets do).
    """

    def __init__(self, model: torch.nn.Module, X, y=None, *,
                 loss="ce", reduction: str | None = None, n_classes: int | None = None,
                 chunk_size: int | None = None,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
                 hvp_method: str = "rev-rev", memory_budget_mb: float | None = MEMORY_BUDGET_MB,
                 memory_format: str = "contiguous"):
        self.criterion = None
        if callable(loss) and not isinstance(loss, str):
            if reduction not in REDUCTIONS:
                raise UsageError(f"a loss callable needs reduction='mean' or 'sum' (what "
                                 f"criterion(outputs, y) returns over a batch's examples), got "
                                 f"{reduction!r}")
            self.criterion, self.reduction = loss, reduction
            loss = "callable"
        elif loss not in LOSSES:
            raise UsageError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)} or pass a "
                             f"callable criterion(outputs, y) with reduction='mean' or 'sum'")
        elif reduction not in (None, "mean"):
            raise UsageError(f"reduction is for a loss callable; {loss!r} is always a mean (got "
                             f"reduction={reduction!r})")
        else:
            self.reduction = "mean"
        if hvp_method not in HVP_METHODS:
            raise UsageError(f"unknown HVP method {hvp_method!r}; choose one of {', '.join(HVP_METHODS)}")
        require("chunk_size", chunk_size, integer=True, positive=True, optional=True, arg=True)
        require("memory_budget_mb", memory_budget_mb, positive=True, optional=True, arg=True)
        if memory_format not in MEMORY_FORMATS:
            raise UsageError(f"unknown memory_format {memory_format!r}; choose one of "
                             f"{', '.join(MEMORY_FORMATS)}")
        if dtype not in DTYPES:
            raise UsageError(f"dtype must be one of {', '.join(map(str, DTYPES))} (the precisions "
                             f"simlab measures in), got {dtype!r}")
        if isinstance(X, torch.utils.data.DataLoader):
            if y is not None:
                raise UsageError("y must be left out when X is a DataLoader (its batches hold the labels)")
            X, y = materialise(X)
        elif y is None:
            raise UsageError("y is needed: Landscape(model, X, y) with one label per row of X, or "
                             "Landscape(model, loader) with a DataLoader of (inputs, labels) batches")
        X, y = check_data(model, X, y, n_classes=n_classes)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise UsageError(f"device must be 'cpu', 'cuda' or 'cuda:i', got {device!r} ({e})") from None
        if self.device.type == "cuda":
            # measurements in full float32: no TF32 in matmuls or convolutions
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.dtype = dtype
        self.model = working_copy(model, self.device, dtype)
        self.loss_name = loss  # "ce", "mse" or "callable"
        # what a record can say about the loss
        self.loss_description = (loss if self.criterion is None else
                                 f"{getattr(self.criterion, '__name__', type(self.criterion).__name__)}"
                                 f" (reduction={self.reduction!r})")
        self.hvp_method = hvp_method
        self.memory_format = memory_format
        self.X = X.to(device=self.device, dtype=dtype)
        if memory_format == "channels_last":
            if self.X.dim() != 4:
                raise UsageError(f"memory_format='channels_last' is for 4-d images (N, C, H, W); X "
                                 f"has shape {tuple(self.X.shape)}: use 'contiguous'")
            self.X = self.X.contiguous(memory_format=torch.channels_last)
        self.y = y.to(device=self.device, dtype=torch.long)
        width = _output_width(self.model, self.X, self.device)
        if n_classes is not None and width is not None and width != n_classes:
            raise UsageError(f"the model has {width} outputs but n_classes is {n_classes}; pass "
                             f"n_classes={width} or a model with {n_classes} outputs")
        if n_classes is None:  # the model's outputs are the classes
            check_labels(self.y, width, "the model's number of outputs")
        self.n_classes = int(n_classes if n_classes is not None else
                             width if width is not None else int(self.y.max()) + 1)
        self.n_local = len(self.X)
        self.n_data = int(all_reduce(torch.tensor(float(self.n_local), device=self.device)).item())
        self.memory_budget_mb = memory_budget_mb
        self._chunk_size = chunk_size
        self._held_chunks: int | None = None
        self._graph_mib: float | None = None  # the probe's held-graph MiB an example (budgeted)
        self._why: str | None = None  # the chunking's reason, in words (chunking())
        params = dict(self.model.named_parameters())
        self._names = list(params)
        self._shapes = [p.shape for p in params.values()]
        self._numels = [p.numel() for p in params.values()]
        self._buffers = dict(self.model.named_buffers())
        self.theta0 = torch.cat([p.detach().reshape(-1) for p in params.values()]).clone()
        self.n_params = self.theta0.numel()
        # the normaliser N of the mean: examples for CE, examples × classes for MSE
        self._norm = float(self.n_data * (self.n_classes if loss == "mse" else 1))
        self._check_deterministic()

    def _check_deterministic(self) -> None:
        """Two evaluations of the loss at θ_0 on the first examples agree (else a UsageError);
        a loss callable returns a scalar. The RNG is left as it was."""
        xb, yb = self.X[:DETERMINISM_PROBE], self.y[:DETERMINISM_PROBE]
        if not len(xb):
            return
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=cuda):
                a, b = (float(self.chunk_loss(self.theta0, xb, yb)) for _ in range(2))
        except UsageError:
            raise
        except Exception as e:  # noqa: BLE001 - the criterion's own error, in one line
            raise UsageError(f"the loss could not be evaluated on the model's outputs: "
                             f"{type(e).__name__}: {_first_line(e)}") from None
        rtol = 1e-5 if self.dtype == torch.float32 else 1e-9
        if not (a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)):
            raise UsageError(f"the model is not deterministic: two evaluations of the loss at θ_0 "
                             f"on the same {len(xb)} examples gave {a!r} and {b!r}; remove the "
                             f"randomness from its forward pass (simlab measures in eval mode)")

    # --- θ <-> parameters -------------------------------------------------------------------
    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of the flat θ shaped as the model's parameters (differentiable); under
        ``memory_format="channels_last"`` the 4-d ones are channels-last copies."""
        out, i = {}, 0
        last = self.memory_format == "channels_last"
        for name, shape, k in zip(self._names, self._shapes, self._numels):
            p = theta[i:i + k].view(shape)
            # NHWC in memory by a copy of the permuted view (what .contiguous(memory_format=
            # torch.channels_last) does, written so that torch.func.vmap can batch it)
            out[name] = p.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) if last and p.dim() == 4 else p
            i += k
        return out

    def outputs(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """f_θ(X): the model's outputs (logits) for a batch."""
        return functional_call(self.model, {**self.unflatten(theta), **self._buffers}, (X,))

    # --- chunking -----------------------------------------------------------------------------
    def graph_bytes_per_example(self) -> float:
        """Bytes one example adds to the held gradient graph (create_graph=True), measured on
        two probe chunks so that what every chunk saves (the parameters) is not counted."""
        def probe(m):
            th = self.theta0.clone().requires_grad_(True)
            xb, yb = self.X[:m].clone(), self.y[:m].clone()  # own storage: a view would count all of X
            with data_convolutions():  # the graph as HVPOperator holds it
                return chunking.graph_bytes(lambda: torch.autograd.grad(
                    self.chunk_loss(th, xb, yb), th, create_graph=True))

        m1, m2 = min(self.n_local, 4), min(self.n_local, 16)
        b1 = probe(m1)
        if m2 == m1:
            return b1 / max(m1, 1)
        return max((probe(m2) - b1) / (m2 - m1), b1 / (4 * m2), 1.0)

    def _resolve_chunking(self) -> None:
        n = max(self.n_local, 1)
        b = None if self.memory_budget_mb is None else self.graph_bytes_per_example()
        self._graph_mib = None if b is None else b / chunking.MIB
        given = self._chunk_size is not None
        self._chunk_size, self._held_chunks = chunking.plan(n, self._chunk_size, self.memory_budget_mb, b)
        self._why = chunking.reason(n, self._chunk_size, self._held_chunks, self.memory_budget_mb,
                                    self._graph_mib, given)

    @property
    def chunk_size(self) -> int:
        """Examples per chunk (every sum over the data runs chunk by chunk; sized to the memory
        budget unless set)."""
        if self._held_chunks is None:
            self._resolve_chunking()
        return self._chunk_size

    @property
    def held_chunks(self) -> int:
        """How many chunks' gradient graphs an operator holds (the first ones)."""
        if self._held_chunks is None:
            self._resolve_chunking()
        return self._held_chunks

    def chunking(self) -> dict:
        """The chunking used, as records store it: chunk_size, n_chunks, hold_graph (any chunk's
        graph held), held_chunks, memory_budget_mb (None: no budget), graph_mib_per_example (the
        probe's measurement the choice rests on; None without a budget) and why (the choice in
        words, with those numbers)."""
        n_chunks = math.ceil(max(self.n_local, 1) / self.chunk_size)
        return {"chunk_size": int(self.chunk_size), "n_chunks": int(n_chunks),
                "hold_graph": self.held_chunks > 0, "held_chunks": int(self.held_chunks),
                "memory_budget_mb": self.memory_budget_mb, "graph_mib_per_example": self._graph_mib,
                "why": self._why}

    def chunks(self):
        """The (X_c, y_c) chunks of this process's share of the training set, in order."""
        size = self.chunk_size
        for i in range(0, self.n_local, size):
            yield self.X[i:i + size], self.y[i:i + size]

    def chunk_loss(self, theta: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """This chunk's share of the mean: Σ_chunk ℓ / N."""
        return self.output_loss(self.outputs(theta, xb), yb)

    def output_loss(self, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """A chunk's share of the mean as a function of its outputs f (batch × n_outputs):
        Σ_chunk ℓ(f, y) / N."""
        if self.loss_name == "ce":
            s = F.cross_entropy(out, yb, reduction="sum")
        elif self.loss_name == "mse":
            s = F.mse_loss(out, F.one_hot(yb, self.n_classes).to(out.dtype), reduction="sum")
        else:
            s = self.criterion(out, yb)
            if not isinstance(s, torch.Tensor) or s.numel() != 1:
                shown = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise UsageError(f"the loss callable must return one number (a scalar tensor) for "
                                 f"a batch, got {shown}; give it reduction='mean' or 'sum'")
            s = s.reshape(()) * (len(yb) if self.reduction == "mean" else 1)
        return s / self._norm

    def output_hvp(self, out: torch.Tensor, yb: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """∇²_f (Σ_chunk ℓ / N) u: the Hessian of :meth:`output_loss` w.r.t. the outputs times
        u (batch × n_outputs), block-diagonal over examples. Cross-entropy: per example
        (diag(p) − p pᵀ) u / N with p = softmax(f); MSE: 2 u / N; a loss callable: by double
        backward through the criterion, ∇_f (∇_f ℓ · u)."""
        if self.loss_name == "ce":
            p = torch.softmax(out, dim=-1)
            return (p * u - p * (p * u).sum(dim=-1, keepdim=True)) / self._norm
        if self.loss_name == "mse":
            return 2.0 * u / self._norm
        with torch.enable_grad():
            o = out.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.output_loss(o, yb), o, create_graph=True)
            if not g.requires_grad:  # a criterion linear in f
                return torch.zeros_like(u)
            return torch.autograd.grad(g, o, grad_outputs=u)[0]

    # --- full-batch quantities ----------------------------------------------------------------
    def _theta(self, theta, name: str = "theta") -> torch.Tensor:
        return check_vector(name, theta, self.n_params, dtype=self.dtype, device=self.device)

    def loss(self, theta: torch.Tensor) -> float:
        """L(θ) = (1/n_D) Σ_x ℓ(f_θ(x), y) over the whole training set (summed chunk by chunk)."""
        theta = self._theta(theta)
        with torch.no_grad():
            total = torch.zeros((), dtype=self.dtype, device=self.device)
            for xb, yb in self.chunks():
                total += self.chunk_loss(theta, xb, yb)
        return float(all_reduce(total).item())

    def loss_grad(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """(L(θ), ∇L(θ)) in one pass over the chunks; the gradient flat like θ."""
        theta = self._theta(theta).detach()
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        g = torch.zeros_like(theta)
        for xb, yb in self.chunks():
            lb, gb = self.chunk_loss_grad(theta, xb, yb)
            g += gb
            total += lb
        all_reduce(g)
        return float(all_reduce(total).item()), g

    def chunk_loss_grad(self, theta: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor):
        """This chunk's share of (L, ∇L) at θ: (loss, detached; gradient, flat)."""
        # plain reverse mode: on small nets torch.func.grad costs several times more
        th = theta.clone().requires_grad_(True)
        lb = self.chunk_loss(th, xb, yb)
        (gb,) = torch.autograd.grad(lb, th)
        return lb.detach(), gb

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """∇L(θ), flat like θ (the mean over the whole training set)."""
        return self.loss_grad(theta)[1]

    def chunk_hvp(self, theta: torch.Tensor, v: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor,
                  method: str | None = None) -> torch.Tensor:
        """This chunk's share of H(θ) v, by ``method`` (default: the landscape's ``hvp_method``)."""
        method = method or self.hvp_method
        if method == "fwd-rev":
            return jvp(lambda th: grad(self.chunk_loss)(th, xb, yb), (theta,), (v,))[1]
        if method == "rev-rev":
            th = theta.clone().requires_grad_(True)
            with data_convolutions():  # no second derivative w.r.t. the data (simlab.dataconv)
                (gb,) = torch.autograd.grad(self.chunk_loss(th, xb, yb), th, create_graph=True)
            return torch.autograd.grad(gb @ v, th)[0]
        raise UsageError(f"unknown HVP method {method!r}; choose one of {', '.join(HVP_METHODS)}")

    def hvp(self, theta: torch.Tensor, v: torch.Tensor, method: str | None = None) -> torch.Tensor:
        """H(θ) v over the whole set, by ``method`` (default: the landscape's ``hvp_method``)."""
        theta, v = self._theta(theta).detach(), self._theta(v, "v")
        out = torch.zeros_like(theta)
        for xb, yb in self.chunks():
            out += self.chunk_hvp(theta, v, xb, yb, method)
        return all_reduce(out)

    def accuracy(self, theta: torch.Tensor) -> float:
        """The fraction of training examples whose largest output is their label."""
        theta = self._theta(theta)
        with torch.no_grad():
            correct = torch.zeros((), dtype=self.dtype, device=self.device)
            for xb, yb in self.chunks():
                correct += (self.outputs(theta, xb).argmax(-1) == yb).sum()
        return float(all_reduce(correct).item()) / self.n_data

    def hessian(self, theta: torch.Tensor, *, block: int = 64) -> torch.Tensor:
        """The dense n × n Hessian ∇²L(θ) of the full-batch mean loss, symmetrised: the exact
        reference (no finite differences; entries exact up to rounding in the landscape's dtype).

        H[:, j] = H e_j by forward-over-reverse, vectorised over ``block`` basis vectors with
        ``torch.func.vmap`` and summed over chunks exactly as the loss is; 64 was ~3x faster than
        256 for a few hundred parameters on CPU (smaller intermediate tensors). With a loss
        callable, by batched double backward instead (``is_grads_batched``): the criterion then
        needs only what training needs (torch's forward mode fails through some criteria, e.g.
        ``mse_loss`` with its mean reduction)."""
        theta = self._theta(theta).detach()
        require("block", block, integer=True, positive=True, arg=True)
        n = theta.numel()
        H = torch.zeros(n, n, dtype=self.dtype, device=self.device)
        eye = torch.eye(n, dtype=self.dtype, device=self.device)
        for xb, yb in self.chunks():
            if self.criterion is not None:
                th = theta.clone().requires_grad_(True)
                (gb,) = torch.autograd.grad(self.chunk_loss(th, xb, yb), th, create_graph=True)
                for j in range(0, n, block):
                    H[:, j:j + block] += torch.autograd.grad(
                        gb, th, grad_outputs=eye[j:j + block], retain_graph=True,
                        is_grads_batched=True)[0].T
                continue

            def col(e):
                return jvp(lambda th: grad(self.chunk_loss)(th, xb, yb), (theta,), (e,))[1]

            for j in range(0, n, block):
                H[:, j:j + block] += vmap(col)(eye[j:j + block]).T
        all_reduce(H)
        return (H + H.T) / 2

    def param_indices(self, params) -> torch.Tensor:
        """The positions in the flat θ of the named parameters (names as in
        ``model.named_parameters()``, e.g. ``"0.weight"``), in θ's order, as a LongTensor."""
        if isinstance(params, str):
            params = [params]
        names = list(params)
        unknown = [p for p in names if p not in self._names]
        if unknown or not names:
            raise UsageError(f"params must name the model's parameters ({', '.join(self._names)}); "
                             f"got {', '.join(map(repr, unknown)) if unknown else 'none'}")
        starts = np.cumsum([0, *self._numels])
        return torch.cat([torch.arange(int(starts[i]), int(starts[i + 1]))
                          for i, name in enumerate(self._names) if name in names])

    def operator(self, theta: torch.Tensor, *, hold_graph: bool | None = None,
                 curvature: str = "hessian", params=None):
        """A curvature matrix at θ as an operator: ``curvature="hessian"`` the Hessian
        (:class:`~simlab.operators.HVPOperator`), ``"ggn"`` the generalised Gauss–Newton matrix
        (:class:`~simlab.operators.GGNOperator`); ``params`` (parameter names) restricts it to
        their block (:class:`~simlab.operators.BlockOperator`). ``hold_graph``: None follows the
        memory budget, True holds every chunk's graph, False none."""
        from simlab.operators import BlockOperator, GGNOperator, HVPOperator

        kinds = {"hessian": HVPOperator, "ggn": GGNOperator}
        if curvature not in kinds:
            raise UsageError(f"unknown curvature {curvature!r}; choose one of {', '.join(kinds)}")
        idx = None if params is None else self.param_indices(params)
        op = kinds[curvature](self, self._theta(theta), hold_graph=hold_graph)
        return op if idx is None else BlockOperator(op, idx)
