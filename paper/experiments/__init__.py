"""Every experiment grid, declared once: the run configs and the claims each grid feeds.

``python -m simlab paper run --only X``, ``python -m simlab toy --experiment X`` and
``python -m simlab scale --experiment X`` all expand the grids declared in this package (:func:`expand`);
a :class:`Run` is one record: a unique ``name`` (its folder under the runs directory), the
``grid`` it belongs to, its ``kind`` (which runner executes it), the regime's frozen config
and the claims it feeds. Each record's ``config.json`` states its ``experiment`` (the claims
engine groups by it; no folder-name sniffing).

The grids are declared in one module per source: :mod:`simlab.paper.experiments.toy_lowell` (the toy
Lowell grids and the predictions), :mod:`simlab.paper.experiments.sagun` (Sagun's grids) and
:mod:`simlab.paper.experiments.scale` (the scale grids and the bridge); :class:`Run` is in
:mod:`simlab.paper.experiments.run`. This module is the registry over them: ``GRIDS`` (each grid's
regime and claims), :func:`grid` (every run of a preset, in run order), :func:`select`,
:func:`expand` and :func:`names`.

Grids of the ``cpu`` preset, in the order they run (most valuable first; ``*`` = beyond the
papers). Where a seed of a setting falls outside a headline claim's scope and 3 in scope are
still possible, the grid declares the next seed (one per setting), with the measured reason
beside it (whatever that seed then shows): toy n_c = 3 seed 3, scale η = 0.002 and 0.01 seed 3. Toy Lowell runs: CIFAR-10 average-pooled to 8×8×3 (``cifar8``, each feature
standardised), n_D = 500, 192-16-16-n_c tanh MLP (3,530 parameters at n_c = 10), float64,
telemetry every ≤ 1/(5η) iterations with the top 20 by Lanczos on the exact Hessian products,
dense spectra at θ_0/every 25/η/at the end (seed 0) or at the end (other seeds), stop at
L < 0.1 or t = 250.

=================  =====  ======================================================  ============
grid               regime what                                                    claims
=================  =====  ======================================================  ============
toy_lr_sweep       toy    n_c = 10, η ∈ {0.2, 0.1, 0.08}, seeds 0–2 (+ η = 0.05)   L1 L3 L5 L6 L7
toy_class_sweep    toy    n_c ∈ {2,3,5,10} at η = 0.2, seeds 0–2 (n_c = 3: 0–3)    L2 S8
toy_entry          toy    η = 0.2, telemetry every iteration (= lr_sweep η = 0.2)  L4
toy_mse            toy    MSE, n_c ∈ {2,3,5,10}, η = 0.05·n_c, L < 0.1·L(θ_0)      S8 S4
toy_continuation*  toy    GD / Bulk-GD / Top-GD for 2/η iterations from on-edge θ  L10
toy_flow           toy    gradient flow η = min(0.1, 0.5/λ_1), n_D 64…512 (5 sizes,  L8 L9
                          8×), seeds 0–1
toy_flow_relu      toy    the same sweep on the ReLU net, seeds 0–2                L8 L9
toy_edge_nd        toy    η = 0.1, n_D ∈ {125, 250, 500, 1000}: on-edge λ vs n_D   L8 (plot)
predictions        toy    Y1–Y8 derived with sympy and checked on exact Hessians   Y1–Y8
toy_kastner*       toy    the toy_flow sizes by exponential Euler and by flow with  K1 K2
                          c = 0.1, λ_1(H) and λ_1(G) every 100 iterations; both   L8 L9
                          flow sweeps (tanh, ReLU) by exponential Euler
toy_gauss_newton*  toy    η = 0.2 (= lr_sweep), seeds 0–2, λ_1(G) every 100        K2
toy_width          toy    η = 0.2 at hidden widths 8, 32, 64, seeds 0–2 (edge map)  L1 L3 L5–L7
sagun_*            toy    blobs width / std / MSE sweeps, MNIST-1000 vs random,    S1–S7 F1 F2
                          3 seeds; std 0.5: η = 0.1 then 1/λ_1 until ‖g‖ ≤ 1e-4
                          (the std-1 MSE run: seed 0 only; tanh std-1 MSE: the
                          same two phases, seeds 0–2; tanh init spread, seeds 0–4)
sagun_critical     toy    std-0.5 blobs (as above) and 784-2-10 at η = 1/λ_1       S6 F2 (‖g‖ ≤ 1e-3)
sagun_newton       toy    std-1 and std-2 blobs, tanh h = 10, seeds 0–2: η = 0.1,  S1–S6 F2
                          then damped Newton on the exact Hessian to ‖g‖ ≤ 1e-4;
                          widths 4–18 at std 1, 4–10 at std 2; MSE at std 1 and 2;
                          MNIST-1000 784-2-10
scale_*            scale  AlexNet width 1/16, n_D 256 and 512 (η sweep), seeds 0–2  L1–L10 S8
                          for the n_D = 512 η sweep and the class sweep
scale_cusp         scale  L9's slices re-scanned after the first 10 % of          L9
                          each scale flow run (past the initial spike)
scale_kastner*     scale  K2: η = 0.01 at n_D 256, seeds 0–2, λ_1(G) at every point; K1 K2
                          K1: the flow sizes from n_D 64 by exp. Euler, seeds 0–1 L8 L9
scale_lr_wide      scale  η ∈ {0.02, 0.01, 0.005, 0.002, 0.001} at n_D 1024, top 11, L1 L3 L5–L7
                          telemetry every 1/(5η), stop L < 0.1 or t = 40, seeds 0–2
                          (η = 0.001: seed 0; η = 0.002, 0.01: seeds 0–3)
scale_width        scale  AlexNet widths 1/8, 1/4 (η = 0.005), VGG-16 width 1/16    L1 L3 L5–L7
                          (η = 0.02), n_D 256, top 11, seeds 0–2 (edge map); width
                          1/8 at n_D 1024 as the η sweep's η = 0.005
scale_class_wide   scale  n_c ∈ {2,3,5,10} at n_D 512, η = 0.01, top 11, stop      L2 S8
                          L < 0.1 or t = 40, seeds 0–2
bridge_*           both   the same nets measured by dense eigh and by Lanczos      bridge
=================  =====  ======================================================  ============
"""

