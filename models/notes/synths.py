"""The harmonic-plus-noise synthesizer (DDSP, Engel et al. 2020): sines at every sounding key's
partials and band-filtered noise, shaped by controls that a network sets every frame
(models.notes.performers.harmonic); it holds no notes and learns nothing itself.

Synthesis is stateless across frames: a frame's sines continue the absolute phase of the
frame before (phases are computed in float64 from the frame's index), and amplitudes ramp
linearly from one frame to the next, so a piece is played in chunks without seams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from keras import layers, ops

from models.notes.keyboard import KEYS, LOWEST

if TYPE_CHECKING:
    from models.nets.harmonic.spec import HarmonicSpec


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
