"""The one data path of both regimes: one loader per dataset, one way of reading and checking
files, one class-subset rule.

Datasets (every loader returns ``(X, y, info)``: ``X`` float64 ``[N, d]`` for the toy regime, ``y``
long ``[N]`` in 0..n_c−1, ``info`` a plain dict written into the record's ``config.json``):

- ``blobs``: two 2-D Gaussians centred at (1, 1) (label 0) and (−1, −1) (label 1), std ``std``
  per coordinate (Sagun et al. 2016 §3); ``random``: x ~ N(0, I_d), y ~ Uniform{0..n_c−1};
- ``digits``: scikit-learn's 8×8 digits, pixels / 16; ``mnist``: torchvision's MNIST folder or
  an npz like ``shared/data/mnist_subset.npz``, pixels / 255; ``cifar8``: CIFAR-10
  average-pooled to 8×8×3, pixels / 255. Real images are rescaled to [0, 1], not centred;
- CIFAR-10 itself (32×32, standardised per channel) for the scale regime is
  :func:`simlab.scale.data.load_cifar10`, over :func:`read_cifar10` here.

Readers never run code: ``np.load(allow_pickle=False)``; torchvision's own readers for its
folders. Every array read from a file is checked (shape, dtype, finite values, label range) and a
bad file is one :class:`~simlab.errors.DataError` line naming the file and the fix.

Class subsets (every real dataset, both regimes): keep the examples whose original label is in
``classes`` (an int n_c means labels 0..n_c−1), relabel ``classes[j]`` as ``j``, and if ``n_data``
is given draw a seeded subset of that size, balanced across the kept classes
(:func:`balanced_counts`), returned in on-disk order (:func:`select_indices`). Every draw uses
its own seeded generator; the global RNG state is never read or changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from simlab.errors import DataError, UsageError, check_seed

DATASETS = ("blobs", "random", "digits", "mnist", "cifar8")
CIFAR_NPZ = "cifar10_subset.npz"
CIFAR_TV_FOLDER = "cifar-10-batches-py"
N_CIFAR_CLASSES = 10

CIFAR_FIX = (
    "pass --data-root pointing at a folder with cifar-10-batches-py/ or cifar10_subset.npz, "
    "or add --download"
)


MNIST_NPZ = "mnist_subset.npz"
# torchvision's MNIST reads <root>/MNIST/raw (uncompressed idx-ubyte) or, legacy, <root>/MNIST/processed
MNIST_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MNIST_PROCESSED_FILES = ("training.pt", "test.pt")
MNIST_FIX = (f"point --data-root at a folder holding MNIST/raw (torchvision's layout) or {MNIST_NPZ}, "
             "or add --download")


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


def default_data_root() -> Path:
    """``$SIMLAB_DATA`` when set, else ``~/.cache/simlab``."""
    env = os.environ.get("SIMLAB_DATA")
    return Path(env).expanduser() if env else Path("~/.cache/simlab").expanduser()


def as_root(data_root: str | os.PathLike | None) -> Path:
    return Path(data_root).expanduser() if data_root is not None else default_data_root()


# --------------------------------------------------------------------------- file readers


def read_npz(path: Path, keys: Sequence[str], fix: str) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an .npz file (missing optional keys are left out), never unpickling.

    A file that is not a readable npz (truncated, garbage, needs pickles) is one DataError line.
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if not magic.startswith(b"PK"):
            raise DataError(f"{path} is not an .npz archive (empty, truncated or another format): {fix}")
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise DataError(f"{path} is a single .npy array, not an .npz archive: {fix}")
            return {k: np.asarray(z[k]) for k in keys if k in z.files}
    except DataError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise DataError(f"{path} holds pickled Python objects, which simlab never loads; "
                            f"save plain numeric arrays (np.savez) instead, or {fix}") from None
        raise DataError(f"cannot read {path} as an .npz ({_first_line(err)}): {fix}") from None
    except Exception as err:  # BadZipFile, EOFError, zlib.error, OSError: truncated or garbage
        raise DataError(f"cannot read {path} as an .npz ({type(err).__name__}: {_first_line(err)}); "
                        f"the file is truncated or not an npz: {fix}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def check_images(x: np.ndarray, y: np.ndarray, *, where: str, shape: tuple[int, ...],
                 n_classes: int, fix: str) -> tuple[np.ndarray, np.ndarray]:
    """Check images uint8 ``[N, *shape]`` and integer labels ``[N]`` in ``0..n_classes−1``.

    Returns ``(x, y as int64)``; anything else is one DataError line naming ``where`` and ``fix``.
    """
    if x.dtype != np.uint8 or x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != tuple(shape):
        want = ", ".join(str(s) for s in shape)
        raise DataError(f"{where}: images have shape {tuple(x.shape)} dtype {x.dtype}, "
                        f"expected uint8 [N, {want}]: {fix}")
    if y.shape != (x.shape[0],):
        raise DataError(f"{where}: labels have shape {tuple(y.shape)}, expected ({x.shape[0]},): {fix}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{where}: labels must be integers, found non-integer or non-finite values: {fix}")
    elif y.dtype.kind not in "iu":
        raise DataError(f"{where}: labels have dtype {y.dtype}, expected integers: {fix}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{where}: labels must lie in 0..{n_classes - 1}, found {int(y.min())}..{int(y.max())}: {fix}")
    return x, y.astype(np.int64)


# --------------------------------------------------------------------------- CIFAR-10


def resolve_cifar_source(data_root: str | os.PathLike | None, *, download: bool = False) -> tuple[str, Path]:
    """Decide where CIFAR-10 comes from: ``("torchvision", folder)`` or ``("npz", file)``.

    A path to an .npz file is read as such. A folder holding ``cifar-10-batches-py/`` is read by
    torchvision (preferred: the full set); else a folder holding ``cifar10_subset.npz`` is read as
    npz; else, with ``download``, torchvision will download into the folder. Otherwise DataError.
    """
    root = as_root(data_root)
    if root.suffix == ".npz":
        if root.is_file():
            return "npz", root
        raise DataError(f"no CIFAR-10 arrays at {root}: {CIFAR_FIX}")
    if (root / CIFAR_TV_FOLDER).is_dir():
        return "torchvision", root
    if (root / CIFAR_NPZ).is_file():
        return "npz", root / CIFAR_NPZ
    if download:
        return "torchvision", root
    raise DataError(f"no CIFAR-10 under {root} (looked for {CIFAR_TV_FOLDER}/ and {CIFAR_NPZ}): {CIFAR_FIX}")


def _cifar_torchvision(root: Path, train: bool, *, download: bool, verify: bool):
    from torchvision.datasets import CIFAR10

    cls = CIFAR10
    if not verify:  # same reader and file names, md5 checks off (small files written by tests)
        cls = type("UnverifiedCIFAR10", (CIFAR10,), {
            "train_list": [[n, None] for n, _ in CIFAR10.train_list],
            "test_list": [[n, None] for n, _ in CIFAR10.test_list],
            "meta": {**CIFAR10.meta, "md5": None}})
    try:
        ds = cls(str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted ..."
        raise DataError(f"CIFAR-10 under {root / CIFAR_TV_FOLDER} is missing or corrupted "
                        f"({_first_line(err)}): {CIFAR_FIX}") from None
    except OSError as err:  # network or file-system failure during download
        raise DataError(f"could not download CIFAR-10 into {root} ({_first_line(err)}): {CIFAR_FIX}") from None
    except Exception as err:  # a truncated pickle batch
        raise DataError(f"cannot read CIFAR-10 under {root / CIFAR_TV_FOLDER} ({type(err).__name__}): "
                        f"{CIFAR_FIX}") from None
    return np.asarray(ds.data), np.asarray(ds.targets), [str(c) for c in ds.classes]


def read_cifar10(data_root=None, *, split: str = "train", download: bool = False, verify: bool = True):
    """``(x uint8 [N,32,32,3] HWC, y int64 [N], class_names, source dict)`` of one split, unselected,
    checked. ``verify=False`` skips torchvision's md5 checks (tests only)."""
    if split not in ("train", "test"):
        raise UsageError(f"unknown split {split!r}; use 'train' or 'test'")
    kind, path = resolve_cifar_source(data_root, download=download)
    train = split == "train"
    if kind == "torchvision":
        x, y, names = _cifar_torchvision(path, train, download=download, verify=verify)
        src_path, where = path / CIFAR_TV_FOLDER, str(path / CIFAR_TV_FOLDER)
    else:
        xk, yk = f"x_{split}", f"y_{split}"
        arrays = read_npz(path, (xk, yk, "label_names"), CIFAR_FIX)
        missing = [k for k in (xk, yk) if k not in arrays]
        if missing:
            raise DataError(f"{path} lacks arrays {missing} (expected x_train, y_train, x_test, "
                            f"y_test, label_names): {CIFAR_FIX}")
        x, y = arrays[xk], arrays[yk]
        names = ([str(s) for s in arrays["label_names"]] if "label_names" in arrays
                 else [str(i) for i in range(N_CIFAR_CLASSES)])
        src_path, where = path, f"{path}:{xk}/{yk}"
    x, y = check_images(x, y, where=where, shape=(32, 32, 3), n_classes=N_CIFAR_CLASSES, fix=CIFAR_FIX)
    return x, y, names, {"kind": kind, "path": str(src_path.resolve())}


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
    if len(out) < 2 or len(set(out)) != len(out) or not all(0 <= c < n_total for c in out):
        raise UsageError(f"--classes {','.join(map(str, out))}: give at least two distinct labels "
                         f"in 0..{n_total - 1}")
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
    """MNIST: pixels / 255 ∈ [0, 1], flattened to 784.

    Where the images come from, in this order: ``data_root`` is an .npz with ``x_train`` uint8
    [N, 28, 28], ``y_train``, ``x_test``, ``y_test``; ``data_root/MNIST/raw`` (or ``processed``)
    → torchvision's MNIST; ``data_root/mnist_subset.npz``; ``download`` → torchvision downloads.
    Otherwise a DataError names the fix. ``train`` picks the split.
    """
    root = as_root(data_root)
    split = "train" if train else "test"
    if root.suffix == ".npz":
        if not root.is_file():
            raise DataError(f"no MNIST arrays at {root}: {MNIST_FIX}")
        images, labels, source = _mnist_npz(root, split)
    elif has_torchvision_mnist(root):
        images, labels, source = _mnist_torchvision(root, train, download=False)
    elif (root / MNIST_NPZ).is_file():
        images, labels, source = _mnist_npz(root / MNIST_NPZ, split)
    elif download:
        images, labels, source = _mnist_torchvision(root, train, download=True)
    else:
        raise DataError(f"MNIST not found under {root}: {MNIST_FIX}")
    return _image_set("mnist", images, labels, scale=255.0, classes=classes, n_data=n_data,
                      seed=seed, source=source, split=split,
                      standardisation="pixels / 255 in [0, 1], not centred")


