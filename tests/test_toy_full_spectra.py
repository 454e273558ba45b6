"""The toy regime's full dense spectra are optional (--no-full-spectra) for runs that need only
the top-k telemetry, and --dry-run counts them in its estimate."""

from __future__ import annotations

import json

import pytest

from simlab.cli import main
from simlab.errors import UsageError
from simlab.toy.run import ToyConfig


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["toy", "--hidden", "3", "--n-data", "40", "--steps", "30", "--k", "4",
                 "--eig-method", "lanczos", "--no-figures", "--no-progress", "--out", str(out),
                 *extra]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_no_full_spectra_skips_the_dense_hessians_and_says_so(tmp_path, capsys):
    out, full = _run(tmp_path, "full")
    assert len(full["eigenvalues"]) == full["n_params"] and "eigenvalues_init" in full
    out, top = _run(tmp_path, "top", "--no-full-spectra")
    assert "eigenvalues" not in top and "eigenvalues_init" not in top and top["dense_seconds"] < 1
    assert json.loads((out / "config.json").read_text())["config"]["full_spectra"] is False
    # the run itself is the same: same telemetry, loss and ‖g‖ at the end
    a = (tmp_path / "full" / "telemetry.jsonl").read_text().splitlines()
    b = (out / "telemetry.jsonl").read_text().splitlines()
    drop = ("wall_time",)
    assert [{k: v for k, v in json.loads(x).items() if k not in drop} for x in a] == \
           [{k: v for k, v in json.loads(x).items() if k not in drop} for x in b]
    assert (top["final_loss"], top["final_grad_norm"]) == (full["final_loss"], full["final_grad_norm"])
    # the claims engine reads such a record (Sagun's claims find no spectrum)
    from simlab.claims import evaluate_claim, load_records

    (rec,) = load_records([out])
    assert evaluate_claim("S1", [rec]).status in ("inconclusive", "not applicable")


def test_dry_run_counts_the_full_spectra():
    from simlab.toy.cli import plan

    with_spectra = plan(ToyConfig(hidden=20, n_data=200, max_steps=100, dense_every=50))
    without = plan(ToyConfig(hidden=20, n_data=200, max_steps=100, full_spectra=False))
    assert "4 full dense spectra (θ_0, end, every 50" in with_spectra[1]
    assert "no full spectra" in without[1]
    with pytest.raises(UsageError, match="--dense-every 50 asks for full spectra"):
        ToyConfig(hidden=20, dense_every=50, full_spectra=False).validate()
