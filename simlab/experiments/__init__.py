"""Every experiment grid, declared once: the run configs and the claims each grid feeds.

``python -m simlab paper run --only X``, ``python -m simlab toy --experiment X`` and
``python -m simlab scale --experiment X`` all expand the grids declared here (:func:`expand`);
a :class:`Run` is one record: a unique ``name`` (its folder under the runs directory), the
``grid`` it belongs to, its ``kind`` (which runner executes it), the regime's frozen config
and the claims it feeds. Each record's ``config.json`` states its ``experiment`` (the claims
engine groups by it; no folder-name sniffing).

Grids of the ``cpu`` preset, in the order they run (most valuable first; ``*`` = beyond the
papers). Toy Lowell runs: CIFAR-10 average-pooled to 8×8×3 (``cifar8``, each feature
standardised), n_D = 500, 192-16-16-n_c tanh MLP (3,530 parameters at n_c = 10), float64,
telemetry every ≤ 1/(5η) iterations with the top 20 by Lanczos on the exact Hessian products,
dense spectra at θ_0/every 25/η/at the end (seed 0) or at the end (other seeds), stop at
L < 0.1 or t = 250.

=================  =====  ======================================================  ============
grid               regime what                                                    claims
=================  =====  ======================================================  ============
toy_lr_sweep       toy    n_c = 10, η ∈ {0.2, 0.1, 0.08}, seeds 0–2 (+ η = 0.05)   L1 L3 L5 L6 L7
toy_class_sweep    toy    n_c ∈ {2,3,5,10} at η = 0.2, seeds 0–2                   L2 S8
toy_entry          toy    η = 0.2, telemetry every iteration (= lr_sweep η = 0.2)  L4
toy_mse            toy    MSE, n_c ∈ {2,3,5,10}, η = 0.05·n_c, L < 0.1·L(θ_0)      S8 S4
toy_continuation*  toy    GD / Bulk-GD / Top-GD for 2/η iterations from on-edge θ  L10
toy_flow           toy    gradient flow η = min(0.1, 0.5/λ_1), n_D 64…512 (8×)      L8
toy_edge_nd        toy    η = 0.1, n_D ∈ {125, 250, 500, 1000}: on-edge λ vs n_D   L8 (plot)
predictions        toy    Y1–Y8 derived with sympy and checked on exact Hessians   Y1–Y8
sagun_*            toy    blobs width / std / MSE sweeps, MNIST-1000 vs random     S1–S7 F1 F2
sagun_critical     toy    std-0.5 blobs and 784-2-10 for 20,000 iterations         S6 F2 (‖g‖ ≤ 1e-3)
scale_*            scale  AlexNet width 1/16, n_D = 256 (see scale/README.md)      L1–L8 S8
bridge_*           both   the same nets measured by dense eigh and by Lanczos      bridge
=================  =====  ======================================================  ============
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from simlab.errors import UsageError

PRESETS = ("smoke", "cpu")
CLASS_COUNTS = (2, 3, 5, 10)

# every grid: (regime, the claims it feeds), in the order the grids run
GRIDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "toy_lr_sweep": ("toy", ("L1", "L3", "L5", "L6", "L7")),
    "toy_class_sweep": ("toy", ("L2", "S8")),
    "toy_entry": ("toy", ("L4",)),
    "toy_mse": ("toy", ("S8", "S4")),
    "toy_continuation": ("toy", ("L10",)),
    "toy_flow": ("toy", ("L8",)),
    "toy_edge_nd": ("toy", ("L8",)),
    "sagun_width": ("toy", ("S1", "S2", "S5", "S6", "F1", "F2")),
    "sagun_std": ("toy", ("S3", "S7")),
    "sagun_mse": ("toy", ("S4",)),
    "sagun_random": ("toy", ("S7",)),
    "sagun_critical": ("toy", ("S1", "S5", "S6", "F2")),
    "predictions": ("toy", tuple(f"Y{i}" for i in range(1, 9))),
    "scale_lr_sweep": ("scale", ("L1", "L3", "L5", "L6", "L7")),
    "scale_class_sweep": ("scale", ("L2", "S8")),
    "scale_entry": ("scale", ("L4",)),
    "scale_continuation": ("scale", ("L10",)),
    "scale_mse": ("scale", ("S8",)),
    "scale_flow": ("scale", ("L8", "L9")),
    "bridge_mlp": ("bridge", ()),
    "bridge_cnn": ("bridge", ()),
}


@dataclass(frozen=True)
class Run:
    name: str                 # folder under the runs directory; unique in a preset
    grid: str                 # the grid it belongs to (--only / --experiment pick grids)
    kind: str                 # "toy" | "edge" | "continuation" | "scale" | "bridge" | "predictions"
    config: Any               # the regime's frozen config
    claims: tuple[str, ...] = ()
    cost_s: float = 0.0       # rough single-core guess in seconds (for --dry-run); not a measurement

    @property
    def regime(self) -> str:
        if self.kind == "continuation":
            return self.config.regime
        if self.kind == "alias":
            return self.name.split("/")[0]
        return {"toy": "toy", "edge": "toy", "predictions": "toy", "scale": "scale"}.get(
            self.kind, "bridge")


def _fmt(x: float) -> str:
    return f"{x:g}"


def _root():
    from simlab.paper.common import data_root

    return data_root()


# ------------------------------------------------------------------------------ toy Lowell edge

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
                     entry_lr=0.2, entry_steps=500, flow_sizes=(64, 128, 256, 512),
                     flow_lr=0.1, flow_steps=15000, nd_sizes=(125, 250, 1000), nd_lr=0.1,
                     cont_refresh=2, mse_lr=0.05, mse_t=400.0),
}


@dataclass(frozen=True)
class AliasConfig:
    """A run whose config equals an earlier run's but for its ``experiment`` (runs are
    deterministic): the record is that run's, copied, with ``experiment`` and ``alias_of`` set."""

    source: str
    experiment: str


