"""Named models for the command line: which loss and solver each uses, and the trained model.

A ``ModelSpec`` says which loss a model name means for binary and for multi-class
labels, and its default solver. ``TrainedModel`` is everything needed to use a
fitted model on raw features: its parameters, the standardisation statistics of its
training data, the feature and class names.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from jaxlin.solvers.gradient import SGD
from jaxlin.solvers.lbfgs import LBFGS
from jaxlin.solvers.perceptron import PERCEPTRON

SMOOTH = LBFGS.name  # the default solver of the smooth models


class ModelSpec(NamedTuple):
    name: str
    binary_loss: str
    multiclass_loss: Optional[str]  # None: binary only
    optimizer: str  # default solver
    description: str
    one_vs_rest: bool = False
    penalised: bool = True  # default L2 = scikit-learn's C = 1
    multiclass_options: Optional[dict] = None  # options over the defaults for > 2 classes


MODELS = {
    m.name: m
    for m in [
        ModelSpec(
            "linear",
            "squared_error",
            "squared_error",
            SMOOTH,
            "least squares on 0/1 (one-hot) targets, decide at 0.5 (argmax)",
        ),
        ModelSpec(
            "perceptron",
            "squared_error_step",
            "multiclass_perceptron",
            PERCEPTRON.name,
            "Rosenblatt's perceptron (multi-class: the perceptron loss by SGD)",
            penalised=False,
            multiclass_options=dict(optimizer=SGD.name, batch_size=1, learning_rate=1.0),
        ),
        ModelSpec(
            "logistic",
            "binary_cross_entropy",
            None,
            SMOOTH,
            "logistic regression (binary cross-entropy)",
        ),
        ModelSpec(
            "softmax",
            "softmax_cross_entropy",
            "softmax_cross_entropy",
            SMOOTH,
            "softmax (multinomial logistic) regression",
        ),
        # K binary logistic models; their objectives decouple, so the sum (the one-vs-rest
        # sum) trained as one program has the same minimiser as K separate fits
        # (jaxlin.fit(one_vs_rest=True) trains them as K vmapped runs, each with its own
        # stopping).
        ModelSpec(
            "ovr",
            "binary_cross_entropy",
            "one_vs_rest_logistic",
            SMOOTH,
            "one-vs-rest logistic regression: K sigmoids, Σ_k BCE",
        ),
        ModelSpec(
            "svm",
            "hinge",
            "multiclass_hinge",
            SGD.name,
            "linear SVM: hinge (multi-class: Weston–Watkins)",
        ),
        ModelSpec(
            "squared-hinge",
            "multiclass_squared_hinge",
            "multiclass_squared_hinge",
            SMOOTH,
            "linear SVM with the squared hinge (Weston–Watkins)",
        ),
    ]
}


def loss_for(spec: ModelSpec, n_classes: int) -> str:
    """The loss a model uses for ``n_classes`` classes; a clear error if it cannot."""
    if n_classes <= 2:
        return spec.binary_loss
    if spec.multiclass_loss is None:
        raise ValueError(
            f"model: {spec.name!r} is a binary model but the labels have "
            f"{n_classes} classes; use softmax, ovr or svm"
        )
    return spec.multiclass_loss


class TrainedModel(NamedTuple):
    """A fitted model ready for raw features: ``Z = ((X − mean) / scale) W + b``."""

    kind: str
    loss: str
    W: np.ndarray  # (d, K)
    b: np.ndarray  # (K,)
    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    feature_names: list
    class_names: list
    encoding: Optional[str] = None  # JSON of jaxlin.tables.Encoding: a CSV's columns → X
    classes: Optional[np.ndarray] = None  # (C,) the labels predict gives (None: label_values)

    @property
    def labels(self) -> np.ndarray:
        """The label of each class, in order, as ``predict`` gives them: ``classes`` when the
        model keeps its labels' own values (a ``FitResult``'s text, booleans, ±1), else
        ``label_values(class_names)``."""
        return label_values(self.class_names) if self.classes is None else self.classes

    @property
    def n_features(self) -> int:
        return self.W.shape[0]

    def _check(self, X):
        """``X`` checked as any input is (numeric, finite, 2-D, not empty; sparse stays
        sparse), with the model's width; dense on the host in float64."""
        from jaxlin import sparse, validation  # imported on use: the help stays light

        if X is not None and not sparse.is_sparse(X) and np.ndim(X) != 2:
            raise ValueError(
                f"X: the model expects rows of {self.n_features} features (N, "
                f"{self.n_features}), got shape {np.shape(X)}"
            )
        generated = list(self.feature_names) == [f"x{j}" for j in range(self.n_features)]
        validation.check_column_names(X, None if generated else self.feature_names)
        X = validation.check_features(X, "X")
        if X.shape[1] != self.n_features:
            raise ValueError(f"X: the model expects {self.n_features} features, got {X.shape[1]}")
        return X if sparse.is_sparse(X) else np.asarray(X, np.float64)

    def standardized(self, X):
        """``(X − mean) / scale``: the features the weights apply to (sparse stays sparse)."""
        from jaxlin.data import Standardizer

        return Standardizer(self.mean, self.scale).transform(self._check(X))

    def decision_function(self, X) -> np.ndarray:
        """Scores ``(N, K)``. For sparse ``X`` and a model that centres its features (one
        trained on dense rows) the centring moves into the weights, so ``X`` stays sparse:
        ``((X − m) / s) W + b = X (W / s) + (b − (m / s) W)``."""
        from jaxlin import sparse

        if sparse.is_sparse(X) and np.any(self.mean != 0):
            X = self._check(X)
            W = self.W / self.scale[:, None]
            return np.asarray(X @ W) + (self.b - (self.mean / self.scale) @ self.W)
        return np.asarray(self.standardized(X) @ self.W) + self.b

    def predict_codes(self, X) -> np.ndarray:
        """Class indices ``(N,)`` ``0..C−1`` into ``class_names`` (class 1 when ``z ≥ 0``;
        0.5 for least squares; else the highest score)."""
        from jaxlin import decision  # JAX only when a model is used: the CLI's help stays light

        return decision.predict_labels(self.loss, self.decision_function(X)).astype(np.int64)

    def predict(self, X) -> np.ndarray:
        """Predicted labels ``(N,)``: ``labels[predict_codes(X)]`` — the labels the model was
        trained on (a saved ``FitResult`` predicts as it did before saving)."""
        return self.labels[self.predict_codes(X)]

    @property
    def has_proba(self) -> bool:
        """Whether the model's loss gives class probabilities (``predict_proba``)."""
        from jaxlin import decision

        return decision.has_proba(self.loss)

    @property
    def predict_proba(self):
        """``X ↦`` class probabilities ``(N, C)`` where the loss models them; with another
        loss the model has no such method (``AttributeError``, as a scikit-learn
        estimator's)."""
        from jaxlin import decision

        return decision.proba_method(self.loss, self.decision_function)


