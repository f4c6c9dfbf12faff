"""L2-regularised logistic regression, as benchopt's public ``benchmark_logreg_l2`` states it:
``Σ_i log(1 + exp(−y_i x_iᵀβ)) + λ/2 ‖β‖²`` with ``y ∈ {−1, +1}`` and no intercept."""

from benchopt import BaseObjective, safe_import_context

with safe_import_context() as import_ctx:
    import numpy as np


class Objective(BaseObjective):
    name = "L2 Logistic Regression"
    min_benchopt_version = "1.5"
    parameters = {"lmbd": [1.0]}

    def set_data(self, X, y):
        self.X, self.y = X, y

    def evaluate_result(self, beta):
        z = self.y * (self.X @ beta)
        return dict(value=float(np.logaddexp(0.0, -z).sum() + 0.5 * self.lmbd * beta @ beta))

    def get_one_result(self):
        return dict(beta=np.zeros(self.X.shape[1]))

    def get_objective(self):
        return dict(X=self.X, y=self.y, lmbd=self.lmbd)
