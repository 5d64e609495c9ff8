"""Compose note pieces with a dataset's composer, primed with held-out notes; MIDI and labels out."""

import json
import logging

from models.notes.composing import compose_piece
from sonata.audio import atomic_path
from sonata.labels import labels_table, write_midi
from sonata.shards import read_notes_shard

log = logging.getLogger("sonata.compose")


def compose(
    card_path: str,
    weights_path: str,
    test_path: str,
    durations: list[float],
    midi_out: list[str],
    labels_out: list[str],
    sampling: dict,
    frame_seconds: float,
    seed: int,
    info_out: str,
) -> list[dict]:
    """Each piece of `durations`, primed by held-out notes in turn among the pieces of its length
    (models.notes.composing.choose_primer; piece i is seeded seed + i),
    with the sampling settings its composer reads (`sampling`: notes.composer's sampling keys)."""
    from models.notes.composers import heldout_bits, load_sampler

    sampler = load_sampler(card_path, weights_path, frame_seconds, sampling)
    header, tables = read_notes_shard(test_path)
    pieces = []
    for i, (seconds, midi, labels) in enumerate(zip(durations, midi_out, labels_out)):
        number = durations[: i + 1].count(seconds)  # the piece's number among those of its length
        k, notes, (prime_start, prime_end), drawn, qpm = compose_piece(
            sampler,
            tables,
            number - 1,  # the pieces of one length take primers in turn (choose_primer)
            seconds,
            sampling["temperature"],
            sampling["top_p"],
            sampling["keep_ensemble"],
            seed + i,
        )
        if notes.empty:
            log.warning(
                "the %g-s piece has no notes: the composer wrote only time before its end; "
                "train it longer (notes.composer: epochs, steps_per_epoch)",
                seconds,
            )
        write_midi(notes, midi, qpm=qpm)
        with atomic_path(labels, suffix=".csv") as tmp:
            labels_table(notes, qpm=qpm).to_csv(tmp, index=False)
        pieces.append(
            {
                "seconds": seconds,
                "number": number,
                "midi": midi,
                "labels": labels,
                "notes": len(notes),
                "tokens": drawn,
                "qpm": qpm,
                "prime_id": header.source_ids[k],
                "prime_start": prime_start,  # seconds into the recording
                "prime_length": prime_end - prime_start,  # seconds
                "composer": header.composers[k],
                "ensemble": header.ensembles[k],
            }
        )
        log.info(
            "composed %.0f s: %d notes from %d tokens, primed by %d",
            seconds,
            len(notes),
            drawn,
            header.source_ids[k],
        )
    bits = heldout_bits(card_path, weights_path, frame_seconds, test_path)
    log.info("held-out notes: %.2f bits per note (%d notes)", bits["bits_per_note"], bits["notes"])
    with atomic_path(info_out, suffix=".json") as tmp:
        tmp.write_text(
            json.dumps(
                {**sampling, "heldout_bits_per_note": bits["bits_per_note"], "pieces": pieces},
                indent=2,
            )
        )
    return pieces


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    compose(
        snakemake.input.info,
        snakemake.input.weights,
        snakemake.input.test,
        list(snakemake.params.durations),
        list(snakemake.output.midi),
        list(snakemake.output.labels),
        dict(snakemake.params.sampling),
        float(snakemake.params.frame_seconds),
        int(snakemake.params.seed),
        snakemake.output.info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
