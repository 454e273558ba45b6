"""Errors a user can fix, and the checks that raise them.

The CLI turns a :class:`UsageError` into one line on stderr and exit code 2. The checks here are
the one place every config's ``validate`` takes its number, seed and device rules from, so the
same field gets the same message in every regime ("--lr must be a finite number, got inf").
"""

from __future__ import annotations

import errno
import math
import numbers
import os
import re
from pathlib import Path

MAX_SEED = 2**63 - 1  # what torch's and numpy's generators accept


class UsageError(ValueError):
    """Bad input from the user: the message says what is wrong and how to fix it. A ValueError,
    so that the Python API's argument checks raise what Python callers expect."""


class RecordError(UsageError):
    """A record that cannot be read as it is (missing files, a truncated line, a field of the
    wrong type)."""


class DataError(UsageError):
    """Data that is missing or malformed: the message names the remedies."""


def flag(name: str) -> str:
    """The command-line spelling of a config field: ``grad_tol`` → ``--grad-tol``."""
    return "--" + name.replace("_", "-")


def require(name: str, value, *, integer: bool = False, positive: bool = False,
            nonneg: bool = False, lo=None, hi=None, optional: bool = False, arg: bool = False):
    """``value`` is a finite number (an integer if ``integer``), > 0 / ≥ 0 / in [lo, hi] as asked;
    else a UsageError naming the flag of field ``name`` (with ``arg``: the Python argument
    ``name`` itself, for the API). ``None`` passes when ``optional``."""
    if value is None and optional:
        return value
    shown = name if arg else flag(name)
    what = "an integer" if integer else "a finite number"
    is_num = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_num or (integer and not isinstance(value, numbers.Integral)) or not math.isfinite(value):
        raise UsageError(f"{shown} must be {what}, got {value!r}")
    if positive and not value > 0:
        raise UsageError(f"{shown} must be positive, got {value!r}")
    if nonneg and value < 0:
        raise UsageError(f"{shown} must be ≥ 0, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bound = (f"between {lo:g} and {hi:g}" if lo is not None and hi is not None
                 else f"at least {lo:g}" if lo is not None else f"at most {hi:g}")
        raise UsageError(f"{shown} must be {bound}, got {value!r}")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """Seeds are integers in 0..2^63−1."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"{flag(name)} must be an integer in 0..{MAX_SEED}, got {seed!r}")
    return int(seed)


def check_device(device: str, *, auto: bool = False) -> str:
    """``cpu``, ``cuda`` or ``cuda:i`` (and ``auto`` where the config allows it); a CUDA device
    must exist."""
    ok = ("auto", "cpu") if auto else ("cpu",)
    if not isinstance(device, str) or not (device in ok or re.fullmatch(r"cuda(:\d+)?", device)):
        raise UsageError(f"unknown device {device!r}; use {', '.join(ok)} or cuda[:i]")
    if device.startswith("cuda"):
        import torch

        index = int(device.split(":")[1]) if ":" in device else 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise UsageError(f"--device {device} was asked for but there is no such CUDA device; "
                             "use --device cpu")
    return device


def check_out_dir(path, what: str = "--out", *, create: bool = False) -> Path:
    """An output folder checked before any work: not a file, not under a file, writable.

    ``create`` makes it (and proves it writable by creating a file in it), so permission
    problems that ``os.access`` cannot see (running as root, read-only mounts) are found too.
    """
    path = Path(path).expanduser()
    try:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{what} {path} is a file, not a folder; choose another {what}")
        _check_creatable(path, what)
    except OSError as err:
        raise path_error(err, path, what) from None
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / f".simlab-write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as err:
            raise UsageError(f"{what} {path}: cannot write there ({err.strerror or err}); "
                             f"choose another {what}") from None
    return path


def check_out_file(path, what: str = "--out") -> Path:
    """An output file checked before any work: not a folder, its folder creatable and writable."""
    path = Path(path).expanduser()
    try:
        if path.is_dir():
            raise UsageError(f"{what} {path} is a folder; give a file name such as {path / 'report.md'}")
        _check_creatable(path.parent, what, shown=path)
        if path.exists() and not os.access(path, os.W_OK):
            raise UsageError(f"{what} {path} is not writable; choose another {what}")
    except OSError as err:
        raise path_error(err, path, what) from None
    return path


def path_error(err: OSError, path, what: str = "path") -> UsageError:
    """A path the file system refuses to even look at (a name over its length limit, a loop of
    links) as one line that says so; long paths are shortened in the message."""
    path = Path(path)
    shown = str(path) if len(str(path)) <= 80 else f"{str(path)[:60]}…{str(path)[-15:]}"
    longest = max((len(part.encode()) for part in path.parts), default=0)
    if err.errno == errno.ENAMETOOLONG:
        why = (f"a name in it is {longest} bytes long, more than the file system allows"
               if longest > 255 else "the path is longer than the file system allows")
        return UsageError(f"{what} {shown}: {why}; choose a shorter {what}")
    return UsageError(f"{what} {shown}: {err.strerror or err}; choose another {what}")


def _check_creatable(folder: Path, what: str, shown: Path | None = None) -> None:
    shown = folder if shown is None else shown
    p = folder.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UsageError(f"{what} {shown} lies under {p}, which is a file; choose another {what}")
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {shown}: cannot write in {p} (permission denied); choose another {what}")
