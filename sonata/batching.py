"""Pieces of several lengths, made one batch per length: a batch runs as long as its longest
row, so a 5-second piece batched with a 2-minute one would cost 2 minutes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def length_offset(lengths: Sequence[float], length: float) -> int:
    """The seed offset by_length gives the batch of pieces of `length` among `lengths`: its rank
    among the distinct lengths, shortest first (callers that replay one batch draw as it did)."""
    return sorted({*lengths, length}).index(length)


def by_length(
    lengths: Sequence[float], make: Callable[[list[int], float, int], Sequence[np.ndarray]]
) -> list[np.ndarray]:
    """One array per piece, in order. make(rows, length, offset) makes the pieces `rows`, all of
    `length`, together; lengths come shortest first with offset 0, 1, ... (a seed offset, so
    each batch draws its own numbers)."""
    made: list[np.ndarray] = [np.empty(0, np.float32)] * len(lengths)
    for length in sorted(set(lengths)):
        offset = length_offset(lengths, length)
        rows = [i for i, value in enumerate(lengths) if value == length]
        for i, piece in zip(rows, make(rows, length, offset), strict=True):
            made[i] = piece
    return made
