"""The toy Lowell grids (experiments ``lr_sweep``, ``class_sweep``, ``entry``, ``mse``,
``continuation``, ``gradient_flow``, ``edge_nd``) and the symbolic predictions Y1–Y8: CIFAR-10
average-pooled to 8×8×3 and standardised, a 192-16-16-n_c tanh MLP, telemetry every ≤ 1/(5η)
with the top 20 by Lanczos on exact Hessian products (see :mod:`simlab.paper.experiments` for the
table of every grid)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from simlab.paper.common import data_root
from simlab.paper.experiments.run import AliasConfig, Run, fmt

CLASS_COUNTS = (2, 3, 5, 10)


@dataclass(frozen=True)
class EdgeSizes:
    n_data: int
    hidden: int
    lrs: tuple[float, ...]
    probe_lrs: tuple[float, ...]   # seed 0 only: η values documented outside the main sweep
    class_lr: float
    class_counts: tuple[int, ...]
    seeds: tuple[int, ...]
    max_t: float
    dense_t: float              # seed 0: a dense spectrum every dense_t/η iterations
    entry_lr: float
    entry_steps: int
    flow_sizes: tuple[int, ...]
    flow_lr: float
    flow_steps: int
    nd_sizes: tuple[int, ...]
    nd_lr: float
    cont_refresh: int
    mse_lr: float               # MSE runs: η = mse_lr · n_c
    mse_t: float
    relu_flow: bool = False     # the flow sweep's other seeds and the ReLU sweep (toy_flow_relu)
    widths: tuple[int, ...] = ()  # toy_width: the η sweep's first η at these hidden widths
    # exponential Euler alone past the flow sweep's largest n_D (ReLU, the first two seeds)
    expeuler_more: tuple[int, ...] = ()
    # class-sweep (n_c, seed) runs past ``seeds``: the next seed of a setting with a seed out of
    # L2's scope, so that 3 can be in it (CLAIMS.md rule 3), whatever the new seed shows
    class_more: tuple[tuple[int, int], ...] = ()


EDGE = {
    "smoke": EdgeSizes(n_data=60, hidden=4, lrs=(0.4, 0.2), probe_lrs=(), class_lr=0.3, class_counts=(2, 3),
                       seeds=(0,), max_t=3.0, dense_t=1.0, entry_lr=0.4, entry_steps=6,
                       flow_sizes=(20, 40), flow_lr=0.3, flow_steps=8, nd_sizes=(30,),
                       nd_lr=0.2, cont_refresh=2, mse_lr=0.1, mse_t=3.0),
    # η with 1/(5η) a whole number of iterations: telemetry every 1/(5η) gives 5 points per
    # unit of t at every η (a point costs ~50 exact HVPs; a GD step one gradient)
    # η = 0.05 (seed 0 only, kept as a measurement) never reached the edge: under its GD λ_1
    # peaked at 30.8 (t = 80) then fell, so 2/η = 40 was out of reach; η = 0.08 puts the edge at 25
    "cpu": EdgeSizes(n_data=500, hidden=16, lrs=(0.2, 0.1, 0.08), probe_lrs=(0.05,), class_lr=0.2,
                     class_counts=CLASS_COUNTS, seeds=(0, 1, 2), max_t=250.0, dense_t=25.0,
                     entry_lr=0.2, entry_steps=500, flow_sizes=(64, 128, 256, 384, 512),
                     flow_lr=0.1, flow_steps=15000, nd_sizes=(125, 250, 1000), nd_lr=0.1,
                     cont_refresh=2, mse_lr=0.05, mse_t=400.0, relu_flow=True, widths=(8, 32, 64),
                     expeuler_more=(768, 1024),
                     # n_c = 3: seed 1 has no n_c − 1 subspace (λ_2/λ_3 = 1.48 < 1.5), seeds 0 and 2 do;
                     # n_c = 5 has none at any seed, so more seeds could not reach 3 in scope
                     class_more=((3, 3),)),
}


def _alias(e: EdgeSizes, name: str, grid_name: str, source: Run, experiment: str,
           claims: tuple[str, ...]) -> Run:
    """``source``'s record under another experiment name."""
    return Run(name, grid_name, "alias", AliasConfig(source.name, experiment), claims, 1)


