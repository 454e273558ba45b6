"""Edge gating (CLAIMS.md, "[L] when a run can test a claim about the edge") and L1–L7, L10 on
hand-made records: runs that never reach the edge are inconclusive, never failing; invalid runs
are set aside with their reason; step 0 and catapults never count; the edge count."""

from __future__ import annotations

import numpy as np
import pytest

from simlab.claims import Thresholds, evaluate_claim, readers
from simlab.record import Record, RecordWriter

TH = Thresholds()


@pytest.fixture
def lab(tmp_path):
    n = [0]

    def make(experiment, *, regime="toy", telemetry=(), summary=None, **config):
        n[0] += 1
        path = tmp_path / f"{experiment}_{n[0]}"
        config.setdefault("n_classes", 3)
        config.setdefault("lr", 0.5)
        w = RecordWriter(path, config, meta={"regime": regime, "experiment": experiment,
                                             "data": {"name": "digits"}})
        for p in telemetry:
            w.append(p)
        if summary is not None:
            w.write_summary(summary)
        return Record.load(path)

    return make


def tel(rows, every=1, **extra):
    """Telemetry at steps 0, every, 2·every, … with the given ρ vectors (descending)."""
    return [{"step": every * i, "rho": list(r), **extra} for i, r in enumerate(rows)]


ON = [0.95, 0.85, 0.1]     # n_c = 3: ρ_1, ρ_2 on the edge, ρ_3 off
OFF = [0.5, 0.4, 0.1]


# ----------------------------------------------------------------------------- gating


def test_a_run_that_never_reaches_the_edge_is_inconclusive_not_failing(lab):
    r = lab("toy", telemetry=tel([OFF] * 3 + [[0.6, 0.3, 0.29]] * 8))
    e = readers.edge(r, TH)
    assert not e.reached and e.max_rho_1 == pytest.approx(0.6) and e.edge_count is None
    for cid in ("L1", "L6", "L7"):
        v = evaluate_claim(cid, [r], TH)
        assert v.status == "inconclusive", cid
    v = evaluate_claim("L1", [r], TH)
    assert "edge not reached (max ρ_1 = 0.6 at η = 0.5" in v.reason
    sweep = [lab("lr_sweep", lr=lr, telemetry=tel([OFF] * 10)) for lr in (0.1, 0.2, 0.4)]
    for cid in ("L1", "L3", "L5"):
        v = evaluate_claim(cid, sweep, TH)
        assert v.status == "inconclusive" and "edge not reached" in v.reason, cid


def test_four_consecutive_on_edge_points_are_not_the_edge(lab):
    four = lab("toy", telemetry=tel([OFF] + [ON] * 4 + [OFF] + [ON] * 4 + [OFF]))
    five = lab("toy", telemetry=tel([OFF] + [ON] * 5 + [OFF]))
    assert readers.edge(four, TH).longest == 4 and not readers.edge(four, TH).reached
    assert readers.edge(five, TH).reached
    assert readers.edge(five, Thresholds(edge_points=6)).reached is False
    assert readers.edge(five, Thresholds(edge_rho=0.99)).reached is False


def test_step_0_never_counts(lab):
    # on the edge at steps 0..4: only four eligible points
    r = lab("toy", telemetry=tel([ON] * 5 + [OFF] * 5))
    e = readers.edge(r, TH)
    assert not e.reached and e.longest == 4 and all(p["step"] > 0 for p in e.eligible)
    # L4: P_top > P_bulk from step 0 is not a concentration at step 0 (steps 1, 2 then 3 fails)
    pts = tel([OFF] * 2 + [ON] * 8)
    for p in pts:
        p.update(p_top_norm=0.5 if p["step"] == 3 else 2.0, p_bulk_norm=1.0)
    ev = readers.entry_events(lab("entry", telemetry=pts), TH)
    assert ev["concentration_step"] == 4 and ev["edge_step"] == 2


