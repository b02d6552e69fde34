"""NumPy's BLAS on one thread while the Numba kernels run beside it.

Numba's OpenMP threads spin for a while after each parallel region; a multi-threaded BLAS call
right after one (e.g. a model's embedding and readout products around the compiled core, in
every training step) starts threads of its own on the same cores, and the two sets wait for
each other: on our 2-core machine a training step took 1.4–4× as long
(benchmarks/bench_blas_threads.py; docs/performance.md, "Contention"). The BLAS products
around the core are small at the paper's sizes, so one BLAS thread loses nothing there.
"""

from __future__ import annotations

import contextlib


def one_blas_thread() -> contextlib.AbstractContextManager:
    """A context in which every BLAS library loaded in the process runs on one thread
    (threadpoolctl; the previous limits come back on exit)."""
    # Load every BLAS a run will use before limiting them: NumPy's, and SciPy's, which Numba
    # loads on a kernel's first call.
    import scipy.linalg.cython_blas  # noqa: F401
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
