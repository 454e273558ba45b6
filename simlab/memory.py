"""How much memory a run may use, and the check that refuses a run that would not fit.

:func:`available` reads the tightest of the limits this process lives under, without allocating:

- the machine's free memory: ``MemAvailable`` of ``/proc/meminfo`` (psutil where there is no
  /proc and psutil is installed);
- a cgroup's limit (containers, ``systemd-run -p MemoryMax=``): cgroup v2 ``memory.max`` minus
  ``memory.current``, or v1 ``memory.limit_in_bytes`` minus ``memory.usage_in_bytes``;
- the address-space limit ``ulimit -v`` (RLIMIT_AS) minus this process's ``VmSize``;
- on CUDA, the device's free memory (``torch.cuda.mem_get_info``).

:func:`check_fits` compares a run's estimated peak with it *before* anything is allocated:
more than is available is a one-line :class:`~simlab.errors.UsageError` saying what dominates
and which flags shrink it; more than :data:`WARN_FRACTION` of it is a one-line warning.
``SIMLAB_MEMORY_CHECK=warn`` turns the refusal into a warning (an estimate can be wrong),
``off`` skips the check.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

from simlab.errors import UsageError

ENV = "SIMLAB_MEMORY_CHECK"
WARN_FRACTION = 0.8
GiB = 2.0 ** 30
_NO_LIMIT = 2 ** 60  # cgroup v1 writes ~2^63 for "no limit"


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo(key: str, path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _vm_size() -> int | None:
    return _meminfo("VmSize", Path("/proc/self/status"))


def _cgroup_room(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The room left under the tightest cgroup memory limit over this process's cgroup and its
    parents, v2 (``memory.max``) or v1 (``memory/…/memory.limit_in_bytes``); None: no limit."""
    own = {"v2": "", "v1": ""}
    try:  # "0::/path" (v2), "N:memory:/path" (v1)
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrl, path = (line.split(":", 2) + ["", ""])[:3]
            if ctrl == "" and line.startswith("0::"):
                own["v2"] = path.strip()
            elif "memory" in ctrl.split(","):
                own["v1"] = path.strip()
    except OSError:
        pass
    rooms = []
    for base, limit, usage, rel in ((root, "memory.max", "memory.current", own["v2"]),
                                    (root / "memory", "memory.limit_in_bytes",
                                     "memory.usage_in_bytes", own["v1"])):
        parts = [q for q in rel.split("/") if q and q != ".."]
        for i in range(len(parts), -1, -1):  # the own cgroup (where mounted so), then each parent
            d = base.joinpath(*parts[:i])
            cap, used = _read_int(d / limit), _read_int(d / usage)
            if cap is not None and used is not None and cap < _NO_LIMIT:
                rooms.append(max(cap - used, 0))
    return min(rooms) if rooms else None


def available(device: str = "cpu") -> tuple[int | None, str]:
    """``(bytes, what limits them)``: the memory a new allocation can still get on ``device``
    (None when nothing can be read)."""
    if str(device).startswith("cuda"):
        try:
            import torch

            free, _ = torch.cuda.mem_get_info(torch.device(device))
            return int(free), f"free memory of {device}"
        except Exception:  # noqa: BLE001 - no device, no driver: nothing to compare with
            return None, ""
    found: list[tuple[int, str]] = []
    mem = _meminfo("MemAvailable")
    if mem is None:
        try:
            import psutil

            mem = int(psutil.virtual_memory().available)
        except ImportError:
            mem = None
    if mem is not None:
        found.append((mem, "MemAvailable"))
    room = _cgroup_room()
    if room is not None:
        found.append((room, "the cgroup's memory limit"))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        used = _vm_size() or 0
        found.append((max(soft - used, 0), "ulimit -v"))
    if not found:
        return None, ""
    return min(found)


def gib(n: float) -> str:
    """Bytes as GiB (MiB below 1 GiB), three significant digits."""
    return f"{n / GiB:.3g} GiB" if n >= GiB else f"{n / 2 ** 20:.3g} MiB"


def check_fits(parts: dict[str, float], *, device: str = "cpu", what: str = "the run",
               fix: str = "", processes: int = 1, stream=None) -> str | None:
    """Refuse (a one-line UsageError) or warn when ``parts`` (name → bytes, the estimated peak
    of one process; ``processes`` of them share this machine's memory on a CPU) would not fit in
    :func:`available` memory. Returns the warning printed, if any."""
    mode = os.environ.get(ENV, "on").strip().lower()
    if mode in ("off", "0", "no"):
        return None
    free, source = available(device)
    if free is None:
        return None
    share = 1 if str(device).startswith("cuda") else max(int(processes), 1)
    need = sum(parts.values()) * share
    detail = ", ".join(f"{name} {gib(v)}" for name, v in sorted(parts.items(), key=lambda kv: -kv[1]))
    per = f" × {share} processes" if share > 1 else ""
    head = (f"{what} needs about {gib(need)} of memory ({detail}{per}) but {gib(free)} is available "
            f"({source})")
    if need > free and mode != "warn":
        raise UsageError(f"{head}: {fix or 'make it smaller'} (or {ENV}=warn to run anyway)")
    if need > WARN_FRACTION * free:
        line = f"simlab: warning: {head}; it may run out of memory" + (f": {fix}" if fix else "")
        print(line, file=stream or sys.stderr, flush=True)
        return line
    return None
