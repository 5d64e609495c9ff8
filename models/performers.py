"""The registry of performers: every question about how a performer learns and plays goes to
its adapter, chosen by `notes.performer.architecture` (and, for a trained one, by its model
card), so that training, performing and the benchmarks never ask a performer's name.

* `harmonic` (models.harmonic): a learned harmonic-plus-noise synthesizer, trained on a
  spectral loss. The default: it plays every note it is given, in minutes of training.
* `wavenet` (models.performer): a WaveNet conditioned on the piano roll, sampled one mu-law
  code at a time (presets/wavenet_performer.yaml holds its measured settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from sonata import SonataError

if TYPE_CHECKING:
    import keras

    from models.performer import PerformerSettings
    from sonata.records import ModelCard


class Performer(Protocol):
    name: str  # the config's notes.performer.architecture
    card_name: str  # its model cards' architecture
    preset: str | None  # the preset holding its measured settings (None: config.yaml's defaults)
    own_keys: tuple[str, ...]  # the `notes.performer` keys only this performer reads

    def spec(self, cfg: dict, settings: PerformerSettings) -> Any:
        """The frozen spec of a validated `notes.performer` section."""

    def card_spec(self, card: ModelCard) -> Any:
        """The spec a trained performer was built with, from its card."""

    def prepare(
        self, wav: str, notes: pd.DataFrame, settings: PerformerSettings, spec: Any, condition: int, shifts
    ) -> list:
        """A training recording as this performer learns it, once per semitone shift."""

    def build(self, spec: Any, n_conditions: int) -> keras.Model:
        """The model whose weights are saved and played."""

    def trainer(self, model: keras.Model, spec: Any, total_steps: int) -> keras.Model:
        """The compiled model to fit (it may be `model` itself)."""

    def batch(
        self,
        recordings: list,
        settings: PerformerSettings,
        spec: Any,
        rng: np.random.Generator,
        conditioned: bool,
    ) -> tuple[Any, np.ndarray]:
        """(inputs, targets) of random training windows."""

    def perform(
        self,
        model: keras.Model,
        spec: Any,
        settings: PerformerSettings,
        pieces: list[pd.DataFrame],
        seconds: list[float],
        condition_ids: np.ndarray | None,
        seed: int,
        sampling: dict,
        progress=None,
    ) -> list[np.ndarray]:
        """Audio at the performer's rate for each note table (sampling: the `notes.performer`
        keys that shape playing, which a performer may ignore)."""

    def card(self, spec: Any, settings: PerformerSettings) -> dict:
        """Its model card's `model` (the spec as config) and the context one output sees."""


class WaveNetPerformer:
    name = "wavenet"
    card_name = "performer"  # cards written before the registry say this too
    preset = "presets/wavenet_performer.yaml"
    own_keys = (
        "layers_per_stack",
        "stacks",
        "kernel_size",
        "residual_channels",
        "skip_channels",
        "quantization_channels",
        "input_embedding",
        "conditioning_channels",
        "pitch_guide",
        "temperature",  # its listening test samples at it
        "probability_floor",
        "guidance",
    )

    def spec(self, cfg, settings):
        from models.performer import performer_spec

        return performer_spec(cfg, settings)

    def card_spec(self, card):
        from models.architectures.wavenet import WaveNetSpec

        return WaveNetSpec.from_config(card.model)

    def prepare(self, wav, notes, settings, spec, condition, shifts):
        from models.performer import prepare

        return prepare(wav, notes, settings, spec.quantization_channels, condition, shifts)

    def build(self, spec, n_conditions):
        from models.wavenet import build_wavenet

        return build_wavenet(spec, n_conditions)

    def trainer(self, model, spec, total_steps):
        from models.wavenet import wavenet_trainer

        return wavenet_trainer(model, spec, total_steps)

    def batch(self, recordings, settings, spec, rng, conditioned):
        from models.performer import window_batch

        crop = spec.receptive_field - 1
        return window_batch(recordings, settings, spec.batch_size, rng, crop, conditioned, spec.pitch_guide)

    def perform(self, model, spec, settings, pieces, seconds, condition_ids, seed, sampling, progress=None):
        from models.performer import perform

        return perform(
            model,
            spec,
            settings,
            pieces,
            seconds,
            condition_ids,
            float(sampling["temperature"]),
            seed,
            progress,
            float(sampling.get("probability_floor", 0.0)),
            float(sampling.get("guidance", 0.0)),
        )

    def card(self, spec, settings):
        return {
            "model": spec.to_config(),
            "context_samples": spec.receptive_field,
            "context_ms": 1000.0 * spec.receptive_field / settings.sample_rate,
        }


