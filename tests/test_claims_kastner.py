"""K1 and K2 (Lowell & Kastner 2024) on hand-made records: each rule passes, fails and sets a run
aside with its deciding number, and settings are judged over seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simlab.claims import Thresholds, evaluate_claim
from simlab.record import Record, RecordWriter

TH = Thresholds()


@pytest.fixture
def lab(tmp_path):
    n = [0]

    def make(*, telemetry=(), summary=None, arrays=None, name=None, experiment="kastner", **config):
        n[0] += 1
        path = tmp_path / (name or f"run_{n[0]}")
        config = {"dataset": "cifar8", "n_classes": 3, "lr": 0.1, "n_data": 64, "hidden": 16,
                  "activation": "tanh", **config}
        w = RecordWriter(path, config, meta={"regime": "toy", "experiment": experiment,
                                             "data": {"name": "cifar8"}})
        for p in telemetry:
            w.append(p)
        if arrays:
            w.save_arrays(arrays)
        w.write_summary({"stop_reason": "target_loss", "valid": True, "steps": 100,
                         **(summary or {})})
        return Record.load(path)

    return make


def flow_run(lab, schedule, seed, *, scale=1.0, peak=30.0, peak_step=50, steps=100, t_end=40.0,
             flow_c=0.5, rise_at=None, experiment="kastner", name=None):
    """A flow record: L(t) = 2.3·e^{−t/10}·scale at ``steps`` + 1 iterations up to ``t_end``
    (with one rise of the loss at iteration ``rise_at``)."""
    t = np.linspace(0.0, t_end, steps + 1)
    loss = 2.3 * np.exp(-t / 10) * scale
    loss[0] = 2.3
    if rise_at is not None:
        loss[rise_at] = loss[rise_at - 1] * 1.5
    return lab(schedule=schedule, flow_c=flow_c, seed=seed, experiment=experiment,
               name=name or f"{schedule}_c{flow_c}_s{seed}",
               arrays={"history_t": t, "history_loss": loss,
                       "history_lambda_1": peak * np.exp(-((np.arange(steps + 1) - peak_step) / 30) ** 2)},
               summary={"peak_lambda_1": peak, "peak_step": peak_step, "steps": steps})


def test_k1_holds_when_exponential_euler_tracks_the_flow_in_fewer_iterations(lab):
    recs = []
    for s in (0, 1):
        recs.append(flow_run(lab, "flow", s, steps=400))
        recs.append(flow_run(lab, "expeuler", s, steps=100, scale=1.01, peak=30.6, peak_step=20))
    v = evaluate_claim("K1", recs, TH)
    assert v.status == "holds", v.reason
    (setting,) = v.settings
    assert setting.statistic["curve_gap"] == pytest.approx(0.01, abs=5e-4)  # interpolation
    assert setting.statistic["peak_gap"] == pytest.approx(0.02)
    assert setting.statistic["speedup"] == pytest.approx(4.0)
    assert "vs flow c = 0.5" in v.reason and "4× fewer iterations" in v.reason


def test_k1_fails_on_a_curve_off_by_ten_percent_and_needs_two_seeds(lab):
    recs = []
    for s in (0, 1):
        recs.append(flow_run(lab, "flow", s))
        recs.append(flow_run(lab, "expeuler", s, scale=1.1))
    assert evaluate_claim("K1", recs, TH).status == "fails"
    one = evaluate_claim("K1", recs[:2], TH)
    assert one.status == "inconclusive" and "2 seeds needed" in one.reason


def test_k1_a_loss_that_rises_fails_and_an_unseen_peak_is_undecided(lab):
    recs = []
    for s in (0, 1):
        recs.append(flow_run(lab, "flow", s))
        recs.append(flow_run(lab, "expeuler", s, rise_at=30))
    v = evaluate_claim("K1", recs, TH)
    assert v.status == "fails" and "1 loss rise(s)" in v.reason
    late = [flow_run(lab, "flow", 5, peak_step=99), flow_run(lab, "expeuler", 5, peak_step=99)]
    assert evaluate_claim("K1", late, TH).status == "inconclusive"


def test_k1_counts_a_copied_reference_once(lab):
    """L8's flow run and a [K] grid's copy of it (same setting, seed and c) are one reference:
    with both present the setting still has 2 seeds, not 3, and L8's own record is read."""
    recs = []
    for s in (0, 1):
        recs.append(flow_run(lab, "flow", s, steps=400, experiment="gradient_flow"))
        recs.append(flow_run(lab, "expeuler", s, steps=100, scale=1.01, peak=30.6, peak_step=20))
    # the copy of seed 1's flow (a [K] grid's, here off by 30 % so that reading it would fail)
    copy = flow_run(lab, "flow", 1, steps=400, scale=1.3, name="copy_flow_s1")
    v = evaluate_claim("K1", recs + [copy], TH)
    assert v.status == "holds", v.reason
    assert "2 seeds: 2 pass" in v.reason