def test_catapult_is_excluded(lab):
    # η = 0.1: the first 1/η = 10 iterations; ρ_1 = 3 there is a catapult, then off the edge
    r = lab("toy", lr=0.1, telemetry=tel([[3.0, 0.5, 0.1]] * 6 + [OFF] * 4, every=2))
    e = readers.edge(r, TH)
    assert e.catapult_until == 10 and not e.reached and e.max_rho_1 == pytest.approx(0.5)
    # the catapult lasts past 1/η while ρ_1 > 1.2: still excluded; the edge after it counts
    rows = [[3.0, 0.5, 0.1]] * 7 + [ON] * 5
    r = lab("toy", lr=0.1, telemetry=tel(rows, every=2))
    e = readers.edge(r, TH)
    assert e.catapult_until == 12 and e.reached and e.first_step == 14
    # a run that starts below 1.2 has no catapult, so its early on-edge points count
    r = lab("toy", lr=0.1, telemetry=tel([OFF] + [ON] * 6, every=2))
    assert readers.edge(r, TH).catapult_until is None and readers.edge(r, TH).reached


def test_invalid_runs_are_set_aside_with_their_reason(lab):
    good = lab("toy", telemetry=tel([OFF] + [ON] * 6), summary={"steps": 6, "stop_reason": "max_steps"})
    diverged = lab("toy", telemetry=tel([OFF] + [ON] * 6) + [{"step": 7, "rho": ON, "loss": float("inf")}])
    marked = lab("toy", telemetry=tel([OFF] + [ON] * 6),
                 summary={"valid": False, "invalid_reason": "no live units (every ReLU dead at the end)"})
    early = lab("toy", lr=0.1, telemetry=tel([OFF] + [ON] * 6),
                summary={"steps": 3, "stop_reason": "target_loss"})
    at_init = lab("toy", lr=0.1, telemetry=tel([OFF]), summary={"steps": 0, "stop_reason": "target_loss"})
    assert readers.validity(good) == (True, None)
    assert readers.validity(diverged)[1] == "diverged at step 7 (loss=inf)"
    assert readers.validity(marked)[1] == "no live units (every ReLU dead at the end)"
    assert readers.validity(early)[1] == "stopped within its first 1/η iterations (step 3 < 10)"
    assert readers.validity(at_init)[1] == "stop rule met at initialisation"
    v = evaluate_claim("L1", [good, diverged, marked, early, at_init], TH)
    assert v.runs == (good.name,)
    assert dict(v.excluded) == {diverged.name: "diverged at step 7 (loss=inf)",
                                marked.name: "no live units (every ReLU dead at the end)",
                                early.name: "stopped within its first 1/η iterations (step 3 < 10)",
                                at_init.name: "stop rule met at initialisation"}
    assert "4 run(s) excluded" in v.reason and "diverged at step 7" in v.reason
    # a valid flag in the summary wins over what the telemetry would say
    ok = lab("toy", telemetry=[{"step": 0, "loss": float("nan")}], summary={"valid": True})
    assert readers.validity(ok) == (True, None)


def test_edge_count_is_the_median_over_on_edge_points(lab):
    # ρ_2 ≥ 0.69 at 2 of 5 on-edge points, ρ_3 never: the count is 1 (not n_c − 1 = 2)
    rows = [OFF] + [[0.9, 0.75, 0.1]] * 2 + [[0.9, 0.3, 0.1]] * 3 + [OFF]
    r = lab("toy", telemetry=tel(rows))
    e = readers.edge(r, TH)
    assert e.reached and e.edge_count == 1
    assert e.median_rho == pytest.approx([0.9, 0.3, 0.1])
    assert e.iterations == 4 and e.first_step == 1 and e.last_step == 5
    r = lab("toy", telemetry=tel([OFF] + [ON] * 5))
    assert readers.edge(r, TH).edge_count == 2
    row = readers.edge_row(r, TH)
    assert (row["edge_count"], row["n_c_minus_1"], row["reached"]) == (2, 2, True)


