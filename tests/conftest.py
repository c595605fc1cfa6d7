"""Shared fixtures; for the session and the binaries it launches (which compile many of the
same programs), a persistent compilation cache and XLA:CPU compile-speed flags: backend
optimisation level 0, the legacy elemental emitters instead of the fusion emitters, LLVM
without its expensive passes, and each program's machine code generated in one piece rather
than split over threads (the suite's processes already keep every core busy, so the split
only adds work). The tests' programs are tiny, so compiling dominates them. Every
comparison in the suite is between runs under the same flags, or against an independent
reference with a tolerance (the one exception, tests/_sharded_grid.py, says why)."""
import importlib
import io
import logging
import os
import subprocess
import sys

LEVEL_0 = "--xla_backend_optimization_level=0"
LEGACY_EMITTERS = "--xla_cpu_use_fusion_emitters=false"
COMPILE_SPEED = (LEGACY_EMITTERS, "--xla_llvm_disable_expensive_passes=true",
                 "--xla_cpu_parallel_codegen_split_count=1")


def _probe(flags: str) -> subprocess.Popen:
  return subprocess.Popen([sys.executable, "-c", "import jax; jax.devices()"],
                          env={**os.environ, "XLA_FLAGS": flags}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def _known(flags: tuple[str, ...]) -> list[str]:
  """The flags this jaxlib's XLA knows (it aborts on an unknown one): all of them in one probe,
  else each alone, side by side."""
  if _probe(" ".join(flags)).wait() == 0:
    return list(flags)
  probes = {flag: _probe(flag) for flag in flags}
  return [flag for flag, probe in probes.items() if probe.wait() == 0]


if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):  # once a session:
  # the pytest-xdist workers inherit the controller's environment
  flags = [LEVEL_0, *_known(COMPILE_SPEED)]
  os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *flags]).strip()

import jax  # noqa: E402  (after XLA_FLAGS, which the backend reads once)
import pytest
from absl import logging as absl_logging

# per checkout, beside pytest's own cache (make clean removes both)
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".pytest_cache", "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.05")  # all but eager ops
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs",
                  float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


@pytest.fixture
def x64():
  """Float64 inside one test (finite differences, closed forms)."""
  jax.config.update("jax_enable_x64", True)
  yield
  jax.config.update("jax_enable_x64", False)


def run_here(binary: str, *args: str) -> str:
  """Runs experiments.<binary> with these flags in this process, as its command line does (its
  own flags parsed, then its main); returns what it logged. Binaries run here share the
  process's imports and compiled programs, which each process would pay for again; a test of
  the process itself (exit status, signals) launches one. SystemExit propagates."""
  main = importlib.import_module(f"experiments.{binary}").main
  logged = io.StringIO()
  handler = logging.StreamHandler(logged)
  logger = absl_logging.get_absl_logger()
  verbosity = absl_logging.get_verbosity()
  cache = {name: getattr(jax.config, name) for name in (
      "jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")}
  logger.addHandler(handler)
  absl_logging.set_verbosity(absl_logging.INFO)
  try:
    main.parse_or_exit([binary, *args])
    main.main([])
  finally:
    logger.removeHandler(handler)
    absl_logging.set_verbosity(verbosity)
    for name, value in cache.items():
      jax.config.update(name, value)
  return logged.getvalue()
