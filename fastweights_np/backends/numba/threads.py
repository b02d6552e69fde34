"""BLAS threads around and inside the Numba kernels.

Inside: the fast-weights kernels call SciPy's BLAS (``np.dot`` in Numba) from each of Numba's
threads; a BLAS that then starts threads of its own oversubscribes the cores and the calls wait
on each other, and a step on two Numba threads took longer than on one (docs/performance.md,
"Training step", the run before :func:`kernel_threads`). Every kernel runs in :func:`kernel_threads`.

Around: :func:`one_blas_thread`, for training loops.

Numba's OpenMP threads spin for a while after each parallel region; a multi-threaded BLAS call
right after one (e.g. a model's embedding and readout products around the compiled core, in
every training step) starts threads of its own on the same cores, and the two sets wait for
each other and a training step takes several times as long (benchmarks/bench_blas_threads.py;
docs/performance.md, "Contention"). The BLAS products
around the core are small at the paper's sizes, so one BLAS thread loses nothing there.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator

from numba import parallel_chunksize


@functools.lru_cache(maxsize=1)
def blas_libraries() -> tuple:
    """threadpoolctl's controllers of every BLAS library loaded once SciPy's is (found once)."""
    import scipy.linalg.cython_blas  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


def one_blas_thread() -> contextlib.AbstractContextManager:
    """A context in which every BLAS library loaded in the process runs on one thread
    (threadpoolctl; the previous limits come back on exit). SciPy's BLAS, which Numba loads on
    a kernel's first call, is loaded first (:func:`blas_libraries`) so that the limit covers it."""
    from threadpoolctl import threadpool_limits

    blas_libraries()
    return threadpool_limits(limits=1, user_api="blas")


class _KernelBlasLimit:
    """One BLAS thread while any kernel call of any Python thread is running: the first call in
    saves every library's count and sets 1, the last one out restores the counts (so that two
    threads' calls overlapping cannot leave the limit in place)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.saved: list[int] = []

    def enter(self) -> None:
        with self.lock:
            if self.running == 0:
                libraries = blas_libraries()
                self.saved = [library.get_num_threads() for library in libraries]
                for library in libraries:
                    library.set_num_threads(1)
            self.running += 1

    def exit(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running == 0:
                for library, n in zip(blas_libraries(), self.saved, strict=True):
                    library.set_num_threads(n)


_KERNEL_BLAS_LIMIT = _KernelBlasLimit()


@contextlib.contextmanager
def kernel_threads() -> Iterator[None]:
    """The context of every parallel kernel call: Numba hands out the batch's chunks one at a
    time (``parallel_chunksize(1)``) and every BLAS library runs on one thread, in the whole
    process, while any kernel call runs (counts set back afterwards).

    The OpenBLAS here ignores a count set from a Python thread other than the main one (tried:
    ``threadpoolctl`` reports the old count after such a call), so from other threads the limit
    does not take effect and the kernels run as before it (correct, but slower at large H)."""
    _KERNEL_BLAS_LIMIT.enter()
    try:
        with parallel_chunksize(1):
            yield
    finally:
        _KERNEL_BLAS_LIMIT.exit()
