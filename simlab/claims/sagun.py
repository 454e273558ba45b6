"""[S] Sagun, Bottou, LeCun 2016: S1–S8 on full spectra (toy) and what the scale regime has.

Every evaluator sets aside invalid runs (:func:`readers.validity`) with their reason, and every
verdict states the ‖g‖ of the points it was measured at (Sagun stopped at ‖g‖ ≈ 1e−4)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import (FAILS, HOLDS, INCONCLUSIVE, REPORTED, Thresholds, Verdict,
                                   combine, fmt, strictly_increasing, with_excluded)
from simlab.record import Record


# Sagun et al. stopped gradient descent at ‖g‖ ≈ 1e-4: the runs that reached it are counted in
# every S verdict's reason (CLAIMS.md: "the record says when it was not")
SAGUN_GRAD_TOL = 1e-4


# config fields that change what a record keeps about a run, not the trajectory itself
BOOKKEEPING = ("experiment", "telemetry_every", "checkpoint_every", "snapshot_every",
               "dense_every", "k", "max_steps")


def one_per_trajectory(records: Iterable[Record]) -> list[Record]:
    """The records less repeats of one trajectory: runs whose configs differ only in
    :data:`BOOKKEEPING` fields and that stopped at the same step with the same final loss are
    one GD run stored under several experiments (the near-critical std-0.5 blob runs of
    sagun_critical, sagun_width and sagun_std stop at ‖g‖ ≤ 1e-4 before any cap); the first is
    kept, so a pool over experiments counts each run once. A record without its step count or
    final loss is always kept."""
    seen, out = set(), []
    for r in records:
        cfg = {k: v for k, v in (r.config or {}).items() if k not in BOOKKEEPING}
        s = r.summary or {}
        key = (json.dumps(cfg, sort_keys=True, default=str), s.get("steps"), s.get("final_loss"))
        if None in key[1:]:  # no step count or final loss: nothing says it repeats another run
            out.append(r)
        elif key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _sagun(records: Sequence[Record], *names: str) -> tuple[list[Record], dict[str, str]]:
    return rd.split_valid(one_per_trajectory(rd.distinct(
        rd.of_experiment(records, *(names or rd.SAGUN_EXPERIMENTS)))))


def critical_note(rs: Sequence[Record]) -> str:
    """Where runs were measured: their ‖g‖ range and how many reached Sagun's ‖g‖ ≤ 1e-4, e.g.
    "at ‖g‖ 9.9e-05…0.0031 (18 runs); ‖g‖ ≤ 1e-4 in 15 of 18"."""
    gs = [g for r in rs if (g := rd.grad_norm(r)) is not None]
    note = rd.grad_note(rs)
    if not gs:
        return note
    return f"{note}; ‖g‖ ≤ {SAGUN_GRAD_TOL:g} in {sum(g <= SAGUN_GRAD_TOL for g in gs)} of {len(gs)}"


def critical_tally(units: dict, rs: Sequence[Record]) -> str:
    """How the per-run units at Sagun's ‖g‖ ≤ 1e-4 came out, e.g. "at ‖g‖ ≤ 1e-4: 21 holds" or
    "at ‖g‖ ≤ 1e-4: 9 holds, 6 fails"; "" when no unit's run reached it."""
    by = {rd.label(r): rd.grad_norm(r) for r in rs}
    got = [units[k][0] for k, g in by.items() if k in units and g is not None and g <= SAGUN_GRAD_TOL]
    if not got:
        return ""
    return f"at ‖g‖ ≤ {SAGUN_GRAD_TOL:g}: " + ", ".join(
        f"{got.count(st)} {st}" for st in (HOLDS, FAILS, INCONCLUSIVE) if got.count(st))


