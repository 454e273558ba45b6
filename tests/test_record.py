"""Record: what is written is what is read back; crashes mid-write are detected, never used."""

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from simlab.record import (Record, RecordError, RecordWriter, find_records, read_jsonl,
                           to_jsonable, write_json, write_npz)


@dataclass(frozen=True)
class Cfg:
    lr: float = 0.1
    widths: tuple = (4, 5)
    name: str = "toy"
    limit: float | None = None


def points(n):
    return [{"step": i, "loss": 1.0 / (i + 1), "eigenvalues": [3.0 - i, 1.5], "d": [np.float64(0.25), -1e-300],
             "eta_star": [math.inf, 0.5], "rho": [float("nan")]} for i in range(n)]


def write_run(path, n=3):
    w = RecordWriter(path, Cfg(), meta={"regime": "toy", "experiment": "unit",
                                        "data": {"name": "blobs", "n_data": 10, "n_classes": 2,
                                                 "classes": [0, 1], "source": "synthetic"}})
    for p in points(n):
        w.append(p)
    return w


def no_temp_files(path):
    return not [p for p in path.rglob("*") if p.name.endswith(".tmp")]


def test_round_trip(tmp_path):
    run = tmp_path / "run"
    w = write_run(run, n=4)
    spectrum = np.linspace(-1, 5, 7)
    w.save_arrays({"eigenvalues": spectrum})
    w.save_arrays({"eigenvalues_init": spectrum[::-1].copy()})  # merged, not replaced
    theta = torch.linspace(0, 1, 11, dtype=torch.float64)
    w.save_weights(theta)
    w.write_summary({"n_params": 11, "final_loss": np.float32(0.5), "eigenvalues": spectrum,
                     "t": torch.tensor(2.5)})
    rec = Record.load(run)
    assert rec.name == "run"
    assert rec.config == {"lr": 0.1, "widths": [4, 5], "name": "toy", "limit": None}
    assert rec.doc["regime"] == "toy" and rec.doc["experiment"] == "unit"
    assert rec.doc["data"]["n_classes"] == 2
    assert {"torch", "numpy", "python", "git_commit", "simlab"} <= set(rec.doc["environment"])
    assert len(rec.telemetry) == 4
    for got, want in zip(rec.telemetry, points(4)):
        assert got["step"] == want["step"] and got["loss"] == want["loss"]
        assert got["eigenvalues"] == want["eigenvalues"] and got["d"] == [0.25, -1e-300]
        assert got["eta_star"][0] == math.inf and math.isnan(got["rho"][0])
    assert rec.series("step") == [0, 1, 2, 3] and rec.series("missing") == [None] * 4
    arrays = rec.arrays()
    assert set(arrays) == {"eigenvalues", "eigenvalues_init"}
    np.testing.assert_array_equal(arrays["eigenvalues"], spectrum)
    np.testing.assert_array_equal(arrays["eigenvalues_init"], spectrum[::-1])
    assert torch.equal(rec.weights(), theta) and rec.weights().dtype == torch.float64
    assert rec.summary == {"n_params": 11, "final_loss": 0.5, "eigenvalues": spectrum.tolist(), "t": 2.5}
    assert no_temp_files(run)


def test_unfinished_run_has_no_summary_and_empty_arrays(tmp_path):
    write_run(tmp_path / "r", n=0)
    rec = Record.load(tmp_path / "r")
    assert rec.summary is None and rec.telemetry == [] and rec.arrays() == {}


