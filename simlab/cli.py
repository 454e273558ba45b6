"""``python -m simlab <command>``: one entry point, one way of reporting user errors.

Commands: ``toy`` (exact regime), ``scale`` (matrix-free regime), ``claims`` (evaluate records),
``paper`` (the cross-regime reproduction). The core names none of their modules: each package
declares its command as an entry point of group ``simlab.commands`` in pyproject.toml (a module
with ``main(argv)`` and a one-line ``HELP``), and :func:`commands` reads them from the installed
metadata, so the core (``simlab/``) imports nothing from the regimes or ``paper/``. Each
command's module builds a config from its flags and runs it; a
:class:`~simlab.errors.UsageError` anywhere becomes one line on stderr and exit code 2, with no
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import importlib.metadata
import math
import re
import sys
import typing

from simlab.errors import UsageError, flag, path_error
from simlab.options import field_help

COMMAND_GROUP = "simlab.commands"  # the entry-point group of pyproject.toml that lists the commands


def commands() -> dict[str, importlib.metadata.EntryPoint]:
    """{name: entry point} of every ``python -m simlab`` command, sorted by name, as the installed
    distribution declares them (``[project.entry-points."simlab.commands"]`` in pyproject.toml).
    Loading one gives its module, which has ``main(argv)`` and ``HELP``."""
    eps = importlib.metadata.entry_points(group=COMMAND_GROUP)
    return {ep.name: ep for ep in sorted(eps, key=lambda ep: ep.name)}


# every character str.splitlines() breaks at: echoed user input must not start a second line
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """``text`` with every line break escaped (user input echoed in an error stays one line)."""
    return str(text).translate(str.maketrans(_LINE_BREAKS))


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (exit 2) instead of usage + error.

    A value that starts with a minus and a digit (``-1,2``, ``-1e-3``, ``-.5``) is a value, not
    an option (argparse takes only plain negative numbers for values): ``--classes -1,2`` reaches
    the check that says what is wrong with label −1. No simlab flag starts with a digit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _number(kind, ok, words: str, name: str):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    parse.__name__ = f"{name} {kind.__name__}"
    return parse


def positive(kind=float):
    """An argparse type for finite, strictly positive numbers, with a message saying so."""
    return _number(kind, lambda v: v > 0, "positive", "positive")


def nonnegative(kind=int):
    """An argparse type for finite numbers ≥ 0, with a message saying so."""
    return _number(kind, lambda v: v >= 0, "≥ 0", "non-negative")


# ------------------------------------------------------------------ flags from config dataclasses


def _scalar(kind):
    """Parse one int/float/str; range and finiteness are the config's ``validate``'s business."""
    def parse(text):
        try:
            return kind(text)
        except ValueError:
            what = {int: "an integer", float: "a number"}[kind]
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def _tuple_of(kind):
    item = _scalar(kind)

    def parse(text):
        parts = [x.strip() for x in text.split(",")]
        if not text.strip() or not all(parts):
            raise argparse.ArgumentTypeError(f"expected comma-separated values, got {text!r}")
        return tuple(item(x) for x in parts)

    parse.__name__ = f"list of {kind.__name__}"
    return parse


def _count_or_labels(text):
    """``3`` → 3 (a count); ``0,3,7`` → (0, 3, 7) (labels; checked against the dataset by
    :func:`simlab.data.normalise_classes`)."""
    value = _tuple_of(int)(text)
    if len(value) == 1 and "," not in text:
        return value[0]
    return value


_count_or_labels.__name__ = "count or labels"


class _Unset:
    """The value of ``--field none`` for an optional field: set it to None (argparse's own
    None means "not given")."""

    def __repr__(self) -> str:
        return "none"


UNSET = _Unset()


def _or_none(parse):
    """``parse``, but the word ``none`` gives :data:`UNSET` (for ``X | None`` fields)."""
    def parser(text: str):
        return UNSET if text.strip().lower() == "none" else parse(text)
    parser.__name__ = getattr(parse, "__name__", "value")
    return parser


def _parser_for(tp):
    """The argparse ``type`` for a field annotation (``None`` in a union means "not given")."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_args(tp) else []
    if typing.get_origin(tp) is tuple:
        return _tuple_of(typing.get_args(tp)[0])
    if args and typing.get_origin(tp) is not tuple:  # a union
        if len(args) == 1:
            return _parser_for(args[0])
        if int in args and any(typing.get_origin(a) is tuple for a in args):
            return _count_or_labels
        return str
    return {int: _scalar(int), float: _scalar(float)}.get(tp, str)


