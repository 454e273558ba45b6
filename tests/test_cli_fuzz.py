"""Property-based CLI test: any drawn command exits 0 or 2, never with a traceback, an exit 2
says what is wrong in one line on stderr, and nothing is written outside --out.

Commands are drawn for every subcommand (toy, scale, claims, paper run/list/report) with flags
taken from the parsers themselves and values that are non-numeric, NaN, inf, negative, huge,
empty, or plausible. Nothing trains: toy, scale and paper run always get ``--dry-run`` (the
validation-only path), claims and paper report read an empty folder, so a command that passes
validation stops right after it. The default profile is bounded; ``-m slow`` runs a longer one.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlab.cli import main

# flags that start other work than a run (sympy derivations, whole grids) or need network
EXCLUDED = {"--help", "-h", "--check-predictions", "--download", "--from"}
VALUES = ["", "nan", "NaN", "inf", "-inf", "-1", "0", "1", "2", "3", "0.5", "-0.5", "1e-9", "1e9",
          "99999999999999999999999", "-99999999999999999999999", "1e400", "abc", "0,1", "0,0",
          "1,2,3", "0,10", ",", "2.5", "cpu", "cuda", "tpu", "relu", "tanh", "blobs", "digits",
          "cifar8", "mnist", "random", "alexnet", "vgg16", "ce", "mse", "float32", "float64",
          "lanczos", "power", "dense", "flow", "rho_edge=nan", "rho_edge=-1", "min_sweep=2.5",
          "min_sweep=3", "L1,L2", "x=1", "=", "/etc/passwd", "/etc/passwd/x", "out", "lr_sweep",
          "sagun_width", "reproduce", "mse", "scale_lr_sweep", "toy_class_sweep", "smoke", "paper"]


def _options(parser) -> dict[str, bool]:
    """``{flag: takes_a_value}`` for every optional flag of an argparse parser."""
    out = {}
    for action in parser._actions:
        for opt in action.option_strings:
            if opt.startswith("--") and opt not in EXCLUDED:
                out[opt] = action.nargs != 0
    return out


def _subparser(parser, name):
    for action in parser._actions:
        if getattr(action, "choices", None) and isinstance(action.choices, dict) and name in action.choices:
            return action.choices[name]
    raise KeyError(name)


def command_options() -> dict[str, tuple[list[str], dict[str, bool]]]:
    """Each command: the words that start it (always safe ones) and the flags to draw from."""
    from simlab.claims import cli as claims_cli
    from simlab.paper.cli import parser as paper_parser
    from simlab.scale.cli import parser as scale_parser
    from simlab.toy.cli import parser as toy_parser

    paper = paper_parser()
    return {
        "toy": (["toy", "--dry-run"], _options(toy_parser())),
        "scale": (["scale", "--dry-run"], _options(scale_parser())),
        "claims": (["claims", "EMPTY"], _options(claims_cli.build_parser())),
        "paper run": (["paper", "run", "--dry-run"], _options(_subparser(paper, "run"))),
        "paper list": (["paper", "list"], _options(_subparser(paper, "list"))),
        "paper report": (["paper", "report", "--runs", "EMPTY"], _options(_subparser(paper, "report"))),
    }


COMMANDS = command_options()
NEVER_DRAWN = {"paper run": {"--dry-run"}}  # dropping it would run the grid


@st.composite
def commands(draw):
    name = draw(st.sampled_from(sorted(COMMANDS)))
    start, options = COMMANDS[name]
    flags = sorted(set(options) - NEVER_DRAWN.get(name, set()))
    argv = list(start)
    for opt in draw(st.lists(st.sampled_from(flags), max_size=4)):
        argv.append(opt)
        if options[opt]:
            argv.append(draw(st.sampled_from(VALUES) | st.text(max_size=6)
                             | st.integers(-10**25, 10**25).map(str)
                             | st.floats(allow_nan=True, allow_infinity=True).map(repr)))
    return argv


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A scratch cwd (drawn relative paths land here) holding an empty folder of records."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "EMPTY").mkdir()
    old = Path.cwd()
    os.chdir(root)
    yield root
    os.chdir(old)


def run_cli(argv: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own exits
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return code, err.getvalue()


# the flags whose value is where a command may write (a report, its figures)
WRITES = ("--out", "--figures")


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: path → (size, mtime) (folders: (-1, 0))."""
    out = {}
    for p in root.rglob("*"):
        try:
            st_ = p.stat()
        except OSError:
            continue
        out[str(p.relative_to(root))] = (-1, 0) if p.is_dir() else (st_.st_size, st_.st_mtime_ns)
    return out


def allowed(argv: list[str], root: Path) -> list[Path]:
    """The paths ``argv`` names as outputs (resolved against the cwd ``root``)."""
    paths = []
    for i, word in enumerate(argv[:-1]):
        if word in WRITES:
            paths.append((root / argv[i + 1]).resolve())
    return paths


