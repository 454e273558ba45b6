"""Full-batch gradient descent with Lowell 2022's telemetry cadence: the one GD loop.

    θ_{n+1} = θ_n − η_n ∇L(θ_n),   t_n = Σ_{m<n} η_m   (t = nη for a constant η)

No momentum, no mini-batches: ∇L is the whole-set mean of :class:`~simlab.landscape.Landscape`.
How θ moves is a step rule's (:mod:`simlab.steps`), one per schedule: ``constant`` (η_n = lr),
``flow`` (gradient flow as in Lowell: λ_1 at every iteration and η_n = min(lr, flow_c/λ_1)),
``stable`` (η_n = lr for the first ``stable_after`` iterations, then η_n = flow_c/λ_1 with λ_1
re-measured every ``stable_every`` iterations: a stable step that follows the curvature down to a
critical point, Sagun's ‖g‖ ≈ 1e-4), ``expeuler`` (Lowell & Kastner 2024's exponential Euler: the
flow integrated exactly on the top n_c − 1 eigendirections, τ_n = min(lr, 1/λ_{k+1}); the update
is then not −η_n ∇L), ``newton`` (η_n = lr for ``stable_after`` iterations, then saddle-free
damped Newton on the dense Hessian: a finish to a critical point on small nets); callers pass
others (Bulk-GD / Top-GD, a replay). The
rules' own eigensolves count as telemetry (``step_rule_hvps``, ``step_rule_seconds``). Telemetry (:func:`simlab.telemetry.measure` on the
operator ``operator_fn(θ)``, default ``landscape.operator``) every ``telemetry_every`` iterations
(default round(1/η)), plus every ``entry_every`` iterations before ``entry_until`` (the
entry-capture experiment), at every step a :class:`Probe` is due (its dict is merged into the
point's line), and at the final θ; each eigensolve warm-starts from the previous point's
eigenvectors. A line of telemetry.jsonl is a :class:`~simlab.point.Stamp` (step, t, lr,
wall_time) around a :class:`~simlab.point.Point` (:func:`simlab.point.line`).

Stops at the first of: L < ``target_loss``, accuracy ≥ ``target_accuracy`` (checked at telemetry
points), ‖g‖ ≤ ``grad_tol``, ``max_steps`` iterations, t ≥ ``max_t``, ``max_seconds`` of wall
time; or "diverged" (L or ‖g‖ NaN/inf) or "dead" (‖g‖ exactly 0 above the target loss, or a
ReLU layer with no live unit on the training set: the net is a constant function and GD can
never revive it), keeping everything recorded so far. :func:`validity` says whether the run is
a measurement at all (see its docstring).

With a record writer and ``checkpoint_every``, the state (tensors and plain data only, read back
with ``torch.load(weights_only=True)``) is saved so that ``resume=True`` continues an interrupted
run and yields the same record: θ, the previous θ, the warm starts, the history, the HVP count
and the torch RNG state are all in it, and the telemetry is cut back to the checkpoint's points.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from simlab import steps
from simlab.checkpoint import STATE_FORMAT, load_state, rule_state, save_state
from simlab.options import option
from simlab.distributed import all_reduce, any_rank
from simlab.errors import UsageError, require
from simlab.landscape import check_landscape, check_vector
from simlab.operators import DenseOperator, TimedOperator
from simlab.runcost import landscape_cost
from simlab.point import Point, Stamp, line
from simlab.record import RecordWriter, crash_point, save_tensor_file
from simlab.spectrum import MISS_PROBABILITY, top_eigen
from simlab.steps import StepRule
from simlab.telemetry import measure

SCHEDULES = ("constant", "flow", "stable", "expeuler", "newton")
# the schedules whose lr is the step (flow's and expeuler's is a cap; newton's is its GD phase's)
CONSTANT_ETA = ("constant", "stable", "newton")
STOP_REASONS = ("target_loss", "target_accuracy", "grad_tol", "max_steps", "max_t", "max_seconds",
                "diverged", "dead")
SCHEDULE_HELP = ("constant: η = lr; flow: η = min(lr, flow_c/λ_1), λ_1 every iteration; stable: "
                 "η = lr for --stable-after iterations, then flow_c/λ_1; expeuler: exponential "
                 "Euler (Lowell & Kastner 2024), the top k = n_c − 1 directions (n_c under mse) "
                 "flowed exactly for τ = min(lr, 1/λ_{k+1}), the rest an Euler step τ; k + 1 "
                 "eigenpairs every iteration; newton: η = lr for --stable-after iterations, "
                 "then saddle-free damped Newton on the dense Hessian (small nets: a finish to "
                 "a critical point)")
# a checkpoint also after this much wall time since the last one (besides checkpoint_every), so
# that a killed long run loses minutes, not the run; train(checkpoint_seconds=...) overrides it
CHECKPOINT_SECONDS = 300.0
# with progress on but the output not a terminal (tqdm hides itself then), one plain line this often
PROGRESS_SECONDS = 60.0


@dataclass(frozen=True)
class TrainConfig:
    """The trainer's settings. Each field's ``option(default, help, choices)`` is its
    documentation and the help of its flag in every regime whose config includes it."""

    lr: float = option(0.01, "learning rate η (constant schedule; η_max under flow and expeuler, "
                       "the first phase's η under stable)")
    schedule: str = option("constant", SCHEDULE_HELP, SCHEDULES)
    flow_c: float = option(0.5, "flow: η = min(lr, flow_c/λ_1); stable: η = flow_c/λ_1")
    stable_after: int = option(0, "stable: iterations at η = lr before η = flow_c/λ_1; newton: before the Newton steps")
    stable_every: int = option(100, "stable: λ_1 re-measured every this many iterations")
    max_steps: int | None = option(10_000, "iteration limit")
    max_t: float | None = option(None, "stop when t = Σ η ≥ this (Lowell: 40)")
    target_loss: float | None = option(None, "stop when the loss L < this (Lowell: 0.1)")
    target_accuracy: float | None = option(None, "stop when training accuracy ≥ this (checked at "
                                           "telemetry points)")
    grad_tol: float | None = option(None, "stop when ‖g‖ ≤ this (Sagun: 1e-4)")
    max_seconds: float | None = option(None, "stop after this many seconds of wall time")
    telemetry_every: int | None = option(None, "telemetry every N iterations (default: "
                                         "round(1/η); in the toy regime max(round(1/η), "
                                         "max_steps // 40), see cadence(); 0: at start and end "
                                         "only)")
    entry_every: int = option(0, "extra telemetry every N iterations before --entry-until "
                              "(entry capture: 10; 0: none)")
    entry_until: int = option(0, "the iteration where --entry-every's extra telemetry ends "
                              "(entry capture: 2000)")
    k: int = option(20, "eigenpairs measured per telemetry point (the top k)")
    eig_method: str = option("lanczos", "eigensolver of the top k: lanczos (Hessian-vector "
                             "products), power (power iteration) or dense (the exact H at every "
                             "point); each regime offers those in its choices",
                             ("lanczos", "power", "dense"))
    eig_tol: float = option(1e-4, "eigensolver residual tolerance (relative)")
    eps: float = option(1e-3, "near-zero threshold: |λ| ≤ eps·λ_max counts as zero")
    snapshot_every: int = option(0, "save θ every N iterations (0: never; gradient flow: 100)")
    checkpoint_every: int | None = option(0, "save resumable state every N iterations (none: at "
                                          "every telemetry point; 0: never)")

    def validate(self) -> "TrainConfig":
        """Every numeric field finite and in range (a UsageError naming the flag); no side effects."""
        require("lr", self.lr, positive=True)
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        require("flow_c", self.flow_c, positive=True)
        for name in ("max_steps", "telemetry_every", "checkpoint_every"):
            require(name, getattr(self, name), integer=True, nonneg=True, optional=True)
        require("stable_every", self.stable_every, integer=True, positive=True)
        for name in ("entry_every", "entry_until", "snapshot_every", "stable_after"):
            require(name, getattr(self, name), integer=True, nonneg=True)
        for name in ("max_t", "max_seconds"):
            require(name, getattr(self, name), positive=True, optional=True)
        require("target_loss", self.target_loss, optional=True)
        require("grad_tol", self.grad_tol, nonneg=True, optional=True)
        require("target_accuracy", self.target_accuracy, positive=True, hi=1, optional=True)
        require("eig_tol", self.eig_tol, positive=True)
        require("eps", self.eps, positive=True, hi=1)
        require("k", self.k, integer=True, positive=True)
        return self

    def cadence(self) -> int:
        """Iterations between telemetry points: telemetry_every, else round(1/η) (at least 1)."""
        if self.telemetry_every is not None:
            return self.telemetry_every
        return max(1, round(1.0 / self.lr))

    def checkpoints(self) -> int:
        """Iterations between checkpoints: checkpoint_every, else (None) :meth:`cadence`."""
        return self.cadence() if self.checkpoint_every is None else self.checkpoint_every


@dataclass(frozen=True)
class Probe:
    """An extra measurement: at steps with ``step % every == 0`` (and at the final θ) a telemetry
    point is taken and ``fn(theta, step, landscape) -> dict`` is merged into it."""

    every: int
    fn: Callable[[torch.Tensor, int, Any], dict]

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0


@dataclass
class TrainResult:
    theta: torch.Tensor
    step: int
    t: float
    loss: float
    grad_norm: float
    stop_reason: str
    message: str
    n_points: int
    wall_time: float
    history: dict = field(default_factory=dict)
    theta_finite: torch.Tensor | None = None  # the last θ with a finite loss (None: none)
    step_finite: int | None = None
    dead_reason: str | None = None
    total_hvps: int = 0                       # every operator product the trainer took
    resumed_seconds: float = 0.0              # wall time of the interrupted run(s) it resumed
    resumed_cpu_seconds: float | None = 0.0   # ... their CPU time (None: a checkpoint that predates it)
    train_seconds: float = 0.0                # the loop without telemetry
    telemetry_seconds: float = 0.0            # telemetry points and probes
    grads_per_hvp: float | None = None        # measured cost of one HVP in gradients
    step_rule_hvps: int = 0                   # the step rule's eigensolves (part of total_hvps)
    step_rule_seconds: float = 0.0            # ... and their seconds (part of telemetry_seconds)


def validity(result: TrainResult, cfg: TrainConfig) -> dict:
    """``stop_reason``, ``valid`` and ``invalid_reason`` of a run, as the summary stores them.

    Not a measurement: a run that diverged, died (no live units), met its stop rule at
    initialisation, or stopped within its first 1/η iterations. That last rule is for the
    schedules whose ``lr`` is the step (:data:`CONSTANT_ETA`): under ``flow`` and ``expeuler`` η
    varies and ``lr`` is only its cap, and the flow claims carry their own scope (L8: the peak
    precedes the end by ≥ 10 %)."""
    reason = None
    n = result.step
    if result.stop_reason == "diverged":
        reason = f"diverged at step {n} (loss={result.loss}, |g|={result.grad_norm})"
    elif result.stop_reason == "dead":
        reason = result.dead_reason or f"no live units at step {n}"
    elif n == 0:
        reason = f"stop rule met at initialisation ({result.stop_reason})"
    elif cfg.schedule in CONSTANT_ETA and n < max(1, round(1.0 / cfg.lr)):
        reason = f"stopped within its first 1/η iterations (step {n} < {max(1, round(1.0 / cfg.lr))})"
    return {"stop_reason": result.stop_reason, "valid": reason is None, "invalid_reason": reason}


def run_summary(result: TrainResult, cfg: TrainConfig, landscape) -> dict:
    """The summary fields every run writes: validity and cost."""
    return {**validity(result, cfg), "train_seconds": result.train_seconds,
            "telemetry_seconds": result.telemetry_seconds, "total_hvps": result.total_hvps,
            "step_rule_seconds": result.step_rule_seconds, "step_rule_hvps": result.step_rule_hvps,
            "grads_per_hvp": result.grads_per_hvp, **landscape_cost(landscape)}


def flow_peak(history: dict) -> dict:
    """``{"peak_lambda_1", "peak_step"}`` of a flow run's every-iteration λ_1 history (the
    largest finite value and its iteration); empty when no λ_1 is finite."""
    lam = np.asarray(history.get("lambda_1", ()), dtype=float)
    if not (lam.size and np.isfinite(lam).any()):
        return {}
    i = int(np.nanargmax(lam))
    return {"peak_lambda_1": float(lam[i]), "peak_step": int(history["step"][i])}


def _to(x, landscape):
    return None if x is None else x.to(landscape.device, landscape.dtype)


# ------------------------------------------------------------------------------ dead nets


def dead_layer(landscape, theta: torch.Tensor) -> int | None:
    """The first ReLU layer (0-based, in module order) with no unit ever positive on the training
    set, or None. Such a net is a constant function of its input and GD cannot revive it."""
    relus = [m for m in landscape.model.modules() if isinstance(m, torch.nn.ReLU)]
    if not relus:
        return None
    live = [None] * len(relus)
    # the chunks first: a landscape may size them by running the model (hooks must not see it)
    chunks = list(landscape.chunks())

    def hook(i):
        def fn(module, inputs, out):
            dims = [d for d in range(out.dim()) if d != (1 if out.dim() > 1 else 0)]
            alive = (out > 0).any(dim=tuple(dims)) if dims else (out > 0)
            live[i] = alive.to(torch.float64) if live[i] is None else live[i] + alive
        return fn

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(relus)]
    try:
        with torch.no_grad():
            for xb, _ in chunks:
                landscape.outputs(theta, xb)
    finally:
        for h in handles:
            h.remove()
    for i, v in enumerate(live):
        if v is not None and float(all_reduce(v.sum().reshape(1))[0]) == 0:
            return i
    return None


def _dead_reason(landscape, theta, step: int, loss: float, gnorm: float, cfg: TrainConfig,
                 point: Point | None) -> str | None:
    above = cfg.target_loss is None or not loss < cfg.target_loss
    layer = dead_layer(landscape, theta)
    if layer is not None:
        return f"no live units (every ReLU of activation layer {layer + 1} is dead at step {step})"
    if above and gnorm == 0:
        return f"no live units (the gradient is exactly 0 at step {step}, loss {loss:.6g})"
    if above and point is not None and point.eigenvalues and not any(point.eigenvalues):
        return f"no live units (every measured eigenvalue is exactly 0 at step {step}, loss {loss:.6g})"
    return None


# ------------------------------------------------------------------------------ the loop


class _Clock:
    """Seconds and operator products, checkpointed with the state so that a resumed run counts
    what the interrupted one did. ``step_rule_*`` are the step rule's own eigensolves (a part of
    ``total_hvps`` and of ``telemetry_seconds``: curvature measured, not training)."""

    KEYS = ("total_hvps", "telemetry_seconds", "hvp_seconds", "n_hvps_timed", "grad_seconds",
            "n_grads", "step_rule_hvps", "step_rule_seconds")

    def __init__(self, counters: dict | None = None):
        self.c = {k: 0 for k in self.KEYS}
        self.c.update(counters or {})
        self.here = None  # (θ_n, its operator) when the iteration built one first (fused gradient)

    @staticmethod
    def timed(op):
        """``op`` wrapped to time its products (:class:`~simlab.operators.TimedOperator`); an
        explicit matrix's products are no HVPs and are not timed."""
        return op if isinstance(op, DenseOperator) else TimedOperator(op)

    def add(self, op) -> None:
        """Count ``op``'s products (and time those a :meth:`timed` wrapper took)."""
        self.c["total_hvps"] += op.n_matvecs
        if isinstance(op, TimedOperator):
            self.c["hvp_seconds"] += op.seconds
            self.c["n_hvps_timed"] += op.n_timed

    def solver(self, landscape):
        """The step rules' ``solve(θ, k, v0, tol, miss)``: the top-k eigenpairs of the Hessian
        at θ (Lanczos, warm-started from ``v0``; ``miss`` as in :func:`top_eigen`), counted and
        timed as the step rule's telemetry."""
        def solve(theta, k, v0, tol, miss=MISS_PROBABILITY):
            s = time.perf_counter()
            op = self.timed(self.operator_at(landscape, theta))
            e = top_eigen(op, k, tol=tol, v0=v0, with_residuals=False, miss=miss)
            self.add(op)
            self.c["step_rule_hvps"] += op.n_matvecs
            for key in ("telemetry_seconds", "step_rule_seconds"):
                self.c[key] += time.perf_counter() - s
            return e
        return solve

    def gradient(self, landscape, theta, fused: bool) -> tuple[float, torch.Tensor]:
        """(L(θ), ∇L(θ)). ``fused`` (the rule solves at θ_n): from θ_n's operator, built now and
        kept for the rule and the point (training time, not a plain gradient: one plain one is
        still timed first, as grads_per_hvp's unit); else a plain, timed gradient."""
        here = landscape.operator(theta) if fused else None
        if here is not None and hasattr(here, "loss_grad"):
            self.here = (theta, here)
            if not self.c["n_grads"]:
                self.gradient(landscape, theta, False)
            return here.loss_grad()
        s = time.perf_counter()
        out = landscape.loss_grad(theta)
        self.c["grad_seconds"] += time.perf_counter() - s
        self.c["n_grads"] += 1
        return out

    def operator_at(self, landscape, theta):
        """The Hessian operator at θ: the one this iteration built with its gradient, when θ is
        that iteration's, else a new one."""
        if self.here is not None and theta is self.here[0]:
            return self.here[1]
        return landscape.operator(theta)

    def grads_per_hvp(self) -> float | None:
        c = self.c
        if not (c["n_hvps_timed"] and c["n_grads"] and c["grad_seconds"] > 0):
            return None
        return (c["hvp_seconds"] / c["n_hvps_timed"]) / (c["grad_seconds"] / c["n_grads"])


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def progress_line(desc: str, step: int, max_steps: int | None, t: float, loss: float, gnorm: float,
                  lam1: tuple[float, int] | None, elapsed: float) -> str:
    """The plain progress line printed when the output is not a terminal."""
    of = f"/{max_steps}" if max_steps is not None else ""
    lam = f"  λ1 {lam1[0]:.4g} (step {lam1[1]})" if lam1 is not None else ""
    return (f"[{desc}] step {step}{of}  t {t:.4g}  loss {loss:.6g}  |g| {gnorm:.3g}{lam}  "
            f"elapsed {_hms(elapsed)}")


