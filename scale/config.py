"""The configuration of a scale-regime run, and its two named presets.

One :class:`ScaleConfig` describes one record (a run is a pure function of it and its seed); the
sub-experiments derive their members' configs from it with :func:`dataclasses.replace`
(``lr`` over ``lrs``, ``classes`` over ``class_counts``, ``n_data`` over ``flow_sizes``).

Presets (flags override any field):

- ``paper``: Lowell 2022's sizes. Full CIFAR-10 training set (50,000 images), width 1,
  η ∈ {0.003, 0.001, 0.0003, 0.0001}, stop at L < 0.1 or t = nη = 40, telemetry every 1/η
  iterations with the top 20 eigenpairs; entry capture every 10 iterations up to 2000; gradient
  flow with snapshots every 100 iterations.
- ``cpu``: the same protocol sized for two CPU cores and placed on the edge (issue 13): a seeded
  balanced subset of CIFAR-10 (n_D = 256; the shared npz is enough), AlexNet at width 1/16,
  η ∈ {0.005, 0.0025, 0.01} (λ_1(θ_0) ≈ 201, so 2/λ_1 ≈ 0.01), telemetry every 20 iterations
  with the top 10, at most 1600 iterations. The edge condition ρ_i = ηλ_i/2 ≈ 1 is what the claims
  test; the absolute λ values are not comparable to the paper's. The experiment registry
  (:mod:`simlab.paper.experiments`) builds its scale grids from this preset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace

from simlab.options import EXPERIMENT_HELP, option, retune
from simlab.data import normalise_classes
from simlab.errors import UsageError, check_device, check_seed, require
from simlab.scale.models import ACTIVATIONS, ARCHS, param_count
from simlab.trainer import TrainConfig

EXPERIMENTS = ("scale", "lr_sweep", "class_sweep", "mse", "entry", "gradient_flow", "cusp",
               "kastner", "gauss_newton")
# experiments that are one run of the config as it is (``kastner``, ``gauss_newton``: labelled
# for Lowell & Kastner 2024's claims, which keep them out of the 2022 ones)
SINGLE_RUN = ("scale", "kastner", "gauss_newton")
DTYPES = ("float32", "float64")
LOSSES = ("ce", "mse")
WIDTHS = (1 / 64, 4.0)
MAX_K = 1000  # eigenpairs per point: k vectors of n_params floats are held at once  # the width multiplier's range: every layer keeps ≥ 1 unit, memory bounded


@dataclass(frozen=True)
class ScaleConfig(TrainConfig):
    """One scale-regime record. The optimiser and telemetry fields are :class:`TrainConfig`'s
    (inherited, not copied: a new TrainConfig field is a ScaleConfig field and a flag); the six
    below state only the protocol's defaults (:func:`~simlab.options.retune`: TrainConfig's
    documentation, one meaning per name). :meth:`train_config` gives the trainer its part."""

    # TrainConfig's fields with Lowell's protocol's defaults: η = 0.001, no iteration limit,
    # stop at t = 40 or L < 0.1; eigensolver residual tolerance 1e-3 (the toy regime keeps
    # TrainConfig's 1e-4: the one place the two differ); no dense H at this size
    lr: float = retune(TrainConfig, "lr", 0.001)
    max_steps: int | None = retune(TrainConfig, "max_steps", None)
    max_t: float | None = retune(TrainConfig, "max_t", 40.0)
    target_loss: float | None = retune(TrainConfig, "target_loss", 0.1)
    eig_tol: float = retune(TrainConfig, "eig_tol", 1e-3)
    eig_method: str = retune(TrainConfig, "eig_method", "lanczos", choices=("lanczos", "power"))
    # what is run
    experiment: str = option("scale", f"{EXPERIMENT_HELP}; `scale` runs its members: "
                             f"{', '.join(e for e in EXPERIMENTS if e not in SINGLE_RUN)} derive "
                             f"them from this config, {', '.join(SINGLE_RUN)} are one run (the last two "
                             "labelled for Lowell & Kastner 2024's claims); or a grid declared "
                             "in paper/experiments/")
    preset: str = option("paper", "the preset it started from", flag=False)
    # model
    arch: str = option("alexnet", "architecture", ARCHS)
    activation: str = option("relu", "activation", ACTIVATIONS)
    width: float = option(1.0, f"multiplier of every hidden width ({WIDTHS[0]:g}..{WIDTHS[1]:g})")
    # data
    dataset: str = option("cifar10", "dataset (the scale regime reads CIFAR-10)", ("cifar10",))
    data_root: str | None = option(None, "folder with cifar-10-batches-py/ or cifar10_subset.npz (or the .npz)")
    download: bool = option(False, "let torchvision download CIFAR-10 into --data-root")
    n_data: int | None = option(None, "n_D: seeded balanced subset size (default: every kept image)")
    classes: int | tuple[int, ...] | None = option(None, "n_c (labels 0..n_c−1) or comma-separated labels, e.g. 0,1")
    loss: str = option("ce", "ce: softmax cross-entropy; mse: squared error on one-hot targets", LOSSES)
    # measurements
    ggn_every: int = option(0, "λ_1 of the Hessian and of its Gauss–Newton part G, whole and per "
                            "layer, by Lanczos on the operators every N iterations, in the "
                            "telemetry (Lowell & Kastner 2024, claim K2; 0: never)")
    slq_vectors: int = option(2, "SLQ probes for the end-of-run density (0: skip)")
    slq_steps: int = option(40, "Lanczos steps per SLQ probe")
    # sweeps
    lrs: tuple[float, ...] = option((0.003, 0.001, 0.0003, 0.0001), "learning rates of --experiment lr_sweep, comma-separated")
    class_counts: tuple[int, ...] = option((2, 3, 5, 10), "n_c values of --experiment class_sweep")
    class_images: str = option("per_class", "class and MSE sweeps: per_class keeps n_D·n_c/10 images (the classes are dropped), fixed keeps n_D images at every n_c", ("per_class", "fixed"))
    flow_sizes: tuple[int, ...] = option((1000, 2000, 4000, 8000, 16000), "n_D values of --experiment gradient_flow")
    cusp_radius: float = option(0.003, "cusp scan: Δ ∈ [−r, r] along h_1")
    cusp_points: int = option(41, "cusp scan: points (≥ 3)")
    cusp_skip: float = option(0.0, "cusp scan at the largest-λ_1 snapshot after this fraction of the "
                                   "run (0: the whole run; 0.1 sets an initial spike aside)")
    # execution
    seed: int = option(0, "model init and data subset")
    device: str = option("auto", "auto (cuda when available), cpu, cuda, cuda:1")
    dtype: str = option("float32", "floating-point type", DTYPES)
    chunk_size: int | None = option(None, "examples per forward pass (memory); default: all")
    hvp_method: str = option("rev-rev", "Hessian-vector products", ("rev-rev", "fwd-rev"))
    memory_format: str = option("contiguous", "layout of images and conv weights: channels_last "
                                              "makes a CPU gradient 1.1-1.5x faster, equal to "
                                              "float rounding (a run at the edge then follows "
                                              "another trajectory: its dynamics amplify rounding)",
                                ("contiguous", "channels_last"))

    @property
    def n_classes(self) -> int:
        return len(normalise_classes(self.classes))

    def n_params(self) -> int:
        return param_count(self.arch, n_classes=self.n_classes, width=self.width)

    def train_config(self) -> TrainConfig:
        """The trainer's part of this config: every TrainConfig field, by name."""
        return TrainConfig(**{f.name: getattr(self, f.name) for f in fields(TrainConfig)})

    def validate(self) -> "ScaleConfig":
        """Every field checked (the trainer's part by TrainConfig.validate): one place for this config."""
        def one_of(name, allowed):
            if getattr(self, name) not in allowed:
                raise UsageError(f"--{name.replace('_', '-')} {getattr(self, name)!r} is not one of "
                                 f"{', '.join(map(str, allowed))}")

        for f in fields(self):
            if f.metadata.get("choices"):
                one_of(f.name, f.metadata["choices"])
        one_of("experiment", EXPERIMENTS)
        one_of("eig_method", ("lanczos", "power"))
        require("ggn_every", self.ggn_every, integer=True, nonneg=True)
        super().validate()
        require("width", self.width, lo=WIDTHS[0], hi=WIDTHS[1])
        require("n_data", self.n_data, integer=True, positive=True, optional=True)
        normalise_classes(self.classes)
        for v in self.lrs:
            require("lrs", v, positive=True)
        for v in self.class_counts:
            require("class_counts", v, integer=True, lo=2, hi=10)
        for v in self.flow_sizes:
            require("flow_sizes", v, integer=True, positive=True)
        if not (self.lrs and self.class_counts and self.flow_sizes):
            raise UsageError("--lrs, --class-counts and --flow-sizes need at least one value each")
        if self.schedule == "newton":
            raise UsageError("--schedule newton builds the dense Hessian every iteration: the toy "
                             "regime's small nets only (python -m simlab toy --schedule newton)")
        require("cusp_radius", self.cusp_radius, positive=True)
        require("cusp_points", self.cusp_points, integer=True, lo=3, hi=100_001)
        if not (isinstance(self.cusp_skip, (int, float)) and 0 <= self.cusp_skip < 1):
            raise UsageError(f"--cusp-skip must be a fraction in [0, 1), got {self.cusp_skip!r}")
        require("slq_vectors", self.slq_vectors, integer=True, lo=0, hi=10_000)
        require("slq_steps", self.slq_steps, integer=True, lo=1, hi=10_000)
        require("chunk_size", self.chunk_size, integer=True, positive=True, optional=True)
        check_seed(self.seed)
        check_device(self.device, auto=True)
        require("k", self.k, integer=True, positive=True, hi=MAX_K)
        n = self.n_params()
        if self.k >= n:
            raise UsageError(f"--k {self.k} must be smaller than the net's {n:,} parameters")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ScaleConfig":
        """Back from a record's config.json (lists → tuples; unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names}
        return cls(**kw)


PRESETS: dict[str, ScaleConfig] = {
    "paper": ScaleConfig(preset="paper", checkpoint_every=1000, chunk_size=1000,
                         slq_vectors=4, slq_steps=80),
    # AlexNet at width 1/16 (143,118 parameters), n_D = 256: λ_1(θ_0) ≈ 201, so 2/λ_1 ≈ 0.00995 and
    # η = 0.01 starts on the edge, η = 0.005 and 0.0025 reach it while training; telemetry every
    # 20 iterations (≤ 1/(5η) at η ≤ 0.01) through at most 1600 iterations, top 10
    "cpu": ScaleConfig(
        preset="cpu", width=1 / 16, n_data=256, lr=0.005, max_steps=1600, k=10, telemetry_every=20,
        lrs=(0.005, 0.0025, 0.01), class_counts=(2, 3, 5, 10), class_images="fixed", flow_sizes=(64, 128, 192, 256),
        slq_vectors=1, slq_steps=20, checkpoint_every=50,
    ),
}

# the entry-capture cadence of each preset: (every, until)
ENTRY = {"paper": (10, 2000), "cpu": (5, 400)}
# gradient-flow snapshot cadence per preset
FLOW = {"paper": {"snapshot_every": 100}, "cpu": {"snapshot_every": 10}}  # the iteration limit is the preset's max_steps


def preset(name: str, **overrides) -> ScaleConfig:
    """A named preset with some fields replaced (None values are ignored: "not given")."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - {f.name for f in fields(ScaleConfig)}
    if unknown:
        raise UsageError(f"unknown config fields {sorted(unknown)}")
    return replace(PRESETS[name], **given).validate()


