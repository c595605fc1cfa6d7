"""Benchmark: run-steps per second of the grid trainer vs a per-run Python loop, and
the cost of a compile group's shared program.

  python -m experiments.bench                 # epochs scaled to the backend
  python -m experiments.bench --epochs=8000   # the whole paper-profile Figure 2 NCL grid

The grid is Figure 2's NCL setting (5 seeds x 3 sparsities x 4 mask probabilities)
trained in one compiled call. The baseline trains the same kind of run one at a
time with the same jitted optimiser step driven by a Python loop over batches, the
structure of the authors' code. The compile-group line trains VICReg (the cheapest
criterion, where a shared program's per-step conditional would show most) by the
criteria's shared program and by a program of its own. Writes out_dir/bench.json.
"""
from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
from absl import flags, logging

from experiments import cli
from ncl_landscape import disk
from ncl_landscape.config import RunConfig, TrainConfig
from ncl_landscape.floor import floor_train
from ncl_landscape.hyper import Hyper
from ncl_landscape.methods import make_method
from ncl_landscape.sweep import (call_layout, chunk_inputs, chunk_size, compile_chunks, make_grid,
                                 over_runs)
from ncl_landscape.train import epoch_batches, make_run_fns, make_train, run_context

flags.DEFINE_string("out_dir", "results", "Where bench.json goes.")
flags.DEFINE_integer("epochs", None, "Grid epochs; default 20 on a CPU, 400 on an accelerator.",
                     lower_bound=1)
flags.DEFINE_integer("baseline_epochs", 20, "Epochs of the per-run loop baseline.",
                     lower_bound=1)
FLAGS = flags.FLAGS

SPARSITIES = (0.1, 0.2, 0.3)
MASK_PROBS = (0.25, 0.5, 0.75, 0.9)
SEEDS = 5


REPEATS = 3  # a compiled program's run time is the best of this many calls


def _timed(fn, *args) -> tuple[float, object]:
  start = time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  return time.perf_counter() - start, out


def _best(fn, *args) -> float:
  """The shortest of REPEATS timed calls (the machine's other load only slows a call)."""
  return min(_timed(fn, *args)[0] for _ in range(REPEATS))


def _figure2_grid():
  return make_grid(0, SEEDS, Hyper(lr=0.005), sparsity=SPARSITIES, mask_prob=MASK_PROBS)


def _rates(runs: int, cfg: RunConfig, vmap_width: int | None, compile_s: float,
           run_s: float) -> dict:
  run_steps = runs * cfg.train.epochs * cfg.steps_per_epoch
  return {"runs": runs, "epochs": cfg.train.epochs, "vmap_width": vmap_width,
          "compile_s": compile_s, "run_s": run_s, "run_steps": run_steps,
          "run_steps_per_s": run_steps / run_s}


def bench_grid(cfg: RunConfig) -> dict:
  """The grid in one call, in the layout experiments use (sweep.call_layout)."""
  grid = _figure2_grid()
  size, width = call_layout(cfg, len(grid.points))
  compile_s, compiled = _timed(compile_chunks, cfg, size, width)
  inputs = chunk_inputs(grid, slice(0, len(grid.points)), size)
  return _rates(len(grid.points), cfg, width, compile_s, _best(compiled, *inputs))


def bench_floor(cfg: RunConfig, width: int | None) -> dict:
  """The grid of bench_grid trained by floor_train in one call, in the grid's vmap width."""
  grid = _figure2_grid()
  keys = jax.random.key_data(grid.keys)
  train = jax.jit(over_runs(lambda k, h: floor_train(cfg)(jax.random.wrap_key_data(k), h),
                            width))
  compile_s, compiled = _timed(lambda: train.lower(keys, grid.hyper).compile())
  return _rates(len(grid.points), cfg, width, compile_s, _best(compiled, keys, grid.hyper))


