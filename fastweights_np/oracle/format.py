"""The golden-vector file: a self-describing ``.npz`` with a JSON manifest (docs/oracle.md).

Every array sits under a flat name ("params.W", "grad.decay", "h_inner", ...). The entry
``__manifest__`` is a 0-d string array holding JSON:

    {"format": "fastweights_np.oracle/1",
     "created_by": "fastweights_np <version>",
     "config": {every FastWeightsConfig field},
     "settings": {"batch", "steps", "seed", "param_noise", "adam": {...}},
     "arrays": {name: {"shape": [...], "dtype": "float64", "meaning": "..."}}}

Files hold no pickled objects and are written atomically. They are read through
:func:`fastweights_np.files.read_npz`; a file that is missing, is not an ``.npz``, holds pickles
or has another format version raises :class:`OracleFileError` (a
:class:`fastweights_np.files.FileFormatError`) with a message that names the file and the problem.

A golden file's manifest must agree with its arrays (every array listed, with its actual shape
and dtype; nothing listed that is absent: :func:`check_manifest`) and its floating arrays must
be finite (:func:`check_golden`): :func:`save_golden` writes nothing else and
:func:`load_golden` and ``compare`` refuse anything else, naming the array, what the manifest
claims and what is stored.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.files import FileFormatError, MissingFileError, read_npz
from fastweights_np.finite import describe_array

FORMAT_VERSION = "fastweights_np.oracle/1"
MANIFEST_KEY = "__manifest__"
GOLDEN_EXPECTED = f"golden vectors ({FORMAT_VERSION}) written by 'fastweights-np oracle export'"
THEIRS_EXPECTED = "an .npz of arrays named like the golden file's (docs/oracle.md)"


class OracleFileError(FileFormatError):
    """A golden or comparison file cannot be used; the message names the file and why."""


class MissingOracleFileError(OracleFileError, MissingFileError):
    """A golden or comparison file that does not exist (or is a directory)."""


def manifest_array(manifest: dict) -> np.ndarray:
    """The manifest as stored: a 0-d unicode array of its JSON."""
    return np.array(json.dumps(manifest, indent=1))


def read_manifest(arrays: dict, source: str = "golden") -> dict:
    """Parse ``arrays["__manifest__"]`` and check its format version."""
    if MANIFEST_KEY not in arrays:
        raise OracleFileError(f"{source} has no {MANIFEST_KEY} entry: it is not a fastweights_np golden file")
    try:
        manifest = json.loads(str(arrays[MANIFEST_KEY]))
    except json.JSONDecodeError as exc:
        raise OracleFileError(f"{source}: {MANIFEST_KEY} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise OracleFileError(f"{source}: {MANIFEST_KEY} must be a JSON object")
    found = manifest.get("format")
    if found != FORMAT_VERSION:
        raise OracleFileError(
            f"{source} has format version {found!r}, but this fastweights_np reads {FORMAT_VERSION!r}"
        )
    return manifest


def _shown(dtype: object, shape: object) -> str:
    """'float64 (3, 5)', the way the manifest's and the arrays' shapes and dtypes are shown."""
    return f"{dtype} {tuple(shape) if isinstance(shape, list | tuple) else shape!r}"


def manifest_problems(arrays: Mapping, manifest: dict) -> dict[str, str]:
    """Where the manifest's ``"arrays"`` disagrees with ``arrays``: name -> what is wrong
    ("stored as float64 (3, 5), the manifest says float32 (3, 5)", "not in the manifest",
    "listed in the manifest (...) but not stored"); empty when they agree. The manifest's own
    problems (no "arrays" object) come under the name "__manifest__"."""
    entries = manifest.get("arrays")
    if not isinstance(entries, dict):
        return {MANIFEST_KEY: "the manifest has no \"arrays\" object listing the arrays"}
    problems = {}
    for name, value in arrays.items():
        if name == MANIFEST_KEY:
            continue
        a = np.asarray(value)
        entry = entries.get(name)
        stored = _shown(a.dtype, a.shape)
        if entry is None:
            problems[name] = f"stored as {stored}, not in the manifest"
        elif not isinstance(entry, dict):
            problems[name] = f"stored as {stored}, its manifest entry is not an object: {entry!r}"
        elif entry.get("shape") != list(a.shape) or entry.get("dtype") != str(a.dtype):
            problems[name] = f"stored as {stored}, the manifest says {_shown(entry.get('dtype'), entry.get('shape'))}"
    for name, entry in entries.items():
        if name not in arrays:
            claimed = _shown(entry.get("dtype"), entry.get("shape")) if isinstance(entry, dict) else repr(entry)
            problems[name] = f"listed in the manifest ({claimed}) but not stored"
    return problems


def non_finite_arrays(arrays: Mapping) -> dict[str, str]:
    """name -> '<name> holds nan at index (...) (k of n values non-finite)' for each floating
    array of ``arrays`` with an inf or a NaN (empty when all are finite)."""
    return {
        name: describe_array(name, a)
        for name, a in arrays.items()
        if name != MANIFEST_KEY and np.asarray(a).dtype.kind == "f" and not np.isfinite(a).all()
    }


def check_manifest(arrays: Mapping, source: str, error: type[Exception] = OracleFileError) -> dict:
    """The manifest of ``arrays`` (:func:`read_manifest`), checked against the arrays
    (:func:`manifest_problems`); ``error`` (default :class:`OracleFileError`) naming every
    disagreeing array with the claimed and the stored shape and dtype otherwise."""
    manifest = read_manifest(arrays, source)
    problems = manifest_problems(arrays, manifest)
    if problems:
        listed = "; ".join(f"{name!r}: {problem}" for name, problem in problems.items())
        raise error(f"{source}: the manifest disagrees with the arrays ({len(problems)}): {listed}")
    return manifest


def check_golden(arrays: Mapping, source: str, error: type[Exception] = OracleFileError) -> dict:
    """:func:`check_manifest`, and every floating array finite (``error`` naming the non-finite
    ones otherwise: golden vectors with inf or NaN cannot be compared, not even with themselves)."""
    manifest = check_manifest(arrays, source, error)
    bad = non_finite_arrays(arrays)
    if bad:
        raise error(f"{source}: golden vectors must be finite, but {'; '.join(bad.values())}")
    return manifest


def save_golden(path: str | os.PathLike, golden: dict) -> Path:
    """Write golden vectors (as returned by :func:`fastweights_np.oracle.golden_vectors`) atomically.

    The manifest must list exactly the file's arrays with their shapes and dtypes, and the
    arrays must be finite (:func:`check_golden`; ValueError otherwise, and nothing is written).
    """
    check_golden(golden, "the golden dict", ValueError)
    return atomic_save_npz(path, {k: np.asarray(v) for k, v in golden.items()})


# torch.save's legacy format starts with a pickle (protocol 2+) of this magic number as a LONG1
TORCH_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
TORCH_ADVICE = ("save with numpy.savez instead: np.savez(path, **{name: tensor.detach().cpu().numpy() "
                "for name, tensor in yours.items()}) (docs/oracle.md §3)")


def torch_save_format(path: str | os.PathLike) -> str | None:
    """Which torch.save format the file at ``path`` is in, by its bytes: "the legacy pickle format"
    (a pickle starting with torch's magic number), "the zip-based format of PyTorch >= 1.6: its
    member '<dir>/data.pkl' is not a .npy array", or None (not a torch.save file, or unreadable:
    the reader reports that)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if head[:1] == b"\x80" and TORCH_LEGACY_MAGIC in head[:32]:
        return "the legacy pickle format"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        for name in names:
            if name == "data.pkl" or name.endswith("/data.pkl"):
                return f"the zip-based format of PyTorch >= 1.6: its member {name!r} is not a .npy array"
    return None


