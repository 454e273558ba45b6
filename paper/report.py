"""``paper report``: the Markdown report and its figures, from records only.

Layout of report.md: the headline table (claims × regimes), then one row per claim with the
papers' published value (:mod:`simlab.paper.published`), the toy statistic and verdict and the
scale statistic and verdict side by side (verdicts from :func:`simlab.claims.evaluate`, run on
each regime's records separately); the two questions beyond the papers; the bridge table; the
figures, each with a one-line reading computed from the records; the runs (configs, wall time)
and the environment; the commands that regenerate it.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from simlab.claims import (CLAIM_IDS, CLAIM_TEXT, INCONCLUSIVE, Verdict, evaluate,
                           late_rho, load_records, n_classes, ratio_gap_index, regime, spectrum,
                           stats, Thresholds)
from simlab.errors import UsageError
from simlab.paper.bridge import PATHS, QUANTITIES
from simlab.paper.published import CANNOT, PUBLISHED
from simlab.record import Record

REGIMES = ("toy", "scale")


def _cell(text: str, n: int = 160) -> str:
    text = str(text).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def split(records: list[Record]) -> dict[str, list[Record]]:
    """Records per regime (toy, scale); bridge records go to their own table."""
    return {g: [r for r in records if regime(r) == g] for g in REGIMES}


def verdicts(records: list[Record], th: Thresholds = Thresholds()) -> dict[str, dict[str, Verdict]]:
    """{regime: {claim id: Verdict}} — simlab.claims.evaluate on each regime's records."""
    by = split(records)
    return {g: {v.id: v for v in evaluate(by[g], th)} for g in REGIMES}


def _verdict_cell(v: Verdict, g: str) -> str:
    why = v.reason
    if v.status == INCONCLUSIVE and (g, v.id) in CANNOT:
        why = f"{why}; {CANNOT[(g, v.id)]}"
    return f"**{v.status}** — {_cell(why)}"


# ------------------------------------------------------------------------------ beyond the papers

def _in(r: Record, part: str) -> bool:
    return f"/{part}/" in r.path.as_posix() + "/"


def outlier_rows(records: list[Record], th: Thresholds = Thresholds()) -> list[dict]:
    """S8 on the class-sweep and MSE runs: Sagun's outlier count (full spectrum) beside the
    number of late ρ_i ≥ 0.69 and the index of the largest late ρ_i/ρ_{i+1}, with n_c."""
    rows = []
    for r in records:
        if regime(r) not in REGIMES or not (_in(r, "class_sweep") or _in(r, "mse_edge")):
            continue
        nc = n_classes(r)
        lam = spectrum(r)
        rho = late_rho(r, th)
        rows.append({
            "regime": regime(r), "run": r.name, "loss": r.config.get("loss", "ce"),
            "n_classes": nc,
            "sagun_outliers": stats(lam, nc, th)["outlier_count"] if lam is not None else None,
            "lowell_edge_count": int(np.sum(rho >= th.rho_edge)) if rho is not None else None,
            "rho_gap_index": ratio_gap_index(rho)[0] if rho is not None else None,
            "max_late_rho": float(rho[0]) if rho is not None and len(rho) else None,
        })
    rows.sort(key=lambda x: (x["regime"], x["loss"], x["n_classes"] or 0))
    return rows


