import keras
import numpy as np
import pytest

from models.nets.seq2seq import Seq2SeqGenerator, build_seq2seq, teacher_forcing_inputs
from models.nets.wavenet.network import build_wavenet
from models.nets.wavenet.sampler import IncrementalWaveNet, WaveNetWeights, incremental_logits
from models.nets.wavenet.spec import WaveNetSpec

WAVENET = WaveNetSpec.from_config(
    {
        "layers_per_stack": 4,
        "stacks": 2,
        "kernel_size": 2,
        "residual_channels": 8,
        "skip_channels": 12,
        "quantization_channels": 64,
        "chunk": 32,
    }
)


def test_teacher_forcing_shifts_targets_behind_a_start_token():
    y = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(teacher_forcing_inputs(y, -5.0), [[-5.0, 1.0, 2.0]])


def keras_step_by_step(model, x, start, steps):
    """Reference inference with Keras' own LSTM cells, one decoder step per call."""
    encoder = model.get_layer("encoder_lstm").cell
    decoder = model.get_layer("decoder_lstm").cell
    dense = model.get_layer("projection")
    units = encoder.units
    h = c = np.zeros((x.shape[0], units), np.float32)
    for t in range(x.shape[1]):
        _, (h, c) = encoder(x[:, t : t + 1], [h, c])
    inp = np.full((x.shape[0], 1), start, np.float32)
    out = []
    for _ in range(steps):
        h_out, (h, c) = decoder(inp, [h, c])
        inp = np.asarray(dense(h_out))
        out.append(inp[:, 0])
    return np.stack(out, axis=1)


def test_seq2seq_autoregressive_inference_matches_keras_cells():
    keras.utils.set_random_seed(3)
    model = build_seq2seq(16, 12, 10)
    # non-trivial weights: a couple of training steps on random data
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(0, 0.3, (64, 16, 1)).astype(np.float32)
    y = np.random.default_rng(1).normal(0, 0.3, (64, 12, 1)).astype(np.float32)
    model.fit([x, teacher_forcing_inputs(y[..., 0], 0.1)[..., None]], y, epochs=2, verbose=0)
    fast = Seq2SeqGenerator(model, 0.1, new_samples=12).predict_block(x[:5, :, 0])
    reference = keras_step_by_step(model, x[:5, :, 0], 0.1, 12)
    np.testing.assert_allclose(fast, reference, atol=2e-5)
    # with its own outputs fed back, the decoder differs from teacher forcing
    forced = model.predict([x[:5], teacher_forcing_inputs(fast, 0.1)[..., None]], verbose=0)[..., 0]
    np.testing.assert_allclose(forced, fast, atol=2e-5)


def test_seq2seq_generation_length_and_block_continuity():
    keras.utils.set_random_seed(4)
    model = build_seq2seq(16, 16, 6)
    prime = np.random.default_rng(2).normal(0, 0.2, (2, 40)).astype(np.float32)
    gen = Seq2SeqGenerator(model, 0.0, new_samples=16)
    out = gen.generate(prime, 50)
    assert out.shape == (2, 50)
    np.testing.assert_allclose(out[:, :16], gen.predict_block(prime[:, -16:]), atol=1e-6)
    np.testing.assert_allclose(
        out[:, 16:32], gen.predict_block(np.concatenate([prime, out], 1)[:, 40:56]), atol=1e-6
    )


@pytest.mark.parametrize("conditions", [0, 3])
def test_wavenet_incremental_equals_full_forward_pass(conditions):
    keras.utils.set_random_seed(5)
    model = build_wavenet(WAVENET, conditions)
    x = np.random.default_rng(6).uniform(-1, 1, (3, 300)).astype(np.float32)
    ids = np.array([0, 2, 1])
    inputs = [x[..., None]] + ([ids[:, None]] if conditions else [])
    full = model.predict(inputs, verbose=0)
    fast = incremental_logits(WaveNetWeights(model, WAVENET), x, ids if conditions else None)
    np.testing.assert_allclose(fast, full, atol=1e-5)


def test_wavenet_receptive_field_is_what_the_network_sees():
    keras.utils.set_random_seed(7)
    model = build_wavenet(WAVENET)
    rf = WAVENET.receptive_field
    assert rf == 1 + 1 + (1 + 2 + 4 + 8) * 2
    base = np.random.default_rng(8).uniform(-1, 1, (1, 200, 1)).astype(np.float32)
    poked = base.copy()
    poked[0, 50] += 0.5
    changed = np.abs(model.predict(poked, verbose=0) - model.predict(base, verbose=0)).max(axis=2)[0] > 1e-6
    # the output at t depends on inputs t-rf+1 .. t, so the poke shows at 50 .. 50+rf-1
    assert np.flatnonzero(changed).min() == 50 and np.flatnonzero(changed).max() == 50 + rf - 1


