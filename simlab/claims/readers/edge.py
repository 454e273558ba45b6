"""ρ at a telemetry point, where a run was relative to the edge of stability, and the statistics
taken over the edge: the edge count, Table 1's ΔL statistic (L6), the S8 row, L4's events,
‖θ‖'s change (L7) and the L10 continuation's loss decreases."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from simlab.claims.readers.records import (iterations_per_eta, label, loss_kind, lr, n_classes,
                                           num, step_of)
from simlab.claims.readers.spectra import grad_norm, ratio_gap_index, spectrum, stats
from simlab.claims.verdict import Thresholds
from simlab.record import Record


def rho_at(p: dict, i: int) -> float | None:
    """ρ_i (1-based) of a telemetry point, or None when not measured."""
    rho = p.get("rho") or []
    return num(rho[i - 1]) if 1 <= i <= len(rho) else None


@dataclass(frozen=True)
class Edge:
    """Where one run was relative to the edge (CLAIMS.md, "[L] when a run can test a claim
    about the edge"): it *enters* at the first eligible point with ρ_1 ≥ edge_enter (after a
    catapult, only once ρ_1 has fallen below edge_enter and risen again); from then on a point
    with ρ_1 ≥ edge_rho is *on the edge*; it *reached* the edge with ≥ edge_points on-edge
    points. A run that never crossed ρ_1 = 1 never reached the edge."""

    reached: bool
    lr: float | None
    n_classes: int | None
    eligible: tuple = field(repr=False)     # telemetry points that may count (no step 0/catapult)
    points: tuple = field(repr=False)       # the on-edge points (after entering, ρ_1 ≥ edge_rho)
    entered_step: int | None                # first eligible point with ρ_1 ≥ edge_enter
    first_step: int | None                  # first / last on-edge iteration
    last_step: int | None
    iterations: int                         # last − first on-edge iteration
    max_rho_1: float | None                 # over eligible points
    max_rho_1_step: int | None
    catapult_until: int | None              # last iteration of the catapult, if any
    interval: float | None                  # largest telemetry interval through the edge phase
    cadence_limit: float | None             # 1/(edge_cadence·η)
    window: int | None = None               # ⌈1/η⌉: the windows ρ_i's reach is read over
    median_rho: np.ndarray | None = field(repr=False, default=None)  # median on-edge ρ_i
    reach: np.ndarray | None = field(repr=False, default=None)       # windowed reach of ρ_i
    edge_count: int | None = None           # #i whose ρ_i reaches rho_edge (windowed)

    @property
    def crossed(self) -> bool:
        return self.entered_step is not None

    @property
    def cadence_ok(self) -> bool | None:
        if self.interval is None or self.cadence_limit is None:
            return None
        return self.interval <= max(1.0, self.cadence_limit) + 1e-9

    def cadence_note(self) -> str:
        """'' when the cadence precondition holds or cannot be checked, else one clause."""
        if self.cadence_ok is not False:
            return ""
        phase = "through the edge phase" if self.reached else ""
        return (f"telemetry every {self.interval:g} iterations {phase} > 1/(5η) = "
                f"{self.cadence_limit:.3g}: too sparse to see the edge").replace("  ", " ")

    def to_dict(self) -> dict:
        return {"reached": self.reached, "lr": self.lr, "n_classes": self.n_classes,
                "crossed": self.crossed, "entered_step": self.entered_step,
                "on_edge_points": len(self.points), "first_step": self.first_step,
                "last_step": self.last_step, "iterations_on_edge": self.iterations,
                "max_rho_1": self.max_rho_1, "max_rho_1_step": self.max_rho_1_step,
                "catapult_until": self.catapult_until, "telemetry_interval": self.interval,
                "cadence_limit": self.cadence_limit, "cadence_ok": self.cadence_ok,
                "edge_count": self.edge_count,
                "n_c_minus_1": self.n_classes - 1 if self.n_classes else None}


def _catapult_until(pts: list[tuple[int, float]], n1: float | None, th: Thresholds) -> int | None:
    """Last iteration of the catapult (pts = [(step, ρ_1)], step 0 excluded): a run with ρ_1 >
    catapult_rho within its first 1/η iterations is in its catapult until ρ_1 first falls below
    edge_enter; None without a catapult."""
    if n1 is None or not any(s < n1 and v > th.catapult_rho for s, v in pts):
        return None
    for s, v in pts:
        if v < th.edge_enter:
            return s
    return pts[-1][0] if pts else None


def windows(points: Sequence[tuple[int, dict]], start: int, width: int) -> list[list[dict]]:
    """The on-edge points split into consecutive windows of ``width`` iterations from
    ``start``; empty windows are left out."""
    out: dict[int, list[dict]] = {}
    for s, p in points:
        out.setdefault((s - start) // max(width, 1), []).append(p)
    return [out[k] for k in sorted(out)]


def windowed_reach(wins: Sequence[Sequence[dict]], i: int, fraction: float) -> float | None:
    """The largest r that ρ_i *reaches* (CLAIMS.md): its maximum within a window is ≥ r in at
    least ``fraction`` of the windows; i.e. the ⌈fraction·n⌉-th largest window maximum."""
    maxes = sorted((m for w in wins if (m := _max(rho_at(p, i) for p in w)) is not None),
                   reverse=True)
    if not maxes:
        return None
    return float(maxes[max(math.ceil(fraction * len(maxes)), 1) - 1])


def _max(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None


def edge(r: Record, th: Thresholds) -> Edge:
    """The run's :class:`Edge` (cached on the Record per Thresholds)."""
    key = ("_claims_edge", th)
    if key in r.__dict__:
        return r.__dict__[key]
    tel = [(step_of(p, i), p) for i, p in enumerate(r.telemetry)]
    with_rho = [(s, p) for s, p in tel if rho_at(p, 1) is not None and s > 0]
    n1 = iterations_per_eta(r)
    cat = _catapult_until([(s, rho_at(p, 1)) for s, p in with_rho], n1, th)
    elig = [(s, p) for s, p in with_rho if cat is None or s > cat]
    entered = next((s for s, p in elig if rho_at(p, 1) >= th.edge_enter), None)
    on = [(s, p) for s, p in elig if entered is not None and s >= entered
          and rho_at(p, 1) >= th.edge_rho]
    points = [p for _, p in on]
    steps_on = [s for s, _ in on]
    reached = len(on) >= th.edge_points
    m = max(elig, key=lambda sp: rho_at(sp[1], 1)) if elig else None
    eta = lr(r)
    limit = 1.0 / (th.edge_cadence * eta) if eta and n1 is not None else None
    all_steps = [s for s, _ in tel]
    if reached:
        inside = [s for s in all_steps if steps_on[0] <= s <= steps_on[-1]]
        interval = float(max(np.diff(inside))) if len(inside) > 1 else None
    else:
        interval = float(np.median(np.diff(all_steps))) if len(all_steps) > 1 else None
    width = math.ceil(n1 - 1e-9) if n1 is not None else None
    med = reach = count = None
    if reached:
        k = min(len(p["rho"]) for p in points)
        rho = np.asarray([[num(x) if num(x) is not None else np.nan for x in p["rho"][:k]]
                          for p in points], dtype=float)
        med = np.nanmedian(rho, axis=0)
        wins = windows(on, entered, width or 1)
        reach = np.asarray([windowed_reach(wins, i, th.reach_fraction) for i in range(1, k + 1)],
                           dtype=float)
        count = int(np.sum(reach >= th.rho_edge))
    e = Edge(reached, eta, n_classes(r), tuple(p for _, p in elig), tuple(points), entered,
             steps_on[0] if steps_on else None, steps_on[-1] if steps_on else None,
             int(steps_on[-1] - steps_on[0]) if steps_on else 0,
             rho_at(m[1], 1) if m else None, m[0] if m else None, cat, interval, limit, width,
             med, reach, count)
    r.__dict__[key] = e
    return e


