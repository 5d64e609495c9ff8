"""The WaveNet performer: a WaveNet that plays given notes (local conditioning on a piano roll).

Each 10 ms frame of the roll (88 keys held + 88 keys struck) goes through a small conditioning
network to a bias on every layer's gates, repeated over the frame's samples: the notes reach
every layer, so the network cannot learn to ignore them. Its input is the mu-law code of the
previous sample through an embedding (a scalar input learns more slowly).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.nets.wavenet.spec import WaveNetSpec
from models.notes.keyboard import KEYS
from models.notes.performers.settings import (
    PerformerSettings,
    frame_levels_db,
    frame_power,
    heard_at,
    level_feature,
    performer_audio,
    with_level,
)
from models.notes.rolls import piano_roll, pitch_guide
from sonata import SonataError
from sonata.batching import by_length
from sonata.mulaw import mulaw_decode, mulaw_encode


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
    from models.nets.wavenet.spec import WaveNetSpec

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
    from models.nets.wavenet.sampler import IncrementalWaveNet, WaveNetWeights

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


class WaveNetPerformer:
    name = "wavenet"
    card_name = "performer"  # cards written before the registry say this too
    preset = "presets/wavenet_performer.yaml"
    own_keys = (
        "layers_per_stack",
        "stacks",
        "kernel_size",
        "residual_channels",
        "skip_channels",
        "quantization_channels",
        "input_embedding",
        "conditioning_channels",
        "pitch_guide",
        "temperature",  # its listening test samples at it
        "probability_floor",
        "guidance",
    )
    sampling_keys = ("temperature", "probability_floor", "guidance")  # see IncrementalWaveNet.sample
    retrain_keys = ("temperature",)  # its listening test samples at it

    def spec(self, cfg, settings):
        return performer_spec(cfg, settings)

    def card_spec(self, card):
        from models.nets.wavenet.spec import WaveNetSpec

        return WaveNetSpec.from_config(card.model)

    def prepare(self, wav, notes, settings, spec, condition, shifts):
        return prepare(wav, notes, settings, spec.quantization_channels, condition, shifts)

    def build(self, spec, n_conditions):
        from models.nets.wavenet.network import build_wavenet

        return build_wavenet(spec, n_conditions)

    def trainer(self, model, spec, total_steps):
        from models.nets.wavenet.network import wavenet_trainer

        return wavenet_trainer(model, spec, total_steps)

    def batch(self, recordings, settings, spec, rng, conditioned):
        crop = spec.receptive_field - 1
        return window_batch(recordings, settings, spec.batch_size, rng, crop, conditioned, spec.pitch_guide)

    def perform(self, model, spec, settings, pieces, seconds, condition_ids, seed, sampling, progress=None):
        return perform(
            model,
            spec,
            settings,
            pieces,
            seconds,
            condition_ids,
            float(sampling["temperature"]),
            seed,
            progress,
            float(sampling.get("probability_floor", 0.0)),
            float(sampling.get("guidance", 0.0)),
        )

    def card(self, spec, settings):
        return {
            "model": spec.to_config(),
            "context_samples": spec.receptive_field,
            "context_ms": 1000.0 * spec.receptive_field / settings.sample_rate,
        }