class HarmonicPerformer:
    name = "harmonic"
    card_name = "harmonic performer"
    preset = None
    own_keys = ("harmonic",)

    def spec(self, cfg, settings):
        from models.harmonic import HarmonicSpec

        return HarmonicSpec.from_config(cfg, settings)

    def card_spec(self, card):
        from models.harmonic import HarmonicSpec

        return HarmonicSpec.from_card_model(card.model)

    def prepare(self, wav, notes, settings, spec, condition, shifts):
        from models.harmonic import prepare_harmonic

        return prepare_harmonic(wav, notes, settings, condition, shifts)

    def build(self, spec, n_conditions):
        from models.harmonic import build_harmonic

        return build_harmonic(spec, n_conditions)

    def trainer(self, model, spec, total_steps):
        from models.harmonic import harmonic_trainer

        return harmonic_trainer(model, spec, total_steps)

    def batch(self, recordings, settings, spec, rng, conditioned):
        from models.harmonic import harmonic_batch

        return harmonic_batch(recordings, settings, spec, rng)

    def perform(self, model, spec, settings, pieces, seconds, condition_ids, seed, sampling, progress=None):
        from models.harmonic import perform_harmonic

        return perform_harmonic(model, spec, settings, pieces, seconds, condition_ids, seed, progress)

    def card(self, spec, settings):
        reach = settings.frame_samples  # a frame's controls reach the next frame's ramp
        return {
            "model": spec.to_config(),
            "context_samples": reach,
            "context_ms": 1000.0 * reach / settings.sample_rate,
        }


PERFORMERS: dict[str, Performer] = {p.name: p for p in (HarmonicPerformer(), WaveNetPerformer())}


def get_performer(name: str) -> Performer:
    """The adapter of notes.performer.architecture `name`."""
    try:
        return PERFORMERS[name]
    except KeyError:
        raise SonataError(f"unknown performer {name!r}; sonata knows {sorted(PERFORMERS)}") from None


def training_settings(section: dict) -> dict:
    """A `notes.performer` section as its performer's training reads it: without the keys
    only the other performers read, so that changing those does not retrain it."""
    chosen = get_performer(section["architecture"])
    others = {key for p in PERFORMERS.values() if p is not chosen for key in p.own_keys}
    return {k: v for k, v in section.items() if k not in others}


def card_performer(card: ModelCard) -> Performer:
    """The adapter of a trained performer, from its model card."""
    for performer in PERFORMERS.values():
        if performer.card_name == card.architecture:
            return performer
    raise SonataError(
        f"model card architecture {card.architecture!r} is no performer sonata knows "
        f"({sorted(p.card_name for p in PERFORMERS.values())}); retrain it (delete results/notes/performer)"
    )


def load_performer(card_path: str, weights_path: str) -> tuple[keras.Model, Any, ModelCard, Performer]:
    """(model, spec, card, adapter) of a trained performer."""
    from sonata.records import ModelCard

    card = ModelCard.from_json(card_path)
    adapter = card_performer(card)
    spec = adapter.card_spec(card)
    model = adapter.build(spec, len(card.conditions))
    model.load_weights(weights_path)
    return model, spec, card, adapter