def test_l8_judges_an_exponential_euler_sweep_as_its_own_setting(lab):
    """K1: "L8 and L9 are then also reported on the exponential Euler runs": the expeuler runs
    of a size sweep make their own L8 setting beside the flow's, named by solver."""
    recs = []
    for n in (64, 128, 256, 384, 512):
        for s in (0, 1):
            for sched, exp in (("flow", "gradient_flow"), ("expeuler", "kastner")):
                t = np.linspace(0.0, 40.0, 101)
                recs.append(lab(schedule=sched, seed=s, n_data=n, activation="relu",
                                experiment=exp, name=f"{sched}_{n}_s{s}",
                                arrays={"history_t": t, "history_loss": 2.3 * np.exp(-t / 10),
                                        "history_lambda_1": np.full(101, 1.0)},
                                summary={"peak_lambda_1": 0.1 * n + s, "peak_step": 50}))
    v = evaluate_claim("L8", recs, TH)
    names = sorted(x.name for x in v.settings)
    assert names == ["toy cifar8 relu exp. Euler n_D sweep", "toy cifar8 relu flow n_D sweep"], names
    assert v.status == "holds" and all(x.statistic["r2"] > 0.999 for x in v.settings)


def test_k1_without_a_reference_flow_is_not_applicable(lab):
    v = evaluate_claim("K1", [flow_run(lab, "expeuler", 0)], TH)
    assert v.status == "not applicable" and "no reference flow" in v.reason


def edge_points(ratios, *, start=10, every=10):
    """Constant-η telemetry (η = 0.1, n_c = 3): off the edge, then on it (ρ_1 ≥ 1), with the
    probe's λ_1(G)/λ_1(H) = ``ratios`` at the on-edge points."""
    pts = [{"step": 0, "rho": [0.5, 0.3, 0.1]}, {"step": start, "rho": [0.6, 0.3, 0.1]}]
    for i, q in enumerate(ratios):
        pts.append({"step": start + every * (i + 1), "rho": [1.02, 0.9, 0.1],
                    "lambda_1_h": 20.4, "lambda_1_ggn": 20.4 * q, "ggn_ratio": q,
                    "ggn_blocks": {"0": {"h": 20.0, "ggn": 20.0 * q}, "2": {"h": 1.0, "ggn": 1.0}}})
    return pts


def test_k2_on_the_edge_holds_fails_and_needs_enough_probe_points(lab):
    good = [lab(telemetry=edge_points([0.95, 0.93, 0.97, 0.94, 0.96]), seed=s, name=f"g{s}",
                experiment="gauss_newton", schedule="constant") for s in range(3)]
    v = evaluate_claim("K2", good, TH)
    assert v.status == "holds", v.reason
    (setting,) = v.settings
    assert setting.statistic["ggn_ratio"] == pytest.approx(0.95)
    assert setting.statistic["block_0"] == pytest.approx(0.95) and setting.statistic["block_2"] == 1.0
    assert "on the edge" in setting.name
    bad = [lab(telemetry=edge_points([0.5] * 5), seed=s, name=f"b{s}", lr=0.2,
               experiment="gauss_newton", schedule="constant") for s in range(3)]
    assert evaluate_claim("K2", bad, TH).status == "fails"
    few = [lab(telemetry=edge_points([0.95, 0.95]) + [{"step": 100 + i, "rho": [1.02, 0.9, 0.1]}
                                                       for i in range(5)],
               seed=s, name=f"f{s}", lr=0.3, experiment="gauss_newton") for s in range(3)]
    v = evaluate_claim("K2", few, TH)
    assert v.status == "not applicable" and "too few probe points on the edge (3 runs): 2 (≥ 3" in v.reason