def _at_g(v: Verdict, runs: Sequence[Record], units: dict | None = None) -> Verdict:
    """The verdict with the ‖g‖ of the runs it used stated in its reason, how many of them
    reached Sagun's ‖g‖ ≤ 1e-4 and, for per-run ``units``, how those came out."""
    used = set(v.runs)
    rs = [r for r in runs if rd.label(r) in used]
    if not rs:
        return v
    tally = critical_tally(units, rs) if units else ""
    return dataclasses.replace(v, reason=f"{v.reason} ({critical_note(rs)}"
                                         + (f"; {tally})" if tally else ")"))


def _bulk_outlier_unit(r: Record, th: Thresholds) -> tuple[str, dict]:
    """S1's rule on one run's final full spectrum."""
    lam = rd.spectrum(r)
    nc = rd.n_classes(r)
    if lam is None or nc is None:
        return INCONCLUSIVE, {"why": "no full final spectrum or n_classes"}
    s = rd.stats(lam, nc, th)
    ok = s["near_zero_fraction"] >= th.near_zero_min and s["gap_ratio"] >= th.gap
    return (HOLDS if ok else FAILS), {
        "near_zero_fraction": s["near_zero_fraction"], "gap_ratio": s["gap_ratio"],
        "gap_index": s["gap_index"], "outlier_count": s["outlier_count"], "n": int(lam.size),
        "grad_norm": rd.grad_norm(r),
        "why": f"near-zero {s['near_zero_fraction']:.3g} (≥ {th.near_zero_min}), gap "
               f"λ_{s['gap_index']}/λ_{s['gap_index'] + 1} = {s['gap_ratio']:.3g} (≥ {th.gap})"}


