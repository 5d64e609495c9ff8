"""Audio and music analysis shared by the metrics and the report: is it sound, notes, movement?"""

from __future__ import annotations

import numpy as np

PITCH_RANGE_HZ = (55.0, 4200.0)


def silent_runs(audio: np.ndarray, threshold: float) -> tuple[float, int]:
    """Fraction of samples below threshold and the longest run of them, in samples."""
    quiet = np.abs(audio) < threshold
    if not quiet.any():
        return 0.0, 0
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return float(quiet.mean()), int((ends - starts).max())


def rms_curve(audio: np.ndarray, frame: int) -> np.ndarray:
    """RMS per frame of `frame` samples (one value for audio shorter than a frame)."""
    n = len(audio) // frame
    if n == 0:
        return np.sqrt(np.mean(audio**2, keepdims=True))
    return np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))


def analysis_frames(audio: np.ndarray, fft_size: int) -> np.ndarray:
    """Frames of fft_size at 50 % overlap (a view); short audio is zero-padded to one frame."""
    if len(audio) < fft_size:
        audio = np.pad(audio, (0, fft_size - len(audio)))
    return np.lib.stride_tricks.sliding_window_view(audio, fft_size)[:: fft_size // 2]


def power_spectrum(audio: np.ndarray, fft_size: int) -> np.ndarray:
    """Mean power per rfft bin over Hann frames at 50 % overlap (Welch)."""
    frames = analysis_frames(audio, fft_size)
    spectra = np.abs(np.fft.rfft(frames * np.hanning(fft_size), axis=1)) ** 2
    return spectra.mean(axis=0)


def chroma(power: np.ndarray, rate: int, fft_size: int) -> np.ndarray:
    """Pitch-class profile (sums to 1) of a power spectrum; uniform when there is no energy."""
    freqs = np.fft.rfftfreq(fft_size, 1.0 / rate)
    keep = (freqs >= PITCH_RANGE_HZ[0]) & (freqs <= min(PITCH_RANGE_HZ[1], rate / 2))
    classes = np.rint(12 * np.log2(freqs[keep] / 440.0) + 69).astype(int) % 12
    profile = np.bincount(classes, weights=power[keep], minlength=12)
    total = profile.sum()
    return profile / total if total > 1e-12 else np.full(12, 1 / 12)


def tonal_fraction(
    audio: np.ndarray,
    rate: int,
    fft_size: int,
    silence_threshold: float,
    peak_db: float,
    floor_hz: float,
    band_db: float,
    batch_frames: int = 64,
) -> float:
    """Share of a frame's energy in spectral peaks standing peak_db over the local median floor.

    Notes make narrow peaks; noise, however its spectrum is shaped, does not: real recordings
    score near 1, white noise near 0. The share is taken per octave of the pitch range and
    averaged over the octaves within band_db of the loudest, so one loud hum over noise counts
    as one octave, not as music. Median over sounding frames (their spread above
    silence_threshold, so a DC offset is not sound); 0 when none sound.
    """
    frames = analysis_frames(audio, fft_size)
    frames = frames[frames.std(axis=1) >= silence_threshold]
    if len(frames) == 0:
        return 0.0
    freqs = np.fft.rfftfreq(fft_size, 1.0 / rate)
    top = min(PITCH_RANGE_HZ[1], rate / 2)
    edges = PITCH_RANGE_HZ[0] * 2.0 ** np.arange(int(np.log2(top / PITCH_RANGE_HZ[0])) + 1)
    octave = np.digitize(freqs, edges) - 1  # -1 below the range, len(edges) - 1 above it
    masks = [octave == k for k in range(len(edges) - 1)]
    half = max(1, int(round(floor_hz / 2 / (rate / fft_size))))
    ratio = 10 ** (peak_db / 10)
    band_floor = 10 ** (-band_db / 10)
    window = np.hanning(fft_size).astype(np.float32)
    shares = []
    for start in range(0, len(frames), batch_frames):  # bounded memory on long pieces
        power = np.abs(np.fft.rfft(frames[start : start + batch_frames] * window, axis=1)) ** 2
        padded = np.pad(power, ((0, 0), (half, half)), mode="reflect")
        floor = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1), axis=2)
        peaks = np.where(power > ratio * floor, power, 0.0)
        total = np.stack([power[:, m].sum(axis=1) for m in masks], axis=1)
        tonal = np.stack([peaks[:, m].sum(axis=1) for m in masks], axis=1)
        live = total >= total.max(axis=1, keepdims=True) * band_floor
        live &= total > 0
        share = np.where(live, tonal / np.maximum(total, 1e-30), 0.0).sum(axis=1)
        shares.append(share / np.maximum(live.sum(axis=1), 1))
    return float(np.median(np.concatenate(shares)))


def chroma_change(
    audio: np.ndarray, rate: int, fft_size: int, silence_threshold: float, seconds: float
) -> float:
    """Mean total-variation distance between the chroma of consecutive sounding segments.

    Music moves from chord to chord; a drone, a loop or stationary noise does not (near 0).
    Audio shorter than two segments cannot show movement either way: NaN, not "no movement".
    """
    n = max(fft_size, int(seconds * rate))
    segments = [audio[i : i + n] for i in range(0, len(audio) - n + 1, n)]
    if len(segments) < 2:
        return float("nan")
    profiles = [
        chroma(power_spectrum(s, fft_size), rate, fft_size) for s in segments if s.std() >= silence_threshold
    ]
    if len(profiles) < 2:
        return 0.0
    return float(np.mean(0.5 * np.abs(np.diff(np.asarray(profiles), axis=0)).sum(axis=1)))


def spectral_distance_db(power: np.ndarray, reference: np.ndarray) -> float:
    """RMS difference of the two log spectra in dB (floored at -100 dB)."""
    a = 10 * np.log10(np.maximum(power, 1e-10))
    b = 10 * np.log10(np.maximum(reference, 1e-10))
    return float(np.sqrt(np.mean((a - b) ** 2)))


def describe(audio: np.ndarray, rate: int, reference_power: np.ndarray, metrics_cfg: dict) -> dict:
    """Every per-piece metric the report asks about, against the held-out reference spectrum."""
    fft_size = int(metrics_cfg["fft_size"])
    threshold = float(metrics_cfg["silence_threshold"])
    # a constant offset is inaudible: silence is judged around the piece's mean
    silent_fraction, longest = silent_runs(audio - audio.mean(), threshold)
    rms = rms_curve(audio, max(1, int(metrics_cfg["frame_seconds"] * rate)))
    power = power_spectrum(audio, fft_size)
    return {
        "seconds": len(audio) / rate,
        "silent_fraction": silent_fraction,
        "longest_silence_s": longest / rate,
        "rms_mean": float(rms.mean()),
        "rms_std": float(rms.std()),
        "rms_last_quarter": float(rms[-max(1, len(rms) // 4) :].mean()),
        "spectral_distance_db": spectral_distance_db(power, reference_power),
        "chroma_distance": float(
            0.5 * np.abs(chroma(power, rate, fft_size) - chroma(reference_power, rate, fft_size)).sum()
        ),
        "tonal_fraction": tonal_fraction(
            audio,
            rate,
            fft_size,
            threshold,
            float(metrics_cfg["tonal_peak_db"]),
            float(metrics_cfg["tonal_floor_hz"]),
            float(metrics_cfg["tonal_band_db"]),
        ),
        "chroma_change": chroma_change(
            audio, rate, fft_size, threshold, float(metrics_cfg["change_seconds"])
        ),
    }
