"""The experiment registry and the toy grids: one declaration expanded the same way by every
command, the smoke preset end to end (records, figures, a claims table with real statuses),
the edge runs' protocol, the L10 continuations against dense float64 projections, aliases,
resumption and the CLI entry points.

The smoke toy grid runs once per session (module fixture, well under a minute on one core).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import make_landscape, needs_cifar
import torch

from simlab.paper import experiments as ex
from simlab.claims import STATUSES, load_records
from simlab.continuation import continue_from, on_edge_step
from simlab.steps import project
from simlab.errors import UsageError
from simlab.record import CLOCK_KEYS, Record
from simlab.toy import experiments, grid, lowell, sagun
from simlab.toy.run import build, run

SMOKE = grid.SIZES["smoke"]
# the grids of Lowell's protocol (toy runs with simlab.toy.lowell.PROTOCOL's settings)
EDGE_GRIDS = ("toy_lr_sweep", "toy_class_sweep", "toy_entry", "toy_mse", "toy_flow", "toy_edge_nd")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    lines: list[str] = []
    out = experiments.reproduce(root, "smoke", log=lines.append)
    return root, out, lines


def records_of(root: Path, name: str) -> list[Record]:
    return [r for r in load_records([root]) if r.doc.get("experiment") == name]


# ------------------------------------------------------------------------------ the registry


@pytest.mark.parametrize("preset", ex.PRESETS)
def test_every_command_expands_the_same_declaration(preset):
    runs = ex.grid(preset)
    assert len({r.name for r in runs}) == len(runs)
    for name in ex.grid_names(runs):
        regime = ex.GRIDS[name][0]
        paper = ex.select(runs, [name])                       # paper run --only NAME
        cli = ex.expand(name.removeprefix(f"{regime}_"), preset, regime=regime)  # toy/scale --experiment
        assert [(r.name, r.config) for r in cli] == [(r.name, r.config) for r in paper]
        assert all(r.regime == regime and set(r.claims) <= set(ex.GRIDS[name][1]) for r in paper)
    short = experiments.registry_grids(preset)
    assert set(short.values()) == {g for g in ex.grid_names(runs) if ex.GRIDS[g][0] == "toy"}
    assert set(experiments.registry_grids()) <= set(experiments.EXPERIMENTS)


def test_registry_identities_and_edge_protocol():
    runs = ex.grid("cpu")
    for r in runs:
        exp = getattr(r.config, "experiment", None)
        if r.kind == "scale" and r.grid == "scale_mse":
            assert exp == "mse" and r.config.loss == "mse"
        if r.kind == "toy" and r.grid in EDGE_GRIDS:
            c = r.config
            assert c.eigenvalues_only and c.standardise and c.activation == "tanh"
            assert c.dataset == "cifar8" and c.k == 20 and c.eig_method == "lanczos"
            if c.schedule == "constant":
                # telemetry every ≤ 1/(5η) iterations, t budget ≥ 200 (MSE: ≥ 200 as well)
                assert c.telemetry_every <= 1 / (5 * c.lr) + 1e-9 or c.telemetry_every == 1
                assert c.max_steps * c.lr >= 200
                if r.grid == "toy_entry":   # an entry capture: the η-sweep run, every iteration
                    assert c.telemetry_every == 1 and c.experiment == "entry"
            if c.loss == "mse":
                assert c.target_loss is None and c.loss_fraction is not None
    seeds = {}
    for r in runs:
        if r.grid in ("toy_lr_sweep", "toy_class_sweep"):
            key = (r.grid, r.name.rsplit("_s", 1)[0])
            seeds.setdefault(key, set()).add(r.name.rsplit("_s", 1)[1])
    probes = {f"toy/lr_sweep/lr{x:g}" for x in ex.EDGE["cpu"].probe_lrs}
    assert seeds and all(len(s) >= 3 for k, s in seeds.items() if k[1] not in probes)
    assert len(ex.expand("toy_continuation", "cpu")) >= 3
    flow = [r.config.n_data for r in ex.expand("toy_flow", "cpu") if r.kind == "toy"]
    assert max(flow) / min(flow) >= 8 and len(flow) >= 4


def test_unknown_names_are_usage_errors():
    with pytest.raises(UsageError, match="unknown grid"):
        ex.expand("no_such_grid", "smoke")
    with pytest.raises(UsageError, match="preset"):
        ex.grid("huge")
    with pytest.raises(UsageError, match="preset"):
        grid.sizes("huge")


def test_expand_with_sources_puts_the_sources_first():
    runs = ex.expand("toy_continuation", "smoke", with_sources=True)
    names = [r.name for r in runs]
    for r in runs:
        src = getattr(r.config, "source", None)
        if src is not None:
            assert src in names and names.index(src) < names.index(r.name)


# ------------------------------------------------------------------------------ L10 maths


def test_top_and_bulk_steps_are_eta_times_dense_projections():
    """One continuation step of each mode equals −η P g with P built from the dense float64
    eigenvectors of the exact Hessian (eigenvectors refreshed at every step)."""
    cfg = lowell.config(dataset="blobs", n_data=40, hidden=3, depth=2, activation="tanh",
                        standardise=False, classes=None)
    land, _ = build(cfg)
    theta = land.theta0
    n_top, lr = 2, 0.3
    loss, g = land.loss_grad(theta)
    w, V = torch.linalg.eigh(land.hessian(theta))
    Vt = V[:, torch.argsort(w, descending=True)[:n_top]]
    P_top = Vt @ Vt.T
    for mode, P in (("top", P_top), ("bulk", torch.eye(len(g), dtype=g.dtype) - P_top),
                    ("gd", torch.eye(len(g), dtype=g.dtype))):
        losses, th1 = continue_from(land, theta, lr=lr, n_iter=1, mode=mode, n_top=n_top,
                                    refresh_every=1, tol=1e-12)
        torch.testing.assert_close(th1 - theta, -lr * (P @ g), rtol=0, atol=1e-8)
        # with the dense eigenvectors themselves the step is −η P g to rounding
        _, th_dense = continue_from(land, theta, lr=lr, n_iter=1, mode=mode, n_top=n_top,
                                    eig_fn=lambda th, v0: Vt)
        torch.testing.assert_close(th_dense - theta, -lr * (P @ g), rtol=0, atol=1e-14)
        assert losses[0] == loss and losses[1] == land.loss(th1)
    # the Lanczos subspace is the dense one (projections agree to solver accuracy)
    from simlab.spectrum import top_eigen

    e = top_eigen(land.operator(theta), n_top, tol=1e-10)
    torch.testing.assert_close(project(g, e.eigenvectors, "top"), P_top @ g,
                               rtol=0, atol=1e-8)


def test_on_edge_step_skips_the_start_and_needs_a_stretch():
    lr = 0.5  # 1/η = 2 iterations: step 0 and 1 never count
    pts = [{"step": s, "rho": [r]} for s, r in
           enumerate([1.5, 1.3, 0.9, 0.85, 0.5, 0.81, 0.82, 0.9, 0.95, 0.99, 1.0, 0.3])]
    step, rho = on_edge_step(pts, lr)
    assert step == 8 and rho == 0.95  # middle of steps 5..10
    assert on_edge_step(pts[:9], lr, min_points=5) is None  # stretches of 2 and 4 points only


# ------------------------------------------------------------------------------ edge runs


def test_edge_run_protocol_and_dense_spectra(tmp_path):
    cfg = lowell.config(dataset="blobs", n_data=60, hidden=3, standardise=False, lr=0.5,
                        max_steps=12, max_t=100.0, telemetry_every=2, dense_every=5, k=4,
                        target_loss=None, experiment="lr_sweep")
    s = run(cfg, tmp_path / "r", progress=False, figures=False)
    r = Record.load(tmp_path / "r")
    assert [p["step"] for p in r.telemetry] == list(range(0, 13, 2))
    assert s["stop_reason"] == "max_steps" and s["valid"] and r.doc["experiment"] == "lr_sweep"
    arr = r.arrays()
    assert arr["dense_steps"].tolist() == [0, 5, 10, 12]
    land, _ = build(cfg)
    lam_end = torch.linalg.eigvalsh(land.hessian(r.weights().to(torch.float64))).numpy()
    np.testing.assert_allclose(arr["dense_eigenvalues"][-1], lam_end, rtol=0, atol=1e-12)
    np.testing.assert_allclose(arr["dense_eigenvalues"][0],
                               torch.linalg.eigvalsh(land.hessian(land.theta0)).numpy(), atol=1e-12)
    # the top-k of every point is the exact spectrum's top-k (Lanczos on the exact operator)
    assert r.telemetry[-1]["eigenvalues"] == pytest.approx(sorted(lam_end)[::-1][:4], rel=1e-5)
    assert not list((tmp_path / "r").glob("snapshots/*.pt"))  # snapshots only served the spectra


def test_loss_fraction_stops_mse_relative_to_the_initial_loss(tmp_path):
    cfg = lowell.config(dataset="blobs", n_data=60, hidden=3, standardise=False, lr=0.5, loss="mse",
                        max_steps=400, telemetry_every=50, k=2, target_loss=None, loss_fraction=0.5,
                        experiment="mse")
    s = run(cfg, tmp_path / "m", progress=False, figures=False)
    assert s["stop_reason"] == "target_loss"
    assert s["final_loss"] < 0.5 * s["initial_loss"] == pytest.approx(s["target_loss_used"])


def _numbers(d: Path):
    """A record's numbers: telemetry, summary and arrays without timings and the experiment name."""
    timing = CLOCK_KEYS | {"experiment"}

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in timing}
        return [strip(v) for v in x] if isinstance(x, list) else x

    tel = [strip(json.loads(line)) for line in (d / "telemetry.jsonl").read_text().splitlines()]
    arr = np.load(d / "arrays.npz")
    return tel, strip(json.loads((d / "summary.json").read_text())), {k: arr[k] for k in arr.files}


