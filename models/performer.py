"""The WaveNet performer: a WaveNet that plays given notes (local conditioning on a piano
roll); and what every performer shares (models.performers): PerformerSettings, the level
channel and the frames' levels.

Each 10 ms frame of the roll (88 keys held + 88 keys struck) goes through a small conditioning
network to a bias on every layer's gates, repeated over the frame's samples: the notes reach
every layer, so the network cannot learn to ignore them. Its input is the mu-law code of the
previous sample through an embedding (a scalar input learns more slowly).

Labels carry no loudness, so a performer left alone picks its own, and it played thin textures
at about half the real level. With `level_db` set, every frame also carries one more channel: in
training, the RMS level of the audio around that frame (`level_frames` frames centred on it), and,
when performing, the level asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sonata import SonataError
from sonata.audio import decimate, read_audio, speed_up
from sonata.batching import by_length
from sonata.mulaw import mulaw_decode, mulaw_encode
from sonata.notes import KEYS, piano_roll, pitch_guide, transposed

LEVEL_CENTRE_DB = -30.0  # the level channel reads (dB - centre) / span: about -1..1 over music
LEVEL_SPAN_DB = 30.0
LEVEL_FLOOR_DB = -90.0  # digital silence reads as this, not as minus infinity

if TYPE_CHECKING:
    from models.architectures.wavenet import WaveNetSpec
    from sonata.records import ModelCard


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
        performer = notes_cfg["performer"]
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


@dataclass(frozen=True)
class PerformedRecording:
    """A recording as the performer learns it: mu-law codes and the roll of its notes."""

    codes: np.ndarray  # int32 (samples,)
    roll: np.ndarray  # float32 (frames, 176), frames * frame_samples <= samples
    condition: int  # global-conditioning id (its ensemble), 0 without
    power: np.ndarray | None = None  # float64 (frames,): the decoded audio's mean square per frame

    @property
    def frames(self) -> int:
        return len(self.roll)

    @classmethod
    def from_codes(
        cls, codes: np.ndarray, roll: np.ndarray, condition: int, quantization: int, frame_samples: int
    ) -> PerformedRecording:
        """A recording with its frames' power measured on the audio its codes decode to (the
        audio the performer learns to make, so the level it learns is the level it plays)."""
        audio = mulaw_decode(codes[: len(roll) * frame_samples], quantization)
        return cls(codes.astype(np.int32), roll, condition, frame_power(audio, len(roll), frame_samples))


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


def prepare(
    wav: str,
    notes: pd.DataFrame,
    settings: PerformerSettings,
    quantization: int,
    condition: int = 0,
    semitones: tuple[int, ...] = (0,),
) -> list[PerformedRecording]:
    """Read a recording at the performer's rate and line its notes up with its samples: one
    PerformedRecording per transposition in `semitones` (see performed)."""
    audio = performer_audio(wav, settings)
    return [performed(audio, notes, settings, quantization, condition, k) for k in semitones]


def performed(
    audio: np.ndarray,
    notes: pd.DataFrame,
    settings: PerformerSettings,
    quantization: int,
    condition: int = 0,
    semitones: int = 0,
) -> PerformedRecording:
    """Audio at the performer's rate and its notes as the performer learns them. With semitones,
    both move: the audio resampled to play 2 ** (semitones / 12) times as fast, the notes
    transposed and their times shortened to match. A recording heard in several keys spreads
    the performer's training over more keys: the held-out pitches the training notes hold least
    are the ones it plays worst (2026-12-04; the default run's transposition and its outcome:
    config.yaml, notes.performer.transpose)."""
    audio, notes = heard_at(audio, notes, semitones)
    frames = len(audio) // settings.frame_samples
    roll = piano_roll(notes, frames, settings.frame_seconds, settings.onset_frames)
    codes = mulaw_encode(audio, quantization)
    return PerformedRecording.from_codes(codes, roll, condition, quantization, settings.frame_samples)


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


def window_batch(
    recordings: list[PerformedRecording],
    settings: PerformerSettings,
    batch: int,
    rng: np.random.Generator,
    crop: int = 0,
    conditioned: bool = False,
    guided: bool = False,
):
    """Random frame-aligned windows: ((codes, roll[, pitch guide][, condition ids]), the next
    sample's codes from position `crop` on (where the receptive field is full)). With
    settings.level_db set, every roll frame ends with the level of the audio around it
    (frame_levels_db over settings.level_frames, through level_feature)."""
    frames = settings.window_frames
    step = settings.frame_samples
    usable = np.array([max(0, len(r.roll) - frames - 1) for r in recordings], dtype=float)
    picks = rng.choice(len(recordings), batch, p=usable / usable.sum())
    codes = np.empty((batch, frames * step), np.int32)
    targets = np.empty_like(codes)
    keys = recordings[0].roll.shape[1]
    levelled = settings.level_db is not None
    rolls = np.empty((batch, frames, keys + levelled), np.float32)
    conditions = np.empty((batch, 1), np.int32)
    guides = np.empty((batch, frames * step, 2), np.float32) if guided else None
    for i, k in enumerate(picks):
        rec = recordings[k]
        first = int(rng.integers(0, usable[k]))
        start = first * step
        codes[i] = rec.codes[start : start + frames * step]
        targets[i] = rec.codes[start + 1 : start + frames * step + 1]
        rolls[i, :, :keys] = rec.roll[first : first + frames]
        if levelled:
            rolls[i, :, keys] = level_feature(frame_levels_db(rec, first, frames, settings.level_frames))
        conditions[i] = rec.condition
        if guided:
            guides[i] = pitch_guide(rolls[i, :, :keys], step, settings.sample_rate, first)
    inputs = (codes, rolls) + ((guides,) if guided else ()) + ((conditions,) if conditioned else ())
    return inputs, targets[:, crop:]


def performer_spec(cfg: dict, settings: PerformerSettings) -> WaveNetSpec:
    """The performer's WaveNet: the config's network, fed settings.note_channels per frame (2 x 88
    roll channels and the level), its loss on every sample of a window that has a full receptive
    field behind it."""
    from models.architectures.wavenet import WaveNetSpec

    draft = WaveNetSpec.from_config({**cfg, "chunk": 1})
    chunk = settings.window_frames * settings.frame_samples - draft.receptive_field + 1
    if chunk < 1:
        raise SonataError(
            f"notes.performer.window_frames {settings.window_frames} gives windows of "
            f"{settings.window_frames * settings.frame_samples} samples, shorter than the receptive field "
            f"({draft.receptive_field}); raise window_frames or lower layers_per_stack"
        )
    return replace(
        draft,
        chunk=chunk,
        local_channels=settings.note_channels,
        frame_samples=settings.frame_samples,
        pitch_guide=bool(cfg.get("pitch_guide", False)),
    )


def perform(
    model,
    spec: WaveNetSpec,
    settings: PerformerSettings,
    pieces: list[pd.DataFrame],
    seconds: list[float],
    condition_ids: np.ndarray | None,
    temperature: float,
    seed: int,
    progress=None,
    floor: float = 0.0,
    guidance: float = 0.0,
) -> list[np.ndarray]:
    """Audio at the performer's rate for each note table, starting from silence (floor: see
    IncrementalWaveNet.sample). Pieces of one length are sampled together, one batch per length
    (sonata.batching), shortest first, with seeds seed, seed + 1, ...

    guidance > 0 pushes every draw towards what the notes ask for, away from what the
    performer would play with no notes at the same level (IncrementalWaveNet's contrast), at
    twice the work."""

    def play(rows: list[int], length: float, offset: int) -> list[np.ndarray]:
        ids = None if condition_ids is None else np.asarray(condition_ids)[rows]
        return _perform_together(
            model,
            spec,
            settings,
            [pieces[i] for i in rows],
            length,
            ids,
            temperature,
            seed + offset,
            progress,
            floor,
            guidance,
        )

    return by_length(seconds, play)


def _perform_together(
    model, spec, settings, pieces, seconds, condition_ids, temperature, seed, progress, floor, guidance
):
    from models.wavenet import IncrementalWaveNet, WaveNetWeights

    rate = settings.sample_rate
    longest = int(round(seconds * rate))
    frames = longest // settings.frame_samples + 1
    rolls = np.stack([piano_roll(n, frames, settings.frame_seconds, settings.onset_frames) for n in pieces])
    if settings.level_db is not None:
        rolls = with_level(rolls, settings.level_db)
    if rolls.shape[-1] != spec.local_channels:
        trained_with = "a level channel" if spec.local_channels > 2 * KEYS else "no level channel"
        raise SonataError(
            f"the performer reads {spec.local_channels} channels a frame, the notes give {rolls.shape[-1]}: "
            f"it was trained with {trained_with}, so notes.performer.level_db must be "
            f"{'a number' if spec.local_channels > 2 * KEYS else 'null'} to play it"
        )
    guide = (
        np.stack([pitch_guide(roll[:, : 2 * KEYS], settings.frame_samples, rate) for roll in rolls])
        if spec.pitch_guide
        else None
    )
    contrast = None
    if guidance:
        contrast = rolls.copy()
        contrast[..., : 2 * KEYS] = 0.0  # no notes, the level asked for kept
    sampler = IncrementalWaveNet(
        WaveNetWeights(model, spec), len(pieces), seed, condition_ids, rolls, guide, contrast, guidance
    )
    silence = mulaw_encode(np.zeros((len(pieces), 1), np.float32), spec.quantization_channels)
    sampler.feed(silence.astype(np.int64))
    codes = []
    for done in range(0, longest, rate):
        step = min(rate, longest - done)
        codes.append(sampler.sample(step, temperature, floor))
        if progress is not None:
            progress(step * len(pieces))
    return list(mulaw_decode(np.concatenate(codes, axis=1), spec.quantization_channels))
