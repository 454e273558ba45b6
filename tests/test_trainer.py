"""Trainer: GD is plain GD; stop rules; cadence; divergence; resume gives the same record."""

import os

import numpy as np
import pytest
import torch

from conftest import gd, make_landscape
from simlab.errors import UsageError
from simlab.operators import DenseOperator
from simlab.record import Record, RecordWriter
from simlab.trainer import TrainConfig, train


def tiny(**kw):
    kw = {"widths": (4,), "activation": "tanh", "loss": "ce", "n_data": 12, "n_classes": 3, "seed": 0, **kw}
    return make_landscape(**kw)


def cheap(**kw):
    """A config whose telemetry is cheap (few eigenpairs, loose tolerance)."""
    return TrainConfig(**{"k": 2, "eig_tol": 1e-8, "telemetry_every": 0, **kw})


def hand_losses(ls, lr, steps):
    theta, out = ls.theta0.clone(), []
    for _ in range(steps + 1):
        loss, g = ls.loss_grad(theta)
        out.append((loss, float(torch.linalg.vector_norm(g))))
        theta = theta - lr * g
    return out


def test_gd_matches_a_hand_written_loop_exactly():
    ls = tiny()
    res = train(ls, cheap(lr=0.3, max_steps=7), progress=False)
    assert res.step == 7 and res.stop_reason == "max_steps"
    assert torch.equal(res.theta, gd(ls, ls.theta0, 0.3, 7))
    assert res.t == pytest.approx(7 * 0.3, rel=1e-15)
    losses = hand_losses(ls, 0.3, 7)
    np.testing.assert_array_equal(res.history["loss"], [l for l, _ in losses])
    np.testing.assert_array_equal(res.history["step"], np.arange(8))
    assert res.loss == losses[-1][0] and res.grad_norm == losses[-1][1]
    # telemetry_every=0: a point at the start and one at the end
    assert res.n_points == 2
    # the starting point is not the landscape's θ_0 when one is given
    theta = ls.theta0 + 0.01
    assert torch.equal(train(ls, cheap(lr=0.3, max_steps=2), theta=theta, progress=False).theta,
                       gd(ls, theta, 0.3, 2))


def test_stop_rules():
    ls = tiny()
    lr = 0.5
    hist = hand_losses(ls, lr, 40)
    # target loss: the first step with L < target
    target = hist[12][0] * 0.5 + hist[13][0] * 0.5
    first = next(i for i, (l, _) in enumerate(hist) if l < target)
    res = train(ls, cheap(lr=lr, max_steps=1000, target_loss=target), progress=False)
    assert (res.stop_reason, res.step) == ("target_loss", first) and res.loss < target
    # gradient tolerance: the first step with ‖g‖ ≤ tol
    tol = hist[20][1]
    first = next(i for i, (_, g) in enumerate(hist) if g <= tol)
    res = train(ls, cheap(lr=lr, max_steps=1000, grad_tol=tol), progress=False)
    assert (res.stop_reason, res.step) == ("grad_tol", first)
    # t = Σ η: 0.25 is exact in binary, so t = 1.0 after exactly 4 steps
    res = train(ls, cheap(lr=0.25, max_steps=1000, max_t=1.0), progress=False)
    assert (res.stop_reason, res.step, res.t) == ("max_t", 4, 1.0)
    res = train(ls, cheap(lr=lr, max_steps=0), progress=False)
    assert (res.stop_reason, res.step) == ("max_steps", 0) and torch.equal(res.theta, ls.theta0)
    assert "iteration limit" in res.message
    # the earliest rule wins
    res = train(ls, cheap(lr=lr, max_steps=3, target_loss=target), progress=False)
    assert (res.stop_reason, res.step) == ("max_steps", 3)


