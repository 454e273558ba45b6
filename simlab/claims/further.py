"""[F] the essay (F1–F4) and the analytic predictions checked in the toy regime (Y1–Y8)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.sagun import lambda_min_max
from simlab.claims.verdict import (FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, REPORTED,
                                   Thresholds, Verdict, combine, fmt, with_excluded)
from simlab.record import Record


def evaluate_F1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F1: most Hessian eigenvalues (around 90 %) sit at or near zero.

    Per valid run on real (non-random) inputs, the final near-zero fraction: from the exact
    spectrum (toy) at |λ| ≤ eps·λ_1, or (scale) from the run's SLQ density at the narrowest band
    |λ| ≤ ε_v·λ_1 (ε_v ≥ eps) that its probes × steps resolve within f1_validation of the exact
    fraction in the stored SLQ validation (:func:`readers.validated_density_near_zero`); a
    density whose settings resolve no band is set aside with its reason. Holds when the median
    over runs is ≥ f1_fraction; per-run fractions (and bands), min and median are in the
    statistic, and the reason states the bands the scale fractions were read at."""
    thr = {"eps": th.eps, "f1_fraction": th.f1_fraction, "f1_validation": th.f1_validation}
    ok, ex = rd.split_valid(r for r in rd.distinct(records) if not rd.is_random_input(r)
                            and rd.experiment(r) != "predictions"
                            and rd.near_zero(r, th)[0] is not None)
    per, used, unvalidated = {}, [], {}
    for r in ok:
        f, src = rd.near_zero(r, th)
        row = {"near_zero_fraction": f, "source": src, "band": th.eps}
        if src != "exact":
            val, why = rd.validated_density_near_zero(r, th)
            if val is None:
                unvalidated[rd.label(r)] = f"{why}; its near-zero mass at {th.eps:g}·λ_1, {f:.3g}, is not used"
                continue
            row = {**val, "source": "density", "estimator_note": why}
        per[rd.label(r)] = row
        used.append(rd.label(r))
    excluded = tuple(ex.items()) + tuple(unvalidated.items())
    if not per:
        why = ("no run with an exact spectrum or a validated spectral density" if unvalidated
               else "no run with a spectrum or spectral density")
        return Verdict("F1", INCONCLUSIVE, {}, thr, with_excluded(why, excluded), (), excluded)
    fr = [v["near_zero_fraction"] for v in per.values()]
    med = float(np.median(fr))
    by = {src: [v for v in per.values() if v["source"] == src] for src in ("exact", "density")}
    stat = {"median": med, "min": float(min(fr)), "max": float(max(fr)), "runs": per,
            "by_source": {src: {"n": len(rows), "median": float(np.median([v["near_zero_fraction"] for v in rows])),
                                "bands": sorted({v["band"] for v in rows})}
                          for src, rows in by.items() if rows}}
    parts = []
    if by["exact"]:
        parts.append(f"{len(by['exact'])} exact spectra at |λ| ≤ {th.eps:g}·λ_1 (median "
                     f"{stat['by_source']['exact']['median']:.3g})")
    for band in sorted({v["band"] for v in by["density"]}):
        rows = [v for v in by["density"] if v["band"] == band]
        notes = sorted({v["estimator_note"] for v in rows if "estimator_note" in v})
        parts.append(f"{len(rows)} SLQ densities at |λ| ≤ {band:g}·λ_1, the band their settings "
                     f"resolve (median {np.median([v['near_zero_fraction'] for v in rows]):.3g}): "
                     + " / ".join(notes))
    return Verdict("F1", HOLDS if med >= th.f1_fraction else FAILS, stat, thr, with_excluded(
        f"median near-zero fraction {med:.3g} over {len(fr)} runs (min {min(fr):.3g}, max "
        f"{max(fr):.3g}); " + "; ".join(parts), excluded), used, excluded)


