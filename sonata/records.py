"""What the workflow writes about its models and pieces, as dataclasses with a JSON form.

`model.json` is a model card (what was trained, on what, how it went); `generation.json` a
generation record (which pieces were made from which primers, how fast). Readers get named
fields instead of dict lookups, and a file from an older run fails with the missing field's name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from sonata import SonataError

Record = TypeVar("Record", bound="JsonRecord")


class JsonRecord:
    """to_json / from_json for a dataclass of JSON-friendly fields."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls: type[Record], values: dict[str, Any]) -> Record:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def from_json(cls: type[Record], path: str | Path) -> Record:
        values = json.loads(Path(path).read_text())
        try:
            return cls.from_dict(values)
        except TypeError as error:
            raise SonataError(
                f"{path} is not a {cls.__name__} of this version ({error}); "
                "delete it and rerun snakemake to rebuild it"
            ) from None


@dataclass(frozen=True)
class ModelCard(JsonRecord):
    """A trained model: its architecture and config, the windows it saw, how training went."""

    architecture: str
    model: dict[str, Any]  # the model's config section, as validated
    scheme: dict[str, Any]  # its windows (input_length, target_offset, ...; a performer's frames and level)
    sample_rate: int
    conditions: list[str]  # global-conditioning vocabulary (empty: unconditioned)
    parameters: int
    context_samples: int  # past samples one prediction sees (WaveNet: its receptive field)
    context_ms: float
    epochs_run: int
    best_val_loss: float | None
    train_seconds_last_session: float
    device: str
    resumed: bool


# The notes route's pieces, as the report and metrics name them
COMPOSED = "composer + performer"
HELD_OUT = "performer (held-out notes)"
REAL_PASSAGE = "real (held-out passage)"
SYNTHESIZED = "synthesizer (composed notes)"  # the composed notes as written, through FluidSynth
UNSAMPLED = (REAL_PASSAGE, SYNTHESIZED)  # heard beside the performer's pieces; no model drew them


@dataclass(frozen=True)
class GeneratedPiece(JsonRecord):
    """One piece and the real held-out audio it was primed with."""

    file: str
    seconds: float
    prime_id: int
    prime_start_sample: int
    prime_samples: int
    composer: str
    ensemble: str
    role: str = ""  # notes route: which kind of piece (composed, held-out notes performed, real)
    notes: str = ""  # notes route: the label CSV of the notes the piece plays
    passage: int = 0  # notes route: which held-out passage or composed piece of its length (1, 2, ...)

    @classmethod
    def composed(cls, info: dict[str, Any], file: str, rate: int, role: str) -> GeneratedPiece:
        """A sound of a composed piece (performed or synthesized) from its entry in
        composition.json: where the held-out notes that primed the composer lie, in samples at
        `rate` (0, as before, for a composition written before they were recorded)."""
        return cls(
            file,
            float(info["seconds"]),
            int(info["prime_id"]),
            int(info.get("prime_start", 0.0) * rate),
            int(info.get("prime_length", 0.0) * rate),
            info["composer"],
            info["ensemble"],
            role,
            info["labels"],
            int(info.get("number", 0)),  # which piece of its length (0: a composition of one each)
        )


def piece_label(model: str, seconds: float, passage: float = 0) -> str:
    """How plots and tables name a piece: model and length, and which passage or piece of it."""
    label = f"{model} {seconds:g}s"
    return f"{label} #{int(passage)}" if passage == passage and passage else label  # NaN: none


@dataclass(frozen=True)
class GenerationRecord(JsonRecord):
    """Every piece one model made in one job, and the speed it made them at."""

    architecture: str
    temperature: float | None  # None: its generator samples nothing (the harmonic performer)
    batch: int
    wall_seconds: float
    samples_per_second: float
    real_time_factor: float
    pieces: list[GeneratedPiece] = field(default_factory=list)
    probability_floor: float | None = 0.0  # see IncrementalWaveNet.sample
    guidance: float | None = 0.0  # see IncrementalWaveNet: the notes' pull on every draw

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationRecord:
        pieces = [GeneratedPiece.from_dict(p) for p in values.get("pieces", [])]
        names = {f.name for f in fields(cls)} - {"pieces"}
        return cls(**{k: v for k, v in values.items() if k in names}, pieces=pieces)


def score(metric: str, predictor: str, value: float) -> dict[str, Any]:
    """One row of a model's evaluation table (evaluation.csv)."""
    return {"metric": metric, "predictor": predictor, "value": float(value)}
