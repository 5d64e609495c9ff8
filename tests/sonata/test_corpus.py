"""Rendering the embedded corpus: MusicNet's format; the score's dynamics, tempo and ranges carry over."""

import mido
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sonata import SonataError
from sonata.corpus import build_piece, write_metadata_row
from sonata.instruments import fit_to_range, sounding_range
from sonata.labels import LABEL_COLUMNS
from sonata.scores import (
    DynamicMark,
    Hairpin,
    TempoMark,
    part_programs,
    prepare_score,
    score_notes,
    tempo_map,
    velocity_curve,
    write_midi,
)
from tests.support import repo_config
from workflow_scripts.corpus_metadata import write_metadata

LEVELS = {"ppp": 20, "pp": 32, "p": 48, "mp": 64, "mf": 80, "f": 96, "ff": 112, "fff": 124}


def render_settings(**overrides) -> dict:
    embedded = repo_config()["corpus"]["embedded"]
    settings = {k: v for k, v in embedded.items() if k not in ("pieces", "ensembles")}
    settings.update(overrides)
    return settings


def chorale_piece() -> dict:
    pieces = repo_config()["corpus"]["embedded"]["pieces"]
    return next(p for p in pieces if p["id"] == 9012)  # Bach chorale, wind quartet


WIND_QUARTET = [69, 72, 61, 71]


def test_piece_renders_to_mp3_with_musicnet_labels_and_metadata(tmp_path):
    seconds = build_piece(
        chorale_piece(),
        WIND_QUARTET,
        render_settings(max_seconds=4),
        str(tmp_path / "9012.mp3"),
        str(tmp_path / "9012.csv"),
    )
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
    # every part stays in its instrument's sounding range
    for program, notes in labels.groupby("instrument")["note"]:
        low, high = sounding_range(program)
        assert notes.between(low, high).all(), program

    write_metadata_row(chorale_piece(), seconds, str(tmp_path / "row.json"))
    table = write_metadata([str(tmp_path / "row.json")], str(tmp_path / "musicnet_metadata.csv"))
    assert table.loc[0, "id"] == 9012 and table.loc[0, "seconds"] == round(seconds)
    assert table.loc[0, "ensemble"] == "Wind Quartet"


