"""One scale-regime run: Lowell 2022's protocol on AlexNet / VGG-16 and CIFAR-10, as a record.

Top to bottom, :func:`run_one`:

1. load the images of ``cfg`` (:func:`simlab.scale.data.load_cifar10`), shard them by rank
   under torch.distributed;
2. build the Kaiming-initialised net (:func:`simlab.scale.models.build_model`) and its
   :class:`~simlab.landscape.Landscape` (the whole-set mean loss, in ``cfg.dtype``);
3. full-batch GD (:func:`simlab.trainer.train`) with telemetry every 1/η iterations — top-k
   Lanczos eigenpairs warm-started from the previous point, ρ_i = ηλ_i/2, d_i = h_i·g,
   ‖P_top g‖, ‖P_bulk g‖, ΔL_top and ΔL_bulk by re-evaluation — until L < 0.1 or t = 40;
4. at the end: a stochastic-Lanczos estimate of the spectral density and its near-zero mass
   (|λ| ≤ 1e−3·λ_1); under gradient flow the peak λ_1 and the cusp scan
   L(θ* + Δh_1) − L(θ*) at the snapshot θ* of peak λ_1;
5. summary.json and, on request, the figures.

Every HVP taken (telemetry, residual checks, the flow's λ_1, SLQ, cusp) is counted in
``summary["total_hvps"]``, from the operators' own ``n_matvecs`` (the trainer's count, which a
resumed run takes from its checkpoint, plus the end-of-run operators).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from simlab import cusp, gauss_newton
from simlab.errors import UsageError
from simlab.landscape import Landscape
from simlab.memory import check_fits
from simlab.record import RecordWriter, check_same_config, prepare_out, record_state
from simlab.scale.config import MEMORY_FIX, ScaleConfig, memory_parts
from simlab.scale.data import DataSpec, load_cifar10, record_data
from simlab.scale.distributed import ShadowWriter, init_from_env, shard
from simlab.scale.models import build_model
from simlab.density import slq
from simlab.checkpoint import resume_note
from simlab.runcost import cost_line, cpu_since
from simlab.trainer import Probe, TrainConfig, flow_peak, run_summary, train

EPS = 1e-3  # near-zero threshold |λ| ≤ EPS·λ_1, telemetry's default


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is a usage error."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name} asked for but no CUDA device is visible; use --device cpu or auto")
    return name


def data_spec(cfg: ScaleConfig) -> DataSpec:
    return DataSpec(dataset=cfg.dataset, data_root=cfg.data_root, n_data=cfg.n_data,
                    classes=cfg.classes, seed=cfg.seed, download=cfg.download)


def build_landscape(cfg: ScaleConfig, *, device: str = "cpu", rank: int = 0, size: int = 1):
    """(landscape, data info) for ``cfg``: this rank's shard of the data, the seeded net."""
    X, y, info = load_cifar10(data_spec(cfg))
    X, y = shard(X, y, rank, size)
    model = build_model(cfg.arch, n_classes=info["n_classes"], activation=cfg.activation,
                        width=cfg.width, seed=cfg.seed)
    land = Landscape(model, X, y, loss=cfg.loss, n_classes=info["n_classes"],
                             chunk_size=cfg.chunk_size, dtype=getattr(torch, cfg.dtype),
                             device=device, hvp_method=cfg.hvp_method,
                             memory_format=cfg.memory_format)
    return land, info


def rebuild(config: dict):
    """(landscape, η, schedule) of a record's config (``config.json``'s ``config``): how a
    continuation (:func:`simlab.continuation.run`) rebuilds a scale source run."""
    cfg = ScaleConfig.from_dict(config)
    land, _ = build_landscape(cfg, device=resolve_device(cfg.device))
    return land, cfg.lr, cfg.schedule


def train_config(cfg: ScaleConfig) -> TrainConfig:
    return cfg.train_config()