def test_cadence_precondition_is_reported(lab):
    # η = 0.01: telemetry must be every ≤ 1/(5η) = 20 iterations through the edge phase
    dense = lab("toy", lr=0.01, telemetry=tel([OFF] + [ON] * 6, every=20))
    sparse = lab("toy", lr=0.01, telemetry=tel([OFF] + [ON] * 6, every=100))
    assert readers.edge(dense, TH).cadence_ok is True
    assert readers.edge(sparse, TH).cadence_ok is False
    assert "too sparse" in readers.edge(sparse, TH).cadence_note()
    v = evaluate_claim("L1", [sparse], TH)
    assert "cadence precondition unmet" in v.reason and v.statistic["cadence_unmet"] == [sparse.name]
    assert "cadence" not in evaluate_claim("L1", [dense], TH).reason
    never = lab("toy", lr=0.01, telemetry=tel([OFF] * 6, every=100))
    assert "too sparse" in evaluate_claim("L1", [never], TH).reason


# ----------------------------------------------------------------------------- L1–L7


def test_L1_on_the_edge(lab):
    good = lab("toy", telemetry=tel([OFF] + [ON] * 6))
    v = evaluate_claim("L1", [good], TH)
    assert v.status == "holds"
    s = v.statistic[good.name]
    assert s["max_rho_nc_minus_1"] == pytest.approx(0.85) and s["max_rho_nc"] == pytest.approx(0.1)
    assert s["edge_counts"] == [2] and s["n_c_minus_1"] == 2
    one = lab("scale", regime="scale", telemetry=tel([OFF] + [[0.95, 0.3, 0.1]] * 6))
    assert evaluate_claim("L1", [one], TH).status == "fails"  # only ρ_1 rides the edge
    # a sweep: judged at the smallest η whose runs reached the edge (medians over seeds)
    sweep = [lab("lr_sweep", lr=0.1, seed=0, telemetry=tel([OFF] * 8)),
             *[lab("lr_sweep", lr=0.2, seed=s, telemetry=tel([OFF] + [[0.9, x, 0.2]] * 6))
               for s, x in enumerate((0.6, 0.7, 0.8))],
             lab("lr_sweep", lr=0.4, seed=0, telemetry=tel([OFF] + [[0.9, 0.1, 0.05]] * 6))]
    v = evaluate_claim("L1", sweep, TH)
    (unit,) = v.statistic.values()
    assert v.status == "holds" and unit["lr"] == 0.2 and unit["seeds"] == 3
    assert unit["max_rho_nc_minus_1"] == pytest.approx(0.7)
    assert unit["seeds_max_rho_nc_minus_1"] == pytest.approx([0.6, 0.7, 0.8])  # the spread


def rows_for(nc, rho_nc_minus_1, n=6):
    r = [0.95] + [0.9] * (nc - 3) + ([rho_nc_minus_1] if nc >= 2 else []) + [0.1, 0.05]
    return [[0.3] * len(r)] + [r[: max(nc, 2) + 1]] * n


