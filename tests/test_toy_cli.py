"""The toy command end to end: record contents, summary numbers, figures, and bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from simlab.cli import main
from simlab.record import Record

SUMMARY_KEYS = {"n_params", "eigenvalues", "eigenvalues_init", "final_loss", "final_grad_norm",
                "near_zero_fraction", "outlier_count", "lambda_min", "lambda_max", "dataset",
                "n_data", "n_classes"}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy") / "run"
    rc = main(["toy", "--hidden", "4", "--n-data", "200", "--steps", "60", "--lr", "0.2",
               "--out", str(out), "--quiet"])
    assert rc == 0
    return out


def test_summary_has_the_promised_numbers(toy_run):
    s = json.loads((toy_run / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(s)
    assert s["n_params"] == 4 * 4 + 6 * 4 + 2 == len(s["eigenvalues"]) == len(s["eigenvalues_init"])
    lam = np.array(s["eigenvalues"])
    assert np.all(np.diff(lam) >= 0)  # ascending
    assert s["lambda_min"] == pytest.approx(lam[0]) and s["lambda_max"] == pytest.approx(lam[-1])
    assert s["near_zero_fraction"] == pytest.approx(np.mean(np.abs(lam) <= 1e-3 * lam[-1]))
    assert (s["dataset"], s["n_data"], s["n_classes"]) == ("blobs", 200, 2)
    assert s["steps"] == 60 and s["stop_reason"] == "max_steps"
    assert s["final_loss"] < json.loads((toy_run / "telemetry.jsonl").read_text().splitlines()[0])["loss"]


def test_record_matches_the_exact_hessian(toy_run):
    rec = Record.load(toy_run)
    arr = rec.arrays()
    H = arr["hessian"]
    assert np.allclose(H, H.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(H), rec.summary["eigenvalues"], atol=1e-12)
    last = rec.telemetry[-1]
    assert last["step"] == 60
    np.testing.assert_allclose(last["eigenvalues"][:5], np.sort(rec.summary["eigenvalues"])[::-1][:5],
                               rtol=1e-10)
    assert rec.doc["regime"] == "toy" and rec.doc["experiment"] == "toy"
    assert rec.doc["data"]["name"] == "blobs" and "torch" in rec.doc["environment"]
    assert rec.config["hidden"] == 4 and rec.config["seed"] == 0
    # GD history: one entry per iteration, loss non-increasing on average
    assert len(arr["history_loss"]) == 61


def test_figures_written(toy_run):
    for name in ("spectrum_before_after.png", "hessian_heatmap.png"):
        assert (toy_run / name).stat().st_size > 10_000


def test_same_config_same_numbers(toy_run, tmp_path):
    out = tmp_path / "again"
    assert main(["toy", "--hidden", "4", "--n-data", "200", "--steps", "60", "--lr", "0.2",
                 "--out", str(out), "--quiet", "--no-figures"]) == 0
    a = json.loads((toy_run / "summary.json").read_text())
    b = json.loads((out / "summary.json").read_text())
    assert a["eigenvalues"] == b["eigenvalues"] and a["final_loss"] == b["final_loss"]


@pytest.mark.parametrize("args, words", [
    (["--hidden", "0"], "--hidden"),
    (["--lr", "-1"], "--lr"),
    (["--dataset", "imagenet"], "invalid choice"),
    (["--dataset", "digits", "--n-data", "5000"], "1797"),
    (["--dataset", "mnist", "--data-root", "/nonexistent/simlab"], "--data-root"),
    (["--std", "0"], "--std"),
])
def test_bad_input_exits_2_with_one_line(args, words, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        code = main(["toy", *args, "--out", str(tmp_path / "x"), "--quiet"])
        raise SystemExit(code)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
    assert not (tmp_path / "x" / "summary.json").exists()


def test_bad_input_from_the_shell_has_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "simlab", "toy", "--hidden", "-3"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and p.stderr.strip().count("\n") == 0
    assert "positive" in p.stderr


def test_unknown_command(capsys):
    assert main(["nonsense"]) == 2
    assert "unknown command" in capsys.readouterr().err
