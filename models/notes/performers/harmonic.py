"""The harmonic performer: a learned harmonic-plus-noise synthesizer that plays given notes.

Every key that sounds is a bank of sines at its equal-tempered frequency and its harmonics; a
small network, shared by all 88 keys, sets each key's loudness and harmonic balance every 10 ms
frame from what the key is doing (held, just struck, how long ago, released), where it lies on
the keyboard, the ensemble and the level asked for, plus a band-filtered noise per frame. It is
trained on the recordings' real audio with a multi-resolution spectral loss (DDSP, Engel et al.
2020; note-level control as in MIDI-DDSP, Wu et al. 2022). Its pitches come from the notes by
construction, so it cannot drop or mistune a voice the way the WaveNet performer does (which
learns the waveform sample by sample and, in the minutes the default run allows, plays the
rarer pitches weakly); what it learns is how each key sounds on each ensemble over time.

The synthesizer itself is models.notes.synths; this module is its control network, what it
reads and how it trains and plays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.nets.harmonic.spec import (
    DECAY_FRAMES,
    KEY_FEATURES,
    RELEASE_FRAMES,
    RELEASE_HORIZON,
    HarmonicSpec,
)
from models.notes.keyboard import KEYS
from models.notes.rolls import note_frames, piano_roll

if TYPE_CHECKING:
    import keras

    from models.notes.performers.settings import PerformerSettings


CHUNK_FRAMES = 500  # frames synthesized at once when performing (memory, not sound)


def key_features(
    notes: pd.DataFrame, frames: int, frame_seconds: float, onset_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame and key what the key is doing: (frames, 88, KEY_FEATURES) float32 features
    (held and struck: the piano roll's two halves; exp(-frames since last struck / tau) for each
    DECAY_FRAMES tau while held; exp(-frames since released / RELEASE_FRAMES) after) and the
    (frames, 88) mask of keys allowed to sound (held, or released under RELEASE_HORIZON ago).
    A key struck again while it sounds (a unison, a repeated note) starts over."""
    roll = piano_roll(notes, frames, frame_seconds, onset_frames)
    held = roll[:, :KEYS] > 0
    first, last, keys = note_frames(notes, frame_seconds)
    now = np.arange(frames)[:, None]
    since = now - _latest(np.maximum(first, 0), keys, frames)
    ended = _latest(last, keys, frames)
    released = ~held & (ended >= 0) & (now - ended < RELEASE_HORIZON)
    features = np.zeros((frames, KEYS, KEY_FEATURES), np.float32)
    features[..., 0], features[..., 1] = held, roll[:, KEYS:]
    for i, tau in enumerate(DECAY_FRAMES):
        features[..., 2 + i] = np.where(held, np.exp(-since / tau), 0.0)
    features[..., -1] = np.where(released, np.exp(-(now - ended) / RELEASE_FRAMES), 0.0)
    return features, (held | released).astype(np.float32)


def _latest(marks: np.ndarray, keys: np.ndarray, frames: int) -> np.ndarray:
    """(frames, 88): for each frame and key, the latest of that key's `marks` (frame indices)
    at or before the frame; -1 before its first."""
    grid = np.full((frames, KEYS), -1, np.int64)
    inside = (marks >= 0) & (marks < frames)
    grid[marks[inside], keys[inside]] = marks[inside]
    return np.maximum.accumulate(grid, axis=0)


@dataclass(frozen=True)
class HarmonicRecording:
    """A recording as the harmonic performer learns it: its audio and what its keys do."""

    audio: np.ndarray  # float32 (samples,)
    features: np.ndarray  # float32 (frames, 88, KEY_FEATURES)
    active: np.ndarray  # float32 (frames, 88)
    condition: int
    power: (
        np.ndarray
    )  # float64 (frames,): mean square per frame (models.notes.performers.settings.frame_levels_db)

    @property
    def frames(self) -> int:
        return len(self.power)


def prepare_harmonic(
    wav: str,
    notes: pd.DataFrame,
    settings: PerformerSettings,
    condition: int = 0,
    semitones: tuple[int, ...] = (0,),
) -> list[HarmonicRecording]:
    """A recording at the performer's rate, once per transposition in `semitones` (its audio
    resampled, its notes moved with it: models.notes.performers.settings.heard_at)."""
    from models.notes.performers.settings import frame_power, heard_at, performer_audio

    audio = performer_audio(wav, settings)
    versions = []
    for shift in semitones:
        played, moved = heard_at(audio, notes, shift)
        frames = len(played) // settings.frame_samples
        features, active = key_features(moved, frames, settings.frame_seconds, settings.onset_frames)
        power = frame_power(played, frames, settings.frame_samples)
        versions.append(HarmonicRecording(played.astype(np.float32), features, active, condition, power))
    return versions