def _alias(e: EdgeSizes, name: str, grid_name: str, source: Run, experiment: str,
           claims: tuple[str, ...]) -> Run:
    """``source``'s record under another experiment name."""
    return Run(name, grid_name, "alias", AliasConfig(source.name, experiment), claims, 1)


def edge_config(e: EdgeSizes, *, lr: float, seed: int = 0, **kw):
    """One toy Lowell run on the edge: telemetry every ≤ 1/(5η), stop at L < 0.1 or t = max_t."""
    from simlab.toy.lowell import EdgeConfig

    base = dict(data_root=_root(), n_data=e.n_data, hidden=e.hidden, lr=lr, seed=seed,
                max_t=e.max_t, max_steps=round(e.max_t / lr) + 1,
                telemetry_every=max(1, int(1 / (5 * lr))), k=20,
                dense_every=round(e.dense_t / lr) if seed == 0 else 0)
    base.update(kw)
    return EdgeConfig(**base)


def toy_edge_runs(e: EdgeSizes) -> list[Run]:
    """Seed 0 of every grid first (η sweep, class sweep, entry, MSE), then the other seeds. A
    member whose config equals an η-sweep run's (class sweep n_c = 10 at the same η; entry capture
    = the η-sweep run at entry_lr, whose telemetry is every iteration from step 0) is an alias."""
    lowell = ("L1", "L3", "L5", "L6", "L7")
    first, rest = [], []
    for seed in e.seeds:
        out = first if seed == e.seeds[0] else rest
        sweep = {}
        for lr in e.lrs + (e.probe_lrs if seed == e.seeds[0] else ()):
            sweep[lr] = Run(f"toy/lr_sweep/lr{_fmt(lr)}_s{seed}", "toy_lr_sweep", "edge",
                            edge_config(e, lr=lr, seed=seed, experiment="lr_sweep"), lowell, 200)
            out.append(sweep[lr])
        for nc in e.class_counts:
            name = f"toy/class_sweep/nc{nc}_s{seed}"
            if nc == 10 and e.class_lr in sweep:
                out.append(_alias(e, name, "toy_class_sweep", sweep[e.class_lr], "class_sweep",
                                  ("L2", "S8")))
                continue
            out.append(Run(name, "toy_class_sweep", "edge",
                           edge_config(e, lr=e.class_lr, seed=seed, classes=nc,
                                       experiment="class_sweep"), ("L2", "S8"), 120))
        if seed != e.seeds[0]:
            continue
        name = f"toy/entry/lr{_fmt(e.entry_lr)}"
        if e.entry_lr in sweep and sweep[e.entry_lr].config.telemetry_every == 1:
            out.append(_alias(e, name, "toy_entry", sweep[e.entry_lr], "entry", ("L4",)))
        else:
            out.append(Run(name, "toy_entry", "edge",
                           edge_config(e, lr=e.entry_lr, telemetry_every=1,
                                       max_steps=e.entry_steps, target_loss=None,
                                       dense_every=0, experiment="entry"), ("L4",), 90))
        for nc in e.class_counts:
            # torch's MSE mean over n_D·n_c makes g about n_c/2 times smaller than CE's at a
            # similar curvature: η = mse_lr·n_c trains in comparable t (measured: n_c = 10 at
            # η = 0.17 had ρ_1 ≤ 0.55 and 75 % accuracy at t = 340; at η = 0.5 the edge at t ≈ 240)
            lr = round(e.mse_lr * nc, 6)
            out.append(Run(f"toy/mse/nc{nc}", "toy_mse", "edge",
                           edge_config(e, lr=lr, classes=nc, loss="mse", target_loss=None,
                                       loss_fraction=0.1, max_t=e.mse_t,
                                       max_steps=round(e.mse_t / lr) + 1, dense_every=0,
                                       experiment="mse"), ("S8", "S4"), 200))
    return first + rest


