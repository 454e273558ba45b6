"""simlab.EdgeMonitor inside a user's own SGD and Adam loops: its ρ_1 against a full-batch
measurement at the same θ, Adam's preconditioned sharpness against a dense P^{-1/2} H P^{-1/2},
the momentum thresholds on a quadratic, bit-identical training with and without it, and its
record read by the claims."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from simlab.claims import evaluate, load_records
from simlab.claims.verdict import STATUSES, Thresholds
from simlab.landscape import Landscape
from simlab.monitor import EdgeMonitor, adam_preconditioner, step_rule
from simlab.record import Record
from simlab.spectrum import top_eigen


def data(n=48, d=5, n_c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = torch.randint(0, n_c, (n,), generator=g)
    y[:n_c] = torch.arange(n_c)
    return X, y


def mlp(seed=0, d=5, h=8, n_c=3, dropout=0.0):
    torch.manual_seed(seed)
    layers = [nn.Linear(d, h), nn.Tanh()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(h, n_c)]
    return nn.Sequential(*layers)


def full_batch_lambda(model, X, y, k=1):
    """λ_1..λ_k of the full-batch Hessian at the model's θ: a fresh Landscape on a copy, Lanczos
    to 1e-12, and the dense Hessian's eigvalsh."""
    land = Landscape(copy.deepcopy(model), X, y, loss="ce", dtype=torch.float64)
    lam = top_eigen(land.operator(land.theta0), k, tol=1e-12).eigenvalues
    dense = np.linalg.eigvalsh(land.hessian(land.theta0).numpy())[::-1][:k]
    np.testing.assert_allclose(lam, dense, rtol=1e-9)
    return lam, land


def test_sgd_momentum_rho_matches_a_full_batch_measurement():
    X, y = data()
    model = mlp()
    lr, beta = 0.3, 0.9
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=beta)
    mon = EdgeMonitor(model, X, y, optimizer=opt, every=4, k=4, tol=1e-12, verbose=False)
    checked = 0
    for step in range(12):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
        p = mon.step(step)
        if p is None:
            continue
        lam, land = full_batch_lambda(model, X, y, k=4)
        # Cohen et al.: heavy-ball momentum β is stable iff ηλ < 2 + 2β, so ρ = ηλ / (2(1+β))
        rho_ref = lr * lam / (2 * (1 + beta))
        assert abs(p["rho"][0] - rho_ref[0]) <= 1e-6 * abs(rho_ref[0])
        np.testing.assert_allclose(p["rho"], rho_ref, rtol=1e-6)
        np.testing.assert_allclose(p["eigenvalues"], lam, rtol=1e-6)
        assert p["lr"] == pytest.approx(lr / (1 + beta), rel=1e-15)
        assert p["threshold"] == pytest.approx((2 + 2 * beta) / lr, rel=1e-12)
        loss, g = land.loss_grad(land.theta0)
        assert p["loss"] == pytest.approx(loss, rel=1e-12)
        assert p["grad_norm"] == pytest.approx(float(g.norm()), rel=1e-10)
        # n_c − 1 = 2 top directions: ‖P_top g‖² + ‖P_bulk g‖² = ‖g‖²
        assert p["n_top"] == 2 and p["n_c_minus_1"] == 2
        assert p["p_top_norm"] ** 2 + p["p_bulk_norm"] ** 2 == pytest.approx(p["grad_norm"] ** 2, rel=1e-9)
        assert p["edge_count"] == sum(r >= 1 for r in p["rho"])
        # ΔL_top by re-evaluation at θ − η_eff P_top g
        V = torch.as_tensor(np.asarray(top_eigen(land.operator(land.theta0), 2, tol=1e-12).eigenvectors))
        top = V @ (V.T @ g)
        dl = land.loss(land.theta0 - p["lr"] * top) - loss
        assert p["dl_top"] == pytest.approx(dl, rel=1e-6, abs=1e-12)
        checked += 1
    assert checked == 3 and [q["step"] for q in mon.points] == [0, 4, 8]
    assert mon.points[1]["t"] == pytest.approx(4 * lr / (1 + beta))
    summary = mon.close()
    assert summary["total_hvps"] == sum(q["n_matvecs"] for q in mon.points) > 0
    assert summary["telemetry_seconds"] > 0 and summary["valid"]


def test_nesterov_and_dampening_thresholds_on_a_quadratic():
    """2/η_eff is the stability threshold of torch's SGD: on L = λx²/2 it converges at λ 2 %
    below it and diverges 2 % above."""
    for kw in ({"momentum": 0.9}, {"momentum": 0.5, "nesterov": True}, {"momentum": 0.8, "dampening": 0.3},
               {"momentum": 0.0}):
        lr = 0.1
        probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr, **kw)
        lam_star = 2 / step_rule(probe, None)["lr"]
        for factor, grows in ((0.98, False), (1.02, True)):
            x = torch.ones(1, requires_grad=True)
            opt = torch.optim.SGD([x], lr=lr, **kw)
            for _ in range(700):
                opt.zero_grad()
                (0.5 * factor * lam_star * x ** 2).sum().backward()
                opt.step()
            size = abs(float(x.detach()))  # inf or nan once it has blown up
            assert (size < 1e-3) == (not grows) and (not size < 1) == grows, (kw, factor, size)


