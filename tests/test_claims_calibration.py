"""The papers pass their own tests (CLAIMS.md rule 5): their published numbers go through the
same rule code as simlab's records and give ``holds``."""

from __future__ import annotations

import pytest

from simlab.claims import Thresholds, evaluate_claim, readers
from simlab.claims.gradient_flow import linear_rule
from simlab.claims.lowell import l1_rule
from simlab.paper.published import NUMBERS
from simlab.record import Record, RecordWriter

TH = Thresholds()


def test_L1_rule_holds_on_lowells_fig1_bound():
    n = NUMBERS["L1"]
    assert l1_rule(n["rho_9_reaches"], n["rho_10_max"], TH)
    # and as records: three seeds whose ρ_9 reaches 0.693 in every window and ρ_10 ≤ 0.246
    # (λ_1..λ_8 on the edge, η = 1e−4, telemetry every 1/(5η) = 2000 iterations up to 40/η)


def test_L1_on_records_shaped_like_fig1(tmp_path):
    n = NUMBERS["L1"]
    rho = [1.02] + [0.95] * 7 + [n["rho_9_reaches"], n["rho_10_max"], 0.1]
    runs = []
    for s in range(3):
        w = RecordWriter(tmp_path / f"fig1_s{s}", {"lr": n["lr"], "n_classes": 10, "seed": s,
                                                   "dataset": "cifar10"},
                         meta={"regime": "scale", "experiment": "scale", "data": {"name": "cifar10"}})
        w.append({"step": 0, "rho": [0.3] * 11})
        for i in range(1, 201):
            w.append({"step": 2000 * i, "rho": rho})
        w.write_summary({"stop_reason": "max_t", "steps": 400_000, "valid": True})
        runs.append(Record.load(w.path if hasattr(w, "path") else tmp_path / f"fig1_s{s}"))
    assert readers.truncation(runs[0], TH) is None        # t = 40: the protocol's own stop
    v = evaluate_claim("L1", runs, TH)
    assert v.status == "holds", v.reason


def test_L8_rule_holds_on_lowells_fig5_fit():
    n = NUMBERS["L8"]
    assert linear_rule(n["r2"], n["slope_sign"], TH)


def test_L6_rule_holds_on_every_row_of_table1():
    rows = NUMBERS["L6"]["rows"]
    if not rows:
        pytest.skip("Table 1's nine rows (means and standard deviations) are not in "
                    "paper/published.py NUMBERS['L6']['rows']: add them to calibrate L6")
    for row in rows:
        rule = readers.l6_rule(row["mean_dl_top"], row["std_dl_top"], row["mean_dl_bulk"],
                               row["std_dl_bulk"])
        assert rule["passes"], row


def test_the_old_L6_rule_failed_the_quoted_row_and_the_new_one_reads_it_by_its_spread():
    (row,) = NUMBERS["L6"]["quoted_means"]
    # the old rule (mean ΔL_top ≥ mean ΔL_bulk) failed Lowell's own η = 1e−4 row ...
    assert not row["mean_dl_top"] >= row["mean_dl_bulk"]
    # ... the new rule asks whether ΔL_top is within half a standard deviation of 0, so the same
    # mean passes for a spread the paper calls "large" and fails for a small one
    assert readers.l6_rule(row["mean_dl_top"], 0.01, row["mean_dl_bulk"], 0.00005)["top_does_not"]
    assert not readers.l6_rule(row["mean_dl_top"], 0.001, row["mean_dl_bulk"], 0.00005)["top_does_not"]
