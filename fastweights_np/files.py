"""Every file the package reads goes through here: one loader per kind, with clear errors.

The readers check the file first (it exists, is a file, can be read, is not empty) and then
its content: :func:`read_npz` for ``.npz`` archives (every array loaded eagerly, never a
pickle), :func:`read_json` for a JSON document, :func:`read_jsonl` for one JSON object per
line (a metrics log), :func:`read_bytes` for the raw bytes of anything else. A fault raises
:class:`FileFormatError` (:class:`MissingFileError` when there is no file) whose message names
the path, what is wrong with it and what the file should have been, e.g.

    runs/a/checkpoint.npz is a truncated or damaged .npz archive (BadZipFile: File is not a zip
    file); expected a fastweights_np.checkpoint/1 file written by 'fastweights-np train'

The package never loads pickles: a pickle, or an ``.npz`` holding arrays of Python objects,
is refused, because unpickling runs code.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FileFormatError", "MissingFileError", "read_bytes", "read_json", "read_jsonl", "read_npz",
           "read_tagged_npz"]

NEVER_PICKLES = "fastweights_np never loads pickles"
TORN_LAST_LINE = ("skip", "error")
# What numpy's .npz reader (zipfile, zlib, numpy.lib.format) raises on a damaged archive.
_NPZ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError, KeyError, IndexError,
               struct.error, NotImplementedError, OverflowError, RuntimeError)  # RuntimeError: encrypted


class FileFormatError(ValueError):
    """A file that exists but is not what was expected; the message names the path, the fault
    and what the file should be. A ValueError, so the command line reports it without a traceback."""


class MissingFileError(FileFormatError, FileNotFoundError):
    """No such file, or a directory where a file was expected."""


def _error(path: str | os.PathLike, problem: str, expected: str,
           cls: type[FileFormatError] = FileFormatError) -> FileFormatError:
    return cls(f"{os.fspath(path)} {problem}; expected {expected}")


def read_bytes(path: str | os.PathLike, expected: str) -> bytes:
    """The whole content of the file at ``path`` (possibly empty).

    Parameters
    ----------
    path : the file
    expected : what the file should be, for the error message (e.g. "MNIST's IDX file t10k-labels-idx1-ubyte")

    Raises
    ------
    MissingFileError : no such file, or ``path`` is a directory
    FileFormatError : the file exists but cannot be read (permissions, I/O error)
    """
    path = Path(path)
    if path.is_dir():
        raise _error(path, "is a directory, not a file", expected, MissingFileError)
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise _error(path, "does not exist (no such file)", expected, MissingFileError) from None
    except OSError as exc:
        raise _error(path, f"cannot be read ({exc.strerror or exc})", expected) from None


def _nonempty(path: str | os.PathLike, expected: str) -> bytes:
    data = read_bytes(path, expected)
    if not data:
        raise _error(path, "is empty (0 bytes)", expected)
    return data


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut by the end of ``head`` still counts as text
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\n\r" for c in text)


def _not_an_npz(data: bytes) -> str | None:
    """Why ``data`` is not an ``.npz`` archive, or None when it starts like a zip archive."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return None
    if data.startswith(b"\x93NUMPY"):
        return "is a single .npy array (numpy.save), not an .npz archive (numpy.savez)"
    if data[:1] == b"\x80":
        return f"is a Python pickle (as pickle.dump or torch.save write), not an .npz archive ({NEVER_PICKLES})"
    if data[:2] == b"\x1f\x8b":
        return "is gzip-compressed data, not an .npz archive"
    if _looks_like_text(data[:512]):
        return "is text, not an .npz archive"
    return f"is not an .npz archive (it starts with the bytes {data[:4].hex()})"


def _holds_objects(archive: zipfile.ZipFile, member: str) -> bool:
    """Whether the .npy ``member`` of ``archive`` declares a dtype with Python objects."""
    fmt = np.lib.format
    try:
        with archive.open(member) as fp:
            version = fmt.read_magic(fp)
            header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            return header(fp)[2].hasobject
    except _NPZ_ERRORS:
        return False


