"""Small helpers the paper's grids, bridge and report share: where data lives, how to tell a
finished record from an unfinished one.
"""

from __future__ import annotations

import os
from pathlib import Path

from simlab.record import SUMMARY

PAPER_DIR = Path(__file__).resolve().parent
DEFAULT_RUNS = PAPER_DIR / "runs"
DEFAULT_FIGURES = PAPER_DIR / "figures"
DEFAULT_REPORT = PAPER_DIR / "report.md"


def shared_data_root() -> Path | None:
    """``../shared/data`` beside the checkout (the offline subsets), if it exists.

    The checkout's root is the parent of ``paper/``; a user's clone usually lacks this folder, so
    callers fall back to ``$SIMLAB_DATA`` / ``~/.cache/simlab`` (the regimes' default data root).
    """
    p = PAPER_DIR.parent.parent / "shared" / "data"
    return p if p.is_dir() else None


def data_root() -> str | None:
    """The data root a grid passes to both regimes: ``$SIMLAB_DATA`` when set, else the shared
    subsets when present, else None (each regime's own default)."""
    if os.environ.get("SIMLAB_DATA"):
        return os.environ["SIMLAB_DATA"]
    p = shared_data_root()
    return str(p) if p is not None else None


def has_mnist(root: str | None) -> bool:
    """True when :func:`simlab.data.mnist` would find MNIST under ``root`` without downloading."""
    from simlab import data

    r = Path(root).expanduser() if root else data.default_data_root()
    if r.suffix == ".npz":
        return r.is_file()
    return (r / data.MNIST_NPZ).is_file() or data.has_torchvision_mnist(r)


def has_cifar(root: str | None) -> bool:
    """True when scale.data would find CIFAR-10 under ``root`` without downloading."""
    from simlab.errors import DataError
    from simlab.scale.data import resolve_source

    try:
        resolve_source(root)
    except DataError:
        return False
    return True


def is_complete(run_dir: Path | str) -> bool:
    """A run is done when its summary.json exists (written last, atomically)."""
    return (Path(run_dir) / SUMMARY).is_file()
