"""Every figure and table of the report, named after the papers' figures, reading records
through :mod:`simlab.claims.readers` (so a number drawn is the number a verdict used).

Each ``fig_*`` function writes one PNG and returns ``(path, reading)``: the reading is one line
computed from the same numbers. :func:`make_figures` draws Lowell's figures for one regime's
records into a folder (the scale run and the paper report call it); :func:`report_figures`
adds the cross-regime ones (Sagun's spectra from :mod:`simlab.figures_sagun`, S8, L10, on-edge
λ against n_D, the bridge).

- ``fig1_rho_by_lr.png``        ρ_1, ρ_{n_c−1}, ρ_{n_c} over t per η; median on-edge ρ_i vs i
- ``fig2_rho_by_classes.png``   the same per class count
- ``fig3_projections.png``      ‖P_top g‖ and ‖P_bulk g‖ over t per run
- ``fig4_entry.png``            ρ_1, ρ_{n_c−1}, ρ_{n_c} and ‖P_top g‖, ‖P_bulk g‖ over iterations
- ``fig5_flow_lambda1.png``     λ_1 over t per n_D under gradient flow; L8's fit of peak λ_1
- ``fig6_cusp.png``             L(θ*+Δh_1) − L(θ*) per n_D
- ``table1.md``                 ΔL_top, ΔL_bulk on the edge per run (L6's statistic)
- ``fig_l10_continuation.png``  GD / Bulk-GD / Top-GD loss curves from on-edge θ (L10)
- ``fig_edge_lambda_vs_nd.png`` on-edge λ_{n_c−1}, λ_{n_c} against n_D at fixed η
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import Thresholds
from simlab.figures_sagun import sagun_figures
from simlab.plots import plt, save
from simlab.record import Record

TH = Thresholds()
Fig = tuple[Path, str]


def _name(r: Record) -> str:
    c = r.config
    arch = c.get("arch") or c.get("dataset") or rd.field_value(r, "dataset")
    eta = "?" if rd.lr(r) is None else f"{rd.lr(r):g}"
    return (f"{arch} η={eta} n_c={rd.n_classes(r)} n_D={rd.n_data(r)}"
            + (f" s{c['seed']}" if c.get("seed") else ""))


def _t(r: Record) -> list[float]:
    return [p.get("t", p.get("step", i)) for i, p in enumerate(r.telemetry)]


def _rho(r: Record, i: int) -> list[float]:
    return [np.nan if (v := rd.rho_at(p, i)) is None else v for p in r.telemetry]


def _edge_phrase(rs: Sequence[Record], th: Thresholds) -> str:
    on = [r for r in rs if rd.edge(r, th).reached]
    if not on:
        return rd.edge_not_reached(rs, th)
    return ", ".join(f"{_name(r)}: edge count {rd.edge(r, th).edge_count} (n_c − 1 = "
                     f"{rd.n_classes(r) - 1})" for r in on[:4]) + (" …" if len(on) > 4 else "")


def fig_rho(records: Sequence[Record], path: Path, title: str, th: Thresholds = TH) -> Fig:
    """Lowell Fig. 1/2: left ρ_{n_c−1} (solid), ρ_{n_c} (dashed), ρ_1 (thin) over t per run;
    right, per run that reached the edge, the median on-edge ρ_i against i (the edge count is
    the number above 0.69)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    cmap = plt.get_cmap("tab10")
    for j, r in enumerate(records):
        c, nc, t = cmap(j % 10), rd.n_classes(r) or 2, _t(r)
        a.plot(t, _rho(r, max(nc - 1, 1)), color=c, lw=1.6, label=f"{_name(r)}: ρ_{nc - 1}")
        a.plot(t, _rho(r, nc), color=c, lw=1.0, ls="--")
        a.plot(t, _rho(r, 1), color=c, lw=0.5, alpha=0.6)
        e = rd.edge(r, th)
        if e.median_rho is not None:
            b.plot(np.arange(1, len(e.median_rho) + 1), e.median_rho, "o-", ms=3, color=c,
                   label=f"{_name(r)} (count {e.edge_count}, n_c − 1 = {nc - 1})")
            b.axvline(nc - 1, color=c, ls=":", lw=0.8)
    for ax in (a, b):
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(th.rho_edge, color="k", ls=":", lw=0.8)
        ax.axhline(th.edge_rho, color="grey", ls="-.", lw=0.6)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    a.set_xlabel("t = Σ η")
    a.set_ylabel("ρ_i = η λ_i / 2")
    b.set_xlabel("i")
    b.set_ylabel("median on-edge ρ_i")
    b.set_yscale("log")
    fig.suptitle(title, fontsize=10)
    return save(fig, path), f"{title}: {_edge_phrase(records, th)}"


