"""The registry of performers (the shape every registry shares: models.registry): every question
about how a performer learns and plays goes to its adapter, chosen by
`notes.performer.architecture` (and, for a trained one, by its model card), so that training,
performing and the benchmarks never ask a performer's name.

* `harmonic` (models.notes.performers.harmonic): a learned harmonic-plus-noise synthesizer,
  trained on a spectral loss. The default: it plays every note it is given, in minutes of training.
* `wavenet` (models.notes.performers.wavenet): a WaveNet conditioned on the piano roll, sampled
  one mu-law code at a time (presets/wavenet_performer.yaml holds its measured settings).

What every performer shares (how notes and audio meet, the level channel) is
models.notes.performers.settings; the training loop they share is models.notes.performers.training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from models.notes.performers.harmonic import HarmonicPerformer
from models.notes.performers.wavenet import WaveNetPerformer
from models.registry import Adapter, Registry

if TYPE_CHECKING:
    import keras

    from models.notes.performers.settings import PerformerSettings
    from sonata.records import ModelCard


class Performer(Adapter, Protocol):
    preset: str | None  # the preset holding its measured settings (None: config.yaml's defaults)

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


PERFORMERS: Registry[Performer] = Registry(
    "performer", "notes.performer.architecture", (HarmonicPerformer(), WaveNetPerformer())
)


def get_performer(name: str) -> Performer:
    """The adapter of notes.performer.architecture `name`."""
    return PERFORMERS.named(name)


def card_performer(card: ModelCard) -> Performer:
    """The adapter of a trained performer, from its model card."""
    return PERFORMERS.of_card(card.architecture, "retrain it (delete results/notes/performer)")


def load_performer(card_path: str, weights_path: str) -> tuple[keras.Model, Any, ModelCard, Performer]:
    """(model, spec, card, adapter) of a trained performer."""
    from sonata.records import ModelCard

    card = ModelCard.from_json(card_path)
    adapter = card_performer(card)
    spec = adapter.card_spec(card)
    model = adapter.build(spec, len(card.conditions))
    model.load_weights(weights_path)
    return model, spec, card, adapter
