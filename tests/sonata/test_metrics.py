import numpy as np

from sonata.analysis import chroma, describe, power_spectrum, silent_runs

CFG = {
    "silence_threshold": 0.001,
    "frame_seconds": 0.1,
    "fft_size": 2048,
    "passage_fft_sizes": [2048, 512, 128],
    "tonal_peak_db": 10,
    "tonal_floor_hz": 500,
    "tonal_band_db": 30,
    "change_seconds": 1.0,
}
RATE = 16000


def sine(freq, seconds=1.0, amp=0.3):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def test_sound_then_silence_is_flagged():
    audio = np.concatenate([sine(440, 1.0), np.zeros(3 * RATE, np.float32)])
    fraction, longest = silent_runs(audio, 0.001)
    assert 0.74 < fraction < 0.76 and longest == 3 * RATE
    stats = describe(audio, RATE, power_spectrum(sine(440, 4.0), 2048), CFG)
    assert stats["longest_silence_s"] == 3.0 and stats["rms_last_quarter"] == 0.0


def test_chroma_finds_the_pitch_class():
    for freq, pitch_class in [(440.0, 9), (261.63, 0), (392.0, 7)]:
        profile = chroma(power_spectrum(sine(freq), 2048), RATE, 2048)
        assert np.argmax(profile) == pitch_class
        assert abs(profile.sum() - 1) < 1e-9


def test_distances_rank_real_above_noise_above_silence():
    # music-like: a chord over a quiet broadband floor (real recordings are never spectrally empty)
    floor = np.random.default_rng(1).normal(0, 0.003, 2 * RATE).astype(np.float32)
    reference = sine(440, 2.0) + sine(660, 2.0, 0.1) + floor
    ref_power = power_spectrum(reference, 2048)
    same = describe(reference, RATE, ref_power, CFG)
    noise = describe(
        np.random.default_rng(0).normal(0, 0.2, 2 * RATE).astype(np.float32), RATE, ref_power, CFG
    )
    silence = describe(np.zeros(2 * RATE, np.float32), RATE, ref_power, CFG)
    assert same["spectral_distance_db"] < 1e-6 and same["chroma_distance"] < 1e-9
    assert same["spectral_distance_db"] < noise["spectral_distance_db"] < silence["spectral_distance_db"]
    assert silence["silent_fraction"] == 1.0 and noise["silent_fraction"] < 0.01


def test_real_baseline_repeats_short_audio_instead_of_padding_silence(tmp_path):
    import soundfile as sf

    from sonata.metrics import real_segment

    sf.write(str(tmp_path / "a.wav"), sine(440, 0.5), RATE, subtype="PCM_16")
    segment = real_segment([{"wav": str(tmp_path / "a.wav")}], 3 * RATE)
    assert len(segment) == 3 * RATE
    assert silent_runs(segment, 0.001)[1] < 10


def shaped_noise(audio, rng, smooth_hz=300.0):
    """Noise with audio's spectral envelope (smoothed magnitude, random phase): notes removed."""
    spectrum = np.abs(np.fft.rfft(audio))
    width = int(smooth_hz * len(audio) / RATE)
    envelope = np.convolve(spectrum, np.ones(width) / width, mode="same")
    phase = np.exp(2j * np.pi * rng.random(len(spectrum)))
    return np.fft.irfft(envelope * phase, n=len(audio)).astype(np.float32)


def test_tonal_fraction_hears_notes_where_spectral_distance_hears_only_the_envelope():
    rng = np.random.default_rng(2)
    # a melody of decaying harmonic notes over a quiet floor, like a piano recording
    notes = []
    for f0 in (220.0, 247.0, 262.0, 294.0, 330.0, 349.0, 392.0, 440.0):
        t = np.arange(RATE // 2) / RATE
        note = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 9)) * np.exp(-3 * t)
        notes.append(0.2 * note)
    music = (np.concatenate(notes) + rng.normal(0, 0.001, 4 * RATE)).astype(np.float32)
    ref_power = power_spectrum(music, 2048)
    imitation = shaped_noise(music, rng)
    white = rng.normal(0, 0.1, 4 * RATE).astype(np.float32)
    real, fake, noise = (describe(a, RATE, ref_power, CFG) for a in (music, imitation, white))
    assert real["tonal_fraction"] > 0.8
    assert fake["tonal_fraction"] < 0.2 and noise["tonal_fraction"] < 0.05
    # the envelope imitation fools the spectral distance (closer than white noise by far) ...
    assert fake["spectral_distance_db"] < 0.5 * noise["spectral_distance_db"]
    # ... but not the tonal fraction
    assert real["tonal_fraction"] - fake["tonal_fraction"] > 0.6


