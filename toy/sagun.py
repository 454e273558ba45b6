"""Sagun, Bottou & LeCun 2016 in the toy regime: the figures of the paper's experiments, and
three toy-only experiments, each a function ``experiment(root, sizes, ...) -> record dirs``
that also draws its figure.

The width, std, MSE and random-input grids (the claims' inputs) are declared in
:mod:`simlab.paper.experiments` and run by :mod:`simlab.toy.experiments`; their figures are drawn
here (:func:`width_figure`, :func:`std_figure`, :func:`overlay_figure`). Toy-only (sized by
:data:`simlab.toy.grid.SIZES`):

=================  =====================================================  ==============
experiment         what                                                    claims
=================  =====================================================  ==============
training_spectrum  full spectrum at several points of training             S1 S5 S6
fluctuation        λ_1 after GD from many random initialisations           S3 S7 (spread)
interpolation      loss on the line GD↔SGD (same start), GD↔GD (two starts)  outlook
=================  =====================================================  ==============

All spectra are exact (dense float64 Hessians). GD is :func:`simlab.toy.grid.gd`, the trainer's
loop, stopped at ‖g‖ ≤ 1e-4 (Sagun) or the preset's iteration cap; every summary says which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from simlab import plots
from simlab.record import Record, RecordWriter, write_json
from simlab.toy.grid import Sizes, blob_config, fresh, gd, load_summary, run_cached, sgd
from simlab.spectrum import full_spectrum
from simlab.toy.run import ToyConfig, build

# ============================================================================ width sweep


def common_bins(records: list[Record], n: int = 80) -> np.ndarray:
    """One set of histogram bins spanning every record's final spectrum (overlays compare)."""
    lo = min(min(r.summary["eigenvalues"]) for r in records)
    hi = max(max(r.summary["eigenvalues"]) for r in records)
    return np.linspace(lo, hi if hi > lo else lo + 1.0, n + 1)


