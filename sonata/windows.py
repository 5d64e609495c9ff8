"""Window schemes: how a recording is cut into (input, target) training pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class WindowScheme:
    """x = w[0:input_length], y = w[target_offset:target_offset + target_length]."""

    name: str
    input_length: int
    target_offset: int
    target_length: int
    hop: int

    @property
    def length(self) -> int:
        return max(self.input_length, self.target_offset + self.target_length)

    @property
    def new_samples(self) -> int:
        """Samples a model trained on this scheme predicts beyond its input."""
        return self.target_offset + self.target_length - self.input_length

    def split(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = windows[..., : self.input_length]
        y = windows[..., self.target_offset : self.target_offset + self.target_length]
        return x, y

    @classmethod
    def from_config(cls, name: str, cfg: dict) -> WindowScheme:
        return cls(
            name=name,
            input_length=int(cfg["input_length"]),
            target_offset=int(cfg["target_offset"]),
            target_length=int(cfg["target_length"]),
            hop=int(cfg["hop"]),
        )


def count_windows(n_samples: int, length: int, hop: int) -> int:
    """floor((n - length) / hop) + 1 full windows, or 0 when the recording is shorter."""
    if n_samples < length:
        return 0
    return (n_samples - length) // hop + 1


def frame(audio: np.ndarray, length: int, hop: int) -> np.ndarray:
    """All full windows of `audio` as a strided view (no copy, no Python loop)."""
    n = count_windows(len(audio), length, hop)
    if n == 0:
        return np.empty((0, length), dtype=audio.dtype)
    return sliding_window_view(audio, length)[::hop][:n]
