"""Training-step throughput of every model at the paper preset's sizes, on whatever Keras
backend and device this process has: float32 against each mixed-precision policy in the same run.

Random inputs of each model's real shapes (the step's cost does not depend on the values), so it
needs no corpus: it runs on a GPU machine with only the models' code and Keras there
(`KERAS_BACKEND=jax` where TensorFlow's CUDA build is not installed).
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
POLICIES_GPU = ("float32", "mixed_float16", "mixed_bfloat16")


def paper_config() -> dict:
    """config.yaml with presets/paper.yaml over it, merged as Snakemake merges config files
    (`datasets:` and `models:` replaced whole, as `apply_user_sections` does)."""
    from sonata.config import apply_user_sections

    def merge(base: dict, over: dict) -> dict:
        for key, value in over.items():
            base[key] = (
                merge(base.get(key, {}), value)
                if isinstance(value, dict) and isinstance(base.get(key), dict)
                else value
            )
        return base

    preset = yaml.safe_load((REPO / "presets" / "paper.yaml").read_text())
    config = merge(yaml.safe_load((REPO / "config.yaml").read_text()), copy.deepcopy(preset))
    apply_user_sections(config, preset)
    return config


def _raw_audio_model(config: dict, name: str, rng: np.random.Generator):
    from models.architectures import get_architecture, window_schemes
    from sonata.shards import ShardHeader

    cfg = config["models"][name]
    arch = get_architecture(cfg["architecture"])
    spec = arch.spec(cfg)
    scheme = arch.scheme(name, spec, window_schemes(config))
    conditions = 2 if cfg.get("condition_on") else 0
    _, trainer = arch.build(spec, scheme, conditions)
    header = ShardHeader(
        "bench",
        "train",
        scheme.name,
        config["audio"]["sample_rate"],
        scheme.length,
        scheme.input_length,
        scheme.target_offset,
        scheme.target_length,
        scheme.hop,
        1 / 32768,
        -1.0,
        (1,),
        ("X",),
        ("Y",),
        (1,),
    )
    windows = rng.integers(-8000, 8000, (cfg["batch_size"], scheme.length)).astype(np.int16)
    ids = np.zeros(len(windows), np.int32) if conditions else None
    x, y = arch.pairs(spec, header, windows, ids)
    return trainer, x, y, int(np.prod(np.shape(y)))


def _composer(config: dict, rng: np.random.Generator):
    import keras

    from models.composer import build_composer, teacher_forcing
    from sonata.notes import NoteVocabulary

    cfg = config["notes"]["composer"]
    vocabulary = NoteVocabulary(step=config["notes"]["frame_seconds"])
    past, future = int(cfg["past"]), int(cfg["future"])
    model = build_composer(vocabulary.size, int(cfg["units"]), int(cfg["embedding"]), past, future)
    model.compile(
        optimizer=keras.optimizers.Adam(float(cfg["learning_rate"])),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    windows = rng.integers(1, vocabulary.size, (int(cfg["batch_size"]), past + future)).astype(np.int32)
    x, y = teacher_forcing(windows, past, vocabulary.start)
    return model, x, y, y.size


def _performer(config: dict, rng: np.random.Generator):
    from models.performer import PerformerSettings, performer_spec
    from models.wavenet import build_wavenet, wavenet_trainer

    notes = config["notes"]
    cfg = notes["performer"]
    settings = PerformerSettings(
        cfg["sample_rate"], notes["frame_seconds"], notes["onset_frames"], cfg["window_frames"]
    )
    spec = performer_spec(cfg, settings)
    trainer = wavenet_trainer(build_wavenet(spec, 2), spec)
    batch, frames = int(cfg["batch_size"]), settings.window_frames
    length = frames * settings.frame_samples
    codes = rng.integers(0, spec.quantization_channels, (batch, length)).astype(np.int32)
    roll = (rng.random((batch, frames, spec.local_channels)) < 0.03).astype(np.float32)
    targets = rng.integers(0, spec.quantization_channels, (batch, spec.chunk)).astype(np.int32)
    return trainer, (codes, roll, np.zeros((batch, 1), np.int32)), targets, targets.size


NOTE_MODELS: dict[str, Callable] = {"composer": _composer, "performer": _performer}


def model_names(config: dict) -> list[str]:
    """The raw-audio models of `models:`, then the notes route's two."""
    return [*config["models"], *NOTE_MODELS]


def build_for_steps(config: dict, name: str, rng: np.random.Generator):
    """(compiled model, inputs, targets, predicted values per step) for one model."""
    if name in NOTE_MODELS:
        return NOTE_MODELS[name](config, rng)
    return _raw_audio_model(config, name, rng)


def device_name() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"jax {jax.__version__}: {jax.devices()[0].device_kind}"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"tensorflow {tf.__version__}: " + (
        f"GPU x{len(gpus)}" if gpus else f"CPU ({os.cpu_count()} cores)"
    )


def on_gpu() -> bool:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.devices()[0].platform == "gpu"
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def step_rows(
    steps: int,
    warmup: int = 2,
    config: dict | None = None,
    names: list[str] | None = None,
    report: Callable[[dict], None] = lambda row: None,
) -> list[dict]:
    """Median seconds per training step of each model (all of the config's, or `names`) under
    each policy, float32 first (the ratio's baseline); each row also goes to `report` as soon as
    it is measured. Mixed precision is timed only on a GPU, where it pays."""
    import keras

    config = config or paper_config()
    policies = POLICIES_GPU if on_gpu() else ("float32",)
    rows = []
    for name in names or model_names(config):
        base = None
        for policy in policies:
            keras.mixed_precision.set_global_policy(policy)
            keras.utils.set_random_seed(0)
            trainer, x, y, predicted = build_for_steps(config, name, np.random.default_rng(0))
            try:
                for _ in range(warmup):  # tracing and XLA compilation
                    trainer.train_on_batch(x, y)
            except Exception as error:  # a policy this backend cannot train (JAX's cuDNN LSTM in float16)
                rows.append(
                    {"model": name, "policy": policy, "error": f"{type(error).__name__}: {error}"[:120]}
                )
                report(rows[-1])
                keras.backend.clear_session()
                continue
            times = []
            for _ in range(steps):
                start = time.perf_counter()
                loss = trainer.train_on_batch(x, y)
                float(np.asarray(loss if np.ndim(loss) == 0 else loss[0]))  # wait for the device
                times.append(time.perf_counter() - start)
            seconds = statistics.median(times)
            rate = predicted / seconds
            base = base or rate
            rows.append(
                {
                    "model": name,
                    "parameters": trainer.count_params(),
                    "policy": policy,
                    "batch": len(y),
                    "s/step": seconds,
                    "predicted per s": rate,
                    "unit": "tokens" if name == "composer" else "samples",
                    "vs float32": rate / base,
                }
            )
            report(rows[-1])
            keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("float32")
    return rows
