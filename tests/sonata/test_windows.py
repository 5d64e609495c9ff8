import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from models.raw_audio import window_schemes
from sonata.windowing import write_shard
from sonata.windows import WindowScheme, count_windows, frame
from tests.support import repo_config

SCHEME_A = WindowScheme("a", 128, 128, 128, 128)
SCHEME_B = WindowScheme("b", 128, 1, 128, 64)


def naive_windows(audio, length, hop):
    out, start = [], 0
    while start + length <= len(audio):
        out.append(audio[start : start + length])
        start += hop
    return np.array(out).reshape(-1, length)


def test_report_schemes_have_the_reports_shapes():
    schemes = window_schemes(repo_config())
    assert schemes["a"].length == 256 and schemes["a"].hop == 128
    assert schemes["b"].length == 129 and schemes["b"].hop == 64
    x, y = schemes["b"].split(np.arange(129))
    assert list(x) == list(range(0, 128)) and list(y) == list(range(1, 129))
    x, y = schemes["a"].split(np.arange(256))
    assert list(x) == list(range(128)) and list(y) == list(range(128, 256))
    assert schemes["a"].new_samples == 128 and schemes["b"].new_samples == 1


@pytest.mark.parametrize("n", [0, 100, 128, 129, 255, 256, 257, 383, 384, 1000, 16000])
@pytest.mark.parametrize("scheme", [SCHEME_A, SCHEME_B])
def test_frame_matches_naive_loop_and_formula(n, scheme):
    audio = np.random.default_rng(n).integers(-3000, 3000, n).astype(np.int16)
    fast = frame(audio, scheme.length, scheme.hop)
    slow = naive_windows(audio, scheme.length, scheme.hop)
    expected = 0 if n < scheme.length else (n - scheme.length) // scheme.hop + 1
    assert count_windows(n, scheme.length, scheme.hop) == expected == len(fast) == len(slow)
    np.testing.assert_array_equal(fast, slow)


def test_wavenet_scheme_is_receptive_field_plus_chunk():
    cfg = repo_config()
    model = cfg["models"]["wavenet"]
    scheme = window_schemes(cfg)["wavenet"]
    # kernel 2: the input conv sees one past sample, each dilated layer `dilation` more
    rf = 1 + 1 + sum(2**i for i in range(model["layers_per_stack"])) * model["stacks"]
    assert model["kernel_size"] == 2
    assert scheme.length == rf + model["chunk"] and scheme.hop == model["chunk"]
    x, y = scheme.split(np.arange(scheme.length))
    assert len(x) == scheme.length - 1 and y[0] == rf and y[-1] == scheme.length - 1


def test_shard_counts_attributes_and_chunks(tmp_path):
    rate = 16000
    lengths = [16000, 5000, 129, 100]
    rows = []
    for i, n in enumerate(lengths):
        path = tmp_path / f"{i}.wav"
        audio = np.random.default_rng(i).integers(-20000, 20000, n).astype(np.int16)
        sf.write(str(path), audio, rate, subtype="PCM_16")
        rows.append(
            {
                "id": 100 + i,
                "split": "train",
                "composer": f"C{i % 2}",
                "ensemble": "Solo Piano",
                "wav": str(path),
                "sample_rate": rate,
                "samples": n,
            }
        )
    manifest = pd.DataFrame(rows)
    for scheme in (SCHEME_A, SCHEME_B):
        out = tmp_path / f"{scheme.name}.h5"
        total = write_shard(str(out), manifest, scheme, "train", "demo", chunk_windows=32)
        expected = [count_windows(n, scheme.length, scheme.hop) for n in lengths]
        assert total == sum(expected)
        with h5py.File(out) as h5:
            windows = h5["windows"]
            assert windows.shape == (sum(expected), scheme.length)
            assert windows.chunks == (32, scheme.length)
            assert list(h5.attrs["recording_windows"]) == expected
            assert list(h5.attrs["source_ids"]) == [100, 101, 102, 103]
            assert list(h5.attrs["composers"]) == ["C0", "C1", "C0", "C1"]
            assert h5.attrs["sample_rate"] == rate and h5.attrs["hop"] == scheme.hop
            # window k of recording 1 is its audio at start k * hop
            audio1, _ = sf.read(rows[1]["wav"], dtype="int16")
            first = expected[0]
            k = 3
            np.testing.assert_array_equal(
                windows[first + k], audio1[k * scheme.hop : k * scheme.hop + scheme.length]
            )
            assert h5["recording"][first + k] == 1 and h5["start"][first + k] == k * scheme.hop


def test_shard_trims_silent_targets_only_when_asked(tmp_path):
    audio = np.zeros(4096, dtype=np.int16)
    audio[2000:2100] = 5000
    path = tmp_path / "q.wav"
    sf.write(str(path), audio, 16000, subtype="PCM_16")
    manifest = pd.DataFrame(
        [
            {
                "id": 1,
                "split": "train",
                "composer": "X",
                "ensemble": "Y",
                "wav": str(path),
                "sample_rate": 16000,
                "samples": 4096,
            }
        ]
    )
    keep_all = write_shard(str(tmp_path / "all.h5"), manifest, SCHEME_A, "train", "d", 16)
    trimmed = write_shard(str(tmp_path / "trim.h5"), manifest, SCHEME_A, "train", "d", 16, trim_below=0.001)
    assert keep_all == count_windows(4096, 256, 128)
    assert 0 < trimmed < keep_all
