"""Verdicts, thresholds and how many per-unit verdicts become one.

Statuses
--------
``holds`` / ``fails``  the measured statistic meets / misses the rule of CLAIMS.md;
``inconclusive``       no suitable run (or not enough of them) to apply the rule; the reason
                       says what is missing (for Lowell's edge claims: "edge not reached");
``reported``           a measurement shown without a verdict, where CLAIMS.md forces none
                       (S8: Sagun's outlier count beside Lowell's n_c − 1 edge count; F3: a
                       Spearman correlation).

Many runs, one verdict
----------------------
When a rule is applied to several runs or sweep groups (one verdict per unit), they are combined
by :func:`combine`: ``fails`` if any unit fails, ``holds`` if at least one holds and none fails,
else ``inconclusive``. A claim stated as general must survive every setting measured; the
statistic keeps each unit's numbers so a reader sees where it broke.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HOLDS, FAILS, INCONCLUSIVE, REPORTED = "holds", "fails", "inconclusive", "reported"
STATUSES = (HOLDS, FAILS, INCONCLUSIVE, REPORTED)
NOT_MEASURED = "not measured by any run"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim on a set of records.

    ``statistic`` holds the numbers computed (a dict, or one float); ``threshold`` the numbers
    they were compared with; ``reason`` one short sentence with the deciding numbers; ``runs``
    the names of the records used; ``excluded`` the runs set aside, as (name, reason) pairs
    (diverged, stopped within the first 1/η iterations, stop rule met at initialisation);
    ``gist`` the deciding numbers alone (empty: the reason says it all).
    """

    id: str
    status: str
    statistic: Any = field(default_factory=dict)
    threshold: Any = field(default_factory=dict)
    reason: str = ""
    runs: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    gist: str = ""   # the deciding units' numbers without the run labels (the report's prose)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "runs", tuple(self.runs))
        object.__setattr__(self, "excluded", tuple((str(a), str(b)) for a, b in self.excluded))

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "statistic": jsonable(self.statistic),
                "threshold": jsonable(self.threshold), "reason": self.reason,
                "runs": list(self.runs), "excluded": [list(x) for x in self.excluded],
                "gist": self.gist or self.reason}


