"""The run directory: everything needed to read a run back and to rerun it.

Layout of a record::

    RUN_DIR/
      config.json        the frozen config, package versions, device, seed, git commit, data
      telemetry.jsonl    one JSON object per telemetry point, appended as the run goes
      arrays.npz         named arrays (full spectra, eigenvectors asked for, ...)
      weights.pt         the final flat parameter vector θ
      summary.json       the run's headline numbers, written at the end
      checkpoints/       resumable state (scale regime)

Every whole-file write is atomic (temporary file in the same folder, then ``os.replace``), so a
crash leaves either the old file or the new one. ``telemetry.jsonl`` is append-only, one line per
write followed by ``fsync``; a half-written last line (a crash mid-append) is detected on load and
never silently used: :meth:`Record.load` raises :class:`RecordError` unless asked to drop it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import platform
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from simlab.errors import UsageError

CONFIG, TELEMETRY, SUMMARY, ARRAYS, WEIGHTS = (
    "config.json", "telemetry.jsonl", "summary.json", "arrays.npz", "weights.pt")


class RecordError(UsageError):
    """A record that cannot be read as it is (missing files, a truncated line)."""


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from dataclasses, numpy and torch values (NaN/inf kept as floats)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if type(obj).__module__ == "torch":  # a tensor or dtype, without importing torch here
        return obj.tolist() if hasattr(obj, "tolist") else str(obj)
    return obj


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path | str, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n"
    _atomic_write_bytes(Path(path), text.encode())


def write_npz(path: Path | str, arrays: dict[str, Any]) -> None:
    """Write named arrays as one ``.npz``, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    _atomic_write_bytes(Path(path), buf.getvalue())


def git_commit(cwd: Path | str | None = None) -> str | None:
    """The commit of the simlab checkout (with ``+dirty`` if it has local changes), or None."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        if not sha:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str | None = None) -> dict[str, Any]:
    """Package versions, machine and commit: what a reader needs to trust or rerun a record."""
    import scipy
    import torch

    import simlab

    env = {
        "simlab": simlab.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }
    if device is not None:
        env["device"] = str(device)
        if str(device).startswith("cuda") and torch.cuda.is_available():
            env["device_name"] = torch.cuda.get_device_name(torch.device(device))
    return env


class RecordWriter:
    """Writes one run directory as the run goes.

    ``config`` is stored as given (a dataclass is turned into a dict) under ``"config"``, beside
    ``"environment"`` (:func:`environment`) and any ``meta`` (data description, regime, ...).
    """

    def __init__(self, path: Path | str, config: Any, *, meta: dict | None = None,
                 device: str | None = None, resume: bool = False):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if resume and (self.path / CONFIG).exists():
            return
        doc = {"config": to_jsonable(config), **to_jsonable(meta or {}),
               "environment": environment(device)}
        write_json(self.path / CONFIG, doc)
        # a fresh run starts with an empty telemetry file
        _atomic_write_bytes(self.path / TELEMETRY, b"")

    def append(self, point: dict) -> None:
        """Append one telemetry point as one line, flushed to disk before returning."""
        line = json.dumps(to_jsonable(point)) + "\n"
        with open(self.path / TELEMETRY, "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def truncate_telemetry(self, keep: int) -> None:
        """Keep only the first ``keep`` complete points (used when resuming from a checkpoint)."""
        points = read_jsonl(self.path / TELEMETRY, drop_truncated=True)[:keep]
        text = "".join(json.dumps(p) + "\n" for p in points)
        _atomic_write_bytes(self.path / TELEMETRY, text.encode())

    def save_arrays(self, arrays: dict[str, Any], name: str = ARRAYS) -> None:
        """Write (or replace) a named ``.npz`` of arrays; existing arrays in it are kept."""
        target = self.path / name
        merged = {}
        if target.exists():
            with np.load(target) as old:
                merged = {k: old[k] for k in old.files}
        merged.update(arrays)
        write_npz(target, merged)

    def save_weights(self, theta) -> None:
        import torch

        buf = io.BytesIO()
        torch.save(theta.detach().cpu(), buf)
        _atomic_write_bytes(self.path / WEIGHTS, buf.getvalue())

    def write_summary(self, summary: dict) -> None:
        write_json(self.path / SUMMARY, summary)


def read_jsonl(path: Path | str, *, drop_truncated: bool = False) -> list[dict]:
    """Read a JSON-lines file. A last line that is not complete JSON ending in a newline is a
    truncated write: raise :class:`RecordError`, or drop it when ``drop_truncated``."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    points = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            points.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i == len(lines) - 1 and not tail and drop_truncated:
                break
            raise RecordError(f"{path}: line {i + 1} is not valid JSON ({e.msg}); "
                              "the record is corrupt") from None
    if tail.strip():
        if not drop_truncated:
            raise RecordError(f"{path}: the last line is truncated (a crash mid-write?); "
                              "load with drop_truncated=True to use the complete points only")
    return points


class Record:
    """A run directory read back: ``config`` (the whole config.json), ``telemetry`` (list of
    points), ``summary`` (dict, or None for a run that did not finish), and arrays on demand."""

    def __init__(self, path: Path, doc: dict, telemetry: list[dict], summary: dict | None):
        self.path = path
        self.doc = doc
        self.telemetry = telemetry
        self.summary = summary

    @property
    def config(self) -> dict:
        return self.doc.get("config", {})

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def load(cls, path: Path | str, *, drop_truncated: bool = False) -> "Record":
        path = Path(path)
        if not (path / CONFIG).exists():
            raise RecordError(f"{path} is not a simlab record (no {CONFIG}); "
                              "pass a directory written by `python -m simlab toy|scale`")
        doc = json.loads((path / CONFIG).read_text())
        telemetry = read_jsonl(path / TELEMETRY, drop_truncated=drop_truncated)
        summary = json.loads((path / SUMMARY).read_text()) if (path / SUMMARY).exists() else None
        return cls(path, doc, telemetry, summary)

    def arrays(self, name: str = ARRAYS) -> dict[str, np.ndarray]:
        target = self.path / name
        if not target.exists():
            return {}
        with np.load(target) as f:
            return {k: f[k] for k in f.files}

    def weights(self):
        import torch

        return torch.load(self.path / WEIGHTS, weights_only=True)

    def series(self, key: str) -> list:
        """The values of one telemetry field over the run (None where a point lacks it)."""
        return [p.get(key) for p in self.telemetry]


def find_records(paths) -> list[Path]:
    """Every record directory at or below the given paths (a folder with a config.json)."""
    found = []
    for p in map(Path, paths):
        if (p / CONFIG).exists():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(q.parent for q in p.rglob(CONFIG)))
        else:
            raise RecordError(f"{p} does not exist; pass run directories or a folder holding them")
    return found


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
