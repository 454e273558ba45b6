"""Every ``python -m simlab ...`` command the READMEs show parses: run with ``--dry-run`` (toy,
scale, paper run: the config is built and checked, nothing trains) or ``--help`` (the others, and
synopses with placeholders such as NAME or RUN_DIR), it exits 0 and writes nothing.

Commands are taken from code blocks (a line's text after ``python -m simlab``, up to a ``#``
comment, ``&&`` or a line-continuation backslash) and from inline code spans. ``a|b`` and
``toy|scale`` give one command per alternative; ``[...]`` optional parts are kept without their
brackets; ``DIR`` and ``/tmp/...`` become folders under the test's own temporary directory.
"""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest

from simlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
READMES = ["README.md", "toy/README.md", "scale/README.md", "paper/README.md"]
# synopsis words that stand for something the reader fills in: such a command gets --help
PLACEHOLDERS = re.compile(r"(?<![A-Za-z])(NAME|RUN_DIR|GRID|OUT)(?![A-Za-z])|\.\.\.|…")
DRY_RUN = {("toy",), ("scale",), ("paper", "run")}

COMMAND = re.compile(r"python -m simlab(?=\s|`|$)([^`#\n]*)")


def _commands_in(text: str):
    """(line number, command text after ``python -m simlab``) for every occurrence."""
    for n, line in enumerate(text.splitlines(), 1):
        for m in COMMAND.finditer(line):
            cmd = m.group(1).split("&&")[0].rstrip().removesuffix("\\").strip()
            yield n, cmd


def _alternatives(cmd: str) -> list[str]:
    """``toy|scale --preset smoke|cpu`` → every combination, one spelling per word."""
    cmd = cmd.replace("[", " ").replace("]", " ")
    words = [w.split("|") if "|" in w else [w] for w in cmd.split()]
    return [" ".join(c) for c in itertools.product(*words)]


def readme_commands() -> list[tuple[str, str]]:
    found = []
    for name in READMES:
        for line, cmd in _commands_in((ROOT / name).read_text()):
            for alt in _alternatives(cmd):
                found.append((f"{name}:{line}", alt))
    return found


COMMANDS = readme_commands()


def test_the_readmes_show_commands():
    """The extraction finds the commands it is meant to check (a regex that matched nothing
    would make every case below vanish)."""
    shown = {cmd for _, cmd in COMMANDS}
    assert len(COMMANDS) >= 30
    assert "toy --experiment sagun_width" in shown
    assert "toy --check-predictions" in shown
    assert "claims" in shown
    assert any(c.startswith("scale --remeasure-density") for c in shown)
    assert "toy --experiment NAME --preset smoke --out DIR --no-progress" in shown


def argv_for(cmd: str, tmp: Path) -> tuple[list[str], str]:
    words = shlex.split(cmd)
    mode = "--help"
    if not PLACEHOLDERS.search(cmd) and (tuple(words[:1]) in DRY_RUN or tuple(words[:2]) in DRY_RUN):
        mode = "--dry-run"
    subst = []
    for w in words:
        if w == "DIR":
            w = str(tmp / "data")
        elif w.startswith("/tmp/"):
            w = str(tmp / w.removeprefix("/tmp/"))
        subst.append(w)
    if "--dry-run" in subst:
        mode = None
    return subst + ([mode] if mode else []), mode or "--dry-run"


@pytest.mark.parametrize("where,cmd", COMMANDS, ids=[f"{w} {c}" for w, c in COMMANDS])
def test_readme_command_parses(where, cmd, tmp_path, monkeypatch, capsys):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    # the paper preset's commands are written for a GPU machine: their memory estimate may exceed
    # this one's, which is not what this test checks (it checks that the commands parse)
    monkeypatch.setenv("SIMLAB_MEMORY_CHECK", "warn")
    argv, mode = argv_for(cmd, tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:  # --help
        code = e.code
    out = capsys.readouterr()
    assert code == 0, f"{where}: `python -m simlab {' '.join(argv)}` exited {code}: {out.err.strip()}"
    written = [p for p in tmp_path.rglob("*") if p != work]
    assert not written, f"{where}: `{' '.join(argv)}` ({mode}) wrote {written}"
    if mode == "--help":
        assert "usage:" in out.out
    else:
        assert out.out.strip(), f"{where}: {mode} printed no plan"
