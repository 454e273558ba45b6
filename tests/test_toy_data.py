"""Toy data: statistics of the synthetic sets, digits, MNIST from npz / torchvision raw / real subset."""

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab.errors import DataError, UsageError
from simlab import data as D

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist_subset.npz"


# --------------------------------------------------------------------------------- blobs


def test_blobs_means_stds_balance():
    n, std = 20000, 0.5
    X, y, info = D.blobs(n, std=std, seed=1)
    assert X.shape == (n, 2) and X.dtype == torch.float64 and y.dtype == torch.long
    assert int((y == 0).sum()) == int((y == 1).sum()) == n // 2
    # class means at (1,1) and (-1,-1): standard error std/sqrt(n/2) = 0.005, tolerance 5 SE
    m0, m1 = X[y == 0].mean(0), X[y == 1].mean(0)
    assert torch.allclose(m0, torch.tensor([1.0, 1.0], dtype=torch.float64), atol=0.025)
    assert torch.allclose(m1, torch.tensor([-1.0, -1.0], dtype=torch.float64), atol=0.025)
    # per-coordinate std: relative SE 1/sqrt(2*(n/2)) = 0.7 %, tolerance 4 %
    for c in (0, 1):
        s = X[y == c].std(0)
        assert torch.allclose(s, torch.full((2,), std, dtype=torch.float64), rtol=0.04)
    # the two coordinates are independent within a class
    Z = X[y == 0] - m0
    corr = (Z[:, 0] * Z[:, 1]).mean() / (Z[:, 0].std() * Z[:, 1].std())
    assert abs(float(corr)) < 0.05
    assert info["name"] == "blobs" and info["n_classes"] == 2 and info["n_data"] == n
    assert info["classes"] == [0, 1] and info["std"] == std


def test_blobs_shuffled_and_odd_n():
    X, y, _ = D.blobs(11, seed=0)
    assert int((y == 0).sum()) == 6 and int((y == 1).sum()) == 5
    _, y2, _ = D.blobs(1000, seed=0)
    assert 0 < int(y2[:500].sum()) < 500  # not sorted by class


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(0, 2**31 - 1), std=st.floats(0.05, 3.0))
def test_blobs_seeded(n, seed, std):
    state = torch.get_rng_state()
    a = D.blobs(n, std=std, seed=seed)
    b = D.blobs(n, std=std, seed=seed)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert abs(int(a[1].sum()) - n / 2) <= 0.5


# --------------------------------------------------------------------------------- random


def test_random_inputs_stats():
    X, y, info = D.random_inputs(2000, dim=784, n_classes=10, seed=3)
    assert X.shape == (2000, 784) and X.dtype == torch.float64
    assert abs(float(X.mean())) < 0.01  # SE = 1/sqrt(1.568e6) ~ 0.0008
    assert abs(float(X.std()) - 1.0) < 0.01
    counts = torch.bincount(y, minlength=10)
    assert counts.sum() == 2000 and counts.min() > 150 and counts.max() < 250  # 200 +- 3.5 SD
    assert info["n_classes"] == 10 and info["input_dim"] == 784
    X2, y2, _ = D.random_inputs(2000, dim=784, n_classes=10, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert not torch.equal(X, D.random_inputs(2000, 784, 10, seed=4)[0])


# --------------------------------------------------------------------------------- digits


def test_digits_shape_range():
    X, y, info = D.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert torch.equal(torch.unique(y), torch.arange(10))
    assert info["n_data"] == 1797 and info["n_classes"] == 10 and info["classes"] == list(range(10))
    # values are multiples of 1/16
    assert torch.allclose(X * 16, torch.round(X * 16))


def test_digits_sample_and_classes():
    from sklearn.datasets import load_digits

    raw = load_digits()
    X, y, info = D.digits(200, seed=5, classes=(7, 2))
    assert X.shape == (200, 64) and info["classes"] == [7, 2] and info["n_classes"] == 2
    assert set(y.tolist()) == {0, 1}
    # every row is a real digit of the right class: new 0 <-> 7, new 1 <-> 2
    lookup = {tuple(np.round(r).astype(int)): t for r, t in zip(raw.data, raw.target)}
    for row, label in zip(X.numpy(), y.tolist()):
        assert lookup[tuple(np.round(row * 16).astype(int))] == (7, 2)[label]
    X3, y3, info3 = D.digits(classes=3)
    assert info3["classes"] == [0, 1, 2] and torch.equal(torch.unique(y3), torch.arange(3))
    assert len(y3) == int(np.isin(raw.target, [0, 1, 2]).sum())
    # seeded, without replacement
    a = D.digits(300, seed=1)[0]
    assert torch.equal(a, D.digits(300, seed=1)[0])
    assert len(torch.unique(a, dim=0)) >= 299  # load_digits has a few duplicate images at most


@pytest.mark.parametrize("classes", [1, 11, (3,), (2, 2), (0, 10), (-1, 3)])
def test_bad_classes(classes):
    with pytest.raises(UsageError) as e:
        D.digits(classes=classes)
    assert "\n" not in str(e.value)


def test_digits_too_many():
    with pytest.raises(DataError, match="1797"):
        D.digits(5000)


# --------------------------------------------------------------------------------- mnist


def _fake_mnist(n_train=60, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.int64) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.int64) % 10,
    }