def test_truncated_last_line_is_detected_and_can_be_dropped(tmp_path):
    run = tmp_path / "run"
    write_run(run, n=3)
    tele = run / "telemetry.jsonl"
    full = tele.read_text()
    with open(tele, "a") as f:  # a crash half-way through appending the fourth point
        f.write(json.dumps(points(4)[3])[:20])
    with pytest.raises(RecordError, match="truncated"):
        Record.load(run)
    rec = Record.load(run, drop_truncated=True)
    assert [p["step"] for p in rec.telemetry] == [0, 1, 2]
    # a complete-looking line that is cut inside the JSON but ends with a newline is corrupt too
    tele.write_text(full + '{"step": 3, "loss"\n')
    with pytest.raises(RecordError):
        Record.load(run)
    assert [p["step"] for p in Record.load(run, drop_truncated=True).telemetry] == [0, 1, 2]
    # corruption in the middle is never dropped silently
    lines = full.splitlines(keepends=True)
    tele.write_text(lines[0] + "{oops\n" + lines[2])
    with pytest.raises(RecordError, match="line 2"):
        Record.load(run, drop_truncated=True)


def test_truncate_telemetry_keeps_complete_points(tmp_path):
    run = tmp_path / "run"
    w = write_run(run, n=5)
    with open(run / "telemetry.jsonl", "a") as f:
        f.write('{"step": 5, "lo')
    w.truncate_telemetry(2)
    assert [p["step"] for p in read_jsonl(run / "telemetry.jsonl")] == [0, 1]
    assert no_temp_files(run)


def test_resume_keeps_config_and_a_fresh_writer_starts_empty(tmp_path):
    run = tmp_path / "run"
    write_run(run, n=2)
    before = (run / "config.json").read_text()
    RecordWriter(run, Cfg(lr=9.0), resume=True)  # resuming does not overwrite
    assert (run / "config.json").read_text() == before and len(Record.load(run).telemetry) == 2
    RecordWriter(run, Cfg(lr=9.0))  # a fresh run in the same folder starts over
    rec = Record.load(run)
    assert rec.config["lr"] == 9.0 and rec.telemetry == []


