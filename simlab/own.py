"""Your own model, trained into a complete record that every claim reads: :func:`run`.

``run(model, X, y, out=DIR, lr=η, ...)`` is full-batch gradient descent on the user's
``nn.Module`` and data (:func:`simlab.trainer.train`, the same loop and telemetry as every simlab
run: top-k eigenpairs of H, ρ_i = ηλ_i/2, d_i, ‖P_top g‖, ‖P_bulk g‖, ΔL_top, ΔL_bulk at every
telemetry point) and writes the record ``DIR``:

    config.json      the train config (every :class:`~simlab.trainer.TrainConfig` field) with
                     the data and loss description (``n_data``, ``n_classes``, ``input_shape``,
                     ``loss``, ``dtype``, the model's class and parameter count, ``seed``), and
                     at the top level ``regime`` and ``experiment`` (both :data:`OWN`), ``data``,
                     ``loss`` (name, reduction, formula) and ``protocol`` (what the run is)
    telemetry.jsonl  the trainer's points
    arrays.npz       the per-iteration history (step, t, loss, ‖g‖, η)
    weights.pt       the final flat θ
    summary.json     :func:`simlab.trainer.run_summary` (validity, stop reason, cost) with the
                     headline numbers (final loss, accuracy, ‖g‖, ‖θ‖, λ_max, max ρ_1)

The claims (``python -m simlab claims DIR`` or :func:`simlab.claims.evaluate`) read it as a single
run of Lowell's measurement protocol: experiment :data:`OWN` is one of the single runs the edge
claims judge (L1, L6, L7 and the per-run edge line), so the run is never silently ignored; the
claims that need a sweep or another protocol say ``not applicable`` with their reason. A setting
(CLAIMS.md rule 2) is the config less the seed and bookkeeping: runs of the same model and data
that differ only by ``seed`` are seeds of one setting (3 are needed to decide one; ``--threshold
min_seeds=1`` judges a single run).

The caller's model is left as it was: :class:`~simlab.landscape.Landscape` works on a copy (in
``dtype``, eval mode), and the trained weights are in the record (``torch.nn.utils.vector_to_parameters(record.weights(),
model.parameters())`` loads them). This module imports nothing from the regimes.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from simlab.errors import UsageError, require
from simlab.landscape import MEMORY_BUDGET_MB, Landscape
from simlab.record import Record, RecordWriter, prepare_out
from simlab.runcost import cost_line, cpu_since
from simlab.trainer import TrainConfig, run_summary, train

# the experiment (and regime) name of a user's own run: the claims judge it as a single run
OWN = "own"
LOSS_FORMULAS = {
    "ce": "L(θ) = (1/n_D) Σ_x −log softmax(f_θ(x))_y  (cross-entropy, mean over examples)",
    "mse": "L(θ) = (1/(n_D·n_c)) Σ_x ‖f_θ(x) − onehot(y)‖²  (torch's mse_loss mean reduction)",
}
PROTOCOL = ("full-batch gradient descent on the user's model and data (simlab.run), telemetry "
            "as in Lowell 2022: top-k eigenpairs of the Hessian of the whole-set loss, "
            "ρ_i = ηλ_i/2, ‖P_top g‖, ‖P_bulk g‖, ΔL_top, ΔL_bulk")
_TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
_DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64"}


def describe_data(land, X, name: str) -> dict:
    """The record's ``data``: name, n_data, n_classes, input_shape (one example's; input_dim its
    product), source (tensors or a DataLoader)."""
    shape = [int(s) for s in land.X.shape[1:]]
    source = ("a DataLoader passed to simlab (the user's own data, read once)"
              if isinstance(X, torch.utils.data.DataLoader) else
              "tensors passed to simlab (the user's own data)")
    return {"name": name, "n_data": int(land.n_data), "n_classes": int(land.n_classes),
            "input_shape": shape, "input_dim": int(np.prod(shape)) if shape else 1,
            "source": source}


def describe_loss(land) -> dict:
    """The record's ``loss``: name ("ce", "mse" or "callable"), the criterion and its reduction,
    and the formula of L(θ)."""
    name = str(land.loss_name)
    what = getattr(land, "loss_description", name)
    formula = LOSS_FORMULAS.get(name, f"L(θ) = (1/n_D) Σ_x ℓ(f_θ(x), y) with ℓ from {what}")
    return {"name": name, "criterion": what, "reduction": getattr(land, "reduction", "mean"),
            "formula": formula}


def dtype_name(dtype) -> str:
    return _DTYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))


def train_config(config: TrainConfig | None, lr: float | None, fields: dict) -> TrainConfig:
    """``config`` (default :class:`TrainConfig`) with ``lr`` and ``fields`` replaced, validated;
    an unknown field is a UsageError naming the valid ones."""
    if config is not None and not isinstance(config, TrainConfig):
        raise UsageError(f"config must be a simlab.TrainConfig, got {type(config).__name__}")
    bad = sorted(set(fields) - set(_TRAIN_FIELDS))
    if bad:
        raise UsageError(f"unknown training setting(s) {', '.join(bad)}; simlab.run takes the "
                         f"fields of TrainConfig: {', '.join(_TRAIN_FIELDS)}")
    if config is None and lr is None:
        raise UsageError("lr is required (the learning rate η of gradient descent), or pass "
                         "config=TrainConfig(lr=...)")
    cfg = config or TrainConfig()
    if lr is not None:
        fields = {**fields, "lr": lr}
    return dataclasses.replace(cfg, **fields).validate()


def run(model: torch.nn.Module, X, y=None, *, out: str | Path, lr: float | None = None,
        config: TrainConfig | None = None, loss="ce", reduction: str | None = None,
        n_classes: int | None = None,
        dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
        data_name: str = "own", seed: int | None = None, chunk_size: int | None = None,
        memory_budget_mb: float | None = MEMORY_BUDGET_MB, progress: bool = True,
        overwrite: bool = False, **settings) -> Record:
    """Train ``model`` on (X, y) (tensors, or X a DataLoader and y left out) by full-batch GD with
    simlab's telemetry; write the record ``out``; return it (a :class:`~simlab.record.Record`: ``.summary``, ``.telemetry``,
    ``.weights()``).

    ``lr`` and ``settings`` (any :class:`TrainConfig` field: ``max_steps``, ``max_t``,
    ``target_loss``, ``telemetry_every``, ``k``, ``schedule``, …) replace the fields of
    ``config`` (default ``TrainConfig()``). Lowell's protocol is ``target_loss=0.1, max_t=40``
    with telemetry every ≤ 1/(5η) iterations through the edge phase; a run capped earlier is
    *truncated* and the edge claims say so. ``seed`` is recorded (the model's initialisation is
    the caller's): runs differing only by it are seeds of one setting. ``out`` must not hold a run
    unless ``overwrite``. ``loss`` is "ce", "mse" or a criterion callable with ``reduction``
    (as :class:`~simlab.landscape.Landscape`). The caller's model is not modified (a copy is
    trained)."""
    cfg = train_config(config, lr, settings)
    if seed is not None:
        require("seed", seed, integer=True, nonneg=True, arg=True)
    if not isinstance(data_name, str) or not data_name:
        raise UsageError(f"data_name must be a non-empty string, got {data_name!r}")
    t0, c0 = time.perf_counter(), time.process_time()
    out = prepare_out(out, overwrite=overwrite)
    land = Landscape(model, X, y, loss=loss, reduction=reduction, n_classes=n_classes, dtype=dtype,
                     device=device, chunk_size=chunk_size, memory_budget_mb=memory_budget_mb)
    data = describe_data(land, X, data_name)
    config_doc = {**dataclasses.asdict(cfg), "loss": land.loss_name, "dtype": dtype_name(dtype),
                  "dataset": data_name, "n_data": data["n_data"], "n_classes": data["n_classes"],
                  "input_shape": data["input_shape"], "model": type(model).__name__,
                  "n_params": int(land.n_params), "seed": seed, "device": str(land.device)}
    writer = RecordWriter(out, config_doc, device=str(land.device), meta={
        "regime": OWN, "experiment": OWN, "source": "simlab.run", "protocol": PROTOCOL,
        "data": data, "loss": describe_loss(land)})
    result = train(land, cfg, writer, progress=progress, desc=f"{OWN} {type(model).__name__} η={cfg.lr:g}")
    points = Record.load(out, drop_truncated=True).telemetry
    rho1 = [p["rho"][0] for p in points if p.get("rho")]
    last = points[-1] if points else {}
    theta = result.theta_finite
    summary = {
        "regime": OWN, "experiment": OWN, "dataset": data_name, "loss": land.loss_name,
        "lr": cfg.lr, "schedule": cfg.schedule, "n_data": data["n_data"],
        "n_classes": data["n_classes"], "n_params": int(land.n_params), "seed": seed,
        "steps": result.step, "t": result.t, "message": result.message,
        **run_summary(result, cfg, land),
        "initial_loss": land.loss(land.theta0),
        "final_loss": result.loss, "final_grad_norm": result.grad_norm,
        "final_accuracy": land.accuracy(theta) if theta is not None else None,
        "theta0_norm": float(torch.linalg.vector_norm(land.theta0)),
        "theta_norm": float(torch.linalg.vector_norm(theta)) if theta is not None else None,
        "lambda_max": (last.get("eigenvalues") or [None])[0],
        "max_rho_1": max(rho1) if rho1 else None, "n_telemetry": result.n_points,
        "dtype": dtype_name(dtype), "wall_time": time.perf_counter() - t0,
        "cpu_seconds": cpu_since(c0, result.resumed_cpu_seconds),
    }
    writer.write_summary(summary)
    if progress:
        print(f"[{OWN}] {out}: {result.message}; {cost_line(summary)}", file=sys.stderr, flush=True)
    return Record.load(out)