def bench_loop(cfg: RunConfig, epochs: int) -> dict:
  """One run at a time: a Python loop over epochs and batches around one jitted step."""
  fns = make_run_fns(cfg, make_method(cfg))
  n_phases = len(make_method(cfg).phases)
  step = jax.jit(fns.step, static_argnums=1)
  batches = jax.jit(lambda key: epoch_batches(key, cfg.data.n, cfg.train.batch_size,
                                              cfg.train.drop_last))
  hyper = Hyper(*(jnp.float32(v) for v in Hyper(lr=0.005)))
  ctx = jax.jit(run_context, static_argnums=0)(cfg, jax.random.key(0), hyper)
  state, data, loop_key = jax.jit(fns.init)(ctx, hyper), ctx.data, ctx.loop_key

  def one_epoch(state, epoch):
    perm_key, step_key = jax.random.split(jax.random.fold_in(loop_key, epoch))
    idx, w = batches(perm_key)
    keys = jax.random.split(step_key, cfg.steps_per_epoch)
    for s in range(cfg.steps_per_epoch):
      state, record = step(state, s % n_phases, keys[s], idx[s], w[s], data, hyper)
    return state, record

  jax.block_until_ready(one_epoch(state, 0))  # compile
  start = time.perf_counter()
  for epoch in range(epochs):
    state, record = one_epoch(state, epoch)
  jax.block_until_ready(record)
  run_s = time.perf_counter() - start
  run_steps = epochs * cfg.steps_per_epoch
  return {"runs": 1, "epochs": epochs, "run_s": run_s, "run_steps": run_steps,
          "run_steps_per_s": run_steps / run_s}


def bench_compile_group(epochs: int) -> dict:
  """VICReg on 8 runs of the atlas setting: the criteria's shared program vs its own."""
  cfg = RunConfig(train=TrainConfig(method="vicreg", mask="independent", epochs=epochs,
                                    log_every=epochs))
  grid = make_grid(0, 2, Hyper(lr=0.005), sparsity=(0.1, 0.3), mask_prob=(0.25, 0.5))
  size = chunk_size(len(grid.points))
  inputs = chunk_inputs(grid, slice(0, len(grid.points)), size)
  own = jax.jit(jax.vmap(lambda key_data, hyper: make_train(cfg)(
      jax.random.wrap_key_data(key_data), hyper)))
  programs = {"shared": lambda: compile_chunks(cfg, size),
              "own": lambda: own.lower(*inputs).compile()}
  run_steps = len(grid.points) * epochs * cfg.steps_per_epoch
  result = {"method": "vicreg", "runs": len(grid.points), "epochs": epochs}
  for name, build in programs.items():
    compile_s, compiled = _timed(build)
    run_s = _best(compiled, *inputs)
    result[name] = {"compile_s": compile_s, "run_s": run_s, "run_steps_per_s": run_steps / run_s}
  result["shared_over_own"] = (result["shared"]["run_steps_per_s"] /
                               result["own"]["run_steps_per_s"])
  return result


def main(argv):
  del argv
  backend = jax.default_backend()
  epochs = FLAGS.epochs or (20 if backend == "cpu" else 400)
  cfg = RunConfig(train=TrainConfig(method="ncl", mask="independent", epochs=epochs,
                                    log_every=max(1, epochs // 10)))
  grid = bench_grid(cfg)
  logging.info("grid: %s", grid)
  floor = bench_floor(cfg, grid["vmap_width"])
  logging.info("floor: %s", floor)
  loop = bench_loop(cfg, FLAGS.baseline_epochs)
  logging.info("per-run loop: %s", loop)
  group = bench_compile_group(epochs)
  logging.info("compile group: %s", group)
  result = {
      "setting": "Figure 2 NCL grid: 5 seeds x 3 sparsities x 4 mask probabilities",
      "backend": backend, "devices": [str(d) for d in jax.devices()],
      "steps_per_epoch": cfg.steps_per_epoch, "grid": grid, "per_run_loop": loop,
      "speedup": grid["run_steps_per_s"] / loop["run_steps_per_s"],
      "floor": floor, "step_over_floor": grid["run_steps_per_s"] / floor["run_steps_per_s"],
      "compile_group": group, "environment": disk.environment(),
  }
  path = os.path.join(FLAGS.out_dir, "bench.json")
  disk.save_json(path, result)
  print(f"{backend}: grid {grid['run_steps_per_s']:,.0f} run-steps/s "
        f"(compile {grid['compile_s']:.1f}s), per-run loop {loop['run_steps_per_s']:,.0f} "
        f"run-steps/s, speedup x{result['speedup']:.1f}; floor {floor['run_steps_per_s']:,.0f} "
        f"run-steps/s (the grid at x{result['step_over_floor']:.2f} of it); vicreg in the "
        f"criteria's shared program at x{group['shared_over_own']:.2f} the rate of its own "
        f"-> {path}")


if __name__ == "__main__":
  cli.run_plain(main)
