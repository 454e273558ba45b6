"""[L] Lowell 2022 on the edge of stability: L1–L7 and L10 (L8, L9: :mod:`.gradient_flow`).

Every evaluator first decides where each run was (:func:`readers.edge`): invalid runs are set
aside with their reason; statistics "over the edge" use on-edge points only (ρ_1 ≥ edge_rho,
never step 0 or a catapult); a claim whose runs never reached the edge is ``inconclusive —
edge not reached (max ρ_1 = x at η = y)``, never ``fails``. Every unit's statistic carries its
run's edge count beside n_c − 1. Sweeps take medians over seeds at each sweep value."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import (FAILS, HOLDS, INCONCLUSIVE, Thresholds, Verdict, combine,
                                   rounded, strictly_increasing, with_excluded)
from simlab.record import Record

SINGLE_RUNS = ("toy", "scale")  # a user's own `python -m simlab toy|scale` run
# grids of other protocols (Sagun's sweeps, the L10 continuations, the predictions): L6 and L7,
# which judge any run with telemetry, leave these to their own claims
OTHER_PROTOCOLS = ("width_sweep", "training_spectrum", "fluctuation", "std_sweep", "random_inputs",
                   "interpolation", "continuation", "predictions", "langevin", "cusp")


def _has(key: str) -> Callable[[Record], bool]:
    return lambda r: any(p.get(key) is not None for p in r.telemetry)


def _pool(records: Iterable[Record], keep: Callable[[Record], bool]):
    return rd.split_valid(r for r in records if keep(r))


def _ce_constant(r: Record) -> bool:
    return rd.loss_kind(r) == "ce" and not rd.is_flow(r)


def _finish(cid: str, units: dict, thr: dict, used: Iterable[str], what: str, none_reason: str,
            pool: Sequence[Record], ex: dict[str, str], th: Thresholds) -> Verdict:
    """combine(); when no run of the pool reached the edge, the reason says so with max ρ_1."""
    v = combine(cid, units, thr, used, what, none_reason, ex)
    if v.status == INCONCLUSIVE and pool and not any(rd.edge(r, th).reached for r in pool):
        why = rd.edge_not_reached(pool, th)
        v = dataclasses.replace(v, reason=with_excluded(why, v.excluded))
    sparse = [rd.label(r) for r in pool if rd.edge(r, th).reached and rd.edge(r, th).cadence_ok is False]
    if sparse:
        note = (f"cadence precondition unmet: telemetry sparser than 1/(5η) on the edge in "
                f"{len(sparse)} run(s) ({', '.join(sparse[:3])})")
        stat = {**v.statistic, "cadence_unmet": sparse} if isinstance(v.statistic, dict) else v.statistic
        v = dataclasses.replace(v, statistic=stat, reason=f"{v.reason}; {note}")
    return v


def _edge_stat(r: Record, th: Thresholds) -> dict:
    e = rd.edge(r, th)
    return {"edge_count": e.edge_count, "n_c_minus_1": e.n_classes - 1 if e.n_classes else None,
            "iterations_on_edge": e.iterations, "on_edge_points": len(e.points)}


def _lr_groups(records: Sequence[Record]) -> dict[str, dict[float, list[Record]]]:
    """lr_sweep groups → {η: [records]} sorted by η ascending."""
    return {rd.group_label(k): rd.by_value(g, rd.lr)
            for k, g in rd.group_sweep(rd.of_experiment(records, "lr_sweep"), ("lr",)).items()}


def _range(xs: Sequence[float | None]) -> str:
    """' (seeds a–b)' when several seeds went into a median, else ''."""
    xs = [x for x in xs if x is not None]
    return f" (seeds {min(xs):.3g}–{max(xs):.3g})" if len(xs) > 1 else ""


def _med(xs: Sequence[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return float(np.median(xs)) if xs else None


# ---------------------------------------------------------------------------- L1


def _l1_unit(rs: Sequence[Record], th: Thresholds) -> tuple[str, dict]:
    """L1's rule on the seeds of one η that reached the edge (medians over seeds)."""
    nc = rd.n_classes(rs[0])
    a = _med([rd.max_rho_on_edge(r, nc - 1, th) for r in rs]) if nc else None
    b = _med([rd.max_rho_on_edge(r, nc, th) for r in rs]) if nc else None
    eta = rd.lr(rs[0])
    counts = [rd.edge(r, th).edge_count for r in rs]
    stat = {"lr": eta, "n_classes": nc, "seeds": len(rs), "max_rho_nc_minus_1": a,
            "max_rho_nc": b, "edge_counts": counts, "n_c_minus_1": nc - 1 if nc else None,
            "seeds_max_rho_nc_minus_1": [rd.max_rho_on_edge(r, nc - 1, th) for r in rs] if nc else [],
            "seeds_max_rho_nc": [rd.max_rho_on_edge(r, nc, th) for r in rs] if nc else []}
    if a is None or b is None:
        return INCONCLUSIVE, {**stat, "why": f"on-edge telemetry lacks ρ_{nc}"}
    why = (f"η={eta:g}, on the edge: max ρ_{nc - 1} = {a:.3g}{_range(stat['seeds_max_rho_nc_minus_1'])}, "
           f"max ρ_{nc} = {b:.3g}{_range(stat['seeds_max_rho_nc'])}; edge count {counts} vs "
           f"n_c − 1 = {nc - 1}")
    return (HOLDS if a >= th.rho_edge and b <= th.rho_off else FAILS), {**stat, "why": why}