def test_cadence_is_one_over_eta():
    assert TrainConfig(lr=0.1).cadence() == 10
    assert TrainConfig(lr=0.3).cadence() == 3     # round(3.33)
    assert TrainConfig(lr=0.15).cadence() == 7    # round(6.67)
    assert TrainConfig(lr=2.0).cadence() == 1     # at least every step
    assert TrainConfig(lr=0.1, telemetry_every=4).cadence() == 4
    ls = tiny()
    seen = []
    res = train(ls, TrainConfig(lr=0.15, max_steps=22, k=2, eig_tol=1e-8), progress=False,
                on_point=lambda p, e: seen.append(p["step"]))
    assert seen == [0, 7, 14, 21, 22]  # every round(1/η) steps, and the final θ
    assert res.n_points == 5
    seen.clear()
    train(ls, TrainConfig(lr=0.15, max_steps=12, k=2, entry_every=2, entry_until=6, telemetry_every=5),
          progress=False, on_point=lambda p, e: seen.append(p["step"]))
    assert seen == [0, 2, 4, 5, 10, 12]


def test_telemetry_points_in_the_record(tmp_path):
    ls = tiny()
    cfg = TrainConfig(lr=0.25, max_steps=8, k=3, eig_tol=1e-10, eig_method="dense")
    w = RecordWriter(tmp_path / "run", cfg)
    res = train(ls, cfg, w, progress=False, operator_fn=lambda th: DenseOperator(ls.hessian(th)))
    rec = Record.load(tmp_path / "run")
    assert [p["step"] for p in rec.telemetry] == [0, 4, 8]
    assert rec.config["lr"] == 0.25
    for p in rec.telemetry:
        assert p["t"] == pytest.approx(0.25 * p["step"]) and p["lr"] == 0.25
        assert "near_zero_fraction" in p and p["n_matvecs"] == 0 and p["wall_time"] >= 0
    theta4 = gd(ls, ls.theta0, 0.25, 4)
    lam = np.linalg.eigvalsh(ls.hessian(theta4).numpy())[::-1][:3]
    np.testing.assert_allclose(rec.telemetry[1]["eigenvalues"], lam, rtol=1e-10)
    assert rec.telemetry[1]["loss"] == ls.loss(theta4)
    assert torch.equal(rec.weights(), res.theta)
    np.testing.assert_array_equal(rec.arrays()["history_loss"], res.history["loss"])


def test_divergence_stops_and_keeps_what_was_recorded(tmp_path):
    ls = tiny(loss="mse", widths=(6,), seed=1)
    cfg = TrainConfig(lr=1e4, max_steps=500, k=2, eig_tol=1e-6, telemetry_every=1)
    w = RecordWriter(tmp_path / "run", cfg)
    res = train(ls, cfg, w, progress=False)
    assert res.stop_reason == "diverged" and "smaller learning rate" in res.message
    assert 0 < res.step < 500
    rec = Record.load(tmp_path / "run")
    assert len(rec.telemetry) == res.n_points == res.step  # a point at every finite step
    assert all(np.isfinite(p["loss"]) for p in rec.telemetry)
    assert len(rec.arrays()["history_loss"]) == res.step
    assert np.all(np.isfinite(rec.arrays()["history_loss"]))


def _strip(points):
    return [{k: v for k, v in p.items() if k != "wall_time"} for p in points]


