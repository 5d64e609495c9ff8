import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sonata.records import ModelCard
from sonata.windowing import write_shard
from sonata.windows import WindowScheme
from tests.support import REPO, assert_repeats_bit_for_bit, tone

SEQ2SEQ = {
    "architecture": "seq2seq",
    "windows": "a",
    "units": 8,
    "start_token": 0.0,
    "learning_rate": 0.01,
    "batch_size": 16,
}
WAVENET_SMALL = {
    "architecture": "wavenet",
    "layers_per_stack": 3,
    "stacks": 1,
    "kernel_size": 2,
    "residual_channels": 8,
    "skip_channels": 8,
    "quantization_channels": 64,
    "chunk": 16,
    "learning_rate": 0.01,
    "batch_size": 4,
}
TRAINING = {
    "epochs": 6,
    "steps_per_epoch": 40,
    "validation_steps": 2,
    "early_stopping_patience": 10,
    "shuffle_buffer": 256,
    "mixed_precision": False,
    "threads": 1,
    "gpus": 0,
}


def make_shards(tmp_path, scheme, composers=("X", "X", "X"), seconds=2.0, chunk_rows=64):
    """Two training recordings and one validation recording of tones, as shards."""
    rows = []
    for i, (split, composer) in enumerate(zip(["train", "train", "validation"], composers)):
        path = tmp_path / f"{i}.wav"
        sf.write(str(path), tone(seconds, 8000, 200 + 100 * i), 8000, subtype="PCM_16")
        rows.append(
            {
                "id": i,
                "split": split,
                "composer": composer,
                "ensemble": "Y",
                "wav": str(path),
                "sample_rate": 8000,
                "samples": int(seconds * 8000),
            }
        )
    manifest = pd.DataFrame(rows)
    for split in ("train", "validation"):
        write_shard(
            str(tmp_path / f"{split}.h5"), manifest[manifest.split == split], scheme, split, "d", chunk_rows
        )
    return rows


def outputs(tmp_path, run=""):
    from models.training import TrainingOutputs

    out = tmp_path / f"out{run}"
    return TrainingOutputs(
        str(out / "model.weights.h5"),
        str(out / "model.json"),
        str(out / "history.csv"),
        str(tmp_path / f"work{run}"),
    )


def launch(tmp_path, rows, run="", training=TRAINING):
    """Train in a fresh process (so it can be killed); run names a separate output folder."""
    data = (str(tmp_path / "train.h5"), str(tmp_path / "validation.h5"), rows)
    code = (
        "from models.raw_audio import model_spec; from models.training import TrainingConfig; "
        "from workflow_scripts.train_model import *; "
        f"train(model_spec({SEQ2SEQ!r}), TrainingConfig(**{training!r}), TrainingData(*{data!r}), "
        f"TrainingOutputs(*{tuple(vars(outputs(tmp_path, run)).values())!r}), 1)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_training_killed_mid_run_resumes_from_its_checkpoint(tmp_path):
    rows = make_shards(tmp_path, WindowScheme("a", 32, 32, 32, 32))
    history = tmp_path / "work" / "history.csv"
    first = launch(tmp_path, rows)
    deadline = time.time() + 120
    while time.time() < deadline and first.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.05)
    assert first.poll() is None, "training finished before it could be killed: " + first.stdout.read()
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = pd.read_csv(history)
    with h5py.File(tmp_path / "work" / "backup" / "latest.weights.h5") as backup:
        # the checkpoint holds Adam's moments and step counter, not only the weights
        names = []
        backup.visit(names.append)
        assert any(n.startswith("optimizer/vars") for n in names), names
    assert not (tmp_path / "out" / "model.weights.h5").exists()

    second = launch(tmp_path, rows)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    final = pd.read_csv(tmp_path / "out" / "history.csv")
    card = ModelCard.from_json(tmp_path / "out" / "model.json")
    assert card.resumed is True
    assert list(final["epoch"]) == list(range(TRAINING["epochs"]))
    # the epochs finished before the kill were not trained again
    done = before.drop_duplicates("epoch", keep="last")
    restored = final.set_index("epoch").loc[done["epoch"][: len(done) - 1]]
    np.testing.assert_allclose(restored["loss"], done["loss"][: len(done) - 1])
    assert card.epochs_run == TRAINING["epochs"]
    assert not (tmp_path / "work" / "backup").exists()
    assert final["val_loss"].iloc[-1] < final["val_loss"].iloc[0]
    # the resumed run continued the data order too: it ends with an uninterrupted run's weights.
    # Two processes given identical inputs and seed, bit for bit: this is also the determinism test
    uninterrupted = launch(tmp_path, rows, run="u")
    output, _ = uninterrupted.communicate(timeout=300)
    assert uninterrupted.returncode == 0, output
    resumed, whole = (
        weight_arrays(tmp_path / "out" / "model.weights.h5"),
        weight_arrays(tmp_path / "outu" / "model.weights.h5"),
    )
    assert len(resumed) == len(whole) > 0
    for a, b in zip(resumed, whole):
        np.testing.assert_array_equal(a, b)


