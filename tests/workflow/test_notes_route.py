import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from models.notes.performers.training import listening_passages, performer_recordings
from models.notes.tokens import NoteVocabulary
from sonata import SonataError
from sonata.labels import labels_table, read_labels, read_midi
from sonata.passages import held_out_passages
from sonata.shards import NotesHeader, read_notes_shard, write_notes_shard
from tests.support import labelled_recordings, melody
from workflow_scripts.make_note_shards import note_shards


def test_note_shards_hold_each_splits_labels_and_refuse_a_recording_without_one(tmp_path):
    manifest = labelled_recordings(tmp_path, [1, 2, 3, 4])
    outputs = {s: str(tmp_path / f"{s}.h5") for s in ("train", "validation", "test")}
    counts = note_shards(manifest, "d", outputs)
    header, tables = read_notes_shard(outputs["train"])
    assert (
        header.source_ids == (1, 2) and header.split == "train" and counts["train"] == sum(map(len, tables))
    )
    assert header.movements == ("c | piece | movement 1", "c | piece | movement 2")
    pd.testing.assert_frame_equal(tables[1], read_labels(str(tmp_path / "2.csv")))
    manifest.loc[2, "labels"] = ""
    with pytest.raises(SonataError, match=r"recording\(s\) \[3\] have no label CSV"):
        note_shards(manifest, "d", outputs)


def shard(tmp_path, name, split, ids, movements=None):
    notes = melody(2.0, 0)
    header = NotesHeader(
        name,
        split,
        tuple(ids),
        ("C",) * len(ids),
        ("E",) * len(ids),
        tuple(f"{i}.wav" for i in ids),
        tuple(movements or (f"movement {i}" for i in ids)),
    )
    path = tmp_path / f"{name}_{split}.h5"
    write_notes_shard(str(path), header, [notes] * len(ids))
    return str(path)


def test_the_shared_performer_never_trains_on_what_any_dataset_holds_out(tmp_path):
    shards = {
        "train": [shard(tmp_path, "a", "train", [1, 2, 3]), shard(tmp_path, "b", "train", [4, 5])],
        "validation": [shard(tmp_path, "a", "validation", [4]), shard(tmp_path, "b", "validation", [6])],
        "test": [shard(tmp_path, "a", "test", [6]), shard(tmp_path, "b", "test", [2])],
    }
    chosen = performer_recordings(shards)
    assert [w for w, *_ in chosen["train"]] == ["1.wav", "3.wav", "5.wav"]  # 2, 4 held out elsewhere
    assert [w for w, *_ in chosen["validation"]] == ["4.wav"]  # 6 is someone's test


def test_the_shared_performer_never_trains_on_another_version_of_a_held_out_movement(tmp_path):
    # dataset a holds the quartet (1) and its piano arrangement (2) of movement "m"; dataset b,
    # piano only, validates on 2: the performer must not learn m from the quartet either. Likewise
    # b tests on 5 ("n"), whose other version 4 a would validate on
    shards = {
        "train": [shard(tmp_path, "a", "train", [1, 2, 3], ["m", "m", "k"])],
        "validation": [
            shard(tmp_path, "a", "validation", [4], ["n"]),
            shard(tmp_path, "b", "validation", [2], ["m"]),
        ],
        "test": [shard(tmp_path, "b", "test", [5], ["n"])],
    }
    chosen = performer_recordings(shards)
    assert [w for w, *_ in chosen["train"]] == ["3.wav"]
    assert [w for w, *_ in chosen["validation"]] == ["2.wav"]


def test_listening_passages_take_the_validation_recordings_in_turn_spread_through_each():
    rows = [(f"{r}.wav", melody(30.0, r), "C", "Solo Piano") for r in (1, 2)]
    passages = listening_passages(rows, 4, 5.0)
    assert [row[0] for _, row in passages] == ["1.wav", "2.wav", "1.wav", "2.wav"]
    for notes, _ in passages:
        assert len(notes) and notes["onset"].min() >= 0 and notes["offset"].max() <= 5.0
    # the first recording's two passages are different music (a third and two thirds in)
    assert not passages[0][0][["pitch"]].equals(passages[2][0][["pitch"]])
    assert listening_passages(rows, 0, 5.0) == []


