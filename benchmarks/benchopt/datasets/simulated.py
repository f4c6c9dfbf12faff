"""A simulated problem: Gaussian features, labels ±1 from a noisy linear model."""

from benchopt import BaseDataset, safe_import_context

with safe_import_context() as import_ctx:
    import numpy as np


class Dataset(BaseDataset):
    name = "Simulated"
    parameters = {"n_samples, n_features": [(2_000, 50)]}

    def get_data(self):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((self.n_samples, self.n_features))
        y = np.sign(X @ rng.standard_normal(self.n_features) + rng.standard_normal(self.n_samples))
        return dict(X=X, y=y)
