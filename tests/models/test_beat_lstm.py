"""The beat_lstm composer: its beat-grid tokens, its sampler against the Keras network, and a
tiny training through the adapter, saved, loaded and composing reproducibly."""

import keras
import numpy as np
import pandas as pd
import pytest

from models.nets.beat_lstm import (
    GRAMMAR,
    INPUTS,
    BeatComposerSampler,
    _step,
    compiled_composer,
    initial_state,
    key_index,
    sequence_inputs,
)
from models.notes.beats import BeatVocabulary
from models.notes.composers.beat_lstm import BeatLSTMComposer
from models.notes.composing import compose_piece
from models.training import TrainingConfig, TrainingOutputs
from sonata.shards import NotesHeader, write_notes_shard

VOCAB = BeatVocabulary()


def scale_piece(seconds_per_beat=0.5, bars=24, seed=0, program=1, beats=True):
    """A small real piece: a C-major melody in eighths over half-note chords, `bars` bars of
    four beats, with score beats (start_beat, end_beat) unless `beats` is False."""
    rng = np.random.default_rng(seed)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    rows = []
    degree = 0
    for bar in range(bars):
        for half in range(2):
            root = [48, 53, 55, 48][(bar + half) % 4]
            for pitch in (root, root + 4 if root != 55 else root + 5, root + 7):
                rows.append((bar * 4 + half * 2, 2.0, pitch))
        for eighth in range(8):
            degree = int(np.clip(degree + rng.choice([-1, 1, 2, -2]), 0, 7))
            rows.append((bar * 4 + eighth * 0.5, 0.5, int(scale[degree])))
    start, length, pitch = (np.array(c) for c in zip(*rows))
    table = pd.DataFrame(
        {
            "onset": start * seconds_per_beat,
            "offset": (start + length) * seconds_per_beat,
            "pitch": pitch,
            "program": program,
        }
    )
    if beats:
        table["start_beat"], table["end_beat"] = start.astype(float), length.astype(float)
    return table.sort_values(["onset", "pitch"]).reset_index(drop=True)


def test_tokens_round_trip_on_the_beat_grid():
    table = scale_piece(seconds_per_beat=0.4)
    tokens = VOCAB.encode(table)
    notes = VOCAB.decode(tokens)
    a = table.sort_values(["onset", "pitch"]).reset_index(drop=True)
    b = notes.sort_values(["onset", "pitch"]).reset_index(drop=True)
    np.testing.assert_array_equal(a["pitch"], b["pitch"])
    np.testing.assert_allclose(b["onset"], a["onset"], atol=0.09)  # the tempo quantized over 8 beats
    np.testing.assert_allclose(b["offset"] - b["onset"], a["offset"] - a["onset"], rtol=0.045)  # a tempo bin
    assert VOCAB.seconds(tokens) == pytest.approx(a["onset"].max(), abs=0.05)
    # a TEMPO token opens the sequence and stands at every 8 beats, with the piece's tempo
    tempos = tokens[tokens >= VOCAB.tempo0]
    assert tokens[0] >= VOCAB.tempo0 and len(tempos) == 24 * 4 // 8
    assert VOCAB.token_bpm(tempos[0]) == pytest.approx(150, rel=0.025)
    # within a chord the highest note comes first
    first = tokens[(tokens >= VOCAB.note0) & (tokens < VOCAB.duration0)][:4] - VOCAB.note0 + 21
    assert list(first) == sorted(first, reverse=True)


def test_a_table_without_beats_is_read_on_the_fallback_grid():
    table = scale_piece(seconds_per_beat=0.5, beats=False)
    notes = VOCAB.decode(VOCAB.encode(table))
    a = table.sort_values(["onset", "pitch"]).reset_index(drop=True)
    b = notes.sort_values(["onset", "pitch"]).reset_index(drop=True)
    np.testing.assert_allclose(b[["onset", "offset"]], a[["onset", "offset"]], atol=1e-9)
    assert VOCAB.last_program(VOCAB.encode(scale_piece(program=41))) == 41


def small_model():
    keras.utils.set_random_seed(0)
    model = compiled_composer(VOCAB, 16, 8, 1e-3)
    rng = np.random.default_rng(0)
    for w in model.weights:
        w.assign(rng.normal(0, 0.3, w.shape).astype("float32"))
    return model


def test_the_numba_sampler_computes_the_networks_logits():
    model = small_model()
    sequence = sequence_inputs(VOCAB.encode(scale_piece(bars=6)), VOCAB)
    reference = model.predict_on_batch({name: sequence[name][None] for name in INPUTS})[0]
    sampler = BeatComposerSampler(model, VOCAB, 512)
    units = 16
    h, c = np.zeros(units, np.float32), np.zeros(units, np.float32)
    z, x = np.empty(4 * units, np.float32), np.empty(sampler.weights[3].shape[0], np.float32)
    logits = np.empty(VOCAB.size, np.float32)
    sounding, profile = np.zeros(12, np.float32), np.zeros(12, np.float32)
    state, index, key = initial_state(), key_index(), np.zeros(24, np.float32)
    for t, token in enumerate(sequence["token"]):
        _step(
            token,
            state,
            h,
            c,
            sampler.weights,
            sampler.constants,
            z,
            x,
            logits,
            sounding,
            profile,
            key,
            index,
        )
        np.testing.assert_allclose(logits, reference[t], atol=1e-4)


