"""The performers behind models.notes.performers: the harmonic performer's features, synthesis and
learning, and both performers trained and played through the registry as the workflow does."""

import keras
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from models.nets.harmonic.network import build_harmonic, harmonic_trainer
from models.notes.keyboard import LOWEST
from models.notes.performers.harmonic import (
    DECAY_FRAMES,
    RELEASE_HORIZON,
    HarmonicSpec,
    harmonic_batch,
    key_features,
    perform_harmonic,
    prepare_harmonic,
)
from models.notes.performers.settings import PerformerSettings
from sonata.analysis import score_following
from tests.support import melody, play

TINY = {"harmonics": 4, "noise_bands": 4, "units": 16, "fft_sizes": [256, 64]}


def harmonic_spec(settings: PerformerSettings, **changes) -> HarmonicSpec:
    cfg = {
        "harmonic": TINY,
        "learning_rate": 0.01,
        "learning_rate_schedule": "constant",
        "batch_size": 4,
        "jit_compile": False,
        **changes,
    }
    return HarmonicSpec.from_config(cfg, settings)


def test_key_features_say_what_each_key_does_and_when_it_may_sound():
    notes = pd.DataFrame(
        [(0.0, 0.2, 60, 1), (0.5, 0.6, 60, 1), (0.1, 0.15, 64, 1)],
        columns=["onset", "offset", "pitch", "program"],
    )
    features, active = key_features(notes, 150, 0.01, 3)
    c, e = 60 - LOWEST, 64 - LOWEST
    assert features.shape == (150, 88, 3 + len(DECAY_FRAMES)) and active.shape == (150, 88)
    np.testing.assert_array_equal(np.flatnonzero(features[:, c, 0]), list(range(0, 20)) + list(range(50, 60)))
    np.testing.assert_array_equal(np.flatnonzero(features[:, c, 1]), [0, 1, 2, 50, 51, 52])  # struck twice
    assert features[3, c, 2] == pytest.approx(np.exp(-3 / DECAY_FRAMES[0]))
    assert features[53, c, 2] == pytest.approx(np.exp(-3 / DECAY_FRAMES[0]))  # struck again: starts over
    assert features[20, c, -1] == pytest.approx(1.0) and features[30, c, -1] == pytest.approx(np.exp(-1.0))
    assert features[19, c, -1] == 0.0 and features[55, c, -1] == 0.0  # held keys are not released
    assert features[65, c, -1] == pytest.approx(np.exp(-0.5))  # the latest release counts
    # a key may sound while held and for RELEASE_HORIZON frames after, then falls silent
    assert active[:, c].sum() == 60 + RELEASE_HORIZON and active[59 + RELEASE_HORIZON, c] == 1.0
    assert active[15 + RELEASE_HORIZON, e] == 0.0 and active[:, :c].sum() == 0.0
    # a unison: a key struck again inside a longer note counts from the later strike, also
    # after the shorter note has ended
    unison = pd.DataFrame(
        [(0.0, 1.0, 60, 41), (0.3, 0.4, 60, 42)], columns=["onset", "offset", "pitch", "program"]
    )
    features, active = key_features(unison, 150, 0.01, 3)
    assert features[50, c, 2] == pytest.approx(np.exp(-20 / DECAY_FRAMES[0]))
    assert features[50, c, -1] == 0.0 and active[50, c] == 1.0  # still held by the long note


def test_the_harmonic_performer_plays_its_keys_partials_and_silence_after_their_release():
    """Untrained, every sound it makes lies on the partials of the keys the notes hold (A4 here);
    chunked playing has no seams; once the release is over, it is digitally silent."""
    settings = PerformerSettings(8000, 0.01, 3, 50, level_db=-30.0)
    spec = harmonic_spec(settings)
    keras.utils.set_random_seed(0)
    model = build_harmonic(spec, 1)
    controls = model.get_layer("synth").controls
    weights, bias = controls.get_weights()
    bias[1 + spec.harmonics :] = -50.0  # no noise: chunks draw other noise
    controls.set_weights([weights, bias])
    notes = pd.DataFrame([(0.0, 1.0, 69, 1)], columns=["onset", "offset", "pitch", "program"])
    whole = perform_harmonic(model, spec, settings, [notes], [2.0], None, 0)[0]
    chunked = perform_harmonic(model, spec, settings, [notes], [2.0], None, 0, chunk_frames=7)[0]
    assert len(whole) == len(chunked) == 16000
    ringing = whole[:8000]
    assert np.abs(ringing).max() > 0
    power = np.abs(np.fft.rfft(ringing * np.hanning(len(ringing)))) ** 2
    freqs = np.fft.rfftfreq(len(ringing), 1 / 8000)
    on_partials = np.min(np.abs(freqs[:, None] - 440.0 * np.arange(1, 5)[None, :]), axis=1) < 10
    assert power[on_partials].sum() > 0.99 * power.sum()
    np.testing.assert_allclose(
        chunked[:8000], whole[:8000], atol=1e-3 * np.abs(whole).max()
    )  # float32 rounding
    silent_from = int((1.0 + RELEASE_HORIZON * 0.01) * 8000) + 80
    assert np.all(whole[silent_from:] == 0.0) and np.all(chunked[silent_from:] == 0.0)


