"""The JSON type of every record field the claims readers, the figures and the summaries read.

A field may be absent or null (not measured); NaN and ±inf are numbers (a diverged run's loss);
fields not named here are not checked. A wrong type is a :class:`~simlab.errors.RecordError`
naming the file, the field and the value, raised by :meth:`simlab.record.Record.load` before any
reader sees it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from simlab.errors import RecordError
from simlab.point import json_types as point_json_types

NUMBER, INTEGER, STRING, BOOLEAN, OBJECT = "a number", "an integer", "a string", "true or false", "an object"
NUMBERS, INTEGERS, OBJECTS = "a list of numbers", "a list of integers", "a list of objects"
INT_OR_INTS = "an integer or a list of integers"

_DOC_FIELDS = {"regime": STRING, "experiment": STRING, "alias_of": STRING, "source": STRING,
               "config": OBJECT, "data": OBJECT}
_DATA_FIELDS = {"name": STRING, "n_data": INTEGER, "n_classes": INTEGER, "classes": INTEGERS,
                "input_dim": INTEGER}
_CONFIG_FIELDS = {
    **dict.fromkeys(("lr", "std", "width", "flow_c", "eps", "eig_tol", "grad_tol", "target_loss",
                     "target_accuracy", "max_t", "loss_fraction", "max_seconds", "cusp_radius",
                     "cusp_skip"),
                    NUMBER),
    **dict.fromkeys(("n_data", "n_classes", "depth", "seed", "data_seed", "max_steps",
                     "k", "telemetry_every", "entry_every", "entry_until", "snapshot_every",
                     "checkpoint_every", "dense_every", "stable_after", "stable_every",
                     "input_dim", "cusp_points", "slq_vectors", "slq_steps", "refresh_every",
                     "n_iter"), INTEGER),
    **dict.fromkeys(("dataset", "arch", "activation", "loss", "schedule", "experiment",
                     "eig_method", "dtype", "device", "preset", "source", "regime", "net"), STRING),
    "classes": INT_OR_INTS, "hidden": INT_OR_INTS, "lrs": NUMBERS, "class_counts": INTEGERS, "flow_sizes": INTEGERS,
    "standardise": BOOLEAN, "eigenvalues_only": BOOLEAN, "download": BOOLEAN,
}
_SUMMARY_FIELDS = {
    **dict.fromkeys(("lambda_max", "lambda_min", "lambda_max_init", "lambda_min_init",
                     "final_loss", "final_grad_norm", "final_accuracy", "test_accuracy",
                     "near_zero_fraction", "near_zero_fraction_init", "negative_fraction",
                     "theta_norm", "theta_norm_init", "theta0_norm", "t", "lr", "eps",
                     "initial_loss", "gap_ratio", "max_rho_1", "peak_lambda_1", "width",
                     "target_loss_used", "wall_time", "wall_time_total", "cpu_seconds"), NUMBER),
    **dict.fromkeys(("steps", "n_params", "n_classes", "n_data", "outlier_count", "gap_index",
                     "n_negative", "peak_step", "spectrum_step", "seed", "n_telemetry",
                     "total_hvps"), INTEGER),
    **dict.fromkeys(("stop_reason", "invalid_reason", "dataset", "experiment", "regime", "loss",
                     "activation", "schedule", "arch", "alias_of", "message"), STRING),
    **dict.fromkeys(("eigenvalues", "eigenvalues_init", "top_eigenvalues"), NUMBERS),
    **dict.fromkeys(("cusp", "continuation", "density", "slq", "predictions"), OBJECT),
    "widths": INTEGERS, "dense_spectra": OBJECTS, "valid": BOOLEAN,
}
# a telemetry line's fields are declared once, in simlab.point (the stamp and the point, their
# types as annotated there); lambda_1 and top_eigenvalues are other writers' names for λ's
_KIND_OF_TYPE = {"float": NUMBER, "int": INTEGER, "list[float]": NUMBERS, "str": STRING}
_TELEMETRY_FIELDS = {
    **{name: _KIND_OF_TYPE[tp] for name, tp in point_json_types().items()},
    "lambda_1": NUMBER, "top_eigenvalues": NUMBERS,
}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_integer(v) -> bool:
    return _is_number(v) and (isinstance(v, int) or (math.isfinite(v) and v == int(v)))


_CHECKS: dict[str, Callable[[Any], bool]] = {
    NUMBER: _is_number,
    INTEGER: _is_integer,
    STRING: lambda v: isinstance(v, str),
    BOOLEAN: lambda v: isinstance(v, bool),
    OBJECT: lambda v: isinstance(v, dict),
    # list entries may be null (a value that was not measured), never text
    NUMBERS: lambda v: isinstance(v, list) and all(x is None or _is_number(x) for x in v),
    INTEGERS: lambda v: isinstance(v, list) and all(_is_integer(x) for x in v),
    OBJECTS: lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    INT_OR_INTS: lambda v: _is_integer(v) or (isinstance(v, list) and all(_is_integer(x) for x in v)),
}


def check_fields(obj: dict, types: dict[str, str], where: str, prefix: str = "") -> None:
    """Every field of ``obj`` named in ``types`` is null or of its type; else a RecordError naming
    ``where`` (the file, and line), the field and its value."""
    for key, kind in types.items():
        v = obj.get(key)
        if v is not None and not _CHECKS[kind](v):
            shown = repr(v) if len(repr(v)) <= 60 else repr(v)[:57] + "..."
            raise RecordError(f"{where}: field {prefix}{key} is {shown}, not {kind}; the record "
                              "is corrupt or hand-edited: fix that value or rerun the run, or "
                              "leave the record out of the paths you pass")


def check_doc(doc: dict, path: Path) -> None:
    """The types of config.json's fields the readers use (its ``config`` and ``data`` too)."""
    check_fields(doc, _DOC_FIELDS, str(path))
    check_fields(doc.get("config") or {}, _CONFIG_FIELDS, str(path), "config.")
    check_fields(doc.get("data") or {}, _DATA_FIELDS, str(path), "data.")


def check_summary(summary: dict, path: Path) -> None:
    check_fields(summary, _SUMMARY_FIELDS, str(path))


def check_point(point: dict, path: Path, line: int) -> None:
    check_fields(point, _TELEMETRY_FIELDS, f"{path}: line {line}")
