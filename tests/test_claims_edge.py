"""Where a run was relative to the edge (CLAIMS.md, "[L] when a run can test a claim about the
edge") and Lowell's L1–L7, L10 on hand-made records: every scope gate gives ``not applicable``
with its deciding number, never ``fails``; settings are judged on the median over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlab.claims import Thresholds, evaluate_claim, readers
from simlab.record import Record, RecordWriter

TH = Thresholds()


@pytest.fixture
def lab(tmp_path):
    n = [0]

    def make(experiment, *, regime="toy", telemetry=(), summary=None, name=None, **config):
        n[0] += 1
        path = tmp_path / (name or f"{experiment}_{n[0]}")
        config.setdefault("n_classes", 3)
        config.setdefault("lr", 0.5)
        config.setdefault("dataset", "cifar8")
        w = RecordWriter(path, config, meta={"regime": regime, "experiment": experiment,
                                             "data": {"name": config["dataset"]}})
        for p in telemetry:
            w.append(p)
        w.write_summary(summary if summary is not None else
                        {"stop_reason": "target_loss", "valid": True, "steps": len(telemetry)})
        return Record.load(path)

    return make


def tel(rows, every=1, **extra):
    """Telemetry at steps 0, every, 2·every, … with the given ρ vectors (descending)."""
    return [{"step": every * i, "rho": list(r), **extra} for i, r in enumerate(rows)]


ON = [1.05, 0.9, 0.1, 0.05]      # n_c = 3: ρ_1, ρ_2 on the edge, ρ_3 off (ratio 9)
OFF = [0.5, 0.4, 0.1, 0.05]
NEAR = [0.95, 0.9, 0.1, 0.05]    # on the edge by ρ_1 ≥ 0.8 but never crossed 1


def seeds(lab, experiment, rows, n=3, **config):
    return [lab(experiment, telemetry=tel(rows), seed=s, name=f"{experiment}_{config.get('lr', 0.5)}_s{s}",
                **config) for s in range(n)]


# ----------------------------------------------------------------------------- the edge


def test_never_crossing_rho_1_of_1_is_not_the_edge_however_long(lab):
    r = lab("toy", telemetry=tel([OFF] + [NEAR] * 40))
    e = readers.edge(r, TH)
    assert not e.crossed and not e.reached and e.max_rho_1 == pytest.approx(0.95)
    v = evaluate_claim("L1", [r], TH)
    assert v.status == "not applicable"
    assert "never crossed ρ_1 = 1 (max ρ_1 = 0.95" in v.reason


def test_entering_at_rho_1_then_on_edge_points_count_at_08(lab):
    rows = [OFF, NEAR, ON] + [[0.85, 0.8, 0.1, 0.05]] * 4 + [OFF]
    e = readers.edge(lab("toy", telemetry=tel(rows)), TH)
    assert e.entered_step == 2 and e.reached and len(e.points) == 5   # the NEAR point before entry does not count
    four = readers.edge(lab("toy", telemetry=tel([OFF, ON, ON, ON, ON, OFF])), TH)
    assert not four.reached and len(four.points) == 4


def test_step_0_never_counts_and_a_catapult_enters_only_after_falling_below_1(lab):
    assert not readers.edge(lab("toy", telemetry=tel([ON] * 5 + [OFF] * 3)), TH).reached
    # η = 0.5: 1/η = 2 iterations; ρ_1 = 1.5 at step 1 is a catapult; it falls below 1 at step 3
    rows = [ON, [1.5, 0.9, 0.1, 0.05], [1.3, 0.9, 0.1, 0.05], OFF] + [ON] * 6
    e = readers.edge(lab("toy", telemetry=tel(rows)), TH)
    assert e.catapult_until == 3 and e.entered_step == 4 and len(e.points) == 6
    # a catapult that ends below 1 and never rises again: the reason names the catapult's end,
    # not only the small ρ_1 after it
    stuck = [ON, [1.5, 0.9, 0.1, 0.05]] + [[1.3, 0.9, 0.1, 0.05]] * 8 + [[0.85, 0.5, 0.1, 0.05]] * 2
    v = evaluate_claim("L1", [lab("toy", telemetry=tel(stuck))], TH)
    assert v.status == "not applicable" and ("a catapult (ρ_1 > 1.2 within 1/η) that stayed above ρ_1 = 1 at "
                                             "every point (telemetry every 1 iterations) until iteration 10, "
                                             "then never crossed it again (max ρ_1 = 0.85") in v.reason


def test_windowed_reach_ignores_a_transient(lab):
    # η = 0.1: windows of 10 iterations; ρ_2 spikes to 0.9 once in the first window, else 0.5
    rows = [OFF] + [[1.05, 0.9, 0.1, 0.05]] + [[1.05, 0.5, 0.1, 0.05]] * 39
    r = lab("toy", telemetry=tel(rows), lr=0.1)
    e = readers.edge(r, TH)
    assert e.window == 10
    assert readers.max_rho_on_edge(r, 2, TH) == pytest.approx(0.9)
    assert readers.reach(r, 2, TH) == pytest.approx(0.5) and e.edge_count == 1
    assert readers.reach(r, 2, Thresholds(reach_fraction=0.25)) == pytest.approx(0.9)


def test_truncated_runs_do_not_decide_L1(lab):
    cut = lab("toy", telemetry=tel([OFF] + [ON] * 10), lr=0.01,
              summary={"stop_reason": "max_steps", "steps": 250, "valid": True})
    v = evaluate_claim("L1", [cut], TH)
    assert v.status == "not applicable" and "truncated: t = 2.5 of 40/η (iteration cap)" in v.reason
    full = lab("toy", telemetry=tel([OFF] + [ON] * 10), lr=0.01,
               summary={"stop_reason": "max_steps", "steps": 4000, "valid": True})
    assert readers.truncation(full, TH) is None


def test_no_outlier_subspace_is_not_applicable_for_L1_to_L3(lab):
    flat = [1.05, 0.9, 0.8, 0.7]   # λ_2/λ_3 = 1.125
    r = lab("toy", telemetry=tel([OFF] + [flat] * 10))
    for cid in ("L1",):
        v = evaluate_claim(cid, [r], TH)
        assert v.status == "not applicable" and "no n_c − 1 outlier subspace: λ_2/λ_3 = 1.12" in v.reason
    cs = [lab("class_sweep", telemetry=tel([OFF] + [flat] * 10), seed=s) for s in range(3)]
    assert evaluate_claim("L2", cs, TH).status == "not applicable"


def test_L1_holds_per_setting_over_seeds_and_splits(lab):
    good = seeds(lab, "toy", [OFF] + [ON] * 10)
    v = evaluate_claim("L1", good, TH)
    assert v.status == "holds" and v.tally == "1/1 settings"
    assert "3 seeds: 3 pass, 0 fail" in v.reason
    one = evaluate_claim("L1", good[:1], TH)
    assert one.status == "inconclusive" and "3 seeds needed" in one.reason
    bad = [0.85, 0.5, 0.1, 0.05]
    mixed = [lab("toy", telemetry=tel([OFF, ON] + [ON if s == 0 else bad] * 9), seed=s,
                 name=f"m_s{s}") for s in range(3)]
    v = evaluate_claim("L1", mixed, TH)
    assert v.status == "fails"      # 1 of 3 pass, median fails, 2/3 fail
    two_one = [lab("toy", telemetry=tel([OFF, ON] + [ON if s < 2 else bad] * 9), seed=s,
                   name=f"t_s{s}") for s in range(3)]
    assert evaluate_claim("L1", two_one, TH).status == "holds"


def test_L1_judges_the_smallest_eta_in_scope(lab):
    runs = []
    for eta, rows in ((0.2, [OFF] + [ON] * 10), (0.1, [OFF] + [[1.05, 0.5, 0.1, 0.05]] * 10)):
        runs += seeds(lab, "lr_sweep", rows, lr=eta)
    v = evaluate_claim("L1", runs, TH)
    assert v.status == "fails" and "η = 0.1" in v.reason
    assert any("not the smallest η" in why for _, why in v.not_applicable)


def test_L2_map_says_which_n_c_hold(lab):
    runs = []
    for nc, rows in ((2, [[1.05, 0.1, 0.05]]), (3, [ON]), (5, [[1.05, 0.9, 0.5, 0.2, 0.1, 0.05]])):
        runs += [lab("class_sweep", telemetry=tel([[0.5] + [0.01] * (len(rows[0]) - 1)] + rows * 10), n_classes=nc,
                     seed=s, name=f"nc_{nc}_s{s}") for s in range(3)]
    v = evaluate_claim("L2", runs, TH)
    assert v.status == "mixed" and "holds where nc_2, nc_3" in v.reason and "fails where nc_5" in v.reason


def test_L2_needs_k_at_least_n_c_plus_1(lab):
    short = [lab("class_sweep", telemetry=tel([OFF[:3]] + [ON[:3]] * 10), seed=s) for s in range(3)]
    v = evaluate_claim("L2", short, TH)
    assert v.status == "not applicable" and "k < n_c + 1 (3 runs): telemetry has k = 3 eigenpairs" in v.reason


def test_L3_L5_need_a_sweep_spanning_10x(lab):
    runs = []
    for eta in (0.1, 0.2, 0.4):
        runs += seeds(lab, "lr_sweep", [OFF] + [ON] * 10, lr=eta, max_steps=None)
    for cid in ("L3", "L5"):
        v = evaluate_claim(cid, runs, TH)
        assert v.status == "not applicable" and "spanning 4× (3 spanning 10× needed)" in v.reason, cid


def test_L3_tracking_and_flat_halves_from_a_sweep(lab):
    runs = []
    for eta in (0.01, 0.03, 0.1):
        # λ_2 = 1.8/η tracks 2/η (ρ_2 = 0.9); λ_3 = 10 flat (ρ_3 = 5η); p_bulk constant, p_top ∝ 1/η
        rows = [[1.05, 0.9, 5 * eta, 2 * eta]]
        runs += [lab("lr_sweep", telemetry=[{"step": 0, "rho": OFF}] + [
            {"step": i, "rho": rows[0], "p_bulk_norm": 1.0 + 0.01 * s, "p_top_norm": 0.1 / eta,
             "eigenvalues": [2 * x / eta for x in rows[0]]} for i in range(1, 12)],
            lr=eta, seed=s, name=f"lr{eta}_s{s}") for s in range(3)]
    v3 = evaluate_claim("L3", runs, TH)
    assert v3.status == "holds", v3.reason
    assert v3.settings[0].statistic["tracking"]["slope"] == pytest.approx(-1.0)
    assert v3.settings[0].statistic["flat"]["slope"] == pytest.approx(0.0, abs=1e-9)
    v5 = evaluate_claim("L5", runs, TH)
    assert v5.status == "holds", v5.reason
    # one seed an η: the same numbers, but a headline claim needs ≥ 3 seeds a setting (the
    # bootstrap interval over one seed is a point): inconclusive, saying what it would be
    one = [r for r in runs if r.path.name.endswith("_s0")]
    for cid, v in (("L3", evaluate_claim("L3", one, TH)), ("L5", evaluate_claim("L5", one, TH))):
        assert v.status == "inconclusive", (cid, v.reason)
        assert "(1 seed at the η with fewest; 3 needed: holds on these)" in v.reason, cid
    assert "(3 seeds at the η with fewest)" in v3.reason


def test_L4_lag_between_rho_reaching_1_and_the_gradient_burst(lab):
    def rows(burst_at):
        pts = []
        for i in range(60):
            rho1 = 0.5 if i < 30 else 1.05
            pts.append({"step": i * 2, "rho": [rho1, 0.1 if i < 30 else 0.9, 0.05, 0.01],
                        "d": [1.0 if i < burst_at else 50.0, 0.1, 0.1, 0.1],
                        "p_top_norm": 1.0, "p_bulk_norm": 1.0})
        return pts
    good = [lab("entry", telemetry=rows(31), lr=0.1, seed=s, name=f"e_s{s}") for s in range(3)]
    v = evaluate_claim("L4", good, TH)
    assert v.status == "holds" and "median lag |e_i − s_i| = 2" in v.reason
    late = [lab("entry", telemetry=rows(50), lr=0.1, seed=s, name=f"l_s{s}") for s in range(3)]
    assert evaluate_claim("L4", late, TH).status == "fails"
    sparse = lab("entry", telemetry=[dict(p, step=p["step"] * 10) for p in rows(31)], lr=0.01)
    v = evaluate_claim("L4", [sparse], TH)
    assert v.status == "not applicable" and "telemetry every 20 iterations (≤ 10 needed)" in v.reason


def _dl_rows(top, bulk, n=10):
    return [{"step": 0, "rho": OFF, "dl_top": 0.0, "dl_bulk": 0.0}] + [
        {"step": i, "rho": ON, "dl_top": top[i % len(top)], "dl_bulk": bulk[i % len(bulk)]}
        for i in range(1, n + 1)]


def test_L6_rule_and_its_scope(lab):
    good = [lab("toy", telemetry=_dl_rows([0.02, -0.02], [-0.01, -0.012]), seed=s, name=f"g_s{s}")
            for s in range(3)]
    v = evaluate_claim("L6", good, TH)
    assert v.status == "holds", v.reason
    # the top learns consistently: mean ΔL_top −0.02 ± 0.001 < −½ std
    bad = [lab("toy", telemetry=_dl_rows([-0.02, -0.021], [-0.01, -0.012]), seed=s, name=f"b_s{s}")
           for s in range(3)]
    assert evaluate_claim("L6", bad, TH).status == "fails"
    # k < n_c − 1: P_top from fewer eigenvectors is refused, never judged
    k1 = lab("toy", telemetry=[dict(p, rho=p["rho"][:1]) for p in _dl_rows([0.0], [-0.01])], n_classes=10)
    v = evaluate_claim("L6", [k1], TH)
    assert v.status == "not applicable" and "P_top from fewer than n_c − 1 eigenvectors: k = 1 < 9" in v.reason
    few = lab("toy", telemetry=_dl_rows([0.0], [-0.01], n=2))
    v = evaluate_claim("L6", [few], TH)
    assert v.status == "not applicable" and "2 point(s) with ρ_2 > 0.7 (3 needed)" in v.reason


def test_L7_is_not_applicable_when_one_step_is_large_against_the_weights(lab):
    rows = [{"step": 0, "rho": OFF, "theta_norm": 10.0, "grad_norm": 0.4}] + [
        {"step": i, "rho": ON, "theta_norm": 10.0 + 0.001 * i, "grad_norm": 0.4} for i in range(1, 11)]
    big = lab("toy", telemetry=rows, lr=0.5)        # η‖g‖/‖θ‖ = 2 %
    v = evaluate_claim("L7", [big], TH)
    assert v.status == "not applicable" and "η‖g(θ_0)‖ = 2 % of ‖θ_0‖" in v.reason
    small = [lab("toy", telemetry=rows, lr=0.01, seed=s, name=f"s_s{s}") for s in range(3)]
    v = evaluate_claim("L7", small, TH)   # 0.01·0.4/10 = 4e-4 ≤ 1e-3
    assert v.status == "holds" and "max |‖θ_t‖/‖θ_0‖ − 1| = 0.001" in v.reason


def test_L10_scope_and_halves(lab):
    src = lab("toy", telemetry=tel([OFF] * 3 + [ON] * 20), lr=0.5, name="src_s0")

    def cont(n_iter, bulk, top, start=10, name=None, old=False):
        L = {"gd": [1.0] + [0.5] * n_iter, "bulk": [1.0] + [1.0 - 0.5 * bulk] * n_iter,
             "top": [1.0] + [1.0 - 0.5 * top] * n_iter,
             # the top n_c − 1 reported beside: Top-GD learns half as much as GD there
             "bulk_nc": [1.0] + [0.7] * n_iter, "top_nc": [1.0] + [0.75] * n_iter}
        c = {"lr": 0.5, "n_iter": n_iter, "start_step": start, "start_rho_1": 1.05, "loss": L,
             "n_top": 1, "n_top_nc": 2, "valid": dict.fromkeys(L, True)}
        if old:  # before the rewrite: the top n_c − 1 only, as "bulk" and "top"
            c = {k: v for k, v in c.items() if k not in ("n_top", "n_top_nc")}
            c["loss"] = {k: L[k] for k in ("gd", "bulk", "top")}
        return lab("continuation", summary={"continuation": c, "valid": True},
                   source="src_s0", name=name)
    short = cont(4, 1.0, 0.0)
    v = evaluate_claim("L10", [src, short], TH)
    assert v.status == "not applicable" and "continuation too short: 4 iterations = 2/η (10/η needed)" in v.reason
    early = cont(20, 1.0, 0.0, start=3)
    assert "starts too early" in evaluate_claim("L10", [src, early], TH).reason
    ok = [cont(20, 0.95, 0.1, name=f"c_s{s}") for s in range(3)]
    v = evaluate_claim("L10", [src] + ok, TH)
    assert v.status == "holds", v.reason
    assert "on-edge Top (1 eigenvectors)" in v.reason and "top n_c − 1 = 2: Bulk-GD 0.6×, Top-GD 0.5×" in v.reason
    v = evaluate_claim("L10", [src] + [cont(20, 0.95, 0.5, name=f"d_s{s}") for s in range(3)], TH)
    assert v.status == "fails" and "Top-GD 0.5×" in v.reason
    # a record of the old protocol (top n_c − 1 only) cannot judge the on-edge Top
    v = evaluate_claim("L10", [src] + [cont(20, 0.95, 0.1, name=f"o_s{s}", old=True) for s in range(3)], TH)
    assert v.status == "not applicable" and "no on-edge Top" in v.reason


def test_invalid_runs_are_excluded_with_their_reason(lab):
    bad = lab("toy", telemetry=tel([OFF] + [ON] * 10),
              summary={"valid": False, "invalid_reason": "diverged at step 7"})
    v = evaluate_claim("L1", [bad], TH)
    assert v.excluded == ((bad.name, "diverged at step 7"),)


def test_setting_statuses_with_74_of_75_seeds(lab):
    from simlab.claims.verdict import judge

    seeds_ = [(f"r{i}", i != 0, {}) for i in range(75)]
    assert judge("s", seeds_, True, "x", {}, 3).status == "holds"
    assert judge("s", seeds_[:3], False, "x", {}, 3).status == "split"
    assert math.isclose(len(seeds_), 75)


def test_sensitivity_says_robust_or_where_it_flips(lab):
    good = seeds(lab, "toy", [OFF] + [ON] * 10)
    v = evaluate_claim("L1", good, TH, sensitivity=True)
    assert set(v.sensitivity) >= {"edge_rho", "edge_points", "outlier_ratio", "reach_fraction"}
    assert v.robustness.startswith("robust") or v.robustness.startswith("sensitive")
    # ten on-edge points: edge_points doubled to 10 still reached; the ρ_1 = 1.05 points stay on
    assert v.sensitivity["edge_points"][10] == "holds"
    assert np.isfinite(TH.edge_rho)


def test_seeds_are_one_setting_whatever_they_measured_besides(lab):
    """Fields that change what is measured, not the run (dense spectra cadence, the switch that
    skips them, the seed), do not split a setting: a grid whose seed 0 took dense spectra and
    whose seeds 1–2 did not (and recorded ``full_spectra``, a field added later) is one setting."""
    rows = [[0.5, 0.01, 0.01, 0.01]] + [ON] * 10
    runs = [lab("class_sweep", telemetry=tel(rows), seed=0, dense_every=125, name="nc_3_s0")]
    runs += [lab("class_sweep", telemetry=tel(rows), seed=s, dense_every=0, full_spectra=True,
                 name=f"nc_3_s{s}") for s in (1, 2)]
    assert len({readers.setting_key(r) for r in runs}) == 1
    # nor does the memory layout a later record states (scale K1 lost its reference flows when
    # the flows were rerun with memory_format and the exponential-Euler runs had none)
    later = lab("class_sweep", telemetry=tel(rows), seed=3, memory_format="contiguous", name="nc_3_s3")
    assert readers.setting_key(later) == readers.setting_key(runs[0])
    v = evaluate_claim("L2", runs, TH)
    assert v.status == "holds" and "3 seeds" in v.reason


def test_an_entry_capture_rerun_of_a_protocol_run_counts_once_outside_L4(lab):
    """An entry capture run again with an η-sweep run's exact config (the cpu grid's seeds 1–2,
    whose committed sweep records are lean) is that run twice: pools over several experiments
    drop it; L4, which reads entry captures, keeps it; a different config is another run."""
    rows = tel([OFF] + [ON] * 10)
    sweep = lab("lr_sweep", telemetry=rows, seed=1, name="lr_sweep_s1", ggn_every=None)
    again = lab("entry", telemetry=rows, seed=1, name="entry_s1", ggn_every=0, telemetry_every=1)
    other = lab("entry", telemetry=rows, seed=2, name="entry_s2")
    kept = readers.distinct([sweep, again, other])
    assert [r.path.name for r in kept] == ["lr_sweep_s1", "entry_s2"]
    assert readers.of_experiment([sweep, again, other], "entry") == [again, other]
