"""Convert one recording (mp3 or wav, any rate, any channels) to mono PCM wav at the workflow rate."""

import logging

from sonata.convert import convert

log = logging.getLogger("sonata.convert")


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    facts = convert(snakemake.input.audio, snakemake.output.wav, snakemake.params.sample_rate)
    log.info("converted %s -> %s: %s", snakemake.input.audio, snakemake.output.wav, facts)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
