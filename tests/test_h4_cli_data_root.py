"""A missing data root is found before the run plan is printed: `python -m simlab scale …` and
`toy --dataset cifar8|mnist` exit 2 with one line on stderr and nothing on stdout (no plan, no
record); --dry-run still prints the plan without the data."""

from __future__ import annotations

import contextlib
import io

import pytest

from simlab.cli import main


def run_cli(argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


CASES = [
    (["scale", "--preset", "cpu", "--no-progress", "--no-figures"], "no CIFAR-10 under"),
    (["scale", "--preset", "cpu", "--experiment", "lr_sweep", "--no-progress"], "no CIFAR-10 under"),
    (["toy", "--dataset", "cifar8", "--hidden", "16", "--quiet"], "no CIFAR-10 under"),
    (["toy", "--dataset", "mnist", "--quiet"], "MNIST not found under"),
]


@pytest.mark.parametrize("argv, words", CASES, ids=[" ".join(a[:4]) for a, _ in CASES])
def test_missing_data_root_is_one_line_before_any_plan(tmp_path, argv, words):
    missing = tmp_path / "no-data-here"
    out = tmp_path / "run"
    code, stdout, stderr = run_cli([*argv, "--data-root", str(missing), "--out", str(out)])
    assert code == 2
    assert stdout == ""  # no plan, no size, no cost estimate
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0] and str(missing) in lines[0], stderr
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize("argv", [["scale", "--preset", "cpu"], ["toy", "--dataset", "cifar8"]])
def test_dry_run_needs_no_data(tmp_path, argv):
    code, stdout, stderr = run_cli([*argv, "--data-root", str(tmp_path / "none"), "--dry-run"])
    assert code == 0 and stderr == ""
    assert ("estimated" in stdout) and ("parameters" in stdout)
