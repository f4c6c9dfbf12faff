"""JAX's persistent compilation cache, pointed at jaxlin's own folder.

A compiled XLA program is stored on disk under a key of its computation, shapes, options
and the jax/jaxlib version, and read back by the next process that builds the same program:
the second ``jaxlin train`` or ``jaxlin check`` skips most of its compilation. The command
line and the scikit-learn bridge turn it on by default; library users call
``enable_compilation_cache``.

Where: ``$JAXLIN_CACHE_DIR`` if set (``off`` disables it), else ``$XDG_CACHE_HOME/jaxlin``,
else ``~/.cache/jaxlin``. A cache the user configured for JAX itself
(``jax_compilation_cache_dir`` or ``JAX_COMPILATION_CACHE_DIR``) is never overridden. A
folder that cannot be created or written means the run goes on uncached (one debug line in
the ``jaxlin`` logger). Entries are written by JAX under temporary names and renamed, so
concurrent processes can share the folder; deleting the folder clears it.
"""

from __future__ import annotations

import logging
import os
import tempfile

logger = logging.getLogger("jaxlin")

OFF = ("off", "0", "false", "no", "none", "")
MIN_COMPILE_SECONDS = 0.05  # single eager operations are not worth a file each


def default_path():
    """``$JAXLIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxlin``, else ``~/.cache/jaxlin``;
    ``None`` when ``JAXLIN_CACHE_DIR`` says ``off``."""
    env = os.environ.get("JAXLIN_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in OFF else env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxlin")


def enable_compilation_cache(path=None):
    """Turn on JAX's persistent compilation cache at ``path`` (default ``default_path``).

    Returns the folder in use, or ``None`` when the cache stays off (disabled, or the folder
    is unusable). Calling it again is harmless; a cache already configured for JAX wins.
    """
    import jax

    own = jax.config.jax_compilation_cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if own:
        return own
    path = default_path() if path is None else os.fspath(path)
    if path is None:
        return None
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".jaxlin-probe-"):
            pass
    except OSError as exc:
        logger.debug("compilation cache at %s is unusable (%s); running uncached", path, exc)
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return path