def edge_not_reached(records: Sequence[Record], th: Thresholds) -> str:
    """Why the given runs cannot test an edge claim, with the number that decided it: 'never
    crossed ρ_1 = 1: max ρ_1 = x at η = y' (after a catapult: the iteration it ended at, when ρ_1
    first fell below 1) or 'crossed ρ_1 = 1 but n on-edge points (5 needed)' for the run that came
    closest, with its cadence caveat."""
    es = [(edge(r, th), r) for r in records]
    es = [(e, r) for e, r in es if e.max_rho_1 is not None]
    if not es:
        return "edge not reached: no ρ telemetry after step 0"
    e, r = max(es, key=lambda x: (x[0].crossed, len(x[0].points), x[0].max_rho_1))
    eta = f"{e.lr:g}" if e.lr is not None else "?"
    if e.crossed:
        why = (f"edge not reached: crossed ρ_1 = {th.edge_enter:g} at iteration {e.entered_step} "
               f"but {len(e.points)} on-edge point(s) ({th.edge_points} needed) at η = {eta}")
    elif e.catapult_until is not None:  # above the edge from the start: entry needs a fall below 1
        seen = f" at every point (telemetry every {e.interval:g} iterations)" if e.interval else ""
        why = (f"edge not reached: a catapult (ρ_1 > {th.catapult_rho:g} within 1/η) that stayed "
               f"above ρ_1 = {th.edge_enter:g}{seen} until iteration {e.catapult_until}, then never "
               f"crossed it again (max ρ_1 = {e.max_rho_1:.3g} at η = {eta})")
    else:
        why = (f"edge not reached: never crossed ρ_1 = {th.edge_enter:g} (max ρ_1 = "
               f"{e.max_rho_1:.3g} at η = {eta})")
    note = e.cadence_note()
    return f"{why}; {note}" if note else why


