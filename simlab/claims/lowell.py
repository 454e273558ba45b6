"""[L] Lowell 2022 on the edge of stability: L1–L7 and L10 (L8, L9: :mod:`.gradient_flow`).

Every evaluator gates runs by the claim's scope (CLAIMS.md, "[L] when a run can test a claim
about the edge"): invalid runs are excluded; runs that never reached the edge (entered at ρ_1 ≥
1, ≥ 5 on-edge points after), truncated runs (L1–L5), runs without an n_c − 1 outlier subspace
(L1–L3), runs with P_top from fewer than n_c − 1 eigenvectors (L4–L6, L10) are ``not
applicable`` with the number that decided it. In-scope runs are judged per setting over seeds
(:mod:`.settings`) and the verdict is the map over settings (:func:`verdict.claim_map`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims import settings as st
from simlab.claims.verdict import (FAILS, HOLDS, INCONCLUSIVE, SPLIT, Setting, Thresholds, Verdict,
                                   claim_map, median, rounded, thresholds_of)
from simlab.record import Record

# a user's own `python -m simlab toy|scale` run, or own model (simlab.run, simlab.EdgeMonitor)
SINGLE_RUNS = ("toy", "scale", "own")
# other protocols' grids: the edge claims leave these to their own claims
OTHER_PROTOCOLS = ("width_sweep", "training_spectrum", "fluctuation", "std_sweep", "random_inputs",
                   "interpolation", "continuation", "predictions", "langevin", "cusp")


def _has(key: str) -> Callable[[Record], bool]:
    return lambda r: any(p.get(key) is not None for p in r.telemetry)


def _constant_ce(r: Record) -> bool:
    return rd.is_lowell(r) and rd.loss_kind(r) == "ce" and not rd.is_flow(r)


def _sweep_groups(runs: Sequence[Record]) -> dict[str, dict[float, list[Record]]]:
    """lr_sweep groups (settings less η) → {η: runs} ascending in η."""
    out: dict[str, dict[float, list[Record]]] = {}
    for r in runs:
        cfg = {k: v for k, v in (r.config or {}).items() if k not in rd.BOOKKEEPING + ("lr",)}
        key = str(sorted(cfg.items(), key=str)) + rd.regime(r)
        out.setdefault(key, {}).setdefault(rd.lr(r), []).append(r)
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def _sweep_name(by_lr: dict[float, list[Record]]) -> str:
    r = next(iter(by_lr.values()))[0]
    return rd.setting_label(r).rsplit("/", 1)[0] + " η sweep"


# ---------------------------------------------------------------------------- L1


def _l1_numbers(r: Record, th: Thresholds) -> dict:
    nc = rd.n_classes(r)
    e = rd.edge(r, th)
    return {"reach_nc_minus_1": rd.reach(r, nc - 1, th), "max_rho_nc": rd.max_rho_on_edge(r, nc, th),
            "median_rho_nc_minus_1": (float(e.median_rho[nc - 2]) if e.median_rho is not None
                                      and len(e.median_rho) >= nc - 1 else None),
            "plain_max_nc_minus_1": rd.max_rho_on_edge(r, nc - 1, th),
            "edge_count": e.edge_count, "n_c_minus_1": nc - 1, "lr": rd.lr(r)}


def l1_rule(reach_nc_minus_1: float | None, max_rho_nc: float | None, th: Thresholds) -> bool:
    """L1's rule: ρ_{n_c−1} reaches rho_edge and ρ_{n_c} never exceeds rho_off (Lowell's
    Fig. 1 at η = 1e−4: "ρ_10 never exceeds 0.246 at any point, while ρ_9 always reaches at
    least 0.693")."""
    return (reach_nc_minus_1 is not None and max_rho_nc is not None
            and reach_nc_minus_1 >= th.rho_edge and max_rho_nc <= th.rho_off)


def _l1_test(th: Thresholds) -> Callable[[dict], bool]:
    return lambda n: l1_rule(n.get("reach_nc_minus_1"), n.get("max_rho_nc"), th)