def _array(npz: Any, name: str, path: str | os.PathLike, expected: str) -> np.ndarray:
    """One array of an open NpzFile; FileFormatError for an object array or a member that is no .npy."""
    try:
        value = npz[name]
    except ValueError:
        member = f"{name}.npy" if f"{name}.npy" in npz.zip.namelist() else name
        if _holds_objects(npz.zip, member):
            raise _error(path, f"has an array {name!r} of Python objects, which cannot be read without "
                               f"pickles ({NEVER_PICKLES})", expected) from None
        raise
    if not isinstance(value, np.ndarray):  # numpy returns the raw bytes of a member that is not a .npy
        torch = (f" (a torch.save file is a zip archive of pickles; {NEVER_PICKLES})"
                 if name.endswith(".pkl") else "")
        raise _error(path, f"is a zip archive but not an .npz: its member {name!r} is not a .npy array{torch}",
                     expected)
    return value


def read_npz(path: str | os.PathLike, expected: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive at ``path``, loaded eagerly without pickles.

    Parameters
    ----------
    path : the archive (as ``numpy.savez`` writes it)
    expected : what the file should be, for the error message (e.g. "a fastweights_np.params/1
        file written by save_params")

    Returns
    -------
    dict name → array, in the archive's order; the file is closed

    Raises
    ------
    MissingFileError : no such file, or a directory
    FileFormatError : the file is empty, unreadable, not a zip archive (text, a pickle, a single
        ``.npy``, ...), a truncated or damaged archive, holds an array of Python objects, or a
        member that is not a ``.npy`` array
    """
    data = _nonempty(path, expected)
    problem = _not_an_npz(data)
    if problem is not None:
        raise _error(path, problem, expected)
    arrays = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for name in npz.files:
                arrays[name] = _array(npz, name, path, expected)
    except FileFormatError:
        raise
    except _NPZ_ERRORS as exc:
        raise _error(path, f"is a truncated or damaged .npz archive ({type(exc).__name__}: {exc})",
                     expected) from None
    return arrays


def read_tagged_npz(path: str | os.PathLike, tag: str, expected: str) -> dict[str, np.ndarray]:
    """:func:`read_npz` of a file that names its format in a ``__format__`` entry, which must be
    ``tag`` (e.g. "fastweights_np.params/1"); FileFormatError naming the format found otherwise."""
    arrays = read_npz(path, expected)
    found = str(arrays["__format__"]) if "__format__" in arrays else "none"
    if found != tag:
        raise _error(path, f"is not a {tag} file (format: {found})", expected)
    return arrays


def _json_problem(exc: json.JSONDecodeError | UnicodeDecodeError, line: int | None = None) -> str:
    """What is wrong with a document (or with line ``line`` of a JSON-lines file)."""
    if isinstance(exc, UnicodeDecodeError):
        where = f" at line {line}" if line is not None else ""
        return f"is not UTF-8 text{where} (byte 0x{exc.object[exc.start]:02x})"
    return f"is not valid JSON at line {exc.lineno if line is None else line}, column {exc.colno} ({exc.msg})"


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}


def read_json(path: str | os.PathLike, expected: str) -> Any:
    """The JSON document in the file at ``path`` (UTF-8).

    Raises
    ------
    MissingFileError : no such file, or a directory
    FileFormatError : the file is empty, unreadable, not UTF-8, or not valid JSON (the message
        gives the line and column)
    """
    data = _nonempty(path, expected)
    try:
        return json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _error(path, _json_problem(exc), expected) from None


def read_jsonl(path: str | os.PathLike, expected: str, *, torn_last_line: str = "skip") -> list[dict]:
    """The records of a JSON-lines file: one JSON object per line; blank lines are ignored.

    Parameters
    ----------
    path : the file (it may be empty: no records)
    expected : what the file should be, for the error message
    torn_last_line : "skip" (default) drops a last line that is not valid JSON, as a writer
        interrupted while appending it leaves; "error" raises for it like for any other line

    Raises
    ------
    MissingFileError : no such file, or a directory
    FileFormatError : the file is unreadable, or a line (other than a torn last one) is not valid
        JSON or not a JSON object; the message gives the line number
    """
    if torn_last_line not in TORN_LAST_LINE:
        raise ValueError(f"torn_last_line must be one of {TORN_LAST_LINE}, got {torn_last_line!r}")
    lines = [(n, line) for n, line in enumerate(read_bytes(path, expected).split(b"\n"), 1) if line.strip()]
    records = []
    for n, line in lines:
        try:
            record = json.loads(line.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if n == lines[-1][0] and torn_last_line == "skip":
                break
            raise _error(path, _json_problem(exc, n), expected) from None
        if not isinstance(record, dict):
            raise _error(path, f"has {_JSON_TYPES.get(type(record), 'a value')} at line {n}, not a JSON object",
                         expected)
        records.append(record)
    return records