def evaluate_L1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L1: training sits on the edge of stability across n_c − 1 eigenvectors, not 1.

    Per lr_sweep group: at the smallest η whose runs reached the edge, over on-edge telemetry,
    max ρ_{n_c−1} ≥ rho_edge and max ρ_{n_c} ≤ rho_off (medians over the seeds that reached
    it). Every single cross-entropy run at a constant η (experiment "toy" or "scale": a user's
    own run) is a unit too, so one run of one's own settings gets an answer."""
    thr = {"rho_edge": th.rho_edge, "rho_off": th.rho_off, "edge_rho": th.edge_rho,
           "edge_points": th.edge_points}
    pool, ex = _pool(records, lambda r: _ce_constant(r) and _has("rho")(r)
                     and rd.experiment(r) in ("lr_sweep",) + SINGLE_RUNS)
    units, used = {}, []
    for g, by_lr in _lr_groups(pool).items():
        used += [rd.label(r) for rs in by_lr.values() for r in rs]
        reached = {eta: [r for r in rs if rd.edge(r, th).reached] for eta, rs in by_lr.items()}
        reached = {eta: rs for eta, rs in reached.items() if rs}
        if not reached:
            units[g] = (INCONCLUSIVE, {"why": rd.edge_not_reached(
                [r for rs in by_lr.values() for r in rs], th)})
            continue
        eta = min(reached)
        units[f"{g} lr={eta:g}"] = _l1_unit(reached[eta], th)
    for r in rd.of_experiment(pool, *SINGLE_RUNS):
        used.append(rd.label(r))
        units[rd.label(r)] = (_l1_unit([r], th) if rd.edge(r, th).reached else
                              (INCONCLUSIVE, {"why": rd.edge_not_reached([r], th)}))
    return _finish("L1", units, thr, used, "runs", "no lr_sweep run and no single run with ρ "
                   "telemetry", pool, ex, th)


# ---------------------------------------------------------------------------- L2


