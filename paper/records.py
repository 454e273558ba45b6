"""``paper compact``: the records behind the report, compacted for the repository.

A runs folder (``paper/runs``, written by ``paper run``, git-ignored: weights, Hessians,
checkpoints, snapshots) is copied to ``paper/records`` (committed), record by record under the
same relative paths, keeping only what :mod:`simlab.claims` readers, :mod:`simlab.figures` and
``paper/report.py`` read:

- ``config.json``, byte for byte, and every other top-level ``*.json`` of the record
  (``bridge_points.json``, ``density_<p>x<s>.json``: read by the bridge figure and F1);
- ``summary.json``, less the lists that ``arrays.npz`` keeps with exactly the same values (toy
  records store each full spectrum in both; readers.spectrum reads the array first);
- ``telemetry.jsonl`` without the keys in :data:`DROP_TELEMETRY` (read by no reader), ``rho`` only
  where it is exactly η·λ_i/2 (:meth:`simlab.record.Record.load` derives it again); every line
  is ``json.dumps`` of the parsed point, so floats come back exactly (``repr`` round-trips a
  float64) and a line without those keys is unchanged byte for byte;
- ``arrays.npz`` reduced to :data:`KEEP_ARRAYS` (the ``history_`` ones for gradient-flow and
  exponential Euler records only, the only ones a figure reads them from); written by :func:`simlab.record.write_npz`
  (no pickles, fixed zip timestamps: the same arrays give the same bytes). No arrays left: no
  ``arrays.npz``.

Dropped: ``weights.pt``, ``checkpoints/``, ``snapshots/``, the Hessians and every other array,
PNGs, ``.locks``. Runs without ``summary.json`` (unfinished) are skipped; the runs folder is only
read. Compaction is idempotent: a file whose compacted bytes are already there is not rewritten.

:func:`verify` loads both sets with the unchanged :meth:`simlab.record.Record.load` and compares
every claim verdict (the report's: :func:`simlab.claims.evaluate` per regime, with the
sensitivity of every choice); ``paper
compact`` runs it unless told not to, so a reader that starts using a dropped key makes the
compaction fail instead of silently changing the committed report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simlab.errors import UsageError
from simlab.paper.common import DEFAULT_RUNS, PAPER_DIR
from simlab.record import (ARRAYS, CONFIG, SUMMARY, TELEMETRY, Record, atomic_write_bytes,
                           find_records, read_json_object, read_jsonl, read_npz, rho_of,
                           to_jsonable, write_npz)

DEFAULT_RECORDS = PAPER_DIR / "records"

# arrays some reader reads: the full final and initial spectra (readers.spectrum: S1–S8, F1, F2,
# the Sagun figures), the fluctuation runs' top eigenvalues (S5), λ_1, t and L every iteration
# under gradient flow and exponential Euler (figures.fig_flow; K1 compares the loss curves)
KEEP_ARRAYS = ("eigenvalues", "eigenvalues_init", "top_eigenvalues", "history_lambda_1",
               "history_t", "history_loss")
# telemetry keys no reader reads: η*_i = 2/λ_i (the readers use λ_i and ρ_i), the eigensolver's
# residuals, the coordinates d_i = h_i·g (read only by L4, from the entry captures: kept there,
# see KEEP_FOR), the wall-clock time of the point
# ρ_i is dropped only where it is exactly η·λ_i/2 (Record.load derives it again; _derived_rho)
DROP_TELEMETRY = ("eta_star", "residuals", "d", "wall_time", "rho")
# telemetry keys a reader needs from records of one experiment: L4 reads |d_i| of entry captures
KEEP_FOR = {"entry": ("d",)}


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """What :func:`write_npz` writes for ``arrays`` (written to a temporary file and read back,
    so the bytes are exactly write_npz's)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ARRAYS
        write_npz(p, arrays)
        return p.read_bytes()


def _same(values, a: np.ndarray) -> bool:
    """True when the JSON list ``values`` holds exactly the float64 array ``a`` (same shape, equal
    bit for bit or both NaN): a reader reading either gets the same numbers."""
    if a.dtype != np.float64:
        return False
    try:
        s = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return s.shape == a.shape and bool(np.array_equal(s, a, equal_nan=True))


def _keep_arrays(src: Path) -> tuple[str, ...]:
    """The array keys kept for the record ``src``: the spectra, and λ_1, t and L every iteration
    only where a figure or K1 reads them (gradient flow and exponential Euler,
    readers.follows_flow; elsewhere they are NaN or unread)."""
    from simlab.claims import readers as rd

    # follows_flow reads the config (experiment, schedule) only: no need to parse the telemetry
    flow = rd.follows_flow(Record(src, read_json_object(src / CONFIG), [],
                                  read_json_object(src / SUMMARY)))
    return tuple(k for k in KEEP_ARRAYS if flow or not k.startswith("history_"))


def _derived_rho(point: dict) -> bool:
    """True when the point's ``rho`` holds exactly η·λ_i/2 of its own ``lr`` and
    ``eigenvalues`` (:func:`simlab.record.rho_of`), which Record.load derives again: a third of
    a toy record's bytes. A ρ that differs in any bit is kept."""
    return ("lr" in point and point.get("eigenvalues") is not None
            and point["rho"] == rho_of(point["lr"], point["eigenvalues"]))


def compact_files(src: Path, drop: tuple[str, ...] = DROP_TELEMETRY) -> dict[str, bytes]:
    """{file name: bytes} of the compacted record ``src`` (a complete record folder), its
    telemetry without the keys ``drop``.

    A spectrum held both as an array and as a summary list (toy records store both) is kept once,
    as the array (8 bytes a value instead of about 20): readers.spectrum reads the array first."""
    out: dict[str, bytes] = {}
    for f in sorted(src.glob("*.json")):
        if f.is_file() and not f.name.startswith("."):
            out[f.name] = f.read_bytes()
    if (src / TELEMETRY).is_file():
        # as RecordWriter.append writes a point; the loader drops a truncated last line
        # (claims.load_records), and so does this
        points = read_jsonl(src / TELEMETRY, drop_truncated=True)
        keep = KEEP_FOR.get(read_json_object(src / "config.json").get("experiment"), ())
        drop = tuple(k for k in drop if k not in keep)
        out[TELEMETRY] = "".join(json.dumps({k: v for k, v in p.items()
                                             if k not in drop or (k == "rho" and not _derived_rho(p))})
                                 + "\n"
                                 for p in points).encode()
    if (src / ARRAYS).is_file():
        arrays = read_npz(src / ARRAYS)
        kept = {k: arrays[k] for k in _keep_arrays(src) if k in arrays}
        if kept:
            out[ARRAYS] = _npz_bytes(kept)
        summary = read_json_object(src / SUMMARY)
        twice = [k for k, a in kept.items() if k in summary and _same(summary[k], a)]
        if twice:  # as RecordWriter.write_summary writes it (simlab.record.write_json)
            out[SUMMARY] = (json.dumps({k: v for k, v in summary.items() if k not in twice},
                                       indent=2, sort_keys=False) + "\n").encode()
    return out


@dataclass
class Compacted:
    """What :func:`compact` did: record paths relative to the runs folder."""
    records: list[str] = field(default_factory=list)       # compacted (written or unchanged)
    written: list[str] = field(default_factory=list)       # files (rel. to out) written
    removed: list[str] = field(default_factory=list)       # files or folders removed from out
    unfinished: list[str] = field(default_factory=list)    # skipped: no summary.json
    extra: list[str] = field(default_factory=list)         # in out but not in runs (kept)
    bytes_in: int = 0                                      # the source records' files
    bytes_out: int = 0                                     # the compacted records' files
    by_kind: dict = field(default_factory=dict)            # {regime/experiment: [n, bytes]}


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _check_folders(runs: Path, out: Path) -> None:
    if not runs.is_dir():
        raise UsageError(f"--runs {runs} is not a folder of records; run `paper run` first")
    r, o = runs.resolve(), out.resolve()
    if r == o or r in o.parents or o in r.parents:
        raise UsageError(f"--out {out} must lie outside --runs {runs} (and not hold it): the runs "
                         "folder is only read")


def _kind(doc: dict) -> str:
    return f"{doc.get('regime', '?')}/{doc.get('experiment', '?')}"


def compact(runs: Path | str = DEFAULT_RUNS, out: Path | str = DEFAULT_RECORDS, *,
            drop: tuple[str, ...] = DROP_TELEMETRY, prune: bool = False) -> Compacted:
    """Compact every complete record under ``runs`` into ``out`` (same relative paths).

    Telemetry loses the keys ``drop``. Only files that differ are written; files in a compacted
    record's folder that compaction no longer produces are removed (nested records aside).
    Records in ``out`` with no complete source under ``runs`` are listed in ``extra`` and kept,
    or removed with ``prune``."""
    runs, out = Path(runs), Path(out)
    _check_folders(runs, out)
    res = Compacted()
    sources = {}
    for src in find_records([runs]):
        rel = src.relative_to(runs).as_posix()
        if any(part.startswith(".") for part in src.relative_to(runs).parts):
            continue  # .locks and the like
        if not (src / SUMMARY).is_file():
            res.unfinished.append(rel)
            continue
        sources[rel] = src
    for rel, src in sorted(sources.items()):
        files = compact_files(src, drop)
        dst = out / rel
        for name, data in files.items():
            target = dst / name
            if not (target.is_file() and target.read_bytes() == data):
                atomic_write_bytes(target, data)
                res.written.append(f"{rel}/{name}")
        for f in sorted(dst.iterdir()):
            if f.is_file() and f.name not in files:
                f.unlink()
                res.removed.append(f"{rel}/{f.name}")
        n_in = sum(f.stat().st_size for f in src.iterdir() if f.is_file()) + sum(
            _tree_bytes(src / d) for d in ("checkpoints", "snapshots") if (src / d).is_dir())
        n_out = sum(len(b) for b in files.values())
        res.records.append(rel)
        res.bytes_in += n_in
        res.bytes_out += n_out
        k = res.by_kind.setdefault(_kind(json.loads(files[CONFIG])), [0, 0])
        k[0] += 1
        k[1] += n_out
    if out.is_dir():
        for dst in find_records([out]):
            rel = dst.relative_to(out).as_posix()
            if rel in sources:
                continue
            if prune:
                for f in sorted(dst.iterdir()):
                    if f.is_file():
                        f.unlink()
                if not any(dst.iterdir()):
                    dst.rmdir()
                res.removed.append(rel)
            else:
                res.extra.append(rel)
        if prune:  # folders left empty by the pruning
            for d in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(d.iterdir()):
                    d.rmdir()
    return res


def _verdict_table(records) -> dict[str, dict[str, str]]:
    """{regime: {claim id: the verdict as canonical JSON}}: the report's verdicts
    (:func:`simlab.paper.report.verdicts`: simlab.claims.evaluate on each regime's records, with
    the sensitivity of every choice)."""
    from simlab.paper.report import verdicts

    return {g: {cid: json.dumps(to_jsonable(v), sort_keys=True, default=str)
                for cid, v in table.items()} for g, table in verdicts(records).items()}


def verify(runs: Path | str, out: Path | str, rels: list[str]) -> list[str]:
    """The records ``rels`` (relative paths) under ``runs`` and under ``out``, each loaded with
    :func:`simlab.claims.load_records` (the unchanged Record.load), must give identical
    verdicts, statistics and sensitivities: returns one line per (regime, claim) that differs (empty: identical)."""
    from simlab.claims import load_records

    runs, out = Path(runs), Path(out)
    full = load_records([runs / r for r in rels])
    lean = load_records([out / r for r in rels])
    a, b = _verdict_table(full), _verdict_table(lean)
    diffs = []
    for g in sorted(set(a) | set(b)):
        for cid in sorted(set(a.get(g, {})) | set(b.get(g, {}))):
            x, y = a.get(g, {}).get(cid), b.get(g, {}).get(cid)
            if x != y:
                diffs.append(f"{g} {cid}: full records {_short(x)}; compacted {_short(y)}")
    return diffs


def _short(s: str | None, n: int = 160) -> str:
    if s is None:
        return "no verdict"
    return s if len(s) <= n else s[: n - 1] + "…"


def headline_section(report: str) -> str:
    """The report's headline section: from the line starting ``## Headline`` up to the next
    ``## `` heading (stripped); a report without one is a UsageError."""
    lines = report.splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith("## Headline")), None)
    if start is None:
        raise UsageError("the report has no '## Headline' section")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()
