"""Which device the arithmetic runs on, and the two rules that depend on it.

* **CPU-specific optimisations** (the one-pass blocked gradient sized for CPU caches, the
  layout barrier of ``jaxlin.linear.contract``) apply only on the CPU
  (``cpu_tricks``); on GPU and TPU the plain fused form is left to XLA.
* **The precision rule** (``compute_dtype``, ``precision``): data is computed in
  the floating type asked for (``dtype=`` of ``jaxlin.fit``, or the type of ``X`` in the
  scikit-learn bridge), with matrix products at that type's full precision on every
  platform (not TF32 or bfloat16 passes). float64 is honoured on CPU and GPU through JAX's
  *scoped* x64 mode, so no global flag is needed; a TPU has no native float64, so there
  float64 becomes float32 with one warning. See the docs page "Running on accelerators".

The platform is asked of JAX each time (a stub in a test replaces ``platform``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import warnings

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["platform", "cpu_tricks", "compute_dtype", "precision"]

FLOATS = (np.float32, np.float64)


def platform() -> str:
    """The platform computations are placed on: ``"cpu"``, ``"gpu"`` or ``"tpu"``.

    JAX's default device when one is configured (``jax.default_device``), else its default
    backend. (``"cuda"`` and ``"rocm"`` are reported as ``"gpu"``.)
    """
    dev = getattr(jax.config, "jax_default_device")
    name = (
        dev.platform
        if dev is not None and hasattr(dev, "platform")
        else (dev if isinstance(dev, str) else jax.default_backend())
    )
    return "gpu" if name in ("cuda", "rocm") else name


def cpu_tricks() -> bool:
    """Whether the CPU-tuned forms (row blocks, the layout barrier) are used."""
    return platform() == "cpu"


# When one step reads less than this, a step takes microseconds to a millisecond and the
# program's compilation most of a second: XLA:CPU's classic fusion emitters compile it in
# about 55–60 % of the time (benchmarks/RESULTS.md, case 11). On larger float32 full batches
# they run up to 1.8× slower (Spambase's 1.05 MB: gradient descent 65 vs 36 ms, L-BFGS 24
# vs 16 ms), so those keep XLA's defaults; float64 runs at most 1.25× slower up to 4 MiB
# (Spambase's 2 MiB: the same speed, compilation 0.95 → 0.52 s), so its limit is 4 times
# higher.
#
# They also get LLVM's lighter optimisation level (XLA's ``xla_backend_optimization_level``
# 1 instead of its default): the Newton program on 3,712 × 57 float64 rows compiles in
# 0.64–0.68 s instead of 0.77–0.78 s, L-BFGS's in 0.68–0.71 instead of 0.79–0.80, and
# their steps run as fast (benchmarks/RESULTS.md). Level 0 halves the compilation again but
# runs those steps 3× slower. Where JAX is already asked for less
# (``jax_disable_most_optimizations``, level 0), the level is left as asked.
#
# Float64 programs also leave out XLA:CPU's tree reduction: it rewrites every sum of more
# than 32 values (a sum over the rows, an inner product of two parameter vectors) as
# windowed sums of 32, each window its own kernel. In the Newton program on 3,712 × 57
# float64 rows those were 34 of its 106 kernels and a third of its LLVM time; without them
# the program compiles in about 0.25 s less and runs as fast (benchmarks/RESULTS.md). The
# sums then run as one loop: in float64 its rounding stays far below any tolerance (at most
# N·ε relative, 1e-10 at the float64 quick limit), but in float32 it is what the windows are
# for: a float32 mean of 3,334 losses was off by 1e-6 relative at level 1 and 2e-5 at level
# 0 without them, 1e-7 with them. Float32 programs keep the rewrite.
QUICK_EMITTERS = (("xla_cpu_use_fusion_emitters", False),)  # XLA:CPU's classic emitters
QUICK_OPTIONS = (*QUICK_EMITTERS, ("xla_backend_optimization_level", 1))
FLAT_SUMS = (("xla_disable_hlo_passes", "tree_reduction_rewriter"),)  # float64 only
# A program run once a call on small data (a shuffle, the report's objectives): LLVM's level
# 0, since its compilation is all of its cost. A permutation of 4,601 rows compiles in
# 0.12 s instead of 0.28 s and runs in the same 4–5 ms (at 262,144 rows, the quick limit:
# 0.14–0.17 s and 0.25–0.31 s against 0.28 s and 0.22–0.25 s).
ONCE_OPTIONS = (*QUICK_EMITTERS, ("xla_backend_optimization_level", 0))
QUICK_COMPILE_BYTES = 2**20
QUICK_COMPILE_FLOAT64 = 4  # float64 data: quick compilation up to this many times the limit
# Newer XLA:CPUs hand small element-wise and reduction kernels to YNNPACK; on these small
# full batches its kernels run several times slower than XLA's own (a sigmoid summed over
# 4,601 float64 values: 138 against 33 µs; the log-loss 133 against 86 µs — most of a
# Newton step's time outside its matrix products: a warm LogisticRegressionCV on Spambase
# 250 → 177 ms, benchmarks/RESULTS.md). Small full batches turn them off
# (``no_ynn_fusions``), and so do many models' mini-batches (16 SGD models on MNIST, B = 32:
# 25% faster); one model's mini-batch steps keep them (its SGD ran 25% slower without them),
# and so do large batches, whose time is in the matrix products
# (the same speed either way on 200,000 × 256 float32 rows). An XLA without the option
# refuses it at the first compilation: the program is then compiled without it, and so is
# every later one (``_Program``) — no probe program at import.
NO_YNN = (("xla_cpu_experimental_ynn_fusion_type", ""),)
_YNN_OPTION = {"known": True}  # False once this jaxlib's XLA has refused it


def no_ynn_fusions() -> tuple:
    """``NO_YNN``, or ``()`` once this jaxlib's XLA has refused the option."""
    return NO_YNN if _YNN_OPTION["known"] else ()