def test_k2_at_the_flow_peak_reads_the_probe_nearest_the_peak(lab):
    recs = []
    for s in (0, 1):
        pts = [{"step": k, "lambda_1_h": 10.0, "lambda_1_ggn": 10.0 * q, "ggn_ratio": q}
               for k, q in ((0, 0.5), (40, 0.8), (60, 0.97), (100, 0.9))]
        recs.append(lab(telemetry=pts, schedule="expeuler", seed=s, name=f"p{s}",
                        summary={"peak_lambda_1": 12.0, "peak_step": 58, "steps": 100}))
    v = evaluate_claim("K2", recs, TH)
    assert v.status == "holds", v.reason
    assert v.settings[0].statistic["ggn_ratio"] == pytest.approx(0.97)
    assert v.settings[0].statistic["from_peak"] == 2


def test_k_runs_do_not_count_in_the_2022_claims(lab):
    """A gauss_newton run repeats an η-sweep setting with the probe, and an exponential Euler
    run's ρ uses η_max: neither may enter L1–L7 or S8 (they would count a seed twice or read a
    meaningless ρ)."""
    from simlab.claims import readers as rd

    pts = edge_points([0.95] * 6)
    for exp, sched in (("gauss_newton", "constant"), ("kastner", "expeuler")):
        r = lab(telemetry=pts, experiment=exp, schedule=sched)
        assert not rd.is_lowell(r)
        for cid in ("L1", "L7", "S8"):
            v = evaluate_claim(cid, [r], TH)
            assert rd.label(r) not in v.runs, (cid, v.reason)
    same = lab(telemetry=pts, experiment="lr_sweep", schedule="constant")
    assert rd.is_lowell(same) and rd.label(same) in evaluate_claim("L1", [same], TH).runs


def test_the_kastner_figure_draws_each_solver_and_the_probe(lab):
    from simlab import figures
    from test_claims_figures import check_layout, data_axes, lines

    recs = [flow_run(lab, "flow", 0, steps=400), flow_run(lab, "expeuler", 0),
            flow_run(lab, "flow", 0, flow_c=0.1, steps=800)]
    recs.append(lab(telemetry=edge_points([0.95] * 5), seed=0, name="edge", experiment="gauss_newton",
                    schedule="constant"))
    fig, reading = figures.draw_kastner(recs, TH)
    panels = data_axes(fig)
    assert len(panels) == 3
    assert len(lines(panels[0], "loss")) == 3 and panels[0].get_yscale() == "log"
    styles = sorted(ln.get_linestyle() for ln in lines(panels[0], "loss"))
    assert styles == ["-", "--", ":"]
    assert len(lines(panels[2], "ggn_edge")) == 1 and len(lines(panels[2], "threshold")) == 1
    assert list(lines(panels[2], "ggn_edge")[0].get_ydata()) == [0.95] * 5
    assert reading.startswith("K1 inconclusive") and "K2 inconclusive" in reading
    check_layout(fig)


def test_k1_pairs_a_run_written_before_the_config_gained_cusp_skip(lab):
    """cusp_skip (where a flow run's own slice is taken) is bookkeeping: an exponential Euler run
    written with cusp_skip = 0 still pairs with a flow run written before the field existed."""
    recs = []
    for s in (0, 1):
        recs.append(flow_run(lab, "flow", s, steps=400))
        e = flow_run(lab, "expeuler", s, steps=100, scale=1.01, peak=30.6, peak_step=20)
        cfg = json.loads((e.path / "config.json").read_text())
        cfg["config"]["cusp_skip"] = 0.0
        (e.path / "config.json").write_text(json.dumps(cfg))
        recs.append(Record.load(e.path))
    assert evaluate_claim("K1", recs, TH).status == "holds"
