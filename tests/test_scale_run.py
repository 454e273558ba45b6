"""The scale regime end to end on tiny nets and a few dozen synthetic images.

HVPs against double backward and finite differences, Lanczos against power iteration, the
protocol run's record and its internal consistency, resume = uninterrupted, sub-experiments, the
CLI's exit codes. Data are synthetic npz files in the shared format, written by the tests.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from simlab.cli import main as simlab_main
from simlab.errors import UsageError
from simlab.record import CLOCK_KEYS, Record
from simlab.scale.config import PRESETS, ScaleConfig, preset
from simlab.scale.experiments import run_experiment
from simlab.cusp import loss_slice as cusp_scan
from simlab.scale.run import build_landscape, run_one
from simlab.spectrum import top_eigen

ROOT = Path(__file__).resolve().parents[1]
TINY = 1 / 32


def write_npz(path: Path, n: int = 40, seed: int = 0) -> Path:
    """CIFAR-format arrays: uint8 [n, 32, 32, 3] images, balanced int64 labels 0..9."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    # class-dependent mean so that there is something to learn
    x = rng.integers(0, 160, (n, 32, 32, 3)) + (y[:, None, None, None] * 9)
    np.savez(path, x_train=x.astype(np.uint8), y_train=y.astype(np.int64),
             x_test=x[:10].astype(np.uint8), y_test=y[:10].astype(np.int64),
             label_names=np.array([f"c{i}" for i in range(10)]))
    return path


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    return write_npz(tmp_path_factory.mktemp("data") / "cifar10_subset.npz")


def tiny(npz: Path, **kw) -> ScaleConfig:
    base = dict(preset="cpu", arch="vgg16", width=TINY, data_root=str(npz), n_data=20, lr=0.05,
                max_steps=4, telemetry_every=2, k=3, slq_vectors=1, slq_steps=4, dtype="float64",
                device="cpu", eig_tol=1e-6)
    base.update(kw)
    return replace(PRESETS["cpu"], **base).validate()


# ------------------------------------------------------------------------------ HVP and eigensolvers


@pytest.mark.parametrize("arch", ["alexnet", "vgg16"])
def test_hvp_matches_double_backward_and_finite_differences(npz, arch):
    land, _ = build_landscape(tiny(npz, arch=arch, n_data=12))
    g = torch.Generator().manual_seed(1)
    theta = land.theta0 + 0.01 * torch.randn(land.n_params, generator=g, dtype=torch.float64)
    v = torch.randn(land.n_params, generator=g, dtype=torch.float64)
    v /= v.norm()
    rr = land.hvp(theta, v, "rev-rev")
    fr = land.hvp(theta, v, "fwd-rev")
    held = land.operator(theta, hold_graph=True).matvec(v)
    assert torch.allclose(rr, fr, rtol=1e-8, atol=1e-10 * rr.norm())
    assert torch.allclose(rr, held, rtol=1e-8, atol=1e-10 * rr.norm())
    h = 1e-5  # central difference of the gradient: O(h²) error, ReLU kinks are rarely crossed
    fd = (land.grad(theta + h * v) - land.grad(theta - h * v)) / (2 * h)
    assert (fd - rr).norm() / rr.norm() < 1e-4


def test_lanczos_eigenpairs_have_small_residuals_and_match_power(npz):
    land, _ = build_landscape(tiny(npz, n_data=10))
    theta = land.theta0
    lan = top_eigen(land.operator(theta), 3, method="lanczos", tol=1e-10)
    pw = top_eigen(land.operator(theta), 1, method="power", tol=1e-9, maxiter=300)
    assert np.all(lan.residuals <= 1e-6 * abs(lan.eigenvalues[0]))
    assert np.all(np.diff(lan.eigenvalues) <= 0)
    # the Rayleigh quotient converges at twice the rate of the vector
    assert pw.eigenvalues[0] == pytest.approx(lan.eigenvalues[0], rel=1e-5)
    assert abs(float(pw.eigenvectors[:, 0] @ lan.eigenvectors[:, 0])) > 0.99


# ------------------------------------------------------------------------------ the protocol run


