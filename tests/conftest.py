import os

# scikit-learn's array-API check (NumPy inputs with dispatch on) runs only with this set,
# and it must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# The command line turns on a persistent compilation cache in ~/.cache/jaxlin; the suite does
# not use that folder (tests of the cache set their own). It keeps one of its own for the run
# instead (``pytest_configure``).
os.environ["JAXLIN_CACHE_DIR"] = "off"
# The suite compiles thousands of small programs and runs most of them for milliseconds, so
# XLA's backend optimisation (its LLVM passes) costs more than it saves: the workers, and the
# processes the tests start (they inherit the variable), ask XLA for less (a fifth of the
# suite's time). The tests marked ``fully_optimised`` get a user's programs: those that run a
# long loop, and those that compare rounding itself (two programs equal bit for bit, a stop
# at the float resolution), which the less optimised code rounds differently. Set the
# variable to 0 to run every test on fully optimised programs.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
# For the same reason the suite's programs use XLA:CPU's classic fusion emitters, which
# compile a small program in 55–60 % of the time: the training programs on small data use
# them anyway (``jaxlin.backend.QUICK_EMITTERS``), and now the suite's other programs (the
# objectives, the checks, the bridge's) do too — a fifth of the time of the gradient,
# verification and bridge tests (273 → 220 s).
# And XLA:CPU's LLVM code generation runs in one piece instead of splitting each module for
# parallel compilation: with the workers already on every core, the split's threads cost
# more than they give back on these small modules (the bridge's estimator checks: backend
# compilation 165 → 135 s, the module 3.6 → 3.3 min on 2 cores). A user's own choice in
# XLA_FLAGS is kept.
for _flag in ("xla_cpu_use_fusion_emitters=false", "xla_cpu_parallel_codegen_split_count=1"):
    if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), f"--{_flag}"]).strip()

import shutil  # noqa: E402
import tempfile  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

_RUN_CACHE = "JAXLIN_TEST_RUN_CACHE"


def pytest_configure(config):
    """One persistent compilation cache for the whole run, in a fresh temporary folder: the
    workers, and the processes the command-line tests start (hundreds), load a program that
    another one compiled instead of compiling it again (the workers also let go of their
    compiled programs after each module, below). The first process (xdist's controller, which
    starts the workers with its environment) makes the folder and removes it at the end."""
    if _RUN_CACHE not in os.environ and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        os.environ[_RUN_CACHE] = tempfile.mkdtemp(prefix="jaxlin-test-run-cache-")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = os.environ[_RUN_CACHE]
        config._jaxlin_run_cache = os.environ[_RUN_CACHE]
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


# The workers take whole test modules (``--dist loadfile``, pyproject.toml): the programs a
# module's tests share are compiled by one worker instead of by both, which took a tenth off the
# suite's CPU time (36.3 → 32.2 min on 2 cores). A module is one unit of work, so they are handed
# out longest first (their measured time on 2 cores, seconds in a comment) and the two workers
# finish together; the modules not listed are short and follow in their own order.
LONGEST_FIRST = (
    "tests/test_sklearn.py",  # 280
    "tests/test_sklearn_meta.py",  # 230
    "tests/test_benchmarks.py",  # 180
    "tests/test_sklearn_logistic.py",  # 127
    "tests/test_fit.py",  # 113
    "tests/test_gradients.py",  # 99
    "tests/test_sklearn_sgd.py",  # 98
    "tests/test_newton.py",  # 95
    "tests/test_sparse.py",  # 67
    "tests/test_numerics.py",  # 58
    "tests/test_dcd.py",  # 54
    "tests/test_docs.py",  # 50
    "tests/test_stream.py",  # 49
    "tests/test_first_results.py",  # 42
    "tests/test_cli.py",  # 41
    "tests/test_sgd_schedules.py",  # 38
    "tests/test_verify.py",  # 37
    "tests/test_training_datasets.py",  # 36
    "tests/test_checkpoint.py",  # 31
    "tests/test_backend.py",  # 30
    "tests/test_scale.py",  # 28
    "tests/test_sklearn_ridge.py",  # 27
    "tests/test_cache.py",  # 25
    "tests/test_penalties_hessian.py",  # 24
)


def pytest_collection_modifyitems(config, items):
    """The listed modules first, longest first (a stable sort: each module's tests keep
    their order)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_unconfigure(config):
    path = getattr(config, "_jaxlin_run_cache", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)


# a script the multi-host test starts in subprocesses, not a test module (nor doctests)
collect_ignore = ["_multihost_worker.py"]

# Gradient checks run in float64; float32 tests ask for float32 explicitly.
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(20261122)


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture, for its test modules run against the bridge (its
    default seed)."""
    return 42


# Every compiled XLA:CPU program keeps its machine code in memory mappings (about 200 for an
# L-BFGS run), and a process may hold at most vm.max_map_count of them (65,530 by default):
# the suite compiles thousands of programs, so each worker lets go of the compiled programs
# after each test module, and within a module once the mappings pass half the limit.
_MAP_LIMIT = 30_000
_seen = {"tests": 0}


def _release_compiled_programs():
    import gc

    from jaxlin import backend

    jax.clear_caches()
    backend._jitted.cache_clear()
    gc.collect()


def _mappings() -> int:
    try:
        with open("/proc/self/maps", "rb") as fh:
            return fh.read().count(b"\n")
    except OSError:  # not Linux: no such limit to watch
        return 0


@pytest.fixture(autouse=True, scope="module")
def _fresh_programs_per_module():
    yield
    _release_compiled_programs()


@pytest.fixture(autouse=True)
def _bounded_mappings():
    yield
    _seen["tests"] += 1
    if _seen["tests"] % 10 == 0 and _mappings() > _MAP_LIMIT:
        _release_compiled_programs()


@pytest.fixture(autouse=True)
def _fully_optimised(request, monkeypatch):
    """A test marked ``fully_optimised`` compiles (and starts processes that compile) with
    XLA's full optimisation; the programs compiled the other way are let go before and after
    it (JAX's in-memory caches do not tell the two apart)."""
    reduced = os.environ.get("JAX_DISABLE_MOST_OPTIMIZATIONS") == "1"  # (set above)
    if request.node.get_closest_marker("fully_optimised") is None or not reduced:
        yield
        return
    monkeypatch.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "0")
    jax.config.update("jax_disable_most_optimizations", False)
    _release_compiled_programs()
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", True)
        _release_compiled_programs()


@pytest.fixture
def row_blocks(monkeypatch):
    """``row_blocks(block_bytes)``: the one-pass gradient over row blocks of ``block_bytes``
    (at least 256 rows), taken at any size and on any platform. The route is the CPU's;
    on a GPU or TPU a test that asks for it still checks the same sums."""
    from jaxlin import backend, objective

    def force(block_bytes):
        monkeypatch.setattr(backend, "platform", lambda: "cpu")
        monkeypatch.setattr(objective, "MIN_BLOCKED_BYTES", 0)
        monkeypatch.setattr(objective, "BLOCK_BYTES", {1: block_bytes, "many": block_bytes})

    return force
