"""The bridge: one network small enough for both regimes, measured by both paths at once.

A net of a few thousand parameters is trained once with Lowell's protocol (full-batch GD,
constant η, telemetry every 1/η iterations, stop at L < target or t = nη ≥ max_t). At every
telemetry point θ_n the same telemetry (:func:`simlab.telemetry.measure`) is taken three ways:

- ``exact``            the toy regime's path: the dense float64 Hessian
                       (:meth:`simlab.landscape.Landscape.hessian`) and ``eigh`` — the reference;
- ``lanczos_float64``  the scale regime's path in float64: Hessian-vector products and
                       simlab's Lanczos (``tol = lanczos_tol``), no Hessian ever formed;
- ``lanczos_float32``  the scale regime's path as it runs at scale: the same net and data in
                       float32, Lanczos with ``tol = lanczos_tol32``.

For each matrix-free path and each quantity q ∈ {λ_1..λ_k, ρ_1..ρ_k, ‖P_top g‖, ‖P_bulk g‖,
‖P_top g‖/‖P_bulk g‖, ΔL_top, ΔL_bulk} the relative difference to the exact path is

    δ(q) = |q_path − q_exact| / |q_exact|          (per eigenvalue index for λ and ρ)

except for ΔL_top and ΔL_bulk, each the difference of two losses evaluated in the path's
precision: they cannot be resolved below the rounding of L itself, so their denominator is
max(|ΔL_exact|, 4·u·|L|) with u the unit roundoff of the path's dtype (1.1e−16 for float64,
6.0e−8 for float32). A ΔL smaller than that floor is compared in units of the floor.

and the bridge reports max over telemetry points (and indices) of δ, beside the tolerance it is
held to (``tol64`` for float64, ``tol32`` for float32). Since ρ_i = ηλ_i/2 with the same η,
δ(ρ_i) = δ(λ_i) up to rounding; both are listed because the report's readers ask for both.

Nets: ``mlp`` is Sagun's 784-k-10 on MNIST-1000 (scikit-learn's 8×8 digits, 64-k-10, when no
MNIST is on disk); ``cnn`` is the scale regime's own AlexNet (:mod:`simlab.scale.models`) at width
1/128 — 2,641 parameters for 10 classes — on a class-balanced CIFAR-10 subset.
The record (experiment ``"bridge"``, regime ``"bridge"`` so the claims' per-regime tables do not
mix it in) holds the exact path's telemetry in telemetry.jsonl, both matrix-free paths' points in
``bridge_points.json``, and the agreement table in summary.json.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from simlab.errors import UsageError
from simlab.landscape import Landscape
from simlab.operators import DenseOperator
from simlab.record import RecordWriter, write_json
from simlab.telemetry import measure
from simlab.trainer import TrainConfig, run_summary, train

NETS = ("mlp", "cnn")
PATHS = ("lanczos_float64", "lanczos_float32")
DTYPE_OF = {"lanczos_float64": torch.float64, "lanczos_float32": torch.float32}
QUANTITIES = ("eigenvalues", "rho", "p_top_norm", "p_bulk_norm", "p_ratio", "dl_top", "dl_bulk")


@dataclass(frozen=True)
class BridgeConfig:
    net: str = "mlp"                # "mlp" (784-k-10 / 64-k-10) | "cnn" (AlexNet at width 1/128)
    dataset: str = "auto"           # mlp: "mnist" | "digits" | "auto" (MNIST when on disk); cnn: cifar10
    n_data: int = 1000              # n_D
    n_classes: int = 10             # classes kept (the first n_c labels)
    hidden: int = 4                 # mlp: hidden width k (784-4-10: 3,190 parameters)
    width: float = 1 / 128          # cnn: AlexNet width multiplier (1/128: 2,641 parameters)
    activation: str = "relu"
    loss: str = "ce"
    lr: float = 0.05                # η
    max_t: float = 40.0             # Lowell: stop at t = nη ≥ 40 ...
    target_loss: float | None = 0.1  # ... or L < 0.1
    max_steps: int | None = None
    telemetry_every: int | None = None  # None: round(1/η) (Lowell)
    k: int = 20                     # eigenpairs compared
    lanczos_tol: float = 1e-10      # Lanczos tol of the float64 matrix-free path
    lanczos_tol32: float = 1e-4     # Lanczos tol of the float32 path (the scale regime's default)
    tol64: float = 1e-6             # agreement asked of the float64 path (max relative difference)
    tol32: float = 1e-2             # agreement asked of the float32 path
    seed: int = 0
    data_root: str | None = None
    dense_block: int = 16           # basis vectors per vmap block of the dense Hessian
    experiment: str = "bridge"

    def validate(self) -> None:
        if self.net not in NETS:
            raise UsageError(f"unknown bridge net {self.net!r}; choose one of {', '.join(NETS)}")
        if not self.lr > 0:
            raise UsageError(f"the bridge's learning rate must be positive, got {self.lr}")
        if self.k < 1:
            raise UsageError(f"k must be ≥ 1, got {self.k}")

    def train_config(self) -> TrainConfig:
        return TrainConfig(lr=self.lr, max_steps=self.max_steps, max_t=self.max_t,
                           target_loss=self.target_loss, telemetry_every=self.telemetry_every,
                           k=self.k, eig_method="dense")


def build_net_and_data(cfg: BridgeConfig):
    """``(model float32, X, y, data_info)`` for the config; the model is freshly seeded."""
    cfg.validate()
    if cfg.net == "mlp":
        from simlab.paper.common import has_mnist
        from simlab import data as toy_data
        from simlab.toy.models import mnist_mlp

        dataset = cfg.dataset
        if dataset == "auto":
            dataset = "mnist" if has_mnist(cfg.data_root) else "digits"
        classes = None if cfg.n_classes == 10 else cfg.n_classes
        dc = toy_data.DataConfig(dataset=dataset, n_data=cfg.n_data, data_root=cfg.data_root,
                                 classes=classes, seed=cfg.seed)
        X, y, info = toy_data.load(dc)
        model = mnist_mlp(cfg.hidden, activation=cfg.activation, seed=cfg.seed,
                          in_dim=X.shape[1], n_classes=info["n_classes"])
        return model, X, y, info
    from simlab.scale.data import DataSpec, load_cifar10, record_data
    from simlab.scale.models import build_model

    spec = DataSpec(data_root=cfg.data_root, n_data=cfg.n_data, classes=cfg.n_classes,
                    seed=cfg.seed)
    X, y, info = load_cifar10(spec)
    model = build_model("alexnet", n_classes=info["n_classes"], activation=cfg.activation,
                        width=cfg.width, seed=cfg.seed)
    return model, X, y, record_data(info)


def landscapes(cfg: BridgeConfig):
    """The same net and data as two landscapes, float64 (exact and Lanczos paths) and float32."""
    model, X, y, info = build_net_and_data(cfg)
    n_c = info["n_classes"]
    land64 = Landscape(copy.deepcopy(model), X, y, loss=cfg.loss, n_classes=n_c,
                       dtype=torch.float64)
    land32 = Landscape(copy.deepcopy(model), X, y, loss=cfg.loss, n_classes=n_c,
                       dtype=torch.float32)
    return land64, land32, info


def rel_diff(a, b) -> float:
    """max |b − a| / |a| elementwise (a: the exact values); inf where a = 0 ≠ b, 0 where both 0."""
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    m = min(a.size, b.size)
    a, b = a[:m], b[:m]
    num = np.abs(b - a)
    den = np.abs(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num > 0, np.inf, 0.0))
    return float(np.max(r)) if r.size else float("nan")


def _ratio(p: dict) -> float:
    return p["p_top_norm"] / p["p_bulk_norm"] if p["p_bulk_norm"] > 0 else math.inf


def rel_diff_floored(a: float, b: float, floor: float) -> float:
    """|b − a| / max(|a|, floor)."""
    return abs(b - a) / max(abs(a), floor) if max(abs(a), floor) > 0 else (0.0 if a == b else math.inf)


def compare_points(exact: dict, other: dict, dtype: torch.dtype = torch.float64) -> dict:
    """δ of every quantity of one telemetry point (see the module docstring); ``dtype`` is the
    precision the other path evaluated its losses in."""
    floor = 4 * (torch.finfo(dtype).eps / 2) * abs(exact["loss"])  # 4u·|L|, u = eps/2
    return {
        "eigenvalues": rel_diff(exact["eigenvalues"], other["eigenvalues"]),
        "rho": rel_diff(exact["rho"], other["rho"]),
        "p_top_norm": rel_diff(exact["p_top_norm"], other["p_top_norm"]),
        "p_bulk_norm": rel_diff(exact["p_bulk_norm"], other["p_bulk_norm"]),
        "p_ratio": rel_diff(_ratio(exact), _ratio(other)),
        "dl_top": rel_diff_floored(exact["dl_top"], other["dl_top"], floor),
        "dl_bulk": rel_diff_floored(exact["dl_bulk"], other["dl_bulk"], floor),
    }


def agreement(diffs: list[dict], tol: float) -> dict:
    """Max over points of each quantity's δ, and whether each is within ``tol``."""
    out = {}
    for q in QUANTITIES:
        vals = [d[q] for d in diffs if q in d]
        worst = max(vals) if vals else float("nan")
        out[q] = {"max_rel_diff": worst, "tol": tol, "agrees": bool(worst <= tol)}
    return out