def evaluate_L2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L2: the edge count n_c − 1 follows the number of classes.

    Per class_sweep group (varying n_classes and hence n_data), over the runs that reached the
    edge: for each n_c, the median over seeds of the median on-edge ρ_i; the largest
    ρ_i/ρ_{i+1} must fall at i = n_c − 1 **and** ρ_{n_c−1} ≥ rho_edge there (a gap alone is
    the outlier count, not the edge). "Follows" needs two or more n_c on the edge."""
    thr = {"rho_edge": th.rho_edge, "edge_rho": th.edge_rho}
    pool, ex = _pool(rd.of_experiment(records, "class_sweep"), _has("rho"))
    units, used = {}, []
    for key, grp in rd.group_sweep(pool, ("n_classes", "n_data")).items():
        g = rd.group_label(key)
        used += [rd.label(r) for r in grp]
        rows, short = {}, []
        for nc, rs in rd.by_value(grp, rd.n_classes).items():
            on = [rd.edge(r, th).median_rho for r in rs if rd.edge(r, th).reached]
            if on and not any(m is not None and len(m) > nc for m in on):
                short.append(nc)  # top-k telemetry with k ≤ n_c: no ρ_{n_c+1}, the gap is unseen
            on = [m for m in on if m is not None and len(m) > nc]
            if not on:
                continue
            k = min(len(m) for m in on)
            med = np.median(np.asarray([m[:k] for m in on]), axis=0)
            i, ratio = rd.ratio_gap_index(med)
            rows[nc] = {"gap_index": i, "gap_ratio": ratio, "rho_nc_minus_1": float(med[nc - 2])
                        if nc >= 2 else None, "seeds": len(on),
                        "edge_counts": [rd.edge(r, th).edge_count for r in rs]}
        unseen = (f"; n_c = {', '.join(map(str, short))} on the edge but not judged (its "
                  "telemetry has no ρ_(n_c+1): a gap at i = n_c would be unseen)" if short else "")
        if len(rows) < 2:
            units[g] = (INCONCLUSIVE, {"not_judged": short, "why": (
                f"class counts on the edge {sorted(rows)}: need two or more" if rows
                else rd.edge_not_reached(grp, th)) + unseen})
            continue
        good = all(v["gap_index"] == nc - 1 and (v["rho_nc_minus_1"] or 0) >= th.rho_edge
                   for nc, v in rows.items())
        units[g] = (HOLDS if good else FAILS, {"runs": rows, "not_judged": short, "why": "(n_c, gap index, ρ_(n_c−1)) " + ", ".join(
            f"({nc}, {v['gap_index']}, {v['rho_nc_minus_1']:.3g})" for nc, v in sorted(rows.items())) + unseen})
    return _finish("L2", units, thr, used, "class sweeps", "no class_sweep run with ρ telemetry",
                   pool, ex, th)


# ---------------------------------------------------------------------------- L3, L5


@dataclasses.dataclass(frozen=True)
class _Sweep:
    """One lr_sweep group: the η values whose runs reached the edge with every measure, per
    measure the median over those seeds at each η (``med``) and the seeds' values (``seeds``),
    and the group's runs (reached or not)."""

    lrs: list[float]
    med: dict[str, list[float]]
    seeds: dict[str, list[list[float]]]
    runs: list[Record]

    def too_few(self, th: Thresholds, what: str) -> str | None:
        """Why the sweep cannot be judged (fewer than ``min_sweep`` η), or None."""
        if len(self.lrs) >= th.min_sweep:
            return None
        return (f"{len(self.lrs)} {what} (< {th.min_sweep})" if self.lrs
                else rd.edge_not_reached(self.runs, th))


def _sweeps(records, th: Thresholds, measure, names: tuple[str, ...]):
    """Per lr_sweep group its :class:`_Sweep` of ``measure(r)`` (a tuple, one value per name in
    ``names``; None when the run lacks one), then every group's runs, the runs used and the runs
    set aside."""
    pool, ex = _pool(records, _has("rho"))
    out, used = {}, []
    for g, by_lr in _lr_groups(pool).items():
        s = _Sweep([], {n: [] for n in names}, {n: [] for n in names},
                   [r for rs in by_lr.values() for r in rs])
        for eta, rs in by_lr.items():
            used += [rd.label(r) for r in rs]
            vals = [m for r in rs if rd.edge(r, th).reached and (m := measure(r)) is not None]
            if vals:
                s.lrs.append(eta)
                for n, col in zip(names, zip(*vals)):
                    s.med[n].append(_med(col))
                    s.seeds[n].append(list(col))
        out[g] = s
    return out, [r for s in out.values() for r in s.runs], used, ex


