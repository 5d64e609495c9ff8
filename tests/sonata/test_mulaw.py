import numpy as np

from sonata.mulaw import mulaw_compand, mulaw_decode, mulaw_encode


def test_codes_cover_range_and_roundtrip_is_close():
    x = np.linspace(-1, 1, 10001)
    codes = mulaw_encode(x)
    assert codes.min() == 0 and codes.max() == 255
    assert np.all(np.diff(codes) >= 0)
    back = mulaw_decode(codes)
    # mu-law quantisation error grows with amplitude; quiet samples are kept finely
    quiet = np.abs(x) < 0.01
    assert np.max(np.abs(back[quiet] - x[quiet])) < 3e-4
    assert np.max(np.abs(back - x)) < 0.04


def test_compand_is_the_code_scaled_to_unit_range():
    x = np.array([-1.0, -0.1, 0.0, 0.1, 1.0])
    np.testing.assert_allclose(mulaw_compand(x), 2 * mulaw_encode(x) / 255 - 1, atol=1e-7)