def evaluate_F2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F2: critical points reached in high dimensions are almost all saddles.

    Runs: the width_sweep if any, else every Sagun run, valid, with λ_min and λ_1 at the end.
    Only near-critical points count (‖g‖ ≤ near_critical; others are inconclusive units). A run
    is a saddle when it has eigenvalues below −eps·λ_max (outside the near-zero band). Holds
    when the fraction of saddles among near-critical runs is ≥ f2_saddle_fraction; the statistic
    gives each run's count of such eigenvalues, λ_min/λ_max and ‖g‖."""
    thr = {"eps": th.eps, "near_critical": th.near_critical,
           "f2_saddle_fraction": th.f2_saddle_fraction}

    def measured(r):
        return None not in lambda_min_max(r)

    pool = ([r for r in rd.of_experiment(records, "width_sweep") if measured(r)]
            or [r for r in rd.of_experiment(records, *rd.SAGUN_EXPERIMENTS) if measured(r)])
    pool, ex = rd.split_valid(pool)
    per, far, used = {}, {}, []
    for r in pool:
        lmin, lmax = lambda_min_max(r)
        lam = rd.spectrum(r)
        g = rd.grad_norm(r)
        n_neg = int(np.sum(lam < -th.eps * abs(lmax))) if lam is not None else None
        row = {"n_params": int(lam.size) if lam is not None else (r.summary or {}).get("n_params"),
               "negative_count": n_neg, "lambda_min": lmin, "grad_norm": g,
               "lambda_min_over_max": lmin / lmax if lmax else float("nan"),
               "saddle": bool(lmin < -th.eps * abs(lmax))}
        used.append(rd.label(r))
        if g is None or g > th.near_critical:
            far[rd.label(r)] = row
        else:
            per[rd.label(r)] = row
    note = rd.grad_note(pool)
    if not per:
        why = (f"no near-critical run (‖g‖ ≤ {th.near_critical:g}); measured {note}" if far
               else "no trained run with λ_min")
        return Verdict("F2", INCONCLUSIVE, {"not_near_critical": far}, thr,
                       with_excluded(why, tuple(ex.items())), used, tuple(ex.items()))
    frac = float(np.mean([v["saddle"] for v in per.values()]))
    near = [r for r in pool if rd.label(r) in per]
    return Verdict("F2", HOLDS if frac >= th.f2_saddle_fraction else FAILS,
                   {"saddle_fraction": frac, "runs": per, "not_near_critical": far}, thr,
                   with_excluded(f"{sum(v['saddle'] for v in per.values())} of {len(per)} "
                                 f"near-critical runs have eigenvalues below −{th.eps:g}·λ_1 "
                                 f"({rd.grad_note(near)}; {len(far)} runs not near-critical)",
                                 tuple(ex.items())), used, tuple(ex.items()))


def log_volume_proxy(lam: np.ndarray, tau: float) -> float:
    """−½ Σ_{λ_i > τ} log λ_i: the log basin volume up to terms equal for every minimum."""
    lam = np.asarray(lam, float)
    return float(-0.5 * np.sum(np.log(lam[lam > tau])))


def evaluate_F3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F3: flatter minima occupy more volume and generalise better; status ``reported``.

    Valid runs with a final full spectrum and summary ``test_accuracy``, grouped by GROUP_KEYS
    minus lr (minima from different seeds and learning rates of one network and data set); per
    group of ≥ min_minima minima: the Spearman correlation between −½ Σ_{λ_i>τ} log λ_i and test
    accuracy, with its p-value. CLAIMS.md asks for the correlation to be reported, so no
    verdict is forced; a positive correlation is the claim's direction."""
    from scipy.stats import spearmanr

    thr = {"volume_tau": th.volume_tau, "min_minima": th.min_minima}
    rs, ex = rd.split_valid(r for r in rd.distinct(records) if rd.spectrum(r) is not None
                            and (r.summary or {}).get("test_accuracy") is not None)
    per, used = {}, []
    for key, grp in rd.group_sweep(rs, ("lr",)).items():
        if len(grp) < th.min_minima:
            continue
        vol = [log_volume_proxy(rd.spectrum(r), th.volume_tau) for r in grp]
        acc = [float(r.summary["test_accuracy"]) for r in grp]
        res = spearmanr(vol, acc)
        per[rd.group_label(key)] = {"spearman": float(res.statistic), "p_value": float(res.pvalue),
                                    "log_volume": vol, "test_accuracy": acc}
        used += [rd.label(r) for r in grp]
    if not per:
        return Verdict("F3", INCONCLUSIVE, {}, thr, NOT_MEASURED, (), tuple(ex.items()))
    return Verdict("F3", REPORTED, per, thr, "; ".join(
        f"Spearman {v['spearman']:.3g} (p={v['p_value']:.2g}, {len(v['log_volume'])} minima)"
        for v in per.values()), used, tuple(ex.items()))