def test_adam_preconditioned_sharpness_matches_the_dense_matrix():
    X, y = data(n=40)
    model = mlp(seed=1)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(b1, b2), eps=eps)
    mon = EdgeMonitor(model, X, y, optimizer=opt, every=1, k=3, tol=1e-12, verbose=False)
    assert mon.step(0) is None  # no Adam state yet: P is not defined, the point is skipped
    for _ in range(7):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    p = mon.step(7)
    # P from the optimizer's state, written out independently of the monitor
    parts = []
    for q in model.parameters():
        st = opt.state[q]
        t = float(st["step"])
        v = st["exp_avg_sq"].double().reshape(-1)
        parts.append((1 - b1 ** t) * ((v / (1 - b2 ** t)).sqrt() + eps))
    P = torch.cat(parts)
    assert t == 7 and torch.allclose(adam_preconditioner(opt, list(model.parameters())), P, rtol=0, atol=0)
    _, land = full_batch_lambda(model, X, y)
    H = land.hessian(land.theta0)
    M = H / P.sqrt()[:, None] / P.sqrt()[None, :]
    mu = np.linalg.eigvalsh(M.numpy())[::-1][:3]
    np.testing.assert_allclose(p["eigenvalues"], mu, rtol=1e-6)
    # the same as the eigenvalues of the non-symmetric P⁻¹H
    ev = np.sort(np.linalg.eigvals((H / P[:, None]).numpy()).real)[::-1][:3]
    np.testing.assert_allclose(p["eigenvalues"], ev, rtol=1e-6)
    # Cohen et al. 2022: stable iff λ(P⁻¹H) < (2 + 2β1)/((1 − β1)η) = 38/η at β1 = 0.9
    assert p["threshold"] == pytest.approx(38 / lr, rel=1e-12)
    np.testing.assert_allclose(p["rho"], mu * lr * (1 - b1) / (1 + b1) / 2, rtol=1e-6)
    mon.close()


def _train(kind, monitor_out=None, steps=16, every=3):
    """A mini-batch loop with dropout and momentum; with ``monitor_out`` an EdgeMonitor is called
    between backward and step (the gradients must survive it) and after the step."""
    X, y = data(n=64)
    model = mlp(seed=2, dropout=0.2)
    torch.manual_seed(123)
    opt = (torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-3)
           if kind == "sgd" else torch.optim.Adam(model.parameters(), lr=3e-3))
    mon = None
    if monitor_out is not None:
        mon = EdgeMonitor(model, X, y, optimizer=opt, every=every, k=3, out=monitor_out,
                          verbose=False, seed=0)
    for step in range(steps):
        idx = torch.randperm(64)[:16]
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
        if mon is not None:
            grads = [q.grad.clone() for q in model.parameters()]
            mon.measure(step) if kind == "sgd" and step % every == 1 else None
            assert all(torch.equal(a, q.grad) for a, q in zip(grads, model.parameters()))
        opt.step()
        if mon is not None:
            mon.step(step)
    if mon is not None:
        mon.close()
    return [q.detach().clone() for q in model.parameters()], torch.get_rng_state(), model


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_training_with_the_monitor_is_bit_identical(kind, tmp_path):
    plain, rng_plain, m0 = _train(kind)
    watched, rng_watched, m1 = _train(kind, tmp_path / kind)
    assert all(torch.equal(a, b) for a, b in zip(plain, watched))
    assert torch.equal(rng_plain, rng_watched)
    assert m1.training and all(q.dtype == torch.float32 for q in m1.parameters())
    rec = Record.load(tmp_path / kind)
    assert rec.doc["experiment"] == "own" and rec.doc["regime"] == "own"
    assert rec.summary["n_telemetry"] == len(rec.telemetry) >= 5
    if kind == "sgd":
        assert rec.config["momentum"] == 0.9 and rec.config["weight_decay"] == 1e-3
        assert rec.config["lr"] == pytest.approx(0.2 / 1.9)
    else:
        assert rec.config["sharpness"] == "preconditioned"
        assert rec.config["lr"] == pytest.approx(3e-3 * 0.1 / 1.9)
    for p in rec.telemetry:
        assert p["rho"] == pytest.approx([p["lr"] * x / 2 for x in p["eigenvalues"]], rel=1e-12)


def test_weight_decay_adds_to_the_curvature():
    X, y = data()
    model = mlp(seed=3)
    wd = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=wd)
    mon = EdgeMonitor(model, X, y, optimizer=opt, every=1, k=2, tol=1e-12, verbose=False)
    p = mon.step(0)
    lam, _ = full_batch_lambda(model, X, y, k=2)
    np.testing.assert_allclose(p["eigenvalues"], lam + wd, rtol=1e-8)


