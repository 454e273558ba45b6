"""The edge map (issue 22's centrepiece) on hand-made records: one row per setting with the edge
count read three ways, its ratio to n_c − 1, the outlier-subspace test; the figure and the report
section draw exactly those rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from simlab import figures
from simlab.claims import Thresholds
from simlab.claims import readers as rd
from simlab.paper.edgemap import edge_map_section
from simlab.record import Record, RecordWriter
from test_claims_figures import check_layout, data_axes

TH = Thresholds()


def make(tmp_path, name, rows, *, n_classes=3, seed=0, lr=0.5, n_params=1000, experiment="lr_sweep",
         regime="toy", widths=(4,), dataset="cifar8", **more):
    cfg = {"dataset": dataset, "n_classes": n_classes, "lr": lr, "seed": seed, "hidden": widths[0],
           "n_data": 100, **more}
    w = RecordWriter(tmp_path / name, cfg, meta={"regime": regime, "experiment": experiment,
                                                 "data": {"name": dataset}})
    for i, rho in enumerate(rows):
        w.append({"step": i, "rho": list(rho), "eigenvalues": [2 * x / lr for x in rho]})
    w.write_summary({"stop_reason": "target_loss", "valid": True, "steps": len(rows),
                     "n_params": n_params, "widths": list(widths)})
    return Record.load(tmp_path / name)


OFF = [0.5, 0.4, 0.1, 0.05]
TWO = [1.05, 0.9, 0.1, 0.05]     # n_c = 3: ρ_1, ρ_2 on the edge, ρ_3 off: count 2 = n_c − 1
ONE = [1.05, 0.3, 0.25, 0.05]    # only ρ_1 rides: count 1, no gap after λ_2 (ratio 1.2)


def test_rows_count_the_edge_three_ways_per_setting(tmp_path):
    recs = [make(tmp_path, f"a_s{s}", [OFF] + [TWO] * 8, seed=s) for s in range(3)]
    recs += [make(tmp_path, f"b_s{s}", [OFF] + [ONE] * 8, seed=s, lr=0.25, n_params=5000)
             for s in range(2)]
    recs.append(make(tmp_path, "never", [OFF] * 9, lr=0.1))
    rows = rd.edge_map(recs, TH)
    assert len(rows) == 3
    a = next(u for u in rows if u["lr"] == 0.5)
    assert (a["runs"], a["reached"], a["edge_count"], a["fraction"]) == (3, 3, 2, 1.0)
    assert a["plain_max"] == 2 and a["median_reading"] == 2 and a["count_range"] == (2, 2)
    assert a["outlier_ratio"] == pytest.approx(9.0) and a["subspace"] is True
    b = next(u for u in rows if u["lr"] == 0.25)
    assert (b["edge_count"], b["fraction"], b["subspace"]) == (1, 0.5, False)
    assert b["outlier_ratio"] == pytest.approx(1.2) and b["n_params"] == 5000
    never = next(u for u in rows if u["lr"] == 0.1)
    assert never["reached"] == 0 and never["edge_count"] is None and never["subspace"] is None

    fig, reading = figures.draw_edge_map(rows, TH)
    panels = data_axes(fig)
    assert len(panels) == 3
    assert len([c for c in panels[0].containers]) == 2     # one error bar per setting on the edge
    assert "edge count ≥ n_c − 1 in 1 of 2 settings" in reading and "subspace in 1 of 2" in reading
    check_layout(fig)

    lines = edge_map_section(recs, [(Path(tmp_path / "edge_map.png"), reading)],
                             tmp_path / "report.md", TH)
    table = [x for x in lines if x.startswith("| toy")]
    assert len(table) == 3
    assert "| 3 (3) | 2 | 2 | 2 | 1 | 9 | yes |" in table[0] + table[1] + table[2]
    assert any("2 settings reached the edge, in 1 net of 5,000 parameters" in x for x in lines)
    where = [x for x in lines if x.startswith("- Where")]
    assert where == ["- Where the n_c − 1 edge appears (toy): n_c = 3: 1 of 2 settings "
                     f"({a['net']}, n_D 100, η 0.5: 2), elsewhere 1 of 2."]


def test_the_report_reads_the_edge_count_over_model_size(tmp_path):
    """Settings that differ only in width (same family, n_D, η, n_c) are read out as one
    sequence over parameters; a lone size is not."""
    recs = [make(tmp_path, f"w4_s{s}", [OFF] + [ONE] * 8, seed=s) for s in range(2)]
    recs += [make(tmp_path, f"w16_s{s}", [OFF] + [TWO] * 8, seed=s, n_params=9000, widths=(16,))
             for s in range(3)]
    recs.append(make(tmp_path, "other", [OFF] + [TWO] * 8, lr=0.25, widths=(8,)))
    rows = rd.edge_map(recs, TH)
    assert {u["family"] for u in rows} == {"cifar8 depth 1 relu"}
    lines = edge_map_section(recs, [], tmp_path / "report.md", TH)
    said = [x for x in lines if x.startswith("Over model size")]
    assert said == ["Over model size (toy, cifar8 depth 1 relu, n_D = 100, η = 0.5, n_c = 3): edge "
                    "count / (n_c − 1) by parameters 1,000 → 0.5 (2 seeds), 9,000 → 1 (3 seeds)."]
    # a class sweep's run of the 1,000-parameter net beside the η sweep's (its config names the
    # classes: another setting, as in the scale grid): the two are named by their experiments
    recs.append(make(tmp_path, "cls", [OFF] + [TWO] * 8, experiment="class_sweep", classes=3))
    said = [x for x in edge_map_section(recs, [], tmp_path / "report.md", TH)
            if x.startswith("Over model size")]
    assert "1,000 (class_sweep) → 1 (1 seed), 1,000 (lr_sweep) → 0.5 (2 seeds), 9,000 → 1" in said[0]


def test_the_report_says_how_far_the_scale_records_are_from_the_paper_preset(tmp_path):
    """Issue 22: without a record of the paper preset the report says it is untested at scale,
    with the records' own presets, devices and largest sizes (a continuation, which has no
    preset of its own, is not counted)."""
    from simlab.paper.report import scale_scope_sentence

    def rec(preset, device, n_params, n_data):
        cfg = {"n_data": n_data} | ({"preset": preset} if preset else {})
        return Record(tmp_path, {"regime": "scale", "config": cfg}, [],
                      {"device": device, "n_params": n_params})

    said = scale_scope_sentence([rec("cpu", "cpu", 143118, 1024), rec("cpu", "cpu", 565938, 256),
                                 rec(None, None, 10 ** 9, 10 ** 6)])
    assert said.startswith("The scale records are the `cpu` preset's runs on cpu, the largest "
                           "net 565,938 parameters and the largest n_D 1,024. The `paper` preset")
    assert "is untested at scale: no record ran it; none was made on an accelerator." in said
    said = scale_scope_sentence([rec("cpu", "cpu", 10, 8), rec("paper", "cuda", 10, 50000)])
    assert "untested" not in said and "`cpu`, `paper` presets' runs on cpu, cuda" in said
    assert scale_scope_sentence([]) is None


def test_settings_that_agree_but_for_the_seed_get_their_folder_in_the_label(tmp_path):
    """Two class sweeps under different folders (nc_2, nc_2_s1 | nc_2_s0): the run names differ,
    but a verdict names a setting by its runs' label less the seed, so both settings would read
    "nc_2". load_records gives each setting its folder, the same for all its seeds; a lone
    setting keeps its bare name."""
    from simlab.claims import load_records

    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    make(tmp_path / "old", "nc_2", [OFF] + [TWO] * 8, n_classes=2)
    make(tmp_path / "old", "nc_2_s1", [OFF] + [TWO] * 8, n_classes=2, seed=1)
    make(tmp_path / "new", "nc_2_s0", [OFF] + [TWO] * 8, n_classes=2, lr=0.25)
    make(tmp_path / "new", "nc_3_s0", [OFF] + [TWO] * 8, n_classes=3)
    recs = load_records([tmp_path])
    got = sorted((rd.label(r), rd.setting_label(r)) for r in recs)
    assert got == [("nc_3_s0", "nc_3"), ("new/nc_2_s0", "new/nc_2"), ("old/nc_2", "old/nc_2"),
                   ("old/nc_2_s1", "old/nc_2")]


def test_the_edge_sentence_counts_lowell_protocol_runs_only(tmp_path):
    """A Sagun MSE run on blobs may carry ρ telemetry (experiment "mse", as Lowell's MSE class
    sweep is named): the report's count of Lowell runs that reached the edge leaves it out."""
    from simlab.paper.report import _edge_sentence

    recs = [make(tmp_path, "lowell", [OFF] + [TWO] * 8),
            make(tmp_path, "sagun", [OFF] + [TWO] * 8, experiment="mse", dataset="blobs")]
    rows = [rd.edge_row(r, TH) for r in recs]
    assert [x["lowell"] for x in rows] == [True, False]
    assert _edge_sentence("toy", rows).startswith("In the toy regime 1 of 1 valid runs")