def evaluate_F4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """F4: Langevin dynamics spends more time in the flat part of a minimum valley.

    Records of experiment "langevin" whose summary holds ``flat_fraction`` (time fraction in the
    flat half), ``predicted_flat_fraction`` (the Boltzmann prediction ∝ exp(−L/T)) and
    ``flat_fraction_stderr`` (sampling standard error): holds when |measured − predicted| ≤
    langevin_sigmas × stderr and the predicted fraction exceeds ½ (the flat half is favoured)."""
    thr = {"langevin_sigmas": th.langevin_sigmas}
    keys = ("flat_fraction", "predicted_flat_fraction", "flat_fraction_stderr")
    units, used = {}, []
    for r in rd.of_experiment(records, "langevin"):
        s = r.summary or {}
        if any(s.get(k) is None for k in keys):
            continue
        m, p, se = (float(s[k]) for k in keys)
        ok = abs(m - p) <= th.langevin_sigmas * se and p > 0.5
        units[rd.label(r)] = (HOLDS if ok else FAILS, {
            "flat_fraction": m, "predicted": p, "stderr": se,
            "why": f"flat-half time {m:.3g} vs Boltzmann {p:.3g} ± {se:.2g}"})
        used.append(rd.label(r))
    return combine("F4", units, thr, used, "runs", NOT_MEASURED)


def _evaluate_prediction(cid: str, records: Sequence[Record], th: Thresholds) -> Verdict:
    """Yn: records of experiment "predictions" with summary["predictions"]["Yn"] =
    {"residual", "tolerance", "passed"} (or a list of such checks, e.g. one symbolic and one
    numeric; "proved" is read as "passed"). A check with a residual and a tolerance holds when
    |residual| ≤ tolerance, recomputed here (a record whose own flag disagrees is named in the
    statistic); a check without them (a sympy proof) counts by its recorded flag. Holds when
    every check of every record holds."""
    units, used = {}, []
    for r in rd.of_experiment(records, "predictions"):
        entry = ((r.summary or {}).get("predictions") or {}).get(cid)
        checks = entry if isinstance(entry, list) else [entry]
        for j, c in enumerate(checks):
            if not isinstance(c, dict):
                continue
            flag = c.get("passed", c.get("proved"))
            name = rd.label(r) if len(checks) == 1 else f"{rd.label(r)}[{c.get('check', j)}]"
            res, tol = rd.num(c.get("residual")), rd.num(c.get("tolerance"))
            if c.get("residual") is not None and c.get("tolerance") is not None:
                ok = res is not None and tol is not None and abs(res) <= tol
                stat = {"residual": c["residual"], "tolerance": c["tolerance"],
                        "why": f"residual {fmt(c['residual'])} vs tolerance {fmt(c['tolerance'])}"}
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
            used.append(rd.label(r))
    return combine(cid, units, {}, used, "prediction checks", f"no predictions record holds {cid}")


def prediction_evaluator(cid: str):
    def ev(records: Sequence[Record], th: Thresholds) -> Verdict:
        return _evaluate_prediction(cid, records, th)
    ev.__name__ = f"evaluate_{cid}"
    ev.__doc__ = _evaluate_prediction.__doc__.replace("Yn", cid)
    return ev

