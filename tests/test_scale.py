"""Sharding, chunking, resume, corrupted files, divergence: the grid survives and agrees."""
import os
import signal
import subprocess
import sys
import time

import conftest
import numpy as np
import pytest

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.report.claims import group_stats
from ncl_landscape.runs import disk, store
from ncl_landscape.runs.directory import ExistingResult, is_complete, load_run
from ncl_landscape.training import experiment, sweep
from ncl_landscape.training.experiment import Arm, Execution, Progress, run_experiment
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import (call_layout, chunk_inputs, compile_segments,
                                          default_vmap_width, make_grid, run_grid)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = RunConfig(data=DataConfig(n=300, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=64, epochs=4, log_every=2))


def small_grid():
  return make_grid(0, 4, Hyper(lr=0.05), sparsity=(0.2, 0.6))  # 8 runs


def _sharded(tmp_path, devices: int) -> dict:
  path = tmp_path / f"sharded{devices}.npz"
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "_sharded_grid.py"), str(path),
                         str(devices)], cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  with np.load(path) as f:
    return dict(f)


def test_sharded_grids_agree_across_device_counts(tmp_path):
  """Bit for bit between partitioned layouts (2 and 4 devices); within float32 rounding of
  the single-device program, which XLA compiles without partitioning."""
  two, four = _sharded(tmp_path, 2), _sharded(tmp_path, 4)
  np.testing.assert_array_equal(two["loss"], four["loss"])
  np.testing.assert_array_equal(two["W"], four["W"])
  one = run_grid(SMALL, small_grid(), vmap_width=2)
  np.testing.assert_allclose(four["loss"], one.curves["loss"], rtol=1e-5)
  np.testing.assert_allclose(four["W"], one.params["online"].W, rtol=1e-4, atol=1e-6)


def test_every_segment_trains_on_the_chunk_context_it_is_given():
  """A chunk draws its datasets once (context); start and advance read them, not a redraw
  from the keys: the same keys on other data train other runs."""
  trainer = compile_segments(SMALL, 8, vmap_width=1)
  key_data, hyper = chunk_inputs(small_grid(), slice(0, 8), 8)
  context = trainer.context(key_data, hyper)
  shifted = context._replace(data=context.data._replace(x=np.roll(context.data.x, 1, axis=0)))
  logs = {}
  for name, ctx in (("drawn", context), ("shifted", shifted)):
    carry, _ = trainer.start(ctx, hyper)
    logs[name] = np.asarray(trainer.advance(1)(carry, ctx, hyper)[1]["loss"])
  assert not np.allclose(logs["drawn"], logs["shifted"])
  whole = run_grid(SMALL, small_grid(), vmap_width=1)
  np.testing.assert_array_equal(logs["drawn"][:, 0], whole.curves["loss"][:, 1])


def test_runs_in_groups_train_what_one_vmap_trains():
  """The layouts differ only in how XLA batches the runs: float32 rounding apart."""
  assert default_vmap_width(SMALL, 8) is None  # 8 small datasets fit any cache
  at_once, grouped = run_grid(SMALL, small_grid()), run_grid(SMALL, small_grid(), vmap_width=4)
  np.testing.assert_allclose(grouped.curves["loss"], at_once.curves["loss"], rtol=1e-5)
  np.testing.assert_allclose(grouped.params["online"].W, at_once.params["online"].W,
                             rtol=1e-4, atol=1e-6)


def test_a_cpu_groups_runs_once_their_datasets_outgrow_its_cache(monkeypatch):
  big = SMALL.replace(data=dict(n=30_000, p=50))  # 6 MB of data per run
  per_run = 30_000 * 50 * 4
  assert sweep.CPU_GROUP_BYTES // per_run == 2
  monkeypatch.setattr(sweep.jax, "default_backend", lambda: "cpu")
  assert default_vmap_width(big, 2) is None
  assert default_vmap_width(big, 3) == 3
  assert default_vmap_width(big, 60) == 4
  assert default_vmap_width(big, 25) == 5
  assert call_layout(big, 29) == (32, 4)  # no width divides a prime: 4, padded
  assert call_layout(big, 29, max_runs_per_call=2) == (2, None)
  assert call_layout(big, 60, vmap_width=6) == (60, 6)
  monkeypatch.setattr(sweep.jax, "default_backend", lambda: "gpu")
  assert default_vmap_width(big, 60) is None


