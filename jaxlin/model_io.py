"""Saving and loading a ``TrainedModel`` as ``.npz``, without pickle.

Saving is atomic (``jaxlin.atomic``): a crash never leaves a half-written model, nor a
temporary file, behind; the file gets the usual permissions (``0644`` under umask ``022``).
"""

from __future__ import annotations

import json
import re
import zipfile
from typing import Any

import numpy as np

from jaxlin import validation
from jaxlin.atomic import atomic_path
from jaxlin.models import TrainedModel, as_trained_model, typed_labels

FORMAT = "jaxlin-model"
VERSION = 2  # 2: the CSV encoding (one-hot categories, fill values) is saved too
_KEYS = (
    "format",
    "version",
    "kind",
    "loss",
    "W",
    "b",
    "mean",
    "scale",
    "feature_names",
    "class_names",
)


def save(model, path) -> str:
    """Write ``model`` (a ``TrainedModel``, or the ``FitResult`` of one model from
    ``jaxlin.fit``: ``models.as_trained_model``) to ``path`` (``.npz``), atomically.
    Returns the path written."""
    model = as_trained_model(model)
    path = validation.as_path(path, "path")
    arrays: dict[str, Any] = dict(
        format=np.array(FORMAT),
        version=np.array(VERSION),
        kind=np.array(model.kind),
        loss=np.array(model.loss),
        W=np.asarray(model.W),
        b=np.asarray(model.b),
        mean=np.asarray(model.mean),
        scale=np.asarray(model.scale),
        feature_names=np.array(model.feature_names, dtype=str),
        class_names=np.array(model.class_names, dtype=str),
    )
    if model.encoding is not None:
        arrays["encoding"] = np.array(model.encoding)
    if model.classes is not None:  # the labels' own values (text, booleans, numbers)
        arrays["classes"] = typed_labels(model.classes)
    with atomic_path(path, "save") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load(path) -> TrainedModel:
    """Read a model written by ``save``; a clear ``ValueError`` for anything else."""
    path = validation.check_file(path, "model")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"model: {path} is not a jaxlin model file (not an .npz archive; truncated or foreign)"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise ValueError(f"model: {path} is not a jaxlin model (missing {missing})")
            d = {k: z[k] for k in _KEYS}
            encoding = str(z["encoding"]) if "encoding" in z.files else None
            classes = z["classes"] if "classes" in z.files else None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ValueError(
            f"model: {path} is not a readable jaxlin model file (truncated or foreign: {exc})"
        ) from None
    except ValueError as exc:
        if str(exc).startswith("model:"):
            raise
        raise ValueError(f"model: {path} is not a readable jaxlin model file ({exc})") from None
    _check_fields(d, path)
    if str(d["format"]) != FORMAT:
        raise ValueError(f"model: {path} is not a jaxlin model (format {str(d['format'])!r})")
    if int(d["version"]) > VERSION:
        raise ValueError(
            f"model: {path} has format version {int(d['version'])}; this jaxlin "
            f"reads up to {VERSION}"
        )
    if int(d["version"]) < 1:
        raise ValueError(
            f"model: {path} has format version {int(d['version'])} (versions start at 1)"
        )
    W, b = d["W"].astype(np.float64), d["b"].astype(np.float64)
    if (
        W.ndim != 2
        or b.shape != (W.shape[1],)
        or d["mean"].shape != (W.shape[0],)
        or d["scale"].shape != (W.shape[0],)
        or len(d["feature_names"]) != W.shape[0]
    ):
        raise ValueError(f"model: {path} has inconsistent shapes (W {W.shape}, b {b.shape})")
    _check_meaning(d, encoding, path)
    _check_classes(classes, len(d["class_names"]), path)
    return TrainedModel(
        str(d["kind"]),
        str(d["loss"]),
        W,
        b,
        d["mean"].astype(np.float64),
        d["scale"].astype(np.float64),
        d["feature_names"].tolist(),
        d["class_names"].tolist(),
        encoding,
        classes,
    )