@pytest.mark.parametrize("schedule", ["constant", "flow", "stable"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, schedule):
    ls = tiny()
    # flow: η_max = 2 is capped by c/λ_1 ≈ 0.7 at every step, so λ_1 must be reproduced exactly
    # stable: λ_1 measured at steps 5, 8, 11, ... (a checkpoint at 8 falls on a measurement, 12 not)
    cfg = TrainConfig(lr=0.2 if schedule != "flow" else 2.0, schedule=schedule, flow_c=0.5,
                      max_steps=17, k=2, eig_tol=1e-6, telemetry_every=3, checkpoint_every=4,
                      stable_after=5, stable_every=3)
    full_w = RecordWriter(tmp_path / "full", cfg)
    full = train(ls, cfg, full_w, progress=False)
    if schedule == "flow":
        assert np.all(full.history["lr"] < 1.0)

    # an interrupted run: stop early at max_steps = 10, then resume with the real limit
    short = TrainConfig(**{**cfg.__dict__, "max_steps": 10})
    w = RecordWriter(tmp_path / "stopped", short)
    train(ls, short, w, progress=False)
    res = train(ls, cfg, RecordWriter(tmp_path / "stopped", cfg, resume=True), progress=False, resume=True)
    assert torch.equal(res.theta, full.theta) and res.step == full.step and res.t == full.t

    # a crash: an exception from the telemetry callback at the point of step 12
    def crash(point, eig):
        if point["step"] == 12:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        train(ls, cfg, RecordWriter(tmp_path / "crashed", cfg), progress=False, on_point=crash)
    res2 = train(ls, cfg, RecordWriter(tmp_path / "crashed", cfg, resume=True), progress=False, resume=True)
    assert torch.equal(res2.theta, full.theta)
    # the operator products of the interrupted part come from the checkpoint, and so does its
    # CPU time (the resumed part's own, not zero; a run that started afresh has resumed none)
    assert res2.total_hvps == res.total_hvps == full.total_hvps > 0
    assert full.resumed_cpu_seconds == 0.0
    assert res.resumed_cpu_seconds > 0 and res2.resumed_cpu_seconds > 0
    assert res.resumed_cpu_seconds <= res.resumed_seconds * os.cpu_count() + 0.05

    want = Record.load(tmp_path / "full")
    for name in ("stopped", "crashed"):
        got = Record.load(tmp_path / name)
        assert [p["step"] for p in got.telemetry] == [p["step"] for p in want.telemetry]
        assert _strip(got.telemetry) == _strip(want.telemetry), name
        for key, arr in want.arrays().items():
            np.testing.assert_array_equal(got.arrays()[key], arr, err_msg=f"{name}: {key}")


def test_cpu_seconds_add_the_resumed_part_and_are_unknown_when_its_checkpoint_predates_them():
    """:func:`cpu_since`: this process's CPU time since ``c0`` plus the resumed part's; None when
    the checkpoint a run resumed from kept no CPU time (written before records stated it)."""
    import time

    from simlab.runcost import cost_line, cpu_since

    c0 = time.process_time()
    x = 0.0
    while time.process_time() - c0 < 0.05:  # burn some CPU
        x += 1.0
    got = cpu_since(c0, 2.5)
    assert 2.5 + 0.05 <= got < 2.5 + 5
    assert cpu_since(c0, None) is None
    # the printed cost line states it when the summary has it
    base = {"train_seconds": 1.0, "telemetry_seconds": 2.0, "total_hvps": 3}
    assert cost_line({**base, "cpu_seconds": 2.5}).endswith("; 2.5 s of CPU in all")
    assert "CPU" not in cost_line({**base, "cpu_seconds": None})


def test_flow_schedule_caps_the_step_at_c_over_lambda_1():
    ls = tiny(loss="mse", widths=(5,), seed=3)
    c, lr_max = 0.5, 50.0
    res = train(ls, TrainConfig(lr=lr_max, schedule="flow", flow_c=c, max_steps=6, k=2, eig_tol=1e-10,
                                telemetry_every=1), progress=False)
    theta = ls.theta0.clone()
    t = 0.0
    for step in range(6):
        lam1 = float(np.linalg.eigvalsh(ls.hessian(theta).numpy())[-1])
        lr = min(lr_max, c / lam1)
        assert lr < lr_max  # the cap is active here
        assert res.history["lr"][step] == pytest.approx(lr, rel=1e-8)
        assert res.history["lambda_1"][step] == pytest.approx(lam1, rel=1e-8)
        assert res.history["t"][step] == pytest.approx(t, rel=1e-8)
        theta = theta - res.history["lr"][step] * ls.grad(theta)
        t += res.history["lr"][step]
    assert torch.allclose(res.theta, theta, rtol=0, atol=1e-12)
    # a small η_max is never raised
    res = train(ls, TrainConfig(lr=1e-3, schedule="flow", max_steps=2, k=2), progress=False)
    np.testing.assert_array_equal(res.history["lr"], [1e-3] * 3)


def test_stable_schedule_steps_at_c_over_lambda_1_after_the_first_phase():
    # a linear model under MSE: the loss is quadratic, H is constant, so after the first phase
    # η = c/λ_1 exactly and every gradient component along eigenvector i shrinks by 1 − c λ_i/λ_1
    ls = tiny(loss="mse", widths=(), seed=2)
    H = ls.hessian(ls.theta0).numpy()
    lam, vec = np.linalg.eigh(H)
    c, lr, after, every = 1.5, 0.05, 4, 5
    res = train(ls, TrainConfig(lr=lr, schedule="stable", flow_c=c, stable_after=after,
                                stable_every=every, max_steps=30, k=2, eig_tol=1e-12,
                                telemetry_every=0), progress=False)
    assert c / lam[-1] > 10 * lr  # the second phase's step is far from the first's
    np.testing.assert_array_equal(res.history["lr"][:after], [lr] * after)
    np.testing.assert_allclose(res.history["lr"][after:], c / lam[-1], rtol=1e-10)
    np.testing.assert_allclose(res.history["lambda_1"][after:], lam[-1], rtol=1e-10)
    assert np.all(np.isnan(res.history["lambda_1"][:after]))
    # the gradient in the eigenbasis: after the first phase each component contracts by
    # (1 − η λ_i) per step, with η = c/λ_1 (the top one by 1 − c = −0.5)
    g_after = vec.T @ ls.grad(gd(ls, ls.theta0, lr, after)).numpy()
    g_end = vec.T @ ls.grad(res.theta).numpy()
    np.testing.assert_allclose(g_end, g_after * (1 - c * lam / lam[-1]) ** (30 - after),
                               rtol=1e-6, atol=1e-13)
    # t counts the steps taken
    assert res.t == pytest.approx(after * lr + (30 - after) * c / lam[-1], rel=1e-10)


def test_stable_schedule_re_measures_lambda_1_every_stable_every_steps():
    ls = tiny(loss="mse", widths=(5,), seed=3)
    c, after, every, n = 0.5, 3, 4, 12
    res = train(ls, TrainConfig(lr=0.3, schedule="stable", flow_c=c, stable_after=after,
                                stable_every=every, max_steps=n, k=2, eig_tol=1e-10,
                                telemetry_every=0), progress=False)
    theta = ls.theta0.clone()
    lam1 = None
    for step in range(n):
        if step >= after and (step - after) % every == 0:
            lam1 = float(np.linalg.eigvalsh(ls.hessian(theta).numpy())[-1])
        want = 0.3 if step < after else c / lam1
        assert res.history["lr"][step] == pytest.approx(want, rel=1e-8), step
        theta = theta - res.history["lr"][step] * ls.grad(theta)
    # between measurements the step is held: three distinct steps after the first phase
    assert len(set(np.round(res.history["lr"][after:], 12))) == 3
    assert torch.allclose(res.theta, theta, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw", [{"lr": 0.0}, {"lr": float("nan")}, {"schedule": "cosine"},
                                {"max_steps": -1}, {"k": 0}, {"stable_every": 0},
                                {"stable_after": -1}])
def test_bad_configs_are_usage_errors(kw):
    with pytest.raises(UsageError):
        train(tiny(), TrainConfig(**kw), progress=False)


def test_flow_peak_is_the_largest_finite_lambda_1_and_its_step():
    from simlab.trainer import flow_peak

    hist = {"step": [0, 1, 2, 3], "lambda_1": [float("nan"), 1.0, 3.5, 2.0]}
    assert flow_peak(hist) == {"peak_lambda_1": 3.5, "peak_step": 2}
    assert flow_peak({"step": [0, 1], "lambda_1": [float("nan")] * 2}) == {}
    assert flow_peak({"step": [], "lambda_1": []}) == {}