def config_flags(group, cls, *, skip=(), aliases=None) -> list[str]:
    """Add one flag per field of the dataclass ``cls`` to ``group``; returns the field names.

    ``--field-name`` for ``field_name``; its type from the annotation (int, float, str, bool as
    ``--x``/``--no-x``, ``tuple[int, ...]`` as ``1,2,3``, ``int | tuple[int, ...]`` as a count or
    labels; an optional field ``X | None`` also takes ``none``, which sets it to None);
    help and choices from the field's documentation (:func:`option`: ``metadata["help"]`` and
    ``metadata["choices"]``), the one source of both. Every default is ``None`` (not given), so
    a config is the preset or the dataclass default with the given flags replaced
    (:func:`given`). A field whose metadata has ``"flag": False`` or listed in ``skip`` gets none.
    Range checks stay in the config's ``validate``: one place per config.
    """
    hints = typing.get_type_hints(cls)
    aliases = aliases or {}
    names = []
    for f in dataclasses.fields(cls):
        if f.name in skip or f.metadata.get("flag", True) is False or not f.init:
            continue
        tp = hints[f.name]
        kw = {"dest": f.name, "default": None, "help": field_help(f)}
        options = f.metadata.get("choices")
        if tp is bool:
            kw["action"] = argparse.BooleanOptionalAction   # --x / --no-x
        else:
            kw["type"] = _parser_for(tp)
            if type(None) in typing.get_args(tp):
                kw["type"] = _or_none(kw["type"])
                kw["help"] = (kw["help"] or "") + " ('none' to unset)"
            if options:
                kw["choices"] = tuple(options) + ((UNSET,) if type(None) in typing.get_args(tp)
                                                  else ())
        if kw["help"]:
            kw["help"] = kw["help"].replace("%", "%%")
        group.add_argument(flag(f.name), *aliases.get(f.name, ()), **kw)
        names.append(f.name)
    return names


def given(args, names) -> dict:
    """The config fields among ``names`` that were given on the command line."""
    return {n: None if getattr(args, n) is UNSET else getattr(args, n)
            for n in names if getattr(args, n, None) is not None}


def run_guarded(fn, *args) -> int:
    """Call ``fn``; a UsageError becomes a one-line message and exit code 2."""
    try:
        return fn(*args) or 0
    except UsageError as e:
        print(f"simlab: error: {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno != errno.ENAMETOOLONG or e.filename is None:
            raise
        # a path given by the user that no check above caught: still one line, not a traceback
        print(f"simlab: error: {one_line(path_error(e, e.filename))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simlab: interrupted; records written so far are kept", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    found = commands()
    if not found:  # the metadata lists none: an install from before the entry points existed
        print(f"simlab: error: no commands installed (entry points {COMMAND_GROUP!r}); reinstall "
              "simlab: pip install -e .", file=sys.stderr)
        return 2
    if not argv or argv[0] in ("-h", "--help"):
        lines = ["usage: python -m simlab <command> [options]", "", "commands:"]
        lines += [f"  {name:<8} {ep.load().HELP}" for name, ep in found.items()]
        lines += ["", "`python -m simlab <command> --help` for a command's options."]
        print("\n".join(lines))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in found:
        print(f"simlab: error: unknown command {one_line(repr(name))}; choose one of {', '.join(found)}",
              file=sys.stderr)
        return 2
    return run_guarded(found[name].load().main, rest)
