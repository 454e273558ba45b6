"""The analytic predictions Y1–Y8 of CLAIMS.md, derived with sympy.

Each ``yN_*`` function below derives one prediction symbolically and returns a
:class:`PredictionResult` whose ``proved`` flag is set only when every identity the derivation
rests on simplified to exactly zero (or the inequality / integral came out as stated). The
numerical twins, on real toy nets with exact Hessians, live in :mod:`simlab.toy.predictions`.
:mod:`simlab.toy.check_predictions` runs both and is the CLI hook
(``python -m simlab toy --check-predictions``).

Conventions: L is a *mean* over the n_D training examples; for CE the per-example loss is
ℓ(z) = −log softmax(z)_y = logsumexp(z) − z_y; for MSE it is ℓ(f) = (1/n_c) Σ_c (f_c − t_c)²
(torch's ``mse_loss`` with mean reduction over the n_D·n_c entries gives L = (1/n_D) Σ_n ℓ_n).

The pure derivation helpers (``softmax_ce_logit_hessian``, ``gd_step_loss_change``,
``ellipsoid_volume`` ...) return sympy objects so tests can assert on them directly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import sympy as sp
from sympy.solvers.inequalities import solve_univariate_inequality

__all__ = [
    "PredictionResult", "softmax_ce_logit_hessian", "mse_output_hessian", "exact_ggn_rank",
    "mlp_param_count", "ellipsoid_volume", "ellipsoid_volume_formula", "gd_step_loss_change",
    "y1_softmax_hessian", "y2_ggn_rank", "y3_logit_shift", "y4_relu_homogeneity",
    "y5_gd_stability", "y6_gd_step", "y7_param_counts", "y8_basin_volume",
    "symbolic_checks",
]


@dataclass(frozen=True)
class PredictionResult:
    """One prediction checked one way.

    ``check`` is ``"symbolic"`` (sympy derivation; ``proved`` means every identity reduced to
    exactly zero) or ``"numeric"`` (a measurement on a toy net or a Monte Carlo estimate;
    ``proved`` means ``residual <= tolerance`` and every entry of ``conditions``, the yes/no
    facts checked beside the residual, holds). ``result`` is the derived expression or the
    measured summary, printable; ``details`` holds the numbers behind it.
    """

    id: str
    statement: str
    result: str
    proved: bool
    check: str = "symbolic"
    residual: float | None = None
    tolerance: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)


def _is_zero(expr: sp.Expr) -> bool:
    """Exact zero test: cancel first (fast, rational functions), simplify only if needed."""
    e = sp.cancel(sp.expand(expr))
    if e == 0:
        return True
    return sp.simplify(e) == 0


def _matrix_is_zero(m: sp.Matrix) -> bool:
    return all(_is_zero(e) for e in m)


# ------------------------------------------------------------------------------------------
# Y1: the softmax cross-entropy Hessian w.r.t. the logits
# ------------------------------------------------------------------------------------------

def softmax_ce_logit_hessian(n_c: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """(z, H, M): symbolic logits z, H = ∇²_z ℓ(z) for ℓ = logsumexp(z) − z_0, and
    M = diag(p) − ppᵀ with p = softmax(z). The label only adds a linear term, so H does not
    depend on it (label 0 without loss of generality)."""
    z = sp.Matrix(sp.symbols(f"z0:{n_c}", real=True))
    s = sum(sp.exp(zi) for zi in z)
    loss = sp.log(s) - z[0]
    h = sp.hessian(loss, list(z))
    p = sp.Matrix([sp.exp(zi) / s for zi in z])
    m = sp.diag(*p) - p * p.T
    return z, h, m


def _y1_one(n_c: int) -> dict[str, bool]:
    _, h, m = softmax_ce_logit_hessian(n_c)
    hessian_ok = _matrix_is_zero(h - m)

    # Work with probabilities p_i > 0, p_{n_c-1} = 1 − Σ_{i<n_c-1} p_i.
    q = sp.symbols(f"p0:{n_c}", positive=True)
    v = sp.symbols(f"v0:{n_c}", real=True)
    on_simplex = {q[-1]: 1 - sum(q[:-1])}
    mq = sp.diag(*q) - sp.Matrix(q) * sp.Matrix(q).T
    vv = sp.Matrix(v)
    form = (vv.T * mq * vv)[0]
    # Lagrange identity: with Σp = 1, vᵀ(diag p − ppᵀ)v = ½ Σ_ij p_i p_j (v_i − v_j)² ≥ 0.
    squares = sp.Rational(1, 2) * sum(q[i] * q[j] * (v[i] - v[j]) ** 2
                                      for i in range(n_c) for j in range(n_c))
    psd_ok = sp.expand((form - squares).subs(on_simplex)) == 0
    # Kernel: (diag p − ppᵀ)·1 = p(1 − Σp) = 0 on the simplex.
    kernel_ok = all(sp.expand(e.subs(on_simplex)) == 0 for e in mq * sp.ones(n_c, 1))
    # Rank: the leading (n_c−1)-minor is Π_{i<n_c-1} p_i · (1 − Σ_{i<n_c-1} p_i) = Π_i p_i > 0
    # (matrix determinant lemma), so rank ≥ n_c − 1; with the kernel vector, rank = n_c − 1
    # and the kernel is exactly span(1).
    minor = mq[: n_c - 1, : n_c - 1].det()
    rank_ok = sp.expand((minor - sp.prod(q)).subs(on_simplex)) == 0
    return {"hessian": hessian_ok, "psd": psd_ok, "kernel": kernel_ok, "rank": rank_ok}


def y1_softmax_hessian(n_classes: Sequence[int] = (2, 3, 4, 5)) -> PredictionResult:
    """Y1: ∇²_z CE = diag(p) − ppᵀ, PSD, rank n_c − 1, kernel span(1), for each n_c given.

    PSD by the Lagrange identity vᵀ(diag p − ppᵀ)v = Σ p_i v_i² − (Σ p_i v_i)²
    = ½ Σ_{i,j} p_i p_j (v_i − v_j)² (using Σp = 1); the kernel contains 1 because
    (diag p − ppᵀ)1 = p(1 − Σp) = 0; the rank is n_c − 1 because the leading principal minor of
    order n_c − 1 equals Π_i p_i > 0.
    """
    per = {n: _y1_one(n) for n in n_classes}
    proved = all(all(d.values()) for d in per.values())
    return PredictionResult(
        id="Y1",
        statement="Hessian of softmax CE w.r.t. the logits is diag(p) − ppᵀ: PSD, rank n_c−1, "
                  "kernel span(1)",
        result="∇²_z ℓ = diag(p) − ppᵀ;  vᵀHv = ½Σ_ij p_i p_j (v_i−v_j)² ≥ 0;  H·1 = 0;  "
               f"minor_(n_c−1) = Π_i p_i > 0  (n_c = {', '.join(map(str, n_classes))})",
        proved=proved,
        details={f"n_c={n}": d for n, d in per.items()},
    )


# ------------------------------------------------------------------------------------------
# Y2: rank of the Gauss–Newton part
# ------------------------------------------------------------------------------------------

def mse_output_hessian(n_c: int) -> sp.Matrix:
    """∇²_f of the per-example MSE ℓ(f) = (1/n_c) Σ_c (f_c − t_c)²: it is (2/n_c)·I."""
    f = sp.symbols(f"f0:{n_c}", real=True)
    t = sp.symbols(f"t0:{n_c}", real=True)
    loss = sum((fi - ti) ** 2 for fi, ti in zip(f, t)) / n_c
    return sp.hessian(loss, f)


def exact_ggn_rank(n_data: int, n_c: int, n_params: int, *, loss: str = "ce",
                   seed: int = 0) -> int:
    """Rank, in exact rational arithmetic, of G = (1/n_D) Σ_n J_nᵀ H_n J_n with random integer
    Jacobians J_n (n_c × n_params) and the exact output Hessian H_n of the loss (CE: diag(p) −
    ppᵀ at a rational p on the simplex; MSE: (2/n_c) I). Shows the rank bound is attained for
    generic Jacobians."""
    import random
    rng = random.Random(seed)
    g = sp.zeros(n_params, n_params)
    for _ in range(n_data):
        j = sp.Matrix(n_c, n_params, lambda *_: rng.randint(-5, 5))
        if loss == "ce":
            w = [rng.randint(1, 9) for _ in range(n_c)]
            p = sp.Matrix([sp.Rational(wi, sum(w)) for wi in w])
            h = sp.diag(*p) - p * p.T
        else:
            h = mse_output_hessian(n_c)
        g += j.T * h * j
    return (g / n_data).rank()


def y2_ggn_rank(n_classes: Sequence[int] = (2, 3, 4, 5), *, n_data: int = 3,
                n_params: int = 16) -> PredictionResult:
    """Y2: rank GGN ≤ n_D(n_c − 1) for CE and ≤ n_D·n_c for MSE.

    G = (1/n_D) Σ_n J_nᵀ H_n J_n, and rank(Σ A_n) ≤ Σ rank(A_n), rank(JᵀHJ) ≤ rank(H). The
    per-example output Hessian has rank n_c − 1 for CE (Y1) and is (2/n_c)·I, rank n_c, for MSE
    (derived here). The bound is attained for generic Jacobians: exact rational ranks with
    random integer J_n (n_params > n_D·n_c) equal the bounds.
    """
    mse_ok = all(mse_output_hessian(n) == sp.Rational(2, n) * sp.eye(n) for n in n_classes)
    n_c = 3
    assert n_params > n_data * n_c
    rank_ce = exact_ggn_rank(n_data, n_c, n_params, loss="ce")
    rank_mse = exact_ggn_rank(n_data, n_c, n_params, loss="mse")
    binds = rank_ce == n_data * (n_c - 1) and rank_mse == n_data * n_c
    return PredictionResult(
        id="Y2",
        statement="rank GGN ≤ n_D(n_c−1) for CE, ≤ n_D·n_c for MSE (output Hessian (2/n_c)·I)",
        result=f"∇²_f (1/n_c)Σ(f−t)² = (2/n_c)·I; exact ranks with generic J (n_D={n_data}, "
               f"n_c={n_c}, P={n_params}): CE {rank_ce} = n_D(n_c−1), MSE {rank_mse} = n_D·n_c",
        proved=mse_ok and binds,
        details={"mse_hessian_is_2_over_nc_I": mse_ok, "rank_ce": rank_ce, "rank_mse": rank_mse,
                 "bound_ce": n_data * (n_c - 1), "bound_mse": n_data * n_c},
    )


# ------------------------------------------------------------------------------------------
# Y3: logit-shift invariance and the last layer's null directions
# ------------------------------------------------------------------------------------------

def y3_logit_shift(n_classes: Sequence[int] = (2, 3, 4, 5), *, layer_shape: tuple[int, int] = (2, 2)
                   ) -> PredictionResult:
    """Y3: CE(z + c·1) = CE(z); for a last layer z = W a + b (W: n_c × m) the m + 1 directions
    V_j (column j of W += 1 in every class row) and V_b (b += 1) move z along 1 only, so the
    loss is constant along them at every θ, hence g·v = 0 and H v = ∇(g·v) = 0 everywhere.

    Checked: softmax(z + c)/softmax(z) = 1 for n_c = 2..5; for a symbolic layer of shape
    ``layer_shape`` = (n_c, m), z(W + tV_j) − z = t a_j 1 and the exact Hessian of the CE of
    that layer w.r.t. (W, b) annihilates all m + 1 directions.
    """
    c = sp.Symbol("c", real=True)
    shift_ok = True
    for n in n_classes:
        z = sp.symbols(f"z0:{n}", real=True)
        s = sum(sp.exp(zi) for zi in z)
        s_shift = sum(sp.exp(zi + c) for zi in z)
        ratio = (sp.exp(z[0] + c) / s_shift) / (sp.exp(z[0]) / s)
        shift_ok &= sp.simplify(sp.powsimp(sp.expand(ratio))) == 1

    n_c, m = layer_shape
    w = sp.Matrix(n_c, m, lambda i, j: sp.Symbol(f"W{i}{j}", real=True))
    b = sp.Matrix(sp.symbols(f"b0:{n_c}", real=True))
    a = sp.Matrix(sp.symbols(f"a0:{m}", real=True))
    t = sp.Symbol("t", real=True)
    z = w * a + b
    layer_ok = True
    for j in range(m):
        e = sp.zeros(n_c, m)
        e[:, j] = sp.ones(n_c, 1)
        layer_ok &= sp.expand((w + t * e) * a + b - z - t * a[j] * sp.ones(n_c, 1)) == sp.zeros(n_c, 1)
    layer_ok &= sp.expand(w * a + (b + t * sp.ones(n_c, 1)) - z - t * sp.ones(n_c, 1)) == sp.zeros(n_c, 1)

    params = list(w) + list(b)  # row-major W, then b
    loss = sp.log(sum(sp.exp(zi) for zi in z)) - z[0]
    hess = sp.hessian(loss, params)
    vecs = []
    for j in range(m):
        v = sp.zeros(len(params), 1)
        for i in range(n_c):
            v[i * m + j] = 1
        vecs.append(v)
    vb = sp.zeros(len(params), 1)
    for i in range(n_c):
        vb[n_c * m + i] = 1
    vecs.append(vb)
    null_ok = all(_matrix_is_zero(hess * v) for v in vecs)
    independent = sp.Matrix.hstack(*vecs).rank() == m + 1
    return PredictionResult(
        id="Y3",
        statement="CE is invariant to shifting all logits; a last layer of fan-in m gives ≥ m+1 "
                  "exact null directions of H at every θ",
        result="softmax(z + c·1) = softmax(z);  z(W + t·1e_jᵀ, b) = z + t a_j·1,  "
               f"z(W, b + t·1) = z + t·1;  H v = 0 for all m+1 = {m + 1} directions "
               f"(layer {n_c}×{m})",
        proved=bool(shift_ok and layer_ok and null_ok and independent),
        details={"shift_invariance": bool(shift_ok), "layer_moves_along_ones": bool(layer_ok),
                 "hessian_annihilates": bool(null_ok), "independent": bool(independent)},
    )


# ------------------------------------------------------------------------------------------
# Y4: ReLU positive homogeneity
# ------------------------------------------------------------------------------------------

def y4_relu_homogeneity() -> PredictionResult:
    """Y4: relu(α u)·(w/α) = relu(u)·w for α > 0, so L(D_α θ) = L(θ) with D_α scaling one
    unit's incoming weights and bias by α and its outgoing weights by 1/α.

    Differentiating in α at α = 1: g·v = 0 with v = Dθ (D = +1 on incoming, −1 on outgoing,
    0 elsewhere). Differentiating that identity in θ: H v + D g = 0, i.e. **H v = −D g**, so
    ‖Hv‖ = ‖g restricted to the unit's weights‖ ≤ ‖g‖ → 0 at a minimum. Checked case by case on
    the sign of the preactivation u, and on a one-unit net f = w₂ relu(w₁x + b₁) with an
    arbitrary smooth loss ℓ(f) (on the region u > 0; on u < 0 the unit is off and f = 0).
    """
    alpha = sp.Symbol("alpha", positive=True)
    w = sp.Symbol("w", real=True)
    u_pos = sp.Symbol("u", positive=True)
    u_neg = sp.Symbol("u", nonpositive=True)
    relu = lambda x: sp.Max(0, x)  # noqa: E731
    homog_ok = all(sp.simplify(relu(alpha * u) * (w / alpha) - relu(u) * w) == 0
                   for u in (u_pos, u_neg))

    w1, b1, w2, x = sp.symbols("w1 b1 w2 x", real=True)
    ell = sp.Function("ell")
    theta = [w1, b1, w2]
    sign = sp.diag(1, 1, -1)
    f_on = w2 * (w1 * x + b1)  # relu(u) = u where u = w1 x + b1 > 0
    loss = ell(f_on)
    g = sp.Matrix([sp.diff(loss, q) for q in theta])
    h = sp.hessian(loss, theta)
    v = sign * sp.Matrix(theta)
    gv_ok = sp.simplify((g.T * v)[0]) == 0
    hv_ok = _matrix_is_zero(h * v + sign * g)
    return PredictionResult(
        id="Y4",
        statement="ReLU units are positively homogeneous: g ⟂ each unit's rescaling direction, "
                  "and H annihilates it at a minimum",
        result="relu(αu)·w/α = relu(u)·w (α > 0);  g·v = 0 and H v = −D g for v = Dθ, "
               "D = diag(+1 in, −1 out)  ⇒  ‖Hv‖ ≤ ‖g‖",
        proved=bool(homog_ok and gv_ok and hv_ok),
        details={"homogeneity": bool(homog_ok), "g_dot_v_zero": bool(gv_ok),
                 "Hv_equals_minus_Dg": bool(hv_ok)},
    )


# ------------------------------------------------------------------------------------------
# Y5: stability of GD on a quadratic
# ------------------------------------------------------------------------------------------

def y5_gd_stability() -> PredictionResult:
    """Y5: GD on ½λx² is x_{t+1} = (1 − ηλ) x_t, so x_t = (1 − ηλ)^t x_0 → 0 iff |1 − ηλ| < 1,
    i.e. 0 < η < 2/λ for λ > 0: η* = 2/λ and ρ = η/η* = ηλ/2 (edge of stability at ρ = 1)."""
    eta = sp.Symbol("eta", real=True)
    lam = sp.Symbol("lambda", positive=True)
    x = sp.Symbol("x", real=True)
    step = sp.expand(x - eta * sp.diff(lam * x ** 2 / 2, x))
    map_ok = sp.expand(step - (1 - eta * lam) * x) == 0
    sol = solve_univariate_inequality(sp.Abs(1 - eta * lam) < 1, eta, relational=False)
    sol_ok = sol == sp.Interval.open(0, 2 / lam)
    return PredictionResult(
        id="Y5",
        statement="GD on ½λx² converges iff 0 < η < 2/λ (η* = 2/λ, ρ = ηλ/2)",
        result=f"x_(t+1) = (1 − ηλ)·x_t;  {{η : |1 − ηλ| < 1}} = {sp.sstr(sol)}",
        proved=bool(map_ok and sol_ok),
        details={"update_map": bool(map_ok), "solution": sp.sstr(sol)},
    )


# ------------------------------------------------------------------------------------------
# Y6: the loss change of one GD step
# ------------------------------------------------------------------------------------------

def _cayley(dim: int) -> tuple[sp.Matrix, list[sp.Symbol]]:
    """A symbolic rotation Q = (I − A)(I + A)⁻¹ from a skew-symmetric A (rational in its
    entries, QᵀQ = I exactly); it covers every rotation without eigenvalue −1."""
    syms = []
    a = sp.zeros(dim, dim)
    for i, j in itertools.combinations(range(dim), 2):
        s = sp.Symbol(f"a{i}{j}", real=True)
        syms.append(s)
        a[i, j], a[j, i] = s, -s
    eye = sp.eye(dim)
    return (eye - a) * (eye + a).inv(), syms


def gd_step_loss_change(dim: int) -> dict[str, Any]:
    """ΔL(η) = L(θ − ηg) − L(θ) for L(θ + x) = L₀ + gᵀx + ½xᵀHx + C(x), C a general cubic form,
    H = Q diag(λ) Qᵀ with a symbolic rotation Q, d = Qᵀg.

    Returns the exact ΔL, its η-series coefficients, the prediction η Σ d_i²(½ηλ_i − 1) and the
    remainder ΔL − prediction (which is exactly −η³ C(g)).
    """
    eta = sp.Symbol("eta", positive=True)
    g = sp.Matrix(sp.symbols(f"g0:{dim}", real=True))
    lam = sp.symbols(f"lambda0:{dim}", real=True)
    q, _ = _cayley(dim)
    h = q * sp.diag(*lam) * q.T
    xs = sp.symbols(f"x0:{dim}", real=True)
    cubic = sum(sp.Symbol("c" + "".join(map(str, idx)), real=True) * sp.prod([xs[i] for i in idx])
                for idx in itertools.combinations_with_replacement(range(dim), 3))
    xv = sp.Matrix(xs)
    model = (g.T * xv)[0] + (xv.T * h * xv)[0] / 2 + cubic
    step = {xi: -eta * gi for xi, gi in zip(xs, g)}
    delta = model.subs(step)
    d = q.T * g
    predicted = eta * sum(d[i] ** 2 * (eta * lam[i] / 2 - 1) for i in range(dim))
    remainder = sp.cancel(sp.together(delta - predicted))
    poly = sp.Poly(sp.cancel(sp.together(delta)), eta)
    coeffs = {k: sp.cancel(poly.coeff_monomial(eta ** k)) for k in range(4)}
    return {"eta": eta, "g": g, "H": h, "lambda": lam, "cubic": cubic, "x": xs, "delta": delta,
            "predicted": predicted, "remainder": remainder, "coeffs": coeffs,
            "cubic_at_g": cubic.subs(dict(zip(xs, g)))}


def y6_gd_step(dims: Sequence[int] = (2, 3)) -> PredictionResult:
    """Y6: ΔL = η Σ d_i²(½ηλ_i − 1) + O(η³), exactly ΔL − prediction = −η³ C(g) for a quadratic
    plus cubic C, with d_i = h_i·g. Checked in 2 and 3 dimensions with a symbolic rotation
    (so the quadratic is general) and every cubic monomial."""
    ok = {}
    for dim in dims:
        r = gd_step_loss_change(dim)
        eta, g = r["eta"], r["g"]
        c = r["coeffs"]
        ok[f"dim={dim}"] = bool(
            _is_zero(r["remainder"] + eta ** 3 * r["cubic_at_g"])
            and c[0] == 0
            and _is_zero(c[1] + (g.T * g)[0])
            and _is_zero(c[2] - (g.T * r["H"] * g)[0] / 2)
            and _is_zero(c[3] + r["cubic_at_g"]))
    return PredictionResult(
        id="Y6",
        statement="one GD step changes the loss by η Σ d_i²(½ηλ_i − 1) + O(η³)",
        result="ΔL = −η‖g‖² + ½η² gᵀHg − η³ C(g) = η Σ_i d_i²(½ηλ_i − 1) − η³ C(g), "
               f"d = Qᵀg  (dims {', '.join(map(str, dims))})",
        proved=all(ok.values()),
        details=ok,
    )


# ------------------------------------------------------------------------------------------
# Y7: parameter counts
# ------------------------------------------------------------------------------------------

def mlp_param_count(sizes: Sequence[Any]) -> Any:
    """Σ_i (n_i + 1)·n_{i+1} for layer sizes (in, hidden..., out): weights plus biases. Works on
    ints and on sympy symbols."""
    return sp.expand(sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1)))


def y7_param_counts() -> PredictionResult:
    """Y7: the 784-k-10 MLP has 785k + 10(k+1) parameters; the blob net 2-h-h-2 has
    h² + 6h + 2 (h ∈ {2, 6, 10, 14, 18} → 18, 74, 162, 282, 434)."""
    k, h = sp.symbols("k h", positive=True, integer=True)
    mnist = mlp_param_count([784, k, 10])
    blob = mlp_param_count([2, h, h, 2])
    mnist_ok = sp.expand(mnist - (785 * k + 10 * (k + 1))) == 0
    blob_ok = sp.expand(blob - (h ** 2 + 6 * h + 2)) == 0
    table = {int(w): int(blob.subs(h, w)) for w in (2, 6, 10, 14, 18)}
    table_ok = table == {2: 18, 6: 74, 10: 162, 14: 282, 18: 434}
    return PredictionResult(
        id="Y7",
        statement="784-k-10 has 785k + 10(k+1) parameters; the 2-h-h-2 blob net has h² + 6h + 2",
        result=f"784-k-10: {sp.sstr(mnist)};  2-h-h-2: {sp.sstr(sp.factor(blob))} = "
               f"{sp.sstr(blob)};  h→P: {table}",
        proved=bool(mnist_ok and blob_ok and table_ok),
        details={"mnist": sp.sstr(mnist), "blob": sp.sstr(blob), "blob_table": table},
    )


# ------------------------------------------------------------------------------------------
# Y8: basin volume of a quadratic
# ------------------------------------------------------------------------------------------

def ellipsoid_volume_formula(dim: int) -> tuple[sp.Expr, sp.Symbol, tuple[sp.Symbol, ...]]:
    """([F]) V = (2ε)^{d/2} π^{d/2} / (Γ(d/2 + 1) Π √λ_i), with its symbols (ε, λ)."""
    eps = sp.Symbol("epsilon", positive=True)
    lam = sp.symbols(f"lambda0:{dim}", positive=True)
    v = (2 * eps) ** sp.Rational(dim, 2) * sp.pi ** sp.Rational(dim, 2) / (
        sp.gamma(sp.Rational(dim, 2) + 1) * sp.prod([sp.sqrt(li) for li in lam]))
    return v, eps, lam


def ellipsoid_volume(dim: int) -> tuple[sp.Expr, sp.Symbol, tuple[sp.Symbol, ...]]:
    """vol{x : ½ Σ λ_i x_i² ≤ ε} by integration: x_i = √(2ε/λ_i)·u_i (Jacobian Π √(2ε/λ_i))
    maps it onto the unit ball, whose volume is integrated in polar/spherical coordinates with
    the Jacobian determinant computed by sympy (d = 1: the direct integral over an interval).
    Rotations have Jacobian 1, so this is the volume for any positive-definite H with
    eigenvalues λ."""
    eps = sp.Symbol("epsilon", positive=True)
    lam = sp.symbols(f"lambda0:{dim}", positive=True)
    if dim == 1:
        x = sp.Symbol("x", real=True)
        half = sp.sqrt(2 * eps / lam[0])
        return sp.integrate(1, (x, -half, half)), eps, lam
    r = sp.Symbol("r", positive=True)
    if dim == 2:
        phi = sp.Symbol("phi", real=True)
        coords = sp.Matrix([r * sp.cos(phi), r * sp.sin(phi)])
        angles = [(phi, 0, 2 * sp.pi)]
        jac = sp.simplify(coords.jacobian([r, phi]).det())
    elif dim == 3:
        th, phi = sp.symbols("theta phi", real=True)
        coords = sp.Matrix([r * sp.sin(th) * sp.cos(phi), r * sp.sin(th) * sp.sin(phi),
                            r * sp.cos(th)])
        angles = [(th, 0, sp.pi), (phi, 0, 2 * sp.pi)]
        jac = sp.simplify(coords.jacobian([r, th, phi]).det())
        jac = jac.subs(sp.Abs(sp.sin(th)), sp.sin(th))  # sin θ ≥ 0 on [0, π]
    else:
        raise ValueError(f"ellipsoid_volume integrates d = 1, 2, 3 only, got d = {dim}")
    ball = sp.integrate(jac, (r, 0, 1), *angles)
    scale = sp.prod([sp.sqrt(2 * eps / li) for li in lam])
    return sp.simplify(ball * scale), eps, lam


def y8_basin_volume(dims: Sequence[int] = (1, 2, 3)) -> PredictionResult:
    """Y8: the sublevel set {½ xᵀHx ≤ ε} of a positive-definite quadratic has volume
    (2ε)^{d/2} π^{d/2} / (Γ(d/2+1) Π √λ_i); it diverges as any λ_i → 0⁺ (a flat direction makes
    the basin unbounded), which is why degenerate minima need singular learning theory."""
    ok, found = {}, {}
    for dim in dims:
        v, eps, lam = ellipsoid_volume(dim)
        ref, eps_r, lam_r = ellipsoid_volume_formula(dim)
        ref = ref.subs({eps_r: eps, **dict(zip(lam_r, lam))})
        ok[f"dim={dim}"] = bool(sp.simplify(v / ref) == 1)
        found[f"dim={dim}"] = sp.sstr(v)
    ref2, _, lam2 = ellipsoid_volume_formula(2)
    diverges = sp.limit(ref2, lam2[-1], 0, "+") == sp.oo
    return PredictionResult(
        id="Y8",
        statement="basin volume at tolerance ε: V = (2ε)^{d/2} π^{d/2} / (Γ(d/2+1) Π√λ_i), "
                  "diverging as a λ → 0",
        result="; ".join(f"{k}: V = {s}" for k, s in found.items())
               + f";  lim_(λ→0+) V = {'∞' if diverges else 'finite'}",
        proved=bool(all(ok.values()) and diverges),
        details={**ok, "diverges_as_lambda_to_0": bool(diverges), "volumes": found},
    )


# ------------------------------------------------------------------------------------------
# running everything
# ------------------------------------------------------------------------------------------

SYMBOLIC = (y1_softmax_hessian, y2_ggn_rank, y3_logit_shift, y4_relu_homogeneity,
            y5_gd_stability, y6_gd_step, y7_param_counts, y8_basin_volume)


def symbolic_checks() -> list[PredictionResult]:
    """Every sympy derivation Y1–Y8, in order."""
    return [fn() for fn in SYMBOLIC]
