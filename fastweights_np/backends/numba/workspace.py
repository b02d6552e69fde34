"""Arrays a training step allocates and drops, kept for the next step of the same shapes.

At the paper's sizes one ``loss_and_grad`` call on this backend needs several MB of arrays
(the forward's cache, the gradient buffers: 4.4 MB at B = 128, T = 11, H = 100, float32).
Freed at the end of the call, glibc's allocator hands most of that memory back to the
operating system, and the next call's first write to each of its 4 KB pages is a page fault:
at that size the faults cost about as long as the kernels' arithmetic
(``benchmarks/bench_call_parts.py``, docs/performance.md, "Fixed cost per call"). So
``loss_and_grad`` takes its internal arrays from a :class:`Workspace` of the calling thread,
which keeps each one under a name and hands it out again while its shape and dtype stay the
same. Nothing a caller receives comes from it: results are new arrays, and
``sequence_forward`` / ``sequence_backward``, whose caches and states the caller keeps,
allocate with :data:`FRESH`.

The memory stays held between calls (one step's internal arrays per thread that made one);
:func:`release_workspace` frees the calling thread's.
"""

from __future__ import annotations

import threading

import numpy as np


class Workspace:
    """Named arrays kept between calls."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def empty(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The array kept as ``name`` if it has this shape and dtype (its old contents left in
        it), else a new one, kept from now on."""
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[name] = np.empty(shape, dtype)
        return a

    def zeros(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """:meth:`empty`, filled with zeros."""
        a = self.empty(name, shape, dtype)
        a.fill(0)
        return a

    def release(self) -> None:
        """Drop every kept array."""
        self._arrays.clear()

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return sum(a.nbytes for a in self._arrays.values())


class Fresh:
    """The interface of :class:`Workspace`, every array new (for arrays a caller keeps)."""

    @staticmethod
    def empty(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.empty(shape, dtype)

    @staticmethod
    def zeros(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.zeros(shape, dtype)


FRESH = Fresh()
_local = threading.local()


def thread_workspace() -> Workspace:
    """The calling thread's workspace (each thread has its own, so calls from several threads
    never share an array)."""
    ws = getattr(_local, "workspace", None)
    if ws is None:
        ws = _local.workspace = Workspace()
    return ws


def release_workspace() -> None:
    """Free the arrays the calling thread's ``loss_and_grad`` calls keep between calls."""
    thread_workspace().release()
