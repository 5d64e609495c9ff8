"""The window shard format: one HDF5 file per dataset x scheme x split.

A shard holds `windows` (int16, one row per window, chunked so that one read serves a whole
block), `recording` (the row's recording, an index into the header's lists) and `start` (its
first sample in that recording), and a header in the file's attributes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, fields

import h5py
import numpy as np

from sonata.audio import atomic_path

SCALE = 1.0 / 32768.0  # int16 window samples to float audio in [-1, 1)


@dataclass(frozen=True)
class ShardHeader:
    """What a shard holds; written as the file's attributes, in this order."""

    dataset: str
    split: str
    scheme: str
    sample_rate: int
    window_length: int
    input_length: int
    target_offset: int
    target_length: int
    hop: int
    scale: float
    trim_silence_below: float  # -1 when silent windows were kept
    source_ids: tuple[int, ...]  # recording ids, in the order `recording` indexes them
    composers: tuple[str, ...]
    ensembles: tuple[str, ...]
    recording_windows: tuple[int, ...]  # windows per recording
    count: int = 0  # rows in the file, read back, not stored
    chunk_rows: int = 0  # rows per HDF5 chunk, read back, not stored

    def audio(self, windows: np.ndarray) -> np.ndarray:
        """int16 windows as float32 audio."""
        return windows.astype(np.float32) * np.float32(self.scale)

    def write(self, attrs: h5py.AttributeManager) -> None:
        attrs["dataset"] = self.dataset
        attrs["split"] = self.split
        attrs["scheme"] = self.scheme
        attrs["sample_rate"] = self.sample_rate
        attrs["window_length"] = self.window_length
        attrs["input_length"] = self.input_length
        attrs["target_offset"] = self.target_offset
        attrs["target_length"] = self.target_length
        attrs["hop"] = self.hop
        attrs["scale"] = self.scale
        attrs["trim_silence_below"] = self.trim_silence_below
        attrs["source_ids"] = np.asarray(self.source_ids, dtype=np.int64)
        attrs["composers"] = list(self.composers)
        attrs["ensembles"] = list(self.ensembles)
        attrs["recording_windows"] = np.asarray(self.recording_windows, dtype=np.int64)


def read_header(path: str) -> ShardHeader:
    """A shard's header, with its row count and chunk size."""
    with h5py.File(path, "r") as h5:
        values = {}
        for field in fields(ShardHeader):
            if field.name in ("count", "chunk_rows"):
                continue
            value = h5.attrs[field.name]
            if isinstance(value, np.ndarray):
                value = tuple(_plain(v) for v in value)
            elif isinstance(value, np.generic):
                value = value.item()
            values[field.name] = value
        windows = h5["windows"]
        return ShardHeader(**values, count=int(windows.shape[0]), chunk_rows=int(windows.chunks[0]))


def _plain(value):
    """An HDF5 attribute element as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value


class ShardWriter:
    """Appends each recording's windows in turn; `finish` writes the header."""

    def __init__(self, h5: h5py.File, window_length: int, chunk_rows: int) -> None:
        self._windows = h5.create_dataset(
            "windows",
            shape=(0, window_length),
            maxshape=(None, window_length),
            dtype="int16",
            chunks=(chunk_rows, window_length),
        )
        self._recording = h5.create_dataset(
            "recording", shape=(0,), maxshape=(None,), dtype="int32", chunks=(chunk_rows,)
        )
        self._start = h5.create_dataset(
            "start", shape=(0,), maxshape=(None,), dtype="int64", chunks=(chunk_rows,)
        )
        self._attrs = h5.attrs
        self.per_recording: list[int] = []
        self.total = 0

    def append(self, windows: np.ndarray, starts: np.ndarray) -> None:
        n, index = len(windows), len(self.per_recording)
        for dataset in (self._windows, self._recording, self._start):
            dataset.resize(self.total + n, axis=0)
        self._windows[self.total : self.total + n] = windows
        self._recording[self.total : self.total + n] = index
        self._start[self.total : self.total + n] = starts
        self.total += n
        self.per_recording.append(n)

    def finish(self, header: ShardHeader) -> None:
        header.write(self._attrs)


