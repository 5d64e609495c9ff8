"""What the transcriber hears of every piece with notes (sonata.metrics.transcription_table)."""

import logging

from sonata.audio import atomic_path
from sonata.metrics import transcription_table
from sonata.transcription import transcriber_settings

log = logging.getLogger("sonata.metrics")


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    table = transcription_table(snakemake.params.pieces, transcriber_settings(snakemake.params.transcription))
    with atomic_path(snakemake.output.heard, suffix=".parquet") as tmp:
        table.to_parquet(tmp, index=False)
    log.info("\n%s", table.to_string(index=False))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
