"""Figures shared by both regimes (matplotlib, no display needed).

Each function draws on an Axes or writes one PNG; file names follow the papers' figures in the
callers (e.g. ``fig1_spectrum_before_after.png``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path: Path | str) -> Path:
    """Write a figure as PNG atomically (rendered in memory, then the record module's atomic
    writer), so a crash never leaves half a PNG."""
    import io

    from simlab.record import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def spectrum_histogram(ax, eigenvalues, *, bins: int = 60, label: str | None = None,
                       color=None, alpha: float = 0.6):
    """Histogram of all eigenvalues with a log-scaled count axis (Sagun Fig. 1–2 style): the
    bulk at zero and the isolated outliers are both visible."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    ax.hist(lam, bins=bins, log=True, label=label, color=color, alpha=alpha, edgecolor="none")
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("count (log scale)")
    return ax


def before_after_histograms(before, after, path, *, title: str = "") -> Path:
    """Two panels, the spectrum at initialisation and at the end of training."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, lam, name, c in zip(axes, (before, after), ("at initialisation", "after training"),
                                ("tab:gray", "tab:blue")):
        spectrum_histogram(ax, lam, color=c)
        ax.set_title(f"{name}: λ_max={np.max(lam):.3g}, λ_min={np.min(lam):.3g}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)


def hessian_heatmap(H, path, *, title: str = "", boundaries=()) -> Path:
    """The Hessian as a heat map on a symmetric colour scale; ``boundaries`` draws lines between
    parameter blocks (layers)."""
    H = np.asarray(H, dtype=np.float64)
    v = np.max(np.abs(H)) or 1.0
    fig, ax = plt.subplots(figsize=(5.5, 5))
    im = ax.imshow(H, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    for b in boundaries:
        ax.axhline(b - 0.5, color="k", lw=0.4)
        ax.axvline(b - 0.5, color="k", lw=0.4)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("parameter index")
    ax.set_ylabel("parameter index")
    return save(fig, path)


def series(ax, x, ys: dict, *, xlabel: str, ylabel: str, logy: bool = False, hlines=()):
    """Several named curves over a common x (e.g. ρ_i over t = nη)."""
    for name, y in ys.items():
        ax.plot(x, y, label=name, lw=1.2)
    for h in hlines:
        ax.axhline(h, color="k", ls=":", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if ys:
        ax.legend(fontsize=7)
    return ax