def weight_arrays(path):
    found = []
    with h5py.File(path) as h5:
        h5.visititems(lambda name, obj: found.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return found


def test_wavenet_trains_with_composer_conditioning_from_shard_attributes(tmp_path):
    from models.conditioning import condition_labels, condition_vocabulary
    from models.raw_audio import model_spec
    from models.raw_audio.training import TrainingData, train
    from models.training import TrainingConfig

    model_cfg = dict(
        WAVENET_SMALL,
        residual_channels=4,
        quantization_channels=32,
        chunk=64,
        condition_on=["composer"],
        trim_silence=False,
        silence_threshold=0.001,
    )
    rows = make_shards(
        tmp_path, model_spec(model_cfg).window_scheme("w"), ("Bach", "Haydn", "Haydn"), 1.0, 16
    )
    vocabulary = condition_vocabulary(rows, model_cfg)
    assert vocabulary == ["Bach", "Haydn"]
    from sonata.shards import read_header

    assert list(condition_labels(read_header(str(tmp_path / "train.h5")), model_cfg, vocabulary)) == [0, 1]
    training = dict(TRAINING, epochs=1, steps_per_epoch=5)
    card = train(
        model_spec(model_cfg),
        TrainingConfig(**training),
        TrainingData(str(tmp_path / "train.h5"), str(tmp_path / "validation.h5"), rows),
        outputs(tmp_path),
        0,
    )
    assert card.conditions == ["Bach", "Haydn"] and card.context_samples == 9
    assert np.isfinite(pd.read_csv(tmp_path / "out" / "history.csv")["val_loss"]).all()


def test_mixed_precision_computes_in_float16_but_keeps_weights_logits_and_loss_float32():
    """The GPU path's numerics, run on the CPU: float16 layers, float32 outputs, loss scaling."""
    import keras

    from models.nets.wavenet.sampler import WaveNetWeights
    from models.raw_audio import get_architecture, model_spec
    from sonata.windows import WindowScheme

    def build_model(cfg, scheme, n_conditions):
        return get_architecture(cfg["architecture"]).build(model_spec(cfg), scheme, n_conditions)

    rng = np.random.default_rng(0)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model, trainer = build_model(WAVENET_SMALL, None, 0)
        s2s, s2s_trainer = build_model(SEQ2SEQ, WindowScheme("a", 16, 16, 16, 16), 0)
        assert model.get_layer("dilated_0").compute_dtype == "float16"
        assert s2s.get_layer("encoder_lstm").compute_dtype == "float16"
        for fitted in (trainer, s2s_trainer):
            assert fitted.output.dtype == "float32"  # softmax / squared error in float32
            assert type(fitted.optimizer).__name__ == "LossScaleOptimizer"
            assert all(v.dtype == "float32" for v in fitted.trainable_variables)
        x = rng.uniform(-1, 1, (8, 9 - 1 + 16, 1)).astype("float32")
        y = rng.integers(0, 64, (8, 16))
        losses = trainer.fit(x, y, epochs=2, batch_size=4, verbose=0).history["loss"]
        seq = rng.uniform(-1, 1, (8, 16, 1)).astype("float32")
        s2s_losses = s2s_trainer.fit([seq, seq], seq, epochs=2, batch_size=4, verbose=0).history["loss"]
        assert np.isfinite(losses + s2s_losses).all()
        mixed_logits = np.asarray(model.predict(x, verbose=0))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    # weights trained in mixed precision serve float32 evaluation and generation unchanged
    plain, _ = build_model(WAVENET_SMALL, None, 0)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(plain.predict(x, verbose=0)), mixed_logits, atol=0.05)
    arrays = WaveNetWeights(plain, model_spec(WAVENET_SMALL)).arrays()
    assert all(a.dtype == np.float32 for name, a in arrays._asdict().items() if name != "dilations")


