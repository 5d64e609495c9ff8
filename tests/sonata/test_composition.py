"""The composition measures tell real notes from the baselines each is there to catch.

Real notes come from music21 corpus scores that the embedded corpus renders (at its tempos), cut to
their first 60 s; each score is parsed once per module, from source, caching nothing.
"""

import math

import numpy as np
import pandas as pd
import pytest

from sonata import composition as c

SECONDS = 60.0
# score in the music21 corpus, qpm (config.yaml's), GM program of each part (the last repeats)
SCORES = {
    "beethoven": ("beethoven/opus18no1/movement1.mxl", 168, [41, 41, 42, 43]),
    "bach": ("bach/bwv846.mxl", 72, [1]),
    "haydn": ("haydn/opus74no1/movement1.mxl", 132, [41, 41, 42, 43]),
    "mozart": ("mozart/k545/movement1_exposition.mxl", 132, [1]),  # 22 s
}


def score_notes(path: str, qpm: float, programs: list[int], seconds: float = SECONDS) -> pd.DataFrame:
    """A note table of a corpus score at a fixed tempo: ties joined, chords split, grace notes dropped."""
    from music21 import converter, corpus

    score = converter.parse(corpus.getWork(path), forceSource=True, storePickle=False)
    quarter = 60.0 / qpm
    rows = []
    for index, part in enumerate(score.parts):
        program = programs[min(index, len(programs) - 1)]
        sounding: dict[int, list] = {}  # pitch -> row of a tied note still open
        for element in part.flatten().notes:
            if element.duration.isGrace:
                continue
            start = float(element.getOffsetInHierarchy(score))
            end = start + float(element.duration.quarterLength)
            for pitch in element.pitches:
                midi = int(pitch.midi)
                tie = element.tie.type if element.tie is not None else None
                if tie in ("stop", "continue") and midi in sounding:
                    sounding[midi][1] = end
                    if tie == "stop":
                        del sounding[midi]
                    continue
                row = [start, end, midi, program]
                rows.append(row)
                if tie == "start":
                    sounding[midi] = row
    table = pd.DataFrame(rows, columns=["start_beat", "end_beat", "pitch", "program"])
    table["onset"] = table["start_beat"] * quarter
    table["offset"] = table["end_beat"] * quarter
    table = table[table["onset"] < seconds].sort_values(["onset", "pitch"]).reset_index(drop=True)
    return table[["onset", "offset", "pitch", "program", "start_beat"]]


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    return {name: score_notes(*spec) for name, spec in SCORES.items()}


@pytest.fixture(scope="module")
def measured(real) -> dict[str, dict[str, dict[str, float]]]:
    """Every measure of every piece and of its baselines (a mean over seeds for the random ones)."""
    out = {}
    for name, notes in real.items():
        out[name] = {
            "real": c.composition_measures(notes),
            "shuffled": _mean(c.composition_measures(c.shuffled_pitches(notes, seed)) for seed in (0, 1, 2)),
            "random": _mean(c.composition_measures(c.random_notes(notes, None, seed)) for seed in (0, 1)),
            "loop": c.composition_measures(c.looped_passage(notes, SECONDS, loop_seconds=10)),
        }
    return out


def _mean(dicts) -> dict[str, float]:
    frame = pd.DataFrame(list(dicts))
    return frame.mean().to_dict()


def test_profiles_and_consonance_are_music21s():
    from music21 import interval
    from music21.analysis.discrete import KrumhanslSchmuckler

    weights = KrumhanslSchmuckler()
    assert list(c.MAJOR_PROFILE) == pytest.approx(weights.getWeights("major"))
    assert list(c.MINOR_PROFILE) == pytest.approx(weights.getWeights("minor"))
    assert [n for n in range(12) if interval.Interval(n).isConsonant()] == list(c.CONSONANT_CLASSES)


def test_score_notes_are_music(real):
    for name, notes in real.items():
        assert len(notes) > 100, name
        assert notes["onset"].max() < SECONDS and (notes["offset"] > notes["onset"]).all(), name


@pytest.mark.parametrize("baseline", ["shuffled", "random"])
def test_consonance_catches_shuffled_and_random_pitches(measured, baseline):
    for name, figures in measured.items():
        assert figures["real"]["consonance"] > figures[baseline]["consonance"] + 0.08, (name, figures)


@pytest.mark.parametrize("baseline", ["shuffled", "random"])
def test_steps_catch_shuffled_and_random_pitches(measured, baseline):
    for name, figures in measured.items():
        if name == "bach":  # BWV 846's surface is an arpeggio: its top voice leaps (see the next test)
            continue
        assert figures["real"]["top_voice_steps"] > figures[baseline]["top_voice_steps"] + 0.2, (
            name,
            figures,
        )


def test_an_arpeggiated_top_voice_leaps(measured):
    """The measure reads the surface: BWV 846's stepwise line lives in the arpeggios' peaks."""
    assert measured["bach"]["real"]["top_voice_steps"] < 0.1


@pytest.mark.parametrize("measure", ["key_clarity", "key_steadiness"])
def test_key_catches_random_pitches(measured, measure):
    for name, figures in measured.items():
        assert figures["real"][measure] > figures["random"][measure] + 0.15, (name, figures)


