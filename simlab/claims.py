"""The claims engine: one evaluator per claim id of CLAIMS.md, reading run records only.

Every evaluator has the signature ``evaluate_XX(records, th: Thresholds) -> Verdict``. It picks
the records it needs by their ``config.json`` (top-level ``"regime"`` and ``"experiment"``, and
the run's ``"config"`` dict), computes a statistic from their telemetry / summary / arrays, and
compares it with a threshold. It never builds a model. A claim is never hard-wired to pass:
``fails`` is a legitimate outcome, and ``inconclusive`` says which runs were missing.

Statuses
--------
``holds`` / ``fails``  the measured statistic meets / misses the rule of CLAIMS.md;
``inconclusive``       no suitable run (or not enough of them) to apply the rule; the reason
                       says what is missing;
``reported``           a measurement shown without a verdict, where CLAIMS.md forces none
                       (S8: Sagun's outlier count beside Lowell's n_c − 1 edge count; F3: a
                       Spearman correlation).

Many runs, one verdict
----------------------
When a rule is applied to several runs or sweep groups (one verdict per unit), they are combined
by :func:`combine`: ``fails`` if any unit fails, ``holds`` if at least one holds and none fails,
else ``inconclusive``. A claim stated as general must survive every setting measured; the
statistic keeps each unit's numbers so a reader sees where it broke.

Sweeps
------
A sweep is the set of records with one experiment name, grouped by :data:`GROUP_KEYS` (regime,
dataset, arch, hidden, activation, loss, n_classes, n_data, blob_std, lr, schedule) minus the
fields the sweep varies (e.g. an ``lr_sweep`` varies ``lr``; a ``class_sweep`` varies
``n_classes`` and so also ``n_data``). The seed is never a group key: runs that differ only by
seed are replicates at one sweep value and are aggregated by the median (the mean for S3, whose
rule speaks of a mean). Fields that a record lacks read as ``None``, so a toy run without
``arch`` and a scale run without ``hidden`` group as expected.

Telemetry indices: ``rho`` and ``eigenvalues`` are stored descending (λ_1 first), so
ρ_{n_c−1} is ``rho[n_c − 2]`` and ρ_{n_c} is ``rho[n_c − 1]``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simlab.errors import UsageError
from simlab.record import Record, RecordError

HOLDS, FAILS, INCONCLUSIVE, REPORTED = "holds", "fails", "inconclusive", "reported"
STATUSES = (HOLDS, FAILS, INCONCLUSIVE, REPORTED)
NOT_MEASURED = "not measured by any run"

# ============================================================================ verdict, thresholds


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim on a set of records.

    ``statistic`` holds the numbers computed (a dict, or one float); ``threshold`` the numbers
    they were compared with; ``reason`` one short sentence with the deciding numbers; ``runs``
    the names of the records used.
    """

    id: str
    status: str
    statistic: Any = field(default_factory=dict)
    threshold: Any = field(default_factory=dict)
    reason: str = ""
    runs: tuple[str, ...] = ()

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "runs", tuple(self.runs))

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "statistic": _jsonable(self.statistic),
                "threshold": _jsonable(self.threshold), "reason": self.reason,
                "runs": list(self.runs)}


@dataclass(frozen=True)
class Thresholds:
    """Every number a verdict rule compares with; the defaults are those of CLAIMS.md.

    Where CLAIMS.md gives no number (marked *choice*), the default is the reading documented in
    the evaluator that uses it.
    """

    eps: float = 1e-3              # near zero: |λ| ≤ eps·λ_1 (S1, S2, S4, S5, F1)
    near_zero_min: float = 0.5     # S1/S4: near-zero fraction at least this
    gap: float = 3.0               # S1/S2/S4/S8: outlier gap λ_i/λ_{i+1} ≥ gap for some i ≤ 2 n_c
    rho_edge: float = 0.69         # L1, L3, L4, S8: ρ_{n_c−1} at the edge of stability
    rho_off: float = 0.25          # L1: ρ_{n_c} off the edge
    rho_on_edge: float = 0.7       # L6: telemetry "on the edge" is ρ_{n_c−1} > this
    min_edge_points: int = 3       # L6: at least this many on-edge points
    entry_intervals: float = 2.0   # L4: events within this many telemetry intervals
    bulk_spread: float = 2.0       # L5: max/min of median ‖P_bulk g‖ across η
    theta_change: float = 0.01     # L7: max |‖θ_t‖/‖θ_0‖ − 1|
    r2: float = 0.99               # L8: R² of the linear fit of peak λ_1 on n_D
    min_sizes: int = 4             # L8: at least this many n_D
    min_sweep: int = 3             # choice: sweep values needed by L3, L5, L9, S2, S3
    late_fraction: float = 0.25    # choice: "late telemetry" = mean over the last quarter (L2, S8)
    neg_ratio: float = 0.1         # S6: |λ_min| ≤ neg_ratio·λ_1
    neg_tol: float = 1e-10         # choice: λ < −neg_tol·λ_1 is negative (float64 eigh zero)
    theta_similar: float = 1.25    # choice, S3: ‖θ‖ "similar" = max/min ≤ this across the sweep
    f1_fraction: float = 0.9       # F1: "around 90 %" near zero
    f2_saddle_fraction: float = 0.9  # choice, F2: "almost all": this fraction of runs are saddles
    volume_tau: float = 1e-3       # F3: log-volume proxy over λ_i > volume_tau (absolute)
    min_minima: int = 3            # F3: minima needed for a Spearman correlation
    langevin_sigmas: float = 2.0   # F4: agreement within this many standard errors

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _jsonable(x: Any) -> Any:
    """Plain JSON values; non-finite floats become strings ("inf", "nan") so the file is JSON."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


# ============================================================================ reading records

SAGUN_EXPERIMENTS = ("toy", "width_sweep", "training_spectrum", "fluctuation", "std_sweep", "mse",
                     "random_inputs", "interpolation")
# "scale" is the scale regime's single protocol run (python -m simlab scale), as "toy" is the toy's
LOWELL_EXPERIMENTS = ("toy", "scale", "lr_sweep", "class_sweep", "entry", "gradient_flow")
GROUP_KEYS = ("regime", "dataset", "arch", "hidden", "activation", "loss", "n_classes", "n_data",
              "blob_std", "lr", "schedule")


def experiment(r: Record) -> str | None:
    return r.doc.get("experiment")


def regime(r: Record) -> str:
    return r.doc.get("regime") or "unknown"


def field_value(r: Record, key: str) -> Any:
    """A config field of the run; ``regime`` from the top level; ``n_classes``, ``n_data`` and
    ``dataset`` fall back to the record's data description, then to the summary; ``blob_std``
    is the toy config's ``std`` on blob data (the field has no meaning for other datasets)."""
    if key == "regime":
        return regime(r)
    v = r.config.get(key)
    if v is None and key == "blob_std" and field_value(r, "dataset") == "blobs":
        v = r.config.get("std")
    if v is None and key in ("n_classes", "n_data", "dataset"):
        data = r.doc.get("data") or {}
        v = data.get("name" if key == "dataset" else key)
        if v is None and r.summary:
            v = r.summary.get(key)
    return v


def n_classes(r: Record) -> int | None:
    v = field_value(r, "n_classes")
    return int(v) if v is not None else None


def n_data(r: Record) -> int | None:
    v = field_value(r, "n_data")
    return int(v) if v is not None else None


def label(r: Record) -> str:
    return r.name


def is_random_input(r: Record) -> bool:
    name = str(field_value(r, "dataset") or "") + " " + str((r.doc.get("data") or {}).get("name", ""))
    return "random" in name.lower()


