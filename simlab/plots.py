"""Figures shared by both regimes (matplotlib, no display needed).

Every figure is built by :func:`figure` (constrained layout, an Agg canvas of its own, no pyplot
state) and written by :func:`save`; the figure modules split "build the Figure" (``draw_*``,
which tests inspect) from "write the PNG" (``fig_*`` = ``save(draw_*)``), so there is one code
path. Conventions: legends sit outside the data area (:func:`legend_outside`), an axis that is
an eigen-index i has integer ticks (:func:`integer_ticks`), an eigen-index is a colour of a
sequential colormap (:func:`index_colours`, :func:`index_colorbar`), and spectra are drawn as
histograms of log10|λ| with the signs apart (:func:`log_abs_histogram`), so the bulk at zero and
the outliers are both on the axis.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

INDEX_CMAP = "viridis"       # eigen-index i: λ_1 dark … λ_k light (sequential)
POS, NEG = "tab:blue", "tab:red"


def figure(nrows: int = 1, ncols: int = 1, *, panel: tuple[float, float] = (4.0, 3.0),
           extra_width: float = 0.0, **kw) -> tuple[Figure, np.ndarray]:
    """A constrained-layout Figure of nrows × ncols panels of about ``panel`` inches each (plus
    ``extra_width`` for a legend or colorbar outside), with its own Agg canvas; axes as a 2-D
    array."""
    fig = Figure(figsize=(panel[0] * ncols + extra_width, panel[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


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


def integer_ticks(axis) -> None:
    """Integer tick labels only on an axis that counts something (an eigen-index i, a count)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def legend_outside(fig: Figure, axes: Iterable | None = None, *, handles=None, labels=None,
                   loc: str = "outside right upper", fontsize: float = 7, **kw):
    """One figure legend outside the axes (constrained layout makes room for it): the given
    handles, or the labelled artists of ``axes`` (of every axes of the figure), each label once.
    None when there is nothing to label."""
    if handles is None:
        seen: dict[str, object] = {}
        for ax in (fig.axes if axes is None else axes):
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        labels, handles = list(seen), list(seen.values())
    elif labels is None:
        labels = [h.get_label() for h in handles]
    if not handles:
        return None
    return fig.legend(handles, labels, loc=loc, fontsize=fontsize, **kw)


def index_colours(k: int) -> list:
    """k colours of the sequential :data:`INDEX_CMAP`, for eigen-indices i = 1..k."""
    cmap = plt.get_cmap(INDEX_CMAP)
    return [cmap(x) for x in (np.linspace(0.0, 0.88, k) if k > 1 else [0.0])]


