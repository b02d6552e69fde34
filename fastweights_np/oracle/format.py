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
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.files import FileFormatError, MissingFileError, read_npz

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


def save_golden(path: str | os.PathLike, golden: dict) -> Path:
    """Write golden vectors (as returned by :func:`fastweights_np.oracle.golden_vectors`) atomically.

    The manifest must list exactly the file's arrays with their shapes and dtypes.
    """
    manifest = read_manifest(golden, "the golden dict")
    listed = set(manifest["arrays"])
    present = set(golden) - {MANIFEST_KEY}
    if listed != present:
        raise ValueError(
            f"the manifest lists {sorted(listed - present)} that are absent and omits {sorted(present - listed)}"
        )
    for name, entry in manifest["arrays"].items():
        a = np.asarray(golden[name])
        if list(a.shape) != entry["shape"] or str(a.dtype) != entry["dtype"]:
            raise ValueError(
                f"array {name!r} is {a.dtype}{a.shape}, the manifest says {entry['dtype']}{entry['shape']}"
            )
    return atomic_save_npz(path, {k: np.asarray(v) for k, v in golden.items()})


def read_arrays(path: str | os.PathLike, expected: str = THEIRS_EXPECTED) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded without pickles (:func:`fastweights_np.files.read_npz`).

    Raises
    ------
    OracleFileError
        naming the file, the fault and ``expected`` (what the file should be), when it is not an
        ``.npz``, truncated or holds arrays of Python objects; :class:`MissingOracleFileError`
        (also a FileNotFoundError) when it is missing
    """
    try:
        return read_npz(path, expected)
    except MissingFileError as exc:
        raise MissingOracleFileError(str(exc)) from None
    except FileFormatError as exc:
        raise OracleFileError(str(exc)) from None


def load_golden(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a golden file and check its manifest's format version; returns the dict of arrays."""
    arrays = read_arrays(path, GOLDEN_EXPECTED)
    read_manifest(arrays, str(path))
    return arrays
