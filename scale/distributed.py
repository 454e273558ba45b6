"""Data-parallel full-batch runs under ``torchrun``: the record side.

World size, rank, sharding and the all-reduce live in the core (:mod:`simlab.distributed`,
re-exported here under the names the scale regime uses). What this module adds:

- :class:`ShadowWriter`: ranks other than 0 write no record; they keep their own resumable
  checkpoints and snapshots in ``RUN/.rank<r>/`` so that ``--resume`` restores every rank.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from simlab.distributed import barrier, init_from_env, shard, world  # noqa: F401 (the scale regime's names)
from simlab.record import RecordWriter


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

