"""The paper's grids: one small declarative spec per figure or table, as a list of run configs.

A :class:`Run` is one record: a unique ``name`` (its folder under the runs directory), the
``grid`` it belongs to, the regime's frozen config (``ToyConfig``, ``ScaleConfig``,
``BridgeConfig`` or the predictions config) and the claims it feeds. :func:`grid` builds every
run of a preset; ``--only`` picks grids by name.

Grids (``*`` = beyond the papers):

=================  =====  =======================================================  ==============
grid               regime what                                                     claims
=================  =====  =======================================================  ==============
predictions        toy    Y1–Y8 derived with sympy and checked on exact Hessians    Y1–Y8
sagun_width        toy    blobs 2-h-h-2, h ∈ {2,6,10,14,18} (18..434 parameters)    S1 S2 S5 S6 F1 F2
sagun_std          toy    blobs, std sweep + init fluctuations (seeds)              S3
sagun_mse          toy    blobs under MSE                                           S4
sagun_random       toy    784-2-10 on random inputs vs MNIST-1000 (+ seeds)         S7
toy_lr_sweep       toy    Lowell's protocol on digits 64-16-10, η sweep             L1 L3 L5 L6 L7
toy_class_sweep    toy    Lowell's protocol, n_c ∈ {2,3,5,10}                       L2 S8*
toy_entry          toy    entry capture: telemetry every 2 iterations               L4
toy_mse_edge*      toy    Lowell's protocol under MSE, n_c ∈ {2,3,5,10}             Y2 / beyond
scale_lr_sweep     scale  AlexNet (width 1/8) η sweep                               L1 L3 L5 L6 L7
scale_class_sweep  scale  n_c ∈ {2,3,5,10}                                          L2 S8*
scale_entry        scale  entry capture                                             L4
scale_flow         scale  gradient flow over n_D, cusp at peak λ_1                  L8 L9
scale_mse_edge*    scale  Lowell's protocol under MSE, n_c ∈ {2,3,5,10}             Y2 / beyond
bridge_mlp         both   784-2-10 on MNIST-1000 measured by dense eigh and Lanczos  bridge
bridge_cnn         both   AlexNet at width 1/128 on CIFAR-10, both paths            bridge
=================  =====  =======================================================  ==============

The toy regime has no gradient-flow schedule, so L8/L9 are measured at scale only; the scale
regime has no full spectra, so S1–S7 are measured in the toy regime only (S8's Lowell count and
F1's density estimate come from both). The report says so beside each verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from simlab.errors import UsageError
from simlab.paper.bridge import BridgeConfig
from simlab.paper.common import data_root
from simlab.toy.symbolic import PredictionsConfig

PRESETS = ("smoke", "cpu")
CLASS_COUNTS = (2, 3, 5, 10)


@dataclass(frozen=True)
class Run:
    name: str                 # folder under the runs directory; unique in a preset
    grid: str                 # the grid it belongs to (--only picks grids)
    kind: str                 # "toy" | "scale" | "bridge" | "predictions"
    config: Any               # the regime's frozen config
    claims: tuple[str, ...] = ()
    cost_s: float = 0.0       # rough single-core guess in seconds (for --dry-run); not a measurement

    @property
    def regime(self) -> str:
        return {"toy": "toy", "predictions": "toy", "scale": "scale"}.get(self.kind, "bridge")


# ------------------------------------------------------------------------------ sizes

@dataclass(frozen=True)
class Sizes:
    """What a preset changes: the toy runs' lengths and nets, the scale preset, the bridge."""

    blob_steps: int
    blob_widths: tuple[int, ...]
    blob_stds: tuple[float, ...]
    seeds: tuple[int, ...]
    random_steps: int
    random_hidden: int
    random_n: int
    digits_hidden: int
    digits_n: int | None
    toy_lrs: tuple[float, ...]
    toy_class_lr: float
    toy_max_t: float
    entry_steps: int
    scale_overrides: dict
    scale_flow_sizes: tuple[int, ...]
    real_data: str              # S7's real inputs: "mnist", "digits" or "auto" (MNIST if on disk)
    bridge_mlp: BridgeConfig
    bridge_cnn: BridgeConfig
    predictions: bool
    scale_flow_steps: int | None = None   # gradient-flow iteration limit (None: the preset's)


