"""Compose note pieces with a dataset's composer, primed with held-out notes; MIDI and labels out."""

import json
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sonata.audio import atomic_path
from sonata.notes import NoteVocabulary, labels_table, write_midi
from sonata.records import ModelCard
from sonata.shards import read_notes_shard

if TYPE_CHECKING:
    from models.composer import ComposerSampler

log = logging.getLogger("sonata.compose")


def choose_primer(tables: list[pd.DataFrame], index: int, vocabulary: NoteVocabulary, past: int) -> tuple:
    """(recording index, primer tokens, program, (start, end) seconds of the primer in the
    recording): the `past` tokens of test recording index (cycling over those with enough
    tokens) that end a third of the way into it."""
    usable = [i for i, t in enumerate(tables) if len(vocabulary.encode(t)) > past]
    k = usable[index % len(usable)]
    tokens = vocabulary.encode(tables[k])
    times = np.cumsum(
        np.where(
            (tokens >= vocabulary.shift0) & (tokens < vocabulary.note0), tokens - vocabulary.shift0 + 1, 0
        )
    )
    end = int(np.searchsorted(times, times[-1] / 3)) + 1
    end = min(max(end, past), len(tokens))
    program = int(tables[k]["program"].mode().iloc[0])
    first_time = times[end - past - 1] if end > past else 0  # frames elapsed before the primer
    span = (float(first_time * vocabulary.step), float(times[end - 1] * vocabulary.step))
    return k, tokens[end - past : end], program, span


def piece_instruments(table: pd.DataFrame, keep_ensemble: bool) -> list[int] | None:
    """The instruments a piece primed by this recording may use: the recording's own with
    keep_ensemble (the performer plays a piece as its primer's ensemble), else any (None)."""
    return sorted(int(p) for p in table["program"].unique()) if keep_ensemble else None


def cut(notes: pd.DataFrame, seconds: float) -> pd.DataFrame:
    """The notes that start within the piece, ended at its end."""
    kept = notes[notes["onset"] < seconds].copy()
    kept["offset"] = kept["offset"].clip(upper=seconds)
    return kept.reset_index(drop=True)


def composed_notes(
    tokens: np.ndarray, primer: np.ndarray, program: int, vocabulary: NoteVocabulary, seconds: float
) -> pd.DataFrame:
    """The notes of a piece's composed tokens, cut to its length. The primer's last instrument
    (else `program`, the primer recording's commonest) plays until the composer names another."""
    programs = primer[primer >= vocabulary.program0]
    first = int(programs[-1] - vocabulary.program0 + 1) if len(programs) else program
    return cut(vocabulary.decode(tokens, program=first), seconds)


def compose_piece(
    sampler: "ComposerSampler",
    tables: list[pd.DataFrame],
    number: int,
    seconds: float,
    temperature: float,
    top_p: float,
    keep_ensemble: bool,
    seed: int,
) -> tuple[int, pd.DataFrame, tuple[float, float], int]:
    """Piece `number` (it picks the primer) of `seconds`: (primer recording index, notes, primer's
    (start, end) seconds in it, tokens drawn). The run and the benchmarks compose through this."""
    vocabulary = sampler.vocabulary
    k, primer, program, span = choose_primer(tables, number, vocabulary, sampler.past)
    instruments = piece_instruments(tables[k], keep_ensemble)
    tokens = sampler.compose(primer, seconds, temperature, top_p, seed, instruments=instruments)
    return k, composed_notes(tokens, primer, program, vocabulary, seconds), span, len(tokens)


def compose(
    card_path: str,
    weights_path: str,
    test_path: str,
    durations: list[float],
    midi_out: list[str],
    labels_out: list[str],
    cfg: dict,
    frame_seconds: float,
    seed: int,
    info_out: str,
) -> list[dict]:
    from models.composer import ComposerSampler, load_composer

    card = ModelCard.from_json(card_path)
    vocabulary = NoteVocabulary(step=frame_seconds)
    sampler = ComposerSampler(load_composer(card, weights_path), vocabulary)
    header, tables = read_notes_shard(test_path)
    pieces = []
    for i, (seconds, midi, labels) in enumerate(zip(durations, midi_out, labels_out)):
        k, notes, (prime_start, prime_end), drawn = compose_piece(
            sampler, tables, i, seconds, cfg["temperature"], cfg["top_p"], cfg["keep_ensemble"], seed + i
        )
        if notes.empty:
            log.warning(
                "the %g-s piece has no notes: the composer wrote only time before its end; "
                "train it longer (notes.composer: epochs, steps_per_epoch)",
                seconds,
            )
        write_midi(notes, midi)
        with atomic_path(labels, suffix=".csv") as tmp:
            labels_table(notes).to_csv(tmp, index=False)
        pieces.append(
            {
                "seconds": seconds,
                "midi": midi,
                "labels": labels,
                "notes": len(notes),
                "tokens": drawn,
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
    with atomic_path(info_out, suffix=".json") as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "temperature": cfg["temperature"],
                    "top_p": cfg["top_p"],
                    "keep_ensemble": cfg["keep_ensemble"],
                    "pieces": pieces,
                },
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
        snakemake.params.composer,
        float(snakemake.params.frame_seconds),
        int(snakemake.params.seed),
        snakemake.output.info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
