"""Write the embedded corpus's musicnet_metadata.csv once every piece is rendered."""

import soundfile as sf

from sonata.audio import atomic_path
from sonata.catalog import embedded_metadata


def write_metadata(corpus_cfg: dict, audio_paths: list[str], path: str) -> None:
    table = embedded_metadata(corpus_cfg)
    table["seconds"] = [round(sf.info(p).duration) for p in audio_paths]
    with atomic_path(path, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    write_metadata(snakemake.config["corpus"], list(snakemake.input.audio), snakemake.output[0])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
