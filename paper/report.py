"""``paper report``: the Markdown report and its figures, from records only.

Layout of report.md: the headline table (claims × regimes); "What we found", sentences built
from the verdicts and their statistics; one row per claim with the papers' published value
(:mod:`simlab.paper.published`) beside the toy and the scale statistic and verdict (verdicts
from :func:`simlab.claims.evaluate` on each regime's records separately); where every Lowell run
was relative to the edge (reached?, iterations on the edge, edge count vs n_c − 1, max ρ_1, η);
the runs set aside and why; the ‖g‖ of every Sagun verdict; S8 and MSE; the bridge; the
figures (:mod:`simlab.figures`), each with a reading computed from the records; the runs, the
environment and the commands that regenerate it. Every number comes through
:mod:`simlab.claims.readers`; files are written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from simlab.claims import (CLAIM_IDS, FAILS, HOLDS, INCONCLUSIVE, MIXED, NOT_APPLICABLE,
                           Thresholds, Verdict, load_records, readers as rd)
from simlab.claims.lowell import OTHER_PROTOCOLS
from simlab.errors import UsageError
from simlab.paper.bridge import PATHS, QUANTITIES
from simlab.paper.edgemap import edge_map_section, where_sentence
from simlab.paper.headline import (REGIMES, _cell, _rel, _show, choices_section,  # noqa: F401
                                   coverage, headline, not_applicable_section, split, verdicts)
from simlab.paper.published import CANNOT, PUBLISHED
from simlab.record import Record, cpu_seconds, wall_seconds

EDGE_CLAIMS = ("L1", "L2", "L3", "L4", "L5", "L6", "L7", "L10")




def _verdict_cell(v: Verdict, g: str) -> str:
    why = v.reason
    if v.status in (INCONCLUSIVE, NOT_APPLICABLE) and (g, v.id) in CANNOT:
        why = f"{why}; {CANNOT[(g, v.id)]}"
    return f"**{v.status}** — {_cell(why, 400)}"


# ------------------------------------------------------------------------------ tables


def edge_rows(records: Sequence[Record], th: Thresholds = Thresholds()) -> list[dict]:
    """readers.edge_row for every run with ρ telemetry, both regimes."""
    rows = [rd.edge_row(r, th) for r in records if rd.regime(r) in REGIMES
            and any(p.get("rho") for p in r.telemetry)]
    return sorted(rows, key=lambda x: (x["regime"], str(x["experiment"]), x["n_data"] or 0,
                                       x["lr"] or 0, x["seed"] or 0, x["run"]))


def excluded_rows(records: Sequence[Record]) -> list[tuple[str, str, str, str]]:
    """(regime, experiment, run, why) of every run set aside by readers.validity."""
    out = []
    for r in records:
        if rd.regime(r) not in REGIMES:
            continue
        ok, why = rd.validity(r)
        if not ok:
            out.append((rd.regime(r), str(rd.experiment(r)), rd.label(r), why))
    return sorted(out)


def bridge_rows(records: list[Record]) -> list[dict]:
    rows = []
    for r in records:
        if rd.regime(r) != "bridge" or not r.summary:
            continue
        s = r.summary
        for path in PATHS:
            a = s["agreement"][path]
            rows.append({"run": r.name, "net": s["net"], "dataset": s["dataset"],
                         "n_params": s["n_params"], "points": s["n_telemetry"], "path": path,
                         "tol": a[QUANTITIES[0]]["tol"], "lanczos_tol": s["lanczos_tol"][path],
                         **{q: a[q]["max_rel_diff"] for q in QUANTITIES},
                         "agrees": s["all_agree"][path],
                         "matvecs": s["mean_matvecs_per_point"][path],
                         "seconds": s["seconds"][path], "seconds_exact": s["seconds"]["exact"]})
    return rows


# ------------------------------------------------------------------------------ what we found


def _span(xs: Sequence[int]) -> str:
    """'3' or '1–4': the range of integers seen."""
    return f"{min(xs)}" if min(xs) == max(xs) else f"{min(xs)}–{max(xs)}"


def _edge_sentence(g: str, rows: list[dict]) -> str:
    # Lowell's constant-η protocol: not the other papers' runs, not the flows (their ρ reads
    # η_max), not the [K] runs (a gauss_newton run repeats an η-sweep seed with the probe)
    mine = [x for x in rows if x["regime"] == g and x["valid"] and x["lowell"]
            and x["experiment"] not in OTHER_PROTOCOLS + rd.KASTNER_EXPERIMENTS + ("gradient_flow",)]
    if not mine:
        return f"The {g} regime has no valid run of Lowell's protocol with ρ telemetry."
    on = [x for x in mine if x["reached"]]
    best = max(mine, key=lambda x: x["max_rho_1"] or 0)
    crossed = [x for x in mine if x["crossed"] and not x["reached"]]
    s = (f"In the {g} regime {len(on)} of {len(mine)} valid runs of Lowell's protocol reached the "
         f"edge (entered at ρ_1 ≥ 1, then ≥ 5 points with ρ_1 ≥ 0.8; the highest ρ_1 was "
         f"{_show(best['max_rho_1'])} at η = {_show(best['lr'])}); "
         f"{len(mine) - len(on) - len(crossed)} never crossed ρ_1 = 1.")
    if on:
        match = sum(x["edge_count"] == x["n_c_minus_1"] for x in on)
        by: dict = {}
        for x in on:
            if x["n_c_minus_1"] is not None and x["edge_count"] is not None:
                by.setdefault(x["n_c_minus_1"], []).append(x["edge_count"])
        s += (f" On the edge, the edge count equalled n_c − 1 in {match} of {len(on)} runs; "
              "edge count where Lowell predicts n_c − 1: " + "; ".join(
                  f"n_c − 1 = {k}: {_span(v)} ({len(v)} runs)" for k, v in sorted(by.items()))
              + ".")
    sparse = [x for x in mine if x["cadence_ok"] is False]
    if sparse:
        s += (f" {len(sparse)} of these runs had telemetry sparser than 1/(5η) "
              f"({', '.join(x['run'] for x in sparse[:4])}): too sparse to see a short edge "
              "phase.")
    return s


def _why(v: Verdict) -> str:
    """The verdict's reason without the list of excluded runs (shown in its own section)."""
    cut = f" [{len(v.excluded)} run(s) excluded"
    return v.reason.split(cut)[0] if v.excluded else v.reason


