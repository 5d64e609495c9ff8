"""tf.data pipelines fed from HDF5 shards by chunk-aligned block reads."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from sonata.mulaw import mulaw_compand, mulaw_encode
from sonata.shards import ShardHeader, read_blocks, read_header


def window_dataset(
    path: str, seed: int, shuffle_buffer: int, labels: np.ndarray | None = None, train: bool = True
) -> tf.data.Dataset:
    """Training: endless, chunk order and windows reshuffled every pass. Otherwise one pass in
    a fixed random chunk order, so every epoch validates on the same windows."""
    length = read_header(path).window_length

    def blocks():
        epoch = 0
        while True:
            yield from read_blocks(path, seed + epoch, labels)
            if not train:
                return
            epoch += 1

    ds = tf.data.Dataset.from_generator(
        blocks,
        output_signature=(tf.TensorSpec((None, length), tf.int16), tf.TensorSpec((None,), tf.int32)),
    ).unbatch()
    if train:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    return ds


def seq2seq_pairs(windows: np.ndarray, info: ShardHeader, start_token: float):
    """((encoder input, decoder input), target) as float arrays, teacher forcing."""
    from models.seq2seq import teacher_forcing_inputs

    audio = info.audio(windows)
    x = audio[:, : info.input_length]
    y = audio[:, info.target_offset : info.target_offset + info.target_length]
    return (x[..., None], teacher_forcing_inputs(y, start_token)[..., None]), y[..., None]


def wavenet_pairs(windows: np.ndarray, info: ShardHeader, channels: int):
    """Companded inputs w[0:L-1] and mu-law code targets for the last chunk samples."""
    audio = info.audio(windows)
    x = mulaw_compand(audio[:, : info.input_length], channels)
    y = mulaw_encode(audio[:, info.target_offset :], channels).astype(np.int32)
    return x[..., None], y


def training_dataset(
    path: str,
    architecture: str,
    model_cfg: dict,
    batch_size: int,
    seed: int,
    shuffle_buffer: int,
    labels: np.ndarray | None = None,
    train: bool = True,
) -> tf.data.Dataset:
    """(inputs, targets) batches ready for model.fit or evaluate."""
    info = read_header(path)
    ds = window_dataset(path, seed, shuffle_buffer, labels, train).batch(batch_size, drop_remainder=train)
    conditioned = labels is not None

    if architecture == "seq2seq":
        start = float(model_cfg["start_token"])

        def convert(w, c):
            (x, d), y = seq2seq_pairs(w.numpy(), info, start)
            return x, d, y

        def to_pairs(w, c):
            x, d, y = tf.py_function(convert, [w, c], [tf.float32] * 3)
            x.set_shape([None, info.input_length, 1])
            d.set_shape([None, info.target_length, 1])
            y.set_shape([None, info.target_length, 1])
            return (x, d), y
    else:
        q = int(model_cfg["quantization_channels"])

        def convert(w, c):
            x, y = wavenet_pairs(w.numpy(), info, q)
            return x, y

        def to_pairs(w, c):
            x, y = tf.py_function(convert, [w, c], [tf.float32, tf.int32])
            x.set_shape([None, info.input_length, 1])
            y.set_shape([None, info.target_length])
            if conditioned:
                return (x, tf.reshape(c, [-1, 1])), y
            return x, y

    # prefetch keeps a GPU fed while the next batch is read; it never reorders batches
    return ds.map(to_pairs, num_parallel_calls=1).prefetch(tf.data.AUTOTUNE)
