"""basic-pitch as sonata's transcriber: it loads, hears the notes a piano plays and nothing in
silence or noise, scores transcriptions against notes, and writes label CSVs the workflow reads."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sonata import SonataError
from sonata.labels import NOTE_COLUMNS, labels_table, read_labels, write_midi
from sonata.synth import synthesize
from sonata.transcription import (
    TRANSCRIBED_COLUMN,
    TranscriberSettings,
    activations,
    is_transcribed,
    load_model,
    model_path,
    notes_from_activations,
    transcribe,
    transcribe_recording,
    transcription_scores,
    write_transcribed_labels,
)
from tests.support import melody, repo_config

RATE = 16000  # the workflow's converted audio rate


@pytest.fixture(scope="module")
def piano(tmp_path_factory):
    """Ten seconds of known notes (a triad every half second) played by FluidSynth's GM piano, as
    the embedded corpus is rendered, and what the transcriber hears in them."""
    embedded = repo_config()["corpus"]["embedded"]
    notes = melody(10.0, seed=3, step=0.5)
    midi = tmp_path_factory.mktemp("piano") / "notes.mid"
    write_midi(notes, str(midi))
    audio = synthesize(midi, embedded["soundfont"], RATE, float(embedded["gain"]), seconds=11.0)
    return notes, audio, transcribe(audio, RATE)


def test_the_onnx_model_loads():
    assert model_path().is_file() and model_path().suffix == ".onnx"
    session = load_model()
    assert [i.name for i in session.get_inputs()] == ["serving_default_input_2:0"]
    assert load_model() is session  # loaded once per process


def test_a_rendered_piano_is_transcribed_as_its_notes_and_not_as_notes_elsewhere(piano):
    notes, _, heard = piano
    assert list(heard.columns) == NOTE_COLUMNS and (heard["program"] == 1).all()
    assert heard["onset"].is_monotonic_increasing and (heard["offset"] > heard["onset"]).all()
    scores = transcription_scores(notes, heard, TranscriberSettings().onset_tolerance)
    assert scores["onset_f1"] >= 0.6 and scores["frame_f1"] >= 0.6, scores
    late = notes.assign(onset=notes["onset"] + 5.0, offset=notes["offset"] + 5.0)
    elsewhere = transcription_scores(late, heard, 0.05)
    assert elsewhere["onset_f1"] < 0.3 and elsewhere["frame_f1"] < 0.3, elsewhere
    assert scores["onset_f1"] - elsewhere["onset_f1"] > 0.4


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_transcribe_hears_what_basic_pitchs_own_predict_hears_in_the_file(piano, tmp_path, capsys):
    """The array path (soxr resampling, batched windows, decoding without pitch bends) is
    basic_pitch.inference.predict on a file, note for note."""
    from basic_pitch.inference import Model, predict

    _, audio, _ = piano
    wav = tmp_path / "piano.wav"
    sf.write(str(wav), audio, RATE, subtype="PCM_16")
    ours = transcribe_recording(wav)
    assert capsys.readouterr() == ("", "")  # nothing printed
    _, _, events = predict(wav, Model(model_path()))
    theirs = pd.DataFrame([e[:3] for e in events], columns=["onset", "offset", "pitch"])
    theirs = theirs.sort_values(["onset", "pitch"], kind="stable").reset_index(drop=True)
    np.testing.assert_array_equal(ours["pitch"], theirs["pitch"])
    np.testing.assert_allclose(ours[["onset", "offset"]], theirs[["onset", "offset"]], atol=1e-6)
    assert capsys.readouterr().out.startswith("Predicting MIDI")  # predict prints


def test_transcribing_at_another_rate_or_program_hears_the_same_notes(piano):
    """44.1 kHz stereo in (resampled and mixed down inside), a violin's program out."""
    notes, audio, heard = piano
    import soxr

    stereo = np.repeat(soxr.resample(audio, RATE, 44100)[:, None], 2, axis=1)
    again = transcribe(stereo, 44100, program=41)
    assert (again["program"] == 41).all()
    assert transcription_scores(heard, again)["onset_f1"] > 0.9  # resamplers differ a little


def test_the_settings_decide_which_notes_are_kept(piano):
    """Decoding the same activations: the frequency limits and the minimum length drop notes, and
    leave the activations as they were (basic-pitch zeroes them in place)."""
    _, audio, heard = piano
    output = activations(audio, RATE)
    highest = TranscriberSettings(maximum_frequency=262.0)  # C4, MIDI 60
    low = notes_from_activations(output, highest)
    assert 0 < len(low) < len(heard) and low["pitch"].max() <= 60
    longer = notes_from_activations(output, TranscriberSettings(minimum_note_ms=400.0))
    assert 0 < len(longer) < len(heard) and (longer["offset"] - longer["onset"]).min() > 0.4
    pd.testing.assert_frame_equal(notes_from_activations(output), heard)


