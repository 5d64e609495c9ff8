"""Audio I/O shared by every rule: float32 mono in [-1, 1], written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it into place only on success.

    A killed job therefore never leaves a half-written output that a later run trusts.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix or final.suffix, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp's 0600 would hide results from others
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a sound file as float32 mono; multi-channel audio is averaged."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


def write_wav(path: str | os.PathLike, audio: np.ndarray, rate: int) -> None:
    """Write 16-bit PCM, clipping to [-1, 1] so overshoot never wraps around."""
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path, suffix=".wav") as tmp:
        sf.write(str(tmp), clipped, rate, subtype="PCM_16", format="WAV")


def read_segment(path: str | os.PathLike, start: int, length: int) -> np.ndarray:
    """Read `length` frames from `start` without loading the whole file."""
    with sf.SoundFile(str(path)) as f:
        f.seek(start)
        data = f.read(length, dtype="float32", always_2d=True)
    return data.mean(axis=1)


def _lowpass(factor: int, taps_per_factor: int = 16) -> np.ndarray:
    """A Hann-windowed sinc that passes below 1/factor of the Nyquist frequency; unit DC gain."""
    half = taps_per_factor * factor
    n = np.arange(-half, half + 1)
    kernel = np.sinc(n / factor) * np.hanning(2 * half + 3)[1:-1]
    return (kernel / kernel.sum()).astype(np.float32)


def decimate(audio: np.ndarray, factor: int) -> np.ndarray:
    """Audio at 1/factor of its rate, low-passed first so nothing folds back (aliasing)."""
    if factor == 1:
        return np.asarray(audio, dtype=np.float32)
    return np.convolve(audio, _lowpass(factor), mode="same")[::factor].astype(np.float32)


def interpolate(audio: np.ndarray, factor: int) -> np.ndarray:
    """Audio at factor times its rate: zeros between samples, then the same low-pass."""
    if factor == 1:
        return np.asarray(audio, dtype=np.float32)
    stuffed = np.zeros(len(audio) * factor, dtype=np.float32)
    stuffed[::factor] = audio
    return (factor * np.convolve(stuffed, _lowpass(factor), mode="same")).astype(np.float32)


def speed_up(audio: np.ndarray, factor: float) -> np.ndarray:
    """The audio played `factor` times as fast at the same rate: every frequency times factor,
    the length over factor (a resampling, so what would pass Nyquist is filtered out first).
    2 ** (k / 12) transposes by k semitones."""
    import soxr

    if factor == 1:
        return np.asarray(audio, dtype=np.float32)
    return soxr.resample(np.asarray(audio, dtype=np.float32), factor, 1.0, quality="HQ").astype(np.float32)
