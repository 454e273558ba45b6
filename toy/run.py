"""One toy-regime run: train a small MLP by full-batch GD and measure its exact Hessian.

    data (toy.data) → MLP (toy.models) → Landscape (float64) → GD (simlab.trainer)
    → exact Hessian and full spectrum at θ_0 and at the end (toy.hessian) → record + figures

Telemetry points carry every eigenvalue's statistics (the dense Hessian is computed at each
point), so Lowell's ρ_i and Sagun's bulk/outlier numbers come from the same exact spectrum.
A run is a function of its :class:`ToyConfig` (seed included); the record stores the config.
Checkpoints every telemetry interval let ``resume=True`` finish an interrupted run into the same
record; a folder that already holds a run needs ``resume`` or ``overwrite``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from simlab import plots
from simlab.errors import UsageError
from simlab.landscape import Landscape
from simlab.operators import DenseOperator
from simlab.record import RecordWriter, check_same_config, prepare_out
from simlab.spectrum import full_spectrum, spectrum_stats
from simlab.toy import data as toy_data
from simlab.toy.models import build_mlp, count_params
from simlab.trainer import Probe, TrainConfig, run_summary, train

DTYPES = {"float64": torch.float64, "float32": torch.float32}
# the largest Hessian the toy regime builds densely (n² float64 entries, n³ eigh)
MAX_DENSE_PARAMS = 20_000


@dataclass(frozen=True)
class ToyConfig:
    # data
    dataset: str = "blobs"              # blobs | random | digits | mnist
    n_data: int | None = None           # None: 1000 for blobs/random/mnist, all 1797 digits
    std: float = 1.0                    # blob standard deviation (Sagun §3)
    data_root: str | None = None        # MNIST: folder with MNIST/raw or mnist_subset.npz
    download: bool = False
    classes: int | tuple[int, ...] | None = None   # keep these classes (n_c or labels)
    input_dim: int = 784                # random inputs' dimension
    # model
    hidden: int = 10                    # width h
    depth: int | None = None            # hidden layers; None: 2 (Sagun's blob net), 1 for MNIST
    activation: str = "relu"            # relu | tanh
    loss: str = "ce"                    # ce (softmax cross-entropy, NLL) | mse (one-hot targets)
    # optimisation: full-batch GD, constant step, until ‖g‖ ≤ grad_tol or max_steps
    lr: float = 0.1
    max_steps: int = 4_000
    grad_tol: float | None = 1e-4
    target_loss: float | None = None
    target_accuracy: float | None = None  # stop when training accuracy ≥ this (at points)
    max_t: float | None = None          # stop when t = Σ η ≥ max_t
    schedule: str = "constant"          # constant | flow (η = min(lr, flow_c/λ_1)) | stable
    flow_c: float = 0.5
    stable_after: int = 0               # stable: η = lr for this many steps, then flow_c/λ_1
    stable_every: int = 100             # stable: λ_1 re-measured every N steps
    telemetry_every: int | None = None  # None: max(round(1/η), max_steps // 40)
    k: int = 20                         # eigenpairs listed per telemetry point
    eig_method: str = "dense"           # dense: exact H at every point; lanczos: top-k by HVPs
    dense_every: int = 0                # lanczos points: the full dense spectrum's statistics
                                        # every N steps and at the end (0: never)
    snapshot_every: int = 0             # save θ every N iterations
    checkpoint_every: int | None = None  # None: at every telemetry point
    eps: float = 1e-3                   # near-zero threshold |λ| ≤ eps·λ_max
    # reproducibility and numerics
    seed: int = 0                       # model init and data draw
    data_seed: int | None = None        # None: same as seed
    device: str = "cpu"
    dtype: str = "float64"
    chunk_size: int | None = None
    threads: int = 1                    # torch CPU threads: toy tensors are too small to share
    experiment: str = "toy"             # the record's experiment name (claims group by it)

    def widths(self) -> tuple[int, ...]:
        depth = self.depth if self.depth is not None else (1 if self.dataset == "mnist" else 2)
        return (self.hidden,) * depth

    def data_config(self) -> toy_data.DataConfig:
        n = self.n_data
        if n is None:
            n = None if self.dataset == "digits" else 1000
        classes = tuple(self.classes) if isinstance(self.classes, list) else self.classes
        return toy_data.DataConfig(dataset=self.dataset, n_data=n, std=self.std,
                                   data_root=self.data_root, classes=classes,
                                   seed=self.seed if self.data_seed is None else self.data_seed,
                                   download=self.download, input_dim=self.input_dim)

    def train_config(self) -> TrainConfig:
        every = self.telemetry_every
        if every is None:
            every = max(round(1 / self.lr), self.max_steps // 40, 1)
        # a checkpoint at every telemetry point by default: θ is tiny, and resume is exact
        ckpt = every if self.checkpoint_every is None else self.checkpoint_every
        return TrainConfig(lr=self.lr, schedule=self.schedule, flow_c=self.flow_c,
                           stable_after=self.stable_after, stable_every=self.stable_every,
                           max_steps=self.max_steps, max_t=self.max_t, grad_tol=self.grad_tol,
                           target_loss=self.target_loss, target_accuracy=self.target_accuracy,
                           telemetry_every=every, k=self.k, eig_method=self.eig_method,
                           eps=self.eps, snapshot_every=self.snapshot_every, checkpoint_every=ckpt)

    def validate(self) -> None:
        if self.hidden <= 0:
            raise UsageError(f"--hidden must be a positive width, got {self.hidden}")
        if self.depth is not None and self.depth < 1:
            raise UsageError(f"--depth must be at least 1, got {self.depth}")
        if not self.lr > 0:
            raise UsageError(f"--lr must be positive, got {self.lr}")
        if self.eig_method not in ("dense", "lanczos"):
            raise UsageError(f"--eig-method must be dense or lanczos, got {self.eig_method!r}")
        if self.dense_every < 0:
            raise UsageError(f"--dense-every must be ≥ 0, got {self.dense_every}")
        self.train_config().validate()
        if self.max_steps < 0:
            raise UsageError(f"--steps must be ≥ 0, got {self.max_steps}")
        if not self.std > 0:
            raise UsageError(f"--std must be positive, got {self.std}")
        if self.dtype not in DTYPES:
            raise UsageError(f"unknown dtype {self.dtype!r}; choose float64 or float32")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError("--device cuda was asked for but no CUDA device is available; use --device cpu")


def build(cfg: ToyConfig):
    """Data, model and landscape for a config: ``(landscape, info)``."""
    cfg.validate()
    if cfg.threads > 0:
        # intra-op threading only adds synchronisation on tensors this small (measured here:
        # 0.7 ms per gradient on one thread, many times more on two with other work running)
        torch.set_num_threads(cfg.threads)
    X, y, info = toy_data.load(cfg.data_config())
    n_classes = info["n_classes"]
    model = build_mlp(X.shape[1], cfg.widths(), n_classes, activation=cfg.activation, seed=cfg.seed)
    n = count_params(model)
    if n > MAX_DENSE_PARAMS:
        raise UsageError(f"the net has {n} parameters; the exact Hessian is built for at most "
                         f"{MAX_DENSE_PARAMS} — use a smaller --hidden or the scale regime")
    land = Landscape(model, X, y, loss=cfg.loss, n_classes=n_classes, chunk_size=cfg.chunk_size,
                     dtype=DTYPES[cfg.dtype], device=cfg.device)
    return land, info


def layer_boundaries(model) -> list[int]:
    """Flat-θ indices where each parameter tensor starts (for the heat map's block lines)."""
    out, i = [], 0
    for p in model.parameters():
        out.append(i)
        i += p.numel()
    return out[1:]


def dense_probe(hess, n_classes: int, eps: float, every: int) -> Probe:
    """A probe that adds the full dense spectrum's statistics (:func:`spectrum_stats`) to the
    point, for runs whose points take their top-k by Lanczos."""
    def fn(theta, step, landscape):
        lam, _ = full_spectrum(hess(theta))
        return spectrum_stats(lam, n_classes=n_classes, eps=eps)

    return Probe(every, fn)


def run(cfg: ToyConfig, out: Path | str, *, progress: bool = True, figures: bool = True,
        resume: bool = False, overwrite: bool = False) -> dict:
    """Train, measure, and write the record (and figures) into ``out``; returns the summary.

    ``out`` holding a run needs ``resume`` (finish it from its last checkpoint: the same record
    as an uninterrupted run) or ``overwrite`` (its record files are replaced)."""
    t0 = time.perf_counter()
    cfg.validate()
    out = prepare_out(out, resume=resume, overwrite=overwrite)
    if resume:
        check_same_config(out, cfg)
    land, info = build(cfg)
    writer = RecordWriter(out, cfg, meta={"regime": "toy", "experiment": cfg.experiment,
                                          "data": info}, device=cfg.device, resume=resume)
    hess = land.hessian
    H0 = hess(land.theta0)
    lam0, _ = full_spectrum(H0)
    tcfg = cfg.train_config()
    dense = cfg.eig_method == "dense"
    probes = [dense_probe(hess, info["n_classes"], cfg.eps, cfg.dense_every)] if cfg.dense_every else []
    result = train(land, tcfg, writer, operator_fn=(lambda th: DenseOperator(hess(th))) if dense else None,
                   probes=probes, progress=progress, desc=f"toy {cfg.dataset} h={cfg.hidden}",
                   resume=resume)
    n_c = info["n_classes"]
    summary = {
        "n_params": land.n_params,
        "dataset": info["name"], "n_data": info["n_data"], "n_classes": n_c,
        "widths": list(cfg.widths()), "activation": cfg.activation, "loss": cfg.loss,
        "lr": cfg.lr, "seed": cfg.seed,
        "steps": result.step, "t": result.t, "message": result.message,
        **run_summary(result, tcfg, land),
        "final_loss": result.loss, "final_grad_norm": result.grad_norm,
        "theta_norm_init": float(torch.linalg.vector_norm(land.theta0)),
    }
    # the spectrum is taken at the last θ with a finite loss (a diverged run's final θ has none)
    theta = result.theta_finite
    summary["spectrum_step"] = result.step_finite
    arrays = {"eigenvalues_init": lam0, "hessian_init": H0.cpu().numpy()}
    stats0 = spectrum_stats(lam0, n_classes=n_c, eps=cfg.eps)
    summary.update({"eigenvalues_init": lam0.tolist(), **{f"{k}_init": v for k, v in stats0.items()},
                    "eps": cfg.eps})
    H = lam = None
    if theta is not None:
        H = hess(theta)
        lam, _ = full_spectrum(H)
        arrays.update({"eigenvalues": lam, "hessian": H.cpu().numpy()})
        summary.update({"final_accuracy": land.accuracy(theta),
                        "theta_norm": float(torch.linalg.vector_norm(theta)),
                        "eigenvalues": lam.tolist(),
                        **spectrum_stats(lam, n_classes=n_c, eps=cfg.eps)})
    writer.save_arrays(arrays)
    summary["n_telemetry"] = result.n_points
    summary["wall_time"] = time.perf_counter() - t0
    if figures and H is not None:
        summary["figures"] = write_figures(out, cfg, land, H, lam0, lam)
    writer.write_summary(summary)
    return summary


def write_figures(out: Path, cfg: ToyConfig, land: Landscape, H, lam0, lam) -> list[str]:
    title = (f"{cfg.dataset}, widths {list(cfg.widths())}, {cfg.activation}, {cfg.loss}: "
             f"{land.n_params} parameters")
    paths = [
        plots.before_after_histograms(lam0, lam, out / "spectrum_before_after.png", title=title),
        plots.hessian_heatmap(H.cpu().numpy(), out / "hessian_heatmap.png",
                              title=f"Hessian after training ({land.n_params} parameters)",
                              boundaries=layer_boundaries(land.model)),
    ]
    return [p.name for p in paths]


def with_overrides(cfg: ToyConfig, **changes) -> ToyConfig:
    """A copy of the config with some fields changed (None values are ignored)."""
    return replace(cfg, **{k: v for k, v in changes.items() if v is not None})


def config_dict(cfg: ToyConfig) -> dict:
    return asdict(cfg)