def sizes(preset: str) -> Sizes:
    root = data_root()
    if preset == "smoke":
        return Sizes(
            blob_steps=30, blob_widths=(2, 6, 10), blob_stds=(0.5, 1.0, 2.0), seeds=(0, 1),
            random_steps=10, random_hidden=2, random_n=60, digits_hidden=4, digits_n=120,
            toy_lrs=(0.4, 0.2, 0.1), toy_class_lr=0.2, toy_max_t=2.0, entry_steps=8,
            scale_overrides=dict(width=1 / 128, n_data=20, max_steps=2, k=3, slq_vectors=1,
                                 slq_steps=5, checkpoint_every=1, lrs=(0.01, 0.005, 0.0025),
                                 entry_every=1, entry_until=2, cusp_points=5),
            scale_flow_sizes=(10, 20, 30, 40), real_data="digits",
            bridge_mlp=BridgeConfig(net="mlp", dataset="digits", n_data=60, hidden=2, lr=0.1,
                                    max_t=0.3, k=6, data_root=root),
            bridge_cnn=BridgeConfig(net="cnn", n_data=8, n_classes=3, lr=0.05, max_t=0.1,
                                    k=4, data_root=root),
            predictions=False,
        )
    if preset == "cpu":
        return Sizes(
            blob_steps=4000, blob_widths=(2, 6, 10, 14, 18), blob_stds=(0.5, 1.0, 2.0),
            seeds=(0, 1, 2, 3, 4),
            random_steps=1000, random_hidden=2, random_n=1000, digits_hidden=16, digits_n=500,
            toy_lrs=(0.4, 0.2, 0.1), toy_class_lr=0.2, toy_max_t=40.0, entry_steps=100,
            scale_overrides={}, scale_flow_sizes=(64, 128, 192, 256), real_data="auto",
            # 400 iterations left λ_1 still rising at n_D = 192 and 256: no observed peak
            scale_flow_steps=1000,
            bridge_mlp=BridgeConfig(net="mlp", dataset="auto", n_data=1000, hidden=2, lr=0.1,
                                    max_t=40.0, data_root=root),
            bridge_cnn=BridgeConfig(net="cnn", n_data=128, lr=0.02, max_t=4.0, data_root=root),
            predictions=True,
        )
    raise UsageError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")


# ------------------------------------------------------------------------------ the runs

def _toy(**kw):
    from simlab.toy.run import ToyConfig

    return ToyConfig(**kw)


def _fmt(x: float) -> str:
    return f"{x:g}"


def toy_runs(s: Sizes) -> list[Run]:
    root = data_root()
    out: list[Run] = []
    blob = dict(dataset="blobs", n_data=1000, lr=0.1, max_steps=s.blob_steps, grad_tol=1e-4)
    for h in s.blob_widths:
        out.append(Run(f"toy/sagun_width/h{h}", "sagun_width", "toy",
                       _toy(**blob, hidden=h, experiment="width_sweep"),
                       ("S1", "S2", "S5", "S6", "F1", "F2"), 0.5 + 0.02 * h * h))
    for std in s.blob_stds:
        out.append(Run(f"toy/sagun_std/std{_fmt(std)}", "sagun_std", "toy",
                       _toy(**blob, hidden=10, std=std, experiment="std_sweep"), ("S3",), 3))
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
    for seed in s.seeds[:3]:
        out.append(Run(f"toy/sagun_random/{real}_s{seed}", "sagun_random", "toy",
                       _toy(dataset=real, **real_kw, **mn, seed=seed,
                            experiment="toy" if seed == 0 else "fluctuation"),
                       ("S7",), 60))
    # Lowell's protocol in the toy regime: digits 64-h-10, telemetry every 1/η, L < 0.1 or t = 40
    low = dict(dataset="digits", n_data=s.digits_n, hidden=s.digits_hidden, depth=1,
               grad_tol=None, target_loss=0.1, k=20)
    for lr in s.toy_lrs:
        steps = round(s.toy_max_t / lr)
        out.append(Run(f"toy/lr_sweep/lr{_fmt(lr)}", "toy_lr_sweep", "toy",
                       _toy(**low, lr=lr, max_steps=steps, telemetry_every=max(1, round(1 / lr)),
                            experiment="lr_sweep"), ("L1", "L3", "L5", "L6", "L7"), 40))
    for nc in CLASS_COUNTS:
        lr = s.toy_class_lr
        steps = round(s.toy_max_t / lr)
        # as in the scale regime's class sweep: the images per class stay fixed, n_D·n_c/10
        cls = {**low, "n_data": None if s.digits_n is None else max(nc, round(s.digits_n * nc / 10))}
        out.append(Run(f"toy/class_sweep/nc{nc}", "toy_class_sweep", "toy",
                       _toy(**cls, classes=nc, lr=lr, max_steps=steps,
                            telemetry_every=max(1, round(1 / lr)), experiment="class_sweep"),
                       ("L2", "S8"), 30))
        out.append(Run(f"toy/mse_edge/nc{nc}", "toy_mse_edge", "toy",
                       _toy(**cls, classes=nc, lr=lr, max_steps=steps, loss="mse",
                            telemetry_every=max(1, round(1 / lr)), experiment="mse_edge"),
                       ("S8",), 30))
    out.append(Run("toy/entry/lr0.2", "toy_entry", "toy",
                   _toy(**low, lr=0.2, max_steps=s.entry_steps, telemetry_every=2,
                        experiment="entry"), ("L4",), 40))
    return out


