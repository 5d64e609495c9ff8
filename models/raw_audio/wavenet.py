"""WaveNet on mu-law audio, the study's second baseline, as a registry adapter (the network,
its spec and its sampler: models.nets.wavenet)."""

from __future__ import annotations

import math

import numpy as np

from models.nets.wavenet.spec import WaveNetSpec
from sonata.mulaw import mulaw_decode
from sonata.records import score
from sonata.windows import WindowScheme


class WaveNet:
    name = card_name = WaveNetSpec.architecture
    own_keys: tuple[str, ...] = ()  # every key of models.<name> is its own
    sampling_keys: tuple[str, ...] = ()  # it samples at generation.temperature
    retrain_keys: tuple[str, ...] = ()

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
        from models.nets.wavenet.network import build_wavenet, wavenet_trainer

        model = build_wavenet(spec, n_conditions)
        return model, wavenet_trainer(model, spec)

    def pairs(self, spec: WaveNetSpec, header, windows: np.ndarray, conditions: np.ndarray | None):
        from models.nets.wavenet.network import mulaw_pairs

        x, y = mulaw_pairs(windows, header, spec.quantization_channels, bool(spec.input_embedding))
        return (x if conditions is None else (x, conditions.reshape(-1, 1))), y

    def evaluate(
        self, model, card, windows: np.ndarray, header, conditions, batch_windows: int = 64
    ) -> list[dict]:
        """Bits per sample against uniform and oracle-histogram coders; MSE of the mean. Scored
        batch_windows at a time: the logits of every window at once (2,048 x 1,536 x 256 floats,
        3 GB, and as much again for the probabilities) outgrew the rule's memory."""
        import keras

        from models.nets.wavenet.network import mulaw_pairs

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
        from models.nets.wavenet.network import input_values
        from models.nets.wavenet.sampler import IncrementalWaveNet, WaveNetWeights

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
