"""Data-parallel full batch: 2 CPU processes (gloo) give the numbers of 1 process.

Each rank holds half of the images; Landscape all-reduces the sums, so loss, gradient, HVP and
the whole protocol run (telemetry of rank 0's record) must equal the single-process run up to
the order of float64 additions.
"""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from simlab.record import Record
from simlab.scale.config import PRESETS
from simlab.scale.distributed import shard
from simlab.scale.run import build_landscape, run_one

from test_scale_run import TINY, write_npz


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cfg(npz):
    return replace(PRESETS["cpu"], arch="vgg16", width=TINY, data_root=str(npz), n_data=20, lr=0.05,
                   max_steps=3, telemetry_every=2, k=3, slq_vectors=1, slq_steps=3, dtype="float64",
                   device="cpu", eig_tol=1e-8, checkpoint_every=2).validate()


def _worker(rank: int, size: int, port: int, npz: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = _cfg(npz)
    import torch.distributed as dist

    run_one(cfg, out, progress=False, figures=False)  # joins the group from the env
    land, _ = build_landscape(cfg, rank=rank, size=size)
    v = torch.linspace(-1, 1, land.n_params, dtype=torch.float64)
    loss, g = land.loss_grad(land.theta0)
    torch.save({"loss": loss, "grad": g, "hvp": land.hvp(land.theta0, v), "n_local": land.n_local},
               os.path.join(out, f"probe_rank{rank}.pt"))
    dist.destroy_process_group()


def test_shard_covers_the_set_once():
    X, y = torch.arange(11).float()[:, None], torch.arange(11)
    parts = [shard(X, y, r, 3)[1] for r in range(3)]
    assert torch.equal(torch.cat(parts), y) and [len(p) for p in parts] == [3, 4, 4]


@pytest.mark.slow
def test_two_gloo_processes_equal_one(tmp_path):
    npz = write_npz(tmp_path / "cifar10_subset.npz")
    out2 = tmp_path / "two"
    out2.mkdir()
    mp.start_processes(_worker, args=(2, _free_port(), str(npz), str(out2)), nprocs=2, join=True,
                       start_method="spawn")
    one = Record.load(run_one(_cfg(npz), tmp_path / "one", progress=False, figures=False))
    two = Record.load(out2)
    assert two.doc["distributed"]["world_size"] == 2 and two.doc["distributed"]["backend"] == "gloo"
    assert not (out2 / ".rank1").exists()  # rank 1 wrote no record and cleaned its shadow folder
    assert len(one.telemetry) == len(two.telemetry) == 3
    for a, b in zip(one.telemetry, two.telemetry):
        assert a["step"] == b["step"]
        for key in ("loss", "grad_norm", "theta_norm", "p_top_norm", "p_bulk_norm", "accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key
        np.testing.assert_allclose(b["eigenvalues"], a["eigenvalues"], rtol=1e-6)
        np.testing.assert_allclose(np.abs(b["d"]), np.abs(a["d"]), rtol=1e-5, atol=1e-9)
    assert two.summary["final_loss"] == pytest.approx(one.summary["final_loss"], rel=1e-10)

    land, _ = build_landscape(_cfg(npz))
    v = torch.linspace(-1, 1, land.n_params, dtype=torch.float64)
    loss, g = land.loss_grad(land.theta0)
    hv = land.hvp(land.theta0, v)
    probes = [torch.load(out2 / f"probe_rank{r}.pt") for r in range(2)]
    assert [p["n_local"] for p in probes] == [10, 10]
    for p in probes:  # every rank holds the full-set numbers
        assert p["loss"] == pytest.approx(loss, rel=1e-12)
        assert torch.allclose(p["grad"], g, rtol=1e-10, atol=1e-14)
        assert torch.allclose(p["hvp"], hv, rtol=1e-9, atol=1e-12 * hv.norm())
