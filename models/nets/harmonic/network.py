"""A control network that all 88 keys share (a DDSP decoder) feeding the harmonic-plus-noise
synthesizer (models.notes.synths), and its compiled trainer."""

from __future__ import annotations

import keras

from models.nets.harmonic.spec import KEY_FEATURES, HarmonicSpec
from models.notes.keyboard import KEYS
from models.notes.losses import spectral_loss
from models.notes.synths import HarmonicSynth


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