@dataclass(frozen=True)
class Thresholds:
    """Every number a verdict rule compares with; the defaults are those of CLAIMS.md.

    Where CLAIMS.md gives no number (marked *choice*), the default is the reading documented in
    the evaluator that uses it.
    """

    eps: float = 1e-3              # near zero: |λ| ≤ eps·λ_1 (S1, S2, S4, S5, S6, F1, F2)
    near_zero_min: float = 0.5     # S1/S4: near-zero fraction at least this
    gap: float = 3.0               # S1/S2/S4/S8: outlier gap λ_i/λ_{i+1} ≥ gap for some i ≤ 2 n_c
    edge_rho: float = 0.8          # a telemetry point is on the edge when ρ_1 ≥ this
    edge_points: int = 5           # the run reached the edge: this many consecutive on-edge points
    catapult_rho: float = 1.2      # ρ_1 above this within the first 1/η iterations: a catapult
    edge_cadence: float = 5.0      # telemetry every ≤ 1/(edge_cadence·η) iterations on the edge
    rho_edge: float = 0.69         # L1–L5, edge count: ρ_i counted as riding the edge
    rho_off: float = 0.25          # L1: ρ_{n_c} off the edge
    rho_on_edge: float = 0.7       # L6 (paper's own reading, reported): ρ_{n_c−1} > this
    min_edge_points: int = 3       # L6: at least this many on-edge points
    entry_intervals: float = 2.0   # L4: events within this many telemetry intervals
    entry_consecutive: int = 3     # L4: ‖P_top g‖ > ‖P_bulk g‖ at this many consecutive points
    bulk_spread: float = 2.0       # L5: max/min of median ‖P_bulk g‖ across η
    theta_change: float = 0.01     # L7: max |‖θ_t‖/‖θ_0‖ − 1|
    r2: float = 0.99               # L8: R² of the linear fit of peak λ_1 on n_D
    min_sizes: int = 4             # L8: at least this many n_D
    min_sweep: int = 3             # sweep values needed by L3, L5, L9, S2, S3
    min_seeds: int = 3             # S2/S3: seeds per sweep point (medians compared)
    l10_bulk: float = 0.8          # L10: Bulk-GD's loss decrease ≥ this × GD's
    l10_top: float = 0.2           # L10: Top-GD's loss decrease ≤ this × GD's
    near_critical: float = 1e-3    # S6/F2: only points with ‖g‖ ≤ this are near-critical
    neg_ratio: float = 0.1         # S6: |λ_min| ≤ neg_ratio·λ_1
    neg_tol: float = 1e-10         # choice: λ < −neg_tol·λ_1 is negative (float64 eigh zero)
    theta_similar: float = 1.25    # choice, S3: ‖θ‖ "similar" = max/min ≤ this across the sweep
    f1_fraction: float = 0.9       # F1: "around 90 %" near zero
    f1_validation: float = 0.03    # F1: a density estimator within this of the exact fraction
    f2_saddle_fraction: float = 0.9  # choice, F2: "almost all": this fraction of runs are saddles
    volume_tau: float = 1e-3       # F3: log-volume proxy over λ_i > volume_tau (absolute)
    min_minima: int = 3            # F3: minima needed for a Spearman correlation
    langevin_sigmas: float = 2.0   # F4: agreement within this many standard errors

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def jsonable(x: Any) -> Any:
    """Plain JSON values; non-finite floats become strings ("inf", "nan") so the file is JSON."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def fmt(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{x:.3g}"
    return str(x)


def rounded(xs: Sequence[float], digits: int = 3) -> list[float]:
    return [float(f"{x:.{digits}g}") for x in xs]


def strictly_increasing(xs: Sequence[float]) -> bool:
    return all(b > a for a, b in zip(xs, xs[1:]))


def combine(cid: str, units: dict[str, tuple[str, Any]], threshold: Any, runs: Iterable[str],
            what: str, none_reason: str, excluded: dict[str, str] | None = None) -> Verdict:
    """One verdict from per-unit (status, statistic) pairs: fails if any unit fails, holds if
    one holds and none fails, else inconclusive. ``what`` names the unit in the reason; the
    runs in ``excluded`` (name → why) are named at the end of the reason."""
    runs = tuple(dict.fromkeys(runs))
    ex = tuple((excluded or {}).items())
    if not units:
        return Verdict(cid, INCONCLUSIVE, {}, threshold, with_excluded(none_reason, ex), runs, ex)
    statuses = {k: s for k, (s, _) in units.items()}
    stat = {k: v for k, (_, v) in units.items()}
    failed = [k for k, s in statuses.items() if s == FAILS]
    held = [k for k, s in statuses.items() if s == HOLDS]
    if failed:
        status = FAILS
        reason = f"fails for {len(failed)} of {len(units)} {what}"
        rest = [f"{n} {s}" for s, n in ((HOLDS, len(held)),
                                        (INCONCLUSIVE, len(units) - len(failed) - len(held))) if n]
        if rest:
            reason += f" ({', '.join(rest)})"
        reason += f": {', '.join(failed[:3])}"
    elif held:
        status = HOLDS
        reason = f"holds for {len(held)} of {len(units)} {what}"
        if len(held) < len(units):
            reason += f" ({len(units) - len(held)} inconclusive)"
    else:
        status = INCONCLUSIVE
        reason = f"inconclusive for all {len(units)} {what}"
    decisive = [stat[k] for k in (failed or held or list(stat))]
    whys = list(dict.fromkeys(d["why"] for d in decisive if isinstance(d, dict) and d.get("why")))
    if len(units) == 1 or len(decisive) == 1:
        only = decisive[0]
        if isinstance(only, dict) and only.get("why"):
            reason = only["why"] if len(units) == 1 else f"{reason}; {only['why']}"
    gist = "; ".join(whys[:2]) + (f" (+{len(whys) - 2} more)" if len(whys) > 2 else "")
    return Verdict(cid, status, stat, threshold, with_excluded(reason, ex), runs, ex, gist)


def with_excluded(reason: str, excluded: Sequence[tuple[str, str]]) -> str:
    """The reason with the runs set aside named after it (at most three spelled out)."""
    if not excluded:
        return reason
    shown = "; ".join(f"{n}: {w}" for n, w in list(excluded)[:3])
    more = f" (+{len(excluded) - 3} more)" if len(excluded) > 3 else ""
    return f"{reason} [{len(excluded)} run(s) excluded — {shown}{more}]"
