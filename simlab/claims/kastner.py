"""[K] Lowell & Kastner 2024: K1 (exponential Euler follows the gradient flow) and K2 (the
sharpness is the Gauss–Newton term's).

K1's unit is a pair: an exponential Euler run and a reference flow run (η = min(η_max, c/λ_1))
of the same setting and seed — the same net, data, η_max and stop — one setting per reference c.
K2's units are the runs with the λ_1(G) probe (``--ggn-every``): on the edge (constant η, after
entering) and at the peak of λ_1 of a flow run."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims import settings as st
from simlab.claims.verdict import Setting, Thresholds, Verdict, claim_map, judge, thresholds_of
from simlab.record import Record

# what may differ between a K1 pair: how the flow is integrated
SOLVER_FIELDS = ("schedule", "flow_c", "stable_after", "stable_every")


def _pair_key(r: Record) -> str:
    cfg = {k: v for k, v in (r.config or {}).items()
           if k not in rd.BOOKKEEPING + SOLVER_FIELDS}
    return json.dumps([rd.regime(r), rd.seed(r), cfg], sort_keys=True, default=str)


def compare_flows(ee: Record, ref: Record) -> dict | None:
    """K1's numbers for one pair, over the t both runs covered: the largest relative gap of the
    loss curves (on 200 points of t, linear interpolation), the relative gap of the peak λ_1 (None
    unless both peaks were observed), the loss increases of the exponential Euler run (count of
    L_{n+1} > L_n·(1 + 1e−12)), and the iterations each needed to reach that t."""
    a, b = rd.loss_curve(ee), rd.loss_curve(ref)
    if a is None or b is None:
        return None
    (ta, la), (tb, lb) = a, b
    t_end = float(min(ta[-1], tb[-1]))
    if not t_end > 0:
        return None
    grid = np.linspace(0.0, t_end, 201)[1:]
    ya, yb = np.interp(grid, ta, la), np.interp(grid, tb, lb)
    curve = float(np.max(np.abs(ya - yb) / np.abs(yb)))
    pa, pb = rd.flow_peak(ee), rd.flow_peak(ref)
    peak = (abs(pa[0] - pb[0]) / pb[0]) if pa and pb and pa[1] and pb[1] and pb[0] > 0 else None
    rises = int(np.sum(la[1:] > la[:-1] * (1 + 1e-12)))
    it_a = int(np.searchsorted(ta, t_end - 1e-12))
    it_b = int(np.searchsorted(tb, t_end - 1e-12))
    return {"t_common": t_end, "curve_gap": curve, "peak_gap": peak,
            "peak_lambda_1": pa[0] if pa else None, "ref_peak_lambda_1": pb[0] if pb else None,
            "loss_rises": rises, "iterations": it_a, "ref_iterations": it_b,
            "speedup": it_b / it_a if it_a else None}


def _one_per_c(refs: Sequence[Record]) -> list[Record]:
    """One reference per c: two flow runs of the same setting, seed and c (L8's sweep and a [K]
    grid's copy of it) are the same run, and must not count as two seeds. L8's own record (a
    gradient_flow experiment) is preferred, then the first by label."""
    best: dict[float, Record] = {}
    for f in sorted(refs, key=lambda f: (rd.experiment(f) != "gradient_flow", rd.label(f))):
        best.setdefault(float(rd.field_value(f, "flow_c") or 0.5), f)
    return [best[c] for c in sorted(best)]


def k1_passes(n: dict, th: Thresholds) -> bool | None:
    """Monotone loss, curves within k1_tol, peaks within k1_tol (undecided without both peaks)."""
    if n.get("peak_gap") is None:
        return None
    return bool(n["loss_rises"] == 0 and n["curve_gap"] <= th.k1_tol and n["peak_gap"] <= th.k1_tol)


def evaluate_K1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """K1: exponential Euler follows the gradient flow without entering the edge, in fewer
    iterations than η = c/λ_1.

    Pairs (exponential Euler, flow with c) of the same setting and seed; per setting and c, the
    median over seeds of the loss-curve gap and the peak-λ_1 gap, each ≤ k1_tol, and no loss
    increase; the speed-up (the reference's iterations to the common t over exponential Euler's)
    is reported. Seeds per setting: flow_seeds, as for L8."""
    sc = st.Scope()
    pool = sc.keep(r for r in records if rd.follows_flow(r))
    ee = [r for r in pool if rd.field_value(r, "schedule") == "expeuler"]
    refs: dict[str, list[Record]] = {}
    for r in pool:
        if rd.is_flow(r):
            refs.setdefault(_pair_key(r), []).append(r)
    rows: dict[tuple[str, float], list[tuple[str, bool | None, dict]]] = {}
    for r in ee:
        mine = refs.get(_pair_key(r), [])
        if not mine:
            sc.out(r, "no reference flow: no flow run of the same setting and seed")
            continue
        if rd.loss_curve(r) is None:
            sc.out(r, "no loss curve: the record keeps no history_t / history_loss")
            continue
        for f in _one_per_c(mine):
            n = compare_flows(r, f)
            if n is None:
                sc.out(r, f"no loss curve to compare in {rd.label(f)}")
                continue
            c = float(rd.field_value(f, "flow_c") or 0.5)
            rows.setdefault((rd.setting_label(r), c), []).append((rd.label(r), k1_passes(n, th), n))
    sets = []
    for (name, c), seeds in sorted(rows.items()):
        med = st.medians([n for _, _, n in seeds])
        decided = med.get("peak_gap") is not None
        passes = k1_passes(med, th)
        why = (f"vs flow c = {c:g}: loss-curve gap {med['curve_gap']:.3g}, peak-λ_1 gap "
               f"{med['peak_gap']:.3g}" if decided else
               f"vs flow c = {c:g}: loss-curve gap {med['curve_gap']:.3g}, a peak of λ_1 not "
               f"observed in both runs") + (
            f" (each needs ≤ {th.k1_tol:g}), {int(med['loss_rises'])} loss rise(s); "
            f"{med['speedup']:.3g}× fewer iterations to t = {med['t_common']:.3g}"
            if med.get("speedup") else "")
        sets.append(judge(f"{name} vs flow c={c:g}", seeds, passes, why, med, th.flow_seeds))
    return claim_map("K1", sets, sc.na, threshold=thresholds_of(th, "k1_tol", "flow_seeds"),
                     runs=sc.used, excluded=sc.excluded,
                     none_reason="no exponential Euler run (--schedule expeuler)")


def _on_edge_ggn(r: Record, th: Thresholds) -> list[dict]:
    on = {id(p) for p in rd.edge(r, th).points}
    return [p for p in rd.ggn_points(r) if id(p) in on]


def _peak_ggn(r: Record) -> dict | None:
    """The probe point nearest the flow's peak of λ_1."""
    at = (r.summary or {}).get("peak_step")
    pts = rd.ggn_points(r)
    if at is None or not pts:
        return None
    return min(pts, key=lambda p: abs(int(p["step"]) - int(at)))


def evaluate_K2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """K2: the sharpness is the Gauss–Newton term's: λ_1(G)/λ_1(H) ≥ ggn_share.

    On the edge: constant-η runs that reached it, the median ratio over their on-edge probe
    points (≥ min_edge_points of them); at the flow's peak: the probe point nearest the peak of
    λ_1 (the distance in iterations is reported), peaks that were observed. Settings over seeds
    (min_seeds on the edge, flow_seeds under flow); per layer block reported beside."""
    sc = st.Scope()
    pool = sc.keep(r for r in records if rd.ggn_points(r))
    edge_runs = [r for r in pool if not rd.follows_flow(r)]
    flow_runs = [r for r in pool if rd.follows_flow(r)]

    def enough(r):
        n = len(_on_edge_ggn(r, th))
        return None if n >= th.min_edge_points else (
            f"too few probe points on the edge: {n} (≥ {th.min_edge_points} needed)")

    def peaked(r):
        pk = rd.flow_peak(r)
        return None if pk and pk[1] else "no peak of λ_1 observed (still rising at the end)"

    def edge_numbers(r):
        pts = _on_edge_ggn(r, th)
        return {"ggn_ratio": float(np.median([p["ggn_ratio"] for p in pts])),
                "lambda_1_ggn": float(np.median([p["lambda_1_ggn"] for p in pts])),
                "lambda_1_h": float(np.median([p["lambda_1_h"] for p in pts])),
                "points": len(pts), **{f"block_{k}": v for k, v in rd.block_ratios(pts).items()}}

    def peak_numbers(r):
        p = _peak_ggn(r)
        return {"ggn_ratio": float(p["ggn_ratio"]), "lambda_1_ggn": float(p["lambda_1_ggn"]),
                "lambda_1_h": float(p["lambda_1_h"]),
                "from_peak": abs(int(p["step"]) - int(r.summary["peak_step"])),
                **{f"block_{k}": v for k, v in rd.block_ratios([p]).items()}}

    def describe(where):
        def f(m):
            blocks = ", ".join(f"{k[6:]}: {v:.3g}" for k, v in m.items() if k.startswith("block_"))
            extra = (f", {m['from_peak']:.0f} iterations from the peak" if "from_peak" in m else
                     f" (median of {m['points']:.0f} on-edge points)")
            ones = [v for k, v in m.items() if k.startswith("block_")]
            # a ReLU net is piecewise linear in each layer's weights alone: each layer's own
            # block of H is G's, so its ratios are 1 by construction and only λ_1 of the
            # whole H (its cross-layer blocks) tests the claim
            same = (" (each layer's own block of H equals G's: the net is piecewise linear in "
                    "each layer's weights alone)" if ones and all(abs(v - 1) < 1e-4 for v in ones)
                    else "")
            return (f"{where}: λ_1(G)/λ_1(H) = {m['ggn_ratio']:.3g} (needs ≥ {th.ggn_share:g}){extra}; "
                    f"per layer {blocks}{same}")
        return f

    test = lambda n: n["ggn_ratio"] >= th.ggn_share  # noqa: E731
    sets = []
    on_edge = sc.gate(edge_runs, st.reached(th), enough)
    for s in st.over_seeds(on_edge, edge_numbers, test, describe("on the edge"), th):
        sets.append(Setting(s.name + " (on the edge)", s.status, s.why, s.statistic, s.seeds))
    at_peak = sc.gate(flow_runs, peaked)
    flow_th = dataclasses.replace(th, min_seeds=th.flow_seeds)
    for s in st.over_seeds(at_peak, peak_numbers, test, describe("at the flow's peak"), flow_th):
        sets.append(Setting(s.name + " (flow peak)", s.status, s.why, s.statistic, s.seeds))
    return claim_map("K2", sets, sc.na,
                     threshold=thresholds_of(th, "ggn_share", "min_edge_points", "min_seeds",
                                             "flow_seeds"),
                     runs=sc.used, excluded=sc.excluded,
                     none_reason="no run with the λ_1(G) probe (--ggn-every)")
