"""Long runs: checkpoints by wall time as well as by iterations (and they change no number of the
record), a plain progress line when the output is not a terminal, and the resume accounting."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
import torch

from conftest import make_landscape
from simlab import trainer
from simlab.record import Record, RecordWriter, load_tensor_file
from simlab.checkpoint import CHECKPOINT
from simlab.trainer import TrainConfig, train

CFG = TrainConfig(lr=0.2, max_steps=17, k=2, eig_tol=1e-6, telemetry_every=3, checkpoint_every=0)


def tiny():
    return make_landscape(widths=(4,), activation="tanh", n_data=12, n_classes=3, seed=0)


def _strip(points):
    return [{k: v for k, v in p.items() if k != "wall_time"} for p in points]


def same_record(a, b):
    ra, rb = Record.load(a), Record.load(b)
    assert _strip(ra.telemetry) == _strip(rb.telemetry)
    for key, arr in ra.arrays().items():
        np.testing.assert_array_equal(rb.arrays()[key], arr, err_msg=key)
    assert (a / "weights.pt").read_bytes() == (b / "weights.pt").read_bytes()


class Killed(Exception):
    pass


def killed_at(ls, step: int):
    """``ls`` whose gradient raises at iteration ``step`` (a kill between checkpoints)."""
    inner, calls = ls.loss_grad, {"n": 0}

    def loss_grad(theta):
        if calls["n"] == step:
            raise Killed(step)
        calls["n"] += 1
        return inner(theta)

    ls.loss_grad = loss_grad
    return ls


def test_checkpoints_by_wall_time_change_no_number(tmp_path):
    """A checkpoint at every iteration (checkpoint_seconds=0) gives the record of none at all."""
    none = train(tiny(), CFG, RecordWriter(tmp_path / "none", CFG), progress=False,
                 checkpoint_seconds=math.inf)
    every = train(tiny(), CFG, RecordWriter(tmp_path / "every", CFG), progress=False,
                  checkpoint_seconds=0)
    assert not (tmp_path / "none" / CHECKPOINT).exists()
    assert load_tensor_file(tmp_path / "every" / CHECKPOINT)["step"] == CFG.max_steps
    assert torch.equal(none.theta, every.theta) and none.total_hvps == every.total_hvps
    same_record(tmp_path / "none", tmp_path / "every")


@pytest.mark.parametrize("kill", [7, 14])  # between telemetry points (every 3) and after one
def test_a_run_killed_after_a_wall_time_checkpoint_resumes_into_the_same_record(tmp_path, kill):
    want = train(tiny(), CFG, RecordWriter(tmp_path / "whole", CFG), progress=False)
    with pytest.raises(Killed):
        train(killed_at(tiny(), kill), CFG, RecordWriter(tmp_path / "run", CFG), progress=False,
              checkpoint_seconds=0)
    state = load_tensor_file(tmp_path / "run" / CHECKPOINT)
    assert state["step"] == kill  # the iteration checkpoints alone (every 0) would have none
    got = train(tiny(), CFG, RecordWriter(tmp_path / "run", CFG, resume=True), progress=False,
                resume=True)
    assert torch.equal(got.theta, want.theta) and got.total_hvps == want.total_hvps
    assert got.resumed_seconds > 0 and got.wall_time >= got.resumed_seconds
    same_record(tmp_path / "whole", tmp_path / "run")


def test_the_wall_clock_triggers_a_checkpoint(tmp_path):
    ls = tiny()
    inner = ls.loss_grad

    def slow(theta):
        time.sleep(0.03)
        return inner(theta)

    ls.loss_grad = slow
    train(ls, CFG, RecordWriter(tmp_path / "run", CFG), progress=False, checkpoint_seconds=0.1)
    step = load_tensor_file(tmp_path / "run" / CHECKPOINT)["step"]
    assert 3 <= step <= CFG.max_steps


def test_checkpoint_seconds_is_checked(tmp_path):
    with pytest.raises(ValueError, match="checkpoint_seconds"):
        train(tiny(), CFG, RecordWriter(tmp_path / "run", CFG), progress=False,
              checkpoint_seconds=-1)


LINE = re.compile(r"^\[GD\] step (\d+)/17  t [\d.e-]+  loss [\d.e-]+  \|g\| [\d.e-]+"
                  r"(  λ1 [\d.e-]+ \(step \d+\))?  elapsed \d+:\d\d:\d\d$")


def test_a_progress_line_when_the_output_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(trainer, "PROGRESS_SECONDS", 0.0)
    train(tiny(), CFG, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == CFG.max_steps, lines
    for i, line in enumerate(lines, start=1):
        m = LINE.match(line)
        assert m and int(m.group(1)) == i, line
    assert "λ1" in lines[0]  # the first telemetry point is at step 0


def test_no_progress_lines_when_asked_for_none_or_not_yet_due(monkeypatch, capsys):
    train(tiny(), CFG, progress=True)  # PROGRESS_SECONDS (60 s) not reached
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(trainer, "PROGRESS_SECONDS", 0.0)
    train(tiny(), CFG, progress=False)
    assert capsys.readouterr().err == ""
