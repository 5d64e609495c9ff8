"""The WaveNet as a Keras model, its compiled trainer, and its inputs from audio."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from models.nets.wavenet.spec import WaveNetSpec
from sonata.mulaw import mulaw_compand, mulaw_encode
from sonata.shards import ShardHeader


@keras.saving.register_keras_serializable(package="sonata")
class GatedActivation(layers.Layer):
    """tanh(filter) * sigmoid(gate) over the two halves of the channel axis."""

    def call(self, z):
        half = ops.shape(z)[-1] // 2
        return ops.tanh(z[..., :half]) * ops.sigmoid(z[..., half:])


def build_wavenet(spec: WaveNetSpec, n_conditions: int = 0) -> keras.Model:
    """Logits (batch, time, quantization_channels) for the previous samples.

    Inputs, in order: the audio, companded (batch, time, 1), or with `input_embedding` its
    mu-law codes (batch, time) through an embedding; with `local_channels` the notes, one frame
    of features per `frame_samples` samples (batch, time / frame_samples, local_channels), which
    a small network turns into a bias on every layer's gates (local conditioning); with
    `pitch_guide` the notes' sines at the audio rate (batch, time, guide_channels), through a
    1x1 convolution to every layer's gates as well; with n_conditions > 0 one integer id per
    sequence, a learned bias on every layer's gates (global conditioning).
    """
    channels = spec.residual_channels
    skip_channels = spec.skip_channels
    kernel = spec.kernel_size
    if spec.input_embedding:
        audio = keras.Input((None,), dtype="int32", name="audio")
        features = layers.Embedding(spec.quantization_channels, spec.input_embedding, name="input_embedding")(
            audio
        )
    else:
        audio = features = keras.Input((None, 1), name="audio")
    inputs = [audio]
    h = layers.Conv1D(channels, kernel, padding="causal", name="input_conv")(features)
    local = None
    if spec.local_channels:
        notes = keras.Input((None, spec.local_channels), name="notes")
        inputs.append(notes)
        local = notes
        for k in range(2):
            local = layers.Conv1D(
                spec.conditioning_channels, 3, padding="same", activation="tanh", name=f"local_hidden_{k}"
            )(local)
    guide = None
    if spec.guide_channels:
        guide = keras.Input((None, spec.guide_channels), name="guide")
        inputs.append(guide)
    condition = None
    if n_conditions:
        condition_id = keras.Input((1,), dtype="int32", name="condition")
        inputs.append(condition_id)
        condition = layers.Embedding(n_conditions, channels, name="condition_embedding")(condition_id)
    skips = []
    dilations = spec.dilations
    for i, dilation in enumerate(dilations):
        z = layers.Conv1D(
            2 * channels, kernel, dilation_rate=dilation, padding="causal", name=f"dilated_{i}"
        )(h)
        if local is not None:
            bias = layers.Conv1D(2 * channels, 1, use_bias=False, name=f"local_{i}")(local)
            z = layers.Add(name=f"played_{i}")([z, layers.UpSampling1D(spec.frame_samples)(bias)])
        if guide is not None:
            z = layers.Add(name=f"guided_{i}")(
                [z, layers.Conv1D(2 * channels, 1, use_bias=False, name=f"guide_{i}")(guide)]
            )
        if condition is not None:
            z = layers.Add(name=f"conditioned_{i}")(
                [z, layers.Dense(2 * channels, use_bias=False, name=f"condition_{i}")(condition)]
            )
        gated = GatedActivation(name=f"gate_{i}")(z)
        if i < len(dilations) - 1:  # the last layer feeds only the skip path
            h = layers.Add(name=f"residual_sum_{i}")(
                [h, layers.Conv1D(channels, 1, name=f"residual_{i}")(gated)]
            )
        skips.append(layers.Conv1D(skip_channels, 1, name=f"skip_{i}")(gated))
    out = layers.Activation("relu")(layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0])
    out = layers.Conv1D(skip_channels, 1, activation="relu", name="post")(out)
    logits = layers.Conv1D(spec.quantization_channels, 1, name="logits", dtype="float32")(out)
    return keras.Model(inputs, logits, name="wavenet")


def wavenet_trainer(model: keras.Model, spec: WaveNetSpec, total_steps: int = 0) -> keras.Model:
    """The model compiled for fitting: the loss sees only outputs with a full receptive field
    of real input (Adam, cross-entropy over mu-law codes). A cosine schedule decays the rate to
    zero over total_steps (the optimizer's step count is checkpointed, so a resumed run goes on
    along the same curve)."""
    # float32 like the logits: under mixed_float16 a float16 crop would undo their float32 softmax
    crop = layers.Cropping1D((spec.receptive_field - 1, 0), name="full_context", dtype="float32")
    trainer = keras.Model(model.inputs, crop(model.output), name=f"{model.name}_trainer")
    from models.training import learning_rate

    trainer.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate(spec.learning_rate, spec.learning_rate_schedule, total_steps)
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True if spec.jit_compile else "auto",
    )
    return trainer


def input_values(audio: np.ndarray, channels: int, embedded: bool) -> np.ndarray:
    """What the network reads for each sample, shaped like `audio`: its mu-law code (int32) for
    an embedded input, else its companded value (the code scaled to [-1, 1])."""
    if embedded:
        return mulaw_encode(audio, channels).astype(np.int32)
    return mulaw_compand(audio, channels)


def mulaw_pairs(
    windows: np.ndarray, header: ShardHeader, channels: int, embedded: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs w[0:L-1] (batch, L-1, 1), or (batch, L-1) codes for an embedded input, and the
    mu-law codes of the last chunk samples."""
    audio = header.audio(windows)
    x = input_values(audio[:, : header.input_length], channels, embedded)
    y = mulaw_encode(audio[:, header.target_offset :], channels).astype(np.int32)
    return (x if embedded else x[..., None]), y