@needs_cifar
@pytest.mark.parametrize("grid_name", ["toy_lr_sweep", "toy_flow"])
def test_a_toy_edge_run_from_the_cli_is_the_grids_run(grid_name, tmp_path):
    """An edge grid's run is a ToyConfig run: ``python -m simlab toy`` given its fields as flags
    writes the same numbers as the grid runner (``grad_tol=None`` is ``--grad-tol 0`` there: a
    run with ‖g‖ = 0 stops as dead first, so it never stops on ‖g‖ either)."""
    import dataclasses

    from simlab.errors import flag
    from simlab.paper.runner import execute
    from simlab.toy.cli import main
    from simlab.toy.run import ToyConfig

    r = next(r for r in ex.expand(grid_name, "smoke") if r.kind == "toy")
    argv = []
    for f in dataclasses.fields(ToyConfig):
        v = getattr(r.config, f.name)
        if f.name == "experiment" or v == f.default:
            continue
        if isinstance(v, bool):
            argv.append(flag(f.name))
        else:
            argv += [flag(f.name), "0" if (f.name == "grad_tol" and v is None) else str(v)]
    assert {"--standardise", "--eigenvalues-only", "--eig-method", "--grad-tol"} <= set(argv)
    execute(r, tmp_path / "grid", progress=False)
    assert main(argv + ["--out", str(tmp_path / "cli"), "--quiet"]) == 0
    (ta, sa, aa), (tb, sb, ab) = _numbers(tmp_path / "grid"), _numbers(tmp_path / "cli")
    assert ta == tb and len(ta) > 2
    assert {k: v for k, v in sa.items() if k != "target_loss_used"} == \
        {k: v for k, v in sb.items() if k != "target_loss_used"}
    assert aa.keys() == ab.keys() and all(np.array_equal(aa[k], ab[k], equal_nan=True) for k in aa)
    assert "dense_eigenvalues" in aa and "hessian" not in aa
    if grid_name == "toy_flow":
        assert sa["cusp"]["values"] == sb["cusp"]["values"]


