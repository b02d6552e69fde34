"""Associative retrieval data (paper Sec. 4.1).

A sequence holds K key–value pairs (keys distinct letters a–z, values digits 0–9), then "??",
then one of the K keys; the target is that key's digit. With K = 4: length 2K + 3 = 11 over a
vocabulary of 37 symbols, e.g. ``c9k8j3f1??c`` → 9.

Symbols are integer ids: 'a'..'z' → 0..25, '0'..'9' → 26..35, '?' → 36. Generation uses
NumPy's PCG64 generator, so a seed gives the same arrays on any machine.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

LETTERS = string.ascii_lowercase
DIGITS = string.digits
QUERY = "?"
VOCAB = LETTERS + DIGITS + QUERY  # id → symbol
VOCAB_SIZE = len(VOCAB)  # 37
NUM_CLASSES = len(DIGITS)  # 10
DIGIT_OFFSET = len(LETTERS)  # id of '0'
QUERY_ID = VOCAB.index(QUERY)
SPLIT_SIZES = {"train": 100_000, "val": 10_000, "test": 20_000}


@dataclass(frozen=True)
class AssocSplit:
    """One split: ``x`` (n, 2K + 3) symbol ids and ``y`` (n,) target digits 0..9."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def sequence_length(num_pairs: int) -> int:
    """2K + 3: K pairs, two '?' and the query key."""
    return 2 * num_pairs + 3


def _check_num_pairs(num_pairs: int) -> None:
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, (int, np.integer)) or not 1 <= num_pairs <= 26:
        raise ValueError(f"num_pairs must be an integer in [1, 26] (keys are distinct letters), got {num_pairs!r}")


def make_assoc(n: int, num_pairs: int = 4, seed: int | np.random.SeedSequence = 0) -> AssocSplit:
    """``n`` associative-retrieval sequences.

    Parameters
    ----------
    n : number of sequences, >= 1
    num_pairs : K, key–value pairs per sequence, in [1, 26]
    seed : an integer or a ``numpy.random.SeedSequence``

    Returns
    -------
    AssocSplit with x (n, 2K + 3) int64 ids and y (n,) int64 digits
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    _check_num_pairs(num_pairs)
    rng = np.random.default_rng(seed)
    K = num_pairs
    keys = np.argsort(rng.random((n, len(LETTERS))), axis=1)[:, :K]  # K distinct letters per row
    values = rng.integers(0, NUM_CLASSES, (n, K))
    query = rng.integers(0, K, n)
    x = np.empty((n, sequence_length(K)), dtype=np.int64)
    x[:, 0 : 2 * K : 2] = keys
    x[:, 1 : 2 * K : 2] = values + DIGIT_OFFSET
    x[:, 2 * K] = x[:, 2 * K + 1] = QUERY_ID
    rows = np.arange(n)
    x[:, -1] = keys[rows, query]
    return AssocSplit(x, values[rows, query].astype(np.int64))


def make_assoc_splits(
    seed: int = 0, num_pairs: int = 4, sizes: dict[str, int] | None = None
) -> dict[str, AssocSplit]:
    """Train / validation / test splits (100,000 / 10,000 / 20,000 by default).

    Each split draws from its own child of ``SeedSequence(seed)``, so changing one split's
    size leaves the others unchanged.
    """
    sizes = dict(SPLIT_SIZES if sizes is None else sizes)
    unknown = sorted(set(sizes) - set(SPLIT_SIZES))
    if unknown:
        raise ValueError(f"sizes has unknown splits {unknown}; the splits are {sorted(SPLIT_SIZES)}")
    children = np.random.SeedSequence(seed).spawn(len(SPLIT_SIZES))
    return {
        name: make_assoc(sizes[name], num_pairs, child)
        for name, child in zip(SPLIT_SIZES, children, strict=True)
        if name in sizes
    }


def decode(ids: np.ndarray) -> str:
    """The string of a sequence of ids, e.g. ``'c9k8j3f1??c'``."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= VOCAB_SIZE:
        raise ValueError(f"ids must be a 1-d integer array with values in [0, {VOCAB_SIZE}), got {ids!r}")
    return "".join(VOCAB[i] for i in ids)


def encode(text: str) -> np.ndarray:
    """Inverse of :func:`decode`; unknown symbols raise ``ValueError`` naming them."""
    bad = sorted(set(text) - set(VOCAB))
    if bad:
        raise ValueError(f"text has symbols outside the vocabulary {VOCAB!r}: {bad}")
    return np.array([VOCAB.index(ch) for ch in text], dtype=np.int64)


def target_of(text: str) -> int:
    """The answer to a sequence string: the digit after the last symbol's first occurrence."""
    key = text[-1]
    return int(text[text.index(key) + 1])
