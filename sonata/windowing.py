"""Cut a dataset's recordings into windows and write one chunked HDF5 shard per split."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from sonata.logs import terminal
from sonata.shards import SCALE, ShardHeader, new_shard
from sonata.windows import WindowScheme, count_windows, frame

log = logging.getLogger("sonata.shards")
SPLITS = ("train", "validation", "test")


def recording_windows(
    audio: np.ndarray, scheme: WindowScheme, trim_below: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All windows of one recording and their start samples, optionally without silent targets."""
    windows = frame(audio, scheme.length, scheme.hop)
    starts = np.arange(len(windows), dtype=np.int64) * scheme.hop
    if trim_below is not None and len(windows):
        _, targets = scheme.split(windows)
        loud = np.abs(targets).max(axis=1) >= trim_below / SCALE
        windows, starts = windows[loud], starts[loud]
    return windows, starts


def write_shard(
    path: str,
    manifest: pd.DataFrame,
    scheme: WindowScheme,
    split: str,
    dataset: str,
    chunk_windows: int,
    trim_below: float | None = None,
) -> int:
    """Write windows of every recording of `manifest` (one split) to `path`; returns the count."""
    rate = int(manifest["sample_rate"].iloc[0]) if len(manifest) else 0
    expected = int(sum(count_windows(int(n), scheme.length, scheme.hop) for n in manifest["samples"]))
    rows = max(1, min(chunk_windows, expected))
    with new_shard(path, scheme.length, rows) as shard:
        for row in tqdm(
            list(manifest.itertuples(index=False)),
            desc=f"{dataset}/{scheme.name}/{split}",
            unit="rec",
            file=terminal(),
        ):
            audio, _ = sf.read(row.wav, dtype="int16")
            shard.append(*recording_windows(audio, scheme, trim_below))
        shard.finish(
            ShardHeader(
                dataset=dataset,
                split=split,
                scheme=scheme.name,
                sample_rate=rate,
                window_length=scheme.length,
                input_length=scheme.input_length,
                target_offset=scheme.target_offset,
                target_length=scheme.target_length,
                hop=scheme.hop,
                scale=SCALE,
                trim_silence_below=-1.0 if trim_below is None else trim_below,
                source_ids=tuple(int(i) for i in manifest["id"]),
                composers=tuple(str(c) for c in manifest["composer"]),
                ensembles=tuple(str(e) for e in manifest["ensemble"]),
                recording_windows=tuple(shard.per_recording),
            )
        )
    log.info("%s: %d windows of %d samples (%s)", path, shard.total, scheme.length, split)
    return shard.total