def _l1_describe(nc: int) -> Callable[[dict], str]:
    def say(m):
        if m.get("reach_nc_minus_1") is None or m.get("max_rho_nc") is None:
            return f"ρ_{nc - 1} or ρ_{nc} not measured"
        return (f"η = {m['lr']:g}: ρ_{nc - 1} reaches {m['reach_nc_minus_1']:.3g} (windowed; plain "
                f"max {m.get('plain_max_nc_minus_1', float('nan')):.3g}, median "
                f"{m.get('median_rho_nc_minus_1', float('nan')):.3g}), max ρ_{nc} = "
                f"{m['max_rho_nc']:.3g}; edge count {m.get('edge_count', float('nan')):.0f} vs "
                f"n_c − 1 = {nc - 1}")
    return say


def _edge_scope(sc: st.Scope, runs, th: Thresholds, *extra) -> list[Record]:
    return sc.gate(runs, st.reached(th), st.not_truncated(th), st.outlier_subspace(th), *extra)


def evaluate_L1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L1: training is on the edge across n_c − 1 eigenvectors, not 1.

    Scope: cross-entropy runs at constant η that reached the edge, not truncated, with an
    outlier subspace; of an η sweep, the smallest η with in-scope runs (single runs: their
    own setting). Per setting, medians over seeds: ρ_{n_c−1} reaches rho_edge (windowed)
    and the plain max on-edge ρ_{n_c} ≤ rho_off."""
    sc = st.Scope()
    pool = sc.keep(r for r in records if _constant_ce(r) and _has("rho")(r)
                   and rd.experiment(r) in ("lr_sweep",) + SINGLE_RUNS)
    chosen = []
    for by_lr in _sweep_groups(rd.of_experiment(pool, "lr_sweep")).values():
        kept = {eta: _edge_scope(sc, rs, th) for eta, rs in by_lr.items()}
        kept = {eta: rs for eta, rs in kept.items() if rs}
        if kept:
            eta = min(kept)
            chosen += kept[eta]
            for e2, rs in kept.items():
                for r in rs if e2 != eta else ():
                    sc.out(r, f"not the smallest η of its sweep: η = {e2:g} (judged at {eta:g})")
    chosen += _edge_scope(sc, rd.of_experiment(pool, *SINGLE_RUNS), th)
    sets = []
    for rs in st.group_settings(chosen).values():
        nc = rd.n_classes(rs[0])
        sets += st.over_seeds(rs, lambda r: _l1_numbers(r, th), _l1_test(th), _l1_describe(nc), th)
    return claim_map("L1", sets, sc.na, threshold=thresholds_of(
        th, "rho_edge", "rho_off", "reach_fraction", "outlier_ratio", "edge_enter", "edge_rho",
        "edge_points"), runs=sc.used, excluded=sc.excluded,
        none_reason="no lr_sweep run and no single run with ρ telemetry")


# ---------------------------------------------------------------------------- L2


def evaluate_L2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L2: the count n_c − 1 follows the number of classes.

    Per n_c of the class sweep (scope as L1; k ≥ n_c + 1 eigenpairs recorded): medians over
    seeds of ρ_{n_c−1}'s windowed reach ≥ rho_edge and median on-edge ρ_{n_c−1}/ρ_{n_c} ≥
    separation (at i = n_c − 1, not the largest ratio over i). The map says which n_c hold."""
    sc = st.Scope()
    pool = sc.keep(r for r in rd.of_experiment(records, "class_sweep")
                   if _has("rho")(r) and rd.is_lowell(r))

    def enough_k(r):
        nc, k = rd.n_classes(r), rd.top_measured(r)
        return None if k is None or nc is None or k >= nc + 1 else (
            f"k < n_c + 1: telemetry has k = {k} eigenpairs, n_c = {nc} (ρ_(n_c+1) unseen)")

    runs = _edge_scope(sc, pool, th, enough_k)
    sets = []
    for rs in st.group_settings(runs).values():
        nc = rd.n_classes(rs[0])

        def numbers(r, nc=nc):
            return {"n_classes": nc, "reach_nc_minus_1": rd.reach(r, nc - 1, th),
                    "separation": rd.outlier_ratio(r, th), "edge_count": rd.edge(r, th).edge_count}

        def test(n):
            return (n.get("reach_nc_minus_1") is not None and n.get("separation") is not None
                    and n["reach_nc_minus_1"] >= th.rho_edge and n["separation"] >= th.separation)

        def say(m, nc=nc):
            return (f"n_c = {nc}: ρ_{nc - 1} reaches {m.get('reach_nc_minus_1', float('nan')):.3g}, "
                    f"ρ_{nc - 1}/ρ_{nc} = {m.get('separation', float('nan')):.3g}, edge count "
                    f"{m.get('edge_count', float('nan')):.0f}")
        sets += st.over_seeds(rs, numbers, test, say, th)
    return claim_map("L2", sets, sc.na, threshold=thresholds_of(
        th, "rho_edge", "separation", "outlier_ratio", "reach_fraction"), runs=sc.used,
        excluded=sc.excluded, none_reason="no class_sweep run with ρ telemetry")


