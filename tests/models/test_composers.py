import keras
import numpy as np
import pandas as pd
import pytest

from models.nets.note_seq2seq import GRAMMAR, ComposerSampler, build_composer, teacher_forcing
from models.nets.sampling import choose
from models.notes.tokens import NoteVocabulary
from sonata import SonataError

VOCAB = NoteVocabulary()


def trained_composer(past=12, future=6):
    """A small composer with non-trivial weights: a few steps on random tokens."""
    keras.utils.set_random_seed(0)
    model = build_composer(VOCAB.size, 16, 8, past, future)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    windows = np.random.default_rng(0).integers(1, VOCAB.size, (64, past + future)).astype(np.int32)
    (x, d), y = teacher_forcing(windows, past, VOCAB.start)
    model.fit([x, d], y, epochs=2, verbose=0)
    return model


def keras_reference(model, primer, n_new, temperature, top_p, uniforms, permitted=None):
    """The same sampling, one token at a time through Keras' own layers and cells."""
    permitted = np.ones(VOCAB.size, np.bool_) if permitted is None else permitted
    embed = model.get_layer("token_embedding")
    encoder = model.get_layer("encoder_lstm").cell
    decoder = model.get_layer("decoder_lstm").cell
    dense = model.get_layer("logits")
    past, future = model.inputs[0].shape[1], model.inputs[1].shape[1]
    kinds = VOCAB.kinds()
    history = list(primer[-past:])
    out = []
    while len(out) < n_new:
        h = c = np.zeros((1, encoder.units), np.float32)
        for token in history[-past:]:
            _, (h, c) = encoder(np.asarray(embed(np.array([token]))), [h, c])
        previous, token = history[-1], VOCAB.start
        for _ in range(min(future, n_new - len(out))):
            y, (h, c) = decoder(np.asarray(embed(np.array([token]))), [h, c])
            logits = np.asarray(dense(y))[0]
            allowed = GRAMMAR[kinds[previous], kinds] & permitted
            token = int(choose(logits, allowed, temperature, top_p, uniforms[len(out)]))
            out.append(token)
            history.append(token)
            previous = token
    return np.array(out)


def test_compiled_sampler_equals_a_step_by_step_keras_reference():
    model = trained_composer()
    sampler = ComposerSampler(model, VOCAB)
    primer = VOCAB.encode(
        pd.DataFrame(
            {
                "onset": np.arange(8) * 0.25,
                "offset": np.arange(8) * 0.25 + 0.2,
                "pitch": 60 + np.arange(8),
                "program": 1,
            }
        )
    )
    uniforms = np.random.default_rng(1).random((1, 20))
    for temperature, top_p in ((1.0, 1.0), (0.8, 0.9)):
        fast = sampler.sample(primer[None], 20, temperature, top_p, uniforms)[0]
        reference = keras_reference(model, primer, 20, temperature, top_p, uniforms[0])
        np.testing.assert_array_equal(fast, reference)


def test_composed_tokens_follow_the_grammar_and_are_seeded():
    sampler = ComposerSampler(trained_composer(), VOCAB)
    primer = np.array([VOCAB.note0 + 39, VOCAB.duration0 + 20, VOCAB.shift0 + 30] * 5, dtype=np.int32)
    tokens = sampler.compose(primer, 3.0, 1.0, 0.95, seed=4)
    assert VOCAB.seconds(tokens) >= 3.0
    np.testing.assert_array_equal(tokens, sampler.compose(primer, 3.0, 1.0, 0.95, seed=4))
    kinds = VOCAB.kinds()[np.concatenate([primer[-1:], tokens])]
    assert GRAMMAR[kinds[:-1], kinds[1:]].all() and (kinds != 0).all()
    notes = VOCAB.decode(tokens)
    assert (notes["offset"] > notes["onset"]).all()


def test_a_piece_kept_to_its_instruments_changes_to_no_other():
    """The random-token composer changes instrument often; told the primer's instruments
    (violin and cello here), it draws changes to those alone, as the reference does."""
    model = trained_composer()
    sampler = ComposerSampler(model, VOCAB)
    primer = np.array([VOCAB.program0 + 40, VOCAB.note0 + 39, VOCAB.duration0 + 20, VOCAB.shift0 + 30] * 4)
    free = sampler.compose(primer, 6.0, 1.0, 1.0, seed=4)
    kept = sampler.compose(primer, 6.0, 1.0, 1.0, seed=4, instruments=[41, 43])
    programs = lambda tokens: set(tokens[tokens >= VOCAB.program0] - VOCAB.program0 + 1)  # noqa: E731
    assert len(programs(free) - {41, 43}) > 3 and programs(kept) <= {41, 43} and programs(kept)
    # an iterator of instruments holds for the whole piece (five blocks here), not its first block alone
    longer = sampler.compose(primer, 30.0, 1.0, 1.0, seed=4, instruments=[41, 43])
    assert len(longer) > 4 * 8 * sampler.future
    assert np.array_equal(sampler.compose(primer, 30.0, 1.0, 1.0, seed=4, instruments=iter([41, 43])), longer)
    for wrong in ([0], [129], []):  # MusicNet's programs are 1-based; a piece needs one
        with pytest.raises(SonataError, match="1-based GM program"):
            sampler.permitted(wrong)
    uniforms = np.random.default_rng(1).random((1, 40))
    fast = sampler.sample(primer[None], 40, 1.0, 1.0, uniforms, instruments=[41, 43])[0]
    reference = keras_reference(model, primer, 40, 1.0, 1.0, uniforms[0], sampler.permitted([41, 43]))
    np.testing.assert_array_equal(fast, reference)


