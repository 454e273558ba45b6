"""[S] Sagun, Bottou, LeCun 2016: S1–S8 on full spectra (toy regime).

Scope (CLAIMS.md): runs of Sagun's protocol (not Lowell's edge runs, even where an experiment
shares a name) at a near-critical point, ‖g‖ ≤ near_critical; the others are ``not applicable
— not near-critical (‖g‖ = x)``. S5 and S7 have their own scopes. Each verdict is the map over
settings, each setting the median over its seeds, and states the ‖g‖ it was measured at
(Sagun stopped at ‖g‖ ≈ 1e−4)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims import settings as st
from simlab.claims.verdict import (FAILS, HOLDS, INCONCLUSIVE, REPORTED, Setting, Thresholds,
                                   Verdict, claim_map, thresholds_of)
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


def critical_note(rs: Sequence[Record]) -> str:
    """Where runs were measured: their ‖g‖ range and how many reached Sagun's ‖g‖ ≤ 1e-4, e.g.
    "at ‖g‖ 9.9e-05…0.0031 (18 runs); ‖g‖ ≤ 1e-4 in 15 of 18"."""
    gs = [g for r in rs if (g := rd.grad_norm(r)) is not None]
    note = rd.grad_note(rs)
    if not gs:
        return note
    return f"{note}; ‖g‖ ≤ {SAGUN_GRAD_TOL:g} in {sum(g <= SAGUN_GRAD_TOL for g in gs)} of {len(gs)}"


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


def lambda_min_max(r: Record) -> tuple[float | None, float | None]:
    """(λ_min, λ_1) at the end: the full spectrum, else summary lambda_min / lambda_max."""
    lam = rd.spectrum(r)
    if lam is not None:
        return float(lam[0]), float(lam[-1])
    s = r.summary or {}
    return rd.num(s.get("lambda_min")), rd.num(s.get("lambda_max"))


def _sagun(records: Sequence[Record], sc: st.Scope, *names: str) -> list[Record]:
    return sc.keep(one_per_trajectory(r for r in rd.distinct(
        rd.of_experiment(records, *(names or rd.SAGUN_EXPERIMENTS))) if rd.is_sagun(r)))


def near_critical(th: Thresholds):
    def check(r):
        g = rd.grad_norm(r)
        if g is None:
            return "no final ‖g‖"
        if g <= th.near_critical:
            return None
        why = rd.receding(r)
        return f"not near-critical: ‖g‖ = {g:.2g} (> {th.near_critical:g}{'; ' + why if why else ''})"
    return check


def newton_finished(r: Record) -> bool:
    """Whether the run reached its end point by the saddle-free Newton finish (schedule
    ``newton``), not by gradient descent."""
    return rd.field_value(r, "schedule") == "newton"


def by_gradient_descent(r: Record) -> str | None:
    """S6's scope: what GD leaves. A saddle-free Newton step, −|H|⁻¹g, goes downhill along
    every negative-curvature direction, so its end points are minima up to the damping and the
    stop, whatever GD would have left there; such a run is out of scope, with its λ_min/λ_1."""
    if not newton_finished(r):
        return None
    lmin, lmax = lambda_min_max(r)
    q = f" (λ_min/λ_1 = {lmin / lmax:.2g})" if lmin is not None and lmax else ""
    return ("reached by the saddle-free Newton finish, which descends along negative curvature: "
            f"it cannot show what GD leaves{q}")


def weight_layers(r: Record) -> int | None:
    """The number of weight layers L of a toy MLP with equal hidden widths h, from what its
    record states: n_params = (d_in + 1)h + (L − 2)(h + 1)h + (h + 1)n_c solved for L; None
    when a number is missing or L is not a whole number (not such a net)."""
    h, n_c = rd.field_value(r, "hidden"), rd.n_classes(r)
    d_in = (r.doc.get("data") or {}).get("input_dim")
    lam = rd.spectrum(r)
    n = int(lam.size) if lam is not None else (r.summary or {}).get("n_params")
    if not all(isinstance(x, int) and x > 0 for x in (h, n_c, d_in, n)):
        return None
    inner, rest = divmod(n - (d_in + 1) * h - (h + 1) * n_c, (h + 1) * h)
    return inner + 2 if rest == 0 and inner >= 0 else None


def weights_share(by_std: dict[float, list[Record]], lam_ratio: float) -> tuple[dict, str]:
    """S3's "weights as explanation", reported: from the first std to the last, |log| of the
    median λ_1 ratio ``lam_ratio`` (S3's own medians) against L·|log of the median ‖θ‖ ratio|
    (a net of L weight layers whose weights all scale by a factor a has its Hessian scaled by up
    to a^L). Sagun: "the norm of the weights are similar for all the cases, therefore the growth
    … can not solely be accounted for the growth in weights". Empty when ‖θ‖ or L is not
    recorded."""
    lo, hi = by_std[min(by_std)], by_std[max(by_std)]
    th = [[t for r in rs if (t := rd.final_theta_norm(r)) is not None] for rs in (lo, hi)]
    layers = {weight_layers(r) for r in lo + hi}
    if not all(th) or len(layers) != 1 or None in layers:
        return {}, ""
    (L,) = layers
    w_ratio = float(np.median(th[1]) / np.median(th[0]))
    log_lam, log_w = abs(math.log(lam_ratio)), L * abs(math.log(w_ratio))
    why = (f"; weights, reported: median ‖θ‖ ×{w_ratio:.3g}, L·|log| = {log_w:.3g} against "
           f"|log(λ_1 ratio)| = {log_lam:.3g}: the weights "
           + ("could account for the whole rise" if log_w >= log_lam else "cannot account for all of it"))
    return {"theta_ratio": w_ratio, "weight_layers": L, "log_lambda_ratio": log_lam,
            "weights_log": log_w}, why


def sweep_name(r: Record, swept: str) -> str:
    """A sweep's name in a verdict: the setting label of one of its runs less the swept field's
    token (``swept`` "h" or "std": ``width_std1_h10`` → ``width_std1``, ``newton_std1_h10`` →
    ``newton_h10``, ``sagun_width/std0.5_h10`` → ``sagun_width/std0.5``)."""
    label = rd.setting_label(r)
    return re.sub(rf"(?:(?<=[_/])|^){swept}[\d.]+(?:_|$)", "", label).rstrip("_/") or label


def has_spectrum(which: str = "final"):
    return lambda r: None if rd.spectrum(r, which) is not None else f"no full {which} spectrum"


def _with_g(v: Verdict, runs: Sequence[Record]) -> Verdict:
    """The verdict's reason with the ‖g‖ of the in-scope runs and how many reached 1e−4."""
    used = {name for s in v.settings for name, _, _ in s.seeds}
    rs = [r for r in runs if rd.label(r) in used]
    if not rs:
        return v
    import dataclasses
    return dataclasses.replace(v, reason=f"{v.reason} ({critical_note(rs)})")


def _s1_numbers(r: Record, th: Thresholds) -> dict:
    s = rd.stats(rd.spectrum(r), rd.n_classes(r) or 2, th)
    return {"near_zero_fraction": s["near_zero_fraction"], "outlier_count": s["outlier_count"],
            "grad_norm": rd.grad_norm(r), "n_params": int(rd.spectrum(r).size)}


def _s1(cid: str, records, th: Thresholds, keep) -> Verdict:
    sc = st.Scope()
    pool = [r for r in _sagun(records, sc) if keep(r)]
    runs = sc.gate(pool, near_critical(th), has_spectrum())
    sets = st.over_seeds(runs, lambda r: _s1_numbers(r, th),
                         lambda n: n["near_zero_fraction"] >= th.near_zero_min and n["outlier_count"] >= 1,
                         lambda m: f"near-zero {m['near_zero_fraction']:.3g} (≥ {th.near_zero_min:g}), "
                                   f"outlier count {m['outlier_count']:.3g} (gap ≥ {th.gap:g} at some "
                                   f"i ≤ 2n_c)", th)
    v = claim_map(cid, sets, sc.na, threshold=thresholds_of(th, "near_zero_min", "eps", "gap",
                                                             "near_critical"),
                  runs=sc.used, excluded=sc.excluded, none_reason="no Sagun run with a full spectrum")
    return _with_g(v, runs)


def evaluate_S1(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S1: after training, a bulk at zero plus a few isolated outliers: near-zero fraction
    (|λ| ≤ eps·λ_1) ≥ near_zero_min and an outlier gap λ_i/λ_{i+1} ≥ gap at some i ≤ 2 n_c
    (cross-entropy, real or blob data; random inputs are S7's and MSE S4's)."""
    return _s1("S1", records, th, lambda r: rd.loss_kind(r) == "ce" and not rd.is_random_input(r))


def evaluate_S4(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S4: S1's rule on Sagun-protocol MSE runs (Lowell's MSE class sweep is not Sagun's)."""
    return _s1("S4", records, th, lambda r: rd.loss_kind(r) == "mse")


def evaluate_S2(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S2: growing the network adds only to the mass at zero; the outliers stay.

    Per width sweep (near-critical runs with full spectra): Spearman correlation over all seeds
    of near-zero fraction with n_params > 0 with p < p_value, and every width's median outlier
    count within ± count_tolerance of the median over widths."""
    sc = st.Scope()
    runs = sc.gate(_sagun(records, sc, "width_sweep"), near_critical(th), has_spectrum())
    groups: dict[str, list[Record]] = {}
    for r in runs:
        cfg = {k: v for k, v in (r.config or {}).items() if k not in rd.BOOKKEEPING + ("hidden",)}
        groups.setdefault(str(sorted(cfg.items(), key=str)), []).append(r)
    sets = []
    for grp in groups.values():
        rows = [_s1_numbers(r, th) for r in grp]
        widths = sorted({n["n_params"] for n in rows})
        if len(widths) < th.min_sweep:
            for r in grp:
                sc.out(r, f"width sweep too small: {len(widths)} near-critical widths ({th.min_sweep} needed)")
            continue
        from scipy.stats import spearmanr
        rho, p = spearmanr([n["n_params"] for n in rows], [n["near_zero_fraction"] for n in rows])
        med = {w: float(np.median([n["outlier_count"] for n in rows if n["n_params"] == w])) for w in widths}
        centre = float(np.median(list(med.values())))
        stay = all(abs(c - centre) <= th.count_tolerance for c in med.values())
        grows = bool(rho > 0 and p < th.p_value)
        why = (f"Spearman(near-zero, n_params) = {rho:.3g} (p = {p:.2g}) over {len(rows)} runs, "
               f"median outlier counts {[med[w] for w in widths]} over n_params {widths}")
        sets.append(Setting(sweep_name(grp[0], "h") + " widths",
                            HOLDS if grows and stay else FAILS, why,
                            {"spearman": float(rho), "p": float(p), "outlier_counts": med,
                             "n_params": widths}, tuple((rd.label(r), None, n) for r, n in zip(grp, rows))))
    v = claim_map("S2", sets, sc.na, threshold=thresholds_of(th, "p_value", "count_tolerance", "eps",
                                                             "gap", "near_critical"),
                  runs=sc.used, excluded=sc.excluded, none_reason="no width_sweep run")
    return _with_g(v, runs)


def evaluate_S3(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S3: less separable data (larger blob std) → larger top eigenvalues.

    Over the non-separable stds (training accuracy < 1 at the end) of a std sweep, near-critical
    runs: median λ_1 rises with std by more than spread_factor × the init-to-init spread (the
    fluctuation experiment's std of λ_1). The weights' share is reported: log(λ_1 ratio)
    against L·|log(‖θ‖ ratio)|."""
    sc = st.Scope()
    pool = _sagun(records, sc, "std_sweep")

    def non_separable(r):
        acc = rd.final_accuracy(r)
        return None if acc is None or acc < 1 else f"separable: training accuracy {acc:.3g} at the end"

    runs = sc.gate(pool, non_separable, near_critical(th),
                   lambda r: None if rd.lambda_max(r) is not None else "no λ_1")
    groups: dict[str, dict[float, list[Record]]] = {}
    for r in runs:
        cfg = {k: v for k, v in (r.config or {}).items() if k not in rd.BOOKKEEPING + ("std",)}
        groups.setdefault(str(sorted(cfg.items(), key=str)), {}).setdefault(
            float(rd.field_value(r, "blob_std")), []).append(r)
    sets = []
    for by_std in groups.values():
        stds = sorted(by_std)
        if len(stds) < 2:
            for rs in by_std.values():
                for r in rs:
                    sc.out(r, f"std sweep too small: {len(stds)} near-critical non-separable std(s)")
            continue
        lam = [float(np.median([rd.lambda_max(r) for r in by_std[s]])) for s in stds]
        sigma, _ = init_spread(records, by_std[stds[0]][0])
        rise = lam[-1] - lam[0]
        if sigma is None:
            sets.append(Setting("std sweep", INCONCLUSIVE, f"median λ_1 {lam} over std {stds}; no "
                                "init-to-init spread (fluctuation experiment)", {"lambda_1": lam}))
            continue
        ok = rise > th.spread_factor * sigma
        share, share_why = weights_share(by_std, lam[-1] / lam[0])
        sets.append(Setting(sweep_name(by_std[stds[0]][0], "std") + " stds",
                            HOLDS if ok else FAILS,
                            f"median λ_1 {[round(x, 4) for x in lam]} over std {stds}: rise {rise:.3g} "
                            f"vs {th.spread_factor:g} × spread {sigma:.3g}{share_why}",
                            {"blob_std": stds, "lambda_1": lam, "rise": rise, "init_spread": sigma,
                             **share}))
    v = claim_map("S3", sets, sc.na, threshold=thresholds_of(th, "spread_factor", "near_critical"),
                  runs=sc.used, excluded=sc.excluded, none_reason="no std_sweep run")
    return _with_g(v, runs)


def evaluate_S5(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S5: training itself drives eigenvalues to zero: per setting, the median over seeds of
    (final − initial near-zero fraction) > 0, on runs that trained (near-critical, or stopped
    by the protocol's own rule: a target loss or ‖g‖ tolerance)."""
    sc = st.Scope()
    pool = sc.keep(one_per_trajectory(r for r in rd.distinct(records) if rd.is_sagun(r)))

    def trained(r):
        g = rd.grad_norm(r)
        why = (r.summary or {}).get("stop_reason")
        if (g is not None and g <= th.near_critical) or why in ("grad_tol", "target_loss",
                                                                "target_accuracy"):
            return None
        return f"did not train to its stop: {why or 'unknown stop'} at ‖g‖ = {g if g is None else f'{g:.2g}'}"

    runs = sc.gate(pool, has_spectrum("init"), has_spectrum(), trained)

    def numbers(r):
        nc = rd.n_classes(r) or 2
        f0 = rd.stats(rd.spectrum(r, "init"), nc, th)["near_zero_fraction"]
        f1 = rd.stats(rd.spectrum(r), nc, th)["near_zero_fraction"]
        return {"change": f1 - f0, "near_zero_init": f0, "near_zero_final": f1}

    sets = st.over_seeds(runs, numbers, lambda n: n["change"] > 0, lambda m: (
        f"near-zero fraction {m['near_zero_init']:.3g} → {m['near_zero_final']:.3g} "
        f"(change {m['change']:+.3g})"), th)
    v = claim_map("S5", sets, sc.na, threshold=thresholds_of(th, "eps", "near_critical"),
                  runs=sc.used, excluded=sc.excluded,
                  none_reason="no run with both initial and final spectra")
    return _with_g(v, runs)


def evaluate_S6(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S6: training stops at a small non-zero gradient with small negative eigenvalues:
    near-critical runs with ‖g‖ > 0, λ_min < −neg_tol·λ_1 (float64 eigh's zero, "negative
    eigenvalues … small in magnitude") and |λ_min| ≤ neg_ratio·λ_1; medians over seeds.
    The claim is about where GD stops: end points of the Newton finish are out of scope
    (:func:`by_gradient_descent`)."""
    sc = st.Scope()
    runs = sc.gate(_sagun(records, sc), near_critical(th),
                   lambda r: None if None not in lambda_min_max(r) else "no λ_min / λ_1",
                   by_gradient_descent)

    def numbers(r):
        lmin, lmax = lambda_min_max(r)
        return {"grad_norm": rd.grad_norm(r), "lambda_min_over_max": lmin / lmax if lmax else math.nan}

    def test(n):
        q = n["lambda_min_over_max"]
        return n["grad_norm"] > 0 and q < -th.neg_tol and abs(q) <= th.neg_ratio

    sets = st.over_seeds(runs, numbers, test, lambda m: (
        f"‖g‖ = {m['grad_norm']:.2g}, λ_min/λ_1 = {m['lambda_min_over_max']:.3g} "
        f"(< −{th.neg_tol:g}, ≥ −{th.neg_ratio:g})"), th)
    v = claim_map("S6", sets, sc.na, threshold=thresholds_of(th, "neg_tol", "neg_ratio", "near_critical"),
                  runs=sc.used, excluded=sc.excluded, none_reason="no Sagun run with λ_min")
    return _with_g(v, runs)


def evaluate_S7(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S7: random inputs give a different spectrum than real data.

    Each random-input setting is matched with the real-data settings of the same network; at
    the end (and at θ_0 where recorded), with ≥ min_seeds seeds each, it differs when the
    median outlier counts differ or the median λ_1 differ by more than spread_factor × the
    init-to-init spread."""
    sc = st.Scope()
    sag = _sagun(records, sc)
    randoms = [r for r in sag if rd.is_random_input(r) and rd.lambda_max(r) is not None]
    keys = [k for k in rd.GROUP_KEYS if k not in ("dataset", "n_data")]
    sets = []
    for rs in st.group_settings(randoms).values():
        rr = rs[0]
        match = [r for r in sag if not rd.is_random_input(r) and rd.lambda_max(r) is not None
                 and all(rd.hashable(rd.field_value(r, k)) == rd.hashable(rd.field_value(rr, k))
                         for k in keys)]
        if not match:
            for r in rs:
                sc.out(r, "no real-data run with the same network")
            continue

        def count(r):
            lam = rd.spectrum(r)
            return rd.stats(lam, rd.n_classes(r) or 2, th)["outlier_count"] if lam is not None else None

        c_rand = [c for r in rs if (c := count(r)) is not None]
        c_real = [c for r in match if (c := count(r)) is not None]
        l_rand = float(np.median([rd.lambda_max(r) for r in rs]))
        l_real = float(np.median([rd.lambda_max(r) for r in match]))
        sigma, _ = init_spread(records, match[0])
        if sigma is None and len(match) >= 2:   # no fluctuation run: the real seeds' spread
            sigma = float(np.std([rd.lambda_max(r) for r in match], ddof=1))
        seeds = min(len(rs), len(match))
        differs_count = bool(c_rand and c_real and np.median(c_rand) != np.median(c_real))
        differs_lam = sigma is not None and abs(l_rand - l_real) > th.spread_factor * sigma
        why = (f"outliers {np.median(c_rand) if c_rand else '–'} vs {np.median(c_real) if c_real else '–'}, "
               f"λ_1 {l_rand:.3g} vs {l_real:.3g} (spread {sigma if sigma is None else f'{sigma:.3g}'}; "
               f"{len(rs)} random / {len(match)} real seeds)")
        if seeds < th.min_seeds or (sigma is None and not differs_count):
            status = INCONCLUSIVE
        else:
            status = HOLDS if differs_count or differs_lam else FAILS
        sets.append(Setting(rd.setting_label(rr), status, why, {
            "outliers_random": c_rand, "outliers_real": c_real, "lambda_1_random": l_rand,
            "lambda_1_real": l_real, "init_spread": sigma}))
    return claim_map("S7", sets, sc.na, threshold=thresholds_of(th, "spread_factor", "gap", "eps"),
                     runs=sc.used, excluded=sc.excluded, none_reason="no random-input run")


def evaluate_S8(records: Sequence[Record], th: Thresholds) -> Verdict:
    """S8: Sagun's outlier count beside Lowell's edge count (windowed reach ≥ rho_edge) and
    n_c − 1, per valid run; status ``reported`` (a tension simlab measures)."""
    sc = st.Scope()
    ok = sc.keep(r for r in records if rd.n_classes(r) is not None
                 and rd.experiment(r) not in rd.KASTNER_EXPERIMENTS and (
                     rd.spectrum(r) is not None or any(p.get("rho") for p in r.telemetry)))
    per = {rd.label(r): rd.s8_row(r, th) for r in ok}
    if not per:
        return claim_map("S8", [], [], threshold={}, excluded=sc.excluded,
                         none_reason="no valid run with a full spectrum or ρ telemetry")

    def show(x):
        return "–" if x is None else str(x)

    parts = [f"{k}: Sagun {show(v['sagun_outliers'])} / Lowell "
             f"{show(v['lowell_edge_count']) if v['reached_edge'] else 'off the edge'} "
             f"(n_c−1 = {v['n_c_minus_1']})" for k, v in list(per.items())[:3]]
    more = f" (+{len(per) - 3} more)" if len(per) > 3 else ""
    return Verdict("S8", REPORTED, per, thresholds_of(th, "gap", "rho_edge"),
                   "; ".join(parts) + more, list(per), tuple(sc.excluded.items()))