def outlier_ratio(r: Record, th: Thresholds) -> float | None:
    """L1–L3's scope: the median over on-edge points of λ_{n_c−1}/λ_{n_c} (= ρ_{n_c−1}/ρ_{n_c}
    at constant η); None when the run never reached the edge or its telemetry lacks ρ_{n_c}."""
    e = edge(r, th)
    nc = e.n_classes
    if not e.reached or not nc or nc < 2:
        return None
    vals = []
    for p in e.points:
        a, b = rho_at(p, nc - 1), rho_at(p, nc)
        if a is not None and b is not None:
            vals.append(a / b if b > 0 else math.inf)
    return float(np.median(vals)) if vals else None


def reach(r: Record, i: int, th: Thresholds) -> float | None:
    """The windowed reach of ρ_i (1-based) on the edge, None off the edge or unmeasured."""
    e = edge(r, th)
    if e.reach is None or not 1 <= i <= len(e.reach) or np.isnan(e.reach[i - 1]):
        return None
    return float(e.reach[i - 1])


def top_measured(r: Record) -> int | None:
    """How many eigenpairs the run's telemetry holds (the fewest over points with ρ)."""
    ks = [len(p["rho"]) for p in r.telemetry if p.get("rho")]
    return min(ks) if ks else None


def p_top_short(r: Record) -> str | None:
    """Why the run has no P_top (CLAIMS.md: P_top spans exactly n_c − 1 eigenvectors; a run
    that measured fewer cannot feed L4–L6 or L10), or None."""
    nc, k = n_classes(r), top_measured(r)
    if nc is None or k is None or nc < 2 or k >= nc - 1:
        return None
    return f"P_top from fewer than n_c − 1 eigenvectors: k = {k} < {nc - 1}"


def max_rho_on_edge(r: Record, i: int, th: Thresholds) -> float | None:
    """max of ρ_i over the run's on-edge points (None when none has ρ_i)."""
    vals = [v for p in edge(r, th).points if (v := rho_at(p, i)) is not None]
    return max(vals) if vals else None


def median_on_edge(r: Record, key: str, th: Thresholds) -> float | None:
    """Median of a scalar telemetry field over the on-edge points."""
    vals = [v for p in edge(r, th).points if (v := num(p.get(key))) is not None]
    return float(np.median(vals)) if vals else None


# ---------------------------------------------------------------------------- Table 1 (L6)


def dl_stats(points: Sequence[dict]) -> dict:
    """Mean and sample standard deviation (ddof=1) of ΔL_top and ΔL_bulk over the points with
    both measured. ddof=1: the points are a sample of the edge phase; L6 compares the two
    standard deviations over the same points, so its verdict does not depend on ddof."""
    pts = [p for p in points if num(p.get("dl_top")) is not None and num(p.get("dl_bulk")) is not None]
    top = np.array([p["dl_top"] for p in pts], dtype=float)
    bulk = np.array([p["dl_bulk"] for p in pts], dtype=float)
    n = len(pts)

    def sd(x):
        return float(x.std(ddof=1)) if n > 1 else float("nan")

    return {"points": n, "mean_dl_top": float(top.mean()) if n else float("nan"),
            "std_dl_top": sd(top), "mean_dl_bulk": float(bulk.mean()) if n else float("nan"),
            "std_dl_bulk": sd(bulk)}


def l6_points(r: Record, th: Thresholds) -> list[dict]:
    """L6's points: eligible points at or after entering the edge with ρ_{n_c−1} >
    rho_on_edge (Lowell: "indisputably on the edge … as shown by ρ_9 > 0.7")."""
    e = edge(r, th)
    nc = e.n_classes or 2
    if e.entered_step is None:
        return []
    return [p for i, p in enumerate(e.eligible) if step_of(p, i) >= e.entered_step
            and (v := rho_at(p, max(nc - 1, 1))) is not None and v > th.rho_on_edge]