def _hashable(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v


def group_sweep(records: Iterable[Record], vary: Sequence[str]) -> dict[tuple, list[Record]]:
    """Records grouped by :data:`GROUP_KEYS` minus ``vary``; key = ((field, value), ...)."""
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        key = tuple((k, _hashable(field_value(r, k))) for k in GROUP_KEYS if k not in vary)
        groups.setdefault(key, []).append(r)
    return groups


def group_label(key: tuple) -> str:
    return " ".join(f"{k}={v}" for k, v in key if v is not None) or "all"


def of_experiment(records: Iterable[Record], *names: str) -> list[Record]:
    return [r for r in records if experiment(r) in names]


def arrays(r: Record) -> dict[str, np.ndarray]:
    """The record's arrays.npz (read once per Record object, then cached on it)."""
    cached = r.__dict__.get("_claims_arrays")
    if cached is None:
        cached = r.arrays()
        r.__dict__["_claims_arrays"] = cached
    return cached


def spectrum(r: Record, which: str = "final") -> np.ndarray | None:
    """The *full* Hessian spectrum, ascending: ``eigenvalues`` (final) or ``eigenvalues_init``,
    from arrays.npz, else summary.json. A list shorter than the parameter count (summary
    ``n_params``) is a top-k list, not a spectrum, and gives None; without ``n_params`` only the
    toy regime (exact dense Hessians) is trusted to store full spectra."""
    key = "eigenvalues" if which == "final" else "eigenvalues_init"
    vals = arrays(r).get(key)
    if vals is None and r.summary is not None:
        vals = r.summary.get(key)
    if vals is None:
        return None
    lam = np.sort(np.asarray(vals, dtype=np.float64).ravel())
    if lam.size == 0:
        return None
    n_params = (r.summary or {}).get("n_params")
    if n_params is not None:
        if lam.size != int(n_params):
            return None
    elif regime(r) != "toy":
        return None
    return lam


def stats(lam: np.ndarray, nc: int, th: Thresholds) -> dict:
    """Sagun statistics of a full spectrum (simlab.spectrum.spectrum_stats with th's numbers)."""
    from simlab.spectrum import spectrum_stats

    return spectrum_stats(lam, n_classes=nc, eps=th.eps, gap=th.gap, zero_tol=th.neg_tol)


def density_near_zero(density: dict, lam_max: float, eps: float) -> float | None:
    """Mass of a spectral density in |λ| ≤ eps·λ_max.

    ``{"nodes", "weights"}`` (stochastic Lanczos quadrature): the summed weight of the nodes in
    the window over the total weight. ``{"grid", "density"}``: the trapezoid CDF of the density,
    interpolated linearly at ±eps·λ_max, over the total mass."""
    if "nodes" in density and "weights" in density:
        x = np.asarray(density["nodes"], dtype=float)
        w = np.asarray(density["weights"], dtype=float)
        total = w.sum()
        return float(w[np.abs(x) <= eps * abs(lam_max)].sum() / total) if total > 0 else None
    if "grid" in density and "density" in density:
        x = np.asarray(density["grid"], dtype=float)
        p = np.asarray(density["density"], dtype=float)
        order = np.argsort(x)
        x, p = x[order], p[order]
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
        if cdf[-1] <= 0:
            return None
        a = eps * abs(lam_max)
        return float((np.interp(a, x, cdf) - np.interp(-a, x, cdf)) / cdf[-1])
    return None


def lambda_max(r: Record) -> float | None:
    """λ_1 at the end: full spectrum, summary lambda_max, else the last telemetry eigenvalues."""
    lam = spectrum(r)
    if lam is not None:
        return float(lam[-1])
    if r.summary and r.summary.get("lambda_max") is not None:
        return float(r.summary["lambda_max"])
    for p in reversed(r.telemetry):
        if p.get("eigenvalues"):
            return float(p["eigenvalues"][0])
    return None


def near_zero(r: Record, th: Thresholds) -> tuple[float | None, str]:
    """Final near-zero fraction |λ| ≤ eps·λ_1 and where it came from: the exact spectrum
    ("exact"), a spectral density in summary["density"] ("density"), else a
    summary["near_zero_fraction"] measured with the same eps ("summary"; a summary that does
    not state its eps is taken to use telemetry's default 1e-3)."""
    lam = spectrum(r)
    if lam is not None:
        return stats(lam, n_classes(r) or 2, th)["near_zero_fraction"], "exact"
    s = r.summary or {}
    lmax = lambda_max(r)
    if isinstance(s.get("density"), dict) and lmax is not None:
        f = density_near_zero(s["density"], lmax, th.eps)
        if f is not None:
            return f, "density"
    # a summary fraction without its eps was measured with telemetry's default, 1e-3
    if s.get("near_zero_fraction") is not None and s.get("eps", 1e-3) == th.eps:
        return float(s["near_zero_fraction"]), "summary"
    return None, "none"


def final_theta_norm(r: Record) -> float | None:
    s = r.summary or {}
    if s.get("theta_norm") is not None:
        return float(s["theta_norm"])
    for p in reversed(r.telemetry):
        if p.get("theta_norm") is not None:
            return float(p["theta_norm"])
    return None


def num(x: Any) -> float | None:
    """A finite float, or None (missing, NaN or inf values are "not measured")."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def rho_at(p: dict, i: int) -> float | None:
    """ρ_i (1-based) of a telemetry point, or None when not measured."""
    rho = p.get("rho") or []
    return num(rho[i - 1]) if 1 <= i <= len(rho) else None


def max_rho(r: Record, i: int) -> float | None:
    vals = [v for p in r.telemetry if (v := rho_at(p, i)) is not None]
    return max(vals) if vals else None


def late_rho(r: Record, th: Thresholds) -> np.ndarray | None:
    """ρ averaged over the last ``late_fraction`` of telemetry points (at least one point),
    truncated to the shortest ρ list among them."""
    pts = [p["rho"] for p in r.telemetry
           if p.get("rho") and all(num(x) is not None for x in p["rho"])]
    if not pts:
        return None
    n = max(1, int(math.ceil(th.late_fraction * len(pts))))
    late = pts[-n:]
    m = min(len(x) for x in late)
    return np.mean(np.asarray([x[:m] for x in late], dtype=float), axis=0)


def ratio_gap_index(desc: np.ndarray) -> tuple[int | None, float]:
    """1-based i maximising desc_i/desc_{i+1} over consecutive positive values (a positive value
    followed by a non-positive one is an infinite ratio); None if no ratio is defined."""
    best, best_i = -np.inf, None
    for i in range(len(desc) - 1):
        a, b = desc[i], desc[i + 1]
        if a <= 0:
            break
        r = a / b if b > 0 else np.inf
        if r > best:
            best, best_i = r, i + 1
    return best_i, float(best)


def combine(cid: str, units: dict[str, tuple[str, Any]], threshold: Any, runs: Iterable[str],
            what: str, none_reason: str) -> Verdict:
    """One verdict from per-unit (status, statistic) pairs: fails if any unit fails, holds if
    one holds and none fails, else inconclusive. ``what`` names the unit in the reason."""
    runs = tuple(dict.fromkeys(runs))
    if not units:
        return Verdict(cid, INCONCLUSIVE, {}, threshold, none_reason, runs)
    statuses = {k: s for k, (s, _) in units.items()}
    stat = {k: v for k, (_, v) in units.items()}
    failed = [k for k, s in statuses.items() if s == FAILS]
    held = [k for k, s in statuses.items() if s == HOLDS]
    if failed:
        status = FAILS
        reason = f"fails for {len(failed)} of {len(units)} {what}: {', '.join(failed[:3])}"
    elif held:
        status = HOLDS
        reason = f"holds for {len(held)} of {len(units)} {what}"
        if len(held) < len(units):
            reason += f" ({len(units) - len(held)} inconclusive)"
    else:
        status = INCONCLUSIVE
        reason = f"inconclusive for all {len(units)} {what}"
    if len(units) == 1:
        only = next(iter(stat.values()))
        if isinstance(only, dict) and only.get("why"):
            reason = only["why"]
    return Verdict(cid, status, stat, threshold, reason, runs)


def _fmt(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{x:.3g}"
    return str(x)


def _strictly_increasing(xs: Sequence[float]) -> bool:
    return all(b > a for a, b in zip(xs, xs[1:]))


# ============================================================================ [S] Sagun et al. 2016


def _bulk_outlier_unit(r: Record, th: Thresholds) -> tuple[str, dict]:
    """S1's rule on one run's final full spectrum."""
    lam = spectrum(r)
    nc = n_classes(r)
    if lam is None or nc is None:
        return INCONCLUSIVE, {"why": "no full final spectrum or n_classes"}
    s = stats(lam, nc, th)
    ok_zero = s["near_zero_fraction"] >= th.near_zero_min
    ok_gap = s["gap_ratio"] >= th.gap
    stat = {"near_zero_fraction": s["near_zero_fraction"], "gap_ratio": s["gap_ratio"],
            "gap_index": s["gap_index"], "outlier_count": s["outlier_count"], "n": int(lam.size)}
    stat["why"] = (f"near-zero {s['near_zero_fraction']:.3g} (≥ {th.near_zero_min}), "
                   f"gap λ_{s['gap_index']}/λ_{s['gap_index'] + 1} = {s['gap_ratio']:.3g} "
                   f"(≥ {th.gap})")
    return (HOLDS if ok_zero and ok_gap else FAILS), stat


def evaluate_S1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S1: after training, a bulk at zero plus a few isolated outliers.

    Per run with a full final spectrum (Sagun experiments, cross-entropy, real or blob data:
    random inputs are S7's control and MSE is S4): near-zero fraction |λ| ≤ eps·λ_1 ≥ 0.5 and
    some i ≤ 2 n_c with λ_i / max(λ_{i+1}, eps·λ_1) ≥ gap (the floor keeps the zero bulk from
    making every ratio infinite, as in :func:`simlab.spectrum.spectrum_stats`)."""
    thr = {"near_zero_min": th.near_zero_min, "eps": th.eps, "gap": th.gap}
    rs = [r for r in of_experiment(records, *SAGUN_EXPERIMENTS)
          if field_value(r, "loss") != "mse" and experiment(r) != "mse" and not is_random_input(r)
          and spectrum(r) is not None]
    units = {label(r): _bulk_outlier_unit(r, th) for r in rs}
    return combine("S1", units, thr, map(label, rs), "runs",
                   "no trained cross-entropy run with a full final spectrum")


def evaluate_S2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S2: growing the network adds only to the mass at zero; the outliers stay.

    Per width_sweep group (varying ``hidden``), widths ordered by parameter count: the
    near-zero fraction (median over seeds) strictly increases with width, and the outlier count
    (eigenvalues above the largest gap among i ≤ 2 n_c, 0 without a gap ≥ ``gap``) is the same
    for every run. Needs ≥ ``min_sweep`` widths."""
    thr = {"eps": th.eps, "gap": th.gap, "min_sweep": th.min_sweep}
    rs = [r for r in of_experiment(records, "width_sweep") if spectrum(r) is not None]
    units, used = {}, []
    for key, grp in group_sweep(rs, ("hidden",)).items():
        by_size: dict[int, list] = {}
        for r in grp:
            s = stats(spectrum(r), n_classes(r) or 2, th)
            by_size.setdefault(int(spectrum(r).size), []).append((s, label(r), r))
        sizes = sorted(by_size)
        if len(sizes) < th.min_sweep:
            units[group_label(key)] = (INCONCLUSIVE, {"why": f"{len(sizes)} widths < {th.min_sweep}"})
            continue
        fr = [float(np.median([s["near_zero_fraction"] for s, _, _ in by_size[n]])) for n in sizes]
        counts = [[s["outlier_count"] for s, _, _ in by_size[n]] for n in sizes]
        flat = sorted({c for cs in counts for c in cs})
        ok = _strictly_increasing(fr) and len(flat) == 1
        used += [lab for n in sizes for _, lab, _ in by_size[n]]
        units[group_label(key)] = (HOLDS if ok else FAILS, {
            "n_params": sizes, "near_zero_fraction": fr, "outlier_counts": counts,
            "why": f"near-zero {[round(f, 3) for f in fr]} over n_params {sizes}; "
                   f"outlier counts {flat}"})
    return combine("S2", units, thr, used, "width sweeps", "no width_sweep run with a full spectrum")


def _top_eig_samples(r: Record) -> list[float]:
    """Top eigenvalues of one fluctuation record: a list of many inits (summary or arrays
    ``top_eigenvalues``) or else the run's own final λ_1."""
    vals = arrays(r).get("top_eigenvalues")
    if vals is None and r.summary:
        vals = r.summary.get("top_eigenvalues")
    if vals is not None:
        return [float(v) for v in np.ravel(vals)]
    lm = lambda_max(r)
    return [lm] if lm is not None else []


def init_spread(records: Sequence[Record], like: Record | None = None) -> tuple[float | None, list[str]]:
    """Init-to-init spread of λ_1: the standard deviation (ddof=1) of the top eigenvalues of the
    fluctuation experiment, restricted to the records sharing ``like``'s regime, dataset and
    architecture fields when ``like`` is given and any match."""
    rs = of_experiment(records, "fluctuation")
    if like is not None:
        keys = ("regime", "dataset", "arch", "hidden", "activation", "loss")
        same = [r for r in rs if all(_hashable(field_value(r, k)) == _hashable(field_value(like, k))
                                     for k in keys)]
        rs = same or rs
    vals = [v for r in rs for v in _top_eig_samples(r)]
    if len(vals) < 2:
        return None, []
    return float(np.std(vals, ddof=1)), [label(r) for r in rs]


def evaluate_S3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S3: less separable data (larger blob std) → larger top eigenvalues.

    Per std_sweep group (varying ``blob_std``, ≥ ``min_sweep`` values): the mean final λ_1
    over seeds strictly increases with std, its total rise (largest std minus smallest) exceeds
    the init-to-init spread σ (std of λ_1 over the fluctuation experiment; without one, the
    pooled std over seeds at equal blob_std), and ‖θ‖ stays similar: max/min of the mean final
    ‖θ‖ ≤ ``theta_similar``. Reading of "increases by more than the spread": the overall rise,
    not every step, must exceed σ."""
    thr = {"min_sweep": th.min_sweep, "theta_similar": th.theta_similar}
    rs = [r for r in of_experiment(records, "std_sweep") if lambda_max(r) is not None]
    units, used = {}, []
    for key, grp in group_sweep(rs, ("blob_std",)).items():
        by_std: dict[float, list[Record]] = {}
        for r in grp:
            if field_value(r, "blob_std") is not None:
                by_std.setdefault(float(field_value(r, "blob_std")), []).append(r)
        stds = sorted(by_std)
        g = group_label(key)
        if len(stds) < th.min_sweep:
            units[g] = (INCONCLUSIVE, {"why": f"{len(stds)} blob stds < {th.min_sweep}"})
            continue
        lam = [float(np.mean([lambda_max(r) for r in by_std[s]])) for s in stds]
        norms = [[final_theta_norm(r) for r in by_std[s]] for s in stds]
        norm = [float(np.mean(n)) if all(v is not None for v in n) else None for n in norms]
        sigma, spread_runs = init_spread(records, grp[0])
        source = "fluctuation"
        if sigma is None:
            dev = [lambda_max(r) - np.mean([lambda_max(q) for q in by_std[s]])
                   for s in stds for r in by_std[s]]
            dof = sum(len(by_std[s]) - 1 for s in stds)
            sigma = float(np.sqrt(np.sum(np.square(dev)) / dof)) if dof > 0 else None
            source = "seeds"
        used += [label(r) for r in grp] + spread_runs
        stat = {"blob_std": stds, "lambda_1": lam, "theta_norm": norm, "init_spread": sigma,
                "spread_source": source}
        if sigma is None or any(v is None for v in norm):
            units[g] = (INCONCLUSIVE, {**stat, "why": "no init spread (no fluctuation run, one "
                                       "seed per std)" if sigma is None else "‖θ‖ not recorded"})
            continue
        rise = lam[-1] - lam[0]
        norm_ratio = max(norm) / min(norm)
        ok = _strictly_increasing(lam) and rise > sigma and norm_ratio <= th.theta_similar
        stat.update(rise=rise, theta_ratio=norm_ratio,
                    why=f"λ_1 {[round(v, 4) for v in lam]} over std {stds}, rise {rise:.3g} vs "
                        f"spread {sigma:.3g}, ‖θ‖ max/min {norm_ratio:.3g}")
        units[g] = (HOLDS if ok else FAILS, stat)
    return combine("S3", units, thr, used, "std sweeps", "no std_sweep run with a top eigenvalue")


def evaluate_S4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S4: the bulk + outlier structure under MSE: S1's rule on every run with loss "mse"
    (the ``mse`` experiment, or any Sagun run whose config says loss="mse")."""
    thr = {"near_zero_min": th.near_zero_min, "eps": th.eps, "gap": th.gap}
    rs = [r for r in records if (experiment(r) == "mse" or (
        experiment(r) in SAGUN_EXPERIMENTS and field_value(r, "loss") == "mse"))
        and spectrum(r) is not None]
    units = {label(r): _bulk_outlier_unit(r, th) for r in rs}
    return combine("S4", units, thr, map(label, rs), "MSE runs", "no MSE run with a full spectrum")


def evaluate_S5(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S5: training drives eigenvalues to zero: per run holding both the initial and the final
    full spectrum, near-zero fraction (|λ| ≤ eps·λ_1, each with its own λ_1) at the end >
    at initialisation."""
    thr = {"eps": th.eps}
    units, used = {}, []
    for r in records:
        lam0, lam1 = spectrum(r, "init"), spectrum(r)
        if lam0 is None or lam1 is None:
            continue
        nc = n_classes(r) or 2
        f0, f1 = stats(lam0, nc, th)["near_zero_fraction"], stats(lam1, nc, th)["near_zero_fraction"]
        units[label(r)] = (HOLDS if f1 > f0 else FAILS, {
            "near_zero_init": f0, "near_zero_final": f1,
            "why": f"near-zero fraction {f0:.3g} at init → {f1:.3g} after training"})
        used.append(label(r))
    return combine("S5", units, thr, used, "runs", "no run with both initial and final spectra")


def evaluate_S6(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S6: training stops at a small non-zero gradient with small negative eigenvalues.

    Per Sagun run with a final gradient norm (summary final_grad_norm, else the last telemetry
    grad_norm) and λ_min, λ_1 (full spectrum, else summary lambda_min/lambda_max): ‖g‖ > 0,
    λ_min < −neg_tol·λ_1 (negative beyond the float64 zero of an eigh) and |λ_min| ≤
    neg_ratio·λ_1."""
    thr = {"neg_ratio": th.neg_ratio, "neg_tol": th.neg_tol}
    units, used = {}, []
    for r in of_experiment(records, *SAGUN_EXPERIMENTS):
        s = r.summary or {}
        g = s.get("final_grad_norm")
        if g is None:
            gs = [v for v in r.series("grad_norm") if v is not None]
            g = gs[-1] if gs else None
        lam = spectrum(r)
        lmin = float(lam[0]) if lam is not None else s.get("lambda_min")
        lmax = float(lam[-1]) if lam is not None else s.get("lambda_max")
        if g is None or lmin is None or lmax is None:
            continue
        ok = g > 0 and lmin < -th.neg_tol * abs(lmax) and abs(lmin) <= th.neg_ratio * lmax
        units[label(r)] = (HOLDS if ok else FAILS, {
            "grad_norm": g, "lambda_min": lmin, "lambda_max": lmax,
            "ratio": abs(lmin) / lmax if lmax else float("nan"),
            "why": f"‖g‖ = {g:.3g}, λ_min = {lmin:.3g}, |λ_min|/λ_1 = "
                   f"{abs(lmin) / lmax if lmax else float('nan'):.3g}"})
        used.append(label(r))
    return combine("S6", units, thr, used, "runs",
                   "no Sagun run with a final gradient norm and λ_min")


def evaluate_S7(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S7: random inputs give a different spectrum than real data.

    Each random-input run (dataset name contains "random") is matched with the real-data runs of
    the Sagun experiments sharing its group keys except dataset and n_data. It differs when the
    outlier counts differ (a discrete difference, no spread needed) or |Δλ_1| (random minus the
    mean of the matches) exceeds the init spread σ (fluctuation experiment for that
    architecture, else the std over seeds of the matched real runs). Equal counts and no σ →
    inconclusive."""
    thr = {"gap": th.gap, "eps": th.eps}
    sag = of_experiment(records, *SAGUN_EXPERIMENTS)
    randoms = [r for r in sag if is_random_input(r) and lambda_max(r) is not None]
    keys = [k for k in GROUP_KEYS if k not in ("dataset", "n_data")]
    units, used = {}, []
    for rr in randoms:
        match = [r for r in sag if not is_random_input(r) and lambda_max(r) is not None
                 and all(_hashable(field_value(r, k)) == _hashable(field_value(rr, k)) for k in keys)]
        if not match:
            units[label(rr)] = (INCONCLUSIVE, {"why": "no real-data run with the same network"})
            continue
        used += [label(rr)] + [label(r) for r in match]

        def count(r):
            lam = spectrum(r)
            return stats(lam, n_classes(r) or 2, th)["outlier_count"] if lam is not None else None

        c_rand, c_real = count(rr), sorted({c for r in match if (c := count(r)) is not None})
        l_rand, l_real = lambda_max(rr), float(np.mean([lambda_max(r) for r in match]))
        sigma, spread_runs = init_spread(records, match[0])
        if sigma is None and len(match) >= 2:
            sigma = float(np.std([lambda_max(r) for r in match], ddof=1))
        used += spread_runs
        stat = {"outliers_random": c_rand, "outliers_real": c_real, "lambda_1_random": l_rand,
                "lambda_1_real": l_real, "init_spread": sigma}
        count_differs = c_rand is not None and bool(c_real) and c_rand not in c_real
        lam_differs = sigma is not None and abs(l_rand - l_real) > sigma
        why = (f"outliers {c_rand} vs {c_real}, λ_1 {l_rand:.3g} vs {l_real:.3g} "
               f"(spread {_fmt(sigma)})")
        if count_differs or lam_differs:
            units[label(rr)] = (HOLDS, {**stat, "why": why})
        elif sigma is None:
            units[label(rr)] = (INCONCLUSIVE, {**stat, "why": why + "; no init spread"})
        else:
            units[label(rr)] = (FAILS, {**stat, "why": why})
    return combine("S7", units, thr, used, "random-input runs", "no random-input run")


def evaluate_S8(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S8: Sagun's outlier count beside Lowell's n_c − 1, per run; status ``reported``.

    For every run with a full final spectrum or ρ telemetry: ``sagun_outliers`` (eigenvalues
    above the largest gap among i ≤ 2 n_c, 0 without a gap ≥ ``gap``), ``lowell_edge_count``
    (number of i with late ρ_i ≥ rho_edge, late = mean over the last ``late_fraction`` of
    telemetry), ``rho_gap_index`` (i maximising late ρ_i/ρ_{i+1}) and n_c − 1. No verdict is
    forced: CLAIMS.md lists this as a tension simlab measures."""
    thr = {"gap": th.gap, "rho_edge": th.rho_edge, "late_fraction": th.late_fraction}
    per, used = {}, []
    for r in records:
        nc = n_classes(r)
        lam = spectrum(r)
        rho = late_rho(r, th)
        if nc is None or (lam is None and rho is None):
            continue
        row = {"n_classes": nc, "n_c_minus_1": nc - 1, "sagun_outliers": None,
               "lowell_edge_count": None, "rho_gap_index": None}
        if lam is not None:
            row["sagun_outliers"] = stats(lam, nc, th)["outlier_count"]
        if rho is not None:
            row["lowell_edge_count"] = int(np.sum(rho >= th.rho_edge))
            row["rho_gap_index"] = ratio_gap_index(rho)[0]
        per[label(r)] = row
        used.append(label(r))
    if not per:
        return Verdict("S8", INCONCLUSIVE, {}, thr, "no run with a full spectrum or ρ telemetry")
    def show(x):
        return "–" if x is None else str(x)

    parts = [f"{k}: Sagun {show(v['sagun_outliers'])} / Lowell {show(v['lowell_edge_count'])} "
             f"(n_c−1 = {v['n_c_minus_1']})" for k, v in list(per.items())[:3]]
    more = f" (+{len(per) - 3} more)" if len(per) > 3 else ""
    return Verdict("S8", REPORTED, per, thr, "; ".join(parts) + more, used)


# ============================================================================ [L] Lowell 2022


def _lr(r: Record) -> float | None:
    v = field_value(r, "lr")
    return float(v) if v is not None else None


def _by_value(grp: list[Record], value: Callable[[Record], Any]) -> dict[Any, list[Record]]:
    out: dict[Any, list[Record]] = {}
    for r in grp:
        if (v := value(r)) is not None:
            out.setdefault(v, []).append(r)
    return dict(sorted(out.items()))


def evaluate_L1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L1: training sits on the edge of stability across n_c − 1 eigenvectors, not 1.

    Per lr_sweep group, at its smallest η (each seed a unit): max over telemetry of
    ρ_{n_c−1} ≥ rho_edge and max of ρ_{n_c} ≤ rho_off. Where the records hold no lr_sweep, each
    single cross-entropy protocol run at a constant η (experiment "scale"; the rule read as a
    sweep of one η) is a unit, so one `python -m simlab scale` run can already be judged."""
    thr = {"rho_edge": th.rho_edge, "rho_off": th.rho_off}
    units, used = {}, []
    sweeps = of_experiment(records, "lr_sweep")
    if not sweeps:
        sweeps = [r for r in of_experiment(records, "scale")
                  if field_value(r, "loss") in (None, "ce")
                  and field_value(r, "schedule") in (None, "constant")]
    for key, grp in group_sweep(sweeps, ("lr",)).items():
        by_lr = _by_value(grp, _lr)
        if not by_lr:
            continue
        lr = min(by_lr)
        for r in by_lr[lr]:
            nc = n_classes(r)
            a, b = (max_rho(r, nc - 1), max_rho(r, nc)) if nc else (None, None)
            name = f"{group_label(key)} lr={lr:g} {label(r)}"
            used.append(label(r))
            if a is None or b is None:
                units[name] = (INCONCLUSIVE, {"why": f"telemetry lacks ρ_{nc}"})
                continue
            units[name] = (HOLDS if a >= th.rho_edge and b <= th.rho_off else FAILS, {
                "lr": lr, "n_classes": nc, "max_rho_nc_minus_1": a, "max_rho_nc": b,
                "why": f"η={lr:g}: max ρ_{nc - 1} = {a:.3g}, max ρ_{nc} = {b:.3g}"})
    return combine("L1", units, thr, used, "runs", "no lr_sweep run and no single protocol run")


def evaluate_L2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L2: the edge count n_c − 1 follows the number of classes.

    Per class_sweep group (varying n_classes and hence n_data): for every run, the i that
    maximises late ρ_i/ρ_{i+1} (late = mean over the last ``late_fraction`` of telemetry) must
    equal n_c − 1. "Follows" needs at least two distinct n_c in the group; fewer → inconclusive."""
    thr = {"late_fraction": th.late_fraction}
    units, used = {}, []
    for key, grp in group_sweep(of_experiment(records, "class_sweep"),
                                ("n_classes", "n_data")).items():
        rows = {}
        for r in grp:
            nc, rho = n_classes(r), late_rho(r, th)
            if nc is None or rho is None or len(rho) < nc:
                continue
            rows[label(r)] = {"n_classes": nc, "gap_index": ratio_gap_index(rho)[0]}
        ncs = sorted({v["n_classes"] for v in rows.values()})
        g = group_label(key)
        used += list(rows)
        if len(ncs) < 2:
            units[g] = (INCONCLUSIVE, {"why": f"class counts {ncs}: need two or more"})
            continue
        ok = all(v["gap_index"] == v["n_classes"] - 1 for v in rows.values())
        pairs = sorted((v["n_classes"], v["gap_index"]) for v in rows.values())
        units[g] = (HOLDS if ok else FAILS, {
            "runs": rows, "why": "(n_c, gap index) " + ", ".join(f"({a}, {b})" for a, b in pairs)})
    return combine("L2", units, thr, used, "class sweeps", "no class_sweep run with ρ telemetry")


def _lr_sweep_table(records: Sequence[Record]):
    """lr_sweep groups → {η: [records]} sorted by η ascending."""
    return {group_label(k): _by_value(g, _lr)
            for k, g in group_sweep(of_experiment(records, "lr_sweep"), ("lr",)).items()}


def evaluate_L3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L3: ρ_{n_c} falls toward 0 as η shrinks while ρ_{n_c−1} stays near 1.

    Per lr_sweep group with ≥ ``min_sweep`` learning rates (median over seeds): max ρ_{n_c}
    strictly decreases as η decreases (i.e. strictly increases with η: "falls as η shrinks"),
    and max ρ_{n_c−1} ≥ rho_edge at every η."""
    thr = {"rho_edge": th.rho_edge, "min_sweep": th.min_sweep}
    units, used = {}, []
    for g, by_lr in _lr_sweep_table(records).items():
        lrs, a, b = [], [], []
        for lr, rs in by_lr.items():
            nc = n_classes(rs[0])
            va = [v for r in rs if nc and (v := max_rho(r, nc - 1)) is not None]
            vb = [v for r in rs if nc and (v := max_rho(r, nc)) is not None]
            if va and vb:
                lrs.append(lr)
                a.append(float(np.median(va)))
                b.append(float(np.median(vb)))
                used += [label(r) for r in rs]
        if len(lrs) < th.min_sweep:
            units[g] = (INCONCLUSIVE, {"why": f"{len(lrs)} learning rates < {th.min_sweep}"})
            continue
        ok = _strictly_increasing(b) and min(a) >= th.rho_edge
        units[g] = (HOLDS if ok else FAILS, {
            "lr": lrs, "max_rho_nc": b, "max_rho_nc_minus_1": a,
            "why": f"over η {lrs}: max ρ_(n_c) {[round(v, 3) for v in b]}, "
                   f"max ρ_(n_c−1) {[round(v, 3) for v in a]}"})
    return combine("L3", units, thr, used, "lr sweeps", "no lr_sweep run")


def evaluate_L4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L4: the gradient concentrates in the top subspace when the top eigenvectors reach the edge.

    Per entry-capture run: s_edge = first telemetry step with ρ_{n_c−1} ≥ rho_edge, s_top =
    first step with ‖P_top g‖ > ‖P_bulk g‖; holds when |s_edge − s_top| ≤ entry_intervals ×
    the telemetry interval (median step difference). Never reaching the edge leaves nothing to
    test (inconclusive); reaching it without the gradient ever concentrating fails."""
    thr = {"rho_edge": th.rho_edge, "entry_intervals": th.entry_intervals}
    units, used = {}, []
    for r in of_experiment(records, "entry"):
        nc = n_classes(r)
        pts = [p for p in r.telemetry if p.get("step") is not None]
        if nc is None or len(pts) < 2:
            continue
        used.append(label(r))
        steps = [int(p["step"]) for p in pts]
        interval = float(np.median(np.diff(steps)))
        s_edge = next((p["step"] for p in pts if (v := rho_at(p, nc - 1)) is not None
                       and v >= th.rho_edge), None)
        s_top = next((p["step"] for p in pts if num(p.get("p_top_norm")) is not None
                      and num(p.get("p_bulk_norm")) is not None
                      and p["p_top_norm"] > p["p_bulk_norm"]), None)
        stat = {"edge_step": s_edge, "concentration_step": s_top, "interval": interval}
        if s_edge is None:
            units[label(r)] = (INCONCLUSIVE, {**stat, "why": "the edge was never reached"})
        elif s_top is None:
            units[label(r)] = (FAILS, {**stat, "why": f"edge at step {s_edge}, gradient never "
                                       "concentrated in the top subspace"})
        else:
            ok = abs(s_edge - s_top) <= th.entry_intervals * interval
            units[label(r)] = (HOLDS if ok else FAILS, {
                **stat, "why": f"edge at step {s_edge}, ‖P_top g‖ > ‖P_bulk g‖ from step "
                               f"{s_top} (interval {interval:g})"})
    return combine("L4", units, thr, used, "runs", "no entry run")


def evaluate_L5(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L5: ‖P_bulk g‖ roughly independent of η; ‖P_top g‖ grows as η shrinks.

    Per lr_sweep group: for each η, the median over on-edge telemetry (ρ_{n_c−1} ≥ rho_edge) of
    ‖P_bulk g‖ and ‖P_top g‖ (median again over seeds). Needs ≥ ``min_sweep`` η with on-edge
    points. Holds when max/min of the bulk medians ≤ bulk_spread and the top medians strictly
    increase as η decreases."""
    thr = {"rho_edge": th.rho_edge, "bulk_spread": th.bulk_spread, "min_sweep": th.min_sweep}
    units, used = {}, []
    for g, by_lr in _lr_sweep_table(records).items():
        lrs, top, bulk = [], [], []
        for lr, rs in by_lr.items():
            t_med, b_med = [], []
            for r in rs:
                nc = n_classes(r)
                on = [p for p in r.telemetry if nc and (v := rho_at(p, nc - 1)) is not None
                      and v >= th.rho_edge and num(p.get("p_top_norm")) is not None
                      and num(p.get("p_bulk_norm")) is not None]
                if on:
                    t_med.append(float(np.median([p["p_top_norm"] for p in on])))
                    b_med.append(float(np.median([p["p_bulk_norm"] for p in on])))
                    used.append(label(r))
            if t_med:
                lrs.append(lr)
                top.append(float(np.median(t_med)))
                bulk.append(float(np.median(b_med)))
        if len(lrs) < th.min_sweep:
            units[g] = (INCONCLUSIVE, {"why": f"{len(lrs)} learning rates with on-edge "
                                       f"telemetry < {th.min_sweep}"})
            continue
        spread = max(bulk) / min(bulk) if min(bulk) > 0 else float("inf")
        ok = spread <= th.bulk_spread and _strictly_increasing(top[::-1])
        units[g] = (HOLDS if ok else FAILS, {
            "lr": lrs, "p_top_norm": top, "p_bulk_norm": bulk, "bulk_spread": spread,
            "why": f"over η {lrs}: ‖P_bulk g‖ spread {spread:.3g}×, ‖P_top g‖ "
                   f"{[float(f'{v:.3g}') for v in top]}"})
    return combine("L5", units, thr, used, "lr sweeps", "no lr_sweep run")


def evaluate_L6(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L6: once on the edge, learning happens in the bulk, not the top (paper Table 1).

    Per run of the Lowell experiments (and the single toy run) with ΔL telemetry: over points
    with ρ_{n_c−1} > rho_on_edge (≥ min_edge_points of them): mean ΔL_bulk < 0, mean ΔL_top ≥
    mean ΔL_bulk, and std(ΔL_top) > std(ΔL_bulk) (sample std, ddof=1). Runs with too few
    on-edge points are inconclusive units."""
    thr = {"rho_on_edge": th.rho_on_edge, "min_edge_points": th.min_edge_points}
    units, used = {}, []
    for r in of_experiment(records, *LOWELL_EXPERIMENTS):
        nc = n_classes(r)
        if nc is None or not any(p.get("dl_top") is not None for p in r.telemetry):
            continue
        used.append(label(r))
        on = [p for p in r.telemetry if (v := rho_at(p, nc - 1)) is not None
              and v > th.rho_on_edge and num(p.get("dl_top")) is not None
              and num(p.get("dl_bulk")) is not None]
        if len(on) < th.min_edge_points:
            units[label(r)] = (INCONCLUSIVE, {"on_edge_points": len(on),
                                              "why": f"{len(on)} on-edge points"})
            continue
        top = np.array([p["dl_top"] for p in on], dtype=float)
        bulk = np.array([p["dl_bulk"] for p in on], dtype=float)
        mt, mb, st, sb = top.mean(), bulk.mean(), top.std(ddof=1), bulk.std(ddof=1)
        ok = mb < 0 and mt >= mb and st > sb
        units[label(r)] = (HOLDS if ok else FAILS, {
            "on_edge_points": len(on), "mean_dl_top": float(mt), "mean_dl_bulk": float(mb),
            "std_dl_top": float(st), "std_dl_bulk": float(sb),
            "why": f"{len(on)} points: mean ΔL_top {mt:.3g}, ΔL_bulk {mb:.3g}; std {st:.3g} vs "
                   f"{sb:.3g}"})
    return combine("L6", units, thr, used, "runs", "no run with ΔL_top / ΔL_bulk telemetry")


def evaluate_L7(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L7: weights barely move: max_t |‖θ_t‖/‖θ_0‖ − 1| < theta_change.

    Per run of the Lowell experiments (and the toy run) with ≥ 2 telemetry points of
    ``theta_norm``; ‖θ_0‖ is the first point's (its step is reported: it should be 0)."""
    thr = {"theta_change": th.theta_change}
    units, used = {}, []
    for r in of_experiment(records, *LOWELL_EXPERIMENTS):
        pts = [p for p in r.telemetry if num(p.get("theta_norm")) is not None]
        if len(pts) < 2 or not pts[0]["theta_norm"]:
            continue
        used.append(label(r))
        t0 = float(pts[0]["theta_norm"])
        dev = max(abs(float(p["theta_norm"]) / t0 - 1) for p in pts)
        units[label(r)] = (HOLDS if dev < th.theta_change else FAILS, {
            "max_rel_change": dev, "theta_norm_0": t0, "first_step": pts[0].get("step"),
            "why": f"max |‖θ_t‖/‖θ_0‖ − 1| = {dev:.3g}"})
    return combine("L7", units, thr, used, "runs", "no run with ‖θ‖ telemetry")


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares y ≈ a + b x: (slope b, intercept a, R² = 1 − SS_res/SS_tot)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    b, a = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - (a + b * x)) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return float(b), float(a), (1 - ss_res / ss_tot) if ss_tot > 0 else float("nan")


def _is_flow(r: Record) -> bool:
    return experiment(r) == "gradient_flow" or (
        experiment(r) in LOWELL_EXPERIMENTS and field_value(r, "schedule") == "flow")


def _flow_peak(r: Record) -> tuple[float, bool] | None:
    """(peak λ_1, whether the peak was observed) of a gradient-flow run.

    The run's own every-iteration measurement (summary ``peak_lambda_1`` at ``peak_step``) is
    preferred over the telemetry points, which under gradient flow are sparse. A peak at the
    run's last iteration is not a peak: λ_1 was still growing when the run stopped."""
    s = r.summary or {}
    if num(s.get("peak_lambda_1")) is not None:
        last = s.get("steps")
        seen = s.get("peak_step") is None or last is None or int(s["peak_step"]) < int(last) - 1
        return float(s["peak_lambda_1"]), seen
    pts = [(p.get("step"), x) for p in r.telemetry
           if p.get("eigenvalues") and (x := num(p["eigenvalues"][0])) is not None]
    if not pts:
        return None
    i = int(np.argmax([x for _, x in pts]))
    return float(pts[i][1]), i < len(pts) - 1


def evaluate_L8(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L8: under gradient flow, peak λ_1 grows linearly with n_D.

    Per gradient-flow group (varying n_data): peak λ_1 per run (:func:`_flow_peak`; mean over
    seeds per n_D); least-squares line through (n_D, peak λ_1) over ≥ min_sizes sizes; holds
    when R² ≥ r2 and the slope > 0. Runs whose λ_1 was still rising when they stopped have no
    observed peak and are left out (named in the statistic); if that leaves fewer than
    min_sizes sizes, the group is inconclusive rather than judged on truncated values."""
    thr = {"r2": th.r2, "min_sizes": th.min_sizes}
    units, used = {}, []
    flow = [r for r in records if _is_flow(r)]
    for key, grp in group_sweep(flow, ("n_data",)).items():
        by_n = _by_value(grp, n_data)
        sizes, peaks, unfinished = [], [], []
        for n, rs in by_n.items():
            found = [pk for r in rs if (pk := _flow_peak(r)) is not None]
            if not found:
                continue
            used += [label(r) for r in rs]
            if not all(seen for _, seen in found):
                unfinished.append(n)
                continue
            sizes.append(n)
            peaks.append(float(np.mean([v for v, _ in found])))
        g = group_label(key)
        if len(sizes) < th.min_sizes:
            why = f"{len(sizes)} sizes with an observed peak < {th.min_sizes}"
            if unfinished:
                why += f"; λ_1 still rising at the end for n_D = {sorted(unfinished)}"
            units[g] = (INCONCLUSIVE, {"n_data": sizes, "peak_lambda_1": peaks,
                                       "no_peak_n_data": sorted(unfinished), "why": why})
            continue
        slope, icpt, r2 = linear_fit(sizes, peaks)
        ok = r2 >= th.r2 and slope > 0
        units[g] = (HOLDS if ok else FAILS, {
            "n_data": sizes, "peak_lambda_1": peaks, "slope": slope, "intercept": icpt, "r2": r2,
            "no_peak_n_data": sorted(unfinished),
            "why": f"peak λ_1 on n_D: R² = {r2:.4f}, slope {slope:.3g}"})
    return combine("L8", units, thr, used, "gradient-flow groups", "no gradient_flow run")


def cusp_sharpness(deltas: Sequence[float], values: Sequence[float]) -> dict:
    """Sharpness of a slice v(Δ) = L(θ*+Δh_1) − L(θ*) at Δ = 0.

    ``second_difference``: the three-point second derivative at the grid point nearest 0 from its
    two neighbours h₋ < 0 < h₊: 2[(v₊ − v₀)/h₊ + (v₋ − v₀)/|h₋|]/(h₊ + |h₋|).
    ``parabola_ratio``: (v̄(h)/h²) / (v̄(H)/H²), v̄ the mean of the two sides, h the smallest and H
    the largest |Δ| on both sides: 1 for a parabola, > 1 for a cusp (sharper near 0 than far);
    NaN where the far value is not positive."""
    d, v = np.asarray(deltas, float), np.asarray(values, float)
    order = np.argsort(d)
    d, v = d[order], v[order]
    i0 = int(np.argmin(np.abs(d)))
    if i0 == 0 or i0 == len(d) - 1:
        raise ValueError("the cusp slice needs points on both sides of Δ = 0")
    hm, hp = d[i0] - d[i0 - 1], d[i0 + 1] - d[i0]
    d2 = 2 * ((v[i0 + 1] - v[i0]) / hp + (v[i0 - 1] - v[i0]) / hm) / (hp + hm)
    near = 0.5 * (v[i0 + 1] + v[i0 - 1]) / (0.5 * (hp + hm)) ** 2
    H = min(abs(d[0] - d[i0]), abs(d[-1] - d[i0]))
    far_v = 0.5 * (np.interp(d[i0] + H, d, v) + np.interp(d[i0] - H, d, v))
    ratio = float(near / (far_v / H ** 2)) if far_v > 0 else float("nan")
    return {"second_difference": float(d2), "parabola_ratio": ratio}


def _cusp(r: Record) -> dict | None:
    c = (r.summary or {}).get("cusp")
    return c if isinstance(c, dict) and "deltas" in c and "values" in c else None


def evaluate_L9(records: Sequence[Record], th: Thresholds) -> Verdict:
    """L9: a cusp forms along h_1 at θ* as n_D grows.

    Slices from summary["cusp"] = {"deltas", "values"} (experiment "cusp" or the gradient-flow
    runs), grouped by everything but n_data, n_D from the config (mean over seeds). Holds when
    over ≥ min_sweep sizes both the second difference at Δ = 0 and the parabola ratio (see
    :func:`cusp_sharpness`) strictly increase with n_D. Reading: CLAIMS.md names both in one
    rule, so both must rise; where a ratio is undefined (far value ≤ 0) the second difference
    decides alone, and the statistic says so. A gradient-flow run whose λ_1 was still rising
    when it stopped (:func:`_flow_peak`) has no θ* of peak λ_1; its slice is left out."""
    thr = {"min_sweep": th.min_sweep}
    units, used = {}, []
    rs = [r for r in records if _cusp(r) is not None]
    for key, grp in group_sweep(rs, ("n_data",)).items():
        sizes, d2s, ratios, unfinished = [], [], [], []
        for n, grp_n in _by_value(grp, n_data).items():
            if _is_flow(grp_n[0]) and not all((pk := _flow_peak(r)) is None or pk[1] for r in grp_n):
                unfinished.append(n)
                used += [label(r) for r in grp_n]
                continue
            sh = [cusp_sharpness(_cusp(r)["deltas"], _cusp(r)["values"]) for r in grp_n]
            sizes.append(n)
            d2s.append(float(np.mean([s["second_difference"] for s in sh])))
            ratios.append(float(np.mean([s["parabola_ratio"] for s in sh])))
            used += [label(r) for r in grp_n]
        g = group_label(key)
        if len(sizes) < th.min_sweep:
            why = f"{len(sizes)} sizes < {th.min_sweep}"
            if unfinished:
                why += f"; no peak of λ_1 (still rising at the end) for n_D = {sorted(unfinished)}"
            units[g] = (INCONCLUSIVE, {"n_data": sizes, "no_peak_n_data": sorted(unfinished),
                                       "why": why})
            continue
        ratio_defined = all(math.isfinite(x) for x in ratios)
        ok = _strictly_increasing(d2s) and (not ratio_defined or _strictly_increasing(ratios))
        units[g] = (HOLDS if ok else FAILS, {
            "n_data": sizes, "second_difference": d2s, "parabola_ratio": ratios,
            "ratio_used": ratio_defined,
            "why": f"second difference {[float(f'{x:.3g}') for x in d2s]} over n_D {sizes}, "
                   f"parabola ratio {[float(f'{x:.3g}') for x in ratios]}"})
    return combine("L9", units, thr, used, "cusp groups", "no record with a cusp slice")


# ============================================================================ [F] the essay


def evaluate_F1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F1: most Hessian eigenvalues (around 90 %) sit at or near zero.

    Per trained run on real (non-random) inputs: the final near-zero fraction |λ| ≤ eps·λ_1 from
    the exact spectrum (toy) or a spectral density / summary fraction (scale). Reading of
    "around 90 %": holds when the median over runs is ≥ f1_fraction; per-run fractions, min and
    median are in the statistic."""
    thr = {"eps": th.eps, "f1_fraction": th.f1_fraction}
    per, used = {}, []
    for r in records:
        if is_random_input(r) or experiment(r) == "predictions":
            continue
        f, src = near_zero(r, th)
        if f is not None:
            per[label(r)] = {"near_zero_fraction": f, "source": src}
            used.append(label(r))
    if not per:
        return Verdict("F1", INCONCLUSIVE, {}, thr, "no run with a spectrum or spectral density")
    fr = [v["near_zero_fraction"] for v in per.values()]
    med = float(np.median(fr))
    stat = {"median": med, "min": float(min(fr)), "max": float(max(fr)), "runs": per}
    return Verdict("F1", HOLDS if med >= th.f1_fraction else FAILS, stat, thr,
                   f"median near-zero fraction {med:.3g} over {len(fr)} runs "
                   f"(min {min(fr):.3g}, max {max(fr):.3g})", used)


def evaluate_F2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F2: critical points reached in high dimensions are almost all saddles.

    Runs: the width_sweep if any, else every Sagun run, with a final full spectrum (or summary
    lambda_min/lambda_max at scale). A run is a saddle when λ_min < −neg_tol·λ_1. Reading of
    "almost all": holds when the fraction of saddles is ≥ f2_saddle_fraction. The statistic
    gives each run's negative fraction and λ_min/λ_max."""
    thr = {"neg_tol": th.neg_tol, "f2_saddle_fraction": th.f2_saddle_fraction}
    def measured(r):
        s = r.summary or {}
        return spectrum(r) is not None or (s.get("lambda_min") is not None
                                           and s.get("lambda_max") is not None)

    pool = ([r for r in of_experiment(records, "width_sweep") if measured(r)]
            or [r for r in of_experiment(records, *SAGUN_EXPERIMENTS) if measured(r)])
    per, used = {}, []
    for r in pool:
        lam = spectrum(r)
        s = r.summary or {}
        if lam is not None:
            st = stats(lam, n_classes(r) or 2, th)
            lmin, lmax, negf = st["lambda_min"], st["lambda_max"], st["negative_fraction"]
            n = int(lam.size)
        else:
            lmin, lmax, negf, n = float(s["lambda_min"]), float(s["lambda_max"]), None, s.get("n_params")
        per[label(r)] = {"n_params": n, "negative_fraction": negf, "lambda_min": lmin,
                         "lambda_min_over_max": lmin / lmax if lmax else float("nan"),
                         "saddle": bool(lmin < -th.neg_tol * abs(lmax))}
        used.append(label(r))
    if not per:
        return Verdict("F2", INCONCLUSIVE, {}, thr, "no trained run with λ_min")
    frac = float(np.mean([v["saddle"] for v in per.values()]))
    return Verdict("F2", HOLDS if frac >= th.f2_saddle_fraction else FAILS,
                   {"saddle_fraction": frac, "runs": per}, thr,
                   f"{sum(v['saddle'] for v in per.values())} of {len(per)} runs have negative "
                   f"eigenvalues", used)


def log_volume_proxy(lam: np.ndarray, tau: float) -> float:
    """−½ Σ_{λ_i > τ} log λ_i: the log basin volume up to terms equal for every minimum."""
    lam = np.asarray(lam, float)
    return float(-0.5 * np.sum(np.log(lam[lam > tau])))


def evaluate_F3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F3: flatter minima occupy more volume and generalise better; status ``reported``.

    Runs with a final full spectrum and summary ``test_accuracy``, grouped by GROUP_KEYS minus
    lr (minima from different seeds and learning rates of one network and data set); per group
    of ≥ min_minima minima: the Spearman correlation between −½ Σ_{λ_i>τ} log λ_i and test
    accuracy, with its p-value. CLAIMS.md asks for the correlation to be reported, so no
    verdict is forced; a positive correlation is the claim's direction."""
    from scipy.stats import spearmanr

    thr = {"volume_tau": th.volume_tau, "min_minima": th.min_minima}
    rs = [r for r in records if spectrum(r) is not None
          and (r.summary or {}).get("test_accuracy") is not None]
    per, used = {}, []
    for key, grp in group_sweep(rs, ("lr",)).items():
        if len(grp) < th.min_minima:
            continue
        vol = [log_volume_proxy(spectrum(r), th.volume_tau) for r in grp]
        acc = [float(r.summary["test_accuracy"]) for r in grp]
        res = spearmanr(vol, acc)
        per[group_label(key)] = {"spearman": float(res.statistic), "p_value": float(res.pvalue),
                                 "log_volume": vol, "test_accuracy": acc}
        used += [label(r) for r in grp]
    if not per:
        return Verdict("F3", INCONCLUSIVE, {}, thr, NOT_MEASURED)
    return Verdict("F3", REPORTED, per, thr, "; ".join(
        f"Spearman {v['spearman']:.3g} (p={v['p_value']:.2g}, {len(v['log_volume'])} minima)"
        for v in per.values()), used)


def evaluate_F4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F4: Langevin dynamics spends more time in the flat part of a minimum valley.

    Records of experiment "langevin" whose summary holds ``flat_fraction`` (time fraction in the
    flat half), ``predicted_flat_fraction`` (the Boltzmann prediction ∝ exp(−L/T)) and
    ``flat_fraction_stderr`` (sampling standard error): holds when |measured − predicted| ≤
    langevin_sigmas × stderr and the predicted fraction exceeds ½ (the flat half is favoured)."""
    thr = {"langevin_sigmas": th.langevin_sigmas}
    units, used = {}, []
    for r in of_experiment(records, "langevin"):
        s = r.summary or {}
        if any(s.get(k) is None for k in ("flat_fraction", "predicted_flat_fraction",
                                          "flat_fraction_stderr")):
            continue
        m, p, se = (float(s[k]) for k in ("flat_fraction", "predicted_flat_fraction",
                                         "flat_fraction_stderr"))
        ok = abs(m - p) <= th.langevin_sigmas * se and p > 0.5
        units[label(r)] = (HOLDS if ok else FAILS, {
            "flat_fraction": m, "predicted": p, "stderr": se,
            "why": f"flat-half time {m:.3g} vs Boltzmann {p:.3g} ± {se:.2g}"})
        used.append(label(r))
    return combine("F4", units, thr, used, "runs", NOT_MEASURED)


# ============================================================================ Y: predictions


def _evaluate_prediction(cid: str, records: Sequence[Record], th: Thresholds) -> Verdict:
    """Yn: records of experiment "predictions" with summary["predictions"]["Yn"] =
    {"residual", "tolerance", "passed"} (or a list of such checks, e.g. one symbolic and one
    numeric; "proved" is read as "passed"). A check with a residual and a tolerance holds when
    |residual| ≤ tolerance, recomputed here (a record whose own flag disagrees is named in the
    statistic); a check without them (a sympy proof) counts by its recorded flag. Holds when
    every check of every record holds."""
    units, used = {}, []
    for r in of_experiment(records, "predictions"):
        entry = ((r.summary or {}).get("predictions") or {}).get(cid)
        checks = entry if isinstance(entry, list) else [entry]
        for j, c in enumerate(checks):
            if not isinstance(c, dict):
                continue
            flag = c.get("passed", c.get("proved"))
            name = label(r) if len(checks) == 1 else f"{label(r)}[{c.get('check', j)}]"
            res, tol = num(c.get("residual")), num(c.get("tolerance"))
            if c.get("residual") is not None and c.get("tolerance") is not None:
                ok = res is not None and tol is not None and abs(res) <= tol
                stat = {"residual": c["residual"], "tolerance": c["tolerance"],
                        "why": f"residual {_fmt(c['residual'])} vs tolerance {_fmt(c['tolerance'])}"}
                if flag is not None and bool(flag) != ok:
                    stat["record_passed_disagrees"] = True
                    stat["why"] += " (the record's own flag disagrees)"
            elif flag is not None:
                ok = bool(flag)
                stat = {"passed_flag": ok, "why": f"recorded {'passed' if ok else 'failed'} "
                                                  "(no residual: a symbolic check)"}
            else:
                continue
            units[name] = (HOLDS if ok else FAILS, stat)
            used.append(label(r))
    return combine(cid, units, {}, used, "prediction checks",
                   f"no predictions record holds {cid}")


def _prediction_evaluator(cid: str):
    def ev(records: Sequence[Record], th: Thresholds) -> Verdict:
        return _evaluate_prediction(cid, records, th)
    ev.__name__ = f"evaluate_{cid}"
    ev.__doc__ = _evaluate_prediction.__doc__.replace("Yn", cid)
    return ev


# ============================================================================ registry

CLAIM_TEXT = {
    "S1": "after training: a bulk at zero plus a few outliers",
    "S2": "wider nets add only to the mass at zero",
    "S3": "less separable data → larger top eigenvalues",
    "S4": "bulk + outliers under MSE too",
    "S5": "training drives eigenvalues to zero",
    "S6": "small non-zero gradient, small negative eigenvalues",
    "S7": "random inputs give a different spectrum",
    "S8": "outlier count vs n_c − 1 (reported)",
    "L1": "edge of stability across n_c − 1 directions",
    "L2": "the edge count follows n_c",
    "L3": "ρ_{n_c} → 0 as η shrinks, ρ_{n_c−1} stays",
    "L4": "gradient concentrates in the top subspace at edge entry",
    "L5": "‖P_bulk g‖ ~ independent of η, ‖P_top g‖ grows as η shrinks",
    "L6": "on the edge, learning happens in the bulk",
    "L7": "‖θ‖ changes by < 1 %",
    "L8": "gradient flow: peak λ_1 linear in n_D",
    "L9": "a cusp forms along h_1 as n_D grows",
    "F1": "most eigenvalues (~90 %) near zero",
    "F2": "critical points are saddles",
    "F3": "flatter minima generalise better (reported)",
    "F4": "Langevin favours flat regions",
    "Y1": "CE output Hessian diag(p) − ppᵀ, rank n_c − 1",
    "Y2": "GGN rank ≤ n_D(n_c − 1) (CE), n_D n_c (MSE)",
    "Y3": "logit-shift null directions (≥ m + 1)",
    "Y4": "ReLU rescaling symmetry: g ⟂ v, Hv → 0",
    "Y5": "GD on a quadratic: η* = 2/λ",
    "Y6": "one-step ΔL = η Σ d_i²(½ηλ_i − 1) + O(η³)",
    "Y7": "parameter counts",
    "Y8": "basin volume of a quadratic",
}

EVALUATORS: dict[str, Callable[[Sequence[Record], Thresholds], Verdict]] = {
    "S1": evaluate_S1, "S2": evaluate_S2, "S3": evaluate_S3, "S4": evaluate_S4,
    "S5": evaluate_S5, "S6": evaluate_S6, "S7": evaluate_S7, "S8": evaluate_S8,
    "L1": evaluate_L1, "L2": evaluate_L2, "L3": evaluate_L3, "L4": evaluate_L4,
    "L5": evaluate_L5, "L6": evaluate_L6, "L7": evaluate_L7, "L8": evaluate_L8,
    "L9": evaluate_L9,
    "F1": evaluate_F1, "F2": evaluate_F2, "F3": evaluate_F3, "F4": evaluate_F4,
    **{f"Y{i}": _prediction_evaluator(f"Y{i}") for i in range(1, 9)},
}
CLAIM_IDS = tuple(EVALUATORS)


def _as_records(records: Iterable[Record | str | Path]) -> list[Record]:
    return [r if isinstance(r, Record) else Record.load(r) for r in records]


def evaluate_claim(cid: str, records: Iterable[Record | str | Path],
                   thresholds: Thresholds = Thresholds()) -> Verdict:
    """The verdict of one claim id (e.g. "L1") on the given records (or record paths)."""
    key = cid.strip().upper()
    if key not in EVALUATORS:
        raise UsageError(f"unknown claim id {cid!r}; known ids: {', '.join(CLAIM_IDS)}")
    return EVALUATORS[key](_as_records(records), thresholds)


def evaluate(records: Iterable[Record | str | Path], thresholds: Thresholds = Thresholds(),
             only: Sequence[str] | None = None) -> list[Verdict]:
    """Verdicts of every claim (or of ``only``) on the given records, in CLAIMS.md order."""
    recs = _as_records(records)
    ids = CLAIM_IDS if only is None else list(only)
    return [evaluate_claim(c, recs, thresholds) for c in ids]


def load_records(paths: Iterable[str | Path], warn: Callable[[str], None] | None = None) -> list[Record]:
    """Every record under ``paths``; a record with a truncated last telemetry line is loaded
    without that line (and ``warn`` is told)."""
    from simlab.record import find_records

    out = []
    for p in find_records(paths):
        try:
            out.append(Record.load(p))
        except RecordError:
            out.append(Record.load(p, drop_truncated=True))
            if warn:
                warn(f"{p}: dropped a truncated last telemetry line")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m simlab claims RUN_DIR... [--out DIR] [--only IDS] [--threshold NAME=VALUE]``
    (argv: the arguments after ``claims``); see :mod:`simlab.claims_cli`."""
    from simlab.claims_cli import main as cli_main

    return cli_main(argv)
