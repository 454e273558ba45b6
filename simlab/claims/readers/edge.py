"""ρ at a telemetry point, where a run was relative to the edge of stability, and the statistics
taken over the edge: the edge count, Table 1's ΔL statistic (L6), the S8 row, L4's events,
‖θ‖'s change (L7) and the L10 continuation's loss decreases."""

from __future__ import annotations

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
    """Where one run was relative to the edge (see the package docstring for the rules)."""

    reached: bool
    lr: float | None
    n_classes: int | None
    eligible: tuple = field(repr=False)     # telemetry points that may count (no step 0/catapult)
    points: tuple = field(repr=False)       # the on-edge points among them (ρ_1 ≥ edge_rho)
    longest: int                            # longest run of consecutive on-edge points
    first_step: int | None                  # first / last on-edge iteration
    last_step: int | None
    iterations: int                         # iterations between consecutive on-edge points
    max_rho_1: float | None                 # over eligible points
    max_rho_1_step: int | None
    catapult_until: int | None              # last iteration of the catapult, if any
    interval: float | None                  # largest telemetry interval through the edge phase
    cadence_limit: float | None             # 1/(edge_cadence·η)
    median_rho: np.ndarray | None = field(repr=False, default=None)  # median on-edge ρ_i
    edge_count: int | None = None           # #i with median on-edge ρ_i ≥ rho_edge

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
                "on_edge_points": len(self.points), "longest_run": self.longest,
                "first_step": self.first_step, "last_step": self.last_step,
                "iterations_on_edge": self.iterations, "max_rho_1": self.max_rho_1,
                "max_rho_1_step": self.max_rho_1_step, "catapult_until": self.catapult_until,
                "telemetry_interval": self.interval, "cadence_limit": self.cadence_limit,
                "cadence_ok": self.cadence_ok, "edge_count": self.edge_count,
                "n_c_minus_1": self.n_classes - 1 if self.n_classes else None}


def _catapult_until(pts: list[tuple[int, float]], n1: float | None, th: Thresholds) -> int | None:
    """Last iteration of the catapult: pts = [(step, ρ_1)] in order; None without one."""
    if n1 is None or not any(s < n1 and v > th.catapult_rho for s, v in pts):
        return None
    until = None
    for s, v in pts:
        if s < n1 or v > th.catapult_rho:
            until = s
        else:
            break
    return until


def edge(r: Record, th: Thresholds) -> Edge:
    """The run's :class:`Edge` (cached on the Record per Thresholds)."""
    key = ("_claims_edge", th)
    if key in r.__dict__:
        return r.__dict__[key]
    tel = [(step_of(p, i), p) for i, p in enumerate(r.telemetry)]
    with_rho = [(s, p) for s, p in tel if rho_at(p, 1) is not None]
    n1 = iterations_per_eta(r)
    cat = _catapult_until([(s, rho_at(p, 1)) for s, p in with_rho], n1, th)
    elig = [(s, p) for s, p in with_rho if s > 0 and (cat is None or s > cat)]
    on = [rho_at(p, 1) >= th.edge_rho for _, p in elig]
    longest = run = 0
    iters = 0
    for j, o in enumerate(on):
        run = run + 1 if o else 0
        longest = max(longest, run)
        if o and j > 0 and on[j - 1]:
            iters += elig[j][0] - elig[j - 1][0]
    points = [p for (s, p), o in zip(elig, on) if o]
    steps_on = [s for (s, _), o in zip(elig, on) if o]
    reached = longest >= th.edge_points
    m = max(elig, key=lambda sp: rho_at(sp[1], 1)) if elig else None
    eta = lr(r)
    limit = 1.0 / (th.edge_cadence * eta) if eta and n1 is not None else None
    all_steps = [s for s, _ in tel]
    if reached:
        lo, hi = steps_on[0], steps_on[-1]
        inside = [s for s in all_steps if lo <= s <= hi]
        interval = float(max(np.diff(inside))) if len(inside) > 1 else None
    else:
        interval = float(np.median(np.diff(all_steps))) if len(all_steps) > 1 else None
    med, count = None, None
    if reached:
        k = min(len(p["rho"]) for p in points)
        rho = np.asarray([[num(x) if num(x) is not None else np.nan for x in p["rho"][:k]]
                          for p in points], dtype=float)
        med = np.nanmedian(rho, axis=0)
        count = int(np.sum(med >= th.rho_edge))
    e = Edge(reached, eta, n_classes(r), tuple(p for _, p in elig), tuple(points), longest,
             steps_on[0] if steps_on else None, steps_on[-1] if steps_on else None, int(iters),
             rho_at(m[1], 1) if m else None, m[0] if m else None, cat, interval, limit, med,
             count)
    r.__dict__[key] = e
    return e


def edge_not_reached(records: Sequence[Record], th: Thresholds) -> str:
    """'edge not reached (max ρ_1 = x at η = y)' over the given runs, with the cadence caveat of
    the run that came closest."""
    es = [(edge(r, th), r) for r in records]
    es = [(e, r) for e, r in es if e.max_rho_1 is not None]
    if not es:
        return "edge not reached (no ρ telemetry after step 0)"
    e, r = max(es, key=lambda x: x[0].max_rho_1)
    eta = f"{e.lr:g}" if e.lr is not None else "?"
    why = f"edge not reached (max ρ_1 = {e.max_rho_1:.3g} at η = {eta}, {label(r)})"
    note = e.cadence_note()
    return f"{why}; {note}" if note else why


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


