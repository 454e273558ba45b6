"""The typed telemetry point: its JSON form is the dict measure returned before it was typed
(same keys, same order, same floats), every field is documented once, and the record checker
takes its types from that one declaration."""

import dataclasses
import json
import math

import pytest
import torch

from conftest import make_landscape, random_theta
from simlab import point as pt
from simlab.operators import DenseOperator
from simlab.point import Point, Stamp, line
from simlab.record import RecordError, RecordWriter, read_jsonl, to_jsonable
from simlab.record_schema import _TELEMETRY_FIELDS, check_point
from simlab.spectrum import spectrum_stats
from simlab.telemetry import _safe_inv, measure, projections
from simlab.trainer import Probe, TrainConfig, train

LR = 0.37


@pytest.fixture(scope="module")
def tiny():
    ls = make_landscape((5,), activation="tanh", loss="ce", n_data=15, n_classes=3, seed=2)
    return ls, random_theta(ls, 3)


def old_dict(ls, theta, lr, eig, *, dense: bool) -> dict:
    """The point as measure built it before the Point type (the same expressions, in order),
    from the eigenpairs the measurement found."""
    loss, g = ls.loss_grad(theta)
    lam = eig.eigenvalues
    n_top = min(2, int(eig.eigenvectors.shape[1]))
    d, p_top, p_bulk = projections(g, eig.eigenvectors.to(g.dtype), n_top)
    point = {
        "loss": loss,
        "accuracy": ls.accuracy(theta),
        "grad_norm": float(torch.linalg.vector_norm(g)),
        "theta_norm": float(torch.linalg.vector_norm(theta)),
        "eigenvalues": lam.tolist(),
        "eta_star": [_safe_inv(x) for x in lam],
        "rho": [lr * x / 2 for x in lam],
        "d": d.cpu().tolist(),
        "n_top": n_top,
        "p_top_norm": float(torch.linalg.vector_norm(p_top)),
        "p_bulk_norm": float(torch.linalg.vector_norm(p_bulk)),
        "dl_top": ls.loss(theta - lr * p_top) - loss,
        "dl_bulk": ls.loss(theta - lr * p_bulk) - loss,
        "n_matvecs": eig.n_matvecs,
        "residuals": eig.residuals.tolist(),
    }
    if dense:
        point.update(spectrum_stats(eig.spectrum, n_classes=3, eps=1e-3))
    return point


@pytest.mark.parametrize("dense", [False, True])
def test_json_form_is_the_old_dict_byte_for_byte(tiny, dense):
    ls, theta = tiny
    op = DenseOperator(ls.hessian(theta)) if dense else None
    point, eig = measure(ls, theta, lr=LR, k=5, operator=op, method="dense" if dense else "lanczos",
                         tol=1e-10)
    old = old_dict(ls, theta, LR, eig, dense=dense)
    assert json.dumps(point.to_json()) == json.dumps(old)          # keys, order and floats
    assert json.dumps(to_jsonable(point)) == json.dumps(old)       # as RecordWriter writes it
    assert list(point) == list(old) and len(point) == len(old) == (23 if dense else 15)
    assert point == old and dict(point) == old and {**point} == old
    assert point["rho"] == old["rho"] and point.rho is point["rho"]
    assert point["n_top"] == point.n_top == 2
    if dense:
        assert point.lambda_max == old["lambda_max"] == max(old["eigenvalues"])
    else:  # no full spectrum: the statistics are absent, not null
        assert "lambda_max" not in point and point.get("lambda_max") is None
        assert point.lambda_max is None
        with pytest.raises(KeyError):
            point["lambda_max"]


def test_a_point_is_read_only(tiny):
    ls, theta = tiny
    point, _ = measure(ls, theta, lr=LR, k=2)
    with pytest.raises(TypeError):
        point["loss"] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.loss = 0.0
    with pytest.raises(KeyError):
        point["step"]  # the stamp is the trainer's, not the point's


def test_the_trainer_writes_stamp_point_probes_wall_time_in_that_order(tmp_path):
    ls = make_landscape((4,), n_data=12, n_classes=3, seed=1)
    cfg = TrainConfig(lr=0.5, max_steps=4, telemetry_every=2, k=3, eig_tol=1e-8)
    rows = []
    probe = Probe(2, lambda theta, step, land: {"probe_norm": float(theta.norm()), "probe_step": step})
    train(ls, cfg, RecordWriter(tmp_path, cfg), probes=[probe], progress=False,
          on_point=lambda row, eig: rows.append(row))
    written = read_jsonl(tmp_path / "telemetry.jsonl")
    assert [r["step"] for r in written] == [0, 2, 4]
    point_keys = [f.name for f in dataclasses.fields(Point) if not f.metadata["optional"]]
    for row, w in zip(rows, written, strict=True):
        assert list(w) == ["step", "t", "lr", *point_keys, "probe_norm", "probe_step", "wall_time"]
        assert json.dumps(row) == json.dumps(w)  # on_point gets the line written, as written
        assert w["t"] == pytest.approx(0.5 * w["step"]) and w["lr"] == 0.5
        assert w["probe_step"] == w["step"] and w["rho"] == [0.5 * x / 2 for x in w["eigenvalues"]]


def test_line_puts_probe_fields_after_the_point_and_lets_them_replace_in_place():
    p = Point(loss=1.0, accuracy=0.5, grad_norm=2.0, theta_norm=3.0, eigenvalues=[4.0],
              eta_star=[0.5], rho=[0.2], d=[1.0], n_top=1, p_top_norm=1.0, p_bulk_norm=1.0,
              dl_top=-0.1, dl_bulk=-0.2, n_matvecs=7, residuals=[math.nan])
    row = line(Stamp(step=3, t=0.3, lr=0.1, wall_time=9.0), p, {"extra": 1, "loss": 5.0})
    assert list(row) == ["step", "t", "lr", *[k for k in p], "extra", "wall_time"]
    assert row["loss"] == 5.0 and row["wall_time"] == 9.0


def test_every_field_is_documented_once_and_typed():
    docs, types = pt.docs(), pt.json_types()
    assert list(docs) == list(types) == ["step", "t", "lr", "wall_time",
                                         *[f.name for f in dataclasses.fields(Point)]]
    assert all(len(text) > 10 for text in docs.values())
    assert set(types.values()) == {"int", "float", "list[float]", "str"}


def test_the_record_checker_reads_the_types_from_the_point(tmp_path):
    """One declaration: every field of the stamp and the point is checked with its type, e.g.
    negative_fraction, which the hand-kept table of before did not name."""
    kinds = {"int": "an integer", "float": "a number", "list[float]": "a list of numbers",
             "str": "a string"}
    for name, tp in pt.json_types().items():
        assert _TELEMETRY_FIELDS[name] == kinds[tp], name
    check_point({"negative_fraction": 0.25, "n_top": 2, "rho": [1.0, None]}, tmp_path, 1)
    for bad in ({"negative_fraction": "x"}, {"n_top": 1.5}, {"rho": "1"}, {"step": [0]}):
        with pytest.raises(RecordError, match=f"field {next(iter(bad))} is"):
            check_point(bad, tmp_path, 1)
