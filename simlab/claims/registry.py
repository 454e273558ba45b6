"""The registry: every claim id of CLAIMS.md, its one-line text and its evaluator, and the
functions that apply them to records (``evaluate``, ``evaluate_claim``, ``load_records``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from simlab.claims import further, gradient_flow, kastner, lowell, sagun
import dataclasses

from simlab.claims.verdict import CHOICES, Thresholds, Verdict
from simlab.errors import UsageError
from simlab.record import Record

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
    "L10": "Bulk-GD learns like GD, Top-GD does not (whole trajectory)",
    "K1": "exponential Euler follows the gradient flow, in fewer iterations",
    "K2": "the sharpness is the Gauss–Newton term's: λ_1(G) ≥ 0.9 λ_1(H)",
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
    "S1": sagun.evaluate_S1, "S2": sagun.evaluate_S2, "S3": sagun.evaluate_S3,
    "S4": sagun.evaluate_S4, "S5": sagun.evaluate_S5, "S6": sagun.evaluate_S6,
    "S7": sagun.evaluate_S7, "S8": sagun.evaluate_S8,
    "L1": lowell.evaluate_L1, "L2": lowell.evaluate_L2, "L3": lowell.evaluate_L3,
    "L4": lowell.evaluate_L4, "L5": lowell.evaluate_L5, "L6": lowell.evaluate_L6,
    "L7": lowell.evaluate_L7, "L8": gradient_flow.evaluate_L8, "L9": gradient_flow.evaluate_L9,
    "L10": lowell.evaluate_L10,
    "K1": kastner.evaluate_K1, "K2": kastner.evaluate_K2,
    "F1": further.evaluate_F1, "F2": further.evaluate_F2, "F3": further.evaluate_F3,
    "F4": further.evaluate_F4,
    **{f"Y{i}": further.prediction_evaluator(f"Y{i}") for i in range(1, 9)},
}
CLAIM_IDS = tuple(EVALUATORS)


def _as_records(records: Iterable[Record | str | Path]) -> list[Record]:
    return [r if isinstance(r, Record) else Record.load(r) for r in records]


def evaluate_claim(cid: str, records: Iterable[Record | str | Path],
                   thresholds: Thresholds = Thresholds(), *, sensitivity: bool = False) -> Verdict:
    """The verdict of one claim id (e.g. "L1") on the given records (or record paths); with
    ``sensitivity``, also the status at each choice's alternatives (:func:`sensitivity`)."""
    key = cid.strip().upper()
    if key not in EVALUATORS:
        raise UsageError(f"unknown claim id {cid!r}; known ids: {', '.join(CLAIM_IDS)}")
    recs = _as_records(records)
    v = EVALUATORS[key](recs, thresholds)
    return dataclasses.replace(v, sensitivity=sensitivity_of(key, v, recs, thresholds)) if sensitivity else v


def sensitivity_of(cid: str, v: Verdict, records: Sequence[Record], th: Thresholds) -> dict:
    """{choice: {alternative value: status}} for every *choice* threshold the verdict compared
    with (its ``threshold`` dict, and the edge gates every Lowell claim uses), re-evaluated at
    the alternatives of :data:`CHOICES` (CLAIMS.md rule 4). A verdict with nothing in scope
    stays as it is."""
    used = set(v.threshold) if isinstance(v.threshold, dict) else set()
    if cid.startswith("L"):
        used |= {"edge_rho", "edge_points"}
    out = {}
    for name in sorted(used & set(CHOICES)):
        base = getattr(th, name)
        alts = {}
        for alt in CHOICES[name]:
            alt = type(base)(alt)
            alts[alt] = EVALUATORS[cid](records, dataclasses.replace(th, **{name: alt})).status
        out[name] = alts
    return out


def evaluate(records: Iterable[Record | str | Path], thresholds: Thresholds = Thresholds(),
             only: Sequence[str] | None = None, *, sensitivity: bool = False) -> list[Verdict]:
    """Verdicts of every claim (or of ``only``) on the given records, in CLAIMS.md order."""
    recs = _as_records(records)
    ids = CLAIM_IDS if only is None else list(only)
    return [evaluate_claim(c, recs, thresholds, sensitivity=sensitivity) for c in ids]


def load_records(paths: Iterable[str | Path], warn: Callable[[str], None] | None = None) -> list[Record]:
    """Every finished record under ``paths``; a record with a truncated last telemetry line is
    loaded without that line (and ``warn`` is told); a corrupt file or a field of the wrong type
    is a RecordError naming it. A record without summary.json (a run that has not finished, or
    was killed) is left out of the verdicts: ``warn`` (default: :func:`warnings.warn`) is told
    one line naming it."""
    import warnings

    from simlab.record import SUMMARY, find_records

    tell = warn if warn is not None else (lambda m: warnings.warn(m, stacklevel=3))
    records = []
    for p in find_records(paths):
        r = Record.load(p, drop_truncated=True, warn=warn)
        if r.summary is None:
            tell(f"{p}: unfinished run (no {SUMMARY}): left out of the verdicts; finish it with "
                 "--resume, or remove it")
            continue
        records.append(r)
    unique_labels(records)
    return records


def unique_labels(records: list[Record]) -> None:
    """Records whose folder names collide (``lr_sweep/lr_0.01`` and ``lr_sweep_nD512/lr_0.01``)
    get the shortest distinguishing tail of their path as ``label`` (readers.label): verdicts
    keyed by label must not let one run overwrite another. So do records of different settings
    whose names agree but for the seed (``class_sweep/nc_2_s1`` and ``class_wide/nc_2_s0``): a
    verdict names a setting by its runs' label less the seed (readers.setting_label)."""
    from simlab.claims.readers import setting_key, unseeded

    keys = {id(r): setting_key(r) for r in records}
    depth = dict.fromkeys(keys.values(), 1)   # one depth per setting: its runs read alike

    def tail(r):
        return "/".join(r.path.parts[-depth[keys[id(r)]]:])

    for _ in range(8):
        seen: dict[str, list[Record]] = {}
        settings: dict[str, list[Record]] = {}
        for r in records:
            seen.setdefault(tail(r), []).append(r)
            settings.setdefault(unseeded(tail(r)), []).append(r)
        bump = {keys[id(r)] for rs in seen.values() if len(rs) > 1 for r in rs}
        bump |= {keys[id(r)] for rs in settings.values()
                 if len({keys[id(r)] for r in rs}) > 1 for r in rs}
        if not bump:
            break
        for k in bump:
            depth[k] += 1
    for r in records:
        if depth[keys[id(r)]] > 1:
            r.label = tail(r)