def check_point(p: dict, n_classes: int, rtol: float = 1e-8, tol: float = 1e-6) -> None:
    """The telemetry identities: finite, ρ = ηλ/2, η* = 2/λ, Pythagoras for the projections
    (``rtol``: 1e-8 for float64 runs, 1e-4 for float32); residuals of Lanczos stopped on settled
    Ritz values (eigenvalue accuracy ``tol``) are ~√(tol·λ·gap) ≤ √tol·λ_1."""
    lam = np.array(p["eigenvalues"])
    for key in ("loss", "grad_norm", "theta_norm", "p_top_norm", "p_bulk_norm", "dl_top", "dl_bulk"):
        assert math.isfinite(p[key]), key
    assert np.all(np.isfinite(lam)) and np.all(np.diff(lam) <= 1e-9 * abs(lam[0]))
    np.testing.assert_allclose(p["rho"], p["lr"] * lam / 2, rtol=1e-12)
    np.testing.assert_allclose(p["eta_star"], 2 / lam, rtol=1e-12)
    assert p["n_top"] == n_classes - 1
    np.testing.assert_allclose(p["p_top_norm"] ** 2 + p["p_bulk_norm"] ** 2, p["grad_norm"] ** 2, rtol=rtol)
    d = np.array(p["d"])
    assert np.linalg.norm(d[:p["n_top"]]) == pytest.approx(p["p_top_norm"], rel=rtol)
    assert max(p["residuals"]) <= max(10 * math.sqrt(tol), 100 * rtol) * abs(lam[0])


def test_protocol_run_writes_a_consistent_record(npz, tmp_path):
    cfg = tiny(npz, classes=3, n_data=12, k=3, lr=0.25)  # 4 steps = 1/η: a valid run
    out = run_one(cfg, tmp_path / "run", progress=False)
    r = Record.load(out)
    assert r.doc["regime"] == "scale" and r.doc["experiment"] == "scale"
    assert r.doc["data"]["n_data"] == 12 and r.doc["data"]["n_classes"] == 3
    assert r.doc["data"]["source"].startswith("npz:")
    assert ScaleConfig.from_dict(r.config) == cfg
    assert "environment" in r.doc and r.doc["environment"]["device"] == "cpu"
    assert [p["step"] for p in r.telemetry] == [0, 2, 4]
    for p in r.telemetry:
        check_point(p, 3)
        assert p["t"] == pytest.approx(p["step"] * cfg.lr)
    s = r.summary
    assert s["steps"] == 4 and s["stop_reason"] == "max_steps" and s["n_params"] > 0
    assert s["final_loss"] == pytest.approx(r.telemetry[-1]["loss"])
    assert 0 <= s["near_zero_fraction"] <= 1 and s["eps"] == 1e-3
    assert sum(s["density"]["weights"]) == pytest.approx(1.0)
    assert s["slq"]["probes"] == 1 and s["slq"]["steps"] == 4 and s["slq"]["validated"] is False
    # every product: the telemetry's eigensolves and the SLQ's 1 probe × 4 Lanczos steps
    assert s["total_hvps"] == sum(p["n_matvecs"] for p in r.telemetry) + 4
    assert s["grads_per_hvp"] > 0 and s["chunking"]["n_chunks"] == 1
    assert s["memory_format"] == "contiguous"
    assert s["valid"] is True and s["invalid_reason"] is None
    for name in ("fig1_rho_by_lr.png", "fig3_projections.png", "table1.md", "weights.pt"):
        assert (out / name).exists(), name


def test_channels_last_run_is_the_contiguous_run_to_rounding(npz, tmp_path):
    """--memory-format channels_last: the record says so, and over 4 float64 steps every point
    agrees with the contiguous run's to rounding (telemetry at the 1e-6 solver tolerance)."""
    cfg = tiny(npz, classes=3, n_data=12, k=3, lr=0.25)
    runs = {f: Record.load(run_one(replace(cfg, memory_format=f), tmp_path / f, progress=False))
            for f in ("contiguous", "channels_last")}
    assert runs["channels_last"].summary["memory_format"] == "channels_last"
    assert runs["channels_last"].config["memory_format"] == "channels_last"
    a, b = runs["contiguous"].telemetry, runs["channels_last"].telemetry
    assert [p["step"] for p in a] == [p["step"] for p in b] == [0, 2, 4]
    for p, q in zip(a, b):
        assert q["loss"] == pytest.approx(p["loss"], rel=1e-12)
        assert q["grad_norm"] == pytest.approx(p["grad_norm"], rel=1e-10)
        np.testing.assert_allclose(q["eigenvalues"], p["eigenvalues"], rtol=1e-5)