def _gist(v: Verdict, n: int) -> str:
    """The deciding numbers of a verdict, without run labels."""
    return _cell(v.gist or _why(v), n)


def _claims_sentence(g: str, table: dict[str, Verdict], ids: Sequence[str], what: str) -> list[str]:
    out = []
    for status, word in ((HOLDS, "hold"), (FAILS, "fail"), (MIXED, "hold in some settings and fail in others")):
        got = [table[c] for c in ids if table[c].status == status]
        if got:
            out.append(f"{what} that {word} in the {g} regime: " + "; ".join(
                f"**{v.id}** ({v.tally}: {_gist(v, 240)})" for v in got) + ".")
    na = [table[c] for c in ids if table[c].status == NOT_APPLICABLE]
    if na:
        out.append(f"{what} that no {g} run can test: " + "; ".join(
            f"**{v.id}** ({_gist(v, 200)})" for v in na) + ".")
    undecided = [v.id for v in (table[c] for c in ids) if v.status == INCONCLUSIVE]
    if undecided:
        out.append(f"{what} the {g} regime leaves undecided (split seeds, too few seeds or no "
                   f"runs): {', '.join(undecided)}.")
    return out


def what_we_found(records: list[Record], table: dict[str, dict[str, Verdict]],
                  rows: list[dict], edge_map: list[dict] = ()) -> list[str]:
    """Plain sentences built from the verdicts and the measured numbers (nothing hard-coded);
    ``edge_map``: readers.edge_map's rows, read out per regime (:func:`where_sentence`)."""
    out = ["## What we found", ""]
    on = [u for u in edge_map if u["edge_count"] is not None]
    for g in REGIMES:
        t = table[g]
        out.append(f"- {_edge_sentence(g, rows)}")
        where = where_sentence(on, g)
        if where:
            out.append(f"- {where}")
        out += [f"- {s}" for s in _claims_sentence(g, t, EDGE_CLAIMS, "Lowell's edge claims")]
        out += [f"- {s}" for s in _claims_sentence(g, t, ("L8", "L9"),
                                                    "Lowell's gradient-flow claims")]
        out += [f"- {s}" for s in _claims_sentence(g, t, ("K1", "K2"),
                                                    "Lowell & Kastner 2024's claims")]
        out += [f"- {s}" for s in _claims_sentence(g, t, [c for c in CLAIM_IDS if c[0] in "SF"],
                                                    "Sagun's and the essay's claims")]
    sep = separability_sentence(records, table["toy"])
    if sep:
        out.append(f"- {sep}")
    sag = [r for r in records if rd.experiment(r) in rd.SAGUN_EXPERIMENTS and rd.grad_norm(r)]
    if sag:
        gs = [rd.grad_norm(r) for r in sag]
        out.append(f"- Sagun's runs ended at ‖g‖ between {min(gs):.2g} and {max(gs):.2g}; "
                   f"{sum(x <= 1e-4 for x in gs)} of {len(gs)} reached Sagun's ‖g‖ ≤ 1e−4 and "
                   f"{sum(x <= 1e-3 for x in gs)} the near-critical ‖g‖ ≤ 1e−3 that S6 and F2 need.")
    scope = scale_scope_sentence(records)
    if scope:
        out.append(f"- {scope}")
    ex = excluded_rows(records)
    if ex:
        out.append(f"- {len(ex)} runs were set aside (diverged, stopped early or met the stop "
                   "rule at initialisation); they are listed below with their reasons.")
    return out + [""]


