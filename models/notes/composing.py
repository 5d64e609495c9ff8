"""What every composer shares once trained: the primer a piece starts from (held-out notes), the
instruments it may use, and its tokens as the notes of a piece of a given length. The run and
the benchmarks compose through compose_piece.

A composer's vocabulary needs `step` (seconds per time step), `encode(table)`,
`decode(tokens, program)`, `elapsed_steps(tokens)`, `last_program(tokens)` and `tempo(tokens)`
(models.notes.tokens.NoteVocabulary has them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.notes.tokens import NoteVocabulary
from sonata import SonataError
from sonata.instruments import fit_to_range

PRIMER_ENDS = (1 / 3, 2 / 3, 1 / 2, 1 / 6, 5 / 6)  # where a recording's 1st, 2nd, ... primer ends (fraction)


def choose_primer(tables: list[pd.DataFrame], index: int, vocabulary: NoteVocabulary, past: int) -> tuple:
    """(recording index, primer tokens, program, (start, end) seconds of the primer in the
    recording): the `past` tokens of test recording index (cycling over those with enough
    tokens) that end a third of the way into it, on the next round over the recordings two
    thirds, then half, ... (PRIMER_ENDS): pieces primed by one recording start from other music."""
    usable = [i for i, t in enumerate(tables) if len(vocabulary.encode(t)) > past]
    if not usable:
        raise SonataError(
            f"no held-out recording has the {past} note tokens a primer needs: lower the composer's "
            "`past` (notes.composer), or hold out longer recordings (split:)"
        )
    k = usable[index % len(usable)]
    tokens = vocabulary.encode(tables[k])
    times = vocabulary.elapsed_steps(tokens)
    fraction = PRIMER_ENDS[(index // len(usable)) % len(PRIMER_ENDS)]
    end = int(np.searchsorted(times, times[-1] * fraction)) + 1
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
    """The notes of a piece's composed tokens, cut to its length, each in its instrument's
    compass. The primer's last instrument (else `program`, the primer recording's commonest)
    plays until the composer names another."""
    last = vocabulary.last_program(primer)
    first = program if last is None else last
    return playable(cut(vocabulary.decode(tokens, program=first), seconds))


def playable(notes: pd.DataFrame) -> pd.DataFrame:
    """Every note moved by whole octaves into its instrument's compass (sonata.instruments), so
    that a player can play the piece as written."""
    fitted = [fit_to_range(int(p), int(g)) for p, g in zip(notes["pitch"], notes["program"])]
    return notes.assign(pitch=np.asarray(fitted, dtype=np.int64)) if len(notes) else notes


def compose_piece(
    sampler: Any,
    tables: list[pd.DataFrame],
    number: int,
    seconds: float,
    temperature: float,
    top_p: float,
    keep_ensemble: bool,
    seed: int,
) -> tuple[int, pd.DataFrame, tuple[float, float], int, float]:
    """Piece `number` (it picks the primer) of `seconds`: (primer recording index, notes, primer's
    (start, end) seconds in it, tokens drawn, the quarter notes per minute it is written at: its
    primer's, which the sampler keeps, and what its MIDI and labels count beats at). The run and
    the benchmarks compose through this."""
    vocabulary = sampler.vocabulary
    k, primer, program, span = choose_primer(tables, number, vocabulary, sampler.past)
    instruments = piece_instruments(tables[k], keep_ensemble)
    tokens = sampler.compose(primer, seconds, temperature, top_p, seed, instruments=instruments)
    notes = composed_notes(tokens, primer, program, vocabulary, seconds)
    return k, notes, span, len(tokens), float(vocabulary.tempo(primer))
