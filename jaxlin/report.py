"""The evaluation report of a trained model: metrics on a data split, as data and as text."""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import metrics as M
from jaxlin import backend, decision, sparse, validation
from jaxlin.backend import put
from jaxlin.models import TrainedModel, as_trained_model
from jaxlin.objective import host_targets, objective
from jaxlin.linear import Params
from jaxlin.losses import get_loss
from jaxlin.penalties import Penalty


def evaluate(model, X, y, penalty: Penalty = Penalty()) -> dict:
    """All the metrics (``docs/metrics.md``) for ``model`` (a ``TrainedModel`` or the
    ``FitResult`` of one model) on raw features ``X`` and labels ``y`` (0..C−1, or the labels
    a ``FitResult`` was trained on, or text naming the model's classes).

    Binary tasks get TP/TN/FP/FN, precision, recall, F1, FPR and the ROC AUC for class 1;
    multi-class tasks get per-class precision/recall/F1 and macro/micro averages. Both get
    accuracy, the class-prior baseline, the confusion matrix, the objective
    (``mean L + R``) and the log loss where the model has probabilities.
    """
    return evaluate_splits(model, [(X, y)], penalty)[0]


def evaluate_splits(
    model: TrainedModel, splits, penalty: Penalty = Penalty(), *, metrics_on: str = "host"
) -> list:
    """``evaluate`` on each ``(X, y)`` of ``splits``.

    The objectives of all splits are one compiled program. ``metrics_on="host"`` (default)
    computes the metrics with NumPy from the model's host-side scores: nothing more to
    compile; ``"device"`` puts them in that same program (one compilation in all).
    """
    if metrics_on not in ("host", "device"):
        raise ValueError(f"metrics_on: must be 'host' or 'device', got {metrics_on!r}")
    labels = getattr(model, "classes", None)  # a FitResult trained on labels: y holds them
    model = as_trained_model(model)
    c = len(model.class_names)
    loss = get_loss(model.loss)
    arrays = [_split_arrays(model, loss, X, y, labels) for X, y in splits]
    params = Params(put(model.W, jnp.float32), put(model.b, jnp.float32))
    pen = Penalty(put(penalty.l1, jnp.float32), put(penalty.l2, jnp.float32))
    if metrics_on == "device":
        on_device = [
            {
                k: v if v is None or isinstance(v, sparse.SparseRows) else put(v, v.dtype)
                for k, v in a.items()
            }
            for a in arrays
        ]
        measured = jax.device_get(_metrics_program(params, on_device, pen, model.loss, c))
    else:
        nbytes = sum(a["X"].nbytes for a in arrays)  # one evaluation: compiled for that
        program = backend.jit_for(_objectives_program, nbytes, ("loss",), once=True)
        Js = jax.device_get(
            program(params, [(a["X"], a["T"]) for a in arrays], pen, loss=model.loss)
        )
        measured = [
            (J, M.summary(a["y"], a["pred"], c, a["score"], a["proba"])) for J, a in zip(Js, arrays)
        ]
    return [
        _as_report(J, m, a["y"].shape[0], model.class_names, a["proba"] is not None)
        for (J, m), a in zip(measured, arrays)
    ]


def _split_arrays(model: TrainedModel, loss, X, y, labels=None) -> dict:
    """The inputs of one split, on the host: standardised features, targets, labels and the
    model's predictions, probabilities and binary scores (float32/int32). ``labels``: the
    labels a ``FitResult`` was trained on, which ``y`` then holds."""
    c = len(model.class_names)
    Z = model.decision_function(X)  # once: predictions and probabilities come from it
    y = _class_indices(y, Z.shape[0], model.class_names, labels)
    proba = decision.predict_proba(model.loss, Z)
    # several output columns of a "real" or "binary" loss (least squares, one-vs-rest) take
    # one-hot targets; everything else takes the labels (host_targets does the rest)
    targets = np.eye(c)[y] if loss.target != "onehot" and model.W.shape[1] > 1 else y
    score = None
    if c == 2:
        score = Z[:, 0] if Z.shape[1] == 1 else Z[:, 1] - Z[:, 0]
    f32 = lambda a: None if a is None else np.asarray(a, np.float32)  # noqa: E731
    Xs = model.standardized(X)
    return {
        "X": sparse.to_device(Xs, np.float32) if sparse.is_sparse(Xs) else f32(Xs),
        "T": host_targets(targets, loss, c if loss.target == "onehot" else None),
        "y": y.astype(np.int32),
        "pred": decision.predict_labels(model.loss, Z).astype(np.int32),
        "score": f32(score),
        "proba": f32(proba),
    }