# ---------------------------------------------------------------------------- L3, L5 (η sweeps)


def _slope(x: Sequence[float], y: Sequence[float]) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def bootstrap_slope(by_eta: dict[float, list[float]], th: Thresholds, seed: int = 0) -> dict:
    """Slope of log(median over seeds of y) on log η and its bootstrap interval over seeds
    (``th.bootstrap`` resamples of each η's seeds with replacement, seeded)."""
    etas = sorted(by_eta)
    point = _slope(etas, [np.median(by_eta[e]) for e in etas])
    rng = np.random.default_rng(seed)
    draws = [_slope(etas, [np.median(rng.choice(by_eta[e], len(by_eta[e]))) for e in etas])
             for _ in range(th.bootstrap)]
    a = (1 - th.interval) / 2
    lo, hi = np.quantile(draws, [a, 1 - a])
    return {"slope": point, "low": float(lo), "high": float(hi)}


def _interval_status(iv: dict, passes: Callable[[float], bool]) -> str:
    """holds when the whole interval passes, fails when none of it does, else split."""
    ends = [passes(iv["low"]), passes(iv["high"]), passes(iv["slope"])]
    return HOLDS if all(ends) else FAILS if not any(ends) else SPLIT


def _seeded(status: str, why: str, by_lr: dict[float, list], th: Thresholds) -> tuple[str, str]:
    """A sweep's status and why with its seeds: inconclusive while some η has fewer than
    ``min_seeds`` seeds (a headline claim needs ≥ 3 a setting; the bootstrap interval over one
    seed is a point), the numbers kept."""
    n = min(len(rs) for rs in by_lr.values())
    tally = f"{n} seed{'s' if n != 1 else ''} at the η with fewest"
    if n < th.min_seeds:
        return INCONCLUSIVE, f"{why} ({tally}; {th.min_seeds} needed: {status} on these)"
    return status, f"{why} ({tally})"


def _sweep_scope(records, th: Thresholds, sc: st.Scope, *extra) -> list[dict[float, list[Record]]]:
    """η sweeps in scope: ≥ min_sweep η with in-scope runs spanning ≥ sweep_span; the others'
    runs are set aside with the span."""
    pool = sc.keep(r for r in rd.of_experiment(records, "lr_sweep") if _constant_ce(r)
                   and _has("rho")(r))
    out = []
    for by_lr in _sweep_groups(pool).values():
        kept = {eta: rs for eta, rs in ((e, sc.gate(rs, st.reached(th), st.not_truncated(th), *extra))
                                         for e, rs in by_lr.items()) if rs}
        etas = sorted(kept)
        span = etas[-1] / etas[0] if etas else 0.0
        if len(etas) >= th.min_sweep and span >= th.sweep_span - 1e-9:
            out.append(kept)
            continue
        for rs in kept.values():
            for r in rs:
                sc.out(r, f"η sweep too narrow: {len(etas)} η in scope spanning {span:.3g}× "
                          f"({th.min_sweep} spanning {th.sweep_span:g}× needed)")
    return out


