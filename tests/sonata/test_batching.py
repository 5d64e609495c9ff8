"""by_length's seed offsets, and length_offset that replays them (performer_steps judges the
held-out passages under the offset perform_notes gave them)."""

import numpy as np

from sonata.batching import by_length, length_offset


def test_each_length_batch_gets_the_offset_length_offset_names() -> None:
    lengths = [120.0, 5.0, 10.0, 5.0]
    seen: dict[float, tuple[list[int], int]] = {}

    def make(rows: list[int], length: float, offset: int) -> list[np.ndarray]:
        seen[length] = (rows, offset)
        return [np.full(int(length), offset, np.float32) for _ in rows]

    pieces = by_length(lengths, make)
    assert seen == {5.0: ([1, 3], 0), 10.0: ([2], 1), 120.0: ([0], 2)}
    assert [len(p) for p in pieces] == [120, 5, 10, 5]
    for length, (_, offset) in seen.items():
        assert length_offset(lengths, length) == offset
    # a length not yet among them ranks where by_length would put it
    assert length_offset([5.0, 120.0], 10.0) == 1
