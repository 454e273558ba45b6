"""The paper package: bridge agreement, the resumable grid runner, and the report's tables
checked against simlab.claims.evaluate on the same records."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest

from conftest import needs_cifar

from simlab.claims import CLAIM_IDS, evaluate, load_records
from simlab.cli import main as simlab_main
from simlab.errors import UsageError
from simlab.paper import bridge
from simlab.paper.cli import main as paper_main
from simlab.paper.common import data_root, has_cifar
from simlab.record import CLOCK_KEYS
from simlab.paper.experiments import grid, select
from simlab.paper.report import split
from simlab.paper.runner import run_grid

SMOKE_TOY = ["sagun_width", "toy_lr_sweep", "toy_class_sweep", "bridge_mlp"]


def test_rel_diff_is_relative_to_the_exact_value():
    assert bridge.rel_diff([2.0, -4.0], [2.0, -4.4]) == pytest.approx(0.1)
    assert bridge.rel_diff(0.0, 0.0) == 0.0
    assert bridge.rel_diff(0.0, 1e-3) == np.inf


def test_bridge_agrees_in_float64_on_a_tiny_net(tmp_path):
    # the Lanczos stop rule bounds the eigenvalue error (Kato–Temple r²/gap ≤ tol·λ), which leaves
    # the eigenvectors — and P_top g, ΔL_top built from them — at about √tol: measured 1e-8 at
    # tol 1e-12 (eigenvalues 3e-14), 1e-9 at tol 1e-14
    cfg = bridge.BridgeConfig(net="mlp", dataset="digits", n_data=60, hidden=2, lr=0.1,
                              max_t=0.3, telemetry_every=1, k=6, lanczos_tol=1e-14)
    s = bridge.run(cfg, tmp_path / "b", progress=False)
    assert s["n_params"] == 64 * 2 + 2 + 2 * 10 + 10
    assert s["n_telemetry"] == 4  # steps 0, 1, 2, 3 (t = 0.3)
    a64 = s["agreement"]["lanczos_float64"]
    for q in bridge.QUANTITIES:
        assert a64[q]["max_rel_diff"] <= 1e-8, (q, a64[q])
    # float32 is measurably worse than float64 but within its stated tolerance on this net
    a32 = s["agreement"]["lanczos_float32"]
    assert a32["eigenvalues"]["max_rel_diff"] > a64["eigenvalues"]["max_rel_diff"]
    assert s["all_agree"]["lanczos_float32"]
    pts = json.loads((tmp_path / "b" / "bridge_points.json").read_text())
    assert len(pts) == 4 and pts[0]["exact"]["eigenvalues"][0] > 0


def test_unknown_grid_is_a_one_line_usage_error(capsys):
    with pytest.raises(UsageError):
        select(grid("smoke"), ["no_such_grid"])
    assert simlab_main(["paper", "run", "--preset", "smoke", "--only", "nope"]) == 2
    assert "unknown grid" in capsys.readouterr().err
    assert simlab_main(["paper", "run", "--preset", "smoke", "--skip", "nope", "--dry-run"]) == 2
    assert "unknown grid" in capsys.readouterr().err


def test_skip_leaves_out_whole_grids_and_only_them(capsys, tmp_path):
    """``paper run --skip GRID``: the dry run lists every run but the skipped grids', so the
    total it states is what the run will do."""
    runs = grid("smoke")
    argv = ["paper", "run", "--preset", "smoke", "--runs", str(tmp_path / "r"), "--dry-run"]
    assert simlab_main(argv + ["--skip", "scale_flow", "bridge_mlp"]) == 0
    listed = {ln.split()[2] for ln in capsys.readouterr().out.splitlines()
              if ln.split()[:1] in (["todo"], ["kept"], ["done"])}
    want = {r.name for r in runs if r.grid not in ("scale_flow", "bridge_mlp")}
    assert listed == want and len(want) < len(runs)


def _headline(report: str) -> dict[str, dict[str, str]]:
    """{claim id: {regime: status}} from the headline table (cells: **status** (k/n) — …)."""
    section = report.split("## Headline", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| (\w\d+) \|", line)
        statuses = re.findall(r"\*\*([a-z ]+)\*\*", line)
        if m and len(statuses) == 2:
            rows[m.group(1)] = {"toy": statuses[0], "scale": statuses[1]}
    return rows


@needs_cifar
def test_smoke_grid_run_report_and_resume(tmp_path):
    runs = tmp_path / "runs"
    only = SMOKE_TOY + (["scale_class_sweep"] if has_cifar(data_root()) else [])
    assert paper_main(["run", "--preset", "smoke", "--only", *only, "--runs", str(runs),
                       "--quiet"]) == 0
    entries = select(grid("smoke"), only)
    assert all((runs / r.name / "summary.json").is_file() for r in entries)

    # run twice: no work the second time
    again = run_grid(entries, runs, progress=False, log=lambda m: None)
    assert again.ran == [] and len(again.skipped) == len(entries)

    # an interrupted toy run (no summary, half a telemetry line) is redone, the rest skipped
    victim = next(r for r in entries if r.grid == "toy_lr_sweep")
    (runs / victim.name / "summary.json").unlink()
    with open(runs / victim.name / "telemetry.jsonl", "a") as f:
        f.write('{"step": 9')
    res = run_grid(entries, runs, progress=False, log=lambda m: None)
    assert res.ran == [victim.name]

    # an interrupted scale run resumes from its checkpoint and ends with the same telemetry
    scale = [r for r in entries if r.kind == "scale"]
    if scale:
        d = runs / scale[0].name
        before = [p["step"] for p in map(json.loads, (d / "telemetry.jsonl").read_text().splitlines())]
        assert (d / "checkpoints" / "state.pt").is_file()
        (d / "summary.json").unlink()
        res = run_grid(entries, runs, progress=False, log=lambda m: None)
        assert res.ran == [scale[0].name]
        after = [p["step"] for p in map(json.loads, (d / "telemetry.jsonl").read_text().splitlines())]
        assert after == before

    # the report's headline equals simlab.claims.evaluate on each regime's records
    out = tmp_path / "report" / "report.md"
    assert paper_main(["report", "--runs", str(runs), "--out", str(out)]) == 0
    text = out.read_text()
    head = _headline(text)
    assert set(head) == set(CLAIM_IDS)
    by = split(load_records([runs]))
    for g in ("toy", "scale"):
        for v in evaluate(by[g]):
            assert head[v.id][g] == v.status, (g, v.id)
    assert "## The bridge" in text and "lanczos_float64" in text
    # the runs' cost: wall time, and the CPU time of the records that state it (every new one)
    n = len(load_records([runs]))
    m = re.search(r"a quiet core's cost is their CPU time, which (\d+) of the (\d+) records state: "
                  r"([\d.]+) min\.", text)
    assert m and int(m[2]) == n and 0 < int(m[1]) <= n and float(m[3]) > 0
    pngs = list((tmp_path / "report" / "figures").rglob("*.png"))
    assert pngs and all(f"figures/{p.relative_to(tmp_path / 'report' / 'figures')}" in text
                        for p in pngs if p.parent.name == "figures")


KILLED_TOY = """
import json, sys
from simlab.paper.experiments import Run
from simlab.paper.runner import execute
from simlab.toy import lowell
execute(Run("toy/x", "toy_lr_sweep", "toy", lowell.config(**json.loads(sys.argv[1]))), __import__("pathlib").Path(sys.argv[2]),
        progress=False)
