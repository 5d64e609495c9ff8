"""The harmonic performer's spec: its synthesizer's partials and noise bands, its control
network's width, its training loss, and the key features the network reads (light: the
workflow reads it when it plans)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from models.notes.keyboard import KEYS

if TYPE_CHECKING:
    from models.notes.performers.settings import PerformerSettings

DECAY_FRAMES = (3.0, 15.0, 60.0, 200.0)  # time constants of the since-struck features (30 ms - 2 s)
RELEASE_FRAMES = 10.0  # a released key's trace decays over 100 ms ...
RELEASE_HORIZON = 60  # ... and the key falls silent 600 ms after its note ends
KEY_FEATURES = 3 + len(DECAY_FRAMES)  # held, struck, decays, release


@dataclass(frozen=True)
class HarmonicSpec:
    """The harmonic performer's network and synthesizer: the `notes.performer` keys it reads."""

    sample_rate: int
    frame_samples: int
    harmonics: int  # sines per key: the fundamental and its overtones (those under Nyquist)
    noise_bands: int  # log-spaced bands of filtered noise, 40 Hz to Nyquist
    units: int  # width of the per-key network
    fft_sizes: tuple[int, ...]  # resolutions of the spectral loss
    learning_rate: float
    learning_rate_schedule: str
    batch_size: int
    jit_compile: bool
    condition_on: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: dict, settings: PerformerSettings) -> HarmonicSpec:
        own = cfg["harmonic"]
        return cls(
            settings.sample_rate,
            settings.frame_samples,
            int(own["harmonics"]),
            int(own["noise_bands"]),
            int(own["units"]),
            tuple(int(s) for s in own["fft_sizes"]),
            float(cfg["learning_rate"]),
            str(cfg["learning_rate_schedule"]),
            int(cfg["batch_size"]),
            bool(cfg["jit_compile"]),
            tuple(cfg.get("condition_on") or ()),
        )

    def to_config(self) -> dict:
        return {**asdict(self), "fft_sizes": list(self.fft_sizes), "condition_on": list(self.condition_on)}

    @classmethod
    def from_card_model(cls, model: dict) -> HarmonicSpec:
        """The spec a card records (keys it no longer has, such as the roll's onset_frames, which
        the card's scheme holds, are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(
            **{k: v for k, v in model.items() if k in known}
            | {"fft_sizes": tuple(model["fft_sizes"]), "condition_on": tuple(model["condition_on"])}
        )

    @property
    def partials(self) -> int:
        return KEYS * self.harmonics