def has_torchvision_mnist(root: Path) -> bool:
    raw, processed = root / "MNIST" / "raw", root / "MNIST" / "processed"
    return (all((raw / f).is_file() for f in MNIST_RAW_FILES)
            or all((processed / f).is_file() for f in MNIST_PROCESSED_FILES))


def _mnist_torchvision(root: Path, train: bool, download: bool):
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(str(root), train=train, download=download)
    except Exception as exc:  # torchvision raises RuntimeError / URLError / OSError
        raise DataError(f"could not read or download MNIST into {root} ({_first_line(exc)}): "
                        f"{MNIST_FIX}") from None
    x, y = check_images(ds.data.numpy(), ds.targets.numpy(), where=str(root / "MNIST"),
                        shape=(28, 28), n_classes=10, fix=MNIST_FIX)
    return x, y, f"torchvision.datasets.MNIST({root})"


def _mnist_npz(path: Path, split: str):
    xk, yk = f"x_{split}", f"y_{split}"
    z = read_npz(path, (xk, yk), MNIST_FIX)
    if xk not in z or yk not in z:
        raise DataError(f"{path} lacks arrays {xk}/{yk}: {MNIST_FIX}")
    x, y = check_images(z[xk], z[yk], where=f"{path}:{xk}/{yk}", shape=(28, 28), n_classes=10,
                        fix=MNIST_FIX)
    return x, y, f"npz:{path}"
