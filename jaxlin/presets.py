"""The command line's presets: plain data, importable without JAX (``jaxlin --help``
builds its text from them before anything heavy is loaded).

The library's own defaults are those of :class:`jaxlin.options.Options`.
"""
from __future__ import annotations

# The command line's defaults per optimiser (the library's are the Options defaults):
# a learning rate, an epoch limit, a batch size and the stopping tolerances.
COMMAND_DEFAULTS = {
    "gd": dict(learning_rate=0.1, epochs=1000, batch_size=None),
    "sgd": dict(learning_rate=0.1, epochs=20, batch_size=32),
    "adam": dict(learning_rate=0.01, epochs=100, batch_size=32),
    "fista": dict(learning_rate=1.0, epochs=1000, batch_size=None, tol=1e-9, grad_tol=1e-6),
    "lbfgs": dict(learning_rate=1.0, epochs=1000, batch_size=None, tol=1e-9, grad_tol=1e-6),
    "newton": dict(learning_rate=1.0, epochs=100, batch_size=None, tol=1e-9, grad_tol=1e-6),
    "newton-cholesky": dict(learning_rate=1.0, epochs=100, batch_size=None, tol=1e-9,
                            grad_tol=1e-6),
    "perceptron": dict(learning_rate=1.0, epochs=100, batch_size=None),
    "momentum": dict(learning_rate=0.05, epochs=20, batch_size=32),
    "nesterov": dict(learning_rate=0.05, epochs=20, batch_size=32),
    "adagrad": dict(learning_rate=0.1, epochs=20, batch_size=32),
    "rmsprop": dict(learning_rate=0.001, epochs=20, batch_size=32),
}

# Streaming from disk (jaxlin.stream.fit_stream) trains by mini-batches, with these defaults.
STREAM_DEFAULTS = dict(optimizer="sgd", learning_rate=0.01, batch_size=256, epochs=1)
COMMAND_STREAM_DEFAULTS = dict(STREAM_DEFAULTS, epochs=5)  # jaxlin train --stream
