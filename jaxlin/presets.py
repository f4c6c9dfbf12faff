"""The command line's presets, importable without JAX (``jaxlin --help`` builds its text from
them before anything heavy is loaded).

The library's own defaults are those of ``jaxlin.options.Options``; each solver's
command-line defaults are in its record (``jaxlin.solvers``).
"""

from __future__ import annotations

from jaxlin import solvers
from jaxlin.solvers.gradient import SGD

# The command line's defaults per optimiser (the library's are the Options defaults):
# a learning rate, an epoch limit, a batch size and the stopping tolerances.
COMMAND_DEFAULTS = {name: solvers.defaults(solvers.get(name)) for name in solvers.names()}

# Streaming from disk (jaxlin.stream.fit_stream) trains by mini-batches, with these defaults.
STREAM_DEFAULTS = dict(optimizer=SGD.name, learning_rate=0.01, batch_size=256, epochs=1)
COMMAND_STREAM_DEFAULTS = dict(STREAM_DEFAULTS, epochs=5)  # jaxlin train --stream
