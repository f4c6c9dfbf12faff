"""jaxlin's benchmarks: ``python -m benchmarks [--quick]`` (see run.py)."""