def fig_projections(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    """Lowell Fig. 3: ‖P_top g‖ and ‖P_bulk g‖ over t per run (on-edge medians in the reading)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for r in records:
        for ax, key in zip(axes, ("p_top_norm", "p_bulk_norm")):
            ax.plot(_t(r), [rd.num(p.get(key)) or np.nan for p in r.telemetry], marker=".",
                    label=_name(r))
    for ax, name in zip(axes, ("‖P_top g‖", "‖P_bulk g‖")):
        ax.set_yscale("log")
        ax.set_xlabel("t = Σ η")
        ax.set_title(name, fontsize=9)
    axes[1].legend(fontsize=6)
    med = [(_name(r), rd.median_on_edge(r, "p_top_norm", th), rd.median_on_edge(r, "p_bulk_norm", th))
           for r in records if rd.edge(r, th).reached]
    reading = ("on-edge medians ‖P_top g‖ / ‖P_bulk g‖: " + ", ".join(
        f"{a}: {b:.3g} / {c:.3g}" for a, b, c in med if b is not None and c is not None)
        if med else rd.edge_not_reached(records, th))
    return save(fig, path), reading


def fig_entry(r: Record, path: Path, th: Thresholds = TH) -> Fig:
    """Lowell Fig. 4: ρ_1, ρ_{n_c−1}, ρ_{n_c} and the two gradient projections over iterations."""
    nc = rd.n_classes(r) or 2
    steps = [p.get("step", i) for i, p in enumerate(r.telemetry)]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for i, style in ((1, ":"), (max(nc - 1, 1), "-"), (nc, "--")):
        a.plot(steps, _rho(r, i), style, lw=1.1, label=f"ρ_{i}")
    for key, name in (("p_top_norm", "‖P_top g‖"), ("p_bulk_norm", "‖P_bulk g‖")):
        b.plot(steps, [rd.num(p.get(key)) or np.nan for p in r.telemetry], lw=1.1, label=name)
    a.axhline(1.0, color="k", lw=0.8)
    a.axhline(th.rho_edge, color="k", ls=":", lw=0.8)
    b.set_yscale("log")
    for ax in (a, b):
        ax.set_xlabel("iteration")
        ax.legend(fontsize=7)
    fig.suptitle(f"entry capture: {_name(r)}", fontsize=10)
    ev = rd.entry_events(r, th)
    reading = (f"entry capture {_name(r)}: ρ_{nc - 1} ≥ {th.rho_edge} at iteration "
               f"{ev['edge_step']}, ρ_1 ≥ {th.edge_rho} at {ev['rho1_step']}, ‖P_top g‖ > "
               f"‖P_bulk g‖ from {ev['concentration_step']}" if rd.edge(r, th).reached
               else f"entry capture {_name(r)}: {rd.edge_not_reached([r], th)}")
    return save(fig, path), reading


def fig_flow(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    """Lowell Fig. 5: λ_1 over t per n_D under gradient flow; right, L8's own numbers (peak λ_1
    per n_D and its least-squares line, from the claims engine)."""
    from simlab.claims import evaluate_claim

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for r in sorted(records, key=lambda r: rd.n_data(r) or 0):
        a = rd.arrays(r)
        if "history_lambda_1" in a:
            x = a["history_t"] if "history_t" in a else np.arange(len(a["history_lambda_1"]))
            axes[0].plot(x, a["history_lambda_1"], lw=1, label=f"n_D={rd.n_data(r)}")
        else:
            axes[0].plot(_t(r), [p["eigenvalues"][0] if p.get("eigenvalues") else np.nan
                                 for p in r.telemetry], label=f"n_D={rd.n_data(r)}")
    axes[0].set_xlabel("t = Σ η")
    axes[0].set_ylabel("λ_1")
    axes[0].legend(fontsize=6)
    v = evaluate_claim("L8", records, th)
    readings = []
    for g, u in (v.statistic or {}).items():
        if u.get("n_data"):
            x, y = np.asarray(u["n_data"], float), np.asarray(u["peak_lambda_1"], float)
            axes[1].plot(x, y, "o", label=g[:40])
            if "slope" in u:
                axes[1].plot(x, u["intercept"] + u["slope"] * x, "-", lw=0.8)
                readings.append(f"slope {u['slope']:.3g}, R² = {u['r2']:.4f} over n_D {u['n_data']}")
    axes[1].set_xlabel("n_D")
    axes[1].set_ylabel("peak λ_1")
    return save(fig, path), "gradient flow: " + ("; ".join(readings) or v.reason)


def fig_cusp(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    """Lowell Fig. 6: left, the slice v(Δ) = L(θ*+Δh_1) − L(θ*) per n_D; right, its even part
    over Δ², [v(Δ) + v(−Δ)]/Δ² against |Δ| (the gradient's linear term cancels): flat at
    h_1ᵀHh_1 = λ_1 for a parabola, rising toward Δ = 0 for a cusp. The reading is L9's
    own statistic (second difference at Δ = 0 and parabola ratio per n_D, from the claims
    engine, which leaves out runs without a peak and averages seeds)."""
    from simlab.claims import evaluate_claim

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for r in sorted(records, key=lambda r: rd.n_data(r) or 0):
        c = rd.cusp(r)
        d, v = np.asarray(c["deltas"], float), np.asarray(c["values"], float)
        line, = a.plot(d, v, marker=".", ms=3, lw=1,
                       label=f"{rd.regime(r)} n_D={rd.n_data(r)}")
        o = np.argsort(d)
        pos = d[d > 0]
        even = np.interp(pos, d[o], v[o]) + np.interp(-pos, d[o], v[o])  # the odd (gradient) part cancels
        b.plot(pos, even / pos ** 2, marker=".", ms=3, lw=1, color=line.get_color())
    a.set_xlabel("Δ along h_1")
    a.set_ylabel("L(θ*+Δh_1) − L(θ*)")
    a.legend(fontsize=6)
    b.set_xlabel("|Δ|")
    b.set_ylabel("[v(Δ) + v(−Δ)] / Δ²   (flat: a parabola)")
    v = evaluate_claim("L9", records, th)
    parts = [f"{g}: second difference at Δ = 0 "
             + ", ".join(f"{x:.4g}" for x in u["second_difference"])
             + f" over n_D {u['n_data']}, parabola ratio "
             + ", ".join(f"{x:.4g}" for x in u["parabola_ratio"])
             for g, u in (v.statistic or {}).items() if u.get("second_difference")]
    return save(fig, path), "cusp (L9 " + v.status + "): " + ("; ".join(parts) or v.reason)


def table1(records: Sequence[Record], th: Thresholds = TH) -> str:
    """Markdown Table 1: per run, mean and std (ddof=1) of ΔL_top and ΔL_bulk over the points
    with ρ_{n_c−1} > 0.7 after entering the edge (the paper's reading and L6's verdict) and over
    the on-edge points of the ρ_1 reading, from readers.table1."""
    def cells(s):
        if not s["points"]:
            return "– | – | – | –"
        return " | ".join(f"{s[k]:.3e}" for k in ("mean_dl_top", "std_dl_top", "mean_dl_bulk",
                                                   "std_dl_bulk"))

    lines = [f"| run | points with ρ_(n_c−1) > {th.rho_on_edge} (L6) | ΔL_top mean | ΔL_top std | "
             f"ΔL_bulk mean | ΔL_bulk std | on-edge points (ρ_1 ≥ {th.edge_rho}) | ΔL_top "
             "mean | ΔL_top std | ΔL_bulk mean | ΔL_bulk std |", "|---" * 11 + "|"]
    for r in records:
        t = rd.table1(r, th)
        lines.append(f"| {rd.experiment(r)}/{r.name}: {_name(r)} | {t['edge']['points']} of "
                     f"{t['telemetry_points']}"
                     f"{'' if t['reached'] else ' (edge not reached)'} | {cells(t['edge'])} | "
                     f"{t['rho1']['points']} | {cells(t['rho1'])} |")
    return "\n".join(lines) + "\n"


def _by(recs: Sequence[Record], *names: str) -> list[Record]:
    return [r for r in rd.of_experiment(recs, *names) if r.telemetry]


def make_figures(record_dirs, out_dir, th: Thresholds = TH, *, regime: str = "scale",
                 readings: bool = False):
    """Lowell's figures and Table 1 for the records of one regime among ``record_dirs`` (paths
    or Records), written into ``out_dir``; returns the paths (with ``readings``: (path,
    reading) pairs). Figures without records are skipped."""
    recs = []
    for d in record_dirs:
        try:
            recs.append(d if isinstance(d, Record) else Record.load(d, drop_truncated=True))
        except Exception:  # a record being written or broken: draw from the others
            continue
    recs = [r for r in rd.split_valid(recs)[0] if rd.regime(r) == regime and rd.loss_kind(r) == "ce"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made: list[Fig] = []
    lrs = _by(recs, "scale", "toy", "lr_sweep")
    if lrs:
        made.append(fig_rho(sorted(lrs, key=lambda r: -(rd.lr(r) or 0)), out / "fig1_rho_by_lr.png",
                            f"{regime}: ρ per learning rate", th))
    classes = _by(recs, "class_sweep")
    if classes:
        made.append(fig_rho(sorted(classes, key=lambda r: rd.n_classes(r) or 0),
                            out / "fig2_rho_by_classes.png", f"{regime}: ρ per class count", th))
    proj = [r for r in _by(recs, "scale", "toy", "lr_sweep", "class_sweep", "entry")
            if any(p.get("p_top_norm") is not None for p in r.telemetry)]
    if proj:
        made.append(fig_projections(proj, out / "fig3_projections.png", th))
    for j, r in enumerate(_by(recs, "entry")):
        made.append(fig_entry(r, out / ("fig4_entry.png" if j == 0 else f"fig4_entry_{j}.png"), th))
    flow = [r for r in recs if rd.is_flow(r)]
    if flow:
        made.append(fig_flow(flow, out / "fig5_flow_lambda1.png", th))
    cusp = [r for r in recs if rd.cusp(r)]
    if cusp:
        made.append(fig_cusp(cusp, out / "fig6_cusp.png", th))
    table_runs = [r for r in recs if any(p.get("dl_top") is not None for p in r.telemetry)]
    if table_runs:
        from simlab.record import atomic_write_text

        path = out / "table1.md"
        atomic_write_text(path, "# Table 1: ΔL_top and ΔL_bulk on the edge\n\n" + table1(table_runs, th))
        made.append((path, "Table 1 (L6's statistic, ddof=1)"))
    return made if readings else [p for p, _ in made]


# ---------------------------------------------------------------------------- beyond one regime


def s8_rows(records: Sequence[Record], th: Thresholds = TH) -> list[dict]:
    """S8 on the valid class-sweep and MSE runs of both regimes: readers.s8_row with the run's
    name and regime, sorted by regime, loss and n_c."""
    rows = [{"run": rd.label(r), "regime": rd.regime(r), **rd.s8_row(r, th)}
            for r in rd.split_valid(rd.of_experiment(records, "class_sweep", "mse"))[0]
            if rd.n_classes(r) and any(p.get("rho") for p in r.telemetry)]
    return sorted(rows, key=lambda x: (x["regime"], x["loss"], x["n_classes"], x["run"]))


def fig_outliers_vs_classes(rows: Sequence[dict], path: Path) -> Fig:
    """S8: the largest median on-edge ρ_i/ρ_{i+1} index and the edge count against n_c (runs
    that reached the edge), with Sagun's outlier count, per regime and loss."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ncs = sorted({x["n_classes"] for x in rows})
    ax.plot(ncs, [n - 1 for n in ncs], "k:", label="n_c − 1")
    for (g, loss), mk in zip([(g, lo) for g in ("toy", "scale") for lo in ("ce", "mse")], "osD^"):
        sel = [x for x in rows if x["regime"] == g and x["loss"] == loss]
        on = [x for x in sel if x["reached_edge"]]
        if on:
            ax.plot([x["n_classes"] for x in on], [x["lowell_edge_count"] for x in on], mk,
                    label=f"{g} {loss}: edge count")
        sag = [x for x in sel if x["sagun_outliers"] is not None]
        if sag:
            ax.plot([x["n_classes"] for x in sag], [x["sagun_outliers"] for x in sag], mk,
                    mfc="none", alpha=0.7, label=f"{g} {loss}: Sagun outliers")
    ax.set_xlabel("classes n_c")
    ax.set_ylabel("count")
    ax.legend(fontsize=6)
    parts = []
    for g in ("toy", "scale"):
        ce = [x for x in rows if x["regime"] == g and x["loss"] == "ce"]
        on = [x for x in ce if x["reached_edge"]]
        if ce:
            hit = sum(x["lowell_edge_count"] == x["n_classes"] - 1 for x in on)
            parts.append(f"{g} CE: edge count = n_c − 1 in {hit} of {len(on)} runs on the edge "
                         f"({len(ce) - len(on)} never reached it)")
    return save(fig, path), "; ".join(parts) or "no cross-entropy class-sweep run"