# ------------------------------------------------------------------------------ memory

# saved-graph bytes per element of the layers' outputs, for one image: measured with the
# Landscape's saved-tensor hooks (graph_bytes_per_example) at 1.13–1.29 for AlexNet and VGG-16,
# widths 1/16–1/4; a working chunk's products at their peak hold its graph, the activations'
# gradients and the double backward's: about three times the outputs
GRAPH_PER_OUTPUT = 1.3
WORK_PER_OUTPUT = 3.0
FIXED_COPIES = 12  # θ, θ_prev, g, θ_0, the model's parameters, products, projections, the moves
# the three parts above came to 0.87–0.99 of the peak RSS measured for short cpu-preset runs
# (AlexNet 1/16 at n_D 256 and 1024, AlexNet 1/4 and VGG-16 1/2 at n_D 64): the rest is the
# allocator's slack and short-lived temporaries. Where the graphs dominate the estimate is high
# (VGG-16 1/8 at n_D 512, the whole set's graph held: 1.54x the measured peak with this margin)
OVERHEAD = 0.15
IMAGE_FLOATS = 3 * 32 * 32


def activation_elements(arch: str, *, n_classes: int = 10, width: float = 1.0) -> int:
    """Elements of every layer's output (conv, activation, pool, linear) for one image, from the
    model's own layer shapes: the net is built on the meta device (nothing allocated) and run on
    one meta image."""
    import torch

    from simlab.scale.models import build_model

    total = 0

    def count(module, inputs, out):
        nonlocal total
        total += out[0].numel()

    with torch.device("meta"):
        model = build_model(arch, n_classes=n_classes, width=width)
    for m in model.modules():
        if not any(True for _ in m.children()):
            m.register_forward_hook(count)
    with torch.no_grad():
        model(torch.empty(1, 3, 32, 32, device="meta"))
    return total


