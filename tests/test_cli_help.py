"""The CLIs' help and the small input cases of issue 18.

Help comes from one source, the config dataclass field's documentation (``option(default, help,
choices)``): every generated flag of toy and scale has a description, with its choices; toy and
scale spell the progress switch the same way; the scale help opens with plain text. The small
cases (duplicate or negative labels, fewer examples than classes, a name too long for the file
system, a pickled weights file) are one line and exit code 2.
"""

from __future__ import annotations

import dataclasses

import pytest

from simlab.cli import config_flags, main
from simlab.scale.cli import parser as scale_parser
from simlab.scale.config import ScaleConfig
from simlab.toy.cli import parser as toy_parser
from simlab.toy.run import ToyConfig
from simlab.trainer import TrainConfig


def config_actions(p):
    names = set(p.get_default("config_fields"))
    return {a.dest: a for a in p._actions if a.dest in names}


@pytest.mark.parametrize("cls", [ToyConfig, ScaleConfig, TrainConfig])
def test_every_config_field_is_documented(cls):
    """The documentation lives on the field: a field without it is a flag without help."""
    undocumented = [f.name for f in dataclasses.fields(cls)
                    if f.metadata.get("flag", True) and not f.metadata.get("help")]
    assert undocumented == []


@pytest.mark.parametrize("make", [toy_parser, scale_parser], ids=["toy", "scale"])
def test_every_generated_flag_has_its_fields_help_and_choices(make):
    p = make()
    actions = config_actions(p)
    cls = ToyConfig if "toy" in p.prog else ScaleConfig
    docs = {f.name: f.metadata for f in dataclasses.fields(cls)}
    assert len(actions) >= 40
    for dest, a in actions.items():
        assert a.help and docs[dest]["help"].replace("%", "%%") in a.help, dest
        if "choices" in docs[dest]:
            assert set(docs[dest]["choices"]) <= set(a.choices or ()), dest
    text = p.format_help()
    # nothing cut mid-sentence: the two toy fields whose source comment ran over two lines
    if cls is ToyConfig:
        joined = " ".join(text.split())
        assert "(0: at θ_0 and the end only)" in joined and "n² floats each)" in joined


def test_help_is_not_scraped_from_source_comments():
    import simlab.cli as cli

    assert not hasattr(cli, "field_comments")

    @dataclasses.dataclass
    class C:
        x: int = 1  # a source comment

    import argparse

    p = argparse.ArgumentParser()
    config_flags(p, C)
    (a,) = [a for a in p._actions if a.dest == "x"]
    assert not a.help


def test_choices_of_the_eigensolver_follow_the_regime():
    toy = config_actions(toy_parser())["eig_method"].choices
    scale = config_actions(scale_parser())["eig_method"].choices
    assert set(toy) == {"dense", "lanczos"} and set(scale) == {"lanczos", "power"}


def test_scale_help_opens_with_plain_text_and_the_presets_values():
    text = scale_parser().format_help()
    description = text.split("options:")[0]
    assert "``" not in description and ":class:" not in description
    lr = config_actions(scale_parser())["lr"].help
    assert "cpu: 0.005" in lr and "paper: 0.001" in lr


@pytest.mark.parametrize("make", [toy_parser, scale_parser], ids=["toy", "scale"])
def test_one_spelling_for_no_progress(make):
    p = make()
    shown = p.format_help()
    assert "--no-progress" in shown and "--quiet" not in shown
    assert p.parse_args(["--quiet"]).no_progress is True  # the old toy spelling, hidden
    assert p.parse_args(["--no-progress"]).no_progress is True


def test_toy_help_lists_each_experiment_once():
    (a,) = [a for a in toy_parser()._actions if a.dest == "experiment"]
    listed = a.help.split("(", 1)[1].rstrip(")").split(", ")
    assert len(listed) == len(set(listed)) and "sagun_width" in listed and "lr_sweep" in listed
    assert not any(n.startswith("toy_") for n in listed)


def one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv,says", [
    (["--dataset", "digits", "--classes", "3,3,5"], "label 3 is given more than once"),
    (["--dataset", "digits", "--classes", "-1,2"], "label -1 is not a class of this dataset"),
    (["--dataset", "digits", "--classes=-1,2"], "label -1 is not a class of this dataset"),
    (["--dataset", "digits", "--classes", "0,12"], "label 12 is not a class of this dataset"),
    (["--dataset", "digits", "--n-data", "3"], "--n-data 3 is fewer examples than the 10 classes"),
    (["--dataset", "random", "--classes", "4", "--n-data", "3"], "fewer examples than the 4 classes"),
    (["--experiment", "width_sweep"], "the grid that writes them is sagun_width"),
])
def test_toy_small_cases_are_one_line(capsys, argv, says):
    assert says in one_line_error(capsys, ["toy", *argv, "--dry-run"])


