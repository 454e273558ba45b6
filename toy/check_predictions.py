"""``simlab toy --check-predictions``: the sympy derivations Y1–Y8 (:mod:`simlab.toy.symbolic`)
beside their numerical checks on toy nets with exact Hessians (:mod:`simlab.toy.predictions`),
printed as a report and written as a record of experiment ``"predictions"``.

This module sits above both so that neither imports the other's runner.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

from simlab.record import RecordWriter
from simlab.runcost import cpu_since
from simlab.toy.predictions import numeric_checks
from simlab.toy.symbolic import PredictionResult, symbolic_checks


@dataclass(frozen=True)
class PredictionsConfig:
    """What ``simlab toy --check-predictions`` runs (stored in the record it writes)."""

    seed: int = 0          # seed of the numerical checks: data, init, perturbation, Monte Carlo
    symbolic: bool = True  # run the sympy derivations
    numeric: bool = True   # run the numerical checks on toy nets with exact Hessians


def check_all(*, seed: int = 0, numeric: bool = True, symbolic: bool = True
              ) -> list[PredictionResult]:
    """The sympy derivations Y1–Y8 and (``numeric``) their numerical checks on toy nets with
    exact Hessians (:func:`simlab.toy.predictions.numeric_checks`), sorted by prediction id,
    symbolic before numeric."""
    results: list[PredictionResult] = []
    if symbolic:
        results += symbolic_checks()
    if numeric:
        results += numeric_checks(seed=seed)
    order = {"symbolic": 0, "numeric": 1}
    return sorted(results, key=lambda r: (r.id, order.get(r.check, 2)))


def _fmt(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2e}"


def format_report(results: Sequence[PredictionResult]) -> str:
    """One block per prediction: the statement, then one line per check with its verdict, the
    symbolic result or measured summary, and (numeric) residual ≤ tolerance plus the yes/no
    conditions checked beside it."""
    lines: list[str] = []
    current = None
    for r in results:
        if r.id != current:
            current = r.id
            lines.append(f"{r.id}  {r.statement}")
        verdict = ("proved" if r.proved else "NOT PROVED") if r.check == "symbolic" else (
            "ok" if r.proved else "FAILED")
        lines.append(f"    [{r.check:8s}] {verdict:10s} {r.result}")
        if r.check != "symbolic":
            conds = "".join(f";  {k}: {'yes' if v else 'NO'}" for k, v in r.conditions.items())
            lines.append(f"    {'':10s} {'':10s} residual {_fmt(r.residual)}  "
                         f"tolerance {_fmt(r.tolerance)}{conds}")
    n_bad = sum(not r.proved for r in results)
    lines.append(f"{len(results)} checks, {len(results) - n_bad} ok, {n_bad} not ok")
    return "\n".join(lines)


def record_entries(results: Sequence[PredictionResult]) -> dict[str, list[dict[str, Any]]]:
    """``summary["predictions"]`` of a predictions record, as :mod:`simlab.claims` reads it:
    for each id a list of checks. A symbolic check is ``{"check", "proved"}``; a numeric one is
    ``{"check", "residual", "tolerance", "passed"}`` with passed = residual ≤ tolerance, followed
    by one ``{"check": "numeric: <condition>", "passed"}`` per yes/no condition, so the claim
    holds only when all of them do."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        entry: dict[str, Any] = {"check": r.check, "statement": r.statement, "result": r.result}
        if r.check == "symbolic":
            entry["proved"] = bool(r.proved)
        else:
            entry.update(residual=r.residual, tolerance=r.tolerance,
                         passed=bool(r.residual is not None and r.tolerance is not None
                                     and r.residual <= r.tolerance))
        checks = out.setdefault(r.id, [])
        checks.append(entry)
        checks += [{"check": f"{r.check}: {k}", "passed": bool(v)} for k, v in r.conditions.items()]
    return out


def write_record(results: Sequence[PredictionResult], path, config: PredictionsConfig,
                 cost: dict | None = None) -> None:
    """A run directory of experiment ``"predictions"`` (regime toy): config.json with
    ``config``, summary.json with ``predictions`` (:func:`record_entries`), the counts, each
    check's details and ``cost`` (what the checks took: ``wall_time``, ``cpu_seconds``)."""
    meta = {"experiment": "predictions", "regime": "toy",
            "data": {"name": "synthetic", "n_data": None, "n_classes": None, "classes": None,
                     "source": "per check: two Gaussian blobs (n_c = 2) or seeded Gaussian "
                               "inputs with uniform labels (n_c > 2), random logits, a 2-D "
                               "quadratic for Monte Carlo; sizes in each check's details"}}
    writer = RecordWriter(path, config, meta=meta)
    writer.write_summary({
        "predictions": record_entries(results),
        "n_checks": len(results),
        "n_ok": sum(bool(r.proved) for r in results),
        "details": {f"{r.id}/{r.check}": {"result": r.result, "details": r.details}
                    for r in results},
        **(cost or {}),
    })


def run(config: PredictionsConfig, path) -> list[PredictionResult]:
    """:func:`check_all` as ``config`` says, written as a record to ``path`` with its wall and
    CPU seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    results = check_all(seed=config.seed, numeric=config.numeric, symbolic=config.symbolic)
    write_record(results, path, config, cost={"wall_time": time.perf_counter() - t0,
                                              "cpu_seconds": cpu_since(c0, 0.0)})
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print the report of :func:`check_all` (and write a record with ``--out``); exit
    code 0 if every check holds, else 1."""
    ap = argparse.ArgumentParser(prog="simlab toy --check-predictions",
                                 description="Derive the analytic predictions Y1–Y8 with sympy "
                                             "and check them on toy nets with exact Hessians.")
    ap.add_argument("--seed", type=int, default=0, help="seed of the numerical checks")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--symbolic-only", action="store_true", help="skip the numerical checks")
    which.add_argument("--numeric-only", action="store_true", help="skip the sympy derivations")
    ap.add_argument("--out", default=None,
                    help="write a record (experiment 'predictions') to this directory, for "
                         "`simlab claims`")
    args = ap.parse_args(list(argv) if argv is not None else None)
    cfg = PredictionsConfig(seed=args.seed, symbolic=not args.numeric_only,
                            numeric=not args.symbolic_only)
    t0 = time.perf_counter()
    results = (run(cfg, args.out) if args.out is not None
               else check_all(seed=cfg.seed, numeric=cfg.numeric, symbolic=cfg.symbolic))
    print(format_report(results))
    print(f"({time.perf_counter() - t0:.1f} s)")
    if args.out is not None:
        print(f"record written to {args.out}")
    return 0 if all(r.proved for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
