"""One spec, one record: ``python -m simlab toy`` (one config), a paper grid entry (what
``paper run --only`` and ``toy --experiment`` execute) and the API's ``simlab.run_spec`` write
the same record, number for number, for the same RunSpec."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import simlab
from simlab.cli import flag
from simlab.errors import UsageError
from simlab.paper.experiments import Run
from simlab.paper.runner import run_grid
from simlab.runspec import RunSpec, run_spec, runners
from simlab.toy.cli import main as toy_main
from simlab.toy.run import ToyConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from records_diff import compare  # noqa: E402

# a few seconds: 2-4-4-2 tanh MLP on 40 blobs, the exact Hessian at every telemetry point
GIVEN = {"n_data": 40, "hidden": 4, "activation": "tanh", "lr": 0.5, "max_steps": 12,
         "telemetry_every": 4, "k": 3}
NAME = "toy/spec_test"


def test_every_kind_has_one_runner_found_through_the_command_entry_points():
    assert set(runners()) == {"toy", "scale", "cusp", "alias", "continuation", "bridge", "predictions"}
    assert simlab.run_spec is run_spec and simlab.RunSpec is RunSpec
    with pytest.raises(UsageError, match="no runner for 'nope' runs"):
        run_spec(RunSpec("nope", None), "unused")


def test_toy_cli_paper_grid_and_api_write_the_same_record(tmp_path, capsys):
    cfg = ToyConfig(**GIVEN)
    spec = RunSpec("toy", cfg, "spec_test")
    # the API
    summary = simlab.run_spec(spec, tmp_path / "api" / NAME, progress=False)
    assert summary["steps"] == 12
    # a grid entry, as `paper run` runs it
    res = run_grid([Run(NAME, "spec_test", "toy", cfg)], tmp_path / "grid", progress=False)
    assert res.ran == [NAME] and not res.failed
    # the toy command, its flags built from the same config
    argv = [a for k, v in GIVEN.items() for a in (flag(k), str(v))]
    assert toy_main([*argv, "--out", str(tmp_path / "cli" / NAME), "--no-figures",
                     "--no-progress"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "api" / NAME / "config.json").read_text())
    assert doc["config"]["hidden"] == 4 and doc["config"]["lr"] == 0.5
    for other in ("grid", "cli"):
        n, diffs = compare(tmp_path / "api", tmp_path / other)
        assert n >= 5 and not diffs, (other, diffs[:5])


def test_scale_cli_paper_grid_and_api_write_the_same_record(tmp_path, capsys):
    """The scale regime's door: ``python -m simlab scale`` with flags, a grid entry and the API
    write one record for one ScaleConfig (a tiny AlexNet on 12 synthetic CIFAR-format images)."""
    import numpy as np
    from dataclasses import replace

    from simlab.cli import main as simlab_main
    from simlab.scale.config import PRESETS

    rng = np.random.default_rng(0)
    y = np.arange(60) % 10
    x = rng.integers(0, 160, (60, 32, 32, 3)) + y[:, None, None, None] * 9
    npz = tmp_path / "data" / "cifar10_subset.npz"
    npz.parent.mkdir()
    np.savez(npz, x_train=x.astype(np.uint8), y_train=y.astype(np.int64))
    given = {"arch": "alexnet", "width": 1 / 32, "n_data": 12, "classes": 3, "lr": 0.02,
             "max_steps": 4, "telemetry_every": 2, "k": 3, "slq_vectors": 1, "slq_steps": 4,
             "dtype": "float64", "eig_tol": 1e-6}
    cfg = replace(PRESETS["cpu"], data_root=str(npz.parent), **given).validate()
    name = "scale/spec_test"
    simlab.run_spec(RunSpec("scale", cfg), tmp_path / "api" / name, progress=False)
    res = run_grid([Run(name, "spec_test", "scale", cfg)], tmp_path / "grid", progress=False)
    assert res.ran == [name] and not res.failed
    argv = [a for k, v in given.items() for a in (flag(k), str(v))]
    assert simlab_main(["scale", "--preset", "cpu", "--data-root", str(npz.parent), *argv,
                        "--out", str(tmp_path / "cli" / name), "--no-figures",
                        "--no-progress"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "api" / name / "config.json").read_text())
    assert doc["config"]["arch"] == "alexnet" and doc["config"]["n_data"] == 12
    summary = json.loads((tmp_path / "api" / name / "summary.json").read_text())
    assert summary["stop_reason"] == "max_steps" and summary["steps"] == 4
    assert len((tmp_path / "api" / name / "telemetry.jsonl").read_text().splitlines()) == 3
    for other in ("grid", "cli"):
        n, diffs = compare(tmp_path / "api", tmp_path / other)
        assert n >= 5 and not diffs, (other, diffs[:5])
