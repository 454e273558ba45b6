"""Verdicts, thresholds with their sources, and how settings over seeds become a claim's map.

How a verdict is reached (CLAIMS.md, "How a verdict is reached")
----------------------------------------------------------------
1. Each claim names the runs that can test it (its *scope*). A run outside the scope is set
   aside as ``not applicable`` with the reason and the number that decided it; it never
   counts as ``fails``.
2. A *setting* (a run config less its seed and bookkeeping fields) is the unit. Its statistic
   is the median over its seeds; it ``holds`` when the median passes and ≥ 2/3 of the seeds
   pass, ``fails`` when the median fails and ≥ 2/3 of the seeds fail, and is ``split``
   otherwise. A setting with fewer than ``min_seeds`` seeds is ``inconclusive`` (its numbers
   are shown).
3. The claim's verdict is a map over its in-scope settings: ``holds (k/n settings)``,
   ``fails (k/n)``, ``mixed — holds where …; fails where …``, ``inconclusive`` (settings exist,
   none decided), ``not applicable`` (no in-scope setting; the reasons say why) or
   ``reported`` (a measurement without a verdict).
4. Every threshold says where it comes from (:data:`SOURCES`): the paper's sentence, or
   ``choice``. For every choice the verdict is recomputed at the alternatives of
   :data:`CHOICES` (half and double, or the nearest meaningful values, stated) and the claim
   is ``robust`` or ``sensitive (flips at …)`` (:func:`simlab.claims.registry.sensitivity`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HOLDS, FAILS, MIXED, SPLIT = "holds", "fails", "mixed", "split"
INCONCLUSIVE, NOT_APPLICABLE, REPORTED = "inconclusive", "not applicable", "reported"
STATUSES = (HOLDS, FAILS, MIXED, INCONCLUSIVE, NOT_APPLICABLE, REPORTED)
SETTING_STATUSES = (HOLDS, FAILS, SPLIT, INCONCLUSIVE)
NOT_MEASURED = "not measured by any run"


@dataclass(frozen=True)
class Setting:
    """One setting's outcome. ``seeds``: (run label, passes or None, that run's numbers);
    ``statistic``: the medians over seeds the setting was judged on; ``why``: one line with
    the deciding numbers."""

    name: str
    status: str
    why: str
    statistic: dict = field(default_factory=dict)
    seeds: tuple = ()

    def __post_init__(self):
        if self.status not in SETTING_STATUSES:
            raise ValueError(f"setting status must be one of {SETTING_STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "why": self.why,
                "statistic": jsonable(self.statistic),
                "seeds": [{"run": r, "passes": p, **jsonable(n)} for r, p, n in self.seeds]}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim on a set of records.

    ``settings``: every in-scope setting (:class:`Setting`); ``not_applicable``: (run or
    setting, reason with its deciding number) set aside by the claim's scope; ``excluded``:
    (run, reason) of invalid runs (diverged, stopped within its first 1/η iterations, stop
    rule met at initialisation, unfinished); ``statistic``/``threshold``: the numbers computed
    and compared with; ``reason``: one paragraph with the deciding numbers; ``gist``: the
    deciding numbers alone; ``sensitivity``: per choice, the status at its alternatives.
    """

    id: str
    status: str
    statistic: Any = field(default_factory=dict)
    threshold: Any = field(default_factory=dict)
    reason: str = ""
    runs: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    gist: str = ""
    settings: tuple[Setting, ...] = ()
    not_applicable: tuple[tuple[str, str], ...] = ()
    sensitivity: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "runs", tuple(self.runs))
        object.__setattr__(self, "excluded", tuple((str(a), str(b)) for a, b in self.excluded))
        object.__setattr__(self, "not_applicable",
                           tuple((str(a), str(b)) for a, b in self.not_applicable))
        object.__setattr__(self, "settings", tuple(self.settings))

    @property
    def tally(self) -> str:
        """'k/n settings' for holds/fails, 'h holds, f fails of n' for mixed, else ''."""
        n = len(self.settings)
        h = sum(s.status == HOLDS for s in self.settings)
        f = sum(s.status == FAILS for s in self.settings)
        if self.status == HOLDS:
            return f"{h}/{n} settings"
        if self.status == FAILS:
            return f"{f}/{n} settings"
        if self.status == MIXED:
            return f"{h} hold, {f} fail of {n} settings"
        if self.status == INCONCLUSIVE and n:
            return f"0/{n} decided"
        return ""

    @property
    def robustness(self) -> str:
        """'robust', 'sensitive (flips at …)' or '' (no choice this verdict depends on)."""
        flips = [f"{name} = {fmt(v)} → {st}" for name, alts in self.sensitivity.items()
                 for v, st in alts.items() if st != self.status]
        if not self.sensitivity:
            return ""
        return f"sensitive (flips at {'; '.join(flips)})" if flips else "robust"

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "tally": self.tally,
                "statistic": jsonable(self.statistic), "threshold": jsonable(self.threshold),
                "reason": self.reason, "runs": list(self.runs),
                "excluded": [list(x) for x in self.excluded],
                "not_applicable": [list(x) for x in self.not_applicable],
                "settings": [s.to_dict() for s in self.settings],
                "sensitivity": jsonable({k: {fmt(v): s for v, s in alts.items()}
                                         for k, alts in self.sensitivity.items()}),
                "robustness": self.robustness, "gist": self.gist or self.reason}