# ------------------------------------------------------------------------------ smoke grid


@needs_cifar
def test_smoke_reproduce_writes_every_toy_grid_and_real_statuses(smoke):
    root, out, lines = smoke
    runs = [r for r in ex.grid("smoke") if r.regime == "toy"]
    for r in runs:
        assert (root / r.name / "summary.json").is_file(), r.name
        doc = json.loads((root / r.name / "config.json").read_text())
        assert doc["regime"] == "toy" and doc["experiment"]
    for name in experiments.EXTRAS:
        assert records_of(root / name, name) and list((root / name).glob("fig_*.png"))
    assert list(root.glob("fig*.png"))
    doc = json.loads((root / "claims.json").read_text())
    verdicts = {v["id"]: v for v in doc["regimes"]["toy"]}
    assert {"S1", "S2", "L1", "L2", "L10"} <= set(verdicts)
    assert all(v["status"] in STATUSES for v in verdicts.values())
    timings = json.loads((root / "timings.json").read_text())
    assert timings["total"]["wall_s"] > 0


@needs_cifar
def test_aliases_are_copies_under_another_experiment(smoke):
    root, _, _ = smoke
    for r in ex.grid("smoke"):
        if r.kind != "alias":
            continue
        a, s = Record.load(root / r.name), Record.load(root / r.config.source)
        assert a.doc["experiment"] == r.config.experiment == a.summary["experiment"]
        assert a.doc["alias_of"] == r.config.source
        assert a.telemetry == s.telemetry
        assert {k: v for k, v in a.config.items() if k != "experiment"} == \
               {k: v for k, v in s.config.items() if k != "experiment"}


def test_grid_resumes_without_rerunning(smoke):
    root, _, _ = smoke
    before = {p: p.stat().st_mtime_ns for p in root.rglob("summary.json")}
    experiments.run_registry("lr_sweep", root, "smoke", log=lambda m: None)
    after = {p: p.stat().st_mtime_ns for p in root.rglob("summary.json")}
    assert before == after and before


