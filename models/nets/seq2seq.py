"""Seq2Seq LSTM encoder-decoder of the report: least squares, Adam, teacher forcing.

Training uses Keras; generation runs the same weights in a compiled numpy loop, because a
2-minute piece is 15,000 sequential blocks and per-step framework overhead dominates on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numba
import numpy as np
from keras import layers

from models.nets.lstm import lstm_step, lstm_weights
from sonata.shards import ShardHeader


def build_seq2seq(input_length: int, target_length: int, units: int) -> keras.Model:
    encoder_input = keras.Input((input_length, 1), name="encoder_input")
    _, h, c = layers.LSTM(units, return_state=True, name="encoder_lstm")(encoder_input)
    decoder_input = keras.Input((target_length, 1), name="decoder_input")
    sequence = layers.LSTM(units, return_sequences=True, name="decoder_lstm")(
        decoder_input, initial_state=[h, c]
    )
    output = layers.Dense(1, name="projection", dtype="float32")(sequence)
    return keras.Model([encoder_input, decoder_input], output, name="seq2seq")


def teacher_forcing_inputs(y: np.ndarray, start_token: float) -> np.ndarray:
    """Decoder input {start, y[0:T-1]}: the previous true sample at every step."""
    start = np.full(y.shape[:-1] + (1,), start_token, dtype=y.dtype)
    return np.concatenate([start, y[..., :-1]], axis=-1)


def teacher_forcing_pairs(windows: np.ndarray, header: ShardHeader, start_token: float):
    """((encoder input, decoder input), target) float arrays of a shard's int16 windows."""
    audio = header.audio(windows)
    x = audio[:, : header.input_length]
    y = audio[:, header.target_offset : header.target_offset + header.target_length]
    return (x[..., None], teacher_forcing_inputs(y, start_token)[..., None]), y[..., None]


@numba.njit(cache=True, parallel=True)
def _predict_block(context, enc, dec, out_w, out_b, start_token, target_length):
    """Encoder over each context row, then the decoder fed its own outputs; rows in parallel."""
    batch = context.shape[0]
    units = enc[1].shape[0]
    out = np.empty((batch, target_length), dtype=np.float32)
    for b in numba.prange(batch):
        h = np.zeros(units, dtype=np.float32)
        c = np.zeros(units, dtype=np.float32)
        z = np.empty(4 * units, dtype=np.float32)
        step = np.empty(1, dtype=np.float32)
        for t in range(context.shape[1]):
            step[0] = context[b, t]
            lstm_step(step, h, c, enc[0], enc[1], enc[2], z)
        step[0] = start_token
        for t in range(target_length):
            lstm_step(step, h, c, dec[0], dec[1], dec[2], z)
            y = out_b[0]
            for u in range(units):
                y += h[u] * out_w[u, 0]
            out[b, t] = y
            step[0] = y
    return out


class Seq2SeqGenerator:
    """Autoregressive inference: the decoder feeds back its own predictions, no teacher forcing."""

    def __init__(self, model: keras.Model, start_token: float, new_samples: int):
        self.encoder = lstm_weights(model, "encoder_lstm")
        self.decoder = lstm_weights(model, "decoder_lstm")
        out_w, out_b = model.get_layer("projection").get_weights()
        self.out_w = np.asarray(out_w, dtype=np.float32)
        self.out_b = np.asarray(out_b, dtype=np.float32)
        self.input_length = model.inputs[0].shape[1]
        self.target_length = model.inputs[1].shape[1]
        self.start_token = np.float32(start_token)
        self.new_samples = new_samples

    def predict_block(self, context: np.ndarray) -> np.ndarray:
        """Decoder outputs (batch, target_length) for encoder inputs (batch, input_length)."""
        return _predict_block(
            np.ascontiguousarray(context, dtype=np.float32),
            self.encoder,
            self.decoder,
            self.out_w,
            self.out_b,
            self.start_token,
            self.target_length,
        )

    def generate(
        self, prime: np.ndarray, n_samples: int, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Continue each primer (batch, >= input_length) by n_samples, block after block."""
        audio = np.ascontiguousarray(prime[:, -self.input_length :], dtype=np.float32)
        pieces = []
        made = 0
        while made < n_samples:
            block = self.predict_block(audio[:, -self.input_length :])[:, -self.new_samples :]
            block = np.clip(block, -1.0, 1.0)
            pieces.append(block)
            audio = np.concatenate([audio[:, -self.input_length :], block], axis=1)
            made += block.shape[1]
            if progress is not None:
                progress(block.shape[1])
        return np.concatenate(pieces, axis=1)[:, :n_samples]