from __future__ import annotations

from simlab.errors import UsageError
from simlab.paper.experiments.run import AliasConfig, Run
from simlab.paper.experiments.sagun import SAGUN, SagunSizes, sagun_runs
from simlab.paper.experiments.scale import SCALE, SCALE_FIRST_LR, bridge_runs, scale_runs
from simlab.paper.experiments.toy_lowell import (CLASS_COUNTS, EDGE, EdgeSizes, edge_config,
                                           prediction_runs, toy_continuation_runs, toy_edge_runs,
                                           toy_flow_runs, toy_kastner_runs, toy_width_runs)

__all__ = ["PRESETS", "GRIDS", "Run", "AliasConfig", "grid", "grid_names", "names", "declared", "select",
           "expand", "CLASS_COUNTS", "EDGE", "EdgeSizes", "edge_config", "SAGUN", "SagunSizes",
           "SCALE", "SCALE_FIRST_LR", "toy_edge_runs", "toy_continuation_runs", "toy_flow_runs", "toy_kastner_runs", "toy_width_runs",
           "prediction_runs", "sagun_runs", "scale_runs", "bridge_runs"]

PRESETS = ("smoke", "cpu")
# the grids of Lowell & Kastner 2024's claims (K1, K2): the tier `paper run --skip` can leave out
K_TIER = ("toy_kastner", "scale_kastner", "toy_gauss_newton")

# every grid: (regime, the claims it feeds), in the order the grids run
GRIDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "toy_lr_sweep": ("toy", ("L1", "L3", "L5", "L6", "L7")),
    "toy_class_sweep": ("toy", ("L2", "S8")),
    "toy_entry": ("toy", ("L4",)),
    "toy_mse": ("toy", ("S8", "S4")),
    "toy_continuation": ("toy", ("L10",)),
    "toy_flow": ("toy", ("L8", "L9")),
    "toy_flow_relu": ("toy", ("L8", "L9")),
    "toy_edge_nd": ("toy", ("L8",)),
    "sagun_width": ("toy", ("S1", "S2", "S5", "S6", "F1", "F2")),
    "sagun_std": ("toy", ("S3", "S7")),
    "sagun_mse": ("toy", ("S4",)),
    "sagun_random": ("toy", ("S7",)),
    "sagun_critical": ("toy", ("S1", "S5", "S6", "F2")),
    "sagun_newton": ("toy", ("S1", "S2", "S3", "S4", "S5", "S6", "F2")),
    "predictions": ("toy", tuple(f"Y{i}" for i in range(1, 9))),
    "scale_lr_sweep": ("scale", ("L1", "L3", "L5", "L6", "L7")),
    "scale_class_sweep": ("scale", ("L2", "S8")),
    "scale_entry": ("scale", ("L4",)),
    "scale_continuation": ("scale", ("L10",)),
    "scale_mse": ("scale", ("S8",)),
    "scale_flow": ("scale", ("L8", "L9")),
    "scale_cusp": ("scale", ("L9",)),
    "toy_kastner": ("toy", ("K1", "K2", "L8", "L9")),
    "toy_gauss_newton": ("toy", ("K2",)),
    "toy_width": ("toy", ("L1", "L3", "L5", "L6", "L7")),
    "scale_kastner": ("scale", ("K1", "K2", "L8", "L9")),
    "scale_lr_wide": ("scale", ("L1", "L3", "L5", "L6", "L7")),
    "scale_width": ("scale", ("L1", "L3", "L5", "L6", "L7")),
    "scale_class_wide": ("scale", ("L2", "S8")),
    "bridge_mlp": ("bridge", ()),
    "bridge_cnn": ("bridge", ()),
}


def _seed(r: Run) -> int:
    """The seed a run belongs to (a continuation or alias: its source's)."""
    name = getattr(r.config, "source", None) or r.name
    tail = name.rsplit("_s", 1)
    if len(tail) == 2 and tail[1].isdigit():
        return int(tail[1])
    return int(getattr(r.config, "seed", 0) or 0)


