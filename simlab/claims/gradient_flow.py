"""[L] Lowell 2022 under gradient flow: L8 (peak λ_1 linear in n_D) and L9 (the cusp).

The unit is the flow sweep (a setting less its n_D): its sizes, each the median over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from simlab.claims import readers as rd
from simlab.claims import settings as st
from simlab.claims.verdict import (FAILS, HOLDS, Setting, Thresholds, Verdict, claim_map, rounded,
                                   strictly_increasing, thresholds_of)
from simlab.record import Record


def _size_groups(runs: Sequence[Record]) -> dict[str, dict[int, list[Record]]]:
    out: dict[str, dict[int, list[Record]]] = {}
    for r in runs:
        cfg = {k: v for k, v in (r.config or {}).items() if k not in rd.BOOKKEEPING + ("n_data",)}
        # a re-scan of the slices (experiment "cusp") is a sweep of its own, one per cusp_skip;
        # where the runs' own slices were taken is bookkeeping for everything else
        rescan = (("rescan", rd.num(rd.field_value(r, "cusp_skip")) or 0.0)
                  if r.doc.get("experiment") == "cusp" else ())
        out.setdefault(rd.regime(r) + str(sorted(cfg.items(), key=str)) + str(rescan), {}).setdefault(
            rd.n_data(r), []).append(r)
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def sweep_name(r: Record) -> str:
    """The name of ``r``'s L8/L9 sweep: ``<regime> <dataset> <activation> <solver> n_D sweep``,
    by what tells two sweeps apart in the grids (the net's activation, flow or exponential Euler
    — K1: L8 and L9 "also reported on the exponential Euler runs")."""
    solver = "exp. Euler" if rd.field_value(r, "schedule") == "expeuler" else "flow"
    data = rd.field_value(r, "dataset") or (r.doc.get("data") or {}).get("name")
    skip = rd.num(rd.field_value(r, "cusp_skip"))
    rescan = (f"(slices re-scanned after the first {100 * skip:g} % of each run)"
              if r.doc.get("experiment") == "cusp" and skip else
              "(slices re-scanned)" if r.doc.get("experiment") == "cusp" else None)
    return " ".join(str(x) for x in (rd.regime(r), data, rd.field_value(r, "activation") or "relu",
                                     solver, "n_D sweep", rescan) if x)


def _name(by_n: dict) -> str:
    return sweep_name(next(iter(by_n.values()))[0])


def flow_sweep_run(r: Record) -> bool:
    """A run of an L8/L9 sweep: a gradient-flow run of Lowell's protocol, or an exponential
    Euler run (its own sweep: the schedule is part of the setting)."""
    return (rd.is_flow(r) and rd.is_lowell(r)) or rd.field_value(r, "schedule") == "expeuler"


def _sizes_scope(sc: st.Scope, by_n: dict[int, list[Record]], n_sizes: int, span: float,
                 seeds: int) -> bool:
    """Whether the sweep has ≥ n_sizes sizes spanning ≥ span with ≥ seeds seeds each; if not,
    its runs are set aside with the numbers."""
    ok = {n: rs for n, rs in by_n.items() if len(rs) >= seeds}
    sizes = sorted(ok)
    got = sizes[-1] / sizes[0] if sizes else 0.0
    if len(sizes) >= n_sizes and got >= span - 1e-9:
        return True
    few = min((len(rs) for rs in by_n.values()), default=0)
    needed = f"{n_sizes} spanning {span:g}×" if span > 1 else f"{n_sizes}"  # L9 asks no span
    for rs in by_n.values():
        for r in rs:
            sc.out(r, f"n_D sweep too small: {len(sizes)} size(s) with ≥ {seeds} seeds spanning "
                      f"{got:.3g}× ({needed} needed; fewest seeds {few})")
    return False


def linear_rule(r2: float, slope: float, th: Thresholds) -> bool:
    """L8 (ReLU): R² ≥ th.r2 and a positive slope (paper: 99.91 %)."""
    return bool(r2 >= th.r2 and slope > 0)


def evaluate_L8(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L8: under gradient flow, peak λ_1 grows linearly with n_D.

    The peak is the run's largest λ_1, or with ``peak_skip`` > 0 the largest after that fraction
    of the run (an initial spike set aside, as Lowell describes for small datasets).
    Scope: flow runs (and, as their own sweeps, exponential Euler runs) whose λ_1 peak precedes the end by ≥ peak_margin of the run (and not cut
    before it); sweeps of ≥ min_sizes sizes spanning ≥ size_span× with ≥ flow_seeds seeds
    each. ReLU: the linear fit of median peak λ_1 on n_D has R² ≥ r2 and a positive slope.
    tanh (Lowell: "rising linearly … at a slower rate", no R²): median peak λ_1 increasing in
    n_D and a log–log slope over the larger half of sizes in [tanh_slope_low, tanh_slope_high]."""
    sc = st.Scope()
    flow = sc.keep(r for r in records if flow_sweep_run(r))

    def peaked(r):
        pk = rd.flow_peak_step(r, th.peak_skip)
        if pk is None:
            return "no λ_1 measured"
        steps, at = (r.summary or {}).get("steps"), pk[1]
        if steps and at is not None and int(at) > (1 - th.peak_margin) * int(steps):
            return (f"λ_1 peak too late: iteration {at} of {steps} "
                    f"({100 * int(at) / int(steps):.3g} % of the run; ≤ {100 * (1 - th.peak_margin):g} %)")
        return None if pk[2] else "λ_1 still rising at the end"

    runs = sc.gate(flow, peaked)
    sets = []
    for by_n in _size_groups(runs).values():
        if not _sizes_scope(sc, by_n, th.min_sizes, th.size_span, th.flow_seeds):
            continue
        sizes = [n for n, rs in by_n.items() if len(rs) >= th.flow_seeds]
        peaks = [float(np.median([rd.flow_peak(r, th.peak_skip)[0] for r in by_n[n]])) for n in sizes]
        act = rd.field_value(by_n[sizes[0]][0], "activation") or "relu"
        slope, icpt, r2 = rd.linear_fit(sizes, peaks)
        stat = {"n_data": sizes, "peak_lambda_1": peaks, "activation": act, "slope": slope,
                "intercept": icpt, "r2": r2}
        if act == "relu":
            ok = linear_rule(r2, slope, th)
            why = f"ReLU: peak λ_1 {rounded(peaks)} on n_D {sizes}: R² = {r2:.4f}, slope {slope:.3g}"
        else:
            half = sizes[len(sizes) // 2:]
            ll = float(np.polyfit(np.log(half), np.log(peaks[len(sizes) // 2:]), 1)[0])
            ok = strictly_increasing(peaks) and th.tanh_slope_low <= ll <= th.tanh_slope_high
            stat["loglog_slope"] = ll
            why = (f"{act}: peak λ_1 {rounded(peaks)} on n_D {sizes}, increasing "
                   f"{strictly_increasing(peaks)}, log–log slope over n_D ≥ {half[0]} {ll:.3g} "
                   f"(in [{th.tanh_slope_low:g}, {th.tanh_slope_high:g}])")
        sets.append(Setting(_name(by_n), HOLDS if ok else FAILS, why, stat))
    return claim_map("L8", sets, sc.na, threshold=thresholds_of(
        th, "r2", "min_sizes", "size_span", "flow_seeds", "peak_margin", "peak_skip",
        "tanh_slope_low", "tanh_slope_high"), runs=sc.used, excluded=sc.excluded, none_reason="no gradient_flow run")


def cusp_rule(d2: Sequence[float], ratios: Sequence[float], th: Thresholds) -> dict:
    """L9: the second difference at 0 increases with n_D (Spearman = 1 over the medians) and
    the slice is sharper than its parabola at the largest two sizes (ratio ≥ cusp_ratio)."""
    rho = float(sps.spearmanr(range(len(d2)), d2)[0]) if len(d2) > 1 else math.nan
    sharp = all(math.isfinite(x) and x >= th.cusp_ratio for x in ratios[-2:])
    # Spearman = 1 is a strictly increasing sequence; scipy's float can land one ulp below 1
    # (0.9999999999999999 for [10.29, 34.44, 57.03, 82.7, 91.81]), so decide by the order itself
    rising = len(d2) > 1 and strictly_increasing(d2)
    return {"spearman": rho, "sharper": sharp, "passes": bool(rising and sharp)}


def evaluate_L9(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L9: a cusp forms along h_1 at θ* as n_D grows.

    Scope: ReLU nets (a tanh loss is analytic and cannot form a cusp; Lowell measured
    AlexNet-ReLU only), slices at a peak of λ_1 that was observed, sweeps of ≥ cusp_sizes sizes
    with ≥ flow_seeds seeds each (:func:`cusp_rule` on the medians over seeds)."""
    sc = st.Scope()
    rs = sc.keep(r for r in records if rd.cusp(r) is not None and (not rd.follows_flow(r)
                                                                   or flow_sweep_run(r)))

    def relu(r):
        act = rd.field_value(r, "activation") or "relu"
        return None if act == "relu" else f"{act}: an analytic loss cannot form a cusp"

    def peaked(r):
        pk = rd.flow_peak(r) if rd.follows_flow(r) else (0.0, True)
        return None if pk is None or pk[1] else "no θ* of peak λ_1 (λ_1 still rising at the end)"

    runs = sc.gate(rs, relu, peaked)
    sets = []
    for by_n in _size_groups(runs).values():
        if not _sizes_scope(sc, by_n, th.cusp_sizes, 1.0, th.flow_seeds):
            continue
        sizes = [n for n, g in by_n.items() if len(g) >= th.flow_seeds]
        sh = {n: [rd.cusp_sharpness(rd.cusp(r)["deltas"], rd.cusp(r)["values"]) for r in by_n[n]]
              for n in sizes}
        d2 = [float(np.median([s["second_difference"] for s in sh[n]])) for n in sizes]
        ratios = [float(np.median([s["parabola_ratio"] for s in sh[n]])) for n in sizes]
        rule = cusp_rule(d2, ratios, th)
        why = (f"second difference {rounded(d2, 4)} over n_D {sizes} (Spearman {rule['spearman']:.3g}), "
               f"parabola ratio {rounded(ratios, 4)} (≥ {th.cusp_ratio:g} at the largest two: "
               f"{rule['sharper']})")
        sets.append(Setting(_name(by_n), HOLDS if rule["passes"] else FAILS, why,
                            {"n_data": sizes, "second_difference": d2, "parabola_ratio": ratios, **rule}))
    return claim_map("L9", sets, sc.na, threshold=thresholds_of(th, "cusp_sizes", "cusp_ratio",
                                                                 "flow_seeds"),
                     runs=sc.used, excluded=sc.excluded, none_reason="no record with a cusp slice")
