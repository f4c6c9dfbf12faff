"""PNG figures of a training run (needs the ``plot`` extra: matplotlib)."""

from __future__ import annotations

import os

import numpy as np


def _plt():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError("plot: --plot needs matplotlib; pip install 'jaxlin[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def objective_curve(history: dict, path: str, title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    J = np.asarray(history["objective"], dtype=float)
    e = np.arange(1, len(J) + 1)
    ax.plot(e, J, label="training objective", lw=2)
    v = np.asarray(history.get("val_objective") or [np.nan], dtype=float)
    if np.any(np.isfinite(v)):
        ax.plot(np.arange(1, len(v) + 1), v, label="validation loss", lw=2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("objective J")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    if np.all(J[np.isfinite(J)] > 0) and np.nanmax(J) / max(np.nanmin(J), 1e-300) >= 10:
        ax.set_yscale("log")  # the curve spans a decade or more
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def confusion(cm, class_names, path: str, title: str):
    plt = _plt()
    cm = np.asarray(cm)
    k = cm.shape[0]
    size = max(4.0, 0.55 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=110)
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), [str(c) for c in class_names], rotation=45 if k > 6 else 0)
    ax.set_yticks(range(k), [str(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    thresh = cm.max() / 2.0
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=9 if k > 6 else 12,
                color="white" if cm[i, j] > thresh else "black",
            )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def roc(fpr, tpr, auc_value: float, path: str, title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    ax.plot(fpr, tpr, lw=2, label=f"model (AUC = {auc_value:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="gray", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def decision_boundary(model, X, y, feature_names, class_names, path: str, title: str):
    """Decision regions of a 2-feature model over the data's range, with the data on top
    (sparse rows made dense: two columns)."""
    plt = _plt()
    X = np.asarray(X.toarray() if hasattr(X, "toarray") else X, float)
    pad = 0.1 * (X.max(0) - X.min(0) + 1e-12)
    lo, hi = X.min(0) - pad, X.max(0) + pad
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.c_[g0.ravel(), g1.ravel()]
    from jaxlin.models import as_trained_model  # a FitResult too: its class indices

    regions = as_trained_model(model).predict_codes(grid).reshape(g0.shape)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    k = len(class_names)
    cmap = plt.get_cmap("tab10")
    ax.contourf(
        g0,
        g1,
        regions,
        levels=np.arange(k + 1) - 0.5,
        colors=[cmap(i) for i in range(k)],
        alpha=0.25,
    )
    for i, name in enumerate(class_names):
        m = np.asarray(y) == i
        ax.scatter(X[m, 0], X[m, 1], s=14, color=cmap(i), edgecolor="k", lw=0.3, label=str(name))
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_all(rep: dict, model, X_test, y_test, out_dir: str) -> list:
    """Write every figure that fits the run into ``out_dir``; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    name = rep["data"]["name"]
    paths = []
    p = os.path.join(out_dir, "objective.png")
    objective_curve(rep["history"], p, f"{name}: {rep['settings']['model']} — objective per epoch")
    paths.append(p)
    p = os.path.join(out_dir, "confusion_matrix.png")
    confusion(
        rep["test"]["confusion_matrix"],
        rep["data"]["class_names"],
        p,
        f"{name}: confusion matrix (test)",
    )
    paths.append(p)
    if "roc_curve" in rep["test"]:
        p = os.path.join(out_dir, "roc.png")
        roc(
            rep["test"]["roc_curve"]["fpr"],
            rep["test"]["roc_curve"]["tpr"],
            rep["test"]["roc_auc"],
            p,
            f"{name}: ROC curve (test)",
        )
        paths.append(p)
    if model.n_features == 2:
        p = os.path.join(out_dir, "decision_boundary.png")
        decision_boundary(
            model,
            X_test,
            y_test,
            model.feature_names,
            model.class_names,
            p,
            f"{name}: decision regions (test data)",
        )
        paths.append(p)
    return paths
