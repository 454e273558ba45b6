"""Every figure and table of the report, named after the papers' figures, reading records
through :mod:`simlab.claims.readers` (so a number drawn is the number a verdict used).

Lowell's figures of one regime (Fig. 1–6, Table 1) are :mod:`simlab.figures_lowell`'s
:func:`make_figures` (re-exported here, with the ``draw_*``/``fig_*`` functions of it and of
:mod:`simlab.figures_flow`); Sagun's
spectra are :mod:`simlab.figures_sagun`'s. This module adds the cross-regime figures and
:func:`report_figures`, which draws them all for the report. Each ``draw_*`` builds a
matplotlib Figure (constrained layout, legend outside the data) and its reading, one line
computed from the same numbers; each ``fig_*`` saves it as a PNG and returns
``(path, reading)``.

- ``outliers_vs_classes.png``   Sagun's outlier count and Lowell's edge count against n_c (S8)
- ``fig_l10_continuation.png``  GD / Bulk-GD / Top-GD loss curves from on-edge θ (L10)
- ``fig_edge_lambda_vs_nd.png`` on-edge λ_{n_c−1}, λ_{n_c} against n_D at fixed η
- ``bridge_<run>_eigenvalues.png``  exact vs Lanczos top eigenvalues of a bridge record
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import Thresholds
from simlab.figures_flow import (draw_cusp, draw_flow, draw_kastner, fig_cusp, fig_flow,  # noqa: F401
                                 fig_kastner)
from simlab.figures_lowell import (draw_entry, draw_profile, draw_projections,  # noqa: F401
                                   draw_rho, fig_entry, fig_profile, fig_projections, fig_rho,
                                   make_figures, table1)
from simlab.figures_sagun import sagun_figures
from simlab.plots import figure, integer_ticks, legend_outside, plt, save
from simlab.record import Record

TH = Thresholds()
Fig = tuple[Path, str]


# ---------------------------------------------------------------------------- beyond one regime


def s8_rows(records: Sequence[Record], th: Thresholds = TH) -> list[dict]:
    """S8 on the valid class-sweep and MSE runs of both regimes: readers.s8_row with the run's
    name and regime, sorted by regime, loss and n_c."""
    rows = [{"run": rd.label(r), "regime": rd.regime(r), **rd.s8_row(r, th)}
            for r in rd.split_valid(rd.of_experiment(records, "class_sweep", "mse"))[0]
            if rd.n_classes(r) and any(p.get("rho") for p in r.telemetry)]
    return sorted(rows, key=lambda x: (x["regime"], x["loss"], x["n_classes"], x["run"]))


def draw_outliers_vs_classes(rows: Sequence[dict]):
    """S8: the edge count against n_c (runs that reached the edge), with Sagun's outlier count,
    per regime and loss (integer ticks on both axes); returns (Figure, reading)."""
    fig, axes = figure(panel=(5.0, 3.6), extra_width=2.2)
    ax = axes[0, 0]
    ncs = sorted({x["n_classes"] for x in rows})
    ax.plot(ncs, [n - 1 for n in ncs], "k:", label="n_c − 1", gid="ref")
    for (g, loss), mk in zip([(g, lo) for g in ("toy", "scale") for lo in ("ce", "mse")], "osD^"):
        sel = [x for x in rows if x["regime"] == g and x["loss"] == loss]
        on = [x for x in sel if x["reached_edge"]]
        if on:
            ax.plot([x["n_classes"] for x in on], [x["lowell_edge_count"] for x in on], mk,
                    label=f"{g} {loss}: edge count", gid="edge_count")
        sag = [x for x in sel if x["sagun_outliers"] is not None]
        if sag:
            ax.plot([x["n_classes"] for x in sag], [x["sagun_outliers"] for x in sag], mk,
                    mfc="none", alpha=0.7, label=f"{g} {loss}: Sagun outliers", gid="outliers")
    ax.set_xlabel("classes n_c")
    ax.set_ylabel("count")
    integer_ticks(ax.xaxis)
    integer_ticks(ax.yaxis)
    legend_outside(fig)
    parts = []
    for g in ("toy", "scale"):
        ce = [x for x in rows if x["regime"] == g and x["loss"] == "ce"]
        on = [x for x in ce if x["reached_edge"]]
        if ce:
            hit = sum(x["lowell_edge_count"] == x["n_classes"] - 1 for x in on)
            parts.append(f"{g} CE: edge count = n_c − 1 in {hit} of {len(on)} runs on the edge "
                         f"({len(ce) - len(on)} never reached it)")
    return fig, "; ".join(parts) or "no cross-entropy class-sweep run"


def fig_outliers_vs_classes(rows: Sequence[dict], path: Path) -> Fig:
    fig, reading = draw_outliers_vs_classes(rows)
    return save(fig, path), reading


def draw_continuation(records: Sequence[Record]):
    """L10: GD, Bulk-GD and Top-GD from on-edge θ, one panel per regime. Each run's curves are
    its loss decrease L_0 − L_t as a fraction of GD's decrease as L10 reads it (L_0 − the mean
    over the last 1/η iterations, readers.continuation), against the fraction of the
    continuation done (runs of different η and length overlay); thin lines per run, thick the
    median over runs; Top = the on-edge subspace (solid) and the top n_c − 1 (dashed); L10's
    thresholds (0.8 for Bulk-GD, 0.2 for Top-GD) dotted."""
    recs = [r for r in records if rd.continuation(r) is not None]
    if not recs:
        raise ValueError("no continuation from an on-edge θ to draw (every source missed the edge)")
    regimes = sorted({rd.regime(r) for r in recs})
    fig, axes = figure(1, len(regimes), panel=(4.6, 3.4), extra_width=2.0)
    from simlab.continuation import PATHS as style

    parts = []
    grid = np.linspace(0.0, 1.0, 101)
    for ax, g in zip(axes[0], regimes):
        mine = [r for r in recs if rd.regime(r) == g]
        curves: dict[str, list[np.ndarray]] = {m: [] for m in style}
        lengths = set()
        for r in mine:
            d = rd.continuation(r)
            l0 = float(d["loss"]["gd"][0])
            scale = d["decrease"]["gd"]      # L10's: L_0 − mean of the last 1/η
            if not scale > 0:
                continue
            lengths.add(f"{d['n_iter'] * d['lr']:.3g}/η" if d["n_iter"] and d["lr"] else "?")
            for mode, ls in d["loss"].items():
                frac = (l0 - np.asarray(ls, float)) / scale
                x = np.linspace(0.0, 1.0, len(frac))
                colour, ls_, _ = style[mode]
                ax.plot(x, frac, ls_, color=colour, lw=0.6, alpha=0.35, gid=f"run_{mode}")
                curves[mode].append(np.interp(grid, x, frac))
            which = "" if d["top_fraction"] is not None else "_nc"
            parts.append(f"{g} {rd.label(r)}: Bulk-GD {d['bulk' + which + '_fraction']:.2f}×, Top-GD "
                         f"{d['top' + which + '_fraction']:.2f}× GD's decrease"
                         + (" (top n_c − 1)" if which else f" (on-edge top, {d['n_top']})"))
        for mode, cs in curves.items():
            if cs:
                colour, ls_, label = style[mode]
                ax.plot(grid, np.median(np.asarray(cs), axis=0), ls_, color=colour, lw=2.2,
                        gid=f"median_{mode}", label=label + f" (median of {len(cs)})")
        for y in (0.8, 0.2):
            ax.axhline(y, color="grey", ls=":", lw=0.8, gid="ref")
        ax.set_ylim(-0.5, 1.6)
        ax.set_xlabel(f"fraction of the continuation ({', '.join(sorted(lengths))} iterations)")
        ax.set_ylabel("loss decrease / GD's total decrease")
        ax.set_title(f"{g}: {len(mine)} continuations from on-edge θ", fontsize=9)
    legend_outside(fig)
    return fig, "; ".join(parts[:6])


def fig_continuation(records: Sequence[Record], path: Path) -> Fig:
    fig, reading = draw_continuation(records)
    return save(fig, path), reading


EDGE_ND_EXPERIMENTS = ("edge_nd", "lr_sweep")


def edge_lambda_lines(records: Sequence[Record], th: Thresholds = TH) -> list[dict]:
    """The lines of :func:`fig_edge_lambda_vs_nd`: the valid cross-entropy runs of experiments
    :data:`EDGE_ND_EXPERIMENTS` that reached the edge (aliases of a run among them dropped),
    grouped by every readers.GROUP_KEYS field but n_D (so one line = one regime, η, n_c, net),
    one entry per group with ≥ 2 sizes: ``{"regime", "lr", "n_classes", "group", "n_data",
    "lambda_nc_minus_1", "lambda_nc", "runs"}``, the λ's the mean over a size's runs of
    readers.on_edge_lambda (seeds are replicates), ``runs`` the run count per size."""
    pool = [r for r in rd.distinct(rd.split_valid(rd.of_experiment(records, *EDGE_ND_EXPERIMENTS))[0])
            if rd.loss_kind(r) == "ce" and rd.n_classes(r) and rd.edge(r, th).reached]
    lines = []
    for key, grp in rd.group_sweep(pool, ("n_data",)).items():
        nc = rd.n_classes(grp[0])
        sizes, top, nxt, count = [], [], [], []
        for n, rs in rd.by_value(grp, rd.n_data).items():
            a = [rd.on_edge_lambda(r, nc - 1, th) for r in rs]
            b = [rd.on_edge_lambda(r, nc, th) for r in rs]
            if any(x is None for x in a + b):
                continue
            sizes.append(n)
            top.append(float(np.mean(a)))
            nxt.append(float(np.mean(b)))
            count.append(len(rs))
        if len(sizes) >= 2:
            lines.append({"regime": rd.regime(grp[0]), "lr": rd.lr(grp[0]), "n_classes": nc,
                          "group": rd.group_label(key), "n_data": sizes, "lambda_nc_minus_1": top,
                          "lambda_nc": nxt, "runs": count})
    return sorted(lines, key=lambda u: (u["regime"] != "toy", u["regime"], -(u["lr"] or 0)))


def draw_edge_lambda_vs_nd(records: Sequence[Record], th: Thresholds = TH):
    """On-edge λ_{n_c−1} (solid) and λ_{n_c} (dashed) — 2·median on-edge ρ_i/η — against n_D at
    fixed η: one line pair per (regime, η) with ≥ 2 sizes (:func:`edge_lambda_lines`), η in the
    legend; toy and scale on separate panels (their λ differ by ~30×)."""
    lines = edge_lambda_lines(records, th)
    if not lines:
        raise ValueError("no (regime, η) with runs on the edge at ≥ 2 sizes n_D")
    regimes = list(dict.fromkeys(u["regime"] for u in lines))
    fig, axes = figure(1, len(regimes), panel=(4.6, 3.4), extra_width=1.8)
    parts = []
    for ax, g in zip(axes[0], regimes):
        for j, u in enumerate(x for x in lines if x["regime"] == g):
            c, nc = plt.get_cmap("tab10")(j % 10), u["n_classes"]
            ax.plot(u["n_data"], u["lambda_nc_minus_1"], "o-", color=c, gid="lambda_top",
                    label=f"η={u['lr']:g}: λ_{nc - 1}")
            ax.plot(u["n_data"], u["lambda_nc"], "s--", color=c, mfc="none", gid="lambda_next",
                    label=f"η={u['lr']:g}: λ_{nc}")
            ax.axhline(2.0 / u["lr"], color=c, lw=0.6, ls=":", gid="ref")
            seeds = "".join(f" ({k} runs at n_D={n})" for n, k in zip(u["n_data"], u["runs"])
                            if k > 1)
            parts.append(f"{g} η={u['lr']:g}: on-edge λ_(n_c−1) " + ", ".join(
                f"{v:.3g} at n_D={n}" for n, v in zip(u["n_data"], u["lambda_nc_minus_1"]))
                + "; λ_(n_c) " + ", ".join(f"{v:.3g}" for v in u["lambda_nc"]) + seeds)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("n_D")
        ax.set_ylabel("on-edge λ (median over on-edge points)")
        ax.set_title(f"{g}: λ_(n_c−1) solid, λ_(n_c) dashed, 2/η dotted", fontsize=9)
    legend_outside(fig)
    return fig, "; ".join(parts)


def fig_edge_lambda_vs_nd(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_edge_lambda_vs_nd(records, th)
    return save(fig, path), reading


def draw_bridge(r: Record, paths: Sequence[str]):
    """Exact vs Lanczos top eigenvalues at a bridge record's last point: (Figure, reading), or
    None without bridge points."""
    f = r.path / "bridge_points.json"
    pts = json.loads(f.read_text()) if f.exists() else []
    if not pts:
        return None
    last = pts[-1]
    fig, axes = figure(panel=(5.0, 3.4), extra_width=2.0)
    ax = axes[0, 0]
    i = np.arange(1, len(last["exact"]["eigenvalues"]) + 1)
    ax.plot(i, last["exact"]["eigenvalues"], "ko", label="exact (dense eigh, float64)",
            gid="exact")
    for p, mk in zip(paths, ("x", "+")):
        ax.plot(i[:len(last[p]["eigenvalues"])], last[p]["eigenvalues"], mk, ms=9,
                label=p.replace("_", " "), gid=p)
    exact = np.asarray(last["exact"]["eigenvalues"], float)
    if np.all(exact > 0):
        ax.set_yscale("log")
    else:   # linear within the smallest nonzero |λ|, so every decade shown gets a label
        ax.set_yscale("symlog", linthresh=float(np.min(np.abs(exact[exact != 0]), initial=1e-3)))
    ax.set_xlabel("eigen-index i")
    ax.set_ylabel("λ_i")
    integer_ticks(ax.xaxis)
    legend_outside(fig)
    net = (r.summary or {}).get("net")
    ax.set_title(f"bridge {net}: step {last['step']}", fontsize=9)
    d = {p: last[f"diff_{p}"]["eigenvalues"] for p in paths}
    return fig, (f"bridge {net} at step {last['step']}: top-{len(i)} eigenvalues differ from "
                 "the exact ones by at most "
                 + ", ".join(f"{v:.1e} ({k})" for k, v in d.items()) + " (relative)")


def fig_bridge(r: Record, path: Path, paths: Sequence[str]) -> Fig | None:
    made = draw_bridge(r, paths)
    return None if made is None else (save(made[0], path), made[1])


def report_figures(records: Sequence[Record], out: Path, th: Thresholds = TH,
                   bridge_paths: Sequence[str] = ()) -> list[tuple[Path | None, str]]:
    """Every figure of the report: (png, reading) pairs; a figure whose records are missing is
    (None, why it was skipped)."""
    out = Path(out)
    made: list[tuple[Path | None, str]] = []
    valid = rd.split_valid(records)[0]
    for g in ("toy", "scale"):
        figs = make_figures([r for r in valid if rd.regime(r) == g], out / g, th, regime=g,
                            readings=True)
        made += [(p, why if why.startswith(g) else f"{g}: {why}") for p, why in figs
                 if p.suffix == ".png"]
        if not figs:
            made.append((None, f"{g}: no Lowell figure (no valid cross-entropy run with telemetry)"))
    rows = s8_rows(records, th)
    made.append(fig_outliers_vs_classes(rows, out / "outliers_vs_classes.png") if rows else
                (None, "S8 figure skipped: no valid class-sweep or MSE run with ρ telemetry"))
    conts = rd.of_experiment(records, "continuation")
    cont = [r for r in conts if rd.continuation(r)]
    made.append(fig_continuation(cont, out / "fig_l10_continuation.png") if cont else (
        None, "L10 figure skipped: " + (f"none of the {len(conts)} continuation records started "
                                        f"(e.g. {rd.validity(conts[0])[1]})" if conts else
                                        "no continuation record (experiment 'continuation')")))
    nd = [r for r in rd.of_experiment(valid, *EDGE_ND_EXPERIMENTS) if r.telemetry]
    made.append(fig_edge_lambda_vs_nd(nd, out / "fig_edge_lambda_vs_nd.png", th)
                if edge_lambda_lines(nd, th) else (
        None, "on-edge λ vs n_D skipped: no (regime, η) with runs on the edge at ≥ 2 sizes n_D"
              + (f" ({rd.edge_not_reached(nd, th)})" if nd and not any(rd.edge(r, th).reached
                                                                      for r in nd) else "")))
    emap = rd.edge_map(records, th)
    made.append(fig_edge_map(emap, out / "edge_map.png", th)
                if any(u["edge_count"] is not None and u["n_params"] for u in emap) else
                (None, "edge map skipped: no setting of Lowell's protocol reached the edge "
                       "with its parameter count recorded"))
    made += sagun_figures(valid, out, th)
    for r in records:
        if rd.regime(r) == "bridge" and (f := fig_bridge(r, out / f"bridge_{r.name}_eigenvalues.png",
                                                         bridge_paths)):
            made.append(f)
    return made


def draw_edge_map(rows: Sequence[dict], th: Thresholds = TH):
    """The edge map (readers.edge_map): per setting that reached the edge, the edge count over
    n_c − 1 (windowed reading; bars: the range over its seeds) against the number of parameters
    and against n_D, and the on-edge λ_{n_c−1}/λ_{n_c} (whether an n_c − 1 outlier subspace
    exists) against the number of parameters. Colour = n_c, marker = regime (toy ○, scale □);
    1 is Lowell's n_c − 1 edge, the dotted line L1–L3's outlier-subspace threshold."""
    on = [u for u in rows if u["edge_count"] is not None and u["n_params"]]
    if not on:
        raise ValueError("no setting reached the edge")
    fig, axes = figure(1, 3, panel=(3.8, 3.2), extra_width=1.8)
    a, b, c = axes[0]
    ncs = sorted({u["n_classes"] for u in on})
    colour = {nc: plt.get_cmap("tab10")(j % 10) for j, nc in enumerate(ncs)}
    marker = {"toy": "o", "scale": "s"}
    for u in on:
        nc, m = u["n_classes"], marker.get(u["regime"], "^")
        lo, hi = u["count_range"]
        err = [[u["fraction"] - lo / (nc - 1)], [hi / (nc - 1) - u["fraction"]]]
        kw = dict(color=colour[nc], marker=m, ms=5, ls="none", capsize=2, elinewidth=0.8)
        a.errorbar([u["n_params"]], [u["fraction"]], yerr=err, gid="fraction",
                   label=f"n_c = {nc}", **kw)
        if u["n_data"]:
            b.errorbar([u["n_data"]], [u["fraction"]], yerr=err, gid="fraction_nd", **kw)
        if u["outlier_ratio"] is not None:
            c.plot([u["n_params"]], [u["outlier_ratio"]], marker=m, ls="none", ms=5,
                   color=colour[nc], gid="outlier_ratio")
    for ax in (a, b):
        ax.axhline(1.0, color="0.4", lw=0.8, ls="--", gid="ref")
        ax.set_ylabel("edge count / (n_c − 1)")
    a.set_xscale("log")
    a.set_xlabel("parameters")
    b.set_xscale("log", base=2)
    b.set_xlabel("n_D")
    c.axhline(th.outlier_ratio, color="0.4", lw=0.8, ls=":", gid="threshold")
    c.set_xscale("log")
    c.set_yscale("log")
    c.set_xlabel("parameters")
    c.set_ylabel("on-edge λ_(n_c−1) / λ_(n_c)")
    for g, m in marker.items():
        if any(u["regime"] == g for u in on):
            a.plot([], [], marker=m, ls="none", color="0.3", label=g)
    legend_outside(fig, axes.ravel())
    full = [u for u in on if u["fraction"] >= 1]
    where = sorted({f"{u['net']} n_c={u['n_classes']}" for u in full})
    reading = (f"edge count ≥ n_c − 1 in {len(full)} of {len(on)} settings on the edge "
               f"({', '.join(where) or 'none'}); an n_c − 1 outlier subspace in "
               f"{sum(bool(u['subspace']) for u in on)} of {len(on)}")
    return fig, reading


def fig_edge_map(rows: Sequence[dict], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_edge_map(rows, th)
    return save(fig, path), reading
