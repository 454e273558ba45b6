"""Validity and cost in the summary: diverged, dead, stopped at initialisation or within 1/η;
operator products counted from the operators; probes; target accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import make_landscape
from simlab.record import Record, RecordError, RecordWriter
from simlab.toy.run import ToyConfig, run
from simlab.trainer import Probe, TrainConfig, dead_layer, train, validity

SMALL = dict(dataset="blobs", n_data=40, hidden=4, grad_tol=None, k=3)


def toy(tmp_path, **kw):
    return run(ToyConfig(**{**SMALL, **kw}), tmp_path / "run", progress=False, figures=False)


def test_a_valid_run(tmp_path):
    s = toy(tmp_path, lr=0.5, max_steps=20, telemetry_every=5)
    assert (s["stop_reason"], s["valid"], s["invalid_reason"]) == ("max_steps", True, None)
    assert s["spectrum_step"] == 20 and s["train_seconds"] > 0 and s["telemetry_seconds"] > 0
    assert s["chunking"]["chunk_size"] == 40 and s["chunking"]["n_chunks"] == 1
    assert Record.load(tmp_path / "run").summary["valid"] is True


def test_a_dead_net_is_not_a_measurement(tmp_path):
    # η = 1000 kills every ReLU of a layer within a few steps: loss stuck far above zero
    s = toy(tmp_path, lr=1000.0, max_steps=60, telemetry_every=5)
    assert s["stop_reason"] == "dead" and s["valid"] is False
    assert s["invalid_reason"].startswith("no live units") and s["steps"] < 60
    assert s["final_loss"] > 1
    land = run.__globals__["build"](ToyConfig(**{**SMALL, "lr": 1000.0}))[0]
    w = Record.load(tmp_path / "run").weights().to(torch.float64)
    assert dead_layer(land, w) is not None and dead_layer(land, land.theta0) is None


def test_dead_layer_on_a_hand_killed_net():
    ls = make_landscape(widths=(5, 4), activation="relu", n_data=10)
    theta = ls.theta0.clone()
    assert dead_layer(ls, theta) is None
    # the second hidden layer's bias far below zero: every unit of activation layer 2 is dead
    params = ls.unflatten(theta)
    names = list(params)
    start = sum(params[n].numel() for n in names[:3])
    theta[start:start + 4] = -1e6
    assert dead_layer(ls, theta) == 1
    assert dead_layer(make_landscape(activation="tanh"), make_landscape().theta0) is None


def test_a_diverged_run_reports_no_spectrum_at_an_infinite_loss(tmp_path):
    s = toy(tmp_path, loss="mse", lr=1e4, max_steps=200, telemetry_every=1, activation="tanh")
    assert s["stop_reason"] == "diverged" and s["valid"] is False
    assert s["invalid_reason"].startswith(f"diverged at step {s['steps']}")
    assert not math.isfinite(s["final_loss"])
    # the spectrum is the last finite θ's, one step before
    assert s["spectrum_step"] == s["steps"] - 1
    assert np.all(np.isfinite(s["eigenvalues"])) and math.isfinite(s["lambda_max"])
    rec = Record.load(tmp_path / "run")
    assert all(math.isfinite(p["loss"]) for p in rec.telemetry)
    assert rec.telemetry[-1]["step"] == s["spectrum_step"]


def test_stop_rule_at_initialisation_and_within_one_over_eta(tmp_path):
    s = toy(tmp_path, lr=0.1, max_steps=50, target_loss=1e9)
    assert s["steps"] == 0 and s["valid"] is False
    assert s["invalid_reason"] == "stop rule met at initialisation (target_loss)"
    s = run(ToyConfig(**{**SMALL, "lr": 0.1, "max_steps": 5}), tmp_path / "short", progress=False,
            figures=False)
    assert s["invalid_reason"] == "stopped within its first 1/η iterations (step 5 < 10)"
    assert s["stop_reason"] == "max_steps"


def test_target_accuracy_stops_at_the_first_point_reaching_it():
    ls = make_landscape(widths=(6,), n_data=30, seed=2)
    seen = []
    res = train(ls, TrainConfig(lr=0.5, max_steps=400, k=2, telemetry_every=5, target_accuracy=0.8),
                progress=False, on_point=lambda p, e: seen.append(p))
    assert res.stop_reason == "target_accuracy" and res.step == seen[-1]["step"]
    assert seen[-1]["accuracy"] >= 0.8 and all(p["accuracy"] < 0.8 for p in seen[:-1])
    assert seen[-1]["accuracy"] == ls.accuracy(res.theta)


def test_probes_are_merged_into_points_at_their_cadence_and_at_the_end():
    ls = make_landscape()
    seen = []
    probe = Probe(3, lambda th, step, land: {"probe_step": step, "probe_loss": land.loss(th)})
    res = train(ls, TrainConfig(lr=0.2, max_steps=10, k=2, telemetry_every=4), probes=[probe],
                progress=False, on_point=lambda p, e: seen.append(p))
    assert [p["step"] for p in seen] == [0, 3, 4, 6, 8, 9, 10]
    assert [p["step"] for p in seen if "probe_step" in p] == [0, 3, 6, 9, 10]
    assert all(p["probe_loss"] == p["loss"] for p in seen if "probe_step" in p)
    assert res.n_points == 7


def test_total_hvps_is_every_product_of_every_operator():
    ls = make_landscape(widths=(5,))
    ops = []

    def operator_fn(theta):
        ops.append(ls.operator(theta))
        return ops[-1]

    for schedule in ("constant", "flow", "expeuler"):
        ops.clear()
        res = train(ls, TrainConfig(lr=0.3, schedule=schedule, max_steps=6, k=3, telemetry_every=2),
                    operator_fn=operator_fn, progress=False)
        flow = 0
        if schedule != "constant":  # λ_1 (top 3) at every step on the landscape's own operators
            flow = res.total_hvps - sum(op.n_matvecs for op in ops)
            assert flow >= 7
        assert flow == res.step_rule_hvps  # filed as the step rule's, apart from the points'
        assert res.total_hvps == sum(op.n_matvecs for op in ops) + flow and len(ops) == 4
        assert res.grads_per_hvp is not None and res.grads_per_hvp > 0


def test_validity_rules():
    cfg = TrainConfig(lr=0.1)
    base = dict(theta=None, t=0.0, loss=1.0, grad_norm=1.0, message="", n_points=1, wall_time=0.0)
    from simlab.trainer import TrainResult

    def v(step, reason, **kw):
        return validity(TrainResult(step=step, stop_reason=reason, **{**base, **kw}), cfg)

    assert v(10, "max_steps") == {"stop_reason": "max_steps", "valid": True, "invalid_reason": None}
    assert v(9, "grad_tol")["invalid_reason"] == "stopped within its first 1/η iterations (step 9 < 10)"
    assert v(0, "grad_tol")["invalid_reason"] == "stop rule met at initialisation (grad_tol)"
    assert v(41, "diverged", loss=math.inf)["invalid_reason"].startswith("diverged at step 41 (loss=inf")
    assert v(50, "dead", dead_reason="no live units (x)")["invalid_reason"] == "no live units (x)"
    # under the flow and exponential Euler lr is the cap η_max, not the step: no 1/η rule
    for schedule in ("flow", "expeuler"):
        cfg = TrainConfig(lr=0.1, schedule=schedule)
        assert v(9, "target_loss")["valid"] is True
        assert v(0, "target_loss")["invalid_reason"] == "stop rule met at initialisation (target_loss)"


def test_readers_rejudge_a_flow_summary_written_under_the_1_over_eta_rule(tmp_path):
    """Records written before the exemption say "stopped within its first 1/η iterations" of a
    flow; the readers judge it valid, a constant-η run with the same summary stays excluded."""
    from simlab.claims.readers import validity as judged

    why = "stopped within its first 1/η iterations (step 131 < 200)"
    for schedule, ok in (("expeuler", True), ("flow", True), ("constant", False)):
        w = RecordWriter(tmp_path / schedule, {"lr": 0.005, "schedule": schedule},
                         meta={"regime": "scale", "experiment": "kastner"})
        w.write_summary({"steps": 131, "stop_reason": "target_loss", "valid": False,
                         "invalid_reason": why})
        assert judged(Record.load(tmp_path / schedule)) == (ok, None if ok else why)


def test_a_pickled_object_in_the_checkpoint_is_refused(tmp_path):
    ls = make_landscape()
    cfg = TrainConfig(lr=0.2, max_steps=8, k=2, checkpoint_every=4)
    train(ls, cfg, RecordWriter(tmp_path / "r", cfg), progress=False)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('x')",))

    torch.save({"format": 2, "theta": Payload()}, tmp_path / "r" / "checkpoints" / "state.pt")
    with pytest.raises(RecordError, match="state.pt"):
        train(ls, cfg, RecordWriter(tmp_path / "r", cfg, resume=True), progress=False, resume=True)
    assert not marker.exists()
    # a truncated checkpoint and one of another format are refused the same way
    path = tmp_path / "r" / "checkpoints" / "state.pt"
    torch.save({"format": 1, "theta": torch.zeros(2)}, path)
    with pytest.raises(RecordError, match="format"):
        train(ls, cfg, RecordWriter(tmp_path / "r", cfg, resume=True), progress=False, resume=True)
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(RecordError, match="state.pt"):
        train(ls, cfg, RecordWriter(tmp_path / "r", cfg, resume=True), progress=False, resume=True)
