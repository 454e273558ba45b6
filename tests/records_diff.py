"""Compare two runs folders record by record: are the numbers the same, bit for bit?

    python tests/records_diff.py RUNS_BEFORE RUNS_AFTER

Every file under either folder is matched by its relative path (a file only one side has is a
difference). JSON files (``config.json``, ``summary.json``, ``bridge_points.json``) and each line
of ``telemetry.jsonl`` are compared value by value, floats exactly; ``arrays.npz`` array by array,
bit for bit (dtype, shape and bytes); ``.pt`` files (weights, checkpoints, snapshots) are loaded
with ``weights_only=True`` and their tensors compared bit for bit. Only what a clock or the
checkout decides is ignored: keys named in :data:`IGNORED` (wall-clock seconds, the measured
gradients-per-HVP ratio, the git commit the run was made from, the checkpoints' copy of the
process's unseeded global RNG state). Lock files are skipped.

Exit status 0 when identical, 1 with one line per difference otherwise. The refactors of issue 21
are checked with it against a smoke grid (``python -m simlab paper run --preset smoke``) run
before and after the change.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from simlab.record import CLOCK_KEYS

# keys whose values a clock (or the checkout) decides, not the computation
IGNORED = CLOCK_KEYS | frozenset({
    "git_commit",
    # a checkpoint's copy of the process's global torch RNG state: torch seeds it at random per
    # process here (torch.initial_seed() differs run to run) and no number draws from it (every
    # seeded draw has its own generator or fork_rng), so two runs of one commit differ in it
    "rng",
})
SKIPPED_DIRS = frozenset({".locks"})


def _same(a, b, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k in IGNORED:
                continue
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'after' if k not in a else 'before'}")
            else:
                _same(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]", out)
    elif isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        _same_array(a.detach().cpu().numpy(), b.detach().cpu().numpy(), path, out)
    elif isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        _same_array(a, b, path, out)
    elif isinstance(a, float) and isinstance(b, float):
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            out.append(f"{path}: {a!r} != {b!r}")
    elif type(a) is not type(b) or a != b:
        out.append(f"{path}: {a!r} != {b!r}")


def _same_array(a: np.ndarray, b: np.ndarray, path: str, out: list[str]) -> None:
    if a.dtype != b.dtype or a.shape != b.shape:
        out.append(f"{path}: {a.dtype}{a.shape} != {b.dtype}{b.shape}")
    elif a.dtype == object:
        _same(a.tolist(), b.tolist(), path, out)
    elif a.tobytes() != b.tobytes():
        n = int(np.sum(a != b)) if a.dtype.kind in "fciub" else -1
        out.append(f"{path}: arrays differ ({n} of {a.size} entries)")


def _load(path: Path):
    name = path.name
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if name.endswith(".json"):
        return json.loads(path.read_text())
    if name.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if name.endswith(".pt"):
        return torch.load(path, map_location="cpu", weights_only=True)
    return path.read_bytes()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(root).parts)}


def compare(before: Path, after: Path) -> tuple[int, list[str]]:
    """(number of files compared, one line per difference) between two runs folders."""
    before, after = Path(before), Path(after)
    a, b = _files(before), _files(after)
    out = [f"{f}: only in {before}" for f in sorted(a - b)]
    out += [f"{f}: only in {after}" for f in sorted(b - a)]
    for f in sorted(a & b):
        _same(_load(before / f), _load(after / f), f, out)
    return len(a & b), out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    n, diffs = compare(Path(args[0]), Path(args[1]))
    for line in diffs:
        print(line)
    print(f"{n} files compared, {len(diffs)} differences" if diffs else
          f"{n} files compared: identical (ignoring {', '.join(sorted(IGNORED))})")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
