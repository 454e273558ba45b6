"""The toy experiment grid: the smoke preset end to end (records, figures, a claims table with
real statuses), each experiment's own numbers, resumption, and the CLI entry points.

The smoke grid runs once per session (module fixture, ~30 s CPU) and every test below reads it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from simlab.claims import STATUSES, load_records
from simlab.errors import UsageError
from simlab.record import Record
from simlab.toy import experiments, grid, sagun
from simlab.toy.hessian import dense_hessian, full_spectrum
from simlab.toy.run import build

SMOKE = grid.SIZES["smoke"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    lines: list[str] = []
    out = experiments.reproduce(root, SMOKE, log=lines.append)
    return root, out, lines


def records_of(root: Path, name: str) -> list[Record]:
    return [r for r in load_records([root]) if r.doc.get("experiment") == name]


def test_smoke_writes_every_experiment_with_its_figure(smoke):
    root, out, lines = smoke
    for name in experiments.ORDER:
        recs = records_of(root / name, name)
        assert recs, f"no {name} record"
        assert all(r.summary is not None for r in recs)
        assert all(r.doc["regime"] == "toy" for r in recs)
        figs = list((root / name).glob("fig_*.png"))
        assert figs and all(f.stat().st_size > 1000 for f in figs), name
    assert records_of(root / "predictions", "predictions")
    timings = json.loads((root / "timings.json").read_text())
    assert set(experiments.ORDER) <= set(timings) and timings["total"]["cpu_s"] > 0


def test_smoke_claims_table_has_real_statuses(smoke):
    root, _, _ = smoke
    doc = json.loads((root / "claims.json").read_text())
    verdicts = {v["id"]: v for v in doc["regimes"]["toy"]}
    assert set(verdicts) >= {"S1", "S2", "S7", "L1", "L2", "Y1", "Y7"}
    assert all(v["status"] in STATUSES for v in verdicts.values())
    # claims that the grid measures get a verdict from numbers, not "not measured"
    for cid in ("S1", "S2", "S4", "S5", "S6", "S7", "L1", "L2", "L3", "F1", "F2"):
        assert verdicts[cid]["status"] in ("holds", "fails"), (cid, verdicts[cid]["reason"])
        assert verdicts[cid]["runs"], cid
    for i in range(1, 9):
        assert verdicts[f"Y{i}"]["status"] == "holds", verdicts[f"Y{i}"]["reason"]
    md = (root / "claims.md").read_text()
    assert "| S1 |" in md and "| L1 |" in md


def test_width_sweep_params_and_exact_spectra(smoke):
    root, _, _ = smoke
    recs = sorted(records_of(root / "width_sweep", "width_sweep"), key=lambda r: r.config["hidden"])
    assert [r.config["hidden"] for r in recs] == list(SMOKE.widths)
    for r in recs:
        h = r.config["hidden"]
        assert r.summary["n_params"] == h * h + 6 * h + 2
        lam = r.arrays()["eigenvalues"]
        assert lam.size == r.summary["n_params"]
        assert r.summary["near_zero_fraction"] == pytest.approx(
            np.mean(np.abs(lam) <= 1e-3 * lam.max()))


def test_training_spectrum_stores_full_spectra_that_match_a_recomputation(smoke):
    root, _, _ = smoke
    (r,) = records_of(root / "training_spectrum", "training_spectrum")
    steps = r.summary["spectrum_steps"]
    assert len(steps) >= SMOKE.spectrum_points and steps[0] == 0
    assert set(p["step"] for p in r.telemetry) <= set(steps)
    arr = r.arrays()
    # the last stored spectrum is that of the final weights, and the one at step 0 is the init's
    cfg_fields = {k: v for k, v in r.config.items() if k in grid.ToyConfig.__dataclass_fields__}
    land, _ = build(grid.ToyConfig(**{**cfg_fields, "classes": None}))
    lam_end, _ = full_spectrum(dense_hessian(land, r.weights().to(torch.float64)))
    np.testing.assert_allclose(arr[f"spectrum_step_{steps[-1]}"], lam_end, rtol=0, atol=1e-12)
    np.testing.assert_allclose(arr["spectrum_step_0"], arr["eigenvalues_init"], rtol=0, atol=1e-12)


def test_fluctuation_lists_one_top_eigenvalue_per_init(smoke):
    root, _, _ = smoke
    (r,) = records_of(root / "fluctuation", "fluctuation")
    top = r.summary["top_eigenvalues"]
    assert len(top) == SMOKE.inits == r.config["inits"]
    spectra = r.arrays()["spectra"]
    assert spectra.shape == (SMOKE.inits, r.summary["n_params"])
    np.testing.assert_array_equal(spectra[:, -1], top)
    assert r.summary["top_eigenvalue_std"] == pytest.approx(np.std(top, ddof=1))
    assert len(set(top)) == len(top)  # different initialisations, different minima


def test_std_sweep_reports_theta_norm_beside_top_eigenvalues(smoke):
    root, _, _ = smoke
    recs = records_of(root / "std_sweep", "std_sweep")
    assert sorted({r.config["std"] for r in recs}) == sorted(SMOKE.stds)
    assert len(recs) == len(SMOKE.stds) * SMOKE.seeds
    for r in recs:
        theta = r.weights().to(torch.float64)
        assert r.summary["theta_norm"] == pytest.approx(float(theta.norm()), rel=1e-12)
        assert r.summary["lambda_max"] == pytest.approx(max(r.summary["eigenvalues"]))


def test_mse_and_random_inputs_are_what_the_claims_engine_expects(smoke):
    root, _, _ = smoke
    assert all(r.config["loss"] == "mse" for r in records_of(root / "mse", "mse"))
    recs = records_of(root / "random_inputs", "random_inputs")
    datasets = sorted({r.doc["data"]["name"] for r in recs})
    assert datasets == ["digits", "random"]
    by = {(r.doc["data"]["name"], r.config["seed"]): r for r in recs}
    a, b = by[("digits", 0)], by[("random", 0)]
    # the same network, only the inputs differ
    assert a.summary["n_params"] == b.summary["n_params"] and a.config["hidden"] == b.config["hidden"]


def test_interpolation_endpoints_are_the_solutions_losses_exactly(smoke):
    root, _, _ = smoke
    (r,) = records_of(root / "interpolation", "interpolation")
    s, arr = r.summary, r.arrays()
    alphas = s["alphas"]
    i0, i1 = alphas.index(0.0), alphas.index(1.0)
    assert s["loss_gd_sgd"][i0] == s["loss_gd"] == s["loss_two_starts"][i0]
    assert s["loss_gd_sgd"][i1] == s["loss_sgd"]
    assert s["loss_two_starts"][i1] == s["loss_other"]
    cfg_fields = {k: v for k, v in r.config.items() if k in grid.ToyConfig.__dataclass_fields__}
    land, _ = build(grid.ToyConfig(**{**cfg_fields, "classes": None}))
    for key, loss in (("theta_gd", "loss_gd"), ("theta_sgd", "loss_sgd"), ("theta_other", "loss_other")):
        assert land.loss(torch.from_numpy(arr[key])) == s[loss]
    assert s["barrier_gd_sgd"] == pytest.approx(
        max(v for a, v in zip(alphas, s["loss_gd_sgd"]) if 0 <= a <= 1) - max(s["loss_gd"], s["loss_sgd"]))


def test_lowell_runs_follow_the_protocol(smoke):
    root, _, _ = smoke
    for r in records_of(root / "lr_sweep", "lr_sweep"):
        lr = r.config["lr"]
        steps = [p["step"] for p in r.telemetry]
        assert steps[1] - steps[0] == max(1, round(1 / lr))  # telemetry every 1/η iterations
        s = r.summary
        assert s["stop_reason"] in ("target_loss", "max_steps")
        assert s["steps"] <= min(round(SMOKE.lowell_t / lr), SMOKE.lowell_cap)
        p = r.telemetry[-1]
        assert p["rho"] == pytest.approx([lr * x / 2 for x in p["eigenvalues"]])
        assert "near_zero_fraction" in p  # the full exact spectrum at every point
    ncs = sorted(r.summary["n_classes"] for r in records_of(root / "class_sweep", "class_sweep"))
    assert ncs == sorted(SMOKE.lowell_classes)
    (e,) = records_of(root / "entry", "entry")
    steps = [p["step"] for p in e.telemetry]
    assert steps[1] - steps[0] == SMOKE.entry_every


def test_grid_resumes_without_rerunning(smoke):
    root, _, _ = smoke
    folder = root / "width_sweep"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("summary.json")}
    experiments.run_experiment("width_sweep", folder, SMOKE)
    after = {p: p.stat().st_mtime_ns for p in folder.rglob("summary.json")}
    assert before == after and before


def test_interrupted_run_is_redone(tmp_path):
    cfg = grid.blob_config(replace(SMOKE, blob_steps=20), hidden=2, experiment="width_sweep")
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
    s1 = grid.sgd(land, land.theta0, lr=0.2, batch=10, steps=30, seed=3)
    s2 = grid.sgd(land, land.theta0, lr=0.2, batch=10, steps=30, seed=3)
    s3 = grid.sgd(land, land.theta0, lr=0.2, batch=10, steps=30, seed=4)
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)
    # a batch of the whole set is full-batch GD
    full = grid.sgd(land, land.theta0, lr=0.2, batch=100, steps=5)
    gd5, _ = grid.gd(land, land.theta0, lr=0.2, max_steps=5)
    torch.testing.assert_close(full, gd5, rtol=0, atol=1e-14)


def test_alpha_grid_contains_both_endpoints():
    cfg = sagun.InterpolationConfig(n_alpha=7)
    a = sagun.alpha_grid(cfg)
    assert 0.0 in a and 1.0 in a and a[0] == -0.5 and a[-1] == 1.5 and np.all(np.diff(a) > 0)


def test_unknown_preset_is_a_usage_error():
    with pytest.raises(UsageError, match="preset"):
        grid.sizes("huge")


def test_cli_runs_one_experiment(tmp_path, capsys):
    from simlab.toy.cli import main

    rc = main(["--experiment", "interpolation", "--preset", "smoke", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    assert (tmp_path / "fig_interpolation.png").exists()
    assert "barrier" in capsys.readouterr().out
