import mido
import pandas as pd
import pytest
import soundfile as sf

from sonata import SonataError
from sonata.catalog import LABEL_COLUMNS
from tests.conftest import repo_config
from workflow_scripts.build_corpus import build_piece, part_programs, score_notes, write_midi


def chorale_piece():
    pieces = repo_config()["corpus"]["embedded"]["pieces"]
    return next(p for p in pieces if p["id"] == 9012)  # Bach chorale, wind quartet


def test_piece_renders_to_mp3_with_musicnet_labels(tmp_path):
    corpus = repo_config()["corpus"]
    corpus["embedded"]["max_seconds"] = 4
    seconds = build_piece(chorale_piece(), corpus, str(tmp_path / "9012.mp3"), str(tmp_path / "9012.csv"))
    info = sf.info(str(tmp_path / "9012.mp3"))
    assert info.samplerate == 44100 and info.channels == 1
    assert 4 <= seconds < 7  # the cut plus the synthesizer's release tail
    labels = pd.read_csv(tmp_path / "9012.csv")
    assert list(labels.columns) == LABEL_COLUMNS
    assert set(labels["instrument"]) == {69, 72, 61, 71}  # oboe, clarinet, horn, bassoon (GM, 1-based)
    assert labels["end_time"].max() <= 4 * 44100 + 1
    assert (labels["end_time"] > labels["start_time"]).all()
    # times are samples at 44.1 kHz: beats * (60 / qpm) * 44100
    qpm = chorale_piece()["qpm"]
    row = labels.iloc[len(labels) // 2]
    assert row["start_time"] == round(row["start_beat"] * 60 / qpm * 44100)


def test_midi_uses_480_ticks_and_the_parts_programs(tmp_path):
    events = score_notes("bach/bwv66.6.mxl", [69, 72, 61, 71], max_quarters=8)
    write_midi(events, 76, tmp_path / "x.mid")
    midi = mido.MidiFile(str(tmp_path / "x.mid"))
    assert midi.ticks_per_beat == 480
    programs = [m.program + 1 for t in midi.tracks for m in t if m.type == "program_change"]
    assert programs == [69, 72, 61, 71]
    assert part_programs(3, [72, 1]) == [72, 1, 1]


def test_transposing_instrument_sounds_at_concert_pitch():
    # Weber's concertino is written for B-flat clarinet: sounding pitch is a tone below written
    from music21 import corpus

    written = corpus.parse("weber/concertino_clarinet.mxl").parts[0].flatten().notes[0].pitches[0].midi
    sounding = score_notes("weber/concertino_clarinet.mxl", [72, 1], max_quarters=40)
    first_clarinet = min((e for e in sounding if e.part == 0), key=lambda e: e.start_quarters)
    assert first_clarinet.pitch == written - 2


def test_missing_soundfont_is_a_clear_error(tmp_path):
    corpus = repo_config()["corpus"]
    corpus["embedded"].update(max_seconds=1, soundfont=str(tmp_path / "none.sf2"))
    with pytest.raises(SonataError, match="none.sf2.*fluid-soundfont-gm"):
        build_piece(chorale_piece(), corpus, str(tmp_path / "a.mp3"), str(tmp_path / "a.csv"))
    assert not (tmp_path / "a.mp3").exists()