def test_held_out_passages_take_the_test_recordings_in_turn_spread_through_each(tmp_path):
    path = str(tmp_path / "test.h5")
    header = NotesHeader(
        "d", "test", (7, 8), ("C", "D"), ("Solo Piano", "Trio"), ("7.wav", "8.wav"), ("m7", "m8")
    )
    tables = [melody(30.0, 7), melody(30.0, 8)]
    write_notes_shard(path, header, tables)
    passages = held_out_passages(path, 5.0, 3)
    assert [(w["id"], w["ensemble"], w["wav"]) for w, _ in passages] == [
        (7, "Solo Piano", "7.wav"),
        (8, "Trio", "8.wav"),
        (7, "Solo Piano", "7.wav"),
    ]
    ends = [float(t["offset"].max()) for t in tables]
    # two rounds over two recordings: a third and two thirds of the way in
    assert [w["start"] for w, _ in passages] == pytest.approx([ends[0] / 3, ends[1] / 3, ends[0] * 2 / 3])
    for _, notes in passages:
        assert len(notes) and notes["onset"].min() >= 0 and notes["offset"].max() <= 5.0


def test_seeded_batches_are_the_same_stream_on_every_run():
    from models.training import SeededBatches

    stream = SeededBatches(lambda rng: rng.integers(0, 1 << 30, 4), seed=3)
    again = SeededBatches(lambda rng: rng.integers(0, 1 << 30, 4), seed=3)
    np.testing.assert_array_equal(stream.batch(7), again.batch(7))
    assert not np.array_equal(stream.batch(7), stream.batch(8))


def test_a_composers_primer_says_where_in_the_recording_its_notes_lie():
    """Composed pieces named their primer's recording with start 0, though the primer ends a
    third of the way in: the span must hold exactly the primer's notes."""
    from models.notes.composing import choose_primer

    onsets = np.cumsum(np.resize([0.3, 0.5, 0.8], 60))  # irregular: a shifted span cannot match
    table = pd.DataFrame({"onset": onsets, "offset": onsets + 0.25, "pitch": 60, "program": 1})
    vocabulary = NoteVocabulary(step=0.01)
    k, primer, program, (start, end) = choose_primer([table], 0, vocabulary, past=9)
    assert (k, program) == (0, 1) and len(primer) == 9
    assert 0 < start < end and end == pytest.approx(onsets[-1] / 3, abs=0.8)  # a third of the way
    # the primer's notes, placed at its start, are three consecutive notes of the recording
    placed = vocabulary.decode(primer)["onset"].to_numpy() + start
    first = int(np.argmin(np.abs(onsets - placed[0])))
    np.testing.assert_allclose(placed, onsets[first : first + 3], atol=1e-6)
    assert placed[-1] <= end <= placed[-1] + 0.8  # it ends within the gap after its last note
    # the next rounds over the recordings prime from other music: two thirds, then half of the way
    later = [choose_primer([table], round_, vocabulary, past=9)[3][1] for round_ in (1, 2)]
    assert later == pytest.approx([onsets[-1] * 2 / 3, onsets[-1] / 2], abs=0.8)


