"""WaveNet: causal dilated convolutions, gated units, residual and skip paths, mu-law softmax.

`spec` owns the geometry and the receptive field (light: the workflow reads it when it plans),
`network` builds and compiles the Keras model, `sampler` generates from trained weights one
sample at a time with each layer's past in a ring buffer (numba).
"""