def _class_indices(y, n: int, class_names, labels=None) -> np.ndarray:
    """``y`` checked to be ``n`` class indices ``0..C−1`` (the model's classes, in order):
    a float label is whole, none is NaN, and the count matches the rows of ``X``. Labels
    are mapped to their indices: those of ``labels`` (what a ``FitResult`` was trained on
    and predicts) when every one of ``y`` is one of them, and text naming the model's
    ``class_names``."""
    y = validation.as_host_array(y, "y")
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y: expected {n} labels (N,), one per row of X, got shape {y.shape}")
    labels = None if labels is None else np.asarray(labels).tolist()
    if labels is not None and set(np.unique(y).tolist()) <= set(labels):
        return _positions(y, labels)
    if y.dtype.kind in "USO" and all(isinstance(v, str) for v in y.tolist()):
        return _positions(y, list(class_names) if labels is None else labels)
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"y: expected class indices 0..{len(class_names) - 1} (of {list(class_names)}), "
            f"got dtype {y.dtype}"
        )
    validation.check_finite_values(y, "y")
    bad = (y < 0) | (y >= len(class_names)) | (y != np.round(y))
    if np.any(bad):
        raise ValueError(
            f"y: label {y[bad][0].item()!r} is not a class index 0..{len(class_names) - 1} "
            f"(the model's classes {list(class_names)})"
        )
    return y.astype(np.int64)


def _positions(y, classes: list) -> np.ndarray:
    """Each label of ``y`` as its position in ``classes``; one not there is named."""
    index = {c: i for i, c in enumerate(classes)}
    values, inverse = np.unique(y, return_inverse=True)
    missing = [v for v in values.tolist() if v not in index]
    if missing:
        raise ValueError(f"y: label {missing[0]!r} is not one of the model's classes {classes}")
    return np.array([index[v] for v in values.tolist()], np.int64)[inverse.reshape(-1)]


def _objectives_program(params, data, penalty, loss):
    """``[objective on (X, T) for each split]``: one program (jitted by the caller)."""
    return [objective(params, X, T, loss, penalty) for X, T in data]


@partial(jax.jit, static_argnames=("loss", "n_classes"))
def _metrics_program(params, arrays, penalty, loss, n_classes):
    """``[(objective, metrics.summary), …]`` for every split: one program."""
    return [
        (
            objective(params, a["X"], a["T"], loss, penalty),
            M.summary(a["y"], a["pred"], n_classes, a["score"], a["proba"]),
        )
        for a in arrays
    ]


def _as_report(J, m, n, class_names, has_proba) -> dict:
    """One split's metrics as plain Python numbers and lists."""
    c = len(class_names)
    out = {
        "n": int(n),
        "objective": float(J),
        "accuracy": float(m["accuracy"]),
        "baseline": float(m["baseline"]),
        "confusion_matrix": np.asarray(m["confusion_matrix"]).tolist(),
    }
    if has_proba:
        out["log_loss"] = float(m["log_loss"])
    if c == 2:
        out.update({k: int(m[k]) for k in ("tp", "tn", "fp", "fn")})
        out.update({k: float(m[k]) for k in ("precision", "recall", "f1", "fpr", "roc_auc")})
        out["roc_curve"] = {
            "fpr": np.asarray(m["roc_fpr"]).tolist(),
            "tpr": np.asarray(m["roc_tpr"]).tolist(),
        }
    else:
        pc = m["per_class"]
        out["per_class"] = {
            str(name): {
                "precision": float(pc["precision"][i]),
                "recall": float(pc["recall"][i]),
                "f1": float(pc["f1"][i]),
                "support": int(pc["support"][i]),
            }
            for i, name in enumerate(class_names)
        }
        for avg in ("macro", "micro"):
            out[avg] = {k: float(v) for k, v in m[avg].items()}
    return out


def _nan_to_none(values):
    return [
        None if (v is None or (isinstance(v, float) and not math.isfinite(v))) else v
        for v in np.asarray(values, dtype=float).tolist()
    ]


def _summed_over_models(values):
    """One-vs-rest runs one model per class: their objectives add up (NaN once all stopped)."""
    values = np.asarray(values)
    if values.ndim == 1:
        return values
    total = np.nansum(values, axis=0)
    total[np.all(np.isnan(values), axis=0)] = np.nan
    return total


