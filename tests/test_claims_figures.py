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
        pts.append({"step": i, "t": 0.5 * i, "rho": [1.05, 0.8 + 0.05 * rng.random(), nc_rho],
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
                 telemetry=[{**p, "rho": [1.05] * (nc - 1) + [0.1, 0.05]} for p in edge_tel()],
                 summary={"eigenvalues": list(np.r_[np.zeros(20), 5.0 * np.ones(nc - 1)]),
                          "n_params": 19 + nc})
           for nc in (2, 3)]
    rs += [write(root, f"flow{n}s{seed}", "gradient_flow", regime="scale", schedule="flow",
                 n_data=n, seed=seed,
                 telemetry=[{"step": 0, "t": 0.0, "eigenvalues": [1.0]}],
                 summary={"peak_lambda_1": 2.0 * n + 3 + seed, "peak_step": 5, "steps": 40})
           for n in (16, 32, 64, 96, 128) for seed in (0, 1)]
    return root, rs


def test_table1_is_L6s_statistic(runs, tmp_path):
    _, rs = runs
    settings = evaluate_claim("L6", rs, TH).statistic["settings"]
    table_runs = [r for r in rs if r.name.startswith("lr0")]
    md = figures.table1(table_runs, TH)
    checked = 0
    for r in table_runs:
        s = settings[r.name]          # one seed per setting: the setting's numbers are the run's
        row = next(line for line in md.splitlines() if f"η={r.config['lr']:g} " in line)
        nums = [float(x) for x in re.findall(r"-?\d\.\d{3}e[+-]\d\d", row)][:4]
        assert nums == pytest.approx([s["mean_dl_top"], s["std_dl_top"], s["mean_dl_bulk"],
                                      s["std_dl_bulk"]], rel=1e-3)
        # ddof = 1, and only L6's points (step 0's ΔL = 1 never enters)
        pts = readers.l6_points(r, TH)
        assert len(pts) == 11 and all(p["step"] > 0 for p in pts)
        assert s["std_dl_top"] == pytest.approx(np.std([p["dl_top"] for p in pts], ddof=1))
        checked += 1
    assert checked == 3


def test_s8_table_and_edge_table_are_the_engines(runs):
    _, rs = runs
    v = evaluate_claim("S8", rs, TH)
    for row in figures.s8_rows(rs, TH):
        mine = {k: row[k] for k in v.statistic[row["run"]]}
        assert mine == v.statistic[row["run"]]
    edge = {x["run"]: x for x in report.edge_rows(rs, TH)}
    r = next(r for r in rs if r.name == "lr0.2")
    assert edge["lr0.2"]["edge_count"] == readers.edge(r, TH).edge_count == 2
    assert edge["off"]["reached"] is False and edge["off"]["max_rho_1"] == pytest.approx(0.4)
    assert edge["boom"]["valid"] is False


