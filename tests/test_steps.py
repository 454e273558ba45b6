"""Step rules (simlab.steps) in the one loop: each schedule's trajectory is the hand-written
loop's bit for bit, the continuations and the cusp replay too, and the rules' eigensolves are
filed as telemetry."""

import math

import numpy as np
import pytest
import torch

from conftest import make_landscape
from simlab import steps
from simlab.continuation import continue_from
from simlab.cusp import theta_at_step, theta_by_rerun
from simlab.spectrum import top_eigen
from simlab.checkpoint import rule_state as _rule_state
from simlab.errors import UsageError
from simlab.trainer import TrainConfig, run_summary, train


def tiny(**kw):
    kw = {"widths": (4,), "activation": "tanh", "loss": "ce", "n_data": 12, "n_classes": 3, "seed": 0, **kw}
    return make_landscape(**kw)


def hand_loop(ls, n, size):
    """Plain GD written out: η_n, λ_1 = size(θ_n, n); θ ← θ − η_n g. The history as the trainer
    keeps it, and the final θ."""
    theta, t = ls.theta0.clone(), 0.0
    hist = {"step": [], "t": [], "loss": [], "grad_norm": [], "lr": [], "lambda_1": []}
    for i in range(n + 1):
        loss, g = ls.loss_grad(theta)
        lr, lam1 = size(theta, i)
        for key, val in zip(hist, (i, t, loss, float(torch.linalg.vector_norm(g)), lr, lam1)):
            hist[key].append(val)
        if i == n:
            break
        theta = theta - lr * g
        t += lr
    return hist, theta


def lam1_lanczos(ls, tol):
    """λ_1 by the same warm-started Lanczos call the flow rule makes."""
    warm = [None]

    def lam1(theta):
        e = top_eigen(ls.operator(theta), 1, tol=tol, v0=warm[0], with_residuals=False, miss=None)
        warm[0] = e.eigenvectors
        return float(e.eigenvalues[0])
    return lam1


def same_history(res, hist, theta):
    for key, want in hist.items():
        np.testing.assert_array_equal(res.history[key], np.asarray(want, dtype=np.float64), err_msg=key)
    assert torch.equal(res.theta, theta)


def test_constant_schedule_is_the_hand_written_loop_bit_for_bit():
    ls = tiny()
    res = train(ls, TrainConfig(lr=0.4, max_steps=9, k=2, telemetry_every=3), progress=False)
    same_history(res, *hand_loop(ls, 9, lambda th, i: (0.4, math.nan)))
    assert res.t == sum([0.4] * 9) and res.step_rule_hvps == 0


def test_flow_schedule_is_the_hand_written_loop_bit_for_bit():
    ls = tiny(loss="mse", widths=(5,), seed=3)
    tol, c, lr_max = 1e-8, 0.5, 50.0
    res = train(ls, TrainConfig(lr=lr_max, schedule="flow", flow_c=c, eig_tol=tol, max_steps=8, k=2,
                                telemetry_every=0), progress=False)
    lam1 = lam1_lanczos(ls, tol)

    def size(theta, i):
        lam = lam1(theta)
        return min(lr_max, c / lam), lam
    hist, theta = hand_loop(ls, 8, size)
    same_history(res, hist, theta)
    assert np.all(res.history["lr"] < lr_max)  # the cap c/λ_1 is what sized every step


def test_stable_schedule_is_the_hand_written_loop_bit_for_bit():
    ls = tiny(loss="mse", widths=(5,), seed=3)
    tol, c, lr, after, every = 1e-8, 0.5, 0.3, 3, 4
    res = train(ls, TrainConfig(lr=lr, schedule="stable", flow_c=c, stable_after=after,
                                stable_every=every, eig_tol=tol, max_steps=12, k=2,
                                telemetry_every=0), progress=False)
    lam1, held = lam1_lanczos(ls, tol), [None]

    def size(theta, i):
        if i < after:
            return lr, math.nan
        if (i - after) % every == 0:
            held[0] = lam1(theta)
        return c / held[0], held[0]
    same_history(res, *hand_loop(ls, 12, size))


