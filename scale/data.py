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

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torchvision.datasets import CIFAR10

from simlab.data import default_data_root
from simlab.errors import DataError, UsageError

NPZ_NAME = "cifar10_subset.npz"
TV_FOLDER = "cifar-10-batches-py"
N_CIFAR_CLASSES = 10

_FIX = (
    "pass --data-root pointing at a folder with cifar-10-batches-py/ or cifar10_subset.npz, "
    "or add --download"
)


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


# --------------------------------------------------------------------------- resolution


def resolve_source(data_root: str | os.PathLike | None, *, download: bool = False) -> tuple[str, Path]:
    """Decide where CIFAR-10 comes from: ``("torchvision", folder)`` or ``("npz", file)``.

    A path to an .npz file is read as such. A folder holding ``cifar-10-batches-py/`` is read by
    torchvision (preferred: the full set); else a folder holding ``cifar10_subset.npz`` is read as
    npz; else, with ``download``, torchvision will download into the folder. Otherwise DataError.
    """
    root = Path(data_root).expanduser() if data_root is not None else default_data_root()
    if root.suffix == ".npz":
        if root.is_file():
            return "npz", root
        raise DataError(f"no CIFAR-10 arrays at {root}: {_FIX}")
    if (root / TV_FOLDER).is_dir():
        return "torchvision", root
    if (root / NPZ_NAME).is_file():
        return "npz", root / NPZ_NAME
    if download:
        return "torchvision", root
    raise DataError(f"no CIFAR-10 under {root} (looked for {TV_FOLDER}/ and {NPZ_NAME}): {_FIX}")


# --------------------------------------------------------------------------- raw readers


def _read_torchvision(root: Path, train: bool, *, download: bool, verify: bool):
    """Images uint8 [N, 32, 32, 3], labels int64 [N], class names, via torchvision's CIFAR10.

    ``verify=False`` skips torchvision's md5 checks (the files are still read by torchvision's
    own code); it exists for small files written in the official format, e.g. by tests.
    """
    cls = CIFAR10 if verify else _UnverifiedCIFAR10
    try:
        ds = cls(str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted ..."
        raise DataError(f"CIFAR-10 under {root / TV_FOLDER} is missing or corrupted ({err}): {_FIX}") from None
    except OSError as err:  # network or file-system failure during download
        raise DataError(f"could not download CIFAR-10 into {root} ({err}): {_FIX}") from None
    x = np.asarray(ds.data, dtype=np.uint8)
    y = np.asarray(ds.targets, dtype=np.int64)
    return x, y, [str(c) for c in ds.classes]


class _UnverifiedCIFAR10(CIFAR10):
    """torchvision's CIFAR10 reader with its md5 checks turned off (file names and format unchanged)."""

    train_list = [[name, None] for name, _ in CIFAR10.train_list]
    test_list = [[name, None] for name, _ in CIFAR10.test_list]
    meta = {**CIFAR10.meta, "md5": None}


def _read_npz(path: Path, train: bool):
    """Images uint8 [N, 32, 32, 3], labels int64 [N], class names, from an npz of the shared format."""
    xk, yk = ("x_train", "y_train") if train else ("x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as d:
            missing = [k for k in (xk, yk) if k not in d.files]
            if missing:
                raise DataError(f"{path} lacks arrays {missing} (expected x_train, y_train, x_test, y_test, label_names): {_FIX}")
            x, y = d[xk], d[yk]
            names = [str(s) for s in d["label_names"]] if "label_names" in d.files else [str(i) for i in range(N_CIFAR_CLASSES)]
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read {path} as an npz ({err}): {_FIX}") from None
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
        raise DataError(f"{path}:{xk} has shape {x.shape} dtype {x.dtype}, expected uint8 [N, 32, 32, 3]: {_FIX}")
    if y.shape != (x.shape[0],):
        raise DataError(f"{path}:{yk} has shape {y.shape}, expected ({x.shape[0]},): {_FIX}")
    return x, y.astype(np.int64), names


def read_raw(spec: DataSpec, *, verify: bool = True):
    """``(x uint8 [N,32,32,3], y int64 [N], class_names, source dict)`` for ``spec.split``, unselected."""
    if spec.dataset != "cifar10":
        raise UsageError(f"unknown dataset {spec.dataset!r} for the scale regime; use dataset='cifar10'")
    if spec.split not in ("train", "test"):
        raise UsageError(f"unknown split {spec.split!r}; use 'train' or 'test'")
    kind, path = resolve_source(spec.data_root, download=spec.download)
    train = spec.split == "train"
    if kind == "torchvision":
        x, y, names = _read_torchvision(path, train, download=spec.download, verify=verify)
        src_path = path / TV_FOLDER
    else:
        x, y, names = _read_npz(path, train)
        src_path = path
    return x, y, names, {"kind": kind, "path": str(src_path.resolve())}


# --------------------------------------------------------------------------- selection


def normalise_classes(classes: int | Sequence[int] | None) -> tuple[int, ...]:
    """``None`` → (0..9); ``n`` → (0..n−1); a sequence → itself, checked (distinct labels in 0..9, ≥ 2)."""
    if classes is None:
        return tuple(range(N_CIFAR_CLASSES))
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        n = int(classes)
        if not 2 <= n <= N_CIFAR_CLASSES:
            raise UsageError(f"classes={n}: the number of classes must be in 2..{N_CIFAR_CLASSES}")
        return tuple(range(n))
    out = tuple(int(c) for c in classes)
    if len(out) < 2 or len(set(out)) != len(out) or not all(0 <= c < N_CIFAR_CLASSES for c in out):
        raise UsageError(f"classes={out}: give at least two distinct CIFAR-10 labels in 0..{N_CIFAR_CLASSES - 1}")
    return out


def balanced_counts(available: Sequence[int], n: int) -> list[int]:
    """How many images to take from each class: as equal as the class sizes allow.

    Water-filling: every class gets ⌊n/n_c⌋, the first ``n mod n_c`` classes (in the given order) one
    more; a class with too few images gives all it has and its shortfall is shared the same way
    among the classes that still have images. Raises DataError if ``n > sum(available)``.
    """
    avail = [int(a) for a in available]
    if n > sum(avail):
        raise DataError(f"n_data={n} but only {sum(avail)} images of the kept classes are available: lower --n-data or use the full CIFAR-10 ({_FIX})")
    counts = [0] * len(avail)
    left = n
    while left > 0:
        open_ = [i for i in range(len(avail)) if counts[i] < avail[i]]
        share, extra = divmod(left, len(open_))
        for j, i in enumerate(open_):
            take = min(avail[i] - counts[i], share + (1 if j < extra else 0))
            counts[i] += take
            left -= take
    return counts


def select_indices(y: np.ndarray, classes: tuple[int, ...], n_data: int | None, seed: int) -> np.ndarray:
    """Indices (ascending, i.e. on-disk order) of the kept images; a seeded balanced draw if ``n_data``."""
    per_class = [np.flatnonzero(y == c) for c in classes]
    if n_data is None:
        return np.sort(np.concatenate(per_class))
    if n_data < 1:
        raise UsageError(f"n_data={n_data}: give a positive number of images (or omit it for all)")
    counts = balanced_counts([len(ix) for ix in per_class], int(n_data))
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(ix)[:k] for ix, k in zip(per_class, counts)]
    return np.sort(np.concatenate(picked))


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