def test_one_loud_hum_over_noise_is_not_music():
    """An undertrained WaveNet's typical output: a steady low tone over broadband noise."""
    hum = sine(150.0, 4.0, 0.5) + np.random.default_rng(4).normal(0, 0.05, 4 * RATE).astype(np.float32)
    stats = describe(hum, RATE, power_spectrum(hum, 2048), CFG)
    assert 0.05 < stats["tonal_fraction"] < 0.3  # one octave of six holds a note


def test_a_constant_offset_counts_as_silence_not_as_sound():
    offset = np.full(2 * RATE, 0.01, np.float32)
    stats = describe(offset, RATE, power_spectrum(sine(440, 2.0), 2048), CFG)
    assert stats["silent_fraction"] == 1.0 and stats["longest_silence_s"] == 2.0
    assert stats["tonal_fraction"] == 0.0


def test_chroma_change_tells_a_moving_melody_from_a_loop_and_from_noise():
    rng = np.random.default_rng(3)
    melody = np.concatenate([sine(f, 1.0) + sine(1.5 * f, 1.0, 0.1) for f in (262.0, 330.0, 392.0, 494.0)])
    loop = np.tile(melody[:128], len(melody) // 128)  # a seq2seq fixed point: one block for ever
    white = rng.normal(0, 0.1, len(melody)).astype(np.float32)
    ref_power = power_spectrum(melody, 2048)
    moving, looping, noise = (
        describe(a, RATE, ref_power, CFG)["chroma_change"] for a in (melody, loop, white)
    )
    assert moving > 0.5
    assert looping < 1e-6 and noise < 0.1


def test_chroma_change_of_audio_too_short_to_move_is_not_computable():
    one_second = sine(262.0, 1.0) + sine(392.0, 1.0, 0.1)
    stats = describe(one_second, RATE, power_spectrum(one_second, 2048), CFG)
    assert np.isnan(stats["chroma_change"])  # one segment: not "a drone" (was 0.0)
    silence = describe(np.zeros(4 * RATE, np.float32), RATE, power_spectrum(one_second, 2048), CFG)
    assert silence["chroma_change"] == 0.0  # long enough, and nothing moves


def test_real_held_out_passages_are_real_not_generated(tmp_path):
    """The real audio beside each performed passage is its ceiling: the report greys it."""
    import pandas as pd
    import soundfile as sf

    from sonata.metrics import compute
    from sonata.records import HELD_OUT, REAL_PASSAGE

    rows = []
    for split, freq in (("test", 440), ("validation", 330)):
        path = tmp_path / f"{split}.wav"
        sf.write(str(path), sine(freq, 2.0), RATE, subtype="PCM_16")
        rows.append({"split": split, "wav": str(path), "sample_rate": RATE})
    pieces = []
    for role, freq in ((HELD_OUT, 220), (REAL_PASSAGE, 262)):
        path = tmp_path / f"{freq}.wav"
        sf.write(str(path), sine(freq, 1.0), RATE, subtype="PCM_16")
        pieces.append({"model": role, "seconds": 1.0, "passage": 1, "file": str(path)})
    table = compute(pd.DataFrame(rows), pieces, CFG, seed=0)
    kinds = dict(zip(table["model"], table["kind"]))
    assert kinds[HELD_OUT] == "generated" and kinds[REAL_PASSAGE] == "real"
    assert kinds["noise"] == "baseline"
    # the performed passage is measured against the real audio of its place, nothing else is
    distance = dict(zip(table["model"], table["passage_distance"]))
    assert distance[HELD_OUT] > 0 and np.isnan(distance[REAL_PASSAGE]) and np.isnan(distance["noise"])


def test_passage_distance_says_how_near_a_performance_sounds_to_the_recording_of_its_notes():
    """The recording itself is 0; the same notes in another timbre are nearer than other notes
    in the recording's timbre, and those nearer than noise at the recording's level."""
    from sonata.analysis import spectral_match
    from tests.support import melody, play

    sizes = (2048, 512, 128)
    notes = melody(4.0, 0)
    recording = play(notes, 4.0, RATE)
    t = np.arange(len(recording)) / RATE
    plain = np.zeros_like(t)  # the same notes, fundamentals only, a little louder
    for note in notes.itertuples():
        live = (t >= note.onset) & (t < note.offset)
        plain[live] += 0.12 * np.sin(2 * np.pi * 440.0 * 2 ** ((note.pitch - 69) / 12) * t[live])
    other = play(melody(4.0, 5), 4.0, RATE)
    noise = np.random.default_rng(0).standard_normal(len(recording)) * recording.std()
    distances = [spectral_match(x, recording, sizes) for x in (recording, plain, other, noise)]
    assert distances[0] == 0.0 and distances[1] < distances[2] < distances[3], distances