@dataclass(frozen=True)
class Thresholds:
    """Every number a verdict rule compares with; the defaults are those of CLAIMS.md, and
    :data:`SOURCES` says where each comes from (the paper's sentence, or ``choice``)."""

    # -- how a verdict is reached
    min_seeds: int = 3             # seeds a setting needs to be decided
    # -- where a run was relative to the edge
    edge_enter: float = 1.0        # entering the edge: ρ_1 ≥ this (λ_1 ≥ 2/η)
    edge_rho: float = 0.8          # after entering, a point with ρ_1 ≥ this is on the edge
    edge_points: int = 5           # the run reached the edge: this many on-edge points
    catapult_rho: float = 1.2      # ρ_1 above this within the first 1/η iterations: a catapult
    edge_cadence: float = 5.0      # telemetry every ≤ 1/(edge_cadence·η) iterations on the edge
    protocol_t: float = 40.0       # Lowell's stop: 40/η iterations (t = 40) or L < 0.1
    rho_edge: float = 0.69         # ρ_i rides the edge when it reaches this (windowed)
    reach_fraction: float = 0.5    # ... in at least this fraction of the 1/η windows
    rho_off: float = 0.25          # L1: ρ_{n_c} off the edge (plain max)
    outlier_ratio: float = 1.5     # L1–L3 scope: median on-edge λ_{n_c−1}/λ_{n_c} ≥ this
    # -- Lowell's claims
    separation: float = 1.5        # L2: median on-edge ρ_{n_c−1}/ρ_{n_c} ≥ this
    sweep_span: float = 10.0       # L3/L5: η values spanning at least this factor
    min_sweep: int = 3             # L3/L5: at least this many η (also S2, S3 sweep values)
    track_slope: float = 0.75      # L3: slope of log λ_{n_c−1} on log η ≤ −track_slope
    flat_slope: float = 0.25       # L3: slope of log λ_{n_c} on log η ≥ −flat_slope
    interval: float = 0.9          # L3/L5: bootstrap interval (two-sided) over seeds
    bootstrap: int = 2000          # L3/L5: bootstrap resamples (seeded: verdicts are reproducible)
    entry_cadence: int = 10        # L4: entry-capture telemetry every ≤ this many iterations
    burst: float = 10.0            # L4: |d_i| ≥ burst × its median before ρ_i ≥ 1
    max_lag: float = 20.0          # L4: median |e_i − s_i| ≤ this many iterations
    bulk_spread: float = 2.0       # L5: max/min of median ‖P_bulk g‖ across η
    rho_on_edge: float = 0.7       # L6: points with ρ_{n_c−1} > this
    min_edge_points: int = 3       # L6: at least this many of them
    small_step: float = 1e-3       # L7 scope: η‖g(θ_0)‖ ≤ small_step·‖θ_0‖
    theta_change: float = 0.01     # L7: max |‖θ_t‖/‖θ_0‖ − 1| < this
    peak_margin: float = 0.1       # L8: λ_1 peak precedes the end by ≥ this fraction of the run
    peak_skip: float = 0.0         # L8: the peak sought after this fraction of the run (0: all of it)
    r2: float = 0.99               # L8 (ReLU): R² of peak λ_1 on n_D
    min_sizes: int = 5             # L8: sizes of n_D
    size_span: float = 8.0         # L8: spanning at least this factor
    flow_seeds: int = 2            # L8/L9: seeds per size
    tanh_slope_low: float = 0.7    # L8 (tanh): log–log slope over the larger half in
    tanh_slope_high: float = 1.3   #   [tanh_slope_low, tanh_slope_high]
    cusp_sizes: int = 4            # L9: sizes of n_D
    cusp_ratio: float = 1.1        # L9: parabola ratio at the largest two sizes ≥ this
    continuation_eta: float = 10.0  # L10: continuations of N = this/η iterations
    l10_bulk: float = 0.8          # L10: Bulk-GD's decrease ≥ this × GD's
    l10_top: float = 0.2           # L10: Top-GD's decrease ≤ this × GD's
    # -- [K] Lowell & Kastner 2024
    k1_tol: float = 0.05           # K1: loss curves and peak λ_1 within this relative gap
    ggn_share: float = 0.9         # K2: λ_1(G)/λ_1(H) ≥ this
    # -- Sagun and the essay
    eps: float = 1e-3              # near zero: |λ| ≤ eps·λ_1
    near_zero_min: float = 0.5     # S1/S4: near-zero fraction at least this
    gap: float = 3.0               # S1/S2/S4/S8: outlier gap λ_i/λ_{i+1} ≥ gap for some i ≤ 2 n_c
    near_critical: float = 1e-3    # Sagun scope: ‖g‖ ≤ this
    neg_tol: float = 1e-10         # S6/F2: λ < −neg_tol·λ_1 is negative (float64 eigh's zero)
    neg_ratio: float = 0.1         # S6: |λ_min| ≤ neg_ratio·λ_1
    spread_factor: float = 2.0     # S3/S7: differences beyond this × the init-to-init spread
    count_tolerance: int = 1       # S2: median outlier counts within ± this across widths
    p_value: float = 0.05          # S2: Spearman p below this
    f1_fraction: float = 0.85      # F1: "around 90 %" read as ≥ this
    f1_min_params: int = 1000      # F1: "real networks": at least this many parameters
    f1_validation: float = 0.03    # F1: a density estimator within this of the exact fraction
    volume_tau: float = 1e-3       # F3: log-volume proxy over λ_i > volume_tau (absolute)
    min_minima: int = 3            # F3: minima needed for a Spearman correlation
    langevin_sigmas: float = 2.0   # F4: agreement within this many standard errors

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Where each threshold comes from: the paper's words, or "choice" (then :data:`CHOICES` gives
# the alternatives its sensitivity is measured at).
SOURCES: dict[str, str] = {
    "min_seeds": "CLAIMS.md: headline claims need ≥ 3 seeds per setting",
    "edge_enter": "Cohen et al.'s edge, λ_1 ≥ 2/η; [L]: \"η ≈ η*_i\"",
    "edge_rho": "choice", "edge_points": "choice", "catapult_rho": "choice",
    "edge_cadence": "choice", "reach_fraction": "choice", "outlier_ratio": "choice",
    "protocol_t": "[L]: \"until the training loss drops below 0.1 or we reach 40η⁻¹ iterations\"",
    "rho_edge": "[L]: \"ρ_9 always reaches at least 0.693\"",
    "rho_off": "[L]: \"ρ_10 never exceeds 0.246 at any point\"",
    "separation": "choice", "sweep_span": "choice (Lowell's η span is 30×)",
    "min_sweep": "choice", "track_slope": "choice", "flat_slope": "choice",
    "interval": "choice", "bootstrap": "choice",
    "entry_cadence": "[L]: entry capture \"every 10 iterations\"",
    "burst": "choice", "max_lag": "choice (two of Lowell's 10-iteration intervals)",
    "bulk_spread": "choice (\"roughly constant\")",
    "rho_on_edge": "[L]: \"indisputably on the edge … as shown by ρ_9 > 0.7\"",
    "min_edge_points": "[L]: \"we omit combinations … with fewer than three iterations\"",
    "small_step": "choice", "theta_change": "[L]: \"‖θ‖_2 increased by much less than 1 %\"",
    "peak_margin": "choice",
    "peak_skip": "choice ([L]: \"for small datasets, this initial spike overwhelms the later peak\")",
    "r2": "[L] Fig. 5: R² = 99.91 %", "min_sizes": "choice",
    "size_span": "choice", "flow_seeds": "choice", "tanh_slope_low": "choice",
    "tanh_slope_high": "choice", "cusp_sizes": "choice", "cusp_ratio": "choice",
    "continuation_eta": "choice", "l10_bulk": "choice (\"just as effective\")",
    "l10_top": "choice (\"the training loss does not decrease further\")",
    "k1_tol": "choice (CLAIMS.md K1: \"within 5 %\")",
    "ggn_share": "choice (CLAIMS.md K2)",
    "eps": "choice", "near_zero_min": "choice", "gap": "choice",
    "near_critical": "choice ([S] stopped at ‖g‖ ≈ 1e−4)",
    "neg_tol": "choice (float64 eigh's numerical zero, ≥ 100× margin)",
    "neg_ratio": "choice (\"small in magnitude\")", "spread_factor": "choice",
    "count_tolerance": "choice", "p_value": "choice",
    "f1_fraction": "choice (\"around 90 %\")", "f1_min_params": "choice",
    "f1_validation": "choice", "volume_tau": "choice", "min_minima": "choice",
    "langevin_sigmas": "choice",
}

