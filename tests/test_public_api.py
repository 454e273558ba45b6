"""The public API and the README's "Your own model" example, run exactly as written."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch

from conftest import README, readme_block


def readme_example() -> str:
    return readme_block("## Your own model")


def test_public_names():
    import simlab

    names = {"Landscape", "top_eigen", "measure", "train", "Record", "TrainConfig", "run",
             "EdgeMonitor"}
    for name in names:
        assert callable(getattr(simlab, name)), name
    assert names <= set(simlab.__all__)
    from simlab.monitor import EdgeMonitor
    from simlab.own import run
    from simlab.trainer import TrainConfig
    assert (simlab.run, simlab.EdgeMonitor, simlab.TrainConfig) == (run, EdgeMonitor, TrainConfig)


def test_readme_example_runs_and_agrees_with_the_dense_hessian():
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), str(README), "exec"), ns)
    assert "Hessian-vector products" in out.getvalue()
    land, theta, eig, point = ns["land"], ns["theta"], ns["eig"], ns["point"]
    ref = np.linalg.eigvalsh(land.hessian(theta).numpy())[::-1][:5]
    np.testing.assert_allclose(eig.eigenvalues, ref, rtol=1e-3)
    np.testing.assert_allclose(point["eigenvalues"], ref, rtol=1e-3)
    assert point["rho"][0] == np.float64(0.1 * point["eigenvalues"][0] / 2)
    assert 0 < eig.n_matvecs < 60 and eig.eigenvectors.shape == (land.n_params, 5)
    assert land.chunking()["n_chunks"] == 1 and torch.is_tensor(theta)
