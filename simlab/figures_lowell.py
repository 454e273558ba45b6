"""Lowell 2022's figures and Table 1 for one regime's records, drawn the way the paper draws them,
reading every number through :mod:`simlab.claims.readers` (a number drawn is the number a
verdict used).

Each figure has a ``draw_*`` function that builds the matplotlib Figure and its reading (one
line computed from the same numbers) and a ``fig_*`` function that saves it: ``fig_* =
save(draw_*)``, one code path, and the tests inspect the Figure.

- ``fig1_rho_by_lr.png``          ρ_i over t = Σ η, one panel per η (Lowell Fig. 1)
- ``fig1b_on_edge_rho_by_lr.png`` windowed reach and median of on-edge ρ_i against i, per η and seed
- ``fig2_rho_by_classes.png``     ρ_i over t, one panel per n_c of the class sweep (Fig. 2)
- ``fig2b_on_edge_rho_by_classes.png``  the on-edge profile per n_c
- ``fig3_projections.png``        ‖P_top g‖ and ‖P_bulk g‖ over t, one panel per η (Fig. 3)
- ``fig4_entry.png``              ρ_i and the two projections over iterations at entry (Fig. 4)
- ``fig5_flow_lambda1.png``, ``fig6_cusp.png``  gradient flow and the cusp (:mod:`simlab.figures_flow`)
- ``table1.md``                   ΔL_top, ΔL_bulk on the edge per run (L6's statistic)

Panels: one per η (or n_c); when the runs hold several settings besides it (n_D, the net), one
row per setting, the fields that differ between rows in the panel titles. A panel of ρ_i or of
the projections draws **one run**: the lowest seed of its setting (the title says which, and of
how many); the on-edge profile draws every seed. ρ_i is coloured by i (a sequential colormap,
colorbar with integer ticks), ρ_{n_c−1} thick, ρ_{n_c} dashed; ρ = 1 (η = η*_i) solid black.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.lines import Line2D

from simlab.claims import readers as rd
from simlab.claims.verdict import Thresholds
from simlab.claims.gradient_flow import flow_sweep_run
from simlab.figures_flow import fig_cusp, fig_flow, fig_kastner
from simlab.plots import (figure, index_colorbar, index_colours, integer_ticks, legend_outside,
                          save)
from simlab.record import Record

TH = Thresholds()
Fig = tuple[Path, str]
WRAP = 4               # a single setting's panels wrap onto rows of this many
RHO_CAP = 2.5          # the ρ axis stops here (catapult spikes reach 4+); the reading says so


def _name(r: Record) -> str:
    c = r.config
    arch = c.get("arch") or c.get("dataset") or rd.field_value(r, "dataset")
    eta = "?" if rd.lr(r) is None else f"{rd.lr(r):g}"
    return (f"{arch} η={eta} n_c={rd.n_classes(r)} n_D={rd.n_data(r)}"
            + (f" s{c['seed']}" if c.get("seed") else ""))


def _seed(r: Record):
    return r.config.get("seed")


def _t(r: Record) -> list[float]:
    return [p.get("t", p.get("step", i)) for i, p in enumerate(r.telemetry)]


def _steps(r: Record) -> list[int]:
    return [rd.step_of(p, i) for i, p in enumerate(r.telemetry)]


def _rho(r: Record, i: int) -> list[float]:
    return [np.nan if (v := rd.rho_at(p, i)) is None else v for p in r.telemetry]


def _k(r: Record) -> int:
    """How many ρ_i the run recorded (the most at any point)."""
    return max((len(p.get("rho") or []) for p in r.telemetry), default=0)


# ---------------------------------------------------------------------------- the panel grid


@dataclass
class Cell:
    row: int
    col: int
    value: object                 # η or n_c
    runs: list                    # every run of the cell, lowest seed first
    title: str

    @property
    def run(self) -> Record:      # the one a ρ or projection panel draws
        return self.runs[0]


def grid(records: Sequence[Record], value: Callable[[Record], object], vary: Sequence[str],
         show: Callable[[object], str], descending: bool = False) -> tuple[int, int, list[Cell]]:
    """(rows, cols, cells): one column per value of ``value`` (η or n_c), one row per setting
    (readers.group_sweep over ``vary``); a single setting with more than :data:`WRAP` values
    wraps onto rows of WRAP panels. Each cell's runs sorted lowest seed first."""
    sweep = rd.group_sweep([r for r in records if value(r) is not None], vary)
    order = sorted(sweep, key=str)
    groups, fields = [sweep[k] for k in order], [dict(k) for k in order]
    differ = [f for f in (fields[0] if fields else {}) if len({str(d[f]) for d in fields}) > 1]
    cols = sorted({value(r) for g in groups for r in g}, reverse=descending)
    cells = []
    for i, (g, f) in enumerate(zip(groups, fields)):
        setting = " ".join(f"{k}={f[k]}" for k in differ)
        for j, v in enumerate(cols):
            rs = sorted([r for r in g if value(r) == v],
                        key=lambda r: (_seed(r) is None, _seed(r) or 0, rd.label(r)))
            if not rs:
                continue
            s = _seed(rs[0])
            who = (f"seed {s}" if s is not None else rd.label(rs[0])) + (
                f" (lowest of {len(rs)} runs)" if len(rs) > 1 else "")
            cells.append(Cell(i, j, v, rs, f"{show(v)}{' · ' + setting if setting else ''}\n{who}"))
    if len(groups) == 1 and len(cols) > WRAP:
        for c in cells:
            c.row, c.col = divmod(c.col, WRAP)
        return -(-len(cols) // WRAP), WRAP, cells
    return len(groups), len(cols), cells


def _panels(cells: list[Cell], rows: int, cols: int, **kw):
    fig, axes = figure(rows, cols, **kw)
    used = {(c.row, c.col) for c in cells}
    for (i, j), ax in np.ndenumerate(axes):
        if (i, j) not in used:
            ax.set_axis_off()
    return fig, axes


# ---------------------------------------------------------------------------- Fig. 1 / 2


def _rho_panel(ax, r: Record, colours, th: Thresholds, x: Sequence[float]) -> float:
    """ρ_i over x for i = 1..k coloured by i, ρ_{n_c−1} thick, ρ_{n_c} dashed, ρ = 1 and
    ρ = rho_edge; returns the largest ρ drawn."""
    nc = rd.n_classes(r) or 2
    top = 0.0
    for i in range(_k(r), 0, -1):       # λ_1 drawn last, on top
        y = _rho(r, i)
        top = max(top, np.nanmax(y) if np.isfinite(y).any() else 0.0)
        ax.plot(x, y, color=colours[i - 1], gid=f"rho_{i}", **_style(i, nc))
    ax.axhline(1.0, color="k", lw=1.0, gid="ref")
    ax.axhline(th.rho_edge, color="0.4", ls=":", lw=1.0, gid="ref")
    return top


def _style(i: int, nc: int) -> dict:
    """ρ_{n_c−1} thick and ρ_{n_c} dashed, both outlined in black above the other ρ_i."""
    if i not in (nc - 1, nc):
        return {"lw": 0.8, "zorder": 2}
    lw = 2.2 if i == nc - 1 else 1.8
    return {"lw": lw, "ls": "--" if i == nc else "-", "zorder": 3, "path_effects": [
        patheffects.Stroke(linewidth=lw + 1.6, foreground="k"), patheffects.Normal()]}


def _style_handles(th: Thresholds) -> list[Line2D]:
    return [Line2D([], [], color="0.6", label="ρ_(n_c−1) (thick)", **_style(2, 3)),
            Line2D([], [], color="0.6", label="ρ_(n_c) (dashed)", **_style(3, 3)),
            Line2D([], [], color="k", lw=1.0, label="ρ = 1 (η = η*_i)"),
            Line2D([], [], color="0.4", ls=":", lw=1.0, label=f"ρ = {th.rho_edge:g} (riding the edge)"),
            Line2D([], [], color="0.3", ls="--", lw=0.8, label="entered the edge")]


def _rho_reading(c: Cell, th: Thresholds) -> str:
    r = c.run
    nc = rd.n_classes(r) or 2
    head = c.title.replace("\n", ", ")
    e = rd.edge(r, th)
    if not e.reached:
        return f"{head}: {rd.edge_not_reached([r], th)}"
    a, b = rd.reach(r, nc - 1, th), rd.max_rho_on_edge(r, nc, th)
    ratio = rd.outlier_ratio(r, th)
    fmt = lambda v: "–" if v is None else f"{v:.3g}"  # noqa: E731
    return (f"{head}: entered the edge at iteration {e.entered_step}; ρ_{nc - 1} reaches "
            f"{fmt(a)} (windowed), max on-edge ρ_{nc} = {fmt(b)}, on-edge λ_{nc - 1}/λ_{nc} = "
            f"{fmt(ratio)}, edge count {e.edge_count} (n_c − 1 = {nc - 1})")


def _entered(ax, r: Record, x: Sequence[float], th: Thresholds) -> None:
    """A dashed vertical line where the run entered the edge (first ρ_1 ≥ edge_enter)."""
    at = rd.edge(r, th).entered_step
    xs = [xv for xv, s in zip(x, _steps(r)) if s == at]
    if xs:
        ax.axvline(xs[0], color="0.3", ls="--", lw=0.8, gid="ref")


def draw_rho(records: Sequence[Record], title: str, th: Thresholds = TH, *, by: str = "lr"):
    """Lowell Fig. 1 (``by="lr"``: one panel per η) or Fig. 2 (``by="n_classes"``: one panel
    per n_c): ρ_i = ηλ_i/2 over t = Σ η of one run per panel (its lowest seed), i = 1..k
    coloured by i. Returns (Figure, reading)."""
    value, vary, show, desc = _sweep(by)
    rows, cols, cells = grid(records, value, vary, show, desc)
    if not cells:
        raise ValueError(f"{title}: no run with {by}")
    fig, axes = _panels(cells, rows, cols, panel=(3.4, 3.0), extra_width=0.9, sharey=True)
    kmax = max(_k(c.run) for c in cells)
    colours = index_colours(kmax)
    top = 0.0
    for c in cells:
        ax = axes[c.row, c.col]
        top = max(top, _rho_panel(ax, c.run, colours, th, _t(c.run)))
        _entered(ax, c.run, _t(c.run), th)
        ax.set_title(c.title, fontsize=8)
        ax.set_xlabel("t = Σ η", fontsize=8)
        if c.col == 0 or not axes[c.row, 0].axison:
            ax.set_ylabel("ρ_i = ηλ_i / 2")
    cap = min(max(1.25, 1.05 * top), RHO_CAP)
    axes[0, 0].set_ylim(0.0, cap)
    index_colorbar(fig, axes, kmax)
    legend_outside(fig, handles=_style_handles(th), loc="outside lower center",
                   ncols=len(_style_handles(th)))
    fig.suptitle(title, fontsize=10)
    cut = f" (ρ axis cut at {cap:g}; max ρ drawn {top:.3g})" if top > cap else ""
    return fig, f"{title}{cut}: " + "; ".join(_rho_reading(c, th) for c in cells)


def draw_profile(records: Sequence[Record], title: str, th: Thresholds = TH, *, by: str = "lr"):
    """Beside Fig. 1/2: what ρ_i reaches on the edge against i (integer ticks), one panel per η
    (or n_c), per seed that reached the edge: the windowed reach (solid, readers.edge's
    ``reach``, whose count ≥ rho_edge is the edge count) and the median on-edge ρ_i (dashed);
    i = n_c − 1 dotted. Returns (Figure, reading)."""
    value, vary, show, desc = _sweep(by)
    on = [r for r in records if rd.edge(r, th).reached]
    rows, cols, cells = grid(on, value, vary, show, desc)
    if not cells:
        raise ValueError(f"{title}: {rd.edge_not_reached(records, th)}")
    fig, axes = _panels(cells, rows, cols, panel=(3.2, 2.6), extra_width=1.4, sharey=True)
    seeds = sorted({str(_seed(r)) for c in cells for r in c.runs})
    parts = []
    for c in cells:
        ax = axes[c.row, c.col]
        for r in c.runs:
            e, colour = rd.edge(r, th), f"C{seeds.index(str(_seed(r))) % 10}"
            ax.plot(np.arange(1, len(e.reach) + 1), e.reach, "o-", ms=3, lw=1.2, gid="reach",
                    color=colour, label=f"seed {_seed(r)}")
            ax.plot(np.arange(1, len(e.median_rho) + 1), e.median_rho, "--", lw=0.8,
                    gid="median", color=colour)
        nc = rd.n_classes(c.run) or 2
        ax.axvline(nc - 1, color="k", ls=":", lw=0.9, gid="ref")
        ax.axhline(th.rho_edge, color="0.4", ls=":", lw=0.9, gid="ref")
        ax.axhline(1.0, color="k", lw=0.9, gid="ref")
        ax.set_yscale("log")
        integer_ticks(ax.xaxis)
        ax.set_xlabel("eigen-index i", fontsize=8)
        ax.set_title(f"{show(c.value)}: {len(c.runs)} seed(s) on the edge", fontsize=8)
        if c.col == 0:
            ax.set_ylabel("ρ_i on the edge")
        counts = [rd.edge(r, th).edge_count for r in c.runs]
        parts.append(f"{show(c.value)}: edge counts {counts} (n_c − 1 = {nc - 1})")
    styles = [Line2D([], [], color="0.3", marker="o", ms=3, label="windowed reach"),
              Line2D([], [], color="0.3", ls="--", lw=0.8, label="median on-edge")]
    handles = [h for ax in axes.ravel() for h in ax.get_legend_handles_labels()[0]]
    legend_outside(fig, handles=list({h.get_label(): h for h in handles}.values()) + styles)
    fig.suptitle(f"{title} (dotted vertical: i = n_c − 1; dotted: ρ = {th.rho_edge:g})",
                 fontsize=10)
    return fig, f"{title}: " + "; ".join(parts)


def _sweep(by: str):
    if by == "lr":
        return rd.lr, ("lr",), (lambda v: f"η = {v:g}"), True
    if by == "n_classes":
        return rd.n_classes, ("n_classes", "n_data"), (lambda v: f"n_c = {v}"), False
    raise ValueError(f"by must be 'lr' or 'n_classes', not {by!r}")


def fig_rho(records: Sequence[Record], path: Path, title: str, th: Thresholds = TH,
            by: str = "lr") -> Fig:
    fig, reading = draw_rho(records, title, th, by=by)
    return save(fig, path), reading


def fig_profile(records: Sequence[Record], path: Path, title: str, th: Thresholds = TH,
                by: str = "lr") -> Fig:
    fig, reading = draw_profile(records, title, th, by=by)
    return save(fig, path), reading


# ---------------------------------------------------------------------------- Fig. 3 / 4

PROJ = (("p_top_norm", "‖P_top g‖", "tab:red"), ("p_bulk_norm", "‖P_bulk g‖", "tab:blue"))


def _proj_panel(ax, r: Record, x) -> None:
    for key, name, colour in PROJ:
        ax.plot(x, [rd.num(p.get(key)) or np.nan for p in r.telemetry], color=colour, lw=1.2,
                marker=".", ms=3, label=name, gid=key)
    ax.set_yscale("log")


def draw_projections(records: Sequence[Record], th: Thresholds = TH):
    """Lowell Fig. 3: ‖P_top g‖ and ‖P_bulk g‖ over t, one panel per η (one run each, its
    lowest seed); the reading gives the on-edge medians (readers.median_on_edge)."""
    rows, cols, cells = grid(records, rd.lr, ("lr",), lambda v: f"η = {v:g}", True)
    if not cells:
        raise ValueError("projections: no run with η")
    fig, axes = _panels(cells, rows, cols, panel=(3.4, 2.7), extra_width=1.6, sharey=True)
    parts = []
    for c in cells:
        ax = axes[c.row, c.col]
        _proj_panel(ax, c.run, _t(c.run))
        ax.set_title(c.title, fontsize=8)
        ax.set_xlabel("t = Σ η", fontsize=8)
        if c.col == 0:
            ax.set_ylabel("gradient projection norm")
        top, bulk = (rd.median_on_edge(c.run, k, th) for k, _, _ in PROJ)
        head = c.title.replace("\n", ", ")
        parts.append(f"{head}: on-edge medians ‖P_top g‖ {top:.3g} / ‖P_bulk g‖ {bulk:.3g}"
                     if top is not None and bulk is not None
                     else f"{head}: {rd.edge_not_reached([c.run], th)}")
    legend_outside(fig, axes.ravel())
    fig.suptitle("gradient in the top subspace (n_c − 1 eigenvectors) and the bulk", fontsize=10)
    return fig, "; ".join(parts)


def fig_projections(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_projections(records, th)
    return save(fig, path), reading


def draw_entry(r: Record, th: Thresholds = TH):
    """Lowell Fig. 4: ρ_i (coloured by i) and ‖P_top g‖, ‖P_bulk g‖ over iterations of one
    entry-capture run; the reading is readers.entry_events."""
    nc = rd.n_classes(r) or 2
    fig, axes = figure(1, 2, panel=(4.6, 3.2), extra_width=2.4)
    a, b = axes[0]
    k = _k(r)
    top = _rho_panel(a, r, index_colours(k), th, _steps(r))
    a.set_ylim(0.0, min(max(1.25, 1.05 * top), RHO_CAP))
    a.set_ylabel("ρ_i = ηλ_i / 2")
    _proj_panel(b, r, _steps(r))
    for ax in (a, b):
        ax.set_xlabel("iteration")
    index_colorbar(fig, a, k)
    legend_outside(fig, handles=_style_handles(th) + b.get_legend_handles_labels()[0])
    fig.suptitle(f"entry capture: {_name(r)}", fontsize=10)
    ev = rd.entry_events(r, th)
    reading = (f"entry capture {_name(r)}: ρ_{nc - 1} ≥ {th.rho_edge} at iteration "
               f"{ev['edge_step']}, ρ_1 ≥ {th.edge_rho} at {ev['rho1_step']}, ‖P_top g‖ > "
               f"‖P_bulk g‖ from {ev['concentration_step']}" if rd.edge(r, th).reached
               else f"entry capture {_name(r)}: {rd.edge_not_reached([r], th)}")
    return fig, reading


def fig_entry(r: Record, path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_entry(r, th)
    return save(fig, path), reading


# ---------------------------------------------------------------------------- Table 1


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


# ---------------------------------------------------------------------------- one regime


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
    for names, by, stem, what in ((("scale", "toy", "lr_sweep"), "lr", "fig1", "learning rate"),
                                  (("class_sweep",), "n_classes", "fig2", "class count")):
        rs = [r for r in _by(recs, *names) if any(p.get("rho") for p in r.telemetry)]
        if not rs:
            continue
        suffix = "by_lr" if by == "lr" else "by_classes"
        made.append(fig_rho(rs, out / f"{stem}_rho_{suffix}.png",
                            f"{regime}: ρ_i per {what}", th, by=by))
        if any(rd.edge(r, th).reached for r in rs):
            made.append(fig_profile(rs, out / f"{stem}b_on_edge_rho_{suffix}.png",
                                    f"{regime}: ρ_i reached on the edge per {what}", th, by=by))
    proj = [r for r in _by(recs, "scale", "toy", "lr_sweep")
            if any(p.get("p_top_norm") is not None for p in r.telemetry)]
    if proj:
        made.append(fig_projections(proj, out / "fig3_projections.png", th))
    for j, r in enumerate(_by(recs, "entry")):
        made.append(fig_entry(r, out / ("fig4_entry.png" if j == 0 else f"fig4_entry_{j}.png"), th))
    flow = [r for r in recs if rd.is_flow(r) and rd.is_lowell(r)]
    sweeps = [r for r in recs if flow_sweep_run(r)]   # the flow's and exponential Euler's
    if sweeps:
        made.append(fig_flow(sweeps, out / "fig5_flow_lambda1.png", th))
    kastner = [r for r in recs if rd.experiment(r) in rd.KASTNER_EXPERIMENTS]
    if kastner:  # with the 2022 flow runs: K1's c = 0.5 references
        made.append(fig_kastner(kastner + flow, out / "kastner_k1_k2.png", th))
    cusp = [r for r in recs if rd.cusp(r) and (not rd.follows_flow(r) or flow_sweep_run(r))]
    if cusp:
        made.append(fig_cusp(cusp, out / "fig6_cusp.png", th))
    table_runs = [r for r in recs if any(p.get("dl_top") is not None for p in r.telemetry)]
    if table_runs:
        from simlab.record import atomic_write_text

        path = out / "table1.md"
        atomic_write_text(path, "# Table 1: ΔL_top and ΔL_bulk on the edge\n\n" + table1(table_runs, th))
        made.append((path, "Table 1 (L6's statistic, ddof=1)"))
    return made if readings else [p for p, _ in made]
