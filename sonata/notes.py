"""Notes as data: MusicNet label CSVs, note tables, composer tokens, piano rolls and MIDI.

A note table is a DataFrame with one row per note: `onset` and `offset` in seconds, `pitch`
(MIDI number) and `program` (1-based GM program, as MusicNet labels it). Everything the notes
route reads or writes goes through one: labels in, tokens for the composer, piano-roll frames
for the performer, labels and MIDI out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sonata import SonataError
from sonata.catalog import LABEL_COLUMNS

LABEL_RATE = 44100  # MusicNet label times are sample indices at 44.1 kHz
LOWEST, HIGHEST = 21, 108  # the 88 keys of a piano: the pitch range of tokens and rolls
KEYS = HIGHEST - LOWEST + 1
NOTE_COLUMNS = ["onset", "offset", "pitch", "program"]
INTEGER_COLUMNS = ("start_time", "end_time", "instrument", "note")


def empty_notes() -> pd.DataFrame:
    return pd.DataFrame({"onset": [], "offset": [], "pitch": [], "program": []}).astype(
        {"onset": float, "offset": float, "pitch": int, "program": int}
    )


def read_labels(path: str) -> pd.DataFrame:
    """A MusicNet label CSV as a note table, sorted by onset then pitch.

    A malformed file is an error naming the file, the row (as numbered in a spreadsheet, header
    = row 1), the column and the fix, instead of a pandas traceback.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SonataError(f"label file {path} is not a readable CSV ({error}); re-export it") from None
    missing = [c for c in INTEGER_COLUMNS if c not in table.columns]
    if missing:
        raise SonataError(
            f"label file {path} lacks the column(s) {missing}; MusicNet label CSVs start with "
            f"{','.join(LABEL_COLUMNS)}"
        )
    values = {}
    for column in INTEGER_COLUMNS:
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = numbers.isna() | (numbers != numbers.round())
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SonataError(
                f"label file {path}, row {row + 2}, column {column!r}: {table[column].iloc[row]!r} is "
                f"not a whole number; fix or delete that row ({column} holds "
                + (
                    "a sample index at 44.1 kHz)"
                    if column.endswith("time")
                    else "a 1-based GM program number)"
                    if column == "instrument"
                    else "a MIDI note number)"
                )
            )
        values[column] = numbers.astype(np.int64).to_numpy()
    outside = np.flatnonzero((values["instrument"] < 1) | (values["instrument"] > 128))
    if len(outside):
        row = int(outside[0])
        raise SonataError(
            f"label file {path}, row {row + 2}, column 'instrument': {values['instrument'][row]} is not a "
            "GM program; MusicNet numbers them 1-128 (1 piano, 41 violin, ...): fix or delete that row"
        )
    backwards = np.flatnonzero(values["end_time"] <= values["start_time"])
    if len(backwards):
        row = int(backwards[0])
        raise SonataError(
            f"label file {path}, row {row + 2}: end_time {values['end_time'][row]} is not after "
            f"start_time {values['start_time'][row]}; fix or delete that row"
        )
    notes = pd.DataFrame(
        {
            "onset": values["start_time"] / LABEL_RATE,
            "offset": values["end_time"] / LABEL_RATE,
            "pitch": values["note"],
            "program": values["instrument"],
        }
    )
    return notes.sort_values(["onset", "pitch"], kind="stable").reset_index(drop=True)


def labels_table(notes: pd.DataFrame, qpm: float = 120.0) -> pd.DataFrame:
    """MusicNet label rows for a note table; beats counted at `qpm` (composed notes have no score)."""
    beat = qpm / 60.0
    return pd.DataFrame(
        {
            "start_time": np.rint(notes["onset"].to_numpy() * LABEL_RATE).astype(np.int64),
            "end_time": np.rint(notes["offset"].to_numpy() * LABEL_RATE).astype(np.int64),
            "instrument": notes["program"].astype(int).to_numpy(),
            "note": notes["pitch"].astype(int).to_numpy(),
            "start_beat": notes["onset"].to_numpy() * beat,
            "end_beat": (notes["offset"] - notes["onset"]).to_numpy() * beat,
            "note_value": "",
        },
        columns=LABEL_COLUMNS,
    )


