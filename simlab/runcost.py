"""What a run says it cost, in its record and on the console: how its landscape chunked its sums
and laid out its tensors, its CPU seconds, and the one printed line of its summary's cost.

Shared by every runner (:func:`simlab.trainer.run_summary`, toy, scale, :func:`simlab.run`) and by
:class:`simlab.EdgeMonitor`, which imports no trainer.
"""

from __future__ import annotations

import math
import time


def chunking(landscape) -> dict:
    """How the landscape chunks its sums (the landscape says, when it can)."""
    c = getattr(landscape, "chunking", None)
    if c is not None:
        return dict(c() if callable(c) else c)
    size = int(landscape.chunk_size)
    n_chunks = math.ceil(max(landscape.n_local, 1) / size)
    return {"chunk_size": size, "n_chunks": n_chunks, "hold_graph": n_chunks == 1,
            "memory_budget_mb": None}


def landscape_cost(landscape) -> dict:
    """What a record says of how its landscape computed: ``chunking`` and ``memory_format``
    (every runner's summary and :class:`simlab.EdgeMonitor`'s)."""
    return {"chunking": chunking(landscape),
            "memory_format": getattr(landscape, "memory_format", "contiguous")}


def cpu_since(c0: float, resumed: float | None) -> float | None:
    """CPU seconds of this process since ``time.process_time()`` read ``c0``, plus ``resumed``,
    the CPU time of the interrupted run(s) a resume continued (a
    :class:`~simlab.trainer.TrainResult`'s ``resumed_cpu_seconds``): what the run costs a quiet
    core, whatever else shared the machine while it ran (its wall seconds are not). None when
    the resumed part's CPU time is unknown (a checkpoint written before records kept it)."""
    if resumed is None:
        return None
    return time.process_time() - c0 + resumed


def cost_line(summary: dict) -> str:
    """One line of a summary's cost (for the run's printed summary)."""
    g = summary.get("grads_per_hvp")
    c = summary.get("chunking") or {}
    rule = (f" (the step rule's eigensolves {summary['step_rule_seconds']:.3g} s, "
            f"{summary.get('step_rule_hvps')} products)" if summary.get("step_rule_hvps") else "")
    return (f"train {summary.get('train_seconds', 0):.3g} s, telemetry "
            f"{summary.get('telemetry_seconds', 0):.3g} s{rule}, {summary.get('total_hvps')} operator "
            f"products" + (f" (1 HVP ≈ {g:.3g} gradients)" if g is not None else "")
            + (f"; {c.get('n_chunks')} chunk(s) of {c.get('chunk_size')}" if c else "")
            + (f"; {summary['cpu_seconds']:.3g} s of CPU in all" if summary.get("cpu_seconds") else ""))
