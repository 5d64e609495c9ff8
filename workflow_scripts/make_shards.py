"""Cut a dataset's recordings into windows and write one chunked HDF5 shard per split."""

import logging

import h5py
import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from sonata.audio import atomic_path
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
        loud = np.abs(targets).max(axis=1) >= trim_below * 32768
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
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        rows = max(1, min(chunk_windows, expected))
        windows_ds = h5.create_dataset(
            "windows",
            shape=(0, scheme.length),
            maxshape=(None, scheme.length),
            dtype="int16",
            chunks=(rows, scheme.length),
        )
        recording_ds = h5.create_dataset(
            "recording", shape=(0,), maxshape=(None,), dtype="int32", chunks=(rows,)
        )
        start_ds = h5.create_dataset("start", shape=(0,), maxshape=(None,), dtype="int64", chunks=(rows,))
        total = 0
        per_recording = []
        for index, row in enumerate(
            tqdm(list(manifest.itertuples(index=False)), desc=f"{dataset}/{scheme.name}/{split}", unit="rec")
        ):
            audio, _ = sf.read(row.wav, dtype="int16")
            windows, starts = recording_windows(audio, scheme, trim_below)
            n = len(windows)
            for ds in (windows_ds, recording_ds, start_ds):
                ds.resize(total + n, axis=0)
            windows_ds[total : total + n] = windows
            recording_ds[total : total + n] = index
            start_ds[total : total + n] = starts
            total += n
            per_recording.append(n)
        attrs = h5.attrs
        attrs["dataset"] = dataset
        attrs["split"] = split
        attrs["scheme"] = scheme.name
        attrs["sample_rate"] = rate
        attrs["window_length"] = scheme.length
        attrs["input_length"] = scheme.input_length
        attrs["target_offset"] = scheme.target_offset
        attrs["target_length"] = scheme.target_length
        attrs["hop"] = scheme.hop
        attrs["scale"] = 1.0 / 32768.0
        attrs["trim_silence_below"] = -1.0 if trim_below is None else trim_below
        attrs["source_ids"] = np.asarray(manifest["id"], dtype=np.int64)
        attrs["composers"] = [str(c) for c in manifest["composer"]]
        attrs["ensembles"] = [str(e) for e in manifest["ensemble"]]
        attrs["recording_windows"] = np.asarray(per_recording, dtype=np.int64)
    log.info("%s: %d windows of %d samples (%s)", path, total, scheme.length, split)
    return total


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    scheme = WindowScheme(**snakemake.params.scheme)
    trim = snakemake.params.trim
    trim_below = trim["silence_threshold"] if trim.get("trim_silence") else None
    manifest = pd.read_parquet(snakemake.input.manifest)
    for split in SPLITS:
        write_shard(
            getattr(snakemake.output, split),
            manifest[manifest["split"] == split],
            scheme,
            split,
            snakemake.wildcards.dataset,
            snakemake.params.chunk_windows,
            trim_below,
        )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