def test_composed_tokens_follow_the_grammar_keep_the_tempo_and_are_seeded():
    sampler = BeatComposerSampler(small_model(), VOCAB, 512)
    primer = VOCAB.encode(scale_piece(seconds_per_beat=0.4, bars=4))
    tokens = sampler.compose(primer, 6.0, 1.0, 0.95, seed=3, instruments=[1])
    np.testing.assert_array_equal(tokens, sampler.compose(primer, 6.0, 1.0, 0.95, seed=3, instruments=[1]))
    assert VOCAB.seconds(tokens) >= 6.0
    kinds = VOCAB.kinds()[np.concatenate([primer[-1:], tokens])]
    assert GRAMMAR[kinds[:-1], kinds[1:]].all() and (kinds != 0).all()
    assert set(tokens[tokens >= VOCAB.tempo0]) == {primer[0]}  # the primer's tempo throughout
    programs = tokens[(tokens >= VOCAB.program0) & (tokens < VOCAB.tempo0)]
    assert (programs == VOCAB.program0).all()
    notes = VOCAB.decode(tokens)
    assert (notes["offset"] > notes["onset"]).all()


def test_the_plan_restates_phrases_with_variation_and_the_home_key_holds_the_scale():
    """The plan above the notes, on an untrained network (whose own notes go anywhere): every
    phrase restating an earlier one brings motifs back far more than no plan, yet varied notes
    keep it from a loop; a strong home key keeps every note in the primer's scale (C major); no
    note outlasts MAX_NOTE_BEATS."""
    from models.nets.beat_lstm import MAX_NOTE_BEATS
    from sonata.composition import looping, repetition

    model = small_model()
    primer = VOCAB.encode(scale_piece(seconds_per_beat=0.4, bars=8))

    def notes(**plan):
        sampler = BeatComposerSampler(model, VOCAB, 512, **plan)
        return VOCAB.decode(sampler.compose(primer, 60.0, 1.0, 0.95, seed=3, instruments=[1]))

    free, planned = notes(), notes(phrase_beats=8, reprise=1.0, variation=0.0)
    assert repetition(planned) > 0.6 and repetition(free) < 0.2
    assert looping(notes(phrase_beats=8, reprise=1.0, variation=0.3)) < looping(planned)
    held = notes(home_weight=50.0)
    assert set(held["pitch"] % 12) <= {0, 2, 4, 5, 7, 9, 11} and set(free["pitch"] % 12) - {
        0,
        2,
        4,
        5,
        7,
        9,
        11,
    }
    beats = (free["offset"] - free["onset"]) * VOCAB.tempo(primer) / 60
    assert beats.max() <= MAX_NOTE_BEATS + 1e-6
    with pytest.raises(Exception, match="phrase_beats 6 is no multiple of tempo_every 8"):
        BeatComposerSampler(model, VOCAB, 512, phrase_beats=6)


def test_the_adapter_trains_saves_loads_and_composes(tmp_path):
    header = dict(composers=("Test",), ensembles=("Solo Piano",), wavs=("a.wav",), movements=("m",))
    paths = {}
    for split, seed in (("train", 0), ("validation", 1), ("test", 2)):
        tables = [scale_piece(seconds_per_beat=0.45, bars=16, seed=seed)]
        paths[split] = str(tmp_path / f"{split}.h5")
        write_notes_shard(paths[split], NotesHeader("tiny", split, (seed,), **header), tables)
    cfg = {
        "architecture": "beat_lstm",
        "temperature": 0.9,
        "top_p": 0.95,
        "keep_ensemble": True,
        "beat_lstm": {
            "units": 16,
            "embedding": 8,
            "window": 32,
            "batch_size": 4,
            "learning_rate": 0.01,
            "epochs": 2,
            "steps_per_epoch": 3,
            "validation_steps": 1,
            "past": 64,
            "grid": 12,
            "tempo_every": 8,
            "dropout": 0.1,
            "phrase_beats": 8,
            "reprise": 0.5,
            "variation": 0.2,
            "home_weight": 1.0,
            "transpose": 1,
        },
    }
    training = TrainingConfig(
        epochs=9,
        steps_per_epoch=9,
        validation_steps=9,
        early_stopping_patience=9,
        shuffle_buffer=1,
        threads=1,
    )
    out = TrainingOutputs(
        str(tmp_path / "model.weights.h5"),
        str(tmp_path / "model.json"),
        str(tmp_path / "history.csv"),
        str(tmp_path / "work"),
    )
    composer = BeatLSTMComposer()
    card = composer.train(cfg, 0.01, training, paths["train"], paths["validation"], 7, out)
    assert card.architecture == "beat_lstm_composer" and card.epochs_run == 2  # its own epochs
    assert len(pd.read_csv(out.history)) == 2
    from sonata.records import ModelCard

    sampling = {
        key: cfg["beat_lstm"][key] for key in ("past", "phrase_beats", "reprise", "variation", "home_weight")
    }
    sampler = composer.sampler(ModelCard.from_json(out.card), out.weights, 0.01, sampling)
    from sonata.shards import read_notes_shard

    _, tables = read_notes_shard(paths["test"])
    pieces = [compose_piece(sampler, tables, 0, 8.0, 0.9, 0.95, True, seed=5) for _ in range(2)]
    (k, notes, span, drawn, qpm), again = pieces
    pd.testing.assert_frame_equal(notes, again[1])
    assert qpm == again[4] > 0
    assert k == 0 and drawn > 0 and 0 <= span[0] < span[1]
    assert notes["onset"].max() < 8.0 and (notes["program"] == 1).all()
