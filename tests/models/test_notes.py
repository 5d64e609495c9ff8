import numpy as np
import pandas as pd
import pytest

from models.notes.keyboard import KEYS
from models.notes.rolls import piano_roll, pitch_guide
from models.notes.tokens import NoteVocabulary
from sonata import SonataError
from sonata.labels import labels_table, pitch_classes_at, read_labels, read_midi, write_midi
from sonata.passages import excerpt


def random_notes(seed: int, n: int = 300) -> pd.DataFrame:
    """Chords, repeated notes, long notes and two instruments, on a 10 ms grid or off it."""
    rng = np.random.default_rng(seed)
    onset = np.sort(rng.choice(np.arange(0, 4000), n)) * 0.0137
    onset[10:14] = onset[10]  # a chord
    length = rng.choice([0.02, 0.1, 0.5, 1.3, 4.2], n)
    notes = pd.DataFrame(
        {
            "onset": onset,
            "offset": onset + length,
            "pitch": rng.integers(28, 100, n),
            "program": rng.choice([1, 41], n),
        }
    )
    # MIDI cannot hold two overlapping notes of one pitch on one channel: keep the first
    free = notes.groupby(["pitch", "program"])["offset"].transform(lambda o: o.cummax().shift(fill_value=0))
    return notes[notes["onset"] >= free].reset_index(drop=True)


def assert_same_notes(a: pd.DataFrame, b: pd.DataFrame, tolerance: float) -> None:
    key = ["onset", "pitch", "program"]
    a = a.sort_values(key, kind="stable").reset_index(drop=True)
    b = b.sort_values(key, kind="stable").reset_index(drop=True)
    assert len(a) == len(b)
    np.testing.assert_array_equal(a["pitch"], b["pitch"])
    np.testing.assert_array_equal(a["program"], b["program"])
    np.testing.assert_allclose(a["onset"], b["onset"], atol=tolerance)
    np.testing.assert_allclose(a["offset"], b["offset"], atol=tolerance)


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_to_tokens_to_labels_and_midi_within_one_step(seed, tmp_path):
    vocab = NoteVocabulary()
    notes = random_notes(seed)
    labels_table(notes).to_csv(tmp_path / "in.csv", index=False)
    read = read_labels(str(tmp_path / "in.csv"))
    assert_same_notes(read, notes, 1 / 44100)
    tokens = vocab.encode(read)
    assert tokens.min() > 0 and tokens.max() < vocab.size
    back = vocab.decode(tokens)
    assert_same_notes(back, read, vocab.step)  # within one time step
    labels_table(back).to_csv(tmp_path / "out.csv", index=False)
    assert_same_notes(read_labels(str(tmp_path / "out.csv")), read, vocab.step)
    write_midi(back, str(tmp_path / "out.mid"))
    assert_same_notes(read_midi(str(tmp_path / "out.mid")), read, vocab.step)


def test_tokens_transpose_and_fold_into_the_keys():
    vocab = NoteVocabulary()
    notes = pd.DataFrame({"onset": [0.0, 0.5], "offset": [0.2, 0.7], "pitch": [60, 106], "program": [1, 1]})
    back = vocab.decode(vocab.encode(notes, transpose=5))
    assert list(back["pitch"]) == [65, 99]  # 111 folds down an octave


@pytest.mark.parametrize(
    "row, column",
    [
        ({"start_time": "x"}, "start_time"),
        ({"instrument": "violin"}, "instrument"),
        ({"instrument": 0}, "row 3, column 'instrument'.*1-128"),  # MusicNet's programs are 1-based
        ({"instrument": 129}, "row 3, column 'instrument'.*1-128"),
        ({"note": ""}, "note"),
        ({"end_time": "10"}, "row 3"),
    ],
)
def test_malformed_labels_name_the_file_row_and_column(tmp_path, row, column):
    good = {
        "start_time": 100,
        "end_time": 200,
        "instrument": 1,
        "note": 60,
        "start_beat": 0,
        "end_beat": 1,
        "note_value": "Quarter",
    }
    table = pd.DataFrame([good, {**good, **row}])
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    with pytest.raises(SonataError, match=rf"bad.csv.*{column}"):
        read_labels(str(path))


def test_piano_roll_holds_and_strikes_repeated_notes_separately():
    notes = pd.DataFrame({"onset": [0.0, 0.1], "offset": [0.1, 0.2], "pitch": [60, 60], "program": [1, 1]})
    roll = piano_roll(notes, 25, 0.01, 3)
    key = 60 - 21
    assert roll[:20, key].all() and not roll[20:, key].any()
    assert list(np.flatnonzero(roll[:, KEYS + key])) == [0, 1, 2, 10, 11, 12]
    counts = pitch_classes_at(notes, np.array([0.05, 0.15, 0.3]))
    assert counts[:, 0].tolist() == [1, 1, 0]


def test_pitch_guide_plays_each_held_note_at_its_frequency_and_each_strike_only_at_its_onset():
    """A4 held 0.5 s and a top C (4186 Hz, over an 8 kHz rate's Nyquist): the guide is a 440 Hz
    sine while A4 sounds, its struck channel only over the onset frames, the C left out."""
    rate, frame = 8000, 80  # 10 ms frames
    notes = pd.DataFrame({"onset": [0.1, 0.0], "offset": [0.6, 0.8], "pitch": [69, 108], "program": [1, 1]})
    roll = piano_roll(notes, 100, 0.01, 3)
    guide = pitch_guide(roll, frame, rate)
    assert guide.shape == (100 * frame, 2) and guide.dtype == np.float32
    held = guide[10 * frame : 60 * frame, 0]
    spectrum = np.abs(np.fft.rfft(held))
    assert np.fft.rfftfreq(len(held), 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert not guide[: 10 * frame].any() and not guide[60 * frame :].any()  # the C stays silent
    assert list(np.flatnonzero(np.abs(guide[:, 1]).reshape(100, frame).max(axis=1))) == [10, 11, 12]
    # a window's guide is its recording's, sample for sample
    window = pitch_guide(roll[30:45], frame, rate, first_frame=30)
    np.testing.assert_allclose(window, guide[30 * frame : 45 * frame], atol=1e-5)


def test_a_label_row_with_extra_fields_names_the_file_and_line(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(
        "start_time,end_time,instrument,note,start_beat,end_beat,note_value\n"
        "100,200,1,60,0,1,Quarter\n"
        "300,400,1,62,1,1,Quarter,oops\n"
    )
    with pytest.raises(SonataError, match=r"extra.csv is not a readable CSV \(.*line 3, saw 8"):
        read_labels(str(path))


def test_an_excerpt_writes_labels_that_read_back_even_when_a_note_barely_reaches_into_it(tmp_path):
    """A note ending a microsecond after the passage starts would be a zero-length label row
    (start_time == end_time), which read_labels refuses: the excerpt leaves it out."""
    notes = pd.DataFrame(
        {
            "onset": [0.5, 1.0, 2.5],
            "offset": [2.000001, 3.0, 2.9],
            "pitch": [60, 64, 67],
            "program": [1, 1, 1],
        }
    )
    passage = excerpt(notes, 2.0, 1.0)
    path = tmp_path / "passage.csv"
    labels_table(passage).to_csv(path, index=False)
    back = read_labels(str(path))
    assert list(back["pitch"]) == [64, 67]
    np.testing.assert_allclose(back["onset"], [0.0, 0.5], atol=1e-4)
    np.testing.assert_allclose(back["offset"], [1.0, 0.9], atol=1e-4)