def train(landscape, cfg: TrainConfig, writer: RecordWriter | None = None, *,
          theta: torch.Tensor | None = None, operator_fn=None, probes: Sequence[Probe] = (),
          progress: bool = True, desc: str = "GD", resume: bool = False,
          on_point=None, checkpoint_seconds: float | None = None, rule: StepRule | None = None,
          telemetry: bool = True) -> TrainResult:
    """Run full-batch GD from ``theta`` (default: the landscape's θ_0) under ``cfg``.

    How θ moves is the step rule's (:mod:`simlab.steps`): ``rule`` (default: the one of
    ``cfg.schedule``, :func:`simlab.steps.for_config`) sizes the step η_n before the point at
    θ_n and moves θ after the stop rules; ``t`` advances by η_n.
    ``operator_fn(θ)`` gives the curvature operator of every telemetry point (default
    ``landscape.operator``; the toy regime passes a dense Hessian's operator with
    ``eig_method="dense"``, whose points then carry the full-spectrum statistics).
    ``probes`` add measurements (see :class:`Probe`). ``on_point(row, eig)`` is called after
    each point is written, with the line written (a dict, :func:`simlab.point.line`).
    ``telemetry=False`` takes no point at all (a replay or a continuation that needs only the
    history; probes are then never called).

    With a ``writer``, the resumable state is saved every ``cfg.checkpoints()`` iterations
    and also once ``checkpoint_seconds`` of wall time have passed since the last save (default
    :data:`CHECKPOINT_SECONDS`; ``math.inf``: by iterations only). Saving reads θ and the RNG
    state and changes neither: the record is the same whenever checkpoints are taken. With
    ``progress`` and an output that is not a terminal, a plain line (step, t, loss, ‖g‖, the
    last λ_1, elapsed) is printed every :data:`PROGRESS_SECONDS`.
    """
    check_landscape(landscape)
    if not isinstance(cfg, TrainConfig):
        raise UsageError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    cfg.validate()
    if checkpoint_seconds is None:
        checkpoint_seconds = CHECKPOINT_SECONDS
    if not (isinstance(checkpoint_seconds, (int, float)) and checkpoint_seconds >= 0):
        raise UsageError(f"checkpoint_seconds must be a number ≥ 0 (math.inf: by iterations only), "
                         f"got {checkpoint_seconds!r}")
    probes = tuple(probes)
    for p in probes:
        require("probe every", p.every, integer=True, positive=True)
    default_operator = operator_fn is None
    operator_fn = operator_fn or landscape.operator
    rule = rule if rule is not None else steps.for_config(cfg, landscape)
    if theta is not None:
        theta = check_vector("theta", theta, landscape.n_params, dtype=landscape.dtype,
                             device=landscape.device)
    theta = (landscape.theta0 if theta is None else theta).detach().clone()
    prev = None
    step, t, n_points, elapsed0, cpu0 = 0, 0.0, 0, 0.0, 0.0
    warm = None
    hist = {"step": [], "t": [], "loss": [], "grad_norm": [], "lr": [], "lambda_1": []}
    clock = _Clock()
    if resume and writer is not None:
        state = load_state(writer)
        if state is None:
            writer.restart()  # killed before its first checkpoint: start over cleanly
        else:
            theta, prev = _to(state["theta"], landscape), _to(state["theta_prev"], landscape)
            step, t, n_points, hist = state["step"], state["t"], state["n_points"], state["history"]
            warm, elapsed0, clock = _to(state["warm"], landscape), state["elapsed"], _Clock(state["counters"])
            cpu0 = state.get("cpu_elapsed")  # absent from checkpoints written before it was kept
            rule.load({k: _to(v, landscape) if isinstance(v, torch.Tensor) else v
                       for k, v in rule_state(state).items()})
            torch.set_rng_state(state["rng"])
            writer.truncate_telemetry(n_points)
            writer.clear_summary()
            if progress:
                print(f"[{desc}] resuming from the checkpoint at step {step} ({n_points} telemetry "
                      f"points, {_hms(elapsed0)} of wall time so far)", file=sys.stderr, flush=True)
    solve = clock.solver(landscape)
    every, ckpt = cfg.cadence(), cfg.checkpoints()
    start = time.perf_counter() - elapsed0
    cpu_start = time.process_time() - (cpu0 or 0.0)
    last_point_step = -1
    bar = tqdm(total=cfg.max_steps, initial=step, desc=desc, disable=not progress or None,
               leave=False, dynamic_ncols=True)
    # tqdm hides itself when stderr is not a terminal: then a plain line every PROGRESS_SECONDS
    lines = progress and bar.disable and not _is_terminal(sys.stderr)
    last_line = last_save = time.perf_counter()
    last_lam1: tuple[float, int] | None = None
    stop_reason, message, dead = "", "", None
    loss = gnorm = float("nan")
    last_fields = {}
    while True:
        crash_point(f"step:{step}")
        loss, g = clock.gradient(landscape, theta, getattr(rule, "solves_every_step", False))
        gnorm = float(torch.linalg.vector_norm(g))
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            stop_reason = "diverged"
            message = (f"training diverged at step {step} (loss={loss}, |g|={gnorm}); "
                       f"everything recorded up to here is kept; try a smaller learning rate")
            break
        lr, lam1 = rule.size(theta, g, step, solve)
        due_probes = [p for p in probes if p.due(step)]
        due = telemetry and ((every > 0 and step % every == 0) or step == 0 or bool(due_probes) or (
            cfg.entry_every > 0 and step < cfg.entry_until and step % cfg.entry_every == 0))
        stop_reason = _stop(cfg, step, t, loss, gnorm, time.perf_counter() - start)
        if telemetry and (due or stop_reason) and step != last_point_step:
            s = time.perf_counter()
            op = clock.timed(clock.operator_at(landscape, theta) if default_operator else operator_fn(theta))
            point, eig = measure(landscape, theta, lr=lr, operator=op, k=cfg.k, method=cfg.eig_method,
                                 tol=cfg.eig_tol, v0=warm, eps=cfg.eps, loss_grad=(loss, g), seed=step)
            clock.add(op)
            if hasattr(op, "release"):
                op.release()
            warm = eig.eigenvectors
            dead = _dead_reason(landscape, theta, step, loss, gnorm, cfg, point)
            if dead and stop_reason not in ("target_loss", "target_accuracy"):
                stop_reason = "dead"
            elif (not stop_reason and cfg.target_accuracy is not None
                  and point.accuracy >= cfg.target_accuracy):
                stop_reason = "target_accuracy"
            extra = {}
            for p in (probes if stop_reason else due_probes):
                extra.update(p.fn(theta, step, landscape))
            clock.c["telemetry_seconds"] += time.perf_counter() - s
            row = line(Stamp(step=step, t=t, lr=lr, wall_time=time.perf_counter() - start),
                       point, extra)
            crash_point(f"telemetry:{step}")
            if writer is not None:
                writer.append(row)
            n_points += 1
            last_point_step = step
            lam, nt = point.eigenvalues, point.n_top
            if lam:
                last_lam1 = (float(lam[0]), step)
            last_fields = {"λ1": f"{lam[0]:.3g}",
                           f"ρ{nt}": f"{point.rho[nt - 1]:.3f}" if len(lam) >= nt else "-"}
            if on_point is not None:
                on_point(row, eig)
        for key, val in zip(hist, (step, t, loss, gnorm, lr, lam1)):
            hist[key].append(val)
        if math.isfinite(lam1):
            last_lam1 = (lam1, step)
        if stop_reason:
            message = (f"the net died at step {step}: {dead}" if stop_reason == "dead"
                       else _message(stop_reason, step, t, loss, gnorm))
            break
        if cfg.snapshot_every and step % cfg.snapshot_every == 0 and writer is not None:
            save_tensor_file(writer.path / "snapshots" / f"step_{step:07d}.pt", theta.detach().cpu())
        prev = theta
        theta = rule.move(theta, g, step, lr, solve)
        clock.here = None  # θ_n's graph is dropped before θ_{n+1}'s is built
        step += 1
        t += lr
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}", **last_fields, refresh=False)
        now = time.perf_counter()
        if lines and now - last_line >= PROGRESS_SECONDS:
            print(progress_line(desc, step, cfg.max_steps, t, loss, gnorm, last_lam1, now - start),
                  file=sys.stderr, flush=True)
            last_line = now
        if writer is None:
            continue
        by_steps = bool(ckpt) and step % ckpt == 0
        if by_steps or any_rank(now - last_save >= checkpoint_seconds, landscape.device):
            last_save = now
            save_state(writer, {
                "format": STATE_FORMAT, "theta": theta.cpu(),
                "theta_prev": None if prev is None else prev.cpu(), "step": step, "t": t,
                "n_points": n_points, "history": hist,
                "warm": None if warm is None else warm.cpu(), "rule": rule.state(),
                "elapsed": time.perf_counter() - start, "counters": dict(clock.c),
                "cpu_elapsed": None if cpu0 is None else time.process_time() - cpu_start,
                "rng": torch.get_rng_state()})
    bar.close()
    clock.here = None
    history = {k: np.asarray(v, dtype=np.float64) for k, v in hist.items()}
    if writer is not None:
        writer.save_arrays({f"history_{k}": v for k, v in history.items()})
        writer.save_weights(theta)
    finite = prev if stop_reason == "diverged" else theta
    wall = time.perf_counter() - start
    return TrainResult(theta, step, t, loss, gnorm, stop_reason, message, n_points, wall, history,
                       resumed_seconds=elapsed0, resumed_cpu_seconds=cpu0,
                       theta_finite=finite, step_finite=None if finite is None else
                       (step - 1 if stop_reason == "diverged" else step),
                       dead_reason=dead if stop_reason == "dead" else None,
                       total_hvps=int(clock.c["total_hvps"]),
                       train_seconds=wall - clock.c["telemetry_seconds"],
                       telemetry_seconds=clock.c["telemetry_seconds"],
                       grads_per_hvp=clock.grads_per_hvp(),
                       step_rule_hvps=int(clock.c["step_rule_hvps"]),
                       step_rule_seconds=clock.c["step_rule_seconds"])


def _stop(cfg: TrainConfig, step: int, t: float, loss: float, gnorm: float, seconds: float) -> str:
    if cfg.target_loss is not None and loss < cfg.target_loss:
        return "target_loss"
    if gnorm == 0:
        return "dead"  # GD can never move again; the point taken here says why
    if cfg.grad_tol is not None and gnorm <= cfg.grad_tol:
        return "grad_tol"
    if cfg.max_steps is not None and step >= cfg.max_steps:
        return "max_steps"
    if cfg.max_t is not None and t >= cfg.max_t:
        return "max_t"
    if cfg.max_seconds is not None and seconds >= cfg.max_seconds:
        return "max_seconds"
    return ""


def _message(reason: str, step: int, t: float, loss: float, gnorm: float) -> str:
    what = {"target_loss": "reached the target loss", "target_accuracy": "reached the target accuracy",
            "grad_tol": "reached the gradient tolerance", "max_steps": "reached the iteration limit",
            "max_t": "reached the time limit t = Σ η", "max_seconds": "reached the wall-time limit"}[reason]
    return f"{what} at step {step} (t={t:.4g}, loss={loss:.6g}, |g|={gnorm:.3g})"
