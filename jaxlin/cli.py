"""The ``jaxlin`` command.

Subcommands:
  check      every hand-derived derivation against autodiff and finite differences
  train      train and evaluate a model (default: logistic regression on KidCreative)
  predict    apply a saved model to new data
  convert    write a CSV as a binary .npy without loading it whole
  datasets   list the bundled datasets

Every user mistake ends in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from functools import partial

import numpy as np

from jaxlin import solvers
from jaxlin.models import MODELS
from jaxlin.presets import COMMAND_DEFAULTS, COMMAND_STREAM_DEFAULTS

OPTIMIZER_CHOICES = solvers.names()


class UserError(ValueError):
    """A mistake in the user's input: reported as one line on stderr, exit code 2."""

    def __init__(self, message, prog=None):
        super().__init__(message)
        self.prog = prog


def _devices(text):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _number(kind, test, wanted):
    """An argparse type: ``kind(text)`` that passes ``test``, else '<wanted>, got <text>'."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if not (math.isfinite(value) and test(value)):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    return parse


def class_weight_arg(text: str):
    """``--class-weight``: ``balanced``, or ``LABEL=WEIGHT`` pairs separated by commas (the
    labels as the file writes them; a class left out weighs 1) as a dict of text keys."""
    if text == "balanced":
        return text
    out = {}
    for pair in text.split(","):
        label, eq, weight = pair.rpartition("=")
        if not eq or not label.strip():
            raise argparse.ArgumentTypeError(
                f"expected 'balanced' or LABEL=WEIGHT pairs (e.g. buy=5,no=1), got {text!r}"
            )
        out[label.strip()] = NON_NEGATIVE(weight)
    return out


POSITIVE = _number(float, lambda v: v > 0, "a positive number")
NON_NEGATIVE = _number(float, lambda v: v >= 0, "a non-negative number")
POSITIVE_INT = _number(int, lambda v: v > 0, "a positive integer")
FRACTION = _number(float, lambda v: 0 < v < 1, "between 0 and 1")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + error
        if message.startswith("argument "):  # a bad value: name the flag and what was wrong
            raise UserError(message[len("argument ") :], prog=self.prog)
        raise UserError(f"{message} (see '{self.prog} --help')", prog=self.prog)


# ---------------------------------------------------------------------------- check


def _cmd_check(args) -> int:
    from jaxlin import derivations

    if args.loss:
        return _check_user_loss(args)
    report = derivations.run(seed=args.seed)
    if args.json:
        print(json.dumps(derivations.to_json(report), indent=2, ensure_ascii=False))
    else:
        print(derivations.format_report(report))
    return 0 if report.ok else 1


def _given_loss(spec):
    """The ``Loss`` that ``--loss`` names: a user's ``MODULE:ATTR`` or a built-in's name."""
    from jaxlin.losses import get_loss

    try:
        return get_loss(spec)
    except ValueError as e:
        raise UserError("--loss: " + str(e).removeprefix("loss: ")) from None


def _check_user_loss(args) -> int:
    """``jaxlin check --loss MODULE:ATTR``: ``jaxlin.verify`` on a user's loss (or one
    built-in loss, by name)."""
    from jaxlin.verification import verify

    report = verify(_given_loss(args.loss), n_outputs=args.n_outputs, seed=args.seed)
    print(report.json() if args.json else str(report))
    return 0 if report.passed else 1


# ---------------------------------------------------------------------------- train


class _ProgressBar:
    """A progress callback ``(done, total)`` for a terminal, with ``close()``: tqdm if
    installed, else a plain bar on stderr."""

    def __init__(self, total_hint: int):
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total_hint, unit="epoch", file=sys.stderr, leave=False)
        except ImportError:
            self.bar = None

    def __call__(self, done, total):
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
            return
        filled = int(30 * done / max(total, 1))
        sys.stderr.write(
            f"\r  training [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} epochs"
        )
        sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\r" + " " * 60 + "\r")


def _l1_ratio(args) -> float:
    """The elastic net's α (``--l1-ratio``, default 0.5); given without ``--elastic-net``
    it would change nothing, so it is refused."""
    if args.l1_ratio is not None and args.elastic_net is None:
        raise UserError("--l1-ratio: applies with --elastic-net (the share of its L1 term)")
    return 0.5 if args.l1_ratio is None else args.l1_ratio


def _has_l1(args) -> bool:
    """Whether the penalty asked for has an L1 term."""
    return bool(args.l1) or bool(args.elastic_net) and _l1_ratio(args) > 0


def _penalty(args, n_train, spec, optimizer, default_l2=None):
    """``(l1, l2, description)``: the user's penalty, or scikit-learn's default C = 1."""
    from jaxlin.penalties import elastic_net

    given = [a for a in (args.l1, args.l2, args.elastic_net) if a is not None]
    if len(given) > 1:
        raise UserError("--l1, --l2 and --elastic-net: give at most one")
    ratio = _l1_ratio(args)
    if args.l1 is not None:
        return args.l1, 0.0, f"{args.l1:g} Σ|w|"
    if args.l2 is not None:
        return 0.0, args.l2, f"{args.l2:g} Σw²" if args.l2 else ""
    if args.elastic_net is not None:
        p = elastic_net(args.elastic_net, ratio)
        return p.l1, p.l2, f"{args.elastic_net:g} [{ratio:g} Σ|w| + {1 - ratio:g} Σw²]"
    if not spec.penalised or not solvers.get(optimizer).penalty:
        return 0.0, 0.0, ""
    if default_l2 is not None:
        return 0.0, default_l2, f"{default_l2:g} Σw² (this dataset's default)"
    lam = 1.0 / (2.0 * n_train)
    return 0.0, lam, f"{lam:.3g} Σw² (scikit-learn's C = 1: 1/(2N))"


# the command line's name of each option, for errors raised by Options.check
_FLAGS = {
    "learning_rate": "--lr",
    "batch_size": "--batch-size",
    "adaptive_lr": "--adaptive-lr",
    "grad_tol": "--tol",
    "l1": "--l1",
    "l2": "--l2",
    "tol": "--tol",
    "epochs": "--epochs",
    "optimizer": "--optimizer",
    "patience": "--patience",
    "init": "--init",
    "average": "--average",
    "fit_intercept": "--no-intercept",
    "class_weight": "--class-weight",
    "checkpoint_every": "--checkpoint-every",
    "model": "--model",
    "train_fraction": "--train-fraction",
    "validation_fraction": "--validation-fraction",
    "classes": "--classes",
}


def _flag_named(message: str) -> str:
    """An error message of the library with the option it names as its flag."""
    name, colon, rest = message.partition(":")
    return f"{_FLAGS[name]}:{rest}" if colon and name in _FLAGS else message


def _optimizer(args, spec, n_classes, loss):
    """``(optimizer, option defaults)``: the user's or the model's solver, switched to the
    model's multi-class settings when that solver cannot train the multi-class loss."""
    from jaxlin.losses import get_loss

    optimizer = args.optimizer or spec.optimizer
    default = solvers.get(optimizer) if args.optimizer is None else None
    if default is not None and default.penalty and not default.l1 and _has_l1(args):
        optimizer = solvers.default_for("l1").name  # the model's solver takes no L1 term
    if optimizer not in OPTIMIZER_CHOICES:
        raise UserError(
            f"--optimizer: unknown optimizer {optimizer!r}; choose one of "
            f"{', '.join(OPTIMIZER_CHOICES)}"
        )
    record, overrides = solvers.get(optimizer), {}
    if get_loss(loss).target not in record.targets:
        if not (n_classes > 2 and spec.multiclass_options):
            raise UserError(
                f"--optimizer: {optimizer} trains {' or '.join(record.targets)} "
                f"losses only, not the {args.model!r} model's"
            )
        overrides = dict(spec.multiclass_options)  # e.g. the multi-class perceptron by SGD
        optimizer = overrides.pop("optimizer")
        record = solvers.get(optimizer)
    if args.lr is not None and not record.learning_rate:
        raise UserError(
            f"--lr: the {optimizer!r} optimiser takes no learning rate (it sets its own "
            f"steps); use --optimizer {', '.join(solvers.names(bold_driver=True))}, adam, … "
            "for a step size of your choice"
        )
    if args.batch_size is not None and not record.mini_batches:
        raise UserError(
            f"--batch-size: the {optimizer!r} optimiser uses the full batch; use "
            f"--optimizer {', '.join(solvers.names(mini_batches=True))} for "
            "mini-batches"
        )
    return optimizer, {**COMMAND_DEFAULTS[optimizer], **overrides}