class Interrupt(Exception):
    pass


@pytest.mark.slow
def test_resume_yields_the_same_record(npz, tmp_path):
    cfg = tiny(npz, max_steps=8, telemetry_every=2, checkpoint_every=3, slq_vectors=0)
    whole = Record.load(run_one(cfg, tmp_path / "whole", progress=False, figures=False))

    seen = []

    def crash(point, eig):
        seen.append(point["step"])
        if point["step"] == 6:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_one(cfg, tmp_path / "cut", progress=False, figures=False, on_point=crash)
    assert not (tmp_path / "cut" / "summary.json").exists()
    resumed = Record.load(run_one(cfg, tmp_path / "cut", resume=True, progress=False, figures=False))

    def strip(points):
        return [{k: v for k, v in p.items() if k != "wall_time"} for p in points]

    assert strip(resumed.telemetry) == strip(whole.telemetry)
    assert torch.equal(resumed.weights(), whole.weights())
    assert resumed.summary["final_loss"] == whole.summary["final_loss"]


@pytest.mark.slow
def test_resume_with_another_config_is_refused(npz, tmp_path):
    cfg = tiny(npz, max_steps=2, slq_vectors=0)
    run_one(cfg, tmp_path / "r", progress=False, figures=False)
    with pytest.raises(Exception, match="different config"):
        run_one(replace(cfg, lr=0.1), tmp_path / "r", resume=True, progress=False, figures=False)


def test_divergence_stops_with_a_message_and_keeps_the_record(npz, tmp_path, capsys):
    cfg = tiny(npz, lr=1e4, max_steps=30, max_t=None, target_loss=None, telemetry_every=100, k=1,
               slq_vectors=0)
    out = run_one(cfg, tmp_path / "d", progress=False, figures=False)
    r = Record.load(out)
    assert r.summary["stop_reason"] == "diverged"
    assert "diverged" in capsys.readouterr().err
    assert len(r.telemetry) >= 1


# ------------------------------------------------------------------------------ sub-experiments


@pytest.mark.slow
def test_lr_sweep_and_class_sweep_members(npz, tmp_path):
    # runs of at least 1/η iterations: the figures draw valid runs only
    cfg = tiny(npz, experiment="lr_sweep", lrs=(1.0, 0.5), max_steps=2, slq_vectors=0)
    dirs = run_experiment(cfg, tmp_path / "lr", progress=False)
    recs = [Record.load(d) for d in dirs]
    assert [r.config["lr"] for r in recs] == [1.0, 0.5]
    assert all(r.doc["experiment"] == "lr_sweep" for r in recs)
    assert (tmp_path / "lr" / "fig1_rho_by_lr.png").exists()

    # class_images="per_class" (the paper's rule): n_D·n_c/10 images, the classes dropped
    cfg = tiny(npz, experiment="class_sweep", class_counts=(2, 5), n_data=20, max_steps=1, lr=1.0,
               slq_vectors=0, class_images="per_class")
    dirs = run_experiment(cfg, tmp_path / "cls", progress=False)
    recs = [Record.load(d) for d in dirs]
    assert [(r.doc["data"]["n_classes"], r.doc["data"]["n_data"]) for r in recs] == [(2, 4), (5, 10)]
    assert all(r.doc["experiment"] == "class_sweep" for r in recs)
    assert (tmp_path / "cls" / "fig2_rho_by_classes.png").exists()
    # class_images="fixed" (the cpu preset's): n_D images at every n_c, balanced over the kept
    # classes (the tiny set has 4 per class, so n_D ≤ 8 for n_c = 2)
    cfg = tiny(npz, experiment="class_sweep", class_counts=(2, 5), n_data=8, max_steps=1, lr=1.0,
               slq_vectors=0)
    assert cfg.class_images == "fixed"
    dirs = run_experiment(cfg, tmp_path / "fixed", progress=False)
    got = [(r.doc["data"]["n_classes"], r.doc["data"]["n_data"]) for r in map(Record.load, dirs)]
    assert got == [(2, 8), (5, 8)]


