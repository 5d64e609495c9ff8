"""The registry of the study's raw-audio architectures (config `models:`): every question about
an architecture goes to its adapter (the shape every registry shares: models.registry).

An adapter (one module here) owns an architecture's config spec, the windows it trains on, how
its Keras model is built, fed, loaded, evaluated and how it generates. Code outside this package
asks the registry, never an architecture's name. A new architecture is a module with a class that
satisfies `Architecture` and one line in `ARCHITECTURES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from models.raw_audio.seq2seq import Seq2Seq
from models.raw_audio.wavenet import WaveNet
from models.registry import Adapter, Registry
from sonata import SonataError
from sonata.records import ModelCard
from sonata.shards import ShardHeader
from sonata.windows import WindowScheme

if TYPE_CHECKING:
    import keras

Progress = Callable[[int], None]  # called with the samples each sequence advanced


class Architecture(Adapter, Protocol):
    def spec(self, cfg: dict) -> Any:
        """The frozen spec of a validated `models.<name>` config section."""

    def example_config(self) -> dict:
        """A tiny but complete config section: the protocol test trains it in seconds."""

    def scheme(self, model: str, spec: Any, named: dict[str, WindowScheme]) -> WindowScheme:
        """The windows this model trains on: a named scheme from `windows:` or its own."""

    def trim_below(self, spec: Any) -> float | None:
        """Peak level under which its shards drop a window, or None to keep them all."""

    def context_samples(self, spec: Any, scheme: WindowScheme) -> int:
        """Past samples one prediction sees; a primer must be at least this long."""

    def build(self, spec: Any, scheme: WindowScheme, n_conditions: int) -> tuple[keras.Model, keras.Model]:
        """The model to save and the compiled model to fit (they may share all layers)."""

    def pairs(
        self, spec: Any, header: ShardHeader, windows: np.ndarray, conditions: np.ndarray | None
    ) -> tuple[Any, np.ndarray]:
        """(inputs, targets) for a batch of a shard's int16 windows and their condition ids."""

    def evaluate(
        self, model: keras.Model, card: ModelCard, windows: np.ndarray, header: ShardHeader, conditions
    ) -> list[dict]:
        """Rows (metric, predictor, value): the model and trivial predictors on the same windows."""

    def generate(
        self,
        model: keras.Model,
        card: ModelCard,
        primes: np.ndarray,
        n_samples: int,
        temperature: float,
        seed: int,
        condition_ids: np.ndarray | None,
        progress: Progress,
    ) -> np.ndarray:
        """Float audio (batch, n_samples) continuing each primer."""


ARCHITECTURES: Registry[Architecture] = Registry(
    "architecture", "models.<name>.architecture", (Seq2Seq(), WaveNet())
)


def get_architecture(name: str) -> Architecture:
    return ARCHITECTURES.named(name)


def model_spec(model_cfg: dict) -> Any:
    return get_architecture(model_cfg["architecture"]).spec(model_cfg)


def window_schemes(config: dict) -> dict[str, WindowScheme]:
    """Every scheme shards are built for: the named ones in `windows:` and any a model owns."""
    named = {name: WindowScheme.from_config(name, cfg) for name, cfg in config["windows"].items()}
    schemes = dict(named)
    for model, cfg in config["models"].items():
        scheme = get_architecture(cfg["architecture"]).scheme(model, model_spec(cfg), named)
        if scheme.name in named and scheme != named[scheme.name]:
            raise SonataError(f"model {model!r} has the name of a window scheme; rename one of them")
        schemes[scheme.name] = scheme
    return schemes


def model_scheme(config: dict, model: str) -> str:
    """The name of the scheme (and shard folder) a model trains on."""
    cfg = config["models"][model]
    named = {name: WindowScheme.from_config(name, c) for name, c in config["windows"].items()}
    return get_architecture(cfg["architecture"]).scheme(model, model_spec(cfg), named).name


def shard_trim(config: dict, scheme: str) -> float | None:
    """The silence threshold of the model that owns a scheme; None keeps every window."""
    levels = {
        get_architecture(cfg["architecture"]).trim_below(model_spec(cfg))
        for model, cfg in config["models"].items()
        if model_scheme(config, model) == scheme
    }
    levels.discard(None)
    return min(levels) if levels else None


def card_scheme(card: ModelCard) -> WindowScheme:
    return WindowScheme(
        **{k: card.scheme[k] for k in ("name", "input_length", "target_offset", "target_length", "hop")}
    )


def load_trained(card_path: str, weights_path: str) -> tuple[keras.Model, ModelCard, Architecture]:
    """A trained model rebuilt from its card and weights, with the adapter that speaks for it."""
    card = ModelCard.from_json(card_path)
    adapter = ARCHITECTURES.of_card(card.architecture, "retrain it (delete its results/models folder)")
    model, _ = adapter.build(adapter.spec(card.model), card_scheme(card), len(card.conditions))
    model.load_weights(weights_path)
    return model, card, adapter


def training_dataset(
    adapter: Architecture,
    spec: Any,
    path: str,
    batch_size: int,
    seed: int,
    shuffle_buffer: int,
    labels: np.ndarray | None = None,
):
    """(inputs, targets) batches of a shard, shaped by the architecture.

    Batch k is drawn from its own seeded stream (models.training.SeededBatches): windows from
    `shuffle_buffer / chunk` random chunks of the shard (whole-chunk reads keep HDF5 fast), so a
    resumed training sees exactly the batches an uninterrupted one saw.
    """
    from models.data import ShardSampler
    from models.training import SeededBatches
    from sonata.shards import read_header

    header = read_header(path)
    sampler = ShardSampler(path, labels, max(1, shuffle_buffer // max(1, header.chunk_rows)))

    def draw(rng: np.random.Generator):
        windows, conditions = sampler.batch(batch_size, rng)
        return adapter.pairs(spec, header, windows, conditions if labels is not None else None)

    return SeededBatches(draw, seed)