def _write_idx(path: Path, arr: np.ndarray):
    """idx-ubyte as LeCun's files: magic 0x0000 08 nd (ubyte), dims as big-endian uint32."""
    header = struct.pack(">I", 0x0800 + arr.ndim) + b"".join(struct.pack(">I", s) for s in arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def _write_raw(root: Path, arrays):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "train-images-idx3-ubyte", arrays["x_train"])
    _write_idx(raw / "train-labels-idx1-ubyte", arrays["y_train"])
    _write_idx(raw / "t10k-images-idx3-ubyte", arrays["x_test"])
    _write_idx(raw / "t10k-labels-idx1-ubyte", arrays["y_test"])


def _check_against(X, y, arrays, n, split="train"):
    xs, ys = arrays[f"x_{split}"], arrays[f"y_{split}"]
    assert X.shape == (n, 784) and X.dtype == torch.float64
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    flat = xs.reshape(len(xs), -1)
    for row, label in zip(X.numpy(), y.numpy()):
        i = np.flatnonzero((flat == np.round(row * 255).astype(np.uint8)).all(1))
        assert len(i) == 1 and ys[i[0]] == label


def test_mnist_from_npz_file_and_folder(tmp_path):
    arrays = _fake_mnist()
    np.savez(tmp_path / "mnist_subset.npz", **arrays)
    X, y, info = D.mnist(tmp_path / "mnist_subset.npz", n_data=25, seed=2)
    _check_against(X, y, arrays, 25)
    assert info["source"].startswith("npz:") and info["n_data"] == 25 and info["n_classes"] == 10
    X2, y2, _ = D.mnist(tmp_path, n_data=25, seed=2)  # the folder holding mnist_subset.npz
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert len(torch.unique(X, dim=0)) == 25  # no replacement
    Xt, yt, it = D.mnist(tmp_path, n_data=None, train=False)
    _check_against(Xt, yt, arrays, 20, split="test")
    assert it["split"] == "test"


def test_mnist_from_torchvision_raw(tmp_path):
    arrays = _fake_mnist(seed=1)
    _write_raw(tmp_path, arrays)
    X, y, info = D.mnist(tmp_path, n_data=30, seed=0)
    _check_against(X, y, arrays, 30)
    assert info["source"].startswith("torchvision.datasets.MNIST")
    # the same draw as from the same arrays stored as npz
    np.savez(tmp_path / "same.npz", **arrays)
    Xn, yn, _ = D.mnist(tmp_path / "same.npz", n_data=30, seed=0)
    assert torch.equal(X, Xn) and torch.equal(y, yn)


def test_mnist_class_subset(tmp_path):
    arrays = _fake_mnist()
    np.savez(tmp_path / "m.npz", **arrays)
    X, y, info = D.mnist(tmp_path / "m.npz", n_data=None, classes=(9, 4, 1))
    assert info["classes"] == [9, 4, 1] and info["n_classes"] == 3 and len(y) == 18
    orig = np.array([9, 4, 1])[y.numpy()]
    _check_against(X, torch.from_numpy(orig), arrays, 18)
    with pytest.raises(DataError, match="18"):
        D.mnist(tmp_path / "m.npz", n_data=19, classes=(9, 4, 1))