@pytest.mark.parametrize("measure", ["key_clarity", "key_steadiness"])
def test_a_pitch_shuffle_keeps_the_key(measured, measure):
    """Pitch-class durations make the key; a shuffle within 60 s keeps them, so key cannot catch it."""
    for name, figures in measured.items():
        assert abs(figures["real"][measure] - figures["shuffled"][measure]) < 0.12, (name, figures)


def test_beat_regularity_catches_random_onsets(measured):
    for name, figures in measured.items():
        assert figures["real"]["beat_regularity"] > 0.95, (name, figures)
        assert figures["random"]["beat_regularity"] < figures["real"]["beat_regularity"] - 0.3, name
        # shuffling pitches keeps the rhythm
        assert figures["shuffled"]["beat_regularity"] == pytest.approx(figures["real"]["beat_regularity"])


def test_repetition_finds_returning_motifs_but_not_random_ones(measured):
    for name, figures in measured.items():
        assert figures["real"]["repetition"] > figures["random"]["repetition"] + 0.1, (name, figures)
        assert figures["real"]["repetition"] > figures["shuffled"]["repetition"] + 0.1, (name, figures)


def test_loop_is_told_from_real_returns(measured):
    for name, figures in measured.items():
        loop, real = figures["loop"], figures["real"]
        assert loop["repetition"] > real["repetition"] + 0.1, (name, figures)
        # six 10 s loops: from the third on (4/6) is looping
        assert loop["looping"] > 0.6 and real["looping"] < 0.1, (name, figures)
        # locally the loop is real music
        assert loop["consonance"] > figures["random"]["consonance"] + 0.1, name


def test_baselines_keep_what_they_should(real):
    notes = real["bach"]
    shuffled = c.shuffled_pitches(notes, seed=3)
    assert sorted(shuffled["pitch"]) == sorted(notes["pitch"])
    assert np.allclose(np.sort(shuffled["onset"]), np.sort(notes["onset"]))
    randoms = c.random_notes(notes, 30.0, seed=3)
    density = len(notes) / (notes["offset"].max() - notes["onset"].min())
    assert len(randoms) == pytest.approx(density * 30, rel=0.02)
    assert randoms["pitch"].between(notes["pitch"].min(), notes["pitch"].max()).all()
    assert randoms["onset"].between(0, 30).all()
    loop = c.looped_passage(notes, 35.0, loop_seconds=10, start=5.0)
    passage = notes[(notes["onset"] >= 5) & (notes["onset"] < 15)]
    assert len(loop[loop["onset"] < 30]) == 3 * len(passage)
    assert loop["onset"].max() < 35
    first = loop[loop["onset"] < 10]
    second = loop[(loop["onset"] >= 10) & (loop["onset"] < 20)]
    assert np.allclose(second["onset"].to_numpy() - 10, first["onset"].to_numpy())
    assert (second["pitch"].to_numpy() == first["pitch"].to_numpy()).all()


def test_empty_table_is_nan_everywhere():
    empty = pd.DataFrame({"onset": [], "offset": [], "pitch": [], "program": []})
    figures = c.composition_measures(empty)
    assert set(figures) == set(c.MEASURES)
    assert all(math.isnan(v) for v in figures.values())
    assert c.shuffled_pitches(empty).empty and c.random_notes(empty, 10).empty
    assert c.looped_passage(empty, 10).empty


def test_single_voice_scale():
    """A C major scale up and down, one note at a time, on a steady beat."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62] * 6
    onsets = np.arange(len(pitches)) * 0.5
    notes = pd.DataFrame({"onset": onsets, "offset": onsets + 0.5, "pitch": pitches, "program": 74})
    figures = c.composition_measures(notes)
    assert math.isnan(figures["consonance"])  # nothing sounds together
    assert figures["top_voice_steps"] == 1.0
    assert figures["key_clarity"] > 0.7  # seven equal pitch classes: 0.74 with C major
    assert figures["key_clarity"] - 0.05 < figures["key_steadiness"] <= figures["key_clarity"]  # one key
    assert figures["beat_regularity"] > 0.99
    assert figures["repetition"] == 1.0  # a scale that returns every 7 s is a loop
    assert figures["looping"] > 0.5  # the 7 s scale heard 6 times
    assert len(c.top_voice(notes)) == len(notes)


def test_chords_top_voice_and_consonance():
    """A held C major triad under a moving top voice: the top voice skips notes under a held higher one."""
    notes = pd.DataFrame(
        {
            "onset": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0],
            "offset": [3.0, 3.0, 3.0, 1.0, 2.0, 2.0, 3.0],
            "pitch": [48, 52, 55, 72, 74, 61, 71],
            "program": 1,
        }
    )
    # onset 0: 48-52 M3, 48-55 P5, 48-72 P8, 52-55 m3, 52-72 m6, 55-72 P4 (dissonant): 5/6
    # onset 1: 61 with 74 (m9), 48 (m9), 52 (M6), 55 (A4); 74 with 48 (M9), 52 (m7), 55 (P5): 2/7
    # onset 2: 71 with 48 (M7), 52 (P5), 55 (M3): 2/3
    assert c.consonance(notes) == pytest.approx((5 + 2 + 2) / (6 + 7 + 3))
    assert c.top_voice(notes)["pitch"].tolist() == [72, 74, 71]
    held = pd.DataFrame({"onset": [0.0, 1.0], "offset": [4.0, 2.0], "pitch": [80, 60], "program": 1})
    assert c.top_voice(held)["pitch"].tolist() == [80]
