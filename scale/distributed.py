"""Data-parallel full-batch runs under ``torchrun`` (or any launcher that sets the env:// variables).

The maths does not change: :class:`~simlab.landscape.Landscape` divides every chunk's *sum* by the
global N and all-reduces loss, gradient, HVP and accuracy sums once ``torch.distributed`` is
initialised, so every rank sees the same L, g and Hv as one process holding all the data (up to
the order of float additions). What this module adds:

- :func:`init_from_env`: join the process group when ``WORLD_SIZE`` > 1 (gloo on CPU, nccl on
  CUDA, each rank on ``cuda:LOCAL_RANK``);
- :func:`shard`: rank r keeps the r-th of ``world`` contiguous, near-equal slices of the set;
- :class:`ShadowWriter`: ranks other than 0 write no record; they keep their own resumable
  checkpoints and snapshots in ``RUN/.rank<r>/`` so that ``--resume`` restores every rank.

Every random choice (model init, data subset, Lanczos start vectors, SLQ probes) is seeded from
the config, not from the rank, so all ranks make the same decisions on the same numbers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
import torch.distributed as dist

from simlab.record import RecordWriter


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) without torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env(device: str) -> tuple[int, int, str]:
    """Join the process group described by the environment (RANK, WORLD_SIZE, MASTER_ADDR, ...)
    when WORLD_SIZE > 1. Returns (rank, world size, this rank's device)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1 or not dist.is_available():
        return 0, 1, device
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(torch.device(device))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo", init_method="env://")
    return dist.get_rank(), dist.get_world_size(), device


def shard(X: torch.Tensor, y: torch.Tensor, rank: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank ``rank``'s contiguous slice of the examples (sizes differ by at most one)."""
    if size <= 1:
        return X, y
    bounds = [len(X) * r // size for r in range(size + 1)]
    lo, hi = bounds[rank], bounds[rank + 1]
    return X[lo:hi], y[lo:hi]


class ShadowWriter(RecordWriter):
    """A writer for ranks > 0: no config, telemetry, arrays, weights or summary; the trainer's
    checkpoints and snapshots go to ``RUN/.rank<r>/`` (identical to rank 0's, and read back on
    resume)."""

    def __init__(self, path: Path | str, rank: int):  # noqa: D107 (no record is written)
        self.path = Path(path) / f".rank{rank}"
        self.path.mkdir(parents=True, exist_ok=True)

    def append(self, point: dict) -> None:
        pass

    def truncate_telemetry(self, keep: int) -> None:
        pass

    def save_arrays(self, arrays, name=None) -> None:
        pass

    def save_weights(self, theta) -> None:
        pass

    def write_summary(self, summary: dict) -> None:
        pass

    def discard(self) -> None:
        """Remove the shadow folder (after a run finished)."""
        shutil.rmtree(self.path, ignore_errors=True)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