def test_a_composer_hears_each_training_recording_at_every_tempo_asked(tmp_path):
    """A rendered score keeps one tempo: the composer also hears each recording faster and
    slower, the same notes in the same order, every time over the speed."""
    from models.notes.composers.seq2seq import token_sequences

    vocabulary = NoteVocabulary(step=0.01)
    path = shard(tmp_path, "d", "train", [1, 2])
    as_recorded = token_sequences(path, vocabulary, 8)
    heard = token_sequences(path, vocabulary, 8, (1.0, 0.8, 1.25))
    assert len(as_recorded) == 2 and len(heard) == 6
    np.testing.assert_array_equal(heard[0], as_recorded[0])  # speed 1: the recording itself
    notes = [vocabulary.decode(tokens) for tokens in heard[:3]]
    for speed, played in zip((1.0, 0.8, 1.25), notes):
        np.testing.assert_array_equal(played["pitch"], notes[0]["pitch"])
        np.testing.assert_allclose(played["onset"], notes[0]["onset"] / speed, atol=0.011)
        np.testing.assert_allclose(played["offset"], notes[0]["offset"] / speed, atol=0.011)
    assert vocabulary.seconds(heard[1]) > vocabulary.seconds(heard[0]) > vocabulary.seconds(heard[2])


def test_a_composer_trains_then_writes_midi_and_labels_that_feed_back(tmp_path):
    from models.notes.composers.seq2seq import train_composer
    from models.training import TrainingConfig, TrainingOutputs
    from workflow_scripts.compose_notes import compose

    cfg = {
        "past": 8,
        "future": 8,
        "units": 16,
        "embedding": 8,
        "learning_rate": 0.01,
        "batch_size": 8,
        "transpose": 2,
        "tempo_speeds": [1.0, 1.25],
        "temperature": 1.0,
        "top_p": 0.95,
        "keep_ensemble": True,
    }
    paths = {s: shard(tmp_path, "d", s, [1, 2]) for s in ("train", "validation", "test")}
    training = TrainingConfig(
        epochs=1,
        steps_per_epoch=3,
        validation_steps=1,
        early_stopping_patience=1,
        shuffle_buffer=1,
        threads=1,
    )
    outs = TrainingOutputs(*(str(tmp_path / f) for f in ("w.weights.h5", "model.json", "h.csv", "work")))
    card = train_composer(cfg, 0.01, training, paths["train"], paths["validation"], 0, outs)
    assert card.architecture == "composer" and card.epochs_run == 1

    def composed(folder, settings):
        folder.mkdir(exist_ok=True)
        midi, csv, info = (str(folder / name) for name in ("3s.mid", "3s.csv", "composition.json"))
        made = compose(outs.card, outs.weights, paths["test"], [3.0], [midi], [csv], settings, 0.01, 5, info)
        return made, read_labels(str(folder / "3s.csv"))  # MusicNet's format: the workflow reads it back

    pieces, labels = composed(tmp_path, cfg)
    midi = read_midi(str(tmp_path / "3s.mid"))
    assert pieces[0]["notes"] == len(labels) == len(midi) > 0
    assert labels["onset"].min() >= 0 and labels["offset"].max() <= 3.0
    np.testing.assert_allclose(np.sort(midi["onset"]), np.sort(labels["onset"]), atol=0.01)
    primed_by = read_notes_shard(paths["test"])[1][0]  # the first test recording primes piece 0
    assert set(labels["program"]) <= set(primed_by["program"])
    _, free = composed(tmp_path / "free", {**cfg, "keep_ensemble": False})
    assert set(free["program"]) - set(primed_by["program"])  # without it, the piece strays
    # the pieces of one length take the test recordings in turn, whatever the other lengths
    folder = tmp_path / "lengths"
    folder.mkdir()
    names = ["1s", "3s", "1s_2", "3s_2"]
    made = compose(
        outs.card,
        outs.weights,
        paths["test"],
        [1.0, 3.0, 1.0, 3.0],
        [str(folder / f"{n}.mid") for n in names],
        [str(folder / f"{n}.csv") for n in names],
        cfg,
        0.01,
        5,
        str(folder / "composition.json"),
    )
    ids = read_notes_shard(paths["test"])[0].source_ids
    assert [p["prime_id"] for p in made if p["seconds"] == 3.0] == list(ids)