def evaluate_L3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L3: ρ_{n_c} falls toward 0 as η shrinks while ρ_{n_c−1} stays near 1.

    Scope: an η sweep (≥ min_sweep η spanning ≥ sweep_span, each reaching the edge, not
    truncated, with an outlier subspace). Slope of log(median on-edge λ_{n_c−1}) on log η ≤
    −track_slope (λ_{n_c−1} tracks 2/η) and slope of log λ_{n_c} ≥ −flat_slope (λ_{n_c}
    independent of η), each with a bootstrap interval over seeds; each half holds when its
    whole interval passes, fails when none of it does; inconclusive below min_seeds seeds an η."""
    sc = st.Scope()
    sets = []
    for by_lr in _sweep_scope(records, th, sc, st.outlier_subspace(th)):
        nc = rd.n_classes(next(iter(by_lr.values()))[0])
        lam = {i: {eta: [rd.on_edge_lambda(r, i, th) for r in rs] for eta, rs in by_lr.items()}
               for i in (nc - 1, nc)}
        a = bootstrap_slope(lam[nc - 1], th)
        b = bootstrap_slope(lam[nc], th)
        sa = _interval_status(a, lambda s: s <= -th.track_slope)
        sb = _interval_status(b, lambda s: s >= -th.flat_slope)
        status = HOLDS if sa == sb == HOLDS else FAILS if FAILS in (sa, sb) else SPLIT
        why = (f"over η {sorted(by_lr)}: slope of log λ_{nc - 1} on log η {a['slope']:.3g} "
               f"[{a['low']:.3g}, {a['high']:.3g}] ({sa}: ≤ −{th.track_slope:g}), of log λ_{nc} "
               f"{b['slope']:.3g} [{b['low']:.3g}, {b['high']:.3g}] ({sb}: ≥ −{th.flat_slope:g})")
        status, why = _seeded(status, why, by_lr, th)
        sets.append(Setting(_sweep_name(by_lr), status, why, {
            "lr": sorted(by_lr), "tracking": {**a, "status": sa}, "flat": {**b, "status": sb},
            "seeds": {i: {str(k): v for k, v in d.items()} for i, d in lam.items()}}))
    return claim_map("L3", sets, sc.na, threshold=thresholds_of(
        th, "track_slope", "flat_slope", "interval", "sweep_span", "min_sweep", "outlier_ratio"),
        runs=sc.used, excluded=sc.excluded, none_reason="no lr_sweep run")


def evaluate_L5(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L5: ‖P_bulk g‖ is roughly independent of η; ‖P_top g‖ grows as η shrinks.

    Scope: an η sweep as for L3, with P_top from n_c − 1 eigenvectors. Median on-edge
    ‖P_bulk g‖ (median over seeds) varies ≤ bulk_spread× across η; the slope of log(median
    on-edge ‖P_top g‖) on log η < 0 with its bootstrap interval excluding 0; inconclusive below
    min_seeds seeds an η."""
    sc = st.Scope()
    sets = []
    for by_lr in _sweep_scope(records, th, sc, st.has_p_top):
        bulk = {eta: [rd.median_on_edge(r, "p_bulk_norm", th) for r in rs] for eta, rs in by_lr.items()}
        top = {eta: [rd.median_on_edge(r, "p_top_norm", th) for r in rs] for eta, rs in by_lr.items()}
        meds = [float(np.median(v)) for _, v in sorted(bulk.items())]
        spread = max(meds) / min(meds) if min(meds) > 0 else math.inf
        sbulk = HOLDS if spread <= th.bulk_spread else FAILS
        t = bootstrap_slope(top, th)
        stop = _interval_status(t, lambda s: s < 0)
        status = HOLDS if sbulk == stop == HOLDS else FAILS if FAILS in (sbulk, stop) else SPLIT
        why = (f"over η {sorted(by_lr)}: ‖P_bulk g‖ {rounded(meds)} spread {spread:.3g}× ({sbulk}: "
               f"≤ {th.bulk_spread:g}×); slope of log ‖P_top g‖ on log η {t['slope']:.3g} "
               f"[{t['low']:.3g}, {t['high']:.3g}] ({stop}: < 0)")
        status, why = _seeded(status, why, by_lr, th)
        sets.append(Setting(_sweep_name(by_lr), status, why, {
            "lr": sorted(by_lr), "p_bulk_norm": meds, "bulk_spread": spread, "bulk": sbulk,
            "top_slope": {**t, "status": stop}}))
    return claim_map("L5", sets, sc.na, threshold=thresholds_of(
        th, "bulk_spread", "interval", "sweep_span", "min_sweep"), runs=sc.used,
        excluded=sc.excluded, none_reason="no lr_sweep run")


