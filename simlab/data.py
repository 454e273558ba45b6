"""The one data path of both regimes: one loader per dataset, one class-subset rule (the files
they read are found, read and checked in :mod:`simlab.datafiles`, the one way of doing so).

Datasets (every loader returns ``(X, y, info)``: ``X`` float64 ``[N, d]`` for the toy regime, ``y``
long ``[N]`` in 0..n_c−1, ``info`` a plain dict written into the record's ``config.json``):

- ``blobs``: two 2-D Gaussians centred at (1, 1) (label 0) and (−1, −1) (label 1), std ``std``
  per coordinate (Sagun et al. 2016 §3); ``random``: x ~ N(0, I_d), y ~ Uniform{0..n_c−1};
- ``digits``: scikit-learn's 8×8 digits, pixels / 16; ``mnist``: torchvision's MNIST folder or
  an npz like ``shared/data/mnist_subset.npz``, pixels / 255; ``cifar8``: CIFAR-10
  average-pooled to 8×8×3, pixels / 255. Real images are rescaled to [0, 1], not centred;
- CIFAR-10 itself (32×32, standardised per channel) for the scale regime is
  :func:`simlab.scale.data.load_cifar10`, over :func:`simlab.datafiles.read_cifar10`.

Class subsets (every real dataset, both regimes): keep the examples whose original label is in
``classes`` (an int n_c means labels 0..n_c−1), relabel ``classes[j]`` as ``j``, and if ``n_data``
is given draw a seeded subset of that size, balanced across the kept classes
(:func:`balanced_counts`), returned in on-disk order (:func:`select_indices`). Every draw uses
its own seeded generator; the global RNG state is never read or changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from simlab.datafiles import (  # noqa: F401  (the names scale.data and toy.data import from here)
    CIFAR_FIX,
    CIFAR_NPZ,
    CIFAR_TV_FOLDER,
    MNIST_NPZ,
    N_CIFAR_CLASSES,
    default_data_root,
    has_torchvision_mnist,
    read_cifar10,
    read_mnist,
    resolve_cifar_source,
)
from simlab.errors import DataError, UsageError, check_seed

DATASETS = ("blobs", "random", "digits", "mnist", "cifar8")


@dataclass(frozen=True)
class DataConfig:
    """Which data a toy run uses.

    ``classes``: for ``digits``/``mnist``/``cifar8`` an int n_c (labels 0..n_c−1) or a tuple of
    labels (relabelled 0..n_c−1 in the order given); for ``random`` an int, the number of classes
    (default 10); ``None`` for ``blobs`` (always 2 classes). ``n_data``: examples (balanced
    across classes for real images); ``None`` means all available (real images only).
    """

    dataset: str = "blobs"  # one of DATASETS
    n_data: int | None = 1000  # examples in the training set
    std: float = 1.0  # blobs: per-coordinate standard deviation
    data_root: str | None = None  # mnist/cifar8: folder or .npz path; None -> default_data_root()
    classes: int | tuple[int, ...] | None = None  # class subset / n_c (random)
    seed: int = 0  # seed of every draw (sampling, subset)
    download: bool = False  # mnist/cifar8: let torchvision download into data_root
    input_dim: int = 784  # random: input dimension
    standardise: bool = False  # z-score every input feature over the drawn set (std 0 -> 1)

    def __post_init__(self):
        # lists (from JSON or argparse) become tuples so the config stays hashable
        if isinstance(self.classes, list):
            object.__setattr__(self, "classes", tuple(int(c) for c in self.classes))
        if self.data_root is not None and not isinstance(self.data_root, str):
            object.__setattr__(self, "data_root", str(self.data_root))


def load(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Load the dataset that ``cfg`` names: ``(X [N, d] float64, y [N] long, info)``; with
    ``standardise`` every feature is z-scored over the drawn set (:func:`standardise_features`)."""
    X, y, info = _load(cfg)
    if cfg.standardise:
        X = standardise_features(X)
        info = {**info, "standardisation": info["standardisation"] + "; then every feature "
                "z-scored over the drawn set (std 0 -> 1)"}
    return X, y, info


def standardise_features(X: torch.Tensor) -> torch.Tensor:
    """``(X − mean_0(X)) / std_0(X)`` per column (torch's default sample std, ddof = 1; a constant
    column gets std 1)."""
    std = X.std(0)
    return (X - X.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))


def _load(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor, dict]:
    check_seed(cfg.seed)
    if cfg.dataset == "blobs":
        if cfg.classes is not None:
            raise UsageError("blobs always has 2 classes: drop --classes or pick another dataset")
        return blobs(_need_n(cfg), std=cfg.std, seed=cfg.seed)
    if cfg.dataset == "random":
        n_classes = 10 if cfg.classes is None else cfg.classes
        if not _is_int(n_classes):
            raise UsageError(f"random inputs take --classes as a number of classes, got {n_classes!r}")
        return random_inputs(_need_n(cfg), cfg.input_dim, n_classes, seed=cfg.seed)
    if cfg.dataset == "digits":
        return digits(cfg.n_data, seed=cfg.seed, classes=cfg.classes)
    if cfg.dataset == "mnist":
        return mnist(cfg.data_root, n_data=cfg.n_data, seed=cfg.seed, download=cfg.download,
                     classes=cfg.classes)
    if cfg.dataset == "cifar8":
        return cifar8(cfg.data_root, n_data=cfg.n_data, seed=cfg.seed, classes=cfg.classes,
                      download=cfg.download)
    raise UsageError(f"unknown dataset {cfg.dataset!r}: choose one of {', '.join(DATASETS)}")