def test_an_ensemble_the_performer_never_heard_plays_as_its_first_and_is_named(caplog):
    from models.conditioning import known_condition_ids

    cfg = {"condition_on": ["ensemble"]}
    records = [{"composer": "C", "ensemble": e} for e in ("String Quartet", "Trio", "Solo Piano")]
    with caplog.at_level("WARNING", logger="sonata.conditioning"):
        ids = known_condition_ids(records, cfg, ["Solo Piano", "String Quartet"])
    assert list(ids) == [1, 0, 0]
    assert len(caplog.records) == 1 and "'Trio'" in caplog.text  # one warning, for the unheard one
    assert known_condition_ids(records, {"condition_on": []}, []) is None


def test_composed_notes_are_synthesized_as_written_at_each_pieces_length(tmp_path):
    """The synthesizer plays exactly the composed notes: its sound follows them, far better than
    it follows the same notes a tritone off, at the piece's length and the corpus's peak level."""
    import json

    from sonata.analysis import score_following
    from sonata.labels import write_midi
    from tests.support import repo_config
    from workflow_scripts.synthesize_notes import synthesize_all

    soundfont = repo_config()["corpus"]["embedded"]["soundfont"]
    notes = melody(4.0, seed=3, step=0.5)
    pieces = []
    for seconds in (3.0, 6.0):  # a cut piece, and one longer than its notes (silence after)
        midi, labels = tmp_path / f"{seconds:g}s.mid", tmp_path / f"{seconds:g}s.csv"
        write_midi(notes, str(midi))
        labels_table(notes).to_csv(labels, index=False)
        pieces.append(
            {"seconds": seconds, "midi": str(midi), "labels": str(labels), "prime_id": 7, "prime_start": 1.5}
            | {"prime_length": 2.0, "composer": "Mozart", "ensemble": "Solo Piano"}
        )
    composition = tmp_path / "composition.json"
    composition.write_text(json.dumps({"pieces": pieces}))
    out = tmp_path / "synthesized"
    out.mkdir()
    paths = [str(out / f"{seconds:g}s_synthesized.wav") for seconds in (3.0, 6.0)]
    record = synthesize_all(str(composition), soundfont, 0.5, 16000, paths, str(out / "generation.json"))
    assert [p.role for p in record.pieces] == ["synthesizer (composed notes)"] * 2
    assert [p.notes for p in record.pieces] == [p["labels"] for p in pieces]
    assert record.pieces[0].prime_start_sample == 24000 and record.pieces[0].prime_samples == 32000
    for piece, seconds in zip(record.pieces, (3.0, 6.0)):
        audio, rate = sf.read(piece.file, dtype="float32")
        assert len(audio) == int(seconds * 16000) and abs(np.abs(audio).max() - 10 ** (-1 / 20)) < 1e-3
    audio, rate = sf.read(record.pieces[1].file, dtype="float32")
    own = score_following(audio, rate, notes, 2048, 0.1, 0.001)
    off = score_following(audio, rate, notes.assign(pitch=notes["pitch"] + 6), 2048, 0.1, 0.001)
    assert own > 0.75 and off < own - 0.3
    assert np.abs(audio[int(5.0 * rate) :]).max() < 0.01  # the notes end at 4 s: a tail, then silence
    missing = tmp_path / "none.sf2"
    with pytest.raises(SonataError, match="none.sf2.*notes.synthesize: false"):
        synthesize_all(str(composition), str(missing), 0.5, 16000, paths, str(out / "generation.json"))
    # a piece without notes is silence, not FluidSynth's output floor raised to the peak
    write_midi(notes.iloc[:0], str(tmp_path / "3s.mid"))
    synthesize_all(str(composition), soundfont, 0.5, 16000, paths, str(out / "generation.json"))
    assert not sf.read(paths[0], dtype="float32")[0].any() and sf.read(paths[1], dtype="float32")[0].any()