def test_scale_takes_a_label_list_that_starts_with_a_minus(capsys):
    err = one_line_error(capsys, ["scale", "--preset", "cpu", "--classes", "-1,2", "--dry-run"])
    assert "label -1 is not a class" in err


def test_the_newton_schedule_is_refused_at_scale_and_on_a_large_toy_net(capsys, tmp_path):
    err = one_line_error(capsys, ["scale", "--preset", "cpu", "--schedule", "newton", "--dry-run"])
    assert "the toy regime's small nets only" in err
    err = one_line_error(capsys, ["toy", "--dataset", "blobs", "--hidden", "70", "--n-data", "20",
                                  "--schedule", "newton", "--steps", "1", "--no-full-spectra",
                                  "--out", str(tmp_path / "run")])
    assert "at most 5,000 parameters" in err
    assert not (tmp_path / "run").exists()  # refused before the plan, no partial record


@pytest.mark.parametrize("argv", [
    ["toy", "--steps", "1", "--dry-run", "--out"],
    ["scale", "--preset", "cpu", "--dry-run", "--out"],
    ["paper", "run", "--dry-run", "--runs"],
    ["claims"],
])
def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path, capsys, argv):
    long = tmp_path / ("a" * 300)
    err = one_line_error(capsys, [*argv, str(long)])
    assert "300 bytes long" in err and "shorter" in err
    assert len(err) < 400  # the path is shortened in the message


def test_a_pickled_weights_file_is_refused_without_torchs_advice(tmp_path):
    import torch

    from simlab.record import RecordError, load_tensor_file

    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"theta": torch.zeros(2), "x": Payload()}, tmp_path / "weights.pt")
    with pytest.raises(RecordError) as e:
        load_tensor_file(tmp_path / "weights.pt", "weights file")
    msg = str(e.value)
    assert "pickled object" in msg and "never runs pickled code" in msg
    assert "weights_only" not in msg and "\x1b" not in msg and "\n" not in msg


def test_a_reader_that_stops_early_gets_no_traceback():
    """`python -m simlab … | head -1`: the broken pipe ends the command quietly (exit 1; 0 if the
    listing fitted in the pipe before the reader left), never with a traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "simlab", "paper", "run", "--preset", "cpu",
                             "--dry-run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 1) and first.strip()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.mark.parametrize("cls", [ToyConfig, ScaleConfig])
def test_a_trainer_setting_means_the_same_in_every_regime(cls):
    """One meaning per field name: a regime's field named like a TrainConfig field carries
    TrainConfig's documentation (only its default and a narrower set of choices differ)."""
    train = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert issubclass(cls, TrainConfig)  # inherited, not copied: a new trainer field is theirs
    shared = [f for f in dataclasses.fields(cls) if f.name in train]
    assert [f.name for f in shared] == list(train)
    for f in shared:
        assert f.metadata["help"] == train[f.name].metadata["help"], f.name
        assert set(f.metadata.get("choices", ())) <= set(train[f.name].metadata.get("choices", ())), f.name


def test_experiment_means_the_same_in_both_regimes():
    """``experiment`` is the experiment a run belongs to in every config; the scale regime only
    adds how its command expands one into runs."""
    from simlab.options import EXPERIMENT_HELP

    for cls in (ToyConfig, ScaleConfig):
        assert cls.__dataclass_fields__["experiment"].metadata["help"].startswith(EXPERIMENT_HELP)


def test_the_toy_hands_the_trainer_its_settings_by_name():
    """ToyConfig.train_config passes every trainer setting through unchanged, resolving only
    the four the toy derives (cadence, checkpoints, dense-spectrum snapshots, loss fraction)."""
    cfg = ToyConfig(lr=0.02, max_steps=8000, schedule="stable", stable_after=7, k=5, eig_tol=1e-6,
                    target_accuracy=0.9, dense_every=50, loss_fraction=0.5, target_loss=0.1)
    tc = cfg.train_config(loss0=1.0)
    derived = {"telemetry_every", "checkpoint_every", "snapshot_every", "target_loss"}
    for f in dataclasses.fields(TrainConfig):
        if f.name in ToyConfig.__dataclass_fields__ and f.name not in derived:
            assert getattr(tc, f.name) == getattr(cfg, f.name), f.name
    assert tc.telemetry_every == tc.checkpoint_every == cfg.cadence() == 8000 // 40
    assert TrainConfig(lr=0.02).cadence() == 50  # the trainer's default: round(1/η)
    assert (tc.snapshot_every, tc.target_loss) == (50, 0.5)
    assert TrainConfig(lr=0.1, checkpoint_every=None).checkpoints() == 10
