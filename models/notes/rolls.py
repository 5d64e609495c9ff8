"""Piano rolls: a note table as the frames a performer reads (keys held, keys struck)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.notes.keyboard import KEYS, LOWEST, fold_pitch


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