def _train_options(args, spec, loss, n_classes, n_train, default_l2):
    """The validated ``Options`` of ``jaxlin train`` and the penalty's
    description: the user's flags over the per-optimiser defaults."""
    from jaxlin.losses import get_loss
    from jaxlin.options import Options

    optimizer, defaults = _optimizer(args, spec, n_classes, loss)
    l1, l2, pen_text = _penalty(args, n_train, spec, optimizer, default_l2)
    given = {
        "learning_rate": args.lr,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "tol": args.tol,
    }
    opts = Options(
        optimizer=optimizer,
        l1=l1,
        l2=l2,
        adaptive_lr=args.adaptive_lr,
        patience=args.patience,
        init=args.init,
        average=args.average or False,
        fit_intercept=not args.no_intercept,
        **{**defaults, **{k: v for k, v in given.items() if v is not None}},
    )
    try:
        has_validation = args.validation_fraction > 0
        return opts.check(n_train, get_loss(loss), has_validation=has_validation), pen_text
    except ValueError as exc:
        raise UserError(_flag_named(str(exc))) from None


def _fit(args, split, loss, opts, spec, names):
    """Train on the split's standardised training rows (``names``: the classes' labels as
    text, which ``--class-weight`` pairs name); returns the result and its seconds."""
    import jax

    from jaxlin.class_weights import row_weights
    from jaxlin.losses import get_loss
    from jaxlin.records import DivergedWarning
    from jaxlin.training import fit

    st, n_classes = split.standardizer, len(names)
    real = get_loss(loss).target == "real" and n_classes > 2  # least squares on one-hot rows
    y_fit = np.eye(n_classes)[split.y_train] if real else split.y_train
    validation = None
    if split.X_val is not None:
        validation = (
            st.transform(split.X_val),
            np.eye(n_classes)[split.y_val] if real else split.y_val,
        )
    progress = None
    if sys.stderr.isatty() and opts.epochs >= 20 and not args.quiet:
        progress = _ProgressBar(opts.epochs)
    one_vs_rest = spec.one_vs_rest and n_classes > 2
    weights = row_weights(
        args.class_weight, split.y_train, n_classes, names, one_vs_rest=one_vs_rest
    )
    t = time.perf_counter()
    try:
        with warnings.catch_warnings():  # the report says "stopped: diverged" and why
            warnings.simplefilter("ignore", DivergedWarning)
            res = fit(
                st.transform(split.X_train),
                y_fit,
                loss,
                sample_weight=weights,
                validation_data=validation,
                n_classes=None if get_loss(loss).target == "real" else n_classes,
                seed=args.seed,
                progress=progress,
                devices=args.devices,
                **_checkpointing(args),
                **opts._replace(one_vs_rest=one_vs_rest)._asdict(),
            )
        jax.block_until_ready(res.params.W)  # a float64 result is NumPy already
    finally:
        if progress is not None:
            progress.close()
    return res, time.perf_counter() - t


def _checkpointing(args) -> dict:
    """``fit``'s checkpoint arguments from the flags."""
    if args.resume and not args.checkpoint:
        raise UserError("--resume: needs --checkpoint PATH")
    return dict(
        checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume
    )


