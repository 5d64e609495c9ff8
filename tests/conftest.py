import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def repo_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


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


@pytest.fixture
def make_wav(tmp_path):
    def make(
        name: str, seconds: float = 1.0, rate: int = 16000, channels: int = 1, freq: float = 440.0
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), tone(seconds, rate, freq, channels), rate, subtype="PCM_16")
        return path

    return make