def test_L2_gap_and_edge(lab):
    runs = [lab("class_sweep", n_classes=nc, n_data=100 * nc, telemetry=tel(rows_for(nc, 0.85)))
            for nc in (3, 5)]
    v = evaluate_claim("L2", runs, TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert {nc: x["gap_index"] for nc, x in g["runs"].items()} == {3: 2, 5: 4}
    # a gap at n_c − 1 whose ρ_{n_c−1} is off the edge is the outlier count, not the edge
    low = [lab("class_sweep", n_classes=nc, n_data=100 * nc, telemetry=tel(
        [[0.3] * 4] + [[0.95, 0.5, 0.05, 0.04]] * 6)) for nc in (3,)]
    assert evaluate_claim("L2", runs[1:] + low, TH).status == "fails"
    assert evaluate_claim("L2", runs[:1], TH).status == "inconclusive"


def test_L3_and_L5_across_eta(lab):
    def run(lr, nc_rho, top, bulk):
        pts = tel([OFF] + [[0.95, 0.85, nc_rho]] * 6, p_top_norm=top, p_bulk_norm=bulk)
        return lab("lr_sweep", lr=lr, telemetry=pts)

    rs = [run(0.1, 0.05, 3.0, 1.0), run(0.2, 0.1, 2.0, 1.2), run(0.4, 0.2, 1.0, 1.5)]
    v3, v5 = evaluate_claim("L3", rs, TH), evaluate_claim("L5", rs, TH)
    assert v3.status == "holds" and v5.status == "holds"
    assert next(iter(v3.statistic.values()))["max_rho_nc"] == pytest.approx([0.05, 0.1, 0.2])
    assert next(iter(v3.statistic.values()))["seeds_max_rho_nc"] == [[0.05], [0.1], [0.2]]
    assert next(iter(v5.statistic.values()))["seeds_p_top_norm"] == [[3.0], [2.0], [1.0]]
    assert next(iter(v5.statistic.values()))["bulk_spread"] == pytest.approx(1.5)
    bad = [run(0.1, 0.3, 1.0, 1.0), run(0.2, 0.1, 2.0, 3.0), run(0.4, 0.2, 3.0, 1.0)]
    assert evaluate_claim("L3", bad, TH).status == "fails"
    assert evaluate_claim("L5", bad, TH).status == "fails"
    # only two η reached the edge
    two = rs[:2] + [lab("lr_sweep", lr=0.4, telemetry=tel([OFF] * 8))]
    v = evaluate_claim("L3", two, TH)
    assert v.status == "inconclusive" and "2 learning rates reached the edge" in v.reason


def test_L4_entry_states_both_iterations(lab):
    def entry(edge_at, top_at, n=12):
        return lab("entry", lr=0.1, telemetry=[
            {"step": s, "rho": [0.95 if s >= edge_at else 0.5, 0.8 if s >= edge_at else 0.3, 0.1],
             "p_top_norm": 2.0 if s >= top_at else 0.5, "p_bulk_norm": 1.0}
            for s in range(0, 2 * n, 2)])

    v = evaluate_claim("L4", [entry(6, 8)], TH)
    assert v.status == "holds"
    assert "at iteration 6" in v.reason and "from iteration 8" in v.reason
    (s,) = v.statistic.values()
    assert (s["edge_step"], s["rho1_step"], s["concentration_step"], s["interval"]) == (6, 6, 8, 2.0)
    assert evaluate_claim("L4", [entry(6, 14)], TH).status == "fails"
    assert evaluate_claim("L4", [entry(6, 999)], TH).status == "fails"
    v = evaluate_claim("L4", [entry(999, 8)], TH)
    assert v.status == "inconclusive" and "edge not reached" in v.reason


def test_L6_over_on_edge_points_and_table1(lab):
    top, bulk = [0.1, -0.2, 0.3, -0.1, 0.05], [-0.01, -0.012, -0.011, -0.009, -0.01]
    pts = [{"step": 0, "rho": OFF, "dl_top": 5.0, "dl_bulk": 5.0}] + [
        {"step": i + 1, "rho": ON, "dl_top": t, "dl_bulk": b} for i, (t, b) in enumerate(zip(top, bulk))]
    r = lab("lr_sweep", telemetry=pts)
    v = evaluate_claim("L6", [r], TH)
    assert v.status == "holds"
    s = v.statistic[r.name]
    assert s["on_edge_points"] == 5 and s["mean_dl_top"] == pytest.approx(np.mean(top))
    assert s["std_dl_top"] == pytest.approx(np.std(top, ddof=1))
    assert s["std_dl_bulk"] == pytest.approx(np.std(bulk, ddof=1))
    assert s["paper_reading"]["points"] == 5  # ρ_2 = 0.85 > 0.7 at the same points
    assert readers.table1(r, TH)["edge"] == {k: s[k] for k in readers.table1(r, TH)["edge"]}
    up = lab("lr_sweep", telemetry=[{**p, "dl_bulk": -p["dl_bulk"]} for p in pts])
    assert evaluate_claim("L6", [up], TH).status == "fails"
    off = lab("lr_sweep", telemetry=[{**p, "rho": OFF} for p in pts])
    assert evaluate_claim("L6", [off], TH).status == "inconclusive"


def test_L7_only_on_runs_that_reached_the_edge(lab):
    norms = [10, 10.05, 9.97, 10.01, 10.0, 10.02, 10.03]
    pts = [{**p, "theta_norm": t} for p, t in zip(tel([OFF] + [ON] * 6), norms)]
    r = lab("scale", regime="scale", telemetry=pts)
    v = evaluate_claim("L7", [r], TH)
    assert v.status == "holds" and v.statistic[r.name]["max_rel_change"] == pytest.approx(0.005)
    moved = lab("toy", telemetry=[{**p, "theta_norm": 10 + i} for i, p in enumerate(tel([OFF] + [ON] * 6))])
    assert evaluate_claim("L7", [r, moved], TH).status == "fails"
    off = lab("toy", telemetry=[{**p, "theta_norm": 10 + i} for i, p in enumerate(tel([OFF] * 7))])
    v = evaluate_claim("L7", [off], TH)
    assert v.status == "inconclusive" and "edge not reached" in v.reason


# ----------------------------------------------------------------------------- L10


def cont(lab, gd, bulk, top, start_rho=0.95, valid=None, seed=0):
    c = {"lr": 0.1, "n_iter": 20, "refresh_every": 5, "start_step": 300, "start_rho_1": start_rho,
         "loss": {"gd": gd, "bulk": bulk, "top": top},
         "valid": valid or {"gd": True, "bulk": True, "top": True}}
    ok = all((valid or {"gd": True}).values())
    return lab("continuation", lr=0.1, seed=seed, summary={"steps": 20, "continuation": c, "valid": ok})


def test_L10_continuations(lab):
    ok = cont(lab, [1.0, 0.5], [1.0, 0.55], [1.0, 0.95])
    v = evaluate_claim("L10", [ok], TH)
    assert v.status == "holds"
    (g,) = v.statistic.values()
    assert g["bulk_fraction"] == pytest.approx(0.9) and g["top_fraction"] == pytest.approx(0.1)
    assert evaluate_claim("L10", [cont(lab, [1.0, 0.5], [1.0, 0.7], [1.0, 0.95])], TH).status == "fails"
    assert evaluate_claim("L10", [cont(lab, [1.0, 0.5], [1.0, 0.5], [1.0, 0.8])], TH).status == "fails"
    # Bulk-GD diverged: its decrease is −∞ and the claim fails
    dv = cont(lab, [1.0, 0.5], [1.0, float("inf")], [1.0, 0.95],
              valid={"gd": True, "bulk": False, "top": True})
    assert evaluate_claim("L10", [dv], TH).status == "fails"
    # GD diverged: set aside; start off the edge: inconclusive
    gd_bad = cont(lab, [1.0, float("nan")], [1.0, 0.55], [1.0, 0.95],
                  valid={"gd": False, "bulk": True, "top": True})
    v = evaluate_claim("L10", [gd_bad], TH)
    assert v.status == "inconclusive" and dict(v.excluded)[gd_bad.name] == "the GD continuation diverged"
    v = evaluate_claim("L10", [cont(lab, [1.0, 0.5], [1.0, 0.55], [1.0, 0.95], start_rho=0.4)], TH)
    assert v.status == "inconclusive" and "edge not reached (max start ρ_1 = 0.4" in v.reason
    none = lab("continuation", lr=0.1, summary={"continuation": None, "valid": False,
                                                "invalid_reason": "the source never reached the edge"})
    v = evaluate_claim("L10", [none, ok], TH)
    assert v.status == "holds" and dict(v.excluded)[none.name] == "the source never reached the edge"
    # seeds: medians decide
    seeds = [cont(lab, [1.0, 0.5], [1.0, b], [1.0, 0.95], seed=s) for s, b in enumerate((0.55, 0.56, 0.9))]
    assert evaluate_claim("L10", seeds, TH).status == "holds"


def test_aliases_are_counted_once_across_experiments(lab, tmp_path):
    top, bulk = [0.1, -0.2, 0.3, -0.1, 0.05], [-0.01, -0.012, -0.011, -0.009, -0.01]
    pts = [{"step": 0, "rho": OFF}] + [{"step": i + 1, "rho": ON, "dl_top": t, "dl_bulk": b}
                                       for i, (t, b) in enumerate(zip(top, bulk))]
    src = lab("lr_sweep", telemetry=pts)
    alias = lab("class_sweep", telemetry=pts)
    alias.doc["alias_of"] = f"toy/lr_sweep/{src.path.name}"
    assert readers.distinct([src, alias]) == [src, alias]  # the source's path does not match
    alias.doc["alias_of"] = src.path.name
    assert readers.distinct([src, alias]) == [src]
    assert readers.distinct([alias]) == [alias]  # without its source it stands for the run
    v = evaluate_claim("L6", [src, alias], TH)
    assert v.runs == (src.name,)


def test_L6_L7_leave_other_protocols_grids_alone(lab):
    pts = [{**p, "theta_norm": 10 + i, "dl_top": 0.1, "dl_bulk": -0.1}
           for i, p in enumerate(tel([OFF] + [ON] * 6))]
    sagun = lab("width_sweep", telemetry=pts)
    mine = lab("toy", telemetry=pts)
    for cid in ("L6", "L7"):
        assert evaluate_claim(cid, [sagun], TH).runs == ()
        assert evaluate_claim(cid, [sagun, mine], TH).runs == (mine.name,)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(rho1=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=30), every=st.integers(1, 4),
       lr=st.sampled_from([0.05, 0.1, 0.5, 1.0]))
