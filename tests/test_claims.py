"""The claims engine on hand-made records whose verdicts are known (holds / fails / inconclusive)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simlab import claims
from simlab.claims import Thresholds, Verdict, evaluate, evaluate_claim
from simlab.claims.cli import main
from simlab.errors import UsageError
from simlab.record import Record, RecordWriter

TH = Thresholds()


class Lab:
    """Writes records into a tmp folder and loads them back."""

    def __init__(self, root):
        self.root = root
        self.n = 0

    def __call__(self, experiment, *, regime="toy", telemetry=(), summary=None, arrays=None,
                 name=None, **config):
        self.n += 1
        path = self.root / (name or f"{experiment}_{self.n}")
        config.setdefault("n_classes", 2)
        w = RecordWriter(path, config, meta={"regime": regime, "experiment": experiment,
                                             "data": {"name": config.get("dataset", "blobs")}})
        for p in telemetry:
            w.append(p)
        if arrays:
            w.save_arrays(arrays)
        if summary is not None:
            w.write_summary(summary)
        return Record.load(path)


@pytest.fixture
def lab(tmp_path):
    return Lab(tmp_path)


def bulk_outliers(outliers, n_zero, seed=0, neg=None):
    """An ascending spectrum: a bulk of n_zero values at ~1e-9 plus the given outliers."""
    z = 1e-9 * np.random.default_rng(seed).standard_normal(n_zero)
    if neg is not None:
        z[0] = neg
    return np.sort(np.concatenate([z, outliers]))


def spec_summary(lam, **kw):
    return {"eigenvalues": list(lam), "n_params": len(lam), **kw}


# ----------------------------------------------------------------------------- S claims


def test_S1_holds_fails_inconclusive(lab):
    assert evaluate_claim("S1", [], TH).status == "inconclusive"
    good = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18)))
    v = evaluate_claim("S1", [good], TH)
    assert v.status == "holds" and v.runs == (good.name,)
    s = v.statistic[good.name]
    assert s["near_zero_fraction"] == pytest.approx(0.9)
    assert s["gap_index"] == 2 and s["outlier_count"] == 2
    assert s["gap_ratio"] == pytest.approx(8.0 / (1e-3 * 10.0))
    flat = lab("width_sweep", summary=spec_summary(np.arange(1.0, 21.0)))
    v = evaluate_claim("S1", [good, flat], TH)
    assert v.status == "fails" and flat.name in v.reason
    assert v.statistic[flat.name]["near_zero_fraction"] == 0.0
    # MSE and random-input runs are not S1's
    mse = lab("mse", loss="mse", summary=spec_summary(np.arange(1.0, 21.0)))
    rnd = lab("random_inputs", dataset="random", summary=spec_summary(np.arange(1.0, 21.0)))
    assert evaluate_claim("S1", [good, mse, rnd], TH).status == "holds"


def test_S1_ignores_top_k_lists_as_spectra(lab):
    # a scale summary holding only the top 3 of 1000 eigenvalues is not a spectrum
    r = lab("toy", regime="scale", summary={"eigenvalues": [1.0, 5.0, 9.0], "n_params": 1000})
    assert claims.spectrum(r) is None
    assert evaluate_claim("S1", [r], TH).status == "inconclusive"


def test_S2_width_sweep(lab):
    runs = [lab("width_sweep", hidden=[h, h], seed=s,
                summary=spec_summary(bulk_outliers([10.0, 8.0], n, seed=s)))
            for h, n in [(2, 18), (6, 38), (10, 78)] for s in range(3)]
    v = evaluate_claim("S2", runs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["n_params"] == [20, 40, 80] and g["seeds"] == [3, 3, 3]
    assert g["near_zero_fraction"] == pytest.approx([0.9, 0.95, 0.975])
    assert g["outlier_counts"] == [[2, 2, 2]] * 3
    # one seed with a third outlier does not decide: the median count stays 2
    odd = lab("width_sweep", hidden=[14, 14], seed=0,
              summary=spec_summary(bulk_outliers([10.0, 8.0, 0.5], 157)))
    wide = [lab("width_sweep", hidden=[14, 14], seed=s,
                summary=spec_summary(bulk_outliers([10.0, 8.0], 158, seed=s))) for s in (1, 2)]
    assert evaluate_claim("S2", runs + [odd] + wide, TH).status == "holds"
    # three seeds with a third outlier in the widest net: the count changes
    extra = [lab("width_sweep", hidden=[14, 14], seed=s,
                 summary=spec_summary(bulk_outliers([10.0, 8.0, 0.5], 157, seed=s))) for s in range(3)]
    v = evaluate_claim("S2", runs + extra, TH)
    assert v.status == "fails"
    (g,) = v.statistic.values()
    assert g["median_outlier_count"] == [2.0, 2.0, 2.0, 3.0]
    assert evaluate_claim("S2", runs[:6], TH).status == "inconclusive"  # two widths
    one_seed = [r for r in runs if r.config["seed"] == 0]
    v = evaluate_claim("S2", one_seed, TH)
    assert v.status == "inconclusive" and "fewer than 3 seeds" in v.reason


def test_S3_std_sweep_against_fluctuation(lab):
    fl = lab("fluctuation", hidden=[4, 4],
             summary={"top_eigenvalues": [1.0, 1.2, 0.8, 1.1, 0.9]})
    sigma = float(np.std([1.0, 1.2, 0.8, 1.1, 0.9], ddof=1))
    sweep = [lab("std_sweep", hidden=[4, 4], blob_std=s, seed=k,
                 summary={"lambda_max": l + 0.01 * k, "theta_norm": t})
             for s, l, t in [(0.5, 1.0, 10.0), (1.0, 2.0, 10.5), (2.0, 3.0, 11.0)] for k in (-1, 0, 1)]
    v = evaluate_claim("S3", sweep + [fl], TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["init_spread"] == pytest.approx(sigma)
    assert g["rise"] == pytest.approx(2.0) and g["theta_ratio"] == pytest.approx(1.1)
    small = [lab("std_sweep", hidden=[4, 4], blob_std=s, seed=k,
                 summary={"lambda_max": l + 0.2 * k, "theta_norm": 10.0})
             for s, l in [(0.5, 1.0), (1.0, 1.05), (2.0, 1.1)] for k in (-1, 0, 1)]
    v = evaluate_claim("S3", small + [fl], TH)
    assert v.status == "fails"  # rise 0.1 < spread 0.158
    assert next(iter(v.statistic.values()))["rise"] == pytest.approx(0.1)
    v = evaluate_claim("S3", small, TH)  # no fluctuation run: the pooled spread over seeds (0.2)
    assert v.status == "fails" and next(iter(v.statistic.values()))["init_spread"] == pytest.approx(0.2)
    v = evaluate_claim("S3", sweep[::3] + [fl], TH)  # one seed per std cannot decide
    assert v.status == "inconclusive" and "fewer than 3 seeds" in v.reason


def test_S3_reads_the_toy_configs_std_field(lab):
    """Toy records name the blob standard deviation ``std`` (ToyConfig); S3 must read it."""
    fl = lab("fluctuation", hidden=10, summary={"top_eigenvalues": [1.0, 1.2, 0.8, 1.1, 0.9]})
    sweep = [lab("std_sweep", hidden=10, dataset="blobs", std=s, seed=k,
                 summary={"lambda_max": l, "theta_norm": 10.0})
             for s, l in [(0.5, 1.0), (1.0, 2.0), (2.0, 3.0)] for k in range(3)]
    v = evaluate_claim("S3", sweep + [fl], TH)
    assert v.status == "holds"
    assert next(iter(v.statistic.values()))["blob_std"] == [0.5, 1.0, 2.0]


def test_S4_mse(lab):
    assert evaluate_claim("S4", [], TH).status == "inconclusive"
    good = lab("mse", loss="mse", summary=spec_summary(bulk_outliers([3.0, 2.0], 30)))
    bad = lab("mse", loss="mse", summary=spec_summary(np.linspace(1, 2, 32)))
    assert evaluate_claim("S4", [good], TH).status == "holds"
    assert evaluate_claim("S4", [good, bad], TH).status == "fails"


def test_S5_training_drives_to_zero(lab):
    init = np.linspace(-1.0, 5.0, 20)
    final = bulk_outliers([10.0, 8.0], 18)
    r = lab("training_spectrum", summary={"n_params": 20},
            arrays={"eigenvalues": final, "eigenvalues_init": init})
    v = evaluate_claim("S5", [r], TH)
    assert v.status == "holds"
    assert v.statistic[r.name]["near_zero_init"] == 0.0
    assert v.statistic[r.name]["near_zero_final"] == pytest.approx(0.9)
    back = lab("training_spectrum", summary={"n_params": 20},
               arrays={"eigenvalues": init, "eigenvalues_init": final})
    assert evaluate_claim("S5", [back], TH).status == "fails"


def test_S6_small_negative_eigenvalues(lab):
    ok = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18, neg=-0.05),
                                         final_grad_norm=1e-4))
    v = evaluate_claim("S6", [ok], TH)
    assert v.status == "holds"
    assert v.statistic[ok.name]["ratio"] == pytest.approx(0.005)
    big = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18, neg=-5.0),
                                          final_grad_norm=1e-4))
    none = lab("toy", summary=spec_summary(np.abs(bulk_outliers([10.0, 8.0], 18)),
                                           final_grad_norm=1e-4))
    assert evaluate_claim("S6", [big], TH).status == "fails"
    assert evaluate_claim("S6", [none], TH).status == "fails"
    far = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18, neg=-0.05),
                                          final_grad_norm=5e-3))
    v = evaluate_claim("S6", [far], TH)
    assert v.status == "inconclusive" and "no near-critical run" in v.reason and "0.005" in v.reason
    assert evaluate_claim("S6", [], TH).status == "inconclusive"


def test_S7_random_inputs(lab):
    real = [lab("toy", dataset="mnist", hidden=[8], seed=s,
                summary=spec_summary(bulk_outliers([l, 8.0], 18))) for s, l in [(0, 10.0), (1, 10.2)]]
    rnd = lab("random_inputs", dataset="random", hidden=[8],
              summary=spec_summary(bulk_outliers([3.0, 2.9], 18)))
    v = evaluate_claim("S7", real + [rnd], TH)
    assert v.status == "holds"
    s = v.statistic[rnd.name]
    assert s["init_spread"] == pytest.approx(np.std([10.0, 10.2], ddof=1))
    assert s["lambda_1_real"] == pytest.approx(10.1) and s["lambda_1_random"] == pytest.approx(3.0)
    same = lab("random_inputs", dataset="random", hidden=[8],
               summary=spec_summary(bulk_outliers([10.1, 8.0], 18)))
    assert evaluate_claim("S7", real + [same], TH).status == "fails"
    assert evaluate_claim("S7", real[:1] + [same], TH).status == "inconclusive"
    other_net = lab("random_inputs", dataset="random", hidden=[99],
                    summary=spec_summary(bulk_outliers([3.0, 2.9], 18)))
    assert evaluate_claim("S7", real + [other_net], TH).status == "inconclusive"


def test_S8_reports_both_counts(lab):
    tel = [{"step": s, "rho": [0.9, 0.8, 0.1, 0.05]} for s in range(8)]
    r = lab("lr_sweep", n_classes=3, lr=0.5, telemetry=tel,
            summary=spec_summary(bulk_outliers([10.0, 8.0], 18), final_grad_norm=2e-3))
    v = evaluate_claim("S8", [r], TH)
    assert v.status == "reported"
    row = v.statistic[r.name]
    assert {k: row[k] for k in ("n_classes", "n_c_minus_1", "sagun_outliers", "lowell_edge_count",
                                "rho_gap_index", "reached_edge")} == {
        "n_classes": 3, "n_c_minus_1": 2, "sagun_outliers": 2, "lowell_edge_count": 2,
        "rho_gap_index": 2, "reached_edge": True}
    assert "at ‖g‖ = 0.002" in v.reason
    # off the edge: no Lowell count (it would count nothing the claim is about)
    off = lab("lr_sweep", n_classes=3, lr=0.5, telemetry=[{**p, "rho": [0.5, 0.4, 0.1, 0.05]} for p in tel])
    assert evaluate_claim("S8", [off], TH).statistic[off.name]["lowell_edge_count"] is None
    # a diverged run is set aside, with its reason
    bad = lab("lr_sweep", n_classes=3, lr=0.5, telemetry=tel,
              summary={"steps": 4, "stop_reason": "diverged", "final_loss": float("inf")})
    v = evaluate_claim("S8", [r, bad], TH)
    assert bad.name not in v.statistic and dict(v.excluded)[bad.name].startswith("diverged")
    assert evaluate_claim("S8", [], TH).status == "inconclusive"


# ----------------------------------------------------------------------------- L8, L9 (L1–L7, L10: test_claims_edge.py)


def flow(lab, n, peak, **kw):
    tel = [{"step": s, "eigenvalues": [peak * f, 0.1]} for s, f in enumerate([0.5, 1.0, 0.8])]
    return lab("gradient_flow", n_data=n, schedule="flow", telemetry=tel, **kw)


def test_L8_linear_in_nD(lab):
    rs = [flow(lab, n, 2.0 * n + 1.0) for n in (100, 200, 300, 400)]
    v = evaluate_claim("L8", rs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["slope"] == pytest.approx(2.0) and g["intercept"] == pytest.approx(1.0)
    assert g["r2"] == pytest.approx(1.0)
    noisy = [flow(lab, n, p, activation="tanh") for n, p in zip((100, 200, 300, 400), (1, 5, 2, 6))]
    v = evaluate_claim("L8", noisy, TH)
    assert v.status == "fails" and next(iter(v.statistic.values()))["r2"] < 0.99
    assert evaluate_claim("L8", rs[:3], TH).status == "inconclusive"


def test_L8_uses_the_every_iteration_peak_and_drops_unfinished_runs(lab):
    def run(n, peak, peak_step, steps=400):
        return lab("gradient_flow", n_data=n, schedule="flow", activation="relu",
                   telemetry=[{"step": 0, "eigenvalues": [1.0]}, {"step": steps, "eigenvalues": [0.5]}],
                   summary={"peak_lambda_1": peak, "peak_step": peak_step, "steps": steps})
    rs = [run(n, 3.0 * n, 100) for n in (10, 20, 30, 40)]
    v = evaluate_claim("L8", rs, TH)  # the telemetry alone (max 1.0) would say nothing
    assert v.status == "holds" and next(iter(v.statistic.values()))["slope"] == pytest.approx(3.0)
    truncated = rs[:3] + [run(40, 50.0, 399)]  # λ_1 still rising at the last iteration
    v = evaluate_claim("L8", truncated, TH)
    assert v.status == "inconclusive"
    assert next(iter(v.statistic.values()))["no_peak_n_data"] == [40]


def test_cusp_sharpness_numbers():
    d = np.linspace(-0.003, 0.003, 7)
    par = claims.cusp_sharpness(d, d ** 2)
    assert par["second_difference"] == pytest.approx(2.0) and par["parabola_ratio"] == pytest.approx(1.0)
    k = 0.001  # v = Δ² + k|Δ|: second difference 2 + 2k/h, ratio (1 + k/h)/(1 + k/H)
    cusp = claims.cusp_sharpness(d, d ** 2 + k * np.abs(d))
    assert cusp["second_difference"] == pytest.approx(4.0)
    assert cusp["parabola_ratio"] == pytest.approx(2.0 / (1 + 1 / 3))
    with pytest.raises(ValueError):
        claims.cusp_sharpness([0.0, 0.1], [0.0, 1.0])


def test_L9_cusp_grows(lab):
    d = np.linspace(-0.003, 0.003, 7)

    def cusp(n, k, **kw):
        return lab("cusp", n_data=n, summary={"cusp": {"deltas": list(d),
                                                      "values": list(d ** 2 + k * np.abs(d))}}, **kw)

    rs = [cusp(n, k) for n, k in [(100, 0.0), (200, 0.001), (400, 0.002)]]
    v = evaluate_claim("L9", rs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["second_difference"] == pytest.approx([2.0, 4.0, 6.0])
    bad = [cusp(n, k, activation="tanh") for n, k in [(100, 0.002), (200, 0.001), (400, 0.0)]]
    assert evaluate_claim("L9", bad, TH).status == "fails"
    assert evaluate_claim("L9", rs[:2], TH).status == "inconclusive"


# ----------------------------------------------------------------------------- F claims


def test_density_near_zero():
    assert claims.density_near_zero({"nodes": [0.0, 1e-4, 5.0], "weights": [0.45, 0.45, 0.1]},
                                     5.0, 1e-3) == pytest.approx(0.9)
    grid = np.linspace(-1, 1, 2001)  # uniform density on [-1, 1]; window ±0.1
    assert claims.density_near_zero({"grid": grid, "density": np.full_like(grid, 0.5)},
                                    100.0, 1e-3) == pytest.approx(0.1)


def test_F1_near_zero(lab, tmp_path, monkeypatch):
    a = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18)))   # 0.9
    b = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 38)))   # 0.95
    v = evaluate_claim("F1", [a, b], TH)
    assert v.status == "holds" and v.statistic["median"] == pytest.approx(0.925)
    # scale: an SLQ density counts at the narrowest band its settings are validated for
    from simlab import spectrum

    val = tmp_path / "slq_validation.json"
    val.write_text(json.dumps({"net": "test net", "rows": [
        {"estimator": "count", "probes": 1, "steps": 80, "eps": 1e-3, "max_abs_error": 0.2},
        {"estimator": "count", "probes": 1, "steps": 80, "eps": 1e-2, "max_abs_error": 0.02},
        {"estimator": "cell", "probes": 2, "steps": 80, "eps": 3e-2, "max_abs_error": 0.01}]}))
    monkeypatch.setattr(spectrum, "SLQ_VALIDATION", val)

    def dens(steps, probes=1):
        return {"lambda_max": 5.0, "density": {"nodes": [0.0, 0.04, 5.0], "weights": [0.5, 0.3, 0.2],
                                               "n_vectors": probes, "steps": steps}}

    raw = lab("lr_sweep", regime="scale", summary=dens(20))
    v = evaluate_claim("F1", [raw], TH)
    assert v.status == "inconclusive" and "unvalidated estimator (1 probe(s) × 20 Lanczos steps)" in v.reason
    assert raw.name in dict(v.excluded)
    sc = lab("lr_sweep", regime="scale", summary=dens(80, probes=4))
    v = evaluate_claim("F1", [sc], TH)
    run = v.statistic["runs"][sc.name]
    assert v.status == "fails" and run["near_zero_fraction"] == pytest.approx(0.8) and run["band"] == 1e-2
    assert "validated for |λ| ≤ 0.01·λ_1 (count estimator, max error 0.020 on the test net)" in v.reason
    # a looser tolerance admits the 1e-3 row; at 1e-3 only the node at 0 is inside
    v = evaluate_claim("F1", [sc], Thresholds(f1_validation=0.25))
    assert v.statistic["runs"][sc.name]["band"] == 1e-3
    assert v.statistic["runs"][sc.name]["near_zero_fraction"] == pytest.approx(0.5)
    assert evaluate_claim("F1", [], TH).status == "inconclusive"


def test_F2_saddles(lab):
    sad = [lab("width_sweep", hidden=[h], summary=spec_summary(bulk_outliers([10.0], 9, neg=-0.05),
                                                               final_grad_norm=1e-4))
           for h in (2, 4)]
    v = evaluate_claim("F2", sad, TH)
    assert v.status == "holds" and v.statistic["saddle_fraction"] == 1.0
    assert v.statistic["runs"][sad[0].name]["negative_count"] == 1
    mins = [lab("width_sweep", hidden=[h], summary=spec_summary(np.linspace(0.1, 1, 10),
                                                                final_grad_norm=1e-4))
            for h in (6, 8)]
    v = evaluate_claim("F2", sad + mins, TH)
    assert v.status == "fails" and v.statistic["saddle_fraction"] == 0.5
    # tiny negative curvature inside the near-zero band is no saddle
    band = lab("width_sweep", hidden=[9], summary=spec_summary(
        bulk_outliers([10.0], 9, neg=-0.005), final_grad_norm=1e-4))
    assert evaluate_claim("F2", [band], TH).status == "fails"
    # not near-critical: inconclusive, with the gradient norm stated
    far = [lab("width_sweep", hidden=[h], summary=spec_summary(
        bulk_outliers([10.0], 9, neg=-0.05), final_grad_norm=4e-3)) for h in (2, 4)]
    v = evaluate_claim("F2", far, TH)
    assert v.status == "inconclusive" and "0.004" in v.reason


def test_F3_reported_or_not_measured(lab):
    assert evaluate_claim("F3", [], TH).reason == claims.NOT_MEASURED
    rs = [lab("lr_sweep", lr=lr, seed=s, summary=spec_summary(bulk_outliers([l, 1.0], 8), test_accuracy=a))
          for lr, s, l, a in [(1e-3, 0, 10.0, 0.7), (3e-4, 1, 5.0, 0.8), (1e-4, 2, 2.0, 0.9)]]
    v = evaluate_claim("F3", rs, TH)
    assert v.status == "reported"
    (g,) = v.statistic.values()
    assert g["spearman"] == pytest.approx(1.0)  # flatter (larger log-volume) ↔ better accuracy
    assert g["log_volume"][0] == pytest.approx(-0.5 * np.log(10.0))


def test_F4_langevin(lab):
    v = evaluate_claim("F4", [], TH)
    assert v.status == "inconclusive" and v.reason == claims.NOT_MEASURED
    r = lab("langevin", summary={"flat_fraction": 0.71, "predicted_flat_fraction": 0.7,
                                 "flat_fraction_stderr": 0.01})
    assert evaluate_claim("F4", [r], TH).status == "holds"
    r = lab("langevin", summary={"flat_fraction": 0.6, "predicted_flat_fraction": 0.7,
                                 "flat_fraction_stderr": 0.01})
    assert evaluate_claim("F4", [r], TH).status == "fails"


# ----------------------------------------------------------------------------- Y, API, CLI


def test_predictions(lab):
    r = lab("predictions", summary={"predictions": {
        "Y1": {"residual": 1e-13, "tolerance": 1e-8, "passed": True},
        "Y2": {"residual": 1.0, "tolerance": 1e-3, "passed": False},
        "Y4": {"residual": 1.0, "tolerance": 1e-3, "passed": True}}})
    v = evaluate_claim("Y1", [r], TH)
    assert v.status == "holds" and v.statistic[r.name]["residual"] == 1e-13
    assert evaluate_claim("Y2", [r], TH).status == "fails"
    assert evaluate_claim("Y3", [r], TH).status == "inconclusive"
    v = evaluate_claim("y4", [r], TH)
    assert v.status == "fails" and v.statistic[r.name]["record_passed_disagrees"] is True
    both = lab("predictions", summary={"predictions": {"Y5": [
        {"check": "symbolic", "proved": True},
        {"check": "numeric", "residual": 2e-9, "tolerance": 1e-9, "proved": False}]}})
    v = evaluate_claim("Y5", [both], TH)
    assert v.status == "fails"
    assert v.statistic[f"{both.name}[symbolic]"] == {
        "passed_flag": True, "why": "recorded passed (no residual: a symbolic check)"}
    assert v.statistic[f"{both.name}[numeric]"]["residual"] == 2e-9


def test_verdict_and_api(lab):
    with pytest.raises(ValueError):
        Verdict("S1", "maybe")
    with pytest.raises(UsageError):
        evaluate_claim("Z9", [], TH)
    vs = evaluate([], TH)
    assert [v.id for v in vs] == list(claims.CLAIM_IDS)
    assert {v.status for v in vs} == {"inconclusive"}
    assert len({v.reason for v in vs}) > 5  # each says what is missing
    # thresholds are honoured: a stricter near-zero rule flips S1
    good = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18)))
    assert evaluate_claim("S1", [good], Thresholds(near_zero_min=0.95)).status == "fails"
    json.dumps([v.to_dict() for v in evaluate([good], TH)])


def test_cli_writes_table_per_regime(lab, tmp_path, capsys):
    lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18)))
    lab("lr_sweep", regime="scale", lr=1e-4, n_classes=2,
        telemetry=[{"step": 10 * i, "rho": [0.9, 0.1]} for i in range(8)],
        summary={"valid": True})  # finished: claims leaves unfinished runs out
    out = tmp_path / "report"
    assert main([str(tmp_path), "--out", str(out), "--only", "s1,L1"]) == 0
    doc = json.loads((out / "claims.json").read_text())
    assert list(doc["regimes"]) == ["toy", "scale"]
    st = {g: {v["id"]: v["status"] for v in vs} for g, vs in doc["regimes"].items()}
    assert st == {"toy": {"S1": "holds", "L1": "inconclusive"},
                  "scale": {"S1": "inconclusive", "L1": "holds"}}
    md = (out / "claims.md").read_text()
    assert "| S1 |" in md and "| L1 |" in md
    (edge,) = doc["edges"]
    assert edge["reached"] is True and edge["edge_count"] == 1 and edge["n_c_minus_1"] == 1
    assert "edge count 1 vs n_c − 1 = 1" in md
    assert "holds" in capsys.readouterr().out
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="--out .*afile is a file"):
        main([str(tmp_path), "--out", str(tmp_path / "afile")])
    assert main([str(tmp_path), "--threshold", "rho_off=0.05", "--only", "L1"]) == 0
    assert json.loads((tmp_path / "claims.json").read_text())["regimes"]["scale"][0]["status"] == "fails"


def test_cli_usage_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no records"):
        main([str(tmp_path / "empty")])
    with pytest.raises(UsageError, match="unknown claim"):
        main([str(tmp_path), "--only", "L1,Q7"])
    with pytest.raises(UsageError, match="NAME=VALUE"):
        main([str(tmp_path), "--threshold", "bogus=1"])
    with pytest.raises(UsageError):
        main([str(tmp_path / "missing")])
    for bad in ("eps=nan", "eps=inf", "eps=-1", "min_sweep=2.5", "min_sweep=0"):
        with pytest.raises(UsageError, match="--threshold"):
            main([str(tmp_path), "--threshold", bad])

    from simlab.cli import main as simlab_main  # `python -m simlab claims` → exit code 2

    assert simlab_main(["claims", str(tmp_path / "empty")]) == 2


def test_load_records_drops_a_truncated_last_line_and_says_so(lab, tmp_path):
    r = lab("lr_sweep", telemetry=[{"step": 0, "rho": [0.5, 0.1]}, {"step": 1, "rho": [0.6, 0.1]}],
            summary={"valid": True})
    with open(r.path / "telemetry.jsonl", "a") as f:
        f.write('{"step": 2, "rho"')
    told = []
    (back,) = claims.load_records([r.path], warn=told.append)
    assert len(back.telemetry) == 2 and len(told) == 1 and "telemetry" in told[0]


def test_combine_says_how_many_units_held_or_were_inconclusive_beside_the_failures():
    from simlab.claims.verdict import FAILS, HOLDS, INCONCLUSIVE, combine
    units = {"a": (FAILS, {}), "b": (HOLDS, {}), "c": (INCONCLUSIVE, {}), "d": (INCONCLUSIVE, {})}
    v = combine("L1", units, {}, ["a", "b", "c", "d"], "runs", "none")
    assert v.status == FAILS
    assert v.reason.startswith("fails for 1 of 4 runs (1 holds, 2 inconclusive): a")
    only = combine("L1", {"a": (FAILS, {}), "b": (FAILS, {})}, {}, ["a", "b"], "runs", "none")
    assert only.reason == "fails for 2 of 2 runs: a, b"
