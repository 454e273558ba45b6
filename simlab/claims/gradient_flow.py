"""[L] Lowell 2022 under gradient flow: L8 (peak λ_1 linear in n_D) and L9 (the cusp)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import (FAILS, HOLDS, INCONCLUSIVE, Thresholds, Verdict, combine,
                                   strictly_increasing)
from simlab.record import Record


def evaluate_L8(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L8: under gradient flow, peak λ_1 grows linearly with n_D.

    Per gradient-flow group (varying n_data): peak λ_1 per valid run (:func:`readers.flow_peak`;
    mean over seeds per n_D); least-squares line through (n_D, peak λ_1) over ≥ min_sizes sizes;
    holds when R² ≥ r2 and the slope > 0. Runs whose λ_1 was still rising when they stopped
    have no observed peak and are left out (named in the statistic); if that leaves fewer than
    min_sizes sizes, the group is inconclusive rather than judged on truncated values."""
    thr = {"r2": th.r2, "min_sizes": th.min_sizes}
    flow, ex = rd.split_valid(r for r in records if rd.is_flow(r)
                              and rd.experiment(r) in rd.LOWELL_EXPERIMENTS)
    units, used = {}, []
    for key, grp in rd.group_sweep(flow, ("n_data",)).items():
        sizes, peaks, unfinished = [], [], []
        for n, rs in rd.by_value(grp, rd.n_data).items():
            found = [pk for r in rs if (pk := rd.flow_peak(r)) is not None]
            if not found:
                continue
            used += [rd.label(r) for r in rs]
            if not all(seen for _, seen in found):
                unfinished.append(n)
                continue
            sizes.append(n)
            peaks.append(float(np.mean([v for v, _ in found])))
        g = rd.group_label(key)
        if len(sizes) < th.min_sizes:
            why = f"{len(sizes)} sizes with an observed peak < {th.min_sizes}"
            if unfinished:
                why += f"; λ_1 still rising at the end for n_D = {sorted(unfinished)}"
            units[g] = (INCONCLUSIVE, {"n_data": sizes, "peak_lambda_1": peaks,
                                       "no_peak_n_data": sorted(unfinished), "why": why})
            continue
        slope, icpt, r2 = rd.linear_fit(sizes, peaks)
        units[g] = (HOLDS if r2 >= th.r2 and slope > 0 else FAILS, {
            "n_data": sizes, "peak_lambda_1": peaks, "slope": slope, "intercept": icpt, "r2": r2,
            "no_peak_n_data": sorted(unfinished),
            "why": f"peak λ_1 on n_D: R² = {r2:.4f}, slope {slope:.3g}"})
    return combine("L8", units, thr, used, "gradient-flow groups", "no gradient_flow run", ex)


def evaluate_L9(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L9: a cusp forms along h_1 at θ* as n_D grows.

    Slices from summary["cusp"] = {"deltas", "values"} (experiment "cusp" or the gradient-flow
    runs), grouped by everything but n_data, n_D from the config (mean over seeds). Holds when
    over ≥ min_sweep sizes both the second difference at Δ = 0 and the parabola ratio (see
    :func:`readers.cusp_sharpness`) strictly increase with n_D. Reading: CLAIMS.md names both
    in one rule, so both must rise; where a ratio is undefined (far value ≤ 0) the second
    difference decides alone, and the statistic says so. A gradient-flow run whose λ_1 was
    still rising when it stopped has no θ* of peak λ_1; its slice is left out. Both regimes
    are read the same way (toy and scale flow runs write the same ``summary["cusp"]``) and
    judged per group, so each regime gets its own unit; ``max_ratio_deviation`` (max |ratio −
    1|) tells a slice that stays a parabola at every n_D from one that sharpens."""
    thr = {"min_sweep": th.min_sweep}
    rs, ex = rd.split_valid(r for r in records if rd.cusp(r) is not None)
    units, used = {}, []
    for key, grp in rd.group_sweep(rs, ("n_data",)).items():
        sizes, d2s, ratios, unfinished = [], [], [], []
        for n, grp_n in rd.by_value(grp, rd.n_data).items():
            used += [rd.label(r) for r in grp_n]
            if rd.is_flow(grp_n[0]) and not all((pk := rd.flow_peak(r)) is None or pk[1]
                                                for r in grp_n):
                unfinished.append(n)
                continue
            sh = [rd.cusp_sharpness(rd.cusp(r)["deltas"], rd.cusp(r)["values"]) for r in grp_n]
            sizes.append(n)
            d2s.append(float(np.mean([s["second_difference"] for s in sh])))
            ratios.append(float(np.mean([s["parabola_ratio"] for s in sh])))
        g = rd.group_label(key)
        if len(sizes) < th.min_sweep:
            why = f"{len(sizes)} sizes < {th.min_sweep}"
            if unfinished:
                why += f"; no peak of λ_1 (still rising at the end) for n_D = {sorted(unfinished)}"
            units[g] = (INCONCLUSIVE, {"n_data": sizes, "no_peak_n_data": sorted(unfinished),
                                       "why": why})
            continue
        ratio_defined = all(math.isfinite(x) for x in ratios)
        good = strictly_increasing(d2s) and (not ratio_defined or strictly_increasing(ratios))
        dev = max((abs(x - 1) for x in ratios if math.isfinite(x)), default=math.nan)
        units[g] = (HOLDS if good else FAILS, {
            "n_data": sizes, "second_difference": d2s, "parabola_ratio": ratios,
            "ratio_used": ratio_defined, "max_ratio_deviation": dev,
            "why": f"second difference {[float(f'{x:.4g}') for x in d2s]} over n_D {sizes}, "
                   f"parabola ratio {[float(f'{x:.4g}') for x in ratios]} (1 for a parabola; "
                   f"max |ratio − 1| = {dev:.2g})"})
    return combine("L9", units, thr, used, "cusp groups", "no record with a cusp slice", ex)
