"""Figures and Table 1 of Lowell 2022 from scale-regime records (the paper report reuses these).

:func:`make_figures(record_dirs, out_dir)` picks the records each figure needs by their
``experiment`` and draws what it can; figures without records are skipped:

- ``fig1_rho_by_lr.png``        ρ_{n_c−1} and ρ_{n_c} over t = Σ η, one curve per η (lr_sweep, scale)
- ``fig2_rho_by_classes.png``   the same per class count (class_sweep)
- ``fig3_projections.png``      ‖P_top g‖ and ‖P_bulk g‖ over t per run
- ``fig4_entry.png``            ρ_1..ρ_{n_c−1} and |d_i| over iterations (entry)
- ``fig5_flow_lambda1.png``     λ_1 over t per n_D under gradient flow, and peak λ_1 against n_D
- ``fig6_cusp.png``             L(θ*+Δh_1) − L(θ*) per n_D
- ``table1.md``                 ΔL_top and ΔL_bulk, mean and std over telemetry on the edge
                                (ρ_{n_c−1} > 0.7), per run

Telemetry lists are descending (λ_1 first), so ρ_{n_c−1} is ``rho[n_c − 2]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simlab.plots import plt, save
from simlab.record import Record

EDGE = 0.7  # ρ_{n_c−1} above this counts as "on the edge" (claim L6)


def _n_classes(r: Record) -> int:
    return int((r.doc.get("data") or {}).get("n_classes") or (r.summary or {}).get("n_classes") or 10)


def _label(r: Record) -> str:
    c = r.config
    return f"{c.get('arch')}-{c.get('activation')} η={c.get('lr'):g} n_c={_n_classes(r)} n_D={(r.doc.get('data') or {}).get('n_data')}"


def rho_series(r: Record, i: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, ρ_i) over the record's telemetry for 1-based i (NaN where fewer eigenvalues)."""
    t = np.array([p["t"] for p in r.telemetry], float)
    rho = np.array([p["rho"][i - 1] if len(p.get("rho", [])) >= i else np.nan for p in r.telemetry], float)
    return t, rho


def edge_points(r: Record, threshold: float = EDGE) -> list[dict]:
    """Telemetry points with ρ_{n_c−1} > threshold."""
    i = max(_n_classes(r) - 1, 1)
    return [p for p in r.telemetry if len(p.get("rho", [])) >= i and p["rho"][i - 1] > threshold]


def table1(records: list[Record], threshold: float = EDGE) -> str:
    """Markdown: per run, mean and std of ΔL_top and ΔL_bulk over points on the edge."""
    lines = [f"| run | points on edge (ρ_{{n_c−1}} > {threshold}) | ΔL_top mean | ΔL_top std | "
             "ΔL_bulk mean | ΔL_bulk std |", "|---|---|---|---|---|---|"]
    for r in records:
        pts = edge_points(r, threshold)
        if not pts:
            lines.append(f"| {_label(r)} | 0 of {len(r.telemetry)} | – | – | – | – |")
            continue
        top = np.array([p["dl_top"] for p in pts], float)
        bulk = np.array([p["dl_bulk"] for p in pts], float)
        lines.append(f"| {_label(r)} | {len(pts)} of {len(r.telemetry)} | {top.mean():.3e} | {top.std():.3e} | "
                     f"{bulk.mean():.3e} | {bulk.std():.3e} |")
    return "\n".join(lines) + "\n"