def memory_parts(cfg: ScaleConfig, *, world_size: int = 1, budget_mb: float = 1024.0) -> dict:
    """The estimated peak bytes of one process of a run of ``cfg``, by part:

    - ``parameter vectors``: n_params × the vectors held at once: the eigensolver's Krylov basis
      (3k + 20, or the SLQ's steps if more; a solve that needs more products grows it, up to
      :data:`simlab.spectrum.KRYLOV_BYTES`, which this estimate leaves out), the k eigenvectors it returns and the k of the
      previous point (warm start), and :data:`FIXED_COPIES` more;
    - ``activations``: the gradient graphs held within the Landscape's memory budget (chunks as
      :class:`~simlab.landscape.Landscape` sizes them) plus one working chunk's products;
    - ``data``: this process's images, as loaded (float32) and in the run's dtype;
    - ``allocator and temporaries``: :data:`OVERHEAD` of the three.
    """
    from simlab.spectrum import krylov_size

    item = 8 if cfg.dtype == "float64" else 4
    n = cfg.n_params()
    n_local = -(-(cfg.n_data or 50_000 * cfg.n_classes // 10) // max(world_size, 1))
    basis = max(krylov_size(cfg.k, n), cfg.slq_steps if cfg.slq_vectors else 0)
    vectors = n * item * (basis + 2 * cfg.k + FIXED_COPIES)
    out = activation_elements(cfg.arch, n_classes=cfg.n_classes, width=cfg.width) * item
    b, budget = GRAPH_PER_OUTPUT * out, budget_mb * 2.0 ** 20
    chunk = cfg.chunk_size
    if chunk is None:  # the Landscape's rule: the whole set if its graph fits, else quarters
        chunk = n_local if n_local * b <= budget else max(1, int(budget / (4 * b)))
    chunk = min(chunk, n_local)
    n_chunks = -(-n_local // chunk)
    room = budget if n_chunks == 1 else budget - chunk * b
    held = min(n_chunks, max(0, int(room // (chunk * b))))
    # each held graph keeps its own θ leaf and gradient (2 vectors) beside the activations
    graphs = held * (chunk * b + 2 * n * item) + chunk * WORK_PER_OUTPUT * out
    data = n_local * IMAGE_FLOATS * (4 + (item if item != 4 else 0))
    return {"parameter vectors": float(vectors), "activations": float(graphs), "data": float(data),
            "allocator and temporaries": OVERHEAD * float(vectors + graphs + data)}


MEMORY_FIX = ("use a smaller --width or --k (parameter vectors), --chunk-size (activations) or "
              "--n-data (data)")
