"""Where the real images come from: the files of CIFAR-10 and MNIST (torchvision's folders or
npz arrays like ``shared/data/*_subset.npz``), found under a data root, read without running
code and checked. :mod:`simlab.data` turns what these readers return into datasets (the class
subset rule, scaling, pooling).

Readers never run code: ``np.load(allow_pickle=False)``; torchvision's own readers for its
folders. Every array read from a file is checked (shape, dtype, finite values, label range) and a
bad file is one :class:`~simlab.errors.DataError` line naming the file and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from simlab.errors import DataError, UsageError

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


def default_data_root() -> Path:
    """``$SIMLAB_DATA`` when set, else ``~/.cache/simlab``."""
    env = os.environ.get("SIMLAB_DATA")
    return Path(env).expanduser() if env else Path("~/.cache/simlab").expanduser()


def as_root(data_root: str | os.PathLike | None) -> Path:
    return Path(data_root).expanduser() if data_root is not None else default_data_root()


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


# --------------------------------------------------------------------------- MNIST


def read_mnist(data_root: str | os.PathLike | None = None, *, train: bool = True,
               download: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """``(x uint8 [N,28,28], y int64 [N], source)`` of one split, unselected, checked.

    Where the images come from, in this order: ``data_root`` is an .npz with ``x_train`` uint8
    [N, 28, 28], ``y_train``, ``x_test``, ``y_test``; ``data_root/MNIST/raw`` (or ``processed``)
    → torchvision's MNIST; ``data_root/mnist_subset.npz``; ``download`` → torchvision downloads.
    Otherwise a DataError names the fix.
    """
    root = as_root(data_root)
    split = "train" if train else "test"
    if root.suffix == ".npz":
        if not root.is_file():
            raise DataError(f"no MNIST arrays at {root}: {MNIST_FIX}")
        return _mnist_npz(root, split)
    if has_torchvision_mnist(root):
        return _mnist_torchvision(root, train, download=False)
    if (root / MNIST_NPZ).is_file():
        return _mnist_npz(root / MNIST_NPZ, split)
    if download:
        return _mnist_torchvision(root, train, download=True)
    raise DataError(f"MNIST not found under {root}: {MNIST_FIX}")


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
