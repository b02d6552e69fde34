"""Numba's on-disk cache, invalidated by an edit to ANY module of this backend.

Numba stamps a cached function with the hash of its own source file only. A kernel compiled
from ``kernels.py`` inlines the functions of ``attention.py``, ``activation.py``, ...; edit one
of those and Numba would still load the kernel compiled from the old code (we met this: a
timing that did not move because the kernel had not been recompiled). :func:`register` puts a
cache locator ahead of Numba's own for the functions of this package: the same cache
directory and file names as Numba's, and a stamp that also holds the hash of every module
here, so that any edit recompiles every kernel on its next call.

It uses Numba's cache internals (``numba.core.caching``; Numba is pinned to 0.68.x in
setup.cfg); where they are missing, it does nothing and Numba's own stamps apply.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def backend_source_hash() -> str:
    """SHA-256 over the names and contents of every ``.py`` file of this backend."""
    digest = hashlib.sha256()
    for path in sorted(BACKEND_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


try:
    from numba.core.caching import CacheImpl, _CacheLocator
except ImportError:  # pragma: no cover - a Numba without these internals
    CacheImpl, _CacheLocator = None, object

NUMBA_LOCATORS: list = []  # Numba's own locator classes, in Numba's order (set by register)


class BackendLocator(_CacheLocator):
    """Numba's own locator for a function of this backend, with :func:`backend_source_hash`
    added to its source stamp."""

    def __init__(self, numba_locator):
        self.numba_locator = numba_locator

    def ensure_cache_path(self):
        self.numba_locator.ensure_cache_path()

    def get_cache_path(self):
        return self.numba_locator.get_cache_path()

    def get_source_stamp(self):
        return (self.numba_locator.get_source_stamp(), backend_source_hash())

    def get_disambiguator(self):
        return self.numba_locator.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve().parent != Path(__file__).resolve().parent:
            return None
        for numba_class in NUMBA_LOCATORS:
            locator = numba_class.from_function(py_func, py_file)
            if locator is not None:
                return cls(locator)
        return None


def register() -> bool:
    """Put :class:`BackendLocator` first among Numba's cache locators (once). Returns whether
    it is in place; must run before the first ``@njit(cache=True)`` of this backend."""
    if CacheImpl is None:  # pragma: no cover
        return False
    classes = CacheImpl._locator_classes
    if BackendLocator not in classes:
        NUMBA_LOCATORS[:] = classes
        classes.insert(0, BackendLocator)
    return True
