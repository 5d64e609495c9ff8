"""What every performer shares: how notes and audio meet (PerformerSettings), the level
channel, and reading a training recording at the performer's rate.

Labels carry no loudness, so a performer left alone picks its own, and it played thin textures
at about half the real level. With `level_db` set, every frame also carries one more channel: in
training, the RMS level of the audio around that frame (`level_frames` frames centred on it), and,
when performing, the level asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.notes.keyboard import KEYS
from sonata.audio import decimate, read_audio, speed_up
from sonata.labels import transposed

if TYPE_CHECKING:
    from sonata.records import ModelCard


LEVEL_CENTRE_DB = -30.0  # the level channel reads (dB - centre) / span: about -1..1 over music


LEVEL_SPAN_DB = 30.0


LEVEL_FLOOR_DB = -90.0  # digital silence reads as this, not as minus infinity


@dataclass(frozen=True)
class PerformerSettings:
    """How notes and audio meet: the performer's rate, the roll's frames and the window size."""

    sample_rate: int
    frame_seconds: float
    onset_frames: int
    window_frames: int  # frames per training window (samples: window_frames * frame_samples)
    level_db: float | None = None  # the RMS level (dBFS) to play at; None: no level channel
    level_frames: int = 20  # training: each frame's level is the RMS of this many frames around it

    @property
    def frame_samples(self) -> int:
        return int(round(self.frame_seconds * self.sample_rate))

    @property
    def note_channels(self) -> int:
        """Channels per roll frame the network reads: keys held and struck, then the level."""
        return 2 * KEYS + (self.level_db is not None)

    @classmethod
    def from_config(cls, notes_cfg: dict) -> PerformerSettings:
        """The settings of the `notes:` section (its performer and its roll's frames)."""
        return cls.from_sections(notes_cfg, notes_cfg["performer"])

    @classmethod
    def from_sections(cls, notes_cfg: dict, performer: dict) -> PerformerSettings:
        """The settings of a performer's section, framed as the `notes:` section frames its roll
        (frame_seconds, onset_frames): what rule train_performer hands its job."""
        return cls(
            int(performer["sample_rate"]),
            float(notes_cfg["frame_seconds"]),
            int(notes_cfg["onset_frames"]),
            int(performer["window_frames"]),
            None if performer["level_db"] is None else float(performer["level_db"]),
            int(performer["level_frames"]),
        )

    @classmethod
    def from_card(cls, card: ModelCard, frame_seconds: float) -> PerformerSettings:
        """The settings a trained performer plays with, from its model card: its rate, roll
        and level are what it learned, whatever the config says now."""
        scheme = card.scheme
        return cls(
            card.sample_rate,
            frame_seconds,
            scheme["onset_frames"],
            scheme["window_samples"] // scheme["frame_samples"],
            scheme.get("level_db"),  # absent: a card from before levels
        )


def level_feature(db: float | np.ndarray) -> float | np.ndarray:
    """The level channel's value for an RMS level in dBFS."""
    return (np.maximum(db, LEVEL_FLOOR_DB) - LEVEL_CENTRE_DB) / LEVEL_SPAN_DB


def with_level(rolls: np.ndarray, db: float) -> np.ndarray:
    """Rolls (..., frames, 2 * KEYS) with a constant level channel appended: db on every frame."""
    level = np.full(rolls.shape[:-1] + (1,), level_feature(db), np.float32)
    return np.concatenate([rolls.astype(np.float32), level], axis=-1)


def frame_power(audio: np.ndarray, frames: int, frame_samples: int) -> np.ndarray:
    """float64 (frames,): the audio's mean square in each frame (what frame_levels_db reads)."""
    framed = np.asarray(audio[: frames * frame_samples], np.float64)
    return np.square(framed).reshape(frames, frame_samples).mean(axis=1)


def performer_audio(wav: str, settings: PerformerSettings) -> np.ndarray:
    """A recording read at the performer's rate."""
    audio, rate = read_audio(wav)
    if rate % settings.sample_rate:
        raise ValueError(f"{wav}: {rate} Hz is not a multiple of the performer's {settings.sample_rate} Hz")
    return decimate(audio, rate // settings.sample_rate)


def heard_at(audio: np.ndarray, notes: pd.DataFrame, semitones: int) -> tuple[np.ndarray, pd.DataFrame]:
    """The audio resampled to play 2 ** (semitones / 12) times as fast, its notes transposed
    and their times shortened to match; as they are for 0."""
    if not semitones:
        return audio, notes
    speed = 2.0 ** (semitones / 12)
    return speed_up(audio, speed), transposed(notes, semitones, speed)


def transpositions(limit: int) -> tuple[int, ...]:
    """The semitone shifts a training recording is learned at: 0, then -1, +1, ... to +-limit."""
    return (0,) + tuple(s * k for k in range(1, limit + 1) for s in (-1, 1))


def frame_levels_db(recording, first: int, frames: int, span: int) -> np.ndarray:
    """RMS level in dBFS around each of `frames` frames from frame `first`: the mean power of the
    `span` frames centred on it, fewer at the recording's ends. A level this local tells the
    network how loud each note is, lone notes included; a level per training window left it free
    to play thin textures quietly. recording: any performer's training recording with the
    `power` of its frames (PerformedRecording.from_codes, HarmonicRecording)."""
    if recording.power is None:
        raise ValueError("a level-conditioned performer trains on recordings with their frames' power")
    start = max(0, first - span // 2)  # the stretch of power the window's levels read
    stop = min(len(recording.power), first + frames - span // 2 + span)
    running = np.concatenate([[0.0], np.cumsum(recording.power[start:stop])])
    centres = np.arange(first, first + frames) - start
    lo = np.clip(centres - span // 2, 0, stop - start)
    hi = np.clip(centres - span // 2 + span, 0, stop - start)
    power = (running[hi] - running[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(np.maximum(power, 10.0 ** (LEVEL_FLOOR_DB / 10.0)))
