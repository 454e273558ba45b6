"""CIFAR-10 loading for the scale regime, on tiny files written in both official formats."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from simlab.errors import DataError, UsageError
from simlab.scale.data import (
    DataSpec,
    balanced_counts,
    load_cifar10,
    record_data,
    resolve_source,
    select_indices,
)

SHARED_NPZ = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10_subset.npz"
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
N_PER_BATCH, N_TEST = 12, 10


def _tiny_arrays(seed: int = 0):
    """5 × 12 training images (labels 0..9 cycling, shuffled) and 10 test images, uint8 HWC."""
    rng = np.random.default_rng(seed)
    n = 5 * N_PER_BATCH
    x_train = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    y_train = rng.permutation(np.arange(n) % 10).astype(np.int64)  # 6 images per class
    x_test = rng.integers(0, 256, size=(N_TEST, 32, 32, 3), dtype=np.uint8)
    y_test = np.arange(N_TEST, dtype=np.int64)
    return x_train, y_train, x_test, y_test


def _write_batches(folder: Path, x_train, y_train, x_test, y_test) -> None:
    """The python-pickle layout torchvision reads: rows of 3072 bytes, R plane, G plane, B plane."""
    folder.mkdir(parents=True)

    def dump(name, x, y):
        rows = x.transpose(0, 3, 1, 2).reshape(len(x), 3072)  # HWC → CHW → flat
        entry = {"batch_label": name, "labels": [int(v) for v in y], "data": rows, "filenames": [f"{i}.png" for i in range(len(x))]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)

    for b in range(5):
        sl = slice(b * N_PER_BATCH, (b + 1) * N_PER_BATCH)
        dump(f"data_batch_{b + 1}", x_train[sl], y_train[sl])
    dump("test_batch", x_test, y_test)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": NAMES, "num_cases_per_batch": N_PER_BATCH, "num_vis": 3072}, f)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """``(tv_root, npz_root, arrays)``: the same tiny images in torchvision's and the npz format."""
    arrays = _tiny_arrays()
    tv = tmp_path_factory.mktemp("tv")
    _write_batches(tv / "cifar-10-batches-py", *arrays)
    npz = tmp_path_factory.mktemp("npz")
    x_train, y_train, x_test, y_test = arrays
    np.savez(npz / "cifar10_subset.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, label_names=np.array(NAMES))
    return tv, npz, arrays


# ------------------------------------------------------------------ sources


def test_both_formats_give_the_same_tensors(roots):
    tv, npz, _ = roots
    Xa, ya, ia = load_cifar10(DataSpec(data_root=str(tv)), verify=False)
    Xb, yb, ib = load_cifar10(DataSpec(data_root=str(npz)))
    assert ia["source_kind"] == "torchvision" and ib["source_kind"] == "npz"
    assert ia["source"].startswith("torchvision:") and ia["source"].endswith("cifar-10-batches-py")
    assert ib["source"] == f"npz:{(npz / 'cifar10_subset.npz').resolve()}"
    assert Xa.shape == (60, 3, 32, 32) and Xa.dtype == torch.float32 and ya.dtype == torch.int64
    assert torch.equal(Xa, Xb) and torch.equal(ya, yb)
    assert ia["class_names"] == ib["class_names"] == NAMES


def test_npz_file_path_and_env_default(roots, monkeypatch):
    _, npz, _ = roots
    _, y1, i1 = load_cifar10(DataSpec(data_root=str(npz / "cifar10_subset.npz")))
    monkeypatch.setenv("SIMLAB_DATA", str(npz))
    _, y2, i2 = load_cifar10(DataSpec())
    assert i1["source"] == i2["source"] and torch.equal(y1, y2)


def test_full_set_preferred_when_root_has_both(roots, tmp_path):
    tv, npz, arrays = roots
    both = tmp_path / "both"
    _write_batches(both / "cifar-10-batches-py", *arrays)
    (both / "cifar10_subset.npz").symlink_to(npz / "cifar10_subset.npz")
    assert resolve_source(both)[0] == "torchvision"


def test_torchvision_md5_check_is_on_by_default(roots):
    tv, _, _ = roots
    with pytest.raises(DataError, match="corrupted"):
        load_cifar10(DataSpec(data_root=str(tv)))


def test_missing_data_names_both_fixes(tmp_path, monkeypatch):
    with pytest.raises(DataError) as err:
        load_cifar10(DataSpec(data_root=str(tmp_path)))
    msg = str(err.value)
    assert "\n" not in msg and "--data-root" in msg and "--download" in msg
    assert "cifar-10-batches-py" in msg and "cifar10_subset.npz" in msg
    monkeypatch.setenv("SIMLAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere"):
        load_cifar10(DataSpec())
    with pytest.raises(DataError, match="--download"):
        load_cifar10(DataSpec(data_root=str(tmp_path / "x.npz")))


def test_download_goes_through_torchvision(tmp_path, monkeypatch):
    """download=True calls torchvision's own CIFAR10.download; a failed download is a DataError."""
    from torchvision.datasets import CIFAR10

    calls = []

    def offline(self):
        calls.append(self.root)
        raise OSError("network unreachable")

    monkeypatch.setattr(CIFAR10, "download", offline)
    with pytest.raises(DataError, match="could not download"):
        load_cifar10(DataSpec(data_root=str(tmp_path), download=True))
    assert calls == [str(tmp_path)]


def test_bad_npz_and_bad_spec(tmp_path, roots):
    np.savez(tmp_path / "cifar10_subset.npz", x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.zeros(3, np.int64))
    with pytest.raises(DataError, match="expected uint8"):
        load_cifar10(DataSpec(data_root=str(tmp_path)))
    with pytest.raises(DataError, match="lacks arrays"):
        load_cifar10(DataSpec(data_root=str(tmp_path), split="test"))
    _, npz, _ = roots
    with pytest.raises(UsageError, match="unknown dataset"):
        load_cifar10(DataSpec(dataset="mnist", data_root=str(npz)))
    with pytest.raises(UsageError, match="split"):
        load_cifar10(DataSpec(split="val", data_root=str(npz)))
    for bad in [(1, 1), (0, 10), (4,), 1, 11, (-1, 2)]:
        with pytest.raises(UsageError):
            load_cifar10(DataSpec(classes=bad, data_root=str(npz)))
    with pytest.raises(UsageError, match="n-data"):
        load_cifar10(DataSpec(n_data=0, data_root=str(npz)))


# ------------------------------------------------------------------ selection


def test_class_subset_and_relabelling_keep_images_in_disk_order(roots):
    _, npz, (x_train, y_train, _, _) = roots
    X, y, info = load_cifar10(DataSpec(data_root=str(npz), classes=(3, 1)))
    keep = np.flatnonzero(np.isin(y_train, [3, 1]))
    assert info["classes"] == [3, 1] and info["n_classes"] == 2 and info["class_names"] == ["cat", "automobile"]
    assert info["n_data"] == len(keep) == 12
    expected_y = np.where(y_train[keep] == 3, 0, 1)  # 3 → 0, 1 → 1, in the given order
    assert y.tolist() == expected_y.tolist()
    # the images are the kept ones, in on-disk order: undo the standardisation and compare pixels
    m, s = np.array(info["mean"]), np.array(info["std"])
    pixels = (X.numpy().transpose(0, 2, 3, 1) * s + m) * 255.0
    np.testing.assert_allclose(pixels, x_train[keep], atol=1e-3)


def test_int_classes_mean_the_first_n(roots):
    _, npz, (_, y_train, _, _) = roots
    _, y, info = load_cifar10(DataSpec(data_root=str(npz), classes=3))
    assert info["classes"] == [0, 1, 2]
    assert y.tolist() == y_train[y_train < 3].tolist()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**31 - 1), n_c=st.integers(2, 10))
