"""Render one embedded-corpus piece: score -> notes with dynamics and tempo -> MIDI -> FluidSynth.

Writes the piece's mp3 and MusicNet label CSV, plus its metadata row, from which
corpus_metadata assembles musicnet_metadata.csv.
"""

from sonata.corpus import build_piece, write_metadata_row


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    params = snakemake.params
    seconds = build_piece(
        params.piece, params.programs, params.render, snakemake.output.audio, snakemake.output.labels
    )
    write_metadata_row(params.piece, seconds, snakemake.output.metadata)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
