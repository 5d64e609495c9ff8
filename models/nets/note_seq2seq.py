"""The report's Seq2Seq LSTM encoder-decoder on note tokens (the seq2seq composer's network).

An encoder LSTM reads the past `past` tokens; a decoder LSTM, started from its state, predicts
the next `future` tokens, trained with teacher forcing and cross-entropy (Adam). Sampling runs
the same weights in a compiled loop: the encoder over the last `past` tokens, then `future`
decoder steps fed their own draws, again and again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras
import numba
import numpy as np
from keras import layers

from models.nets.lstm import lstm_step, lstm_weights
from models.nets.sampling import choose, instrument_mask
from models.notes.tokens import NoteVocabulary

# which token kind may follow which (rows: previous kind; start, shift, note, duration, program):
# a note is always followed by its duration, a duration never follows anything else
GRAMMAR = np.array(
    [
        [0, 1, 1, 0, 1],
        [0, 1, 1, 0, 1],
        [0, 0, 0, 1, 0],
        [0, 1, 1, 1, 1],
        [0, 0, 1, 0, 0],
    ],
    dtype=np.bool_,
)


def build_composer(vocab_size: int, units: int, embedding: int, past: int, future: int) -> keras.Model:
    """Logits (batch, future, vocab) for (past tokens, decoder input tokens)."""
    past_tokens = keras.Input((past,), dtype="int32", name="past")
    decoder_tokens = keras.Input((future,), dtype="int32", name="decoder_input")
    embed = layers.Embedding(vocab_size, embedding, name="token_embedding")
    _, h, c = layers.LSTM(units, return_state=True, name="encoder_lstm")(embed(past_tokens))
    sequence = layers.LSTM(units, return_sequences=True, name="decoder_lstm")(
        embed(decoder_tokens), initial_state=[h, c]
    )
    logits = layers.Dense(vocab_size, name="logits", dtype="float32")(sequence)
    return keras.Model([past_tokens, decoder_tokens], logits, name="composer")


def compiled_composer(vocab_size: int, cfg: dict) -> keras.Model:
    """The composer of a `notes.composer` config, compiled for teacher-forced training (Adam,
    cross-entropy over the next token)."""
    model = build_composer(
        vocab_size, int(cfg["units"]), int(cfg["embedding"]), int(cfg["past"]), int(cfg["future"])
    )
    model.compile(
        optimizer=keras.optimizers.Adam(float(cfg["learning_rate"])),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def teacher_forcing(windows: np.ndarray, past: int, start_token: int) -> tuple[tuple, np.ndarray]:
    """((past, decoder input), target) from token windows (batch, past + future)."""
    x = windows[:, :past]
    y = windows[:, past:]
    decoder = np.concatenate([np.full((len(y), 1), start_token, y.dtype), y[:, :-1]], axis=1)
    return (x, decoder), y


@numba.njit(cache=True)
def _compose(
    tokens,
    n_new,
    emb,
    enc,
    dec,
    out_w,
    out_b,
    kinds,
    grammar,
    permitted,
    start,
    past,
    future,
    temperature,
    top_p,
    uniforms,
):
    """Continue each row of tokens (batch, >= past) by n_new tokens, block after block, drawing
    only tokens the grammar allows after the previous one and `permitted` (vocab,) allows."""
    batch = tokens.shape[0]
    units = enc[1].shape[0]
    out = np.empty((batch, n_new), dtype=np.int32)
    logits = np.empty(out_w.shape[1], dtype=np.float32)
    allowed = np.empty(out_w.shape[1], dtype=np.bool_)
    z = np.empty(4 * units, dtype=np.float32)
    for b in range(batch):
        history = np.concatenate((tokens[b, -past:], np.zeros(n_new, dtype=np.int32)))
        made = 0
        while made < n_new:
            h = np.zeros(units, dtype=np.float32)
            c = np.zeros(units, dtype=np.float32)
            for t in range(made, made + past):
                lstm_step(emb[history[t]], h, c, enc[0], enc[1], enc[2], z)
            previous = history[made + past - 1]
            token = start
            for _ in range(future):
                if made >= n_new:
                    break
                lstm_step(emb[token], h, c, dec[0], dec[1], dec[2], z)
                for k in range(logits.shape[0]):
                    acc = out_b[k]
                    for u in range(units):
                        acc += h[u] * out_w[u, k]
                    logits[k] = acc
                    allowed[k] = grammar[kinds[previous], kinds[k]] and permitted[k]
                token = choose(logits, allowed, temperature, top_p, uniforms[b, made])
                out[b, made] = token
                history[made + past] = token
                previous = token
                made += 1
    return out


class ComposerSampler:
    """Autoregressive note tokens from a trained composer, seeded and reproducible."""

    def __init__(self, model: keras.Model, vocabulary: NoteVocabulary):
        self.embedding = np.asarray(model.get_layer("token_embedding").get_weights()[0], dtype=np.float32)
        self.encoder = lstm_weights(model, "encoder_lstm")
        self.decoder = lstm_weights(model, "decoder_lstm")
        out_w, out_b = model.get_layer("logits").get_weights()
        self.out_w = np.asarray(out_w, dtype=np.float32)
        self.out_b = np.asarray(out_b, dtype=np.float32)
        self.past = int(model.inputs[0].shape[1])
        self.future = int(model.inputs[1].shape[1])
        self.vocabulary = vocabulary
        self.kinds = vocabulary.kinds().astype(np.int64)

    def permitted(self, instruments: Iterable[int] | None = None) -> np.ndarray:
        """Which tokens may be drawn: all, or with `instruments` (1-based GM programs) only the
        instrument changes to those."""
        return instrument_mask(self.vocabulary.size, self.vocabulary.program0, instruments)

    def sample(
        self,
        primer: np.ndarray,
        n_new: int,
        temperature: float,
        top_p: float,
        uniforms: np.ndarray,
        instruments: Iterable[int] | None = None,
    ) -> np.ndarray:
        """n_new tokens (batch, n_new) after each primer row (batch, >= past); with
        `instruments`, no instrument but those."""
        return _compose(
            np.ascontiguousarray(primer, dtype=np.int32),
            int(n_new),
            self.embedding,
            self.encoder,
            self.decoder,
            self.out_w,
            self.out_b,
            self.kinds,
            GRAMMAR,
            self.permitted(instruments),
            self.vocabulary.start,
            self.past,
            self.future,
            float(temperature),
            float(top_p),
            np.ascontiguousarray(uniforms, dtype=np.float64),
        )

    def compose(
        self,
        primer: np.ndarray,
        seconds: float,
        temperature: float,
        top_p: float,
        seed: int,
        progress: Callable[[int], None] | None = None,
        instruments: Iterable[int] | None = None,
    ) -> np.ndarray:
        """Tokens after one primer (>= past tokens) until they span `seconds`; with
        `instruments` (1-based GM programs), played by those alone."""
        rng = np.random.default_rng(seed)
        instruments = None if instruments is None else tuple(instruments)  # read once, for every block
        tokens = np.asarray(primer, dtype=np.int32)[None, -self.past :]
        made: list[np.ndarray] = []
        block = 8 * self.future
        while not made or self.vocabulary.seconds(np.concatenate(made)) < seconds:
            new = self.sample(tokens, block, temperature, top_p, rng.random((1, block)), instruments)
            made.append(new[0])
            tokens = np.concatenate([tokens, new], axis=1)[:, -self.past :]
            if progress is not None:
                progress(block)
        return np.concatenate(made)


def composer_batch(
    sequences: list[np.ndarray],
    vocabulary: NoteVocabulary,
    past: int,
    future: int,
    transpose: int,
    batch: int,
    rng: np.random.Generator,
):
    """Random windows of past + future tokens, each moved by a random transposition, as
    teacher-forcing pairs; a sequence is drawn in proportion to the windows it holds."""
    length = past + future
    room = np.array([max(0, len(s) - length + 1) for s in sequences], dtype=float)
    picks = rng.choice(len(sequences), batch, p=room / room.sum())
    windows = np.empty((batch, length), dtype=np.int32)
    for i, k in enumerate(picks):
        start = int(rng.integers(0, room[k]))
        shift = int(rng.integers(-transpose, transpose + 1))
        windows[i] = vocabulary.transpose(sequences[k][start : start + length], shift)
    return teacher_forcing(windows, past, vocabulary.start)


def load_composer(card, weights_path: str) -> keras.Model:
    cfg = card.model
    model = build_composer(
        card.scheme["vocabulary"], cfg["units"], cfg["embedding"], cfg["past"], cfg["future"]
    )
    model.load_weights(weights_path)
    return model
