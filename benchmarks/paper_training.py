"""Training-step throughput of every model at the paper preset's sizes, on whatever Keras
backend and device this process has: float32 against each mixed-precision policy in the same run.
Also each default model's step with and without XLA (`xla_step_rows`).

Random inputs of each model's real shapes (the step's cost does not depend on the values), so it
needs no corpus: it runs on a GPU machine with only the models' code and Keras there
(`KERAS_BACKEND=jax` where TensorFlow's CUDA build is not installed).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

if TYPE_CHECKING:
    from models.nets.wavenet.spec import WaveNetSpec
    from models.notes.performers.settings import PerformerSettings
    from models.notes.performers.wavenet import PerformedRecording

REPO = Path(__file__).resolve().parents[1]
POLICIES_GPU = ("float32", "mixed_float16", "mixed_bfloat16")


def paper_config() -> dict:
    """config.yaml with presets/paper.yaml over it, as the workflow reads them, validated."""
    from sonata.config import merged_config, validate_config

    preset = yaml.safe_load((REPO / "presets" / "paper.yaml").read_text())
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    return validate_config(merged_config(base, preset), "presets/paper.yaml over config.yaml")


def _raw_audio_model(config: dict, name: str, rng: np.random.Generator):
    from models.raw_audio import get_architecture, window_schemes
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
    """The configured composer, one step at its size (its adapter's step_example)."""
    from models.notes.composers import COMPOSERS

    section = config["notes"]["composer"]
    adapter = COMPOSERS.named(section["architecture"])
    settings = COMPOSERS.training_settings(section)
    return adapter.step_example(settings, float(config["notes"]["frame_seconds"]), rng)


def random_recording(
    settings: PerformerSettings,
    spec: WaveNetSpec,
    frames: int,
    rng: np.random.Generator,
    density: float = 0.03,
) -> PerformedRecording:
    """A PerformedRecording of `frames` frames: random mu-law codes under a random roll with
    `density` of its keys down, for work whose cost or checks do not depend on what is played
    (step timings, determinism)."""
    from models.notes.keyboard import KEYS
    from models.notes.performers.wavenet import PerformedRecording

    return PerformedRecording.from_codes(
        rng.integers(0, spec.quantization_channels, frames * settings.frame_samples),
        (rng.random((frames, 2 * KEYS)) < density).astype(np.float32),
        0,
        spec.quantization_channels,
        settings.frame_samples,
    )


def _performer(config: dict, rng: np.random.Generator):
    """The WaveNet performer (benchmarks.performer_steps.with_wavenet_performer) fed as
    train_performer feeds it: frame-aligned windows of a recording."""
    from benchmarks.performer_steps import with_wavenet_performer
    from models.notes.performers import PERFORMERS
    from models.notes.performers.settings import PerformerSettings

    config = with_wavenet_performer(config)
    section = config["notes"]["performer"]
    adapter = PERFORMERS.named(section["architecture"])
    settings = PerformerSettings.from_config(config["notes"])
    spec = adapter.spec(PERFORMERS.training_settings(section), settings)
    trainer = adapter.trainer(adapter.build(spec, 2), spec, 0)
    recording = random_recording(settings, spec, 4 * settings.window_frames, rng)
    x, y = adapter.batch([recording], settings, spec, rng, True)
    return trainer, x, y, y.size


# the notes route's two parts: how to build one for timing, and what it predicts per step
NOTE_MODELS: dict[str, tuple[Callable, str]] = {
    "composer": (_composer, "tokens"),
    "performer": (_performer, "samples"),
}


def model_names(config: dict) -> list[str]:
    """The raw-audio models of `models:`, then the notes route's two."""
    return [*config["models"], *NOTE_MODELS]


def predicted_unit(name: str) -> str:
    """What a model predicts per step: the composer tokens, every other model audio samples."""
    return NOTE_MODELS[name][1] if name in NOTE_MODELS else "samples"


def build_for_steps(config: dict, name: str, rng: np.random.Generator):
    """(compiled model, inputs, targets, predicted values per step) for one model."""
    if name in NOTE_MODELS:
        return NOTE_MODELS[name][0](config, rng)
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


def median_step(trainer, x, y, steps: int, warmup: int) -> float:
    """Median seconds of a training step, after `warmup` steps of tracing and compilation."""
    for _ in range(warmup):
        trainer.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = trainer.train_on_batch(x, y)
        float(np.asarray(loss if np.ndim(loss) == 0 else loss[0]))  # wait for the device
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_rows(
    steps: int,
    warmup: int = 2,
    config: dict | None = None,
    names: list[str] | None = None,
    report: Callable[[dict], None] = lambda row: None,
    policies: tuple[str, ...] | None = None,
) -> list[dict]:
    """Median seconds per training step of each model (all of the config's, or `names`) under
    each policy, float32 first (the ratio's baseline); each row also goes to `report` as soon as
    it is measured. By default mixed precision is timed only on a GPU, where it pays; on
    TensorFlow the process is set up as training sets it up (threads, allocator)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        from models.training import configure_tensorflow

        configure_tensorflow(os.cpu_count() or 1, False)
    config = config or paper_config()
    policies = policies or (POLICIES_GPU if on_gpu() else ("float32",))
    rows = []
    try:
        for name in names or model_names(config):
            base = None
            for policy in policies:
                keras.mixed_precision.set_global_policy(policy)
                keras.utils.set_random_seed(0)
                trainer, x, y, predicted = build_for_steps(config, name, np.random.default_rng(0))
                row = {"model": name, "parameters": trainer.count_params(), "policy": policy, "batch": len(y)}
                try:
                    seconds = median_step(trainer, x, y, steps, warmup)
                except Exception as error:  # a policy this backend cannot train (JAX's cuDNN LSTM in float16)
                    row["error"] = f"{type(error).__name__}: {error}"[:120]
                else:
                    rate = predicted / seconds
                    base = rate if policy == "float32" else base
                    row |= {
                        "s/step": seconds,
                        "predicted per s": rate,
                        "unit": predicted_unit(name),
                        "vs float32": rate / base if base else float("nan"),
                    }
                rows.append(row)
                report(row)
                keras.backend.clear_session()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return rows


def xla_step_rows(
    rounds: int, steps: int, config: dict | None = None, names: list[str] | None = None
) -> list[dict]:
    """Each model's training step without and with XLA (`jit_compile`; config.yaml's models by
    default, all of them or `names`): a model's two trainers in one process, timed in
    alternating rounds of `steps` steps, so that a machine's drift (this project's 2-core
    machines vary by half from hour to hour) reaches both alike. Seconds per step are medians of
    the rounds. TensorFlow only: each trainer's jit_compile is set outright, since Keras' "auto"
    means XLA on a GPU and none on a CPU."""
    import keras

    from models.training import configure_tensorflow
    from sonata.config import read_config

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"xla_step_rows times TensorFlow's XLA; this Keras runs on {keras.backend.backend()}"
        )
    configure_tensorflow(os.cpu_count() or 1, False)
    config = config or read_config()
    rows = []
    for name in names or model_names(config):
        trainers, first_step = {}, {}
        for jit in (False, True):
            keras.utils.set_random_seed(0)
            trainer, x, y, predicted = build_for_steps(config, name, np.random.default_rng(0))
            trainer.jit_compile = jit
            start = time.perf_counter()
            trainer.train_on_batch(x, y)  # tracing, and XLA's compilation
            first_step[jit] = time.perf_counter() - start
            trainer.train_on_batch(x, y)
            trainers[jit] = (trainer, x, y)
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for jit, (trainer, x, y) in trainers.items():
                start = time.perf_counter()
                for _ in range(steps):
                    trainer.train_on_batch(x, y)
                times[jit].append((time.perf_counter() - start) / steps)
        plain = statistics.median(times[False])
        rows += [
            {
                "model": name,
                "jit_compile": trainers[jit][0].jit_compile,
                "first step s": first_step[jit],
                "s/step": statistics.median(times[jit]),
                "rounds min-max": f"{min(times[jit]):.3f}-{max(times[jit]):.3f}",
                "predicted per s": predicted / statistics.median(times[jit]),
                "unit": predicted_unit(name),
                "vs plain": plain / statistics.median(times[jit]),
            }
            for jit in (False, True)
        ]
        keras.backend.clear_session()
    return rows