# The alternatives each choice is re-evaluated at: half and double, or, where half or double is
# meaningless (a threshold on ρ near 1, a fraction near 1, a ratio above 1), the nearest
# meaningful values, as the comment says.
CHOICES: dict[str, tuple[float, float]] = {
    "edge_rho": (0.7, 0.9),            # ρ_1 ≥ 0.8: ±0.1 (double would exceed the entry at 1)
    "edge_points": (3, 10),            # half (rounded up), double
    "reach_fraction": (0.25, 1.0),     # half, and every window
    "outlier_ratio": (1.25, 2.0),      # half and double of the excess over 1
    "separation": (1.25, 2.0),         # idem
    "sweep_span": (5.0, 20.0),
    "track_slope": (0.5, 0.9),         # slope of λ on η: half way to 0 and to −1 (2/η)
    "flat_slope": (0.125, 0.5),
    "burst": (5.0, 20.0), "max_lag": (10.0, 40.0), "bulk_spread": (1.5, 4.0),
    "small_step": (5e-4, 2e-3), "peak_margin": (0.05, 0.2),
    "peak_skip": (0.05, 0.1),          # the first 5 % or 10 % of the run set aside (0 has no half)
    "cusp_ratio": (1.05, 1.2),         # half and double of the excess over 1
    "continuation_eta": (5.0, 20.0),
    "l10_bulk": (0.6, 0.9),            # half and double of the shortfall from 1
    "l10_top": (0.1, 0.4),
    "k1_tol": (0.025, 0.1),
    "ggn_share": (0.8, 0.95),          # half and double of the shortfall from 1
    "eps": (5e-4, 2e-3), "near_zero_min": (0.25, 0.75), "gap": (1.5, 6.0),
    "near_critical": (5e-4, 2e-3), "neg_tol": (5e-11, 2e-10), "neg_ratio": (0.05, 0.2),
    "spread_factor": (1.0, 4.0), "f1_fraction": (0.7, 0.925),  # shortfall from 1 doubled/halved
    "f1_min_params": (500, 2000),
}


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