def edge_config(e: EdgeSizes, *, lr: float, seed: int = 0, **kw):
    """One toy Lowell run on the edge (a ToyConfig with :data:`simlab.toy.lowell.PROTOCOL`'s
    settings): telemetry every ≤ 1/(5η), stop at L < 0.1 or t = max_t."""
    from simlab.toy import lowell

    base = dict(data_root=data_root(), n_data=e.n_data, hidden=e.hidden, lr=lr, seed=seed,
                max_t=e.max_t, max_steps=round(e.max_t / lr) + 1,
                telemetry_every=max(1, int(1 / (5 * lr))), k=20,
                dense_every=round(e.dense_t / lr) if seed == 0 else 0)
    base.update(kw)
    return lowell.config(**base)


def toy_edge_runs(e: EdgeSizes) -> list[Run]:
    """Seed 0 of every grid first (η sweep, class sweep, entry, MSE), then the other seeds. A
    member whose config equals an η-sweep run's (class sweep n_c = 10 at the same η; entry capture
    = the η-sweep run at entry_lr, whose telemetry is every iteration from step 0) is an alias."""
    lowell = ("L1", "L3", "L5", "L6", "L7")
    first, rest = [], []

    def class_run(nc: int, seed: int) -> Run:
        return Run(f"toy/class_sweep/nc{nc}_s{seed}", "toy_class_sweep", "toy",
                   edge_config(e, lr=e.class_lr, seed=seed, classes=nc, experiment="class_sweep"),
                   ("L2", "S8"), 120)

    for seed in e.seeds:
        out = first if seed == e.seeds[0] else rest
        sweep = {}
        for lr in e.lrs + (e.probe_lrs if seed == e.seeds[0] else ()):
            sweep[lr] = Run(f"toy/lr_sweep/lr{fmt(lr)}_s{seed}", "toy_lr_sweep", "toy",
                            edge_config(e, lr=lr, seed=seed, experiment="lr_sweep"), lowell, 200)
            out.append(sweep[lr])
        for nc in e.class_counts:
            if nc == 10 and e.class_lr in sweep:
                out.append(_alias(e, f"toy/class_sweep/nc{nc}_s{seed}", "toy_class_sweep",
                                  sweep[e.class_lr], "class_sweep", ("L2", "S8")))
            else:
                out.append(class_run(nc, seed))
        # the entry capture at every seed: L4 is judged on the median over ≥ 3 seeds. Only
        # seed 0's is an alias: the committed η-sweep records of the other seeds are lean (paper
        # compact drops d_i outside entry captures), so theirs run again under "entry" (the same
        # config, the same numbers: ~850 iterations to L < 0.1, measured 5–11 min)
        name = f"toy/entry/lr{fmt(e.entry_lr)}" + (f"_s{seed}" if seed != e.seeds[0] else "")
        same = e.entry_lr in sweep and sweep[e.entry_lr].config.telemetry_every == 1
        if same and seed == e.seeds[0]:
            out.append(_alias(e, name, "toy_entry", sweep[e.entry_lr], "entry", ("L4",)))
        elif same:
            out.append(Run(name, "toy_entry", "toy",
                           replace(sweep[e.entry_lr].config, experiment="entry"), ("L4",), 700))
        else:
            out.append(Run(name, "toy_entry", "toy",
                           edge_config(e, lr=e.entry_lr, seed=seed, telemetry_every=1,
                                       max_steps=e.entry_steps, target_loss=None,
                                       dense_every=0, experiment="entry"), ("L4",), 90))
        if seed != e.seeds[0]:
            continue
        rest += [class_run(nc, more) for nc, more in e.class_more]
        for nc in e.class_counts:
            # torch's MSE mean over n_D·n_c makes g about n_c/2 times smaller than CE's at a
            # similar curvature: η = mse_lr·n_c trains in comparable t (measured: n_c = 10 at
            # η = 0.17 had ρ_1 ≤ 0.55 and 75 % accuracy at t = 340; at η = 0.5 the edge at t ≈ 240)
            lr = round(e.mse_lr * nc, 6)
            out.append(Run(f"toy/mse/nc{nc}", "toy_mse", "toy",
                           edge_config(e, lr=lr, classes=nc, loss="mse", target_loss=None,
                                       loss_fraction=0.1, max_t=e.mse_t,
                                       max_steps=round(e.mse_t / lr) + 1, dense_every=0,
                                       experiment="mse"), ("S8", "S4"), 200))
    return first + rest


