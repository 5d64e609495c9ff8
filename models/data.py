"""tf.data pipelines fed from HDF5 shards by chunk-aligned block reads."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from sonata.shards import read_blocks, read_header


def window_dataset(
    path: str, seed: int, shuffle_buffer: int, labels: np.ndarray | None = None, train: bool = True
) -> tf.data.Dataset:
    """(int16 window, condition id) pairs. Training: endless, chunk order and windows reshuffled
    every pass. Otherwise one pass in a fixed random chunk order, so every epoch validates on the
    same windows. Architectures turn batches of these into their inputs and targets."""
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