def test_interrupted_run_is_redone(tmp_path):
    cfg = grid.blob_config(SMOKE, hidden=2, max_steps=20, telemetry_every=20, experiment="width_sweep")
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # a crash before the summary
    s = grid.run_cached(cfg, out)
    assert s["steps"] == 20 and json.loads((out / "config.json").read_text())["experiment"] == "width_sweep"


def test_gd_and_sgd_are_deterministic_and_descend():
    cfg = grid.blob_config(SMOKE, hidden=2, n_data=100)
    land, _ = build(cfg)
    a, info = grid.gd(land, land.theta0, lr=0.2, max_steps=50)
    b, _ = grid.gd(land, land.theta0, lr=0.2, max_steps=50)
    assert torch.equal(a, b) and info["steps"] == 50 and info["loss"] < land.loss(land.theta0)
    # the trainer's update, bit for bit
    th = land.theta0.clone()
    for _ in range(50):
        th = th - 0.2 * land.grad(th)
    assert torch.equal(a, th)
    s1 = grid.sgd(land, land.theta0, lr=0.2, batch=10, steps=30, seed=3)
    s2 = grid.sgd(land, land.theta0, lr=0.2, batch=10, steps=30, seed=3)
    s3 = grid.sgd(land, land.theta0, lr=0.2, batch=10, steps=30, seed=4)
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)
    full = grid.sgd(land, land.theta0, lr=0.2, batch=100, steps=5)
    gd5, _ = grid.gd(land, land.theta0, lr=0.2, max_steps=5)
    torch.testing.assert_close(full, gd5, rtol=0, atol=1e-14)


def test_alpha_grid_contains_both_endpoints():
    cfg = sagun.InterpolationConfig(n_alpha=7)
    a = sagun.alpha_grid(cfg)
    assert 0.0 in a and 1.0 in a and a[0] == -0.5 and a[-1] == 1.5 and np.all(np.diff(a) > 0)


def test_cli_runs_one_experiment(tmp_path, capsys):
    from simlab.toy.cli import main

    rc = main(["--experiment", "interpolation", "--preset", "smoke", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    assert (tmp_path / "fig_interpolation.png").exists()
    assert "barrier" in capsys.readouterr().out


@needs_cifar
def test_cli_runs_a_registry_grid_with_its_sources(tmp_path, capsys):
    from simlab.toy.cli import main

    rc = main(["--experiment", "continuation", "--preset", "smoke", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    for r in ex.expand("toy_continuation", "smoke", with_sources=True):
        assert (tmp_path / r.name / "summary.json").is_file()


def test_a_killed_continuation_resumes_from_its_finished_paths(tmp_path, monkeypatch):
    """Each finished path is kept under checkpoints/; a resume reads those back, runs only the
    missing ones, and writes the record an uninterrupted run writes."""
    import simlab.continuation as cont
    from simlab.continuation import ContinuationConfig
    from simlab.record import RecordWriter

    land = make_landscape(widths=(6,), n_data=30, seed=1)
    lr = 0.5
    src = RecordWriter(tmp_path / "runs" / "src", {"lr": lr, "seed": 0},
                       meta={"regime": "toy", "experiment": "lr_sweep"})
    rho = [0.5] * 4 + [1.1] * 16  # enters the edge at iteration 4, on it from then on
    for i, r in enumerate(rho):
        src.append({"step": i, "loss": 1.0, "rho": [r, 0.2], "eigenvalues": [2 * r / lr, 0.4 / lr]})
    src.write_summary({"steps": len(rho), "stop_reason": "max_steps", "valid": True})
    cfg = ContinuationConfig(source="src", n_iter=6, refresh_every=2, top_rho=0.3)
    rebuild = lambda c: (land, lr, "constant")  # noqa: E731
    ref = cont.run(cfg, tmp_path / "ref", runs_dir=tmp_path / "runs", rebuild=rebuild)
    assert ref["continuation"]["start_step"] >= 4 + 2  # ≥ 1/η after entering the edge
    kept = sorted(p.name for p in (tmp_path / "ref" / "checkpoints").glob("path_*.json"))
    assert "path_gd.json" in kept and "path_bulk.json" in kept

    # killed after two paths: their files stay, the summary was never written
    out = tmp_path / "killed"
    shutil.copytree(tmp_path / "ref", out)
    (out / "summary.json").unlink()
    for p in (out / "checkpoints").glob("path_*.json"):
        if p.name not in ("path_gd.json", "path_bulk.json"):
            p.unlink()
    ran = []
    real = cont.continue_from
    monkeypatch.setattr(cont, "continue_from", lambda *a, **k: ran.append(k["mode"]) or real(*a, **k))
    again = cont.run(cfg, out, runs_dir=tmp_path / "runs", rebuild=rebuild, resume=True)
    assert "gd" not in ran and ran.count("bulk") <= 1 and "top" in ran
    assert again["continuation"] == ref["continuation"]
