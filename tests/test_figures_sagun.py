"""Sagun's figures draw, per group, the run nearest a critical point and say its ‖g‖ (hand-made
records)."""

from __future__ import annotations

import numpy as np
import pytest

from simlab import figures_sagun
from simlab.claims import Thresholds
from test_claims import Lab, bulk_outliers, spec_summary

TH = Thresholds()


@pytest.fixture
def lab(tmp_path):
    return Lab(tmp_path / "runs")


def test_each_panel_is_the_nearest_critical_seed(lab, tmp_path):
    ws = []
    for h, n in ((2, 18), (6, 74)):
        for seed, g in ((0, 3e-3), (1, 8e-5), (2, 2e-4)):
            # seed 1 (the near-critical one) has 3 outliers, the others 2
            out = [10.0, 8.0, 5.0] if seed == 1 else [10.0, 8.0]
            ws.append(lab("width_sweep", hidden=h, seed=seed, std=0.5, summary=spec_summary(
                bulk_outliers(out, n - len(out), seed=seed), final_grad_norm=g)))
    path, reading = figures_sagun.fig_spectra_by(
        ws, lambda r: len(r.summary["eigenvalues"]), lambda k, r: f"{k} params",
        tmp_path / "w.png", "width sweep", TH)
    assert path.exists()
    assert reading.startswith("width sweep (at ‖g‖ 8e-05…0.003 (6 runs); ‖g‖ ≤ 0.0001 in 2 of 6)")
    assert "18 params: near-zero 0.83 / 3 outliers / λ_1 10 at ‖g‖ = 8.0e-05 ✓" in reading
    assert "74 params: near-zero 0.96 / 3 outliers" in reading
    assert figures_sagun.nearest_critical(ws[:3]) is ws[1]


def test_sagun_figures_draw_what_exists_and_say_why_not(lab, tmp_path):
    rng = np.random.default_rng(0)
    crit = lab("training_spectrum", hidden=6, summary=spec_summary(
        bulk_outliers([3.0, 1.0], 72), final_grad_norm=9e-5,
        eigenvalues_init=list(np.sort(rng.standard_normal(74)))))
    std = [lab("std_sweep", hidden=10, std=s, seed=0, summary=spec_summary(
        bulk_outliers([2.0 * s, 1.0], 160), final_grad_norm=2e-3)) for s in (0.5, 1.0, 2.0)]
    out = figures_sagun.sagun_figures([crit, *std], tmp_path / "figs", TH)
    made = {p.name: why for p, why in out if p is not None}
    skipped = [why for p, why in out if p is None]
    assert set(made) == {"toy_sagun_before_after.png", "toy_sagun_std_spectra.png"}
    assert "near-zero 0.97 / 2 outliers / λ_1 3 at ‖g‖ = 9.0e-05 ✓" in made["toy_sagun_before_after.png"]
    assert "blob std 0.5 (162 params)" in made["toy_sagun_std_spectra.png"]
    assert "‖g‖ ≤ 0.0001 in 0 of 3" in made["toy_sagun_std_spectra.png"]
    assert any(w.startswith("Sagun width spectra skipped") for w in skipped)
    assert any(w.startswith("Sagun random-vs-real spectra skipped") for w in skipped)
