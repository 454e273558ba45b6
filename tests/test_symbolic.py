"""The analytic predictions Y1–Y8: sympy derivations and their numerical twins on toy nets."""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab.toy import predictions as P
from simlab.toy import check_predictions as C
from simlab.toy import symbolic as S

FEW = settings(max_examples=4, deadline=None)


@pytest.fixture(scope="module")
def symbolic_results():
    return {r.id: r for r in S.symbolic_checks()}


# ------------------------------------------------------------------------------------------
# sympy derivations
# ------------------------------------------------------------------------------------------

def test_every_symbolic_prediction_is_proved(symbolic_results):
    assert sorted(symbolic_results) == [f"Y{i}" for i in range(1, 9)]
    for r in symbolic_results.values():
        assert r.check == "symbolic"
        assert r.proved, (r.id, r.details)


@pytest.mark.parametrize("n_c", [2, 3, 4, 5])
def test_y1_softmax_hessian_is_diag_p_minus_ppT(n_c):
    z, h, m = S.softmax_ce_logit_hessian(n_c)
    assert S._matrix_is_zero(h - m)
    # negative control: a wrong formula (diag(p) alone) is not accepted
    p = [sp.exp(zi) / sum(sp.exp(zj) for zj in z) for zi in z]
    assert not S._matrix_is_zero(h - sp.diag(*p))


def test_y1_psd_kernel_rank_for_each_nc(symbolic_results):
    for n_c in (2, 3, 4, 5):
        assert symbolic_results["Y1"].details[f"n_c={n_c}"] == {
            "hessian": True, "psd": True, "kernel": True, "rank": True}


@pytest.mark.parametrize("n_c", [2, 3, 5])
def test_y2_mse_output_hessian_is_two_over_nc(n_c):
    assert S.mse_output_hessian(n_c) == sp.Rational(2, n_c) * sp.eye(n_c)
    assert S.mse_output_hessian(n_c) != sp.Rational(1, n_c) * sp.eye(n_c)


def test_y2_exact_rational_ggn_ranks():
    assert S.exact_ggn_rank(3, 3, 16, loss="ce") == 6   # n_D (n_c − 1)
    assert S.exact_ggn_rank(3, 3, 16, loss="mse") == 9  # n_D n_c
    assert S.exact_ggn_rank(4, 2, 16, loss="ce") == 4
    # when P < the bound, P caps the rank
    assert S.exact_ggn_rank(4, 3, 5, loss="ce") == 5


def test_y3_details(symbolic_results):
    assert all(symbolic_results["Y3"].details.values())


def test_y4_hv_equals_minus_dg(symbolic_results):
    assert symbolic_results["Y4"].details == {
        "homogeneity": True, "g_dot_v_zero": True, "Hv_equals_minus_Dg": True}


def test_y5_interval(symbolic_results):
    lam = sp.Symbol("lambda", positive=True)
    assert symbolic_results["Y5"].details["solution"] == sp.sstr(sp.Interval.open(0, 2 / lam))


@pytest.mark.parametrize("dim", [2, 3])
def test_y6_series_coefficients(dim):
    r = S.gd_step_loss_change(dim)
    g, c, eta = r["g"], r["coeffs"], r["eta"]
    assert c[0] == 0
    assert S._is_zero(c[1] + (g.T * g)[0])
    assert S._is_zero(c[2] - (g.T * r["H"] * g)[0] / 2)
    assert S._is_zero(c[3] + r["cubic_at_g"])
    assert S._is_zero(r["remainder"] + eta ** 3 * r["cubic_at_g"])
    # the O(η²) prediction alone is not the whole change when there is a cubic term
    assert not S._is_zero(r["remainder"])


def test_y7_param_count_expressions():
    k, h = sp.symbols("k h")
    assert sp.expand(S.mlp_param_count([784, k, 10]) - (785 * k + 10 * (k + 1))) == 0
    assert sp.expand(S.mlp_param_count([2, h, h, 2]) - (h ** 2 + 6 * h + 2)) == 0
    assert [S.mlp_param_count([2, w, w, 2]) for w in (2, 6, 10, 14, 18)] == [18, 74, 162, 282, 434]


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_y8_integral_equals_formula(dim):
    v, eps, lam = S.ellipsoid_volume(dim)
    ref, eps_r, lam_r = S.ellipsoid_volume_formula(dim)
    ref = ref.subs({eps_r: eps, **dict(zip(lam_r, lam))})
    assert sp.simplify(v / ref) == 1
    unit_ball = {1: 2, 2: math.pi, 3: 4 * math.pi / 3}[dim]
    # λ_i = 2, ε = 1: the sublevel set is the unit ball
    assert float(v.subs({eps: 1, **{li: 2 for li in lam}})) == pytest.approx(unit_ball)


