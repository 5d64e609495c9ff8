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

Synthesis is stateless across frames: a frame's sines continue the absolute phase of the
frame before (phases are computed in float64 from the frame's index), and amplitudes ramp
linearly from one frame to the next, so a piece is played in chunks without seams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

from sonata.notes import KEYS, LOWEST, note_frames, piano_roll

if TYPE_CHECKING:
    from models.performer import PerformerSettings

DECAY_FRAMES = (3.0, 15.0, 60.0, 200.0)  # time constants of the since-struck features (30 ms - 2 s)
RELEASE_FRAMES = 10.0  # a released key's trace decays over 100 ms ...
RELEASE_HORIZON = 60  # ... and the key falls silent 600 ms after its note ends
KEY_FEATURES = 3 + len(DECAY_FRAMES)  # held, struck, decays, release
CHUNK_FRAMES = 500  # frames synthesized at once when performing (memory, not sound)


@dataclass(frozen=True)
class HarmonicSpec:
    """The harmonic performer's network and synthesizer: the `notes.performer` keys it reads."""

    sample_rate: int
    frame_samples: int
    harmonics: int  # sines per key: the fundamental and its overtones (those under Nyquist)
    noise_bands: int  # log-spaced bands of filtered noise, 40 Hz to Nyquist
    units: int  # width of the per-key network
    fft_sizes: tuple[int, ...]  # resolutions of the spectral loss
    learning_rate: float
    learning_rate_schedule: str
    batch_size: int
    jit_compile: bool
    condition_on: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: dict, settings: PerformerSettings) -> HarmonicSpec:
        own = cfg["harmonic"]
        return cls(
            settings.sample_rate,
            settings.frame_samples,
            int(own["harmonics"]),
            int(own["noise_bands"]),
            int(own["units"]),
            tuple(int(s) for s in own["fft_sizes"]),
            float(cfg["learning_rate"]),
            str(cfg["learning_rate_schedule"]),
            int(cfg["batch_size"]),
            bool(cfg["jit_compile"]),
            tuple(cfg.get("condition_on") or ()),
        )

    def to_config(self) -> dict:
        return {**asdict(self), "fft_sizes": list(self.fft_sizes), "condition_on": list(self.condition_on)}

    @classmethod
    def from_card_model(cls, model: dict) -> HarmonicSpec:
        """The spec a card records (keys it no longer has, such as the roll's onset_frames, which
        the card's scheme holds, are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(
            **{k: v for k, v in model.items() if k in known}
            | {"fft_sizes": tuple(model["fft_sizes"]), "condition_on": tuple(model["condition_on"])}
        )

    @property
    def partials(self) -> int:
        return KEYS * self.harmonics


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


def partial_frequencies(spec: HarmonicSpec) -> np.ndarray:
    """(88, harmonics) Hz: every key's fundamental (A4 = 440 Hz) and overtones."""
    fundamentals = 440.0 * 2.0 ** ((np.arange(KEYS) + LOWEST - 69) / 12.0)
    return fundamentals[:, None] * np.arange(1, spec.harmonics + 1)[None, :]


