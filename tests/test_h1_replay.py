"""Sagun's spectra during training replay GD by the trainer: the θ at every wanted step is the
run's θ bit for bit (the final one against the record's weights, the others against the update
θ ← θ − η ∇L(θ) written out here), and a replay that cannot reach a step says so."""

from __future__ import annotations

import pytest
import torch

from simlab.record import Record
from simlab.toy.run import ToyConfig, build, run
from simlab.toy.sagun import replay_gd


def reference_gd(land, lr: float, steps: int) -> list[torch.Tensor]:
    """θ_0 … θ_steps of constant-step GD, the update written out."""
    theta, out = land.theta0.detach().clone(), []
    for _ in range(steps + 1):
        out.append(theta)
        _, g = land.loss_grad(theta)
        theta = theta - lr * g
    return out


def test_replay_is_the_runs_gd_bit_for_bit(tmp_path):
    cfg = ToyConfig(dataset="blobs", n_data=60, hidden=4, lr=0.3, max_steps=23, telemetry_every=5)
    run(cfg, tmp_path / "run", progress=False, figures=False)
    rec = Record.load(tmp_path / "run")
    assert rec.summary["steps"] == 23
    land, _ = build(cfg)
    steps = [23, 0, 7, 1, 7, 16]
    got = replay_gd(land, cfg.lr, steps)
    assert sorted(got) == [0, 1, 7, 16, 23]
    ref = reference_gd(land, cfg.lr, 23)
    for s, theta in got.items():
        assert torch.equal(theta, ref[s]), s
    assert torch.equal(got[23], rec.weights().to(got[23].dtype))
    assert not torch.equal(got[16], got[23])  # GD moved: the comparison above is not vacuous


def test_replay_that_cannot_reach_a_step_raises():
    land, _ = build(ToyConfig(dataset="blobs", n_data=60, hidden=4, lr=0.3))
    with pytest.raises(RuntimeError, match=r"replaying GD stopped at step 1 \(diverged\) before step 50"):
        replay_gd(land, 1e150, [0, 50])  # η = 1e150: the loss is NaN after one step (diverged)
