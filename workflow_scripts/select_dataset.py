"""Write a dataset's manifest: which recordings it holds and the split each belongs to."""

import pandas as pd
import soundfile as sf

from sonata.audio import atomic_path
from sonata.catalog import read_metadata


def build_manifest(metadata_path: str, assignment: dict[int, str], wavs: dict[int, str]) -> pd.DataFrame:
    metadata = read_metadata(metadata_path).set_index("id")
    rows = []
    for rid, split in sorted(assignment.items()):
        info = sf.info(wavs[rid])
        row = metadata.loc[rid]
        rows.append(
            {
                "id": rid,
                "split": split,
                "composer": str(row["composer"]),
                "ensemble": str(row["ensemble"]),
                "composition": str(row.get("composition", "")),
                "movement": str(row.get("movement", "")),
                "wav": wavs[rid],
                "sample_rate": info.samplerate,
                "samples": info.frames,
                "seconds": info.frames / info.samplerate,
            }
        )
    return pd.DataFrame(rows)


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    log = setup_logging(snakemake.log[0])
    assignment = {int(k): v for k, v in snakemake.params.assignment.items()}
    wavs = dict(zip(sorted(assignment), snakemake.input.wavs))
    manifest = build_manifest(snakemake.input.metadata, assignment, wavs)
    with atomic_path(snakemake.output.manifest, suffix=".parquet") as tmp:
        manifest.to_parquet(tmp, index=False)
    log.info("%s", manifest.groupby("split")["seconds"].agg(["count", "sum"]).to_string())


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
