"""The README's "Trace, Gauss–Newton and one layer's curvature" block, run exactly as written,
and its numbers against dense float64 references; the toolkit's public names."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch

from conftest import README, readme_block


def toolkit_example() -> str:
    return readme_block("### Trace, Gauss–Newton and one layer's curvature")


def test_the_toolkit_names_are_public():
    import simlab
    from simlab.operators import BlockOperator, DenseOperator, GGNOperator
    from simlab.trace_estimators import hutchinson, hutchpp, trace

    for name, obj in [("trace", trace), ("hutchinson", hutchinson), ("hutchpp", hutchpp),
                      ("GGNOperator", GGNOperator), ("BlockOperator", BlockOperator),
                      ("DenseOperator", DenseOperator)]:
        assert name in simlab.__all__ and getattr(simlab, name) is obj
    import simlab.trace_estimators  # noqa: F401 - importing the module must not shadow the function
    assert simlab.trace is trace


def test_readme_toolkit_example_runs_and_agrees_with_dense_references():
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(toolkit_example(), str(README), "exec"), ns)
    printed = out.getvalue()
    assert "tr H ≈" in printed and "GGN top-3" in printed and "layer 0 top-3" in printed
    land, theta, tr, G, H0, H2, model = (ns[k] for k in ("land", "theta", "tr", "G", "H0", "H2", "model"))
    # the caller's model was left in float32 and train mode
    assert next(model.parameters()).dtype == torch.float32 and model.training
    assert land.n_data == 256 and land.loss_name == "callable"
    Hd = land.hessian(theta)
    exact = float(torch.trace(Hd))
    assert tr.n_matvecs == 90 and abs(tr.estimate - exact) <= 4 * tr.stderr
    assert abs(tr.estimate - exact) <= 0.1 * abs(exact)
    # GGN top-3 against eigh of the dense GGN (Jᵀ H_out J built from the Jacobian)
    J = torch.func.jacrev(lambda th: land.outputs(th, land.X))(theta)  # (n, c, P)
    p = torch.softmax(land.outputs(theta, land.X), dim=-1)
    H_out = (torch.diag_embed(p) - p[:, :, None] * p[:, None, :]) / land.n_data
    Gd = torch.einsum("ncp,ncd,ndq->pq", J, H_out, J)
    from simlab import top_eigen
    np.testing.assert_allclose(top_eigen(G, k=3).eigenvalues,
                               np.linalg.eigvalsh(Gd.numpy())[::-1][:3], rtol=1e-3)
    # the layer blocks are the principal sub-matrices of the dense Hessian
    i0, i2 = land.param_indices(["0.weight"]), land.param_indices("2.weight")
    np.testing.assert_allclose(top_eigen(H0, k=3).eigenvalues,
                               np.linalg.eigvalsh(Hd[i0][:, i0].numpy())[::-1][:3], rtol=1e-3)
    v = torch.randn(len(i2), dtype=torch.float64)
    assert torch.allclose(H2.matvec(v), Hd[i2][:, i2] @ v, rtol=1e-9, atol=1e-12)
