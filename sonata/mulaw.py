"""Mu-law companding (ITU-T G.711 style) used by WaveNet's 256-way output."""

from __future__ import annotations

import numpy as np


def mulaw_encode(audio: np.ndarray, channels: int = 256) -> np.ndarray:
    """Map float audio in [-1, 1] to integer codes 0..channels-1."""
    mu = channels - 1
    x = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.rint((companded + 1.0) / 2.0 * mu).astype(np.int64)


def mulaw_decode(codes: np.ndarray, channels: int = 256) -> np.ndarray:
    """Inverse of `mulaw_encode` (up to quantisation)."""
    mu = channels - 1
    companded = 2.0 * np.asarray(codes, dtype=np.float64) / mu - 1.0
    return (np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(mu)) / mu).astype(np.float32)


def mulaw_compand(audio: np.ndarray, channels: int = 256) -> np.ndarray:
    """The quantised companded value in [-1, 1]: WaveNet's scalar input per sample."""
    return (2.0 * mulaw_encode(audio, channels) / (channels - 1) - 1.0).astype(np.float32)