def evaluate_S1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S1: after training, a bulk at zero plus a few isolated outliers.

    Per valid run with a full final spectrum (Sagun experiments, cross-entropy, real or blob
    data: random inputs are S7's control and MSE is S4): near-zero fraction |λ| ≤ eps·λ_1 ≥ 0.5
    and some i ≤ 2 n_c with λ_i / max(λ_{i+1}, eps·λ_1) ≥ gap (the floor keeps the zero bulk
    from making every ratio infinite, as in :func:`simlab.spectrum.spectrum_stats`)."""
    thr = {"near_zero_min": th.near_zero_min, "eps": th.eps, "gap": th.gap}
    ok, ex = _sagun(records)
    rs = [r for r in ok if rd.loss_kind(r) == "ce" and not rd.is_random_input(r)
          and rd.spectrum(r) is not None]
    units = {rd.label(r): _bulk_outlier_unit(r, th) for r in rs}
    return _at_g(combine("S1", units, thr, map(rd.label, rs), "runs",
                         "no trained cross-entropy run with a full final spectrum", ex), rs, units)


def _seeds_short(by: dict, th: Thresholds, what: str) -> str | None:
    few = {k: len(v) for k, v in by.items() if len(v) < th.min_seeds}
    if not few:
        return None
    return (f"fewer than {th.min_seeds} seeds at {what} "
            + ", ".join(f"{k} ({n})" for k, n in few.items()) + ": one seed cannot decide a sweep")


def evaluate_S2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S2: growing the network adds only to the mass at zero; the outliers stay.

    Per width_sweep group (varying ``hidden``), widths ordered by parameter count, ≥ min_seeds
    seeds per width: the median near-zero fraction strictly increases with width, and the median
    outlier count (eigenvalues above the largest gap among i ≤ 2 n_c, 0 without a gap ≥ ``gap``)
    is the same at every width. Needs ≥ ``min_sweep`` widths."""
    thr = {"eps": th.eps, "gap": th.gap, "min_sweep": th.min_sweep, "min_seeds": th.min_seeds}
    ok, ex = _sagun(records, "width_sweep")
    rs = [r for r in ok if rd.spectrum(r) is not None]
    units, used = {}, []
    for key, grp in rd.group_sweep(rs, ("hidden",)).items():
        by_size: dict[int, list] = {}
        for r in grp:
            lam = rd.spectrum(r)
            by_size.setdefault(int(lam.size), []).append(rd.stats(lam, rd.n_classes(r) or 2, th))
        sizes = sorted(by_size)
        used += [rd.label(r) for r in grp]
        g = rd.group_label(key)
        if len(sizes) < th.min_sweep:
            units[g] = (INCONCLUSIVE, {"why": f"{len(sizes)} widths < {th.min_sweep}"})
            continue
        fr = [float(np.median([s["near_zero_fraction"] for s in by_size[n]])) for n in sizes]
        counts = [[s["outlier_count"] for s in by_size[n]] for n in sizes]
        med = [float(np.median(c)) for c in counts]
        stat = {"n_params": sizes, "near_zero_fraction": fr, "outlier_counts": counts,
                "median_outlier_count": med, "seeds": [len(by_size[n]) for n in sizes],
                "seeds_near_zero_fraction": [[x["near_zero_fraction"] for x in by_size[n]] for n in sizes],
                "why": f"median near-zero {[round(f, 3) for f in fr]} over n_params {sizes}; "
                       f"median outlier counts {med}"}
        short = _seeds_short({f"{n} params": by_size[n] for n in sizes}, th, "")
        if short:
            units[g] = (INCONCLUSIVE, {**stat, "why": f"{stat['why']}; {short}"})
            continue
        units[g] = (HOLDS if strictly_increasing(fr) and len(set(med)) == 1 else FAILS, stat)
    return _at_g(combine("S2", units, thr, used, "width sweeps",
                         "no width_sweep run with a full spectrum", ex), rs)


def _top_eig_samples(r: Record) -> list[float]:
    """Top eigenvalues of one fluctuation record: a list of many inits (summary or arrays
    ``top_eigenvalues``) or else the run's own final λ_1."""
    vals = rd.arrays(r).get("top_eigenvalues")
    if vals is None and r.summary:
        vals = r.summary.get("top_eigenvalues")
    if vals is not None:
        return [float(v) for v in np.ravel(vals)]
    lm = rd.lambda_max(r)
    return [lm] if lm is not None else []


def init_spread(records: Sequence[Record], like: Record | None = None) -> tuple[float | None, list[str]]:
    """Init-to-init spread of λ_1: the standard deviation (ddof=1) of the top eigenvalues of the
    fluctuation experiment, restricted to the records sharing ``like``'s regime, dataset and
    architecture fields when ``like`` is given and any match."""
    rs = rd.split_valid(rd.of_experiment(records, "fluctuation"))[0]
    if like is not None:
        keys = ("regime", "dataset", "arch", "hidden", "activation", "loss")
        same = [r for r in rs if all(rd.hashable(rd.field_value(r, k))
                                     == rd.hashable(rd.field_value(like, k)) for k in keys)]
        rs = same or rs
    vals = [v for r in rs for v in _top_eig_samples(r)]
    if len(vals) < 2:
        return None, []
    return float(np.std(vals, ddof=1)), [rd.label(r) for r in rs]


def evaluate_S3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S3: less separable data (larger blob std) → larger top eigenvalues.

    Per std_sweep group (varying ``blob_std``, ≥ ``min_sweep`` values, ≥ min_seeds seeds each):
    the median final λ_1 over seeds strictly increases with std, its total rise (largest std
    minus smallest) exceeds the init-to-init spread σ (std of λ_1 over the fluctuation
    experiment; without one, the pooled std over seeds at equal blob_std), and ‖θ‖ stays
    similar: max/min of the median final ‖θ‖ ≤ ``theta_similar``."""
    thr = {"min_sweep": th.min_sweep, "min_seeds": th.min_seeds, "theta_similar": th.theta_similar}
    ok, ex = _sagun(records, "std_sweep")
    rs = [r for r in ok if rd.lambda_max(r) is not None]
    units, used = {}, []
    for key, grp in rd.group_sweep(rs, ("blob_std",)).items():
        by_std = rd.by_value(grp, lambda r: None if rd.field_value(r, "blob_std") is None
                             else float(rd.field_value(r, "blob_std")))
        stds = list(by_std)
        g = rd.group_label(key)
        used += [rd.label(r) for r in grp]
        if len(stds) < th.min_sweep:
            units[g] = (INCONCLUSIVE, {"why": f"{len(stds)} blob stds < {th.min_sweep}"})
            continue
        lam = [float(np.median([rd.lambda_max(r) for r in by_std[s]])) for s in stds]
        norms = [[rd.final_theta_norm(r) for r in by_std[s]] for s in stds]
        norm = [float(np.median(n)) if all(v is not None for v in n) else None for n in norms]
        sigma, spread_runs = init_spread(records, grp[0])
        source = "fluctuation"
        if sigma is None:
            dev = [rd.lambda_max(r) - np.mean([rd.lambda_max(q) for q in by_std[s]])
                   for s in stds for r in by_std[s]]
            dof = sum(len(by_std[s]) - 1 for s in stds)
            sigma = float(np.sqrt(np.sum(np.square(dev)) / dof)) if dof > 0 else None
            source = "seeds"
        used += spread_runs
        stat = {"blob_std": stds, "lambda_1": lam, "theta_norm": norm, "init_spread": sigma,
                "spread_source": source, "seeds": [len(by_std[s]) for s in stds],
                "seeds_lambda_1": [[rd.lambda_max(r) for r in by_std[s]] for s in stds]}
        short = _seeds_short({f"std {s:g}": by_std[s] for s in stds}, th, "")
        if sigma is None or any(v is None for v in norm) or short:
            why = short or ("no init spread (no fluctuation run, one seed per std)"
                            if sigma is None else "‖θ‖ not recorded")
            units[g] = (INCONCLUSIVE, {**stat, "why": why})
            continue
        rise = lam[-1] - lam[0]
        norm_ratio = max(norm) / min(norm)
        good = strictly_increasing(lam) and rise > sigma and norm_ratio <= th.theta_similar
        stat.update(rise=rise, theta_ratio=norm_ratio,
                    why=f"median λ_1 {[round(v, 4) for v in lam]} over std {stds}, rise "
                        f"{rise:.3g} vs spread {sigma:.3g}, ‖θ‖ max/min {norm_ratio:.3g}")
        units[g] = (HOLDS if good else FAILS, stat)
    return _at_g(combine("S3", units, thr, used, "std sweeps",
                         "no std_sweep run with a top eigenvalue", ex), rs)


def evaluate_S4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S4: the bulk + outlier structure under MSE: S1's rule on every valid run with loss "mse"
    (the ``mse`` experiment, or any Sagun run whose config says loss="mse")."""
    thr = {"near_zero_min": th.near_zero_min, "eps": th.eps, "gap": th.gap}
    ok, ex = _sagun(records)
    rs = [r for r in ok if rd.loss_kind(r) == "mse" and rd.spectrum(r) is not None]
    units = {rd.label(r): _bulk_outlier_unit(r, th) for r in rs}
    return _at_g(combine("S4", units, thr, map(rd.label, rs), "MSE runs",
                         "no MSE run with a full spectrum", ex), rs, units)


def evaluate_S5(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S5: training drives eigenvalues to zero: per valid run (one per trajectory) holding both
    the initial and the final full spectrum, near-zero fraction (|λ| ≤ eps·λ_1, each with its
    own λ_1) at the end > at initialisation."""
    thr = {"eps": th.eps}
    ok, ex = rd.split_valid(one_per_trajectory(r for r in rd.distinct(records)
                                                if rd.spectrum(r, "init") is not None))
    units, used = {}, []
    for r in ok:
        lam0, lam1 = rd.spectrum(r, "init"), rd.spectrum(r)
        if lam1 is None:
            continue
        nc = rd.n_classes(r) or 2
        f0 = rd.stats(lam0, nc, th)["near_zero_fraction"]
        f1 = rd.stats(lam1, nc, th)["near_zero_fraction"]
        units[rd.label(r)] = (HOLDS if f1 > f0 else FAILS, {
            "near_zero_init": f0, "near_zero_final": f1, "grad_norm": rd.grad_norm(r),
            "why": f"near-zero fraction {f0:.3g} at init → {f1:.3g} after training"})
        used.append(rd.label(r))
    return _at_g(combine("S5", units, thr, used, "runs",
                         "no run with both initial and final spectra", ex), ok, units)


def lambda_min_max(r: Record) -> tuple[float | None, float | None]:
    """(λ_min, λ_1) at the end: the full spectrum, else summary lambda_min / lambda_max."""
    lam = rd.spectrum(r)
    if lam is not None:
        return float(lam[0]), float(lam[-1])
    s = r.summary or {}
    return rd.num(s.get("lambda_min")), rd.num(s.get("lambda_max"))


def evaluate_S6(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S6: training stops at a small non-zero gradient with small negative eigenvalues.

    Per valid Sagun run with a final ‖g‖ and λ_min, λ_1, judged only at near-critical points
    (‖g‖ ≤ near_critical; others are inconclusive units): ‖g‖ > 0, λ_min < −eps·λ_1 (negative
    beyond the near-zero band) and |λ_min| ≤ neg_ratio·λ_1."""
    thr = {"near_critical": th.near_critical, "eps": th.eps, "neg_ratio": th.neg_ratio}
    ok, ex = _sagun(records)
    units, used = {}, []
    for r in ok:
        g = rd.grad_norm(r)
        lmin, lmax = lambda_min_max(r)
        if g is None or lmin is None or lmax is None:
            continue
        used.append(rd.label(r))
        ratio = abs(lmin) / lmax if lmax else float("nan")
        stat = {"grad_norm": g, "lambda_min": lmin, "lambda_max": lmax, "ratio": ratio,
                "why": f"‖g‖ = {g:.3g}, λ_min = {lmin:.3g}, |λ_min|/λ_1 = {ratio:.3g}"}
        if g > th.near_critical:
            units[rd.label(r)] = (INCONCLUSIVE, {**stat, "why": f"not near-critical: ‖g‖ = "
                                                 f"{g:.2g} > {th.near_critical:g}"})
            continue
        good = g > 0 and lmin < -th.eps * abs(lmax) and abs(lmin) <= th.neg_ratio * lmax
        units[rd.label(r)] = (HOLDS if good else FAILS, stat)
    v = combine("S6", units, thr, used, "runs", "no Sagun run with a final gradient norm and λ_min",
                ex)
    if units and all(s == INCONCLUSIVE for s, _ in units.values()):
        v = dataclasses.replace(v, reason=with_excluded(
            f"no near-critical run (‖g‖ ≤ {th.near_critical:g}) among {len(units)}", v.excluded))
    return _at_g(v, ok, units)


def evaluate_S7(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S7: random inputs give a different spectrum than real data.

    Each valid random-input run (dataset name contains "random") is matched with the real-data
    runs of the Sagun experiments sharing its group keys except dataset and n_data. It differs
    when the outlier counts differ (a discrete difference, no spread needed) or |Δλ_1| (random
    minus the mean of the matches) exceeds the init spread σ (fluctuation experiment for that
    architecture, else the std over seeds of the matched real runs). Equal counts and no σ →
    inconclusive."""
    thr = {"gap": th.gap, "eps": th.eps}
    sag, ex = _sagun(records)
    randoms = [r for r in sag if rd.is_random_input(r) and rd.lambda_max(r) is not None]
    keys = [k for k in rd.GROUP_KEYS if k not in ("dataset", "n_data")]
    units, used, seen = {}, [], []
    for rr in randoms:
        match = [r for r in sag if not rd.is_random_input(r) and rd.lambda_max(r) is not None
                 and all(rd.hashable(rd.field_value(r, k)) == rd.hashable(rd.field_value(rr, k))
                         for k in keys)]
        if not match:
            units[rd.label(rr)] = (INCONCLUSIVE, {"why": "no real-data run with the same network"})
            continue
        used += [rd.label(rr)] + [rd.label(r) for r in match]
        seen += [rr] + match

        def count(r):
            lam = rd.spectrum(r)
            return rd.stats(lam, rd.n_classes(r) or 2, th)["outlier_count"] if lam is not None else None

        c_rand, c_real = count(rr), sorted({c for r in match if (c := count(r)) is not None})
        l_rand, l_real = rd.lambda_max(rr), float(np.mean([rd.lambda_max(r) for r in match]))
        sigma, spread_runs = init_spread(records, match[0])
        if sigma is None and len(match) >= 2:
            sigma = float(np.std([rd.lambda_max(r) for r in match], ddof=1))
        used += spread_runs
        stat = {"outliers_random": c_rand, "outliers_real": c_real, "lambda_1_random": l_rand,
                "lambda_1_real": l_real, "init_spread": sigma}
        count_differs = c_rand is not None and bool(c_real) and c_rand not in c_real
        lam_differs = sigma is not None and abs(l_rand - l_real) > sigma
        why = (f"outliers {c_rand} vs {c_real}, λ_1 {l_rand:.3g} vs {l_real:.3g} "
               f"(spread {fmt(sigma)})")
        if count_differs or lam_differs:
            units[rd.label(rr)] = (HOLDS, {**stat, "why": why})
        elif sigma is None:
            units[rd.label(rr)] = (INCONCLUSIVE, {**stat, "why": why + "; no init spread"})
        else:
            units[rd.label(rr)] = (FAILS, {**stat, "why": why})
    return _at_g(combine("S7", units, thr, used, "random-input runs", "no random-input run", ex),
                 seen)


def evaluate_S8(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S8: Sagun's outlier count beside Lowell's n_c − 1, per valid run; status ``reported``.

    For every valid run with a full final spectrum or ρ telemetry, :func:`readers.s8_row`:
    ``sagun_outliers`` (eigenvalues above the largest gap among i ≤ 2 n_c, 0 without a gap ≥
    ``gap``), ``lowell_edge_count`` (number of i with median on-edge ρ_i ≥ rho_edge; None when
    the run never reached the edge), ``rho_gap_index`` and n_c − 1. No verdict is forced:
    CLAIMS.md lists this as a tension simlab measures."""
    thr = {"gap": th.gap, "rho_edge": th.rho_edge, "edge_rho": th.edge_rho}
    ok, ex = rd.split_valid(r for r in records if rd.n_classes(r) is not None and (
        rd.spectrum(r) is not None or any(p.get("rho") for p in r.telemetry)))
    per = {rd.label(r): rd.s8_row(r, th) for r in ok}
    if not per:
        return Verdict("S8", INCONCLUSIVE, {}, thr, with_excluded(
            "no valid run with a full spectrum or ρ telemetry", tuple(ex.items())), (), tuple(ex.items()))

    def show(x):
        return "–" if x is None else str(x)

    parts = [f"{k}: Sagun {show(v['sagun_outliers'])} / Lowell "
             f"{show(v['lowell_edge_count']) if v['reached_edge'] else 'off the edge'} "
             f"(n_c−1 = {v['n_c_minus_1']})" for k, v in list(per.items())[:3]]
    more = f" (+{len(per) - 3} more)" if len(per) > 3 else ""
    return _at_g(Verdict("S8", REPORTED, per, thr,
                         with_excluded("; ".join(parts) + more, tuple(ex.items())), list(per),
                         tuple(ex.items())), ok)
