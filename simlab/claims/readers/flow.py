"""Gradient flow (L8) and the cusp slice (L9): peak λ_1, the linear fit, the slice's sharpness."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simlab.claims.readers.records import num
from simlab.record import Record


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares y ≈ a + b x: (slope b, intercept a, R² = 1 − SS_res/SS_tot)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    b, a = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - (a + b * x)) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return float(b), float(a), (1 - ss_res / ss_tot) if ss_tot > 0 else float("nan")


def flow_peak(r: Record, skip: float = 0.0) -> tuple[float, bool] | None:
    """(peak λ_1, whether the peak was observed) of a gradient-flow run.

    The run's own every-iteration measurement (summary ``peak_lambda_1`` at ``peak_step``) is
    preferred over the telemetry points, which under gradient flow are sparse. A peak at the
    run's last iteration is not a peak: λ_1 was still growing when the run stopped. ``skip`` > 0
    seeks the peak after the first ``skip`` of the run's iterations only (its λ_1 history), so
    that an initial spike does not stand in for the later peak."""
    at = flow_peak_step(r, skip)
    if at is None:
        return None
    peak, step, seen = at
    return peak, seen


def flow_peak_step(r: Record, skip: float = 0.0) -> tuple[float, int | None, bool] | None:
    """(peak λ_1, its iteration or None, observed) — :func:`flow_peak` with the iteration."""
    s = r.summary or {}
    last = s.get("steps")
    if skip > 0 and last:
        lam = _history_lambda_1(r)
        if lam is not None and len(lam) > 1:
            first = min(len(lam) - 1, int(np.ceil(skip * int(last))))
            i = first + int(np.nanargmax(lam[first:]))
            return float(lam[i]), i, i < len(lam) - 1
    if num(s.get("peak_lambda_1")) is not None:
        at = s.get("peak_step")
        seen = at is None or last is None or int(at) < int(last) - 1
        return float(s["peak_lambda_1"]), (None if at is None else int(at)), seen
    pts = [(p.get("step"), x) for p in r.telemetry
           if p.get("eigenvalues") and (x := num(p["eigenvalues"][0])) is not None]
    if not pts:
        return None
    i = int(np.argmax([x for _, x in pts]))
    return float(pts[i][1]), pts[i][0], i < len(pts) - 1


def _history_lambda_1(r: Record) -> np.ndarray | None:
    """The run's λ_1 at every iteration (``history_lambda_1`` in arrays.npz), if it kept it."""
    try:
        lam = r.arrays().get("history_lambda_1")
    except Exception:  # noqa: BLE001 (no arrays.npz, or unreadable: the summary's peak is used)
        return None
    return None if lam is None or not np.isfinite(lam).any() else np.asarray(lam, dtype=float)


def cusp(r: Record) -> dict | None:
    c = (r.summary or {}).get("cusp")
    return c if isinstance(c, dict) and "deltas" in c and "values" in c else None


def cusp_sharpness(deltas: Sequence[float], values: Sequence[float]) -> dict:
    """Sharpness of a slice v(Δ) = L(θ*+Δh_1) − L(θ*) at Δ = 0.

    ``second_difference``: the three-point second derivative at the grid point nearest 0 from its
    two neighbours h₋ < 0 < h₊: 2[(v₊ − v₀)/h₊ + (v₋ − v₀)/|h₋|]/(h₊ + |h₋|).
    ``parabola_ratio``: (v̄(h)/h²) / (v̄(H)/H²), v̄ the mean of the two sides, h the smallest and H
    the largest |Δ| on both sides: 1 for a parabola, > 1 for a cusp (sharper near 0 than far);
    NaN where the far value is not positive."""
    d, v = np.asarray(deltas, float), np.asarray(values, float)
    order = np.argsort(d)
    d, v = d[order], v[order]
    i0 = int(np.argmin(np.abs(d)))
    if i0 == 0 or i0 == len(d) - 1:
        raise ValueError("the cusp slice needs points on both sides of Δ = 0")
    hm, hp = d[i0] - d[i0 - 1], d[i0 + 1] - d[i0]
    d2 = 2 * ((v[i0 + 1] - v[i0]) / hp + (v[i0 - 1] - v[i0]) / hm) / (hp + hm)
    near = 0.5 * (v[i0 + 1] + v[i0 - 1]) / (0.5 * (hp + hm)) ** 2
    H = min(abs(d[0] - d[i0]), abs(d[-1] - d[i0]))
    far_v = 0.5 * (np.interp(d[i0] + H, d, v) + np.interp(d[i0] - H, d, v))
    ratio = float(near / (far_v / H ** 2)) if far_v > 0 else float("nan")
    return {"second_difference": float(d2), "parabola_ratio": ratio}


# ============================================================================ [K] Lowell & Kastner


def loss_curve(r: Record) -> tuple[np.ndarray, np.ndarray] | None:
    """(t, L) at every iteration of a flow run (arrays ``history_t``, ``history_loss``)."""
    from simlab.claims.readers.records import arrays

    a = arrays(r)
    if "history_t" not in a or "history_loss" not in a or len(a["history_t"]) < 2:
        return None
    return np.asarray(a["history_t"], float), np.asarray(a["history_loss"], float)


def ggn_points(r: Record) -> list[dict]:
    """The telemetry points that carry λ_1(H) and λ_1(G) (the ``--ggn-every`` probe)."""
    return [p for p in r.telemetry if num(p.get("ggn_ratio")) is not None]


def block_ratios(points: Sequence[dict]) -> dict[str, float]:
    """{layer: median over the points of λ_1(G[I, I]) / λ_1(H[I, I])}."""
    rows: dict[str, list[float]] = {}
    for p in points:
        for layer, b in (p.get("ggn_blocks") or {}).items():
            h, g = num(b.get("h")), num(b.get("ggn"))
            if h and h > 0 and g is not None:
                rows.setdefault(layer, []).append(g / h)
    return {k: float(np.median(v)) for k, v in rows.items()}