def read_arrays(path: str | os.PathLike, expected: str = THEIRS_EXPECTED) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded without pickles (:func:`fastweights_np.files.read_npz`).

    Raises
    ------
    OracleFileError
        naming the file, the fault and ``expected`` (what the file should be), when it is not an
        ``.npz``, truncated or holds arrays of Python objects; a PyTorch ``torch.save`` file
        (either format, told by its bytes: :func:`torch_save_format`) is named as such, with how
        to save it instead; :class:`MissingOracleFileError` (also a FileNotFoundError) when it
        is missing
    """
    which = torch_save_format(path)
    if which is not None:
        raise OracleFileError(f"{path}: this is a PyTorch torch.save file ({which}), not an .npz archive; "
                              f"{TORCH_ADVICE}; expected {expected}")
    try:
        return read_npz(path, expected)
    except MissingFileError as exc:
        raise MissingOracleFileError(str(exc)) from None
    except FileFormatError as exc:
        raise OracleFileError(str(exc)) from None


def load_golden(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a golden file and check it: its manifest's format version, the manifest against
    the arrays stored, and their finiteness (:func:`check_golden`); returns the dict of arrays.

    Raises
    ------
    OracleFileError : as :func:`read_arrays`, or naming each array whose shape or dtype the
        manifest misstates (the claimed and the stored), each listed but absent or stored but
        unlisted, and each non-finite array
    """
    arrays = read_arrays(path, GOLDEN_EXPECTED)
    check_golden(arrays, str(path))
    return arrays