def evaluate_L3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L3: ρ_{n_c} falls toward 0 as η shrinks while ρ_{n_c−1} stays near 1.

    Per lr_sweep group with ≥ ``min_sweep`` learning rates whose runs reached the edge (medians
    over seeds): on-edge max ρ_{n_c} strictly decreases as η decreases, and on-edge max
    ρ_{n_c−1} ≥ rho_edge at every η."""
    thr = {"rho_edge": th.rho_edge, "min_sweep": th.min_sweep, "edge_rho": th.edge_rho}

    def measure(r):
        nc = rd.n_classes(r)
        a, b = rd.max_rho_on_edge(r, nc - 1, th), rd.max_rho_on_edge(r, nc, th)
        return None if a is None or b is None else (a, b)

    sweeps, pool, used, ex = _sweeps(records, th, measure, ("max_rho_nc_minus_1", "max_rho_nc"))
    units = {}
    for g, s in sweeps.items():
        a, b = s.med["max_rho_nc_minus_1"], s.med["max_rho_nc"]
        stat = {"lr": s.lrs, "max_rho_nc": b, "max_rho_nc_minus_1": a,
                "seeds_max_rho_nc": s.seeds["max_rho_nc"],
                "seeds_max_rho_nc_minus_1": s.seeds["max_rho_nc_minus_1"],
                "why": f"over η {s.lrs} on the edge: max ρ_(n_c) {rounded(b)}, max ρ_(n_c−1) "
                       f"{rounded(a)}"}
        if why := s.too_few(th, "learning rates reached the edge"):
            units[g] = (INCONCLUSIVE, {**stat, "why": why})
            continue
        units[g] = (HOLDS if strictly_increasing(b) and min(a) >= th.rho_edge else FAILS, stat)
    return _finish("L3", units, thr, used, "lr sweeps", "no lr_sweep run", pool, ex, th)


def evaluate_L5(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L5: ‖P_bulk g‖ roughly independent of η; ‖P_top g‖ grows as η shrinks.

    Per lr_sweep group: for each η whose runs reached the edge, the median over on-edge
    telemetry of ‖P_bulk g‖ and ‖P_top g‖ (median again over seeds). Needs ≥ ``min_sweep`` η.
    Holds when max/min of the bulk medians ≤ bulk_spread and the top medians strictly increase
    as η decreases."""
    thr = {"bulk_spread": th.bulk_spread, "min_sweep": th.min_sweep, "edge_rho": th.edge_rho}

    def measure(r):
        t, b = rd.median_on_edge(r, "p_top_norm", th), rd.median_on_edge(r, "p_bulk_norm", th)
        return None if t is None or b is None else (t, b)

    sweeps, pool, used, ex = _sweeps(records, th, measure, ("p_top_norm", "p_bulk_norm"))
    units = {}
    for g, s in sweeps.items():
        if why := s.too_few(th, "learning rates with on-edge telemetry"):
            units[g] = (INCONCLUSIVE, {"lr": s.lrs, "why": why})
            continue
        top, bulk = s.med["p_top_norm"], s.med["p_bulk_norm"]
        spread = max(bulk) / min(bulk) if min(bulk) > 0 else float("inf")
        good = spread <= th.bulk_spread and strictly_increasing(top[::-1])
        units[g] = (HOLDS if good else FAILS, {
            "lr": s.lrs, "p_top_norm": top, "p_bulk_norm": bulk, "bulk_spread": spread,
            "seeds_p_top_norm": s.seeds["p_top_norm"], "seeds_p_bulk_norm": s.seeds["p_bulk_norm"],
            "why": f"over η {s.lrs} on the edge: ‖P_bulk g‖ spread {spread:.3g}×, ‖P_top g‖ "
                   f"{rounded(top)}"})
    return _finish("L5", units, thr, used, "lr sweeps", "no lr_sweep run", pool, ex, th)


# ---------------------------------------------------------------------------- L4


