"""The on-edge λ-vs-n_D figure on hand-made records: one line pair per (regime, η) with ≥ 2
sizes, η filtered (a run at another η never joins a line), both regimes drawn, and every
plotted number equal to readers.on_edge_lambda = 2·median on-edge ρ_i/η."""

from __future__ import annotations

import numpy as np
import pytest

from simlab import figures
from simlab.claims import Thresholds, readers
from simlab.record import Record, RecordWriter

TH = Thresholds()


def write(root, name, experiment, *, regime="toy", rho=(1.05, 0.9, 0.1), jitter=0.0, n=12,
          meta=None, **config):
    """A record with n telemetry points: step 0 off the edge, then on it (ρ_1 = rho[0] ≥ 1: it enters the edge at step 1)
    with ρ_2 ρ_3 jittered by ``jitter``·k for k = 1..n−1 (so the medians are not the inputs)."""
    config.setdefault("n_classes", 3)
    w = RecordWriter(root / name, config, meta={"regime": regime, "experiment": experiment,
                                                "data": {"name": "digits"}, **(meta or {})})
    w.append({"step": 0, "t": 0.0, "rho": [0.3, 0.2, 0.05]})
    for k in range(1, n):
        w.append({"step": k, "t": 0.1 * k,
                  "rho": [rho[0], rho[1] + jitter * k, rho[2] + 0.5 * jitter * k]})
    w.write_summary({"steps": 400, "stop_reason": "max_steps"})
    return Record.load(root / name)


def expected(rho, jitter, lr, i, n=12):
    """2·median over the on-edge points (steps 1..n−1) of ρ_i / η, by hand."""
    base = (rho[1], rho[2])[i - 2]
    step = (jitter, 0.5 * jitter)[i - 2]
    return 2 * float(np.median([base + step * k for k in range(1, n)])) / lr


@pytest.fixture
def records(tmp_path):
    root = tmp_path / "runs"
    rs = {
        # toy, η = 0.5: edge_nd at n_D 100 and 400; an lr_sweep seed and its alias at 200
        "nd100": write(root, "nd100", "edge_nd", lr=0.5, n_data=100, jitter=0.001),
        "nd400": write(root, "nd400", "edge_nd", lr=0.5, n_data=400, rho=(1.05, 0.7, 0.3)),
        "lr200s1": write(root, "lr200s1", "lr_sweep", lr=0.5, n_data=200, seed=1,
                         rho=(1.05, 0.8, 0.2)),
        "lr200s2": write(root, "lr200s2", "lr_sweep", lr=0.5, n_data=200, seed=2,
                         rho=(1.05, 0.84, 0.22)),
        "nd200": write(root, "nd200", "edge_nd", lr=0.5, n_data=200, seed=1, rho=(1.05, 0.8, 0.2),
                       meta={"alias_of": "lr200s1"}),
        # toy, another η at the same sizes but a single size: no line, never mixed in
        "other_eta": write(root, "other_eta", "lr_sweep", lr=0.25, n_data=200, rho=(1.05, 0.2, 0.1)),
        # toy, η = 0.5 at n_D = 800 that never reached the edge: left out
        "off": write(root, "off", "edge_nd", lr=0.5, n_data=800, rho=(0.5, 0.4, 0.1)),
        # scale, η = 0.01 and 0.02 at n_D 256 and 512
        **{f"s{lr}_{n}": write(root, f"s{lr}_{n}", "lr_sweep", regime="scale", lr=lr, n_data=n,
                               rho=(1.05, 0.75 + n / 10000, 0.1 + lr), jitter=0.002)
           for lr in (0.01, 0.02) for n in (256, 512)},
        # a scale class-sweep run at η = 0.01: not an η-sweep member, so not pooled
        "class": write(root, "class", "class_sweep", regime="scale", lr=0.01, n_data=1024,
                       rho=(1.05, 0.1, 0.05)),
    }
    return rs


def test_lines_are_per_regime_and_eta_with_the_readers_numbers(records):
    lines = figures.edge_lambda_lines(list(records.values()), TH)
    assert [(u["regime"], u["lr"]) for u in lines] == [("toy", 0.5), ("scale", 0.02),
                                                        ("scale", 0.01)]
    toy = lines[0]
    assert toy["n_data"] == [100, 200, 400] and toy["runs"] == [1, 2, 1]
    # n_D = 200: the two seeds' mean (the alias of seed 1 is not counted twice)
    assert toy["lambda_nc_minus_1"][1] == pytest.approx((2 * 0.8 / 0.5 + 2 * 0.84 / 0.5) / 2)
    assert toy["lambda_nc"][1] == pytest.approx((2 * 0.2 / 0.5 + 2 * 0.22 / 0.5) / 2)
    assert toy["lambda_nc_minus_1"][0] == pytest.approx(expected((0.95, 0.9, 0.1), 0.001, 0.5, 2))
    assert toy["lambda_nc"][0] == pytest.approx(expected((0.95, 0.9, 0.1), 0.001, 0.5, 3))
    for u in lines[1:]:
        for j, n in enumerate(u["n_data"]):
            r = records[f"s{u['lr']}_{n}"]
            assert u["lambda_nc_minus_1"][j] == readers.on_edge_lambda(r, 2, TH)
            assert u["lambda_nc"][j] == readers.on_edge_lambda(r, 3, TH)
            rho = (0.9, 0.75 + n / 10000, 0.1 + u["lr"])
            assert u["lambda_nc"][j] == pytest.approx(expected(rho, 0.002, u["lr"], 3))


def test_the_figure_plots_exactly_those_numbers(records, tmp_path, monkeypatch):
    drawn = []
    real_save = figures.save

    def capture(fig, path):
        for ax in fig.axes:
            for ln in ax.get_lines():
                if ln.get_label().startswith("η="):
                    drawn.append((ax.get_title().split(":")[0], ln.get_label(),
                                  list(ln.get_xdata()), list(ln.get_ydata())))
        return real_save(fig, path)

    monkeypatch.setattr(figures, "save", capture)
    path, reading = figures.fig_edge_lambda_vs_nd(list(records.values()), tmp_path / "nd.png", TH)
    assert path.exists() and path.stat().st_size > 1000
    lines = figures.edge_lambda_lines(list(records.values()), TH)
    want = []
    for u in lines:
        want.append((u["regime"], f"η={u['lr']:g}: λ_2", u["n_data"], u["lambda_nc_minus_1"]))
        want.append((u["regime"], f"η={u['lr']:g}: λ_3", u["n_data"], u["lambda_nc"]))
    assert sorted(drawn) == sorted(want)
    assert "η=0.25" not in reading and "n_D=800" not in reading and "n_D=1024" not in reading
    assert f"{lines[0]['lambda_nc_minus_1'][2]:.3g} at n_D=400" in reading
    assert "scale η=0.01" in reading and "toy η=0.5" in reading


def test_report_figures_draws_it_from_the_eta_sweeps_and_says_why_not(records, tmp_path):
    out = figures.report_figures(list(records.values()), tmp_path / "figs", TH)
    assert any(p is not None and p.name == "fig_edge_lambda_vs_nd.png" for p, _ in out)
    # one size per (regime, η): skipped, with the reason
    out = figures.report_figures([records["other_eta"], records["class"]], tmp_path / "f2", TH)
    (why,) = [w for p, w in out if p is None and w.startswith("on-edge λ vs n_D")]
    assert "≥ 2 sizes" in why
    with pytest.raises(ValueError, match="≥ 2 sizes"):
        figures.fig_edge_lambda_vs_nd([records["other_eta"]], tmp_path / "x.png", TH)