# the options of one way of training only, and why the other cannot take them
_IN_MEMORY_ONLY = {
    "features": "a stream reads every column but --target and --drop",
    "categorical": "a stream reads its columns as numbers",
    "impute": "a stream reads its columns as numbers, a missing cell an error",
    "labels": "a stream reads CSV, .npy or svmlight files",
    "train_fraction": "a stream trains on every row of the file, without a split",
    "validation_fraction": "a stream trains on every row of the file, without a split",
    "stratify": "a stream trains on every row of the file, without a split",
    "standardize": "a stream trains on the values as they are",
    "plot": "a stream reports its epochs' objective only",
    "json": "a stream reports its epochs' objective only",
    "devices": "a stream trains on one device",
}
_STREAM_ONLY = ("chunk_rows", "n_classes", "classes")


def _check_mode_options(args) -> None:
    """Options of the other way of training (in memory, or ``--stream``) are refused rather
    than ignored: a flag that changes nothing would let a user believe it did."""
    defaults = vars(build_parser().parse_args(["train"]))
    names = _IN_MEMORY_ONLY if args.stream else _STREAM_ONLY
    given = [n for n in names if getattr(args, n) != defaults[n]]
    if args.stream and args.standardize is False:  # --no-standardize: what a stream does
        given.remove("standardize")
    if not given:
        return
    flag = "--" + given[0].replace("_", "-")
    if args.stream:
        raise UserError(f"{flag}: not available with --stream ({_IN_MEMORY_ONLY[given[0]]})")
    raise UserError(f"{flag}: applies with --stream only (a file trained on chunk by chunk)")