"""


def test_a_killed_toy_edge_run_is_resumed_by_the_runner_into_the_same_record(tmp_path):
    """execute() continues a toy run killed (SIGKILL) after a checkpoint from that checkpoint, with
    the θ snapshots its dense spectra need, and writes the uninterrupted run's record (timings
    aside); a partial folder written with another config is started over."""
    import subprocess
    import sys

    from simlab.paper.experiments import Run
    from simlab.paper.runner import execute, same_config
    from simlab.record import CRASH_ENV
    from simlab.toy import lowell

    kw = dict(dataset="blobs", n_data=40, hidden=3, standardise=False, lr=0.5, max_steps=30,
              telemetry_every=5, dense_every=10, k=3, target_loss=None, data_root=None)
    run = Run("toy/x", "toy_lr_sweep", "toy", lowell.config(**kw))
    execute(run, tmp_path / "whole", progress=False)
    env = {**os.environ, "OMP_NUM_THREADS": "1", CRASH_ENV: "step:22"}
    r = subprocess.run([sys.executable, "-c", KILLED_TOY, json.dumps(kw), str(tmp_path / "cut")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == -9, r.stderr
    assert (tmp_path / "cut" / "checkpoints" / "state.pt").is_file()
    assert not (tmp_path / "cut" / "summary.json").exists() and same_config(run, tmp_path / "cut")
    first = (tmp_path / "cut" / "telemetry.jsonl").read_text().splitlines()[0]
    execute(run, tmp_path / "cut", progress=False)
    # resumed, not started over: the killed run's first point (its wall time too) is kept
    assert (tmp_path / "cut" / "telemetry.jsonl").read_text().splitlines()[0] == first
    timing = CLOCK_KEYS

    def numbers(d):
        s = {k: v for k, v in json.loads((d / "summary.json").read_text()).items() if k not in timing}
        a = np.load(d / "arrays.npz")
        tel = [{k: v for k, v in json.loads(line).items() if k not in timing}
               for line in (d / "telemetry.jsonl").read_text().splitlines()]
        return tel, s, {k: a[k] for k in a.files}

    whole, cut = numbers(tmp_path / "whole"), numbers(tmp_path / "cut")
    assert whole[:2] == cut[:2] and whole[2].keys() == cut[2].keys()
    assert all(np.array_equal(whole[2][k], cut[2][k], equal_nan=True) for k in whole[2])
    assert cut[2]["dense_steps"].tolist() == [0, 10, 20, 30]
    assert not list((tmp_path / "cut").glob("snapshots/*.pt"))
    # another config's partial folder is not resumed
    other = Run("toy/x", "toy_lr_sweep", "toy", lowell.config(**{**kw, "lr": 0.4}))
    (tmp_path / "cut" / "summary.json").unlink()
    assert not same_config(other, tmp_path / "cut")
    execute(other, tmp_path / "cut", progress=False)
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["config"]["lr"] == 0.4


@pytest.mark.slow
def test_whole_smoke_preset_runs(tmp_path):
    assert paper_main(["run", "--preset", "smoke", "--runs", str(tmp_path), "--quiet"]) == 0
    assert paper_main(["report", "--runs", str(tmp_path), "--out",
                       str(tmp_path / "r" / "report.md")]) == 0
    shutil.rmtree(tmp_path)


def test_a_run_held_by_a_live_process_is_left_to_it_and_a_dead_holders_lock_is_taken_over(tmp_path):
    import subprocess

    from simlab.paper.experiments import Run
    from simlab.paper.runner import claim, holder, lock_path, release, run_grid

    run = Run("toy/x/y", "g", "no-such-kind", None)
    other = subprocess.Popen(["sleep", "60"])
    try:
        lock_path(run, tmp_path).parent.mkdir(parents=True)
        lock_path(run, tmp_path).write_text(str(other.pid))
        assert holder(run, tmp_path) == other.pid and not claim(run, tmp_path)
        res = run_grid([run], tmp_path, progress=False, log=lambda m: None)
        assert res.busy == ["toy/x/y"] and not res.ran and not res.failed
    finally:
        other.kill()
        other.wait()
    # its holder is gone: the next process takes the run (here it fails: an unknown kind) and
    # leaves no lock behind
    assert holder(run, tmp_path) is None
    res = run_grid([run], tmp_path, progress=False, log=lambda m: None)
    assert [n for n, _ in res.failed] == ["toy/x/y"] and not res.busy
    assert not lock_path(run, tmp_path).exists()
    assert claim(run, tmp_path) and lock_path(run, tmp_path).read_text() == str(os.getpid())
    release(run, tmp_path)
    assert not lock_path(run, tmp_path).exists()


def test_the_report_shows_the_slq_validation_or_says_it_is_missing(tmp_path):
    from simlab.paper.report import slq_section
    from simlab.density import SLQ_VALIDATION

    missing = "\n".join(slq_section(tmp_path / "absent.json"))
    assert "No validation measured" in missing and "inconclusive" in missing
    if SLQ_VALIDATION.is_file():
        shown = "\n".join(slq_section())
        assert "narrowest band within the tolerance" in shown and "1 × 20" in shown


@needs_cifar
def test_records_kept_elsewhere_count_as_done_and_feed_continuations_and_aliases(tmp_path):
    """paper run continues from the committed records: a run complete (same config) in a kept
    folder is skipped, a continuation or alias whose source is only there reads it from there,
    and a kept record of another config does not count."""
    from simlab.paper.records import compact
    from simlab.paper.runner import status

    runs = {r.name: r for r in grid("smoke")}
    src = runs["toy/lr_sweep/lr0.2_s0"]
    cont, alias = runs["toy/continuation/lr_sweep_lr0.2_s0"], runs["toy/edge_nd/nD60"]
    full, kept, new = tmp_path / "full", tmp_path / "kept", tmp_path / "new"
    assert run_grid([src], full, progress=False, log=lambda m: None).ran == [src.name]
    compact(full, kept)  # what paper/records holds: no weights, no checkpoints
    assert not (kept / src.name / "weights.pt").exists()

    assert status(src, new) == "todo" and status(src, new, [kept]) == "done"
    res = run_grid([src, cont, alias], new, progress=False, log=lambda m: None, also=[kept])
    assert res.skipped == [src.name] and res.ran == [cont.name, alias.name] and not res.failed
    assert not (new / src.name).exists()
    c = json.loads((new / cont.name / "summary.json").read_text())
    assert c["source"] == src.name
    a = json.loads((new / alias.name / "summary.json").read_text())
    assert a["alias_of"] == src.name and a["experiment"] == alias.config.experiment

    # the continuation replays GD from the source's config: the same record from the full source
    ref = run_grid([cont], full, progress=False, log=lambda m: None)
    assert ref.ran == [cont.name]
    r = json.loads((full / cont.name / "summary.json").read_text())
    assert ({k: r[k] for k in ("valid", "invalid_reason", "continuation")}
            == {k: c[k] for k in ("valid", "invalid_reason", "continuation")})

    # a kept record of another config is stale there: not done
    cfg = json.loads((kept / src.name / "config.json").read_text())
    cfg["config"]["lr"] = 0.3
    (kept / src.name / "config.json").write_text(json.dumps(cfg))
    assert status(src, tmp_path / "other", [kept]) == "todo"


@needs_cifar
def test_the_dry_run_states_each_complete_runs_measured_cost_and_guesses_the_rest(tmp_path):
    """``paper run --dry-run``: a complete run shows the wall seconds its record states (done
    here, kept when only a records folder holds it), a run without a record its guess; per grid
    the measured minutes and the guess for what is left."""
    from simlab.paper.runner import cost_lines, plan
    from simlab.record import cpu_seconds, wall_seconds

    runs = {r.name: r for r in grid("smoke")}
    a, b, c = (runs[n] for n in ("toy/lr_sweep/lr0.2_s0", "toy/lr_sweep/lr0.4_s0",
                                 "toy/class_sweep/nc2_s0"))
    full, kept = tmp_path / "runs", tmp_path / "kept"
    assert run_grid([a], full, progress=False, log=lambda m: None).ran == [a.name]
    assert run_grid([b], kept, progress=False, log=lambda m: None).ran == [b.name]
    wall = {r.name: wall_seconds(json.loads((d / r.name / "summary.json").read_text()))
            for r, d in ((a, full), (b, kept))}
    assert all(w is not None and w > 0 for w in wall.values())
    cpu = {r.name: cpu_seconds(json.loads((d / r.name / "summary.json").read_text()))
           for r, d in ((a, full), (b, kept))}
    # every thread's CPU time (numpy's BLAS may add threads to torch's one): ≤ all cores' wall
    assert all(0 < cpu[n] <= wall[n] * os.cpu_count() + 0.05 for n in wall)
    p = plan([a, b, c], full, [kept])
    assert [(x.status, x.measured_s, x.cpu_s) for x in p] == [
        ("done", wall[a.name], cpu[a.name]), ("kept", wall[b.name], cpu[b.name]), ("todo", None, None)]
    lines = cost_lines(p)
    assert f"{wall[a.name]:.0f} s measured (CPU {cpu[a.name]:.0f} s)" in lines[0]
    assert lines[2].startswith("todo") and f"~{c.cost_s:>6.0f} s guessed" in lines[2]
    # the last line: the CPU and wall hours of the runs that state both, and their ratio
    w, u = sum(wall.values()), sum(cpu.values())
    assert lines[-1].startswith("2 of them state their CPU time") and f"= {w / u:.2f}" in lines[-1]
    grids = {ln.split()[0]: ln.split() for ln in lines[4:-2]}
    assert grids["toy_lr_sweep"][1:3] == ["2", "2"]
    assert float(grids["toy_lr_sweep"][3]) == pytest.approx(sum(wall.values()) / 60, abs=0.051)
    assert grids["toy_class_sweep"][1:3] == ["1", "0"]
    assert wall_seconds({"wall_time": 3.0, "wall_time_total": 5.0}) == 5.0
    assert wall_seconds({"wall_time": float("nan")}) is None and wall_seconds(None) is None
    assert cpu_seconds({"wall_time": 3.0}) is None and cpu_seconds({"cpu_seconds": None}) is None
    # an alias's record is a copy of its source's (the entry capture of the η = 0.4 run): its
    # summary states the source's seconds, which the table counts once, at the source
    alias = runs["toy/entry/lr0.4"]
    assert alias.kind == "alias" and alias.config.source == b.name
    assert run_grid([alias], kept, progress=False, log=lambda m: None).ran == [alias.name]
    assert wall_seconds(json.loads((kept / alias.name / "summary.json").read_text())) == wall[b.name]
    assert [(x.status, x.measured_s) for x in plan([b, alias], tmp_path / "none", [kept])] == [
        ("kept", wall[b.name]), ("kept", 0.0)]


def test_the_reports_coverage_does_not_count_a_record_of_an_earlier_run_definition(tmp_path):
    """A record under a grid run's name but written with another config (the grid was redefined;
    paper run redoes it) is not counted as covering that run, and the line says so."""
    import json

    from simlab.paper.experiments import grid
    from simlab.paper.headline import coverage
    from simlab.record import CONFIG, Record, to_jsonable

    runs = [r for r in grid("smoke") if r.kind == "toy"][:2]
    for r, n_data in zip(runs, (r.config.n_data for r in runs)):
        d = tmp_path / r.name
        d.mkdir(parents=True)
        config = to_jsonable(r.config)
        if r is runs[1]:
            config["n_data"] = n_data + 1  # an earlier definition of this run
        (d / CONFIG).write_text(json.dumps({"config": config}))
    records = [Record(tmp_path / r.name, {}, [], {}) for r in runs]
    line = coverage(records, tmp_path, "smoke")[0]
    assert line.startswith(f"**Partial grid:** 1 of the {len(grid('smoke'))} runs")
    assert f"1 more is a record of an earlier definition of its run (e.g. {runs[1].name}: n_data differ)" in line


def test_the_scale_cusp_rescan_covers_every_scale_flow_run_after_it():
    """scale_cusp re-scans L9's slice past the initial spike for every scale_flow run (both
    seeds, every size), each after its source in the run order."""
    from simlab.paper.experiments import grid

    runs = grid("cpu")
    flows = [r.name for r in runs if r.grid == "scale_flow"]
    cusps = [r for r in runs if r.grid == "scale_cusp"]
    assert sorted(r.config.source for r in cusps) == sorted(flows)
    order = [r.name for r in runs]
    for r in cusps:
        assert r.kind == "cusp" and r.regime == "scale" and r.config.cusp_skip == 0.1
        assert order.index(r.config.source) < order.index(r.name)
        assert r.name == "scale/cusp_late/" + r.config.source.rsplit("/", 1)[1]


def test_the_scale_runs_that_decide_l1_to_l5_see_rho_nc_plus_1_and_stop_only_by_the_protocol():
    """Issue 22's scale sweeps as declared: every run of scale_lr_wide and scale_class_wide has
    k ≥ n_c + 1, no iteration cap (L < 0.1 or t = 40 stops it) and telemetry every ≤ 1/(5η);
    the η sweep spans ≥ 10× with ≥ 3 seeds at each η of that span, and the class sweep has
    3 seeds at every n_c, n_c = 10 among them."""
    runs = grid("cpu")
    wide = [r for r in runs if r.grid == "scale_lr_wide"]
    cls = [r for r in runs if r.grid == "scale_class_wide"]
    for r in wide + cls:
        c = r.config
        assert c.k >= c.n_classes + 1 and c.max_steps is None and c.max_t == 40.0
        assert c.telemetry_every <= 1 / (5 * c.lr) + 1e-9
    seeds: dict[float, set[int]] = {}
    for r in wide:
        seeds.setdefault(r.config.lr, set()).add(r.config.seed)
    span = [lr for lr, s in seeds.items() if len(s) >= 3]
    assert max(span) / min(span) >= 10 - 1e-9
    by_nc: dict[int, set[int]] = {}
    for r in cls:
        by_nc.setdefault(r.config.n_classes, set()).add(r.config.seed)
        assert r.config.experiment == "class_sweep" and r.config.n_data == 512
    assert by_nc == {nc: {0, 1, 2} for nc in (2, 3, 5, 10)}