def small_data(nbytes: int, itemsize: int = 4) -> bool:
    """Whether a step that reads ``nbytes`` of data of ``itemsize`` bytes a value is small:
    at most ``QUICK_COMPILE_BYTES`` (float32), or ``QUICK_COMPILE_FLOAT64`` times it
    (float64) — where compiling a program costs more than running it, on any platform."""
    return nbytes <= QUICK_COMPILE_BYTES * (QUICK_COMPILE_FLOAT64 if itemsize >= 8 else 1)


def compile_options(nbytes: int | None, itemsize: int = 4, once: bool = False, full_batch=False):
    """XLA compile options for a training program over ``nbytes`` of data of ``itemsize``
    bytes a value: the quicker compilation on the CPU for small data (``once``: for a
    program that runs once a call, ``ONCE_OPTIONS``; ``full_batch``: each step reads every
    row, and YNNPACK's kernels are left out, ``no_ynn_fusions`` — a mini-batch step of one
    model ran 25% slower without them), else ``None`` (XLA's defaults; also for
    ``nbytes=None``, a program traced inside another, which carries the options)."""
    if nbytes is not None and cpu_tricks() and small_data(nbytes, itemsize):
        lowered = jax.config.read("jax_disable_most_optimizations")  # level 0 already
        options = QUICK_EMITTERS if lowered else ONCE_OPTIONS if once else QUICK_OPTIONS
        options = (*options, *(no_ynn_fusions() if full_batch else ()))
        return (*options, *FLAT_SUMS) if itemsize >= 8 else options
    return None


def jit_for(fn, nbytes: int | None, static_argnames=(), itemsize: int = 4, **kind):
    """``jax.jit(fn)`` compiled with ``compile_options`` for ``nbytes`` of data (one
    jitted object per distinct options, each with its own cache of compiled programs);
    ``kind``: ``once`` and ``full_batch``, as there."""
    return _jitted(fn, compile_options(nbytes, itemsize, **kind), tuple(static_argnames))