def label_values(class_names) -> np.ndarray:
    """Class names as label values: numbers when every name is one (integers when whole:
    ``"0"``, ``"1"`` → ``0``, ``1``), else the names as text."""
    names = [str(c) for c in class_names]
    try:
        values = np.array([float(c) for c in names])
    except ValueError:
        return np.array(names)
    if not np.all(np.isfinite(values)):
        return np.array(names)
    return values.astype(np.int64) if np.all(values == np.round(values)) else values


def typed_labels(classes) -> np.ndarray:
    """A result's class labels as an array a model file holds without pickle: text, booleans
    or numbers (an object array of strings becomes text)."""
    a = np.asarray(classes)
    if a.dtype.kind == "O":
        a = np.array(a.tolist())
        if a.dtype.kind == "O":
            a = a.astype(str)
    return a


def as_trained_model(model) -> TrainedModel:
    """``model`` as a ``TrainedModel``: itself, or a ``FitResult`` of one model (from
    ``jaxlin.fit``) with its features as they are (no standardisation)."""
    if isinstance(model, TrainedModel):
        return model
    from jaxlin.training import FitResult

    if not isinstance(model, FitResult):
        raise TypeError(
            "model: expected a TrainedModel (jaxlin.model_io.load) or a FitResult "
            f"(jaxlin.fit), got {type(model).__name__}"
        )
    W, b = np.asarray(model.params.W, np.float64), np.asarray(model.params.b, np.float64)
    if W.ndim != 2:
        raise ValueError(f"model: one model at a time (this result holds {W.shape[0]})")
    if not isinstance(model.loss, str):
        raise ValueError(
            "model: a result of a built-in loss or of one given as 'MODULE:ATTR' (a Loss "
            "object has no name a model file or report can keep)"
        )
    d = W.shape[0]
    n = model.n_classes or 2
    names = list(range(n)) if model.classes is None else list(np.asarray(model.classes))
    features = model.feature_names or [f"x{j}" for j in range(d)]
    classes = None if model.classes is None else typed_labels(model.classes)
    return TrainedModel(
        model.loss, model.loss, W, b, np.zeros(d), np.ones(d),
        list(features), [str(c) for c in names], classes=classes,
    )  # fmt: skip
