"""``python -m simlab claims RUN_DIR... [--out DIR] [--only L1,L2] [--threshold NAME=VALUE]
[--sensitivity]``.

Finds every record under the given directories, evaluates each claim of CLAIMS.md separately on
the records of each regime (columns ``toy`` / ``scale``), prints the table claims × regimes with
each verdict's reason (which carries the deciding numbers), and writes ``claims.md`` and
``claims.json`` into ``--out`` (default: the first RUN_DIR). ``main(argv)`` takes the arguments
after ``claims`` and returns the exit code; bad input raises :class:`simlab.errors.UsageError`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

from simlab.claims import readers as rd
from simlab.claims.registry import CLAIM_IDS, CLAIM_TEXT, evaluate, load_records
from simlab.claims.verdict import Thresholds, Verdict
from simlab.cli import ArgumentParser
from simlab.errors import UsageError, check_out_dir
from simlab.record import atomic_write_text, write_json

HELP = "evaluate the claims of CLAIMS.md on run records"  # one line in `python -m simlab --help`
REGIME_ORDER = ("toy", "scale")


def parse_only(text: str | None) -> list[str] | None:
    """``"L1,l2, S8"`` → ``["L1", "L2", "S8"]``; unknown ids are a UsageError."""
    if not text:
        return None
    ids = [t.strip().upper() for t in text.split(",") if t.strip()]
    bad = [i for i in ids if i not in CLAIM_IDS]
    if bad or not ids:
        raise UsageError(f"unknown claim id(s) {', '.join(bad) or repr(text)} in --only; "
                         f"known ids: {', '.join(CLAIM_IDS)}")
    return ids


def parse_thresholds(items: list[str]) -> Thresholds:
    """``["eps=1e-4", "min_sweep=4"]`` → Thresholds with those fields replaced."""
    fields = {f.name: f.type for f in dataclasses.fields(Thresholds)}
    changes = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise UsageError(f"--threshold {item!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(fields)}")
        integer = fields[name] in ("int", int)
        try:
            v = int(value) if integer else float(value)
        except ValueError:
            what = "an integer" if integer else "a number"
            raise UsageError(f"--threshold {item!r}: {value!r} is not {what}") from None
        if not math.isfinite(v) or v <= 0:
            raise UsageError(f"--threshold {item!r}: {name} must be a finite number > 0")
        changes[name] = v
    return dataclasses.replace(Thresholds(), **changes)


def by_regime(records) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in records:
        out.setdefault(rd.regime(r), []).append(r)
    order = [g for g in REGIME_ORDER if g in out] + sorted(g for g in out if g not in REGIME_ORDER)
    return {g: out[g] for g in order}


def _short(text: str, n: int = 90, markdown: bool = False) -> str:
    text = text.replace("\n", " ")
    text = text if len(text) <= n else text[: n - 1] + "…"
    return text.replace("|", "\\|") if markdown else text


def render_text(table: dict[str, list[Verdict]]) -> str:
    """The console table: claims × regimes (status), then one line per verdict with its reason."""
    regimes = list(table)
    ids = [v.id for v in next(iter(table.values()))]
    w = max([12] + [len(g) for g in regimes])
    lines = ["claim  " + "".join(f"{g:<{w + 2}}" for g in regimes) + "claim text",
             "-----  " + "".join("-" * w + "  " for _ in regimes) + "----------"]
    w = max([w] + [len(table[g][i].status) for g in regimes for i in range(len(ids))])
    for i, cid in enumerate(ids):
        lines.append(f"{cid:<7}" + "".join(f"{table[g][i].status:<{w + 2}}" for g in regimes)
                     + CLAIM_TEXT.get(cid, ""))
    lines.append("")
    for i, cid in enumerate(ids):
        for g in regimes:
            v = table[g][i]
            extra = "".join(f" [{x}]" for x in (v.tally, v.robustness) if x)
            lines.append(f"{cid} [{g}] {v.status}{extra}: {_short(v.reason, 110)}")
    return "\n".join(lines) + "\n"


def edge_lines(records, th: Thresholds) -> list[str]:
    """One line per run with ρ telemetry: where it was relative to the edge, or why it was set
    aside (readers.edge_row). Runs of Sagun's protocol, which train towards a critical point
    and not to the edge, are counted in one closing line instead (claims.json keeps their rows)."""
    lines, sagun = [], 0
    for r in records:
        if not any(p.get("rho") for p in r.telemetry):
            continue
        if rd.is_sagun(r):
            sagun += 1
            continue
        x = rd.edge_row(r, th)
        if not x["valid"]:
            where = f"EXCLUDED: {x['invalid_reason']}"
        elif x["reached"]:
            where = (f"on the edge for {x['iterations_on_edge']} iterations "
                     f"({x['on_edge_points']} points), edge count {x['edge_count']} vs n_c − 1 = "
                     f"{x['n_c_minus_1']}")
        else:
            where = rd.edge_not_reached([r], th)
        note = f"; {x['cadence_note']}" if x["cadence_note"] and x["reached"] else ""
        lines.append(f"{x['regime']} {x['run']} (η = {x['lr']}): {where}{note}")
    if sagun:
        lines.append(f"{sagun} run(s) of Sagun's protocol not listed: they train towards a "
                     "critical point, not to the edge (their rows are in claims.json)")
    return lines


def render_markdown(table: dict[str, list[Verdict]], th: Thresholds, paths: list[str],
                    records=()) -> str:
    regimes = list(table)
    ids = [v.id for v in next(iter(table.values()))]
    out = ["# Claims: verdicts", "",
           f"{len(paths)} records from "
           f"{len(regimes)} regime(s): {', '.join(regimes)}. Each regime is evaluated on its own "
           "records; `reported` is a measurement shown without a verdict (CLAIMS.md forces none).",
           "", "| id | claim | " + " | ".join(regimes) + " |",
           "|---|---|" + "---|" * len(regimes)]
    for i, cid in enumerate(ids):
        cells = [f"**{table[g][i].status}**" + (f" ({table[g][i].tally})" if table[g][i].tally else "")
                 + f" {_short(table[g][i].reason, markdown=True)}" for g in regimes]
        out.append(f"| {cid} | {CLAIM_TEXT.get(cid, '')} | " + " | ".join(cells) + " |")
    out += ["", "## Thresholds", "", "```json", json.dumps(th.to_dict(), indent=1), "```", "",
            "## Details", ""]
    for i, cid in enumerate(ids):
        for g in regimes:
            v = table[g][i]
            out += [f"### {cid} [{g}]: {v.status}", "", v.reason, "",
                    *[f"- setting {s.name}: {s.status} — {s.why}" for s in v.settings],
                    *[f"- not applicable: {n}: {why}" for n, why in v.not_applicable],
                    *([f"- sensitivity: {v.robustness}"] if v.robustness else []),
                    f"- threshold: `{json.dumps(v.to_dict()['threshold'])}`",
                    f"- runs: {', '.join(v.runs) or 'none'}",
                    f"- statistic: `{_short(json.dumps(v.to_dict()['statistic']), 600)}`", ""]
    edges = edge_lines(records, th)
    if edges:
        out += ["## Where each run was: the edge of stability", ""] + [f"- {x}" for x in edges] + [""]
    out += ["## Records", ""] + [f"- `{p}`" for p in paths]
    return "\n".join(out) + "\n"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m simlab claims",
        description="Evaluate the claims of CLAIMS.md on run records, per regime.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="record directories, or folders holding them")
    p.add_argument("--out", type=Path, default=None,
                   help="where claims.md and claims.json go (default: the first RUN_DIR)")
    p.add_argument("--only", default=None, help="comma-separated claim ids, e.g. L1,L2,S8")
    p.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="override one field of simlab.claims.Thresholds (repeatable)")
    p.add_argument("--sensitivity", action="store_true",
                   help="re-evaluate each verdict at every choice threshold's alternatives "
                        "(half and double) and say robust or where it flips")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m simlab claims``: ``argv`` are the arguments after ``claims``."""
    args = build_parser().parse_args(argv)
    only = parse_only(args.only)
    th = parse_thresholds(args.threshold)
    records = load_records(args.run_dirs, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    if not records:
        raise UsageError(f"no records under {', '.join(args.run_dirs)}; pass directories written "
                         "by `python -m simlab toy|scale` (each holds a config.json)")
    out = check_out_dir(args.out if args.out is not None else Path(args.run_dirs[0]), "--out",
                        create=True)
    table = {g: evaluate(rs, th, only, sensitivity=args.sensitivity)
             for g, rs in by_regime(records).items()}
    paths = [str(r.path) for r in records]
    write_json(out / "claims.json", {
        "thresholds": th.to_dict(), "records": paths,
        "regimes": {g: [v.to_dict() for v in vs] for g, vs in table.items()},
        "edges": [rd.edge_row(r, th) for r in records if any(p.get("rho") for p in r.telemetry)]})
    atomic_write_text(out / "claims.md", render_markdown(table, th, paths, records))
    sys.stdout.write(render_text(table))
    for line in edge_lines(records, th):
        print(f"edge: {line}")
    print(f"wrote {out / 'claims.md'} and {out / 'claims.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