def test_edge_matches_a_direct_reading_of_the_rules(tmp_path_factory, rho1, every, lr):
    path = tmp_path_factory.mktemp("h") / "r"
    w = RecordWriter(path, {"lr": lr, "n_classes": 2}, meta={"regime": "toy", "experiment": "toy"})
    for i, x in enumerate(rho1):
        w.append({"step": every * i, "rho": [x, x / 2]})
    e = readers.edge(Record.load(path), TH)
    n1 = 1 / lr
    steps = [every * i for i in range(len(rho1))]
    cat = any(s < n1 and x > 1.2 for s, x in zip(steps, rho1))
    until = -1
    if cat:
        for s, x in zip(steps, rho1):
            if s < n1 or x > 1.2:
                until = s
            else:
                break
    ok = [x >= 0.8 for s, x in zip(steps, rho1) if s > 0 and s > until]
    longest = max((len(run) for run in "".join("1" if o else "0" for o in ok).split("0")), default=0)
    assert e.longest == longest and e.reached == (longest >= 5)
    assert (e.catapult_until is not None) == cat
    assert all(p["step"] > 0 for p in e.points)


def test_L2_names_a_class_count_whose_telemetry_is_too_short_to_judge(lab):
    """n_c = 3 with only the top 3 ρ cannot show a gap at i = 3: it is named, not judged."""
    recs = [lab("class_sweep", n_classes=nc, n_data=100, lr=0.1,
                telemetry=tel([rho] * 12, every=1), summary={"valid": True, "steps": 110})
            for nc, rho in ((2, [1.0, 0.2, 0.1]), (3, [1.0, 0.9, 0.2, 0.1]),
                            (5, [1.0, 0.9, 0.8, 0.7, 0.6]))]
    v = evaluate_claim("L2", recs, TH)
    assert v.status == "holds", v.reason   # n_c = 2 and 3: gaps at 1 and 2, ρ_(n_c−1) ≥ 0.69
    assert "n_c = 5 on the edge but not judged" in v.reason
    assert next(iter(v.statistic.values()))["not_judged"] == [5]


