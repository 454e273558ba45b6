"""Lowell's cusp (L9) in both regimes: the replayed gradient-flow θ is the run's θ bit for bit,
the slice's second difference at Δ = 0 is h_1ᵀHh_1 = λ_1 (exact dense float64 Hessian) on a
smooth net, a toy flow run records its slice, and L9 reads toy and scale records with one
statistic (readers.cusp_sharpness), one verdict per regime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simlab.claims import Thresholds, evaluate_claim, readers
from simlab.cusp import cusp_at, cusp_deltas, loss_slice, theta_at_step
from simlab.record import Record, RecordWriter
from simlab.toy import lowell
from simlab.toy.run import build, run
from simlab.trainer import TrainConfig, train

TH = Thresholds()


def tiny(**kw):
    base = dict(dataset="blobs", n_data=40, hidden=6, activation="tanh", lr=0.5, schedule="flow",
                max_steps=30, target_loss=None, telemetry_every=10, k=3, experiment="gradient_flow",
                cusp_points=11, cusp_radius=0.01)
    base.update(kw)
    return lowell.config(**base)


def test_replay_gives_the_flow_runs_theta_bit_for_bit():
    land, _ = build(tiny())
    res = train(land, TrainConfig(lr=0.5, schedule="flow", max_steps=25, telemetry_every=100, k=2),
                progress=False)
    lrs = res.history["lr"]
    assert len(set(np.round(lrs, 12))) > 1  # the flow's η really varies
    assert torch.equal(theta_at_step(land, lrs, res.step), res.theta)
    for s in (0, 7, 19):
        th = theta_at_step(land, lrs, s)
        assert land.loss(th) == res.history["loss"][s]
    with pytest.raises(ValueError):
        theta_at_step(land, lrs, len(lrs) + 1)


def test_slice_second_difference_is_lambda_1_of_the_exact_hessian():
    land, _ = build(tiny())
    theta = land.theta0 + 0.1
    H = land.hessian(theta)
    w, V = torch.linalg.eigh(H)
    c = cusp_at(land, theta, radius=1e-3, points=5, tol=1e-10)
    assert c["lambda_1"] == pytest.approx(float(w[-1]), rel=1e-8)
    sh = readers.cusp_sharpness(c["deltas"], c["values"])
    # (L(θ+δh) + L(θ−δh) − 2L(θ))/δ² = hᵀHh + O(δ²) on a smooth (tanh) net
    assert sh["second_difference"] == pytest.approx(float(w[-1]), rel=1e-4)
    assert sh["parabola_ratio"] == pytest.approx(1.0, abs=1e-3)
    d = cusp_deltas(1e-3, 5)
    assert list(d) == pytest.approx([-1e-3, -5e-4, 0.0, 5e-4, 1e-3])
    # the slice is the loss re-evaluated along h (any scaling of the direction)
    v = loss_slice(land, theta, 3.0 * V[:, -1], d)
    assert v[2] == 0.0 and v[0] == pytest.approx(land.loss(theta - 1e-3 * V[:, -1]) - land.loss(theta))


def test_a_toy_flow_run_records_its_slice_at_the_peak(tmp_path):
    s = run(tiny(max_steps=40), tmp_path / "flow", progress=False, figures=False)
    c = s["cusp"]
    assert c["peak_step"] == s["peak_step"] and c["n_data"] == 40
    assert c["replay_loss_error"] == 0.0
    assert c["lambda_1"] == pytest.approx(s["peak_lambda_1"], rel=1e-3)
    assert len(c["deltas"]) == len(c["values"]) == 11 and c["values"][5] == 0.0
    r = Record.load(tmp_path / "flow")
    assert readers.cusp(r) is not None
    sh = readers.cusp_sharpness(c["deltas"], c["values"])
    assert sh["second_difference"] == pytest.approx(c["lambda_1"], rel=1e-2)
    s0 = run(tiny(max_steps=5, cusp_points=0), tmp_path / "none", progress=False, figures=False)
    assert "cusp" not in s0


@pytest.mark.parametrize("bad", [2, 4, -1])
def test_cusp_points_must_be_odd_and_at_least_3(bad):
    from simlab.errors import UsageError

    with pytest.raises(UsageError, match="--cusp-points"):
        tiny(cusp_points=bad).validate()


# ------------------------------------------------------------------ L9 on hand-made records


def flow_record(root, regime, n, sharp, *, peak_step=5, steps=40, seed=0):
    """A gradient-flow record whose slice is v(Δ) = a Δ² + b |Δ|^1.5: the second difference at
    0 grows with a and the cusp part b; the parabola ratio with b (1 for b = 0)."""
    a, b = sharp
    d = np.linspace(-0.003, 0.003, 41)
    v = a * d ** 2 + b * np.abs(d) ** 1.5
    path = root / f"{regime}_{n}_s{seed}"
    w = RecordWriter(path, {"n_data": n, "lr": 0.1, "schedule": "flow", "n_classes": 10,
                            "activation": "relu", "seed": seed},
                     meta={"regime": regime, "experiment": "gradient_flow",
                           "data": {"name": "cifar8" if regime == "toy" else "cifar10"}})
    w.append({"step": 0, "t": 0.0, "eigenvalues": [1.0]})
    w.write_summary({"steps": steps, "stop_reason": "target_loss", "peak_lambda_1": 2.0 * a,
                     "peak_step": peak_step, "cusp": {"deltas": d.tolist(), "values": v.tolist(),
                                                      "n_data": n, "peak_step": peak_step}})
    return Record.load(path)


def two_seeds(root, regime, sizes, sharp_of):
    return [flow_record(root, regime, n, sharp_of(n), seed=s) for n in sizes for s in (0, 1)]


def test_L9_judges_both_regimes_with_one_statistic(tmp_path):
    toy = two_seeds(tmp_path, "toy", (64, 128, 256, 512), lambda n: (5.0 + n / 64, 0.0))
    scale = two_seeds(tmp_path, "scale", (64, 128, 192, 256), lambda n: (100.0, 2.0 * n))
    scale_flat = two_seeds(tmp_path / "f", "scale", (64, 128, 192, 256), lambda n: (100.0 - n / 10, 0.0))
    v = evaluate_claim("L9", toy + scale, TH)
    assert len(v.settings) == 2
    by = {s.name.split()[0]: s for s in v.settings}   # "<regime> <dataset> relu flow n_D sweep"
    for r_list, s in ((scale, by["scale"]), (toy, by["toy"])):
        want = [readers.cusp_sharpness(readers.cusp(r)["deltas"], readers.cusp(r)["values"])
                for r in r_list[::2]]
        assert s.statistic["second_difference"] == pytest.approx(
            [w["second_difference"] for w in want])
        assert s.statistic["parabola_ratio"] == pytest.approx([w["parabola_ratio"] for w in want],
                                                              nan_ok=True)
    # toy: a parabola whose curvature grows: second difference rises, ratio 1 at every n_D: no
    # cusp (the slice is not sharper than its parabola), so L9 fails there
    toy_s = by["toy"]
    assert toy_s.statistic["second_difference"] == pytest.approx(
        [2 * (5.0 + n / 64) for n in (64, 128, 256, 512)], rel=1e-6)
    assert toy_s.statistic["parabola_ratio"] == pytest.approx([1.0] * 4, rel=1e-6)
    assert v.status == "mixed"
    assert evaluate_claim("L9", scale, TH).status == "holds"
    assert evaluate_claim("L9", scale_flat, TH).status == "fails"
    # a flow run whose λ_1 peaked at its last iteration has no θ*: not applicable
    late = flow_record(tmp_path / "late", "toy", 1024, (50.0, 0.0), peak_step=39, steps=40)
    v = evaluate_claim("L9", toy + [late], TH)
    assert v.settings[0].statistic["n_data"] == [64, 128, 256, 512]
    assert "no θ* of peak λ_1" in v.reason


def test_cusp_figure_reads_L9s_numbers_and_its_even_part_is_flat_for_a_parabola(tmp_path,
                                                                                monkeypatch):
    from simlab import figures

    toy = two_seeds(tmp_path, "toy", (64, 128, 256, 512), lambda n: (5.0 + n / 64, 0.0))
    fig, reading = figures.draw_cusp(toy, TH)
    (s,) = evaluate_claim("L9", toy, TH).settings
    assert reading.startswith("cusp (L9 fails)")
    assert ", ".join(f"{x:.4g}" for x in s.statistic["second_difference"]) in reading
    drawn = [(ln.get_xdata(), ln.get_ydata()) for ln in fig.axes[1].get_lines()]
    n_of = sorted({r.config["n_data"] for r in toy})   # one slice per n_D (its first seed)
    assert len(drawn) == len(n_of) == 4
    # [v(Δ) + v(−Δ)]/Δ² of a·Δ² is 2a at every |Δ|
    for (_, y), n in zip(drawn, n_of):
        assert np.allclose(y, 2 * (5.0 + n / 64), rtol=1e-9)
