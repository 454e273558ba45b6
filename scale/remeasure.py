"""Re-measure the end-of-run spectral density of a finished scale record at other SLQ settings.

    python -m simlab scale --remeasure-density RUN_DIR [RUN_DIR ...] [--slq-vectors 4 --slq-steps 160]

A scale run's end-of-run SLQ (summary.json's ``density``) resolves only the band its probes ×
steps were validated for (:func:`simlab.density.validated_band`); the cpu preset's 1 × 20
resolves |λ| ≤ 3e−2·λ_1, not the 1e−3·λ_1 of claim F1. :func:`remeasure` rebuilds the run's
landscape from its config.json exactly as the run did (:func:`simlab.scale.run.build_landscape`:
same data subset, model, dtype), loads the final θ from weights.pt (``weights_only=True``),
runs :func:`simlab.density.slq` with the run's seed and writes ``density_<probes>x<steps>.json``
beside the record's files (summary.json is not touched). F1 reads the finest-resolving density a
record holds (:func:`simlab.claims.readers.validated_density_near_zero`).
"""

from __future__ import annotations

import time
from pathlib import Path

from simlab.errors import UsageError
from simlab.operators import Operator
from simlab.record import (CONFIG, SUMMARY, WEIGHTS, git_commit, load_tensor_file, read_json_object,
                           write_json)
from simlab.density import SLQ_PROBES, SLQ_STEPS, near_zero_mass, slq, validated_band

DENSITY_FILE = "density_{probes}x{steps}.json"
BANDS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)  # the bands the SLQ validation measures


def density_file(probes: int, steps: int) -> str:
    return DENSITY_FILE.format(probes=int(probes), steps=int(steps))


def check_record(path: Path | str) -> Path:
    """``path`` must be a finished scale record with its final weights (a UsageError otherwise)."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        raise UsageError(f"{path} is not a simlab record (no {CONFIG}); pass a finished scale run directory")
    doc = read_json_object(path / CONFIG)
    if doc.get("regime") != "scale":
        raise UsageError(f"{path} is a {doc.get('regime', 'unknown')!r} record, not a scale record; "
                         "--remeasure-density takes scale runs only")
    if not (path / SUMMARY).is_file():
        raise UsageError(f"{path} is not finished (no {SUMMARY}); finish it with --resume first")
    if not (path / WEIGHTS).is_file():
        raise UsageError(f"{path} has no {WEIGHTS} (final weights); it cannot be re-measured")
    return path


class _Progress(Operator):
    """``op`` with a progress bar advanced by every product (the SLQ loop takes no callback)."""

    def __init__(self, op: Operator, bar):
        super().__init__()
        self.op, self.bar = op, bar
        self.shape, self.dtype, self.device = op.shape, op.dtype, op.device

    def _matvec(self, v):
        out = self.op.matvec(v)
        self.bar.update(1)
        return out


def remeasure(path: Path | str, *, probes: int = SLQ_PROBES, steps: int = SLQ_STEPS,
              device: str | None = None, progress: bool = True) -> dict:
    """SLQ at ``probes`` × ``steps`` at the record's final θ; writes and returns the document."""
    from simlab.scale.config import ScaleConfig
    from simlab.scale.run import build_landscape, resolve_device

    if probes < 1 or steps < 1:
        raise UsageError(f"--slq-vectors and --slq-steps must be ≥ 1 (got {probes} × {steps})")
    path = check_record(path)
    doc = read_json_object(path / CONFIG)
    cfg = ScaleConfig.from_dict(doc["config"])
    summary = read_json_object(path / SUMMARY)
    t0 = time.perf_counter()
    land, info = build_landscape(cfg, device=resolve_device(device or cfg.device))
    theta = load_tensor_file(path / WEIGHTS, "weights file").to(land.device, land.dtype)
    if theta.shape != (land.n_params,):
        raise UsageError(f"{path / WEIGHTS} holds {tuple(theta.shape)} values, the rebuilt net has "
                         f"{land.n_params} parameters; the record does not match this simlab")
    op = land.operator(theta)
    n = min(steps, land.n_params) * probes
    from tqdm import tqdm

    with tqdm(total=n, desc=f"SLQ {probes}x{steps} {path.name}", unit="HVP", disable=not progress,
              mininterval=2.0, delay=3.0, leave=False) as bar:
        est = slq(_Progress(op, bar), probes=probes, steps=steps, seed=cfg.seed, eps=cfg.eps)
    nodes, weights = est["nodes"], est["weights"]
    lam1 = float(nodes.max())  # the largest Ritz value: λ_1 at this θ (converged long before 160 steps)
    val = validated_band(probes, steps, eps=cfg.eps)
    fractions = {f"{e:g}": {k: near_zero_mass(nodes, weights, lam1, e, n_vectors=probes, estimator=k)
                            for k in ("count", "cell")} for e in BANDS}
    out = {
        "what": "end-of-run SLQ spectral density at the record's final weights (weights.pt), re-measured",
        "record": path.name,
        "settings": {"probes": probes, "steps": steps, "seed": cfg.seed, "dtype": cfg.dtype,
                     "device": str(land.device), "n_data": info["n_data"], "n_params": land.n_params},
        "density": {"nodes": nodes.tolist(), "weights": weights.tolist(), "method": "slq",
                    "n_vectors": probes, "steps": steps},
        "lambda_1": lam1,
        "lambda_1_source": "largest SLQ Ritz value at the final weights",
        "summary_lambda_max": summary.get("lambda_max"),
        "eps": cfg.eps,
        "validated": val,
        "near_zero_fraction": None if val is None else near_zero_mass(
            nodes, weights, lam1, val["band"], n_vectors=probes, estimator=val["estimator"]),
        "band_fractions": fractions,
        "summary_slq": {"n_vectors": (summary.get("density") or {}).get("n_vectors"),
                        "steps": (summary.get("density") or {}).get("steps"),
                        "near_zero_fraction": summary.get("near_zero_fraction")},
        "seconds": time.perf_counter() - t0,
        "n_hvps": est["n_matvecs"],
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    write_json(path / density_file(probes, steps), out)
    return out


def summary_line(doc: dict) -> str:
    val = doc["validated"]
    band = (f"near-zero {doc['near_zero_fraction']:.4f} at |λ| ≤ {val['band']:g}·λ_1 "
            f"({val['estimator']})" if val else "no validated band for these settings")
    s = doc["settings"]
    return (f"[{doc['record']}] SLQ {s['probes']}x{s['steps']}: λ_1 {doc['lambda_1']:.4g}, {band}; "
            f"{doc['n_hvps']} HVPs, {doc['seconds']:.0f} s → {density_file(s['probes'], s['steps'])}")


def main(paths, *, probes: int | None = None, steps: int | None = None, device: str | None = None,
         progress: bool = True) -> int:
    """Every record checked first, then re-measured one after another."""
    probes = SLQ_PROBES if probes is None else int(probes)
    steps = SLQ_STEPS if steps is None else int(steps)
    if probes < 1 or steps < 1:
        raise UsageError(f"--slq-vectors and --slq-steps must be ≥ 1 (got {probes} × {steps})")
    dirs = [check_record(p) for p in paths]
    for d in dirs:
        print(summary_line(remeasure(d, probes=probes, steps=steps, device=device, progress=progress)),
              flush=True)
    return 0

