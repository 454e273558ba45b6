"""The claims engine: one evaluator per claim id of CLAIMS.md, reading run records only.

Every evaluator has the signature ``evaluate_XX(records, th: Thresholds) -> Verdict``. It picks
the records it needs by their ``config.json`` (top-level ``"regime"`` and ``"experiment"``, and
the run's ``"config"`` dict), computes a statistic through :mod:`simlab.claims.readers` (the
only code that derives statistics from records; the report and the figures use it too), and
compares it with a threshold. It never builds a model. A claim is never hard-wired to pass:
``fails`` is a legitimate outcome; a run outside a claim's scope is ``not applicable`` with the
number that decided it (never ``fails``); the verdict is a map over settings (a config less its
seed), each judged on the median over its seeds (:mod:`.verdict`).

Modules: :mod:`.verdict` (Verdict, Setting, Thresholds and their sources, the map),
:mod:`.settings` (settings over seeds, scope gates), :mod:`.readers`,
:mod:`.sagun` (S1–S8), :mod:`.lowell` (L1–L7, L10), :mod:`.gradient_flow` (L8, L9),
:mod:`.further` (F1–F4, Y1–Y8), :mod:`.registry` (ids, texts, ``evaluate``), :mod:`.cli`
(``python -m simlab claims``).

Settings: runs whose configs differ only by the seed and bookkeeping fields
(:data:`readers.BOOKKEEPING`) are seeds of one setting, aggregated by the median. Sweeps (η,
n_D, width, std) are settings less the swept field.
"""

from __future__ import annotations

from simlab.claims import readers
from simlab.claims.readers import (cusp_sharpness, density_near_zero, linear_fit, n_classes,
                                   ratio_gap_index, regime, spectrum, stats)
from simlab.claims.registry import (CLAIM_IDS, CLAIM_TEXT, EVALUATORS, evaluate, evaluate_claim,
                                    load_records)
from simlab.claims.verdict import (CHOICES, FAILS, HOLDS, INCONCLUSIVE, MIXED, NOT_APPLICABLE,
                                   NOT_MEASURED, REPORTED, SOURCES, SPLIT, STATUSES, Setting,
                                   Thresholds, Verdict)

__all__ = ["CLAIM_IDS", "CLAIM_TEXT", "EVALUATORS", "FAILS", "HOLDS", "INCONCLUSIVE", "MIXED",
           "NOT_APPLICABLE", "SPLIT", "CHOICES", "SOURCES", "Setting",
           "NOT_MEASURED", "REPORTED", "STATUSES", "Thresholds", "Verdict",
           "cusp_sharpness", "density_near_zero", "evaluate", "evaluate_claim", "linear_fit",
           "load_records", "n_classes", "ratio_gap_index", "readers", "regime", "spectrum",
           "stats", "main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m simlab claims …`` (argv: the arguments after ``claims``); see
    :mod:`simlab.claims.cli`. Imported on call, so the package never imports its CLI."""
    import importlib

    return importlib.import_module("simlab.claims.cli").main(argv)
