"""Record fields and run validity: which run is which, and which runs a verdict may use."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from simlab.record import Record

SAGUN_EXPERIMENTS = ("toy", "width_sweep", "training_spectrum", "fluctuation", "std_sweep", "mse",
                     "random_inputs", "interpolation")
# "scale" is the scale regime's single protocol run (python -m simlab scale), as "toy" is the toy's;
# "own" is a user's own model (simlab.run, simlab.EdgeMonitor): a single run of Lowell's telemetry
LOWELL_EXPERIMENTS = ("toy", "scale", "own", "lr_sweep", "class_sweep", "entry", "gradient_flow")
# Lowell & Kastner 2024's runs (K1, K2): exponential Euler and reference flows, the λ_1(G) probe
KASTNER_EXPERIMENTS = ("kastner", "gauss_newton")
GROUP_KEYS = ("regime", "dataset", "arch", "hidden", "activation", "loss", "n_classes", "n_data",
              "blob_std", "lr", "schedule")
STOP_AT_INIT = ("target_loss", "target_accuracy", "grad_tol")
# config fields that say how a run was watched or stored, not which trajectory it took; a
# setting (CLAIMS.md rule 2) is the config less these and the seed
BOOKKEEPING = ("seed", "data_seed", "experiment", "telemetry_every", "entry_every",
               "entry_until", "checkpoint_every", "checkpoint_seconds", "snapshot_every",
               "dense_every", "eigenvalues_only", "k", "eig_method", "eig_tol", "eps",
               "max_steps", "max_seconds", "max_t", "device", "threads", "chunk_size",
               "data_root", "download", "preset", "slq_vectors", "slq_steps", "lrs",
               "class_counts", "class_images", "flow_sizes", "cusp_radius", "cusp_points", "cusp_skip",
               "hvp_method", "memory_format", "progress", "source", "full_spectra", "ggn_every")
# Lowell's protocol runs; Sagun's experiments of the same name (``mse``) are told apart by data
LOWELL_DATA = ("cifar8", "cifar10")

# ============================================================================ record fields



def experiment(r: Record) -> str | None:
    return r.doc.get("experiment")


def regime(r: Record) -> str:
    return r.doc.get("regime") or "unknown"


def field_value(r: Record, key: str) -> Any:
    """A config field of the run; ``regime`` from the top level; ``n_classes``, ``n_data`` and
    ``dataset`` fall back to the record's data description, then to the summary; ``blob_std``
    is the toy config's ``std`` on blob data (the field has no meaning for other datasets)."""
    if key == "regime":
        return regime(r)
    v = r.config.get(key)
    if v is None and key == "blob_std" and field_value(r, "dataset") == "blobs":
        v = r.config.get("std")
    if v is None and key in ("n_classes", "n_data", "dataset"):
        data = r.doc.get("data") or {}
        v = data.get("name" if key == "dataset" else key)
        if v is None and r.summary:
            v = r.summary.get(key)
    return v


def n_classes(r: Record) -> int | None:
    v = field_value(r, "n_classes")
    return int(v) if v is not None else None


def n_data(r: Record) -> int | None:
    v = field_value(r, "n_data")
    return int(v) if v is not None else None


def lr(r: Record) -> float | None:
    v = field_value(r, "lr")
    return float(v) if v is not None else None


def label(r: Record) -> str:
    """The run's name in verdicts: its folder name, or a longer tail of its path where two
    loaded records share a folder name (set by claims.load_records)."""
    return getattr(r, "label", None) or r.name


def seed(r: Record) -> int | None:
    v = field_value(r, "seed")
    return int(v) if v is not None else None


def setting_key(r: Record) -> str:
    """The run's setting: regime and config less :data:`BOOKKEEPING` (the seeds of one
    setting share it)."""
    cfg = {k: v for k, v in (r.config or {}).items() if k not in BOOKKEEPING}
    return json.dumps([regime(r), cfg], sort_keys=True, default=str)


def unseeded(name: str) -> str:
    """A run's name less its seed suffix (``lr0.2_s1`` → ``lr0.2``); a name without one stays."""
    import re

    return re.sub(r"([_-])s\d+(?=$|[_-])", "", name).rstrip("_-") or name


def setting_label(r: Record) -> str:
    """A setting's name in a verdict: the run's label less its seed suffix."""
    return unseeded(label(r))


