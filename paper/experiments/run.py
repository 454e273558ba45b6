"""The unit of every grid: a :class:`Run` (one record's folder, grid, runner, frozen config and
claims) and an :class:`AliasConfig` (a run that is an earlier run's record under another
experiment name), with the helper every grid module uses. The grids themselves are in
:mod:`simlab.paper.experiments.toy_lowell`, :mod:`~simlab.paper.experiments.sagun` and
:mod:`~simlab.paper.experiments.scale`; :mod:`simlab.paper.experiments` puts them in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simlab.runspec import RunSpec


@dataclass(frozen=True)
class Run:
    name: str                 # folder under the runs directory; unique in a preset
    grid: str                 # the grid it belongs to (--only / --experiment pick grids)
    kind: str                 # "toy" | "alias" | "continuation" | "scale" | "cusp" | "bridge" | "predictions"
    config: Any               # the regime's frozen config
    claims: tuple[str, ...] = ()
    cost_s: float = 0.0       # rough single-core guess in seconds (for --dry-run); not a measurement

    @property
    def spec(self) -> RunSpec:
        """What :func:`simlab.runspec.run_spec` runs: the kind, the config, the grid."""
        return RunSpec(self.kind, self.config, self.grid)

    @property
    def regime(self) -> str:
        if self.kind == "continuation":
            return self.config.regime
        if self.kind == "alias":
            return self.name.split("/")[0]
        return {"toy": "toy", "predictions": "toy", "scale": "scale", "cusp": "scale"}.get(
            self.kind, "bridge")


@dataclass(frozen=True)
class AliasConfig:
    """A run whose config equals an earlier run's but for its ``experiment`` (runs are
    deterministic): the record is that run's, copied, with ``experiment`` and ``alias_of`` set."""

    source: str
    experiment: str


def fmt(x: float) -> str:
    """A number as it appears in a run's folder name (0.2 → "0.2", 1e-05 → "1e-05")."""
    return f"{x:g}"