def evaluate_L4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L4: the gradient concentrates in the top subspace when the top eigenvectors reach the edge.

    Per entry-capture run that reached the edge, over eligible telemetry (no step 0, no
    catapult): s_edge = first iteration with ρ_{n_c−1} ≥ rho_edge (when ρ_{n_c−1} never gets
    there, the first with ρ_1 ≥ edge_rho, and the reason says so); s_top = first iteration
    from which ‖P_top g‖ > ‖P_bulk g‖ at ``entry_consecutive`` consecutive points. Holds when
    |s_edge − s_top| ≤ entry_intervals × the median telemetry interval; reaching the edge
    without the gradient ever concentrating fails. The reason states both iterations (and
    ρ_1's entry separately)."""
    thr = {"rho_edge": th.rho_edge, "edge_rho": th.edge_rho,
           "entry_intervals": th.entry_intervals, "entry_consecutive": th.entry_consecutive}
    pool, ex = _pool(rd.of_experiment(records, "entry"), _has("rho"))
    units, used = {}, []
    for r in pool:
        used.append(rd.label(r))
        e = rd.edge(r, th)
        if not e.reached or rd.n_classes(r) is None:
            units[rd.label(r)] = (INCONCLUSIVE, {"why": rd.edge_not_reached([r], th)})
            continue
        ev = rd.entry_events(r, th)
        nc = rd.n_classes(r)
        s_edge, which = ev["edge_step"], f"ρ_{nc - 1} ≥ {th.rho_edge}"
        if s_edge is None:
            s_edge, which = ev["rho1_step"], f"ρ_{nc - 1} never ≥ {th.rho_edge}; ρ_1 ≥ {th.edge_rho}"
        stat = {**ev, **_edge_stat(r, th), "judged_at": which}
        note = f"; {e.cadence_note()}" if e.cadence_note() else ""
        if ev["concentration_step"] is None:
            units[rd.label(r)] = (FAILS, {**stat, "why": f"edge ({which}) at iteration {s_edge}, "
                                          "gradient never concentrated in the top subspace" + note})
            continue
        good = abs(s_edge - ev["concentration_step"]) <= th.entry_intervals * ev["interval"]
        units[rd.label(r)] = (HOLDS if good else FAILS, {**stat, "why": (
            f"edge ({which}) at iteration {s_edge} (ρ_1 ≥ {th.edge_rho} at {ev['rho1_step']}), "
            f"‖P_top g‖ > ‖P_bulk g‖ from iteration {ev['concentration_step']} (interval "
            f"{ev['interval']:g})" + note)})
    return _finish("L4", units, thr, used, "runs", "no entry run", pool, ex, th)


# ---------------------------------------------------------------------------- L6, L7


def evaluate_L6(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L6: once on the edge, learning happens in the bulk, not the top (paper Table 1).

    Per valid run with ΔL telemetry (any experiment but the other protocols' grids,
    :data:`OTHER_PROTOCOLS`; aliases counted once) that reached the edge, over its on-edge
    points (≥ min_edge_points with ΔL): mean ΔL_bulk < 0, mean ΔL_top ≥ mean ΔL_bulk and
    std(ΔL_top) > std(ΔL_bulk) (:func:`readers.dl_stats`, ddof=1). The same statistic with "on
    the edge" read as ρ_{n_c−1} > rho_on_edge (the paper's reading) is reported beside it."""
    thr = {"edge_rho": th.edge_rho, "min_edge_points": th.min_edge_points,
           "rho_on_edge": th.rho_on_edge}
    pool, ex = _pool(rd.distinct(records), lambda r: _has("dl_top")(r) and _has("rho")(r)
                     and rd.experiment(r) not in OTHER_PROTOCOLS)
    units, used = {}, []
    for r in pool:
        used.append(rd.label(r))
        t1 = rd.table1(r, th)
        s = t1["edge"]
        stat = {**s, "on_edge_points": s["points"], "paper_reading": t1["paper"],
                **_edge_stat(r, th)}
        if not t1["reached"]:
            units[rd.label(r)] = (INCONCLUSIVE, {**stat, "why": rd.edge_not_reached([r], th)})
        elif s["points"] < th.min_edge_points:
            units[rd.label(r)] = (INCONCLUSIVE, {**stat, "why": f"{s['points']} on-edge points "
                                                 "with ΔL"})
        else:
            mt, mb, st, sb = (s[k] for k in ("mean_dl_top", "mean_dl_bulk", "std_dl_top",
                                             "std_dl_bulk"))
            good = mb < 0 and mt >= mb and st > sb
            units[rd.label(r)] = (HOLDS if good else FAILS, {**stat, "why": (
                f"{s['points']} on-edge points: mean ΔL_top {mt:.3g}, ΔL_bulk {mb:.3g}; std "
                f"{st:.3g} vs {sb:.3g}")})
    return _finish("L6", units, thr, used, "runs", "no run with ΔL_top / ΔL_bulk telemetry",
                   pool, ex, th)


def evaluate_L7(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L7: weights barely move: max_t |‖θ_t‖/‖θ_0‖ − 1| < theta_change.

    Per valid run (any experiment but :data:`OTHER_PROTOCOLS`) with ≥ 2 telemetry points of
    ``theta_norm`` that reached the edge and trained past it; ‖θ_0‖ is the first point's (its
    step is reported: it should be 0). Runs that never reached the edge are inconclusive units (their change is reported)."""
    thr = {"theta_change": th.theta_change, "edge_rho": th.edge_rho}
    pool, ex = _pool(rd.distinct(records), lambda r: rd.theta_change(r) is not None
                     and _has("rho")(r) and rd.experiment(r) not in OTHER_PROTOCOLS)
    units, used = {}, []
    for r in pool:
        used.append(rd.label(r))
        c = rd.theta_change(r)
        dev = c["max_rel_change"]
        stat = {**c, **_edge_stat(r, th), "why": f"max |‖θ_t‖/‖θ_0‖ − 1| = {dev:.3g}"}
        if not rd.edge(r, th).reached:
            units[rd.label(r)] = (INCONCLUSIVE, {**stat, "why": f"{rd.edge_not_reached([r], th)}"
                                                 f"; ‖θ‖ changed by {dev:.3g}"})
            continue
        units[rd.label(r)] = (HOLDS if dev < th.theta_change else FAILS, stat)
    return _finish("L7", units, thr, used, "runs", "no run with ‖θ‖ and ρ telemetry", pool, ex,
                   th)


# ---------------------------------------------------------------------------- L10


def _where(grp: Sequence[Record], fr: Sequence[dict]) -> str:
    """'n_D = 512, η 0.005 / 0.01 for 400 / 200 iterations': where a continuation group ran."""
    n = rd.n_data(grp[0])
    etas = sorted({c["lr"] for c in fr})
    iters = [next(c["n_iter"] for c in fr if c["lr"] == e) for e in etas]
    return ((f"n_D = {n}, " if n else "") + "η " + " / ".join(f"{e:g}" for e in etas)
            + " for " + " / ".join(map(str, iters)) + " iterations")


def evaluate_L10(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L10: learning happens in the bulk over a whole trajectory (Song, Ahn & Yun 2025).

    Records of experiment "continuation" (summary["continuation"], INTERFACES.md): from one
    on-edge θ, GD, Bulk-GD and Top-GD for N = 2/η iterations; decrease_X = L_X[0] − L_X[-1].
    A continuation counts when its start is on the edge (start ρ_1 ≥ edge_rho), its GD path is
    valid and GD decreased the loss. Per group (seeds are replicates, medians): holds iff
    Bulk-GD's decrease ≥ l10_bulk × GD's and Top-GD's ≤ l10_top × GD's. A diverged Bulk-GD or
    Top-GD path counts as decrease −∞ (so the summary's overall ``valid``, false when any path
    diverged, is not used to set the record aside); a record without a continuation (its source
    never reached the edge) is set aside with the summary's reason."""
    thr = {"l10_bulk": th.l10_bulk, "l10_top": th.l10_top, "edge_rho": th.edge_rho}
    # the record's own "valid" speaks for all three paths; here only a GD path that failed sets
    # a continuation aside (a diverged Bulk-GD or Top-GD path is a result, not a broken run)
    pool, ex = [], {}
    for r in rd.of_experiment(records, "continuation"):
        if rd.continuation(r) is not None:
            pool.append(r)
        else:
            ex[rd.label(r)] = rd.validity(r)[1] or "no continuation in its summary"
    units, used, starts = {}, [], []
    for key, grp in rd.group_sweep(pool, ()).items():
        g = rd.group_label(key)
        fr = []
        for r in grp:
            c = rd.continuation(r)
            used.append(rd.label(r))
            starts.append((c["start_rho_1"], c["lr"]))
            if c["valid"].get("gd") is False:
                ex[rd.label(r)] = "the GD continuation diverged"
            elif c["start_rho_1"] is None or c["start_rho_1"] < th.edge_rho:
                continue
            elif not c["decrease"]["gd"] > 0:
                ex[rd.label(r)] = f"GD did not decrease the loss ({c['decrease']['gd']:.3g})"
            else:
                fr.append(c)
        if not fr:
            units[g] = (INCONCLUSIVE, {"why": "no continuation from an on-edge θ with a GD "
                                       "decrease"})
            continue
        b = float(np.median([c["bulk_fraction"] for c in fr]))
        t = float(np.median([c["top_fraction"] for c in fr]))
        units[g] = (HOLDS if b >= th.l10_bulk and t <= th.l10_top else FAILS, {
            "bulk_fraction": b, "top_fraction": t, "seeds": len(fr),
            "seeds_bulk_fraction": [c["bulk_fraction"] for c in fr],
            "seeds_top_fraction": [c["top_fraction"] for c in fr],
            "decrease": [c["decrease"] for c in fr], "n_iter": [c["n_iter"] for c in fr],
            "start_rho_1": [c["start_rho_1"] for c in fr],
            "why": f"{_where(grp, fr)}: Bulk-GD decreased "
                   f"the loss by {b:.3g}×{_range([c['bulk_fraction'] for c in fr])} GD's, Top-GD by "
                   f"{t:.3g}×{_range([c['top_fraction'] for c in fr])} ({len(fr)} run(s))"})
    v = combine("L10", units, thr, used, "continuation groups",
                "no continuation from an on-edge θ (experiment 'continuation')", ex)
    ok_starts = [(s, eta) for s, eta in starts if s is not None]
    if v.status == INCONCLUSIVE and ok_starts and all(s < th.edge_rho for s, _ in ok_starts):
        s, eta = max(ok_starts)
        v = dataclasses.replace(v, reason=with_excluded(
            f"edge not reached (max start ρ_1 = {s:.3g} at η = {eta:g})", v.excluded))
    return v
