"""A composed piece as a person would play it: every note in its instrument's compass, and MIDI
that an independent parser (music21, as notation software reads it) opens with the right
instruments, tempo and notes."""

import numpy as np
import pandas as pd

from models.notes.composing import composed_notes
from models.notes.tokens import NoteVocabulary
from sonata.instruments import sounding_range
from sonata.labels import write_midi


def test_composed_notes_keep_to_their_instruments_and_read_back_in_music21(tmp_path):
    import music21

    vocabulary = NoteVocabulary(step=0.01)
    # a violin part written an octave and more below its compass, a cello above its own
    written = pd.DataFrame(
        {
            "onset": np.arange(8) * 0.5,
            "offset": np.arange(8) * 0.5 + 0.5,
            "pitch": [40, 43, 47, 50, 93, 95, 96, 98],
            "program": [41] * 4 + [43] * 4,
        }
    )
    tokens = vocabulary.encode(written)
    notes = composed_notes(tokens, tokens[:0], 41, vocabulary, 4.0)
    assert len(notes) == len(written)
    for note in notes.itertuples():
        low, high = sounding_range(int(note.program))
        assert low <= note.pitch <= high and note.pitch % 12 == written.loc[note.Index, "pitch"] % 12
    write_midi(notes, str(tmp_path / "piece.mid"), qpm=120.0)

    score = music21.converter.parse(str(tmp_path / "piece.mid"))
    programs = sorted(
        i.midiProgram + 1 for part in score.parts for i in part.recurse().getElementsByClass("Instrument")
    )
    assert programs == [41, 43]  # 1-based GM programs, as the labels name them
    (tempo,) = {m.number for m in score.recurse().getElementsByClass(music21.tempo.MetronomeMark)}
    assert tempo == 120
    pitches = sorted(p.midi for n in score.recurse().notes for p in n.pitches)
    assert pitches == sorted(notes["pitch"].tolist())


def test_a_beat_grid_piece_is_written_at_the_tempo_its_composer_read(tmp_path):
    """The beat_lstm composer writes on the beat grid at its primer's tempo: its MIDI says that
    tempo (notation software then shows the notes on the beat), not a nominal 120."""
    import music21

    from models.notes.beats import BeatVocabulary

    vocabulary = BeatVocabulary()
    beats = np.arange(16) * 0.5
    primer = pd.DataFrame(
        {
            "onset": beats * 60 / 168,
            "offset": (beats + 0.5) * 60 / 168,
            "pitch": [60, 62, 64, 65] * 4,
            "program": 1,
            "start_beat": beats,
            "end_beat": 0.5,
        }
    )
    qpm = vocabulary.tempo(vocabulary.encode(primer))
    assert abs(qpm - 168) / 168 < 0.03  # the nearest of its 16-an-octave tempo bins
    assert NoteVocabulary(step=0.01).tempo(np.zeros(3, np.int32)) == 120.0
    write_midi(primer, str(tmp_path / "piece.mid"), qpm=qpm)
    score = music21.converter.parse(str(tmp_path / "piece.mid"))
    (tempo,) = {m.number for m in score.recurse().getElementsByClass(music21.tempo.MetronomeMark)}
    assert abs(tempo - qpm) < 0.5
    onsets = sorted({float(n.offset) for n in score.flatten().notes})
    assert onsets == [float(b) for b in beats]  # every note on its eighth-note beat