def test_wavenet_sampling_is_seeded_and_temperature_sharpens():
    keras.utils.set_random_seed(9)
    model = build_wavenet(WAVENET)
    weights = WaveNetWeights(model, WAVENET)
    prime = np.random.default_rng(10).uniform(-0.1, 0.1, (2, 40)).astype(np.float32)

    def draw(seed, temperature):
        sampler = IncrementalWaveNet(weights, 2, seed)
        sampler.feed(prime)
        return sampler.sample(400, temperature)

    a, b = draw(1, 1.0), draw(1, 1.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draw(2, 1.0))
    assert a.min() >= 0 and a.max() < 64
    cold = draw(1, 0.05)
    assert len(np.unique(cold)) < len(np.unique(a))


def test_a_probability_floor_never_draws_the_unlikely_codes_that_make_hiss():
    keras.utils.set_random_seed(9)
    model = build_wavenet(WAVENET)
    weights = WaveNetWeights(model, WAVENET)
    prime = np.random.default_rng(10).uniform(-0.1, 0.1, (2, 40)).astype(np.float32)

    def drawn(floor):
        """Per drawn code: the probability it had (at temperature 0.2), from the network fed
        the same history, and whether it was the most likely code."""
        sampler = IncrementalWaveNet(weights, 2, 1)
        sampler.feed(prime)
        codes = sampler.sample(300, 0.2, floor)
        history = np.concatenate([prime, 2.0 * codes / 63 - 1.0], axis=1).astype(np.float32)
        logits = incremental_logits(weights, history)[:, 39:-1] / 0.2
        probs = np.exp(logits - logits.max(axis=2, keepdims=True))
        probs /= probs.sum(axis=2, keepdims=True)
        chosen = np.take_along_axis(probs, codes[..., None], axis=2)[..., 0]
        return chosen, chosen > probs.max(axis=2) - 1e-4  # (float ties between the top two)

    p, _ = drawn(0.0)
    assert p.min() < 0.02  # without a floor the tail is drawn...
    p, top = drawn(0.02)
    assert ((p >= 0.02) | top).all()  # ...with one, never: only codes over it, or the likeliest
    assert (p >= 0.02).mean() > 0.5


@pytest.mark.parametrize("conditions,guided", [(0, False), (2, False), (2, True)])
def test_performer_incremental_equals_full_forward_pass_with_notes_per_frame(conditions, guided):
    """Embedded mu-law input and a piano roll per frame (and a pitch guide per sample): the numba
    loop takes the notes frame by frame (the guide sample by sample) and matches Keras on every
    sample."""
    from dataclasses import replace

    spec = replace(
        WAVENET,
        input_embedding=6,
        local_channels=10,
        frame_samples=20,
        conditioning_channels=5,
        pitch_guide=guided,
    )
    keras.utils.set_random_seed(11)
    model = build_wavenet(spec, conditions)
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 64, (2, 300))
    notes = (rng.random((2, 15, 10)) < 0.3).astype(np.float32)
    guide = np.sin(rng.uniform(0, 6.3, (2, 1, 2)) + 0.07 * np.arange(300)[None, :, None]).astype(np.float32)
    ids = np.array([1, 0])
    extra = ([guide] if guided else []) + ([ids[:, None]] if conditions else [])
    full = model.predict([codes, notes, *extra], verbose=0)
    fast = incremental_logits(
        WaveNetWeights(model, spec), codes, ids if conditions else None, notes, guide if guided else None
    )
    np.testing.assert_allclose(fast, full, atol=1e-5)
    # the notes matter: other notes, other logits; so does the guide
    other = model.predict([codes, 1 - notes, *extra], verbose=0)
    assert np.abs(other - full).max() > 1e-3
    if guided:
        other = model.predict([codes, notes, -guide, *extra[1:]], verbose=0)
        assert np.abs(other - full).max() > 1e-3
        with pytest.raises(ValueError, match="pitch guide of 2 channels"):
            incremental_logits(WaveNetWeights(model, spec), codes, ids, notes)


