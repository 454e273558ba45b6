"""The configuration of a scale-regime run, and its two named presets.

One :class:`ScaleConfig` describes one record (a run is a pure function of it and its seed); the
sub-experiments derive their members' configs from it with :func:`dataclasses.replace`
(``lr`` over ``lrs``, ``classes`` over ``class_counts``, ``n_data`` over ``flow_sizes``).

Presets (flags override any field):

- ``paper``: Lowell 2022's sizes. Full CIFAR-10 training set (50,000 images), width 1,
  η ∈ {0.003, 0.001, 0.0003, 0.0001}, stop at L < 0.1 or t = nη = 40, telemetry every 1/η
  iterations with the top 20 eigenpairs; entry capture every 10 iterations up to 2000; gradient
  flow with snapshots every 100 iterations.
- ``cpu``: the same protocol sized for two CPU cores: a seeded balanced subset of CIFAR-10 (the
  shared npz is enough), width multiplier 1/8, η = 0.01 (so that the edge 2/η = 200 sits where
  λ_1 of these nets starts, about 150–300 at Kaiming init), a few hundred iterations, the top
  ``n_c`` eigenpairs only. The edge condition ρ_i = ηλ_i/2 ≈ 1 is what the claims test, so a
  larger η reaches it after fewer iterations; the absolute λ values are not comparable to the
  paper's. Measured wall times are in scale/README.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields, replace

from simlab.errors import UsageError
from simlab.scale.models import ACTIVATIONS, ARCHS

EXPERIMENTS = ("scale", "lr_sweep", "class_sweep", "entry", "gradient_flow", "cusp")
DTYPES = ("float32", "float64")
LOSSES = ("ce", "mse")


@dataclass(frozen=True)
class ScaleConfig:
    experiment: str = "scale"            # scale | lr_sweep | class_sweep | entry | gradient_flow | cusp
    preset: str = "paper"                # the preset the config started from (informative)
    # model
    arch: str = "alexnet"                # alexnet | vgg16
    activation: str = "relu"             # relu | tanh
    width: float = 1.0                   # multiplier of every hidden width
    # data
    dataset: str = "cifar10"
    data_root: str | None = None         # None → $SIMLAB_DATA or ~/.cache/simlab
    download: bool = False
    n_data: int | None = None            # n_D (balanced seeded subset); None → every kept image
    classes: int | tuple[int, ...] | None = None  # n_c (labels 0..n_c−1) or explicit labels; None → 10
    # objective and optimiser
    loss: str = "ce"                     # ce | mse
    lr: float = 0.001                    # η (constant) or η_max (flow)
    schedule: str = "constant"           # constant | flow
    flow_c: float = 0.5                  # flow: η = min(lr, flow_c / λ_1)
    target_loss: float | None = 0.1      # stop at L < 0.1
    max_t: float | None = 40.0           # or at t = Σ η = 40
    max_steps: int | None = None         # or after this many iterations
    max_seconds: float | None = None     # or after this much wall time
    # telemetry
    telemetry_every: int | None = None   # None → round(1/η)
    k: int = 20                          # eigenpairs per telemetry point
    eig_method: str = "lanczos"          # lanczos | power
    eig_tol: float = 1e-3                # ARPACK relative tolerance
    entry_every: int = 0                 # entry capture cadence (experiment "entry": 10) ...
    entry_until: int = 0                 # ... before this iteration (2000)
    snapshot_every: int = 0              # save θ every N iterations (gradient flow: 100)
    slq_vectors: int = 2                 # end-of-run spectral density (SLQ); 0 → skip
    slq_steps: int = 40
    # sweeps
    lrs: tuple[float, ...] = (0.003, 0.001, 0.0003, 0.0001)
    class_counts: tuple[int, ...] = (2, 3, 5, 10)
    flow_sizes: tuple[int, ...] = (1000, 2000, 4000, 8000, 16000)
    cusp_radius: float = 0.003           # Δ ∈ [−r, r] along h_1
    cusp_points: int = 41
    # execution
    seed: int = 0                        # model init and data subset
    device: str = "auto"                 # auto → cuda when available, else cpu
    dtype: str = "float32"
    chunk_size: int | None = None        # examples per forward pass (memory); None → all
    hvp_method: str = "rev-rev"          # rev-rev | fwd-rev
    checkpoint_every: int = 0            # resumable state every N iterations

    @property
    def n_classes(self) -> int:
        if self.classes is None:
            return 10
        return self.classes if isinstance(self.classes, int) else len(self.classes)

    def validate(self) -> "ScaleConfig":
        def need(ok: bool, msg: str):
            if not ok:
                raise UsageError(msg)

        need(self.experiment in EXPERIMENTS,
             f"unknown experiment {self.experiment!r}; choose one of {', '.join(EXPERIMENTS)}")
        need(self.arch in ARCHS, f"unknown architecture {self.arch!r}; use --arch {' or '.join(ARCHS)}")
        need(self.activation in ACTIVATIONS,
             f"unknown activation {self.activation!r}; use --activation {' or '.join(ACTIVATIONS)}")
        need(self.width > 0 and math.isfinite(self.width), f"--width must be positive, got {self.width}")
        need(self.lr > 0 and math.isfinite(self.lr), f"--lr must be positive, got {self.lr}")
        need(all(x > 0 for x in self.lrs), f"every learning rate of --lrs must be positive, got {self.lrs}")
        need(self.loss in LOSSES, f"unknown loss {self.loss!r}; use --loss ce or mse")
        need(self.dtype in DTYPES, f"unknown dtype {self.dtype!r}; use --dtype float32 or float64")
        need(self.n_data is None or self.n_data >= 1, f"--n-data must be positive, got {self.n_data}")
        need(self.k >= 1, f"--k must be ≥ 1, got {self.k}")
        need(self.device in ("auto", "cpu") or self.device.startswith("cuda"),
             f"unknown device {self.device!r}; use auto, cpu or cuda[:i]")
        need(self.cusp_points >= 3, f"--cusp-points must be ≥ 3, got {self.cusp_points}")
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
    "cpu": ScaleConfig(
        preset="cpu", width=0.125, n_data=256, lr=0.01, max_steps=400, k=10,
        lrs=(0.02, 0.01, 0.005), class_counts=(2, 3, 5, 10), flow_sizes=(64, 128, 192, 256),
        slq_vectors=1, slq_steps=20, checkpoint_every=50,
    ),
}

# the entry-capture cadence of each preset: (every, until)
ENTRY = {"paper": (10, 2000), "cpu": (5, 100)}
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