def write_midi(notes: pd.DataFrame, path: str, qpm: float = 120.0, ticks_per_quarter: int = 480) -> None:
    """A type-1 MIDI file, one track and channel per GM program (the drum channel 10 skipped)."""
    import mido

    ticks_per_second = ticks_per_quarter * qpm / 60.0
    midi = mido.MidiFile(ticks_per_beat=ticks_per_quarter)
    tempo = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=round(60_000_000 / qpm), time=0)])
    midi.tracks.append(tempo)
    for index, (program, part) in enumerate(notes.groupby("program", sort=True)):
        channel = index % 15 + (index % 15 >= 9)  # 0-8, 10-15
        events = []
        for note in part.itertuples():
            on = round(note.onset * ticks_per_second)
            off = max(on + 1, round(note.offset * ticks_per_second))
            events += [(on, 1, int(note.pitch)), (off, 0, int(note.pitch))]
        track = mido.MidiTrack(
            [mido.Message("program_change", program=int(program) - 1, channel=channel, time=0)]
        )
        now = 0
        for tick, is_on, pitch in sorted(events):  # offs before ons at the same tick
            kind = "note_on" if is_on else "note_off"
            track.append(
                mido.Message(kind, note=pitch, velocity=80 if is_on else 0, channel=channel, time=tick - now)
            )
            now = tick
        midi.tracks.append(track)
    midi.save(path)


def read_midi(path: str) -> pd.DataFrame:
    """A MIDI file's notes as a note table (tempo changes followed)."""
    import mido

    midi = mido.MidiFile(path)
    rows, sounding, programs, now = [], {}, {}, 0.0
    for message in midi:  # merged tracks, times in seconds
        now += message.time
        if message.type == "program_change":
            programs[message.channel] = message.program + 1
        elif message.type in ("note_on", "note_off"):
            key = (message.channel, message.note)
            if key in sounding:  # a re-struck key ends the note it was playing
                rows.append((sounding.pop(key), now, message.note, programs.get(message.channel, 1)))
            if message.type == "note_on" and message.velocity > 0:
                sounding[key] = now
    notes = pd.DataFrame(rows, columns=NOTE_COLUMNS)
    return notes.sort_values(["onset", "pitch"], kind="stable").reset_index(drop=True)


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


def transposed(notes: pd.DataFrame, semitones: int, speed: float = 1.0) -> pd.DataFrame:
    """The notes `semitones` higher and `speed` times as fast (times over speed): the notes of
    their audio played through sonata.audio.speed_up(audio, speed)."""
    moved = notes.copy()
    moved["pitch"] = moved["pitch"].astype(int) + int(semitones)
    moved[["onset", "offset"]] = moved[["onset", "offset"]].astype(float) / speed
    return moved


def fold_pitch(pitch: int) -> int:
    """Move a pitch by octaves into the 88 keys."""
    while pitch < LOWEST:
        pitch += 12
    while pitch > HIGHEST:
        pitch -= 12
    return pitch