def tune(pitches, step: float = 0.25) -> pd.DataFrame:
    """One note after another, `step` seconds each."""
    onsets = np.arange(len(pitches)) * step
    return pd.DataFrame({"onset": onsets, "offset": onsets + step, "pitch": pitches, "program": 1})


def test_the_harmonic_performer_learns_the_sound_of_its_recordings(tmp_path):
    """Trained briefly on a tune of sines with two overtones (1, 0.4, 0.2), it plays another tune
    at the recording's loudness and harmonic balance."""
    rate = 4000
    heard = tune(np.random.default_rng(1).integers(48, 72, 120))
    sf.write(str(tmp_path / "a.wav"), play(heard, 30.0, rate), rate, subtype="PCM_16")
    settings = PerformerSettings(rate, 0.01, 3, 50, level_db=None)
    spec = harmonic_spec(settings)
    recording = prepare_harmonic(str(tmp_path / "a.wav"), heard, settings)
    keras.utils.set_random_seed(0)
    model = build_harmonic(spec, 1)
    trainer = harmonic_trainer(model, spec)
    rng = np.random.default_rng(0)
    losses = [trainer.train_on_batch(*harmonic_batch(recording, settings, spec, rng)) for _ in range(150)]
    assert np.mean(losses[-10:]) < 0.2 * losses[0]
    other = tune([57] * 8)  # A3, struck eight times
    played = perform_harmonic(model, spec, settings, [other], [2.0], None, 0)[0]
    real = play(other, 2.0, rate)
    assert np.sqrt(np.mean(played**2)) == pytest.approx(np.sqrt(np.mean(real**2)), rel=0.25)
    spectrum = np.abs(np.fft.rfft(played * np.hanning(len(played))))
    freqs = np.fft.rfftfreq(len(played), 1 / rate)
    peaks = [spectrum[np.abs(freqs - h * 220.0) < 5].max() for h in (1, 2, 3)]
    assert peaks[1] / peaks[0] == pytest.approx(0.4, abs=0.15) and peaks[2] / peaks[0] == pytest.approx(
        0.2, abs=0.1
    )


@pytest.mark.parametrize("architecture", ["harmonic", "wavenet"])
def test_each_performer_trains_and_plays_through_the_registry(tmp_path, architecture):
    """What the workflow's train_performer and perform_notes do, for each architecture: train with
    the listening test, write a card that names the performer, load it back and play notes."""
    from models.notes.performers import load_performer
    from models.notes.performers.training import train_performer
    from models.training import TrainingConfig, TrainingOutputs
    from tests.support import labelled_recordings, tiny_config
    from workflow_scripts.make_note_shards import note_shards

    manifest = labelled_recordings(tmp_path, [1, 2, 3, 4, 5])
    shards = {s: str(tmp_path / f"{s}.h5") for s in ("train", "validation", "test")}
    note_shards(manifest, "d", shards)
    from models.notes.performers import PERFORMERS

    notes_cfg = tiny_config()["notes"]
    section = {**notes_cfg["performer"], "architecture": architecture, "checkpoint_passages": 1}
    cfg = PERFORMERS.training_settings(section)  # as rule train_performer hands it
    training = TrainingConfig(2, 3, 1, 2, 64, False, 2, 0)
    out = TrainingOutputs(*(str(tmp_path / n) for n in ("m.weights.h5", "m.json", "h.csv", "work")))
    listening = {"frame_seconds": 0.1, "fft_seconds": 0.128, "silence_threshold": 0.001}
    card = train_performer(cfg, notes_cfg, training, {k: [v] for k, v in shards.items()}, 0, out, listening)
    assert card.epochs_run == 2 and "val_score" in pd.read_csv(out.history).columns
    model, spec, loaded, adapter = load_performer(out.card, out.weights)
    assert adapter.name == architecture and loaded == card
    settings = PerformerSettings.from_card(loaded, 0.01)
    notes = melody(1.0, 9)
    sampling = {k: section[k] for k in ("temperature", "probability_floor", "guidance")}
    first, again = (
        adapter.perform(model, spec, settings, [notes], [1.0], np.array([0]), 3, sampling) for _ in range(2)
    )
    assert len(first[0]) == settings.sample_rate and np.all(np.isfinite(first[0]))
    np.testing.assert_array_equal(first[0], again[0])  # seeded: the same notes play the same
    if architecture == "harmonic":  # it plays the notes it is given, trained or not: as well as
        # the exact sines of these notes do (0.74 here; white noise 0.53)
        exact = score_following(
            play(notes, 1.0, settings.sample_rate), settings.sample_rate, notes, 1024, 0.1
        )
        assert score_following(first[0], settings.sample_rate, notes, 1024, 0.1) > exact - 0.05