def table1(r: Record, th: Thresholds) -> dict:
    """Table 1 of one run: ΔL statistics over the on-edge points (ρ_1 ≥ edge_rho; L6's verdict)
    and, as the paper read "on the edge", over eligible points with ρ_{n_c−1} > rho_on_edge."""
    e = edge(r, th)
    nc = e.n_classes or 2
    paper = [p for p in e.eligible if (v := rho_at(p, max(nc - 1, 1))) is not None
             and v > th.rho_on_edge]
    return {"edge": dl_stats(e.points), "paper": dl_stats(paper), "reached": e.reached,
            "telemetry_points": len(r.telemetry)}


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
    """L4's iterations over eligible telemetry: ``edge_step`` (first ρ_{n_c−1} ≥ rho_edge),
    ``rho1_step`` (first ρ_1 ≥ edge_rho), ``concentration_step`` (first point from which
    ‖P_top g‖ > ‖P_bulk g‖ holds at ``entry_consecutive`` consecutive points) and the median
    telemetry ``interval``."""
    e = edge(r, th)
    nc = e.n_classes or 2
    pts = list(e.eligible)
    steps = [step_of(p, i) for i, p in enumerate(pts)]
    first = next((s for s, p in zip(steps, pts) if (v := rho_at(p, max(nc - 1, 1))) is not None
                  and v >= th.rho_edge), None)
    rho1 = next((s for s, p in zip(steps, pts) if rho_at(p, 1) >= th.edge_rho), None)
    top = [num(p.get("p_top_norm")) is not None and num(p.get("p_bulk_norm")) is not None
           and p["p_top_norm"] > p["p_bulk_norm"] for p in pts]
    k = th.entry_consecutive
    conc = next((steps[j] for j in range(len(pts) - k + 1) if all(top[j:j + k])), None)
    interval = float(np.median(np.diff(steps))) if len(steps) > 1 else None
    return {"edge_step": first, "rho1_step": rho1, "concentration_step": conc,
            "interval": interval}


def theta_change(r: Record) -> dict | None:
    """max_t |‖θ_t‖/‖θ_0‖ − 1| over telemetry; ‖θ_0‖ the first point's (its step reported)."""
    pts = [p for p in r.telemetry if num(p.get("theta_norm")) is not None]
    if len(pts) < 2 or not pts[0]["theta_norm"]:
        return None
    t0 = float(pts[0]["theta_norm"])
    return {"max_rel_change": max(abs(float(p["theta_norm"]) / t0 - 1) for p in pts),
            "theta_norm_0": t0, "first_step": pts[0].get("step")}


def continuation(r: Record) -> dict | None:
    """L10: summary["continuation"] (INTERFACES.md): each path's loss decrease L[0] − L[-1]
    (−inf when the path ended non-finite), and Bulk-GD's and Top-GD's as fractions of GD's."""
    c = (r.summary or {}).get("continuation")
    if not isinstance(c, dict) or not isinstance(c.get("loss"), dict):
        return None
    dec = {}
    for k in ("gd", "bulk", "top"):
        L = c["loss"].get(k) or []
        a, b = (num(L[0]), num(L[-1])) if L else (None, None)
        dec[k] = (a - b) if a is not None and b is not None else float("-inf")
    gd = dec["gd"]
    ratio = {k: dec[k] / gd if gd > 0 else float("nan") for k in ("bulk", "top")}
    return {"lr": c.get("lr"), "n_iter": c.get("n_iter"), "refresh_every": c.get("refresh_every"),
            "start_step": c.get("start_step"), "start_rho_1": num(c.get("start_rho_1")),
            "decrease": dec, "bulk_fraction": ratio["bulk"], "top_fraction": ratio["top"],
            "valid": dict(c.get("valid") or {})}


def edge_row(r: Record, th: Thresholds) -> dict:
    """One run's line of the edge table: validity, reached?, iterations on the edge, edge count
    vs n_c − 1, max ρ_1 and its η, and the cadence check."""
    from simlab.claims.readers.records import experiment, field_value, n_data, regime, validity

    ok, why = validity(r)
    e = edge(r, th)
    return {"run": label(r), "regime": regime(r), "experiment": experiment(r), "valid": ok,
            "n_data": n_data(r), "seed": field_value(r, "seed"),
            "invalid_reason": why, **e.to_dict(), "cadence_note": e.cadence_note()}


def on_edge_lambda(r: Record, i: int, th: Thresholds) -> float | None:
    """λ_i (1-based) on the edge: 2·(median on-edge ρ_i)/η (η constant, so the median of ρ_i
    maps to the median of λ_i); None when the run never reached the edge."""
    e = edge(r, th)
    if e.median_rho is None or not e.lr or len(e.median_rho) < i:
        return None
    return float(2.0 * e.median_rho[i - 1] / e.lr)
