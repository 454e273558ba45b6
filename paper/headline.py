"""The report's verdict tables: the verdicts per regime (with the sensitivity of every choice),
the headline (claims × regimes: status, k/n settings, deciding numbers, robustness), the runs
each claim's scope set aside, every threshold with its source and where a verdict flips, and how
much of the preset's grid the records cover. :mod:`simlab.paper.records`' check and the test of
the committed headline rebuild the headline through these functions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from simlab.claims import (CHOICES, CLAIM_IDS, CLAIM_TEXT, FAILS, HOLDS, MIXED, SOURCES,
                           Thresholds, Verdict, evaluate, readers as rd)
from simlab.record import Record

REGIMES = ("toy", "scale")


def _show(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _cell(text, n: int = 160) -> str:
    text = str(text).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def split(records: list[Record]) -> dict[str, list[Record]]:
    """Records per regime (toy, scale); bridge records go to their own table."""
    return {g: [r for r in records if rd.regime(r) == g] for g in REGIMES}


def verdicts(records: list[Record], th: Thresholds = Thresholds()) -> dict[str, dict[str, Verdict]]:
    """{regime: {claim id: Verdict}} — simlab.claims.evaluate on each regime's records, with
    the sensitivity of every choice (CLAIMS.md rule 4)."""
    by = split(records)
    return {g: {v.id: v for v in evaluate(by[g], th, sensitivity=True)} for g in REGIMES}


def coverage(records: Sequence[Record], runs_dir: Path, preset: str | None) -> list[str]:
    """How much of the preset's grid the records cover, per grid: a report built from part of a
    grid says so (a claim whose settings lack seeds is inconclusive, not judged on fewer). A
    record under a run's name but written with another config (a grid redefined since: the
    runner redoes it) does not count, and is said."""
    if preset is None:
        return []
    from simlab.paper.experiments import grid
    from simlab.paper.runner import stale_fields

    have = {_rel(r.path, runs_dir) for r in records}
    runs = grid(preset)
    stale = [r for r in runs if r.name in have and stale_fields(r, runs_dir / r.name)]
    done = [r for r in runs if r.name in have and r not in stale]
    if len(done) == len(runs):
        return [f"Every one of the {len(runs)} runs of the `{preset}` grid is among the records.", ""]
    per: dict[str, list[int]] = {}
    for r in runs:
        per.setdefault(r.grid, [0, 0])[1] += 1
        per[r.grid][0] += r in done
    old = (f" {len(stale)} more {'is a record' if len(stale) == 1 else 'are records'} of an "
           f"earlier definition of {'its' if len(stale) == 1 else 'their'} run (e.g. "
           f"{stale[0].name}: {', '.join(stale_fields(stale[0], runs_dir / stale[0].name))} "
           "differ), read as they are, and redone by `paper run`." if stale else "")
    return [f"**Partial grid:** {len(done)} of the {len(runs)} runs of the `{preset}` grid are among "
            "the records (`python -m simlab paper run --preset " + preset + "` continues it); per grid: "
            + ", ".join(f"{g} {a}/{b}" for g, (a, b) in per.items()) + "." + old, ""]


def headline_cell(v: Verdict) -> str:
    """The headline's cell: status, settings (k/n), the deciding numbers and, for a verdict
    that depends on a choice, robust or where it flips."""
    head = f"**{v.status}**" + (f" ({v.tally})" if v.tally else "")
    gist = _cell(v.gist, 150) if v.gist else ""
    rob = v.robustness if v.status in (HOLDS, FAILS, MIXED) else ""
    return " — ".join(x for x in (head, gist, _cell(rob, 120) if rob else "") if x)


def headline(table: dict[str, dict[str, Verdict]]) -> list[str]:
    """The headline table, claims × regimes (a test regenerates it from the committed records
    and compares it with the committed report)."""
    out = ["## Headline: claims × regimes", "",
           "Each cell: the verdict over the in-scope settings (k/n settings), the deciding numbers, "
           "and whether a *choice* threshold could flip it (`robust` / `sensitive (flips at …)`). "
           "`not applicable` means no run could test the claim; why is listed below.", "",
           "| id | claim | toy | scale |", "|---|---|---|---|"]
    for cid in CLAIM_IDS:
        out.append(f"| {cid} | {CLAIM_TEXT.get(cid, '')} | {headline_cell(table['toy'][cid])} | "
                   f"{headline_cell(table['scale'][cid])} |")
    return out + [""]


def not_applicable_section(table: dict[str, dict[str, Verdict]]) -> list[str]:
    """Every run a claim's scope set aside, with its reason: a finding about the run."""
    out = ["## Not applicable: runs that cannot test a claim, and why", "",
           "CLAIMS.md rule 1: a run outside a claim's scope is set aside with the number that "
           "decided it; it never counts as `fails`.", ""]
    from simlab.claims.verdict import summarise_na

    any_ = False
    for g in REGIMES:
        for cid in CLAIM_IDS:
            v = table[g][cid]
            if v.not_applicable:
                any_ = True
                out.append(f"- **{cid}** ({g}, {len(v.not_applicable)} runs): "
                           f"{_cell(summarise_na(v.not_applicable, 3), 700)}")
    return out + (["None."] if not any_ else []) + [""]


def choices_section(table: dict[str, dict[str, Verdict]], th: Thresholds) -> list[str]:
    """Every choice threshold, its value and alternatives, and where a verdict flips."""
    out = ["## Choices and their sensitivity", "",
           "Thresholds marked *choice* are not the papers'; each decided verdict is recomputed at "
           "the alternatives (half and double, or the nearest meaningful values).", "",
           "| threshold | value | source | alternatives | verdicts that flip |", "|---|---|---|---|---|"]
    for name, src in SOURCES.items():
        alts = CHOICES.get(name)
        flips = []
        for g in REGIMES:
            for cid, v in table[g].items():
                for alt, status in v.sensitivity.get(name, {}).items():
                    if status != v.status and v.status in (HOLDS, FAILS, MIXED):
                        flips.append(f"{cid} {g} → {status} at {alt:g}")
        out.append(f"| {name} | {getattr(th, name):g} | {_cell(src, 90)} | "
                   f"{' / '.join(f'{a:g}' for a in alts) if alts else '–'} | "
                   f"{_cell('; '.join(flips), 300) or '–'} |")
    return out + [""]