def fig_continuation(records: Sequence[Record], path: Path) -> Fig:
    """L10: GD, Bulk-GD and Top-GD from on-edge θ, one panel per regime. Each run's curves are
    its loss decrease L_0 − L_t as a fraction of GD's over the whole continuation, against the
    fraction of the continuation done (runs of different η and length overlay); thin lines per
    run, thick the median over runs; L10's thresholds (0.8 for Bulk-GD, 0.2 for Top-GD) dotted."""
    recs = [r for r in records if rd.continuation(r) is not None]
    if not recs:
        raise ValueError("no continuation from an on-edge θ to draw (every source missed the edge)")
    regimes = sorted({rd.regime(r) for r in recs})
    fig, axes = plt.subplots(1, len(regimes), figsize=(5.5 * len(regimes), 3.8), squeeze=False)
    parts, colours = [], {"gd": "black", "bulk": "tab:blue", "top": "tab:red"}
    grid = np.linspace(0.0, 1.0, 101)
    for ax, g in zip(axes[0], regimes):
        mine = [r for r in recs if rd.regime(r) == g]
        curves: dict[str, list[np.ndarray]] = {m: [] for m in colours}
        for r in mine:
            c = (r.summary or {})["continuation"]
            l0 = float(c["loss"]["gd"][0])
            scale = l0 - float(c["loss"]["gd"][-1])
            if not scale > 0:
                continue
            for mode in colours:
                ls = np.asarray(c["loss"][mode], float)
                frac = (l0 - ls) / scale
                x = np.linspace(0.0, 1.0, len(frac))
                ax.plot(x, frac, color=colours[mode], lw=0.6, alpha=0.35)
                curves[mode].append(np.interp(grid, x, frac))
            d = rd.continuation(r)
            parts.append(f"{g} {rd.label(r)}: Bulk-GD {d['bulk_fraction']:.2f}×, Top-GD "
                         f"{d['top_fraction']:.2f}× GD's decrease")
        for mode, cs in curves.items():
            if cs:
                ax.plot(grid, np.median(np.asarray(cs), axis=0), color=colours[mode], lw=2.2,
                        label={"gd": "GD", "bulk": "Bulk-GD", "top": "Top-GD"}[mode]
                        + f" (median of {len(cs)})")
        for y in (0.8, 0.2):
            ax.axhline(y, color="grey", ls=":", lw=0.8)
        ax.set_ylim(-0.5, 1.6)
        ax.set_xlabel("fraction of the continuation (2/η iterations)")
        ax.set_ylabel("loss decrease / GD's total decrease")
        ax.set_title(f"{g}: {len(mine)} continuations from on-edge θ", fontsize=9)
        ax.legend(fontsize=7)
    return save(fig, path), "; ".join(parts[:6])


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