def test_the_rules_eigensolves_are_filed_as_telemetry():
    ls = tiny()
    res = train(ls, TrainConfig(lr=2.0, schedule="flow", eig_tol=1e-6, max_steps=5, k=2,
                                telemetry_every=0), progress=False)
    assert 0 < res.step_rule_hvps < res.total_hvps  # the two telemetry points took the rest
    assert 0 < res.step_rule_seconds <= res.telemetry_seconds
    s = run_summary(res, TrainConfig(lr=2.0), ls)
    assert s["step_rule_hvps"] == res.step_rule_hvps and s["step_rule_seconds"] == res.step_rule_seconds
    assert res.train_seconds == pytest.approx(res.wall_time - res.telemetry_seconds)


def test_without_telemetry_the_loop_takes_no_point_and_the_same_steps(tmp_path):
    ls = tiny()
    a = train(ls, TrainConfig(lr=0.4, max_steps=6, k=2), progress=False)
    b = train(ls, TrainConfig(lr=0.4, max_steps=6, k=2), progress=False, telemetry=False)
    assert b.n_points == 0 and b.total_hvps == 0 and a.n_points > 0
    assert torch.equal(a.theta, b.theta)


@pytest.mark.parametrize("mode", ["gd", "bulk", "top"])
def test_continuations_are_the_hand_written_projected_loop_bit_for_bit(mode):
    ls = tiny(seed=1)
    theta0 = ls.theta0 + 0.05
    lr, n, n_top, every, tol = 0.5, 7, 2, 3, 1e-8
    losses, theta = continue_from(ls, theta0, lr=lr, n_iter=n, mode=mode, n_top=n_top,
                                  refresh_every=every, tol=tol)
    # the loop as continue_from wrote it before it went through the trainer
    th, V, want = theta0.clone(), None, []
    for i in range(n + 1):
        loss, g = ls.loss_grad(th)
        want.append(loss)
        if i == n:
            break
        if mode != "gd" and (V is None or i % every == 0):
            V = top_eigen(ls.operator(th), n_top, tol=tol, v0=V, with_residuals=False).eigenvectors.to(g.dtype)
        th = th - lr * steps.project(g, V, mode)
    assert losses == want and torch.equal(theta, th)


def test_a_diverging_continuation_ends_its_losses_with_the_non_finite_one():
    ls = tiny(loss="mse", widths=())  # a quadratic: GD at η ≫ 2/λ_1 overflows
    losses, _ = continue_from(ls, ls.theta0, lr=1e4, n_iter=500, mode="gd", n_top=1)
    assert len(losses) < 501 and not math.isfinite(losses[-1]) and all(map(math.isfinite, losses[:-1]))


def test_the_cusp_replay_is_the_run_bit_for_bit():
    ls = tiny(loss="mse", widths=(5,), seed=3)
    res = train(ls, TrainConfig(lr=5.0, schedule="flow", eig_tol=1e-6, max_steps=6, k=1,
                                telemetry_every=0), progress=False)
    assert torch.equal(theta_at_step(ls, res.history["lr"], 6), res.theta)
    assert torch.equal(theta_at_step(ls, res.history["lr"], 0), ls.theta0)


def test_the_exponential_euler_rerun_is_the_run_bit_for_bit():
    """Exponential Euler's step needs the top eigenpairs, so its θ* is the rule run again: the
    same θ at every step (the cusp of an exponential Euler run, L9 on its sweep)."""
    ls = tiny(widths=(5,), seed=2)
    cfg = TrainConfig(lr=0.5, schedule="expeuler", eig_tol=1e-6, max_steps=8, k=1,
                      telemetry_every=0)
    res = train(ls, cfg, progress=False)
    part = train(ls, TrainConfig(lr=0.5, schedule="expeuler", eig_tol=1e-6, max_steps=5, k=1,
                                 telemetry_every=0), progress=False)
    assert torch.equal(theta_by_rerun(ls, cfg, 8), res.theta)
    assert torch.equal(theta_by_rerun(ls, cfg, 5), part.theta)
    assert not torch.equal(part.theta, res.theta)
    assert torch.equal(theta_by_rerun(ls, cfg, 0), ls.theta0)


def test_a_checkpoint_from_before_the_step_rules_still_resumes_the_rule():
    warm = torch.ones(3, 1)
    old = {"lam1_warm": warm, "stable_lam1": 2.5}
    rule = steps.Stable(0.1, 0.5, 0, 1, 1e-6)
    rule.load(_rule_state(old))
    assert rule.lam1 == 2.5 and torch.equal(rule.warm, warm)
    assert _rule_state({"rule": {"warm": None}}) == {"warm": None}