# ---------------------------------------------------------------------------- L4


def evaluate_L4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L4: the gradient concentrates in the top subspace when the top eigenvectors reach the edge.

    Scope: entry-capture runs (telemetry every ≤ entry_cadence iterations) that reached the
    edge, with P_top and the coordinates d_i recorded. Per run: for each i ≤ the edge count,
    s_i = first iteration with ρ_i ≥ 1, e_i = first with |d_i| ≥ burst × its median over the
    1/η iterations before s_i (:func:`readers.entry_events`); the lag is the median over i of
    |e_i − s_i|. Holds when the median lag over seeds ≤ max_lag iterations."""
    sc = st.Scope()
    pool = sc.keep(r for r in rd.of_experiment(records, "entry") if _has("rho")(r))

    def cadence(r):
        iv = rd.entry_events(r, th)["interval"]
        return None if iv is not None and iv <= th.entry_cadence else (
            f"not an entry capture: telemetry every {iv if iv is None else f'{iv:g}'} iterations "
            f"(≤ {th.entry_cadence} needed)")

    def has_d(r):
        return None if rd.entry_events(r, th)["has_d"] else "no d_i = h_i·g in telemetry"

    runs = sc.gate(pool, cadence, st.reached(th), st.has_p_top, has_d)

    def numbers(r):
        ev = rd.entry_events(r, th)
        return {"lag": ev["lag"] if ev["lag"] is not None else math.inf,
                "directions": len(ev["events"]), "events": ev["events"]}

    sets = st.over_seeds(runs, numbers, lambda n: n["lag"] <= th.max_lag, lambda m: (
        f"median lag |e_i − s_i| = {m['lag']:.3g} iterations over {m['directions']:.0f} "
        f"direction(s) (≤ {th.max_lag:g})"), th)
    return claim_map("L4", sets, sc.na, threshold=thresholds_of(th, "burst", "max_lag", "entry_cadence"),
                     runs=sc.used, excluded=sc.excluded, none_reason="no entry run")


# ---------------------------------------------------------------------------- L6, L7


def _lowell_runs(records, sc: st.Scope, key: str) -> list[Record]:
    return sc.keep(r for r in rd.distinct(records) if _has(key)(r) and _has("rho")(r)
                   and rd.is_lowell(r) and rd.experiment(r) not in OTHER_PROTOCOLS)


def evaluate_L6(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L6: once on the edge, learning happens in the bulk, not the top (Table 1).

    Scope per run: P_top from n_c − 1 eigenvectors, and ≥ min_edge_points points with
    ρ_{n_c−1} > rho_on_edge after entering the edge. Holds per seed when (a) mean ΔL_bulk < 0
    and mean + std ≤ 0 and (b) mean ΔL_top ≥ −½ std(ΔL_top) (:func:`readers.l6_rule`); the
    setting on the medians over seeds. Reported: std(ΔL_top) > std(ΔL_bulk), and the same
    statistics over the ρ_1 reading's on-edge points."""
    sc = st.Scope()
    pool = _lowell_runs(records, sc, "dl_top")

    def enough(r):
        n = len(rd.l6_points(r, th))
        nc = rd.n_classes(r) or 2
        if n >= th.min_edge_points:
            return None
        if not rd.edge(r, th).crossed:
            return rd.edge_not_reached([r], th)
        return (f"not on the edge along n_c − 1 directions: {n} point(s) with ρ_{nc - 1} > "
                f"{th.rho_on_edge:g} ({th.min_edge_points} needed)")

    runs = sc.gate(pool, st.has_p_top, enough)

    def numbers(r):
        t = rd.table1(r, th)
        s = t["edge"]
        return {"points": s["points"], "mean_dl_top": s["mean_dl_top"], "std_dl_top": s["std_dl_top"],
                "mean_dl_bulk": s["mean_dl_bulk"], "std_dl_bulk": s["std_dl_bulk"],
                "rho1_reading": t["rho1"]}

    def test(n):
        return rd.l6_rule(n["mean_dl_top"], n["std_dl_top"], n["mean_dl_bulk"], n["std_dl_bulk"])["passes"]

    def say(m):
        rule = rd.l6_rule(m["mean_dl_top"], m["std_dl_top"], m["mean_dl_bulk"], m["std_dl_bulk"])
        return (f"{m['points']:.0f} points: ΔL_bulk {m['mean_dl_bulk']:.3g} ± {m['std_dl_bulk']:.3g} "
                f"(learns: {rule['bulk_learns']}), ΔL_top {m['mean_dl_top']:.3g} ± "
                f"{m['std_dl_top']:.3g} (does not: {rule['top_does_not']})")

    sets = st.over_seeds(runs, numbers, test, say, th)
    return claim_map("L6", sets, sc.na, threshold=thresholds_of(th, "rho_on_edge", "min_edge_points"),
                     runs=sc.used, excluded=sc.excluded,
                     none_reason="no run with ΔL_top / ΔL_bulk telemetry")