def fig_edge_lambda_vs_nd(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    """On-edge λ_{n_c−1} (solid) and λ_{n_c} (dashed) — 2·median on-edge ρ_i/η — against n_D at
    fixed η: one line pair per (regime, η) with ≥ 2 sizes (:func:`edge_lambda_lines`), η in the
    legend; toy and scale on separate panels (their λ differ by ~30×)."""
    lines = edge_lambda_lines(records, th)
    if not lines:
        raise ValueError("no (regime, η) with runs on the edge at ≥ 2 sizes n_D")
    regimes = list(dict.fromkeys(u["regime"] for u in lines))
    fig, axes = plt.subplots(1, len(regimes), figsize=(5.5 * len(regimes), 3.8), squeeze=False)
    parts = []
    for ax, g in zip(axes[0], regimes):
        for j, u in enumerate(x for x in lines if x["regime"] == g):
            c, nc = plt.get_cmap("tab10")(j % 10), u["n_classes"]
            ax.plot(u["n_data"], u["lambda_nc_minus_1"], "o-", color=c,
                    label=f"η={u['lr']:g}: λ_{nc - 1}")
            ax.plot(u["n_data"], u["lambda_nc"], "s--", color=c, mfc="none",
                    label=f"η={u['lr']:g}: λ_{nc}")
            ax.axhline(2.0 / u["lr"], color=c, lw=0.6, ls=":")
            seeds = "".join(f" ({k} runs at n_D={n})" for n, k in zip(u["n_data"], u["runs"])
                            if k > 1)
            parts.append(f"{g} η={u['lr']:g}: on-edge λ_(n_c−1) " + ", ".join(
                f"{v:.3g} at n_D={n}" for n, v in zip(u["n_data"], u["lambda_nc_minus_1"]))
                + "; λ_(n_c) " + ", ".join(f"{v:.3g}" for v in u["lambda_nc"]) + seeds)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("n_D")
        ax.set_ylabel("on-edge λ (median over on-edge points)")
        ax.set_title(f"{g}: λ_(n_c−1) solid, λ_(n_c) dashed, 2/η dotted", fontsize=9)
        ax.legend(fontsize=7)
    return save(fig, path), "; ".join(parts)


def fig_bridge(r: Record, path: Path, paths: Sequence[str]) -> Fig | None:
    """Exact vs Lanczos top eigenvalues at a bridge record's last point."""
    f = r.path / "bridge_points.json"
    pts = json.loads(f.read_text()) if f.exists() else []
    if not pts:
        return None
    last = pts[-1]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    i = np.arange(1, len(last["exact"]["eigenvalues"]) + 1)
    ax.plot(i, last["exact"]["eigenvalues"], "ko", label="exact (dense eigh, float64)")
    for p, mk in zip(paths, ("x", "+")):
        ax.plot(i[:len(last[p]["eigenvalues"])], last[p]["eigenvalues"], mk, ms=9,
                label=p.replace("_", " "))
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("i")
    ax.set_ylabel("λ_i")
    ax.legend(fontsize=7)
    net = (r.summary or {}).get("net")
    ax.set_title(f"bridge {net}: step {last['step']}", fontsize=9)
    d = {p: last[f"diff_{p}"]["eigenvalues"] for p in paths}
    return save(fig, path), (f"bridge {net} at step {last['step']}: top-{len(i)} eigenvalues "
                             "differ from the exact ones by at most "
                             + ", ".join(f"{v:.1e} ({k})" for k, v in d.items()) + " (relative)")


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
    made += sagun_figures(valid, out, th)
    for r in records:
        if rd.regime(r) == "bridge" and (f := fig_bridge(r, out / f"bridge_{r.name}_eigenvalues.png",
                                                         bridge_paths)):
            made.append(f)
    return made
