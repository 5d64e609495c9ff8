import hashlib

import numpy as np
import pytest
import soundfile as sf

from sonata import SonataError
from sonata.convert import convert


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_stereo_48k_wav_becomes_mono_16k_and_input_is_untouched(make_wav, tmp_path):
    source = make_wav("in.wav", seconds=2.0, rate=48000, channels=2)
    before = digest(source)
    facts = convert(str(source), str(tmp_path / "out.wav"), 16000)
    audio, rate = sf.read(tmp_path / "out.wav")
    assert rate == 16000 and audio.ndim == 1 and abs(len(audio) - 32000) <= 2
    assert facts["source_channels"] == 2 and facts["source_rate"] == 48000
    assert digest(source) == before
    # the tone survives resampling: its spectrum peaks at 440 Hz
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 16000 / len(audio) - 440) < 2


def test_mp3_at_44k1_converts(make_wav, tmp_path):
    from pydub import AudioSegment

    wav = make_wav("src.wav", seconds=1.5, rate=44100)
    AudioSegment.from_wav(str(wav)).export(str(tmp_path / "1.mp3"), format="mp3")
    convert(str(tmp_path / "1.mp3"), str(tmp_path / "1.wav"), 16000)
    info = sf.info(str(tmp_path / "1.wav"))
    assert info.samplerate == 16000 and info.channels == 1 and 1.4 < info.duration < 1.7


@pytest.mark.parametrize(
    "content, message", [(b"", "empty"), (b"ID3\x03\x00garbage" * 50, "cannot be decoded")]
)
def test_bad_mp3_names_the_file_and_leaves_no_output(tmp_path, content, message):
    bad = tmp_path / "2001.mp3"
    bad.write_bytes(content)
    with pytest.raises(SonataError, match=message) as error:
        convert(str(bad), str(tmp_path / "out" / "2001.wav"), 16000)
    assert "2001.mp3" in str(error.value)
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())  # no partial or temporary file
    assert bad.read_bytes() == content


def test_rate_below_target_is_refused(make_wav, tmp_path):
    low = make_wav("low.wav", rate=8000)
    with pytest.raises(SonataError, match="8000 Hz.*below"):
        convert(str(low), str(tmp_path / "o.wav"), 16000)
