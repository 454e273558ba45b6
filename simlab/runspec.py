"""One run, described and run: :class:`RunSpec` and :func:`run_spec`.

A :class:`RunSpec` is what a record is a pure function of: which runner (``kind``: a regime,
``toy`` or ``scale``, the scale regime's ``cusp`` re-scan of a flow record, or one of
``paper``'s — ``bridge``, ``continuation``, ``alias``, ``predictions``),
the regime's frozen config (written as ``config.json``'s ``"config"``, field for field, exactly
as the runner writes it today), and the declared experiment it belongs to (a grid of
``paper/experiments/``; None for a one-off run)::

    spec = RunSpec("toy", ToyConfig(hidden=8, max_steps=50))
    summary = run_spec(spec, "runs/mine")      # a complete record in runs/mine

:func:`run_spec` is the one door: ``python -m simlab toy`` (one config), ``python -m simlab
scale`` (each member of the config's experiment, :mod:`simlab.scale.experiments`), ``toy|scale
--experiment X`` and ``paper run --only X`` (each grid entry, :mod:`simlab.paper.runner`) and
the API all call it, so the same spec gives the same record whichever of them ran it. It finds
the runner the way the CLI finds its commands: each command module of the entry-point group
``simlab.commands`` (:func:`simlab.cli.commands`) may export ``RUNNERS``, a dict
``{kind: runner(spec, out, *, progress, resume, overwrite, figures, sources)}``; the core names
no regime and imports none of their modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from simlab.errors import UsageError


@dataclass(frozen=True)
class RunSpec:
    """One run: ``kind`` (the runner that executes it: ``toy``, ``scale``, ``cusp``, ``bridge``,
    ``continuation``, ``alias``, ``predictions``), ``config`` (its frozen config, stored in the
    record as it is) and ``experiment`` (the declared grid it belongs to, or None)."""

    kind: str
    config: Any
    experiment: str | None = None


def runners() -> dict[str, Callable]:
    """{kind: runner} of every installed command module's ``RUNNERS`` (see the module
    docstring); a kind two modules claim is an error, not a silent choice."""
    from simlab.cli import commands

    found: dict[str, Callable] = {}
    for name, ep in commands().items():
        for kind, fn in getattr(ep.load(), "RUNNERS", {}).items():
            if kind in found:
                raise UsageError(f"two commands run {kind!r} runs; the entry points of "
                                 "simlab.commands must declare each kind once")
            found[kind] = fn
    return found


def run_spec(spec: RunSpec, out: Path | str, *, progress: bool = True, resume: bool = False,
             overwrite: bool = False, figures: bool = False, sources: Sequence[Path | str] = ()):
    """Run ``spec`` and write its complete record into ``out``; returns what the regime's runner
    returns (the toy regime: the summary dict).

    ``resume`` finishes an interrupted run in ``out`` from its checkpoint (the same record as an
    uninterrupted run), ``overwrite`` replaces a run already there, ``figures`` also draws the
    record's figures; ``sources`` are the runs folders, in order, where a continuation or an
    alias looks for the record it starts from (``config.source``, a path under a runs folder)."""
    if not isinstance(spec, RunSpec):
        raise UsageError(f"spec must be a RunSpec, got {type(spec).__name__}")
    found = runners()
    if spec.kind not in found:
        raise UsageError(f"no runner for {spec.kind!r} runs; installed: "
                         f"{', '.join(sorted(found)) or 'none (reinstall simlab: pip install -e .)'}")
    return found[spec.kind](spec, Path(out), progress=progress, resume=resume,
                              overwrite=overwrite, figures=figures, sources=tuple(sources))
