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

import numpy as np

from jaxlin.models import MODELS

OPTIMIZER_CHOICES = ("gd", "sgd", "adam", "lbfgs", "perceptron")
# defaults per optimiser: learning rate, epochs, batch size
OPTIMIZER_DEFAULTS = {
    "gd": (0.1, 1000, None),
    "sgd": (0.1, 20, 32),
    "adam": (0.01, 100, 32),
    "lbfgs": (1.0, 1000, None),
    "perceptron": (1.0, 100, None),
}


class UserError(ValueError):
    """A mistake in the user's input: reported as one line on stderr, exit code 2."""


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


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + error
        raise UserError(f"{message} (see 'jaxlin {self.prog.split()[-1]} --help')"
                        if " " in self.prog else f"{message} (see 'jaxlin --help')")


# ---------------------------------------------------------------------------- check

def _cmd_check(args) -> int:
    from jaxlin import derivations

    report = derivations.run(seed=args.seed)
    if args.json:
        print(json.dumps(derivations.to_json(report), indent=2, ensure_ascii=False))
    else:
        print(derivations.format_report(report))
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------- data

def _is_idx(path):
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b":
        return "idx" in os.path.basename(path).lower()
    return len(head) == 4 and head[0] == 0 and head[1] == 0 and head[2] in (8, 9, 11, 12, 13, 14)


def load_data(spec: str, target=None, drop=(), labels=None):
    """``(X, y_raw, feature_names, class_names or None, name)`` from a bundled name or a file."""
    from jaxlin import data, datasets

    if spec.lower() in datasets.NAMES and not os.path.exists(spec):
        if target is not None or drop:
            raise UserError("--target/--drop apply to CSV files, not to the bundled "
                            f"dataset {spec!r}")
        d = datasets.load(spec)
        return d.X, d.y, d.feature_names, d.class_names, d.name
    if not os.path.exists(spec):
        raise UserError(f"--data: no such file or bundled dataset: {spec!r} "
                        f"(bundled: {', '.join(datasets.NAMES)})")
    if _is_idx(spec):
        if labels is None:
            guess = spec.replace("images-idx3", "labels-idx1")
            if guess == spec or not os.path.exists(guess):
                raise UserError(f"--labels: give the IDX labels file for the images {spec!r}")
            labels = guess
        t = data.read_idx_pair(spec, labels)
        return t.X, t.y, t.feature_names, None, os.path.basename(spec)
    t = data.read_csv(spec, target=target, drop=list(drop))
    return t.X, t.y, t.feature_names, None, os.path.basename(spec)


def encode_class_labels(y_raw, class_names=None):
    """Labels of any numeric values → 0..C−1 and the class names (the sorted values)."""
    values = np.unique(y_raw)
    if class_names is not None and np.array_equal(values, np.arange(len(values))):
        return y_raw.astype(np.int64), list(class_names)[: max(len(values), len(class_names))]
    y = np.searchsorted(values, y_raw).astype(np.int64)
    names = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
    return y, names


# ---------------------------------------------------------------------------- train

def _progress_bar(total_hint: int):
    """A progress callback for a terminal: tqdm if installed, else a plain bar on stderr."""
    try:
        from tqdm import tqdm
        bar = tqdm(total=total_hint, unit="epoch", file=sys.stderr, leave=False)

        def update(done, total):
            bar.update(done - bar.n)
            if done >= total:
                bar.close()
        update.close = bar.close
        return update
    except ImportError:
        def update(done, total):
            width = 30
            filled = int(width * done / max(total, 1))
            sys.stderr.write(f"\r  training [{'#' * filled}{'.' * (width - filled)}] "
                             f"{done}/{total} epochs")
            sys.stderr.flush()
        update.close = lambda: sys.stderr.write("\r" + " " * 60 + "\r")
        return update