def median(xs: Iterable[float | None]) -> float | None:
    xs = [float(x) for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.median(xs)) if xs else None


# ============================================================================ settings


def judge(name: str, seeds: Sequence[tuple[str, bool | None, dict]], median_passes: bool | None,
          why: str, statistic: dict, min_seeds: int) -> Setting:
    """A setting's status from its seeds (run, passes, numbers) and whether its median passes:
    holds when the median passes and ≥ 2/3 of the decided seeds pass, fails when the median
    fails and ≥ 2/3 fail, split otherwise; inconclusive with fewer than ``min_seeds`` decided
    seeds or an undecided median. ``why`` gets the seeds' tally."""
    decided = [p for _, p, _ in seeds if p is not None]
    n, k = len(decided), sum(bool(p) for p in decided)
    tally = f"{n} seed{'s' if n != 1 else ''}: {k} pass, {n - k} fail" if n else "no seed decided"
    if median_passes is None or n == 0:
        status = INCONCLUSIVE
    elif n < min_seeds:
        status, tally = INCONCLUSIVE, f"{tally}; {min_seeds} seeds needed"
    elif median_passes and 3 * k >= 2 * n:
        status = HOLDS
    elif not median_passes and 3 * (n - k) >= 2 * n:
        status = FAILS
    else:
        status = SPLIT
    return Setting(name, status, f"{why} ({tally})", statistic, tuple(seeds))


