"""Modules imported on first use.

The solver registry (``jaxlin.solvers``) is read by ``jaxlin --help`` to list the solvers
and their defaults, which must not cost the half second of importing JAX and optax. A solver
module therefore names JAX through ``module``: the record beside its code is plain data,
and the import happens the first time the code runs (at trace time, once). The data readers
(``jaxlin.datasets``, ``jaxlin.data``, the checks in ``jaxlin.validation`` and the host side
of ``jaxlin.sparse``) do the same: loading or converting data never imports JAX (about a
second of a command's start).
"""

from __future__ import annotations

import importlib
import sys


class _Module:
    """Stands for the module ``name``; any attribute read imports it (once) and reads there."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self):
        return f"<module {self._name!r}, imported on first use>"


def module(name: str) -> _Module:
    """``import name``, deferred until an attribute of it is first read.

    >>> math = module("math")
    >>> math.sqrt(4.0)
    2.0
    """
    return _Module(name)


def is_jax_array(x) -> bool:
    """Whether ``x`` is a ``jax.Array``, without importing JAX: before JAX is imported no JAX
    array exists.

    >>> is_jax_array([1.0])
    False
    """
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.Array)
