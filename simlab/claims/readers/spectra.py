"""Spectra and their Sagun statistics, spectral densities, the gradient norm at the end."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from simlab.claims.readers.records import arrays, n_classes, num, regime
from simlab.claims.verdict import Thresholds
from simlab.record import Record, read_json_object

# ============================================================================ spectra



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
    """Sagun statistics of a full spectrum (simlab.spectrum.spectrum_stats with th's numbers):
    near-zero fraction, outlier gap ratio and index, outlier count, λ_min, negative fraction."""
    from simlab.spectrum import spectrum_stats

    out = spectrum_stats(lam, n_classes=nc, eps=th.eps, gap=th.gap, zero_tol=th.neg_tol)
    out["outlier_count"] = outlier_count(lam, nc, th)
    return out


def outlier_count(lam: np.ndarray, nc: int, th: Thresholds) -> int:
    """Sagun's outlier count (CLAIMS.md S1): the largest i ≤ 2 n_c with λ_i / λ_{i+1} ≥ gap
    (descending; λ_{i+1} floored at eps·λ_1 so the bulk at zero is a finite gap), 0 when there
    is none. The largest such i, not the position of the largest ratio, which flips between
    seeds."""
    desc = np.sort(np.asarray(lam, dtype=np.float64))[::-1]
    if desc.size < 2 or desc[0] <= 0:
        return 0
    m = min(2 * nc, desc.size - 1)
    ratios = desc[:m] / np.maximum(desc[1:m + 1], th.eps * desc[0])
    hits = np.nonzero((desc[:m] > 0) & (ratios >= th.gap))[0]
    return int(hits[-1] + 1) if hits.size else 0


def density_near_zero(density: dict, lam_max: float, eps: float, estimator: str = "count") -> float | None:
    """Mass of a spectral density in |λ| ≤ eps·λ_max.

    ``{"nodes", "weights"}`` (stochastic Lanczos quadrature, ``n_vectors`` probes one after
    another): :func:`simlab.density.near_zero_mass` by ``estimator`` ("count": the summed
    weight of the nodes in the window; "cell": each node's weight spread over its cell).
    ``{"grid", "density"}``: the trapezoid CDF of the density, interpolated linearly at
    ±eps·λ_max, over the total mass."""
    if "nodes" in density and "weights" in density:
        from simlab.density import near_zero_mass

        f = near_zero_mass(density["nodes"], density["weights"], lam_max, eps,
                           n_vectors=int(density.get("n_vectors") or 1), estimator=estimator)
        return None if np.isnan(f) else f
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
    if s.get("near_zero_fraction") is not None and s.get("eps", 1e-3) == th.eps:
        return float(s["near_zero_fraction"]), "summary"
    return None, "none"


def estimator(r: Record) -> dict:
    """The spectral-density estimator's settings as the run recorded them: probes and steps
    (summary ``density``'s n_vectors/steps, else summary ``slq``)."""
    s = r.summary or {}
    dens = s.get("density") if isinstance(s.get("density"), dict) else {}
    est = dict(s.get("slq") or {})
    probes = dens.get("n_vectors", dens.get("probes", est.get("probes")))
    steps = dens.get("steps", est.get("steps"))
    return {"probes": None if probes is None else int(probes),
            "steps": None if steps is None else int(steps)}


def densities(r: Record) -> list[dict]:
    """Every SLQ node/weight density a record holds, each as {"density", "lambda_1", "probes",
    "steps", "where"}: the end-of-run one in summary.json (λ_1: :func:`lambda_max`) and each
    ``density_<p>x<s>.json`` re-measured from weights.pt (``python -m simlab scale
    --remeasure-density``; λ_1: its largest Ritz value at the final weights)."""
    s = r.summary or {}
    out = []
    dens = s.get("density") if isinstance(s.get("density"), dict) else None
    est = estimator(r)
    if dens is not None and "nodes" in dens and None not in est.values():
        out.append({"density": dens, "lambda_1": lambda_max(r), **est, "where": ""})
    path = getattr(r, "path", None)
    if path is not None and Path(path).is_dir():
        for f in sorted(Path(path).glob("density_*x*.json")):
            doc = read_json_object(f)
            d, st = doc.get("density"), doc.get("settings") or {}
            if not isinstance(d, dict) or "nodes" not in d or None in (st.get("probes"), st.get("steps")):
                continue
            out.append({"density": d, "lambda_1": doc.get("lambda_1"), "probes": int(st["probes"]),
                        "steps": int(st["steps"]), "where": f" re-measured from weights.pt ({f.name})"})
    return out


def validated_density_near_zero(r: Record, th: Thresholds, validation=None) -> tuple[dict | None, str]:
    """F1 at scale: the near-zero fraction of the record's finest-resolving SLQ density at the
    narrowest band |λ| ≤ ε·λ_1 (ε ≥ th.eps) its settings resolve within ``th.f1_validation`` of
    the exact fraction in the stored validation (:func:`simlab.density.validated_band`, measured
    on the bridge CNN by ``python -m simlab.paper.slq_validation``; ``validation``: another such file).

    The densities are those of :func:`densities` (the run's own and any re-measured at other
    settings); the one whose validated band is narrowest is read (on a tie, the most probes ×
    steps), and the reason names its settings, file and band.

    Returns ({"near_zero_fraction", "band", "estimator", "max_abs_error", "probes", "steps",
    "density_source"}, why) or (None, why) when the record has no node/weight density or no
    density's settings resolve a band."""
    from simlab.density import validated_band

    found = [d for d in densities(r) if d["lambda_1"] is not None]
    if not found:
        est = estimator(r)
        where = f"{est['probes'] or '?'} probe(s) × {est['steps'] or '?'} Lanczos steps"
        return None, f"no SLQ nodes/weights with their settings and λ_1 in the record ({where})"
    scored = []
    for d in found:
        val = validated_band(d["probes"], d["steps"], eps=th.eps, tolerance=th.f1_validation,
                             path=validation)
        if val is not None:
            scored.append((val["band"], -d["probes"] * d["steps"], len(scored), d, val))
    if not scored:
        where = "; ".join(f"{d['probes']} probe(s) × {d['steps']} Lanczos steps{d['where']}" for d in found)
        return None, (f"spectral density from an unvalidated estimator ({where}): no band "
                      f"|λ| ≤ ε·λ_1 with ε ≥ {th.eps:g} is resolved within {th.f1_validation} "
                      f"by these settings in the SLQ validation")
    *_, d, val = min(scored, key=lambda t: t[:3])
    where = f"{d['probes']} probe(s) × {d['steps']} Lanczos steps{d['where']}"
    f = density_near_zero(d["density"], float(d["lambda_1"]), val["band"], val["estimator"])
    if f is None:
        return None, f"empty SLQ density ({where})"
    why = (f"SLQ {where}, validated for |λ| ≤ {val['band']:g}·λ_1 ({val['estimator']} estimator, "
           f"max error {val['max_abs_error']:.3f} on the {val['net']})")
    return {"near_zero_fraction": f, **{k: val[k] for k in ("band", "estimator", "max_abs_error")},
            "probes": d["probes"], "steps": d["steps"],
            "density_source": d["where"].strip() or "summary.json"}, why


def final_accuracy(r: Record) -> float | None:
    """Training accuracy where the run ended (summary ``final_accuracy``, else ``accuracy``);
    1 means the net separates its training data."""
    s = r.summary or {}
    return num(s.get("final_accuracy", s.get("accuracy")))


def final_theta_norm(r: Record) -> float | None:
    s = r.summary or {}
    if s.get("theta_norm") is not None:
        return float(s["theta_norm"])
    for p in reversed(r.telemetry):
        if p.get("theta_norm") is not None:
            return float(p["theta_norm"])
    return None


def grad_norm(r: Record) -> float | None:
    """‖g‖ where the run ended: summary final_grad_norm, else the last telemetry grad_norm."""
    g = num((r.summary or {}).get("final_grad_norm"))
    if g is None:
        gs = [v for p in r.telemetry if (v := num(p.get("grad_norm"))) is not None]
        g = gs[-1] if gs else None
    return g


def receding(r: Record, rise: float = 1.5) -> str | None:
    """Why a run that ended away from a critical point got no closer, where its telemetry shows
    it: ‖g‖ was smallest in the run's first half, or in its first three quarters and has since
    risen by ≥ ``rise``× (a dip in the last quarter may be an oscillation's), while the loss kept
    falling. GD is then not closing in
    on a critical point (training on would not get there: it moves on, downhill, past any). None
    when the telemetry does not show that (e.g. ‖g‖ still falling at the end: a run stopped too
    early)."""
    pts = [(p.get("step"), g, loss) for p in r.telemetry
           if (g := num(p.get("grad_norm"))) is not None and (loss := num(p.get("loss"))) is not None]
    if len(pts) < 3 or any(not isinstance(s, int) for s, _, _ in pts):
        return None
    i = min(range(len(pts)), key=lambda j: pts[j][1])
    (s0, g0, l0), (s1, g1, l1) = pts[i], pts[-1]
    if g0 <= 0 or not l1 < l0 or not (2 * s0 <= s1 or (g1 >= rise * g0 and 4 * s0 <= 3 * s1)):
        return None
    return (f"smallest {g0:.2g} at iteration {s0} of {s1}, {g1:.2g} at the end, while the loss fell "
            f"{l0:.3g} → {l1:.3g}: no closer to a critical point in its last {s1 - s0} iterations")


def grad_note(records: Iterable[Record]) -> str:
    """'at ‖g‖ = x' or 'at ‖g‖ a…b (n runs)': where the S verdicts were measured."""
    gs = [g for r in records if (g := grad_norm(r)) is not None]
    if not gs:
        return "‖g‖ not recorded"
    if len(gs) == 1:
        return f"at ‖g‖ = {gs[0]:.2g}"
    return f"at ‖g‖ {min(gs):.2g}…{max(gs):.2g} ({len(gs)} runs)"


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