def test_labels_count_44100_samples_a_second_whatever_the_render_rate(tmp_path):
    """MusicNet's label times are samples at 44.1 kHz; read_labels divides by that, always."""
    build_piece(
        chorale_piece(),
        WIND_QUARTET,
        render_settings(max_seconds=3, render_rate=22050),
        str(tmp_path / "9012.mp3"),
        str(tmp_path / "9012.csv"),
    )
    assert sf.info(str(tmp_path / "9012.mp3")).samplerate == 22050
    labels = pd.read_csv(tmp_path / "9012.csv")
    qpm = chorale_piece()["qpm"]
    row = labels.iloc[len(labels) // 2]
    assert row["start_time"] == round(row["start_beat"] * 60 / qpm * 44100)


def test_midi_uses_480_ticks_the_parts_programs_and_the_tempo(tmp_path):
    events, marks = score_notes("bach/bwv66.6.mxl", WIND_QUARTET, render_settings())
    write_midi(events[:40], tempo_map(marks, 76), tmp_path / "x.mid")
    midi = mido.MidiFile(str(tmp_path / "x.mid"))
    assert midi.ticks_per_beat == 480
    programs = [m.program + 1 for t in midi.tracks for m in t if m.type == "program_change"]
    assert programs == [69, 72, 61, 71]
    tempi = [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"]
    assert tempi == [round(60_000_000 / 76)]
    assert part_programs(3, [72, 1]) == [72, 1, 1]


def test_transposing_instrument_sounds_at_concert_pitch():
    # Weber's concertino is written for B-flat clarinet: sounding pitch is a tone below written
    from music21 import corpus

    written = corpus.parse("weber/concertino_clarinet.mxl").parts[0].flatten().notes[0].pitches[0].midi
    sounding, _ = score_notes("weber/concertino_clarinet.mxl", [72, 1], render_settings())
    first_clarinet = min((e for e in sounding if e.part == 0), key=lambda e: e.start_quarters)
    assert first_clarinet.pitch == written - 2


def badly_repeated_score():
    from music21 import bar, note, stream

    part = stream.Part()
    for number in (1, 2, 3):
        measure = stream.Measure(number=number)
        measure.append(note.Note("C4", quarterLength=4))
        if number == 2:
            measure.leftBarline = bar.Repeat(direction="start")  # a start repeat and no end
        part.append(measure)
    return stream.Score([part])


def test_unexpandable_repeats_warn_for_a_users_score_and_only_log_for_the_corpus(tmp_path, caplog):
    mine = tmp_path / "mine.mxl"
    mine.write_text("stands for the user's own score file")
    caplog.set_level("INFO")
    for source in (str(mine), "mozart/k458/movement1.mxl"):
        played = prepare_score(badly_repeated_score(), source)
        assert len(played.parts[0].getElementsByClass("Measure")) == 3  # rendered as written
    levels = {record.message.split(":")[0]: record.levelname for record in caplog.records}
    assert levels == {str(mine): "WARNING", "mozart/k458/movement1.mxl": "INFO"}


def test_missing_soundfont_is_a_clear_error(tmp_path):
    settings = render_settings(max_seconds=1, soundfont=str(tmp_path / "none.sf2"))
    with pytest.raises(SonataError, match="none.sf2.*fluid-soundfont-gm"):
        build_piece(chorale_piece(), WIND_QUARTET, settings, str(tmp_path / "a.mp3"), str(tmp_path / "a.csv"))
    assert not (tmp_path / "a.mp3").exists()


def test_unknown_score_names_the_setting(tmp_path):
    piece = dict(chorale_piece(), score="bach/no_such_piece.mxl")
    with pytest.raises(SonataError, match="no_such_piece.*corpus.embedded.pieces"):
        build_piece(piece, WIND_QUARTET, render_settings(), str(tmp_path / "a.mp3"), str(tmp_path / "a.csv"))


def dynamic_score(path) -> str:
    """Eight bars of repeated C major chords: p, a crescendo, f; then a tempo change and a tie."""
    from music21 import chord, dynamics, meter, note, stream, tempo, tie

    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    part.insert(0, tempo.MetronomeMark(number=120))
    part.append(dynamics.Dynamic("p"))
    for _ in range(8):
        part.append(chord.Chord(["C4", "E4", "G4"], quarterLength=1))
    ramp = [chord.Chord(["C4", "E4", "G4"], quarterLength=1) for _ in range(4)]
    for element in ramp:
        part.append(element)
    part.insert(8, dynamics.Crescendo(*ramp))
    part.append(dynamics.Dynamic("f"))
    for _ in range(8):
        part.append(chord.Chord(["C4", "E4", "G4"], quarterLength=1))
    part.append(tempo.MetronomeMark(number=60))
    tied = [note.Note("G4", quarterLength=2), note.Note("G4", quarterLength=2)]
    tied[0].tie, tied[1].tie = tie.Tie("start"), tie.Tie("stop")
    for element in tied:
        part.append(element)
    score = stream.Score([part])
    score.write("musicxml", fp=str(path))
    return str(path)


def test_velocities_and_loudness_follow_the_score_dynamics(tmp_path):
    score = dynamic_score(tmp_path / "dynamics.musicxml")
    piece = {**chorale_piece(), "id": 1, "score": score, "qpm": 100}
    build_piece(
        piece,
        [1],
        render_settings(),
        str(tmp_path / "d.mp3"),
        str(tmp_path / "d.csv"),
        str(tmp_path / "d.mid"),
    )
    midi = mido.MidiFile(str(tmp_path / "d.mid"))
    onsets = []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                onsets.append((tick / 480, message.velocity))
    velocity = {}
    for beat, v in onsets:
        velocity.setdefault(beat, v)
    assert {velocity[b] for b in range(8)} == {LEVELS["p"]}
    ramp = [velocity[b] for b in range(8, 12)]
    assert ramp[0] == LEVELS["p"] and all(a < b for a, b in zip(ramp, ramp[1:])) and ramp[-1] < LEVELS["f"]
    assert {velocity[b] for b in range(12, 20)} == {LEVELS["f"]}

    labels = pd.read_csv(tmp_path / "d.csv")
    # the score's metronome marks, not the configured 100 qpm: 120 until beat 20, then 60
    beat_20 = labels[labels["start_beat"] == 20].iloc[0]
    assert beat_20["start_time"] == round(20 * 0.5 * 44100)
    assert beat_20["end_time"] == round((10 + 4 * 1.0) * 44100)  # the tie joins two half notes at 60
    assert (labels["note"] == 67).sum() == 12 + 8 + 1

    audio, rate = sf.read(str(tmp_path / "d.mp3"))

    def rms_db(from_beat, to_beat):
        segment = audio[int(from_beat * 0.5 * rate) : int(to_beat * 0.5 * rate)]
        return 20 * np.log10(np.sqrt(np.mean(segment**2)))

    assert rms_db(12.5, 19.5) - rms_db(0.5, 7.5) > 6.0  # f is audibly louder than p


def test_velocity_curve_hairpins_accents_and_defaults():
    curve = velocity_curve(
        [DynamicMark(4, "p"), DynamicMark(10, "sfz"), DynamicMark(16, "fp")],
        [Hairpin(12, 14, crescendo=False)],
        LEVELS,
        LEVELS["mf"],
        24,
        16,
    )
    assert curve(0) == 80  # before any mark: default_dynamic
    assert curve(4) == curve(9) == 48
    assert curve(10) == 48 + 24 and curve(11) == 48  # an accent lifts one onset only
    assert curve(12) == 48 and 32 < curve(13) < 48 and curve(15) == 32  # no mark after: one step down
    assert curve(16) == 32 + 24 and curve(17) == 48  # fp: a loud onset, then p


def test_tempo_map_honours_numbers_and_scales_words():
    # no marks: the configured tempo
    plain = tempo_map([], 120)
    assert plain.seconds(240) == pytest.approx(120.0)
    # a number is taken as written
    numbered = tempo_map([TempoMark(0, 60, True), TempoMark(8, 120, True)], 100)
    assert numbered.seconds(8) == pytest.approx(8.0) and numbered.seconds(12) == pytest.approx(10.0)
    assert numbered.quarters(10.0) == pytest.approx(12.0)
    # words: Allegro then Adagio keep their ratio around the configured tempo
    words = tempo_map([TempoMark(0, 132, False), TempoMark(4, 66, False)], 150)
    assert words.qpm == (150, 75)


def test_parts_stay_in_their_instruments_range(tmp_path):
    from music21 import note, stream

    low = stream.Part([note.Note("C2", quarterLength=1), note.Note("A3", quarterLength=1)])
    path = tmp_path / "low.musicxml"
    stream.Score([low]).write("musicxml", fp=str(path))
    events, _ = score_notes(str(path), [41], render_settings())  # violin: G3 and up
    assert [e.pitch for e in events] == [60, 57]  # C2 up by octaves to C4; A3 kept
    assert fit_to_range(100, 69) == 88 and fit_to_range(60, 1) == 60