def _check_outputs(args) -> None:
    """The files a run will write, checked before it trains (a long run lost at the end).
    The ``--plot`` folder is made first, so ``--save`` and ``--json`` may go into it."""
    from jaxlin.atomic import check_target

    if args.plot:
        import importlib.util

        if os.path.exists(args.plot) and not os.path.isdir(args.plot):
            raise UserError(
                f"--plot: {args.plot} is a file; give a folder to write the figures into"
            )
        if importlib.util.find_spec("matplotlib") is None:
            raise UserError("--plot: needs matplotlib; pip install 'jaxlin[plot]'")
        try:
            os.makedirs(args.plot, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--plot: cannot make the folder {args.plot} ({exc.strerror})")
    for path, flag in ((args.save, "--save"), (args.json, "--json")):
        if path and path != "-":
            check_target(path, flag)


def _cmd_train(args) -> int:
    from jaxlin import tables
    from jaxlin import datasets, report
    from jaxlin.datasets import TRAIN_DEFAULTS
    from jaxlin.penalties import Penalty

    _check_mode_options(args)
    _check_outputs(args)
    if args.stream:
        return _cmd_train_stream(args)
    t_start = time.perf_counter()
    spec = _model_spec(args.model)
    if args.plot:
        _require_matplotlib()
    table = _load_table(args)
    n_classes = len(table.class_names)
    loss = _loss(args, spec, n_classes, table.class_names)
    defaults = TRAIN_DEFAULTS.get(args.data.lower(), {}) if datasets.is_bundled(args.data) else {}
    standardize = bool(
        defaults.get("standardize", True) if args.standardize is None else args.standardize
    )
    split = tables.training_split(
        table.X,
        table.y,
        args.train_fraction,
        args.validation_fraction,
        args.seed,
        args.stratify,
        standardize,
        table.feature_names,
    )
    opts, pen_text = _train_options(
        args, spec, loss, n_classes, len(split.y_train), defaults.get("l2")
    )
    res, seconds = _fit(args, split, loss, opts, spec, [str(c) for c in table.class_names])
    model = _trained_model(args, loss, res, split, table)
    settings = _run_settings(args, opts, standardize, table)
    data_info = {
        "name": table.name,
        "n_rows": int(table.X.shape[0]),
        "n_features": int(table.X.shape[1]),
        "n_classes": n_classes,
        "class_names": table.class_names,
        "n_train": int(len(split.y_train)),
        "n_test": int(len(split.y_test)),
        "description": spec.description,
        "n_validation": 0 if split.y_val is None else int(len(split.y_val)),
    }
    rep = report.build(
        settings, data_info, model, res, split, Penalty(opts.l1, opts.l2), pen_text, seconds
    )
    _write_outputs(args, rep, model, split, t_start)
    return 0


def _trained_model(args, loss, res, split, table):
    """The model to save and report: coefficients in float64, with the split's standardiser
    and the table's encoding (missing-cell fill included)."""
    from jaxlin.models import TrainedModel

    st = split.standardizer
    encoding = (
        None
        if table.encoding is None
        else table.encoding._replace(
            fill=None if split.fill is None else tuple(split.fill.tolist())
        ).to_json()
    )
    return TrainedModel(
        args.model,
        loss,
        np.asarray(res.params.W, np.float64),
        np.asarray(res.params.b, np.float64),
        st.mean,
        st.scale,
        table.feature_names,
        table.class_names,
        encoding,
    )


def _run_settings(args, opts, standardize, table) -> dict:
    """The report's record of how the model was trained."""
    settings = {
        "data": args.data,
        "model": args.model,
        "loss": args.loss,
        **opts._asdict(),
        "seed": args.seed,
        "train_fraction": args.train_fraction,
        "stratify": args.stratify,
        "validation_fraction": args.validation_fraction,
        "standardize": bool(standardize),
        "devices": args.devices,
        "sparse": sparse_data(table.X),
        "class_weight": args.class_weight,
    }
    for unshown in ("fit_intercept", "memory_size", "one_vs_rest"):
        settings.pop(unshown)
    return settings


def _load_table(args):
    """The labelled table of ``--data`` and its column options; what was decided for the
    user (columns one-hot encoded, rows dropped) is said on stderr."""
    from jaxlin import tables

    table = tables.load_labelled(
        args.data,
        args.target,
        _drop(args),
        args.labels,
        features=_names(args.features),
        categorical=_names(args.categorical),
        impute=args.impute,
        format=args.format,
    )
    if not args.quiet:
        for notice in table.notices:
            print(f"jaxlin train: {notice}", file=sys.stderr)
    return table


def sparse_data(X) -> bool:
    """Whether ``X`` is a sparse matrix (without importing JAX for a dense one)."""
    return type(X).__module__.startswith("scipy.sparse")


def _loss(args, spec, n_classes, class_names=None):
    """The model's loss for these classes, or the one ``--loss`` names (``MODULE:ATTR``
    or a built-in's name). A refusal lists the classes (``Yes`` beside ``yes`` are two)."""
    from jaxlin.models import loss_for

    if not args.loss:
        try:
            return loss_for(spec, n_classes)
        except ValueError as exc:
            names = list(class_names or ())
            shown = f" (the classes: {', '.join(map(str, names[:10]))}{', …' * (len(names) > 10)})"
            raise UserError(_flag_named(str(exc)) + (shown if names else "")) from None
    loss = _given_loss(args.loss)
    if n_classes < loss.min_classes:
        raise UserError(
            f"--loss: {loss.name!r} needs at least {loss.min_classes} classes, "
            f"the labels have {n_classes}"
        )
    return args.loss


def _model_spec(name):
    spec = MODELS.get(name)
    if spec is None:
        raise UserError(f"--model: unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return spec


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("--plot: needs matplotlib; pip install 'jaxlin[plot]'") from None


def _drop(args):
    return _names(args.drop)


def _names(items):
    """Column names from repeated and comma-separated flags (``[]`` when none)."""
    return [c.strip() for item in items or () for c in item.split(",") if c.strip()]


def _write_outputs(args, rep, model, split, t_start):
    """Save, plot, write the JSON and print the report, as the flags ask."""
    from jaxlin.report import format_text

    outputs = {}
    if args.save:
        from jaxlin import model_io

        outputs["saved"] = model_io.save(model, args.save)
    if args.plot:
        from jaxlin import plots

        outputs["plots"] = ", ".join(
            plots.write_all(rep, model, split.X_test, split.y_test, args.plot)
        )
    rep["seconds_total"] = time.perf_counter() - t_start
    if args.json:
        _write_json(rep, args.json)
        outputs["json"] = args.json
    rep["outputs"] = outputs
    if not args.quiet:  # with the JSON on stdout, the text goes to stderr: stdout stays JSON
        print(format_text(rep), file=sys.stderr if args.json == "-" else sys.stdout)


def _json_values(obj):
    """``obj`` with its undefined numbers (NaN, ±∞: the ROC area of a test split of one
    class) as ``null``, which JSON has, rather than ``NaN``, which it has not."""
    if isinstance(obj, dict):
        return {k: _json_values(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_values(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _write_json(obj, path):
    text = json.dumps(_json_values(obj), indent=2, ensure_ascii=False, allow_nan=False, default=str)
    if path == "-":
        print(text)
        return
    from jaxlin.atomic import check_target

    # written in place, not atomically: the path may be a stream such as /dev/stdout
    with open(check_target(path, "--json"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


# ---------------------------------------------------------------------------- predict


def _cmd_predict(args) -> int:
    from jaxlin import model_io
    from jaxlin.atomic import atomic_path, check_target

    if args.output:
        check_target(args.output, "--output")  # before the model is loaded and applied
    try:
        model = model_io.load(args.model)
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(_flag_named(str(exc))) from None
    X = _prediction_features(args, model)
    pred = model.predict_codes(X)
    proba = model.predict_proba(X) if model.has_proba else None
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")  # quoted where a name holds , or "
    probabilities = [] if proba is None else [f"p_{c}" for c in model.class_names]
    writer.writerow(["row", "prediction", *probabilities])
    for i, p in enumerate(pred):
        extra = [] if proba is None else [f"{v:.6g}" for v in proba[i]]
        writer.writerow([i, model.class_names[p], *extra])
    text = out.getvalue()
    if args.output:
        with atomic_path(args.output, "--output") as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _prediction_features(args, model):
    """The model's features from ``--data``: a bundled dataset, an svmlight, IDX or ``.npy``
    file, or a CSV (through the model's saved encoding when it has one; else its columns
    matched by name); the columns it leaves out are named on stderr."""
    from jaxlin import data as jdata
    from jaxlin import datasets, svmlight, validation

    path = args.data
    if datasets.is_bundled(path):
        _without_names(args)
        return datasets.load(path).X
    validation.check_file(path, "--data", f"--data: no such file or bundled dataset: {path!r}")
    if svmlight.is_svmlight(path, args.format):
        _without_names(args)
        return svmlight.read(path, n_features=model.n_features)[0]
    if jdata.is_idx(path):
        _without_names(args)
        X = jdata.read_idx(path)
        X = X.reshape(X.shape[0], -1).astype(np.float64)
        return X / 255.0 if X.max() > 1.0 else X
    if path.endswith(".npy"):
        A, header = jdata.npy_columns(path)
        return _matched_columns(A, header, model, _drop(args), path)
    if model.encoding is not None:
        return _encoded_features(path, model, _drop(args))
    return _csv_features(path, model, _drop(args))


def _without_names(args) -> None:
    """Data read whole, by position (svmlight, IDX, a bundled dataset), takes no ``--drop``
    (it would do nothing)."""
    if _drop(args):
        raise UserError(
            f"--drop: applies to a CSV or .npy file read by column name, not to {args.data}"
        )


def _check_drop(drop, header, path, used=()) -> None:
    """``--drop`` names columns of the file (a typo would leave a column in silently) that the
    model does not read by name (``used``: dropping one of those would do nothing)."""
    unknown = [h for h in drop if h not in header]
    if unknown:
        raise UserError(f"--drop: no column {unknown[0]!r} in {path}")
    needed = [h for h in drop if h in used]
    if needed:
        raise UserError(
            f"--drop: the model reads the column {needed[0]!r} by name; it cannot be left "
            "out (the columns it does not use are ignored without --drop)"
        )


def _csv_features(path, model, drop):
    """The model's columns of a CSV, chosen by name before any cell is parsed (or every
    column but ``drop``, in order, when the file has the model's width)."""
    from jaxlin import tables

    header, rows, lines = tables._csv_rows(path, min_columns=1)
    fix = tables.PREDICTING
    by_name = all(f in header for f in model.feature_names)
    _check_drop(drop, header, path, model.feature_names if by_name else ())
    if by_name:
        use = list(model.feature_names)
        _say_ignored([h for h in header if h not in use and h not in drop], drop)
    else:
        use = [h for h in header if h not in drop]
        if len(use) != model.n_features:
            missing = [f for f in model.feature_names if f not in header][:3]
            raise UserError(
                f"--data: the model expects {model.n_features} features (e.g. "
                f"{', '.join(map(repr, missing))} missing), the file has "
                f"{len(use)} columns" + ("" if drop else "; leave columns out with --drop")
            )
    X = np.stack(
        [
            tables._numeric([row[header.index(c)] for row in rows], c, path, lines, None, fix)
            for c in use
        ],
        axis=1,
    )
    if not np.all(np.isfinite(X)):
        r, j = np.argwhere(~np.isfinite(X))[0]
        raise UserError(f"--data: missing or infinite value at row {lines[r]}, column {use[j]!r}")
    return X


def _encoded_features(path, model, drop):
    """A CSV through the model's encoding: its columns by name, text one-hot as in training,
    missing cells filled with the training means (or refused when training had none)."""
    from jaxlin import tables

    enc = tables.Encoding.from_json(model.encoding)
    header, rows, lines = tables._csv_rows(path, min_columns=1)
    _check_drop(drop, header, path, enc.columns)
    missing = [c for c in enc.columns if c not in header]
    if missing:
        raise UserError(
            f"--data: {path} has no column {missing[0]!r}, which the model uses "
            f"(it uses {', '.join(enc.columns)})"
        )
    _say_ignored([h for h in header if h not in enc.columns and h not in drop], drop)
    cells = {h: [row[i] for row in rows] for i, h in enumerate(header) if h in enc.columns}
    X, unseen = enc.encode(cells, path, lines, header, tables.PREDICTING)
    for column, count in unseen.items():
        print(
            f"jaxlin predict: {count} row(s) have a {column!r} category unseen in training "
            "(encoded as none of the known ones)",
            file=sys.stderr,
        )
    if np.isnan(X).any():
        if enc.fill is None:
            r, j = np.argwhere(np.isnan(X))[0]
            raise UserError(
                f"--data: missing value at row {lines[r]}, column "
                f"{enc.feature_names[j]!r}; the model was trained without "
                "--impute, so it has no fill value"
            )
        X = tables.fill_missing(X, np.asarray(enc.fill))
    return X


def _matched_columns(A, header, model, drop, path):
    """The model's feature columns of a table with a header, by name (or all of them, in
    order, when the file's width is the model's)."""
    by_name = all(f in header for f in model.feature_names)
    _check_drop(drop, header, path, model.feature_names if by_name else ())
    if by_name:
        _say_ignored([h for h in header if h not in model.feature_names and h not in drop], drop)
        X = A[:, [header.index(f) for f in model.feature_names]]
    elif A.shape[1] - len([h for h in drop if h in header]) == model.n_features:
        X = A[:, [i for i, h in enumerate(header) if h not in drop]]
    else:
        missing = [f for f in model.feature_names if f not in header][:3]
        raise UserError(
            f"--data: the model expects {model.n_features} features (e.g. "
            f"{', '.join(map(repr, missing))} missing), the file has "
            f"{A.shape[1]} columns"
        )
    if not np.all(np.isfinite(X)):
        raise UserError(f"--data: {path} has NaN or infinite values in the model's features")
    return X


def _say_ignored(ignored, dropped):
    if dropped:
        print(f"jaxlin predict: dropping {', '.join(dropped)} (--drop)", file=sys.stderr)
    if ignored:
        print(
            f"jaxlin predict: ignoring {len(ignored)} column(s) the model does not use: "
            f"{', '.join(ignored[:10])}{', …' if len(ignored) > 10 else ''}",
            file=sys.stderr,
        )


# ---------------------------------------------------------------------------- out of core


def _cmd_convert(args) -> int:
    from jaxlin import datasets, stream, svmlight, validation
    from jaxlin.atomic import check_target

    validation.check_file(
        args.csv,
        "IN",
        f"IN: {args.csv!r} is a bundled dataset, not a file; convert reads a file (train on "
        f"it as it is: jaxlin train --data {args.csv})"
        if datasets.is_bundled(args.csv)
        else None,
    )
    to_svm = svmlight.is_svmlight(args.out)
    if not (args.out.endswith(".npy") or to_svm):
        raise UserError(
            f"OUT: the output must end in .npy (dense) or .svm/.svmlight/"
            f".libsvm (sparse), got {args.out!r}"
        )
    check_target(args.out, "OUT")
    if svmlight.is_svmlight(args.csv, args.format) and not to_svm:
        raise UserError(
            "convert: an svmlight file is sparse; write it as .svm (a .npy would hold every zero)"
        )
    if args.csv.endswith(".npy") and not to_svm and args.format is None:
        raise UserError(
            f"IN: {args.csv} is already a .npy (train on it: jaxlin train --data "
            f"{args.csv} --stream); convert makes a .npy from a CSV, or an .svm from either"
        )
    t = time.perf_counter()
    if to_svm:
        meta = stream.convert_to_svmlight(args.csv, args.out, chunk_rows=args.chunk_rows)
        print(
            f"wrote {args.out}: {meta['rows']} rows × {meta['features']} features, "
            f"{meta['nnz']:,} non-zeros ({os.path.getsize(args.out) / 2**20:.1f} MiB) in "
            f"{time.perf_counter() - t:.1f} s"
        )
        return 0
    meta = stream.convert_csv(args.csv, args.out, chunk_rows=args.chunk_rows)
    print(
        f"wrote {args.out}: {meta['rows']} rows × {len(meta['columns'])} columns "
        f"(float32, {os.path.getsize(args.out) / 2**20:.1f} MiB) in "
        f"{time.perf_counter() - t:.1f} s; column names in {args.out}.json"
        + (
            f" (labels {', '.join(meta['classes'])} as 0..{len(meta['classes']) - 1})"
            if "classes" in meta
            else ""
        )
    )
    return 0


def _stream_class_weight(class_weight, classes):
    """``--class-weight``'s pairs for a stream: keyed by the file's text labels as given, or
    by its numeric labels as numbers (``1=5`` weighs the label 1)."""
    if not isinstance(class_weight, dict) or classes is not None:
        return class_weight
    out = {}
    for label, weight in class_weight.items():
        try:
            number = float(label)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise UserError(
                f"--class-weight: {label!r} is not a class; the file's labels are numbers"
            )
        out[int(number) if number.is_integer() else number] = weight
    return out


def _stream_source(args):
    """The ``--data`` file opened for a stream, its labels those ``--classes`` names."""
    from jaxlin import stream
    from jaxlin.models import label_values

    src = stream.open_source(args.data, args.target, _drop(args), args.chunk_rows, args.format)
    if args.classes is None:
        return src
    try:
        return stream.given_classes(src, label_values(c.strip() for c in args.classes.split(",")))
    except ValueError as exc:
        raise UserError(_flag_named(str(exc))) from None


def _text_classes(src):
    """A stream's classes when they are text (``--class-weight`` is keyed by them as
    given), else ``None`` (its keys are numbers)."""
    text = src.classes is not None and isinstance(src.classes[0], str)
    return src.classes if text else None


def _cmd_train_stream(args) -> int:
    """``jaxlin train --stream``: mini-batch training from disk, one chunk in memory."""
    from jaxlin import model_io, stream
    from jaxlin.models import TrainedModel

    if not os.path.exists(args.data):
        raise UserError(f"--data: --stream needs a .npy or CSV file, got {args.data!r}")
    spec = _model_spec(args.model)
    src = _stream_source(args)
    n_classes = args.n_classes or (2 if src.classes is None else len(src.classes))
    loss = _loss(args, spec, n_classes, src.classes)
    l1 = l2 = None  # the stream's defaults, unless a penalty is given (at most one flag)
    _l1_ratio(args)  # (refused alone)
    if any(p is not None for p in (args.l1, args.l2, args.elastic_net)):
        l1, l2, _ = _penalty(args, src.n_rows, spec, args.optimizer or spec.optimizer)
    given = {
        "optimizer": args.optimizer,
        "learning_rate": args.lr,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "l1": l1,
        "l2": l2,
        "average": args.average,
        "init": args.init,
        "fit_intercept": not args.no_intercept,
        "adaptive_lr": args.adaptive_lr or None,  # named by fit_stream: it needs full batches
        "tol": args.tol,
        "patience": args.patience,
    }
    opts = {**COMMAND_STREAM_DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
    progress = _ProgressBar(opts["epochs"]) if sys.stderr.isatty() and not args.quiet else None
    t = time.perf_counter()
    try:
        r = stream.fit_stream(
            src,
            loss,
            n_classes=n_classes if n_classes > 2 else None,
            class_weight=_stream_class_weight(args.class_weight, _text_classes(src)),
            seed=args.seed,
            progress=progress,
            **_checkpointing(args),
            **opts,
        )
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - t
    d = len(src.feature_names)
    model = TrainedModel(
        args.model,
        loss,
        np.asarray(r.params.W, np.float64),
        np.asarray(r.params.b, np.float64),
        np.zeros(d),
        np.ones(d),
        src.feature_names,
        [str(c) for c in (range(n_classes) if r.classes is None else r.classes)],
    )
    if args.save:
        model_io.save(model, args.save)
    if not args.quiet:
        print(
            f"jaxlin train --stream — {os.path.basename(args.data)}: {src.n_rows} rows × {d} "
            f"features, {src.n_chunks} chunk{'s' if src.n_chunks != 1 else ''} of ≤ "
            f"{src.chunk_rows} rows"
        )
        print(
            f"  model {args.model} ({loss}), {opts['optimizer']}, batch "
            f"{opts['batch_size']}, {r.epochs} epochs in {seconds:.2f} s "
            f"({src.n_rows * r.epochs / seconds:,.0f} rows/s, compilation included)"
        )
        for e, J in enumerate(r.objective, 1):
            print(f"  epoch {e:3d}  objective {J:.6f}")
        if args.save:
            print(f"  saved       {args.save}")
    return 0


# ---------------------------------------------------------------------------- datasets


def _cmd_datasets(args) -> int:
    from jaxlin import datasets

    print(f"{'name':12} {'rows':>7} {'features':>9} {'classes':>8}  description")
    for name in datasets.NAMES:
        d = datasets.load(name)
        print(
            f"{name:12} {d.X.shape[0]:>7} {d.X.shape[1]:>9} {len(d.class_names):>8}  "
            f"{d.description}"
        )
    return 0


# ---------------------------------------------------------------------------- parser


class _HelpFormatter(argparse.HelpFormatter):
    """Each option's help ends with its default, when it has one and does not say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        unset = default is None or default is False or default == [] or default == argparse.SUPPRESS
        # a flag (--x / --no-x) takes no value: its default is said in words, if at all
        if not unset and action.nargs != 0 and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _per_optimizer(field):
    """``"0.1 for gd, 0.01 for adam, …"``: the command line's default of one option."""
    values = {}
    for name, d in COMMAND_DEFAULTS.items():
        values.setdefault(d[field], []).append(name)
    return "; ".join(f"{v:g} for {', '.join(names)}" for v, names in values.items())


def _train_arguments(train):
    _data_arguments(train.add_argument_group("data"))
    _fit_arguments(train.add_argument_group("training"))
    _output_arguments(train.add_argument_group("output and long runs"))


def _data_arguments(train):
    train.add_argument(
        "--data",
        default="kidcreative",
        help="a bundled dataset (kidcreative, spambase, mnist) or a CSV, "
        "svmlight (.svm), IDX or .npy file",
    )
    train.add_argument(
        "--target",
        help="CSV: the label column (default: the last column); "
        "its values may be any text or numbers",
    )
    train.add_argument(
        "--drop",
        action="append",
        default=[],
        help="CSV: column(s) to leave out, comma-separated or repeated",
    )
    train.add_argument(
        "--features",
        action="append",
        default=[],
        help="CSV: the feature columns to use (default: all but the target and "
        "--drop), comma-separated or repeated",
    )
    train.add_argument(
        "--categorical",
        action="append",
        default=[],
        help="CSV: text column(s) to one-hot encode (a column of text only is "
        "encoded without asking, with a notice)",
    )
    train.add_argument(
        "--impute",
        choices=("mean", "drop-rows"),
        help="CSV: missing cells get the training rows' mean, or their rows "
        "are left out (default: a missing cell is an error)",
    )
    train.add_argument(
        "--format",
        choices=("csv", "svmlight"),
        help="the file's format when its suffix does not say it (.svm, "
        ".svmlight and .libsvm are svmlight)",
    )
    train.add_argument("--labels", help="IDX: the labels file (default: guessed from --data)")
    train.add_argument("--seed", type=int, default=0, help="seed of the split and the training")
    train.add_argument(
        "--train-fraction",
        type=FRACTION,
        default=2 / 3,
        help="fraction of rows for training (default 2/3)",
    )
    train.add_argument(
        "--validation-fraction",
        type=_number(float, lambda v: 0 <= v < 1, "in [0, 1)"),
        default=0.0,
        help="fraction of the training rows held out for validation",
    )
    train.add_argument("--stratify", action="store_true", help="stratified split")
    train.add_argument(
        "--standardize",
        dest="standardize",
        action="store_true",
        default=None,
        help="standardise features with the training statistics (default, except mnist)",
    )
    train.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="use the features as they are",
    )


def _fit_arguments(train):
    train.add_argument("--model", default="logistic", help=f"one of {', '.join(MODELS)}")
    train.add_argument(
        "--loss",
        metavar="MODULE:ATTR",
        help="train your own jaxlin.Loss (e.g. myloss:FOCAL for ./myloss.py), or a "
        "built-in loss by name (e.g. squared_hinge), instead of the model's; check yours "
        "first with 'jaxlin check --loss'",
    )
    train.add_argument(
        "--optimizer", help=f"one of {', '.join(OPTIMIZER_CHOICES)} (default: per model)"
    )
    train.add_argument(
        "--lr",
        type=POSITIVE,
        help=f"learning rate (default: {_per_optimizer('learning_rate')}; "
        f"--stream: {COMMAND_STREAM_DEFAULTS['learning_rate']:g})",
    )
    train.add_argument(
        "--adaptive-lr",
        action="store_true",
        help="bold driver: grow η ×1.05 after a good step, halve after a bad one",
    )
    train.add_argument(
        "--epochs",
        type=POSITIVE_INT,
        help=f"maximum number of epochs (default: {_per_optimizer('epochs')}; "
        f"--stream: {COMMAND_STREAM_DEFAULTS['epochs']})",
    )
    train.add_argument("--batch-size", type=POSITIVE_INT, help="mini-batch size (sgd, adam)")
    train.add_argument(
        "--no-intercept",
        action="store_true",
        help="fit no intercept (b = 0): a model through the origin, as dcd needs",
    )
    train.add_argument(
        "--class-weight",
        type=class_weight_arg,
        metavar="{balanced,LABEL=WEIGHT,...}",
        help="weigh each class's training rows: 'balanced' by n/(k·n_class), scikit-learn's, "
        "or LABEL=WEIGHT pairs (e.g. buy=5; a class left out weighs 1); one-vs-rest: class "
        "c's model weighs the other classes' rows by 1",
    )
    train.add_argument("--l1", type=NON_NEGATIVE, help="L1 strength λ (R = λ Σ|w|)")
    train.add_argument(
        "--l2",
        type=NON_NEGATIVE,
        help="L2 strength λ (R = λ Σw²); default 1/(2N), scikit-learn's C = 1",
    )
    train.add_argument("--elastic-net", type=NON_NEGATIVE, help="elastic-net strength λ")
    train.add_argument(
        "--l1-ratio",
        type=_number(float, lambda v: 0 <= v <= 1, "between 0 and 1"),
        help="elastic-net α (default 0.5)",
    )
    train.add_argument("--tol", type=POSITIVE, help="stop when |J_t − J_(t−1)| < tol")
    train.add_argument("--patience", type=POSITIVE_INT, help="early stopping patience (epochs)")
    train.add_argument(
        "--average",
        nargs="?",
        const=1,
        type=POSITIVE_INT,
        metavar="N",
        help="the mean of the iterates from row N on (default 1) as the model: averaged SGD "
        "(gradient optimisers)",
    )
    train.add_argument(
        "--init", default="zeros", choices=("zeros", "uniform"), help="initial parameters"
    )


def _output_arguments(train):
    train.add_argument("--json", metavar="PATH", help="write the full report as JSON ('-': stdout)")
    train.add_argument("--plot", metavar="DIR", help="write PNG figures into DIR")
    train.add_argument("--save", metavar="PATH", help="save the model (.npz)")
    train.add_argument("--quiet", action="store_true", help="print nothing")
    train.add_argument(
        "--devices", type=_devices, help="shard the rows over N local devices (or 'auto': all)"
    )
    train.add_argument(
        "--stream",
        action="store_true",
        help="train from disk chunk by chunk (a .npy from 'jaxlin convert', or a "
        "CSV); mini-batch SGD, no evaluation report",
    )
    train.add_argument(
        "--chunk-rows", type=POSITIVE_INT, default=65536, help="--stream: rows per chunk"
    )
    train.add_argument(
        "--n-classes",
        type=_number(int, lambda v: v >= 2, "at least 2"),
        help="--stream: number of classes (default 2)",
    )
    train.add_argument(
        "--classes",
        metavar="A,B,…",
        help="--stream: the file's labels, comma-separated, when they are not 0..K−1 "
        "(1,2,3,4,5,6,7); class c is the c-th in sorted order",
    )
    train.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="write the training state to PATH (.npz) between chunks of epochs "
        "(with --stream: between chunks of rows) and on Ctrl-C",
    )
    train.add_argument(
        "--checkpoint-every",
        type=POSITIVE_INT,
        default=1,
        metavar="N",
        help="--checkpoint: write after every N chunks",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="--checkpoint: go on from PATH when it exists (same data and "
        "settings); the result equals an uninterrupted run",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxlin", description="Linear classifiers in JAX with hand-derived gradients."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _check_command(sub)
    _train_command(sub)
    _file_commands(sub)
    return parser


def _check_command(sub):
    check = sub.add_parser(
        "check",
        help="verify every hand-derived gradient against autodiff",
        description="Check every hand derivation (or, with --loss, your "
        "own loss) against autodiff and finite differences, in "
        "float64. Exit 0 when all pass, 1 otherwise.",
        formatter_class=_HelpFormatter,
    )
    check.add_argument(
        "--loss",
        metavar="MODULE:ATTR",
        help="verify your own jaxlin.Loss instead of the built-ins (e.g. "
        "myloss:FOCAL for ./myloss.py), or one built-in by name; exit 1 if a check fails",
    )
    check.add_argument(
        "--n-outputs", type=POSITIVE_INT, help="--loss: verify at this number of outputs K only"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--seed",
        type=_number(int, lambda v: v >= 0, "a non-negative integer"),
        default=0,
        help="seed of the random test points",
    )
    check.set_defaults(func=_cmd_check)


def _train_command(sub):
    train = sub.add_parser(
        "train",
        help="train a model and print its evaluation report",
        description="Train a model and print its evaluation report "
        "(default: logistic regression on KidCreative).",
        formatter_class=_HelpFormatter,
    )
    _train_arguments(train)
    train.set_defaults(func=_cmd_train)


def _file_commands(sub):
    """``convert``, ``predict`` and ``datasets``."""
    conv = sub.add_parser(
        "convert",
        help="write a CSV as .npy or svmlight, chunk by chunk",
        description="Write a CSV as a float32 .npy (column names go to "
        "OUT.json), or a CSV or svmlight file as svmlight (only "
        "its non-zeros), without loading it whole (for jaxlin "
        "train --stream).",
        formatter_class=_HelpFormatter,
    )
    conv.add_argument("csv", metavar="IN", help="the CSV (with a header) or svmlight file")
    conv.add_argument("out", metavar="OUT", help="the .npy or .svm to write")
    conv.add_argument(
        "--format", choices=("csv", "svmlight"), help="IN's format when its suffix does not say it"
    )
    conv.add_argument("--chunk-rows", type=POSITIVE_INT, default=65536, help="rows held in memory")
    conv.set_defaults(func=_cmd_convert)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Apply a model saved by 'jaxlin train --save' to a "
        "CSV, IDX or .npy file; writes one predicted class per "
        "row and names the columns it ignores.",
        formatter_class=_HelpFormatter,
    )
    predict.add_argument("--model", required=True, metavar="PATH", help="a model saved by --save")
    predict.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="a bundled dataset, or a CSV, svmlight (.svm), IDX or .npy file "
        "(columns matched by name when it names them)",
    )
    predict.add_argument(
        "--drop",
        action="append",
        default=[],
        help="CSV: column(s) to leave out, comma-separated or repeated",
    )
    predict.add_argument(
        "--format",
        choices=("csv", "svmlight"),
        help="the file's format when its suffix does not say it",
    )
    predict.add_argument("--output", metavar="FILE", help="write the CSV here (default: stdout)")
    predict.set_defaults(func=_cmd_predict)

    ds = sub.add_parser(
        "datasets",
        help="list the bundled datasets",
        description="List the datasets bundled with jaxlin.",
    )
    ds.set_defaults(func=_cmd_datasets)


def _show_warning(command, message, category, filename, lineno, file=None, line=None):
    """A warning as one line, as the errors are (no source path and line of jaxlin's)."""
    print(f"jaxlin {command}: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UserError as exc:
        print(f"{exc.prog or 'jaxlin'}: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.command in ("check", "train", "predict"):
        from jaxlin.cache import enable_compilation_cache

        enable_compilation_cache()  # the next run of the same job skips most compilation
    from jaxlin.checkpoint import Interrupted, catch_interrupts

    try:
        with catch_interrupts(), warnings.catch_warnings():  # Ctrl-C: stop after the chunk
            warnings.showwarning = partial(_show_warning, args.command)
            return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"jaxlin {args.command}: error: {_flag_named(str(exc))}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        where = (
            f"; checkpoint written to {exc.checkpoint} (go on with --resume)"
            if exc.checkpoint
            else "; no checkpoint (ask for one with --checkpoint PATH)"
        )
        print(f"jaxlin {args.command}: interrupted after epoch {exc.epoch}{where}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"jaxlin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
