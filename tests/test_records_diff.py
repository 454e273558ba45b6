"""tests/records_diff.py: two runs folders compared record by record find every changed number
(one bit of an array, a float in a telemetry line, a missing file) and nothing a clock decides."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from records_diff import compare  # noqa: E402


def make_runs(root: Path) -> Path:
    d = root / "toy" / "a"
    (d / "checkpoints").mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"config": {"lr": 0.1},
                                               "environment": {"git_commit": "abc"}}))
    (d / "telemetry.jsonl").write_text(
        json.dumps({"step": 0, "loss": 1.5, "eigenvalues": [3.0, 1.0], "wall_time": 0.1}) + "\n"
        + json.dumps({"step": 1, "loss": float("nan"), "wall_time": 0.2}) + "\n")
    np.savez(d / "arrays.npz", spectrum=np.linspace(0, 1, 7), steps=np.arange(3))
    (d / "summary.json").write_text(json.dumps({"final_loss": 1.25, "train_seconds": 3.0,
                                                "chunking": {"n_chunks": 1}}))
    torch.save({"theta": torch.arange(4.0), "rng": torch.get_rng_state(), "elapsed": 1.0},
               d / "checkpoints" / "state.pt")
    return root


def test_a_copy_is_identical_and_clocks_are_ignored(tmp_path):
    a = make_runs(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    d = b / "toy" / "a"
    lines = [json.loads(x) for x in (d / "telemetry.jsonl").read_text().splitlines()]
    lines[0]["wall_time"] = 9.0
    (d / "telemetry.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (d / "config.json").write_text(json.dumps({"config": {"lr": 0.1},
                                               "environment": {"git_commit": "def"}}))
    state = torch.load(d / "checkpoints" / "state.pt", weights_only=True)
    torch.save({**state, "rng": torch.zeros_like(state["rng"]), "elapsed": 2.0},
               d / "checkpoints" / "state.pt")
    n, diffs = compare(a, b)
    assert n == 5 and diffs == []


def test_one_bit_of_an_array_a_float_and_a_missing_file_are_found(tmp_path):
    a = make_runs(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    d = b / "toy" / "a"
    spec = np.linspace(0, 1, 7)
    spec[3] = np.nextafter(spec[3], 2.0)          # one ulp
    np.savez(d / "arrays.npz", spectrum=spec, steps=np.arange(3))
    (d / "summary.json").write_text(json.dumps({"final_loss": 1.2500000000000002,
                                                "train_seconds": 3.0, "chunking": {"n_chunks": 1}}))
    state = torch.load(d / "checkpoints" / "state.pt", weights_only=True)
    state["theta"][0] = 1e-30
    torch.save(state, d / "checkpoints" / "state.pt")
    (d / "telemetry.jsonl").unlink()
    n, diffs = compare(a, b)
    assert n == 4
    assert sorted(x.split(":")[0] for x in diffs) == [
        "toy/a/arrays.npz.spectrum", "toy/a/checkpoints/state.pt.theta",
        "toy/a/summary.json.final_loss", "toy/a/telemetry.jsonl"]
    assert "1 of 7 entries" in next(x for x in diffs if "spectrum" in x)
