"""The claims engine on hand-made records whose verdicts are known (holds / fails / inconclusive)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simlab import claims
from simlab.claims import Thresholds, Verdict, evaluate, evaluate_claim
from simlab.claims_cli import main
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
    runs = [lab("width_sweep", hidden=[h, h], summary=spec_summary(bulk_outliers([10.0, 8.0], n)))
            for h, n in [(2, 18), (6, 38), (10, 78)]]
    v = evaluate_claim("S2", runs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["n_params"] == [20, 40, 80]
    assert g["near_zero_fraction"] == pytest.approx([0.9, 0.95, 0.975])
    assert g["outlier_counts"] == [[2], [2], [2]]
    # a third outlier appears in the widest net: the count changes
    extra = lab("width_sweep", hidden=[14, 14],
                summary=spec_summary(bulk_outliers([10.0, 8.0, 0.5], 157)))
    v = evaluate_claim("S2", runs + [extra], TH)
    assert v.status == "fails"
    (g,) = v.statistic.values()
    assert g["outlier_counts"][-1] == [3]
    assert evaluate_claim("S2", runs[:2], TH).status == "inconclusive"


def test_S3_std_sweep_against_fluctuation(lab):
    fl = lab("fluctuation", hidden=[4, 4],
             summary={"top_eigenvalues": [1.0, 1.2, 0.8, 1.1, 0.9]})
    sigma = float(np.std([1.0, 1.2, 0.8, 1.1, 0.9], ddof=1))
    sweep = [lab("std_sweep", hidden=[4, 4], blob_std=s, summary={"lambda_max": l, "theta_norm": t})
             for s, l, t in [(0.5, 1.0, 10.0), (1.0, 2.0, 10.5), (2.0, 3.0, 11.0)]]
    v = evaluate_claim("S3", sweep + [fl], TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["init_spread"] == pytest.approx(sigma)
    assert g["rise"] == pytest.approx(2.0) and g["theta_ratio"] == pytest.approx(1.1)
    small = [lab("std_sweep", hidden=[4, 4], blob_std=s, summary={"lambda_max": l, "theta_norm": 10.0})
             for s, l in [(0.5, 1.0), (1.0, 1.05), (2.0, 1.1)]]
    v = evaluate_claim("S3", small + [fl], TH)
    assert v.status == "fails"  # rise 0.1 < spread 0.158
    assert next(iter(v.statistic.values()))["rise"] == pytest.approx(0.1)
    assert evaluate_claim("S3", small, TH).status == "inconclusive"  # no spread available


def test_S3_reads_the_toy_configs_std_field(lab):
    """Toy records name the blob standard deviation ``std`` (ToyConfig); S3 must read it."""
    fl = lab("fluctuation", hidden=10, summary={"top_eigenvalues": [1.0, 1.2, 0.8, 1.1, 0.9]})
    sweep = [lab("std_sweep", hidden=10, dataset="blobs", std=s,
                 summary={"lambda_max": l, "theta_norm": 10.0})
             for s, l in [(0.5, 1.0), (1.0, 2.0), (2.0, 3.0)]]
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
    r = lab("lr_sweep", n_classes=3, telemetry=tel,
            summary=spec_summary(bulk_outliers([10.0, 8.0], 18)))
    v = evaluate_claim("S8", [r], TH)
    assert v.status == "reported"
    row = v.statistic[r.name]
    assert row == {"n_classes": 3, "n_c_minus_1": 2, "sagun_outliers": 2,
                   "lowell_edge_count": 2, "rho_gap_index": 2}
    assert evaluate_claim("S8", [], TH).status == "inconclusive"


# ----------------------------------------------------------------------------- L claims


def rho_tel(rows, steps=None):
    steps = steps if steps is not None else range(0, 10 * len(rows), 10)
    return [{"step": s, "rho": list(r)} for s, r in zip(steps, rows)]


def test_L1_edge_across_nc_minus_1(lab):
    big = lab("lr_sweep", lr=1e-3, n_classes=3, telemetry=rho_tel([[3.0, 2.0, 1.0]]))
    small = lab("lr_sweep", lr=1e-4, n_classes=3,
                telemetry=rho_tel([[0.5, 0.3, 0.05], [0.95, 0.72, 0.1], [0.9, 0.7, 0.2],
                                   [float("nan")] * 3]))  # a NaN point is "not measured"
    v = evaluate_claim("L1", [big, small], TH)
    assert v.status == "holds" and v.runs == (small.name,)
    (s,) = v.statistic.values()
    assert s["max_rho_nc_minus_1"] == pytest.approx(0.72) and s["max_rho_nc"] == pytest.approx(0.2)
    off = lab("lr_sweep", lr=1e-4, n_classes=3, activation="tanh",
              telemetry=rho_tel([[0.9, 0.8, 0.4]]))
    assert evaluate_claim("L1", [off], TH).status == "fails"
    assert evaluate_claim("L1", [big, small, off], TH).status == "fails"  # two groups, one fails
    assert evaluate_claim("L1", [], TH).status == "inconclusive"


def test_L1_single_protocol_run_when_no_sweep(lab):
    on = lab("scale", regime="scale", lr=0.01, n_classes=3, loss="ce", schedule="constant",
             telemetry=rho_tel([[1.1, 0.9, 0.1]]))
    assert evaluate_claim("L1", [on], TH).status == "holds"
    mse = lab("scale", regime="scale", lr=0.01, n_classes=3, loss="mse",
              telemetry=rho_tel([[1.1, 0.9, 0.1]]))
    assert evaluate_claim("L1", [mse], TH).status == "inconclusive"  # MSE runs are not L1's
    sweep = lab("lr_sweep", lr=1e-4, n_classes=3, telemetry=rho_tel([[0.9, 0.8, 0.4]]))
    v = evaluate_claim("L1", [on, sweep], TH)  # a sweep, when present, is what L1 reads
    assert v.status == "fails" and v.runs == (sweep.name,)


def test_L2_count_follows_classes(lab):
    r2 = lab("class_sweep", n_classes=2, n_data=200, telemetry=rho_tel([[0.9, 0.1, 0.05]] * 4))
    r3 = lab("class_sweep", n_classes=3, n_data=300, telemetry=rho_tel([[0.9, 0.8, 0.1, 0.05]] * 4))
    v = evaluate_claim("L2", [r2, r3], TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert {k: x["gap_index"] for k, x in g["runs"].items()} == {r2.name: 1, r3.name: 2}
    bad = lab("class_sweep", n_classes=5, n_data=500, telemetry=rho_tel(
        [[0.9, 0.2, 0.19, 0.18, 0.17, 0.1]] * 4))
    assert evaluate_claim("L2", [r2, r3, bad], TH).status == "fails"
    assert evaluate_claim("L2", [r3], TH).status == "inconclusive"


def test_L2_late_telemetry_is_the_last_quarter(lab):
    # early points have the gap at 1, the last quarter at 2 = n_c - 1
    tel = rho_tel([[0.9, 0.1, 0.05]] * 6 + [[0.9, 0.85, 0.05]] * 2)
    rho = claims.late_rho(lab("class_sweep", n_classes=3, telemetry=tel), TH)
    assert rho == pytest.approx([0.9, 0.85, 0.05])


def lr_runs(lab, values, **extra):
    return [lab("lr_sweep", lr=lr, n_classes=2, telemetry=tel, **extra) for lr, tel in values]


def test_L3_rho_nc_falls_with_lr(lab):
    rs = lr_runs(lab, [(1e-4, rho_tel([[0.8, 0.05]])), (3e-4, rho_tel([[0.85, 0.1]])),
                       (1e-3, rho_tel([[0.9, 0.2]]))])
    v = evaluate_claim("L3", rs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["lr"] == [1e-4, 3e-4, 1e-3] and g["max_rho_nc"] == pytest.approx([0.05, 0.1, 0.2])
    bad = lr_runs(lab, [(1e-4, rho_tel([[0.8, 0.3]])), (3e-4, rho_tel([[0.85, 0.1]])),
                        (1e-3, rho_tel([[0.9, 0.2]]))], activation="tanh")
    assert evaluate_claim("L3", bad, TH).status == "fails"
    assert evaluate_claim("L3", rs[:2], TH).status == "inconclusive"


def proj_tel(top, bulk, n=4):
    return [{"step": 10 * i, "rho": [0.9, 0.1], "p_top_norm": top, "p_bulk_norm": bulk}
            for i in range(n)]


def test_L5_projections(lab):
    rs = lr_runs(lab, [(1e-4, proj_tel(3.0, 1.0)), (3e-4, proj_tel(2.0, 1.2)),
                       (1e-3, proj_tel(1.0, 1.5))])
    v = evaluate_claim("L5", rs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["bulk_spread"] == pytest.approx(1.5)
    bad = lr_runs(lab, [(1e-4, proj_tel(3.0, 1.0)), (3e-4, proj_tel(2.0, 1.2)),
                        (1e-3, proj_tel(1.0, 3.0))], activation="tanh")
    v = evaluate_claim("L5", bad, TH)
    assert v.status == "fails" and next(iter(v.statistic.values()))["bulk_spread"] == pytest.approx(3.0)
    off_edge = [{"step": 0, "rho": [0.3, 0.1], "p_top_norm": 1.0, "p_bulk_norm": 1.0}]
    assert evaluate_claim("L5", lr_runs(lab, [(1e-4, off_edge)], loss="mse"),
                          TH).status == "inconclusive"


def test_L4_entry(lab):
    def tel(edge_at, top_at):
        return [{"step": s, "rho": [0.9, 0.8 if s >= edge_at else 0.3, 0.1],
                 "p_top_norm": 2.0 if s >= top_at else 0.5, "p_bulk_norm": 1.0}
                for s in range(0, 110, 10)]

    ok = lab("entry", n_classes=3, telemetry=tel(50, 60))
    v = evaluate_claim("L4", [ok], TH)
    assert v.status == "holds"
    s = v.statistic[ok.name]
    assert (s["edge_step"], s["concentration_step"], s["interval"]) == (50, 60, 10.0)
    assert evaluate_claim("L4", [lab("entry", n_classes=3, telemetry=tel(50, 90))], TH).status == "fails"
    assert evaluate_claim("L4", [lab("entry", n_classes=3, telemetry=tel(50, 999))], TH).status == "fails"
    assert evaluate_claim("L4", [lab("entry", n_classes=3, telemetry=tel(999, 60))],
                          TH).status == "inconclusive"


def test_L6_learning_in_the_bulk(lab):
    top, bulk = [0.1, -0.2, 0.3, -0.1], [-0.01, -0.012, -0.011, -0.009]
    tel = [{"step": i, "rho": [0.8], "dl_top": t, "dl_bulk": b} for i, (t, b) in enumerate(zip(top, bulk))]
    r = lab("toy", telemetry=tel)
    v = evaluate_claim("L6", [r], TH)
    assert v.status == "holds"
    s = v.statistic[r.name]
    assert s["mean_dl_top"] == pytest.approx(0.025) and s["mean_dl_bulk"] == pytest.approx(-0.0105)
    assert s["std_dl_top"] == pytest.approx(np.std(top, ddof=1))
    up = [{**p, "dl_bulk": -p["dl_bulk"]} for p in tel]
    assert evaluate_claim("L6", [lab("toy", telemetry=up)], TH).status == "fails"
    few = [{**p, "rho": [0.8 if i < 2 else 0.5]} for i, p in enumerate(tel)]
    assert evaluate_claim("L6", [lab("toy", telemetry=few)], TH).status == "inconclusive"


def test_L7_theta_norm(lab):
    r = lab("lr_sweep", telemetry=[{"step": i, "theta_norm": t} for i, t in enumerate([10, 10.05, 9.97])])
    v = evaluate_claim("L7", [r], TH)
    assert v.status == "holds" and v.statistic[r.name]["max_rel_change"] == pytest.approx(0.005)
    moved = lab("lr_sweep", telemetry=[{"step": 0, "theta_norm": 10}, {"step": 1, "theta_norm": 10.5}])
    assert evaluate_claim("L7", [r, moved], TH).status == "fails"
    assert evaluate_claim("L7", [], TH).status == "inconclusive"
    # the scale regime's single protocol run counts as a Lowell run
    single = lab("scale", regime="scale", telemetry=[{"step": 0, "theta_norm": 10}, {"step": 5, "theta_norm": 10.02}])
    assert evaluate_claim("L7", [single], TH).status == "holds"


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


def test_F1_near_zero(lab):
    a = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 18)))   # 0.9
    b = lab("toy", summary=spec_summary(bulk_outliers([10.0, 8.0], 38)))   # 0.95
    v = evaluate_claim("F1", [a, b], TH)
    assert v.status == "holds" and v.statistic["median"] == pytest.approx(0.925)
    sc = lab("lr_sweep", regime="scale", summary={
        "lambda_max": 5.0, "density": {"nodes": [0.0, 5.0], "weights": [0.5, 0.5]}})
    v = evaluate_claim("F1", [sc], TH)
    assert v.status == "fails"
    assert v.statistic["runs"][sc.name] == {"near_zero_fraction": 0.5, "source": "density"}
    assert evaluate_claim("F1", [], TH).status == "inconclusive"


def test_F2_saddles(lab):
    sad = [lab("width_sweep", hidden=[h], summary=spec_summary(bulk_outliers([10.0], 9, neg=-0.01)))
           for h in (2, 4)]
    v = evaluate_claim("F2", sad, TH)
    assert v.status == "holds" and v.statistic["saddle_fraction"] == 1.0
    assert v.statistic["runs"][sad[0].name]["negative_fraction"] == pytest.approx(0.1)
    mins = [lab("width_sweep", hidden=[h], summary=spec_summary(np.linspace(0.1, 1, 10)))
            for h in (6, 8)]
    v = evaluate_claim("F2", sad + mins, TH)
    assert v.status == "fails" and v.statistic["saddle_fraction"] == 0.5


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
    lab("lr_sweep", regime="scale", lr=1e-4, n_classes=2, telemetry=rho_tel([[0.9, 0.1]]))
    out = tmp_path / "report"
    assert main([str(tmp_path), "--out", str(out), "--only", "s1,L1"]) == 0
    doc = json.loads((out / "claims.json").read_text())
    assert list(doc["regimes"]) == ["toy", "scale"]
    st = {g: {v["id"]: v["status"] for v in vs} for g, vs in doc["regimes"].items()}
    assert st == {"toy": {"S1": "holds", "L1": "inconclusive"},
                  "scale": {"S1": "inconclusive", "L1": "holds"}}
    md = (out / "claims.md").read_text()
    assert "| S1 |" in md and "| L1 |" in md
    assert "holds" in capsys.readouterr().out
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
    from simlab.cli import main as simlab_main  # `python -m simlab claims` → exit code 2

    assert simlab_main(["claims", str(tmp_path / "empty")]) == 2