def test_guided_draws_follow_the_notes_logits_pushed_away_from_the_contrasts():
    """Classifier-free guidance in the numba loop: every draw reads l + g * (l - l_contrast), with
    both computed on the codes drawn so far (checked against Keras run on those codes); at g = 0 the
    contrast changes nothing."""
    from dataclasses import replace

    spec = replace(WAVENET, input_embedding=6, local_channels=10, frame_samples=20, conditioning_channels=5)
    keras.utils.set_random_seed(11)
    model = build_wavenet(spec, 2)
    weights = WaveNetWeights(model, spec)
    rng = np.random.default_rng(12)
    notes = (rng.random((2, 15, 10)) < 0.3).astype(np.float32)
    contrast = notes.copy()
    contrast[..., :8] = 0.0  # the "no notes" of a performer: its other channels kept
    ids = np.array([1, 0])
    silence = np.full((2, 1), 32)

    def draw(guidance, seed=4, against=contrast):
        sampler = IncrementalWaveNet(weights, 2, seed, ids, notes, None, against, guidance)
        sampler.feed(silence)
        return sampler.sample(300, 1.0)

    plain = IncrementalWaveNet(weights, 2, 4, ids, notes)
    plain.feed(silence)
    np.testing.assert_array_equal(draw(0.0), plain.sample(300, 1.0))
    guidance = 1.5
    codes = draw(guidance)
    assert not np.array_equal(codes, draw(0.0))
    history = np.concatenate([silence, codes[:, :-1]], axis=1)
    played = model.predict([history, notes, ids[:, None]], verbose=0)
    unled = model.predict([history, contrast, ids[:, None]], verbose=0)
    guided = played + guidance * (played - unled)
    fed = IncrementalWaveNet(weights, 2, 0, ids, notes, None, contrast, guidance)
    fed = fed.feed(history, keep_logits=True)
    np.testing.assert_allclose(fed, guided, atol=1e-4)
    probabilities = np.exp(guided - guided.max(axis=2, keepdims=True))
    cdf = np.cumsum(probabilities / probabilities.sum(axis=2, keepdims=True), axis=2)
    uniforms = np.random.default_rng(4).random((2, 300))  # the draws' own random numbers
    above = np.take_along_axis(cdf, codes[..., None], axis=2)[..., 0]
    below = np.take_along_axis(np.pad(cdf, ((0, 0), (0, 0), (1, 0))), codes[..., None], axis=2)[..., 0]
    assert ((uniforms <= above + 1e-4) & (uniforms >= below - 1e-4)).all()
    with pytest.raises(ValueError, match="must match"):
        IncrementalWaveNet(weights, 2, 0, ids, notes, None, contrast[:, :5], guidance)


def test_a_guided_training_window_carries_its_recordings_pitch_guide_between_roll_and_condition():
    """window_batch's guide for a window is the same samples of the whole recording's guide, and
    it sits where build_wavenet takes it: after the roll, before the condition id."""
    import pandas as pd

    from models.notes.performers.settings import PerformerSettings
    from models.notes.performers.wavenet import PerformedRecording, window_batch
    from models.notes.rolls import piano_roll, pitch_guide

    settings = PerformerSettings(sample_rate=2000, frame_seconds=0.01, onset_frames=2, window_frames=10)
    notes = pd.DataFrame({"onset": [0.0, 0.3], "offset": [0.5, 0.9], "pitch": [60, 67], "program": [1, 1]})
    roll = piano_roll(notes, 100, 0.01, 2)
    rng = np.random.default_rng(5)
    recording = PerformedRecording(rng.integers(0, 64, 100 * 20).astype(np.int32), roll, 1)
    (codes, rolls, guides, conditions), _ = window_batch(
        [recording], settings, 6, np.random.default_rng(6), 0, conditioned=True, guided=True
    )
    whole = pitch_guide(roll, 20, 2000)
    assert guides.shape == (6, 200, 2) and conditions.ravel().tolist() == [1] * 6
    for window, guide, code in zip(rolls, guides, codes):
        # random codes place each window: the one frame whose 200 samples they are
        (first,) = [f for f in range(90) if np.array_equal(recording.codes[f * 20 : f * 20 + 200], code)]
        np.testing.assert_array_equal(window, roll[first : first + 10])
        np.testing.assert_allclose(guide, whole[first * 20 : first * 20 + 200], atol=1e-5)
    # unguided, the batch is what it was: codes, roll, condition
    assert len(window_batch([recording], settings, 2, np.random.default_rng(6), 0, conditioned=True)[0]) == 3