def separability_sentence(records: list[Record], table: dict[str, Verdict],
                          ids: Sequence[str] = ("S1", "S2", "S4", "S6")) -> str | None:
    """Sagun's toy verdicts split by whether the nets separate their data, CLAIMS.md's main case
    against its control: a setting is on non-separable data when each of its runs ends with
    training accuracy < 1, on separable data when each ends at 1 (else it has both)."""
    acc = {rd.label(r): rd.final_accuracy(r) for r in records}
    parts = {"non-separable": [], "separable": [], "both": []}
    for cid in ids:
        v = table.get(cid)
        tally: dict[str, list] = {k: [] for k in parts}
        for st in (v.settings if v else ()):
            a = [acc.get(name) for name, *_ in st.seeds]
            if not a or None in a:
                continue
            kind = ("separable" if all(x >= 1 for x in a) else
                    "non-separable" if all(x < 1 for x in a) else "both")
            tally[kind].append(st)
        for kind, sts in tally.items():
            if sts:
                fails = [st.name for st in sts if st.status == FAILS]
                held = sum(st.status == HOLDS for st in sts)
                parts[kind].append(f"{cid} holds in {held} of {len(sts)}"
                                   + (f" (fails: {', '.join(fails)})" if fails else ""))
    said = {"non-separable": "on data the nets do not separate (training accuracy < 1 at the end, "
                             "CLAIMS.md's main case)",
            "separable": "on data they separate (accuracy 1: the nearly separable control)",
            "both": "in settings whose seeds do both"}
    got = [f"{said[k]}: {'; '.join(v)}" for k, v in parts.items() if v]
    return ("Sagun's toy settings by separability — " + "; ".join(got) + ".") if got else None