def evaluate_L7(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L7: weights barely move: max_t |‖θ_t‖/‖θ_0‖ − 1| < theta_change.

    Scope: runs that reached the edge in nets where one GD step is small against the weights,
    η‖g(θ_0)‖ ≤ small_step·‖θ_0‖ (Lowell's statement is about AlexNet/VGG). Median over seeds."""
    sc = st.Scope()
    pool = _lowell_runs(records, sc, "theta_norm")

    def small(r):
        q = rd.one_step(r)
        if q is None:
            return "no step-0 ‖g‖ and ‖θ‖ in telemetry"
        return None if q <= th.small_step else (
            f"one GD step is large against the weights: η‖g(θ_0)‖ = {100 * q:.3g} % of ‖θ_0‖ "
            f"(≤ {100 * th.small_step:g} % needed)")

    runs = sc.gate(pool, lambda r: None if rd.theta_change(r) else "fewer than 2 ‖θ‖ points",
                   st.reached(th), small)
    sets = st.over_seeds(runs, lambda r: {"max_rel_change": rd.theta_change(r)["max_rel_change"],
                                          "one_step": rd.one_step(r)},
                         lambda n: n["max_rel_change"] < th.theta_change,
                         lambda m: f"max |‖θ_t‖/‖θ_0‖ − 1| = {m['max_rel_change']:.3g} "
                                   f"(< {th.theta_change:g})", th)
    return claim_map("L7", sets, sc.na, threshold=thresholds_of(th, "theta_change", "small_step"),
                     runs=sc.used, excluded=sc.excluded, none_reason="no run with ‖θ‖ and ρ telemetry")


# ---------------------------------------------------------------------------- L10


def evaluate_L10(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L10: learning happens in the bulk over a whole trajectory (Song, Ahn & Yun 2025).

    Scope: continuations (experiment "continuation") from a θ at least 1/η iterations after
    its source entered the edge, each N ≥ continuation_eta/η iterations long, whose GD path is
    valid and decreased the loss. Decrease = initial loss − the mean over the last 1/η
    iterations. Two halves: Bulk-GD's decrease ≥ l10_bulk × GD's, Top-GD's ≤ l10_top × GD's,
    with Top the on-edge subspace (ρ_i ≥ 0.69 at the start); the top n_c − 1 version is reported
    beside it. Per setting, medians over seeds."""
    sc = st.Scope()
    by_label = {rd.label(r): r for r in records}
    by_tail = {r.path.as_posix(): r for r in records}
    pool = []
    for r in rd.of_experiment(records, "continuation"):
        if rd.continuation(r) is None:
            sc.excluded[rd.label(r)] = rd.validity(r)[1] or "no continuation in its summary"
        else:
            pool.append(r)
            sc.used.append(rd.label(r))

    def source(r):
        src = str(rd.field_value(r, "source") or "")
        return by_label.get(src.rsplit("/", 1)[-1]) or next(
            (q for p, q in by_tail.items() if src and p.endswith("/" + src.strip("/"))), None)

    def start(r):
        c = rd.continuation(r)
        s = source(r)
        if s is None:
            return "its source run is not among the records (entry into the edge unknown)"
        e = rd.edge(s, th)
        n1 = rd.iterations_per_eta(s) or 0
        if e.entered_step is None:
            return rd.edge_not_reached([s], th)
        if c["start_step"] is None or c["start_step"] < e.entered_step + n1:
            return (f"starts too early: iteration {c['start_step']}, the source entered the edge at "
                    f"{e.entered_step} (+1/η = {n1:g} needed)")
        return None

    def long_enough(r):
        c = rd.continuation(r)
        need = th.continuation_eta / c["lr"] if c["lr"] else math.inf
        return None if c["n_iter"] and c["n_iter"] >= need - 1e-9 else (
            f"continuation too short: {c['n_iter']} iterations = {c['n_iter'] * c['lr']:.3g}/η "
            f"({th.continuation_eta:g}/η needed)")

    def gd_ok(r):
        c = rd.continuation(r)
        if c["valid"].get("gd") is False:
            return "the GD continuation diverged"
        return None if c["decrease"]["gd"] > 0 else f"GD did not decrease the loss ({c['decrease']['gd']:.3g})"

    def on_edge_top(r):
        return None if rd.continuation(r)["top_fraction"] is not None else (
            "no on-edge Top (projected on the top n_c − 1 only, before the rewritten L10)")

    runs = sc.gate(pool, start, long_enough, gd_ok, on_edge_top, st.has_p_top)

    def numbers(r):
        c = rd.continuation(r)
        return {"bulk_fraction": c["bulk_fraction"], "top_fraction": c["top_fraction"],
                "n_top": c["n_top"], "bulk_nc_fraction": c["bulk_nc_fraction"],
                "top_nc_fraction": c["top_nc_fraction"], "n_top_nc": c["n_top_nc"],
                "n_iter": c["n_iter"]}

    def test(n):
        return n["bulk_fraction"] >= th.l10_bulk and n["top_fraction"] <= th.l10_top

    sets = st.over_seeds(runs, numbers, test, lambda m: (
        f"on-edge Top ({m['n_top']:.3g} eigenvectors): Bulk-GD {m['bulk_fraction']:.3g}× GD's "
        f"decrease (≥ {th.l10_bulk:g}: {m['bulk_fraction'] >= th.l10_bulk}), Top-GD "
        f"{m['top_fraction']:.3g}× (≤ {th.l10_top:g}: {m['top_fraction'] <= th.l10_top}); beside "
        f"it the top n_c − 1 = {m['n_top_nc']:.3g}: Bulk-GD {m['bulk_nc_fraction']:.3g}×, Top-GD "
        f"{m['top_nc_fraction']:.3g}×; over {m['n_iter']:.0f} iterations"), th)
    return claim_map("L10", sets, sc.na, threshold=thresholds_of(
        th, "l10_bulk", "l10_top", "continuation_eta"), runs=sc.used, excluded=sc.excluded,
        none_reason="no continuation run (experiment 'continuation')")


__all__ = ["l1_rule", "evaluate_L1", "evaluate_L2", "evaluate_L3", "evaluate_L4", "evaluate_L5",
           "evaluate_L6", "evaluate_L7", "evaluate_L10", "bootstrap_slope", "median"]