def test_flow_figure_draws_L8s_fit(runs, tmp_path):
    _, rs = runs
    flow = [r for r in rs if readers.is_flow(r)]
    path, reading = figures.fig_flow(flow, tmp_path / "f.png", TH)
    (u,) = evaluate_claim("L8", flow, TH).statistic["settings"].values()
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
            assert line.split("|")[3 if g == "toy" else 4].strip().startswith(f"**{v.status}**")
    assert "## What we found" in text
    # Table 1 inline: the L6 numbers of a run that reached the edge
    s = evaluate_claim("L6", by["toy"], TH).statistic["settings"]["lr0.4"]
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
    loss = {"gd": [1.0, 0.8, 0.6, 0.5, 0.4], "bulk": [1.0, 0.85, 0.7, 0.55, 0.46],
            "top": [1.0, 1.0, 0.98, 0.97, 0.96], "bulk_nc": [1.0, 0.9, 0.8, 0.7, 0.6],
            "top_nc": [1.0, 0.95, 0.9, 0.88, 0.86]}
    c = {"lr": 0.1, "n_iter": 4, "refresh_every": 2, "start_step": 30, "start_rho_1": 0.95,
         "n_top": 2, "n_top_nc": 9, "loss": loss, "valid": dict.fromkeys(loss, True)}
    cont = write(root, "cont", "continuation", lr=0.1, summary={"continuation": c, "valid": True})
    fig, _ = figures.draw_continuation([cont])
    (ax,) = data_axes(fig)
    assert len(lines(ax, "median_")) == 5 and len(lines(ax, "run_")) == 5
    check_layout(fig)
    path, reading = figures.fig_continuation([cont], tmp_path / "l10.png")
    u = readers.continuation(cont)
    assert path.exists() and u["bulk_fraction"] == pytest.approx((1 - 0.712) / (1 - 0.66))
    assert u["top_nc_fraction"] == pytest.approx((1 - 0.918) / (1 - 0.66))  # means of all 5
    assert f"Bulk-GD {u['bulk_fraction']:.2f}×, Top-GD {u['top_fraction']:.2f}×" in reading
    # a record of the older protocol: its two paths are the top n_c − 1 ones
    old = dict(c, loss={k: loss[k] for k in ("gd", "bulk", "top")})
    del old["n_top"], old["n_top_nc"]
    u = readers.continuation(write(root, "old", "continuation", lr=0.1,
                                   summary={"continuation": old, "valid": True}))
    assert u["top_fraction"] is None and u["bulk_nc_fraction"] == pytest.approx((1 - 0.712) / (1 - 0.66))
    nd = [write(root, f"nd{n}", "edge_nd", n_data=n, lr=0.5,
                telemetry=[{**p, "rho": [1.05, 0.9, r3]} for p in edge_tel()])
          for n, r3 in ((100, 0.1), (200, 0.2))]
    fig, _ = figures.draw_edge_lambda_vs_nd(nd, TH)
    (ax,) = data_axes(fig)
    assert len(lines(ax, "lambda_top")) == 1 and len(lines(ax, "lambda_next")) == 1
    check_layout(fig)
    path, reading = figures.fig_edge_lambda_vs_nd(nd, tmp_path / "nd.png", TH)
    lam = readers.on_edge_lambda(nd[1], 2, TH)
    assert lam == pytest.approx(2 * 0.9 / 0.5) and f"{lam:.3g} at n_D=200" in reading
    out = figures.report_figures([cont, *nd], tmp_path / "figs", TH)
    assert any(p is not None and p.name == "fig_l10_continuation.png" for p, _ in out)
    assert any(p is not None and p.name == "fig_edge_lambda_vs_nd.png" for p, _ in out)


# ---------------------------------------------------------------------------- what the figures draw
# Checks on the matplotlib Figure itself (simlab.figures' draw_* functions, which fig_* save):
# panels, lines per panel, the data they hold, and a layout where no legend, label or title lies
# over another panel's data.


def data_axes(fig):
    """The panels that draw data: visible axes with an artist tagged by the figure code (not a
    colorbar, not an empty grid cell)."""
    return [ax for ax in fig.axes if ax.axison and not hasattr(ax, "_colorbar")
            and any((a.get_gid() or "ref") != "ref" for a in [*ax.lines, *ax.patches])]


def lines(ax, prefix):
    return [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith(prefix)]


