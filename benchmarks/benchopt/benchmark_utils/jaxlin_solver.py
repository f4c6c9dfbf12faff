"""jaxlin in benchopt, shared by the solver files: its solvers on the objective
``Σ log(1 + exp(−y xᵀβ)) + λ/2 ‖β‖²`` (intercept optional, last in ``β``).

jaxlin minimises the mean loss ``+ l2 ‖β‖²``: the same minimiser with ``l2 = λ / (2N)``. The
run is one compiled program; ``epochs`` is a traced value (runs whose limits fall in one
bucket, up to 16,384, share a program), so every number of iterations benchopt asks for runs
the program compiled once, at warm-up. With the ``callback`` strategy one run records every
epoch through jaxlin's per-epoch callback.
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxlin
from jaxlin.backend import precision


class JaxlinLogreg:
    """The methods of a benchopt solver; the solver class sets ``sampling_strategy``
    (``"iteration"`` or ``"callback"``) and the parameter ``solver``."""

    def set_objective(self, X, y, lmbd, fit_intercept=False):
        # the public benchmark_logreg_l2 passes fit_intercept too (the intercept, unpenalised
        # as jaxlin's bias is, goes last in beta)
        # X moves to the device once, not in every run (on the CPU a copy of X each call);
        # each run's check of X for NaN and infinity is its first objective's (no extra read)
        with precision(jnp.float64):
            self.X = jax.device_put(X) if isinstance(X, np.ndarray) else X
        self.y, self.fit_intercept = y, fit_intercept
        self.l2 = lmbd / (2 * X.shape[0])
        self.beta = np.zeros(X.shape[1] + int(fit_intercept))

    def _beta(self, params):
        W, b = np.asarray(params.W)[:, 0], np.asarray(params.b)
        return np.concatenate([W, b]) if self.fit_intercept else W

    def _fit(self, epochs, callback=None):
        return jaxlin.fit(
            self.X,
            self.y,
            "binary_cross_entropy",
            optimizer=self.solver,
            l2=self.l2,
            epochs=epochs,
            tol=0,
            grad_tol=0,
            fit_intercept=self.fit_intercept,
            dtype=jnp.float64,
            callback=callback,
        )

    MAX_EPOCHS = 10_000  # the callback strategy's limit (benchopt stops it before)

    def warm_up(self):  # the compilation, outside the timed runs
        if self.sampling_strategy == "iteration":
            self._fit(1)
        else:
            self._fit(self.MAX_EPOCHS, callback=lambda *_: True)

    def run(self, budget):
        if self.sampling_strategy == "iteration":  # budget: the number of iterations
            self.beta = self._beta(self._fit(budget).params)
            return

        def each_epoch(epoch, params, objective):  # budget: benchopt's callback
            self.beta = self._beta(params)
            return not budget()  # benchopt's callback says whether to go on; ours, to stop

        if budget():
            self._fit(self.MAX_EPOCHS, callback=each_epoch)

    def get_result(self):
        return dict(beta=self.beta)
