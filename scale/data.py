"""CIFAR-10 for the scale regime: one loader, two on-disk formats, no augmentation.

Sources, looked for under a data root (``DataSpec.data_root``, else ``$SIMLAB_DATA``, else
``~/.cache/simlab``):

- torchvision's ``cifar-10-batches-py/`` (the full 50,000 + 10,000 images, what [L] used), read by
  ``torchvision.datasets.CIFAR10`` with its md5 checks; ``download=True`` fetches it there;
- ``cifar10_subset.npz`` in the format of ``../shared/data`` (``x_train`` uint8 [N, 32, 32, 3] HWC RGB,
  ``y_train`` int64, ``x_test``, ``y_test``, ``label_names``); the root may also be the .npz path itself.

When a root holds both, torchvision's full set wins (it is what the papers used); ``info["source"]``
always says which file was read, so a run never silently substitutes a dataset.

Pipeline, deterministic given ``DataSpec.seed``:

1. keep the images whose original label is in ``classes`` and relabel class ``classes[j]`` as ``j``;
2. if ``n_data`` is given, draw a seeded subset of that size, balanced across the kept classes
   (see :func:`balanced_counts`), returned in the order the images have on disk;
3. scale to [0, 1] and standardise per channel, ``x_c ← (x_c − μ_c) / σ_c``, where μ_c and σ_c
   (population std) are computed over every pixel of the *selected training* images. A test split
   uses the statistics of the training split drawn with the same spec unless ``stats`` is passed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from simlab.data import (  # noqa: F401  (the one CIFAR-10 reader and subset rule, re-exported)
    CIFAR_FIX as _FIX,
    CIFAR_NPZ as NPZ_NAME,
    CIFAR_TV_FOLDER as TV_FOLDER,
    N_CIFAR_CLASSES,
    balanced_counts,
    normalise_classes,
    read_cifar10,
    resolve_cifar_source as resolve_source,
    select_indices,
)
from simlab.errors import DataError, UsageError


@dataclass(frozen=True)
class DataSpec:
    """Which images to load. Frozen: it is stored in run records as it is."""

    dataset: str = "cifar10"  # only CIFAR-10 in the scale regime
    data_root: str | None = None  # folder or .npz file; None → $SIMLAB_DATA or ~/.cache/simlab
    n_data: int | None = None  # n_D: size of a seeded balanced subset; None → every kept image
    classes: int | tuple[int, ...] | None = None  # kept original labels, or n_c → (0..n_c−1); None → all
    seed: int = 0  # seeds the subset draw
    split: str = "train"  # "train" | "test"
    download: bool = False  # let torchvision fetch CIFAR-10 into the data root


def read_raw(spec: DataSpec, *, verify: bool = True):
    """``(x uint8 [N,32,32,3], y int64 [N], class_names, source dict)`` for ``spec.split``, unselected."""
    if spec.dataset != "cifar10":
        raise UsageError(f"unknown dataset {spec.dataset!r} for the scale regime; use dataset='cifar10'")
    return read_cifar10(spec.data_root, split=spec.split, download=spec.download, verify=verify)


# --------------------------------------------------------------------------- standardisation


def channel_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of uint8 HWC images scaled to [0, 1]."""
    xf = x.reshape(-1, x.shape[-1]).astype(np.float64) / 255.0
    return tuple(float(m) for m in xf.mean(0)), tuple(float(s) for s in xf.std(0))


def standardise(x: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 [N, 32, 32, 3] HWC → float32 [N, 3, 32, 32] CHW, ``(x/255 − mean_c) / std_c``."""
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(std, dtype=np.float64)
    if np.any(s <= 0):
        raise DataError(f"a channel has zero standard deviation (std={tuple(s)}); the selected images are constant")
    xf = (x.astype(np.float64) / 255.0 - m) / s  # (N, H, W, C)
    return torch.from_numpy(np.ascontiguousarray(xf.transpose(0, 3, 1, 2), dtype=np.float32))


# --------------------------------------------------------------------------- loader


def load_cifar10(
    spec: DataSpec,
    *,
    stats: tuple[Sequence[float], Sequence[float]] | None = None,
    verify: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Load CIFAR-10 as described by ``spec``.

    Returns ``X`` float32 [N, 3, 32, 32] standardised, ``y`` int64 [N] in 0..n_c−1, and ``info``:
    ``name``, ``split``, ``source`` ("torchvision:<path>" or "npz:<path>"), ``source_kind``,
    ``source_path``, ``n_data``, ``n_classes``, ``classes`` (original label ids, in relabel
    order), ``class_names``, ``seed``, ``mean``/``std`` (per channel, on [0, 1] pixels) and
    ``stats_from`` ("train", "given").

    ``stats=(mean, std)`` standardises with given statistics (e.g. ``(info["mean"], info["std"])``
    of the training split); without it a test split uses the statistics of the training split
    selected by the same spec. ``verify=False`` skips torchvision's md5 checks (tests only).
    """
    classes = normalise_classes(spec.classes)
    x, y, names, src = read_raw(spec, verify=verify)
    idx = select_indices(y, classes, spec.n_data, spec.seed)
    x, y = x[idx], y[idx]
    relabel = np.full(N_CIFAR_CLASSES, -1, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    y = relabel[y]

    if stats is not None:
        mean, std = tuple(float(v) for v in stats[0]), tuple(float(v) for v in stats[1])
        stats_from = "given"
    elif spec.split == "train":
        mean, std = channel_stats(x)
        stats_from = "train"
    else:
        _, _, train_info = load_cifar10(replace(spec, split="train", download=False), verify=verify)
        mean, std = tuple(train_info["mean"]), tuple(train_info["std"])
        stats_from = "train"

    X = standardise(x, mean, std)
    info = {
        "name": "cifar10",
        "split": spec.split,
        "source": f"{src['kind']}:{src['path']}",
        "source_kind": src["kind"],
        "source_path": src["path"],
        "n_data": int(len(y)),
        "n_classes": len(classes),
        "classes": list(classes),
        "class_names": [names[c] if c < len(names) else str(c) for c in classes],
        "seed": spec.seed,
        "mean": list(mean),
        "std": list(std),
        "stats_from": stats_from,
    }
    return X, torch.from_numpy(y), info


def record_data(info: dict) -> dict:
    """The ``"data"`` block of a record's config.json: name, n_data, n_classes, classes, source."""
    return {k: info[k] for k in ("name", "n_data", "n_classes", "classes", "source")}