_KEEP = ("eigenvalues", "rho", "p_top_norm", "p_bulk_norm", "dl_top", "dl_bulk", "loss",
         "grad_norm", "n_matvecs", "residuals")


def run(cfg: BridgeConfig, out: Path | str, *, progress: bool = True) -> dict:
    """Train once, measure every telemetry point by the three paths, write the record.

    Returns the summary (also in ``out/summary.json``): ``agreement`` per path and quantity,
    the paths' costs (products per point, seconds), ``n_params``, the training outcome.
    """
    t0 = time.perf_counter()
    out = Path(out)
    land64, land32, info = landscapes(cfg)
    if land64.n_params > 20_000:
        raise UsageError(f"the bridge net has {land64.n_params} parameters; the dense Hessian is "
                         "meant for a few thousand — lower --hidden or the width")
    writer = RecordWriter(out, cfg, meta={"regime": "bridge", "experiment": cfg.experiment,
                                          "data": info})
    tcfg = cfg.train_config()
    pending: dict[str, dict] = {}
    points: list[dict] = []
    seconds = {"exact": 0.0, "lanczos_float64": 0.0, "lanczos_float32": 0.0}

    def hessian_with_twins(theta: torch.Tensor) -> torch.Tensor:
        # called by the trainer at each telemetry point with θ_n: take the matrix-free twins here
        lr = cfg.lr
        s = time.perf_counter()
        p64, _ = measure(land64, theta, lr=lr, k=cfg.k, method="lanczos", tol=cfg.lanczos_tol,
                         seed=len(points))
        seconds["lanczos_float64"] += time.perf_counter() - s
        s = time.perf_counter()
        p32, _ = measure(land32, theta.to(torch.float32), lr=lr, k=cfg.k, method="lanczos",
                         tol=cfg.lanczos_tol32, seed=len(points))
        seconds["lanczos_float32"] += time.perf_counter() - s
        pending["lanczos_float64"], pending["lanczos_float32"] = p64, p32
        s = time.perf_counter()
        H = land64.hessian(theta, block=cfg.dense_block)
        seconds["exact"] += time.perf_counter() - s
        return H

    def on_point(point: dict, eig) -> None:
        row = {"step": point["step"], "t": point["t"],
               "exact": {k: point[k] for k in _KEEP}}
        for path in PATHS:
            other = pending.pop(path)
            row[path] = {k: other[k] for k in _KEEP}
            row[f"diff_{path}"] = compare_points(point, other, DTYPE_OF[path])
        points.append(row)

    result = train(land64, tcfg, writer, operator_fn=lambda th: DenseOperator(hessian_with_twins(th)),
                   on_point=on_point, progress=progress, desc=f"bridge {cfg.net}")
    tols = {"lanczos_float64": cfg.tol64, "lanczos_float32": cfg.tol32}
    agree = {path: agreement([p[f"diff_{path}"] for p in points], tols[path]) for path in PATHS}
    matvecs = {path: float(np.mean([p[path]["n_matvecs"] for p in points])) for path in PATHS}
    write_json(out / "bridge_points.json", points)
    summary = {
        "net": cfg.net, "dataset": info["name"], "n_data": info["n_data"],
        "n_classes": info["n_classes"], "n_params": land64.n_params, "lr": cfg.lr,
        "steps": result.step, "t": result.t, "stop_reason": result.stop_reason,
        "message": result.message, **run_summary(result, tcfg, land64), "final_loss": result.loss,
        "final_grad_norm": result.grad_norm, "n_telemetry": len(points),
        "agreement": agree,
        "all_agree": {path: all(v["agrees"] for v in agree[path].values()) for path in PATHS},
        "mean_matvecs_per_point": matvecs,
        "seconds": seconds,
        "lanczos_tol": {"lanczos_float64": cfg.lanczos_tol, "lanczos_float32": cfg.lanczos_tol32},
        "wall_time": time.perf_counter() - t0,
    }
    writer.write_summary(summary)
    return summary


def config_dict(cfg: BridgeConfig) -> dict:
    return asdict(cfg)


def with_overrides(cfg: BridgeConfig, **changes) -> BridgeConfig:
    return replace(cfg, **{k: v for k, v in changes.items() if v is not None})