@functools.lru_cache(maxsize=None)
def _jitted(fn, options, static_argnames):
    jitted = jax.jit(
        fn,
        static_argnames=static_argnames,
        compiler_options=None if options is None else dict(options),
    )
    if options is None or NO_YNN[0] not in options:
        return _Program(jitted)
    rest = tuple(o for o in options if o not in NO_YNN)
    return _Program(jitted, lambda: _jitted(fn, rest or None, static_argnames))


class _Program:
    """A jitted training program whose calls run with Python's cyclic garbage collector
    paused (``collection_paused``); ``trace``, ``lower`` and the rest are the jitted
    function's own. ``without_ynn``: the same program without ``NO_YNN``, for an XLA
    that refuses that option (then no later program asks for it)."""

    __slots__ = ("jitted", "without_ynn")

    def __init__(self, jitted, without_ynn=None):
        self.jitted, self.without_ynn = jitted, without_ynn

    def __call__(self, *args, **kwargs):
        with collection_paused():
            try:
                return self.jitted(*args, **kwargs)
            except jax.errors.JaxRuntimeError as exc:
                if self.without_ynn is None or NO_YNN[0][0] not in str(exc):
                    raise
                _YNN_OPTION["known"] = False
            return self.without_ynn()(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.jitted, name)


@contextlib.contextmanager
def collection_paused():
    """Python's cyclic garbage collector off for the block, then as it was.

    Tracing a training program makes tens of thousands of objects, enough to trigger a
    full collection, which walks every object the process holds (JAX's alone): 60 ms of a
    first call's 0.9 s on MNIST SGD (benchmarks/RESULTS.md). Reference counting still frees
    what the block drops; cycles wait for the next collection after it (``timeit`` pauses
    the collector the same way)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def compute_dtype(dtype=None, *, argument: str = "dtype"):
    """The floating type the arithmetic runs in, for a requested one.

    ``None`` means float32. float32 and float64 are honoured, except float64 on a TPU,
    which becomes float32 with a ``UserWarning`` naming ``argument``. Anything else is a
    ``ValueError`` that names ``argument``.

    >>> compute_dtype("float64") if platform() != "tpu" else np.dtype("float64")
    dtype('float64')
    """
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{argument}: expected float32 or float64, got {dtype!r}") from None
    if dt not in FLOATS:
        raise ValueError(f"{argument}: expected float32 or float64, got {dt}")
    if dt == np.float64 and platform() == "tpu":
        warnings.warn(
            f"{argument}: float64 requested, but a TPU has no native float64; computing in float32",
            UserWarning,
            stacklevel=3,
        )
        return np.dtype(np.float32)
    return dt


# JAX's default precision for a float32 matrix product is the platform's fastest: on a GPU
# its inputs are rounded to TF32 (10 bits of mantissa: a 1024 × 1024 product measured 2.9e-4
# relative error on an NVIDIA H200), on a TPU to bfloat16. A linear model's products are
# bound by memory, not arithmetic, so full float32 costs little there, and the gradients stay
# those of the maths.
MATMUL_PRECISION = "highest"


@contextlib.contextmanager
def precision(dtype):
    """The context that computes in ``dtype``: matrix products at the full precision of the
    type on every platform (``MATMUL_PRECISION``), and JAX's scoped x64 mode for float64.

    Arrays created inside keep their type after it ends.
    """
    with jax.default_matmul_precision(MATMUL_PRECISION):
        if np.dtype(dtype) == np.float64 and not jax.config.jax_enable_x64:
            with jax.enable_x64(True):
                yield
        else:
            yield


def as_jnp(dtype):
    """The ``jnp`` scalar type of ``dtype`` (``jnp.float32`` or ``jnp.float64``)."""
    return jnp.float64 if np.dtype(dtype) == np.float64 else jnp.float32


ALIGN = 64  # bytes: a host buffer starting on this boundary moves to the CPU device uncopied


def host_zeros(shape, dtype) -> np.ndarray:
    """A NumPy array of zeros whose data starts on an ``ALIGN``-byte boundary (a large one
    is zero pages the system fills in on first touch: no pass writes the zeros).

    ``jax.device_put`` on the CPU takes such a buffer as it is (the device array shares its
    memory and keeps it alive) instead of copying it: for a buffer the caller fills and then
    gives up — never one the user holds — that saves a copy of the data (a sparse layout of
    22 million entries: 134 ms).
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.zeros(size + ALIGN, np.uint8)
    offset = -raw.ctypes.data % ALIGN
    return raw[offset : offset + size].view(dtype).reshape(shape)


