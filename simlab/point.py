"""A telemetry point, typed: :class:`Point` (what :func:`simlab.telemetry.measure` returns) and
:class:`Stamp` (where the trainer took it), each field documented once, here.

One line of ``telemetry.jsonl`` is :func:`line`: the stamp's ``step``, ``t``, ``lr``, then the
point's fields in the order declared below (the full-spectrum statistics only when the spectrum
was full), then what probes added, then the stamp's ``wall_time``::

    {"step": 40, "t": 4.0, "lr": 0.1, "loss": …, "accuracy": …, …, "residuals": […],
     ["near_zero_fraction": …, …, "negative_fraction": …,] [probe fields …,] "wall_time": …}

A :class:`Point` reads like the dict it replaces (``point["rho"]``, ``dict(point)``,
``{**point}``: a read-only mapping over its JSON form), so records and the readers, which read
dicts, do not change. :meth:`Point.to_json` is that form; ``RecordWriter`` writes it unchanged.
The record checker (:func:`simlab.record_schema.check_point`) takes each field's JSON type from the
annotations here (:func:`json_types`), so a new field is declared in one place.

This module imports neither torch nor numpy: the record layer reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterator


def _field(doc: str, *, optional: bool = False) -> Any:
    """A field with its meaning (units, sign, what is averaged) in ``metadata["doc"]``;
    ``optional`` fields default to None and are left out of the JSON form when None."""
    meta = {"doc": doc, "optional": optional}
    return dataclasses.field(default=None, metadata=meta) if optional else dataclasses.field(metadata=meta)


@dataclass(frozen=True, eq=False)
class Point(Mapping):
    """Lowell 2022's quantities at one θ (and Sagun's statistics when the spectrum is full).

    η is the learning rate the point was measured for, n_c the number of classes, h_i the
    eigenvector of λ_i, g = ∇L(θ); the top subspace is span(h_1 … h_{n_top}). Equal to a dict
    with the same JSON form (``point == dict(point)``); fields are not reassigned after
    :func:`~simlab.telemetry.measure` builds the point."""

    loss: float = _field("L(θ): the mean loss over the whole training set (the objective GD "
                         "follows)")
    accuracy: float = _field("fraction of the training examples whose largest output is their "
                             "label, in [0, 1]")
    grad_norm: float = _field("‖g‖₂, g = ∇L(θ) the whole-set mean gradient")
    theta_norm: float = _field("‖θ‖₂ of the flat parameter vector")
    eigenvalues: list[float] = _field("λ_1 ≥ … ≥ λ_k: the top k eigenvalues of the operator "
                                      "measured (the Hessian of L unless another was given), "
                                      "descending; k = min(k asked, n_params − 1), all n_params "
                                      "when dense")
    eta_star: list[float] = _field("η*_i = 2/λ_i: the step size at the edge of stability along "
                                   "h_i (inf where λ_i ≤ 0)")
    rho: list[float] = _field("ρ_i = η λ_i / 2: 1 is the edge along h_i; above 1, GD on the "
                              "quadratic model is unstable along h_i")
    d: list[float] = _field("d_i = h_i · g: the gradient's coordinate along each eigenvector "
                            "(the sign of h_i is the eigensolver's)")
    n_top: int = _field("eigenvectors spanning the top subspace: n_c − 1 (1 when n_c ≤ 2), fewer "
                        "only when fewer were computed (the claims refuse such points)")
    p_top_norm: float = _field("‖P_top g‖₂, P_top g = Σ_{i ≤ n_top} d_i h_i")
    p_bulk_norm: float = _field("‖P_bulk g‖₂, P_bulk g = g − P_top g")
    dl_top: float = _field("ΔL_top = L(θ − η P_top g) − L(θ), by moving θ and re-evaluating the "
                           "loss (never a Taylor expansion); negative: the step lowers L")
    dl_bulk: float = _field("ΔL_bulk = L(θ − η P_bulk g) − L(θ), likewise")
    n_matvecs: int = _field("operator products (Hessian-vector products for a matrix-free "
                            "operator) the eigensolver took for this point, residuals included")
    residuals: list[float] = _field("‖H h_i − λ_i h_i‖₂ of each eigenpair (NaN where not "
                                    "computed)")
    # the full-spectrum statistics (simlab.spectrum.spectrum_stats), only when every eigenvalue
    # is known (method="dense"); absent from the JSON form otherwise
    near_zero_fraction: float | None = _field("fraction of all eigenvalues with |λ| ≤ eps·λ_max",
                                              optional=True)
    outlier_count: int | None = _field("eigenvalues above the largest gap (= gap_index) when "
                                       "gap_ratio ≥ 3, else 0", optional=True)
    gap_ratio: float | None = _field("the largest λ_i / max(λ_{i+1}, eps·λ_max) over i = 1 … "
                                     "min(2 n_c, n − 1), descending order (NaN when n = 1)",
                                     optional=True)
    gap_index: int | None = _field("the i of that largest ratio (0 when n = 1)", optional=True)
    lambda_min: float | None = _field("the smallest eigenvalue", optional=True)
    lambda_max: float | None = _field("the largest eigenvalue", optional=True)
    n_negative: int | None = _field("eigenvalues below −1e-10·|λ_max| (below the numerical zero "
                                    "of a float64 eigh)", optional=True)
    negative_fraction: float | None = _field("n_negative / n", optional=True)
    # how the eigensolver ended, only when it ended without its stop rule
    solver_stop: str | None = _field("\"budget\": the Lanczos solve took its product budget "
                                     "without its certificate (the values are its best Ritz "
                                     "values, their accuracy not established); absent when the "
                                     "solve stopped by its rule", optional=True)

    def to_json(self) -> dict[str, Any]:
        """The point as its telemetry line holds it: every field in declaration order, the
        optional ones only when measured. The values are the measured objects themselves."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not (f.metadata["optional"] and getattr(self, f.name) is None)}

    # a read-only mapping over to_json(), so code that read the dict reads the point
    def __getitem__(self, key: str) -> Any:
        if key in _NAMES and not (key in _OPTIONAL and getattr(self, key) is None):
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass(frozen=True)
class Stamp:
    """Where in a run a point was taken: written around the :class:`Point` on its line."""

    step: int = _field("the iteration n at which θ_n was measured (0: the initial θ)")
    t: float = _field("t_n = Σ_{m<n} η_m, the gradient-flow time (nη for a constant η)")
    lr: float = _field("η_n, the step size of iteration n: the η of ρ, η* and ΔL at this point")
    wall_time: float = _field("seconds from the start of the run to the end of this point (its "
                              "probes included; a resumed run counts the interrupted one too)")


_NAMES = frozenset(f.name for f in dataclasses.fields(Point))
_OPTIONAL = frozenset(f.name for f in dataclasses.fields(Point) if f.metadata["optional"])


def line(stamp: Stamp, point: Point, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One ``telemetry.jsonl`` line: step, t, lr, the point, ``extra`` (probe fields; one that
    repeats a point's name replaces its value in place), wall_time."""
    return {"step": stamp.step, "t": stamp.t, "lr": stamp.lr, **point.to_json(), **(extra or {}),
            "wall_time": stamp.wall_time}


def json_types() -> dict[str, str]:
    """Each documented field's type as annotated (``"float"``, ``"int"``, ``"list[float]"``, ``"str"``;
    ``| None`` dropped): the stamp's, then the point's."""
    out = {}
    for cls in (Stamp, Point):
        for f in dataclasses.fields(cls):
            out[f.name] = f.type.replace(" | None", "")
    return out


def docs() -> dict[str, str]:
    """Each field's one documentation line: the stamp's, then the point's."""
    return {f.name: f.metadata["doc"] for cls in (Stamp, Point) for f in dataclasses.fields(cls)}
