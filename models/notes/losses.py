"""Losses of the notes route's learnable parts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keras import ops


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
