"""A run's resumable state: ``checkpoints/state.pt`` in its record, written by
:func:`simlab.trainer.train` every ``checkpoint_every`` iterations and after
``CHECKPOINT_SECONDS`` of wall time, read back on ``--resume``.

The state holds tensors and plain data only (loaded with ``weights_only=True``): θ and the
previous θ, step, t, the telemetry count, the history, the eigensolver's warm start, the step
rule's own state (:mod:`simlab.steps`), the elapsed time, the cost counters and the torch RNG.
"""

from __future__ import annotations

from pathlib import Path

from simlab.record import RecordError, RecordWriter, load_tensor_file, save_tensor_file

CHECKPOINT = "checkpoints/state.pt"
STATE_FORMAT = 2


def save_state(writer: RecordWriter, state: dict) -> None:
    save_tensor_file(writer.path / CHECKPOINT, state)


STATE_KEYS = ("format", "theta", "theta_prev", "step", "t", "n_points", "history", "warm",
              "elapsed", "counters", "rng")


def rule_state(state: dict) -> dict:
    """The step rule's part of a checkpoint (one written before step rules were objects held
    the flow/stable λ_1 warm start and the stable schedule's λ_1 at the top level)."""
    if "rule" in state:
        return state["rule"]
    return {"warm": state.get("lam1_warm"), "lam1": state.get("stable_lam1")}


def resume_note(out, state: str | None) -> str | None:
    """What ``--resume`` into ``out`` will do, for one line on stderr, given the folder's
    :func:`~simlab.record.record_state` taken before any work: nothing for a complete record
    (the caller leaves it untouched), a fresh run for an empty folder, a start over for a run
    stopped before its first checkpoint; None when it continues from a checkpoint."""
    if state == "complete":
        return f"{out} already holds a complete record: left untouched (pass --overwrite to run it again)"
    if state == "none":
        return f"--resume: {out} holds no run yet, so a fresh one starts"
    if state == "unfinished" and not (Path(out) / CHECKPOINT).exists():
        return f"--resume: {out} has no checkpoint yet (stopped before its first), so the run starts over"
    return None


def load_state(writer: RecordWriter) -> dict | None:
    """The checkpoint of ``writer``'s record (None when it has none); a RecordError naming the
    file for one of another format."""
    path = writer.path / CHECKPOINT
    if not path.exists():
        return None
    state = load_tensor_file(path, "checkpoint")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or \
            not set(STATE_KEYS) <= set(state):
        raise RecordError(f"{path}: not a checkpoint of this simlab version (format "
                          f"{state.get('format') if isinstance(state, dict) else None}); "
                          "remove it to start the run over, or rerun without --resume")
    return state
