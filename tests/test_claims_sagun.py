"""Sagun's verdicts say where they were measured (the ‖g‖ range, how many runs reached Sagun's
‖g‖ ≤ 1e-4) and count each trajectory once (hand-made records)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlab.claims import Thresholds, evaluate_claim
from simlab.claims import readers as rd
from test_claims import Lab, bulk_outliers, spec_summary

TH = Thresholds()


@pytest.fixture
def lab(tmp_path):
    return Lab(tmp_path)


def test_S_reasons_state_the_gradient_norm_and_the_runs_at_sagun_tolerance(lab):
    rs = [lab("width_sweep", hidden=2, seed=s,
              summary=spec_summary(bulk_outliers([10.0, 8.0], 18, seed=s, neg=-2e-5),
                                   final_grad_norm=g))
          for s, g in [(0, 5e-5), (1, 1e-4), (2, 9e-4), (3, 3e-3)]]
    v = evaluate_claim("S1", rs, TH)
    assert v.status == "holds"
    assert "at ‖g‖ 5e-05…0.0009 (3 runs); ‖g‖ ≤ 0.0001 in 2 of 3" in v.reason
    assert "not near-critical: ‖g‖ = 0.003 (> 0.001)" in v.reason
    v6 = evaluate_claim("S6", rs, TH)
    assert v6.status == "holds" and "3 seeds: 3 pass, 0 fail" in v6.reason


def test_one_trajectory_stored_under_several_experiments_counts_once(lab):
    lam = bulk_outliers([10.0, 8.0], 18, neg=-2e-5)

    def run(experiment, steps, seed=0, **kw):
        return lab(experiment, hidden=6, std=0.5, seed=seed, lr=0.1, **kw, summary=spec_summary(
            lam, final_grad_norm=9e-5, steps=steps, final_loss=4e-5))

    a = run("width_sweep", 4168, max_steps=30000, telemetry_every=750)
    b = run("training_spectrum", 4168, max_steps=30000, telemetry_every=100)
    c = run("std_sweep", 4168, max_steps=12000, telemetry_every=300)
    others = [run("width_sweep", 4168, seed=s, max_steps=30000) for s in (1, 2)]
    v = evaluate_claim("S6", [a, b, c, *others], TH)
    assert v.runs == (a.name, *(o.name for o in others))
    assert "3 seeds: 3 pass" in v.reason and "‖g‖ ≤ 0.0001 in 3 of 3" in v.reason


def test_a_run_receding_from_a_critical_point_says_so_with_its_numbers(lab):
    """A run out of scope for ‖g‖ says why it got no closer when its telemetry shows it: ‖g‖
    smallest before the end and risen ≥ 1.5× since while the loss fell. A run whose ‖g‖ is still
    falling (stopped too early) gets no such words."""
    def run(seed, gs, losses):
        tel = [{"step": 100 * i, "t": 10.0 * i, "lr": 0.1, "loss": l, "grad_norm": g}
               for i, (g, l) in enumerate(zip(gs, losses))]
        return lab("width_sweep", hidden=2, seed=seed, telemetry=tel, summary=spec_summary(
            bulk_outliers([10.0, 8.0], 18, seed=seed, neg=-2e-5), final_grad_norm=gs[-1]))

    away = run(0, [0.5, 0.003, 0.002, 0.004, 0.007], [0.6, 0.30, 0.25, 0.24, 0.23])
    early = run(1, [0.5, 0.05, 0.02, 0.01, 0.005], [0.6, 0.40, 0.35, 0.32, 0.30])
    late = run(2, [0.5, 0.04, 0.03, 0.0025, 0.0028], [0.6, 0.30, 0.25, 0.24, 0.23])  # 1.1×, late
    stalled = run(3, [0.5, 0.003, 0.004, 0.0035, 0.0038], [0.6, 0.30, 0.25, 0.24, 0.23])  # 1.3×, early
    # a dip in the last quarter (iteration 700 of 800) risen 2× since reads as an oscillation's
    dip = run(4, [0.5, 0.02, 0.01, 0.008, 0.006, 0.005, 0.004, 0.002, 0.004],
              [0.6, 0.5, 0.4, 0.35, 0.3, 0.28, 0.26, 0.25, 0.24])
    v = evaluate_claim("S1", [away, early, late, stalled, dip], TH)
    assert v.status == "not applicable"
    assert ("‖g‖ = 0.007 (> 0.001; smallest 0.002 at iteration 200 of 400, 0.007 at the end, while "
            "the loss fell 0.25 → 0.23: no closer to a critical point in its last 200 iterations)"
            ) in v.reason
    na = dict(v.not_applicable)
    assert na[rd.label(stalled)].endswith("smallest 0.003 at iteration 100 of 400, 0.0038 at the end, "
                                          "while the loss fell 0.3 → 0.23: no closer to a critical "
                                          "point in its last 300 iterations)")
    assert na[rd.label(early)] == "not near-critical: ‖g‖ = 0.005 (> 0.001)"
    assert na[rd.label(late)] == "not near-critical: ‖g‖ = 0.0028 (> 0.001)"
    assert na[rd.label(dip)] == "not near-critical: ‖g‖ = 0.004 (> 0.001)"
    # F2 reads the same scope, in the same words
    assert dict(evaluate_claim("F2", [away], TH).not_applicable)[rd.label(away)] == na[rd.label(away)]


def test_S3_reports_how_much_of_the_rise_the_weights_could_explain(tmp_path):
    """CLAIMS.md's S3 reports log(λ_1 ratio) against L·|log(‖θ‖ ratio)|, L the weight layers
    (solved from n_params: the blob net 2-h-h-2 has 3, 784-k-10 has 2)."""
    from simlab.claims.sagun import weight_layers
    from simlab.record import Record, RecordWriter

    def rec(name, experiment, summary, **config):
        w = RecordWriter(tmp_path / name, {"dataset": "blobs", "n_classes": 2, "hidden": 10, **config},
                         meta={"regime": "toy", "experiment": experiment,
                               "data": {"name": "blobs", "input_dim": 2, "n_classes": 2}})
        w.write_summary(summary)
        return Record.load(tmp_path / name)

    fl = rec("fl", "fluctuation", {"top_eigenvalues": [1.0, 1.2, 0.8]})

    def sweep(tag, theta_hi):
        return [rec(f"{tag}{sd}_{k}", "std_sweep", {"lambda_max": lam, "theta_norm": th, "n_params": 162,
                                                    "final_grad_norm": 5e-5, "final_accuracy": 0.9},
                    std=sd, seed=k, lr=0.1 if tag == "a" else 0.2)
                for sd, lam, th in [(1.0, 10.0, 3.0), (2.0, 40.0, theta_hi)] for k in range(3)]

    same = sweep("a", 3.3)
    assert weight_layers(same[0]) == 3
    (st,) = evaluate_claim("S3", same + [fl], TH).settings
    assert st.statistic["weight_layers"] == 3 and st.statistic["theta_ratio"] == pytest.approx(1.1)
    assert st.statistic["weights_log"] == pytest.approx(3 * math.log(1.1))
    assert st.statistic["log_lambda_ratio"] == pytest.approx(math.log(4.0))
    assert "the weights cannot account for all of it" in st.why
    (st,) = evaluate_claim("S3", sweep("b", 6.0) + [fl], TH).settings   # 3·log 2 = 2.08 ≥ log 4
    assert st.status == "holds" and "the weights could account for the whole rise" in st.why
    mnist = rec("mn", "fluctuation", {"n_params": 785 * 2 + 3 * 10}, hidden=2, n_classes=10)
    mnist.doc["data"] = {"name": "mnist", "input_dim": 784, "n_classes": 10}
    assert weight_layers(mnist) == 2
    odd = rec("odd", "fluctuation", {"n_params": 161})
    assert weight_layers(odd) is None


def test_the_report_splits_sagun_settings_by_whether_the_nets_separate_their_data(lab):
    """CLAIMS.md's main case (non-separable data) apart from its control (separable), per claim,
    from the verdicts' own settings and the runs' final training accuracy."""
    from simlab.claims import evaluate
    from simlab.paper.report import separability_sentence

    lam_ok = lambda s: bulk_outliers([10.0, 8.0], 18, seed=s, neg=-2e-5)   # noqa: E731
    flat = lambda s: np.linspace(1.0, 2.0, 20) + 0.01 * s                     # noqa: E731
    runs = ([lab("width_sweep", hidden=[3], seed=s, summary=spec_summary(
                lam_ok(s), final_grad_norm=5e-5, final_accuracy=1.0)) for s in range(3)]
            + [lab("width_sweep", hidden=[4], seed=s, summary=spec_summary(
                lam_ok(s), final_grad_norm=5e-5, final_accuracy=0.9)) for s in range(3)]
            + [lab("width_sweep", hidden=[5], seed=s, summary=spec_summary(
                flat(s), final_grad_norm=5e-5, final_accuracy=0.8)) for s in range(3)])
    table = {v.id: v for v in evaluate(runs, only=["S1"])}
    said = separability_sentence(runs, table)
    nonsep, sep = said.split("; on data they separate")
    assert "do not separate" in nonsep and "S1 holds in 1 of 2 (fails: " in nonsep
    assert "S1 holds in 1 of 1" in sep and "whose seeds do both" not in said
    assert separability_sentence(runs, {}) is None


def test_a_sweep_is_named_by_its_runs_less_the_swept_field(lab):
    from simlab.claims.sagun import sweep_name

    assert sweep_name(lab("width_sweep", name="width_std1_h10_s0"), "h") == "width_std1"
    assert sweep_name(lab("std_sweep", name="newton_std1_h10_s2"), "std") == "newton_h10"
    assert sweep_name(lab("std_sweep", name="std0.5_s1"), "std") == "std0.5"   # nothing else left