def index_colorbar(fig: Figure, axes, k: int, *, label: str = "eigen-index i"):
    """A discrete colorbar for i = 1..k in the colours of :func:`index_colours`, integer ticks."""
    from matplotlib.cm import ScalarMappable

    norm = BoundaryNorm(np.arange(0.5, k + 1.5), k)
    sm = ScalarMappable(norm=norm, cmap=ListedColormap(index_colours(k)))
    cb = fig.colorbar(sm, ax=axes, label=label, aspect=25)
    step = -(-k // 6)                      # at most ~7 labels, 1 and k always among them
    cb.set_ticks(sorted({1, k, *range(step, k, step)}))
    return cb


def log_abs_bins(*spectra, bins: int = 40, floor: float = 1e-16) -> np.ndarray:
    """Common bin edges in log10|λ|, whole decades from the smallest nonzero |λ| (but not below
    ``floor``·max|λ|, float64's resolution of λ_max) to the largest, over the given spectra."""
    a = np.concatenate([np.abs(np.asarray(s, dtype=np.float64)).ravel() for s in spectra])
    a = a[a > 0]
    if a.size == 0:
        return np.linspace(-1.0, 1.0, bins + 1)
    hi = np.log10(a.max())
    lo = np.floor(np.log10(max(a.min(), floor * a.max())))
    return np.linspace(lo, max(np.ceil(hi), lo + 1.0), bins + 1)


def log_abs_histogram(ax, eigenvalues, *, bins=40, band: float | None = None,
                      labels: bool = True):
    """Histogram of log10|λ|, λ > 0 (blue, filled) and λ < 0 (red, outlined) apart, counts on a
    log axis: the bulk at zero sits at the small |λ| on the left, the outliers on the right.
    Exact zeros (no logarithm) are counted with λ > 0 in the first bin, beside the smallest
    |λ| (|λ| below the bins' floor, 1e-16·max|λ| by default, are too). ``band`` draws the
    near-zero band's edge (e.g. eps·λ_1) as a vertical line. Returns the bin edges."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    edges = log_abs_bins(lam, bins=bins) if np.isscalar(bins) else np.asarray(bins, float)
    lo = edges[0]

    def logs(x):
        with np.errstate(divide="ignore"):
            return np.clip(np.log10(x), lo, edges[-1])

    pos, neg = lam[lam > 0], -lam[lam < 0]
    zeros = lam[lam == 0]
    ax.hist(np.r_[logs(pos), np.full(zeros.size, lo)], bins=edges, log=True, histtype="stepfilled",
            color=POS, alpha=0.55, label="λ > 0" if labels else None, gid="hist_pos")
    if neg.size:
        ax.hist(logs(neg), bins=edges, log=True, histtype="step", color=NEG, lw=1.4,
                label="λ < 0 (|λ|)" if labels else None, gid="hist_neg")
    if band is not None and band > 0:
        ax.axvline(np.log10(band), color="k", ls=":", lw=1.0,
                   label="near-zero band edge" if labels else None, gid="band")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("log10 |λ|")
    return edges


def spectrum_histogram(ax, eigenvalues, *, bins: int = 60, label: str | None = None,
                       color=None, alpha: float = 0.6):
    """Histogram of all eigenvalues on a linear λ axis with a log-scaled count axis (the toy
    regime's own run figures; the report's Sagun figures use :func:`log_abs_histogram`)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    ax.hist(lam, bins=bins, log=True, label=label, color=color, alpha=alpha, edgecolor="none")
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("count (log scale)")
    return ax


def before_after_histograms(before, after, path, *, title: str = "") -> Path:
    """Two panels, the spectrum at initialisation and at the end of training, as log10|λ|
    histograms with the signs apart (one shared bin grid)."""
    fig, axes = figure(1, 2, panel=(4.6, 3.4), extra_width=1.6)
    edges = log_abs_bins(before, after)
    for ax, lam, name in zip(axes[0], (before, after), ("at initialisation", "after training")):
        log_abs_histogram(ax, lam, bins=edges)
        ax.set_title(f"{name}: λ_max={np.max(lam):.3g}, λ_min={np.min(lam):.3g}", fontsize=9)
    axes[0, 0].set_ylabel("count (log scale)")
    legend_outside(fig, axes[0, :1])
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)


def hessian_heatmap(H, path, *, title: str = "", boundaries=()) -> Path:
    """The Hessian as a heat map on a symmetric colour scale; ``boundaries`` draws lines between
    parameter blocks (layers)."""
    H = np.asarray(H, dtype=np.float64)
    v = np.max(np.abs(H)) or 1.0
    fig, axes = figure(panel=(5.5, 5))
    ax = axes[0, 0]
    im = ax.imshow(H, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    for b in boundaries:
        ax.axhline(b - 0.5, color="k", lw=0.4)
        ax.axvline(b - 0.5, color="k", lw=0.4)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("parameter index")
    ax.set_ylabel("parameter index")
    integer_ticks(ax.xaxis)
    integer_ticks(ax.yaxis)
    return save(fig, path)


def series(ax, x, ys: dict, *, xlabel: str, ylabel: str, logy: bool = False, hlines=()):
    """Several named curves over a common x (e.g. ρ_i over t = nη); the caller puts the legend
    (:func:`legend_outside`)."""
    for name, y in ys.items():
        ax.plot(x, y, label=name, lw=1.2)
    for h in hlines:
        ax.axhline(h, color="k", ls=":", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    return ax