def test_y8_rejects_unsupported_dimension():
    with pytest.raises(ValueError, match="d = 1, 2, 3"):
        S.ellipsoid_volume(4)


# ------------------------------------------------------------------------------------------
# numerical checks on toy nets
# ------------------------------------------------------------------------------------------

@FEW
@given(seed=st.integers(0, 10_000))
def test_y1_numeric(seed):
    r = P.y1_numeric(seed=seed, n_classes=(2, 3, 5))
    assert r.check == "numeric" and r.proved, r.result
    assert r.details["ranks"] == {2: 1, 3: 2, 5: 4}


@FEW
@given(seed=st.integers(0, 10_000), widths=st.sampled_from([(6, 6), (5,), (4, 7)]),
       n_classes=st.sampled_from([2, 3]), activation=st.sampled_from(["relu", "tanh"]))
def test_y2_numeric(seed, widths, n_classes, activation):
    r = P.y2_numeric(seed=seed, widths=widths, n_data=6, n_classes=n_classes,
                     activation=activation)
    assert r.proved, r.result
    ranks, bounds = r.details["ranks"], r.details["bounds"]
    assert ranks["ce"] <= bounds["ce"] and ranks["mse"] <= bounds["mse"]
    if r.details["binds"]:
        assert ranks["mse"] - ranks["ce"] == 6


def test_y2_numeric_bound_binds_by_default():
    r = P.y2_numeric()
    assert r.proved and r.details["binds"], r.result
    assert r.details["ranks"] == {"ce": 8, "mse": 16}


@FEW
@given(seed=st.integers(0, 10_000), widths=st.sampled_from([(6, 6), (3,), (5, 4)]),
       n_classes=st.sampled_from([2, 3, 4]), activation=st.sampled_from(["relu", "tanh"]))
def test_y3_numeric(seed, widths, n_classes, activation):
    r = P.y3_numeric(seed=seed, widths=widths, n_classes=n_classes, activation=activation)
    assert r.proved, r.result
    assert r.details["m"] == widths[-1]
    assert r.details["n_zero_eigenvalues"] >= widths[-1] + 1


def test_y3_shift_vectors_leave_the_loss_unchanged():
    land = P.toy_landscape(widths=(5, 4), n_classes=3, seed=3)
    V = P.shift_null_vectors(land.model, land.n_params)
    assert V.shape == (land.n_params, 5)
    base = land.loss(land.theta0)
    for j in range(V.shape[1]):
        assert land.loss(land.theta0 + 7.0 * V[:, j]) == pytest.approx(base, abs=1e-12)
    # a generic direction does change it
    assert abs(land.loss(land.theta0 + 7.0 * V.sum(1).roll(1)) - base) > 1e-3


def test_y4_rescaling_leaves_the_function_unchanged():
    land = P.toy_landscape(widths=(4, 3), seed=5)
    out = land.outputs(land.theta0, land.X)
    for layer, unit, d in P._unit_directions(land):
        alpha = 2.7
        scale = torch.where(d > 0, alpha, torch.where(d < 0, 1 / alpha, 1.0))
        assert torch.allclose(land.outputs(land.theta0 * scale, land.X), out, atol=1e-13)
    assert len(P._unit_directions(land)) == 7


def test_y4_numeric_default_run():
    r = P.y4_numeric()
    assert r.proved, r.result
    assert r.details["grad_norms"][-1] < 1e-2 * r.details["grad_norms"][0]
    assert r.details["spearman"] >= 0.9


@FEW
@given(seed=st.integers(0, 10_000), widths=st.sampled_from([(6, 6), (4,), (3, 5)]))
def test_y4_numeric_identity(seed, widths):
    r = P.y4_numeric(seed=seed, widths=widths, steps=40, every=20)
    assert r.residual <= r.tolerance, r.result
    # ‖Hv‖ = ‖D g‖ ≤ ‖g‖ at every checkpoint
    assert all(h <= g * (1 + 1e-9) for h, g in zip(r.details["hv_norms"], r.details["grad_norms"]))