@pytest.mark.slow
def test_entry_capture_cadence(npz, tmp_path):
    cfg = tiny(npz, experiment="entry", entry_every=1, entry_until=3, telemetry_every=100,
               k=2, slq_vectors=0, lr=0.5)
    (d,) = run_experiment(cfg, tmp_path / "e", progress=False)
    r = Record.load(d)
    assert r.doc["experiment"] == "entry"
    assert [p["step"] for p in r.telemetry] == [0, 1, 2, 3]
    assert (tmp_path / "e" / "fig4_entry.png").exists()


@pytest.mark.slow
def test_gradient_flow_fit_and_cusp(npz, tmp_path):
    cfg = tiny(npz, experiment="gradient_flow", flow_sizes=(10, 20), lr=0.5, max_steps=4,
               snapshot_every=2, telemetry_every=2, k=2, slq_vectors=0, cusp_points=5)
    dirs = run_experiment(cfg, tmp_path / "f", progress=False)
    for d in dirs:
        r = Record.load(d)
        assert r.doc["experiment"] == "gradient_flow" and r.config["schedule"] == "flow"
        lam = r.arrays()["history_lambda_1"]
        lr = r.arrays()["history_lr"]
        np.testing.assert_allclose(lr, np.minimum(0.5, 0.5 / lam), rtol=1e-12)
        s = r.summary
        assert s["peak_lambda_1"] == pytest.approx(lam.max())
        c = s["cusp"]
        assert c["n_data"] == r.doc["data"]["n_data"] and c["peak_step"] in (0, 2)
        assert c["deltas"] == pytest.approx(list(np.linspace(-0.003, 0.003, 5)))
        assert c["values"][2] == pytest.approx(0.0, abs=1e-14)
    fit = json.loads((tmp_path / "f" / "summary.json").read_text())
    assert fit["n_data"] == [10, 20] and "slope" in fit["fit"]
    assert (tmp_path / "f" / "fig5_flow_lambda1.png").exists()
    assert (tmp_path / "f" / "fig6_cusp.png").exists()

    cusp = run_experiment(replace(cfg, experiment="cusp", cusp_points=3), tmp_path / "c",
                          sources=[tmp_path / "f"], progress=False)
    for d in cusp:
        r = Record.load(d)
        assert r.doc["experiment"] == "cusp" and len(r.summary["cusp"]["values"]) == 3

    # the grid's "cusp" kind: one re-scan of one source record, the same numbers
    from simlab.runspec import RunSpec, run_spec
    from simlab.scale.experiments import CuspRescan

    got = run_spec(RunSpec("cusp", CuspRescan(source="nD_10", cusp_skip=0.0, cusp_points=3)),
                   tmp_path / "g" / "nD_10", sources=[tmp_path / "f"], progress=False)
    a, b = Record.load(got).summary["cusp"], Record.load(tmp_path / "c" / "nD_10").summary["cusp"]
    assert a["values"] == b["values"] and a["peak_step"] == b["peak_step"]
    # a re-scan states its cost like every run (paper run --dry-run reads it)
    from simlab.record import cpu_seconds, wall_seconds
    summary = Record.load(got).summary
    assert wall_seconds(summary) > 0 and 0 < cpu_seconds(summary) <= wall_seconds(summary) * 8
    with pytest.raises(UsageError, match="needs the complete gradient-flow record nD_99"):
        run_spec(RunSpec("cusp", CuspRescan(source="nD_99")), tmp_path / "g" / "x",
                 sources=[tmp_path / "f"], progress=False)


# ------------------------------------------------------------------------------ small pure pieces


def test_cusp_scan_of_a_quadratic():
    class Quad:  # L(θ) = ½ θᵀ diag(a) θ
        a = torch.tensor([4.0, 1.0], dtype=torch.float64)

        def loss(self, th):
            return float(0.5 * (self.a * th * th).sum())

    vals = cusp_scan(Quad(), torch.zeros(2, dtype=torch.float64), torch.tensor([2.0, 0.0], dtype=torch.float64),
                     [-0.1, 0.0, 0.1])
    assert vals == pytest.approx([0.02, 0.0, 0.02])


