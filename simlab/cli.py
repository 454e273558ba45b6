"""``python -m simlab <command>``: one entry point, one way of reporting user errors.

Commands: ``toy`` (exact regime), ``scale`` (matrix-free regime), ``claims`` (evaluate records),
``paper`` (the cross-regime reproduction). Each command's module builds a config from its flags
and runs it; a :class:`~simlab.errors.UsageError` anywhere becomes one line on stderr and exit
code 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from simlab.errors import UsageError

COMMANDS = {
    "toy": ("simlab.toy.cli", "exact Hessians of small MLPs (Sagun et al. 2016)"),
    "scale": ("simlab.scale.cli", "AlexNet / VGG-16 on CIFAR-10, Lowell 2022's protocol"),
    "claims": ("simlab.claims", "evaluate the claims of CLAIMS.md on run records"),
    "paper": ("simlab.paper.cli", "the cross-regime reproduction and its report"),
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (exit 2) instead of usage + error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind, ok, words: str, name: str):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    parse.__name__ = f"{name} {kind.__name__}"
    return parse


def positive(kind=float):
    """An argparse type for strictly positive numbers, with a message saying so."""
    return _number(kind, lambda v: v > 0, "positive", "positive")


def nonnegative(kind=int):
    """An argparse type for numbers ≥ 0, with a message saying so."""
    return _number(kind, lambda v: v >= 0, "≥ 0", "non-negative")


def run_guarded(fn, *args) -> int:
    """Call ``fn``; a UsageError becomes a one-line message and exit code 2."""
    try:
        return fn(*args) or 0
    except UsageError as e:
        print(f"simlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simlab: interrupted; records written so far are kept", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = ["usage: python -m simlab <command> [options]", "", "commands:"]
        lines += [f"  {name:<8} {doc}" for name, (_, doc) in COMMANDS.items()]
        lines += ["", "`python -m simlab <command> --help` for a command's options."]
        print("\n".join(lines))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"simlab: error: unknown command {name!r}; choose one of {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return run_guarded(module.main, rest)