def scale_scope_sentence(records: list[Record]) -> str | None:
    """How far the scale records are from the papers' size: their presets and devices, the
    largest net and n_D among them; the ``paper`` preset said untested when no record ran it
    (issue 22: without an accelerator the report says so)."""
    # a continuation's config is its paths' (no preset): its source's preset speaks for it
    sc = [r for r in records if rd.regime(r) == "scale" and r.config.get("preset")]
    if not sc:
        return None
    presets = sorted({str(r.config.get("preset")) for r in sc})
    devices = sorted({str((r.summary or {}).get("device", "?")) for r in sc})
    params = max(((r.summary or {}).get("n_params") or 0) for r in sc)
    n_d = max((r.config.get("n_data") or 0) for r in sc)
    from simlab.scale.config import PRESETS

    whose = "presets'" if len(presets) > 1 else "preset's"
    s = (f"The scale records are the `{'`, `'.join(presets)}` {whose} runs on "
         f"{', '.join(devices)}, the "
         f"largest net {params:,} parameters and the largest n_D {n_d:,}.")
    if "paper" not in presets:
        p = PRESETS["paper"]
        s += (f" The `paper` preset ({p.arch} at width {p.width:g}, n_D = "
              f"{'the whole training set' if p.n_data is None else f'{p.n_data:,}'}, η down to "
              f"{min(p.lrs):g}, top {p.k}) is untested at scale: no record ran it" +
              ("; none was made on an accelerator." if not any(d.startswith("cuda") for d in devices)
               else "."))
    return s


# ------------------------------------------------------------------------------ F1's estimator


def slq_section(path: Path | None = None) -> list[str]:
    """The SLQ validation (``python -m simlab.paper.slq_validation``'s measurement against the bridge
    CNN's exact Hessian) that decides at which band F1 reads a scale density."""
    import json

    from simlab.paper.slq_validation import table
    from simlab.density import SLQ_VALIDATION

    path = Path(path) if path is not None else SLQ_VALIDATION
    out = ["## F1's estimator: SLQ validated against the exact Hessian", ""]
    if not path.is_file():
        return out + [f"No validation measured ({path.name} absent; `python -m simlab.paper."
                      "slq_validation` measures it): every scale density is unvalidated and F1 at "
                      "scale is inconclusive.", ""]
    return out + [
        "The scale regime has no dense Hessian, so its near-zero fraction comes from stochastic "
        "Lanczos quadrature (SLQ). F1 reads each scale density only at the narrowest band "
        "|λ| ≤ ε·λ_1 that its settings (probes × Lanczos steps) resolve within the tolerance on "
        "the bridge CNN, whose exact Hessian is known; a record re-measured at 4 × 160 "
        "(`python -m simlab scale --remeasure-density`) is read at the finer band. Measured by "
        f"`python -m simlab.paper.slq_validation` into `simlab/{path.name}`:", "",
        "```", table(json.loads(path.read_text())).rstrip(), "```", ""]


# ------------------------------------------------------------------------------ the report


def _env(records: list[Record]) -> dict:
    keys = ("simlab", "python", "torch", "numpy", "scipy", "platform", "hostname", "cpu_count",
            "torch_threads", "git_commit", "device")
    out = {}
    for k in keys:
        vals = sorted({str(r.doc.get("environment", {}).get(k)) for r in records
                       if r.doc.get("environment", {}).get(k) is not None})
        if vals:
            out[k] = ", ".join(vals)
    return out


def _wall(r: Record) -> float | None:
    return wall_seconds(r.summary)


def _config_brief(r: Record) -> str:
    c = r.config
    keys = ("dataset", "arch", "width", "hidden", "depth", "net", "activation", "loss", "lr",
            "classes", "n_classes", "n_data", "std", "schedule", "max_steps", "max_t", "seed")
    return ", ".join(f"{k}={c[k]}" for k in keys if c.get(k) is not None)


