"""One registry shape for every learnable part: the raw-audio architectures (models.raw_audio),
the composers (models.notes.composers) and the performers (models.notes.performers).

An adapter is one module's class. It owns its spec (from its config section), its model card,
its training, loading and generation, and it says which keys of its section shape only
generation (`sampling_keys`: handed to it when it generates, never retraining it; a key of a
subsection of its own is named with a dot, as in "beat_lstm.reprise") and which keys
of a section it shares with the other adapters of its kind are its alone (`own_keys`: another
adapter's training never reads them). Code outside a registry asks the registry, never an
adapter's name; a new adapter is a module and one line in its registry's list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, Protocol, TypeVar

from sonata import SonataError


class Adapter(Protocol):
    name: str  # what a config section's `architecture` says
    card_name: str  # what its model cards' `architecture` says
    own_keys: tuple[str, ...]  # keys of a shared section that only this adapter reads
    sampling_keys: tuple[str, ...]  # keys its generation reads ("sub.key" inside a subsection)
    retrain_keys: tuple[str, ...]  # of the sampling keys, those its training reads too


A = TypeVar("A", bound=Adapter)


class Registry(Mapping[str, A], Generic[A]):
    """The adapters of one kind of learnable part, by config name (a read-only mapping) and by
    model card."""

    def __init__(self, kind: str, where: str, adapters: Iterable[A]):
        self.kind = kind  # e.g. "performer"
        self.where = where  # the config key naming one, e.g. "notes.performer.architecture"
        self.adapters: dict[str, A] = {a.name: a for a in adapters}

    def __getitem__(self, name: str) -> A:
        return self.adapters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.adapters)

    def __len__(self) -> int:
        return len(self.adapters)

    def names(self) -> list[str]:
        return sorted(self.adapters)

    def named(self, name: str) -> A:
        """The adapter a config names; an unknown name is refused with the names known."""
        try:
            return self.adapters[name]
        except KeyError:
            raise SonataError(
                f"unknown {self.kind} {name!r} at {self.where}; sonata knows {self.names()}"
            ) from None

    def of_card(self, architecture: str, retrain: str) -> A:
        """The adapter of a trained model, from its card's `architecture`; `retrain` says how
        to replace a card no adapter speaks for."""
        for adapter in self.adapters.values():
            if adapter.card_name == architecture:
                return adapter
        raise SonataError(
            f"model card architecture {architecture!r} is no {self.kind} sonata knows "
            f"({sorted(a.card_name for a in self.adapters.values())}); {retrain}"
        )

    def training_settings(self, section: dict) -> dict:
        """A config section as its adapter's training reads it: without the keys that shape only
        generation and without the other adapters' own keys, so that changing those retrains
        nothing."""
        chosen = self.named(section["architecture"])
        others = {k for a in self.adapters.values() if a is not chosen for k in a.own_keys}
        skipped = (set(chosen.sampling_keys) - set(chosen.retrain_keys)) | others
        return _without(section, skipped)

    def training_schedule(self, section: dict) -> dict:
        """The epochs, steps per epoch and validation steps its adapter trains for: from the
        section's top level, or from the subsection its adapter names as `schedule_section` (a
        part whose settings are a section of their own)."""
        chosen = self.named(section["architecture"])
        where = getattr(chosen, "schedule_section", None)
        source = section[where] if where else section
        return {k: source[k] for k in ("epochs", "steps_per_epoch", "validation_steps") if k in source}

    def sampling_settings(self, section: dict) -> dict:
        """The keys of a config section that its adapter's generation reads (its sampling), by
        their own names (a subsection's key without its subsection's name)."""
        chosen = self.named(section["architecture"])
        found = {}
        for path in chosen.sampling_keys:
            *parents, key = path.split(".")
            inner = section
            for parent in parents:
                inner = inner.get(parent, {})
            if key in inner:
                found[key] = inner[key]
        return found


def _without(section: dict, paths: set[str]) -> dict:
    """A copy of a section without the keys at `paths` ("key", or "sub.key" inside a subsection)."""
    kept = {}
    for key, value in section.items():
        if key in paths:
            continue
        inner = {p.split(".", 1)[1] for p in paths if p.startswith(key + ".")}
        kept[key] = _without(value, inner) if inner and isinstance(value, dict) else value
    return kept