def memory_line(cfg: ScaleConfig, *, device: str | None = None) -> str:
    """One line for a plan: the estimated peak memory by part, and what this machine has."""
    from simlab.memory import available, gib

    parts = memory_parts(cfg)
    need = sum(parts.values())
    device = resolve_device(cfg.device) if device is None else device
    free, source = available(device)
    here = ("" if free is None else f"; {gib(free)} available here ({source})"
            + (": it would not fit, " + MEMORY_FIX if need > free else ""))
    detail = ", ".join(f"{k} {gib(v)}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
    return f"estimated peak memory {gib(need)} per process ({detail}){here}"


def check_memory(cfg: ScaleConfig, *, device: str | None = None, world_size: int | None = None,
                 what: str | None = None) -> str | None:
    """Before anything is allocated: refuse (a one-line UsageError naming the flags that shrink
    it) a run whose estimated peak (:func:`simlab.scale.config.memory_parts`) exceeds the memory
    available to it, warn when it comes close (:func:`simlab.memory.check_fits`). On a CPU the
    ranks of one machine (``LOCAL_WORLD_SIZE``) share its memory."""
    import os

    from simlab.scale.distributed import world

    device = resolve_device(cfg.device) if device is None else device
    # before init_from_env (the CLI) torchrun's environment says how many ranks there will be
    size = world_size or max(world()[1], int(os.environ.get("WORLD_SIZE", 1) or 1))
    local = int(os.environ.get("LOCAL_WORLD_SIZE", size) or 1)
    name = what or (f"{cfg.arch} width {cfg.width:g} ({cfg.n_params():,} parameters, n_D = "
                    f"{cfg.n_data or 50_000 * cfg.n_classes // 10:,}, top-{cfg.k})")
    return check_fits(memory_parts(cfg, world_size=size), device=device, what=name,
                      fix=MEMORY_FIX, processes=local)


# ------------------------------------------------------------------------------ end-of-run maths


def peak_snapshot(snap_dir: Path, history: dict, skip: float = 0.0) -> tuple[int, Path] | None:
    """The snapshot whose step has the largest λ_1 in the flow's per-iteration history; with
    ``skip`` > 0 among the snapshots after that fraction of the run only (an initial spike at
    iteration 1 would otherwise put θ* at θ_0)."""
    snaps = sorted(snap_dir.glob("step_*.pt"))
    if not snaps:
        return None
    steps = np.asarray(history["step"]).astype(int)
    lam = np.asarray(history["lambda_1"], dtype=float)
    by_step = dict(zip(steps.tolist(), lam.tolist()))
    first = skip * int(steps.max()) if len(steps) else 0.0
    at = [(int(p.stem.split("_")[1]), p) for p in snaps]
    scored = [(by_step.get(step, -math.inf), step, p) for step, p in at if step >= first]
    scored = [s for s in scored if math.isfinite(s[0])]
    if not scored:
        return None
    _, step, path = max(scored, key=lambda s: (s[0], -s[1]))
    return step, path


def cusp_at(landscape, theta: torch.Tensor, cfg: ScaleConfig) -> dict:
    """:func:`simlab.cusp.cusp_at` with the config's radius, points and eigensolver tolerance."""
    return cusp.cusp_at(landscape, theta, radius=cfg.cusp_radius, points=cfg.cusp_points,
                        tol=cfg.eig_tol)


# ------------------------------------------------------------------------------ the run


def run_spec(spec, out: Path, *, progress: bool = True, resume: bool = False,
             overwrite: bool = False, figures: bool = False, sources=()) -> Path:
    """The scale runner of :func:`simlab.runspec.run_spec` (``scale`` runs): :func:`run_one` of
    the spec's :class:`ScaleConfig`; returns the record's folder."""
    return run_one(spec.config, out, resume=resume, progress=progress, figures=figures,
                   overwrite=overwrite)


def run_one(cfg: ScaleConfig, out: Path | str, *, resume: bool = False, progress: bool = True,
            on_point=None, figures: bool = True, overwrite: bool = False) -> Path:
    """Run ``cfg`` into the record directory ``out`` and return it (rank 0 writes; all ranks compute).

    ``out`` holding a run needs ``resume`` (finish it from its last checkpoint: the same record
    as an uninterrupted run) or ``overwrite`` (its record files are replaced)."""
    cfg.validate()
    tcfg = train_config(cfg).validate()
    out = Path(out)
    device = resolve_device(cfg.device)
    rank, size, device = init_from_env(device)
    state = record_state(out) if resume else None
    if state != "complete":  # before anything is allocated (and before --overwrite clears out)
        check_memory(cfg, device=device, world_size=size)
    if rank == 0:  # before any work: the folder must be free, or resumed with the same config
        prepare_out(out, resume=resume, overwrite=overwrite)
        if resume:
            check_same_config(out, cfg)
    note = resume_note(out, state) if resume else None
    if note and rank == 0:
        print(f"[{out.name}] {note}", file=sys.stderr, flush=True)
    if state == "complete":  # every rank: nothing to do, and the record is left as it is
        return out
    land, info = build_landscape(cfg, device=device, rank=rank, size=size)
    meta = {"regime": "scale", "experiment": cfg.experiment, "data": record_data(info),
            "data_info": info, "distributed": {"world_size": size, "backend": None if size == 1 else
                                                ("nccl" if device.startswith("cuda") else "gloo")}}
    if rank == 0:
        writer = RecordWriter(out, cfg, meta=meta, device=device, resume=resume)
    else:
        writer = ShadowWriter(out, rank)
    tag = f"{cfg.arch}-{cfg.activation} η={cfg.lr:g} n_c={info['n_classes']} n_D={info['n_data']}"
    t0, c0 = time.perf_counter(), time.process_time()
    probes = ([Probe(cfg.ggn_every, gauss_newton.probe("lanczos", tol=cfg.eig_tol))]
              if cfg.ggn_every else [])
    res = train(land, tcfg, writer, progress=progress and rank == 0, desc=tag,
                resume=resume, on_point=on_point, probes=probes)

    points = _read_points(out) if rank == 0 else []
    last = points[-1] if points else {}
    summary = {
        "regime": "scale", "experiment": cfg.experiment,
        "arch": cfg.arch, "activation": cfg.activation, "width": cfg.width, "loss": cfg.loss,
        "lr": cfg.lr, "schedule": cfg.schedule,
        "dataset": info["name"], "n_data": info["n_data"], "n_classes": info["n_classes"],
        "data_source": info["source"], "n_params": land.n_params,
        "final_loss": res.loss, "final_accuracy": last.get("accuracy"),
        "final_grad_norm": res.grad_norm, "theta_norm": last.get("theta_norm"),
        "theta0_norm": float(torch.linalg.vector_norm(land.theta0)),
        "steps": res.step, "t": res.t, "message": res.message,
        **run_summary(res, tcfg, land),
        "telemetry_points": res.n_points,
        "lambda_max": (last.get("eigenvalues") or [None])[0],
        "device": device, "world_size": size, "dtype": cfg.dtype,
    }
    # the summary's spectrum is the last telemetry point's: always a θ with a finite loss
    summary["spectrum_step"] = last.get("step")
    hvps = res.total_hvps
    if res.stop_reason not in ("diverged", "dead"):
        if cfg.slq_vectors > 0 and res.n_points > 0:  # every rank takes part in the products
            est = slq(land.operator(res.theta), probes=cfg.slq_vectors, steps=cfg.slq_steps,
                      seed=cfg.seed, eps=EPS, lam_max=summary["lambda_max"])
            hvps += est["n_matvecs"]
            if rank == 0:
                summary["density"] = {"nodes": est["nodes"].tolist(), "weights": est["weights"].tolist(),
                                      "method": "slq", "n_vectors": cfg.slq_vectors, "steps": cfg.slq_steps}
                summary["slq"] = {k: est[k] for k in ("probes", "steps", "band", "validated", "eps")}
                summary["near_zero_fraction"] = est["near_zero_fraction"]
                summary["eps"] = EPS
        if cfg.schedule in ("flow", "expeuler"):  # λ_1 at every iteration: its peak, the cusp there
            summary.update(flow_peak(res.history))
            peak = peak_snapshot(writer.path / "snapshots", res.history, cfg.cusp_skip)
            if peak is not None:
                step, path = peak
                theta_star = torch.load(path, weights_only=True).to(land.device, land.dtype)
                c = cusp_at(land, theta_star, cfg)
                hvps += c.pop("n_matvecs")
                summary["cusp"] = {**c, "n_data": info["n_data"], "peak_step": step}
    summary["total_hvps"] = hvps
    # both include the wall time of the interrupted run(s) a resume continued
    summary["wall_time"] = res.wall_time
    summary["wall_time_total"] = time.perf_counter() - t0 + res.resumed_seconds
    summary["cpu_seconds"] = cpu_since(c0, res.resumed_cpu_seconds)
    if rank == 0:
        writer.write_summary(summary)
        bad = not summary["valid"]
        if progress or bad:
            print(f"[{out.name}] {res.message}" + (f"; not a valid run: {summary['invalid_reason']}"
                                                   if bad else ""), file=sys.stderr if bad else sys.stdout)
        if progress:
            print(f"[{out.name}] cost: {cost_line(summary)}")
        if figures:
            from simlab.figures import make_figures

            make_figures([out], out)
    elif res.stop_reason:
        writer.discard()
    return out


def _read_points(out: Path) -> list[dict]:
    from simlab.record import read_jsonl

    return read_jsonl(out / "telemetry.jsonl", drop_truncated=True)


def with_experiment(cfg: ScaleConfig, name: str, **changes) -> ScaleConfig:
    return replace(cfg, experiment=name, **changes).validate()