def _penalty(args, n_train, spec, optimizer, default_l2=None):
    """``(l1, l2, description)``: the user's penalty, or scikit-learn's default C = 1."""
    from jaxlin.penalties import elastic_net

    given = [a for a in (args.l1, args.l2, args.elastic_net) if a is not None]
    if len(given) > 1:
        raise UserError("--l1, --l2 and --elastic-net: give at most one")
    for name in ("l1", "l2", "elastic_net"):
        v = getattr(args, name)
        if v is not None and (not math.isfinite(v) or v < 0):
            raise UserError(f"--{name.replace('_', '-')}: must be a non-negative number, got {v}")
    if not 0.0 <= args.l1_ratio <= 1.0:
        raise UserError(f"--l1-ratio: must be between 0 and 1, got {args.l1_ratio}")
    if args.l1 is not None:
        return args.l1, 0.0, f"{args.l1:g} Σ|w|"
    if args.l2 is not None:
        return 0.0, args.l2, f"{args.l2:g} Σw²" if args.l2 else ""
    if args.elastic_net is not None:
        p = elastic_net(args.elastic_net, args.l1_ratio)
        return p.l1, p.l2, f"{args.elastic_net:g} [{args.l1_ratio:g} Σ|w| + {1 - args.l1_ratio:g} Σw²]"
    if not spec.penalised or optimizer == "perceptron":
        return 0.0, 0.0, ""
    if default_l2 is not None:
        return 0.0, default_l2, f"{default_l2:g} Σw² (this dataset's default)"
    lam = 1.0 / (2.0 * n_train)
    return 0.0, lam, f"{lam:.3g} Σw² (scikit-learn's C = 1: 1/(2N))"


def _nan_to_none(values):
    return [None if (v is None or (isinstance(v, float) and not math.isfinite(v))) else v
            for v in np.asarray(values, dtype=float).tolist()]


