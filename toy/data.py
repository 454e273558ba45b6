"""Data for the toy regime: small, exact, and always stated in the record.

Every loader returns ``(X, y, info)``:

- ``X``: float64 tensor ``[N, d]`` (the toy regime works in float64 throughout),
- ``y``: long tensor ``[N]`` with labels ``0 .. n_classes-1``,
- ``info``: a plain dict ``{name, n_data, n_classes, classes, source, ...}`` that the run writes
  into ``config.json`` under ``"data"``. ``classes`` lists the *original* labels kept, in the
  order of their new labels (new label ``i`` is original label ``classes[i]``).

Datasets
--------
- ``blobs``: two isotropic 2-D Gaussians centred at (1, 1) (label 0) and (-1, -1) (label 1),
  standard deviation ``std`` per coordinate, as in Sagun et al. 2016 §3.
- ``random``: x ~ N(0, I_d) and y ~ Uniform{0..n_c-1}, independent (Sagun's "random inputs",
  d = 784 for the comparison with MNIST).
- ``digits``: scikit-learn's 8×8 handwritten digits (1797 images, shipped with scikit-learn).
- ``mnist``: from a data root, through torchvision's ``MNIST`` class, or from arrays in the
  format of ``shared/data/mnist_subset.npz``.
- ``cifar8``: CIFAR-10 average-pooled to 8×8×3 (192 inputs, pixels / 255), from the same data
  roots as the scale regime (:func:`simlab.data.cifar8`).

Standardisation: none for ``blobs`` and ``random`` (they are already centred at the origin with
unit-order scale). ``digits`` and ``mnist`` are only rescaled to [0, 1] (pixels / 16 and / 255),
as Sagun et al. do for MNIST; they are *not* centred or whitened, so the inputs are non-negative.

Randomness: every draw uses its own ``torch.Generator`` (or ``numpy.random.default_rng``) seeded
with ``seed``; the global RNG state is never read or changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simlab.data import cifar8, default_data_root
from simlab.errors import DataError, UsageError

DATASETS = ("blobs", "random", "digits", "mnist", "cifar8")

# the files torchvision's MNIST reads from <root>/MNIST/raw (uncompressed idx-ubyte) ...
MNIST_RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# ... or, in its legacy layout, from <root>/MNIST/processed
MNIST_PROCESSED_FILES = ("training.pt", "test.pt")
MNIST_NPZ = "mnist_subset.npz"

_MNIST_FIX = (
    "point --data-root at a folder holding MNIST/raw (torchvision's layout) or "
    f"{MNIST_NPZ}, or add --download"
)


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    """Which data a toy run uses.

    ``classes``: for ``digits``/``mnist`` an int n_c (keep labels 0..n_c-1) or a tuple of labels
    (relabelled 0..n_c-1 in the order given); for ``random`` an int, the number of classes
    (default 10); must be ``None`` for ``blobs`` (always 2 classes).
    ``n_data``: number of examples; ``None`` means all available (digits, mnist only).
    """

    dataset: str = "blobs"  # one of DATASETS
    n_data: int | None = 1000  # examples in the training set
    std: float = 1.0  # blobs: per-coordinate standard deviation
    data_root: str | None = None  # mnist: folder or .npz path; None -> default_data_root()
    classes: int | tuple[int, ...] | None = None  # class subset (digits, mnist) / n_c (random)
    seed: int = 0  # seed of every draw (sampling, subset)
    download: bool = False  # mnist: let torchvision download into data_root
    input_dim: int = 784  # random: input dimension

    def __post_init__(self):
        # lists (from JSON or argparse) become tuples so the config stays hashable
        if isinstance(self.classes, list):
            object.__setattr__(self, "classes", tuple(int(c) for c in self.classes))
        if self.data_root is not None and not isinstance(self.data_root, str):
            object.__setattr__(self, "data_root", str(self.data_root))


def load(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Load the dataset that ``cfg`` names: ``(X [N, d] float64, y [N] long, info)``."""
    if cfg.dataset == "blobs":
        if cfg.classes is not None:
            raise UsageError("blobs always has 2 classes: drop --classes or pick another dataset")
        return blobs(_need_n(cfg), std=cfg.std, seed=cfg.seed)
    if cfg.dataset == "random":
        n_classes = 10 if cfg.classes is None else cfg.classes
        if not _is_int(n_classes):
            raise UsageError(
                f"random inputs take --classes as a number of classes, got {n_classes!r}"
            )
        return random_inputs(_need_n(cfg), cfg.input_dim, n_classes, seed=cfg.seed)
    if cfg.dataset == "digits":
        return digits(cfg.n_data, seed=cfg.seed, classes=cfg.classes)
    if cfg.dataset == "mnist":
        root = cfg.data_root if cfg.data_root is not None else default_data_root()
        return mnist(
            root, n_data=cfg.n_data, seed=cfg.seed, download=cfg.download, classes=cfg.classes
        )
    if cfg.dataset == "cifar8":
        return cifar8(cfg.data_root, n_data=cfg.n_data, seed=cfg.seed, classes=cfg.classes,
                      download=cfg.download)
    raise UsageError(f"unknown dataset {cfg.dataset!r}: choose one of {', '.join(DATASETS)}")