def test_perform_samples_each_piece_only_for_its_own_length():
    """Pieces of one length play together, and a short passage beside a long piece costs its own
    length, not the long one's (the old single batch ran every row to the longest)."""
    from dataclasses import replace

    import pandas as pd

    from models.notes.keyboard import KEYS
    from models.notes.performers.settings import PerformerSettings
    from models.notes.performers.wavenet import perform

    spec = replace(
        WAVENET, input_embedding=6, local_channels=2 * KEYS, frame_samples=20, conditioning_channels=5
    )
    keras.utils.set_random_seed(13)
    model = build_wavenet(spec)
    settings = PerformerSettings(sample_rate=2000, frame_seconds=0.01, onset_frames=2, window_frames=10)
    notes = pd.DataFrame({"onset": [0.0, 0.05], "offset": [0.1, 0.2], "pitch": [60, 67], "program": [1, 1]})
    lengths = [0.5, 0.1, 0.1, 0.5]
    played = []
    audio = perform(model, spec, settings, [notes] * 4, lengths, None, 1.0, 3, played.append)
    assert [len(a) for a in audio] == [1000, 200, 200, 1000]
    assert sum(played) == 2 * 1000 + 2 * 200  # samples drawn: each piece its own length
    assert np.isfinite(np.concatenate(audio)).all()
    assert not np.array_equal(audio[1], audio[2])  # rows of one batch are separate draws
    again = perform(model, spec, settings, [notes] * 4, lengths, None, 1.0, 3)
    for a, b in zip(audio, again):
        np.testing.assert_array_equal(a, b)  # seeded


def test_a_levelled_training_window_carries_the_rms_level_of_the_audio_around_each_frame():
    """With level_db set, every frame of a window ends with the RMS level of the recording's decoded
    audio over the level_frames frames centred on it: a window across a loud-to-quiet step reads
    the step where the audio takes it, about 30 dB apart."""
    import pandas as pd

    from models.notes.keyboard import KEYS
    from models.notes.performers.settings import (
        LEVEL_CENTRE_DB,
        LEVEL_SPAN_DB,
        PerformerSettings,
        frame_levels_db,
    )
    from models.notes.performers.wavenet import PerformedRecording, window_batch
    from models.notes.rolls import piano_roll
    from sonata.mulaw import mulaw_decode, mulaw_encode

    settings = PerformerSettings(2000, 0.01, 2, 10, level_db=-30.0, level_frames=4)
    rng = np.random.default_rng(8)
    # 1 s at amplitude 0.3, then 1 s at 0.01: about 29.5 dB apart
    tone = np.sin(np.arange(2000) * 0.3)
    audio = np.concatenate([0.3 * tone, 0.01 * tone])
    codes = mulaw_encode(audio, 256)
    notes = pd.DataFrame({"onset": [0.0], "offset": [2.0], "pitch": [60], "program": [1]})
    recording = PerformedRecording.from_codes(codes, piano_roll(notes, 200, 0.01, 2), 0, 256, 20)
    frame_power = np.square(mulaw_decode(codes[:4000], 256)).reshape(200, 20).mean(axis=1)
    (window_codes, rolls), _ = window_batch([recording], settings, 60, rng)
    assert rolls.shape == (60, 10, 2 * KEYS + 1)
    straddling = 0
    for code, roll in zip(window_codes, rolls):
        first = next(f for f in range(190) if np.array_equal(codes[f * 20 : f * 20 + 200], code))
        around = [frame_power[max(0, f - 2) : f + 2].mean() for f in range(first, first + 10)]
        wanted = (10 * np.log10(around) - LEVEL_CENTRE_DB) / LEVEL_SPAN_DB
        np.testing.assert_allclose(roll[:, -1], wanted, atol=1e-5)
        assert np.array_equal(roll[:, :-1], recording.roll[first : first + 10])  # keys untouched
        straddling += roll[0, -1] - roll[-1, -1] > 25 / LEVEL_SPAN_DB  # loud frames, then quiet ones
    assert straddling >= 1  # windows across the step were drawn, and their level follows it
    levels = rolls[:, :, -1] * LEVEL_SPAN_DB + LEVEL_CENTRE_DB
    assert levels.max() - levels.min() > 25
    # at the recording's ends a frame's level reads the frames there are
    ends = [10 * np.log10(frame_power[max(0, f - 2) : f + 2].mean()) for f in (0, 1, 2, 197, 198, 199)]
    read = np.r_[frame_levels_db(recording, 0, 3, 4), frame_levels_db(recording, 190, 10, 4)[-3:]]
    np.testing.assert_allclose(read, ends, atol=1e-4)
    # without a level the windows are the bare roll
    bare = PerformerSettings(2000, 0.01, 2, 10)
    assert window_batch([recording], bare, 2, rng)[0][1].shape == (2, 10, 2 * KEYS)