def _cmd_train(args) -> int:
    from jaxlin import data as jdata
    from jaxlin.losses import get_loss
    from jaxlin.models import TrainedModel, loss_for
    from jaxlin.report import evaluate, format_text
    from jaxlin.training import fit

    if args.stream:
        return _cmd_train_stream(args)
    t_start = time.perf_counter()
    spec = MODELS.get(args.model)
    if spec is None:
        raise UserError(f"--model: unknown model {args.model!r}; choose one of "
                        f"{', '.join(MODELS)}")
    if args.optimizer is not None and args.optimizer not in OPTIMIZER_CHOICES:
        raise UserError(f"--optimizer: unknown optimizer {args.optimizer!r}; choose one of "
                        f"{', '.join(OPTIMIZER_CHOICES)}")
    for name in ("lr", "tol"):
        v = getattr(args, name)
        if v is not None and (not math.isfinite(v) or v <= 0):
            raise UserError(f"--{name}: must be a positive number, got {v}")
    for name in ("epochs", "batch_size"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise UserError(f"--{name.replace('_', '-')}: must be a positive integer, got {v}")
    if not 0.0 < args.train_fraction < 1.0:
        raise UserError(f"--train-fraction: must be between 0 and 1, got {args.train_fraction}")
    if not 0.0 <= args.validation_fraction < 1.0:
        raise UserError(f"--validation-fraction: must be in [0, 1), got "
                        f"{args.validation_fraction}")
    if args.patience is not None and args.validation_fraction == 0:
        raise UserError("--patience: early stopping needs --validation-fraction > 0")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UserError("--plot: needs matplotlib; pip install 'jaxlin[plot]'") from None
    drop = [c.strip() for item in args.drop for c in item.split(",") if c.strip()]
    X, y_raw, feature_names, class_names, name = load_data(args.data, args.target, drop,
                                                           args.labels)
    if y_raw.dtype.kind == "f" and np.any(y_raw != np.round(y_raw)) and \
            len(np.unique(y_raw)) > 20:
        raise UserError(f"--target: the column has {len(np.unique(y_raw))} distinct non-integer "
                        "values; jaxlin train needs class labels")
    y, class_names = encode_class_labels(y_raw, class_names)
    n_classes = len(class_names)
    if len(np.unique(y)) < 2:
        raise UserError("y: the target has a single class; a classifier needs at least two")
    loss = loss_for(spec, n_classes)
    optimizer = args.optimizer or spec.optimizer
    if optimizer == "perceptron" and n_classes > 2:
        optimizer = "sgd"  # the multi-class perceptron loss by SGD
    if optimizer == "perceptron" and get_loss(loss).target != "binary":
        raise UserError(f"--optimizer: perceptron is Rosenblatt's algorithm; it trains the "
                        f"perceptron model only, not {args.model!r}")
    lr0, epochs0, batch0 = OPTIMIZER_DEFAULTS[optimizer]
    if args.model == "perceptron" and optimizer == "sgd" and args.batch_size is None:
        batch0, lr0 = 1, 1.0
    lr = args.lr if args.lr is not None else lr0
    epochs = args.epochs if args.epochs is not None else epochs0
    batch_size = args.batch_size if args.batch_size is not None else batch0
    if optimizer in ("gd", "lbfgs", "perceptron") and args.batch_size is not None:
        raise UserError(f"--batch-size: the {optimizer!r} optimiser uses the full batch; "
                        "use --optimizer sgd or adam for mini-batches")
    if args.adaptive_lr and optimizer != "gd":
        raise UserError("--adaptive-lr: the bold driver needs --optimizer gd")
    tol = args.tol if args.tol is not None else (1e-9 if optimizer == "lbfgs" else None)
    grad_tol = 1e-6 if optimizer == "lbfgs" else None

    split = jdata.train_test_split(X, y, args.train_fraction, seed=args.seed,
                                   stratify=args.stratify)
    X_train, y_train = split.X_train, split.y_train
    X_val = y_val = None
    if args.validation_fraction > 0:
        inner = jdata.train_test_split(X_train, y_train, 1.0 - args.validation_fraction,
                                       seed=args.seed + 1)
        X_train, X_val, y_train, y_val = inner.X_train, inner.X_test, inner.y_train, inner.y_test
    if len(np.unique(y_train)) < 2:
        raise UserError("y: the training split holds a single class; use a larger "
                        "--train-fraction or --stratify")
    from jaxlin.datasets import TRAIN_DEFAULTS
    defaults = TRAIN_DEFAULTS.get(args.data.lower(), {}) if not os.path.exists(args.data) else {}
    standardize = args.standardize if args.standardize is not None else \
        defaults.get("standardize", True)
    st = jdata.Standardizer.fit(X_train) if standardize else \
        jdata.Standardizer(np.zeros(X.shape[1]), np.ones(X.shape[1]))
    l1, l2, pen_text = _penalty(args, len(y_train), spec, optimizer, defaults.get("l2"))
    if optimizer == "lbfgs" and l1 > 0:
        raise UserError("--optimizer: lbfgs needs a smooth objective; use gd or sgd with "
                        "--l1/--elastic-net")
    y_fit = y_train
    if get_loss(loss).target == "real" and n_classes > 2:
        y_fit = np.eye(n_classes)[y_train]
    validation = None
    if X_val is not None:
        validation = (st.transform(X_val),
                      np.eye(n_classes)[y_val] if y_fit.ndim == 2 else y_val)
    progress = None
    if sys.stderr.isatty() and epochs >= 20 and not args.quiet:
        progress = _progress_bar(epochs)
    t_fit = time.perf_counter()
    try:
        res = fit(st.transform(X_train), y_fit, loss, optimizer=optimizer, learning_rate=lr,
                  epochs=epochs, batch_size=batch_size, l1=l1, l2=l2, tol=tol,
                  grad_tol=grad_tol, adaptive_lr=args.adaptive_lr, validation_data=validation,
                  patience=args.patience, n_classes=n_classes if loss != "squared_error" else None,
                  one_vs_rest=spec.one_vs_rest and n_classes > 2, init=args.init, seed=args.seed,
                  progress=progress, devices=args.devices)
        res.params.W.block_until_ready()
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - t_fit
    W, b = np.asarray(res.params.W, np.float64), np.asarray(res.params.b, np.float64)
    if W.shape[1] == 1 and not np.all(np.isfinite(W)):
        raise UserError("training diverged; lower --lr")  # pragma: no cover - fit keeps finite
    model = TrainedModel(args.model, loss, W, b, st.mean, st.scale, list(feature_names),
                         list(class_names))
    from jaxlin.penalties import Penalty
    pen = Penalty(l1, l2)
    hist = res.history
    epochs_run = np.asarray(res.epochs)
    stop = res.stop_reason
    if np.ndim(epochs_run):  # one-vs-rest: one run per class
        epochs_text = int(epochs_run.max())
        stop = ", ".join(sorted(set(np.atleast_1d(stop).tolist())))
        J_hist = np.nansum(np.asarray(hist.objective), axis=0)
        J_hist[np.all(np.isnan(np.asarray(hist.objective)), axis=0)] = np.nan
        val_hist = np.nansum(np.asarray(hist.val_objective), axis=0)
        val_hist[np.all(np.isnan(np.asarray(hist.val_objective)), axis=0)] = np.nan
    else:
        epochs_text = int(epochs_run)
        J_hist, val_hist = np.asarray(hist.objective), np.asarray(hist.val_objective)
    n_run = epochs_text
    loss_obj = get_loss(loss)
    rep = {
        "settings": {"data": args.data, "model": args.model, "optimizer": optimizer,
                     "learning_rate": lr, "epochs": epochs, "batch_size": batch_size,
                     "l1": l1, "l2": l2, "tol": tol, "adaptive_lr": args.adaptive_lr,
                     "seed": args.seed, "train_fraction": args.train_fraction,
                     "validation_fraction": args.validation_fraction, "patience": args.patience,
                     "init": args.init, "stratify": args.stratify,
                     "standardize": bool(standardize)},
        "data": {"name": name, "n_rows": int(X.shape[0]), "n_features": int(X.shape[1]),
                 "n_classes": n_classes, "class_names": class_names,
                 "n_train": int(len(y_train)), "n_test": int(len(split.y_test)),
                 "n_validation": 0 if y_val is None else int(len(y_val))},
        "model": {"kind": args.model, "description": spec.description, "loss": loss,
                  "formula": loss_obj.formula, "penalty": pen_text},
        "training": {"epochs": epochs_text, "stop_reason": str(stop), "seconds": seconds},
        "train": evaluate(model, X_train, y_train, pen),
        "test": evaluate(model, split.X_test, split.y_test, pen),
        "history": {"objective": _nan_to_none(J_hist[:n_run]),
                    "val_objective": _nan_to_none(val_hist[:n_run]),
                    "learning_rate": _nan_to_none(np.asarray(hist.learning_rate).reshape(
                        -1, np.shape(hist.learning_rate)[-1])[0][:n_run]),
                    },
    }
    outputs = {}
    if args.save:
        from jaxlin import model_io
        outputs["saved"] = model_io.save(model, args.save)
    if args.plot:
        from jaxlin import plots
        outputs["plots"] = ", ".join(plots.write_all(rep, model, split.X_test, split.y_test,
                                                     args.plot))
    rep["seconds_total"] = time.perf_counter() - t_start
    if args.json:
        _write_json(rep, args.json)
        outputs["json"] = args.json
    rep["outputs"] = outputs
    if not args.quiet:
        print(format_text(rep))
    return 0


def _write_json(obj, path):
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
    if path == "-":
        print(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"--json: no such folder: {folder}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


# ---------------------------------------------------------------------------- predict

def _cmd_predict(args) -> int:
    from jaxlin import data as jdata
    from jaxlin import model_io

    model = model_io.load(args.model)
    path = args.data
    if not os.path.exists(path):
        raise UserError(f"--data: no such file: {path}")
    if _is_idx(path):
        X = jdata.read_idx(path)
        X = X.reshape(X.shape[0], -1).astype(np.float64)
        if X.max() > 1.0:
            X = X / 255.0
    else:
        import csv
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
        if not header:
            raise UserError(f"{path}: the file is empty")
        if all(f in header for f in model.feature_names):
            drop = [h for h in header if h not in model.feature_names]
            # read_csv needs a target column: use a dropped one, or read features only
            if drop:
                t = jdata.read_csv(path, target=drop[0], drop=drop[1:])
                X = t.X[:, [t.feature_names.index(f) for f in model.feature_names]]
            else:
                X = _read_all_columns(path, header)
                X = X[:, [header.index(f) for f in model.feature_names]]
        else:
            X = _read_all_columns(path, header)
            if X.shape[1] != model.n_features:
                missing = [f for f in model.feature_names if f not in header][:3]
                raise UserError(f"--data: the model expects {model.n_features} features "
                                f"(e.g. {', '.join(map(repr, missing))} missing), the file has "
                                f"{X.shape[1]} columns")
    if X.shape[1] != model.n_features:
        raise UserError(f"--data: the model expects {model.n_features} features, the file has "
                        f"{X.shape[1]}")
    pred = model.predict(X)
    proba = model.predict_proba(X)
    lines = ["row,prediction" + "".join(f",p_{c}" for c in model.class_names)
             if proba is not None else "row,prediction"]
    for i, p in enumerate(pred):
        row = f"{i},{model.class_names[p]}"
        if proba is not None:
            row += "".join(f",{v:.6g}" for v in proba[i])
        lines.append(row)
    text = "\n".join(lines) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _read_all_columns(path, header):
    """Every column of a numeric CSV as features (a file without a target column)."""
    from jaxlin import data as jdata

    dummy = header[-1]
    t = jdata.read_csv(path, target=dummy)
    return np.concatenate([t.X, t.y[:, None]], axis=1) if len(header) > 1 else t.y[:, None]


# ---------------------------------------------------------------------------- out of core

def _cmd_convert(args) -> int:
    from jaxlin import stream

    if not os.path.exists(args.csv):
        raise UserError(f"convert: no such file: {args.csv}")
    if not args.out.endswith(".npy"):
        raise UserError(f"convert: the output must end in .npy, got {args.out!r}")
    if args.chunk_rows <= 0:
        raise UserError(f"--chunk-rows: must be a positive integer, got {args.chunk_rows}")
    t = time.perf_counter()
    meta = stream.convert_csv(args.csv, args.out, chunk_rows=args.chunk_rows)
    print(f"wrote {args.out}: {meta['rows']} rows × {len(meta['columns'])} columns "
          f"(float32, {os.path.getsize(args.out) / 2**20:.1f} MiB) in "
          f"{time.perf_counter() - t:.1f} s; column names in {args.out}.json")
    return 0


def _cmd_train_stream(args) -> int:
    """``jaxlin train --stream``: mini-batch training from disk, one chunk in memory."""
    from jaxlin import model_io, stream
    from jaxlin.models import TrainedModel, loss_for

    if not os.path.exists(args.data):
        raise UserError(f"--data: --stream needs a .npy or CSV file, got {args.data!r}")
    spec = MODELS.get(args.model)
    if spec is None:
        raise UserError(f"--model: unknown model {args.model!r}; choose one of "
                        f"{', '.join(MODELS)}")
    if args.n_classes is not None and args.n_classes < 2:
        raise UserError(f"--n-classes: must be at least 2, got {args.n_classes}")
    n_classes = args.n_classes or 2
    loss = loss_for(spec, n_classes)
    drop = [c.strip() for item in args.drop for c in item.split(",") if c.strip()]
    src = stream.open_source(args.data, args.target, drop, args.chunk_rows)
    epochs = args.epochs or 5
    progress = _progress_bar(epochs) if sys.stderr.isatty() and not args.quiet else None
    t = time.perf_counter()
    try:
        r = stream.fit_stream(src, loss, batch_size=args.batch_size or 256, epochs=epochs,
                              optimizer=args.optimizer or "sgd", learning_rate=args.lr or 0.01,
                              l1=args.l1 or 0.0, l2=args.l2 or 0.0,
                              n_classes=n_classes if n_classes > 2 else None,
                              seed=args.seed, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - t
    d = len(src.feature_names)
    model = TrainedModel(args.model, loss, np.asarray(r.params.W, np.float64),
                         np.asarray(r.params.b, np.float64), np.zeros(d), np.ones(d),
                         src.feature_names, [str(i) for i in range(n_classes)])
    if args.save:
        model_io.save(model, args.save)
    if not args.quiet:
        print(f"jaxlin train --stream — {os.path.basename(args.data)}: {src.n_rows} rows × {d} "
              f"features, {src.n_chunks} chunks of ≤ {src.chunk_rows} rows")
        print(f"  model {args.model} ({loss}), {args.optimizer or 'sgd'}, batch "
              f"{args.batch_size or 256}, {epochs} epochs in {seconds:.2f} s "
              f"({src.n_rows * epochs / seconds:,.0f} rows/s, compilation included)")
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
        print(f"{name:12} {d.X.shape[0]:>7} {d.X.shape[1]:>9} {len(d.class_names):>8}  "
              f"{d.description}")
    return 0


# ---------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jaxlin",
                     description="Linear classifiers in JAX with hand-derived gradients.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser("check", help="verify every hand-derived gradient against autodiff")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--seed", type=int, default=0, help="seed of the random test points")
    check.set_defaults(func=_cmd_check)

    train = sub.add_parser("train", help="train a model and print its evaluation report")
    train.add_argument("--data", default="kidcreative",
                       help="a bundled dataset (kidcreative, spambase, mnist) or a CSV/IDX file")
    train.add_argument("--target", help="CSV: the label column (default: the last column)")
    train.add_argument("--drop", action="append", default=[],
                       help="CSV: column(s) to leave out, comma-separated or repeated")
    train.add_argument("--labels", help="IDX: the labels file (default: guessed from --data)")
    train.add_argument("--model", default="logistic", help=f"one of {', '.join(MODELS)}")
    train.add_argument("--optimizer", help=f"one of {', '.join(OPTIMIZER_CHOICES)} "
                                           "(default: per model)")
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--adaptive-lr", action="store_true",
                       help="bold driver: grow η ×1.05 after a good step, halve after a bad one")
    train.add_argument("--epochs", type=int, help="maximum number of epochs")
    train.add_argument("--batch-size", type=int, help="mini-batch size (sgd, adam)")
    train.add_argument("--l1", type=float, help="L1 strength λ (R = λ Σ|w|)")
    train.add_argument("--l2", type=float,
                       help="L2 strength λ (R = λ Σw²); default 1/(2N), scikit-learn's C = 1")
    train.add_argument("--elastic-net", type=float, help="elastic-net strength λ")
    train.add_argument("--l1-ratio", type=float, default=0.5, help="elastic-net α (default 0.5)")
    train.add_argument("--tol", type=float, help="stop when |J_t − J_(t−1)| < tol")
    train.add_argument("--seed", type=int, default=0, help="seed of the split and the training")
    train.add_argument("--train-fraction", type=float, default=2 / 3,
                       help="fraction of rows for training (default 2/3)")
    train.add_argument("--validation-fraction", type=float, default=0.0,
                       help="fraction of the training rows held out for validation")
    train.add_argument("--patience", type=int, help="early stopping patience (epochs)")
    train.add_argument("--stratify", action="store_true", help="stratified split")
    train.add_argument("--standardize", dest="standardize", action="store_true", default=None,
                       help="standardise features with the training statistics (default, "
                            "except mnist)")
    train.add_argument("--no-standardize", dest="standardize", action="store_false",
                       help="use the features as they are")
    train.add_argument("--init", default="zeros", choices=("zeros", "uniform"),
                       help="initial parameters")
    train.add_argument("--json", metavar="PATH", help="write the full report as JSON ('-': stdout)")
    train.add_argument("--plot", metavar="DIR", help="write PNG figures into DIR")
    train.add_argument("--save", metavar="PATH", help="save the model (.npz)")
    train.add_argument("--quiet", action="store_true", help="print nothing")
    train.add_argument("--devices", type=_devices, help="shard the rows over N local devices "
                                                       "(or 'auto': all)")
    train.add_argument("--stream", action="store_true",
                       help="train from disk chunk by chunk (a .npy from 'jaxlin convert', or a "
                            "CSV); mini-batch SGD, no evaluation report")
    train.add_argument("--chunk-rows", type=int, default=65536, help="--stream: rows per chunk")
    train.add_argument("--n-classes", type=int, help="--stream: number of classes (default 2)")
    train.set_defaults(func=_cmd_train)

    conv = sub.add_parser("convert", help="write a CSV as a float32 .npy, chunk by chunk")
    conv.add_argument("csv", help="the CSV file (with a header)")
    conv.add_argument("out", help="the .npy to write")
    conv.add_argument("--chunk-rows", type=int, default=65536, help="rows held in memory")
    conv.set_defaults(func=_cmd_convert)

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True, metavar="PATH", help="a model saved by --save")
    predict.add_argument("--data", required=True, metavar="FILE", help="a CSV or IDX file")
    predict.add_argument("--output", metavar="FILE", help="write the CSV here (default: stdout)")
    predict.set_defaults(func=_cmd_predict)

    ds = sub.add_parser("datasets", help="list the bundled datasets")
    ds.set_defaults(func=_cmd_datasets)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UserError as exc:
        print(f"jaxlin: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"jaxlin {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jaxlin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