def toy_continuation_runs(e: EdgeSizes) -> list[Run]:
    from simlab.continuation import claims_config

    out = []
    lr = e.lrs[1 if len(e.lrs) > 1 else 0]
    sources = [(f"toy/lr_sweep/lr{fmt(lr)}_s{s}", lr) for s in e.seeds]
    sources += [(f"toy/class_sweep/nc3_s{s}", e.class_lr) for s in e.seeds if 3 in e.class_counts]
    for src, lr in sources:
        name = "toy/continuation/" + src.split("/", 1)[1].replace("/", "_")
        out.append(Run(name, "toy_continuation", "continuation",
                       claims_config(src, "toy", lr, refresh_every=e.cont_refresh), ("L10",), 120))
    return out


# L8 decides a sweep of ≥ 5 sizes spanning ≥ 8× with ≥ 2 seeds each (CLAIMS.md): the toy flow
# sweep's seeds, and the ReLU net's (L9 needs a cusp, which a tanh loss cannot form). Measured on
# one core: the ReLU flow at n_D = 128 met L < 0.1 at iteration 574 (peak λ_1 = 10.2 at 266) in
# 13 s; the tanh flow at n_D = 512 took 5857 iterations, 109 s
FLOW_SEEDS = (0, 1)
RELU_FLOW_SEEDS = (0, 1, 2)