def _need_n(cfg: DataConfig) -> int:
    if cfg.n_data is None:
        raise UsageError(f"{cfg.dataset} is synthetic: give --n-data (a positive integer)")
    return cfg.n_data


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_positive_int(x, name: str, minimum: int = 1) -> None:
    if not _is_int(x) or x < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {x!r}")


# --------------------------------------------------------------------------- the subset rule


def normalise_classes(classes: int | Sequence[int] | None, n_total: int = N_CIFAR_CLASSES) -> tuple[int, ...]:
    """``None`` → (0..n_total−1); ``n`` → (0..n−1); a sequence → itself, checked (≥ 2 distinct
    labels in 0..n_total−1)."""
    if classes is None:
        return tuple(range(n_total))
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        n = int(classes)
        if not 2 <= n <= n_total:
            raise UsageError(f"--classes {n}: the number of classes must be in 2..{n_total}")
        return tuple(range(n))
    out = tuple(int(c) for c in classes)
    shown = ",".join(map(str, out))
    twice = sorted({c for c in out if out.count(c) > 1})
    outside = [c for c in out if not 0 <= c < n_total]
    if twice:
        raise UsageError(f"--classes {shown}: label {', '.join(map(str, twice))} is given more than "
                         f"once; list each class once, e.g. {','.join(map(str, dict.fromkeys(out)))}")
    if outside:
        raise UsageError(f"--classes {shown}: label {outside[0]} is not a class of this dataset; "
                         f"labels are 0..{n_total - 1}")
    if len(out) < 2:
        raise UsageError(f"--classes {shown}: a classifier needs at least two classes; give two or "
                         f"more labels in 0..{n_total - 1}")
    return out


def balanced_counts(available: Sequence[int], n: int) -> list[int]:
    """How many examples to take from each class: as equal as the class sizes allow.

    Water-filling: every class gets ⌊n/n_c⌋, the first ``n mod n_c`` classes (in the given order) one
    more; a class with too few examples gives all it has and its shortfall is shared the same way
    among the classes that still have examples. Raises DataError if ``n > sum(available)``.
    """
    avail = [int(a) for a in available]
    if n > sum(avail):
        raise DataError(f"--n-data {n} but only {sum(avail)} examples of the kept classes are "
                        f"available: use --n-data <= {sum(avail)} or a larger dataset")
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


def select_indices(y: np.ndarray, classes: Sequence[int], n_data: int | None, seed: int) -> np.ndarray:
    """Indices (ascending, i.e. on-disk order) of the kept examples; a seeded balanced draw if ``n_data``."""
    per_class = [np.flatnonzero(y == c) for c in classes]
    if n_data is None:
        return np.sort(np.concatenate(per_class))
    if isinstance(n_data, bool) or not isinstance(n_data, (int, np.integer)) or n_data < 1:
        raise UsageError(f"--n-data {n_data}: give a positive number of examples (or omit it for all)")
    counts = balanced_counts([len(ix) for ix in per_class], int(n_data))
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(ix)[:k] for ix, k in zip(per_class, counts)]
    return np.sort(np.concatenate(picked))