@pytest.mark.parametrize("max_runs", [2, 3, 6])
def test_chunked_is_bit_identical_to_unchunked(max_runs):
  whole = run_grid(SMALL, small_grid(), vmap_width=1)
  chunked = run_grid(SMALL, small_grid(), max_runs_per_call=max_runs, vmap_width=1)
  np.testing.assert_array_equal(whole.curves["loss"], chunked.curves["loss"])
  np.testing.assert_array_equal(whole.params["online"].W, chunked.params["online"].W)


def _fig6(out_dir):
  """Two chunks of one run each; the second trains for about 2 s, long enough to interrupt."""
  return ["experiments.fig6", "--profile=smoke", "--epochs=20", "--max_runs_per_call=1",
          f"--out_dir={out_dir}"]


def _as_typed(args: list[str]) -> list[str]:
  """The command line of `python -m args...`, where Ctrl-C raises KeyboardInterrupt even when
  the test runs as a background job (which inherits SIGINT ignored), as in a terminal."""
  launch = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
            f" sys.argv = {args!r}; runpy.run_module({args[0]!r}, run_name='__main__')")
  return [sys.executable, "-c", launch]


def test_a_ctrl_c_run_resumes_to_what_runs_with_and_without_the_cache_train(tmp_path):
  """A run that fills a fresh compilation cache, one without the cache, and one interrupted
  (Ctrl-C) after its first chunk and rerun (reading the cache) save the same files, bit for
  bit; the interrupted one ends with one line saying what is saved; a cached run says where
  its cache is."""
  cache = tmp_path / "cache"
  env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache)}
  def fig6(out, *args):
    return subprocess.run([sys.executable, "-m", *_fig6(tmp_path / out), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
  cold, plain = fig6("cold"), fig6("plain", "--nocompilation_cache")
  assert [p.returncode for p in (cold, plain)] == [0, 0], plain.stderr[-2000:]
  assert f"compilation cache: {cache}" in cold.stderr and os.listdir(cache)
  assert "compilation cache" not in plain.stderr
  resumed = tmp_path / "resumed"
  proc = subprocess.Popen(_as_typed(_fig6(resumed)), cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 300
  while time.time() < deadline and "0" not in store.load_manifest(str(resumed / "fig6")).get(
      "ncl_pred", {}).get("chunks", {}):  # the first chunk done (not only a segment of it)
    time.sleep(0.05)
  proc.send_signal(signal.SIGINT)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 130 and "Traceback" not in err, err[-2000:]
  last = err.strip().splitlines()[-1]
  assert last.startswith("interrupted: fig6 (fig6/ncl_pred saved at epoch "), err[-2000:]
  assert "rerun the same command to resume" in last
  assert not is_complete(str(resumed / "fig6"))  # the run was cut short
  done = fig6("resumed")
  assert done.returncode == 0, done.stderr[-2000:]
  assert "reused from disk" in done.stderr
  for name in ("summary.csv", "curves.npz", "weights.npz"):
    files = [(tmp_path / out / "fig6" / name).read_bytes() for out in ("cold", "plain", "resumed")]
    assert files[0] == files[1] == files[2], name


def _tiny_experiment(out_dir, lrs=(0.05,), force=False):
  grid = make_grid(0, 2, Hyper(), lr=lrs)
  cfg = SMALL.replace(model=dict(activation="linear"), train=dict(ncl_form="inner"))
  return run_experiment("tiny", [Arm("ncl", cfg, grid)], str(out_dir),
                        {"settings": {"profile": "tiny", "lrs": list(lrs)}},
                        execution=Execution(max_runs_per_call=2), force=force)


def test_truncated_files_are_recomputed_not_read(tmp_path):
  rows = _tiny_experiment(tmp_path)
  d = tmp_path / "tiny"
  summary = (d / "summary.csv").read_bytes()
  (d / "summary.csv").write_bytes(summary[: len(summary) // 2])
  assert not is_complete(str(d))
  chunk = d / "chunks" / "ncl" / "0.npz"
  chunk.write_bytes(chunk.read_bytes()[:100])
  manifest = store.load_manifest(str(d))
  assert store.load_chunk(str(d), "ncl", 0, manifest["ncl"]["hash"]) is None
  again = _tiny_experiment(tmp_path)
  assert (d / "summary.csv").read_bytes() == summary and is_complete(str(d))
  weights = (d / "weights.npz").read_bytes()
  (d / "weights.npz").write_bytes(weights[:100])
  assert not is_complete(str(d))  # a damaged weights file is caught ...
  (d / "weights.npz").unlink()
  assert is_complete(str(d))  # ... a left-out one is not a damaged result
  assert [r["maxcos_min"] for r in again] == [r["maxcos_min"] for r in rows]


def _segmented(out_dir, segment_epochs, vmap_width=None):
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2, 0.6))
  cfg = SMALL.replace(train=dict(epochs=6, log_every=1))
  return run_experiment("seg", [Arm("ncl", cfg, grid)], str(out_dir), {"settings": {}},
                        execution=Execution(max_runs_per_call=2, vmap_width=vmap_width,
                                            segment_epochs=segment_epochs))


@pytest.mark.parametrize("vmap_width", [None, 1])
def test_segments_of_any_length_give_the_one_call_result(tmp_path, vmap_width):
  whole = run_grid(SMALL.replace(train=dict(epochs=6, log_every=1)),
                   make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2, 0.6)), max_runs_per_call=2,
                   vmap_width=vmap_width)
  for segment in (1, 4, 6):
    _segmented(tmp_path / str(segment), segment, vmap_width)
    with np.load(tmp_path / str(segment) / "seg" / "curves.npz") as curves:
      np.testing.assert_array_equal(curves["loss"], whole.curves["loss"])
      np.testing.assert_array_equal(curves["maxcos_min"], whole.curves["maxcos_min"])
    weights = load_run(str(tmp_path / str(segment) / "seg"), 3)
    np.testing.assert_array_equal(weights["online/W"], whole.params["online"].W[3])
    np.testing.assert_array_equal(weights["M"], whole.M[3])


ONE_INTERVAL_SEGMENTS = """
import numpy as np
from test_scale import SMALL
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import (chunk_inputs, compile_segments, make_grid, run_grid,
                                         to_host)
cfg = SMALL.replace(train=dict(epochs=6, log_every=1))
grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2, 0.6))
trainer = compile_segments(cfg, 2, vmap_width=1)
key_data, hyper = chunk_inputs(grid, slice(0, 2), 2)
context = trainer.context(key_data, hyper)
carry, _ = trainer.start(context, hyper)
logs = []
for _ in range(6):
  carry, log = trainer.advance(1)(carry, context, hyper)
  logs.append(to_host(log)["maxcos_min"])
whole = run_grid(cfg, grid, max_runs_per_call=2, vmap_width=1).curves["maxcos_min"][:2, 1:]
np.testing.assert_array_equal(np.concatenate(logs, 1), whole)
"""


def test_one_interval_segments_equal_the_whole_run_at_full_optimisation():
  """XLA inlines a loop it knows runs once, and fused that one's max-cosine log otherwise: an
  ulp apart at optimisation level 2 on an Intel Xeon, and under the suite's own flags on other
  CPUs. advance hides its trip count, so every segment runs one loop body."""
  flags = " ".join([f for f in os.environ.get("XLA_FLAGS", "").split()
                    if f not in (conftest.LEVEL_0, *conftest.COMPILE_SPEED)]
                   + ["--xla_backend_optimization_level=2"])
  proc = subprocess.run([sys.executable, "-c", ONE_INTERVAL_SEGMENTS], cwd=os.path.join(ROOT, "tests"),
                        env={**os.environ, "XLA_FLAGS": flags, "PYTHONPATH": ROOT},
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]


def test_an_interrupted_chunk_resumes_from_its_last_segment(tmp_path, monkeypatch):
  _segmented(tmp_path / "ref", 1)
  lines = []
  real = Progress.line

  def interrupt_after_two(self, *args):
    lines.append(real(self, *args))
    if len(lines) == 2:
      raise KeyboardInterrupt  # after the second segment was saved
    return lines[-1]

  monkeypatch.setattr(Progress, "line", interrupt_after_two)
  with pytest.raises(KeyboardInterrupt):
    _segmented(tmp_path / "cut", 1)
  monkeypatch.setattr(Progress, "line", real)
  entries = store.load_manifest(str(tmp_path / "cut" / "seg"))["ncl"]["chunks"]
  assert list(entries) == ["segment-0"] and "epoch 2/6" in lines[-1]
  logged = []
  with monkeypatch.context() as m:
    m.setattr(experiment.logging, "info", lambda fmt, *a: logged.append(fmt % a))
    _segmented(tmp_path / "cut", 1)
  assert "seg/ncl: resumed at epoch 2" in logged  # chunk 0 went on from its saved segment
  for name in ("summary.csv", "curves.npz", "weights.npz"):
    assert (tmp_path / "cut" / "seg" / name).read_bytes() == \
        (tmp_path / "ref" / "seg" / name).read_bytes(), name
  chunks = store.load_manifest(str(tmp_path / "cut" / "seg"))["ncl"]["chunks"]
  assert sorted(chunks) == ["0", "1"]  # segment files are gone once a chunk is done
  assert sorted(os.listdir(tmp_path / "cut" / "seg" / "chunks" / "ncl")) == ["0.npz", "1.npz"]


def test_an_interrupt_anywhere_in_an_arm_names_what_is_saved(tmp_path, monkeypatch):
  """Just after the first chunk is saved, and, rerun, while the second compiles once the first
  is read back: the KeyboardInterrupt names the last saved point, not nothing."""
  saved = store.save_chunk

  def save_then_interrupt(*args):
    saved(*args)
    raise KeyboardInterrupt

  monkeypatch.setattr(store, "save_chunk", save_then_interrupt)
  with pytest.raises(KeyboardInterrupt, match=r"^seg/ncl saved at epoch 6/6 of chunk 1/2$"):
    _segmented(tmp_path, 6)
  monkeypatch.setattr(store, "save_chunk", saved)

  def interrupted(*args):
    raise KeyboardInterrupt

  monkeypatch.setattr(experiment, "compile_segments", interrupted)
  with pytest.raises(KeyboardInterrupt, match=r"^seg/ncl saved at epoch 6/6 of chunk 1/2$"):
    _segmented(tmp_path, 6)


def test_another_configuration_keeps_the_result_unless_forced(tmp_path):
  _tiny_experiment(tmp_path)
  before = (tmp_path / "tiny" / "summary.csv").read_bytes()
  with pytest.raises(ExistingResult, match="--force"):
    _tiny_experiment(tmp_path, lrs=(0.04,))
  assert (tmp_path / "tiny" / "summary.csv").read_bytes() == before


def test_changed_config_never_reuses_stale_chunks(tmp_path):
  _tiny_experiment(tmp_path)
  old = store.load_manifest(str(tmp_path / "tiny"))["ncl"]["hash"]
  _tiny_experiment(tmp_path, lrs=(0.04,), force=True)
  assert store.load_manifest(str(tmp_path / "tiny"))["ncl"]["hash"] != old


def test_forced_nan_run_is_marked_and_left_out_of_means(tmp_path):
  rows = _tiny_experiment(tmp_path, lrs=(0.05, 1e4))
  status = {(r["seed"], r["lr"]): r["status"] for r in rows}
  assert status[(0, 0.05)] == status[(1, 0.05)] == "ok"
  assert status[(0, 1e4)] == status[(1, 1e4)] == "diverged"
  saved = disk.load_summary(str(tmp_path / "tiny" / "summary.csv"))
  stats = group_stats(saved, ("lr",), "maxcos_min")
  assert stats[("10000",)].ok == 0 and stats[("10000",)].excluded == (("diverged", 2),)
  ok = [float(r["maxcos_min"]) for r in saved if r["status"] == "ok"]
  assert stats[("0.05",)].ok == 2 and np.isclose(stats[("0.05",)].mean, np.mean(ok))


def test_arms_sharing_a_program_share_out_its_measured_compile(tmp_path, monkeypatch):
  """A compile group's program, compiled once, is charged to the arm that compiled it; its
  fellow names that arm; the arms' compile times add up to what compiling took; a rerun that
  reloads every chunk keeps them (they were 0.0 when nothing compiled in the last process)."""
  measured = []  # the seconds of every compile: a _Programs built, an advance length added
  def timed(method, compiles):
    def run(self, *args):
      start, compiling = time.perf_counter(), compiles(self, *args)
      result = method(self, *args)
      if compiling:
        measured.append(time.perf_counter() - start)
      return result
    return run
  monkeypatch.setattr(sweep._Programs, "__init__",
                      timed(sweep._Programs.__init__, lambda self, *args: True))
  monkeypatch.setattr(sweep._Programs, "advance", timed(
      sweep._Programs.advance, lambda self, intervals: intervals not in self._advance))
  cfg = SMALL.replace(data=dict(n=296), train=dict(epochs=2, log_every=1))  # its own program
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,))
  arms = [Arm(method, cfg.replace(train=dict(method=method)), grid)
          for method in ("byol", "directpred")]
  def walls():
    run_experiment("shared", arms, str(tmp_path), {"settings": {}},
                   execution=Execution(max_runs_per_call=1))
    return disk.load_json(str(tmp_path / "shared" / "config.json"))["wall_s"]
  wall = walls()
  assert wall["directpred"]["shares_program_with"] == "byol"
  assert "shares_program_with" not in wall["byol"]
  assert wall["byol"]["compile"] > 10 * wall["directpred"]["compile"]
  total = wall["byol"]["compile"] + wall["directpred"]["compile"]
  assert sum(measured) <= total <= sum(measured) + 0.2
  os.remove(tmp_path / "shared" / "config.json")
  assert walls() == wall  # every chunk reused from disk, with the compile charged to it
