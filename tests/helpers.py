"""Small shared helpers for the tests (random problems away from kinks, relative errors, a
subprocess's events, scikit-learn's test functions narrowed to the bridge)."""

import os
import subprocess
import sys
import textwrap
import time
import types

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.linear import init_params


def rel_err(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-15))


def random_problem(loss, key, n, d, k, margin=1e-3, l1=False, dtype=jnp.float64):
    """X (n, d), targets (n, k) and parameters, every example ≥ margin from a kink of the loss."""
    for _ in range(200):
        kx, ky, kp, key = jax.random.split(key, 4)
        X = jax.random.normal(kx, (n, d), dtype)
        if loss.target == "real":
            T = jax.random.normal(ky, (n, k), dtype)
        elif loss.target == "binary":
            T = jax.random.bernoulli(ky, 0.5, (n, k)).astype(dtype)
        else:
            T = jax.nn.one_hot(jax.random.randint(ky, (n,), 0, k), k, dtype=dtype)
        params = init_params(kp, d, k, "uniform", dtype)
        params = params._replace(W=2.0 * params.W)
        if loss.kink_distance is not None:
            Z = X @ params.W + params.b
            if float(jnp.min(jax.vmap(loss.kink_distance)(Z, T))) < margin:
                continue
        if l1 and float(jnp.min(jnp.abs(params.W))) < margin:
            continue
        return params, X, T
    raise RuntimeError("no point away from the kinks")


def wait_for_event(happened, proc, what: str, seconds: float = 600.0):
    """Wait until ``happened()`` while the subprocess ``proc`` runs. A wait for an event, not a
    speed bar: the limit is generous so a loaded machine cannot fail it; the test fails if
    ``proc`` ends first or the limit passes, saying ``what`` never happened."""
    deadline = time.monotonic() + seconds
    while not happened():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened (process exit code {proc.poll()})")
        time.sleep(0.01)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, drop=(), **env):
    """``code`` in a fresh Python process run from the repository root (JAX reads its
    settings once per process): the environment without the variables in ``drop``, with
    ``env`` added. Returns the completed process (its output captured as text)."""
    base = {k: v for k, v in os.environ.items() if k not in drop}
    base.update(PYTHONPATH=ROOT, **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=base,
    )


def param_values(entry):
    """The values of one ``parametrize`` entry: a ``pytest.param``'s, a tuple's, or the value
    (a dict or a class is one value, though it has a ``values`` method)."""
    if isinstance(getattr(entry, "values", None), tuple):
        return entry.values
    return entry if isinstance(entry, tuple) else (entry,)


def names_in_code(fn, pattern: str) -> bool:
    """Whether the source of ``fn`` (its code, not its comments) matches the regular
    expression ``pattern``: a test of scikit-learn's that builds the estimator it names."""
    import inspect
    import re

    lines = inspect.getsource(fn).splitlines()
    return any(re.search(pattern, line.split("#")[0]) for line in lines)


def narrowed(fn, keep):
    """A copy of the test function ``fn`` (one of scikit-learn's, run against the bridge)
    whose ``parametrize`` marks keep only the entries ``keep(entry)`` accepts; ``None`` when
    a mark keeps none."""
    import pytest

    marks = []
    for m in getattr(fn, "pytestmark", []):
        if m.name == "parametrize":
            entries = [v for v in m.args[1] if keep(v)]
            if not entries:
                return None
            m = pytest.mark.parametrize(m.args[0], entries, **m.kwargs).mark
        marks.append(m)
    new = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )  # a decorated test (scikit-learn's config_context) keeps its closure
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__dict__.update(fn.__dict__)
    new.pytestmark = marks
    return new


def sorted_tests(source, namespace, not_applicable, narrow):
    """scikit-learn's test functions of ``source`` (executed into ``namespace``) sorted for
    the bridge: ``(all names, {name: narrowed function} to run, names narrowed to nothing)``,
    leaving out the ``not_applicable`` ones; ``narrow(fn)`` is ``None`` for a test that does
    not concern the bridge."""
    import re

    names = sorted(re.findall(r"^def (test_\w+)", source, re.M))
    run, not_ours = {}, []
    for name in names:
        if name in not_applicable:
            continue
        fn = narrow(namespace[name])
        if fn is None:
            not_ours.append(name)
        else:
            run[name] = fn
    return names, run, not_ours
