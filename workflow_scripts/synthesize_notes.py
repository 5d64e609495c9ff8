"""Hear a dataset's composed notes as written: each composed piece's MIDI through FluidSynth,
the synthesizer of the embedded corpus. Beside the performer's playing of the same notes it
tells the composer's part from the performer's, and its score following is a reference for
how well that playing follows them."""

import json
import logging
import time

from sonata import SonataError
from sonata.audio import atomic_path, write_wav
from sonata.records import SYNTHESIZED, GeneratedPiece, GenerationRecord
from sonata.synth import synthesize

log = logging.getLogger("sonata.synthesize")


def synthesize_all(
    composition_path: str, soundfont: str, gain: float, rate: int, paths: list[str], record_out: str
) -> GenerationRecord:
    """Each composed piece synthesized to its path in `paths` (the composition's order), and
    their record."""
    composition = json.loads(open(composition_path).read())
    if len(paths) != len(composition["pieces"]):
        raise SonataError(f"{composition_path} holds {len(composition['pieces'])} pieces, not {len(paths)}")
    pieces, made, started = [], 0, time.time()
    for piece, path in zip(composition["pieces"], paths):
        seconds = float(piece["seconds"])
        try:
            audio = synthesize(piece["midi"], soundfont, rate, gain, seconds)
        except SonataError as error:
            skip = "or set notes.synthesize: false to skip the synthesized notes"
            raise SonataError(f"{error}; {skip}") from None
        write_wav(path, audio, rate)
        made += len(audio)
        pieces.append(GeneratedPiece.composed(piece, path, rate, SYNTHESIZED))
    wall = max(time.time() - started, 1e-9)
    record = GenerationRecord(
        architecture="FluidSynth",
        temperature=0.0,
        batch=1,
        wall_seconds=round(wall, 2),
        samples_per_second=round(made / wall, 1),
        real_time_factor=round(made / rate / wall, 4),
        pieces=pieces,
    )
    with atomic_path(record_out, suffix=".json") as tmp:
        tmp.write_text(record.to_json())
    log.info("synthesized %d composed pieces in %.1f s", len(pieces), wall)
    return record


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    synthesize_all(
        snakemake.input.composition,
        snakemake.params.soundfont,
        float(snakemake.params.gain),
        int(snakemake.params.sample_rate),
        list(snakemake.output.pieces),
        snakemake.output.info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
