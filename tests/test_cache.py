"""The persistent compilation cache: where it goes, how it is turned off, and that a second
process reads what the first wrote (each case in a fresh process: JAX reads its cache
settings once)."""

import os
import subprocess
import sys

from helpers import ROOT, run_python


def _python(code, tmp_path, **env):
    drop = ("JAXLIN_CACHE_DIR", "JAX_COMPILATION_CACHE_DIR", "XDG_CACHE_HOME")
    return run_python(code, drop, HOME=str(tmp_path / "home"), **env)


SHOW = """
    import jax, jaxlin
    print(jaxlin.enable_compilation_cache())
    print(jax.config.jax_compilation_cache_dir)
"""


def test_default_location_env_override_and_off(tmp_path):
    out = _python(SHOW, tmp_path).stdout.split()
    assert out == [str(tmp_path / "home" / ".cache" / "jaxlin")] * 2
    out = _python(SHOW, tmp_path, XDG_CACHE_HOME=str(tmp_path / "xdg")).stdout.split()
    assert out == [str(tmp_path / "xdg" / "jaxlin")] * 2
    out = _python(SHOW, tmp_path, JAXLIN_CACHE_DIR=str(tmp_path / "mine")).stdout.split()
    assert out == [str(tmp_path / "mine")] * 2 and (tmp_path / "mine").is_dir()
    assert _python(SHOW, tmp_path, JAXLIN_CACHE_DIR="off").stdout.split() == ["None", "None"]


def test_a_cache_configured_for_jax_is_never_overridden(tmp_path):
    out = _python(
        SHOW,
        tmp_path,
        JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jaxs"),
        JAXLIN_CACHE_DIR=str(tmp_path / "mine"),
    ).stdout.split()
    assert out[0] == str(tmp_path / "jaxs") and not (tmp_path / "mine").exists()


def test_an_unusable_folder_means_uncached_without_a_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = _python(
        """
        import jaxlin, numpy as np
        print(jaxlin.enable_compilation_cache())
        r = jaxlin.fit(np.array([[0.], [1.], [2.], [3.]]), np.array([0, 0, 1, 1]), epochs=5)
        print(int(r.epochs))
    """,
        tmp_path,
        JAXLIN_CACHE_DIR=str(blocker / "cache"),
    )
    assert proc.returncode == 0 and proc.stdout.split() == ["None", "5"]
    assert "Traceback" not in proc.stderr


def test_a_second_process_reads_what_the_first_wrote(tmp_path):
    cache = tmp_path / "cache"
    code = """
        import json, logging, io
        import jax, jaxlin
        from jaxlin import cli
        hits = []
        class Count(logging.Handler):
            def emit(self, record):
                if "cache hit" in record.getMessage().lower():
                    hits.append(record.getMessage())
        logging.getLogger("jax._src.compiler").addHandler(Count())
        logging.getLogger("jax._src.compiler").setLevel(logging.DEBUG)
        assert cli.main(["train", "--quiet"]) == 0
        print(len(hits))
    """
    first = _python(code, tmp_path, JAXLIN_CACHE_DIR=str(cache))
    second = _python(code, tmp_path, JAXLIN_CACHE_DIR=str(cache))
    assert first.returncode == 0 and second.returncode == 0, first.stderr[-2000:]
    assert int(first.stdout.split()[-1]) == 0 and int(second.stdout.split()[-1]) > 0
    assert any(name.endswith("-cache") for name in os.listdir(cache))


def test_concurrent_processes_share_one_folder(tmp_path):
    cache = tmp_path / "cache"
    drop = ("JAXLIN_CACHE_DIR", "JAX_COMPILATION_CACHE_DIR")  # jaxlin's folder, not the suite's
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PYTHONPATH=ROOT, JAXLIN_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-m", "jaxlin", "train", "--json", "-", "--quiet"]
    procs = [
        subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs[0][1][-2000:]
    import json

    a, b = (json.loads(o) for o, _ in outs)
    assert a["test"] == b["test"]
