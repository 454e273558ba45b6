"""Settings over seeds (CLAIMS.md rule 2) and scope gates shared by the evaluators.

A claim's evaluator first sets runs outside its scope aside (``not applicable`` with the
deciding number), then groups the in-scope runs by setting (:func:`readers.setting_key`), takes
each run's numbers, and judges each setting on the median numbers over its seeds
(:func:`verdict.judge`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from simlab.claims import readers as rd
from simlab.claims.verdict import Setting, Thresholds, judge
from simlab.record import Record

Numbers = Callable[[Record], dict]
Test = Callable[[dict], bool]


def group_settings(runs: Iterable[Record]) -> dict[str, list[Record]]:
    """{setting key: its runs (its seeds)} in the order first seen."""
    out: dict[str, list[Record]] = {}
    for r in runs:
        out.setdefault(rd.setting_key(r), []).append(r)
    return out


def medians(rows: Sequence[dict]) -> dict:
    """The median over seeds of every numeric entry (bools and lists are left out)."""
    keys = [k for k in rows[0] if all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                                      for r in rows)] if rows else []
    return {k: float(np.median([r[k] for r in rows])) for k in keys}


def over_seeds(runs: Iterable[Record], numbers: Numbers, test: Test,
               describe: Callable[[dict], str], th: Thresholds,
               name: Callable[[Record], str] = rd.setting_label) -> list[Setting]:
    """One :class:`Setting` per setting of ``runs``: each run's ``numbers(r)``, ``test`` on each
    seed and on the medians over seeds, ``describe(medians)`` as the deciding numbers."""
    out = []
    for rs in group_settings(runs).values():
        rows = [(rd.label(r), numbers(r)) for r in rs]
        seeds = [(lab, bool(test(n)), n) for lab, n in rows]
        med = medians([n for _, n in rows])
        out.append(judge(name(rs[0]), seeds, bool(test(med)), describe(med), med, th.min_seeds))
    return sorted(out, key=lambda s: s.name)


class Scope:
    """Collects the runs a claim sets aside: ``na`` [(run, reason)] and ``excluded`` {run: why}
    for invalid runs; :meth:`keep` returns the valid runs of a pool."""

    def __init__(self) -> None:
        self.na: list[tuple[str, str]] = []
        self.excluded: dict[str, str] = {}
        self.used: list[str] = []

    def keep(self, runs: Iterable[Record]) -> list[Record]:
        ok, ex = rd.split_valid(runs)
        self.excluded.update(ex)
        self.used += [rd.label(r) for r in ok]
        return ok

    def out(self, r: Record, why: str) -> None:
        self.na.append((rd.label(r), why))

    def gate(self, runs: Iterable[Record], *checks: Callable[[Record], str | None]) -> list[Record]:
        """The runs passing every check (a check returns None, or why the run is out of scope)."""
        kept = []
        for r in runs:
            why = next((w for c in checks if (w := c(r)) is not None), None)
            if why is None:
                kept.append(r)
            else:
                self.out(r, why)
        return kept


# ---------------------------------------------------------------------------- edge scope checks


def reached(th: Thresholds) -> Callable[[Record], str | None]:
    return lambda r: None if rd.edge(r, th).reached else rd.edge_not_reached([r], th)


def not_truncated(th: Thresholds) -> Callable[[Record], str | None]:
    return lambda r: rd.truncation(r, th)


def outlier_subspace(th: Thresholds) -> Callable[[Record], str | None]:
    """L1–L3's scope: median on-edge λ_{n_c−1}/λ_{n_c} ≥ outlier_ratio."""
    def check(r):
        nc = rd.n_classes(r)
        q = rd.outlier_ratio(r, th)
        if q is None:
            k = rd.top_measured(r)
            return (f"no ρ_{nc} measured: telemetry has k = {k} eigenpairs for n_c = {nc}"
                    if nc and k is not None and k < nc else "no on-edge ρ_(n_c)")
        if q < th.outlier_ratio:
            return (f"no n_c − 1 outlier subspace: λ_{nc - 1}/λ_{nc} = {q:.3g} "
                    f"(< {th.outlier_ratio:g})")
        return None
    return check


def has_p_top(r: Record) -> str | None:
    return rd.p_top_short(r)