def toy_continuation_runs(e: EdgeSizes) -> list[Run]:
    from simlab.continuation import ContinuationConfig

    out = []
    sources = [f"toy/lr_sweep/lr{_fmt(e.lrs[1 if len(e.lrs) > 1 else 0])}_s{s}" for s in e.seeds]
    sources += [f"toy/class_sweep/nc3_s{s}" for s in e.seeds if 3 in e.class_counts]
    for src in sources:
        name = "toy/continuation/" + src.split("/", 1)[1].replace("/", "_")
        out.append(Run(name, "toy_continuation", "continuation",
                       ContinuationConfig(source=src, regime="toy", refresh_every=e.cont_refresh),
                       ("L10",), 30))
    return out


def toy_flow_runs(e: EdgeSizes) -> list[Run]:
    out = []
    for n in e.flow_sizes:
        out.append(Run(f"toy/flow/nD{n}", "toy_flow", "edge",
                       edge_config(e, lr=e.flow_lr, n_data=n, schedule="flow", flow_c=0.5,
                                   max_t=None, max_steps=e.flow_steps, target_loss=0.1,
                                   telemetry_every=max(1, e.flow_steps // 20), dense_every=0,
                                   experiment="gradient_flow"), ("L8",), 200))
    for n in e.nd_sizes:
        out.append(Run(f"toy/edge_nd/nD{n}", "toy_edge_nd", "edge",
                       edge_config(e, lr=e.nd_lr, n_data=n, dense_every=0,
                                   experiment="edge_nd"), ("L8",), 200))
    if e.nd_lr in e.lrs:
        src = f"toy/lr_sweep/lr{_fmt(e.nd_lr)}_s{e.seeds[0]}"
        out.append(Run(f"toy/edge_nd/nD{e.n_data}", "toy_edge_nd", "alias",
                       AliasConfig(src, "edge_nd"), ("L8",), 1))
    return out


# ------------------------------------------------------------------------------ Sagun, predictions

@dataclass(frozen=True)
class SagunSizes:
    blob_steps: int
    blob_widths: tuple[int, ...]
    blob_stds: tuple[float, ...]
    seeds: tuple[int, ...]
    random_steps: int
    random_hidden: int
    random_n: int
    real_data: str              # S7's real inputs: "mnist", "digits" or "auto" (MNIST if on disk)
    critical_widths: tuple[int, ...] = ()
    critical_steps: int = 0


SAGUN = {
    "smoke": SagunSizes(blob_steps=30, blob_widths=(2, 6, 10), blob_stds=(0.5, 1.0, 2.0),
                        seeds=(0, 1), random_steps=10, random_hidden=2, random_n=60,
                        real_data="digits", critical_widths=(2,), critical_steps=40),
    "cpu": SagunSizes(blob_steps=4000, blob_widths=(2, 6, 10, 14, 18), blob_stds=(0.5, 1.0, 2.0),
                      seeds=(0, 1, 2, 3, 4), random_steps=1000, random_hidden=2, random_n=1000,
                      real_data="auto", critical_widths=(6, 10, 18), critical_steps=20000),
}


def _toy(**kw):
    from simlab.toy.run import ToyConfig

    return ToyConfig(**kw)


def _has_mnist(root) -> bool:
    from simlab.paper.common import has_mnist

    return has_mnist(root)


def sagun_runs(s: SagunSizes) -> list[Run]:
    """Blobs (width and std sweeps, ≥ 3 seeds each, MSE, init fluctuations) and 784-k-10 on
    MNIST-1000 vs random inputs. GD at the stable η = 0.1 (λ_1 ≈ 2–4 ≪ 2/η = 20 over these
    iterations) with Sagun's stop rule ‖g‖ ≤ 1e-4; on overlapping blobs ‖g‖ plateaus near 3e-3–7e-3
    while the loss keeps creeping down (measured on h = 10: 40,000 iterations at η = 0.05 gave
    ‖g‖ = 6e-3 and λ_1 rising 3.4 → 9), so the iteration cap ends these runs and each record
    states its final ‖g‖."""
    root = _root()
    out: list[Run] = []
    blob = dict(dataset="blobs", n_data=1000, lr=0.1, max_steps=s.blob_steps, grad_tol=1e-4)
    seeds3 = s.seeds[:3]
    for seed in seeds3:
        for h in s.blob_widths:
            out.append(Run(f"toy/sagun_width/h{h}_s{seed}", "sagun_width", "toy",
                           _toy(**blob, hidden=h, seed=seed, experiment="width_sweep"),
                           ("S1", "S2", "S5", "S6", "F1", "F2"), 0.5 + 0.02 * h * h))
        for std in s.blob_stds:
            out.append(Run(f"toy/sagun_std/std{_fmt(std)}_s{seed}", "sagun_std", "toy",
                           _toy(**blob, hidden=10, std=std, seed=seed, experiment="std_sweep"),
                           ("S3",), 3))
    for seed in s.seeds:
        out.append(Run(f"toy/sagun_std/fluct_s{seed}", "sagun_std", "toy",
                       _toy(**blob, hidden=10, seed=seed, experiment="fluctuation"), ("S3", "S7"), 3))
    out.append(Run("toy/sagun_mse/h10", "sagun_mse", "toy",
                   _toy(**blob, hidden=10, loss="mse", experiment="mse"), ("S4",), 3))
    real = s.real_data if s.real_data != "auto" else ("mnist" if _has_mnist(root) else "digits")
    mn = dict(n_data=s.random_n, hidden=s.random_hidden, depth=1, lr=0.1,
              max_steps=s.random_steps, grad_tol=1e-4,
              telemetry_every=max(1, s.random_steps // 4))
    out.append(Run("toy/sagun_random/random", "sagun_random", "toy",
                   _toy(dataset="random", classes=10, input_dim=784 if real == "mnist" else 64,
                        **mn, experiment="random_inputs"), ("S7",), 60))
    real_kw = dict(data_root=root) if real == "mnist" else {}
    # near-critical points (S6, F2 need ‖g‖ ≤ 1e-3): separable blobs (std 0.5; on std 1 ‖g‖
    # plateaus at 3e-3) and the 784-2-10 net trained 10× longer; experiment "training_spectrum"
    # (full spectra at 41 points of training; a Sagun experiment, not read as a Lowell run)
    for h in s.critical_widths:
        out.append(Run(f"toy/sagun_critical/blobs_std0.5_h{h}", "sagun_critical", "toy",
                       _toy(**{**blob, "max_steps": s.critical_steps}, hidden=h, std=0.5,
                            experiment="training_spectrum"), ("S1", "S5", "S6", "F2"), 60))
    out.append(Run(f"toy/sagun_critical/{real}_h{s.random_hidden}", "sagun_critical", "toy",
                   _toy(dataset=real, **real_kw, **{**mn, "max_steps": s.critical_steps,
                                                     "telemetry_every": s.critical_steps // 10},
                        experiment="training_spectrum"), ("S1", "S5", "S6", "F2"), 120))
    for seed in seeds3:
        out.append(Run(f"toy/sagun_random/{real}_s{seed}", "sagun_random", "toy",
                       _toy(dataset=real, **real_kw, **mn, seed=seed,
                            experiment="toy" if seed == 0 else "fluctuation"),
                       ("S7",), 60))
    return out


# ------------------------------------------------------------------------------ scale, bridge

SCALE = {
    "smoke": dict(overrides=dict(width=1 / 64, n_data=20, max_steps=2, k=3, slq_vectors=1,
                                 slq_steps=5, checkpoint_every=1, lrs=(0.01, 0.005, 0.0025),
                                 entry_every=1, entry_until=2, cusp_points=5),
                  flow_sizes=(10, 20, 30, 40), flow_steps=None),
    # scale/config.PRESETS["cpu"] is the edge setting: AlexNet at width 1/16 (143,118 parameters),
    # n_D = 256, λ_1(θ_0) = 201 (2/λ_1 = 0.00995: η = 0.01 starts on the edge), η sweep
    # (0.005, 0.0025, 0.01), telemetry every 20 iterations, top 10, 400 iterations
    "cpu": dict(overrides={}, edge=dict(n_data=512, telemetry_every=20, max_steps=1000),
                flow_sizes=(64, 128, 192, 256), flow_steps=1000),
}


def scale_runs(preset: str) -> list[Run]:
    from simlab.scale.config import preset as scale_preset
    from simlab.scale.experiments import members

    sp = SCALE[preset]
    base = scale_preset("cpu", data_root=_root(), **sp["overrides"])
    out: list[Run] = []
    specs = [
        ("scale_lr_sweep", replace(base, experiment="lr_sweep"), ("L1", "L3", "L5", "L6", "L7")),
        ("scale_class_sweep", replace(base, experiment="class_sweep"), ("L2", "S8")),
        ("scale_entry", replace(base, experiment="entry"), ("L4",)),
    ]
    for grid_name, cfg, claims in specs:
        for sub, member in members(cfg):
            name = f"scale/{grid_name.removeprefix('scale_')}" + (f"/{sub}" if sub else "")
            out.append(Run(name, grid_name, "scale", member, claims, 300))
    # measured on the cpu preset (n_D = 256): η = 0.005 met L < 0.1 at iteration 329 after one
    # on-edge point and η = 0.0025 had max ρ_1 = 0.57 at its 400-iteration limit; only η = 0.01
    # (which starts on the edge) reached it. Twice the images train longer (the edge phase can
    # last) and 1000 iterations give the smaller η time to sharpen (telemetry every 20 ≤ 1/(5η);
    # every 10 cost ~4 s per iteration at load 9: 70 minutes a run)
    if sp.get("edge"):
        for sub, member in members(replace(base, experiment="lr_sweep", **sp["edge"])):
            out.append(Run(f"scale/lr_sweep_nD{sp['edge']['n_data']}/{sub}", "scale_lr_sweep",
                           "scale", member, ("L1", "L3", "L5", "L6", "L7"), 600))
    # the class sweep under MSE (does the edge count become n_c?): scale's "mse" experiment stops
    # at a training-accuracy target, since L < 0.1 holds at θ_0 for MSE at n_c = 10
    for sub, member in members(replace(base, experiment="mse")):
        out.append(Run(f"scale/mse/{sub}", "scale_mse", "scale", member, ("S8",), 300))
    # L10 from the first scale run's on-edge θ: 2/η = 400 iterations per mode; the top-9
    # eigenvectors refreshed every 20 (a refresh is ~25 HVPs, ~15 s on one loaded core)
    from simlab.continuation import ContinuationConfig

    for src in [r for r in out if r.grid == "scale_lr_sweep"
                and r.config.lr in (SCALE_FIRST_LR, 2 * SCALE_FIRST_LR)]:
        out.append(Run("scale/continuation/" + src.name.split("/", 1)[1].replace("/", "_"),
                       "scale_continuation", "continuation",
                       ContinuationConfig(source=src.name, regime="scale", refresh_every=20,
                                          eig_tol=1e-3), ("L10",), 1500))
    # gradient flow last: a λ_1 every iteration costs ~6 HVPs (measured: n_D = 64 met L < 0.1 at
    # iteration 307 in 78 s; up to 1000 iterations per n_D)
    flow = replace(base, experiment="gradient_flow", flow_sizes=sp["flow_sizes"],
                   max_steps=sp["flow_steps"] or base.max_steps)
    for sub, member in members(flow):
        out.append(Run(f"scale/flow/{sub}", "scale_flow", "scale", member, ("L8", "L9"), 3600))
    return out


def bridge_runs(preset: str) -> list[Run]:
    from simlab.paper.bridge import BridgeConfig

    root = _root()
    if preset == "smoke":
        mlp = BridgeConfig(net="mlp", dataset="digits", n_data=60, hidden=2, lr=0.1, max_t=0.3,
                           k=6, data_root=root)
        cnn = BridgeConfig(net="cnn", n_data=8, n_classes=3, lr=0.05, max_t=0.1, k=4,
                           data_root=root)
    else:
        mlp = BridgeConfig(net="mlp", dataset="auto", n_data=1000, hidden=2, lr=0.1, max_t=40.0,
                           data_root=root)
        cnn = BridgeConfig(net="cnn", n_data=128, lr=0.02, max_t=4.0, data_root=root)
    return [Run("bridge/mlp", "bridge_mlp", "bridge", mlp, (), 300),
            Run("bridge/cnn", "bridge_cnn", "bridge", cnn, (), 600)]


def prediction_runs(preset: str) -> list[Run]:
    if preset == "smoke":
        return []
    from simlab.toy.check_predictions import PredictionsConfig

    return [Run("toy/predictions", "predictions", "predictions", PredictionsConfig(),
                tuple(f"Y{i}" for i in range(1, 9)), 120)]


# ------------------------------------------------------------------------------ the registry

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
    if r.grid == "toy_flow":
        return 2
    if r.grid.startswith("sagun") or r.grid == "predictions":
        return 3 if seed == 0 and "fluct" not in r.name else 9
    if r.grid == "toy_mse":
        return 5
    if r.grid in ("scale_lr_sweep", "scale_continuation"):
        return 7 if "_nD" in r.name else 6
    if r.grid == "toy_edge_nd":
        return 8
    if r.grid == "scale_flow":
        return 12   # λ_1 every iteration: the costliest scale runs, last
    return 10 if r.regime == "scale" else 11


SCALE_FIRST_LR = 0.005   # scale L10 starts from the η = 0.005 and 0.01 runs (2/λ_1(θ_0) ≈ 0.00995)


def grid(preset: str) -> list[Run]:
    """Every run of a preset, in the order they run (most valuable first)."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    e = EDGE[preset]
    runs = (toy_edge_runs(e) + toy_continuation_runs(e) + toy_flow_runs(e)
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


def select(runs: list[Run], only: list[str] | None) -> list[Run]:
    """The runs of the named grids (a name may also be a run's folder or a prefix of it)."""
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
    seen, out = set(), []
    for r in picked:
        if r.name not in seen:
            seen.add(r.name)
            out.append(r)
    return out


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