def table1(r: Record, th: Thresholds) -> dict:
    """Table 1 of one run: ΔL statistics over L6's points (ρ_{n_c−1} > rho_on_edge, the
    paper's reading; L6's verdict) and, reported beside them, over the on-edge points of the
    ρ_1 reading (ρ_1 ≥ edge_rho after entering)."""
    e = edge(r, th)
    return {"edge": dl_stats(l6_points(r, th)), "rho1": dl_stats(e.points), "reached": e.reached,
            "telemetry_points": len(r.telemetry)}


def l6_rule(mean_top: float, std_top: float, mean_bulk: float, std_bulk: float) -> dict:
    """L6's rule on one row of Table 1 (CLAIMS.md): (a) the bulk learns consistently, mean
    ΔL_bulk < 0 and mean + std ≤ 0; (b) the top does not, mean ΔL_top ≥ −½·std(ΔL_top)."""
    bulk = bool(mean_bulk < 0 and mean_bulk + std_bulk <= 0)
    top = bool(mean_top >= -0.5 * std_top)
    return {"bulk_learns": bulk, "top_does_not": top, "passes": bulk and top,
            "std_top_larger": bool(std_top > std_bulk)}


# ---------------------------------------------------------------------------- S8, L4, L7, L10


def s8_row(r: Record, th: Thresholds) -> dict:
    """Sagun's outlier count (full spectrum) beside Lowell's edge count (median on-edge ρ_i ≥
    rho_edge; None when the run never reached the edge), the index of the largest median
    on-edge ρ_i/ρ_{i+1}, n_c − 1, and where the run was."""
    nc = n_classes(r)
    lam = spectrum(r)
    e = edge(r, th)
    return {"n_classes": nc, "n_c_minus_1": nc - 1 if nc else None, "loss": loss_kind(r),
            "sagun_outliers": stats(lam, nc or 2, th)["outlier_count"] if lam is not None else None,
            "lowell_edge_count": e.edge_count,
            "rho_gap_index": ratio_gap_index(e.median_rho)[0] if e.median_rho is not None else None,
            "reached_edge": e.reached, "max_rho_1": e.max_rho_1, "lr": e.lr,
            "grad_norm": grad_norm(r)}


def entry_events(r: Record, th: Thresholds) -> dict:
    """L4 (CLAIMS.md): for each i ≤ max(edge count, 1), s_i = first iteration with ρ_i ≥
    edge_enter and e_i = first iteration (from 1/η iterations before s_i on) with |d_i| ≥
    burst × its median over the 1/η iterations before s_i; ``lags`` = |e_i − s_i| (inf when the
    gradient never bursts), ``lag`` their median, and the median telemetry ``interval``."""
    e = edge(r, th)
    pts = [(step_of(p, j), p) for j, p in enumerate(r.telemetry)]
    steps = [s for s, _ in pts]
    interval = float(np.median(np.diff(steps))) if len(steps) > 1 else None
    n1 = iterations_per_eta(r) or 0
    rows = []
    for i in range(1, max(e.edge_count or 0, 1) + 1):
        s_i = next((s for s, p in pts if s > 0 and (v := rho_at(p, i)) is not None
                    and v >= th.edge_enter), None)
        if s_i is None:
            continue

        def d_abs(p):
            d = p.get("d") or []
            return abs(num(d[i - 1])) if len(d) >= i and num(d[i - 1]) is not None else None

        before = [v for s, p in pts if s_i - n1 <= s < s_i and (v := d_abs(p)) is not None]
        base = float(np.median(before)) if before else None
        e_i = None if base is None else next(
            (s for s, p in pts if s >= s_i - n1 and (v := d_abs(p)) is not None
             and v >= th.burst * base), None)
        rows.append({"i": i, "s": s_i, "e": e_i, "baseline": base,
                     "lag": abs(e_i - s_i) if e_i is not None else math.inf})
    lags = [row["lag"] for row in rows]
    # for Fig. 4's reading: when ρ_{n_c−1} first reaches rho_edge, ρ_1 enters, and the first
    # of 3 consecutive points with ‖P_top g‖ > ‖P_bulk g‖
    nc = e.n_classes or 2
    elig = [(s, p) for s, p in pts if s > 0]
    top = [num(p.get("p_top_norm")) is not None and num(p.get("p_bulk_norm")) is not None
           and p["p_top_norm"] > p["p_bulk_norm"] for _, p in elig]
    conc = next((elig[j][0] for j in range(len(elig) - 2) if all(top[j:j + 3])), None)
    return {"events": rows, "lag": float(np.median(lags)) if lags else None,
            "interval": interval, "has_d": any(p.get("d") for _, p in pts),
            "edge_step": next((s for s, p in elig if (v := rho_at(p, max(nc - 1, 1))) is not None
                               and v >= th.rho_edge), None),
            "rho1_step": e.entered_step, "concentration_step": conc}


