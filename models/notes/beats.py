"""Beat-grid composer tokens: a note table as events on a grid of `grid` steps per beat, with
absolute pitches, durations, instruments and the tempo that turns beats back into seconds.

A note is NOTE(pitch) followed by DURATION tokens that add up to its length in grid steps;
SHIFT tokens advance the grid between onsets (none between the notes of a chord, which come
highest first, so the first note of each onset is its top voice); PROGRAM precedes a note whose
instrument differs from the one before; TEMPO (beats per minute, 16 bins an octave, 120 bpm one of them)
opens a sequence and stands at every multiple of `tempo_every` beats (SHIFT tokens stop there),
so that any stretch of tokens (a composer's primer) says how fast its beats go and where the
bars fall.

Beats come from a table's `start_beat` (beats from the recording's start) and `end_beat` (the
note's length in beats), as MusicNet's label CSVs carry them; a table without them is read on a
fixed grid of `fallback_bpm`. The tempo bin of each `tempo_every`-beat stretch is the one that
brings the decoded time at its end nearest the real time there, so decoded onsets never drift.
The round trip is exact in grid steps and pitches; in seconds, onsets are within one stretch's
tempo quantization and lengths within a bin (4.4 %); exact for a table without beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.notes.keyboard import KEYS, LOWEST, fold_pitch
from sonata.labels import NOTE_COLUMNS

TEMPO_BINS = 64  # 20.6 bpm to 311 bpm, 16 bins an octave
TEMPO_ANCHOR, TEMPO_ANCHOR_BIN = 120.0, 41  # bin 41 is 120 bpm exactly (the fallback)
TEMPO_PER_OCTAVE = 16


def tempo_bin(bpm: float) -> int:
    return int(
        np.clip(np.rint(TEMPO_PER_OCTAVE * np.log2(bpm / TEMPO_ANCHOR)) + TEMPO_ANCHOR_BIN, 0, TEMPO_BINS - 1)
    )


def bin_bpm(index: int) -> float:
    return float(TEMPO_ANCHOR * 2.0 ** ((index - TEMPO_ANCHOR_BIN) / TEMPO_PER_OCTAVE))


def note_beats(notes: pd.DataFrame, fallback_bpm: float) -> tuple[np.ndarray, np.ndarray]:
    """(onset, length) in beats of each note: the table's start_beat / end_beat where it has
    them, else its seconds at `fallback_bpm`."""
    if {"start_beat", "end_beat"} <= set(notes.columns):
        start = pd.to_numeric(notes["start_beat"], errors="coerce").to_numpy(dtype=float)
        length = pd.to_numeric(notes["end_beat"], errors="coerce").to_numpy(dtype=float)
        if len(start) == 0 or (np.isfinite(start).all() and np.isfinite(length).all()):
            return start, length
    per_second = fallback_bpm / 60.0
    onset = notes["onset"].to_numpy(dtype=float)
    return onset * per_second, (notes["offset"].to_numpy(dtype=float) - onset) * per_second


@dataclass(frozen=True)
class BeatVocabulary:
    """Token ids: start (also padding), SHIFT 1..max_shift grid steps, NOTE per key,
    DURATION 1..max_duration grid steps, PROGRAM per GM program, TEMPO per tempo bin."""

    grid: int = 12  # grid steps per beat (12: sixteenths and triplets exact)
    max_shift: int = 48  # grid steps one SHIFT advances (4 beats)
    max_duration: int = 48  # grid steps one DURATION adds (4 beats)
    tempo_every: int = 8  # beats between TEMPO tokens (a multiple of 4)
    fallback_bpm: float = 120.0  # the tempo of a table without beats
    step: float = 0.01  # seconds per step of elapsed_steps (what models.notes.composing reads)

    @property
    def start(self) -> int:
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
    def tempo0(self) -> int:
        return self.program0 + 128

    @property
    def size(self) -> int:
        return self.tempo0 + TEMPO_BINS

    def kinds(self) -> np.ndarray:
        """Per token: 0 start, 1 shift, 2 note, 3 duration, 4 program, 5 tempo."""
        return np.repeat(
            [0, 1, 2, 3, 4, 5], [1, self.max_shift, KEYS, self.max_duration, 128, TEMPO_BINS]
        ).astype(np.int64)

    def tempo_token(self, bpm: float) -> int:
        return self.tempo0 + tempo_bin(bpm)

    def token_bpm(self, token: int) -> float:
        return bin_bpm(int(token) - self.tempo0)

    def tempo(self, tokens: np.ndarray) -> float:
        """Quarter notes per minute the tokens are written at: their last TEMPO's (the sampler
        keeps its primer's), else the fallback; a composed piece's MIDI and labels say it."""
        last = self.last_tempo(tokens)
        return self.fallback_bpm if last is None else self.token_bpm(last)

    def last_tempo(self, tokens: np.ndarray) -> int | None:
        """The last TEMPO token of a sequence, None without one."""
        tokens = np.asarray(tokens)
        tempos = tokens[tokens >= self.tempo0]
        return int(tempos[-1]) if len(tempos) else None

    def encode(self, notes: pd.DataFrame) -> np.ndarray:
        """Token ids (int32) for a note table (see the module's docstring)."""
        if len(notes) == 0:
            return np.asarray([self.tempo_token(self.fallback_bpm)], dtype=np.int32)
        beats, lengths = note_beats(notes, self.fallback_bpm)
        onsets = np.rint(beats * self.grid).astype(np.int64)
        steps = np.maximum(1, np.rint(lengths * self.grid).astype(np.int64))
        pitches = np.array([fold_pitch(int(p)) for p in notes["pitch"].to_numpy()], dtype=np.int64)
        programs = notes["program"].to_numpy().astype(np.int64)
        seconds = notes["onset"].to_numpy(dtype=float)
        order = np.lexsort((-pitches, onsets))  # by onset, the highest note first
        onsets, steps, pitches, programs, seconds = (
            a[order] for a in (onsets, steps, pitches, programs, seconds)
        )
        span = self.tempo_every * self.grid
        tempos = self._tempos(onsets, seconds, span, {"start_beat", "end_beat"} <= set(notes.columns))
        tokens: list[int] = [tempos[0]]
        time, program = 0, None
        for onset, length, pitch, prog in zip(
            onsets.tolist(), steps.tolist(), pitches.tolist(), programs.tolist()
        ):
            while time < onset:  # shifts stop at every TEMPO boundary, where a TEMPO follows
                boundary = (time // span + 1) * span
                shift = min(onset, boundary) - time
                while shift > 0:
                    part = min(shift, self.max_shift)
                    tokens.append(self.shift0 + part - 1)
                    shift -= part
                time = min(onset, boundary)
                if time == boundary:
                    tokens.append(tempos[time // span])
            if prog != program:
                tokens.append(self.program0 + prog - 1)
                program = prog
            tokens.append(self.note0 + pitch - LOWEST)
            while length > 0:
                part = min(length, self.max_duration)
                tokens.append(self.duration0 + part - 1)
                length -= part
        return np.asarray(tokens, dtype=np.int32)

    def _tempos(self, onsets: np.ndarray, seconds: np.ndarray, span: int, has_beats: bool) -> list[int]:
        """The TEMPO token of each `span`-step stretch up to the last onset: the bin that brings
        the decoded time at the stretch's end nearest the real time there (the recording's
        onsets in seconds over their grid steps, interpolated), so that decoded times never
        drift from the real ones by more than a stretch's quantization."""
        count = int(onsets.max() // span) + 1
        if not has_beats:
            return [self.tempo_token(self.fallback_bpm)] * count
        grid, first = np.unique(onsets, return_index=True)
        real = seconds[first]
        if len(grid) < 2:
            return [self.tempo_token(self.fallback_bpm)] * count
        ends = np.arange(1, count + 1) * span
        slope_end = (real[-1] - real[-2]) / (grid[-1] - grid[-2])
        real_ends = np.where(
            ends <= grid[-1], np.interp(ends, grid, real), real[-1] + (ends - grid[-1]) * slope_end
        )
        start = real[0] - grid[0] * (real[1] - real[0]) / (grid[1] - grid[0])  # time at step 0
        decoded, tokens = start, []
        for end in real_ends:
            wanted = end - decoded
            bpm = 60.0 * span / (self.grid * wanted) if wanted > 0 else self.fallback_bpm
            token = self.tempo_token(bpm)
            tokens.append(token)
            decoded += span * 60.0 / (self.grid * self.token_bpm(token))
        return tokens

    def _times(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seconds, grid steps) elapsed after each token: SHIFT tokens at the tempo in force
        (fallback_bpm before the first TEMPO)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        shifts = np.where((tokens >= self.shift0) & (tokens < self.note0), tokens - self.shift0 + 1, 0)
        is_tempo = tokens >= self.tempo0
        bpm_each = np.full(len(tokens), np.nan)
        if is_tempo.any():
            bpm_each[is_tempo] = [bin_bpm(t - self.tempo0) for t in tokens[is_tempo]]
        bpm = pd.Series(bpm_each).ffill().fillna(self.fallback_bpm).to_numpy()
        seconds = np.cumsum(shifts * 60.0 / (bpm * self.grid))
        return seconds, np.cumsum(shifts)

    def elapsed_steps(self, tokens: np.ndarray) -> np.ndarray:
        """Time elapsed at each token, in steps of `step` seconds (float)."""
        return self._times(tokens)[0] / self.step

    def seconds(self, tokens: np.ndarray) -> float:
        """The time the SHIFT tokens of a sequence advance, in seconds."""
        seconds = self._times(tokens)[0]
        return float(seconds[-1]) if len(seconds) else 0.0

    def last_program(self, tokens: np.ndarray) -> int | None:
        """The 1-based GM program the last PROGRAM token names, None without one."""
        tokens = np.asarray(tokens)
        programs = tokens[(tokens >= self.program0) & (tokens < self.tempo0)]
        return int(programs[-1] - self.program0 + 1) if len(programs) else None

    def decode(self, tokens: np.ndarray, program: int = 1) -> pd.DataFrame:
        """The note table of a token sequence, in seconds at the tempo in force at each note
        (fallback_bpm before the first TEMPO); stray DURATION tokens are ignored, a note without
        one lasts a grid step."""
        tokens = np.asarray(tokens, dtype=np.int64)
        seconds, _ = self._times(tokens)
        rows: list[list[float]] = []
        bpm = self.fallback_bpm
        current: list[float] | None = None
        for i, token in enumerate(tokens.tolist()):
            now = float(seconds[i])
            if self.shift0 <= token < self.note0:
                current = None
            elif self.note0 <= token < self.duration0:
                current = [now, now, token - self.note0 + LOWEST, program]
                rows.append(current)
            elif self.duration0 <= token < self.program0 and current is not None:
                current[1] += (token - self.duration0 + 1) * 60.0 / (bpm * self.grid)
            elif self.program0 <= token < self.tempo0:
                program = token - self.program0 + 1
                current = None
            elif token >= self.tempo0:
                bpm = self.token_bpm(token)
        notes = pd.DataFrame(rows, columns=NOTE_COLUMNS)
        short = notes["offset"] <= notes["onset"]
        notes.loc[short, "offset"] = notes.loc[short, "onset"] + 60.0 / (bpm * self.grid)
        return notes.astype({"onset": float, "offset": float, "pitch": int, "program": int})