def _tables(records: list[Record], table, rows) -> list[str]:
    out = ["## Where each run was: the edge of stability", "",
           "Per run with ρ telemetry (`simlab.claims.readers.edge`): a run enters the edge at "
           "the first point with ρ_1 ≥ 1 (step 0 never counts; after a catapult only once ρ_1 "
           "fell below 1 and rose again) and reached it with ≥ 5 points with ρ_1 ≥ 0.8 after "
           "entering; the edge count is the number of i whose ρ_i reaches 0.69 in at least half "
           "of the on-edge windows of ⌈1/η⌉ iterations, beside n_c − 1; cadence: telemetry "
           "every ≤ 1/(5η) iterations through the edge phase.", "",
           "| run | regime | experiment | n_D | seed | η | reached | iterations on the edge | "
           "on-edge points | edge count | n_c − 1 | max ρ_1 (step) | cadence ok | valid |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        out.append(f"| {x['run']} | {x['regime']} | {x['experiment']} | {_show(x['n_data'])} | "
                   f"{_show(x['seed'])} | {_show(x['lr'])} | "
                   f"{_show(x['reached'])} | {x['iterations_on_edge']} | {x['on_edge_points']} | "
                   f"{_show(x['edge_count'])} | {_show(x['n_c_minus_1'])} | "
                   f"{_show(x['max_rho_1'])} ({_show(x['max_rho_1_step'])}) | "
                   f"{_show(x['cadence_ok'])} | {'yes' if x['valid'] else _cell(x['invalid_reason'], 80)} |")
    if not rows:
        out.append("| – | | | | | | | | | | | | | |")
    ex = excluded_rows(records)
    out += ["", "## Runs set aside", "",
            "Excluded from every verdict (CLAIMS.md): diverged, stopped within the first 1/η "
            "iterations, or stop rule met at initialisation.", ""]
    out += ([f"- {g} / {e} / `{n}`: {why}" for g, e, n, why in ex] or ["None."])
    out += ["", "## Sagun's verdicts and the ‖g‖ they were measured at", "",
            "| id | regime | verdict | ‖g‖ of the runs used |", "|---|---|---|---|"]
    by = split(records)
    for cid in [c for c in CLAIM_IDS if c[0] == "S"] + ["F1", "F2"]:
        for g in REGIMES:
            v = table[g][cid]
            used = [r for r in by[g] if rd.label(r) in set(v.runs)]
            out.append(f"| {cid} | {g} | {v.status} | {rd.grad_note(used) if used else '–'} |")
    return out


