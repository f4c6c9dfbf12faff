"""Checkpoints of a training run, and the stop request of an interrupt.

A checkpoint is one ``.npz`` file, written atomically (``jaxlin.atomic``: temporary file,
fsync, rename) with no pickle: the driver's whole loop state — parameters, the optimiser's
state, the PRNG key (as its raw key data), the epoch, the history — as numbered arrays, and a
JSON record of where the run stands and of its *fingerprint*: a digest of the data and every
setting that shapes the run. A checkpoint is loaded only into a run with the same
fingerprint, so resuming continues exactly the interrupted run and gives its final
parameters bit for bit.

The command line turns Ctrl-C into a *stop request* (``stop_requested``): chunked loops
finish the current chunk, write their checkpoint if one was asked for, and raise
``Interrupted``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import zipfile
from typing import Any, NamedTuple

import numpy as np

from jaxlin import validation
from jaxlin._lazy import is_jax_array, module
from jaxlin.atomic import atomic_path, check_target

jax = module("jax")

__all__ = [
    "Checkpointing",
    "save",
    "load",
    "fingerprint",
    "digest",
    "Interrupted",
    "stop_requested",
    "catch_interrupts",
]

_FORMAT = "jaxlin-checkpoint-1"


class Interrupted(KeyboardInterrupt):
    """A run stopped by a stop request after a chunk; ``checkpoint`` is where its state was
    written (``None`` when no checkpoint was asked for), ``epoch`` the epochs done."""

    def __init__(self, checkpoint, epoch):
        super().__init__(f"interrupted after epoch {epoch}")
        self.checkpoint, self.epoch = checkpoint, epoch


_STOP = {"requested": False, "chunked": 0}


def stop_requested() -> bool:
    """Whether Ctrl-C asked the running chunked loop to stop after its current chunk."""
    return bool(_STOP["requested"])


class chunked_loop:
    """Marks a loop that honours stop requests between its chunks (see
    ``catch_interrupts``)."""

    def __enter__(self):
        _STOP["chunked"] += 1

    def __exit__(self, *exc):
        _STOP["chunked"] -= 1
        return False


class catch_interrupts:
    """Within this context, SIGINT during a ``chunked_loop`` requests a stop after the
    current chunk instead of raising ``KeyboardInterrupt``; elsewhere, and at a second
    SIGINT, it raises ``KeyboardInterrupt`` as usual. Only in the main thread."""

    def __enter__(self):
        _STOP["requested"] = False
        self._previous = signal.signal(signal.SIGINT, self.handle)
        return self

    def handle(self, signum, frame):
        """The SIGINT handler: a stop request inside a chunked loop, else an interrupt."""
        if _STOP["requested"] or not _STOP["chunked"]:
            raise KeyboardInterrupt
        _STOP["requested"] = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)
        _STOP["requested"] = False
        return False


def digest(*arrays) -> str:
    """SHA-256 of arrays' shapes, types and bytes (``None`` entries count as absent)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(jax.device_get(a))
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def fingerprint(**parts) -> dict:
    """The record a checkpoint must match: each part as text (arrays by ``digest``)."""
    out = {}
    for name, value in parts.items():
        if isinstance(value, np.ndarray) or is_jax_array(value):
            value = digest(value)
        out[name] = value if isinstance(value, str) else repr(value)
    return out


def _is_key(leaf) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def save(path, state, position: dict, fp: dict) -> str:
    """Write ``state`` (a pytree of arrays) with its ``position`` (JSON-able: epoch, chunk,
    partial sums) and fingerprint ``fp`` to ``path`` atomically; returns the path."""
    leaves = jax.tree.leaves(state)
    arrays: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for i, leaf in enumerate(leaves):
        if _is_key(leaf):
            keys[str(i)] = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        arrays[f"leaf_{i}"] = np.asarray(jax.device_get(leaf))
    record = {
        "format": _FORMAT,
        "n_leaves": len(leaves),
        "keys": keys,
        "position": position,
        "fingerprint": fp,
    }
    arrays["record"] = np.array(json.dumps(record))
    with atomic_path(path, "checkpoint") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return os.fspath(path)