def test_newton_finishes_a_tanh_net_to_a_strict_minimum_quadratically():
    """The saddle-free Newton rule after a GD phase (MSE, tanh: a smooth loss with a finite
    minimum): ‖g‖ falls to 1e−11 with quadratic steps at the end, where GD over the same
    iterations stays orders of magnitude above; the Hessian there is positive definite."""
    from simlab.steps import Newton

    land = make_landscape(widths=(3,), n_data=20, seed=7, loss="mse")
    gd = train(land, TrainConfig(lr=0.2, max_steps=160, telemetry_every=0, k=1, grad_tol=None,
                                 target_loss=None), telemetry=False, progress=False)
    cfg = TrainConfig(lr=0.2, max_steps=160, stable_after=60, schedule="newton",
                      telemetry_every=0, k=1, grad_tol=1e-11, target_loss=None)
    res = train(land, cfg, telemetry=False, progress=False)
    assert res.stop_reason == "grad_tol", (res.step, res.grad_norm)
    g = np.log10(res.history["grad_norm"][60:])
    assert any(b < 1.5 * a and a < -3 for a, b in zip(g, g[1:])), g   # a quadratic step
    assert gd.grad_norm > 1e6 * res.grad_norm
    assert float(torch.linalg.eigvalsh(land.hessian(res.theta))[0]) > 0
    # the GD phase is the constant rule's, bit for bit
    np.testing.assert_array_equal(res.history["loss"][:60], gd.history["loss"][:60])
    # a net too large for a dense Hessian every iteration is refused with how to fix it
    big = make_landscape(widths=(80, 80), in_dim=30, n_data=5)
    with pytest.raises(UsageError, match="at most 5,000 parameters"):
        Newton(0.1, 0, big)


@pytest.mark.parametrize("held", [0, 1, 3])
def test_the_operators_gradient_is_the_landscapes_bit_for_bit(held):
    """HVPOperator.loss_grad (the held chunks' gradients read off their graphs, the others
    computed) equals Landscape.loss_grad exactly, whichever chunks are held."""
    ls = tiny(n_data=11, chunk_size=4)  # chunks of 4, 4, 3
    ls.held_chunks  # resolve the chunking, then choose how many are held
    ls._held_chunks = held
    theta = ls.theta0 + 0.1
    loss, g = ls.loss_grad(theta)
    op = ls.operator(theta)
    assert len(op._held_data) == held
    loss2, g2 = op.loss_grad()
    assert loss2 == loss and torch.equal(g2, g)


def test_a_rule_that_solves_every_step_takes_its_gradient_from_that_steps_graph(monkeypatch):
    """Flow and exponential Euler build θ_n's operator first and read g off it: no separate
    gradient pass but one, timed at the first iteration as grads_per_hvp's unit (and the
    trajectory is the hand-written loop's, test above)."""
    ls = tiny(loss="mse", widths=(5,), seed=3)
    calls = []
    plain = ls.loss_grad
    monkeypatch.setattr(ls, "loss_grad", lambda th: calls.append(1) or plain(th))
    for schedule in ("flow", "expeuler"):
        calls.clear()
        res = train(ls, TrainConfig(lr=5.0, schedule=schedule, eig_tol=1e-6, max_steps=4, k=2,
                                    telemetry_every=2), progress=False)
        assert res.step == 4 and len(calls) == 1 and res.grads_per_hvp > 0
    calls.clear()
    train(ls, TrainConfig(lr=0.1, max_steps=4, k=2, telemetry_every=2), progress=False)
    assert len(calls) == 5  # the constant rule takes a plain gradient at every iteration


def test_the_loop_holds_no_schedule_branch():
    """train() asks its step rule for η_n; no branch of the loop names a schedule (issue 21): a
    new rule is a class in simlab.steps, not an ``if`` here."""
    import ast
    import inspect

    from simlab import trainer
    from simlab.trainer import SCHEDULES

    fn = ast.parse(inspect.getsource(trainer.train)).body[0]
    body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) else fn.body  # without the docstring
    names = {n.attr for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Attribute)}
    consts = {n.value for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Constant)}
    assert "schedule" not in names
    assert not consts & set(SCHEDULES)
