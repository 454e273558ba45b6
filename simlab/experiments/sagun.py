"""Sagun's grids (``sagun_width``, ``sagun_std``, ``sagun_mse``, ``sagun_random``,
``sagun_critical``): two Gaussian blobs (width and std sweeps, MSE, initialisation
fluctuations) and 784-k-10 on MNIST-1000 vs random inputs, full spectra by dense ``eigh``."""

from __future__ import annotations

from dataclasses import dataclass

from simlab.experiments.run import Run, data_root, fmt


@dataclass(frozen=True)
class SagunSizes:
    blob_steps: int
    blob_widths: tuple[int, ...]
    blob_stds: tuple[float, ...]
    seeds: tuple[int, ...]
    random_steps: int
    random_hidden: int
    random_n: int
    real_data: str              # S7's real inputs: "mnist", "digits" or "auto" (MNIST if on disk)
    critical_widths: tuple[int, ...] = ()
    critical_steps: int = 0


SAGUN = {
    "smoke": SagunSizes(blob_steps=30, blob_widths=(2, 6, 10), blob_stds=(0.5, 1.0, 2.0),
                        seeds=(0, 1), random_steps=10, random_hidden=2, random_n=60,
                        real_data="digits", critical_widths=(2,), critical_steps=40),
    "cpu": SagunSizes(blob_steps=4000, blob_widths=(2, 6, 10, 14, 18), blob_stds=(0.5, 1.0, 2.0),
                      seeds=(0, 1, 2, 3, 4), random_steps=1000, random_hidden=2, random_n=1000,
                      real_data="auto", critical_widths=(6, 10, 18), critical_steps=20000),
}


def _toy(**kw):
    from simlab.toy.run import ToyConfig

    return ToyConfig(**kw)


def _has_mnist(root) -> bool:
    from simlab.paper.common import has_mnist

    return has_mnist(root)


def sagun_runs(s: SagunSizes) -> list[Run]:
    """Blobs (width and std sweeps, ≥ 3 seeds each, MSE, init fluctuations) and 784-k-10 on
    MNIST-1000 vs random inputs. GD at the stable η = 0.1 (λ_1 ≈ 2–4 ≪ 2/η = 20 over these
    iterations) with Sagun's stop rule ‖g‖ ≤ 1e-4; on overlapping blobs ‖g‖ plateaus near 3e-3–7e-3
    while the loss keeps creeping down (measured on h = 10: 40,000 iterations at η = 0.05 gave
    ‖g‖ = 6e-3 and λ_1 rising 3.4 → 9), so the iteration cap ends these runs and each record
    states its final ‖g‖."""
    root = data_root()
    out: list[Run] = []
    blob = dict(dataset="blobs", n_data=1000, lr=0.1, max_steps=s.blob_steps, grad_tol=1e-4)
    seeds3 = s.seeds[:3]
    for seed in seeds3:
        for h in s.blob_widths:
            out.append(Run(f"toy/sagun_width/h{h}_s{seed}", "sagun_width", "toy",
                           _toy(**blob, hidden=h, seed=seed, experiment="width_sweep"),
                           ("S1", "S2", "S5", "S6", "F1", "F2"), 0.5 + 0.02 * h * h))
        for std in s.blob_stds:
            out.append(Run(f"toy/sagun_std/std{fmt(std)}_s{seed}", "sagun_std", "toy",
                           _toy(**blob, hidden=10, std=std, seed=seed, experiment="std_sweep"),
                           ("S3",), 3))
    for seed in s.seeds:
        out.append(Run(f"toy/sagun_std/fluct_s{seed}", "sagun_std", "toy",
                       _toy(**blob, hidden=10, seed=seed, experiment="fluctuation"), ("S3", "S7"), 3))
    out.append(Run("toy/sagun_mse/h10", "sagun_mse", "toy",
                   _toy(**blob, hidden=10, loss="mse", experiment="mse"), ("S4",), 3))
    real = s.real_data if s.real_data != "auto" else ("mnist" if _has_mnist(root) else "digits")
    mn = dict(n_data=s.random_n, hidden=s.random_hidden, depth=1, lr=0.1,
              max_steps=s.random_steps, grad_tol=1e-4,
              telemetry_every=max(1, s.random_steps // 4))
    out.append(Run("toy/sagun_random/random", "sagun_random", "toy",
                   _toy(dataset="random", classes=10, input_dim=784 if real == "mnist" else 64,
                        **mn, experiment="random_inputs"), ("S7",), 60))
    real_kw = dict(data_root=root) if real == "mnist" else {}
    # near-critical points (S6, F2 need ‖g‖ ≤ 1e-3): separable blobs (std 0.5; on std 1 ‖g‖
    # plateaus at 3e-3) and the 784-2-10 net trained 10× longer; experiment "training_spectrum"
    # (full spectra at 41 points of training; a Sagun experiment, not read as a Lowell run)
    for h in s.critical_widths:
        out.append(Run(f"toy/sagun_critical/blobs_std0.5_h{h}", "sagun_critical", "toy",
                       _toy(**{**blob, "max_steps": s.critical_steps}, hidden=h, std=0.5,
                            experiment="training_spectrum"), ("S1", "S5", "S6", "F2"), 60))
    out.append(Run(f"toy/sagun_critical/{real}_h{s.random_hidden}", "sagun_critical", "toy",
                   _toy(dataset=real, **real_kw, **{**mn, "max_steps": s.critical_steps,
                                                     "telemetry_every": s.critical_steps // 10},
                        experiment="training_spectrum"), ("S1", "S5", "S6", "F2"), 120))
    for seed in seeds3:
        out.append(Run(f"toy/sagun_random/{real}_s{seed}", "sagun_random", "toy",
                       _toy(dataset=real, **real_kw, **mn, seed=seed,
                            experiment="toy" if seed == 0 else "fluctuation"),
                       ("S7",), 60))
    return out
