"""Training batches from HDF5 window shards, drawn by chunk-aligned block reads."""

from __future__ import annotations

import h5py
import numpy as np


class ShardSampler:
    """Random windows of a shard: each batch reads `chunks` random whole chunks (one HDF5 read
    each, near sequential speed) and picks its windows among them, so windows of different
    recordings and passages meet in one batch."""

    def __init__(self, path: str, labels: np.ndarray | None, chunks: int):
        self.file = h5py.File(path, "r")
        self.windows = self.file["windows"]
        self.recording = self.file["recording"][()]
        self.rows = self.windows.chunks[0]
        self.n_chunks = -(-self.windows.shape[0] // self.rows)
        self.labels = labels
        self.chunks = min(chunks, self.n_chunks)

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(int16 windows (size, length), condition ids (size,)) drawn with this generator."""
        picked = np.sort(rng.choice(self.n_chunks, self.chunks, replace=False))
        starts = [c * self.rows for c in picked]
        blocks = [self.windows[s : s + self.rows] for s in starts]
        rows = np.concatenate([np.arange(s, s + len(b)) for s, b in zip(starts, blocks)])
        take = rng.choice(len(rows), size, replace=len(rows) < size)
        windows = np.concatenate(blocks)[take]
        recording = self.recording[rows[take]]
        conditions = self.labels[recording] if self.labels is not None else np.zeros(size, np.int32)
        return windows, conditions.astype(np.int32)
