"""simlab.run: a user's own model and data trained into a complete record that the claims read,
and the README's "Your own model" examples (training into a record, the edge monitor) run exactly
as written."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import simlab
from simlab.claims.verdict import STATUSES
from simlab.cli import main
from simlab.landscape import Landscape
from simlab.record import Record

from conftest import README
from conftest import readme_block as _block


def readme_block(heading: str) -> str:
    return _block(f"### {heading}")


def run_block(code: str, cwd: Path, monkeypatch) -> tuple[dict, str]:
    monkeypatch.chdir(cwd)
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), ns)
    return ns, out.getvalue()


def tiny(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 6, generator=g)
    y = torch.randint(0, 3, (40,), generator=g)
    return model, X, y


def test_run_writes_a_complete_record_of_plain_gd(tmp_path):
    model, X, y = tiny()
    before = [p.detach().clone() for p in model.parameters()]
    lr, steps = 0.5, 12
    rec = simlab.run(model, X, y, out=tmp_path / "r", lr=lr, max_steps=steps, telemetry_every=4,
                     k=3, seed=7, data_name="gauss", progress=False)
    # the caller's model is untouched (dtype and values)
    assert all(p.dtype == torch.float32 and torch.equal(p.detach(), b)
               for p, b in zip(model.parameters(), before))
    # the weights are full-batch GD's, written out by hand
    land = Landscape(copy.deepcopy(model), X, y, dtype=torch.float64)
    theta = land.theta0
    for _ in range(steps):
        theta = theta - lr * land.grad(theta)
    assert torch.allclose(rec.weights(), theta, rtol=0, atol=1e-12)
    doc, cfg, s = rec.doc, rec.config, rec.summary
    assert doc["regime"] == doc["experiment"] == "own" and doc["source"] == "simlab.run"
    assert doc["data"] == {"name": "gauss", "n_data": 40, "n_classes": 3, "input_shape": [6],
                           "input_dim": 6, "source": doc["data"]["source"]}
    assert doc["loss"]["name"] == "ce" and doc["loss"]["reduction"] == "mean"
    assert (cfg["n_data"], cfg["n_classes"], cfg["input_shape"], cfg["loss"], cfg["dtype"]) == \
        (40, 3, [6], "ce", "float64")
    assert cfg["lr"] == lr and cfg["k"] == 3 and cfg["seed"] == 7 and cfg["model"] == "Sequential"
    assert cfg["n_params"] == land.n_params == 6 * 8 + 8 + 8 * 3 + 3
    # summary: run_summary's validity and cost, and the headline numbers
    assert s["valid"] is True and s["stop_reason"] == "max_steps" and s["steps"] == steps
    assert s["total_hvps"] == sum(p["n_matvecs"] for p in rec.telemetry) > 0
    assert s["n_telemetry"] == len(rec.telemetry) == 4  # steps 0, 4, 8, 12
    assert s["final_loss"] == pytest.approx(land.loss(theta), rel=1e-12)
    assert s["theta_norm"] == pytest.approx(float(theta.norm()), rel=1e-12)
    assert s["max_rho_1"] == pytest.approx(max(p["rho"][0] for p in rec.telemetry))
    assert s["t"] == pytest.approx(steps * lr) and s["train_seconds"] > 0
    lam = np.linalg.eigvalsh(land.hessian(theta).numpy())[::-1][:3]
    np.testing.assert_allclose(rec.telemetry[-1]["eigenvalues"], lam, rtol=1e-3)
    assert Record.load(tmp_path / "r").summary == s


def test_run_refuses_bad_settings(tmp_path):
    model, X, y = tiny()
    with pytest.raises(ValueError, match="lr is required"):
        simlab.run(model, X, y, out=tmp_path / "a")
    with pytest.raises(ValueError, match="unknown training setting.*max_stepz"):
        simlab.run(model, X, y, out=tmp_path / "a", lr=0.1, max_stepz=3)
    with pytest.raises(ValueError, match="lr"):
        simlab.run(model, X, y, out=tmp_path / "a", lr=-1.0)
    simlab.run(model, X, y, out=tmp_path / "a", lr=0.1, max_steps=2, progress=False)
    with pytest.raises(ValueError, match="already holds a complete record"):
        simlab.run(model, X, y, out=tmp_path / "a", lr=0.1, max_steps=2, progress=False)
    cfg = simlab.TrainConfig(lr=0.2, max_steps=3, k=2)
    rec = simlab.run(model, X, y, out=tmp_path / "a", config=cfg, overwrite=True, progress=False)
    assert rec.config["lr"] == 0.2 and rec.summary["steps"] == 3


def _numbers(text: str) -> bool:
    return bool(re.search(r"\d", text))


def test_readme_own_model_example_runs_and_the_claims_give_verdicts(tmp_path, monkeypatch):
    ns, printed = run_block(readme_block("Training your own model into a record"), tmp_path,
                            monkeypatch)
    rec = ns["record"]
    s = rec.summary
    assert s["valid"] and s["stop_reason"] == "target_loss" and s["final_loss"] < 0.1
    assert s["max_rho_1"] > 1 and s["total_hvps"] > 0  # GD at η = 2 crosses the edge
    lines = printed.strip().splitlines()
    assert lines[0].startswith("target_loss") and [ln.split()[0] for ln in lines[1:]] == ["L1", "L6", "L7"]
    verdicts = {v.id: v for v in ns["evaluate"](ns["load_records"](["runs/own_mlp"]))}
    for cid in ("L1", "L6", "L7"):
        assert verdicts[cid].status in STATUSES and _numbers(verdicts[cid].reason), verdicts[cid]
        assert "own_mlp" in verdicts[cid].reason
    # the CLI reads the same record as a single "own" run: a column of its own, verdicts with reasons
    code = main(["claims", "runs/own_mlp", "--out", str(tmp_path / "claims")])
    assert code == 0
    table = json.loads((tmp_path / "claims" / "claims.json").read_text())["regimes"]
    assert list(table) == ["own"]
    by_id = {v["id"]: v for v in table["own"]}
    assert by_id["L6"]["runs"] == ["own_mlp"] and _numbers(by_id["L6"]["reason"])
    assert all(v["status"] in STATUSES for v in table["own"])
    # with one seed per setting judged, L6 is decided on this run's ΔL statistics
    code = main(["claims", "runs/own_mlp", "--out", str(tmp_path / "claims1"), "--only", "L6",
                 "--threshold", "min_seeds=1"])
    assert code == 0
    l6 = json.loads((tmp_path / "claims1" / "claims.json").read_text())["regimes"]["own"][0]
    assert l6["status"] in ("holds", "fails") and "ΔL_bulk" in l6["reason"]


def test_readme_monitor_example_runs(tmp_path, monkeypatch, capsys):
    ns, printed = run_block(readme_block("Is my own training on the edge? `EdgeMonitor`"), tmp_path,
                            monkeypatch)
    rows = printed.strip().splitlines()
    assert [int(r.split()[0]) for r in rows] == [0, 50, 100, 150]
    summary = ns["summary"]
    assert summary["n_telemetry"] == 4 and summary["n_c_minus_1"] == 9 and summary["valid"]
    assert "EdgeMonitor: 4 points" in capsys.readouterr().err
    rec = Record.load(tmp_path / "runs" / "monitor_sgd")
    assert rec.config["optimizer"] == "SGD" and rec.config["lr"] == pytest.approx(0.05 / 1.9)
    assert all(len(p["rho"]) == 10 for p in rec.telemetry)


def test_run_from_a_dataloader_with_a_criterion(tmp_path):
    """A DataLoader and a criterion callable give the record of tensors and "ce"."""
    model, X, y = tiny(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)
    kw = dict(lr=0.5, max_steps=5, telemetry_every=5, k=2, progress=False)
    a = simlab.run(model, X, y, out=tmp_path / "a", **kw)
    b = simlab.run(model, loader, out=tmp_path / "b", loss=nn.CrossEntropyLoss(), reduction="mean", **kw)
    assert torch.allclose(a.weights(), b.weights(), rtol=0, atol=1e-12)
    assert b.doc["loss"]["name"] == "callable" and b.doc["loss"]["reduction"] == "mean"
    assert "CrossEntropyLoss" in b.doc["loss"]["criterion"] and "DataLoader" in b.doc["data"]["source"]
    assert b.doc["data"]["input_shape"] == [6] and b.doc["data"]["n_data"] == 40
    np.testing.assert_allclose(b.telemetry[-1]["eigenvalues"], a.telemetry[-1]["eigenvalues"], rtol=1e-6)


def test_readme_torchvision_block_is_python_with_the_monitor_arguments():
    """The resnet18 / CIFAR-10 block is not run (minutes on a CPU); it parses, and every keyword
    it gives EdgeMonitor is one EdgeMonitor takes."""
    import ast
    import inspect

    code = readme_block("Is my own training on the edge? `EdgeMonitor`")
    text = README.read_text(encoding="utf-8")
    section = text.split("### Is my own training on the edge? `EdgeMonitor`", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", re.split(r"\n##+ ", section, maxsplit=1)[0], re.S)
    assert blocks[0] == code and len(blocks) == 2 and "resnet18" in blocks[1]
    tree = ast.parse(blocks[1])
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "EdgeMonitor"]
    params = inspect.signature(simlab.EdgeMonitor).parameters
    assert calls and all(k.arg in params for c in calls for k in c.keywords)
