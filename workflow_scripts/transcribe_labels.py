"""Label a recording by transcription (sonata.transcription.transcribe_labels): its label CSV
and what was measured (notes, CPU time, F1 against the corpus's own labels where it has them)."""

import json
import logging

from sonata.audio import atomic_path
from sonata.transcription import transcribe_labels, transcriber_settings

log = logging.getLogger("sonata.transcribe")


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    measured = transcribe_labels(
        snakemake.input.wav,
        snakemake.output.labels,
        transcriber_settings(snakemake.params.transcription),
        int(snakemake.params.transcription["program"]),
        snakemake.input.labels[0] if snakemake.input.labels else None,
        on_no_notes=snakemake.params.transcription["on_no_notes"],
    )
    with atomic_path(snakemake.output.quality, suffix=".json") as tmp:
        tmp.write_text(json.dumps({"id": int(snakemake.wildcards.id), **measured}, indent=2))
    log.info("recording %s: %s", snakemake.wildcards.id, measured)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