def one_step(r: Record) -> float | None:
    """L7's scope: η‖g(θ_0)‖ / ‖θ_0‖, one GD step against the weights (step-0 telemetry)."""
    p0 = next((p for j, p in enumerate(r.telemetry) if step_of(p, j) == 0), None)
    eta = lr(r)
    if p0 is None or not eta:
        return None
    g, t = num(p0.get("grad_norm")), num(p0.get("theta_norm"))
    return eta * g / t if g is not None and t else None


def theta_change(r: Record) -> dict | None:
    """max_t |‖θ_t‖/‖θ_0‖ − 1| over telemetry; ‖θ_0‖ the first point's (its step reported)."""
    pts = [p for p in r.telemetry if num(p.get("theta_norm")) is not None]
    if len(pts) < 2 or not pts[0]["theta_norm"]:
        return None
    t0 = float(pts[0]["theta_norm"])
    return {"max_rel_change": max(abs(float(p["theta_norm"]) / t0 - 1) for p in pts),
            "theta_norm_0": t0, "first_step": pts[0].get("step")}


def continuation(r: Record) -> dict | None:
    """L10: summary["continuation"]: each path's loss decrease, the initial loss less the mean
    over its last ⌈1/η⌉ iterations (the on-edge loss oscillates; −inf when the path ended
    non-finite), and Bulk-GD's and Top-GD's as fractions of GD's: ``bulk_fraction`` and
    ``top_fraction`` with the on-edge Top (``n_top`` eigenvectors), ``*_nc_fraction`` with the
    top n_c − 1 (None when not run); ``loss`` the paths L_0 … L_N under these names. A record
    without ``n_top`` (before 2026-12-03) projected on the top n_c − 1 only: its paths are the
    ``_nc`` ones, and it has no on-edge Top."""
    c = (r.summary or {}).get("continuation")
    if not isinstance(c, dict) or not isinstance(c.get("loss"), dict):
        return None
    eta = num(c.get("lr"))
    tail = max(math.ceil(1 / eta - 1e-9), 1) if eta else 1
    loss = dict(c["loss"])
    if "n_top" not in c:
        loss = {"gd": loss.get("gd"), "bulk_nc": loss.get("bulk"), "top_nc": loss.get("top")}
    dec = {}
    for k, ls in loss.items():
        if ls is None:
            continue
        L = [num(x) for x in ls]
        end = L[-tail:] if L else []
        ok = L and L[0] is not None and all(x is not None for x in end)
        dec[k] = (L[0] - float(np.mean(end))) if ok else float("-inf")
    gd = dec.get("gd", float("-inf"))
    frac = {k: (dec[k] / gd if gd > 0 else float("nan")) if k in dec else None
            for k in ("bulk", "top", "bulk_nc", "top_nc")}
    return {"lr": c.get("lr"), "n_iter": c.get("n_iter"), "refresh_every": c.get("refresh_every"),
            "start_step": c.get("start_step"), "start_rho_1": num(c.get("start_rho_1")),
            "n_top": c.get("n_top"), "n_top_nc": c.get("n_top_nc"),
            "loss": {k: v for k, v in loss.items() if v is not None}, "decrease": dec,
            "bulk_fraction": frac["bulk"], "top_fraction": frac["top"],
            "bulk_nc_fraction": frac["bulk_nc"], "top_nc_fraction": frac["top_nc"],
            "valid": dict(c.get("valid") or {})}


def edge_row(r: Record, th: Thresholds) -> dict:
    """One run's line of the edge table: validity, reached?, iterations on the edge, edge count
    vs n_c − 1, max ρ_1 and its η, the cadence check, and whether it is a run of Lowell's
    protocol (``lowell``: readers.is_lowell; a Sagun run on blobs may carry ρ too)."""
    from simlab.claims.readers.records import (experiment, field_value, is_lowell, n_data, regime,
                                               validity)

    ok, why = validity(r)
    e = edge(r, th)
    return {"run": label(r), "regime": regime(r), "experiment": experiment(r), "valid": ok,
            "lowell": is_lowell(r),
            "n_data": n_data(r), "seed": field_value(r, "seed"),
            "invalid_reason": why, **e.to_dict(), "cadence_note": e.cadence_note()}


