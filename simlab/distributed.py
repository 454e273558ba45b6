"""Data-parallel full-batch sums: world size, rank, sharding and the all-reduce, in one place.

:class:`~simlab.landscape.Landscape` and :mod:`simlab.operators` both import this module (and
nothing else of each other's internals), so the core has no import cycle. The maths does not
change under ``torch.distributed``: every chunk contributes its *sum* divided by the global N,
each rank holds a shard of the examples, and :func:`all_reduce` adds the ranks' partial sums, so
every rank sees the same L, g and Hv as one process holding all the data (up to the order of
float additions).

- :func:`world`: (rank, world size); (0, 1) without torch.distributed;
- :func:`init_from_env`: join the process group when ``WORLD_SIZE`` > 1 (gloo on CPU, nccl on
  CUDA, each rank on ``cuda:LOCAL_RANK``), as ``torchrun`` sets it up;
- :func:`shard`: rank r keeps the r-th of ``world`` contiguous, near-equal slices of the set;
- :func:`all_reduce`, :func:`barrier`: no-ops in a single process.

Every random choice (model init, data subset, Lanczos start vectors, SLQ probes) is seeded from
the config, not from the rank, so all ranks make the same decisions on the same numbers.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True when a torch.distributed process group is up."""
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) without torch.distributed."""
    if is_distributed():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_reduce(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks in place (each rank holds a shard); returns ``t``."""
    if is_distributed():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier() -> None:
    if is_distributed():
        dist.barrier()


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


def any_rank(flag: bool, device) -> bool:
    """``flag`` on any rank, the same answer on every rank (one scalar all-reduce under
    torch.distributed; a wall-clock decision must not split the ranks)."""
    if not is_distributed():
        return flag
    return bool(all_reduce(torch.tensor([float(flag)], device=device))[0] > 0)
