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


# ---------------------------------------------------------------------------- what the figures draw


def hists(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_spectra_panels_resolve_the_bulk_and_the_outliers_with_signs_apart(lab):
    from test_claims_figures import check_layout, data_axes

    ws = [lab("width_sweep", hidden=h, seed=0, std=0.5, summary=spec_summary(
        bulk_outliers([10.0, 8.0], n - 2, seed=h, neg=-1e-5), final_grad_norm=8e-5))
        for h, n in ((2, 18), (6, 74), (10, 162))]
    fig, reading = figures_sagun.draw_spectra_by(
        ws, lambda r: len(r.summary["eigenvalues"]), lambda k, r: f"{k} params", "width sweep", TH)
    panels = data_axes(fig)
    assert [ax.get_title().split("\n")[0] for ax in panels] == ["18 params", "74 params", "162 params"]
    for ax, r in zip(panels, ws):
        assert len(hists(ax, "hist_pos")) == 1 and len(hists(ax, "hist_neg")) == 1
        assert ax.get_xlabel() == "log10 |λ|" and ax.get_yscale() == "log"
        lo, hi = ax.get_xlim()
        assert lo <= np.log10(1e-9) - 1 and np.log10(10.0) <= hi   # the bulk and the outliers
        # the near-zero band's edge is eps·λ_1: S1's near-zero fraction is the mass left of it
        (band,) = [ln for ln in ax.get_lines() if ln.get_gid() == "band"]
        assert band.get_xdata()[0] == pytest.approx(np.log10(TH.eps * 10.0))
    # the counts drawn are the spectrum's, λ > 0 and λ < 0 apart, on the panel's bins
    lam = np.asarray(ws[1].summary["eigenvalues"])
    edges = np.linspace(*panels[1].get_xlim(), 41)
    for gid, part in (("hist_pos", lam[lam > 0]), ("hist_neg", -lam[lam < 0])):
        counts, _ = np.histogram(np.clip(np.log10(part), edges[0], edges[-1]), bins=edges)
        drawn = set(np.round(hists(panels[1], gid)[0].get_path().vertices[:, 1], 6))
        assert {float(c) for c in counts if c} <= drawn, gid
    check_layout(fig)
    assert "74 params: near-zero" in reading


def test_before_after_has_two_rows_on_one_bin_grid_without_overlaps(lab):
    from test_claims_figures import check_layout, data_axes

    rng = np.random.default_rng(0)
    crit = [lab("training_spectrum", hidden=h, summary=spec_summary(
        bulk_outliers([3.0, 1.0], 15 * h - 2), final_grad_norm=9e-5,
        eigenvalues_init=list(np.sort(rng.standard_normal(15 * h))))) for h in (6, 10, 18, 4)]
    fig, reading = figures_sagun.draw_before_after(crit, TH)
    panels = data_axes(fig)
    assert len(panels) == 2 * len(crit)
    assert len({ax.get_xlim() for ax in panels}) == 1              # one bin grid
    tops = [ax for ax in panels if "at θ_0" in ax.get_title()]
    assert len(tops) == len(crit) and all(hists(ax, "hist_neg") for ax in tops)
    check_layout(fig)