def width_figure(records: list[Record], path: Path, *, title: str = "") -> Path:
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    cmap = plt.get_cmap("viridis")
    n_params, frac = [], []
    bins = common_bins(records)
    for i, r in enumerate(records):
        lam = np.asarray(r.summary["eigenvalues"])
        plots.spectrum_histogram(a, lam, bins=bins, alpha=0.45, color=cmap(i / max(len(records) - 1, 1)),
                                 label=f"h={r.summary['widths'][0]} ({lam.size} params)")
        n_params.append(lam.size)
        frac.append(r.summary["near_zero_fraction"])
    a.legend(fontsize=7)
    a.set_title("eigenvalues after training", fontsize=9)
    b.plot(n_params, frac, "o-")
    eps = records[0].summary.get("eps", 1e-3)
    b.set_xlabel("parameters")
    b.set_ylabel(f"fraction with |λ| ≤ {eps:g}·λ_max")
    b.set_title("mass at zero against width", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return plots.save(fig, path)


# ============================================================================ spectrum during training


def replay_gd(land, lr: float, steps: list[int]) -> dict[int, torch.Tensor]:
    """θ at the given steps of constant-step GD from the landscape's θ_0, replayed by the trainer
    itself (:func:`simlab.toy.grid.gd`, i.e. :func:`simlab.trainer.train`) from one wanted step
    to the next: the run's own update θ ← θ − η ∇L(θ), so the same bits. A stretch that stops
    early (‖g‖ = 0 or divergence) raises: its θ would not be the run's."""
    out, theta, at = {}, land.theta0.detach().clone(), 0
    for step in sorted(set(steps)):
        if step > at:
            theta, info = gd(land, theta, lr=lr, max_steps=step - at)
            if info["steps"] != step - at:
                raise RuntimeError(f"replaying GD stopped at step {at + info['steps']} "
                                   f"({info['stop_reason']}) before step {step}")
            at = step
        out[step] = theta
    return out


def training_spectrum(root: Path, sz: Sizes, *, progress: bool = False) -> list[Path]:
    """One blob run with ``sz.spectrum_points`` telemetry points (each with the statistics of
    the full spectrum); the full spectrum itself at every telemetry step and at
    ``sz.spectrum_points`` geometrically spaced steps is stored in arrays.npz as
    ``spectrum_step_N`` (recomputed by replaying GD to step N, checked against the run's final
    weights bit for bit). Figure: sorted eigenvalues at each of those steps."""
    root = Path(root)
    every = max(sz.blob_steps // sz.spectrum_points, 1)
    cfg = blob_config(sz, telemetry_every=every, experiment="training_spectrum")
    out = root / f"blobs-h{cfg.hidden}"
    summary = run_cached(cfg, out, progress=progress)
    if "spectrum_steps" not in summary:
        rec = Record.load(out)
        steps = [int(p["step"]) for p in rec.telemetry]
        # the telemetry points, plus geometrically spaced steps: the spectrum moves fastest early
        steps += [int(x) for x in np.geomspace(1, max(steps[-1], 1), sz.spectrum_points)]
        land, _ = build(cfg)
        thetas = replay_gd(land, cfg.lr, steps)
        if not torch.equal(thetas[max(steps)], rec.weights().to(thetas[max(steps)].dtype)):
            raise RuntimeError("replayed GD does not reproduce the run's final θ; the spectra "
                               "during training would not be those of this run")
        spectra = {f"spectrum_step_{s}": full_spectrum(land.hessian(th))[0]
                   for s, th in thetas.items()}
        RecordWriter(out, cfg, resume=True).save_arrays(spectra)
        summary["spectrum_steps"] = sorted(thetas)
        write_json(out / "summary.json", summary)
    spectrum_figure(Record.load(out), root / "fig_training_spectrum.png")
    return [out]


def spectrum_figure(r: Record, path: Path) -> Path:
    import matplotlib.pyplot as plt

    arr = r.arrays()
    steps = r.summary["spectrum_steps"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    cmap = plt.get_cmap("plasma")
    for i, s in enumerate(steps):
        lam = np.sort(arr[f"spectrum_step_{s}"])[::-1]
        c = cmap(i / max(len(steps) - 1, 1))
        a.plot(np.arange(1, lam.size + 1), lam, color=c, lw=1.2, label=f"step {s}")
        lmax = lam[0]
        b.plot([s], [np.mean(np.abs(lam) <= r.summary.get("eps", 1e-3) * lmax)], "o", color=c)
    a.set_yscale("symlog", linthresh=1e-3)
    a.set_xlabel("index i (descending)")
    a.set_ylabel("λ_i")
    a.legend(fontsize=7)
    a.set_title("sorted eigenvalues during training", fontsize=9)
    b.set_xscale("symlog", linthresh=1)
    b.set_xlabel("GD step")
    b.set_ylabel("near-zero fraction")
    b.set_title("mass at zero during training", fontsize=9)
    fig.suptitle(f"{r.summary['dataset']}, widths {r.summary['widths']}, "
                 f"{r.summary['n_params']} parameters, η = {r.summary['lr']:g}", fontsize=10)
    return plots.save(fig, path)


# ============================================================================ fluctuation


@dataclass(frozen=True)
class FluctuationConfig(ToyConfig):
    """GD from ``inits`` initialisations (seeds first_seed, first_seed + 1, ...) on one fixed
    data draw (``data_seed``); the other fields describe each run."""

    inits: int = 60
    first_seed: int = 0


def train_and_measure(cfg: ToyConfig) -> dict:
    """GD under ``cfg`` (no telemetry), then the exact spectrum at the end."""
    land, info = build(cfg)
    theta, res = gd(land, land.theta0, lr=cfg.lr, max_steps=cfg.max_steps, grad_tol=cfg.grad_tol)
    lam, _ = full_spectrum(land.hessian(theta))
    return {"lam": lam, "theta": theta, "land": land, "info": info, **res}


def fluctuation(root: Path, sz: Sizes, *, inits: int | None = None,
                progress: bool = False) -> list[Path]:
    """λ_1 after GD from ``inits`` random initialisations of the blob net on one data draw.
    Summary ``top_eigenvalues`` (the list, one per init), their mean and std; arrays.npz keeps
    every final spectrum (``spectra``, one row per init). Figure: histogram of λ_1."""
    root = Path(root)
    n = inits if inits is not None else sz.inits
    base = blob_config(sz, experiment="fluctuation", data_seed=0)
    cfg = FluctuationConfig(**{**base.__dict__, "inits": n})
    out = root / f"blobs-h{cfg.hidden}-inits{n}"
    if load_summary(out) is None:
        fresh(out)
        writer = None
        rows = []
        it = range(cfg.first_seed, cfg.first_seed + n)
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it, desc="fluctuation", leave=False)
        for seed in it:
            res = train_and_measure(replace(base, seed=seed))
            if writer is None:
                writer = RecordWriter(out, cfg, meta={"regime": "toy", "experiment": "fluctuation",
                                                      "data": res["info"]})
            rows.append(res)
        spectra = np.stack([r["lam"] for r in rows])
        top = spectra[:, -1]
        writer.save_arrays({"spectra": spectra, "top_eigenvalues": top})
        writer.write_summary({
            "experiment": "fluctuation", "inits": n, "seeds": list(range(cfg.first_seed, cfg.first_seed + n)),
            "n_params": int(spectra.shape[1]), "dataset": rows[0]["info"]["name"],
            "n_data": rows[0]["info"]["n_data"], "n_classes": rows[0]["info"]["n_classes"],
            "top_eigenvalues": top.tolist(), "top_eigenvalue_mean": float(top.mean()),
            "top_eigenvalue_std": float(top.std(ddof=1)) if n > 1 else None,
            "final_losses": [r["loss"] for r in rows],
            "final_grad_norms": [r["grad_norm"] for r in rows],
            "stop_reasons": sorted({r["stop_reason"] for r in rows}),
            "theta_norms": [float(torch.linalg.vector_norm(r["theta"])) for r in rows],
        })
    fluctuation_figure(Record.load(out), root / "fig_fluctuation.png")
    return [out]


def fluctuation_figure(r: Record, path: Path) -> Path:
    import matplotlib.pyplot as plt

    top = np.asarray(r.summary["top_eigenvalues"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(top, bins=max(5, min(40, top.size // 3)), color="tab:blue", alpha=0.8)
    ax.set_xlabel("λ_1 after training")
    ax.set_ylabel("initialisations")
    std = r.summary.get("top_eigenvalue_std")
    ax.set_title(f"top eigenvalue over {top.size} initialisations: mean {top.mean():.3g}"
                 + (f", std {std:.3g}" if std is not None else ""), fontsize=9)
    return plots.save(fig, path)


# ============================================================================ std sweep


def std_figure(records: list[Record], path: Path) -> Path:
    import matplotlib.pyplot as plt

    by: dict[float, list[Record]] = {}
    for r in records:
        by.setdefault(float(r.config["std"]), []).append(r)
    stds = sorted(by)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for i in range(3):
        vals = [[np.sort(r.summary["eigenvalues"])[::-1][i] for r in by[s]] for s in stds]
        a.errorbar(stds, [np.mean(v) for v in vals], yerr=[np.std(v) for v in vals], fmt="o-",
                   label=f"λ_{i + 1}", capsize=3)
    a.set_xlabel("blob standard deviation")
    a.set_ylabel("eigenvalue (mean ± std over seeds)")
    a.legend(fontsize=8)
    a.set_title("top eigenvalues vs separability", fontsize=9)
    norms = [[r.summary["theta_norm"] for r in by[s]] for s in stds]
    b.errorbar(stds, [np.mean(v) for v in norms], yerr=[np.std(v) for v in norms], fmt="s-",
               color="tab:red", capsize=3)
    b.set_xlabel("blob standard deviation")
    b.set_ylabel("‖θ‖ after training")
    b.set_title("weight norm", fontsize=9)
    return plots.save(fig, path)


# ============================================================================ MSE, random inputs


def overlay_figure(records: list[Record], path: Path, name, *, title: str = "") -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = common_bins(records)
    for r in records:
        plots.spectrum_histogram(ax, r.summary["eigenvalues"], bins=bins, alpha=0.45,
                                 label=f"{name(r)}: λ_1={r.summary['lambda_max']:.3g}, "
                                       f"outliers {r.summary['outlier_count']}")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return plots.save(fig, path)


# ============================================================================ interpolation


@dataclass(frozen=True)
class InterpolationConfig(ToyConfig):
    """Two lines θ(α) = (1 − α) θ_a + α θ_b: GD ↔ SGD from the start of ``seed``; GD ↔ GD from
    the starts of ``seed`` and ``other_seed``. SGD: ``sgd_steps`` steps of batch ``sgd_batch``
    at the same η, shuffled with ``sgd_seed``."""

    other_seed: int = 1
    sgd_batch: int = 50
    sgd_steps: int = 2000
    sgd_seed: int = 0
    n_alpha: int = 41
    alpha_min: float = -0.5
    alpha_max: float = 1.5


def alpha_grid(cfg: InterpolationConfig) -> np.ndarray:
    """``n_alpha`` evenly spaced α on [alpha_min, alpha_max], with 0 and 1 included exactly."""
    a = np.linspace(cfg.alpha_min, cfg.alpha_max, cfg.n_alpha)
    return np.unique(np.concatenate([a, [0.0, 1.0]]))


def line_losses(land, a: torch.Tensor, b: torch.Tensor, alphas: np.ndarray) -> list[float]:
    """L((1 − α) a + α b) for each α (at α = 0 and 1 exactly L(a) and L(b))."""
    return [land.loss((1.0 - float(t)) * a + float(t) * b) for t in alphas]


def interpolation(root: Path, sz: Sizes, *, progress: bool = False) -> list[Path]:
    """The outlook experiment of Sagun et al.: is the straight line between two solutions flat?
    Summary: α grid, the losses on both lines, each endpoint's loss and the barrier
    max_{α∈[0,1]} L − max(L(θ_a), L(θ_b)). Figure: loss along both lines."""
    root = Path(root)
    base = blob_config(sz, experiment="interpolation")
    cfg = InterpolationConfig(**{**base.__dict__, "sgd_batch": sz.sgd_batch,
                                 "sgd_steps": sz.sgd_steps, "n_alpha": sz.n_alpha})
    out = root / f"blobs-h{cfg.hidden}"
    if load_summary(out) is None:
        land, info = build(cfg)
        other, _ = build(replace(base, seed=cfg.other_seed, data_seed=cfg.seed))
        theta_gd, res_gd = gd(land, land.theta0, lr=cfg.lr, max_steps=cfg.max_steps,
                              grad_tol=cfg.grad_tol)
        theta_sgd = sgd(land, land.theta0, lr=cfg.lr, batch=cfg.sgd_batch, steps=cfg.sgd_steps,
                        seed=cfg.sgd_seed)
        theta_other, res_other = gd(land, other.theta0, lr=cfg.lr, max_steps=cfg.max_steps,
                                    grad_tol=cfg.grad_tol)
        alphas = alpha_grid(cfg)
        same = line_losses(land, theta_gd, theta_sgd, alphas)
        diff = line_losses(land, theta_gd, theta_other, alphas)
        inside = (alphas >= 0) & (alphas <= 1)

        def barrier(vals, la, lb):
            return float(np.max(np.asarray(vals)[inside]) - max(la, lb))

        l_gd, l_sgd, l_other = land.loss(theta_gd), land.loss(theta_sgd), land.loss(theta_other)
        writer = RecordWriter(fresh(out), cfg, meta={"regime": "toy", "experiment": "interpolation",
                                                     "data": info})
        writer.save_arrays({"alphas": alphas, "loss_gd_sgd": np.asarray(same),
                            "loss_two_starts": np.asarray(diff), "theta_gd": theta_gd.numpy(),
                            "theta_sgd": theta_sgd.numpy(), "theta_other": theta_other.numpy()})
        writer.write_summary({
            "experiment": "interpolation", "n_params": land.n_params, "dataset": info["name"],
            "n_data": info["n_data"], "n_classes": info["n_classes"],
            "alphas": alphas.tolist(), "loss_gd_sgd": same, "loss_two_starts": diff,
            "loss_gd": l_gd, "loss_sgd": l_sgd, "loss_other": l_other,
            "gd": res_gd, "other_gd": res_other,
            "grad_norm_sgd": float(torch.linalg.vector_norm(land.grad(theta_sgd))),
            "distance_gd_sgd": float(torch.linalg.vector_norm(theta_gd - theta_sgd)),
            "distance_two_starts": float(torch.linalg.vector_norm(theta_gd - theta_other)),
            "barrier_gd_sgd": barrier(same, l_gd, l_sgd),
            "barrier_two_starts": barrier(diff, l_gd, l_other),
        })
    interpolation_figure(Record.load(out), root / "fig_interpolation.png")
    return [out]


def interpolation_figure(r: Record, path: Path) -> Path:
    import matplotlib.pyplot as plt

    s = r.summary
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(s["alphas"], s["loss_gd_sgd"], "o-", ms=3,
            label=f"GD → SGD, same start (barrier {s['barrier_gd_sgd']:.3g})")
    ax.plot(s["alphas"], s["loss_two_starts"], "s-", ms=3,
            label=f"GD → GD, two starts (barrier {s['barrier_two_starts']:.3g})")
    for x in (0, 1):
        ax.axvline(x, color="k", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("α   (θ = (1 − α) θ_GD + α θ_other)")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    ax.set_title(f"loss along straight lines between solutions ({s['n_params']} parameters)",
                 fontsize=9)
    return plots.save(fig, path)


def summary_line(d: Path) -> str:
    s = load_summary(d) or {}
    if "eigenvalues" in s:
        return (f"{d.name}: {s['n_params']} params, {s['stop_reason']} at step {s['steps']}, "
                f"loss {s['final_loss']:.4g}, ‖g‖ {s['final_grad_norm']:.2g}, "
                f"λ_1 {s['lambda_max']:.4g}, near-zero {s['near_zero_fraction']:.3f}, "
                f"outliers {s['outlier_count']}")
    if "top_eigenvalues" in s:
        return (f"{d.name}: λ_1 over {s['inits']} inits: mean {s['top_eigenvalue_mean']:.4g} "
                f"std {s['top_eigenvalue_std']}, stop {s['stop_reasons']}")
    if "barrier_gd_sgd" in s:
        return (f"{d.name}: barrier GD↔SGD {s['barrier_gd_sgd']:.3g}, "
                f"GD↔GD (two starts) {s['barrier_two_starts']:.3g}")
    return f"{d.name}: {json.dumps(s)[:100]}"


EXPERIMENTS = {"training_spectrum": training_spectrum, "fluctuation": fluctuation,
               "interpolation": interpolation}

__all__ = ["EXPERIMENTS", "FluctuationConfig", "InterpolationConfig", "summary_line"]
