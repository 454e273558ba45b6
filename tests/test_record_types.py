"""Records with fields of the wrong type, and unfinished records, as ``claims`` meets them.

A field the readers use with the wrong JSON type (``"lr": "fast"``) is one line naming the file,
the field and the value, exit code 2, from :meth:`Record.load` — never a traceback from deep in a
reader. A record without summary.json is an unfinished run: named in one warning line and left
out of the verdicts.
"""

from __future__ import annotations

import json

import pytest

from simlab.cli import main
from simlab.record import Record, RecordError, RecordWriter


def make_record(path, *, summary=True, lr=0.1):
    w = RecordWriter(path, {"dataset": "blobs", "lr": lr, "hidden": 4, "n_classes": 2, "seed": 0},
                     meta={"regime": "toy", "experiment": "toy", "data": {"name": "blobs", "n_data": 100,
                                                                           "n_classes": 2}})
    for i in range(5):
        w.append({"step": 10 * i, "t": 1.0 * i, "loss": 1.0 / (i + 1), "grad_norm": 0.5,
                  "theta_norm": 3.0, "rho": [0.5, 0.1], "eigenvalues": [10.0, 2.0]})
    if summary:
        w.write_summary({"valid": True, "steps": 40, "n_params": 30, "final_loss": 0.2,
                         "lambda_max": 10.0, "lambda_min": -0.01, "near_zero_fraction": 0.9,
                         "eigenvalues": [-0.01] + [0.0] * 27 + [2.0, 10.0], "n_classes": 2,
                         "stop_reason": "max_steps"})
    return path


def edit_json(path, key, value, *, under=None):
    doc = json.loads(path.read_text())
    (doc[under] if under else doc)[key] = value
    path.write_text(json.dumps(doc))


def claims(capsys, *argv):
    code = main(["claims", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_well_typed_record_is_judged(tmp_path, capsys):
    make_record(tmp_path / "runs" / "ok")
    code, out, err = claims(capsys, tmp_path / "runs", "--out", tmp_path / "claims")
    assert code == 0, err
    assert "Traceback" not in err
    assert json.loads((tmp_path / "claims" / "claims.json").read_text())["records"] == [
        str(tmp_path / "runs" / "ok")]


@pytest.mark.parametrize("file,field,value,under,shown", [
    ("config.json", "lr", "fast", "config", "config.lr is 'fast', not a number"),
    ("config.json", "hidden", 2.5, "config", "config.hidden is 2.5, not an integer or a list of integers"),
    ("config.json", "n_data", "all", "config", "config.n_data is 'all', not an integer"),
    ("config.json", "data", [1, 2], None, "data is [1, 2], not an object"),
    ("config.json", "experiment", 7, None, "experiment is 7, not a string"),
    ("summary.json", "lambda_max", "big", None, "lambda_max is 'big', not a number"),
    ("summary.json", "eigenvalues", [1.0, "x"], None, "eigenvalues is [1.0, 'x'], not a list of numbers"),
    ("summary.json", "valid", "yes", None, "valid is 'yes', not true or false"),
    ("summary.json", "steps", True, None, "steps is True, not an integer"),
])
def test_a_wrongly_typed_field_is_one_line_naming_file_and_field(tmp_path, capsys, file, field,
                                                                 value, under, shown):
    rec = make_record(tmp_path / "runs" / "bad")
    edit_json(rec / file, field, value, under=under)
    code, out, err = claims(capsys, tmp_path / "runs", "--out", tmp_path / "claims")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert str(rec / file) in err and shown in err
    assert "fix that value or rerun" in err
    assert not (tmp_path / "claims").exists()


@pytest.mark.parametrize("point,line,shown", [
    ({"step": "x", "loss": 0.1}, 3, "field step is 'x', not an integer"),
    ({"step": 20, "loss": "low"}, 3, "field loss is 'low', not a number"),
    ({"step": 20, "rho": "0.5"}, 3, "field rho is '0.5', not a list of numbers"),
])
def test_a_wrongly_typed_telemetry_field_names_its_line(tmp_path, capsys, point, line, shown):
    rec = make_record(tmp_path / "runs" / "bad")
    lines = (rec / "telemetry.jsonl").read_text().splitlines()
    lines[line - 1] = json.dumps(point)
    (rec / "telemetry.jsonl").write_text("\n".join(lines) + "\n")
    code, out, err = claims(capsys, tmp_path / "runs", "--out", tmp_path / "claims")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert f"{rec / 'telemetry.jsonl'}: line {line}: {shown}" in err


def test_null_nan_and_unknown_fields_are_accepted(tmp_path):
    """Absent or null means "not measured"; NaN is a diverged run's loss; fields no reader
    uses are not checked."""
    rec = make_record(tmp_path / "r")
    edit_json(rec / "summary.json", "final_loss", float("nan"))
    edit_json(rec / "summary.json", "lambda_min", None)
    edit_json(rec / "summary.json", "anything", "goes")
    edit_json(rec / "config.json", "classes", [0, 3, 7], under="config")
    r = Record.load(rec)
    assert r.summary["lambda_min"] is None and r.summary["anything"] == "goes"


def test_record_load_raises_record_error_for_the_api(tmp_path):
    rec = make_record(tmp_path / "r")
    edit_json(rec / "config.json", "lr", "fast", under="config")
    with pytest.raises(RecordError, match=r"config\.json: field config\.lr is 'fast'"):
        Record.load(rec)


def test_an_unfinished_record_is_named_and_left_out(tmp_path, capsys):
    make_record(tmp_path / "runs" / "done")
    make_record(tmp_path / "runs" / "running", summary=False)
    code, out, err = claims(capsys, tmp_path / "runs", "--out", tmp_path / "claims")
    assert code == 0, err
    warned = [l for l in err.splitlines() if "unfinished" in l]
    assert len(warned) == 1 and str(tmp_path / "runs" / "running") in warned[0]
    assert "summary.json" in warned[0]
    judged = json.loads((tmp_path / "claims" / "claims.json").read_text())["records"]
    assert judged == [str(tmp_path / "runs" / "done")]


def test_load_records_warns_without_a_callback(tmp_path):
    from simlab.claims import load_records

    make_record(tmp_path / "running", summary=False)
    with pytest.warns(UserWarning, match="unfinished run"):
        assert load_records([tmp_path]) == []