def test_the_monitor_record_is_read_by_the_claims(tmp_path):
    """Full-batch GD at η = 4 on a tiny net sits past the edge (ρ_1 > 1 at every point): the edge
    claims judge the monitor's record as a single run and say so with numbers."""
    X, y = data(n=60)
    model = mlp(seed=4, h=12)
    opt = torch.optim.SGD(model.parameters(), lr=4.0)
    out = tmp_path / "mon"
    with EdgeMonitor(model, X, y, optimizer=opt, every=1, k=4, out=out, verbose=False, seed=0) as mon:
        for step in range(60):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            mon.step(step)  # before the step: the θ the step is taken from, as the trainer does
            opt.step()
    recs = load_records([out])
    assert len(recs) == 1
    assert min(p["rho"][0] for p in recs[0].telemetry[1:]) > 1
    verdicts = {v.id: v for v in evaluate(recs, only=["L1", "L6", "L7"])}
    for v in verdicts.values():
        assert v.status in STATUSES
        assert "mon" in v.reason and any(ch.isdigit() for ch in v.reason), (v.id, v.reason)
    # L1 reads the spectrum's n_c − 1 gap, L6 the ΔL statistics of the 59 on-edge points
    assert "λ_2/λ_3" in verdicts["L1"].reason
    assert verdicts["L6"].status == "inconclusive" and "59 points: ΔL_bulk" in verdicts["L6"].reason
    single = {v.id: v for v in evaluate(recs, dataclasses.replace(Thresholds(), min_seeds=1), only=["L6"])}
    assert single["L6"].status in ("holds", "fails")
    assert mon.cost()["points"] == 60 and recs[0].summary["cost"]["total_hvps"] > 0
    # the cost keys every runner's summary has: CPU seconds, chunking, memory format
    s = recs[0].summary
    assert s["cpu_seconds"] > 0 and s["chunking"]["n_chunks"] == 1 and s["memory_format"] == "contiguous"
    # the figures read it too: Lowell's Fig. 1 (ρ_i over t) and Fig. 3 (the projections)
    from simlab.figures_lowell import fig_projections, fig_rho

    _, reading = fig_rho(recs, tmp_path / "rho.png", "monitor")
    assert (tmp_path / "rho.png").stat().st_size > 0 and "η = 4, seed 0: entered the edge" in reading and "n_c − 1 = 2" in reading
    _, reading = fig_projections(recs, tmp_path / "proj.png")
    assert (tmp_path / "proj.png").stat().st_size > 0 and "‖P_top g‖" in reading


def test_bad_arguments_are_one_line_errors():
    X, y = data()
    model = mlp()
    with pytest.raises(ValueError, match="optimizer= .* or lr="):
        EdgeMonitor(model, X, y)
    with pytest.raises(ValueError, match="every"):
        EdgeMonitor(model, X, y, lr=0.1, every=0)
    with pytest.raises(ValueError, match="knows torch.optim.SGD"):
        EdgeMonitor(model, X, y, optimizer=torch.optim.RMSprop(model.parameters()))
    groups = [{"params": list(model[0].parameters()), "lr": 0.1},
              {"params": list(model[2].parameters()), "lr": 0.2}]
    with pytest.raises(ValueError, match="differ in 'lr'"):
        EdgeMonitor(model, X, y, optimizer=torch.optim.SGD(groups, lr=0.1))
    with pytest.raises(ValueError, match="not in the optimizer"):
        EdgeMonitor(model, X, y, optimizer=torch.optim.SGD(model[0].parameters(), lr=0.1))
    assert math.isclose(step_rule(None, 0.5)["lr"], 0.5)


def test_a_criterion_callable_and_batch_norm_buffers():
    """A criterion callable gives the numbers of "ce"; a batch-norm model is measured in eval mode
    with the running statistics the model has at that step (copied in before each point)."""
    X, y = data(n=40)
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    kw = dict(optimizer=opt, every=1, k=2, tol=1e-12, verbose=False)
    named = EdgeMonitor(model, X, y, **kw)
    crit = EdgeMonitor(model, X, y, loss=nn.CrossEntropyLoss(), reduction="mean", **kw)
    for step in range(3):
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    a, b = named.step(3), crit.step(3)
    ref = Landscape(model, X, y, dtype=torch.float64)  # a copy in eval mode: today's running stats
    assert model.training  # the monitors and the reference left the model's mode alone
    assert a["loss"] == pytest.approx(ref.loss(ref.theta0), rel=1e-12)
    lam = top_eigen(ref.operator(ref.theta0), 2, tol=1e-12).eigenvalues
    np.testing.assert_allclose(a["eigenvalues"], lam, rtol=1e-8)
    np.testing.assert_allclose(b["eigenvalues"], a["eigenvalues"], rtol=1e-8)
    assert b["loss"] == pytest.approx(a["loss"], rel=1e-12)
    # the running statistics moved during training: a monitor that kept θ_0's would differ
    stale = Landscape(mlp_bn_at_init(), X, y, dtype=torch.float64)
    assert abs(stale.loss(ref.theta0) - a["loss"]) > 1e-6


def mlp_bn_at_init():
    torch.manual_seed(5)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
