"""One toy-regime run: train a small MLP by full-batch GD and measure its exact Hessian.

    data (simlab.data) → MLP (toy.models) → Landscape (float64) → GD (simlab.trainer)
    → exact dense spectra at θ_0, every ``dense_every`` iterations and at the end → record

Every toy run is a :class:`ToyConfig` run through :func:`run`: Sagun's experiments (telemetry
points carry every eigenvalue's statistics, the dense Hessian being computed at each point) and
Lowell's protocol on the edge of stability (:mod:`simlab.toy.lowell` names its settings: cifar8
z-scored per feature, top-k by Lanczos on the exact operator, dense spectra every
``dense_every`` iterations, the ``loss_fraction`` stop, gradient flow's cusp slice) alike.
A run is a function of its config (seed included); the record stores the config.
Checkpoints every telemetry interval let ``resume=True`` finish an interrupted run into the same
record; a folder that already holds a run needs ``resume`` or ``overwrite``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from simlab import gauss_newton
from simlab.options import EXPERIMENT_HELP, option, retune
from simlab.cusp import cusp_at, theta_at_step, theta_by_rerun
from simlab.errors import UsageError, check_device, check_seed, require
from simlab.landscape import Landscape
from simlab.operators import DenseOperator
from simlab.record import (SUMMARY, Record, RecordWriter, check_same_config, prepare_out,
                           read_json_object, record_state)
from simlab.spectrum import full_spectrum, spectrum_stats
from simlab import data as toy_data
from simlab.toy.models import build_mlp, count_params
from simlab.checkpoint import resume_note
from simlab.runcost import cpu_since
from simlab.trainer import Probe, TrainConfig, flow_peak, run_summary, train

DTYPES = {"float64": torch.float64, "float32": torch.float32}
# the largest Hessian the toy regime builds densely (n² float64 entries, n³ eigh)
MAX_DENSE_PARAMS = 20_000
MAX_THREADS = 4096
MAX_EXAMPLES = 10_000_000  # the toy regime holds its whole data set in memory, in float64


@dataclass(frozen=True)
class ToyConfig(TrainConfig):
    """One toy run. The optimiser and telemetry fields are :class:`TrainConfig`'s (inherited,
    not copied, as :class:`~simlab.scale.config.ScaleConfig` takes them: a new TrainConfig field
    is a ToyConfig field and a flag); the five below state only the toy's defaults
    (:func:`~simlab.options.retune`: TrainConfig's documentation, one meaning per name), and
    :meth:`train_config` hands the trainer its part. Each field's ``option(default, help,
    choices)`` is its documentation and the help of its flag (``python -m simlab toy --help``)."""

    # TrainConfig's fields with the toy's defaults: η = 0.1, 4000 iterations, Sagun's
    # ‖g‖ ≤ 1e-4, the exact H at every point, a checkpoint at every telemetry point (θ is tiny
    # and resume exact); the toy's cadence is :meth:`ToyConfig.cadence`
    lr: float = retune(TrainConfig, "lr", 0.1)
    max_steps: int = retune(TrainConfig, "max_steps", 4_000)
    grad_tol: float | None = retune(TrainConfig, "grad_tol", 1e-4)
    eig_method: str = retune(TrainConfig, "eig_method", "dense", choices=("dense", "lanczos"))
    checkpoint_every: int | None = retune(TrainConfig, "checkpoint_every", None)
    # data
    dataset: str = option("blobs", "blobs (two 2-D Gaussians), random (random inputs and labels), "
                          "digits (scikit-learn 8x8), mnist, cifar8 (CIFAR-10 average-pooled to "
                          "8x8x3)", toy_data.DATASETS)
    n_data: int | None = option(None, "examples drawn, balanced over the kept classes (default: "
                                "1000; every one of the 1797 digits)")
    std: float = option(1.0, "blob standard deviation (Sagun §3; blobs only)")
    data_root: str | None = option(None, "mnist: a folder with MNIST/raw or mnist_subset.npz; "
                                   "cifar8: a folder with cifar-10-batches-py/ or cifar10_subset.npz; "
                                   "or the .npz itself (default $SIMLAB_DATA or ~/.cache/simlab)")
    download: bool = option(False, "mnist/cifar8: let torchvision download the data into --data-root")
    classes: int | tuple[int, ...] | None = option(
        None, "keep classes: a count n_c (labels 0..n_c-1) or labels like 0,3,7 (each once; "
        "--classes=-1,2 for a list that starts with a minus)")
    input_dim: int = option(784, "input dimension of --dataset random")
    standardise: bool = option(False, "z-score every input feature over the drawn set")
    # model
    hidden: int = option(10, "width h of every hidden layer")
    depth: int | None = option(None, "hidden layers (default: 2, Sagun's blob net; 1 for mnist)")
    activation: str = option("relu", "hidden-layer activation", ("relu", "tanh"))
    loss: str = option("ce", "ce: softmax cross-entropy (NLL); mse: squared error on one-hot "
                       "targets", ("ce", "mse"))
    # the toy's own stop rule and measurements
    loss_fraction: float | None = option(None, "stop when L < this · L(θ_0) (MSE: L(θ_0) ≈ 1/n_c)")
    dense_every: int = option(0, "the full dense spectrum also every N iterations, in arrays.npz and "
                              "summary[\"dense_spectra\"] (0: at θ_0 and the end only)")
    full_spectra: bool = option(True, "every eigenvalue of the dense Hessian at θ_0 and at the end "
                                "(and every --dense-every); --no-full-spectra when the run needs "
                                "only the top-k telemetry (Sagun's claims then have no spectrum)")
    eigenvalues_only: bool = option(False, "dense spectra by eigvalsh, H not kept (else H at θ_0 "
                                    "and at the end go in arrays.npz, n² floats each)")
    ggn_every: int = option(0, "λ_1 of the Hessian and of its Gauss–Newton part G, whole and per "
                            "layer, exactly (dense) every N iterations, in the telemetry "
                            "(Lowell & Kastner 2024, claim K2; 0: never)")
    # reproducibility and numerics
    seed: int = option(0, "model initialisation and data draw")
    data_seed: int | None = option(None, "data draw (default: --seed)")
    device: str = option("cpu", "cpu or cuda[:i]")
    dtype: str = option("float64", "floating-point type of the net and its Hessian", tuple(DTYPES))
    chunk_size: int | None = option(None, "examples per forward pass (memory; default: all)")
    threads: int = option(1, "torch CPU threads (0: torch's default); toy tensors are too small "
                          "to share")
    experiment: str = option("toy", EXPERIMENT_HELP)
    # gradient flow (schedule="flow"): Lowell's cusp slice at the peak of λ_1 (L9)
    cusp_radius: float = option(0.003, "flow: the cusp slice's Δ ∈ [−r, r] along h_1 (Lowell)")
    cusp_points: int = option(41, "flow: cusp slice points (odd and ≥ 3, so Δ = 0 is one; 0: no slice)")

    def widths(self) -> tuple[int, ...]:
        depth = self.depth if self.depth is not None else (1 if self.dataset == "mnist" else 2)
        return (self.hidden,) * depth

    def data_config(self) -> toy_data.DataConfig:
        n = self.n_data
        if n is None:
            n = None if self.dataset == "digits" else 1000
        classes = tuple(self.classes) if isinstance(self.classes, list) else self.classes
        return toy_data.DataConfig(dataset=self.dataset, n_data=n, std=self.std,
                                   data_root=self.data_root, classes=classes,
                                   seed=self.seed if self.data_seed is None else self.data_seed,
                                   download=self.download, input_dim=self.input_dim,
                                   standardise=self.standardise)

    def cadence(self) -> int:
        """Iterations between telemetry points: ``telemetry_every``, else (None) the toy's
        default max(round(1/η), max_steps // 40, 1) — at most about 40 points per run, where
        :meth:`TrainConfig.cadence` takes round(1/η) whatever the length (every point here is a
        dense eigendecomposition)."""
        if self.telemetry_every is not None:
            return self.telemetry_every
        return max(round(1 / self.lr), self.max_steps // 40, 1)

    def train_config(self, loss0: float | None = None) -> TrainConfig:
        """The trainer's config: every TrainConfig field this config has, by name, with the three
        the toy derives resolved — ``telemetry_every`` (:meth:`cadence`), ``checkpoint_every``
        (None: at every telemetry point; θ is tiny and resume exact), ``snapshot_every`` (the
        dense spectra are taken at θ snapshots: every ``snapshot_every``, or every
        ``dense_every``) — and ``target_loss``: ``loss0`` = L(θ_0) turns ``loss_fraction`` into
        a target loss (the larger of the two targets when both are set)."""
        every = self.cadence()
        target = self.target_loss
        if self.loss_fraction is not None and loss0 is not None:
            frac = self.loss_fraction * loss0
            target = frac if target is None else max(target, frac)
        shared = {f.name: getattr(self, f.name) for f in fields(TrainConfig)}
        return TrainConfig(**{**shared, "telemetry_every": every,
                              "checkpoint_every": every if self.checkpoint_every is None
                              else self.checkpoint_every,
                              "target_loss": target,
                              "snapshot_every": self.snapshot_every or self.dense_every})

    def validate(self) -> "ToyConfig":
        """Every field checked before any work, in this one place (a UsageError naming the flag):
        the toy's fields here, the trainer's by :meth:`TrainConfig.validate` on
        :meth:`train_config`. The net's size needs the data's class count: :func:`build` checks
        the net it builds, ``python -m simlab toy`` the sizes before it plans a run."""
        require("hidden", self.hidden, integer=True, positive=True, hi=MAX_DENSE_PARAMS)
        require("depth", self.depth, integer=True, positive=True, hi=100, optional=True)
        require("n_data", self.n_data, integer=True, positive=True, hi=MAX_EXAMPLES, optional=True)
        require("input_dim", self.input_dim, integer=True, positive=True, hi=MAX_DENSE_PARAMS)
        require("std", self.std, positive=True)
        require("chunk_size", self.chunk_size, integer=True, positive=True, optional=True)
        require("threads", self.threads, integer=True, lo=0, hi=MAX_THREADS)
        check_seed(self.seed)
        if self.data_seed is not None:
            check_seed(self.data_seed, "data_seed")
        check_device(self.device)
        if self.dataset not in toy_data.DATASETS:
            raise UsageError(f"unknown dataset {self.dataset!r}; choose one of "
                             f"{', '.join(toy_data.DATASETS)}")
        if not self.lr > 0:  # here, not only in TrainConfig.validate: cadence() divides by η
            raise UsageError(f"--lr must be positive, got {self.lr}")
        if self.eig_method not in ("dense", "lanczos"):
            raise UsageError(f"--eig-method must be dense or lanczos, got {self.eig_method!r}")
        if self.dense_every < 0:
            raise UsageError(f"--dense-every must be ≥ 0, got {self.dense_every}")
        require("ggn_every", self.ggn_every, integer=True, nonneg=True)
        if self.dense_every and not self.full_spectra:
            raise UsageError(f"--dense-every {self.dense_every} asks for full spectra during the run: "
                             "drop --no-full-spectra, or --dense-every 0")
        if self.dense_every and self.snapshot_every and self.dense_every % self.snapshot_every:
            raise UsageError(f"--dense-every {self.dense_every} takes its spectra at θ snapshots: "
                             f"make it a multiple of --snapshot-every {self.snapshot_every}")
        require("loss_fraction", self.loss_fraction, positive=True, optional=True)
        require("cusp_radius", self.cusp_radius, positive=True)
        require("cusp_points", self.cusp_points, integer=True, nonneg=True, hi=100_001)
        if self.cusp_points and (self.cusp_points < 3 or self.cusp_points % 2 == 0):
            raise UsageError(f"--cusp-points must be 0 (no slice) or odd and ≥ 3 (Δ = 0 and a point "
                             f"on each side), got {self.cusp_points}")
        self.train_config().validate()
        if self.dtype not in DTYPES:
            raise UsageError(f"unknown dtype {self.dtype!r}; choose float64 or float32")
        return self


def build(cfg: ToyConfig):
    """Data, model and landscape for a config: ``(landscape, info)``."""
    cfg.validate()
    if cfg.threads > 0:
        # intra-op threading only adds synchronisation on tensors this small (measured here:
        # 0.7 ms per gradient on one thread, many times more on two with other work running)
        torch.set_num_threads(cfg.threads)
    X, y, info = toy_data.load(cfg.data_config())
    n_classes = info["n_classes"]
    model = build_mlp(X.shape[1], cfg.widths(), n_classes, activation=cfg.activation, seed=cfg.seed)
    n = count_params(model)
    if n > MAX_DENSE_PARAMS:
        raise UsageError(f"the net has {n} parameters; the exact Hessian is built for at most "
                         f"{MAX_DENSE_PARAMS} — use a smaller --hidden or the scale regime")
    land = Landscape(model, X, y, loss=cfg.loss, n_classes=n_classes, chunk_size=cfg.chunk_size,
                     dtype=DTYPES[cfg.dtype], device=cfg.device)
    return land, info


def rebuild(config: dict):
    """(landscape, η, schedule) of a record's config (``config.json``'s ``config``): how a
    continuation (:func:`simlab.continuation.run`) rebuilds a toy source run."""
    names = ToyConfig.__dataclass_fields__
    cfg = ToyConfig(**{k: (tuple(v) if isinstance(v, list) else v)
                       for k, v in config.items() if k in names})
    land, _ = build(cfg)
    return land, cfg.lr, cfg.schedule


def layer_boundaries(model) -> list[int]:
    """Flat-θ indices where each parameter tensor starts (for the heat map's block lines)."""
    out, i = [], 0
    for p in model.parameters():
        out.append(i)
        i += p.numel()
    return out[1:]


def run_spec(spec, out: Path, *, progress: bool = True, resume: bool = False,
             overwrite: bool = False, figures: bool = False, sources=()) -> dict:
    """The toy runner of :func:`simlab.runspec.run_spec` (``toy`` runs): :func:`run` of the
    spec's :class:`ToyConfig`; returns the summary."""
    return run(spec.config, out, progress=progress, figures=figures, resume=resume,
               overwrite=overwrite)


def run(cfg: ToyConfig, out: Path | str, *, progress: bool = True, figures: bool = True,
        resume: bool = False, overwrite: bool = False) -> dict:
    """Train, measure, and write the record (and figures) into ``out``; returns the summary.

    ``out`` holding a run needs ``resume`` (finish it from its last checkpoint: the same record
    as an uninterrupted run) or ``overwrite`` (its record files are replaced)."""
    t0, c0 = time.perf_counter(), time.process_time()
    cfg.validate()
    state = record_state(out) if resume else None
    out = prepare_out(out, resume=resume, overwrite=overwrite)
    if resume:
        check_same_config(out, cfg)
    note = resume_note(out, state) if resume else None
    if note:
        print(f"[{out.name}] {note}", file=sys.stderr, flush=True)
    if state == "complete":  # nothing to resume: the record is left exactly as it is
        return read_json_object(out / SUMMARY)
    land, info = build(cfg)
    writer = RecordWriter(out, cfg, meta={"regime": "toy", "experiment": cfg.experiment,
                                          "data": info}, device=cfg.device, resume=resume)
    hess = land.hessian
    loss0 = land.loss(land.theta0)
    tcfg = cfg.train_config(loss0)
    dense = cfg.eig_method == "dense"
    probes = [Probe(cfg.ggn_every, gauss_newton.probe("dense"))] if cfg.ggn_every else []
    result = train(land, tcfg, writer, operator_fn=(lambda th: DenseOperator(hess(th))) if dense else None,
                   probes=probes, progress=progress, desc=f"toy {cfg.experiment} {cfg.dataset} h={cfg.hidden} η={cfg.lr:g}",
                   resume=resume)
    train_s = time.perf_counter() - t0
    n_c = info["n_classes"]
    t1 = time.perf_counter()
    steps, spectra, H0, H = dense_spectra(land, cfg, out, result) if cfg.full_spectra else ([], [], None, None)
    dense_s = time.perf_counter() - t1
    lam0 = spectra[0] if spectra else None
    # the final spectrum is taken at the last θ with a finite loss (a diverged run's has none)
    theta = result.theta_finite
    lam = spectra[-1] if theta is not None and spectra else None
    summary = {
        "regime": "toy", "experiment": cfg.experiment,
        "n_params": land.n_params, "dataset": info["name"], "n_data": info["n_data"],
        "n_classes": n_c, "widths": list(cfg.widths()), "activation": cfg.activation,
        "loss": cfg.loss, "lr": cfg.lr, "schedule": cfg.schedule, "seed": cfg.seed,
        "steps": result.step, "t": result.t, "stop_reason": result.stop_reason,
        "message": result.message, "target_loss_used": tcfg.target_loss, "initial_loss": loss0,
        **run_summary(result, tcfg, land),
        "final_loss": result.loss, "final_grad_norm": result.grad_norm,
        "theta_norm_init": float(torch.linalg.vector_norm(land.theta0)),
        "spectrum_step": result.step_finite,
        **({"eigenvalues_init": lam0.tolist(), **{
            f"{k}_init": v for k, v in spectrum_stats(lam0, n_classes=n_c, eps=cfg.eps).items()}}
           if lam0 is not None else {}),
        "eps": cfg.eps,
    }
    arrays = {}
    if lam0 is not None:
        arrays = {"dense_steps": np.asarray(steps), "dense_eigenvalues": np.stack(spectra),
                  "eigenvalues_init": lam0}
        if not cfg.eigenvalues_only:
            arrays["hessian_init"] = H0.cpu().numpy()
    if theta is not None:
        summary.update({"final_accuracy": land.accuracy(theta),
                        "theta_norm": float(torch.linalg.vector_norm(theta))})
        if lam is not None:
            arrays["eigenvalues"] = lam
            if not cfg.eigenvalues_only:
                arrays["hessian"] = H.cpu().numpy()
            summary.update({"eigenvalues": lam.tolist(),
                            **spectrum_stats(lam, n_classes=n_c, eps=cfg.eps)})
    writer.save_arrays(arrays)
    summary.update({
        "dense_spectra": [{"step": s, **spectrum_stats(w, n_classes=n_c, eps=cfg.eps)}
                          for s, w in zip(steps, spectra)],
        "n_telemetry": result.n_points, "run_seconds": train_s + result.resumed_seconds,
        "dense_seconds": dense_s})
    if cfg.schedule in ("flow", "expeuler"):  # λ_1 at every iteration: its peak
        summary.update(flow_peak(result.history))
        if cfg.cusp_points and "peak_step" in summary and result.stop_reason != "diverged":
            summary["cusp"] = flow_cusp(land, result.history, summary["peak_step"], cfg, tcfg)
            summary["cusp"]["n_data"] = info["n_data"]
    rho1 = [p["rho"][0] for p in Record.load(out, drop_truncated=True).telemetry if p.get("rho")]
    summary["max_rho_1"] = max(rho1) if rho1 else None
    # with the wall time of the interrupted run(s) a resume continued
    summary["wall_time"] = time.perf_counter() - t0 + result.resumed_seconds
    summary["cpu_seconds"] = cpu_since(c0, result.resumed_cpu_seconds)
    if figures and H is not None:
        summary["figures"] = write_figures(out, cfg, land, H, lam0, lam)
    writer.write_summary(summary)
    if not cfg.snapshot_every:  # θ snapshots taken only for the dense spectra: removed once the
        for p in (out / "snapshots").glob("step_*.pt"):  # record is complete (a resume needs them)
            p.unlink()
    return summary


def dense_spectra(land: Landscape, cfg: ToyConfig, out: Path, result):
    """``(steps, spectra, H_0, H_end)``: every eigenvalue (ascending) of the exact Hessian at θ_0,
    at the θ snapshots every ``dense_every`` iterations and at the last finite θ. The eigenvalues
    come from the eigendecomposition of H (:func:`full_spectrum`; ``H_0``/``H_end`` are returned
    to be stored, ``H_end`` None without a finite θ), or with ``eigenvalues_only`` from
    ``eigvalsh`` (both None; the two differ in the last bits)."""
    thetas = {}
    if cfg.dense_every:
        for p in sorted((out / "snapshots").glob("step_*.pt")):
            step = int(p.stem.split("_")[1])
            if step % cfg.dense_every == 0:
                thetas[step] = torch.load(p, weights_only=True)
    thetas.setdefault(0, land.theta0)
    if result.theta_finite is not None:
        thetas[result.step_finite] = result.theta_finite
    steps = sorted(thetas)
    spectra, H0, H = [], None, None
    for s in steps:
        Hs = land.hessian(thetas[s].to(land.device, land.dtype))
        if not cfg.eigenvalues_only:
            spectra.append(full_spectrum(Hs)[0])
            H0 = Hs if s == steps[0] else H0
            H = Hs if result.theta_finite is not None and s == steps[-1] else H
        else:
            spectra.append(torch.linalg.eigvalsh(Hs).cpu().numpy())
    return steps, spectra, H0, H


def flow_cusp(land: Landscape, history: dict, peak_step: int, cfg: ToyConfig,
              tcfg: TrainConfig) -> dict:
    """The cusp slice at the flow's peak θ* (gradient flow: replayed from θ_0 with
    ``history["lr"]``; exponential Euler, whose step needs the top eigenpairs: the run's rule run
    again to ``peak_step``, ``tcfg``): :func:`simlab.cusp.cusp_at` plus ``peak_step``,
    ``seconds`` and ``replay_loss_error`` = |L(θ*) − the run's loss at that step| (0 when the
    replay is the run's θ, as it is on the device, dtype and threads the run used)."""
    t0 = time.perf_counter()
    theta = (theta_at_step(land, history["lr"], peak_step) if cfg.schedule == "flow"
             else theta_by_rerun(land, tcfg, peak_step))
    err = abs(land.loss(theta) - float(history["loss"][peak_step]))
    c = cusp_at(land, theta, radius=cfg.cusp_radius, points=cfg.cusp_points, tol=cfg.eig_tol)
    return {**c, "peak_step": int(peak_step), "replay_loss_error": err,
            "seconds": time.perf_counter() - t0}


def write_figures(out: Path, cfg: ToyConfig, land: Landscape, H, lam0, lam) -> list[str]:
    from simlab import plots  # matplotlib: only when figures are drawn (0.6 s of a start)

    title = (f"{cfg.dataset}, widths {list(cfg.widths())}, {cfg.activation}, {cfg.loss}: "
             f"{land.n_params} parameters")
    paths = [
        plots.before_after_histograms(lam0, lam, out / "spectrum_before_after.png", title=title),
        plots.hessian_heatmap(H.cpu().numpy(), out / "hessian_heatmap.png",
                              title=f"Hessian after training ({land.n_params} parameters)",
                              boundaries=layer_boundaries(land.model)),
    ]
    return [p.name for p in paths]


def with_overrides(cfg: ToyConfig, **changes) -> ToyConfig:
    """A copy of the config with some fields changed (None values are ignored)."""
    return replace(cfg, **{k: v for k, v in changes.items() if v is not None})


def config_dict(cfg: ToyConfig) -> dict:
    return asdict(cfg)