def put(a, dtype):
    """``a`` as a JAX array of ``dtype``. A host value is converted by NumPy and moved with
    ``device_put``: a value computed once compiles no program of its own (``jnp.asarray``
    of a host array compiles a staging program, each costing milliseconds to tens of them,
    far more than moving a small array). A NumPy array of another type is converted into a
    ``host_zeros`` buffer that moves uncopied; one of the type asked is copied by ``device_put``
    (the caller still holds it)."""
    if isinstance(a, jax.Array):
        return a if a.dtype == dtype else a.astype(dtype)
    dtype = np.dtype(dtype)
    if isinstance(a, np.ndarray) and a.dtype != dtype:
        converted = host_zeros(a.shape, dtype)
        np.copyto(converted, a, casting="unsafe")
        return jax.device_put(converted)
    return jax.device_put(np.asarray(a, dtype=dtype))


def put_all(values, dtype):
    """``put`` for a tuple of values (``None`` kept), the host ones moved in one transfer:
    a transfer each costs a round trip apiece (tens of microseconds, the bulk of a small
    fit's fixed cost)."""

    def cast(a):
        if a is None:
            return None
        return put(a, dtype) if isinstance(a, jax.Array) else np.asarray(a, np.dtype(dtype))

    return jax.device_put(tuple(cast(a) for a in values))


def _seed_words(seed):
    """The words of ``jax.random.key(seed)`` (``[0, seed]``, shape ``(..., 2)`` for an array
    of seeds) under the default threefry generator and ``0 ≤ seed < 2³²``, else ``None``."""
    seeds = np.asarray(seed)
    if (
        jax.config.jax_default_prng_impl != "threefry2x32"
        or seeds.dtype.kind not in "iu"
        or not np.all((seeds >= 0) & (seeds < 2**32))
    ):
        return None
    return np.stack([np.zeros_like(seeds), seeds], axis=-1).astype(np.uint32)


def random_key(seed):
    """``jax.random.key(seed)`` — or, for a sequence of seeds, their keys stacked — with
    the words built on the host for the default threefry generator (``[0, seed]`` for
    ``0 ≤ seed < 2³²``): no compiled program for a value made once. Any other seed or
    generator goes through ``jax.random.key``."""
    words, seeds = _seed_words(seed), np.asarray(seed)
    if words is not None:
        return jax.random.wrap_key_data(jax.device_put(words))
    if seeds.ndim:
        return jnp.stack([jax.random.key(int(s)) for s in seeds.ravel()])
    return jax.random.key(seed)


def computes_in_dtype(fn):
    """Decorate an entry point with a ``dtype=`` argument: the dtype is resolved by
    ``compute_dtype`` and the whole call runs in ``precision`` of it. A float64 call made
    in JAX's scoped x64 mode returns its arrays as NumPy arrays: JAX arrays of float64 made
    in the scope would compute in float32 once it ends (``W.sum()`` outside it is a float32
    sum, with a warning)."""

    @functools.wraps(fn)
    def wrapped(*args, dtype=None, **kwargs):
        dt = compute_dtype(dtype)
        scoped = np.dtype(dt) == np.float64 and not jax.config.jax_enable_x64
        with precision(dt):
            out = fn(*args, dtype=as_jnp(dt), **kwargs)
        return jax.device_get(out) if scoped else out

    return wrapped