def test_atomic_writes_leave_no_temp_files_even_on_failure(tmp_path):
    write_json(tmp_path / "a.json", {"x": np.arange(3), "y": (1, 2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": [0, 1, 2], "y": [1, 2]}
    write_npz(tmp_path / "b.npz", {"z": np.eye(2)})
    with np.load(tmp_path / "b.npz") as f:
        np.testing.assert_array_equal(f["z"], np.eye(2))

    class Boom:
        pass

    with pytest.raises(TypeError):  # not JSON-serialisable: the old file must survive intact
        write_json(tmp_path / "a.json", {"bad": Boom()})
    assert json.loads((tmp_path / "a.json").read_text())["x"] == [0, 1, 2]
    assert no_temp_files(tmp_path) and sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.npz"]


def test_to_jsonable():
    out = to_jsonable({"a": np.int64(3), "b": np.array([[1.5]]), "c": torch.tensor([1, 2]),
                       "d": torch.float64, "e": Cfg(), 7: (np.float32(0.5),)})
    assert out == {"a": 3, "b": [[1.5]], "c": [1, 2], "d": "torch.float64",
                   "e": {"lr": 0.1, "widths": [4, 5], "name": "toy", "limit": None}, "7": [0.5]}
    json.dumps(out)


def test_find_records(tmp_path):
    for name in ("b", "a", "nested/c"):
        write_run(tmp_path / "runs" / name, n=1)
    (tmp_path / "runs" / "not_a_run").mkdir()
    found = find_records([tmp_path / "runs"])
    assert [p.relative_to(tmp_path / "runs").as_posix() for p in found] == ["a", "b", "nested/c"]
    assert find_records([tmp_path / "runs" / "a"]) == [tmp_path / "runs" / "a"]
    with pytest.raises(RecordError):
        find_records([tmp_path / "nowhere"])
    with pytest.raises(RecordError, match="not a simlab record"):
        Record.load(tmp_path / "runs" / "not_a_run")


@pytest.mark.parametrize("name, content, fragment", [
    ("config.json", b"{not json", "not readable JSON"),
    ("config.json", b"[1, 2]", "JSON list, not an object"),
    ("config.json", b'{"config": 3}', '"config" is not an object'),
    ("summary.json", b"\x00\xff garbage", "not readable"),
    ("summary.json", b'"a string"', "JSON str, not an object"),
    ("telemetry.jsonl", b'{"step": 0}\n[1]\n', "line 2 is a JSON list"),
])
def test_corrupt_files_are_one_line_errors_naming_the_file(tmp_path, name, content, fragment):
    run = tmp_path / "run"
    write_run(run, n=2).write_summary({"ok": 1})
    (run / name).write_bytes(content)
    with pytest.raises(RecordError, match=fragment) as e:
        Record.load(run)
    assert str(run / name) in str(e.value) and "\n" not in str(e.value)


def test_truncated_arrays_and_weights_name_the_file(tmp_path):
    run = tmp_path / "run"
    w = write_run(run, n=1)
    w.save_arrays({"a": np.arange(1000.0)})
    w.save_weights(torch.arange(1000.0))
    for name, read in (("arrays.npz", lambda r: r.arrays()), ("weights.pt", lambda r: r.weights())):
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[:len(data) // 2])
        with pytest.raises(RecordError, match=name) as e:
            read(Record.load(run))
        assert "\n" not in str(e.value) and "allow_pickle" not in str(e.value)
    # a pickled object array is refused, not loaded
    np.save(run / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(RecordError):
        Record.load(run).arrays("x.npy")


def test_a_truncated_last_line_goes_to_the_warning_callback(tmp_path):
    run = tmp_path / "run"
    write_run(run, n=3)
    with open(run / "telemetry.jsonl", "a") as f:
        f.write('{"step": 3, "lo')
    told = []
    rec = Record.load(run, warn=told.append)
    assert [p["step"] for p in rec.telemetry] == [0, 1, 2] and len(told) == 1
    assert "telemetry.jsonl" in told[0] and "truncated" in told[0]
    told.clear()
    Record.load(tmp_path / "run", warn=told.append)
    (run / "telemetry.jsonl").write_text('{"step": 0}\n{oops\n{"step": 2}\n')
    with pytest.raises(RecordError, match="line 2"):  # mid-file corruption is never a warning
        Record.load(run, warn=told.append)


def test_npz_bytes_are_deterministic_and_output_folders_checked(tmp_path):
    write_npz(tmp_path / "a.npz", {"x": np.arange(5.0), "y": np.eye(2)})
    import time
    time.sleep(1.1)
    write_npz(tmp_path / "b.npz", {"x": np.arange(5.0), "y": np.eye(2)})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    from simlab.errors import UsageError
    from simlab.record import prepare_out

    with pytest.raises(UsageError, match="is a file"):
        prepare_out(tmp_path / "a.npz")
    with pytest.raises(UsageError, match="is a file"):
        prepare_out(tmp_path / "a.npz" / "sub")
    with pytest.raises(UsageError, match="exclude each other"):
        prepare_out(tmp_path / "new", resume=True, overwrite=True)
    write_run(tmp_path / "run", n=1)
    (tmp_path / "run" / "checkpoints").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="unfinished run"):
        prepare_out(tmp_path / "run")
    prepare_out(tmp_path / "run", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["keep.txt"]


def test_a_field_added_to_the_config_since_at_its_default_is_no_difference():
    """A partial run written before its config gained a field resumes when the field holds its
    default (the record was made with what the default does), and not when it does not."""
    from dataclasses import dataclass, replace

    from simlab.record import config_diff

    @dataclass(frozen=True)
    class Cfg:
        lr: float = 0.1
        new_knob: float = 0.0

    old = {"lr": 0.1}
    assert config_diff(old, Cfg()) == []
    assert config_diff(old, replace(Cfg(), new_knob=0.5)) == ["new_knob"]
    assert config_diff(old, Cfg(lr=0.2)) == ["lr"]
    assert config_diff({"lr": 0.1, "gone": 1}, Cfg()) == ["gone"]