def frame_phases(spec: HarmonicSpec, first: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(sin, cos) of every partial's phase at the start of frames first..first+frames-1,
    (frames, 88 * harmonics) float32, computed in float64 so that hours in, a frame still
    continues the one before."""
    omega = 2 * np.pi * partial_frequencies(spec).reshape(-1) / spec.sample_rate
    start = np.arange(first, first + frames, dtype=np.float64) * spec.frame_samples
    phase = np.mod(np.outer(start, omega), 2 * np.pi)
    return np.sin(phase).astype(np.float32), np.cos(phase).astype(np.float32)


def band_noise(spec: HarmonicSpec, count: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """(count, noise_bands, samples) float32: white noise split into log-spaced bands."""
    white = np.fft.rfft(rng.standard_normal((count, samples)), axis=1)
    freqs = np.fft.rfftfreq(samples, 1.0 / spec.sample_rate)
    edges = np.geomspace(40.0, spec.sample_rate / 2, spec.noise_bands + 1)
    edges[-1] = np.inf
    bands = np.empty((count, spec.noise_bands, samples), np.float32)
    for b in range(spec.noise_bands):
        inside = (freqs >= edges[b]) & (freqs < edges[b + 1])
        bands[:, b] = np.fft.irfft(white * inside, n=samples, axis=1)
    return bands


@dataclass(frozen=True)
class HarmonicRecording:
    """A recording as the harmonic performer learns it: its audio and what its keys do."""

    audio: np.ndarray  # float32 (samples,)
    features: np.ndarray  # float32 (frames, 88, KEY_FEATURES)
    active: np.ndarray  # float32 (frames, 88)
    condition: int
    power: np.ndarray  # float64 (frames,): mean square per frame (models.performer.frame_levels_db)

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
    resampled, its notes moved with it: models.performer.heard_at)."""
    from models.performer import frame_power, heard_at, performer_audio

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
    from models.performer import frame_levels_db, level_feature

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


def build_harmonic(spec: HarmonicSpec, n_conditions: int) -> keras.Model:
    """The performer as a Keras model: (features, active, level, condition, sin, cos, noise
    bands) -> audio (batch, frames * frame_samples)."""
    features = keras.Input((None, KEYS, KEY_FEATURES), name="key_features")
    active = keras.Input((None, KEYS), name="active")
    level = keras.Input((None, 1), name="level")
    condition = keras.Input((1,), dtype="int32", name="condition")
    sines = keras.Input((None, spec.partials), name="phase_sin")
    cosines = keras.Input((None, spec.partials), name="phase_cos")
    bands = keras.Input((spec.noise_bands, None), name="noise_bands")
    # float32 whatever the mixed-precision policy: phases, sines and the spectral loss need it
    audio = HarmonicSynth(spec, max(1, n_conditions), name="synth", dtype="float32")(
        [features, active, level, condition, sines, cosines, bands]
    )
    return keras.Model([features, active, level, condition, sines, cosines, bands], audio, name="harmonic")


class HarmonicSynth(layers.Layer):
    """Controls from the key features, then sines and noise from the controls."""

    def __init__(self, spec: HarmonicSpec, n_conditions: int, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        policy = self.dtype_policy
        self.ensemble = layers.Embedding(n_conditions, 4, name="ensemble", dtype=policy)
        self.key = layers.Embedding(KEYS, 8, name="key", dtype=policy)
        self.hidden = [
            layers.Dense(spec.units, activation="relu", name=f"hidden_{i}", dtype=policy) for i in range(2)
        ]
        self.controls = layers.Dense(1 + spec.harmonics + spec.noise_bands, name="controls", dtype=policy)
        audible = partial_frequencies(spec) < 0.95 * spec.sample_rate / 2
        self.audible = audible.astype("float32")
        n = np.arange(spec.frame_samples)
        ramp = n / spec.frame_samples
        omega = 2 * np.pi * partial_frequencies(spec).reshape(-1) / spec.sample_rate
        cos_t, sin_t = np.cos(np.outer(omega, n)), np.sin(np.outer(omega, n))
        # sin(phase + w n) = sin(phase) cos(w n) + cos(phase) sin(w n), amplitude ramped
        self.table = np.concatenate(
            [(1 - ramp) * cos_t, (1 - ramp) * sin_t, ramp * cos_t, ramp * sin_t]
        ).astype("float32")
        self.ramp = ramp.astype("float32")

    def call(self, inputs):
        features, active, level, condition, sines, cosines, bands = inputs
        batch, frames = ops.shape(features)[0], ops.shape(features)[1]
        shape = (batch, frames, KEYS)
        polyphony = ops.sum(features[..., 0], axis=-1, keepdims=True) / 8.0
        per_frame = ops.concatenate([level, polyphony], axis=-1)
        ensemble = self.ensemble(condition)  # (batch, 1, 4)
        position = ops.convert_to_tensor(np.linspace(0.0, 1.0, KEYS, dtype="float32"))
        x = ops.concatenate(
            [
                features,
                ops.broadcast_to(per_frame[:, :, None, :], shape + (2,)),
                ops.broadcast_to(ensemble[:, :, None, :], shape + (4,)),
                ops.broadcast_to(self.key(ops.arange(KEYS))[None, None], shape + (8,)),
                ops.broadcast_to(position[None, None, :, None], shape + (1,)),
            ],
            axis=-1,
        )
        for dense in self.hidden:
            x = dense(x)
        y = self.controls(x)
        h = self.spec.harmonics
        gate = active[..., None]
        loudness = exp_sigmoid(y[..., :1] - 3.0) * gate
        balance = ops.softmax(y[..., 1 : 1 + h], axis=-1) * self.audible
        balance = balance / (ops.sum(balance, axis=-1, keepdims=True) + 1e-7)
        partials = ops.reshape(loudness * balance, (batch, frames, self.spec.partials))
        noise = ops.sum(exp_sigmoid(y[..., 1 + h :] - 5.0) * gate, axis=2)  # (batch, frames, bands)
        now, then = partials[:, :-1], partials[:, 1:]
        ramps = ops.concatenate([now * sines, now * cosines, then * sines, then * cosines], axis=-1)
        tones = ops.einsum("bfj,jn->bfn", ramps, self.table)
        samples = (frames - 1) * self.spec.frame_samples
        tones = ops.reshape(tones, (batch, samples))
        ramp = self.ramp[None, None, :, None]
        gains = noise[:, :-1, None, :] * (1.0 - ramp) + noise[:, 1:, None, :] * ramp
        gains = ops.reshape(gains, (batch, samples, self.spec.noise_bands))
        return tones + ops.sum(gains * ops.transpose(bands, (0, 2, 1)), axis=-1)

    def compute_output_shape(self, shapes):
        return (shapes[0][0], None)


def exp_sigmoid(x: Any) -> Any:
    """DDSP's positive control: 2 sigmoid(x) ** ln 10, from 1e-7 to 2 (gradients at both ends)."""
    return 2.0 * ops.power(ops.sigmoid(x), float(np.log(10.0))) + 1e-7


def spectral_loss(fft_sizes: tuple[int, ...]) -> Callable[[Any, Any], Any]:
    """Multi-resolution spectral loss: per FFT size, the mean absolute difference of STFT
    magnitudes and of their logs (DDSP's), summed. Blind to phase, which a sum of sines
    cannot match sample for sample anyway."""

    def loss(target, audio):
        total = 0.0
        for size in fft_sizes:
            hop = size // 4
            heard = ops.sqrt(ops.sum(ops.square(ops.stack(ops.stft(audio, size, hop, size), 0)), 0) + 1e-10)
            real = ops.sqrt(ops.sum(ops.square(ops.stack(ops.stft(target, size, hop, size), 0)), 0) + 1e-10)
            total = total + ops.mean(ops.abs(real - heard))
            total = total + ops.mean(ops.abs(ops.log(real + 1e-5) - ops.log(heard + 1e-5)))
        return total

    return loss


def harmonic_trainer(model: keras.Model, spec: HarmonicSpec, total_steps: int = 0) -> keras.Model:
    """The model compiled for fitting: Adam on the spectral loss, with a cosine decay of the
    rate over total_steps when the schedule says so."""
    from models.training import learning_rate

    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate(spec.learning_rate, spec.learning_rate_schedule, total_steps)
        ),
        loss=spectral_loss(spec.fft_sizes),
        jit_compile=True if spec.jit_compile else "auto",
    )
    return model


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
    from models.performer import level_feature

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