def _tier(r: Run) -> int:
    """Run order: every claim measured once before seeds are added, cheap before costly —
    toy edge seed 0 → its L10 continuations → toy gradient flow → Sagun seed 0 and the
    predictions → toy edge seed 1 → toy MSE and seed 2 → the scale η sweeps and their L10
    continuations → the n_D sweep →
    Sagun's other seeds → the rest of the scale regime → the bridge → scale gradient flow."""
    seed = _seed(r)
    if r.grid in ("toy_lr_sweep", "toy_class_sweep", "toy_entry", "toy_continuation"):
        if seed == 0:
            return 1 if r.grid == "toy_continuation" else 0
        return 4 if seed == 1 else 5
    if r.grid in ("toy_flow", "toy_flow_relu"):
        return 2
    if r.grid.startswith("sagun") or r.grid == "predictions":
        return 3 if seed == 0 and "fluct" not in r.name else 9
    if r.grid == "toy_mse":
        return 5
    if r.grid in ("scale_lr_sweep", "scale_continuation"):
        return 7 if "_nD" in r.name else 6
    if r.grid == "toy_edge_nd":
        return 8
    if r.grid in ("scale_flow", "scale_cusp"):
        return 12   # λ_1 every iteration: the costliest scale runs, last (a re-scan after its source)
    if r.grid in K_TIER:
        return 13
    if r.grid == "scale_class_wide":
        return 15 + seed   # L2 at scale with ρ_11 seen (issue 22): ~5 min a run
    if r.grid in ("scale_lr_wide", "scale_width"):
        # issue 22, added after the edge map: seed 0 of the 10× η sweep at n_D 1024, then every
        # seed of the other nets (3–5 min a run at n_D 256), then the sweep's other seeds
        if r.grid == "scale_width":
            return 16
        return 15 if seed == 0 else 16 + seed
    if r.grid == "toy_width":
        return 14   # the edge map over model size (issue 22), after the [K] runs   # [K], added after the cpu grid of the 2022 claims
    return 10 if r.regime == "scale" else 11


def grid(preset: str) -> list[Run]:
    """Every run of a preset, in the order they run (most valuable first)."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    e = EDGE[preset]
    runs = (toy_edge_runs(e) + toy_continuation_runs(e) + toy_flow_runs(e)
            + (toy_kastner_runs(e) if preset != "smoke" else []) + toy_width_runs(e)
            + sagun_runs(SAGUN[preset]) + prediction_runs(preset) + scale_runs(preset)
            + bridge_runs(preset))
    runs = sorted(runs, key=_tier)  # stable: the builders' order within a tier
    names = [r.name for r in runs]
    assert len(names) == len(set(names)), "run names must be unique"
    return runs


def grid_names(runs: list[Run]) -> list[str]:
    return list(dict.fromkeys(r.grid for r in runs))


def names(regime: str | None = None, preset: str = "cpu") -> list[str]:
    """Grid names of a regime ("toy", "scale", "bridge") or of all (``preset`` is accepted for
    symmetry: every preset declares the same grids, the smoke preset without predictions)."""
    return [g for g, (reg, _) in GRIDS.items() if regime is None or reg == regime]


def declared(name: str, regime: str) -> bool:
    """``name`` is a grid of ``regime``, spelled with or without its prefix (``lr_sweep`` or
    ``toy_lr_sweep`` under ``toy``): what ``toy|scale --experiment NAME`` accepts."""
    grids = names(regime)
    return name in grids or f"{regime}_{name}" in grids


def select(runs: list[Run], only: list[str] | None) -> list[Run]:
    """The runs of the named grids (a name may also be a run's folder or a prefix of it), in
    ``runs``' order (the grid's run order: most valuable first), whatever the order of ``only``."""
    if not only:
        return runs
    known = grid_names(runs)
    picked, unknown = [], []
    for want in only:
        hit = [r for r in runs if r.grid == want or r.name == want or r.name.startswith(want + "/")]
        if not hit:
            unknown.append(want)
        picked += hit
    if unknown:
        raise UsageError(f"unknown grid(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    wanted = {r.name for r in picked}
    return [r for r in runs if r.name in wanted]


def expand(name: str, preset: str = "cpu", regime: str | None = None, *,
           with_sources: bool = False) -> list[Run]:
    """The runs of one grid: ``name`` is a grid name (``toy_lr_sweep``) or, with ``regime``, the
    name without its regime prefix (``lr_sweep`` under ``toy``). ``with_sources`` puts the runs a
    member needs (an alias's or a continuation's source) in front."""
    runs = grid(preset)
    if regime is not None and name not in GRIDS:
        name = f"{regime}_{name}"
    picked = select(runs, [name])
    if not with_sources:
        return picked
    by_name = {r.name: r for r in runs}
    have = {r.name for r in picked}
    extra = []
    for r in picked:
        src = getattr(r.config, "source", None)
        if src is not None and src not in have and src in by_name:
            have.add(src)
            extra.append(by_name[src])
    return extra + picked