@contextlib.contextmanager
def new_shard(path: str, window_length: int, chunk_rows: int) -> Iterator[ShardWriter]:
    """A shard written beside `path` and moved into place only when complete."""
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        yield ShardWriter(h5, window_length, chunk_rows)


def read_blocks(path: str, seed: int | None, labels: np.ndarray | None = None):
    """Yield (windows, label) blocks one HDF5 chunk at a time, in shuffled chunk order.

    One read per chunk keeps HDF5 near its sequential speed; a shuffle buffer mixes windows
    across chunks afterwards.
    """
    with h5py.File(path, "r") as h5:
        windows = h5["windows"]
        recording = h5["recording"]
        rows = windows.chunks[0]
        n_blocks = -(-windows.shape[0] // rows)
        order = np.arange(n_blocks)
        if seed is not None:
            order = np.random.default_rng(seed).permutation(n_blocks)
        for block in order:
            sl = slice(block * rows, min((block + 1) * rows, windows.shape[0]))
            rec = recording[sl]
            cond = labels[rec] if labels is not None else np.zeros(len(rec), np.int32)
            yield windows[sl], cond.astype(np.int32)


@dataclass(frozen=True)
class NotesHeader:
    """What a notes shard holds: the note tables of one dataset split's recordings."""

    dataset: str
    split: str
    source_ids: tuple[int, ...]
    composers: tuple[str, ...]
    ensembles: tuple[str, ...]
    wavs: tuple[str, ...]  # each recording's converted audio, which its notes line up with
    movements: tuple[str, ...]  # the movement each plays (the split's group: a quartet and its
    # piano arrangement are one movement), so a model shared by datasets can keep them apart


NOTE_FIELDS = {"onset": np.float64, "offset": np.float64, "pitch": np.int16, "program": np.int16}
BEAT_FIELDS = {"start_beat": np.float64, "end_beat": np.float64}  # NaN where a recording has none


def write_notes_shard(path: str, header: NotesHeader, tables: list) -> None:
    """Every recording's notes in one file: a `recording` index column beside the note columns."""
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        for name, dtype in NOTE_FIELDS.items():
            values = [t[name].to_numpy() for t in tables]
            h5.create_dataset(
                name, data=np.concatenate(values).astype(dtype) if values else np.zeros(0, dtype)
            )
        for name, dtype in BEAT_FIELDS.items():
            values = [t[name].to_numpy() if name in t else np.full(len(t), np.nan) for t in tables]
            h5.create_dataset(
                name, data=np.concatenate(values).astype(dtype) if values else np.zeros(0, dtype)
            )
        counts = [len(t) for t in tables]
        h5.create_dataset("recording", data=np.repeat(np.arange(len(tables), dtype=np.int32), counts))
        for field in fields(NotesHeader):
            value = getattr(header, field.name)
            h5.attrs[field.name] = value if isinstance(value, str) else list(value)


def read_notes_shard(path: str) -> tuple[NotesHeader, list]:
    """The header and one note table per recording, in the header's order."""
    import pandas as pd

    with h5py.File(path, "r") as h5:
        values = {}
        for field in fields(NotesHeader):
            value = h5.attrs[field.name]
            values[field.name] = (
                _plain(value) if field.name in ("dataset", "split") else tuple(_plain(v) for v in value)
            )
        header = NotesHeader(**values)
        columns = {name: h5[name][()] for name in (*NOTE_FIELDS, *BEAT_FIELDS, "recording") if name in h5}
    table = pd.DataFrame(columns).astype({"pitch": int, "program": int})
    tables = []
    for i in range(len(header.source_ids)):
        notes = table[table["recording"] == i].drop(columns="recording").reset_index(drop=True)
        unknown = [c for c in BEAT_FIELDS if c in notes and notes[c].isna().any()]
        tables.append(notes.drop(columns=unknown))  # beats only where the labels had them all
    return header, tables
