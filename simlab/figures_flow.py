"""Lowell 2022's gradient-flow figures, reading records through :mod:`simlab.claims.readers` and
the claims engine (L8, L9), so a number drawn is the number a verdict used:

- ``fig5_flow_lambda1.png``  λ_1 over t per n_D under gradient flow; L8's fit of peak λ_1
- ``fig6_cusp.png``          L(θ*+Δh_1) − L(θ*) per n_D and its even part over Δ²
- ``kastner_k1_k2.png``      Lowell & Kastner 2024: loss and λ_1 against t by exponential Euler
                             and by flow (K1); λ_1(G)/λ_1(H) at the probe points (K2)

``draw_*`` builds the Figure (constrained layout, legend outside the data, n_D a sequential
colour) and its reading; ``fig_*`` saves it. :func:`simlab.figures_lowell.make_figures` calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import Thresholds
from simlab.plots import figure, index_colours, legend_outside, save
from simlab.record import Record

TH = Thresholds()
Fig = tuple[Path, str]


def _t(r: Record) -> list[float]:
    return [p.get("t", rd.step_of(p, i)) for i, p in enumerate(r.telemetry)]


def _nd_colours(records: Sequence[Record]) -> dict:
    """n_D → a colour of a sequential colormap (small n_D light, large dark)."""
    sizes = sorted({rd.n_data(r) or 0 for r in records})
    return dict(zip(sizes, index_colours(len(sizes))[::-1]))


def _key_handles(colour: dict, style: dict) -> list:
    """Legend proxies for the left panels: one colour per n_D, one line style per sweep."""
    from matplotlib.lines import Line2D

    return ([Line2D([], [], color=c, lw=1.5, label=f"n_D={n}") for n, c in sorted(colour.items())]
            + ([Line2D([], [], color="0.35", lw=1, ls=ls, label=name)
                for name, ls in style.items()] if len(style) > 1 else []))


def _first_per_sweep(records: Sequence[Record]) -> tuple[dict, dict]:
    """({(sweep, n_D): the first seed's record}, {sweep: line style}): the left panels draw one
    curve per sweep and size (the claims read every seed)."""
    from simlab.claims.gradient_flow import sweep_name

    first: dict = {}
    for r in sorted(records, key=lambda r: (rd.seed(r) or 0, rd.n_data(r) or 0)):
        first.setdefault((sweep_name(r), rd.n_data(r)), r)
    sweeps = sorted({k[0] for k in first})
    return (dict(sorted(first.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))),
            dict(zip(sweeps, ("-", "--", ":", "-.") * 4)))


def draw_flow(records: Sequence[Record], th: Thresholds = TH):
    """Lowell Fig. 5: left, λ_1 over t per n_D under gradient flow (the first seed of each
    sweep; line style by sweep); right, L8's own numbers per sweep (flow and exponential Euler,
    each activation: :func:`simlab.claims.gradient_flow.sweep_name`) — the median peak λ_1 per
    n_D over seeds and, where L8 fitted one, its least-squares line."""
    from simlab.claims import evaluate_claim
    from simlab.claims.gradient_flow import sweep_name

    fig, axes = figure(1, 2, panel=(4.4, 3.2), extra_width=2.6)
    a, b = axes[0]
    colour = _nd_colours(records)
    first, style = _first_per_sweep(records)
    sweeps = list(style)
    for (name, n), r in first.items():
        arr = rd.arrays(r)
        c = colour[n or 0]
        if "history_lambda_1" in arr:
            x = arr["history_t"] if "history_t" in arr else np.arange(len(arr["history_lambda_1"]))
            a.plot(x, arr["history_lambda_1"], lw=1, ls=style[name], color=c, gid="lambda_1")
        else:
            a.plot(_t(r), [p["eigenvalues"][0] if p.get("eigenvalues") else np.nan
                           for p in r.telemetry], ls=style[name], color=c, gid="lambda_1")
    a.set_xlabel("t = Σ η")
    a.set_ylabel("λ_1")
    v = evaluate_claim("L8", records, th)
    fits = {s.name: s.statistic for s in v.settings if "slope" in s.statistic}
    readings = []
    for j, name in enumerate(sweeps):
        peaks: dict[int, list[float]] = {}
        for r in records:
            if sweep_name(r) == name and (pk := rd.flow_peak(r)) is not None and pk[1] and rd.n_data(r):
                peaks.setdefault(rd.n_data(r), []).append(pk[0])
        if not peaks:
            continue
        x = np.asarray(sorted(peaks), float)
        marker = "x" if "exp. Euler" in name else "o"
        b.plot(x, [np.median(peaks[int(n)]) for n in x], marker, color=f"C{j}",
               zorder=3 if marker == "x" else 2,   # over the flow's dot it agrees with
               label=f"{name}: peak λ_1 (median over seeds)", gid="peak")
        if (u := fits.get(name)) is not None:
            xf = np.asarray(u["n_data"], float)
            b.plot(xf, u["intercept"] + u["slope"] * xf, ls=style[name], lw=0.8, color=f"C{j}",
                   label=f"{name}: fit, R² = {u['r2']:.4f}", gid="fit")
            readings.append(f"{name}: slope {u['slope']:.3g}, R² = {u['r2']:.4f} over n_D "
                            f"{u['n_data']}")
    b.set_xlabel("n_D")
    b.set_ylabel("peak λ_1")
    legend_outside(fig, handles=_key_handles(colour, style) + b.get_legend_handles_labels()[0])
    return fig, "gradient flow: " + ("; ".join(readings) or v.reason)


def fig_flow(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_flow(records, th)
    return save(fig, path), reading


def draw_cusp(records: Sequence[Record], th: Thresholds = TH):
    """Lowell Fig. 6: left, the slice v(Δ) = L(θ*+Δh_1) − L(θ*) per n_D; right, its even part
    over Δ², [v(Δ) + v(−Δ)]/Δ² against |Δ| (the gradient's linear term cancels): flat at
    h_1ᵀHh_1 = λ_1 for a parabola, rising toward Δ = 0 for a cusp. The reading is L9's
    own statistic (second difference at Δ = 0 and parabola ratio per n_D, from the claims
    engine, which leaves out runs without a peak and averages seeds)."""
    from simlab.claims import evaluate_claim

    fig, axes = figure(1, 2, panel=(4.4, 3.2), extra_width=2.4)
    a, b = axes[0]
    colour = _nd_colours(records)
    first, style = _first_per_sweep(records)
    for (name, n), r in first.items():
        c = rd.cusp(r)
        d, v = np.asarray(c["deltas"], float), np.asarray(c["values"], float)
        col = colour[n or 0]
        a.plot(d, v, marker=".", ms=3, lw=1, ls=style[name], color=col, gid="slice")
        o = np.argsort(d)
        pos = d[d > 0]
        even = np.interp(pos, d[o], v[o]) + np.interp(-pos, d[o], v[o])  # the odd (gradient) part cancels
        b.plot(pos, even / pos ** 2, marker=".", ms=3, lw=1, ls=style[name], color=col, gid="even")
    a.set_xlabel("Δ along h_1")
    a.set_ylabel("L(θ*+Δh_1) − L(θ*)")
    b.set_xlabel("|Δ|")
    b.set_ylabel("[v(Δ) + v(−Δ)] / Δ²   (flat: a parabola)")
    legend_outside(fig, handles=_key_handles(colour, style))
    v = evaluate_claim("L9", records, th)
    parts = [f"{s.name}: second difference at Δ = 0 "
             + ", ".join(f"{x:.4g}" for x in s.statistic["second_difference"])
             + f" over n_D {s.statistic['n_data']}, parabola ratio "
             + ", ".join(f"{x:.4g}" for x in s.statistic["parabola_ratio"])
             for s in v.settings if s.statistic.get("second_difference")]
    return fig, "cusp (L9 " + v.status + "): " + ("; ".join(parts) or v.reason)


def fig_cusp(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_cusp(records, th)
    return save(fig, path), reading


# ---------------------------------------------------------------------------- [K] Lowell & Kastner

_SOLVER_STYLE = {"expeuler": "-", "flow": "--"}


def _solver(r: Record) -> str:
    s = rd.field_value(r, "schedule") or "flow"
    return "exp. Euler" if s == "expeuler" else f"flow c={rd.field_value(r, 'flow_c') or 0.5:g}"


def draw_kastner(records: Sequence[Record], th: Thresholds = TH):
    """Lowell & Kastner 2024 (K1, K2): left, the loss against t of every flow run (exponential
    Euler solid, η = min(η_max, c/λ_1) dashed for c = 0.5 and dotted for c = 0.1; colour = n_D);
    middle, λ_1 against t; right, λ_1(G)/λ_1(H) at the probe points against t (flow runs as
    lines, constant-η runs on the edge as dots), with K2's threshold."""
    from simlab.claims import evaluate_claim

    fig, axes = figure(1, 3, panel=(3.8, 3.1), extra_width=2.4)
    a, b, c = axes[0]
    flows = [r for r in records if rd.follows_flow(r)]
    colour = _nd_colours(flows) if flows else {}
    for r in sorted(flows, key=lambda r: (rd.n_data(r) or 0, _solver(r))):
        arr = rd.arrays(r)
        if "history_t" not in arr:
            continue
        style = ":" if (rd.field_value(r, "flow_c") or 0.5) < 0.5 and rd.is_flow(r) else \
            _SOLVER_STYLE.get(rd.field_value(r, "schedule") or "flow", "--")
        kw = dict(color=colour[rd.n_data(r) or 0], ls=style, lw=1,
                  label=f"n_D={rd.n_data(r)}, {_solver(r)}")
        if "history_loss" in arr:
            a.plot(arr["history_t"], arr["history_loss"], gid="loss", **kw)
        if "history_lambda_1" in arr:
            b.plot(arr["history_t"], arr["history_lambda_1"], gid="lambda_1", **kw)
    a.set_yscale("log")
    a.set_xlabel("t = Σ η")
    a.set_ylabel("training loss")
    b.set_xlabel("t = Σ η")
    b.set_ylabel("λ_1")
    for r in records:
        pts = rd.ggn_points(r)
        if not pts:
            continue
        t = [p.get("t", p["step"]) for p in pts]
        q = [p["ggn_ratio"] for p in pts]
        if rd.follows_flow(r):
            c.plot(t, q, ls=_SOLVER_STYLE.get(rd.field_value(r, "schedule") or "flow", "--"),
                   marker=".", lw=0.8, color=colour.get(rd.n_data(r) or 0, "C0"), gid="ggn_flow")
        else:
            on = {id(p) for p in rd.edge(r, th).points}
            c.plot([x for x, p in zip(t, pts) if id(p) in on],
                   [y for y, p in zip(q, pts) if id(p) in on], "o", ms=3, color="C3",
                   label=f"on the edge, η = {rd.lr(r):g}", gid="ggn_edge")
    c.axhline(th.ggn_share, color="0.5", lw=0.8, ls=":", label=f"K2 threshold {th.ggn_share:g}",
              gid="threshold")
    c.set_xlabel("t = Σ η")
    c.set_ylabel("λ_1(G) / λ_1(H)")
    legend_outside(fig, axes.ravel())
    v1, v2 = evaluate_claim("K1", records, th), evaluate_claim("K2", records, th)
    return fig, f"K1 {v1.status}: {v1.gist or v1.reason}; K2 {v2.status}: {v2.gist or v2.reason}"


def fig_kastner(records: Sequence[Record], path: Path, th: Thresholds = TH) -> Fig:
    fig, reading = draw_kastner(records, th)
    return save(fig, path), reading
