"""What the tests share that is not a fixture (fixtures: conftest.py): the repository's config
shrunk to seconds, the real snakemake CLI, and known notes and their sound."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import yaml

from sonata.config import REPO, repo_config
from sonata.labels import labels_table

__all__ = ["REPO", "repo_config"]  # the tests import them from here too

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def tiny_config() -> dict:
    """The default config shrunk to seconds of audio and tiny models, same code paths."""
    cfg = copy.deepcopy(repo_config())
    embedded = cfg["corpus"]["embedded"]
    embedded["max_seconds"] = 5
    # Beethoven movements 1-3 (quartet and piano), Mozart on piano, a wind chorale
    keep = {9001, 9003, 9005, 9006, 9007, 9009, 9012, 9015}
    embedded["pieces"] = [p for p in embedded["pieces"] if p["id"] in keep]
    cfg["models"]["wavenet"].update(
        layers_per_stack=4, residual_channels=8, skip_channels=16, chunk=256, batch_size=4
    )
    cfg["models"]["seq2seq"].update(units=8, batch_size=32)
    cfg["training"].update(epochs=2, steps_per_epoch=3, validation_steps=2)
    cfg["generation"].update(durations=[1, 2], prime_seconds=0.1)
    cfg["notes"]["composer"].update(
        past=8, future=8, units=16, embedding=8, epochs=1, steps_per_epoch=3, validation_steps=1, batch_size=8
    )
    cfg["notes"]["performer"].update(
        layers_per_stack=3,
        residual_channels=8,
        skip_channels=8,
        input_embedding=8,
        conditioning_channels=8,
        window_frames=10,
        epochs=1,
        steps_per_epoch=3,
        validation_steps=1,
        batch_size=2,
        jit_compile=False,
        checkpoint_seconds=1,
        harmonic={"harmonics": 4, "noise_bands": 4, "units": 8, "fft_sizes": [256, 64]},
    )
    cfg["notes"]["held_out_seconds"] = 1.5
    cfg["notes"]["composed_pieces"] = 2
    cfg["notes"]["composer"]["beat_lstm"].update(
        units=16,
        embedding=8,
        window=32,
        batch_size=4,
        past=16,
        epochs=1,
        steps_per_epoch=3,
        validation_steps=1,
    )
    cfg["evaluation"]["max_windows"] = 128
    cfg["shards"]["chunk_windows"] = 64
    return cfg


def write_config(workdir: Path, cfg: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


FORBID_CONFIG = {
    "SONATA_FORBID_CONFIG": "1",
    "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO / "tests" / "forbid_config"), os.environ.get("PYTHONPATH")])
    ),
}


def snakemake(
    workdir: Path,
    *args: str,
    check: bool = True,
    snakefile: Path = REPO / "Snakefile",
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """The real snakemake CLI on a Snakefile (the repository's by default), run in workdir.

    env adds variables, e.g. FORBID_CONFIG: rule scripts that read snakemake.config then fail."""
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), *args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def tone(seconds: float, rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t)) / 1.5
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


def melody(seconds: float, seed: int, step: float = 0.25) -> pd.DataFrame:
    """A triad every `step` seconds over C major's pitches: a note table that moves."""
    rng = np.random.default_rng(seed)
    onsets = np.arange(0, seconds, step)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72, 74, 76])
    rows = []
    for t in onsets:
        root = rng.integers(0, 5)
        for k in (0, 2, 4):
            rows.append((t, t + step, int(scale[root + k]) - 12 * (k == 0), 1))
    return pd.DataFrame(rows, columns=["onset", "offset", "pitch", "program"])


def play(notes: pd.DataFrame, seconds: float, rate: int) -> np.ndarray:
    """Sines with two overtones for every note: the sound of exactly these notes."""
    t = np.arange(int(seconds * rate)) / rate
    audio = np.zeros_like(t)
    for note in notes.itertuples():
        live = (t >= note.onset) & (t < note.offset)
        f = 440.0 * 2 ** ((note.pitch - 69) / 12)
        for h, a in ((1, 1.0), (2, 0.4), (3, 0.2)):
            audio[live] += a * np.sin(2 * np.pi * h * f * t[live])
    return (0.1 * audio).astype(np.float32)


def labelled_recordings(tmp_path, ids, seconds=6.0, rate=16000):
    """Recordings of known notes: a wav and a label CSV each, as manifest rows."""
    rows = []
    for i, rid in enumerate(ids):
        notes = melody(seconds, rid)
        wav, labels = tmp_path / f"{rid}.wav", tmp_path / f"{rid}.csv"
        sf.write(str(wav), play(notes, seconds, rate), rate, subtype="PCM_16")
        labels_table(notes).to_csv(labels, index=False)
        rows.append(
            {
                "id": rid,
                "composer": "C",
                "ensemble": "Solo Piano",
                "wav": str(wav),
                "labels": str(labels),
                "group": f"c | piece | movement {rid}",
                "split": ["train", "train", "validation", "test"][i % 4],
            }
        )
    return pd.DataFrame(rows)


def assert_repeats_bit_for_bit(fit) -> None:
    """fit(work_dir_name, epochs) -> (weights, history, resumed), two epochs in all: a fit, the
    same fit again, and one killed after its first epoch then resumed end with the same weights
    and validation losses, and the loss falls."""
    whole, history, _ = fit("whole", 2)
    again, _, _ = fit("again", 2)
    fit("resumed", 1)  # as if killed after the first epoch's checkpoint
    resumed, resumed_history, was_resumed = fit("resumed", 2)
    assert was_resumed and history["loss"].iloc[1] < history["loss"].iloc[0]
    np.testing.assert_array_equal(resumed_history["val_loss"], history["val_loss"])
    for a, b, c in zip(whole, again, resumed):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
