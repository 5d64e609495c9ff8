"""WaveNet on mu-law audio, as a registry adapter (the network and its sampler: models/wavenet.py)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from sonata.mulaw import mulaw_decode
from sonata.records import score
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
    pitch_guide: bool = False  # the notes' sines at the audio rate, a second input (sonata.notes.pitch_guide)
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


class WaveNet:
    name = WaveNetSpec.architecture

    def spec(self, cfg: dict) -> WaveNetSpec:
        return WaveNetSpec.from_config(cfg)

    def example_config(self) -> dict:
        return {
            "architecture": self.name,
            "layers_per_stack": 3,
            "stacks": 1,
            "kernel_size": 2,
            "residual_channels": 4,
            "skip_channels": 8,
            "quantization_channels": 32,
            "chunk": 16,
            "condition_on": ["composer"],
            "trim_silence": False,
            "silence_threshold": 0.001,
            "learning_rate": 0.01,
            "batch_size": 4,
        }

    def scheme(self, model: str, spec: WaveNetSpec, named: dict[str, WindowScheme]) -> WindowScheme:
        return spec.window_scheme(model)

    def trim_below(self, spec: WaveNetSpec) -> float | None:
        return spec.silence_threshold if spec.trim_silence else None

    def context_samples(self, spec: WaveNetSpec, scheme: WindowScheme) -> int:
        return spec.receptive_field

    def build(self, spec: WaveNetSpec, scheme: WindowScheme, n_conditions: int):
        from models.wavenet import build_wavenet, wavenet_trainer

        model = build_wavenet(spec, n_conditions)
        return model, wavenet_trainer(model, spec)

    def pairs(self, spec: WaveNetSpec, header, windows: np.ndarray, conditions: np.ndarray | None):
        from models.wavenet import mulaw_pairs

        x, y = mulaw_pairs(windows, header, spec.quantization_channels, bool(spec.input_embedding))
        return (x if conditions is None else (x, conditions.reshape(-1, 1))), y

    def evaluate(
        self, model, card, windows: np.ndarray, header, conditions, batch_windows: int = 64
    ) -> list[dict]:
        """Bits per sample against uniform and oracle-histogram coders; MSE of the mean. Scored
        batch_windows at a time: the logits of every window at once (2,048 x 1,536 x 256 floats,
        3 GB, and as much again for the probabilities) outgrew the rule's memory."""
        import keras

        from models.wavenet import mulaw_pairs

        spec = self.spec(card.model)
        q = spec.quantization_channels
        rf = spec.receptive_field
        levels = mulaw_decode(np.arange(q), q)
        target = header.audio(windows[:, header.target_offset :])
        last = header.audio(windows[:, header.target_offset - 1 : -1])
        nll_nats, squared_error, counts = 0.0, 0.0, np.zeros(q)
        for first in range(0, len(windows), batch_windows):
            part = windows[first : first + batch_windows]
            x, codes = mulaw_pairs(part, header, q, bool(spec.input_embedding))
            ids = None if conditions is None else conditions[first : first + batch_windows].reshape(-1, 1)
            logits = model.predict_on_batch([x] if ids is None else [x, ids])[:, rf - 1 :, :]
            log_probs = np.asarray(keras.ops.log_softmax(logits, axis=-1), dtype=np.float64)
            nll_nats -= float(np.take_along_axis(log_probs, codes[..., None], axis=-1).sum())
            expected = np.exp(log_probs) @ levels
            squared_error += float(((expected - target[first : first + batch_windows]) ** 2).sum())
            counts += np.bincount(codes.ravel(), minlength=q)
        samples = counts.sum()
        marginal_bits = float(-(counts @ np.log2((counts + 1.0) / (counts + 1.0).sum())) / samples)
        return [
            score("nll_bits_per_sample", "model", nll_nats / samples / math.log(2)),
            score("nll_bits_per_sample", "uniform", math.log2(q)),
            score("nll_bits_per_sample", "marginal (oracle histogram)", marginal_bits),
            score("mse", "model (expected value)", squared_error / samples),
            score("mse", "predict zero", float(np.mean(target**2))),
            score("mse", "repeat last sample", float(np.mean((target - last) ** 2))),
        ]

    def generate(self, model, card, primes, n_samples, temperature, seed, condition_ids, progress):
        """Incremental sampling, one second at a time so that progress can be shown."""
        from models.wavenet import IncrementalWaveNet, WaveNetWeights, input_values

        spec = self.spec(card.model)
        q = spec.quantization_channels
        sampler = IncrementalWaveNet(WaveNetWeights(model, spec), len(primes), seed, condition_ids)
        sampler.feed(input_values(primes, q, bool(spec.input_embedding)))
        block = max(1, int(card.sample_rate))
        codes = []
        for done in range(0, n_samples, block):
            step = min(block, n_samples - done)
            codes.append(sampler.sample(step, temperature))
            progress(step)
        return mulaw_decode(np.concatenate(codes, axis=1), q)