def test_linear_fit():
    from simlab.claims import linear_fit  # the one fit: the claims engine's and the scale summary's

    slope, intercept, r2 = linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert slope == pytest.approx(2) and intercept == pytest.approx(1) and r2 == pytest.approx(1)
    slope, intercept, r2 = linear_fit([0, 1, 2], [0, 2, 1])
    assert slope == pytest.approx(0.5) and intercept == pytest.approx(0.5) and r2 == pytest.approx(0.25)


def test_presets_and_overrides():
    p = preset("paper")
    assert p.n_data is None and p.width == 1.0 and p.lrs == (0.003, 0.001, 0.0003, 0.0001)
    assert p.target_loss == 0.1 and p.max_t == 40 and p.k == 20 and p.telemetry_every is None
    c = preset("cpu", arch="vgg16", lr=0.02, n_data=None)
    assert c.arch == "vgg16" and c.lr == 0.02 and c.n_data == PRESETS["cpu"].n_data


# ------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("args, fragment", [
    (["--arch", "resnet"], "invalid choice"),
    (["--lr", "0"], "must be positive"),
    (["--lr", "-1"], "must be positive"),
    (["--width", "-0.5"], "--width"),
    (["--n-data", "0"], "must be positive"),
])
def test_cli_rejects_bad_flags_with_exit_2(args, fragment, capsys):
    try:
        code = simlab_main(["scale", "--preset", "cpu", *args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1


def test_cli_data_errors_exit_2(npz, tmp_path, capsys):
    assert simlab_main(["scale", "--preset", "cpu", "--data-root", str(tmp_path / "nowhere"),
                        "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--data-root" in err and "--download" in err and len(err.splitlines()) == 1
    assert simlab_main(["scale", "--preset", "cpu", "--data-root", str(npz), "--n-data", "41",
                        "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "41" in err and "40" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_cli_end_to_end_subprocess(npz, tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "simlab", "scale", "--preset", "cpu", "--arch", "vgg16",
           "--width", str(TINY), "--data-root", str(npz.parent), "--n-data", "20", "--max-steps", "2",
           "--lr", "0.5", "--telemetry-every", "1", "--k", "3", "--slq-steps", "3", "--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = Record.load(out)
    assert r.config["arch"] == "vgg16" and r.doc["experiment"] == "scale"
    assert len(r.telemetry) == 3
    for p in r.telemetry:
        check_point(p, 10, rtol=1e-4)  # the default dtype, float32
    assert (out / "fig1_rho_by_lr.png").exists() and (out / "table1.md").exists()
    bad = subprocess.run([sys.executable, "-m", "simlab", "scale", "--arch", "resnet"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_scale_resume_refuses_a_pickled_checkpoint_and_a_taken_folder(npz, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["scale", "--preset", "cpu", "--arch", "vgg16", "--width", str(TINY), "--data-root", str(npz),
            "--n-data", "20", "--max-steps", "2", "--telemetry-every", "2", "--k", "2",
            "--slq-vectors", "0", "--dtype", "float64", "--device", "cpu", "--checkpoint-every", "1",
            "--no-figures", "--no-progress", "--out", str(out)]
    assert simlab_main(args) == 0 and (out / "summary.json").exists()
    capsys.readouterr()
    assert simlab_main(args) == 2  # a complete record: --resume or --overwrite
    err = capsys.readouterr().err.strip()
    assert "already holds a complete record" in err and len(err.splitlines()) == 1
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('x')",))

    torch.save({"format": 2, "theta": Payload()}, out / "checkpoints" / "state.pt")
    # a complete record is not resumed at all (left untouched), so make it unfinished
    assert simlab_main(args + ["--resume"]) == 0 and not marker.exists()
    assert "left untouched" in capsys.readouterr().err
    (out / "summary.json").unlink()
    assert simlab_main(args + ["--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert not marker.exists() and "state.pt" in err and len(err.splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("crash", ["step:2", "telemetry:4", "step:7", "write:summary.json"])
def test_scale_killed_and_resumed_gives_the_uninterrupted_record(npz, tmp_path, crash):
    """Real processes SIGKILLed before the first checkpoint, while measuring, between checkpoints
    and while writing the summary: --resume gives the uninterrupted record (HVP count included)."""
    import os
    import signal

    from simlab.record import CRASH_ENV

    def scale(out, *extra, crash=None):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        env.pop(CRASH_ENV, None)
        if crash:
            env[CRASH_ENV] = crash
        cmd = [sys.executable, "-m", "simlab", "scale", "--preset", "cpu", "--arch", "vgg16",
               "--width", str(TINY), "--data-root", str(npz), "--n-data", "20", "--max-steps", "8",
               "--telemetry-every", "2", "--k", "2", "--slq-vectors", "1", "--slq-steps", "4",
               "--dtype", "float64", "--device", "cpu", "--checkpoint-every", "3", "--no-figures",
               "--no-progress", "--out", str(out), *extra]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)

    wall = CLOCK_KEYS

    def record(out):
        tele = [{k: v for k, v in json.loads(l).items() if k not in wall}
                for l in (out / "telemetry.jsonl").read_text().splitlines()]
        s = json.loads((out / "summary.json").read_text())
        return (tele, {k: v for k, v in s.items() if k not in wall},
                (out / "arrays.npz").read_bytes(), (out / "weights.pt").read_bytes())

    assert scale(tmp_path / "whole").returncode == 0
    r = scale(tmp_path / "cut", crash=crash)
    assert r.returncode == -signal.SIGKILL, r.stderr
    r = scale(tmp_path / "cut", "--resume")
    assert r.returncode == 0, r.stderr
    want, got = record(tmp_path / "whole"), record(tmp_path / "cut")
    for a, b, what in zip(got, want, ("telemetry", "summary", "arrays", "weights")):
        assert a == b, (crash, what)


@pytest.mark.slow  # the dense H and G of the tiny AlexNet: minutes on 2 cores
def test_ggn_probe_at_scale_agrees_with_the_dense_gauss_newton_split(npz, tmp_path):
    """--ggn-every at scale: λ_1(H) and λ_1(G) by Lanczos on the matrix-free operators, whole and
    per layer, agree with the dense matrices of the same net at the same θ (K2 matrix-free)."""
    from simlab.gauss_newton import sharpness_parts

    cfg = tiny(npz, classes=3, n_data=8, k=2, lr=0.25, max_steps=4, ggn_every=4, width=1 / 64,
               arch="alexnet", slq_vectors=0)
    out = run_one(cfg, tmp_path / "run", progress=False)
    pts = [p for p in Record.load(out).telemetry if "ggn_ratio" in p]
    assert [p["step"] for p in pts] == [0, 4]
    land, _ = build_landscape(cfg, device="cpu")
    dense = sharpness_parts(land, land.theta0, method="dense")
    p0 = pts[0]
    assert p0["lambda_1_h"] == pytest.approx(dense["lambda_1_h"], rel=1e-5)
    assert p0["lambda_1_ggn"] == pytest.approx(dense["lambda_1_ggn"], rel=1e-5)
    assert list(p0["ggn_blocks"]) == list(dense["ggn_blocks"]) and len(p0["ggn_blocks"]) >= 4
    for layer, b in dense["ggn_blocks"].items():
        assert p0["ggn_blocks"][layer]["ggn"] == pytest.approx(b["ggn"], rel=1e-5, abs=1e-9)


def test_peak_snapshot_can_set_an_initial_spike_aside(tmp_path):
    """θ* for the cusp: the snapshot with the largest λ_1 — with cusp_skip the largest after that
    fraction of the run, so that a spike at iteration 1 (λ_1(θ_0) above every later peak, as the
    scale flows' seed 1) does not put the slice at θ_0."""
    from simlab.scale.run import peak_snapshot

    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    for s in range(0, 101, 10):
        (snaps / f"step_{s:07d}.pt").touch()
    lam = np.full(101, 100.0)
    lam[0], lam[1], lam[50] = 900.0, 1400.0, 500.0
    history = {"step": np.arange(101), "lambda_1": lam}
    assert peak_snapshot(snaps, history)[0] == 0
    assert peak_snapshot(snaps, history, 0.1)[0] == 50
    with pytest.raises(UsageError, match="--cusp-skip must be a fraction"):
        replace(preset("cpu"), cusp_skip=1.0).validate()
