"""Claim L10 (beyond Lowell; Song, Ahn & Yun, ICLR 2025): does learning happen in the bulk over
a whole trajectory, not just one step?

From one on-edge θ of a finished run (the source record), continuations of N = round(10/η)
iterations (CLAIMS.md) at the run's η:

    GD       θ ← θ − η g
    Bulk-GD  θ ← θ − η P_bulk g = θ − η (g − V Vᵀ g)
    Top-GD   θ ← θ − η P_top g  = θ − η V Vᵀ g

with V the top eigenvectors of H (Lanczos on the run's own Hessian operator), refreshed every
``refresh_every`` iterations (warm-started from the previous ones), in two versions: the
on-edge subspace (the eigenvectors with ρ_i = ηλ_i/2 ≥ ``top_rho`` at the start: ``bulk``,
``top``) and, reported beside it, the top n_c − 1 (``bulk_nc``, ``top_nc``; the same paths when
the two counts agree). The start θ is rebuilt by replaying the source run's GD
(:func:`simlab.trainer.train`, deterministic) to the start step: the middle of the longest
stretch of on-edge telemetry (ρ_1 ≥ 0.8) that begins at least 1/η iterations after the source
entered the edge (its first ρ_1 ≥ 1, as the claims readers define it). The record (experiment
"continuation") holds ``summary["continuation"]``: ``{"lr", "n_iter", "refresh_every",
"start_step", "start_rho_1", "entered_step", "top_rho", "n_top", "n_top_nc", "loss": {mode: L_0
… L_N}, "valid": {mode: bool}}``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simlab import plots
from simlab.errors import UsageError
from simlab.record import CHECKPOINTS, Record, RecordWriter, read_json_object, write_json
from simlab.spectrum import top_eigen
from simlab.steps import Projected
from simlab.trainer import TrainConfig, train


@dataclass(frozen=True)
class ContinuationConfig:
    source: str                      # the source record's folder, relative to the runs directory
    regime: str = "toy"              # "toy" | "scale": whose builder rebuilds the source's landscape
    n_iter: int | None = None        # None: round(10/η) (CLAIMS.md; records before 2026-12-03: 2/η)
    top_rho: float = 0.69            # Top-GD's subspace: the eigenvectors with ρ_i ≥ this at the start
    refresh_every: int = 2           # eigenvectors recomputed every this many iterations
    edge_rho: float = 0.8            # on the edge: ρ_1 ≥ this
    min_points: int = 5              # consecutive on-edge points that make a stretch
    eig_tol: float = 1e-6
    experiment: str = "continuation"


def claims_config(source: str, regime: str, lr: float, *, refresh_every: int | None = None,
                  **kw) -> ContinuationConfig:
    """The continuation CLAIMS.md's L10 asks for from a source run at η = ``lr``: N = 10/η
    iterations, eigenvectors refreshed every ≤ 1/(5η) (every ``refresh_every`` when that is
    sooner); ``kw`` sets the other fields."""
    every = max(1, round(1 / (5 * lr)))
    return ContinuationConfig(source=source, regime=regime, n_iter=round(10 / lr),
                              refresh_every=max(1, min(refresh_every or every, every)), **kw)


# ------------------------------------------------------------------------------ the maths

def continue_from(landscape, theta: torch.Tensor, *, lr: float, n_iter: int, mode: str,
                  n_top: int, refresh_every: int = 1, tol: float = 1e-6,
                  eig_fn=None) -> tuple[list[float], torch.Tensor]:
    """``n_iter`` iterations of one mode from θ: (losses L_0 … L_N, final θ), run by the one GD
    loop (:func:`simlab.trainer.train`) with the :class:`~simlab.steps.Projected` step rule and
    no telemetry. ``eig_fn(θ, v0)`` gives the top-``n_top`` eigenvectors (default: Lanczos on
    ``landscape.operator(θ)``); a non-finite loss ends the list early (the caller marks the mode
    invalid)."""
    rule = Projected(lr, mode, n_top, refresh_every=refresh_every, tol=tol, eig_fn=eig_fn)
    res = train(landscape, TrainConfig(lr=lr, max_steps=n_iter, telemetry_every=0, k=1),
                theta=theta, rule=rule, telemetry=False, progress=False, desc=mode)
    losses = [float(x) for x in res.history["loss"]]
    if res.stop_reason == "diverged":
        losses.append(res.loss)  # the non-finite loss that ended the run
    elif res.stop_reason == "dead":  # g = 0 exactly: θ never moves again, whatever the mode
        losses += [res.loss] * (n_iter + 1 - len(losses))
    return losses, res.theta


def on_edge_step(points: list[dict], lr: float, *, edge_rho: float = 0.8,
                 min_points: int = 5, after: int | None = None) -> tuple[int, float] | None:
    """(step, ρ_1) at the middle of the longest stretch of ≥ ``min_points`` consecutive on-edge
    telemetry points (ρ_1 ≥ edge_rho), ignoring points before iteration ``after`` (default: the
    first 1/η iterations)."""
    first = round(1 / lr) if after is None else after
    pts = [p for p in points if p.get("rho") and p["step"] >= first]
    best, cur = [], []
    for p in pts:
        if p["rho"][0] >= edge_rho:
            cur.append(p)
            if len(cur) > len(best):
                best = list(cur)
        else:
            cur = []
    if len(best) < min_points:
        return None
    mid = best[len(best) // 2]
    return int(mid["step"]), float(mid["rho"][0])


# ------------------------------------------------------------------------------ the record

def run(cfg: ContinuationConfig, out: Path | str, *, runs_dir: Path | str, rebuild,
        progress: bool = False, resume: bool = False) -> dict:
    """The continuations from the source record's on-edge θ, written as a record.

    Each finished path is kept in ``checkpoints/path_<mode>.json`` (a scale path is 1000
    iterations, tens of minutes); with ``resume`` a path found there is read back instead of run
    again (the start θ is replayed again: deterministic), so a killed run loses one path at most.

    ``rebuild(config)`` turns the source record's ``config.json`` config (a dict) into
    ``(landscape, η, schedule)``: the regime's own builder (``simlab.toy.run.rebuild`` or
    ``simlab.scale.run.rebuild``), passed by the caller, so this module names no regime."""
    t0 = time.perf_counter()
    src_dir = Path(runs_dir) / cfg.source
    if not (src_dir / "summary.json").is_file():
        raise UsageError(f"continuation needs the finished record {src_dir}; run its grid first")
    src = Record.load(src_dir)
    land, lr, schedule = rebuild(src.config)
    n_c = land.n_classes
    if schedule != "constant":
        raise UsageError(f"{src_dir} trained under schedule {schedule!r}; a continuation needs GD at a constant η")
    entered = entry_step(src)
    start = None if entered is None else on_edge_step(
        src.telemetry, lr, edge_rho=cfg.edge_rho, min_points=cfg.min_points,
        after=entered + round(1 / lr))
    writer = RecordWriter(out, cfg, meta={"regime": cfg.regime, "experiment": cfg.experiment,
                                          "source": cfg.source}, device=str(land.device),
                          resume=resume)
    n_iter = cfg.n_iter or round(10 / lr)
    summary = {"regime": cfg.regime, "experiment": cfg.experiment, "source": cfg.source,
               "lr": lr, "n_classes": n_c, "n_params": land.n_params,
               "n_data": land.n_data}
    if start is None:
        rho1 = [p["rho"][0] for p in src.telemetry if p.get("rho")]
        why = (f"the source never reached the edge (max ρ_1 = {max(rho1, default=float('nan')):.3g} "
               f"at η = {lr:g})" if entered is None else
               f"no stretch of {cfg.min_points} on-edge points (ρ_1 ≥ {cfg.edge_rho:g}) from "
               f"1/η after the source entered the edge (iteration {entered})")
        summary.update(valid=False, invalid_reason=why, continuation=None,
                       wall_time=time.perf_counter() - t0)
        writer.write_summary(summary)
        return summary
    step, rho1 = start
    theta = train(land, TrainConfig(lr=lr, max_steps=step, telemetry_every=0, k=1),
                  progress=False, desc="replay", telemetry=False).theta if step > 0 else land.theta0
    n_nc = max(n_c - 1, 1)
    n_edge = on_edge_count(land, theta, lr, cfg.top_rho, cfg.eig_tol, at_least=n_nc + 1)
    losses, valid = {}, {}
    for mode, n_top in (("gd", n_nc), ("bulk", n_edge), ("top", n_edge), ("bulk_nc", n_nc),
                        ("top_nc", n_nc)):
        rule = mode.removesuffix("_nc")
        kept = Path(out) / CHECKPOINTS / f"path_{mode}.json"
        if mode.endswith("_nc") and n_edge == n_nc:  # the same paths: not run twice
            ls = losses[rule]
        elif resume and kept.is_file():
            ls = read_json_object(kept)["loss"]
        else:
            ls, _ = continue_from(land, theta, lr=lr, n_iter=n_iter, mode=rule, n_top=n_top,
                                  refresh_every=cfg.refresh_every, tol=cfg.eig_tol)
            write_json(kept, {"mode": mode, "n_top": n_top, "start_step": step, "loss": ls})
        losses[mode] = ls
        valid[mode] = len(ls) == n_iter + 1 and all(math.isfinite(x) for x in ls)
    cont = {"lr": lr, "n_iter": n_iter, "refresh_every": cfg.refresh_every, "start_step": step,
            "start_rho_1": rho1, "entered_step": entered, "top_rho": cfg.top_rho,
            "n_top": n_edge, "n_top_nc": n_nc, "loss": losses, "valid": valid}
    dec = {m: ls[0] - ls[-1] for m, ls in losses.items()}
    summary.update(valid=all(valid.values()),
                   invalid_reason=None if all(valid.values()) else
                   f"non-finite loss in {', '.join(m for m in losses if not valid[m])}",
                   continuation=cont, decrease=dec, wall_time=time.perf_counter() - t0)
    figure(cont, Path(out) / "fig_continuation.png",
           title=f"{cfg.source}: η = {lr:g}, n_c = {n_c}, from step {step} (ρ_1 = {rho1:.2f})")
    summary["figures"] = ["fig_continuation.png"]
    writer.write_summary(summary)
    return summary


def entry_step(src: Record) -> int | None:
    """The iteration at which the source entered the edge, as the claims readers define it
    (first eligible ρ_1 ≥ 1, a catapult aside); None when it never did."""
    from simlab.claims.readers import edge
    from simlab.claims.verdict import Thresholds

    return edge(src, Thresholds()).entered_step


def on_edge_count(land, theta: torch.Tensor, lr: float, top_rho: float, tol: float, *,
                  at_least: int) -> int:
    """How many eigenvalues of H(θ) have ρ_i = ηλ_i/2 ≥ ``top_rho`` (Lanczos, the top
    ``at_least`` first, doubled while all of them qualify); at least 1."""
    op = land.operator(theta)
    k = min(at_least, op.shape[0] - 1)
    while True:
        lam = top_eigen(op, k, tol=tol).eigenvalues
        count = int(np.sum(lr * np.asarray(lam) / 2 >= top_rho))
        if count < k or k >= op.shape[0] - 1:
            return max(count, 1)
        k = min(2 * k, op.shape[0] - 1)


# each path's colour, line style and label, in drawing order (here and in the report's figure)
PATHS = {"gd": ("black", "-", "GD"), "bulk": ("tab:blue", "-", "Bulk-GD, on-edge top"),
         "top": ("tab:red", "-", "Top-GD, on-edge top"),
         "bulk_nc": ("tab:blue", "--", "Bulk-GD, top n_c − 1"),
         "top_nc": ("tab:red", "--", "Top-GD, top n_c − 1")}


def figure(cont: dict, path: Path, *, title: str = "") -> Path:
    """The loss curves L_0 … L_N of every path in one figure (n_c − 1 versions dashed)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, (colour, style, label) in PATHS.items():
        ls = cont["loss"].get(mode)
        if ls is None:
            continue
        n = cont.get("n_top_nc" if mode.endswith("_nc") else "n_top")
        ax.plot(np.arange(len(ls)), ls, style, color=colour,
                label=label + (f" ({n})" if n and mode != "gd" else ""))
    ax.set_xlabel(f"iteration after step {cont['start_step']}")
    ax.set_ylabel("training loss")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8)
    return plots.save(fig, path)
