"""Fixtures the tests share; the helpers they share are tests/support.py."""

import os
from pathlib import Path

import pytest
import soundfile as sf

from tests.support import tone

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


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