def _check_classes(classes, n: int, path) -> None:
    """The optional labels (``classes``): one per class name, text, booleans or finite
    numbers, distinct."""
    if classes is None:
        return
    if (
        classes.shape != (n,)
        or classes.dtype.kind not in "Ubiuf"
        or (classes.dtype.kind == "f" and not np.all(np.isfinite(classes)))
        or len(np.unique(classes)) != n
    ):
        raise ValueError(
            f"model: {path} is not a valid jaxlin model (classes: expected {n} distinct "
            f"labels, one per class name, got {classes.tolist()!r})"
        )


def _check_fields(d: dict, path) -> None:
    """Each field of a model file has its type: text, an integer version, finite numbers,
    lists of names (a file edited or written by something else is named, not half-read)."""

    def invalid(key, what):
        return ValueError(f"model: {path} is not a valid jaxlin model ({key}: expected {what})")

    for key in ("format", "kind", "loss"):
        if d[key].ndim != 0 or d[key].dtype.kind != "U":
            raise invalid(key, "a text value")
    if d["version"].ndim != 0 or d["version"].dtype.kind not in "iu":
        raise invalid("version", "an integer")
    for key in ("W", "b", "mean", "scale"):
        if d[key].dtype.kind not in "biuf" or not np.all(np.isfinite(d[key])):
            raise invalid(key, "finite numbers")
    for key in ("feature_names", "class_names"):
        if d[key].ndim != 1 or d[key].dtype.kind not in "Ubiuf":
            raise invalid(key, "a list of names")


_IMPORT_NAME = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def _check_meaning(d: dict, encoding, path) -> None:
    """What the fields say agrees: a known loss (or ``MODULE:ATTR``, imported only when the
    model is used), a kind that is a model name or the loss, positive scales, distinct class
    names, one per output (two for one output), and an encoding that makes the model's
    features — a file edited by hand fails here, not at its first prediction."""
    from jaxlin.losses import LOSSES
    from jaxlin.models import MODELS

    def invalid(key, what):
        return ValueError(f"model: {path} is not a valid jaxlin model ({key}: {what})")

    loss, kind = str(d["loss"]), str(d["kind"])
    if loss not in LOSSES and not _IMPORT_NAME.fullmatch(loss):
        raise invalid("loss", f"unknown loss {loss!r}; known: {', '.join(sorted(LOSSES))}")
    if kind not in MODELS and kind != loss:
        raise invalid("kind", f"{kind!r} is neither a model ({', '.join(MODELS)}) nor the loss")
    if not np.all(d["scale"] > 0):
        raise invalid("scale", "the standardisation's scales must be positive")
    names = d["class_names"].astype(str).tolist()  # (a table may repeat a feature's name)
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise invalid("class_names", f"names given twice: {twice}")
    K, C = d["W"].shape[1], len(d["class_names"])
    if loss in LOSSES and LOSSES[loss].target != "real" and C != max(K, 2):
        raise invalid("class_names", f"{C} names for a model of {K} output(s)")
    if encoding is not None:
        _check_encoding(encoding, d["feature_names"].astype(str).tolist(), invalid)


def _check_encoding(encoding: str, features: list, invalid) -> None:
    """The saved CSV encoding parses and makes exactly the model's features."""
    from jaxlin.tables import Encoding

    try:
        enc = Encoding.from_json(encoding)
        made = enc.feature_names
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise invalid("encoding", f"not a CSV encoding ({type(exc).__name__}: {exc})") from None
    if made != features:
        raise invalid("encoding", f"makes {len(made)} features, not the model's {len(features)}")
    if enc.fill is not None and (
        len(enc.fill) != len(features) or not np.all(np.isfinite(np.asarray(enc.fill, float)))
    ):
        raise invalid("encoding", "the missing-cell fill must be one finite number a feature")
