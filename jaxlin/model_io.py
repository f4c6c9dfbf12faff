"""Saving and loading a ``TrainedModel`` as ``.npz``, without pickle.

Saving is atomic (``jaxlin.atomic``): a crash never leaves a half-written model, nor a
temporary file, behind; the file gets the usual permissions (``0644`` under umask ``022``).
"""

from __future__ import annotations

import zipfile
from typing import Any

import numpy as np

from jaxlin import validation
from jaxlin.atomic import atomic_path
from jaxlin.models import TrainedModel, as_trained_model

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
    W, b = d["W"].astype(np.float64), d["b"].astype(np.float64)
    if (
        W.ndim != 2
        or b.shape != (W.shape[1],)
        or d["mean"].shape != (W.shape[0],)
        or d["scale"].shape != (W.shape[0],)
        or len(d["feature_names"]) != W.shape[0]
    ):
        raise ValueError(f"model: {path} has inconsistent shapes (W {W.shape}, b {b.shape})")
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