def _has_mnist(root) -> bool:
    from simlab.paper.common import has_mnist

    return has_mnist(root)


def scale_runs(s: Sizes) -> list[Run]:
    from simlab.scale.config import preset
    from simlab.scale.experiments import members

    base = preset("cpu", data_root=data_root(), **s.scale_overrides)
    out: list[Run] = []
    specs = [
        ("scale_lr_sweep", replace(base, experiment="lr_sweep"), ("L1", "L3", "L5", "L6", "L7")),
        ("scale_class_sweep", replace(base, experiment="class_sweep"), ("L2", "S8")),
        ("scale_entry", replace(base, experiment="entry"), ("L4",)),
        ("scale_flow", replace(base, experiment="gradient_flow", flow_sizes=s.scale_flow_sizes,
                               max_steps=s.scale_flow_steps or base.max_steps), ("L8", "L9")),
    ]
    for grid_name, cfg, claims in specs:
        for sub, member in members(cfg):
            name = f"scale/{grid_name.removeprefix('scale_')}" + (f"/{sub}" if sub else "")
            out.append(Run(name, grid_name, "scale", member, claims, 300))
    # beyond the papers: the class sweep under MSE (does the edge count become n_c?)
    for sub, member in members(replace(base, experiment="class_sweep", loss="mse")):
        # experiment "scale" (a single protocol run): the claims' class sweep (L2) must not
        # mix MSE runs in; the report finds these by their folder, scale/mse_edge/
        out.append(Run(f"scale/mse_edge/{sub}", "scale_mse_edge", "scale",
                       replace(member, experiment="scale"), ("S8",), 300))
    return out


def bridge_runs(s: Sizes) -> list[Run]:
    return [Run("bridge/mlp", "bridge_mlp", "bridge", s.bridge_mlp, (), 300),
            Run("bridge/cnn", "bridge_cnn", "bridge", s.bridge_cnn, (), 600)]


def grid(preset: str) -> list[Run]:
    """Every run of a preset, in the order they run (cheap and foundational first)."""
    s = sizes(preset)
    runs = bridge_runs(s) + toy_runs(s) + scale_runs(s)
    if s.predictions:
        runs.insert(0, Run("toy/predictions", "predictions", "predictions", PredictionsConfig(),
                           tuple(f"Y{i}" for i in range(1, 9)), 120))
    names = [r.name for r in runs]
    assert len(names) == len(set(names)), "run names must be unique"
    return runs


def grid_names(runs: list[Run]) -> list[str]:
    return list(dict.fromkeys(r.grid for r in runs))


def select(runs: list[Run], only: list[str] | None) -> list[Run]:
    """The runs of the named grids (a name may also be a run's folder or a prefix of it)."""
    if not only:
        return runs
    names = grid_names(runs)
    picked, unknown = [], []
    for want in only:
        hit = [r for r in runs if r.grid == want or r.name == want or r.name.startswith(want + "/")]
        if not hit:
            unknown.append(want)
        picked += hit
    if unknown:
        raise UsageError(f"unknown grid(s) {', '.join(unknown)} in --only; choose from "
                         f"{', '.join(names)}")
    seen, out = set(), []
    for r in picked:
        if r.name not in seen:
            seen.add(r.name)
            out.append(r)
    return out