def harmonic_inputs(
    spec: HarmonicSpec,
    features: np.ndarray,
    active: np.ndarray,
    levels: np.ndarray,
    conditions: list[int],
    first_frames: list[int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """The network's inputs for frames (batch, F + 1, ...) that synthesize F frames of audio:
    the key features, mask, level channel, condition ids, the F frames' partial phases (each
    row from its first frame) and the noise bands."""
    from models.notes.synths import band_noise, frame_phases  # the synth needs Keras: import it late

    batch, frames = features.shape[0], features.shape[1] - 1
    phases = [frame_phases(spec, int(f), frames) for f in first_frames]
    return (
        features,
        active,
        levels[..., None].astype(np.float32),
        np.asarray(conditions, np.int32).reshape(batch, 1),
        np.stack([s for s, _ in phases]),
        np.stack([c for _, c in phases]),
        band_noise(spec, batch, frames * spec.frame_samples, rng),
    )


def harmonic_batch(
    recordings: list[HarmonicRecording],
    settings: PerformerSettings,
    spec: HarmonicSpec,
    rng: np.random.Generator,
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Random frame-aligned windows of settings.window_frames frames: (inputs, their audio)."""
    from models.notes.performers.settings import frame_levels_db, level_feature

    frames, step = settings.window_frames, settings.frame_samples
    usable = np.array([max(0, r.frames - frames - 1) for r in recordings], dtype=float)
    picks = rng.choice(len(recordings), spec.batch_size, p=usable / usable.sum())
    starts = [int(rng.integers(0, usable[k])) for k in picks]
    rows = [(recordings[k], f) for k, f in zip(picks, starts)]
    features = np.stack([r.features[f : f + frames + 1] for r, f in rows])
    active = np.stack([r.active[f : f + frames + 1] for r, f in rows])
    if settings.level_db is None:
        levels = np.zeros(active.shape[:2], np.float32)
    else:
        levels = np.stack(
            [level_feature(frame_levels_db(r, f, frames + 1, settings.level_frames)) for r, f in rows]
        )
    audio = np.stack([r.audio[f * step : (f + frames) * step] for r, f in rows])
    inputs = harmonic_inputs(spec, features, active, levels, [r.condition for r, _ in rows], starts, rng)
    return inputs, audio


def perform_harmonic(
    model: keras.Model,
    spec: HarmonicSpec,
    settings: PerformerSettings,
    pieces: list[pd.DataFrame],
    seconds: list[float],
    condition_ids: np.ndarray | None,
    seed: int,
    progress=None,
    chunk_frames: int = CHUNK_FRAMES,
) -> list[np.ndarray]:
    """Audio at the performer's rate for each note table, chunk_frames frames at a time (the
    chunks' sines meet without seams); the noise of piece i, chunk c is drawn from
    Generator([seed + i, c])."""
    from models.notes.performers.settings import level_feature

    played = []
    for i, (notes, length) in enumerate(zip(pieces, seconds)):
        samples = int(round(length * spec.sample_rate))
        frames = -(-samples // spec.frame_samples)
        features, active = key_features(notes, frames + 1, settings.frame_seconds, settings.onset_frames)
        level = 0.0 if settings.level_db is None else level_feature(settings.level_db)
        levels = np.full((frames + 1,), level, np.float32)
        condition = 0 if condition_ids is None else int(condition_ids[i])
        chunks = []
        for c, first in enumerate(range(0, frames, chunk_frames)):
            stop = min(first + chunk_frames, frames)
            inputs = harmonic_inputs(
                spec,
                features[None, first : stop + 1],
                active[None, first : stop + 1],
                levels[None, first : stop + 1],
                [condition],
                [first],
                np.random.default_rng([seed + i, c]),
            )
            chunks.append(np.asarray(model(inputs, training=False))[0])
            if progress is not None:
                progress(min(stop * spec.frame_samples, samples) - first * spec.frame_samples)
        played.append(np.concatenate(chunks)[:samples].astype(np.float32))
    return played


class HarmonicPerformer:
    name = "harmonic"
    card_name = "harmonic performer"
    preset = None
    own_keys = ("harmonic",)
    sampling_keys: tuple[str, ...] = ()  # it plays the notes as they are: nothing to sample
    retrain_keys: tuple[str, ...] = ()

    def spec(self, cfg, settings):
        return HarmonicSpec.from_config(cfg, settings)

    def card_spec(self, card):
        return HarmonicSpec.from_card_model(card.model)

    def prepare(self, wav, notes, settings, spec, condition, shifts):
        return prepare_harmonic(wav, notes, settings, condition, shifts)

    def build(self, spec, n_conditions):
        from models.nets.harmonic.network import build_harmonic

        return build_harmonic(spec, n_conditions)

    def trainer(self, model, spec, total_steps):
        from models.nets.harmonic.network import harmonic_trainer

        return harmonic_trainer(model, spec, total_steps)

    def batch(self, recordings, settings, spec, rng, conditioned):
        return harmonic_batch(recordings, settings, spec, rng)

    def perform(self, model, spec, settings, pieces, seconds, condition_ids, seed, sampling, progress=None):
        return perform_harmonic(model, spec, settings, pieces, seconds, condition_ids, seed, progress)

    def card(self, spec, settings):
        reach = settings.frame_samples  # a frame's controls reach the next frame's ramp
        return {
            "model": spec.to_config(),
            "context_samples": reach,
            "context_ms": 1000.0 * reach / settings.sample_rate,
        }