def training_summary(result) -> dict:
    """Epochs, stop reason and per-epoch history of a ``FitResult``,
    with the one-vs-rest models (a leading class axis) summed into one objective."""
    epochs, stop = np.asarray(result.epochs), result.stop_reason
    if np.ndim(epochs):
        stop = ", ".join(sorted(set(np.atleast_1d(stop).tolist())))
    n = int(epochs.max())
    hist = result.history
    lr = np.asarray(hist.learning_rate).reshape(-1, np.shape(hist.learning_rate)[-1])[0]
    return {
        "epochs": n,
        "stop_reason": str(stop),
        "history": {
            "objective": _nan_to_none(_summed_over_models(hist.objective)[:n]),
            "val_objective": _nan_to_none(_summed_over_models(hist.val_objective)[:n]),
            "learning_rate": _nan_to_none(lr[:n]),
        },
    }


def build(
    settings: dict,
    data: dict,
    model: TrainedModel,
    result,
    split,
    penalty: Penalty,
    penalty_text: str,
    seconds: float,
) -> dict:
    """The whole report of ``jaxlin train`` as data: settings, data, model, training, the
    metrics on the training and the test rows, and the history."""
    from jaxlin.losses import get_loss, is_builtin

    summary = training_summary(result)
    spec_description = data.pop("description", "")
    loss = get_loss(model.loss)
    if settings.get("loss") and is_builtin(loss):
        spec_description = f"the built-in loss {loss.name!r} (--loss)"
    elif settings.get("loss"):
        spec_description = f"your loss {loss.name!r} ({settings['loss']})"
    return {
        "settings": settings,
        "data": data,
        "model": {
            "kind": model.kind,
            "description": spec_description,
            "loss": loss.name,
            "formula": loss.formula,
            "penalty": penalty_text,
        },
        "training": {
            "epochs": summary["epochs"],
            "stop_reason": summary["stop_reason"],
            "seconds": seconds,
            **_placement(settings.get("devices")),
        },
        **dict(
            zip(
                ("train", "test"),
                evaluate_splits(
                    model, [(split.X_train, split.y_train), (split.X_test, split.y_test)], penalty
                ),
            )
        ),
        "history": summary["history"],
    }


def _placement(devices) -> dict:
    """Where training ran: the device count the rows were sharded over, and the platform."""
    import jax

    n = 1 if devices is None else (jax.local_device_count() if devices == "auto" else int(devices))
    dev = getattr(jax.config, "jax_default_device") or jax.devices()[0]
    dev = dev if hasattr(dev, "platform") else jax.devices(dev)[0]
    return {
        "devices": n,
        "platform": dev.platform,
        "device_kind": getattr(dev, "device_kind", str(dev)),
    }


