"""An LSTM step in numba over Keras LSTM weights: the samplers of the Seq2Seq models run it."""

from __future__ import annotations

import keras
import numba
import numpy as np


def lstm_weights(model: keras.Model, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float32) for w in model.get_layer(name).get_weights())
    return kernel, recurrent, bias


@numba.njit(cache=True)
def lstm_step(x, h, c, kernel, recurrent, bias, z):
    """One LSTM step for one sequence, in place; Keras gate order (i, f, c, o)."""
    units = h.shape[0]
    for g in range(4 * units):
        z[g] = bias[g]
    for k in range(x.shape[0]):
        v = x[k]
        for g in range(4 * units):
            z[g] += v * kernel[k, g]
    for k in range(units):
        v = h[k]
        for g in range(4 * units):
            z[g] += v * recurrent[k, g]
    for u in range(units):
        i = 1.0 / (1.0 + np.exp(-z[u]))
        f = 1.0 / (1.0 + np.exp(-z[units + u]))
        g = np.tanh(z[2 * units + u])
        o = 1.0 / (1.0 + np.exp(-z[3 * units + u]))
        c[u] = f * c[u] + i * g
        h[u] = o * np.tanh(c[u])
