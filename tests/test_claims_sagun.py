"""Sagun's verdicts say where they were measured: the ‖g‖ range and how many runs reached
Sagun's ‖g‖ ≤ 1e-4 (hand-made records)."""

from __future__ import annotations

import pytest

from simlab.claims import Thresholds, evaluate_claim
from test_claims import Lab, bulk_outliers, spec_summary

TH = Thresholds()


@pytest.fixture
def lab(tmp_path):
    return Lab(tmp_path)


def test_S_reasons_count_the_runs_at_sagun_tolerance(lab):
    rs = [lab("width_sweep", hidden=h, seed=0,
              summary=spec_summary(bulk_outliers([10.0, 8.0], 18, seed=h, neg=-0.05),
                                   final_grad_norm=g))
          for h, g in [(2, 5e-5), (6, 1e-4), (10, 3e-3)]]
    v = evaluate_claim("S1", rs, TH)
    assert v.status == "holds"
    assert "at ‖g‖ 5e-05…0.003 (3 runs); ‖g‖ ≤ 0.0001 in 2 of 3; at ‖g‖ ≤ 0.0001: 2 holds)" in v.reason
    # S6 judges only the near-critical ones (‖g‖ ≤ 1e-3) but still states all it looked at
    v6 = evaluate_claim("S6", rs, TH)
    assert v6.status == "holds"
    assert v6.reason.startswith("holds for 2 of 3 runs (1 inconclusive)")
    assert "‖g‖ ≤ 0.0001 in 2 of 3; at ‖g‖ ≤ 0.0001: 2 holds)" in v6.reason
    assert v6.statistic[rs[2].name]["why"] == "not near-critical: ‖g‖ = 0.003 > 0.001"
    one = evaluate_claim("S1", rs[2:], TH)
    assert one.reason.endswith("(at ‖g‖ = 0.003; ‖g‖ ≤ 0.0001 in 0 of 1)")
    # a run at Sagun's tolerance that fails S1 (no outlier gap) is counted as such
    flat = lab("width_sweep", hidden=14, seed=0, summary=spec_summary(
        bulk_outliers([10.0, 9.0, 8.5, 8.0, 7.5], 18), final_grad_norm=9e-5))
    v = evaluate_claim("S1", [*rs, flat], TH)
    assert v.status == "fails"
    assert "‖g‖ ≤ 0.0001 in 3 of 4; at ‖g‖ ≤ 0.0001: 2 holds, 1 fails)" in v.reason


def test_one_trajectory_stored_under_several_experiments_counts_once(lab):
    lam = bulk_outliers([10.0, 8.0], 18, neg=-0.05)

    def run(experiment, steps, loss, **kw):
        return lab(experiment, hidden=6, std=0.5, seed=0, lr=0.1, **kw, summary=spec_summary(
            lam, final_grad_norm=9e-5, steps=steps, final_loss=loss))

    a = run("width_sweep", 4168, 4e-5, max_steps=30000, telemetry_every=750)
    b = run("training_spectrum", 4168, 4e-5, max_steps=30000, telemetry_every=100)
    c = run("std_sweep", 4168, 4e-5, max_steps=12000, telemetry_every=300)
    other_seed = lab("width_sweep", hidden=6, std=0.5, seed=1, lr=0.1, max_steps=30000,
                     summary=spec_summary(lam, final_grad_norm=9e-5, steps=4168, final_loss=4e-5))
    longer = run("width_sweep", 9000, 4e-5, max_steps=30000, telemetry_every=750)
    v = evaluate_claim("S6", [a, b, c, other_seed, longer], TH)
    assert v.runs == (a.name, other_seed.name, longer.name)
    assert v.reason.startswith("holds for 3 of 3 runs") and "‖g‖ ≤ 0.0001 in 3 of 3;" in v.reason