def load(path, template, fp: dict):
    """Read a checkpoint into the structure of ``template`` (a pytree, e.g. from
    ``jax.eval_shape``); returns ``(state, position)``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the checkpoint
    when it is not one, or when it was written for other data or settings (the parts that
    differ are listed).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint: no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            record = json.loads(str(z["record"]))
            arrays = {k: z[k] for k in z.files if k != "record"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"checkpoint: {path} is not a jaxlin checkpoint ({exc})") from None
    if record.get("format") != _FORMAT:
        raise ValueError(f"checkpoint: {path} is not a jaxlin checkpoint")
    theirs = record["fingerprint"]
    differ = sorted(k for k in set(fp) | set(theirs) if fp.get(k) != theirs.get(k))
    if len(differ) > 1 and "structure" in differ:  # (follows from the named ones)
        differ.remove("structure")
    if differ:
        more = (
            "; a finished run is not extended by more epochs: start a new one from its "
            "parameters (init=result)"
            if "epochs" in differ
            else ""
        )
        raise ValueError(
            f"checkpoint: {path} was written for other data or settings "
            f"(they differ in: {', '.join(differ)}); remove it or start "
            f"without resuming{more}"
        )
    shapes, treedef = jax.tree.flatten(template)
    if len(shapes) != record["n_leaves"]:
        raise ValueError(f"checkpoint: {path} does not match this run's state")
    leaves = []
    for i, shape in enumerate(shapes):
        a = arrays[f"leaf_{i}"]
        if str(i) in record["keys"]:
            leaves.append(jax.random.wrap_key_data(a, impl=record["keys"][str(i)]))
        else:
            if a.shape != shape.shape or a.dtype != shape.dtype:
                raise ValueError(f"checkpoint: {path} does not match this run's state")
            leaves.append(jax.device_put(a))
    return jax.tree.unflatten(treedef, leaves), record["position"]


class Checkpointing(NamedTuple):
    """Where and how often a chunked run writes its checkpoint (``jaxlin.checkpoint``).

    ``every``: chunks between writes (the last chunk and an interrupt always write);
    ``resume``: start from the file when it exists; ``fingerprint``: what it must match.
    """

    path: str
    every: int = 1
    resume: bool = False
    fingerprint: Any = None

    @classmethod
    def of(cls, path, every=1, resume=False) -> "Checkpointing | None":
        """The record from ``fit``'s arguments, checked (``None`` without a path)."""
        if path is None:
            if resume:
                raise ValueError("resume: needs a checkpoint path")
            if every != 1:  # (its default) a schedule with nowhere to write is a mistake
                raise ValueError("checkpoint_every: needs a checkpoint path")
            return None
        try:
            path = check_target(path, "checkpoint")
        except OSError as e:  # refused with the options, before any training
            raise ValueError(str(e)) from None
        validation.check_positive(every, "checkpoint_every", integer=True)
        return cls(path, int(every), bool(resume))

    def for_run(self, problem, hyper, settings, model_axes) -> "Checkpointing":
        """With the fingerprint of this run: its data, numbers and static settings."""
        o = problem.objective
        data = [
            a
            for part in (problem.X, problem.T, problem.X_val, problem.T_val, o.sample_weight)
            for a in (jax.tree.leaves(part) if part is not None else [None])
        ]
        # each number under its own name, so a refusal names the one changed
        numbers = {
            "seed" if name == "key" else name: _numbers(value)
            for name, value in zip(hyper._fields, hyper)
        }
        parts = by_field(numbers, settings, penalty=_numbers(o.penalty))
        return self._replace(
            fingerprint=fingerprint(
                data=digest(*data),
                structure=str(jax.tree.structure((problem, hyper))),
                models=repr(model_axes),
                **parts,
            )
        )


def by_field(*records, **more) -> dict:
    """Records (``NamedTuple`` s or dicts) as one ``{field: text}`` for a fingerprint, each
    field under its own name so that a refusal names the one changed; a name two records
    carry (a setting and its value) is one entry. An optimiser given as an object is
    recorded by its type."""
    parts: dict = {}
    for record in (*records, more):
        items = record.items() if isinstance(record, dict) else record._asdict().items()
        for name, value in items:
            if name == "optimizer" and not isinstance(value, str):
                value = type(value).__name__
            text = value if isinstance(value, str) else _text(value)
            parts[name] = f"{parts[name]}|{text}" if name in parts else text
    return parts


def _text(value) -> str:
    """A value as text: arrays (a warm start's ``Params``) by their digest, since a long
    array's ``repr`` elides its middle."""
    leaves = jax.tree.leaves(value)
    if any(isinstance(a, np.ndarray) or is_jax_array(a) for a in leaves):
        return _numbers(value)
    return repr(value)


def _numbers(tree) -> str:
    """The digest of a pytree of numbers (a PRNG key by its data)."""
    return digest(
        *[
            jax.random.key_data(a) if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key) else a
            for a in jax.tree.leaves(tree)
        ]
    )
