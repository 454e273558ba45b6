"""The only code that derives statistics from run records.

The claims evaluators, the report, every figure and Table 1 read records through these
functions, so a number shown anywhere is the number a verdict was computed from.

Records are picked by their ``config.json`` (top-level ``"regime"`` and ``"experiment"``, and
the run's ``"config"`` dict); nothing here builds a model.

Telemetry indices: ``rho`` and ``eigenvalues`` are stored descending (λ_1 first), so
ρ_{n_c−1} is ``rho[n_c − 2]`` and ρ_{n_c} is ``rho[n_c − 1]``.

Where a run was (CLAIMS.md, "[L] when a run can test a claim about the edge")
------------------------------------------------------------------------------
- Run validity (:func:`validity`): the summary's ``valid`` / ``invalid_reason`` when present;
  otherwise derived: non-finite loss or ``stop_reason == "diverged"``; ``"dead"``; the stop rule
  met at initialisation (step 0); stopped within the first 1/η iterations — of a constant η:
  a run that follows the gradient flow (``flow`` or ``expeuler``) has no fixed η, its lr is the
  cap η_max, and L8/K1 carry their own scope (a summary written under the older reading, which
  applied η_max, is re-judged). Invalid runs are excluded from every verdict, with the reason.
- Eligible telemetry (``edge(r, th).eligible``): step 0 never counts, nor the catapult of a run
  that starts above the edge: when ρ_1 > ``catapult_rho`` at a point within the first 1/η
  iterations, every point before iteration 1/η and the points right after it while ρ_1 stays
  above ``catapult_rho`` are the catapult.
- On the edge (:func:`edge`): an eligible point with ρ_1 ≥ ``edge_rho``; the run reached the edge
  with ≥ ``edge_points`` consecutive on-edge points. Statistics "over the edge" use on-edge
  points only. The edge count is the number of i with median on-edge ρ_i ≥ ``rho_edge``. The
  cadence precondition (telemetry every ≤ 1/(5η) iterations through the edge phase) is checked
  and reported, not enforced.
"""

from __future__ import annotations

from simlab.claims.readers.edge import *  # noqa: F401,F403
from simlab.claims.readers.flow import *  # noqa: F401,F403
from simlab.claims.readers.records import *  # noqa: F401,F403
from simlab.claims.readers.spectra import *  # noqa: F401,F403

