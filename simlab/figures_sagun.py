"""Sagun et al. 2016's figures from the toy records: histograms of log10|λ| of exact final
spectra, λ > 0 and λ < 0 apart, counts on a log axis (so the bulk at zero, at small |λ|, and the
isolated outliers, at large |λ|, are both resolved; a dotted line marks the near-zero band
|λ| ≤ eps·λ_1 whose mass is S1's near-zero fraction), each panel drawn from the run of its group nearest a critical point (the smallest final
‖g‖; Sagun stopped gradient descent at ‖g‖ ≈ 1e-4), with that ‖g‖ in the panel's title and, in
the reading, how many of the group's runs reached ‖g‖ ≤ 1e-4.

- ``toy_sagun_before_after.png``  spectrum at θ_0 (top) and at the end (bottom) of the
                                   near-critical runs (experiment ``training_spectrum``; Fig. 1)
- ``toy_width_spectra.png``       one panel per blob-net width (``width_sweep``; Fig. 2–3)
- ``toy_sagun_std_spectra.png``   one panel per blob std: less separable data (``std_sweep``; Fig. 4)
- ``toy_sagun_random_vs_real.png`` random inputs beside the same net on real data (Fig. 9)

:func:`sagun_figures` draws every one whose records exist and says why the others were skipped.
Each ``draw_*`` builds the Figure (constrained layout, one legend outside the panels, one bin
grid per figure) and its reading; each ``fig_*`` saves it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.sagun import SAGUN_GRAD_TOL, critical_note
from simlab.claims.verdict import Thresholds
from simlab.plots import figure, legend_outside, log_abs_bins, log_abs_histogram, save
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
    return (f"{head}\n{gs} · near-zero {s['near_zero_fraction']:.2f} · {s['outlier_count']} outliers",
            f"{head}: near-zero {s['near_zero_fraction']:.2f} / {s['outlier_count']} outliers "
            f"/ λ_1 {lam[-1]:.3g} at {gs}")


def _panel(ax, lam: np.ndarray, edges: np.ndarray, th: Thresholds, first: bool) -> None:
    """One log10|λ| histogram with the near-zero band's edge eps·λ_1 (λ_1 from readers.stats)."""
    lam_max = rd.stats(lam, 2, th)["lambda_max"]
    log_abs_histogram(ax, lam, bins=edges, band=th.eps * lam_max if lam_max > 0 else None,
                      labels=first)
    if first:
        ax.set_ylabel("count (log scale)")


def _band_note(th: Thresholds) -> str:
    return f"dotted: |λ| = {th.eps:g}·λ_1 (left of it: near zero)"


def draw_spectra_by(records: Sequence[Record], key: Callable[[Record], object],
                    head: Callable[[object, Record], str], what: str, th: Thresholds = TH):
    """One histogram per value of ``key`` (in sorted order), from that group's nearest-critical
    run (``head(key, run)`` names the panel); the reading lists every panel and the ‖g‖ of all
    the runs. Returns (Figure, reading)."""
    by = rd.by_value([r for r in records if rd.spectrum(r) is not None], key)
    keys = sorted(by, key=lambda k: (k is None, k))
    if not keys:
        raise ValueError(f"{what}: no run with a full final spectrum")
    drawn = [nearest_critical(by[k]) for k in keys]
    edges = log_abs_bins(*[rd.spectrum(r) for r in drawn])
    fig, axes = figure(1, len(keys), panel=(3.3, 2.9), extra_width=1.8, sharey=True)
    parts = []
    for j, (ax, k, r) in enumerate(zip(axes[0], keys, drawn)):
        lam = rd.spectrum(r)
        _panel(ax, lam, edges, th, j == 0)
        title, reading = _title(r, head(k, r), lam, th)
        ax.set_title(title, fontsize=7)
        parts.append(reading)
    legend_outside(fig, axes[0, :1])
    fig.suptitle(f"{what}: final spectra (each panel: the seed nearest a critical point; "
                 f"{_band_note(th)})", fontsize=9)
    runs = [r for k in keys for r in by[k]]
    return fig, f"{what} ({critical_note(runs)}): " + "; ".join(parts)


def fig_spectra_by(records: Sequence[Record], key: Callable[[Record], object],
                   head: Callable[[object, Record], str], path: Path, what: str,
                   th: Thresholds = TH) -> Fig:
    fig, reading = draw_spectra_by(records, key, head, what, th)
    return save(fig, path), reading


def draw_before_after(records: Sequence[Record], th: Thresholds = TH):
    """Sagun Fig. 1: the spectrum at θ_0 (top row) and at the end (bottom row), per run, on
    one bin grid. Returns (Figure, reading)."""
    rs = [r for r in records if rd.spectrum(r) is not None and rd.spectrum(r, "init") is not None]
    if not rs:
        raise ValueError("before/after: no run with both initial and final spectra")
    edges = log_abs_bins(*[rd.spectrum(r, w) for r in rs for w in ("init", "final")])
    fig, axes = figure(2, len(rs), panel=(3.3, 2.8), extra_width=1.8, sharex=True)
    parts = []
    for j, r in enumerate(rs):
        lam0, lam = rd.spectrum(r, "init"), rd.spectrum(r)
        nc = rd.n_classes(r) or 2
        _panel(axes[0, j], lam0, edges, th, j == 0)
        f0 = rd.stats(lam0, nc, th)["near_zero_fraction"]
        axes[0, j].set_title(f"{rd.label(r)}\nat θ_0: near-zero {f0:.2f}", fontsize=7)
        axes[0, j].set_xlabel("")                      # shared with the row below
        _panel(axes[1, j], lam, edges, th, False)
        title, reading = _title(r, "after training", lam, th)
        axes[1, j].set_title(title, fontsize=7)
        parts.append(f"{rd.label(r)}: near-zero {f0:.2f} at θ_0 → {reading}")
    axes[1, 0].set_ylabel("count (log scale)")
    legend_outside(fig, axes[0, :1])
    fig.suptitle(f"spectrum at θ_0 (top) and after training (bottom); {_band_note(th)}",
                 fontsize=9)
    return fig, f"before/after ({critical_note(rs)}): " + "; ".join(parts)


def fig_before_after(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_before_after(records, th)
    return save(fig, path), reading


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