def _show(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


# ------------------------------------------------------------------------------ bridge

def bridge_rows(records: list[Record]) -> list[dict]:
    rows = []
    for r in records:
        if regime(r) != "bridge" or not r.summary:
            continue
        s = r.summary
        for path in PATHS:
            a = s["agreement"][path]
            rows.append({"run": r.name, "net": s["net"], "dataset": s["dataset"],
                         "n_params": s["n_params"], "points": s["n_telemetry"], "path": path,
                         "tol": a[QUANTITIES[0]]["tol"],
                         "lanczos_tol": s["lanczos_tol"][path],
                         **{q: a[q]["max_rel_diff"] for q in QUANTITIES},
                         "agrees": s["all_agree"][path],
                         "matvecs": s["mean_matvecs_per_point"][path],
                         "seconds": s["seconds"][path], "seconds_exact": s["seconds"]["exact"]})
    return rows


# ------------------------------------------------------------------------------ figures

def figures(records: list[Record], out: Path) -> list[tuple[Path, str]]:
    """(png, one-line reading) pairs; the reading is computed from the same numbers drawn."""
    from simlab import plots

    plt = plots.plt
    out.mkdir(parents=True, exist_ok=True)
    made: list[tuple[Path, str]] = []
    by = split(records)

    # toy lr sweep: ρ_i over t at the smallest η (Lowell Fig. 1 in the toy regime)
    lr_runs = [r for r in by["toy"] if r.doc.get("experiment") == "lr_sweep" and r.telemetry]
    if lr_runs:
        r = min(lr_runs, key=lambda r: r.config.get("lr", 0))
        nc = n_classes(r)
        t = [p["t"] for p in r.telemetry]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        m = min(len(p["rho"]) for p in r.telemetry)
        ys = {f"ρ_{i + 1}": [p["rho"][i] for p in r.telemetry] for i in range(min(m, nc + 1))}
        plots.series(ax, t, ys, xlabel="t = nη", ylabel="ρ_i = ηλ_i/2", hlines=(1.0,))
        ax.set_title(f"toy: digits MLP, η = {r.config.get('lr')}, n_c = {nc}", fontsize=9)
        p = plots.save(fig, out / "toy_rho_smallest_lr.png")
        a = max(ys[f"ρ_{nc - 1}"]) if f"ρ_{nc - 1}" in ys else float("nan")
        b = max(ys[f"ρ_{nc}"]) if f"ρ_{nc}" in ys else float("nan")
        made.append((p, f"toy regime, η = {r.config.get('lr')}: max ρ_{nc - 1} = {a:.3g}, "
                        f"max ρ_{nc} = {b:.3g} (edge = 1; L1 asks ≥ 0.69 and ≤ 0.25)"))

    # outliers vs classes, both regimes, CE and MSE
    rows = [x for x in outlier_rows(records) if x["n_classes"]]
    if rows:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ncs = sorted({x["n_classes"] for x in rows})
        ax.plot(ncs, [n - 1 for n in ncs], "k:", label="n_c − 1")
        for (g, loss), mk in zip([(g, l) for g in REGIMES for l in ("ce", "mse")], "osD^"):
            sel = [x for x in rows if x["regime"] == g and x["loss"] == loss]
            if not sel:
                continue
            xs = [x["n_classes"] for x in sel]
            ax.plot(xs, [_nan(x["rho_gap_index"]) for x in sel], mk + "-",
                    label=f"{g} {loss}: largest late ρ_i/ρ_(i+1) at i")
            if any(x["sagun_outliers"] is not None for x in sel):
                ax.plot(xs, [_nan(x["sagun_outliers"]) for x in sel], mk + "--", alpha=0.6,
                        label=f"{g} {loss}: Sagun outliers")
        ax.set_xlabel("classes n_c")
        ax.set_ylabel("count / index")
        ax.legend(fontsize=6)
        p = plots.save(fig, out / "outliers_vs_classes.png")
        hits = {g: sum(x["rho_gap_index"] == x["n_classes"] - 1 for x in rows
                       if x["regime"] == g and x["loss"] == "ce") for g in REGIMES}
        tot = {g: sum(1 for x in rows if x["regime"] == g and x["loss"] == "ce") for g in REGIMES}
        made.append((p, "ρ gap index equals n_c − 1 in " + ", ".join(
            f"{hits[g]}/{tot[g]} {g} CE runs" for g in REGIMES if tot[g])
            + "; dashed: Sagun's outlier count on the same runs (toy)"))

    # bridge: exact vs Lanczos eigenvalues at the last point
    for r in records:
        if regime(r) != "bridge" or not (r.path / "bridge_points.json").exists():
            continue
        pts = json.loads((r.path / "bridge_points.json").read_text())
        if not pts:
            continue
        last = pts[-1]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        i = np.arange(1, len(last["exact"]["eigenvalues"]) + 1)
        ax.plot(i, last["exact"]["eigenvalues"], "ko", label="exact (dense eigh, float64)")
        for path, mk in zip(PATHS, ("x", "+")):
            ax.plot(i[:len(last[path]["eigenvalues"])], last[path]["eigenvalues"], mk,
                    ms=9, label=path.replace("_", " "))
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_xlabel("i")
        ax.set_ylabel("λ_i")
        ax.legend(fontsize=7)
        ax.set_title(f"bridge {r.summary['net']}: step {last['step']}", fontsize=9)
        p = plots.save(fig, out / f"bridge_{r.name}_eigenvalues.png")
        d = {path: last[f"diff_{path}"]["eigenvalues"] for path in PATHS}
        made.append((p, f"bridge {r.summary['net']} at step {last['step']}: top-"
                        f"{len(i)} eigenvalues differ from the exact ones by at most "
                        + ", ".join(f"{v:.1e} ({k})" for k, v in d.items()) + " (relative)"))

    # toy width sweep: spectra after training (Sagun Fig. 3)
    ws = sorted([r for r in by["toy"] if r.doc.get("experiment") == "width_sweep"
                 and spectrum(r) is not None], key=lambda r: r.config.get("hidden", 0))
    if ws:
        fig, axes = plt.subplots(1, len(ws), figsize=(3 * len(ws), 3), squeeze=False)
        fr = []
        for ax, r in zip(axes[0], ws):
            lam = spectrum(r)
            plots.spectrum_histogram(ax, lam, bins=40)
            s = stats(lam, n_classes(r) or 2, Thresholds())
            fr.append((lam.size, s["near_zero_fraction"], s["outlier_count"]))
            ax.set_title(f"h={r.config.get('hidden')}: {lam.size} params", fontsize=8)
        p = plots.save(fig, out / "toy_width_spectra.png")
        made.append((p, "near-zero fraction / outliers by size: " + ", ".join(
            f"{n}: {f:.2f} / {o}" for n, f, o in fr)))

    # the scale regime's own figures (Lowell Fig. 1–6), without the MSE runs
    scale_dirs = [r.path for r in by["scale"] if not _in(r, "mse_edge")]
    if scale_dirs:
        try:
            from simlab.scale.figures import make_figures

            for p in make_figures(scale_dirs, out / "scale"):
                made.append((Path(p), f"scale regime: {Path(p).stem.replace('_', ' ')} "
                                      "(scale.figures, Lowell's figure of the same number)"))
        except Exception as e:  # a figure that cannot be drawn must not sink the report
            made.append((out / "scale", f"scale figures not drawn: {e}"))
    return made


def _nan(x):
    return float("nan") if x is None else x


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
    s = r.summary or {}
    for k in ("wall_time_total", "wall_time"):
        if isinstance(s.get(k), (int, float)):
            return float(s[k])
    return None


def _config_brief(r: Record) -> str:
    c = r.config
    keys = ("dataset", "arch", "width", "hidden", "depth", "net", "activation", "loss", "lr",
            "classes", "n_classes", "n_data", "std", "schedule", "max_steps", "max_t", "seed")
    return ", ".join(f"{k}={c[k]}" for k in keys if c.get(k) is not None)


def render(records: list[Record], runs_dir: Path, fig_list: list[tuple[Path, str]],
           report_path: Path, preset: str | None = None) -> str:
    from simlab.record import git_commit

    table = verdicts(records)
    by = split(records)
    n_bridge = sum(regime(r) == "bridge" for r in records)
    env = _env(records)
    preset_flag = f" --preset {preset}" if preset else ""
    out = ["# simlab: does each finding hold across regimes?", "",
           f"Generated by `python -m simlab paper report` on {time.strftime('%Y-%m-%d %H:%M')} "
           f"from {len(records)} records under `{_rel(runs_dir, report_path.parent.parent)}` "
           f"({len(by['toy'])} toy, {len(by['scale'])} scale, {n_bridge} bridge); report code at "
           f"commit `{git_commit()}`; records made at commit(s) `{env.get('git_commit', '?')}` "
           f"on `{env.get('hostname', '?')}` ({env.get('platform', '?')}, "
           f"{env.get('cpu_count', '?')} CPUs, device {env.get('device', 'cpu')}).",
           "Verdicts are `simlab.claims.evaluate` on each regime's records separately; "
           "`inconclusive` says what was missing, `reported` is a measurement without a verdict.",
           "", "## Headline: claims × regimes", "",
           "| id | claim | toy | scale |", "|---|---|---|---|"]
    for cid in CLAIM_IDS:
        out.append(f"| {cid} | {CLAIM_TEXT.get(cid, '')} | {table['toy'][cid].status} | "
                   f"{table['scale'][cid].status} |")
    out += ["", "## Each claim: the paper's value, the toy regime, the scale regime", "",
            "The middle column quotes the papers' published values "
            "(`paper/published.py`); they are not measurements.", "",
            "| id | paper (published) | toy: statistic and verdict | scale: statistic and verdict |",
            "|---|---|---|---|"]
    for cid in CLAIM_IDS:
        out.append(f"| {cid} | {_cell(PUBLISHED.get(cid, ''), 200)} | "
                   f"{_verdict_cell(table['toy'][cid], 'toy')} | "
                   f"{_verdict_cell(table['scale'][cid], 'scale')} |")

    rows = outlier_rows(records)
    out += ["", "## Beyond the papers", "",
            "**Outliers vs classes (S8).** On the same runs: Sagun's outlier count (eigenvalues "
            "above the largest gap λ_i/λ_(i+1) ≥ 3, i ≤ 2n_c; needs the full spectrum), Lowell's "
            "edge count (late ρ_i ≥ 0.69) and the index of the largest late ρ_i/ρ_(i+1). "
            "**MSE instead of cross-entropy.** Y2 predicts n_c output directions under MSE "
            "instead of n_c − 1: does the ρ gap move from n_c − 1 to n_c?", ""]
    if rows:
        out += ["| regime | loss | n_c | n_c − 1 | Sagun outliers | Lowell edge count | ρ gap index | max late ρ_1 | run |",
                "|---|---|---|---|---|---|---|---|---|"]
        out += [f"| {x['regime']} | {x['loss']} | {x['n_classes']} | {x['n_classes'] - 1} | "
                f"{_show(x['sagun_outliers'])} | {_show(x['lowell_edge_count'])} | "
                f"{_show(x['rho_gap_index'])} | {_show(x['max_late_rho'])} | {x['run']} |"
                for x in rows]
        for g in REGIMES:
            mse = [x for x in rows if x["regime"] == g and x["loss"] == "mse"
                   and x["rho_gap_index"] is not None]
            if mse:
                at_nc = sum(x["rho_gap_index"] == x["n_classes"] for x in mse)
                at_nc1 = sum(x["rho_gap_index"] == x["n_classes"] - 1 for x in mse)
                out.append(f"\nMSE, {g}: the ρ gap sits at n_c in {at_nc} and at n_c − 1 in "
                           f"{at_nc1} of {len(mse)} runs.")
    else:
        out.append("No class-sweep or MSE runs among the records.")

    brows = bridge_rows(records)
    out += ["", "## The bridge: one net, both measurement paths", "",
            "Each telemetry point of one training run measured by the toy regime's dense float64 "
            "Hessian + eigh (the reference) and by the scale regime's HVP + Lanczos, in float64 "
            "and in float32. Entries: max over telemetry points (and over i ≤ k for λ_i, ρ_i) of "
            "|q − q_exact|/|q_exact|; for ΔL_top and ΔL_bulk (differences of two losses) the "
            "denominator is max(|ΔL_exact|, 4u·L), u the unit roundoff of the path's dtype, since "
            "a loss difference below the rounding of L cannot be resolved.", ""]
    if brows:
        out += ["| net | params | points | path (ARPACK tol) | λ_i | ρ_i | ‖P_top g‖ | ‖P_bulk g‖ | ratio | ΔL_top | ΔL_bulk | tolerance | agrees | HVPs/point | s (path / exact) |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in brows:
            out.append(f"| {x['net']} ({x['dataset']}) | {x['n_params']} | {x['points']} | "
                       f"{x['path']} ({x['lanczos_tol']:g}) | "
                       + " | ".join(f"{x[q]:.1e}" for q in QUANTITIES)
                       + f" | {x['tol']:g} | {'yes' if x['agrees'] else '**no**'} | "
                         f"{x['matvecs']:.0f} | {x['seconds']:.1f} / {x['seconds_exact']:.1f} |")
    else:
        out.append("No bridge records.")

    out += ["", "## Figures", ""]
    for p, reading in fig_list:
        if p.suffix == ".png":
            out += [f"![{p.stem}]({_rel(p, report_path.parent)})", "", f"*{reading}*", ""]
        else:
            out += [f"- {reading}", ""]

    out += ["## Runs", "", "| run | regime | experiment | config | steps | stop | wall s |",
            "|---|---|---|---|---|---|---|"]
    total = 0.0
    for r in sorted(records, key=lambda r: str(r.path)):
        s = r.summary or {}
        w = _wall(r)
        total += w or 0.0
        out.append(f"| {_rel(r.path, runs_dir)} | {regime(r)} | {r.doc.get('experiment')} | "
                   f"{_cell(_config_brief(r), 200)} | {_show(s.get('steps'))} | "
                   f"{_show(s.get('stop_reason'))} | {_show(w)} |")
    out += ["", f"Total wall time of the runs: {total / 60:.1f} min.", "",
            "## Environment", ""] + [f"- {k}: `{v}`" for k, v in env.items()]
    out += ["", "## Regenerate", "", "```",
            "pip install -e .",
            f"python -m simlab paper run{preset_flag} --runs {_rel(runs_dir, report_path.parent.parent)}",
            f"python -m simlab paper report --runs {_rel(runs_dir, report_path.parent.parent)}"
            + (f" --out {_rel(report_path, report_path.parent.parent)}" if report_path.name != "report.md" else "")
            + preset_flag,
            "```", ""]
    return "\n".join(out)


def write_report(runs_dir: Path | str, out: Path | str, fig_dir: Path | str,
                 preset: str | None = None) -> Path:
    runs_dir, out, fig_dir = Path(runs_dir), Path(out), Path(fig_dir)
    if not runs_dir.exists():
        raise UsageError(f"no runs under {runs_dir}; run `python -m simlab paper run` first "
                         "or pass --runs DIR")
    records = [r for r in load_records([runs_dir]) if r.summary is not None]
    if not records:
        raise UsageError(f"no complete records under {runs_dir}; run `python -m simlab paper run`")
    figs = figures(records, fig_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(records, runs_dir, figs, out, preset))
    return out