def test_a_job_that_asked_for_a_gpu_fails_naming_the_setting_when_none_is_visible(caplog):
    import tensorflow as tf

    from models.training import configure_tensorflow
    from sonata import SonataError

    if tf.config.list_physical_devices("GPU"):
        assert configure_tensorflow(1, False, 1).startswith("GPU x")
        return
    with pytest.raises(SonataError, match=r"training\.gpus is 1 .*training\.gpus: 0"):
        configure_tensorflow(1, False, 1)
    with caplog.at_level("WARNING", logger="sonata.train"):
        assert configure_tensorflow(1, True, 0) == "CPU (1 thread), float32"
    assert "mixed_precision ignored" in caplog.text


def test_a_second_trainer_refuses_the_checkpoint_folder_a_live_one_holds(tmp_path):
    import os

    from models.training import checkpoint_lock
    from sonata import SonataError

    live = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "trainer.pid").write_text(str(live.pid))
        with pytest.raises(
            SonataError, match=rf"in use by a training process still running \(PID {live.pid}\)"
        ):
            with checkpoint_lock(tmp_path):
                pass
    finally:
        live.kill()
        live.wait()
    with checkpoint_lock(tmp_path):  # its owner is gone: the lock is taken over
        assert (tmp_path / "trainer.pid").read_text() == str(os.getpid())
    assert not (tmp_path / "trainer.pid").exists()


def test_a_judged_fit_keeps_the_epoch_the_judge_liked_best_and_logs_its_scores(tmp_path):
    import keras

    from models.training import SeededBatches, TrainingConfig, fit_resumable

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")

    def draw(rng):
        x = rng.normal(size=(16, 4)).astype("float32")
        return x, x.sum(axis=1, keepdims=True)

    scores, seen = iter([0.2, 0.9, 0.1]), []

    def judge():
        seen.append([w.copy() for w in model.get_weights()])
        return next(scores)

    config = TrainingConfig(**{**TRAINING, "epochs": 3, "steps_per_epoch": 5})
    history, _, _ = fit_resumable(
        model, SeededBatches(draw, 1), SeededBatches(draw, 2), config, str(tmp_path), judge=judge
    )
    assert history["val_score"].tolist() == [0.2, 0.9, 0.1]
    assert not np.allclose(seen[1][0], seen[2][0])  # training went on after the best epoch...
    for kept, best in zip(model.get_weights(), seen[1]):  # ...but the result is the best one
        np.testing.assert_array_equal(kept, best)


def test_a_fit_that_runs_all_its_epochs_keeps_the_one_with_the_lowest_validation_loss(tmp_path):
    """The composer's validation loss bottoms out mid-run and rises as it overfits; without an
    early stop the last epoch used to be the result."""
    import keras

    from models.training import SeededBatches, TrainingConfig, fit_resumable

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")

    def batches(scale):
        def draw(rng):
            x = rng.normal(size=(16, 4)).astype("float32")
            return x, scale * x.sum(axis=1, keepdims=True)

        return draw

    # training pulls the weights to 1; validation wants 0.3, passed in the first epoch
    validation = SeededBatches(batches(0.3), 2)
    config = TrainingConfig(**{**TRAINING, "epochs": 3, "steps_per_epoch": 5, "early_stopping_patience": 9})
    history, _, _ = fit_resumable(model, SeededBatches(batches(1.0), 1), validation, config, str(tmp_path))
    assert len(history) == 3 and history["val_loss"].idxmin() == 0  # it got worse, and went on
    kept = np.mean([model.test_on_batch(*validation.batch(i)) for i in range(config.validation_steps)])
    assert kept == pytest.approx(history["val_loss"].min(), rel=1e-5)