def test_the_harmonic_performer_trained_with_xla_repeats_bit_for_bit_a_resumed_run_included(tmp_path):
    """Identical inputs give identical weights on a CPU, XLA's fused kernels and a run resumed
    from its checkpoint included (the fits in one process)."""
    from models.training import SeededBatches, TrainingConfig, fit_resumable
    from tests.support import assert_repeats_bit_for_bit

    rate = 4000
    heard = tune(np.random.default_rng(2).integers(48, 72, 40))
    sf.write(str(tmp_path / "a.wav"), play(heard, 10.0, rate), rate, subtype="PCM_16")
    settings = PerformerSettings(rate, 0.01, 3, 50, level_db=-30.0, level_frames=10)
    spec = harmonic_spec(settings, jit_compile=True, learning_rate_schedule="cosine")
    recording = prepare_harmonic(str(tmp_path / "a.wav"), heard, settings)

    def draw(rng):
        return harmonic_batch(recording, settings, spec, rng)

    def fit(work, epochs):
        keras.utils.set_random_seed(3)
        trainer = harmonic_trainer(build_harmonic(spec, 1), spec, total_steps=8)
        assert trainer.jit_compile
        config = TrainingConfig(epochs, 4, 1, 10, 64)
        history, _, resumed = fit_resumable(
            trainer, SeededBatches(draw, 1), SeededBatches(draw, 2), config, str(tmp_path / work)
        )
        return trainer.get_weights(), history, resumed

    assert_repeats_bit_for_bit(fit)


def test_a_recording_shorter_than_the_performers_window_stops_training_by_name(tmp_path):
    from models.notes.performers.training import train_performer
    from models.training import TrainingConfig, TrainingOutputs
    from sonata import SonataError
    from tests.support import labelled_recordings, tiny_config
    from workflow_scripts.make_note_shards import note_shards

    manifest = labelled_recordings(tmp_path, [1, 2, 3, 4])  # 6 s each
    shards = {s: str(tmp_path / f"{s}.h5") for s in ("train", "validation", "test")}
    note_shards(manifest, "d", shards)
    notes_cfg = tiny_config()["notes"]
    cfg = {**notes_cfg["performer"], "window_frames": 700}  # 7 s
    out = TrainingOutputs(*(str(tmp_path / n) for n in ("m.weights.h5", "m.json", "h.csv", "work")))
    with pytest.raises(
        SonataError, match=r"1.wav.*shorter than the performer's training window.*window_frames"
    ):
        train_performer(
            cfg, notes_cfg, TrainingConfig(1, 1, 1, 1, 64), {k: [v] for k, v in shards.items()}, 0, out, {}
        )


def test_each_performer_says_which_keys_retrain_it_and_which_only_shape_its_playing():
    """The rules hand train_performer Registry.training_settings and perform_notes
    Registry.sampling_settings: the WaveNet's floor and guidance shape only its playing, its
    temperature its listening test too; the harmonic performer reads none of them, nor the
    WaveNet's network, and the WaveNet reads none of the harmonic performer's settings."""
    from models.notes.performers import PERFORMERS
    from tests.support import tiny_config

    section = tiny_config()["notes"]["performer"]
    wavenet = {**section, "architecture": "wavenet"}
    harmonic = {**section, "architecture": "harmonic"}
    assert PERFORMERS.sampling_settings(wavenet) == {
        k: section[k] for k in ("temperature", "probability_floor", "guidance")
    }
    trains = PERFORMERS.training_settings(wavenet)
    assert "temperature" in trains and "residual_channels" in trains
    assert not {"probability_floor", "guidance", "harmonic"} & set(trains)
    assert PERFORMERS.sampling_settings(harmonic) == {}
    trains = PERFORMERS.training_settings(harmonic)
    assert "harmonic" in trains and "window_frames" in trains
    assert not {"temperature", "probability_floor", "guidance", "residual_channels"} & set(trains)