def test_subset_size_balance_and_seeding(n, seed, n_c):
    y = np.random.default_rng(1).permutation(np.arange(60) % 10)  # 6 per class
    classes = tuple(range(n_c))
    if n > 6 * n_c:
        with pytest.raises(DataError, match="n-data"):
            select_indices(y, classes, n, seed)
        return
    idx = select_indices(y, classes, n, seed)
    assert len(idx) == n and len(set(idx.tolist())) == n
    assert np.all(np.diff(idx) > 0) and np.all(y[idx] < n_c)
    counts = np.bincount(y[idx], minlength=n_c)[:n_c]
    assert counts.max() - counts.min() <= 1
    assert np.array_equal(idx, select_indices(y, classes, n, seed))


def test_different_seeds_draw_different_subsets(roots):
    _, npz, _ = roots
    a = load_cifar10(DataSpec(data_root=str(npz), n_data=20, seed=0))
    b = load_cifar10(DataSpec(data_root=str(npz), n_data=20, seed=0))
    c = load_cifar10(DataSpec(data_root=str(npz), n_data=20, seed=1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert a[1].bincount().tolist() == [2] * 10


def test_balanced_counts_water_fills_short_classes():
    assert balanced_counts([6, 6, 6], 7) == [3, 2, 2]
    assert balanced_counts([1, 10, 10], 15) == [1, 7, 7]
    assert balanced_counts([2, 3, 100], 20) == [2, 3, 15]
    assert balanced_counts([4, 4], 8) == [4, 4]
    with pytest.raises(DataError, match="only 8"):
        balanced_counts([4, 4], 9)


def test_n_data_larger_than_available(roots):
    _, npz, _ = roots
    with pytest.raises(DataError, match="--n-data 13"):
        load_cifar10(DataSpec(data_root=str(npz), classes=(0, 1), n_data=13))


# ------------------------------------------------------------------ standardisation


def test_standardisation_numbers(roots):
    _, npz, (x_train, y_train, x_test, _) = roots
    X, _, info = load_cifar10(DataSpec(data_root=str(npz), classes=(0, 1, 2), n_data=9, seed=3))
    assert info["stats_from"] == "train"
    # statistics of the selected images only, per channel, on [0, 1] pixels, population std
    torch.testing.assert_close(X.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(X.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-5, rtol=0)
    sel = select_indices(y_train, (0, 1, 2), 9, 3)
    xs = x_train[sel].astype(np.float64) / 255.0
    np.testing.assert_allclose(info["mean"], xs.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(info["std"], xs.std(axis=(0, 1, 2)), rtol=1e-12)
    # one pixel by hand: image 4, channel 1 (G), row 5, col 7
    by_hand = (x_train[sel[4], 5, 7, 1] / 255.0 - info["mean"][1]) / info["std"][1]
    assert X[4, 1, 5, 7].item() == pytest.approx(by_hand, abs=1e-6)


def test_test_split_uses_train_statistics(roots):
    _, npz, (_, _, x_test, y_test) = roots
    spec = DataSpec(data_root=str(npz), classes=(2, 5), seed=4)
    _, _, tr = load_cifar10(spec)
    Xt, yt, te = load_cifar10(DataSpec(data_root=str(npz), classes=(2, 5), seed=4, split="test"))
    assert te["mean"] == tr["mean"] and te["std"] == tr["std"] and te["stats_from"] == "train"
    assert yt.tolist() == [0, 1] and te["split"] == "test"
    by_hand = (x_test[5, 0, 0, 2] / 255.0 - tr["mean"][2]) / tr["std"][2]  # test image of class 5
    assert Xt[1, 2, 0, 0].item() == pytest.approx(by_hand, abs=1e-6)
    stats = ([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    Xg, _, ge = load_cifar10(DataSpec(data_root=str(npz), split="test"), stats=stats)
    assert ge["stats_from"] == "given" and ge["mean"] == [0.5] * 3
    assert Xg[0, 0, 0, 0].item() == pytest.approx((x_test[0, 0, 0, 0] / 255.0 - 0.5) / 0.25, abs=1e-6)


def test_record_block(roots):
    _, npz, _ = roots
    _, _, info = load_cifar10(DataSpec(data_root=str(npz), classes=2, n_data=4))
    assert record_data(info) == {"name": "cifar10", "n_data": 4, "n_classes": 2, "classes": [0, 1], "source": info["source"]}


# ------------------------------------------------------------------ the real subset


def test_real_shared_cifar10_subset():
    if not SHARED_NPZ.is_file():
        pytest.skip(f"shared CIFAR-10 subset not found at {SHARED_NPZ} (only in the lab checkout)")
    X, y, info = load_cifar10(DataSpec(data_root=str(SHARED_NPZ.parent), classes=(0, 1), n_data=200, seed=0))
    assert X.shape == (200, 3, 32, 32) and y.bincount().tolist() == [100, 100]
    assert info["class_names"] == ["airplane", "automobile"] and info["source_kind"] == "npz"
    Xf, yf, full = load_cifar10(DataSpec(data_root=str(SHARED_NPZ.parent)))
    assert Xf.shape == (5085, 3, 32, 32) and full["class_names"][9] == "truck"
    assert yf.bincount().min().item() == 475 and yf.bincount().max().item() == 537  # data/README.md
    # the subset's statistics are close to the full CIFAR-10 training set's
    np.testing.assert_allclose(full["mean"], [0.4914, 0.4822, 0.4465], atol=0.005)
    np.testing.assert_allclose(full["std"], [0.2470, 0.2435, 0.2616], atol=0.005)


def test_truncated_and_pickled_npz_are_one_line_data_errors(tmp_path, roots):
    _, npz, _ = roots
    data = (npz / "cifar10_subset.npz").read_bytes()
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "cifar10_subset.npz").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="truncated") as e:
        load_cifar10(DataSpec(data_root=str(tmp_path / "t")))
    assert "\n" not in str(e.value) and "cifar10_subset.npz" in str(e.value)
    (tmp_path / "p").mkdir()
    np.savez(tmp_path / "p" / "cifar10_subset.npz", x_train=np.array([None], dtype=object),
             y_train=np.zeros(1, np.int64))
    with pytest.raises(DataError, match="pickled Python objects") as e:
        load_cifar10(DataSpec(data_root=str(tmp_path / "p")))
    assert "allow_pickle" not in str(e.value)


def test_labels_out_of_range_are_a_data_error(tmp_path, roots):
    x = np.zeros((4, 32, 32, 3), np.uint8)
    np.savez(tmp_path / "cifar10_subset.npz", x_train=x, y_train=np.array([0, 1, 2, 10]))
    with pytest.raises(DataError, match=r"labels must lie in 0\.\.9"):
        load_cifar10(DataSpec(data_root=str(tmp_path)))


def test_truncated_npz_through_the_cli_is_exit_2(tmp_path, roots, capsys):
    from simlab.cli import main

    _, npz, _ = roots
    data = (npz / "cifar10_subset.npz").read_bytes()
    (tmp_path / "cifar10_subset.npz").write_bytes(data[:1000])
    code = main(["toy", "--dataset", "cifar8", "--data-root", str(tmp_path), "--steps", "0",
                 "--out", str(tmp_path / "run"), "--quiet", "--no-figures"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cifar10_subset.npz" in err
