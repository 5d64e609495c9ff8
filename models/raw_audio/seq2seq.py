"""The report's Seq2Seq LSTM on raw audio, the study's first baseline, as a registry adapter
(the network: models.nets.seq2seq)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from sonata import SonataError
from sonata.records import score
from sonata.windows import WindowScheme


@dataclass(frozen=True)
class Seq2SeqSpec:
    """LSTM width, the decoder's start token, and the named window scheme it trains on."""

    architecture: ClassVar[str] = "seq2seq"
    windows: str
    units: int
    start_token: float = 0.0
    learning_rate: float = 0.002
    batch_size: int = 128

    def to_config(self) -> dict:
        """The config section this spec stands for (what a model card records)."""
        return {"architecture": self.architecture, **asdict(self)}

    @classmethod
    def from_config(cls, cfg: dict) -> Seq2SeqSpec:
        return cls(
            windows=str(cfg["windows"]),
            units=int(cfg["units"]),
            start_token=float(cfg.get("start_token", 0.0)),
            learning_rate=float(cfg.get("learning_rate", 0.002)),
            batch_size=int(cfg.get("batch_size", 128)),
        )


class Seq2Seq:
    name = card_name = Seq2SeqSpec.architecture
    own_keys: tuple[str, ...] = ()
    sampling_keys: tuple[str, ...] = ()  # least squares: nothing to sample
    retrain_keys: tuple[str, ...] = ()

    def spec(self, cfg: dict) -> Seq2SeqSpec:
        return Seq2SeqSpec.from_config(cfg)

    def example_config(self) -> dict:
        return {
            "architecture": self.name,
            "windows": "a",
            "units": 8,
            "start_token": 0.0,
            "learning_rate": 0.01,
            "batch_size": 8,
        }

    def scheme(self, model: str, spec: Seq2SeqSpec, named: dict[str, WindowScheme]) -> WindowScheme:
        if spec.windows not in named:
            raise SonataError(
                f"model {model!r} trains on windows {spec.windows!r}, which is not defined; "
                f"windows defines {sorted(named)}"
            )
        return named[spec.windows]

    def trim_below(self, spec: Seq2SeqSpec) -> None:
        return None

    def context_samples(self, spec: Seq2SeqSpec, scheme: WindowScheme) -> int:
        return scheme.input_length

    def build(self, spec: Seq2SeqSpec, scheme: WindowScheme, n_conditions: int):
        import keras

        from models.nets.seq2seq import build_seq2seq

        model = build_seq2seq(scheme.input_length, scheme.target_length, spec.units)
        model.compile(optimizer=keras.optimizers.Adam(spec.learning_rate), loss="mse")
        return model, model

    def pairs(self, spec: Seq2SeqSpec, header, windows: np.ndarray, conditions: np.ndarray | None):
        from models.nets.seq2seq import teacher_forcing_pairs

        return teacher_forcing_pairs(windows, header, spec.start_token)

    def evaluate(self, model, card, windows: np.ndarray, header, conditions) -> list[dict]:
        from models.nets.seq2seq import Seq2SeqGenerator, teacher_forcing_pairs

        spec = self.spec(card.model)
        (x, decoder_in), y = teacher_forcing_pairs(windows, header, spec.start_token)
        y = y[..., 0]
        forced = model.predict([x, decoder_in], batch_size=256, verbose=0)[..., 0]
        free = Seq2SeqGenerator(model, spec.start_token, 1).predict_block(x[..., 0])
        last = x[:, -1, 0:1]
        return [
            score("mse", "model (teacher forcing)", float(np.mean((forced - y) ** 2))),
            score("mse", "model (free running)", float(np.mean((free - y) ** 2))),
            score("mse", "predict zero", float(np.mean(y**2))),
            score("mse", "repeat last sample", float(np.mean((y - last) ** 2))),
        ]

    def generate(self, model, card, primes, n_samples, temperature, seed, condition_ids, progress):
        """Deterministic: the report's least-squares decoder has nothing to sample."""
        from models.nets.seq2seq import Seq2SeqGenerator

        scheme = card.scheme
        new = scheme["target_offset"] + scheme["target_length"] - scheme["input_length"]
        generator = Seq2SeqGenerator(model, self.spec(card.model).start_token, new)
        return generator.generate(primes, n_samples, progress)