def test_mnist_missing_and_bad(tmp_path, monkeypatch):
    with pytest.raises(DataError) as e:
        D.mnist(tmp_path / "nothing", n_data=10)
    msg = str(e.value)
    assert "\n" not in msg and "--data-root" in msg and "--download" in msg and "MNIST/raw" in msg
    with pytest.raises(DataError, match="--data-root"):
        D.mnist(tmp_path / "absent.npz")
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)  # incomplete torchvision folder
    with pytest.raises(DataError):
        D.mnist(tmp_path)
    np.savez(tmp_path / "bad.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="x_train"):
        D.mnist(tmp_path / "bad.npz")
    np.savez(tmp_path / "m.npz", **_fake_mnist())
    with pytest.raises(DataError, match="60"):
        D.mnist(tmp_path / "m.npz", n_data=61)
    # a download that cannot happen is a DataError, not a traceback
    from torchvision.datasets import MNIST

    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nno network")

    monkeypatch.setattr(MNIST, "download", no_network)
    with pytest.raises(DataError) as e:
        D.mnist(tmp_path / "dl", download=True)
    assert "\n" not in str(e.value) and "no network" not in str(e.value).split("(")[0]


def test_mnist_real_subset():
    if not SHARED_MNIST.is_file():
        pytest.skip(f"shared MNIST subset absent at {SHARED_MNIST} (only in the lab checkout)")
    X, y, info = D.mnist(SHARED_MNIST, n_data=1000, seed=0)
    assert X.shape == (1000, 784) and float(X.min()) == 0.0 and float(X.max()) == 1.0
    counts = torch.bincount(y, minlength=10)
    assert counts.sum() == 1000 and counts.min() >= 70 and counts.max() <= 140
    assert 0.10 < float(X.mean()) < 0.16  # MNIST's mean pixel is 0.1307
    with np.load(SHARED_MNIST) as z:
        n_train = len(z["y_train"])
    with pytest.raises(DataError, match=str(n_train)):
        D.mnist(SHARED_MNIST.parent, n_data=n_train + 1)
    X2, y2, info2 = D.mnist(SHARED_MNIST.parent, n_data=300, classes=2, seed=1)
    assert info2["n_classes"] == 2 and set(y2.tolist()) == {0, 1}


# --------------------------------------------------------------------------------- config / load


def test_load_dispatch(tmp_path, monkeypatch):
    X, y, info = D.load(D.DataConfig("blobs", n_data=100, std=0.3, seed=4))
    assert torch.equal(X, D.blobs(100, std=0.3, seed=4)[0]) and info["name"] == "blobs"
    X, y, info = D.load(D.DataConfig("random", n_data=50, input_dim=20, classes=3))
    assert X.shape == (50, 20) and info["n_classes"] == 3
    assert D.load(D.DataConfig("random", n_data=5))[2]["n_classes"] == 10
    X, y, info = D.load(D.DataConfig("digits", n_data=None, classes=[0, 1]))
    assert info["classes"] == [0, 1] and X.shape[1] == 64
    np.savez(tmp_path / "mnist_subset.npz", **_fake_mnist())
    monkeypatch.setenv("SIMLAB_DATA", str(tmp_path))
    assert D.default_data_root() == tmp_path
    X, y, info = D.load(D.DataConfig("mnist", n_data=10))
    assert X.shape == (10, 784) and info["source"] == f"npz:{tmp_path / 'mnist_subset.npz'}"


def test_config_frozen_hashable():
    cfg = D.DataConfig("digits", classes=[3, 5], data_root=Path("/x"))
    assert cfg.classes == (3, 5) and cfg.data_root == "/x"
    hash(cfg)
    with pytest.raises(Exception):
        cfg.seed = 3


@pytest.mark.parametrize(
    "cfg",
    [
        D.DataConfig("cifar"),
        D.DataConfig("blobs", n_data=None),
        D.DataConfig("blobs", classes=3),
        D.DataConfig("random", classes=(1, 2)),
        D.DataConfig("blobs", n_data=0),
        D.DataConfig("blobs", std=-1.0),
        D.DataConfig("random", input_dim=0),
    ],
)
def test_load_usage_errors(cfg):
    with pytest.raises(UsageError) as e:
        D.load(cfg)
    assert "\n" not in str(e.value)
    if cfg.dataset == "cifar":
        assert all(name in str(e.value) for name in D.DATASETS)


# --------------------------------------------------------------------------------- cifar8

SHARED_CIFAR = SHARED_MNIST.parent / "cifar10_subset.npz"


def _tiny_cifar(tmp_path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.int64)
    np.savez(tmp_path / "cifar10_subset.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    return x, y


def test_cifar8_pools_4x4_blocks_and_flattens_chw(tmp_path):
    x, y = _tiny_cifar(tmp_path)
    X, yy, info = D.load(D.DataConfig(dataset="cifar8", data_root=str(tmp_path), n_data=None))
    assert X.shape == (40, 192) and X.dtype == torch.float64 and info["input_dim"] == 192
    assert torch.equal(yy, torch.from_numpy(y))
    # entry (c, i, j) of image n is the mean of the 4x4 block at rows 4i.., cols 4j.. of channel c
    for n, c, i, j in [(0, 0, 0, 0), (3, 2, 7, 5), (39, 1, 4, 6)]:
        block = x[n, 4 * i:4 * i + 4, 4 * j:4 * j + 4, c].astype(np.float64)
        assert float(X[n, c * 64 + i * 8 + j]) == pytest.approx(block.mean() / 255.0, abs=1e-15)
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0


def test_cifar8_class_subset_is_balanced_and_seeded(tmp_path):
    _tiny_cifar(tmp_path)
    cfg = D.DataConfig(dataset="cifar8", data_root=str(tmp_path), n_data=7, classes=(3, 0, 5), seed=4)
    X, y, info = D.load(cfg)
    assert info["classes"] == [3, 0, 5] and info["n_classes"] == 3
    assert sorted(np.bincount(y.numpy(), minlength=3).tolist()) == [2, 2, 3]
    X2, y2, _ = D.load(cfg)
    assert torch.equal(X, X2) and torch.equal(y, y2)


@pytest.mark.skipif(not SHARED_CIFAR.is_file(), reason="shared CIFAR-10 subset not present")
def test_cifar8_from_the_shared_subset():
    X, y, info = D.load(D.DataConfig(dataset="cifar8", data_root=str(SHARED_CIFAR.parent), n_data=500))
    assert X.shape == (500, 192) and info["n_classes"] == 10
    assert np.bincount(y.numpy()).tolist() == [50] * 10
    assert info["source"].startswith("npz:")


# --------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("bad, match", [
    (dict(x_train=np.full((20, 28, 28), np.nan)), "expected uint8"),
    (dict(x_train=np.zeros((20, 28, 27), np.uint8)), "expected uint8"),
    (dict(y_train=np.arange(20) % 10 + 5), r"labels must lie in 0\.\.9"),
    (dict(y_train=-np.ones(20, np.int64)), r"labels must lie in 0\.\.9"),
    (dict(y_train=np.full(20, 0.5)), "integers"),
    (dict(y_train=np.zeros(19, np.int64)), "labels have shape"),
])
def test_mnist_npz_contents_are_checked(tmp_path, bad, match):
    arrays = {"x_train": np.zeros((20, 28, 28), np.uint8), "y_train": np.arange(20) % 10, **bad}
    np.savez(tmp_path / "mnist_subset.npz", **arrays)
    with pytest.raises(DataError, match=match) as e:
        D.mnist(tmp_path, n_data=None)
    assert "\n" not in str(e.value) and "mnist_subset.npz" in str(e.value)


