"""The records in the repository (CLAIMS.md rule 6): ``paper compact`` keeps what the readers
read, the compacted records give the verdicts, report and figures of the full ones, and the
committed report's headline is regenerated from the committed ``paper/records``."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_cifar

from simlab.claims import evaluate, load_records, readers as rd
from simlab.cli import main as simlab_main
from simlab.paper import cli as paper_cli
from simlab.paper.cli import main as paper_main
from simlab.paper.common import DEFAULT_REPORT
from simlab.paper.records import (DEFAULT_RECORDS, DROP_TELEMETRY, KEEP_ARRAYS, compact,
                                  compact_files, headline_section, verify)
from simlab.paper import report as paper_report
from simlab.record import Record, find_records, read_npz, to_jsonable

# every kind of record the report reads: toy and scale edge runs, continuations (scale's: toy's
# need the class sweep too), toy and scale gradient flow (λ_1 history, cusp), Sagun's
# width/std/fluctuation/training-spectrum/random-input runs (full spectra, top eigenvalues), the
# bridge (bridge_points.json)
GRIDS = ["toy_lr_sweep", "toy_flow", "sagun_width", "sagun_std", "sagun_random",
         "scale_lr_sweep", "scale_continuation", "scale_flow", "bridge_mlp"]
DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _same(a, b) -> bool:
    """Exact equality of parsed JSON, NaN equal to NaN (floats compared bit for bit)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A smoke grid (tmp/full/runs) and its compaction (tmp/lean/runs), each with a report
    folder beside it so that both reports name their records `runs`."""
    root = tmp_path_factory.mktemp("records")
    full, lean = root / "full" / "runs", root / "lean" / "runs"
    assert paper_main(["run", "--preset", "smoke", "--only", *GRIDS, "--runs", str(full),
                       "--quiet"]) == 0
    before = _digest(full)
    assert paper_main(["compact", "--runs", str(full), "--out", str(lean)]) == 0
    assert _digest(full) == before, "compaction wrote into the runs folder"
    return root, full, lean


def _verdicts(records) -> dict:
    return {g: [json.dumps(to_jsonable(v), sort_keys=True, default=str)
                for v in evaluate([r for r in records if rd.regime(r) == g])]
            for g in ("toy", "scale")}


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_compacted_records_give_identical_verdicts_report_and_figures(grid, monkeypatch, capsys):
    root, full, lean = grid
    rels = [p.relative_to(full).as_posix() for p in find_records([full])]
    assert sorted(rels) == sorted(p.relative_to(lean).as_posix() for p in find_records([lean]))
    assert verify(full, lean, rels) == []
    a, b = load_records([full]), load_records([lean])
    assert [rd.label(r) for r in a] == [rd.label(r) for r in b]
    assert _verdicts(a) == _verdicts(b)

    # the full report, and the compacted one through `paper report`'s default folder (the report
    # names the checkout's commit, which other work may move between the two)
    monkeypatch.setattr("simlab.record.git_commit", lambda *a, **k: "<commit>")
    assert paper_main(["report", "--runs", str(full), "--out",
                       str(root / "full" / "report" / "report.md")]) == 0
    monkeypatch.setattr(paper_cli, "DEFAULT_RECORDS", lean)
    capsys.readouterr()
    assert paper_main(["report", "--out", str(root / "lean" / "report" / "report.md")]) == 0
    assert f"reading the records under {lean}" in capsys.readouterr().out
    texts = [DATETIME.sub("<time>", (root / w / "report" / "report.md").read_text())
             for w in ("full", "lean")]
    assert "records under `runs`" in texts[1]
    assert texts[0] == texts[1], "\n".join(difflib.unified_diff(
        texts[0].splitlines(), texts[1].splitlines(), "full", "compacted", lineterm="", n=1))
    figs = [_digest(root / w / "report" / "figures") for w in ("full", "lean")]
    assert len(figs[0]) >= 5 and figs[0] == figs[1]


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_compacted_records_hold_exactly_what_the_readers_read(grid):
    _, full, lean = grid
    n_in = sum(p.stat().st_size for p in full.rglob("*") if p.is_file())
    n_out = sum(p.stat().st_size for p in lean.rglob("*") if p.is_file())
    assert n_out < 0.15 * n_in, (n_out, n_in)
    assert not list(lean.rglob("weights.pt")) and not list(lean.rglob("*.pt"))
    assert not [p for p in lean.rglob("*") if p.is_dir() and p.name in ("checkpoints", "snapshots")]
    assert not (lean / ".locks").exists()
    assert list(lean.rglob("bridge_points.json"))
    flows = 0
    for src in find_records([full]):
        rel = src.relative_to(full)
        a, b = Record.load(src), Record.load(lean / rel)
        assert (lean / rel / "config.json").read_bytes() == (src / "config.json").read_bytes()
        # telemetry: every point, every kept value exactly (floats bit for bit)
        assert len(a.telemetry) == len(b.telemetry)
        for p, q in zip(a.telemetry, b.telemetry):
            # ρ comes back from Record.load (derived where compaction dropped it)
            assert _same({k: v for k, v in p.items() if k not in DROP_TELEMETRY or k == "rho"}, q)
        # the spectra the readers see are the same numbers
        for which in ("final", "init"):
            x, y = rd.spectrum(a, which), rd.spectrum(b, which)
            assert (x is None) == (y is None)
            if x is not None:
                assert np.array_equal(x, y)
        arrays = read_npz(lean / rel / "arrays.npz") if (lean / rel / "arrays.npz").exists() else {}
        assert set(arrays) <= set(KEEP_ARRAYS)
        full_arrays = a.arrays()
        for k, v in arrays.items():
            assert v.dtype == full_arrays[k].dtype and np.array_equal(v, full_arrays[k],
                                                                       equal_nan=True)
        flows += rd.is_flow(a) and "history_lambda_1" in arrays
        if not rd.is_flow(a):
            assert not any(k.startswith("history_") for k in arrays)
        # the summary: the same, less the lists kept (with the same values) as arrays
        dropped = set(a.summary) - set(b.summary)
        assert dropped <= set(arrays), dropped
        assert _same({k: v for k, v in a.summary.items() if k not in dropped}, b.summary)
        for k in dropped:
            assert np.array_equal(np.asarray(a.summary[k], dtype=np.float64), arrays[k])
        assert rd.validity(a) == rd.validity(b)
    assert flows >= 2


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_rewritten_files_are_byte_identical_when_nothing_is_dropped(grid):
    """json.dumps of each parsed point is what RecordWriter.append wrote: with no key dropped the
    compacted telemetry is the runner's file byte for byte (no float is re-rounded)."""
    _, full, _ = grid
    n = 0
    for src in find_records([full]):
        files = compact_files(src, drop=())
        if (src / "telemetry.jsonl").exists():
            assert files["telemetry.jsonl"] == (src / "telemetry.jsonl").read_bytes(), src
            n += 1
        if files["summary.json"] != (src / "summary.json").read_bytes():
            # only the spectra kept as arrays are gone; the rest is write_json's text
            doc = json.loads((src / "summary.json").read_text())
            kept = json.loads(files["summary.json"])
            for k in set(doc) - set(kept):
                doc.pop(k)
            assert files["summary.json"] == (json.dumps(doc, indent=2) + "\n").encode()
    assert n >= 10


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_compaction_is_idempotent_skips_unfinished_runs_and_prunes_on_request(grid, tmp_path,
                                                                              capsys):
    _, full, lean = grid
    out = tmp_path / "records"
    shutil.copytree(lean, out)
    before = _digest(out)
    capsys.readouterr()
    assert paper_main(["compact", "--runs", str(full), "--out", str(out), "--no-verify"]) == 0
    printed = capsys.readouterr().out
    assert "wrote " not in printed and "MB" in printed and "unchanged" in printed
    assert _digest(out) == before

    # an unfinished run in the runs folder is skipped; a record of another grid is kept or pruned
    runs = tmp_path / "runs"
    shutil.copytree(full, runs)
    some = next(p for p in find_records([runs]) if p.relative_to(runs).parts[0] == "toy")
    (some / "summary.json").unlink()
    res = compact(runs, out)
    assert some.relative_to(runs).as_posix() in res.unfinished
    assert res.extra == [some.relative_to(runs).as_posix()] and not res.written
    res = compact(runs, out, prune=True)
    assert res.removed == [some.relative_to(runs).as_posix()]
    assert not (out / some.relative_to(runs)).exists()

    # the runs folder is only read: an --out inside it (or holding it) is refused
    capsys.readouterr()
    assert simlab_main(["paper", "compact", "--runs", str(runs), "--out", str(runs / "r")]) == 2
    assert "must lie outside --runs" in capsys.readouterr().err
    assert simlab_main(["paper", "compact", "--runs", str(runs), "--out", str(tmp_path)]) == 2
    assert not (runs / "r").exists()


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_verify_fails_when_a_key_a_reader_uses_is_dropped(grid, tmp_path):
    """The check that guards the committed records can fail: without λ_i (and so without ρ_i,
    which compaction drops as derived) no run reaches the edge."""
    _, full, _ = grid
    rels = [p.relative_to(full).as_posix() for p in find_records([full])]
    compact(full, tmp_path / "no_lambda", drop=DROP_TELEMETRY + ("eigenvalues",))
    diffs = verify(full, tmp_path / "no_lambda", rels)
    assert diffs and any(" L1:" in d or " L2:" in d for d in diffs), diffs


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_dry_run_on_compacted_records_shows_them_done(grid, capsys):
    _, _, lean = grid
    capsys.readouterr()
    assert paper_main(["run", "--preset", "smoke", "--only", *GRIDS, "--runs", str(lean),
                       "--dry-run"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.split()[:1] != []]
    status = [x.split()[0] for x in lines[:-1]]
    assert status and set(status) == {"done"}, lines


def test_report_reads_paper_records_when_it_holds_records(tmp_path, monkeypatch):
    records, runs = tmp_path / "records", tmp_path / "runs"
    monkeypatch.setattr(paper_cli, "DEFAULT_RECORDS", records)
    monkeypatch.setattr(paper_cli, "DEFAULT_RUNS", runs)
    assert paper_cli.default_report_runs() == runs
    records.mkdir()
    assert paper_cli.default_report_runs() == runs  # an empty folder holds no records
    (records / "toy" / "a").mkdir(parents=True)
    (records / "toy" / "a" / "config.json").write_text("{}")
    assert paper_cli.default_report_runs() == records


def test_headline_is_the_section_up_to_the_next_heading():
    text = "# r\n\nintro\n\n## Headline: claims × regimes\n\n| a |\n|---|\n| x |\n\n## Next\nmore\n"
    assert headline_section(text) == "## Headline: claims × regimes\n\n| a |\n|---|\n| x |"
    with pytest.raises(ValueError):
        headline_section("# no headline\n")


# ------------------------------------------------------------------ the committed records


def headline_mismatch(records_dir: Path, report: Path) -> str:
    """"" when the headline section of ``report`` is the headline the report builds from the
    records in ``records_dir`` (report.headline of report.verdicts: the verdicts only, no
    figures), else the diff between the two."""
    records = load_records([records_dir])
    got = "\n".join(paper_report.headline(paper_report.verdicts(records))).strip()
    expected = headline_section(report.read_text())
    return "" if got == expected else "\n".join(difflib.unified_diff(
        expected.splitlines(), got.splitlines(), str(report), f"regenerated from {records_dir}",
        lineterm="", n=0))


@needs_cifar
@pytest.mark.slow  # runs the smoke grid (~2.5 min on 2 busy cores)
def test_a_report_whose_headline_its_records_do_not_give_is_caught(grid, tmp_path):
    root, _, lean = grid
    report = tmp_path / "report" / "report.md"
    assert paper_main(["report", "--runs", str(lean), "--out", str(report)]) == 0
    assert headline_mismatch(lean, report) == ""
    text = report.read_text()
    head = headline_section(text)
    row = next(x for x in head.splitlines() if x.startswith("| L1 |"))
    flipped = row.replace("| L1 |", "| L1 | (edited)", 1)
    report.write_text(text.replace(row, flipped))
    diff = headline_mismatch(lean, report)
    assert flipped in diff and row in diff


def test_committed_report_headline_is_regenerated_from_the_committed_records():
    if not DEFAULT_RECORDS.is_dir() or not find_records([DEFAULT_RECORDS]):
        pytest.skip(f"{DEFAULT_RECORDS} holds no records yet: they are committed with the report "
                    "(python -m simlab paper compact, then python -m simlab paper report)")
    assert DEFAULT_REPORT.is_file(), f"{DEFAULT_REPORT} is missing beside {DEFAULT_RECORDS}"
    diff = headline_mismatch(DEFAULT_RECORDS, DEFAULT_REPORT)
    assert diff == "", ("the committed report's headline is not what the committed records give; "
                        "regenerate it (python -m simlab paper report):\n" + diff)


def test_entry_captures_keep_d_for_L4_and_other_records_drop_it(tmp_path):
    """L4 reads |d_i| from entry captures: compaction keeps d there and drops it elsewhere."""
    from simlab.paper.records import compact_files
    from simlab.record import RecordWriter

    for exp in ("entry", "lr_sweep"):
        w = RecordWriter(tmp_path / exp, {"lr": 0.1, "n_classes": 2},
                         meta={"regime": "toy", "experiment": exp, "data": {"name": "cifar8"}})
        w.append({"step": 0, "rho": [0.5, 0.1], "d": [1.0, 2.0], "eta_star": [4.0, 20.0]})
        w.write_summary({"valid": True})
    kept = json.loads(compact_files(tmp_path / "entry")["telemetry.jsonl"])
    dropped = json.loads(compact_files(tmp_path / "lr_sweep")["telemetry.jsonl"])
    assert kept == {"step": 0, "rho": [0.5, 0.1], "d": [1.0, 2.0]}
    assert dropped == {"step": 0, "rho": [0.5, 0.1]}


def test_compaction_drops_rho_only_where_load_derives_the_same_floats(tmp_path):
    """ρ_i = η·λ_i/2 is a third of a toy record: compaction drops it where it is that expression
    to the bit, Record.load derives it again (same floats), and a ρ that differs is kept."""
    from simlab.paper.records import compact_files
    from simlab.record import RecordWriter, rho_of

    lam = [7.123456789, 3.3, 1e-3]
    points = [{"step": 0, "lr": 0.07, "eigenvalues": lam, "rho": rho_of(0.07, lam)},
              {"step": 1, "lr": 0.07, "eigenvalues": lam, "rho": [0.25, 0.1155, 3.5e-5]}]
    w = RecordWriter(tmp_path / "src", {"lr": 0.07, "n_classes": 2},
                     meta={"regime": "toy", "experiment": "lr_sweep", "data": {"name": "cifar8"}})
    for p in points:
        w.append(p)
    w.write_summary({"valid": True})
    files = compact_files(tmp_path / "src")
    lines = [json.loads(x) for x in files["telemetry.jsonl"].decode().splitlines()]
    assert "rho" not in lines[0] and lines[1]["rho"] == [0.25, 0.1155, 3.5e-5]
    out = tmp_path / "out"
    out.mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    back = Record.load(out).telemetry
    assert back[0]["rho"] == points[0]["rho"] and back[0]["rho"][0] == 0.07 * 7.123456789 / 2
    assert back[1]["rho"] == [0.25, 0.1155, 3.5e-5]
