"""Scale runs that would not fit are refused before anything is allocated; --resume on a finished
record leaves it alone and on an empty folder says it starts fresh; a resumed record's wall times
include the interrupted run's."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from simlab import memory
from simlab.cli import main as simlab_main
from simlab.errors import UsageError
from simlab.landscape import Landscape
from simlab.scale.config import (GRAPH_PER_OUTPUT, PRESETS, activation_elements, memory_parts,
                                 preset)
from simlab.scale.models import build_model
from simlab.scale.run import check_memory, run_one
from test_scale_run import TINY, tiny, write_npz


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    return write_npz(tmp_path_factory.mktemp("data") / "cifar10_subset.npz")


def only(monkeypatch, gib: float):
    """Pretend the machine has ``gib`` GiB available."""
    monkeypatch.setattr(memory, "available", lambda device="cpu": (int(gib * memory.GiB), "test limit"))


# ------------------------------------------------------------------------------ the estimate

@pytest.mark.parametrize("arch, width", [("alexnet", 1 / 16), ("vgg16", 1 / 16), ("vgg16", 1 / 8)])
def test_the_graph_estimate_bounds_the_measured_graph(arch, width):
    """Per image, GRAPH_PER_OUTPUT × the layers' outputs (from the meta-device model) is at least
    the gradient graph the Landscape measures with saved-tensor hooks, and not far above it."""
    model = build_model(arch, width=width)
    X, y = torch.randn(32, 3, 32, 32), torch.arange(32) % 10
    measured = Landscape(model, X, y, n_classes=10, dtype=torch.float32).graph_bytes_per_example()
    estimate = GRAPH_PER_OUTPUT * activation_elements(arch, width=width) * 4
    assert measured <= estimate <= 1.4 * measured, (measured, estimate)


def test_the_estimate_grows_with_what_costs_memory():
    base = preset("cpu")
    parts = memory_parts(base)
    assert memory_parts(replace(base, width=1 / 8))["parameter vectors"] > 3 * parts["parameter vectors"]
    assert memory_parts(replace(base, k=20))["parameter vectors"] > parts["parameter vectors"]
    assert memory_parts(replace(base, n_data=1024))["data"] == 4 * parts["data"]
    assert memory_parts(replace(base, dtype="float64"))["parameter vectors"] == 2 * parts["parameter vectors"]
    # a fixed chunk bounds the activations whatever n_D
    big = replace(base, n_data=50_000, chunk_size=100)
    assert memory_parts(big)["activations"] < memory_parts(replace(big, chunk_size=1000))["activations"]


def test_the_issue_size_is_refused_in_one_line_before_the_plan(monkeypatch, capsys, tmp_path):
    """scale --arch vgg16 --width 4 (244 M parameters) under an 8 GB limit: exit 2, one line,
    nothing written; --dry-run (which may plan for another machine) states it in the plan."""
    only(monkeypatch, 8)
    argv = ["scale", "--arch", "vgg16", "--width", "4", "--out", str(tmp_path / "run")]
    assert simlab_main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "needs about" in err and "8 GiB is available (test limit)" in err and "--width" in err
    assert not (tmp_path / "run").exists()
    assert simlab_main(argv + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "estimated peak memory 93.4 GiB" in out and "it would not fit, use a smaller --width" in out


def test_warn_mode_and_a_close_fit_warn_in_one_line(monkeypatch, capsys):
    cfg = preset("cpu")
    need = sum(memory_parts(cfg).values()) / memory.GiB
    only(monkeypatch, need * 1.1)  # fits, but above the warning fraction
    assert "may run out of memory" in check_memory(cfg, device="cpu", world_size=1)
    only(monkeypatch, need / 2)
    with pytest.raises(UsageError, match="SIMLAB_MEMORY_CHECK=warn"):
        check_memory(cfg, device="cpu", world_size=1)
    monkeypatch.setenv(memory.ENV, "warn")
    assert "may run out of memory" in check_memory(cfg, device="cpu", world_size=1)
    monkeypatch.setenv(memory.ENV, "off")
    assert check_memory(cfg, device="cpu", world_size=1) is None
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_processes_on_one_cpu_machine_share_its_memory(monkeypatch):
    cfg = preset("cpu")
    need = sum(memory_parts(cfg, world_size=2).values()) / memory.GiB
    only(monkeypatch, need * 1.5)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(UsageError, match="× 2 processes"):
        check_memory(cfg, device="cpu", world_size=2)


def test_a_refused_run_writes_nothing(npz, tmp_path, monkeypatch):
    only(monkeypatch, 1e-4)
    with pytest.raises(UsageError, match="needs about"):
        run_one(tiny(npz), tmp_path / "run", progress=False, figures=False)
    assert not (tmp_path / "run").exists()


def test_available_reads_the_limits_of_this_process():
    free, source = memory.available()
    assert free is None or (free > 0 and source)


# ------------------------------------------------------------------------------ resume

class Interrupt(Exception):
    pass


def test_resume_wall_times_and_a_finished_record(npz, tmp_path, capsys):
    cfg = tiny(npz, max_steps=6, telemetry_every=2, checkpoint_every=3, slq_vectors=0)
    out = tmp_path / "cut"

    def crash(point, eig):
        if point["step"] == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_one(cfg, out, progress=False, figures=False, on_point=crash)
    path = out / "checkpoints" / "state.pt"
    state = torch.load(path, weights_only=True)
    assert state["step"] == 3
    torch.save({**state, "elapsed": 1000.0}, path)  # the interrupted part took 1000 s
    run_one(cfg, out, resume=True, progress=False, figures=False)
    s = json.loads((out / "summary.json").read_text())
    assert 1000 < s["wall_time"] <= s["wall_time_total"] < 1300

    # resuming the finished record: nothing is written, one line says so
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert run_one(cfg, out, resume=True, progress=False, figures=False) == out
    err = capsys.readouterr().err.strip()
    assert "already holds a complete record: left untouched" in err and len(err.splitlines()) == 1
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()} == before


def test_resume_into_an_empty_folder_says_it_starts_fresh(npz, tmp_path, capsys):
    cfg = tiny(npz, max_steps=2, slq_vectors=0)
    run_one(cfg, tmp_path / "new", resume=True, progress=False, figures=False)
    err = capsys.readouterr().err
    assert "holds no run yet, so a fresh one starts" in err
    assert (tmp_path / "new" / "summary.json").exists()


def test_dry_run_bounds_adaptive_schedules_by_max_steps_and_counts_their_eigensolves():
    """Under flow / expeuler η shrinks as λ_1 grows: max_t/lr is not a limit on the iterations
    (`--dry-run` said "at most 1 iterations" for a flow run), and the step size's own products
    are part of the estimate."""
    from simlab.scale.cli import iterations, plan, step_rule_products

    base = tiny(Path("unused.npz"), lr=0.01, max_t=10.0, max_steps=5000)
    const, flow, ee = (replace(base, schedule=s) for s in ("constant", "flow", "expeuler"))
    assert iterations(const) == 1000 and iterations(flow) == iterations(ee) == 5000
    assert step_rule_products(const) == 0 and step_rule_products(flow) == 4
    assert step_rule_products(ee) == ee.n_classes + 5
    text = "\n".join(plan(flow, chosen=False))
    assert "at most 5,000 iterations" in text and "does not bound the iterations" in text
    assert "does not bound" not in "\n".join(plan(const, chosen=False))


def test_a_missing_data_root_is_refused_in_one_line_and_stated_by_the_dry_run(capsys, tmp_path):
    """A run with no CIFAR-10 under --data-root stops before its plan (exit 2, one line naming
    the fix); --dry-run, which may plan for another machine, prints the plan and says where the
    data would come from, or that it is not here."""
    argv = ["scale", "--preset", "cpu", "--data-root", str(tmp_path / "none"),
            "--out", str(tmp_path / "run")]
    assert simlab_main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "--data-root" in err, err
    assert simlab_main(argv + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "data: not found on this machine" in out and "--data-root" in out
    (tmp_path / "data").mkdir()
    write_npz(tmp_path / "data" / "cifar10_subset.npz")
    assert simlab_main([*argv[:3], "--data-root", str(tmp_path / "data"), "--dry-run"]) == 0
    assert f"data: CIFAR-10 from {tmp_path / 'data' / 'cifar10_subset.npz'} (npz)" in capsys.readouterr().out
