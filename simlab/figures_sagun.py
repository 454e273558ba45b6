"""Sagun et al. 2016's figures from the toy records: histograms (log counts) of exact final
spectra, each panel drawn from the run of its group nearest a critical point (the smallest final
‖g‖; Sagun stopped gradient descent at ‖g‖ ≈ 1e-4), with that ‖g‖ in the panel's title and, in
the reading, how many of the group's runs reached ‖g‖ ≤ 1e-4.

- ``toy_sagun_before_after.png``  spectrum at θ_0 (top) and at the end (bottom) of the
                                   near-critical runs (experiment ``training_spectrum``; Fig. 1)
- ``toy_width_spectra.png``       one panel per blob-net width (``width_sweep``; Fig. 2–3)
- ``toy_sagun_std_spectra.png``   one panel per blob std: less separable data (``std_sweep``; Fig. 4)
- ``toy_sagun_random_vs_real.png`` random inputs beside the same net on real data (Fig. 9)

:func:`sagun_figures` draws every one whose records exist and says why the others were skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.sagun import SAGUN_GRAD_TOL, critical_note
from simlab.claims.verdict import Thresholds
from simlab.plots import plt, save, spectrum_histogram
from simlab.record import Record

TH = Thresholds()
Fig = tuple[Path, str]


def nearest_critical(rs: Sequence[Record]) -> Record:
    """The run with the smallest final ‖g‖ (runs without one last)."""
    return min(rs, key=lambda r: (rd.grad_norm(r) is None, rd.grad_norm(r) or 0.0))


def _std(r: Record) -> str:
    """", std x" for a blob run, "" otherwise."""
    std = rd.field_value(r, "blob_std")
    return "" if std is None else f", std {float(std):g}"


def _title(r: Record, head: str, lam: np.ndarray, th: Thresholds) -> tuple[str, str]:
    """A panel title and its reading: ‖g‖ (marked when ≤ 1e-4), near-zero fraction, outliers."""
    g = rd.grad_norm(r)
    s = rd.stats(lam, rd.n_classes(r) or 2, th)
    gs = "‖g‖ n/a" if g is None else f"‖g‖ = {g:.1e}" + (" ✓" if g <= SAGUN_GRAD_TOL else "")
    return (f"{head}\n{gs}, near-zero {s['near_zero_fraction']:.2f}, {s['outlier_count']} outliers",
            f"{head}: near-zero {s['near_zero_fraction']:.2f} / {s['outlier_count']} outliers "
            f"/ λ_1 {lam[-1]:.3g} at {gs}")


def fig_spectra_by(records: Sequence[Record], key: Callable[[Record], object],
                   head: Callable[[object, Record], str], path: Path, what: str,
                   th: Thresholds = TH) -> Fig:
    """One histogram per value of ``key`` (in sorted order), from that group's nearest-critical
    run (``head(key, run)`` names the panel); the reading lists every panel and the ‖g‖ of all
    the runs."""
    by = rd.by_value([r for r in records if rd.spectrum(r) is not None], key)
    keys = sorted(by, key=lambda k: (k is None, k))
    if not keys:
        raise ValueError(f"{what}: no run with a full final spectrum")
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.2), squeeze=False)
    parts = []
    for ax, k in zip(axes[0], keys):
        r = nearest_critical(by[k])
        lam = rd.spectrum(r)
        spectrum_histogram(ax, lam, bins=40)
        title, reading = _title(r, head(k, r), lam, th)
        ax.set_title(title, fontsize=7)
        parts.append(reading)
    fig.suptitle(f"{what}: final spectra (each panel: the seed nearest a critical point)",
                 fontsize=9, y=1.1)
    runs = [r for k in keys for r in by[k]]
    return save(fig, path), f"{what} ({critical_note(runs)}): " + "; ".join(parts)


def fig_before_after(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    """Sagun Fig. 1: the spectrum at θ_0 (top row) and at the end (bottom row), per run."""
    rs = [r for r in records if rd.spectrum(r) is not None and rd.spectrum(r, "init") is not None]
    if not rs:
        raise ValueError("before/after: no run with both initial and final spectra")
    fig, axes = plt.subplots(2, len(rs), figsize=(3.2 * len(rs), 6.6), squeeze=False)
    fig.subplots_adjust(hspace=0.6)
    parts = []
    for j, r in enumerate(rs):
        lam0, lam = rd.spectrum(r, "init"), rd.spectrum(r)
        nc = rd.n_classes(r) or 2
        spectrum_histogram(axes[0, j], lam0, bins=40, color="tab:gray")
        f0 = rd.stats(lam0, nc, th)["near_zero_fraction"]
        axes[0, j].set_title(f"{rd.label(r)}\nat θ_0: near-zero {f0:.2f}", fontsize=7)
        spectrum_histogram(axes[1, j], lam, bins=40)
        title, reading = _title(r, "after training", lam, th)
        axes[1, j].set_title(title, fontsize=7)
        parts.append(f"{rd.label(r)}: near-zero {f0:.2f} at θ_0 → {reading}")
    return save(fig, path), f"before/after ({critical_note(rs)}): " + "; ".join(parts)


def sagun_figures(records: Sequence[Record], out: Path,
                  th: Thresholds = TH) -> list[tuple[Path | None, str]]:
    """Every Sagun figure of the report from the valid toy records: (png, reading) pairs, or
    (None, why it was skipped)."""
    out = Path(out)
    toy = [r for r in rd.split_valid(records)[0] if rd.regime(r) == "toy"
           and rd.spectrum(r) is not None]
    made: list[tuple[Path | None, str]] = []
    crit = rd.of_experiment(toy, "training_spectrum")
    made.append(fig_before_after(crit, out / "toy_sagun_before_after.png", th)
                if any(rd.spectrum(r, "init") is not None for r in crit) else
                (None, "Sagun before/after skipped: no training_spectrum run with both spectra"))
    ws = rd.of_experiment(toy, "width_sweep")
    made.append(fig_spectra_by(ws, lambda r: int(rd.spectrum(r).size),
                               lambda k, r: f"{k} params" + _std(r),
                               out / "toy_width_spectra.png",
                               "width sweep", th) if ws else
                (None, "Sagun width spectra skipped: no toy width_sweep run with a spectrum"))
    ss = [r for r in rd.of_experiment(toy, "std_sweep") if rd.field_value(r, "blob_std") is not None]
    made.append(fig_spectra_by(ss, lambda r: float(rd.field_value(r, "blob_std")),
                               lambda k, r: f"blob std {k:g} ({rd.spectrum(r).size} params)",
                               out / "toy_sagun_std_spectra.png", "std sweep", th) if ss else
                (None, "Sagun std spectra skipped: no toy std_sweep run with a spectrum"))
    rand = [r for r in toy if rd.is_random_input(r)]
    arch = {(rd.hashable(rd.field_value(r, "hidden")), rd.n_classes(r)) for r in rand}
    real = [r for r in rd.of_experiment(toy, *rd.SAGUN_EXPERIMENTS) if not rd.is_random_input(r)
            and rd.field_value(r, "dataset") in ("mnist", "digits")
            and (rd.hashable(rd.field_value(r, "hidden")), rd.n_classes(r)) in arch]
    made.append(fig_spectra_by(rand + real, lambda r: "random inputs" if rd.is_random_input(r)
                               else str(rd.field_value(r, "dataset")),
                               lambda k, r: f"{k} ({rd.spectrum(r).size} params)",
                               out / "toy_sagun_random_vs_real.png", "random vs real inputs", th)
                if rand and real else
                (None, "Sagun random-vs-real spectra skipped: no random-input run with a "
                       "real-data run of the same net"))
    return made