def _need_n(cfg: DataConfig) -> int:
    if cfg.n_data is None:
        raise UsageError(f"{cfg.dataset} is synthetic: give --n-data (a positive integer)")
    return cfg.n_data


# ---------------------------------------------------------------------------------------------
# synthetic data
# ---------------------------------------------------------------------------------------------


def blobs(n: int, std: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Two 2-D Gaussian blobs (Sagun et al. 2016 §3).

    x | y=0 ~ N((1, 1), std² I₂),  x | y=1 ~ N((-1, -1), std² I₂);
    ceil(n/2) points of class 0 and floor(n/2) of class 1, in a seeded random order.
    """
    _check_positive_int(n, "n_data", minimum=2)
    if not (isinstance(std, (int, float)) and np.isfinite(std) and std > 0):
        raise UsageError(f"blob std must be a positive number, got {std!r}")
    g = torch.Generator().manual_seed(int(seed))
    n0 = n - n // 2
    y = torch.cat([torch.zeros(n0, dtype=torch.long), torch.ones(n // 2, dtype=torch.long)])
    centres = torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    X = centres[y] + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    perm = torch.randperm(n, generator=g)
    info = {
        "name": "blobs",
        "n_data": n,
        "n_classes": 2,
        "classes": [0, 1],
        "source": "synthetic: N((1,1), std^2 I) vs N((-1,-1), std^2 I) (Sagun et al. 2016 sec. 3)",
        "std": float(std),
        "seed": int(seed),
        "input_dim": 2,
        "standardisation": "none",
    }
    return X[perm], y[perm], info


def random_inputs(
    n: int, dim: int = 784, n_classes: int = 10, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Random inputs with random labels: x ~ N(0, I_dim), y ~ Uniform{0..n_classes-1}, independent."""
    _check_positive_int(n, "n_data")
    _check_positive_int(dim, "input_dim")
    _check_positive_int(n_classes, "number of classes", minimum=2)
    g = torch.Generator().manual_seed(int(seed))
    X = torch.randn(n, dim, generator=g, dtype=torch.float64)
    y = torch.randint(0, n_classes, (n,), generator=g, dtype=torch.long)
    info = {
        "name": "random",
        "n_data": n,
        "n_classes": n_classes,
        "classes": list(range(n_classes)),
        "source": "synthetic: x ~ N(0, I), y ~ Uniform (Sagun et al. 2016 random inputs)",
        "seed": int(seed),
        "input_dim": dim,
        "standardisation": "none",
    }
    return X, y, info


# ---------------------------------------------------------------------------------------------
# real images
# ---------------------------------------------------------------------------------------------


def digits(
    n: int | None = None, seed: int = 0, classes: int | tuple[int, ...] | None = None
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """scikit-learn's 8×8 handwritten digits: pixels / 16 ∈ [0, 1], flattened to 64.

    ``classes`` keeps a subset of labels (see :func:`select_classes`); ``n`` examples are then
    drawn without replacement with ``seed`` (``None``: all of them, in the original order).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.data, dtype=np.float64) / 16.0  # (1797, 64), values 0..16 -> [0, 1]
    labels = np.asarray(bunch.target, dtype=np.int64)
    images, labels, kept = select_classes(images, labels, classes, n_total=10)
    idx = sample_indices(len(labels), n, seed, what="digits")
    X = torch.from_numpy(images[idx].reshape(len(idx), -1)).to(torch.float64)
    y = torch.from_numpy(labels[idx]).long()
    info = {
        "name": "digits",
        "n_data": int(len(idx)),
        "n_classes": len(kept),
        "classes": kept,
        "source": "sklearn.datasets.load_digits (8x8, 1797 images)",
        "seed": int(seed),
        "input_dim": 64,
        "standardisation": "pixels / 16 in [0, 1], not centred",
    }
    return X, y, info


def mnist(
    data_root: str | os.PathLike | None = None,
    n_data: int | None = 1000,
    seed: int = 0,
    download: bool = False,
    classes: int | tuple[int, ...] | None = None,
    train: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """MNIST: pixels / 255 ∈ [0, 1], flattened to 784; ``n_data`` examples drawn with ``seed``.

    Where the images come from, in this order:

    1. ``data_root`` is a ``.npz`` file with ``x_train`` uint8 [N, 28, 28], ``y_train``,
       ``x_test``, ``y_test`` (the format of ``shared/data/mnist_subset.npz``);
    2. ``data_root/MNIST/raw`` holds the four uncompressed idx-ubyte files, or
       ``data_root/MNIST/processed`` holds ``training.pt`` and ``test.pt`` → torchvision's MNIST;
    3. ``data_root/mnist_subset.npz`` exists → read as in 1;
    4. ``download`` → torchvision downloads into ``data_root``.

    Otherwise a :class:`DataError` names the fix. ``train`` picks the split. ``classes`` keeps
    a subset of labels (see :func:`select_classes`) before the draw; ``n_data=None`` keeps all.
    """
    root = Path(data_root).expanduser() if data_root is not None else default_data_root()
    split = "train" if train else "test"
    if root.suffix == ".npz":
        if not root.is_file():
            raise DataError(f"no MNIST arrays at {root}: {_MNIST_FIX}")
        images, labels, source = _mnist_npz(root, split)
    elif _has_torchvision_mnist(root):
        images, labels, source = _mnist_torchvision(root, train, download=False)
    elif (root / MNIST_NPZ).is_file():
        images, labels, source = _mnist_npz(root / MNIST_NPZ, split)
    elif download:
        images, labels, source = _mnist_torchvision(root, train, download=True)
    else:
        raise DataError(f"MNIST not found under {root}: {_MNIST_FIX}")

    images, labels, kept = select_classes(images, labels, classes, n_total=10)
    idx = sample_indices(len(labels), n_data, seed, what=f"MNIST ({source})")
    X = torch.from_numpy(images[idx].reshape(len(idx), -1).astype(np.float64) / 255.0)
    y = torch.from_numpy(labels[idx]).long()
    info = {
        "name": "mnist",
        "n_data": int(len(idx)),
        "n_classes": len(kept),
        "classes": kept,
        "source": source,
        "split": split,
        "seed": int(seed),
        "input_dim": 784,
        "standardisation": "pixels / 255 in [0, 1], not centred",
    }
    return X, y, info


def _has_torchvision_mnist(root: Path) -> bool:
    raw, processed = root / "MNIST" / "raw", root / "MNIST" / "processed"
    return all((raw / f).is_file() for f in MNIST_RAW_FILES) or all(
        (processed / f).is_file() for f in MNIST_PROCESSED_FILES
    )


def _mnist_torchvision(root: Path, train: bool, download: bool) -> tuple[np.ndarray, np.ndarray, str]:
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(str(root), train=train, download=download)
    except Exception as exc:  # torchvision raises RuntimeError / URLError / OSError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not read or download MNIST into {root} ({first}): {_MNIST_FIX}"
        ) from exc
    images = ds.data.numpy().astype(np.uint8)  # (N, 28, 28)
    labels = ds.targets.numpy().astype(np.int64)
    return images, labels, f"torchvision.datasets.MNIST({root})"


def _mnist_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, str]:
    xk, yk = f"x_{split}", f"y_{split}"
    try:
        with np.load(path) as z:
            if xk not in z.files or yk not in z.files:
                raise DataError(
                    f"{path} lacks arrays {xk}/{yk} (has {', '.join(z.files)}): {_MNIST_FIX}"
                )
            images, labels = np.asarray(z[xk]), np.asarray(z[yk]).astype(np.int64)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"cannot read {path} as an .npz ({type(exc).__name__}): {_MNIST_FIX}") from exc
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(
            f"{path}: expected {xk} [N, 28, 28] and {yk} [N], got {images.shape} and {labels.shape}"
        )
    return images, labels, f"npz:{path}"


# ---------------------------------------------------------------------------------------------
# subsets
# ---------------------------------------------------------------------------------------------


def select_classes(
    X: np.ndarray, y: np.ndarray, classes: int | tuple[int, ...] | None, n_total: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Keep the examples whose label is in ``classes`` and relabel them 0..n_c-1.

    ``classes=None``: all ``n_total`` labels; an int n_c: labels 0..n_c-1; a tuple: those labels,
    new label i for original label ``classes[i]``. Returns ``(X, y_new, kept_labels)``.
    """
    if classes is None:
        kept = list(range(n_total))
    elif _is_int(classes):
        if not 2 <= classes <= n_total:
            raise UsageError(f"--classes must be between 2 and {n_total}, got {classes}")
        kept = list(range(int(classes)))
    else:
        kept = [int(c) for c in classes]
        if len(kept) < 2 or len(set(kept)) != len(kept) or not all(0 <= c < n_total for c in kept):
            raise UsageError(
                f"--classes needs at least 2 distinct labels in 0..{n_total - 1}, got {tuple(classes)}"
            )
    if kept == list(range(n_total)):
        return X, y, kept
    lut = np.full(n_total, -1, dtype=np.int64)
    lut[kept] = np.arange(len(kept))
    mask = np.isin(y, kept)
    return X[mask], lut[y[mask]], kept


def sample_indices(n_available: int, n: int | None, seed: int, what: str) -> np.ndarray:
    """``n`` distinct indices of ``range(n_available)``, drawn with ``seed``, in increasing order
    (``None``: all of them)."""
    if n is None:
        return np.arange(n_available)
    _check_positive_int(n, "n_data")
    if n > n_available:
        raise DataError(f"asked for {n} examples but {what} has {n_available}: use --n-data <= {n_available}")
    rng = np.random.default_rng(int(seed))
    return np.sort(rng.choice(n_available, size=n, replace=False))


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_positive_int(x, name: str, minimum: int = 1) -> None:
    if not _is_int(x) or x < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {x!r}")
