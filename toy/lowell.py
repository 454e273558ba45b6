"""Lowell 2022's protocol in the toy regime, where every eigenvalue of H is known exactly.

Full-batch GD (no momentum) on a digits MLP 64-h-h-10 (and MNIST-1000 784-k-10 with a data
root), telemetry every 1/η iterations with the *full* dense spectrum (:mod:`simlab.telemetry`:
ρ_i = ηλ_i/2, ‖P_top g‖, ‖P_bulk g‖, ΔL_top, ΔL_bulk by re-evaluation). Stop rule as in the
paper, L < 0.1 or t = nη = 40, plus an iteration cap; each summary says which ended the run.

================  ===========================================================  ===============
experiment        what                                                          claims
================  ===========================================================  ===============
lr_sweep          several η (scaled to the toy: λ_1 ≈ 1–10 here, so η ≈ 0.1–1)  L1 L3 L5 L6 L7
class_sweep       n_c ∈ {2, 3, 5, 10} by dropping classes (50 examples/class)   L2 L6 L7 S8
entry             telemetry every ``entry_every`` iterations from the start     L4 L6 L7
================  ===========================================================  ===============
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simlab import plots
from simlab.record import Record
from simlab.toy.grid import Sizes, run_cached
from simlab.toy.run import ToyConfig


def lowell_config(sz: Sizes, *, lr: float, dataset: str = "digits", data_root: str | None = None,
                  **changes) -> ToyConfig:
    """Lowell's stop rule scaled to the toy: L < target, or t = nη ≥ lowell_t (as an iteration
    limit round(t/η)), capped at ``lowell_cap`` iterations; telemetry every round(1/η)."""
    mnist = dataset == "mnist"
    base = dict(dataset=dataset, n_data=1000 if mnist else sz.lowell_n,
                hidden=sz.mnist_k[-1] if mnist else sz.lowell_hidden,
                depth=1 if mnist else sz.lowell_depth, lr=lr,
                max_steps=min(round(sz.lowell_t / lr), sz.lowell_cap), grad_tol=None,
                target_loss=sz.lowell_target_loss, telemetry_every=max(1, round(1 / lr)), k=20,
                data_root=data_root)
    base.update(changes)
    return ToyConfig(**base)


def datasets(data_root: str | None) -> list[str]:
    return ["digits"] + (["mnist"] if data_root else [])


def _sweep(root: Path, data_root: str | None, configs, figure: str, label,
           progress: bool) -> list[Path]:
    """Run ``configs(ds) -> [(folder name, ToyConfig)]`` for each dataset, then draw the ρ
    figure ``fig_<figure>_<ds>.png`` of that dataset's runs."""
    root = Path(root)
    outs = []
    for ds in datasets(data_root):
        group = []
        for name, cfg in configs(ds):
            out = root / name
            run_cached(cfg, out, progress=progress)
            group.append(out)
        rho_figure([Record.load(d) for d in group], root / f"fig_{figure}_{ds}.png", label)
        outs += group
    return outs


def lr_sweep(root: Path, sz: Sizes, *, data_root: str | None = None,
             progress: bool = False) -> list[Path]:
    """GD at each η of ``sz.lowell_lrs``. Figure: ρ_i over t per η and max ρ_i against i."""
    def configs(ds):
        for lr in sz.lowell_lrs:
            cfg = lowell_config(sz, lr=lr, dataset=ds, data_root=data_root, experiment="lr_sweep")
            yield f"{ds}-h{cfg.hidden}-lr{lr:g}", cfg

    return _sweep(root, data_root, configs, "lr_sweep", lambda r: f"η = {r.config['lr']:g}",
                  progress)


def class_sweep(root: Path, sz: Sizes, *, data_root: str | None = None,
                progress: bool = False) -> list[Path]:
    """GD at η = lowell_class_lr on the first n_c classes, n_c ∈ ``sz.lowell_classes``, with
    lowell_n/10 examples per class (dropping classes, not examples of the kept ones). Figure:
    ρ_i over t per n_c and late ρ_i against i."""
    def configs(ds):
        for nc in sz.lowell_classes:
            n = (1000 if ds == "mnist" else sz.lowell_n) * nc // 10
            cfg = lowell_config(sz, lr=sz.lowell_class_lr, dataset=ds, data_root=data_root,
                                classes=nc, n_data=n, experiment="class_sweep")
            yield f"{ds}-h{cfg.hidden}-nc{nc}", cfg

    return _sweep(root, data_root, configs, "class_sweep",
                  lambda r: f"n_c = {r.summary['n_classes']}", progress)