def summarise_na(items: Sequence[tuple[str, str]], limit: int = 3) -> str:
    """'not near-critical (6 runs): ‖g‖ = 3.1e-3 (a), ‖g‖ = 5e-2 (b) (+4 more)', grouped by the
    reason's kind (the text before the first colon)."""
    kinds: dict[str, list[tuple[str, str]]] = {}
    for name, why in items:
        kind, _, detail = why.partition(": ")
        kinds.setdefault(kind, []).append((name, detail))
    parts = []
    for kind, rows in kinds.items():
        shown = ", ".join(f"{d} ({n})" if d else n for n, d in rows[:limit])
        more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
        count = f" ({len(rows)} runs)" if len(rows) > 1 else ""
        parts.append(f"{kind}{count}: {shown}{more}")
    return "; ".join(parts)


def claim_map(cid: str, settings: Sequence[Setting], not_applicable: Sequence[tuple[str, str]],
              *, threshold: dict, runs: Iterable[str] = (), excluded: dict | None = None,
              none_reason: str = NOT_MEASURED, statistic: dict | None = None) -> Verdict:
    """The claim's verdict as a map over its in-scope settings (module docstring, rule 3)."""
    ex = tuple((excluded or {}).items())
    na = tuple(not_applicable)
    runs = tuple(dict.fromkeys(runs))
    stat = {"settings": {s.name: s.statistic for s in settings}, **(statistic or {})}
    held = [s for s in settings if s.status == HOLDS]
    failed = [s for s in settings if s.status == FAILS]
    n = len(settings)
    if not settings:
        status = NOT_APPLICABLE if na else INCONCLUSIVE
        reason = (f"not applicable — {summarise_na(na)}" if na else f"inconclusive — {none_reason}")
        gist = summarise_na(na, 2) if na else none_reason
    elif not held and not failed:
        status = INCONCLUSIVE
        reason = f"inconclusive — {n} setting(s), none decided: " + "; ".join(
            f"{s.name} {s.status}: {s.why}" for s in settings[:3])
        gist = "; ".join(s.why for s in settings[:2])
    elif held and not failed:
        status = HOLDS
        reason = f"holds ({len(held)}/{n} settings): " + "; ".join(f"{s.name}: {s.why}" for s in held[:3])
        gist = "; ".join(s.why for s in held[:2])
    elif failed and not held:
        status = FAILS
        reason = f"fails ({len(failed)}/{n} settings): " + "; ".join(f"{s.name}: {s.why}" for s in failed[:3])
        gist = "; ".join(s.why for s in failed[:2])
    else:
        status = MIXED
        reason = (f"mixed — holds where {', '.join(s.name for s in held)}; fails where "
                  f"{', '.join(s.name for s in failed)}: " + "; ".join(
                      f"{s.name}: {s.why}" for s in (held[:1] + failed[:2])))
        gist = f"holds: {held[0].why}; fails: {failed[0].why}"
    undecided = [s for s in settings if s.status not in (HOLDS, FAILS)]
    if settings and undecided:
        reason += f" [{len(undecided)} undecided: " + ", ".join(
            f"{s.name} {s.status}" for s in undecided[:3]) + ("…" if len(undecided) > 3 else "") + "]"
    if settings and na:
        reason += f" [not applicable: {summarise_na(na, 2)}]"
    if ex:
        shown = "; ".join(f"{a}: {b}" for a, b in ex[:3])
        reason += f" [{len(ex)} run(s) excluded — {shown}{' …' if len(ex) > 3 else ''}]"
    return Verdict(cid, status, stat, threshold, reason, runs, ex, gist, tuple(settings), na)


def thresholds_of(th: Thresholds, *names: str) -> dict:
    """{name: value} of the named thresholds (a verdict's ``threshold``)."""
    return {n: getattr(th, n) for n in names}
