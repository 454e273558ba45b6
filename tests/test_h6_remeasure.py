"""``python -m simlab scale --remeasure-density``: a finished scale record's end-of-run SLQ density
re-measured from weights.pt, and F1 reading the finest-resolving density a record holds."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_scale_run import tiny, write_npz  # noqa: E402  (the tests' CIFAR-format npz and tiny config)

from simlab.claims import Thresholds, evaluate_claim  # noqa: E402
from simlab.cli import main as simlab_main  # noqa: E402
from simlab.record import Record  # noqa: E402
from simlab.scale.config import ScaleConfig  # noqa: E402
from simlab.scale.run import build_landscape, run_one  # noqa: E402
from simlab.spectrum import top_eigen  # noqa: E402
from simlab.density import near_zero_mass, validated_band  # noqa: E402

TH = Thresholds(min_seeds=1)  # one tiny record: its own setting of one seed


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> Path:
    """A valid finished scale record of the AlexNet at width 1/64 on 12 images,
    its end-of-run SLQ at 1 probe × 4 steps (which resolves no band)."""
    root = tmp_path_factory.mktemp("h6")
    npz = write_npz(root / "cifar10_subset.npz", n=20)
    cfg = tiny(npz, arch="alexnet", width=1 / 64, n_data=12, lr=0.2, max_steps=8, telemetry_every=2,
               experiment="lr_sweep")
    out = run_one(cfg, root / "rec", progress=False, figures=False)
    assert json.loads((out / "summary.json").read_text())["valid"]
    return out


def _remeasure(rec: Path, probes: int, steps: int) -> dict:
    assert simlab_main(["scale", "--remeasure-density", str(rec), "--slq-vectors", str(probes),
                        "--slq-steps", str(steps), "--no-progress"]) == 0
    return json.loads((rec / f"density_{probes}x{steps}.json").read_text())


def test_remeasure_writes_the_density_and_f1_reads_it_at_the_narrowest_band(record, capsys):
    before = (record / "summary.json").read_bytes()
    v = evaluate_claim("F1", [Record.load(record)], TH)
    assert v.status == "not applicable" and "unvalidated estimator (1 probe(s) × 4 Lanczos steps)" in v.reason

    doc = _remeasure(record, 4, 160)
    assert "density_4x160.json" in capsys.readouterr().out
    assert (record / "summary.json").read_bytes() == before  # the run's own summary is untouched
    dens = doc["density"]
    assert doc["settings"]["probes"] == 4 and doc["settings"]["steps"] == 160
    assert len(dens["nodes"]) == 4 * 160 and sum(dens["weights"]) == pytest.approx(1.0, abs=1e-12)
    assert doc["n_hvps"] == 4 * 160 and doc["seconds"] > 0 and doc["git_commit"]
    # λ_1 used is that of the final weights: the top eigenvalue by Lanczos on the rebuilt landscape
    land, _ = build_landscape(ScaleConfig.from_dict(Record.load(record).config))
    theta = torch.load(record / "weights.pt", weights_only=True).to(land.dtype)
    lam1 = float(top_eigen(land.operator(theta), 1, tol=1e-8).eigenvalues[0])
    assert doc["lambda_1"] == pytest.approx(lam1, rel=1e-6)
    val = validated_band(4, 160)
    assert val is not None and val["band"] == 1e-3 and doc["validated"]["band"] == 1e-3
    expect = near_zero_mass(dens["nodes"], dens["weights"], doc["lambda_1"], 1e-3, n_vectors=4,
                            estimator=val["estimator"])
    assert doc["near_zero_fraction"] == pytest.approx(expect, abs=1e-15)
    assert doc["band_fractions"]["0.001"][val["estimator"]] == pytest.approx(expect, abs=1e-15)

    v = evaluate_claim("F1", [Record.load(record)], TH)
    (run,) = [n for s in v.settings for lab, _, n in s.seeds if lab == record.name]
    assert run["band"] == 1e-3 and run["probes"] == 4 and run["steps"] == 160
    assert run["near_zero_fraction"] == pytest.approx(expect, abs=1e-15)
    assert run["density_source"] == "re-measured from weights.pt (density_4x160.json)"
    assert ("4 probe(s) × 160 Lanczos steps re-measured from weights.pt (density_4x160.json), "
            "validated for |λ| ≤ 0.001·λ_1") in v.reason


def test_remeasure_twice_gives_identical_numbers(record):
    a = _remeasure(record, 2, 40)
    b = _remeasure(record, 2, 40)
    for key in ("density", "lambda_1", "band_fractions", "near_zero_fraction", "n_hvps", "settings"):
        assert a[key] == b[key], key
    # a coarser re-measured density (2 × 40 resolves a wider band, or none) is not preferred
    # over the 4 × 160 one when both are present
    if (record / "density_4x160.json").exists():
        v = evaluate_claim("F1", [Record.load(record)], TH)
        (run,) = [n for s in v.settings for lab, _, n in s.seeds if lab == record.name]
        assert (run["probes"], run["steps"]) == (4, 160)


def test_remeasure_bad_input_is_one_line_and_exit_2(record, tmp_path, capsys):
    cases = {}
    cases["not a simlab record"] = tmp_path / "empty"
    (tmp_path / "empty").mkdir()
    toy = tmp_path / "toy"
    toy.mkdir()
    (toy / "config.json").write_text(json.dumps({"regime": "toy", "config": {}}))
    cases["not a scale record"] = toy
    bare = tmp_path / "bare"
    shutil.copytree(record, bare)
    (bare / "weights.pt").unlink()
    cases["has no weights.pt"] = bare
    for fragment, path in cases.items():
        assert simlab_main(["scale", "--remeasure-density", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and "\n" not in err and "Traceback" not in err
    assert simlab_main(["scale", "--remeasure-density", str(record), "--lr", "0.1"]) == 2
    assert "takes only" in capsys.readouterr().err
