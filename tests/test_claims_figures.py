"""Every figure's and table's number is the claims engine's number: Table 1 = L6's statistic,
the S8 table = S8's rows, the flow figure's fit = L8's, the report's edge table = readers.edge;
the report lists excluded runs, states ‖g‖, skips a figure with a reason, and its "What we
found" is built from the measured numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simlab import figures
from simlab.claims import Thresholds, evaluate, evaluate_claim, readers
from simlab.paper import report
from simlab.record import Record, RecordWriter

TH = Thresholds()


def write(root, name, experiment, *, regime="toy", telemetry=(), summary=None, **config):
    config.setdefault("n_classes", 3)
    config.setdefault("lr", 0.5)
    w = RecordWriter(root / name, config, meta={"regime": regime, "experiment": experiment,
                                                "data": {"name": "digits"}})
    for p in telemetry:
        w.append(p)
    w.write_summary({"steps": 40, "stop_reason": "max_steps", **(summary or {})})
    return Record.load(root / name)


def edge_tel(n=12, seed=0, nc_rho=0.1):
    rng = np.random.default_rng(seed)
    pts = [{"step": 0, "t": 0.0, "rho": [0.3, 0.2, 0.05], "dl_top": 1.0, "dl_bulk": 1.0,
            "theta_norm": 10.0, "p_top_norm": 1.0, "p_bulk_norm": 1.0, "grad_norm": 1.0}]
    for i in range(1, n):
        pts.append({"step": i, "t": 0.5 * i, "rho": [0.95, 0.8 + 0.05 * rng.random(), nc_rho],
                    "dl_top": float(rng.normal(0.0, 0.1)), "dl_bulk": float(rng.normal(-0.01, 0.001)),
                    "theta_norm": 10.0 + 0.01 * i, "p_top_norm": 2.0, "p_bulk_norm": 1.0,
                    "grad_norm": 0.5})
    return pts


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    rs = [write(root, f"lr{lr:g}", "lr_sweep", lr=lr, telemetry=edge_tel(seed=j, nc_rho=0.1 * lr),
                summary={"final_grad_norm": 0.5})
          for j, lr in enumerate((0.2, 0.4, 0.8))]
    rs.append(write(root, "off", "lr_sweep", lr=0.1, seed=1,
                    telemetry=[{"step": s, "t": 0.1 * s, "rho": [0.4, 0.3, 0.1]} for s in range(12)]))
    rs.append(write(root, "boom", "lr_sweep", lr=0.2, seed=2, telemetry=edge_tel()[:3],
                    summary={"stop_reason": "diverged", "steps": 2, "final_loss": float("inf")}))
    rs += [write(root, f"nc{nc}", "class_sweep", n_classes=nc, n_data=100 * nc,
                 telemetry=[{**p, "rho": [0.95] * (nc - 1) + [0.1, 0.05]} for p in edge_tel()],
                 summary={"eigenvalues": list(np.r_[np.zeros(20), 5.0 * np.ones(nc - 1)]),
                          "n_params": 19 + nc})
           for nc in (2, 3)]
    rs += [write(root, f"flow{n}", "gradient_flow", regime="scale", schedule="flow", n_data=n,
                 telemetry=[{"step": 0, "t": 0.0, "eigenvalues": [1.0]}],
                 summary={"peak_lambda_1": 2.0 * n + 3, "peak_step": 5, "steps": 40})
           for n in (16, 32, 48, 64)]
    return root, rs


def test_table1_is_L6s_statistic(runs, tmp_path):
    _, rs = runs
    v = evaluate_claim("L6", rs, TH)
    table_runs = [r for r in rs if r.name.startswith("lr0")]
    md = figures.table1(table_runs, TH)
    checked = 0
    for r in table_runs:
        if r.name not in v.statistic or v.statistic[r.name]["on_edge_points"] < 3:
            continue
        s = v.statistic[r.name]
        row = next(line for line in md.splitlines() if f"η={r.config['lr']:g} " in line)
        nums = [float(x) for x in re.findall(r"-?\d\.\d{3}e[+-]\d\d", row)][:4]
        assert nums == pytest.approx([s["mean_dl_top"], s["std_dl_top"], s["mean_dl_bulk"],
                                      s["std_dl_bulk"]], rel=1e-3)
        # ddof = 1, and only on-edge points (step 0's ΔL = 1 never enters)
        pts = readers.edge(r, TH).points
        assert s["std_dl_top"] == pytest.approx(np.std([p["dl_top"] for p in pts], ddof=1))
        checked += 1
    assert checked == 3


def test_s8_table_and_edge_table_are_the_engines(runs):
    _, rs = runs
    v = evaluate_claim("S8", rs, TH)
    for row in figures.s8_rows(rs, TH):
        mine = {k: row[k] for k in v.statistic[row["run"]]}
        assert mine == v.statistic[row["run"]]
    v1 = evaluate_claim("L1", rs, TH)
    (unit,) = [u for k, u in v1.statistic.items() if "lr=" in k]
    edge = {x["run"]: x for x in report.edge_rows(rs, TH)}
    assert unit["lr"] == 0.2 and unit["edge_counts"] == [edge["lr0.2"]["edge_count"]]
    assert edge["off"]["reached"] is False and edge["off"]["max_rho_1"] == pytest.approx(0.4)
    assert edge["boom"]["valid"] is False


def test_flow_figure_draws_L8s_fit(runs, tmp_path):
    _, rs = runs
    flow = [r for r in rs if readers.is_flow(r)]
    path, reading = figures.fig_flow(flow, tmp_path / "f.png", TH)
    (u,) = evaluate_claim("L8", flow, TH).statistic.values()
    assert path.exists() and f"slope {u['slope']:.3g}" in reading and u["slope"] == pytest.approx(2.0)


def test_report_lists_edges_exclusions_and_findings(runs, tmp_path):
    root, rs = runs
    out = tmp_path / "rep" / "report.md"
    report.write_report(root, out, tmp_path / "rep" / "figures")
    text = out.read_text()
    by = report.split(rs)
    for g in ("toy", "scale"):
        for v in evaluate(by[g], TH):
            assert re.search(rf"^\| {v.id} \| [^|]* \| ", text, re.M)
            line = next(x for x in text.splitlines() if x.startswith(f"| {v.id} | ") and x.count("|") == 5)
            assert line.split("|")[3 if g == "toy" else 4].strip() == v.status
    assert "## What we found" in text
    # Table 1 inline: the L6 numbers of a run that reached the edge
    s = evaluate_claim("L6", by["toy"], TH).statistic["lr0.4"]
    assert f"{s['mean_dl_top']:.3e} | {s['std_dl_top']:.3e}" in text
    # the sentence counts come from the records: 5 of 6 valid toy runs with ρ reached the edge
    assert "In the toy regime 5 of 6 valid runs of Lowell's protocol reached the edge" in text
    assert "`boom`: diverged at step 2 (loss=inf)" in text
    assert "L10 figure skipped: no continuation record" in text
    assert "| S1 | toy |" in text and "‖g‖" in text
    assert (tmp_path / "rep" / "figures" / "toy" / "fig1_rho_by_lr.png").exists()
    assert (tmp_path / "rep" / "figures" / "toy" / "table1.md").exists()


def test_l10_and_edge_nd_figures_read_the_engines_numbers(tmp_path):
    root = tmp_path / "runs"
    c = {"lr": 0.1, "n_iter": 4, "refresh_every": 2, "start_step": 30, "start_rho_1": 0.95,
         "loss": {"gd": [1.0, 0.8, 0.6, 0.5, 0.4], "bulk": [1.0, 0.85, 0.7, 0.55, 0.46],
                  "top": [1.0, 1.0, 0.98, 0.97, 0.96]}, "valid": {"gd": True, "bulk": True, "top": True}}
    cont = write(root, "cont", "continuation", lr=0.1, summary={"continuation": c, "valid": True})
    path, reading = figures.fig_continuation([cont], tmp_path / "l10.png")
    (u,) = evaluate_claim("L10", [cont], TH).statistic.values()
    assert path.exists() and u["bulk_fraction"] == pytest.approx(0.9)
    assert f"Bulk-GD {u['bulk_fraction']:.2f}×, Top-GD {u['top_fraction']:.2f}×" in reading
    nd = [write(root, f"nd{n}", "edge_nd", n_data=n, lr=0.5,
                telemetry=[{**p, "rho": [0.95, 0.9, r3]} for p in edge_tel()])
          for n, r3 in ((100, 0.1), (200, 0.2))]
    path, reading = figures.fig_edge_lambda_vs_nd(nd, tmp_path / "nd.png", TH)
    lam = readers.on_edge_lambda(nd[1], 2, TH)
    assert lam == pytest.approx(2 * 0.9 / 0.5) and f"{lam:.3g} at n_D=200" in reading
    out = figures.report_figures([cont, *nd], tmp_path / "figs", TH)
    assert any(p is not None and p.name == "fig_l10_continuation.png" for p, _ in out)
    assert any(p is not None and p.name == "fig_edge_lambda_vs_nd.png" for p, _ in out)
