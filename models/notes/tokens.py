"""Composer tokens: a note table as events (time shifts, note starts, durations, instruments)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.notes.keyboard import HIGHEST, KEYS, LOWEST, fold_pitch
from sonata.labels import NOTE_COLUMNS


@dataclass(frozen=True)
class NoteVocabulary:
    """Composer tokens: time shifts, note starts, durations and instrument changes.

    A note is NOTE(pitch) followed by DURATION tokens that add up to its length (a long note
    takes several), so every composed note ends; SHIFT tokens advance time between onsets
    (none between the notes of a chord); PROGRAM precedes a note whose instrument differs from
    the one before. Times are whole steps of `step` seconds: the round trip is exact to a step.
    """

    step: float = 0.01
    max_shift: int = 100  # steps one SHIFT token can advance
    max_duration: int = 100  # steps one DURATION token can add

    @property
    def start(self) -> int:  # also the padding token
        return 0

    @property
    def shift0(self) -> int:
        return 1

    @property
    def note0(self) -> int:
        return self.shift0 + self.max_shift

    @property
    def duration0(self) -> int:
        return self.note0 + KEYS

    @property
    def program0(self) -> int:
        return self.duration0 + self.max_duration

    @property
    def size(self) -> int:
        return self.program0 + 128

    def kinds(self) -> np.ndarray:
        """Per token: 0 start, 1 shift, 2 note, 3 duration, 4 program."""
        return np.repeat([0, 1, 2, 3, 4], [1, self.max_shift, KEYS, self.max_duration, 128])

    def elapsed_steps(self, tokens: np.ndarray) -> np.ndarray:
        """Time steps (of `step` seconds) elapsed at each token: where a primer lies in its piece."""
        tokens = np.asarray(tokens)
        shifts = (tokens >= self.shift0) & (tokens < self.note0)
        return np.cumsum(np.where(shifts, tokens - self.shift0 + 1, 0))

    def tempo(self, tokens: np.ndarray) -> float:
        """Quarter notes per minute the tokens are written at: none (10-ms time steps, no beat),
        so a composed piece's MIDI and labels count beats at a nominal 120."""
        return 120.0

    def last_program(self, tokens: np.ndarray) -> int | None:
        """The 1-based GM program the last instrument token names, None without one."""
        programs = np.asarray(tokens)[np.asarray(tokens) >= self.program0]
        return int(programs[-1] - self.program0 + 1) if len(programs) else None

    def seconds(self, tokens: np.ndarray) -> float:
        """The time the SHIFT tokens of a sequence advance."""
        tokens = np.asarray(tokens)
        shifts = tokens[(tokens >= self.shift0) & (tokens < self.note0)]
        return float((shifts - self.shift0 + 1).sum() * self.step)

    def transpose(self, tokens: np.ndarray, semitones: int) -> np.ndarray:
        """The same tokens with every NOTE moved by `semitones`, folded into the keys."""
        tokens = np.array(tokens, dtype=np.int32)
        notes = (tokens >= self.note0) & (tokens < self.duration0)
        pitch = tokens[notes] - self.note0 + LOWEST + semitones
        pitch = np.where(pitch < LOWEST, pitch + 12 * ((LOWEST - pitch + 11) // 12), pitch)
        pitch = np.where(pitch > HIGHEST, pitch - 12 * ((pitch - HIGHEST + 11) // 12), pitch)
        tokens[notes] = self.note0 + pitch - LOWEST
        return tokens

    def encode(self, notes: pd.DataFrame, transpose: int = 0) -> np.ndarray:
        """Token ids (int32) for a note table; pitches moved by `transpose`, folded into the keys."""
        tokens: list[int] = []
        time, program = 0, None
        onsets = np.rint(notes["onset"].to_numpy() / self.step).astype(np.int64)
        lengths = np.maximum(1, np.rint(notes["offset"].to_numpy() / self.step).astype(np.int64) - onsets)
        for onset, length, pitch, prog in zip(
            onsets, lengths, notes["pitch"].to_numpy(), notes["program"].to_numpy()
        ):
            gap = int(onset - time)
            while gap > 0:
                shift = min(gap, self.max_shift)
                tokens.append(self.shift0 + shift - 1)
                gap -= shift
            time = int(max(time, onset))
            if prog != program:
                tokens.append(self.program0 + int(prog) - 1)
                program = prog
            tokens.append(self.note0 + fold_pitch(int(pitch) + transpose) - LOWEST)
            left = int(length)
            while left > 0:
                part = min(left, self.max_duration)
                tokens.append(self.duration0 + part - 1)
                left -= part
        return np.asarray(tokens, dtype=np.int32)

    def decode(self, tokens: np.ndarray, program: int = 1) -> pd.DataFrame:
        """The note table of a token sequence; stray DURATION tokens are ignored, a note without
        one lasts a step."""
        rows: list[list[float]] = []
        time = 0
        current: list[float] | None = None
        for token in np.asarray(tokens).tolist():
            if self.shift0 <= token < self.note0:
                time += token - self.shift0 + 1
                current = None
            elif self.note0 <= token < self.duration0:
                current = [time, time, token - self.note0 + LOWEST, program]
                rows.append(current)
            elif self.duration0 <= token < self.program0 and current is not None:
                current[1] += token - self.duration0 + 1
            elif token >= self.program0:
                program = token - self.program0 + 1
                current = None
        notes = pd.DataFrame(rows, columns=NOTE_COLUMNS)
        notes["offset"] = np.where(notes["offset"] > notes["onset"], notes["offset"], notes["onset"] + 1)
        notes[["onset", "offset"]] = notes[["onset", "offset"]].astype(float) * self.step
        return notes.astype({"pitch": int, "program": int})