def flow_config(e: EdgeSizes, n: int, *, seed: int = 0, **kw):
    """A toy gradient-flow run of the L8 sweep at n_D = n (η = min(flow_lr, c/λ_1), L < 0.1)."""
    base = dict(lr=e.flow_lr, n_data=n, seed=seed, schedule="flow", flow_c=0.5, max_t=None,
                max_steps=e.flow_steps, target_loss=0.1,
                telemetry_every=max(1, e.flow_steps // 20), dense_every=0,
                experiment="gradient_flow")
    return edge_config(e, **{**base, **kw})


def toy_flow_runs(e: EdgeSizes) -> list[Run]:
    """The tanh flow sweep (toy_flow: seed 0, then seed 1), the ReLU one (toy_flow_relu: the same
    sizes, :data:`RELU_FLOW_SEEDS`) and the on-edge n_D sweep (toy_edge_nd)."""
    out = []
    for seed in FLOW_SEEDS if e.relu_flow else (0,):
        for n in e.flow_sizes:
            out.append(Run(f"toy/flow/nD{n}" + (f"_s{seed}" if seed else ""), "toy_flow", "toy",
                           flow_config(e, n, seed=seed), ("L8", "L9"), n // 2))
    if e.relu_flow:
        for seed in RELU_FLOW_SEEDS:
            for n in e.flow_sizes:
                out.append(Run(f"toy/flow_relu/nD{n}_s{seed}", "toy_flow_relu", "toy",
                               flow_config(e, n, seed=seed, activation="relu"), ("L8", "L9"),
                               n // 4))
    for n in e.nd_sizes:
        out.append(Run(f"toy/edge_nd/nD{n}", "toy_edge_nd", "toy",
                       edge_config(e, lr=e.nd_lr, n_data=n, dense_every=0,
                                   experiment="edge_nd"), ("L8",), 200))
    if e.nd_lr in e.lrs:
        src = f"toy/lr_sweep/lr{fmt(e.nd_lr)}_s{e.seeds[0]}"
        out.append(Run(f"toy/edge_nd/nD{e.n_data}", "toy_edge_nd", "alias",
                       AliasConfig(src, "edge_nd"), ("L8",), 1))
    return out


# [K] Lowell & Kastner 2024 on the toy: the probe of λ_1(H) and λ_1(G) every this many iterations
# (dense H and G at n_D = 500 take ~50 s; a run of ~850 iterations gets 9 points)
GGN_EVERY = 100
# the flow sizes whose exponential Euler run is paired with a flow at c = 0.1 (both probed)
KASTNER_PROBE_SIZES = (64, 128, 256, 512)


def toy_width_runs(e: EdgeSizes) -> list[Run]:
    """The edge map over model size (issue 22): the η sweep's first η at other hidden widths
    (cifar8 192-h-h-10 tanh, n_D = n_data; 1,706 / 7,562 / 17,226 parameters at h = 8 / 32 / 64
    beside the sweep's 3,530 at h = 16), every seed, telemetry at the protocol's cadence (top 20
    by Lanczos on the exact operator) and no dense spectrum (eigh of 17k × 17k is minutes a
    call). Recorded as η-sweep runs (``lr_sweep``): each width is its own setting of L1–L7."""
    lr = e.lrs[0]
    return [Run(f"toy/width/h{h}_lr{fmt(lr)}_s{seed}", "toy_width", "toy",
                edge_config(e, lr=lr, seed=seed, hidden=h, dense_every=0, full_spectra=False,
                            experiment="lr_sweep"), ("L1", "L3", "L5", "L6", "L7"),
                # measured (one loaded core): h = 16 347 s; h = 32 576 s (L < 0.1 at 459);
                # h = 8 never fits to L < 0.1 and runs to t = 250: 560–1192 s
                1200 if h < e.hidden else round(350 * (h / e.hidden) ** 1.5))
            for h in e.widths for seed in e.seeds]


def toy_kastner_runs(e: EdgeSizes) -> list[Run]:
    """K1: the toy_flow settings (η_max = flow_lr, L < 0.1) under exponential Euler, and under
    gradient flow with c = 0.1 as a closer reference than L8's c = 0.5 (no cusp slice); both with
    the λ_1(G) probe (K2 at the flow's peak). K2 on the edge: the η-sweep's first η, every seed,
    with the probe. No full spectra (K1/K2 read the telemetry and the flow's history). Their
    experiment names (``kastner``, ``gauss_newton``: readers.KASTNER_EXPERIMENTS) keep them out
    of the 2022 claims, which read the η sweep's and toy_flow's own records."""
    out, k2, seed1, last = [], [], [], []
    sizes = [n for n in sorted(e.flow_sizes) if n in KASTNER_PROBE_SIZES]
    for n in sizes:
        into = out if n in sizes[:2] else last   # the two costliest sizes after seed 1 and K2
        base = dict(lr=e.flow_lr, n_data=n, max_t=None, max_steps=e.flow_steps, target_loss=0.1,
                    telemetry_every=max(1, e.flow_steps // 20), dense_every=0, ggn_every=GGN_EVERY,
                    full_spectra=False, experiment="kastner")
        into.append(Run(f"toy/kastner/expeuler_nD{n}", "toy_kastner", "toy",
                        edge_config(e, schedule="expeuler", **base), ("K1", "K2"), 4 * n))
        # beyond the two smallest sizes c = 0.1 runs without the probe (its 10^4 iterations would
        # pay ~100 dense probes; K2 at the flow's peak reads the exponential Euler run's)
        big = n not in sizes[:2]
        into.append(Run(f"toy/kastner/flow_c0.1_nD{n}", "toy_kastner", "toy",
                        edge_config(e, schedule="flow", flow_c=0.1, cusp_points=0,
                                    **{**base, "ggn_every": 0 if big else GGN_EVERY}),
                        ("K1",) if big else ("K1", "K2"), 2 * n if big else 4 * n))
    lr = e.lrs[0]
    for seed in e.seeds:
        # telemetry every 10 iterations (not 1/(5η) = 1): K2 reads the probe points, and the
        # edge is found at this cadence too (a point costs ~50 exact products, a step one gradient)
        k2.append(Run(f"toy/gauss_newton/lr{fmt(lr)}_s{seed}", "toy_gauss_newton", "toy",
                      edge_config(e, lr=lr, seed=seed, dense_every=0, ggn_every=GGN_EVERY,
                                  telemetry_every=10, full_spectra=False,
                                  experiment="gauss_newton"), ("K2",), 600))
    # K1 decides a setting on ≥ 2 seeds (flow_seeds, as L8): seed 1 of the two smallest sizes by
    # each solver, without the probe (K1 reads the loss curves; ggn_every is bookkeeping)
    for n in sizes[:2]:
        base = dict(lr=e.flow_lr, n_data=n, max_t=None, max_steps=e.flow_steps, target_loss=0.1,
                    telemetry_every=max(1, e.flow_steps // 20), dense_every=0, seed=1,
                    full_spectra=False, cusp_points=0, experiment="kastner")
        for name, kw in (("expeuler", dict(schedule="expeuler")),
                         ("flow_c0.1", dict(schedule="flow", flow_c=0.1)),
                         ("flow_c0.5", dict(schedule="flow", flow_c=0.5))):
            seed1.append(Run(f"toy/kastner/{name}_nD{n}_s1", "toy_kastner", "toy",
                             edge_config(e, **kw, **base), ("K1",), 2 * n))
    # L8 and L9 on exponential Euler (K1: "L8 and L9 are then also reported on the exponential
    # Euler runs"), the flow sweeps' sizes and seeds by the other solver; each pairs with the
    # toy_flow / toy_flow_relu run of its setting and seed (K1 against c = 0.5). The ReLU runs
    # of the three smallest sizes carry the λ_1(G) probe: K2 at the ReLU flow's peak
    sweep = []
    have = {r.name for r in out + seed1 + last}
    for act, seeds in (("tanh", FLOW_SEEDS), ("relu", RELU_FLOW_SEEDS)):
        for seed in seeds:
            for n in sorted(e.flow_sizes):
                name = (f"toy/kastner/expeuler_nD{n}" + (f"_s{seed}" if seed else "")
                        if act == "tanh" else f"toy/kastner/relu_expeuler_nD{n}_s{seed}")
                if name in have:
                    continue
                probe = act == "relu" and seed in seeds[:2] and n <= 256
                sweep.append(Run(name, "toy_kastner", "toy", flow_config(
                    e, n, seed=seed, schedule="expeuler", activation=act,
                    ggn_every=GGN_EVERY if probe else 0, full_spectra=False, experiment="kastner"),
                    ("K1", "L8", "L9") + (("K2",) if probe else ()), n if probe else n // 2))
    # on the ReLU net exponential Euler and the c = 0.5 flow differ by up to 20 % in loss at
    # n_D = 256 (one seed): the closer reference c = 0.1 tells which of the two is off
    relu_ref = [Run(f"toy/kastner/relu_flow_c0.1_nD{n}_s{seed}", "toy_kastner", "toy",
                    flow_config(e, n, seed=seed, flow_c=0.1, activation="relu", cusp_points=0,
                                full_spectra=False, experiment="kastner"), ("K1",), n * 2)
                for seed in RELU_FLOW_SEEDS[:2] for n in sorted(e.flow_sizes)[:3]]
    if not e.relu_flow:
        return out + seed1 + k2 + last
    # the third ReLU seed last: two seeds decide K1 and L8, and the c = 0.1 references come first
    third = [r for r in sweep if r.config.seed == RELU_FLOW_SEEDS[2]]
    # L8/L9 over the larger n_D exponential Euler makes affordable (issue 23). Measured on the
    # ReLU net, seed 0: the c = 0.5 flow needs 355, 574, 1475, 2346, 5596 iterations over n_D
    # 64 → 512 (its 15,000 cap would cut n_D ≈ 1024), exponential Euler 215, 395, 679, 803, 1232
    # (341 s at 512 on a loaded core; ~n_D² a run: ~15 and ~25 minutes at 768 and 1024)
    beyond = [Run(f"toy/kastner/relu_expeuler_nD{n}_s{seed}", "toy_kastner", "toy", flow_config(
                  e, n, seed=seed, schedule="expeuler", activation="relu", full_spectra=False,
                  experiment="kastner"), ("K1", "L8", "L9"), n * 3 // 2)
              for seed in RELU_FLOW_SEEDS[:2] for n in e.expeuler_more]
    return (out + seed1 + k2 + [r for r in sweep if r not in third] + last + relu_ref + third
            + beyond)


def prediction_runs(preset: str) -> list[Run]:
    if preset == "smoke":
        return []
    from simlab.toy.check_predictions import PredictionsConfig

    return [Run("toy/predictions", "predictions", "predictions", PredictionsConfig(),
                tuple(f"Y{i}" for i in range(1, 9)), 120)]