def is_lowell(r: Record) -> bool:
    """A run of Lowell's edge-of-stability protocol: the scale regime, CIFAR data, or one of
    Lowell's experiments (a user's own ``toy`` run is both Lowell's and Sagun's). The [K] runs
    (:data:`KASTNER_EXPERIMENTS`) are not: K1/K2 judge them, and the η-sweep settings they repeat
    with a probe must not count twice in L1–L7."""
    if experiment(r) in KASTNER_EXPERIMENTS:
        return False
    return (regime(r) == "scale" or str(field_value(r, "dataset")) in LOWELL_DATA
            or experiment(r) in LOWELL_EXPERIMENTS + ("continuation", "edge_nd"))


def is_sagun(r: Record) -> bool:
    """A run of Sagun's protocol (toy regime, not CIFAR data): experiment names never collide
    across papers, so Lowell's MSE class sweep (``mse`` on cifar8) is not Sagun's MSE run."""
    return (regime(r) == "toy" and str(field_value(r, "dataset")) not in LOWELL_DATA
            and experiment(r) in SAGUN_EXPERIMENTS)


def loss_kind(r: Record) -> str:
    return "mse" if field_value(r, "loss") == "mse" or experiment(r) == "mse" else "ce"


def is_flow(r: Record) -> bool:
    return experiment(r) == "gradient_flow" or field_value(r, "schedule") == "flow"


def follows_flow(r: Record) -> bool:
    """A run that integrates the gradient flow: η = min(η_max, c/λ_1) (``flow``) or exponential
    Euler (``expeuler``)."""
    return is_flow(r) or field_value(r, "schedule") == "expeuler"


def is_random_input(r: Record) -> bool:
    name = str(field_value(r, "dataset") or "") + " " + str((r.doc.get("data") or {}).get("name", ""))
    return "random" in name.lower()