def _rho_panels(records: list[Record], key, title: str, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for r in sorted(records, key=key):
        nc = _n_classes(r)
        for ax, i in zip(axes, (nc - 1, nc)):
            t, rho = rho_series(r, i)
            ax.plot(t, rho, marker=".", lw=1.1, label=_label(r))
    for ax, name in zip(axes, ("ρ_{n_c−1}", "ρ_{n_c}")):
        ax.axhline(1.0, color="k", ls=":", lw=0.8)
        ax.set_xlabel("t = Σ η")
        ax.set_title(name, fontsize=9)
    axes[0].set_ylabel("ρ = ηλ/2")
    axes[1].legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    return save(fig, path)


def fig_projections(records: list[Record], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for r in records:
        t = [p["t"] for p in r.telemetry]
        axes[0].plot(t, [p["p_top_norm"] for p in r.telemetry], marker=".", label=_label(r))
        axes[1].plot(t, [p["p_bulk_norm"] for p in r.telemetry], marker=".", label=_label(r))
    for ax, name in zip(axes, ("‖P_top g‖", "‖P_bulk g‖")):
        ax.set_yscale("log")
        ax.set_xlabel("t = Σ η")
        ax.set_title(name, fontsize=9)
    axes[1].legend(fontsize=6)
    return save(fig, path)


def fig_entry(r: Record, path: Path) -> Path:
    nc = _n_classes(r)
    steps = [p["step"] for p in r.telemetry]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for i in range(1, nc):
        axes[0].plot(steps, [p["rho"][i - 1] if len(p["rho"]) >= i else np.nan for p in r.telemetry], lw=1, label=f"ρ_{i}")
        axes[1].plot(steps, [abs(p["d"][i - 1]) if len(p["d"]) >= i else np.nan for p in r.telemetry], lw=1, label=f"|d_{i}|")
    axes[0].axhline(1.0, color="k", ls=":", lw=0.8)
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("iteration n")
        ax.legend(fontsize=6, ncol=2)
    fig.suptitle(f"entry capture: {_label(r)}", fontsize=10)
    return save(fig, path)


def fig_flow(records: list[Record], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    peaks = []
    for r in sorted(records, key=lambda r: (r.doc.get("data") or {}).get("n_data", 0)):
        a = r.arrays()
        n = (r.doc.get("data") or {}).get("n_data")
        if "history_lambda_1" in a:
            axes[0].plot(a["history_t"], a["history_lambda_1"], lw=1, label=f"n_D={n}")
        else:
            axes[0].plot([p["t"] for p in r.telemetry], [p["eigenvalues"][0] for p in r.telemetry], label=f"n_D={n}")
        if (r.summary or {}).get("peak_lambda_1") is not None:
            peaks.append((n, r.summary["peak_lambda_1"]))
    axes[0].set_xlabel("t = Σ η")
    axes[0].set_ylabel("λ_1")
    axes[0].legend(fontsize=6)
    if peaks:
        x, y = map(np.array, zip(*sorted(peaks)))
        axes[1].plot(x, y, "o")
        if len(x) >= 2:
            b, a0 = np.polyfit(x, y, 1)
            axes[1].plot(x, a0 + b * x, "-", lw=0.8, label=f"fit slope {b:.3g}")
            axes[1].legend(fontsize=7)
    axes[1].set_xlabel("n_D")
    axes[1].set_ylabel("peak λ_1")
    return save(fig, path)


def fig_cusp(records: list[Record], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for r in sorted(records, key=lambda r: r.summary["cusp"].get("n_data", 0)):
        c = r.summary["cusp"]
        ax.plot(c["deltas"], c["values"], marker=".", lw=1, label=f"n_D={c.get('n_data')} ({r.doc.get('experiment')})")
    ax.set_xlabel("Δ along h_1")
    ax.set_ylabel("L(θ*+Δh_1) − L(θ*)")
    ax.legend(fontsize=6)
    return save(fig, path)


def make_figures(record_dirs, out_dir) -> list[Path]:
    """Every figure the given records support, written into ``out_dir``; returns the paths."""
    recs = []
    for d in record_dirs:
        try:
            recs.append(Record.load(d, drop_truncated=True))
        except Exception:  # a record being written or broken: draw from the others
            continue
    recs = [r for r in recs if r.doc.get("regime") == "scale"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by = lambda *names: [r for r in recs if r.doc.get("experiment") in names and r.telemetry]  # noqa: E731
    written = []
    runs = by("scale", "lr_sweep")
    if runs:
        written.append(_rho_panels(runs, lambda r: -r.config.get("lr", 0), "ρ per learning rate",
                                   out / "fig1_rho_by_lr.png"))
    classes = by("class_sweep")
    if classes:
        written.append(_rho_panels(classes, _n_classes, "ρ per class count", out / "fig2_rho_by_classes.png"))
    proj = by("scale", "lr_sweep", "class_sweep", "entry")
    if proj:
        written.append(fig_projections(proj, out / "fig3_projections.png"))
    for j, r in enumerate(by("entry")):
        written.append(fig_entry(r, out / ("fig4_entry.png" if j == 0 else f"fig4_entry_{j}.png")))
    flow = by("gradient_flow")
    if flow:
        written.append(fig_flow(flow, out / "fig5_flow_lambda1.png"))
    cusp = [r for r in recs if (r.summary or {}).get("cusp")]
    if cusp:
        written.append(fig_cusp(cusp, out / "fig6_cusp.png"))
    table_runs = by("scale", "lr_sweep", "class_sweep", "entry", "gradient_flow")
    if table_runs:
        path = out / "table1.md"
        path.write_text("# Table 1: ΔL_top and ΔL_bulk on the edge\n\n" + table1(table_runs))
        written.append(path)
    return written