def _f(x, digits=4):
    """A table cell: ``digits`` decimals, or three significant digits for a value of 10⁵ or
    more (a diverged objective's 4.41e+31 would overrun its column and the next)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.3g}" if abs(x) >= 1e5 else f"{x:.{digits}f}"


def confusion_text(cm, class_names) -> list:
    names = [str(n)[:10] for n in class_names]
    w = max(5, max(len(n) for n in names), max(len(str(v)) for row in cm for v in row))
    first = max(len("true \\ predicted"), max(len(n) for n in names))
    lines = ["  " + "true \\ predicted".ljust(first) + "  " + " ".join(n.rjust(w) for n in names)]
    for n, row in zip(names, cm):
        lines.append("  " + n.ljust(first) + "  " + " ".join(str(v).rjust(w) for v in row))
    return lines


def _why(training: dict) -> str:
    """The stop in words; a stop after one epoch says what that can mean."""
    from jaxlin.records import STOP_WORDS

    words = "; ".join(STOP_WORDS.get(r.strip(), "") for r in training["stop_reason"].split(","))
    text = f" ({words})" if words.strip("; ") else ""
    if training["epochs"] == 1 and training["stop_reason"] in ("objective_tol", "rounding"):
        text += (
            " — after a single epoch: the first step changed nothing, which a wrong δ "
            "can cause (jaxlin check --loss MODULE:ATTR checks one)"
        )
    return text


def _optimizer_text(settings: dict) -> str:
    """``"lbfgs — L-BFGS (zoom line search)"`` or ``"sgd — …, learning rate 0.1"``."""
    from jaxlin import solvers

    record = solvers.get(settings["optimizer"])
    rate = f", learning rate {settings['learning_rate']:g}" if record.learning_rate else ""
    return f"{record.name} — {record.summary}{rate}"


_REPORT_KEYS = ("settings", "data", "model", "training", "train", "test", "seconds_total")


def format_text(rep: dict) -> str:
    """The human-readable report printed by ``jaxlin train`` (``rep``: from ``build``)."""
    missing = [k for k in _REPORT_KEYS if k not in rep] if isinstance(rep, dict) else _REPORT_KEYS
    if missing:
        got = sorted(rep)[:6] if isinstance(rep, dict) else type(rep).__name__
        raise ValueError(
            f"rep: expected the report of jaxlin train (report.build); it lacks {missing} "
            f"(got {got}: evaluate's metrics are a dict to read, not a report)"
        )
    s, d, t = rep["settings"], rep["data"], rep["training"]
    tr, te = rep["train"], rep["test"]
    lines = [
        f"jaxlin train — {d['name']}",
        f"  data        {d['n_rows']} rows × {d['n_features']} features, {d['n_classes']} classes"
        f" ({', '.join(map(str, d['class_names'][:10]))}{'…' if d['n_classes'] > 10 else ''})",
        f"  split       {d['n_train']} train / {d['n_test']} test"
        + (f" / {d['n_validation']} validation" if d.get("n_validation") else "")
        + f" (shuffled, seed {s['seed']}; "
        + (
            (
                "sparse features scaled by the training statistics, not centred)"
                if s.get("sparse")
                else "features standardised with the training statistics)"
            )
            if s.get("standardize", True)
            else "features as given)"
        ),
        f"  model       {s['model']}: {rep['model']['description']}",
        f"  objective   mean {rep['model']['loss']}"
        + (f" [{rep['model']['formula']}]" if rep["model"]["formula"] else "")
        + (f" + {rep['model']['penalty']}" if rep["model"]["penalty"] else ""),
        f"  optimiser   {_optimizer_text(s)}"
        + (f", batch size {s['batch_size']}" if s.get("batch_size") else ", full batch")
        + (" (bold driver)" if s.get("adaptive_lr") else ""),
        f"  epochs      {t['epochs']} of at most {s['epochs']}; stopped: {t['stop_reason']}"
        + _why(t),
        "  devices     "
        + (
            f"rows sharded over {t['devices']} {t['platform']} devices"
            if t.get("devices", 1) > 1
            else f"one {t.get('platform', '')} device".replace("  ", " ")
        )
        + (f" ({t['device_kind']})" if t.get("device_kind") else ""),
        "",
        f"  {'':22}{'train':>10}{'test':>10}",
        f"  {'objective':22}{_f(tr['objective']):>10}{_f(te['objective']):>10}",
        f"  {'accuracy':22}{_f(tr['accuracy']):>10}{_f(te['accuracy']):>10}",
        f"  {'class-prior baseline':22}{_f(tr['baseline']):>10}{_f(te['baseline']):>10}",
    ]
    if "log_loss" in te:
        lines.append(f"  {'log loss':22}{_f(tr['log_loss']):>10}{_f(te['log_loss']):>10}")
    if "precision" in te:
        for key, name in (
            ("precision", "precision"),
            ("recall", "recall (TPR)"),
            ("f1", "F1"),
            ("fpr", "FPR"),
            ("roc_auc", "ROC AUC"),
        ):
            lines.append(f"  {name:22}{_f(tr[key]):>10}{_f(te[key]):>10}")
        lines.append(f"  {'TP TN FP FN (test)':22}  {te['tp']} {te['tn']} {te['fp']} {te['fn']}")
    else:
        for avg in ("macro", "micro"):
            for key in ("precision", "recall", "f1"):
                lines.append(f"  {avg + ' ' + key:22}{_f(tr[avg][key]):>10}{_f(te[avg][key]):>10}")
    lines += ["", "  confusion matrix (test):"] + confusion_text(
        te["confusion_matrix"], d["class_names"]
    )
    lines += [
        "",
        f"  time        {t['seconds']:.2f} s training (compilation included), "
        f"{rep['seconds_total']:.2f} s in all",
    ]
    for k, v in rep.get("outputs", {}).items():
        lines.append(f"  {k:11} {v}")
    return "\n".join(lines)
