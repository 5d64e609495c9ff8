"""The WaveNet's geometry (its receptive field included) and how it trains."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from sonata.windows import WindowScheme


@dataclass(frozen=True)
class WaveNetSpec:
    """The network's geometry (its receptive field included) and how it trains."""

    architecture: ClassVar[str] = "wavenet"
    layers_per_stack: int
    stacks: int
    kernel_size: int
    residual_channels: int
    skip_channels: int
    quantization_channels: int
    chunk: int
    condition_on: tuple[str, ...] = ()
    trim_silence: bool = False
    silence_threshold: float = 0.001
    learning_rate: float = 0.002
    batch_size: int = 8
    input_embedding: int = 0  # >0: mu-law codes in through an embedding this wide, not a scalar
    local_channels: int = 0  # >0: per-frame note features (a performer's piano roll)
    frame_samples: int = 0  # samples per frame of those features
    conditioning_channels: int = 64  # width of the network that turns frames into gate biases
    pitch_guide: bool = (
        False  # the notes' sines at the audio rate, a second input (models.notes.rolls.pitch_guide)
    )
    jit_compile: bool = False  # True: XLA; False: Keras' choice (XLA on a GPU only). On for the performer
    learning_rate_schedule: str = "constant"  # "cosine": decay to zero over the training's steps

    def to_config(self) -> dict:
        """The config section this spec stands for (what a model card records)."""
        return {"architecture": self.architecture, **asdict(self), "condition_on": list(self.condition_on)}

    @classmethod
    def from_config(cls, cfg: dict) -> WaveNetSpec:
        ints = (
            "layers_per_stack",
            "stacks",
            "kernel_size",
            "residual_channels",
            "skip_channels",
            "quantization_channels",
            "chunk",
        )
        optional = {
            k: cfg[k]
            for k in (
                "trim_silence",
                "silence_threshold",
                "learning_rate",
                "batch_size",
                "input_embedding",
                "local_channels",
                "frame_samples",
                "conditioning_channels",
                "pitch_guide",
                "jit_compile",
                "learning_rate_schedule",
            )
            if k in cfg
        }
        return cls(
            **{k: int(cfg[k]) for k in ints},
            condition_on=tuple(cfg.get("condition_on") or ()),
            **optional,
        )

    @property
    def guide_channels(self) -> int:
        """Channels of the pitch-guide input (held keys' sines, struck keys' sines), 0 without."""
        return 2 if self.pitch_guide else 0

    @property
    def dilations(self) -> list[int]:
        """1, 2, 4, ... 2**(layers_per_stack-1), repeated for every stack."""
        return [2**i for i in range(self.layers_per_stack)] * self.stacks

    @property
    def receptive_field(self) -> int:
        """Samples one output sees: the causal input conv plus every dilated layer."""
        return (self.kernel_size - 1) * (1 + sum(self.dilations)) + 1

    def window_scheme(self, name: str) -> WindowScheme:
        """A receptive field of context plus `chunk` predicted samples per window."""
        rf = self.receptive_field
        return WindowScheme(name, rf + self.chunk - 1, rf, self.chunk, self.chunk)
