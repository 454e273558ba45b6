"""The run directory: everything needed to read a run back and to rerun it.

Layout of a record::

    RUN_DIR/
      config.json        the frozen config, package versions, device, seed, git commit, data
      telemetry.jsonl    one JSON object per telemetry point, appended as the run goes
      arrays.npz         named arrays (full spectra, eigenvectors asked for, ...)
      weights.pt         the final flat parameter vector θ
      summary.json       the run's headline numbers, written at the end
      checkpoints/       resumable state (tensors and plain data only)
      snapshots/         θ every ``snapshot_every`` iterations (gradient flow)

Every whole-file write is atomic (:func:`atomic_write_bytes`: a temporary file in the same
folder, then ``os.replace``), so a crash leaves either the old file or the new one.
``telemetry.jsonl`` is append-only, one line per write followed by ``fsync``; a half-written last
line (a crash mid-append) is detected on load and never silently used: :meth:`Record.load`
raises :class:`RecordError` unless asked to drop it (``drop_truncated`` or a ``warn`` callback).
Every other unreadable file (garbage or non-object JSON, a truncated ``.npz`` or ``.pt``) is a
:class:`RecordError` that names the file.

``.npz`` files are written with fixed zip timestamps, so the same arrays give the same bytes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import platform
import socket
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simlab.errors import RecordError, UsageError, check_out_dir
from simlab.record_schema import check_doc, check_point, check_summary

CONFIG, TELEMETRY, SUMMARY, ARRAYS, WEIGHTS = (
    "config.json", "telemetry.jsonl", "summary.json", "arrays.npz", "weights.pt")
CHECKPOINTS, SNAPSHOTS = "checkpoints", "snapshots"
# test-only fault injection: SIMLAB_CRASH_AT=<where> makes the process SIGKILL itself there
CRASH_ENV = "SIMLAB_CRASH_AT"


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from dataclasses, numpy and torch values (NaN/inf kept as floats)."""
    if isinstance(obj, Mapping):  # a dict, or a telemetry Point (its JSON form, not asdict)
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
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