def test_truncated_garbage_and_pickled_npz_are_one_line(tmp_path):
    x = np.zeros((20, 28, 28), np.uint8)
    np.savez(tmp_path / "good.npz", x_train=x, y_train=np.arange(20) % 10)
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not an archive at all" * 10)
    np.savez(tmp_path / "pickled.npz", x_train=np.array([{"a": 1}], dtype=object), y_train=np.arange(1))
    for name, match in [("trunc", "truncated"), ("garbage", "not an .npz archive"),
                        ("pickled", "pickled Python objects")]:
        with pytest.raises(DataError, match=match) as e:
            D.mnist(tmp_path / f"{name}.npz", n_data=None)
        msg = str(e.value)
        assert "\n" not in msg and "allow_pickle" not in msg and f"{name}.npz" in msg


@pytest.mark.parametrize("seed", [-1, 2**63, 99999999999999999999999])
@pytest.mark.parametrize("dataset", ["blobs", "random", "digits"])
def test_seed_out_of_range_is_a_usage_error(dataset, seed):
    with pytest.raises(UsageError, match="--seed"):
        D.load(D.DataConfig(dataset=dataset, n_data=50, seed=seed))


def test_real_subsets_are_balanced():
    _, y, _ = D.digits(500, seed=0)
    assert np.bincount(y.numpy()).tolist() == [50] * 10


def test_standardise_z_scores_every_feature(tmp_path):
    _tiny_cifar(tmp_path)
    base = D.DataConfig(dataset="cifar8", data_root=str(tmp_path), n_data=20, seed=1)
    X0, y0, _ = D.load(base)
    X, y, info = D.load(D.DataConfig(**{**base.__dict__, "standardise": True}))
    assert torch.equal(y, y0) and "z-scored" in info["standardisation"]
    assert torch.allclose(X.mean(0), torch.zeros(192, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(X.std(0), torch.ones(192, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(X * X0.std(0) + X0.mean(0), X0, atol=1e-12)
    const = torch.ones(5, 3, dtype=torch.float64)
    assert torch.equal(D.standardise_features(const), torch.zeros(5, 3, dtype=torch.float64))
