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


# ----------------------------------------------------------------- flags generated from the config


def test_every_config_field_is_a_flag():
    from dataclasses import fields

    from simlab.scale.cli import parser as scale_parser
    from simlab.scale.config import ScaleConfig
    from simlab.toy.cli import parser as toy_parser
    from simlab.toy.run import ToyConfig

    for p, cls, skip in [(toy_parser(), ToyConfig, {"experiment"}), (scale_parser(), ScaleConfig, {"preset"})]:
        flags = {o for a in p._actions for o in a.option_strings}
        missing = [f.name for f in fields(cls) if f.name not in skip and "--" + f.name.replace("_", "-") not in flags]
        assert missing == []


def test_a_new_field_is_a_new_flag_with_its_type_help_and_choices():
    import argparse
    from dataclasses import dataclass, field

    from simlab.cli import ArgumentParser, config_flags, given

    @dataclass(frozen=True)
    class C:
        rate: float = field(default=0.1, metadata={"help": "the rate"})
        steps: int | None = None  # a comment is not help: the field's documentation is
        labels: int | tuple[int, ...] | None = None
        sizes: tuple[int, ...] = (1, 2)
        mode: str = field(default="a", metadata={"help": "which mode", "choices": ("a", "b")})
        fast: bool = False
        hidden: int = field(default=0, metadata={"flag": False})

    p = ArgumentParser(prog="t")
    names = config_flags(p, C)
    assert names == ["rate", "steps", "labels", "sizes", "mode", "fast"]
    a = p.parse_args(["--rate", "2", "--labels", "0,3", "--sizes", "4,5", "--mode", "b", "--fast"])
    assert given(a, names) == {"rate": 2.0, "labels": (0, 3), "sizes": (4, 5), "mode": "b", "fast": True}
    assert given(p.parse_args(["--labels", "3"]), names) == {"labels": 3}
    helps = {a.dest: a.help for a in p._actions}
    assert helps["rate"] == "the rate" and helps["mode"] == "which mode"
    assert "comment" not in (helps["steps"] or "")
    for bad in (["--steps", "1.5"], ["--mode", "c"], ["--sizes", ","], ["--hidden", "1"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    assert isinstance(p, argparse.ArgumentParser)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["toy", "--dataset", "cifar8", "--hidden", "16", "--activation", "tanh",
                 "--dry-run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "192-16-16-10" in text and "3,530 parameters" in text and "estimated cost" in text
    assert not out.exists()


def test_scale_preset_follows_the_device(monkeypatch, capsys):
    import torch

    from simlab.scale import cli as scale_cli

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert scale_cli.default_preset(None) == "cpu" and scale_cli.default_preset("auto") == "cpu"
    assert main(["scale", "--dry-run"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("preset cpu") and "no CUDA device" in first
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert scale_cli.default_preset(None) == "paper" and scale_cli.default_preset("cpu") == "cpu"


def test_scale_plan_states_size_and_cost(capsys):
    assert main(["scale", "--preset", "paper", "--device", "cpu", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "35,855,178 parameters" in text and "40,000 iterations" in text and "years" in text


def test_optional_fields_take_none_and_switches_take_no():
    """`--x none` sets an optional field to None (not 'not given'); `--no-x` switches a bool off."""
    from simlab.toy.cli import config_from_args, parser
    from simlab.toy.run import ToyConfig

    assert ToyConfig().grad_tol is not None  # so that 'none' is a change
    cfg = config_from_args(parser().parse_args(["--grad-tol", "none", "--no-standardise"]))
    assert cfg.grad_tol is None and cfg.standardise is False
    cfg = config_from_args(parser().parse_args(["--grad-tol", "2e-4", "--standardise"]))
    assert cfg.grad_tol == 2e-4 and cfg.standardise is True
    assert config_from_args(parser().parse_args([])).grad_tol == ToyConfig().grad_tol