def test_the_level_asked_for_changes_the_performance_and_a_mismatched_performer_is_refused():
    """perform hands the network the level of settings.level_db on every frame: another level
    plays other audio; a performer trained without a level refuses to play with one."""
    from dataclasses import replace

    import pandas as pd

    from models.notes.performers.settings import PerformerSettings
    from models.notes.performers.wavenet import perform, performer_spec
    from sonata import SonataError

    settings = PerformerSettings(2000, 0.01, 2, 10, level_db=-30.0)
    cfg = {**WAVENET.to_config(), "input_embedding": 6, "conditioning_channels": 5, "layers_per_stack": 3}
    spec = performer_spec(cfg, replace(settings, window_frames=40))
    assert spec.local_channels == settings.note_channels == 177
    keras.utils.set_random_seed(21)
    model = build_wavenet(spec)
    notes = pd.DataFrame({"onset": [0.0], "offset": [0.2], "pitch": [60], "program": [1]})
    loud = perform(model, spec, settings, [notes], [0.2], None, 1.0, 4)[0]
    again = perform(model, spec, settings, [notes], [0.2], None, 1.0, 4)[0]
    quiet = perform(model, spec, replace(settings, level_db=-60.0), [notes], [0.2], None, 1.0, 4)[0]
    np.testing.assert_array_equal(loud, again)
    assert not np.array_equal(loud, quiet)
    with pytest.raises(SonataError, match="level_db must be a number"):
        perform(model, spec, replace(settings, level_db=None), [notes], [0.2], None, 1.0, 4)
    unlevelled = performer_spec(cfg, replace(settings, window_frames=40, level_db=None))
    with pytest.raises(SonataError, match="level_db must be null"):
        perform(build_wavenet(unlevelled), unlevelled, settings, [notes], [0.2], None, 1.0, 4)


def test_a_recording_heard_two_semitones_up_plays_its_notes_two_keys_higher_and_sooner():
    """performed(..., semitones=2): the audio resampled 2 ** (2 / 12) times as fast (a 440 Hz tone
    comes out at 493.9 Hz, the recording 1.12 times shorter) and the notes moved with it: two
    keys up, their frames earlier by the same factor. 0 semitones is the recording as it is."""
    import pandas as pd

    from models.notes.keyboard import KEYS, LOWEST
    from models.notes.performers.settings import PerformerSettings, transpositions
    from models.notes.performers.wavenet import performed
    from sonata.mulaw import mulaw_decode

    rate = 8000
    settings = PerformerSettings(sample_rate=rate, frame_seconds=0.01, onset_frames=2, window_frames=10)
    t = np.arange(2 * rate) / rate
    audio = (0.5 * np.sin(2 * np.pi * 440.0 * t) * (t >= 0.5)).astype(np.float32)  # A4 from 0.5 s
    notes = pd.DataFrame({"onset": [0.5], "offset": [2.0], "pitch": [69], "program": [1]})
    same, up = (performed(audio, notes, settings, 256, 0, k) for k in (0, 2))
    speed = 2 ** (2 / 12)
    assert len(up.roll) == int(len(audio) / speed) // 80 < len(same.roll) == 200
    heard = mulaw_decode(up.codes, 256)[int(0.5 / speed * rate) + 400 :]
    peak = np.fft.rfftfreq(len(heard), 1 / rate)[np.abs(np.fft.rfft(heard)).argmax()]
    assert abs(peak - 440.0 * speed) < 1.0  # B4, not A4
    for recording, key, first in ((same, 69, 50), (up, 71, int(np.floor(0.5 / speed / 0.01)))):
        held = np.flatnonzero(recording.roll[:, key - LOWEST])
        assert held[0] == first and (recording.roll[:, :KEYS].sum(axis=1) <= 1).all()
        assert np.flatnonzero(recording.roll[:, KEYS + key - LOWEST]).tolist() == [first, first + 1]
    assert transpositions(0) == (0,) and transpositions(2) == (0, -1, 1, -2, 2)