def entry(root: Path, sz: Sizes, *, data_root: str | None = None,
          progress: bool = False) -> list[Path]:
    """Entry capture: telemetry every ``entry_every`` iterations for ``entry_steps`` iterations
    at η = entry_lr. Figure: ρ_{n_c−1}, ρ_{n_c} and ‖P_top g‖, ‖P_bulk g‖ over iterations."""
    root = Path(root)
    outs = []
    for ds in datasets(data_root):
        cfg = lowell_config(sz, lr=sz.entry_lr, dataset=ds, data_root=data_root,
                            telemetry_every=sz.entry_every, max_steps=sz.entry_steps,
                            experiment="entry")
        out = root / f"{ds}-h{cfg.hidden}-lr{cfg.lr:g}"
        run_cached(cfg, out, progress=progress)
        entry_figure(Record.load(out), root / f"fig_entry_{ds}.png")
        outs.append(out)
    return outs


def rho_figure(records: list[Record], path: Path, name) -> Path:
    """Left: ρ_i over t for i = 1..n_c (n_c − 1 solid-thick, n_c dashed) per run; right: max
    over telemetry of ρ_i against i, one curve per run, with ρ = 1 (η = η*) and 0.69 marked."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    cmap = plt.get_cmap("tab10")
    for j, r in enumerate(records):
        c = cmap(j % 10)
        nc = int(r.summary["n_classes"])
        t = [p["t"] for p in r.telemetry]
        rho = np.array([p["rho"] for p in r.telemetry])  # (points, k) descending
        for i in range(min(nc + 1, rho.shape[1])):
            style = dict(lw=2.0) if i == nc - 2 else dict(lw=1.0, ls="--") if i == nc - 1 else dict(lw=0.5, alpha=0.5)
            a.plot(t, rho[:, i], color=c, **style, label=f"{name(r)}: ρ_{i + 1}" if i >= nc - 2 else None)
        b.plot(np.arange(1, rho.shape[1] + 1), rho.max(axis=0), "o-", ms=3, color=c,
               label=f"{name(r)} (n_c − 1 = {nc - 1})")
        b.axvline(nc - 1, color=c, ls=":", lw=0.8)
    for ax in (a, b):
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(0.69, color="k", ls=":", lw=0.8)
        ax.legend(fontsize=6)
    a.set_xlabel("t = Σ η")
    a.set_ylabel("ρ_i = η λ_i / 2")
    a.set_title("ρ_{n_c−1} (thick), ρ_{n_c} (dashed), others (thin)", fontsize=9)
    b.set_yscale("log")
    b.set_xlabel("i")
    b.set_ylabel("max over telemetry of ρ_i")
    b.set_title("edge of stability: ρ = 1; L1 threshold 0.69", fontsize=9)
    return plots.save(fig, path)


def entry_figure(r: Record, path: Path) -> Path:
    import matplotlib.pyplot as plt

    nc = int(r.summary["n_classes"])
    pts = r.telemetry
    steps = [p["step"] for p in pts]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    plots.series(a, steps, {f"ρ_{nc - 1}": [p["rho"][nc - 2] for p in pts],
                            f"ρ_{nc}": [p["rho"][nc - 1] for p in pts],
                            "ρ_1": [p["rho"][0] for p in pts]},
                 xlabel="iteration", ylabel="ρ_i", hlines=(1.0, 0.69))
    plots.series(b, steps, {"‖P_top g‖": [p["p_top_norm"] for p in pts],
                            "‖P_bulk g‖": [p["p_bulk_norm"] for p in pts]},
                 xlabel="iteration", ylabel="gradient norm", logy=True)
    fig.suptitle(f"entry capture: {r.summary['dataset']}, η = {r.config['lr']:g}, "
                 f"telemetry every {r.config['telemetry_every']} iterations", fontsize=10)
    return plots.save(fig, path)


def summary_line(d: Path) -> str:
    r = Record.load(d)
    s = r.summary or {}
    nc = int(s.get("n_classes", 0))
    rho = np.array([p["rho"] for p in r.telemetry]) if r.telemetry else np.zeros((0, 0))
    top = (f"max ρ_{nc - 1} {rho[:, nc - 2].max():.3f}, max ρ_{nc} {rho[:, nc - 1].max():.3f}"
           if rho.size and nc >= 2 and rho.shape[1] >= nc else "")
    return (f"{d.name}: η {r.config['lr']:g}, {s.get('stop_reason')} at step {s.get('steps')} "
            f"(t {s.get('t', 0):.3g}), loss {s.get('final_loss', float('nan')):.4g}, "
            f"{len(r.telemetry)} points, {top}")


EXPERIMENTS = {"lr_sweep": lr_sweep, "class_sweep": class_sweep, "entry": entry}