def test_top_p_keeps_only_the_likeliest_tokens():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))
    allowed = np.ones(4, np.bool_)
    draws = {int(choose(logits, allowed, 1.0, 0.75, u)) for u in np.linspace(0, 0.999, 200)}
    assert draws == {0, 1}
    allowed[0] = False
    assert {int(choose(logits, allowed, 1.0, 1.0, u)) for u in np.linspace(0, 0.999, 200)} == {1, 2, 3}


def test_transposing_tokens_equals_transposing_notes():
    notes = pd.DataFrame(
        {"onset": [0.0, 0.5, 1.0], "offset": [0.4, 0.9, 1.5], "pitch": [22, 60, 107], "program": [1, 1, 41]}
    )
    for k in (-5, 0, 6):
        np.testing.assert_array_equal(
            VOCAB.transpose(VOCAB.encode(notes), k), VOCAB.encode(notes, transpose=k)
        )


def test_each_composer_trains_saves_loads_and_composes_through_the_registry(tmp_path):
    """What rules train_composer and compose_notes do, through the registry alone: train on a
    notes shard, write the card, load a sampler by the card, compose a seeded piece twice alike.
    Its sampling keys retrain nothing (Registry.training_settings)."""
    from models.notes.composers import COMPOSERS, heldout_bits, load_sampler
    from models.notes.composing import compose_piece
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.shards import read_notes_shard
    from tests.support import labelled_recordings, tiny_config
    from workflow_scripts.make_note_shards import note_shards

    manifest = labelled_recordings(tmp_path, [1, 2, 3])
    shards = {s: str(tmp_path / f"{s}.h5") for s in ("train", "validation", "test")}
    note_shards(manifest, "d", shards)
    notes = tiny_config()["notes"]
    for name, adapter in COMPOSERS.items():
        section = {**notes["composer"], "architecture": name}
        settings = COMPOSERS.training_settings(section)
        assert not set(adapter.sampling_keys) - set(adapter.retrain_keys) & set(settings)
        out = TrainingOutputs(*(str(tmp_path / name / n) for n in ("m.weights.h5", "m.json", "h.csv", "w")))
        training = TrainingConfig(1, 2, 1, 1, 64, False, 1, 0)
        card = adapter.train(
            settings, notes["frame_seconds"], training, shards["train"], shards["train"], 0, out
        )
        assert card.architecture == adapter.card_name
        sampling = COMPOSERS.sampling_settings(section)
        sampler = load_sampler(out.card, out.weights, notes["frame_seconds"], sampling)
        _, tables = read_notes_shard(shards["train"])
        pieces = [
            compose_piece(sampler, tables, 0, 3.0, sampling["temperature"], sampling["top_p"], True, 5)[1]
            for _ in range(2)
        ]
        pd.testing.assert_frame_equal(pieces[0], pieces[1])
        bits = heldout_bits(out.card, out.weights, notes["frame_seconds"], shards["train"])
        assert 0 < bits["notes"] <= sum(len(t) for t in tables)
        assert 0 < bits["bits_per_note"] < np.inf and bits["bits"] == pytest.approx(
            bits["bits_per_note"] * bits["notes"]
        )


def test_each_composer_retrains_on_its_own_keys_only():
    """The rules hand train_composer Registry.training_settings and the training schedule:
    the seq2seq composer's keys and the raw-audio models' `training:` epochs retrain no
    beat_lstm composer, and no composer retrains on its sampling keys."""
    from models.notes.composers import COMPOSERS
    from sonata.config import note_model_training, repo_config

    config = repo_config()
    section = config["notes"]["composer"]
    beat = {**section, "architecture": "beat_lstm"}
    seq = {**section, "architecture": "seq2seq"}

    def trains(s: dict, cfg: dict = config) -> tuple:
        return COMPOSERS.training_settings(s), note_model_training(cfg, COMPOSERS.training_schedule(s))

    before = trains(beat)
    assert trains({**beat, "units": section["units"] + 1, "past": 3, "temperature": 0.5}) == before
    other = {**config, "training": {**config["training"], "epochs": 99, "steps_per_epoch": 7}}
    assert trains(beat, other) == before
    assert before[1]["epochs"] == section["beat_lstm"]["epochs"]
    assert trains({**beat, "beat_lstm": {**section["beat_lstm"], "units": 8}}) != before
    plan = {"past": 7, "phrase_beats": 32, "reprise": 0.9, "variation": 0.0, "home_weight": 0.5}
    assert trains({**beat, "beat_lstm": {**section["beat_lstm"], **plan}}) == before
    assert (
        COMPOSERS.sampling_settings({**beat, "beat_lstm": {**section["beat_lstm"], **plan}}).items()
        >= plan.items()
    )
    assert trains({**seq, "units": section["units"] + 1}) != trains(seq)
    assert trains({**seq, "beat_lstm": {}, "top_p": 0.5}) == trains(seq)