def test_records_sharing_a_folder_name_keep_apart_in_verdicts(tmp_path):
    """lr_sweep/lr_0.01 and lr_sweep_nD512/lr_0.01: per-run verdicts are keyed by label, so the
    two must not collapse into one unit."""
    from simlab.claims import load_records

    for sweep, grow in (("lr_sweep", 0.0005), ("lr_sweep_nD512", 0.002)):
        w = RecordWriter(tmp_path / sweep / "lr_0.01", {"n_classes": 3, "lr": 0.01},
                         meta={"regime": "toy", "experiment": "lr_sweep", "data": {"name": "digits"}})
        for i in range(12):
            w.append({"step": 10 * i, "rho": [1.0, 0.9, 0.1], "theta_norm": 1.0 + grow * i})
        w.write_summary({"valid": True, "steps": 120, "theta0_norm": 1.0})
    recs = load_records([tmp_path])
    assert sorted(readers.label(r) for r in recs) == ["lr_sweep/lr_0.01", "lr_sweep_nD512/lr_0.01"]
    v = evaluate_claim("L7", recs, TH)
    assert set(v.statistic) == {"lr_sweep/lr_0.01", "lr_sweep_nD512/lr_0.01"}
    assert v.status == "fails" and "1 holds" in v.reason   # 0.55 % and 2.2 %: both judged