def test_a_wavenet_config_reaches_its_trainer_xla_and_cosine_schedule_included():
    from models.nets.wavenet.network import build_wavenet, wavenet_trainer
    from models.nets.wavenet.spec import WaveNetSpec

    spec = WaveNetSpec.from_config(
        {**WAVENET_SMALL, "jit_compile": True, "learning_rate_schedule": "cosine", "learning_rate": 0.002}
    )
    trainer = wavenet_trainer(build_wavenet(spec, 0), spec, total_steps=100)
    assert trainer.jit_compile  # the config's jit_compile used to stop at the spec
    assert float(trainer.optimizer.learning_rate) == pytest.approx(0.002)
    trainer.optimizer.iterations.assign(50)
    assert float(trainer.optimizer.learning_rate) == pytest.approx(0.001, rel=1e-3)
    trainer.optimizer.iterations.assign(100)
    assert float(trainer.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_a_raw_audio_wavenet_with_an_embedded_input_learns_and_generates_from_codes(tmp_path):
    """The adapter used to hand an embedded WaveNet companded floats, which its integer input
    truncated to one or two codes: it learned no more than the codes' histogram."""
    from models.raw_audio import load_trained, model_spec
    from models.raw_audio.training import TrainingData, train
    from models.training import TrainingConfig
    from sonata.mulaw import mulaw_encode

    model_cfg = dict(WAVENET_SMALL, input_embedding=8, chunk=64)
    rows = make_shards(tmp_path, model_spec(model_cfg).window_scheme("w"), seconds=1.0, chunk_rows=16)
    train(
        model_spec(model_cfg),
        TrainingConfig(**dict(TRAINING, epochs=3, steps_per_epoch=40)),
        TrainingData(str(tmp_path / "train.h5"), str(tmp_path / "validation.h5"), rows),
        outputs(tmp_path),
        0,
    )
    history = pd.read_csv(tmp_path / "out" / "history.csv")
    # nats: the old code stalled at the codes' histogram (3.3); a scalar input reaches 1.9 here
    assert history["loss"].iloc[-1] < 2.0

    out = tmp_path / "out"
    model, card, adapter = load_trained(str(out / "model.json"), str(out / "model.weights.h5"))
    q, rf = card.model["quantization_channels"], card.context_samples
    prime = tone(0.01, 8000, 200)[None, :].astype(np.float32)
    made = mulaw_encode(adapter.generate(model, card, prime, 20, 1e-4, 0, None, lambda n: None), q)
    codes = list(mulaw_encode(prime[0], q))  # the same continuation, one Keras forward pass a sample
    for _ in range(20):
        logits = model([np.array([codes[-rf:]], dtype=np.int32)], training=False)[0, -1]
        codes.append(int(np.argmax(logits)))
    np.testing.assert_array_equal(made[0], codes[-20:])


def test_the_performer_trained_with_xla_repeats_bit_for_bit_a_resumed_run_included(tmp_path):
    """The default performer trains with XLA (`jit_compile: true`): its fused kernels must keep
    the project's promise that identical inputs give identical weights on a CPU, and that a run
    resumed from its checkpoint ends where an uninterrupted one does (a small performer with its
    ensemble conditioning, the fits in one process)."""
    import keras

    from benchmarks.paper_training import random_recording
    from models.nets.wavenet.network import build_wavenet, wavenet_trainer
    from models.notes.performers.settings import PerformerSettings
    from models.notes.performers.wavenet import performer_spec, window_batch
    from models.training import SeededBatches, TrainingConfig, fit_resumable
    from tests.support import tiny_config

    notes = tiny_config()["notes"]
    notes["performer"]["jit_compile"] = True
    settings = PerformerSettings.from_config(notes)
    spec = performer_spec(notes["performer"], settings)
    recording = random_recording(settings, spec, 20 * settings.window_frames, np.random.default_rng(0), 0.05)

    def draw(rng):
        return window_batch([recording], settings, 4, rng, spec.receptive_field - 1, conditioned=True)

    def fit(work, epochs):
        keras.utils.set_random_seed(3)
        trainer = wavenet_trainer(build_wavenet(spec, 2), spec, total_steps=8)
        assert trainer.jit_compile
        config = TrainingConfig(**{**TRAINING, "epochs": epochs, "steps_per_epoch": 4})
        history, _, resumed = fit_resumable(
            trainer, SeededBatches(draw, 1), SeededBatches(draw, 2), config, str(tmp_path / work)
        )
        return trainer.get_weights(), history, resumed

    assert_repeats_bit_for_bit(fit)