def render(records: list[Record], runs_dir: Path, fig_list, report_path: Path,
           preset: str | None = None, th: Thresholds = Thresholds()) -> str:
    from simlab.figures import s8_rows, table1
    from simlab.record import git_commit

    table = verdicts(records, th)
    by = split(records)
    rows = edge_rows(records, th)
    n_bridge = sum(rd.regime(r) == "bridge" for r in records)
    env = _env(records)
    preset_flag = f" --preset {preset}" if preset else ""
    base = report_path.parent.parent
    out = ["# simlab: does each finding hold across regimes?", "",
           f"Generated by `python -m simlab paper report` on {time.strftime('%Y-%m-%d %H:%M')} "
           f"from {len(records)} records under `{_rel(runs_dir, base)}` ({len(by['toy'])} toy, "
           f"{len(by['scale'])} scale, {n_bridge} bridge); report code at commit "
           f"`{git_commit()}`; records made at commit(s) `{env.get('git_commit', '?')}` on "
           f"`{env.get('hostname', '?')}` ({env.get('platform', '?')}, "
           f"{env.get('cpu_count', '?')} CPUs, device {env.get('device', 'cpu')}).",
           "Verdicts are `simlab.claims.evaluate` on each regime's records separately, by the "
           "rules of CLAIMS.md: a verdict is a map over settings (a config less its seed, judged "
           "on the median over ≥ 3 seeds); `not applicable` says why no run could test a claim, "
           "`inconclusive` that none of its settings was decided, `reported` is a measurement "
           "without a verdict.", ""]
    out += coverage(records, runs_dir, preset)
    out += headline(table)
    emap = rd.edge_map(records, th)
    out += what_we_found(records, table, rows, emap)
    out += edge_map_section(records, fig_list, report_path, th, emap)
    out += not_applicable_section(table)
    out += choices_section(table, th)
    out += ["## Each claim: the paper's value, the toy regime, the scale regime", "",
            "The middle column quotes the papers' published values (`paper/published.py`); they "
            "are not measurements.", "",
            "| id | paper (published) | toy: statistic and verdict | scale: statistic and verdict |",
            "|---|---|---|---|"]
    for cid in CLAIM_IDS:
        out.append(f"| {cid} | {_cell(PUBLISHED.get(cid, ''), 200)} | "
                   f"{_verdict_cell(table['toy'][cid], 'toy')} | "
                   f"{_verdict_cell(table['scale'][cid], 'scale')} |")
    out += [""] + _tables(records, table, rows)

    out += ["", "## Table 1 (L6): ΔL_top and ΔL_bulk on the edge", "",
            "Mean and standard deviation (ddof = 1) over the points of each run with "
            "ρ_(n_c−1) > 0.7 after entering the edge (the paper's reading and L6's), and over the "
            "on-edge points of the ρ_1 reading, from `simlab.claims.readers.table1`.", ""]
    for g in REGIMES:
        t1 = [r for r in rd.distinct(rd.split_valid(by[g])[0]) if rd.experiment(r) not in OTHER_PROTOCOLS
              and any(p.get("dl_top") is not None for p in r.telemetry)]
        out += [f"**{g}**", "", table1(t1, th) if t1 else "No valid run with ΔL telemetry.", ""]

    s8 = s8_rows(records, th)
    out += ["", "## Beyond the papers: outliers vs classes (S8), MSE", "",
            "On the class-sweep and MSE runs: Sagun's outlier count (eigenvalues above the "
            "largest i ≤ 2n_c with λ_i/λ_(i+1) ≥ 3; needs the full spectrum) beside Lowell's edge "
            "count (windowed reach of ρ_i ≥ 0.69; – when the run never reached the edge) and the "
            "index of the largest median on-edge ρ_i/ρ_(i+1). Y2 predicts n_c output directions "
            "under MSE instead of n_c − 1.", ""]
    if s8:
        out += ["| regime | loss | n_c | n_c − 1 | Sagun outliers | Lowell edge count | ρ gap index | reached edge | max ρ_1 | ‖g‖ | run |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {x['regime']} | {x['loss']} | {x['n_classes']} | {x['n_c_minus_1']} | "
                f"{_show(x['sagun_outliers'])} | {_show(x['lowell_edge_count'])} | "
                f"{_show(x['rho_gap_index'])} | {_show(x['reached_edge'])} | "
                f"{_show(x['max_rho_1'])} | {_show(x['grad_norm'])} | {x['run']} |" for x in s8]
    else:
        out.append("No valid class-sweep or MSE run among the records.")

    brows = bridge_rows(records)
    out += ["", "## The bridge: one net, both measurement paths", "",
            "Each telemetry point of one training run measured by the toy regime's dense float64 "
            "Hessian + eigh (the reference) and by the scale regime's HVP + Lanczos, in float64 "
            "and in float32. Entries: max over telemetry points (and over i ≤ k for λ_i, ρ_i) of "
            "|q − q_exact|/|q_exact|; for ΔL_top and ΔL_bulk (differences of two losses) the "
            "denominator is max(|ΔL_exact|, 4u·L), u the unit roundoff of the path's dtype, since "
            "a loss difference below the rounding of L cannot be resolved.", ""]
    if brows:
        out += ["| net | params | points | path (ARPACK tol) | " + " | ".join(QUANTITIES)
                + " | tolerance | agrees | HVPs/point | s (path / exact) |",
                "|---|---|---|---|" + "---|" * len(QUANTITIES) + "---|---|---|---|"]
        for x in brows:
            out.append(f"| {x['net']} ({x['dataset']}) | {x['n_params']} | {x['points']} | "
                       f"{x['path']} ({x['lanczos_tol']:g}) | "
                       + " | ".join(f"{x[q]:.1e}" for q in QUANTITIES)
                       + f" | {x['tol']:g} | {'yes' if x['agrees'] else '**no**'} | "
                         f"{x['matvecs']:.0f} | {x['seconds']:.1f} / {x['seconds_exact']:.1f} |")
    else:
        out.append("No bridge records.")

    out += [""] + slq_section()
    out += ["", "## Figures", ""]
    for p, reading in fig_list:
        if p is not None and p.suffix == ".png":
            out += [f"![{p.stem}]({_rel(p, report_path.parent)})", "", f"*{_cell(reading, 600)}*", ""]
        else:
            out += [f"- {reading}", ""]

    out += ["## Runs", "", "| run | regime | experiment | config | steps | stop | wall s |",
            "|---|---|---|---|---|---|---|"]
    total = 0.0
    for r in sorted(records, key=lambda r: str(r.path)):
        s = r.summary or {}
        w = _wall(r)
        total += w or 0.0
        out.append(f"| {_rel(r.path, runs_dir)} | {rd.regime(r)} | {rd.experiment(r)} | "
                   f"{_cell(_config_brief(r), 200)} | {_show(s.get('steps'))} | "
                   f"{_show(s.get('stop_reason'))} | {_show(w)} |")
    cpu = [c for r in records if (c := cpu_seconds(r.summary)) is not None]
    out += ["", f"Total wall time of the runs: {total / 60:.1f} min, one core each, inflated by "
            "whatever shared the machine as they ran; a quiet core's cost is their CPU time"
            + (f", which {len(cpu)} of the {len(records)} records state: {sum(cpu) / 60:.1f} min"
               if cpu else ", which records state from 2026-12-05 on (`bench/grid_cost_bench.py` "
               "measures it for older ones by rerunning a sample)") + ".", "",
            "## Environment", ""] + [f"- {k}: `{v}`" for k, v in env.items()]
    rel = _rel(runs_dir, base)
    if rel == "paper/records":   # the committed, compacted records: runs go to paper/runs first
        steps = [f"python -m simlab paper report{preset_flag}      # from the committed records",
                 f"python -m simlab paper run{preset_flag}         # the runs themselves, into paper/runs",
                 "python -m simlab paper compact        # paper/runs → paper/records",
                 f"python -m simlab paper report{preset_flag}"]
    else:
        steps = [f"python -m simlab paper run{preset_flag} --runs {rel}",
                 f"python -m simlab paper report --runs {rel}"
                 + (f" --out {_rel(report_path, base)}" if report_path.name != "report.md" else "")
                 + preset_flag]
    out += ["", "## Regenerate", "", "```", "pip install -e .", *steps, "```", ""]
    return "\n".join(out)


def write_report(runs_dir: Path | str, out: Path | str, fig_dir: Path | str,
                 preset: str | None = None) -> Path:
    from simlab.figures import report_figures
    from simlab.record import atomic_write_text

    runs_dir, out, fig_dir = Path(runs_dir), Path(out), Path(fig_dir)
    if not runs_dir.exists():
        raise UsageError(f"no runs under {runs_dir}; run `python -m simlab paper run` first "
                         "or pass --runs DIR")
    records = [r for r in load_records([runs_dir]) if r.summary is not None]
    if not records:
        raise UsageError(f"no complete records under {runs_dir}; run `python -m simlab paper run`")
    figs = report_figures(records, fig_dir, bridge_paths=PATHS)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, render(records, runs_dir, figs, out, preset))
    return out
