"""Note tables and the files they come from and go to: MusicNet label CSVs and MIDI.

A note table is a DataFrame with one row per note: `onset` and `offset` in seconds, `pitch`
(MIDI number) and `program` (1-based GM program, as MusicNet labels it). Everything the notes
route reads or writes goes through one: labels in, labels and MIDI out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sonata import SonataError

LABEL_COLUMNS = [
    "start_time",
    "end_time",
    "instrument",
    "note",
    "start_beat",
    "end_beat",
    "note_value",
]


LABEL_RATE = 44100  # MusicNet label times are sample indices at 44.1 kHz


NOTE_COLUMNS = ["onset", "offset", "pitch", "program"]
# where a label CSV has them, a note table also carries its score position: start_beat (beats,
# quarter notes, from the recording's start) and end_beat (its duration in beats, as MusicNet has it)
BEAT_COLUMNS = ["start_beat", "end_beat"]


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
    for column in BEAT_COLUMNS:  # a score's position: kept where every row has a number
        if column in table.columns:
            beats = pd.to_numeric(table[column], errors="coerce")
            if beats.notna().all():
                notes[column] = beats.astype(float).to_numpy()
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


def write_tracks(
    path: str | Path,
    ticks_per_quarter: int,
    tempos: list[tuple[int, float]],
    parts: list[tuple[int, int, list[tuple[int, int, int, int]]]],
) -> None:
    """A type-1 MIDI file: a tempo track of (tick, quarter notes per minute) changes, then one
    track per part (1-based GM program, channel, notes as (on tick, off tick, pitch, velocity)),
    a note's end before any start at the same tick. Every MIDI file sonata writes goes through it."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=ticks_per_quarter)
    tempo_track = mido.MidiTrack()
    now = 0
    for tick, qpm in tempos:
        tempo_track.append(mido.MetaMessage("set_tempo", tempo=round(60_000_000 / qpm), time=tick - now))
        now = tick
    midi.tracks.append(tempo_track)
    for program, channel, notes in parts:
        timeline = sorted(
            [(off, 0, pitch, 0) for _, off, pitch, _ in notes] + [(on, 1, p, v) for on, _, p, v in notes]
        )
        track = mido.MidiTrack([mido.Message("program_change", program=program - 1, channel=channel, time=0)])
        now = 0
        for tick, is_on, pitch, velocity in timeline:
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, note=pitch, velocity=velocity, channel=channel, time=tick - now))
            now = tick
        midi.tracks.append(track)
    midi.save(str(path))


def write_midi(notes: pd.DataFrame, path: str, qpm: float = 120.0, ticks_per_quarter: int = 480) -> None:
    """A type-1 MIDI file, one track and channel per GM program (the drum channel 10 skipped)."""
    ticks_per_second = ticks_per_quarter * qpm / 60.0
    parts = []
    for index, (program, part) in enumerate(notes.groupby("program", sort=True)):
        channel = index % 15 + (index % 15 >= 9)  # 0-8, 10-15
        played = []
        for note in part.itertuples():
            on = round(note.onset * ticks_per_second)
            off = max(on + 1, round(note.offset * ticks_per_second))
            played.append((on, off, int(note.pitch), 80))
        parts.append((int(program), channel, played))
    write_tracks(path, ticks_per_quarter, [(0, qpm)], parts)


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


def transposed(notes: pd.DataFrame, semitones: int, speed: float = 1.0) -> pd.DataFrame:
    """The notes `semitones` higher and `speed` times as fast (times over speed): the notes of
    their audio played through sonata.audio.speed_up(audio, speed)."""
    moved = notes.copy()
    moved["pitch"] = moved["pitch"].astype(int) + int(semitones)
    moved[["onset", "offset"]] = moved[["onset", "offset"]].astype(float) / speed
    return moved


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