def note_frames(notes: pd.DataFrame, frame_seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each note's first frame, the frame after its last, and its key (0-87): the framing every
    performer's view of the notes shares."""
    first = np.floor(notes["onset"].to_numpy() / frame_seconds).astype(np.int64)
    last = np.ceil(notes["offset"].to_numpy() / frame_seconds).astype(np.int64)
    keys = np.array([fold_pitch(int(p)) - LOWEST for p in notes["pitch"].to_numpy()], dtype=np.int64)
    return first, last, keys


def piano_roll(notes: pd.DataFrame, frames: int, frame_seconds: float, onset_frames: int) -> np.ndarray:
    """(frames, 2 * 88) float32: keys held during each frame, then keys struck in the last
    `onset_frames` frames (a repeated note shows as a new onset, not as one long hold)."""
    roll = np.zeros((frames, 2 * KEYS), dtype=np.float32)
    for start, end, key in zip(*note_frames(notes, frame_seconds)):
        if start >= frames:
            continue
        roll[max(0, start) : min(end, frames), key] = 1.0
        roll[max(0, start) : min(start + onset_frames, frames), KEYS + key] = 1.0
    return roll


def pitch_guide(roll: np.ndarray, frame_samples: int, sample_rate: int, first_frame: int = 0) -> np.ndarray:
    """(frames * frame_samples, 2) float32 at the audio rate: a sine at the frequency of every
    key the roll holds (channel 0) and strikes (channel 1), summed (a neural source-filter
    model's excitation). It hands the performer each note's period sample by sample, where the
    roll only says which keys sound. Phases run with time from frame `first_frame` (a window's
    guide equals the same samples of its recording's); keys at or above Nyquist stay out."""
    frames = roll.shape[0]
    seconds = (first_frame * frame_samples + np.arange(frames * frame_samples)) / sample_rate
    guide = np.zeros((len(seconds), 2), dtype=np.float32)
    sounding = roll.any(axis=0)
    for key in np.flatnonzero(sounding[:KEYS] | sounding[KEYS:]):
        hertz = 440.0 * 2.0 ** ((key + LOWEST - 69) / 12)
        if hertz >= sample_rate / 2:
            continue
        held = np.repeat(roll[:, key], frame_samples)
        struck = np.repeat(roll[:, KEYS + key], frame_samples)
        live = np.flatnonzero(held + struck)
        wave = np.sin(2.0 * np.pi * hertz * seconds[live])
        guide[live, 0] += held[live] * wave
        guide[live, 1] += struck[live] * wave
    return guide


def pitch_classes_at(notes: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """(len(times), 12) counts of the notes sounding at each time, by pitch class."""
    onset = notes["onset"].to_numpy()
    offset = notes["offset"].to_numpy()
    classes = notes["pitch"].to_numpy().astype(np.int64) % 12
    out = np.zeros((len(times), 12))
    for start, end, pc in zip(onset, offset, classes):
        live = (times >= start) & (times < end)
        out[live, pc] += 1.0
    return out


def excerpt(notes: pd.DataFrame, start: float, seconds: float) -> pd.DataFrame:
    """The notes sounding in [start, start + seconds), moved to begin at 0 and cut to fit. A note
    left with under one label sample (1 / 44,100 s) inside is dropped: as labels it would end
    where it starts, which MusicNet's format (and read_labels) refuses."""
    passage = notes[(notes["offset"] > start) & (notes["onset"] < start + seconds)].copy()
    passage["onset"] = (passage["onset"] - start).clip(lower=0.0)
    passage["offset"] = (passage["offset"] - start).clip(upper=seconds)
    kept = np.rint(passage["offset"] * LABEL_RATE) > np.rint(passage["onset"] * LABEL_RATE)
    return passage[kept].reset_index(drop=True)


def passage_start(notes: pd.DataFrame, seconds: float, where: float = 1 / 3) -> float:
    """Where a passage of `seconds` begins `where` of the way into a recording's notes (earlier
    when the recording is too short to hold it there)."""
    end = float(notes["offset"].max())
    return max(0.0, min(end * where, end - seconds))


def spread_passages(tables: list[pd.DataFrame], count: int, seconds: float) -> list[tuple[int, float]]:
    """(recording index, start) of `count` passages of `seconds`: the recordings taken in turn,
    each one's passages spread evenly through it (with r rounds over the recordings, round j
    starts j / (r + 1) of the way in: halfway for one round, a third and two thirds for two, ...),
    so that a mean over them is not one moment's luck."""
    rounds = -(-count // len(tables)) if count else 0
    places = []
    for i in range(count):
        k, turn = i % len(tables), i // len(tables)
        places.append((k, passage_start(tables[k], seconds, (turn + 1) / (rounds + 1))))
    return places
