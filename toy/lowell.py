r"""Lowell 2022's protocol in the toy regime, on the edge of stability, where every eigenvalue of H
is known exactly.

A run is a :class:`~simlab.toy.run.ToyConfig` run by the one toy runner
(:func:`simlab.toy.run.run`, ``python -m simlab toy``) with the settings of :data:`PROTOCOL`
(:func:`config` applies them); it trains a small MLP by full-batch GD through the one trainer
(:func:`simlab.trainer.train`):

- telemetry every ``telemetry_every`` iterations (≤ 1/(5η) in the grids, so the edge phase is
  seen), the top-k eigenpairs by Lanczos on the *exact* float64 Hessian-vector products
  (``eig_method="lanczos"``; no dense H per point), ρ_i = ηλ_i/2, ‖P_top g‖, ‖P_bulk g‖,
  ΔL_top, ΔL_bulk by re-evaluation;
- full dense spectra (``Landscape.hessian`` + ``eigvalsh``) at θ_0, every ``dense_every``
  iterations and at the end, kept in ``arrays.npz`` as ``dense_steps`` / ``dense_eigenvalues``
  and summarised per spectrum in ``summary["dense_spectra"]`` (``eigenvalues_only``: the
  3,530 × 3,530 matrices themselves are not stored);
- stop at L < ``target_loss``, L < ``loss_fraction``·L(θ_0) (MSE: L = 1/n_c at zero output makes
  a fixed target meaningless), t = Σ η ≥ ``max_t`` or ``max_steps``; ``schedule="flow"`` gives
  gradient flow η = min(lr, flow_c/λ_1) with λ_1 from the exact operator at every iteration;
- under gradient flow, Lowell's cusp (L9) at the end: θ* of peak λ_1 replayed from θ_0 with the
  run's own η history (:func:`simlab.cusp.theta_at_step`, bit for bit the run's θ), h_1 there by
  Lanczos on the exact operator and L(θ*+Δh_1) − L(θ*) for ``cusp_points`` Δ in
  [−``cusp_radius``, ``cusp_radius``], in ``summary["cusp"]`` as in the scale regime
  (:func:`simlab.toy.run.flow_cusp`).

The same run from the command line (every field is a flag; ``--grad-tol 0`` never stops on
‖g‖, as ``grad_tol=None`` does: a run with ‖g‖ = 0 stops as "dead" first)::

    python -m simlab toy --dataset cifar8 --n-data 500 --hidden 16 --depth 2 --activation tanh \
        --standardise --eig-method lanczos --eigenvalues-only --grad-tol 0 --target-loss 0.1 \
        --lr 0.1 --max-t 250 --steps 2501 --telemetry-every 2 --dense-every 250

The grids that use it are declared once, in :mod:`simlab.paper.experiments`.
"""

from __future__ import annotations

import math
from pathlib import Path

from simlab.record import Record
from simlab.toy.run import ToyConfig

# Lowell's protocol: the fields whose value differs from ToyConfig's default (Sagun's blob runs)
PROTOCOL = dict(dataset="cifar8", n_data=500, hidden=16, depth=2, activation="tanh",
                grad_tol=None, target_loss=0.1, experiment="lr_sweep", standardise=True,
                eig_method="lanczos", eigenvalues_only=True)


def config(**changes) -> ToyConfig:
    """A toy run with Lowell's protocol (:data:`PROTOCOL`), ``changes`` applied on top."""
    return ToyConfig(**{**PROTOCOL, **changes})


# ============================================================================ figures and lines


def summary_line(d: Path) -> str:
    """One line per run for the console: stop, loss and where the run was relative to the edge
    (from :mod:`simlab.claims.readers`, the numbers the claims use)."""
    from simlab.claims import Thresholds, readers

    r = Record.load(d, drop_truncated=True)
    s = r.summary or {}
    e = readers.edge(r, Thresholds())
    ok, why = readers.validity(r)
    where = (f"on the edge for {e.iterations} iterations, edge count {e.edge_count} (n_c − 1 = "
             f"{(e.n_classes or 0) - 1})" if e.reached else readers.edge_not_reached([r], Thresholds()))
    return (f"{d.name}: η {r.config['lr']:g}, {s.get('stop_reason')} at step {s.get('steps')} "
            f"(t {s.get('t', 0):.3g}), loss {s.get('final_loss', math.nan):.4g}, "
            f"{len(r.telemetry)} points, {where}" + ("" if ok else f"; EXCLUDED: {why}"))