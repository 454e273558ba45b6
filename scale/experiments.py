"""Lowell 2022's sub-experiments, each a set of records under one output folder.

=============  ===============================================================================
experiment     what it runs (every member's config.json "experiment" is the name on the left)
=============  ===============================================================================
scale          one protocol run (the config as given)
lr_sweep       one run per η in ``cfg.lrs``, into ``OUT/lr_<η>``
class_sweep    one run per n_c in ``cfg.class_counts`` (classes 0..n_c−1), into ``OUT/nc_<n_c>``;
               with a fixed ``n_data`` the images per class stay fixed: n_D·n_c/10 (as in the
               paper, where dropping classes drops their images)
entry          telemetry every ``entry_every`` iterations before ``entry_until`` (paper: 10, 2000),
               stopping at ``entry_until``
gradient_flow  η = min(lr, 0.5/λ_1) with λ_1 at every iteration, snapshots every
               ``snapshot_every`` iterations, one run per n_D in ``cfg.flow_sizes``
               (``OUT/nD_<n>``); each run's summary holds its peak λ_1 and the cusp slice at the
               snapshot of the peak; ``OUT/summary.json`` holds the linear fit of peak λ_1 on n_D
cusp           the slice L(θ*+Δh_1) − L(θ*) re-scanned at the peak snapshot of existing
               gradient-flow records (``sources``), one record of experiment "cusp" each; without
               sources the gradient-flow sweep is run first into ``OUT/gradient_flow``
=============  ===============================================================================

Figures for the whole folder are drawn at the end (:func:`simlab.figures.make_figures`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from simlab.claims import linear_fit
from simlab.errors import UsageError
from simlab.record import Record, find_records, write_json
from simlab.runspec import RunSpec, run_spec
from simlab.scale.config import ENTRY, FLOW, SINGLE_RUN, ScaleConfig
from simlab.scale.distributed import init_from_env, world
from simlab.scale.run import build_landscape, cusp_at, peak_snapshot, resolve_device


def _fmt(x: float) -> str:
    return f"{x:g}"


def members(cfg: ScaleConfig) -> list[tuple[str, ScaleConfig]]:
    """(subfolder, config) of every record an experiment writes ("" = the folder itself)."""
    e = cfg.experiment
    if e in SINGLE_RUN:
        return [("", cfg)]
    if e == "lr_sweep":
        return [(f"lr_{_fmt(lr)}", replace(cfg, lr=lr)) for lr in cfg.lrs]
    if e in ("class_sweep", "mse"):
        # mse: the class sweep under squared error, stopped at a training-accuracy target (its
        # mean over n_D·n_c makes L = 1/n_c at zero output, so L < 0.1 can hold at θ_0)
        mse = dict(loss="mse", target_loss=None, target_accuracy=cfg.target_accuracy or 0.99) if e == "mse" else {}
        out = []
        for nc in cfg.class_counts:
            n = cfg.n_data
            if n is not None and cfg.class_images == "per_class":
                n = max(nc, round(n * nc / 10))
            out.append((f"nc_{nc}", replace(cfg, classes=nc, n_data=n, **mse)))
        return out
    if e == "entry":
        every, until = (cfg.entry_every, cfg.entry_until) if cfg.entry_every else ENTRY.get(cfg.preset, ENTRY["paper"])
        return [("", replace(cfg, entry_every=every, entry_until=until, max_steps=until))]
    if e in ("gradient_flow", "cusp"):
        flow = FLOW.get(cfg.preset, FLOW["paper"])
        snap = cfg.snapshot_every or flow["snapshot_every"]
        steps = cfg.max_steps if cfg.max_steps is not None else flow.get("max_steps")
        base = replace(cfg, experiment="gradient_flow", schedule="flow", snapshot_every=snap, max_steps=steps)
        return [(f"nD_{n}", replace(base, n_data=n)) for n in cfg.flow_sizes]
    raise UsageError(f"unknown experiment {e!r}")


def run_experiment(cfg: ScaleConfig, out: Path | str, *, resume: bool = False, progress: bool = True,
                   sources=(), figures: bool = True, overwrite: bool = False) -> list[Path]:
    """Run ``cfg.experiment`` into ``out``; returns the record directories written (a folder that
    holds a run needs ``resume`` or ``overwrite``)."""
    cfg.validate()
    out = Path(out)
    if cfg.experiment == "cusp":
        return cusp_experiment(cfg, out, sources=sources, resume=resume, progress=progress, figures=figures)
    dirs = []
    for sub, member in members(cfg):  # each member a spec, run through the one door
        dirs.append(run_spec(RunSpec("scale", member.validate(), cfg.experiment),
                             out / sub if sub else out, resume=resume, progress=progress,
                             figures=figures and not sub, overwrite=overwrite))
    rank, _ = world()
    if cfg.experiment == "gradient_flow" and rank == 0:
        write_json(out / "summary.json", flow_fit(dirs))
    if figures and rank == 0 and len(dirs) > 1:
        from simlab.figures import make_figures

        make_figures(dirs, out)
    return dirs


def flow_fit(dirs) -> dict:
    """Peak λ_1 of every gradient-flow record against its n_D, and the linear fit (claim L8)."""
    rows = []
    for d in dirs:
        r = Record.load(d)
        s = r.summary or {}
        if s.get("peak_lambda_1") is not None:
            rows.append((int(s["n_data"]), float(s["peak_lambda_1"])))
    rows.sort()
    doc = {"experiment": "gradient_flow", "n_data": [n for n, _ in rows],
           "peak_lambda_1": [p for _, p in rows], "records": [str(Path(d).name) for d in dirs]}
    if len(rows) >= 2:
        slope, intercept, r2 = linear_fit(*zip(*rows))  # the claims engine's fit, once
        doc["fit"] = {"slope": slope, "intercept": intercept, "r2": r2}
    return doc


def cusp_experiment(cfg: ScaleConfig, out: Path, *, sources=(), resume=False, progress=True,
                    figures=True) -> list[Path]:
    """Records of experiment "cusp": the slice along h_1 at the peak-λ_1 snapshot of each
    gradient-flow record in ``sources`` (run first when none are given)."""
    if sources:
        src = find_records(sources)
    else:
        src = run_experiment(replace(cfg, experiment="gradient_flow"), out / "gradient_flow",
                             resume=resume, progress=progress, figures=figures)
    flows = [d for d in src if Record.load(d).doc.get("experiment") == "gradient_flow"]
    if not flows:
        raise UsageError("--experiment cusp needs gradient-flow records: pass --from DIR written by "
                         "--experiment gradient_flow, or omit --from to run them first")
    rank = world()[0]
    written = []
    for d in flows:
        # one record per source, named as it is (seeds of one n_D must not overwrite each other)
        target = out / Path(d).name if sources else None
        got = rescan_cusp(Path(d), target, cusp_radius=cfg.cusp_radius, cusp_points=cfg.cusp_points,
                          cusp_skip=cfg.cusp_skip, device=cfg.device, out=out)
        if got is not None:
            written.append(got)
    if figures and rank == 0 and written:
        from simlab.figures import make_figures

        make_figures(written, out)
    return written


def rescan_cusp(src: Path, target: Path | None, *, cusp_radius: float, cusp_points: int,
                cusp_skip: float, device: str = "cpu", out: Path | None = None) -> Path | None:
    """One record of experiment "cusp": the slice along h_1 at the largest-λ_1 snapshot of the
    gradient-flow record ``src`` (after its first ``cusp_skip`` of the run), written to
    ``target`` (default ``out/nD_<n>``) with its wall and CPU seconds; None when the record kept
    no λ_1 history or snapshot."""
    t0, c0 = time.perf_counter(), time.process_time()
    rec = Record.load(src)
    src_cfg = ScaleConfig.from_dict(rec.config)
    arr = rec.arrays()
    if "history_lambda_1" not in arr:
        return None
    history = {"step": arr["history_step"], "lambda_1": arr["history_lambda_1"]}
    peak = peak_snapshot(src / "snapshots", history, cusp_skip)
    if peak is None:
        return None
    step, snap = peak
    rank, size, device = init_from_env(resolve_device(device))
    ccfg = replace(src_cfg, experiment="cusp", cusp_radius=cusp_radius, cusp_points=cusp_points,
                   cusp_skip=cusp_skip, device=device)
    land, info = build_landscape(ccfg, device=device, rank=rank, size=size)
    theta = torch.load(snap, weights_only=True).to(land.device, land.dtype)
    c = cusp_at(land, theta, ccfg)
    target = target if target is not None else out / f"nD_{info['n_data']}"
    if rank == 0:
        from simlab.record import RecordWriter
        from simlab.runcost import cpu_since
        from simlab.scale.data import record_data

        lam_at = dict(zip(history["step"].astype(int).tolist(), history["lambda_1"].tolist()))[step]
        w = RecordWriter(target, ccfg, meta={"regime": "scale", "experiment": "cusp",
                                              "data": record_data(info), "source": str(src)}, device=device)
        w.write_summary({"regime": "scale", "experiment": "cusp", "arch": ccfg.arch,
                         "activation": ccfg.activation, "n_data": info["n_data"],
                         "n_params": land.n_params, "source": str(src),
                         "cusp": {**c, "n_data": info["n_data"], "peak_step": step,
                                  "lambda_1_at_snapshot": float(lam_at)},
                         "total_hvps": c.pop("n_matvecs"), "device": device,
                         "wall_time": time.perf_counter() - t0, "cpu_seconds": cpu_since(c0, 0.0)})
    return target


@dataclass(frozen=True)
class CuspRescan:
    """A ``cusp`` run of a grid: :func:`rescan_cusp` of the gradient-flow record ``source`` (a
    path under a runs folder, as a continuation's), at the largest-λ_1 snapshot after the first
    ``cusp_skip`` of that run."""

    source: str
    cusp_skip: float = 0.1
    cusp_radius: float = 0.003
    cusp_points: int = 41
    device: str = "cpu"


def run_cusp_spec(spec: RunSpec, out: Path, *, sources=(), **_options) -> Path:
    """The runner of ``cusp`` RunSpecs (:func:`simlab.runspec.run_spec`): the source record is
    looked for under each runs folder of ``sources`` in turn."""
    cfg = spec.config
    for root in (Path(r) for r in sources or (".",)):
        if (root / cfg.source / "summary.json").is_file():
            got = rescan_cusp(root / cfg.source, Path(out), cusp_radius=cfg.cusp_radius,
                              cusp_points=cfg.cusp_points, cusp_skip=cfg.cusp_skip, device=cfg.device)
            if got is None:
                raise UsageError(f"{root / cfg.source} kept no λ_1 history or no snapshot after the "
                                 f"first {cfg.cusp_skip:g} of the run: nothing to re-scan")
            return got
    raise UsageError(f"the cusp re-scan needs the complete gradient-flow record {cfg.source} under "
                     f"one of {', '.join(map(str, sources)) or '.'}; run it first (paper run --only "
                     f"{cfg.source})")