def overlap(a, b) -> bool:
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def check_layout(fig):
    """Constrained layout; every legend a figure legend inside the canvas and off every axes;
    no panel's labels, tick labels or title over another panel, a colorbar or the suptitle."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    visible = [ax for ax in fig.axes if ax.axison]
    assert not [ax for ax in visible if ax.get_legend() is not None], "legend inside a panel"
    for leg in fig.legends:
        box = leg.get_window_extent(r)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 + 1
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1 + 1
        for ax in visible:
            assert not overlap(box, ax.get_window_extent(r)), (leg, ax)
    for a in visible:
        tight = a.get_tightbbox(r)
        for b in visible:
            if b is not a:
                assert not overlap(tight, b.get_window_extent(r)), (a.get_title(), b.get_title())
                if a.get_title() and b.get_title():
                    assert not overlap(a.title.get_window_extent(r), b.title.get_window_extent(r))
        if fig._suptitle is not None:
            assert not overlap(fig._suptitle.get_window_extent(r), tight)


def integer_ticks(values, lim):
    shown = [v for v in values if lim[0] - 1e-9 <= v <= lim[1] + 1e-9]
    return len(shown) >= 2 and all(float(v).is_integer() for v in shown)


def colorbar_ticks_are_integers(fig):
    (cb,) = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
    labels = [t.get_text() for t in cb.get_yticklabels()]
    return labels and all(re.fullmatch(r"\d+", t) for t in labels)


def valid(rs):
    return readers.split_valid(rs)[0]


def test_fig1_is_one_panel_per_eta_with_every_rho_i_of_one_seed(runs):
    _, rs = runs
    lr_runs = valid([r for r in rs if readers.experiment(r) == "lr_sweep"])
    fig, reading = figures.draw_rho(lr_runs, "toy: ρ_i per learning rate", TH, by="lr")
    panels = data_axes(fig)
    etas = sorted({readers.lr(r) for r in lr_runs}, reverse=True)
    assert len(etas) == 4 and len(panels) == len(etas)
    for ax, eta in zip(panels, etas):
        assert ax.get_title().startswith(f"η = {eta:g}")
        assert len(lines(ax, "rho_")) == 3                        # ρ_1, ρ_2, ρ_3 recorded
        (run,) = [r for r in lr_runs if readers.lr(r) == eta]
        y = lines(ax, "rho_1")[0].get_ydata()
        assert np.allclose(y, [readers.rho_at(p, 1) for p in run.telemetry])
        # n_c = 3: ρ_2 = ρ_(n_c−1) thick, ρ_3 = ρ_(n_c) dashed, ρ = 1 drawn
        assert lines(ax, "rho_2")[0].get_linewidth() > lines(ax, "rho_1")[0].get_linewidth()
        assert lines(ax, "rho_3")[0].get_linestyle() == "--"
        assert any(ln.get_gid() == "ref" and set(ln.get_ydata()) == {1.0} for ln in ax.get_lines())
    colours = [lines(panels[0], f"rho_{i}")[0].get_color() for i in (1, 2, 3)]
    assert len({str(c) for c in colours}) == 3                 # colour = eigen-index
    assert colorbar_ticks_are_integers(fig)
    check_layout(fig)
    assert all(f"η = {eta:g}" in reading for eta in etas)
    r = next(r for r in lr_runs if r.name == "lr0.4")
    assert (f"ρ_2 reaches {readers.reach(r, 2, TH):.3g} (windowed), max on-edge ρ_3 = "
            f"{readers.max_rho_on_edge(r, 3, TH):.3g}") in reading
    assert "η = 0.1, seed 1: edge not reached: never crossed ρ_1 = 1 (max ρ_1 = 0.4" in reading
    # where the run entered the edge (ρ_1 ≥ 1 at iteration 1, t = 0.5) is marked
    assert any(ln.get_gid() == "ref" and list(ln.get_xdata()) == [0.5, 0.5]
               for ln in panels[0].get_lines())


def test_fig1_draws_the_lowest_seed_and_a_row_per_setting(tmp_path):
    root = tmp_path / "runs"
    rs = [write(root, f"n{n}s{s}", "lr_sweep", lr=lr, seed=s, n_data=n,
                telemetry=edge_tel(seed=10 * s + n // 100))
          for n in (100, 200) for lr in (0.5, 0.25) for s in (2, 0, 1)]
    fig, reading = figures.draw_rho(rs, "t", TH)
    panels = data_axes(fig)
    assert len(panels) == 4                                     # 2 settings × 2 η
    for ax in panels:
        assert "seed 0 (lowest of 3 runs)" in ax.get_title() and "n_data=" in ax.get_title()
        n, eta = int(re.search(r"n_data=(\d+)", ax.get_title())[1]), float(ax.get_title()[4:8])
        (run,) = [r for r in rs if r.config["seed"] == 0 and r.config["n_data"] == n
                  and r.config["lr"] == eta]
        assert np.allclose(lines(ax, "rho_2")[0].get_ydata(), [p["rho"][1] for p in run.telemetry])
    check_layout(fig)


def test_fig2_is_one_panel_per_class_count(runs):
    _, rs = runs
    cls = [r for r in rs if readers.experiment(r) == "class_sweep"]
    fig, reading = figures.draw_rho(cls, "toy: ρ_i per class count", TH, by="n_classes")
    panels = data_axes(fig)
    assert [ax.get_title().split("\n")[0] for ax in panels] == ["n_c = 2", "n_c = 3"]
    for ax, nc in zip(panels, (2, 3)):
        assert len(lines(ax, "rho_")) == nc + 1
        assert lines(ax, f"rho_{nc}")[0].get_linestyle() == "--"
    assert colorbar_ticks_are_integers(fig)
    check_layout(fig)
    fig, reading = figures.draw_profile(cls, "toy: on-edge ρ_i per class count", TH, by="n_classes")
    panels = data_axes(fig)
    assert len(panels) == 2
    assert all(len(lines(ax, "reach")) == 1 and len(lines(ax, "median")) == 1 for ax in panels)
    for ax, r in zip(panels, cls):
        assert np.allclose(lines(ax, "reach")[0].get_ydata(), readers.edge(r, TH).reach)
        assert np.allclose(lines(ax, "median")[0].get_ydata(), readers.edge(r, TH).median_rho)
        assert ax.get_xlabel() == "eigen-index i"
        assert integer_ticks(ax.get_xticks(), ax.get_xlim())
    assert f"edge counts [{readers.edge(cls[1], TH).edge_count}]" in reading
    check_layout(fig)


def test_fig3_is_one_panel_per_eta_with_both_projections(runs):
    _, rs = runs
    lr_runs = [r for r in rs if r.name.startswith("lr0")]
    fig, reading = figures.draw_projections(lr_runs, TH)
    panels = data_axes(fig)
    assert len(panels) == 3
    for ax in panels:
        assert [ln.get_gid() for ln in ax.get_lines()] == ["p_top_norm", "p_bulk_norm"]
        assert ax.get_yscale() == "log"
    r = lr_runs[0]
    assert f"‖P_top g‖ {readers.median_on_edge(r, 'p_top_norm', TH):.3g}" in reading
    check_layout(fig)


def test_entry_flow_cusp_and_cross_regime_figures_keep_legends_off_the_data(runs, tmp_path):
    _, rs = runs
    fig, _ = figures.draw_entry(rs[0], TH)
    assert len(data_axes(fig)) == 2 and len(lines(fig.axes[0], "rho_")) == 3
    check_layout(fig)
    flow = [r for r in rs if readers.is_flow(r)]
    fig, _ = figures.draw_flow(flow, TH)
    # one λ_1 curve per sweep and n_D (its first seed): 5 sizes of 2 seeds each
    assert len(flow) == 10 and len(lines(fig.axes[0], "lambda_1")) == 5
    assert len(lines(fig.axes[1], "fit")) == 1 and len(lines(fig.axes[1], "peak")) == 1
    check_layout(fig)
    fig, _ = figures.draw_outliers_vs_classes(figures.s8_rows(rs, TH))
    (ax,) = data_axes(fig)
    assert integer_ticks(ax.get_xticks(), ax.get_xlim()) and integer_ticks(ax.get_yticks(), ax.get_ylim())
    check_layout(fig)
    cusp = [write(tmp_path / "c", f"cusp{n}", "cusp", n_data=n, summary={"cusp": {
        "deltas": list(np.linspace(-3e-3, 3e-3, 9)), "values": list(n * np.abs(np.linspace(-3e-3, 3e-3, 9)))}})
        for n in (100, 200)]
    fig, _ = figures.draw_cusp(cusp, TH)
    assert len(lines(fig.axes[0], "slice")) == 2 and len(lines(fig.axes[1], "even")) == 2
    check_layout(fig)


def test_check_layout_catches_a_legend_over_the_data():
    from simlab.plots import figure

    fig, axes = figure(1, 2)
    for ax in axes[0]:
        ax.plot([0, 1], [0, 1], label="x", gid="d")
    axes[0, 0].legend()
    with pytest.raises(AssertionError, match="legend inside a panel"):
        check_layout(fig)
    axes[0, 0].get_legend().remove()
    fig.legend(loc="center")                      # a figure legend, but over the panels
    with pytest.raises(AssertionError):
        check_layout(fig)


def test_many_etas_wrap_onto_rows_of_four_panels(tmp_path):
    rs = [write(tmp_path / "runs", f"lr{lr:g}", "lr_sweep", lr=lr, telemetry=edge_tel(seed=j))
          for j, lr in enumerate((0.8, 0.6, 0.5, 0.4, 0.3, 0.2))]
    fig, _ = figures.draw_rho(rs, "t", TH)
    panels = data_axes(fig)
    assert len(panels) == 6 and len([ax for ax in fig.axes if not ax.axison]) == 2
    assert [ax.get_title().split("\n")[0] for ax in panels] == [
        f"η = {lr:g}" for lr in (0.8, 0.6, 0.5, 0.4, 0.3, 0.2)]
    rows = sorted({round(ax.get_position().y0, 3) for ax in panels})
    assert len(rows) == 2
    check_layout(fig)


def test_bridge_figure_labels_its_log_axis_and_integer_i(tmp_path):
    import json

    r = write(tmp_path / "runs", "bridge_mlp", "bridge", regime="bridge", summary={"net": "mlp"})
    lam = [0.5, 0.05, 0.03, 0.02, 0.011, 0.009]
    pts = [{"step": 3, "exact": {"eigenvalues": lam},
            **{p: {"eigenvalues": [x * (1 + 1e-9) for x in lam]} for p in ("lanczos_float64", "lanczos_float32")},
            **{f"diff_{p}": {"eigenvalues": 1e-9} for p in ("lanczos_float64", "lanczos_float32")}}]
    (r.path / "bridge_points.json").write_text(json.dumps(pts))
    fig, reading = figures.draw_bridge(r, ("lanczos_float64", "lanczos_float32"))
    (ax,) = data_axes(fig)
    assert [ln.get_gid() for ln in ax.get_lines()] == ["exact", "lanczos_float64", "lanczos_float32"]
    assert ax.get_yscale() == "log" and integer_ticks(ax.get_xticks(), ax.get_xlim())
    check_layout(fig)
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels, "the λ axis has no tick label"
    assert "top-6 eigenvalues differ from the exact ones by at most 1.0e-09" in reading
