"""The registry of composers (the shape every registry shares: models.registry): every question
about how a composer learns and writes goes to its adapter, chosen by
`notes.composer.architecture` (and, for a trained one, by its model card).

* `beat_lstm` (models.notes.composers.beat_lstm): an LSTM language model over beat-grid note
  events, pitches relative to the previous note and anchored by register, key and the notes
  sounding now; the default (docs/composer-trials.md).
* `seq2seq` (models.notes.composers.seq2seq): the report's LSTM encoder-decoder on note
  tokens, the baseline composer.

A composer trains on a dataset's notes shards and gives a sampler that continues a primer's
tokens (`past`, `vocabulary`, `compose`); what every composer shares after that (choosing the
primer, the piece's instruments, tokens to notes) is models.notes.composing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from models.notes.composers.beat_lstm import BeatLSTMComposer
from models.notes.composers.seq2seq import Seq2SeqComposer
from models.registry import Adapter, Registry

if TYPE_CHECKING:
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.records import ModelCard


class Composer(Adapter, Protocol):
    def train(
        self,
        cfg: dict,
        frame_seconds: float,
        training: TrainingConfig,
        train_path: str,
        validation_path: str,
        seed: int,
        out: TrainingOutputs,
    ) -> ModelCard:
        """Train on a dataset's training notes shard, keep the epoch best on validation, and
        write the weights, card and history to `out`."""

    def heldout_bits(self, card: ModelCard, weights_path: str, frame_seconds: float, shard_path: str) -> dict:
        """{"bits", "notes", "bits_per_note"}: the negative log-likelihood (bits) it gives a
        notes shard's recordings, read as it composes, over their notes: comparable across
        composers whatever their tokens."""

    def step_example(self, cfg: dict, frame_seconds: float, rng: Any) -> tuple:
        """(compiled model, inputs, targets, tokens predicted): one training step at the size its
        training settings `cfg` say, on random notes, for the step benchmarks."""

    def sampler(self, card: ModelCard, weights_path: str, frame_seconds: float, sampling: dict) -> Any:
        """A sampler over trained weights, shaped by `sampling` (the registry's sampling_settings
        of the config's section): `past` (primer tokens it reads), `vocabulary`
        (a models.notes.tokens.NoteVocabulary) and `compose(primer, seconds, temperature,
        top_p, seed, progress=None, instruments=None)` -> tokens."""


COMPOSERS: Registry[Composer] = Registry(
    "composer", "notes.composer.architecture", (Seq2SeqComposer(), BeatLSTMComposer())
)


def heldout_bits(card_path: str, weights_path: str, frame_seconds: float, shard_path: str) -> dict:
    """A trained composer's bits per note on a notes shard (Composer.heldout_bits), by its card."""
    from sonata.records import ModelCard

    card = ModelCard.from_json(card_path)
    adapter = COMPOSERS.of_card(card.architecture, "retrain it (delete results/notes/<dataset>/composer)")
    return adapter.heldout_bits(card, weights_path, frame_seconds, shard_path)


def load_sampler(card_path: str, weights_path: str, frame_seconds: float, sampling: dict) -> Any:
    """The sampler of a trained composer, by its model card, shaped by `sampling` (the config's
    sampling keys: COMPOSERS.sampling_settings)."""
    from sonata.records import ModelCard

    card = ModelCard.from_json(card_path)
    adapter = COMPOSERS.of_card(card.architecture, "retrain it (delete results/notes/<dataset>/composer)")
    return adapter.sampler(card, weights_path, frame_seconds, sampling)
