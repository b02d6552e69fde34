"""The fixed random permutations P_s of the A-LSTM's memory copies (not trained).

Copy s stores and retrieves with the keys P_s r (Danihelka et al. 2016, Sec. 3): P_s permutes
the m complex entries of a key, the same way for its real and imaginary parts. The
permutations are drawn from ``numpy.random.default_rng(seed)``, one ``permutation(m)`` per
copy in order, so a config (which stores the seed) always gives the same ones.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def copy_index(m: int, n_copies: int, seed: int) -> np.ndarray:
    """Index rows [π_s | π_s + m] for s = 1..n_copies (see :mod:`fastweights_np.ops.copy_permute`).

    Returns
    -------
    index : (n_copies, 2m) read-only integer array; row s permutes the 2m real coordinates
        of a complex vector in [Re | Im] layout
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_copies):
        pi = rng.permutation(m)
        rows.append(np.concatenate((pi, pi + m)))
    index = np.stack(rows)
    index.flags.writeable = False
    return index