def subset(x: np.ndarray, y: np.ndarray, classes, n_data: int | None, seed: int,
           n_total: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The subset rule applied: ``(x, y relabelled 0..n_c−1, kept original labels)``."""
    kept = normalise_classes(classes, n_total)
    idx = select_indices(y, kept, n_data, seed)
    relabel = np.full(n_total, -1, dtype=np.int64)
    relabel[list(kept)] = np.arange(len(kept))
    return x[idx], relabel[y[idx]], list(kept)


# --------------------------------------------------------------------------- cifar8 (toy regime)


def avg_pool_images(x: np.ndarray, side: int) -> np.ndarray:
    """uint8 HWC images [N, H, W, C] → float64 [N, side, side, C], the mean of each (H/side)² block."""
    n, h, w, c = x.shape
    fh, fw = h // side, w // side
    return x.reshape(n, side, fh, side, fw, c).astype(np.float64).mean(axis=(2, 4))


def cifar8(data_root=None, n_data: int | None = 1000, seed: int = 0, classes=None,
           download: bool = False, split: str = "train", verify: bool = True):
    """CIFAR-10 average-pooled to 8×8×3 for the toy regime: ``(X float64 [N, 192], y, info)``.

    Pixels / 255 ∈ [0, 1] (like digits and MNIST: not centred), each 4×4 block averaged, flattened
    in channel-major (C, H, W) order as torch's ``flatten`` of a CHW image would. The images come
    from the same data roots as the scale regime (:func:`read_cifar10`); ``classes`` and
    ``n_data`` follow the one subset rule (seeded, balanced).
    """
    x, y, names, src = read_cifar10(data_root, split=split, download=download, verify=verify)
    x, y, kept = subset(x, y, classes, n_data, check_seed(seed), N_CIFAR_CLASSES)
    pooled = avg_pool_images(x, 8) / 255.0  # (N, 8, 8, 3)
    X = torch.from_numpy(np.ascontiguousarray(pooled.transpose(0, 3, 1, 2)).reshape(len(y), -1))
    info = {
        "name": "cifar8",
        "n_data": int(len(y)),
        "n_classes": len(kept),
        "classes": kept,
        "class_names": [names[c] if c < len(names) else str(c) for c in kept],
        "source": f"{src['kind']}:{src['path']}",
        "split": split,
        "seed": int(seed),
        "input_dim": 192,
        "standardisation": "pixels / 255 in [0, 1], 4x4 average-pooled to 8x8x3 (CHW flatten), not centred",
    }
    return X, torch.from_numpy(y).long(), info


# --------------------------------------------------------------------------- synthetic


def blobs(n: int, std: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Two 2-D Gaussian blobs: x | y=0 ~ N((1, 1), std² I₂), x | y=1 ~ N((−1, −1), std² I₂);
    ceil(n/2) points of class 0 and floor(n/2) of class 1, in a seeded random order."""
    _check_positive_int(n, "n_data", minimum=2)
    if not (isinstance(std, (int, float)) and np.isfinite(std) and std > 0):
        raise UsageError(f"blob std must be a positive number, got {std!r}")
    g = torch.Generator().manual_seed(check_seed(seed))
    n0 = n - n // 2
    y = torch.cat([torch.zeros(n0, dtype=torch.long), torch.ones(n // 2, dtype=torch.long)])
    centres = torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    X = centres[y] + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    perm = torch.randperm(n, generator=g)
    info = {"name": "blobs", "n_data": n, "n_classes": 2, "classes": [0, 1],
            "source": "synthetic: N((1,1), std^2 I) vs N((-1,-1), std^2 I) (Sagun et al. 2016 sec. 3)",
            "std": float(std), "seed": int(seed), "input_dim": 2, "standardisation": "none"}
    return X[perm], y[perm], info


def random_inputs(n: int, dim: int = 784, n_classes: int = 10,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Random inputs with random labels: x ~ N(0, I_dim), y ~ Uniform{0..n_classes−1}, independent."""
    _check_positive_int(n, "n_data")
    _check_positive_int(dim, "input_dim")
    _check_positive_int(n_classes, "number of classes", minimum=2)
    g = torch.Generator().manual_seed(check_seed(seed))
    X = torch.randn(n, dim, generator=g, dtype=torch.float64)
    y = torch.randint(0, n_classes, (n,), generator=g, dtype=torch.long)
    info = {"name": "random", "n_data": n, "n_classes": n_classes, "classes": list(range(n_classes)),
            "source": "synthetic: x ~ N(0, I), y ~ Uniform (Sagun et al. 2016 random inputs)",
            "seed": int(seed), "input_dim": dim, "standardisation": "none"}
    return X, y, info


# --------------------------------------------------------------------------- real images


def _image_set(name: str, x: np.ndarray, y: np.ndarray, *, scale: float, classes, n_data, seed,
               source: str, standardisation: str, **extra) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The subset rule, then images flattened to float64 rows / ``scale``."""
    x, y, kept = subset(x, y, classes, n_data, check_seed(seed), 10)
    X = torch.from_numpy(x.reshape(len(y), -1).astype(np.float64) / scale)
    info = {"name": name, "n_data": int(len(y)), "n_classes": len(kept), "classes": kept,
            "source": source, **extra, "seed": int(seed), "input_dim": int(X.shape[1]),
            "standardisation": standardisation}
    return X, torch.from_numpy(y).long(), info


def digits(n: int | None = None, seed: int = 0,
           classes: int | tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """scikit-learn's 8×8 handwritten digits (1797 images): pixels / 16 ∈ [0, 1], flattened to 64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8), integer values 0..16
    return _image_set("digits", images, np.asarray(bunch.target, dtype=np.int64), scale=16.0,
                      classes=classes, n_data=n, seed=seed,
                      source="sklearn.datasets.load_digits (8x8, 1797 images)",
                      standardisation="pixels / 16 in [0, 1], not centred")


def mnist(data_root: str | os.PathLike | None = None, n_data: int | None = 1000, seed: int = 0,
          download: bool = False, classes: int | tuple[int, ...] | None = None,
          train: bool = True) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """MNIST: pixels / 255 ∈ [0, 1], flattened to 784; the images from :func:`read_mnist` (an npz
    or torchvision's folder under ``data_root``, or a download). ``train`` picks the split."""
    images, labels, source = read_mnist(data_root, train=train, download=download)
    return _image_set("mnist", images, labels, scale=255.0, classes=classes, n_data=n_data,
                      seed=seed, source=source, split="train" if train else "test",
                      standardisation="pixels / 255 in [0, 1], not centred")
