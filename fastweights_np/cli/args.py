"""argparse value types that reject bad values with a message naming what is allowed."""

from __future__ import annotations

import argparse


def _number(kind, text: str, ok, allowed: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def nonneg_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    return _number(float, text, lambda v: v > 0, "a positive number")


def nonneg_float(text: str) -> float:
    return _number(float, text, lambda v: v >= 0, "a non-negative number")


def unit_interval(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v <= 1, "a number in [0, 1]")