def crash_point(where: str) -> None:
    """Kill this process (SIGKILL, no cleanup) when ``$SIMLAB_CRASH_AT`` equals ``where``.

    Fault injection for the resume tests, which kill real runs at named moments
    ("step:N", "telemetry:N", "append:N", "write:<file name>"); a no-op otherwise.
    """
    if os.environ.get(CRASH_ENV) == where:
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        crash_point(f"write:{path.name}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode())


def write_json(path: Path | str, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def write_npz(path: Path | str, arrays: dict[str, Any]) -> None:
    """Write named arrays as one ``.npz`` (what ``np.savez`` writes, with fixed zip timestamps so
    equal arrays give equal bytes), atomically."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            with zf.open(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w",
                         force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def save_tensor_file(path: Path | str, obj: Any) -> None:
    """``torch.save`` of tensors and plain data, atomically (weights, snapshots, checkpoints)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_tensor_file(path: Path | str, what: str = "file") -> Any:
    """``torch.load(weights_only=True)``: tensors and plain data only, never code. Anything
    else (a pickled object, a truncated file) is a :class:`RecordError` naming the file."""
    import torch

    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, EOFError...
        raise RecordError(f"{path}: cannot be read as a simlab {what} ({_load_failure(e)}); "
                          "simlab reads tensors and plain data only and never runs pickled code: "
                          "remove the file or write it again with simlab") from None


def _load_failure(err: Exception) -> str:
    """What was wrong with a file torch.load(weights_only=True) refused, in a few words: the
    pickled global it met, else the first line of the error, never torch's advice to load it
    with the tensors-only guard turned off (which would run whatever the file holds)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it holds a pickled object, {found.group(1)}"
    if "weights only load failed" in text.lower() or "weights_only" in text:
        return "it holds pickled objects other than tensors and plain data"
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return first.split(". ")[0][:160]  # the first sentence: what failed, not torch's remedies


def read_json_object(path: Path | str) -> dict:
    """A JSON file that must hold one object; anything else is a :class:`RecordError`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError(f"{path}: not readable JSON ({getattr(e, 'msg', e)}); the record is "
                          "corrupt: rerun it, or remove it from the records you pass") from None
    if not isinstance(doc, dict):
        raise RecordError(f"{path}: holds a JSON {type(doc).__name__}, not an object; the record "
                          "is corrupt: rerun it, or remove it from the records you pass")
    return doc


def read_npz(path: Path | str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (no pickles); unreadable → :class:`RecordError` naming it."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        why = str(e).split(".")[0] if "allow_pickle" in str(e) else str(e)
        raise RecordError(f"{path}: not a readable array file ({why[:120]}); the record is "
                          "corrupt: rerun it, or remove it from the records you pass") from None


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


def record_state(path: Path | str) -> str:
    """What a folder holds: "none" (no record), "unfinished" (config but no summary), "complete"."""
    path = Path(path)
    if not (path / CONFIG).exists():
        return "none"
    return "complete" if (path / SUMMARY).exists() else "unfinished"


def prepare_out(path: Path | str, *, resume: bool = False, overwrite: bool = False) -> Path:
    """Check an output folder before any work: a folder that holds a run needs ``resume`` (go on
    from its checkpoint) or ``overwrite`` (its record files are removed here). Returns the path."""
    path = Path(path)
    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other; pass one of them")
    check_out_dir(path, "--out")
    state = record_state(path)
    if state != "none" and not (resume or overwrite):
        what = "a complete record" if state == "complete" else "an unfinished run"
        raise UsageError(f"{path} already holds {what}; pass --resume to continue it, --overwrite "
                         "to replace it, or choose another --out")
    if overwrite:
        clear_run_files(path)
    return path


def clear_run_files(path: Path | str, *, keep_config: bool = False) -> None:
    """Remove a run's files from its folder (nothing else there is touched)."""
    path = Path(path)
    names = (SUMMARY, ARRAYS, WEIGHTS, TELEMETRY) + (() if keep_config else (CONFIG,))
    for name in names:
        if (path / name).exists():
            (path / name).unlink()
    for sub in (CHECKPOINTS, SNAPSHOTS):
        shutil.rmtree(path / sub, ignore_errors=True)


def config_diff(old: dict, config: Any) -> list[str]:
    """The fields where a record's written config ``old`` and ``config`` differ, sorted. A field
    the record lacks because the config gained it later does not differ while ``config`` holds
    its default (the record was made with what that default does)."""
    import dataclasses

    new = to_jsonable(config)
    added = set()
    if dataclasses.is_dataclass(config):
        added = {f.name for f in dataclasses.fields(config)
                 if f.name not in old and f.default is not dataclasses.MISSING
                 and getattr(config, f.name) == f.default}
    return sorted(k for k in set(old) | set(new) if k not in added and old.get(k) != new.get(k))


def check_same_config(path: Path | str, config: Any, ignore: tuple[str, ...] = ("device",)) -> None:
    """``--resume`` into ``path`` must use the config it was written with (fields in ``ignore``
    aside); otherwise a :class:`UsageError` names the differing fields."""
    path = Path(path)
    if not (path / CONFIG).exists():
        return
    old = read_json_object(path / CONFIG).get("config", {})
    if not isinstance(old, dict):
        raise RecordError(f"{path / CONFIG}: its \"config\" is not an object; the record is corrupt")
    diff = [k for k in config_diff(old, config) if k not in ignore]
    if diff:
        raise UsageError(f"--resume: {path} was written with a different config ({', '.join(diff)}); "
                         "rerun with the same flags or choose another --out")


class RecordWriter:
    """Writes one run directory as the run goes.

    ``config`` is stored as given (a dataclass is turned into a dict) under ``"config"``, beside
    ``"environment"`` (:func:`environment`) and any ``meta`` (data description, regime, ...).
    A fresh writer starts an empty run (the folder's old run files are removed); with ``resume``
    an existing config is kept and the trainer goes on from the checkpoint.
    """

    def __init__(self, path: Path | str, config: Any, *, meta: dict | None = None,
                 device: str | None = None, resume: bool = False):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        for sub in (self.path, self.path / CHECKPOINTS, self.path / SNAPSHOTS):
            for tmp in sub.glob(".*.tmp"):  # left by a process killed mid-write
                tmp.unlink()
        if resume and (self.path / CONFIG).exists():
            return
        clear_run_files(self.path)
        doc = {"config": to_jsonable(config), **to_jsonable(meta or {}),
               "environment": environment(device)}
        write_json(self.path / CONFIG, doc)
        # a fresh run starts with an empty telemetry file
        atomic_write_bytes(self.path / TELEMETRY, b"")

    def append(self, point: dict) -> None:
        """Append one telemetry point as one line, flushed to disk before returning."""
        line = json.dumps(to_jsonable(point)) + "\n"
        with open(self.path / TELEMETRY, "a") as f:
            if os.environ.get(CRASH_ENV) == f"append:{point.get('step')}":
                f.write(line[:len(line) // 2])  # a crash half-way through the line
                f.flush()
                crash_point(f"append:{point.get('step')}")
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def truncate_telemetry(self, keep: int) -> None:
        """Keep only the first ``keep`` complete lines, byte for byte (used on resume)."""
        target = self.path / TELEMETRY
        lines = target.read_text().split("\n")[:-1] if target.exists() else []
        kept = []
        for line in lines[:keep]:
            try:
                json.loads(line)
            except json.JSONDecodeError:
                break
            kept.append(line + "\n")
        atomic_write_bytes(target, "".join(kept).encode())

    def restart(self) -> None:
        """Start the run over in place (a resume found no checkpoint): the config is kept, every
        other run file goes."""
        clear_run_files(self.path, keep_config=True)
        self.truncate_telemetry(0)

    def clear_summary(self) -> None:
        """Remove the summary (a resumed run is unfinished until it writes a new one)."""
        if (self.path / SUMMARY).exists():
            (self.path / SUMMARY).unlink()

    def save_arrays(self, arrays: dict[str, Any], name: str = ARRAYS) -> None:
        """Write (or replace) a named ``.npz`` of arrays; existing arrays in it are kept."""
        target = self.path / name
        merged = read_npz(target) if target.exists() else {}
        merged.update(arrays)
        write_npz(target, merged)

    def save_weights(self, theta) -> None:
        save_tensor_file(self.path / WEIGHTS, theta.detach().cpu())

    def write_summary(self, summary: dict) -> None:
        write_json(self.path / SUMMARY, summary)


def read_jsonl(path: Path | str, *, drop_truncated: bool = False,
               check: Callable[[dict, int], None] | None = None) -> list[dict]:
    """Read a JSON-lines file of objects. A last line that is not complete JSON ending in a
    newline is a truncated write: raise :class:`RecordError`, or drop it when ``drop_truncated``.
    Any other bad line is a :class:`RecordError` naming the file and line; ``check(point,
    line number)`` is called on every point kept."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"{path}: not readable ({e}); the record is corrupt") from None
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    points = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            point = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines) - 1 and not tail and drop_truncated:
                break
            raise RecordError(f"{path}: line {i + 1} is not valid JSON ({e.msg}); "
                              "the record is corrupt") from None
        if not isinstance(point, dict):
            raise RecordError(f"{path}: line {i + 1} is a JSON {type(point).__name__}, not an "
                              "object; the record is corrupt")
        if check is not None:
            check(point, i + 1)
        points.append(point)
    if tail.strip():
        if not drop_truncated:
            raise RecordError(f"{path}: the last line is truncated (a crash mid-write?); "
                              "load with drop_truncated=True to use the complete points only")
    return points


class Record:
    """A run directory read back: ``config`` (the whole config.json), ``telemetry`` (list of
    points), ``summary`` (dict, or None for a run that did not finish), and arrays on demand.

    The one loader of records: every unreadable file is a :class:`RecordError` naming it."""

    def __init__(self, path: Path, doc: dict, telemetry: list[dict], summary: dict | None):
        self.path = path
        self.doc = doc
        self.telemetry = telemetry
        self.summary = summary

    @property
    def config(self) -> dict:
        """The run's config as written in config.json (its "config" object)."""
        return self.doc.get("config", {})

    @property
    def name(self) -> str:
        """The run folder's name."""
        return self.path.name

    @classmethod
    def load(cls, path: Path | str, *, drop_truncated: bool = False,
             warn: Callable[[str], None] | None = None) -> "Record":
        """Read the record at ``path``. A truncated last telemetry line (a crash mid-append) is
        an error, unless ``drop_truncated`` or ``warn`` is given: then it is dropped and ``warn``
        (if any) is told in one line. Corrupt files are always errors."""
        path = Path(path)
        if not (path / CONFIG).exists():
            raise RecordError(f"{path} is not a simlab record (no {CONFIG}); "
                              "pass a directory written by `python -m simlab toy|scale`")
        doc = read_json_object(path / CONFIG)
        if not isinstance(doc.get("config", {}), dict):
            raise RecordError(f"{path / CONFIG}: its \"config\" is not an object; the record is corrupt")
        check_doc(doc, path / CONFIG)

        def check(point, line):
            check_point(point, path / TELEMETRY, line)

        if warn is None:
            telemetry = read_jsonl(path / TELEMETRY, drop_truncated=drop_truncated, check=check)
        else:
            try:
                telemetry = read_jsonl(path / TELEMETRY, check=check)
            except RecordError as e:
                if "truncated" not in str(e):
                    raise
                telemetry = read_jsonl(path / TELEMETRY, drop_truncated=True, check=check)
                warn(f"{path / TELEMETRY}: dropped a truncated last line (the run was interrupted "
                     "mid-write)")
        for p in telemetry:  # compacted records drop ρ, which is η·λ/2 to the bit
            if "rho" not in p and "lr" in p and p.get("eigenvalues") is not None:
                p["rho"] = rho_of(p["lr"], p["eigenvalues"])
        summary = read_json_object(path / SUMMARY) if (path / SUMMARY).exists() else None
        if summary is not None:
            check_summary(summary, path / SUMMARY)
        return cls(path, doc, telemetry, summary)

    def arrays(self, name: str = ARRAYS) -> dict[str, np.ndarray]:
        """The arrays of ``name`` (default arrays.npz; no pickles), {} when the record has none."""
        target = self.path / name
        return read_npz(target) if target.exists() else {}

    def weights(self):
        """The final θ from weights.pt, loaded as tensors only (``weights_only=True``)."""
        return load_tensor_file(self.path / WEIGHTS, "weights file")

    def series(self, key: str) -> list:
        """The values of one telemetry field over the run (None where a point lacks it)."""
        return [p.get(key) for p in self.telemetry]


def find_records(paths) -> list[Path]:
    """Every record directory at or below the given paths (a folder with a config.json)."""
    from simlab.errors import path_error

    found = []
    for p in map(Path, paths):
        try:
            if (p / CONFIG).exists():
                found.append(p)
            elif p.is_dir():
                found.extend(sorted(q.parent for q in p.rglob(CONFIG)))
            else:
                raise RecordError(f"{p} does not exist; pass run directories or a folder holding them")
        except OSError as err:
            raise path_error(err, p, "run folder") from None
    return found


# the keys of a record (summary, telemetry point, checkpoint) whose values a clock decides, not
# the computation: two runs of one config agree in everything else
CLOCK_KEYS = frozenset({
    "wall_time", "wall_time_total", "cpu_seconds", "elapsed", "cpu_elapsed", "seconds",
    "train_seconds", "telemetry_seconds", "step_rule_seconds", "run_seconds", "dense_seconds",
    "hvp_seconds", "grad_seconds",
    "grads_per_hvp",          # hvp_seconds / grad_seconds: a measured time ratio
})


def wall_seconds(summary: dict | None) -> float | None:
    """What a run cost: the wall seconds its summary states (``wall_time_total`` where a runner
    states both — the scale runner's includes the end-of-run spectrum — else ``wall_time``),
    with the time of any interrupted part a resume continued; None when it states neither."""
    for k in ("wall_time_total", "wall_time"):
        v = (summary or {}).get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def cpu_seconds(summary: dict | None) -> float | None:
    """What a run cost a quiet core: the CPU seconds its summary states (process time over the
    whole run, resumed parts included), which the machine's load does not inflate as it does
    :func:`wall_seconds`; None for a record that predates them or whose resumed part's CPU time
    is unknown."""
    v = (summary or {}).get("cpu_seconds")
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def rho_of(lr: float, eigenvalues) -> list[float]:
    """ρ_i = η·λ_i/2 (Lowell's ratio to the edge, η*_i = 2/λ_i), as every telemetry point stores
    it: the one expression, so a record that drops ρ (``paper compact``) gets the same floats back
    from :meth:`Record.load`."""
    return [lr * x / 2 for x in eigenvalues]


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