def test_y4_hessian_identity_with_dense_hessian():
    land = P.toy_landscape(widths=(3, 3), seed=2)
    theta = land.theta0
    H, g = land.hessian(theta), land.grad(theta)
    for _, _, d in P._unit_directions(land):
        torch.testing.assert_close(H @ (d * theta), -d * g, atol=1e-13, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_y6_numeric_third_order(seed):
    r = P.y6_numeric(seed=seed)
    assert r.proved, r.result
    assert 2.7 <= r.details["slope"] <= 3.3


def test_y7_numeric():
    r = P.y7_numeric()
    assert r.proved and r.residual == 0


@pytest.mark.parametrize("seed", [0, 7])
def test_y8_monte_carlo(seed):
    r = P.y8_numeric(seed=seed, n_samples=100_000)
    assert r.proved, r.result
    exact = 2 * math.pi * 0.1 / math.sqrt(3.0 * 0.5)
    assert r.details["formula"] == pytest.approx(exact, rel=1e-12)
    div = list(r.details["divergence"].values())
    assert div[1] == pytest.approx(10 * div[0]) and div[2] == pytest.approx(10 * div[1])


# ------------------------------------------------------------------------------------------
# report and CLI hook
# ------------------------------------------------------------------------------------------

def test_format_report_lists_every_check():
    results = [
        S.PredictionResult("Y1", "stmt one", "H = M", True),
        S.PredictionResult("Y1", "stmt one", "measured", False, check="numeric",
                           residual=0.5, tolerance=0.1),
        S.PredictionResult("Y5", "stmt five", "(0, 2/λ)", True),
    ]
    text = C.format_report(results)
    assert "Y1  stmt one" in text and "Y5  stmt five" in text
    assert "FAILED" in text and "residual 5.00e-01  tolerance 1.00e-01" in text
    assert text.endswith("3 checks, 2 ok, 1 not ok")


def test_main_symbolic_only(capsys, symbolic_results, monkeypatch):
    monkeypatch.setattr(S, "symbolic_checks", lambda: list(symbolic_results.values()))
    assert C.main(["--symbolic-only"]) == 0
    out = capsys.readouterr().out
    assert "8 checks, 8 ok, 0 not ok" in out


def test_the_record_states_what_the_checks_cost(tmp_path, symbolic_results, monkeypatch):
    monkeypatch.setattr(S, "symbolic_checks", lambda: list(symbolic_results.values()))
    assert C.main(["--symbolic-only", "--out", str(tmp_path / "p")]) == 0
    from simlab.record import Record, cpu_seconds, wall_seconds
    s = Record.load(tmp_path / "p").summary
    assert s["n_checks"] == 8 and s["n_ok"] == 8
    assert wall_seconds(s) > 0 and cpu_seconds(s) >= 0


@pytest.mark.slow
def test_check_all_everything_holds():
    results = C.check_all(seed=0)
    assert len(results) == 15
    assert all(r.proved for r in results), C.format_report(results)


def test_record_is_read_by_the_claims_engine(tmp_path, symbolic_results):
    from simlab import claims
    from simlab.record import Record

    numeric = [P.y7_numeric(), P.y3_numeric(widths=(3,)),
               S.PredictionResult("Y1", "s", "r", False, check="numeric", residual=0.0,
                                  tolerance=1.0, conditions={"rank is n_c − 1": False})]
    results = list(symbolic_results.values()) + numeric
    C.write_record(results, tmp_path / "pred", C.PredictionsConfig(seed=3))
    rec = Record.load(tmp_path / "pred")
    assert rec.doc["experiment"] == "predictions" and rec.config["seed"] == 3
    entries = rec.summary["predictions"]
    assert [c["check"] for c in entries["Y3"]] == [
        "symbolic", "numeric", "numeric: ≥ m+1 eigenvalues at machine zero"]
    assert entries["Y7"][1]["passed"] is True and entries["Y7"][1]["residual"] == 0
    assert claims.evaluate_claim("Y3", [rec]).status == "holds"
    assert claims.evaluate_claim("Y7", [rec]).status == "holds"
    # a failed yes/no condition fails the claim even though the residual is within tolerance
    assert claims.evaluate_claim("Y1", [rec]).status == "fails"