def test_silence_and_noise_give_no_notes_and_score_zero(piano):
    notes = piano[0]
    rng = np.random.default_rng(0)
    for audio in (np.zeros(5 * RATE, np.float32), rng.normal(0.0, 0.1, 5 * RATE).astype(np.float32)):
        heard = transcribe(audio, RATE)
        assert len(heard) <= 2
        assert transcription_scores(notes, heard)["onset_f1"] < 0.05
    assert len(transcribe(np.zeros(0, np.float32), RATE)) == 0
    nothing = notes.iloc[:0]
    assert transcription_scores(notes, nothing) == dict.fromkeys(transcription_scores(notes, notes), 0.0)
    assert transcription_scores(nothing, notes)["frame_f1"] == 0.0
    assert all(np.isnan(v) for v in transcription_scores(nothing, nothing).values())


def test_scores_count_pitch_and_time_not_pitch_class():
    notes = pd.DataFrame({"onset": [0.0, 1.0], "offset": [0.5, 1.5], "pitch": [60, 64], "program": 1})
    assert transcription_scores(notes, notes) == dict.fromkeys(transcription_scores(notes, notes), 1.0)
    octave = notes.assign(pitch=notes["pitch"] + 12)
    assert transcription_scores(notes, octave)["onset_f1"] == 0.0
    assert transcription_scores(notes, octave)["frame_f1"] == 0.0
    half = notes.assign(offset=notes["onset"] + 0.25, onset=notes["onset"] + 0.04)  # within 50 ms
    scores = transcription_scores(notes, half, onset_tolerance=0.05)
    assert scores["onset_f1"] == 1.0 and scores["frame_precision"] == 1.0
    assert scores["frame_recall"] == pytest.approx(0.21 / 0.5)
    assert transcription_scores(notes, half, onset_tolerance=0.02)["onset_f1"] == 0.0


def test_a_transcribed_label_csv_reads_back_marked_and_a_musicnet_one_still_reads(piano, tmp_path):
    _, audio, heard = piano
    wav = tmp_path / "recording.wav"
    sf.write(str(wav), audio, RATE, subtype="PCM_16")
    from_file = transcribe_recording(wav)
    assert transcription_scores(heard, from_file)["onset_f1"] > 0.9  # 16-bit rounding aside
    path = tmp_path / "transcribed.csv"
    write_transcribed_labels(from_file, path)
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(written.columns[:7]) == list(labels_table(from_file).columns)
    assert (written[TRANSCRIBED_COLUMN] == "1").all() and (written["start_beat"] == "").all()
    back = read_labels(str(path))
    assert list(back.columns) == NOTE_COLUMNS  # no beats: the composer's fixed-tempo fallback
    np.testing.assert_allclose(back["onset"], from_file["onset"], atol=1 / 44100)
    np.testing.assert_allclose(back["offset"], from_file["offset"], atol=1 / 44100)
    np.testing.assert_array_equal(back["pitch"], from_file["pitch"])
    assert is_transcribed(path)
    musicnet = tmp_path / "musicnet.csv"
    labels_table(piano[0]).to_csv(musicnet, index=False)
    assert not is_transcribed(musicnet)
    assert {"start_beat", "end_beat"} <= set(read_labels(str(musicnet)).columns)


def test_an_unreadable_recording_is_an_error_naming_it(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(SonataError, match="broken.wav"):
        transcribe_recording(broken)


def test_metrics_judge_a_performance_by_what_the_transcriber_hears_in_it(piano, tmp_path):
    """sonata.metrics.transcription_table: the notes a sound was made from score high, other
    notes in the same rhythm low; a piece without notes (a raw-audio piece) is not judged."""
    from sonata.audio import write_wav
    from sonata.metrics import transcription_table

    notes, audio, _ = piano
    wav = tmp_path / "piece.wav"
    write_wav(wav, audio, RATE)
    pieces = []
    for name, table in (("own", notes), ("other", notes.assign(pitch=notes["pitch"] + 5))):
        labels_table(table).to_csv(tmp_path / f"{name}.csv", index=False)
        pieces.append({"file": str(wav), "notes": str(tmp_path / f"{name}.csv")})
    pieces.append({"file": str(wav)})
    heard = transcription_table(pieces, TranscriberSettings())
    assert len(heard) == 2
    own, other = heard.iloc[0], heard.iloc[1]
    assert own["transcription_onset_f1"] >= 0.6 and own["transcription_frame_f1"] >= 0.6
    assert other["transcription_onset_f1"] < 0.2 and other["transcription_frame_f1"] < 0.2