def check(argv: list[str]) -> None:
    """Exit 0 or 2, no traceback; an exit 2 is one line on stderr; nothing is written in the cwd
    (a scratch folder) except under the paths given to --out/--figures."""
    root = Path.cwd()
    before = tree(root)
    code, err = run_cli(argv)
    assert code in (0, 2), f"exit {code} for {argv}: {err}"
    assert "Traceback" not in err, f"traceback for {argv}: {err}"
    if code == 2 and argv:  # (no command at all: the usage, on stdout)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, f"{len(lines)} lines on stderr for {argv}: {err}"
    after = tree(root)
    outs = allowed(argv, root)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    stray = [k for k in changed
             if not any((root / k).resolve() == o or o in (root / k).resolve().parents for o in outs)]
    assert not stray, f"{argv} wrote outside --out: {stray}"


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=commands())
def test_drawn_commands_exit_0_or_2_with_one_line(workdir, argv):
    check(argv)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=commands())
def test_drawn_commands_long_profile(workdir, argv):
    check(argv)


# the inputs the issue lists, each a one-line exit 2 naming the fix
ISSUE_CASES = [
    (["toy", "--grad-tol", "nan"], "finite"), (["toy", "--grad-tol", "-1"], "≥ 0"),
    (["toy", "--target-loss", "nan"], "finite"), (["toy", "--target-loss", "inf"], "finite"),
    (["scale", "--eig-tol", "inf"], "finite"), (["scale", "--max-seconds", "inf"], "finite"),
    (["scale", "--width", "1e-9"], "--width"), (["toy", "--threads", "-1"], "--threads"),
    (["toy", "--k", "100000"], "smaller than"), (["scale", "--k", "100000000"], "--k"),
    (["toy", "--seed", "99999999999999999999999"], "--seed"),
    (["toy", "--seed", "-1", "--dataset", "digits"], "--seed"),
    (["toy", "--seed", "-1", "--dataset", "blobs"], "--seed"),
    (["scale", "--seed", "-1"], "--seed"), (["toy", "--device", "tpu"], "device"),
    (["scale", "--device", "tpu"], "device"), (["toy", "--lr", "inf"], "finite"),
    (["scale", "--lr", "inf"], "finite"), (["toy", "--out", "/etc/passwd"], "is a file"),
    (["toy", "--out", "/etc/passwd/run"], "under"), (["scale", "--out", "/etc/passwd"], "is a file"),
    (["paper", "run", "--runs", "/etc/passwd", "--dry-run"], "is a file"),
    (["paper", "report", "--runs", "EMPTY", "--out", "/etc/passwd/x.md"], "under"),
]


@pytest.mark.parametrize("argv, words", ISSUE_CASES, ids=[" ".join(a) for a, _ in ISSUE_CASES])
def test_issue_inputs_are_one_line_exit_2(workdir, argv, words):
    code, err = run_cli([*argv, "--dry-run"] if argv[0] in ("toy", "scale") else argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
    assert "Traceback" not in err


def test_scale_classes_can_select_label_0(workdir):
    from simlab.scale.cli import config_from_args, parser

    cfg = config_from_args(parser().parse_args(["--classes", "0,1", "--preset", "cpu"]))
    assert cfg.classes == (0, 1) and cfg.n_classes == 2


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["paper"], ["toy\nx"], ["--help"],
                                  ["toy", "--help"], ["scale", "--help"], ["paper", "run", "--help"]])
def test_top_level_words(workdir, argv):
    check(argv)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc (unwritable even as root)")
def test_an_unwritable_out_is_found_before_any_work(workdir):
    code, err = run_cli(["toy", "--steps", "1", "--out", "/proc/simlab-run", "--quiet"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot write" in err


def test_errors_echoing_control_characters_stay_one_line(workdir):
    code, err = run_cli(["toy", "--dataset", "a\x0bb\nc"])
    assert code == 2 and len(err.splitlines()) == 1


def test_the_check_catches_a_write_outside_out(workdir, monkeypatch):
    """The file-tree comparison is not vacuous: a command that writes beside --out fails it, one
    that writes under --out passes."""
    import sys

    def writes(where):
        def fake(argv):
            Path(where).mkdir(parents=True, exist_ok=True)
            (Path(where) / "x.txt").write_text("x")
            return 0
        return fake

    monkeypatch.setattr(sys.modules[__name__], "main", writes("stray"))
    with pytest.raises(AssertionError, match="wrote outside --out"):
        check(["toy", "--out", "elsewhere"])
    monkeypatch.setattr(sys.modules[__name__], "main", writes("mine/run"))
    check(["toy", "--out", "mine"])