def hashable(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v


def group_sweep(records: Iterable[Record], vary: Sequence[str]) -> dict[tuple, list[Record]]:
    """Records grouped by :data:`GROUP_KEYS` minus ``vary``; key = ((field, value), ...). The
    seed is never a key: runs differing only by seed are replicates of one sweep point."""
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        key = tuple((k, hashable(field_value(r, k))) for k in GROUP_KEYS if k not in vary)
        groups.setdefault(key, []).append(r)
    return groups


def group_label(key: tuple) -> str:
    return " ".join(f"{k}={v}" for k, v in key if v is not None) or "all"


def by_value(grp: Iterable[Record], value: Callable[[Record], Any]) -> dict[Any, list[Record]]:
    """{value: records} sorted by value; records whose value is None are left out."""
    out: dict[Any, list[Record]] = {}
    for r in grp:
        if (v := value(r)) is not None:
            out.setdefault(v, []).append(r)
    return dict(sorted(out.items()))


def distinct(records: Iterable[Record]) -> list[Record]:
    """The records without aliases whose source is among them: an alias (``doc["alias_of"]``)
    is a finished run copied under another experiment name, so a pool over several experiments
    must not count it twice. An entry capture run again with a protocol run's exact config (the
    same trajectory, recorded with |d_i|: the cpu grid's seeds 1–2) is the same run twice too."""
    rs = list(records)
    paths = [r.path.as_posix() for r in rs]

    def run_key(r: Record) -> tuple:
        # the setting and the bookkeeping fields that change the trajectory
        cfg = r.config or {}
        return (setting_key(r), *(str(cfg.get(k)) for k in ("seed", "data_seed", "max_steps", "max_t")))

    def copied(r: Record) -> bool:
        a = r.doc.get("alias_of")
        return bool(a) and any(p.endswith("/" + str(a).strip("/")) and p != r.path.as_posix()
                               for p in paths)

    protocol = {run_key(r) for r in rs if experiment(r) != "entry"}
    return [r for r in rs if not copied(r)
            and not (experiment(r) == "entry" and not r.doc.get("alias_of") and run_key(r) in protocol)]


def of_experiment(records: Iterable[Record], *names: str) -> list[Record]:
    return [r for r in records if experiment(r) in names]


def arrays(r: Record) -> dict[str, np.ndarray]:
    """The record's arrays.npz (read once per Record object, then cached on it)."""
    cached = r.__dict__.get("_claims_arrays")
    if cached is None:
        cached = r.arrays()
        r.__dict__["_claims_arrays"] = cached
    return cached


def num(x: Any) -> float | None:
    """A finite float, or None (missing, NaN or inf values are "not measured")."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def step_of(p: dict, i: int) -> int:
    return int(p["step"]) if p.get("step") is not None else i


# ============================================================================ run validity


def iterations_per_eta(r: Record) -> float | None:
    """1/η of a constant-η run (None without η or when it follows the gradient flow, by either
    solver: its η varies, and its lr is only the cap η_max)."""
    eta = lr(r)
    return 1.0 / eta if eta and eta > 0 and not follows_flow(r) else None


def validity(r: Record) -> tuple[bool, str | None]:
    """(valid, reason): the summary's ``valid``/``invalid_reason`` when present, else derived
    from the summary and telemetry (diverged, dead, stop rule met at initialisation, stopped
    within the first 1/η iterations). A record without a summary is judged on its telemetry."""
    s = r.summary or {}
    # a flow's summary written before the trainer exempted adaptive schedules from the 1/η rule
    # (its only reason left for a run that did not diverge, die or stop at step 0): re-judged
    stale = (follows_flow(r) and s.get("valid") is False and (s.get("steps") or 0) > 0
             and s.get("stop_reason") not in ("diverged", "dead"))
    if "valid" in s and s["valid"] is not None and not stale:
        ok = bool(s["valid"])
        return ok, None if ok else (s.get("invalid_reason") or "marked invalid by its run")
    for i, p in enumerate(r.telemetry):
        if "loss" in p and p["loss"] is not None and num(p["loss"]) is None:
            return False, f"diverged at step {step_of(p, i)} (loss={p['loss']})"
    if s.get("stop_reason") == "diverged" or ("final_loss" in s and s["final_loss"] is not None
                                               and num(s["final_loss"]) is None):
        return False, f"diverged at step {s.get('steps', '?')} (loss={s.get('final_loss')})"
    if s.get("stop_reason") == "dead":
        return False, "no live units (every ReLU dead at the end)"
    steps = s.get("steps")
    if steps is not None:
        if int(steps) == 0 and s.get("stop_reason") in STOP_AT_INIT:
            return False, "stop rule met at initialisation"
        n1 = iterations_per_eta(r)
        if n1 is not None and int(steps) < n1:
            return False, f"stopped within its first 1/η iterations (step {int(steps)} < {n1:g})"
    return True, None


def split_valid(records: Iterable[Record]) -> tuple[list[Record], dict[str, str]]:
    """(valid records, {name: why} of the excluded ones)."""
    ok, ex = [], {}
    for r in records:
        valid, why = validity(r)
        if valid:
            ok.append(r)
        else:
            ex[label(r)] = why
    return ok, ex


def truncation(r: Record, th) -> str | None:
    """Why a run is truncated (stopped by an iteration, time or wall-clock cap before its
    protocol's stop, L < 0.1 or t = ``th.protocol_t``), or None. Reached targets (loss,
    accuracy, ‖g‖) and a t cap at or past the protocol's are the protocol's own stops."""
    s = r.summary or {}
    why = s.get("stop_reason")
    if why not in ("max_steps", "max_t", "max_seconds"):
        return None
    steps, eta = s.get("steps"), lr(r)
    t = num(s.get("t"))
    if t is None and steps is not None and eta and not is_flow(r):
        t = float(steps) * eta
    if t is not None and t >= th.protocol_t - 1e-9:
        return None
    cap = {"max_steps": "iteration cap", "max_t": "t cap", "max_seconds": "wall-clock cap"}[why]
    at = f"t = {t:.3g}" if t is not None else f"step {steps}"
    return f"truncated: {at} of {th.protocol_t:g}/η ({cap})"


def net_label(r: Record) -> str:
    """The net in a few words: ``alexnet-relu ×1/16`` (scale) or ``cifar8 192-16-16-10 tanh``."""
    if regime(r) == "scale":
        w = field_value(r, "width") or 1
        return f"{net_family(r)} ×{f'1/{round(1 / w)}' if w < 1 else f'{w:g}'}"
    widths = (r.summary or {}).get("widths") or []
    return (f"{field_value(r, 'dataset')} {'-'.join(map(str, widths))} "
            f"{field_value(r, 'activation') or 'relu'}").strip()


def net_family(r: Record) -> str:
    """The net without its size: ``alexnet-relu`` (scale), ``cifar8 depth 2 tanh`` (toy): the
    runs of one family at one n_D, η and n_c differ only in width (the edge map's size axis)."""
    if regime(r) == "scale":
        return f"{field_value(r, 'arch') or 'alexnet'}-{field_value(r, 'activation') or 'relu'}"
    depth = len((r.summary or {}).get("widths") or [])
    return f"{field_value(r, 'dataset')} depth {depth} {field_value(r, 'activation') or 'relu'}"