def on_edge_lambda(r: Record, i: int, th: Thresholds) -> float | None:
    """λ_i (1-based) on the edge: 2·(median on-edge ρ_i)/η (η constant, so the median of ρ_i
    maps to the median of λ_i); None when the run never reached the edge."""
    e = edge(r, th)
    if e.median_rho is None or not e.lr or len(e.median_rho) < i:
        return None
    return float(2.0 * e.median_rho[i - 1] / e.lr)


# ---------------------------------------------------------------------------- the edge map


def edge_counts(r: Record, th: Thresholds) -> dict:
    """The edge count read three ways, side by side (CLAIMS.md "riding the edge"): the number of
    i with ρ_i reaching ``rho_edge`` over 1/η windows (the verdicts' reading), with the plain
    maximum over on-edge points ≥ rho_edge, and with the median over them ≥ rho_edge."""
    e = edge(r, th)
    if not e.reached or e.median_rho is None:
        return {"windowed": None, "plain_max": None, "median": None}
    k = len(e.median_rho)
    plain = [max_rho_on_edge(r, i, th) for i in range(1, k + 1)]
    return {"windowed": e.edge_count,
            "plain_max": int(sum(x is not None and x >= th.rho_edge for x in plain)),
            "median": int(np.sum(e.median_rho >= th.rho_edge))}


def edge_map(records: Sequence[Record], th: Thresholds) -> list[dict]:
    """The edge map: one row per setting of Lowell's constant-η cross-entropy protocol (runs of
    the η and class sweeps, the n_D sweep and plain runs; aliases counted once) over model size,
    n_D and η: ``{"regime", "net", "family" (:func:`net_family`), "experiments", "n_params",
    "n_data", "lr", "n_classes", "runs", "reached",
    "edge_count" (median over the runs that reached the edge, windowed reading), "plain_max",
    "median_reading", "fraction" (edge count / (n_c − 1)), "count_range", "outlier_ratio"
    (median λ_{n_c−1}/λ_{n_c} on the edge), "subspace" (outlier_ratio ≥ th.outlier_ratio)}``."""
    from simlab.claims.readers.records import (distinct, experiment, field_value, is_flow,
                                               is_lowell, loss_kind, lr, n_data, net_family,
                                               net_label, regime, setting_key, split_valid)

    pool = [r for r in distinct(split_valid(records)[0])
            if is_lowell(r) and loss_kind(r) == "ce" and not is_flow(r)
            and field_value(r, "schedule") in (None, "constant") and n_classes(r)
            and experiment(r) not in ("entry", "continuation") and r.telemetry]
    groups: dict[str, list[Record]] = {}
    for r in pool:
        groups.setdefault(setting_key(r), []).append(r)
    rows = []
    for rs in groups.values():
        r0, nc = rs[0], n_classes(rs[0])
        on = [r for r in rs if edge(r, th).reached]
        counts = [edge_counts(r, th) for r in on]
        ratios = [q for r in on if (q := outlier_ratio(r, th)) is not None]

        def med(key):
            xs = [c[key] for c in counts if c[key] is not None]
            return float(np.median(xs)) if xs else None

        count = med("windowed")
        win = [c["windowed"] for c in counts if c["windowed"] is not None]
        q = float(np.median(ratios)) if ratios else None
        rows.append({
            "regime": regime(r0), "net": net_label(r0), "family": net_family(r0),
            "experiments": sorted({str(experiment(r)) for r in rs}),
            "n_params": (r0.summary or {}).get("n_params"), "n_data": n_data(r0), "lr": lr(r0),
            "n_classes": nc, "runs": len(rs), "reached": len(on), "edge_count": count,
            "plain_max": med("plain_max"), "median_reading": med("median"),
            "fraction": count / (nc - 1) if count is not None and nc > 1 else None,
            "count_range": (min(win), max(win)) if win else None,
            "outlier_ratio": q, "subspace": None if q is None else bool(q >= th.outlier_ratio)})
    return sorted(rows, key=lambda x: (x["regime"] != "toy", x["n_params"] or 0, x["n_data"] or 0,
                                       x["n_classes"] or 0, -(x["lr"] or 0)))
