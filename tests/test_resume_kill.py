"""Exact resume: real toy runs killed (SIGKILL, no cleanup) at several moments and resumed give
the record an uninterrupted run gives, file by file (wall times aside)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from simlab.record import CLOCK_KEYS, CRASH_ENV

CFG = {"dataset": "blobs", "n_data": 40, "hidden": 3, "depth": 1, "lr": 0.5, "max_steps": 30,
       "grad_tol": None, "telemetry_every": 5, "k": 3, "seed": 3}
# the run as the CLI runs it: a UsageError is one line on stderr and exit code 2
SCRIPT = """
import json, sys
from simlab.cli import run_guarded
from simlab.toy.run import ToyConfig, run
sys.exit(run_guarded(lambda: run(ToyConfig(**json.loads(sys.argv[1])), sys.argv[2], progress=False,
                                 figures=False, resume=sys.argv[3] == "1") and 0))
"""
WALL = CLOCK_KEYS


def toy(out: Path, *, resume: bool = False, crash: str | None = None, cfg: dict = CFG):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    return subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cfg), str(out), "1" if resume else "0"],
                          env=env, capture_output=True, text=True, timeout=300)


def files(run: Path) -> dict:
    """Every record file, as what must be identical: JSON without wall times, other bytes."""
    out = {}
    lines = (run / "telemetry.jsonl").read_text().splitlines()
    out["telemetry"] = [json.dumps({k: v for k, v in json.loads(l).items() if k not in WALL}) for l in lines]
    summary = json.loads((run / "summary.json").read_text())
    out["summary"] = json.dumps({k: v for k, v in summary.items() if k not in WALL})
    config = json.loads((run / "config.json").read_text())
    config.pop("environment")
    out["config"] = json.dumps(config)
    for name in ("arrays.npz", "weights.pt"):
        out[name] = (run / name).read_bytes()
    out["temp files"] = sorted(p.name for p in run.rglob(".*.tmp"))
    return out


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("whole") / "run"
    r = toy(out)
    assert r.returncode == 0, r.stderr
    return files(out)


@pytest.mark.parametrize("crash", [
    "step:3",               # before the first checkpoint (no state: starts over)
    "telemetry:10",         # measuring, right after a checkpoint
    "append:15",            # half-way through writing a telemetry line
    "step:18",              # between checkpoints, points after the checkpoint already written
    "write:state.pt",       # while writing a checkpoint
    "write:arrays.npz",     # while writing the record at the end
    "write:summary.json",   # the very last write
])
def test_killed_and_resumed_gives_the_uninterrupted_record(whole, tmp_path, crash):
    out = tmp_path / "run"
    r = toy(out, crash=crash)
    assert r.returncode == -signal.SIGKILL, (crash, r.returncode, r.stderr)
    assert not (out / "summary.json").exists()
    r = toy(out, resume=True)
    assert r.returncode == 0, r.stderr
    got = files(out)
    for key, want in whole.items():
        assert got[key] == want, (crash, key)


def _tree(run: Path) -> dict:
    return {str(p.relative_to(run)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(run.rglob("*")) if p.is_file()}


def test_resuming_a_complete_record_leaves_it_untouched_and_says_so(whole, tmp_path):
    out = tmp_path / "run"
    assert toy(out).returncode == 0
    before = _tree(out)
    r = toy(out, resume=True)
    assert r.returncode == 0, r.stderr
    assert _tree(out) == before  # every file, byte for byte and unwritten (summary included)
    assert "already holds a complete record" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert files(out) == whole


def test_resume_into_an_empty_folder_says_it_starts_fresh(whole, tmp_path):
    for out in (tmp_path / "new", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        r = toy(out, resume=True)
        assert r.returncode == 0, r.stderr
        assert "holds no run yet, so a fresh one starts" in r.stderr, r.stderr
        assert files(out) == whole


def test_a_resumed_record_counts_the_wall_time_of_the_interrupted_run(tmp_path):
    """The killed part's time (up to its last checkpoint) is in the resumed wall times: the
    checkpoint is made to say 1000 s, far more than the resumed part takes."""
    out = tmp_path / "run"
    assert toy(out, crash="step:18").returncode == -signal.SIGKILL
    path = out / "checkpoints" / "state.pt"
    state = torch.load(path, weights_only=True)
    assert state["elapsed"] > 0
    torch.save({**state, "elapsed": 1000.0}, path)
    assert toy(out, resume=True).returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    assert 1000 < summary["run_seconds"] <= summary["wall_time"] < 1300


def test_a_pickle_in_the_checkpoint_is_refused_and_never_run(tmp_path):
    """A crafted checkpoints/state.pt: resuming exits 2 with one line, and its code never runs."""
    out = tmp_path / "run"
    assert toy(out, crash="step:12").returncode == -signal.SIGKILL
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('ran')",))

    torch.save({"format": 2, "theta": Payload()}, out / "checkpoints" / "state.pt")
    before = (out / "telemetry.jsonl").read_bytes()
    r = toy(out, resume=True)
    assert not marker.exists()
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "state.pt" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    # nothing ran: the record is as the killed run left it
    assert (out / "telemetry.jsonl").read_bytes() == before and not (out / "summary.json").exists()


def test_a_folder_holding_a_run_needs_resume_or_overwrite(tmp_path):
    out = tmp_path / "run"
    assert toy(out, crash="step:7").returncode == -signal.SIGKILL
    r = toy(out)
    assert r.returncode == 2 and "unfinished run" in r.stderr and "--resume" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert toy(out, resume=True).returncode == 0
    r = toy(out)
    assert r.returncode == 2 and "complete record" in r.stderr and "--overwrite" in r.stderr


def test_resume_before_the_first_checkpoint_says_it_starts_over(whole, tmp_path):
    out = tmp_path / "run"
    assert toy(out, crash="step:3").returncode == -signal.SIGKILL
    assert not (out / "checkpoints" / "state.pt").exists()
    r = toy(out, resume=True)
    assert r.returncode == 0, r.stderr
    assert "has no checkpoint yet (stopped before its first), so the run starts over" in r.stderr
    assert files(out) == whole
