"""Write a dataset's manifest: which recordings it holds, the movement each plays and its split."""

import pandas as pd
import soundfile as sf

from sonata import SonataError
from sonata.audio import atomic_path
from sonata.catalog import read_metadata


def build_manifest(metadata_path: str, recordings: dict[int, dict], wavs: dict[int, str]) -> pd.DataFrame:
    """One row per recording; `recordings` maps id to its split, movement group and label CSV."""
    metadata = read_metadata(metadata_path).set_index("id")
    rows = []
    for rid, chosen in sorted(recordings.items()):
        info = sf.info(wavs[rid])
        row = metadata.loc[rid]
        rows.append(
            {
                "id": rid,
                "split": chosen["split"],
                "group": chosen["group"],
                "composer": str(row["composer"]),
                "ensemble": str(row["ensemble"]),
                "composition": str(row.get("composition", "")),
                "movement": str(row.get("movement", "")),
                "wav": wavs[rid],
                "labels": chosen.get("labels", ""),
                "sample_rate": info.samplerate,
                "samples": info.frames,
                "seconds": info.frames / info.samplerate,
            }
        )
    return pd.DataFrame(rows)


def check_lengths(manifest: pd.DataFrame, dataset: str, min_samples: int) -> None:
    """Every recording must hold a whole window of the longest kind its models train on; a
    shorter one is most likely a truncated file, and would leave a shard without windows."""
    short = manifest[manifest["samples"] < min_samples]
    if len(short):
        listed = ", ".join(f"{r.id} ({r.seconds:.3f} s, {r.samples} samples)" for r in short.itertuples())
        raise SonataError(
            f"dataset {dataset!r}: recording(s) {listed} are shorter than the {min_samples} samples "
            "one training window needs: a truncated or broken file? Replace the audio with a good "
            "copy, or move it out of the corpus and set corpus.on_missing_audio: skip"
        )


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    log = setup_logging(snakemake.log[0])
    recordings = {int(k): v for k, v in snakemake.params.recordings.items()}
    wavs = dict(zip(sorted(recordings), snakemake.input.wavs))
    manifest = build_manifest(snakemake.input.metadata, recordings, wavs)
    check_lengths(manifest, snakemake.wildcards.dataset, int(snakemake.params.min_samples))
    with atomic_path(snakemake.output.manifest, suffix=".parquet") as tmp:
        manifest.to_parquet(tmp, index=False)
    summary = manifest.groupby("split").agg(
        recordings=("id", "count"), movements=("group", "nunique"), minutes=("seconds", "sum")
    )
    summary["minutes"] /= 60
    log.info("%s", summary.round(1).to_string())


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
