"""Benchmark: run-steps per second of the grid trainer vs a per-run Python loop, the cost
of a compile group's shared program, and one row per experiment of the last `make figures`.

  python -m experiments.bench                 # epochs scaled to the backend
  python -m experiments.bench --epochs=8000   # the whole paper-profile Figure 2 NCL grid

The grid is Figure 2's NCL setting (5 seeds x 3 sparsities x 4 mask probabilities)
trained in one compiled call. The baseline trains the same kind of run one at a
time with the same jitted optimiser step driven by a Python loop over batches, the
structure of the authors' code. The compile-group line trains VICReg (the cheapest
criterion, where a shared program's per-step conditional would show most) by the
criteria's shared program and by a program of its own. The experiment rows read what each
experiment in out_dir recorded as it trained (config.json: its arms, the programs they
shared, its calls and their wall times): programs compiled, calls and runs per call, compile
and training seconds, run-steps per second. Writes out_dir/bench.json.
"""
from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags, logging

from experiments import cli
from ncl_landscape.config import DataConfig, RunConfig, TrainConfig
from ncl_landscape.methods.registry import make_method
from ncl_landscape.runs import disk, results
from ncl_landscape.training.floor import floor_train
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import (call_layout, chunk_inputs, chunk_size, compile_chunks,
                                          make_grid, over_runs)
from ncl_landscape.training.train import epoch_batches, make_run_fns, make_train, run_context

flags.DEFINE_string("out_dir", "results", "Where bench.json goes, and whose experiments the "
                    "rows read.")
flags.DEFINE_integer("epochs", None, "Grid epochs; default 20 on a CPU, 400 on an accelerator.",
                     lower_bound=1)
flags.DEFINE_integer("baseline_epochs", 20, "Epochs of the per-run loop baseline.",
                     lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Calls of each compiled program; its run time is the "
                     "shortest (the machine's other load only slows a call).", lower_bound=1)
FLAGS = flags.FLAGS

SPARSITIES = (0.1, 0.2, 0.3)
MASK_PROBS = (0.25, 0.5, 0.75, 0.9)
SEEDS = 5


def _timed(fn, *args) -> tuple[float, object]:
  start = time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  return time.perf_counter() - start, out


def _best(fn, *args) -> float:
  """The shortest of --repeats timed calls."""
  return min(_timed(fn, *args)[0] for _ in range(FLAGS.repeats))


def _figure2_grid():
  return make_grid(0, SEEDS, Hyper(lr=0.005), sparsity=SPARSITIES, mask_prob=MASK_PROBS)


def _rates(runs: int, cfg: RunConfig, vmap_width: int | None, compile_s: float,
           run_s: float) -> dict:
  run_steps = runs * cfg.train.epochs * cfg.steps_per_epoch
  return {"runs": runs, "epochs": cfg.train.epochs, "vmap_width": vmap_width,
          "compile_s": compile_s, "run_s": run_s, "run_steps": run_steps,
          "run_steps_per_s": run_steps / run_s}


def bench_grid(cfg: RunConfig) -> dict:
  """Times Figure 2's NCL grid in one call, in the layout experiments use (sweep.call_layout).

  Args:
    cfg: the NCL run's configuration.

  Returns:
    {runs, epochs, vmap_width, compile_s, run_s, run_steps, run_steps_per_s}; run_s the best of
    --repeats calls.
  """
  grid = _figure2_grid()
  size, width = call_layout(cfg, len(grid.points))
  compile_s, compiled = _timed(compile_chunks, cfg, size, width)
  inputs = chunk_inputs(grid, slice(0, len(grid.points)), size)
  return _rates(len(grid.points), cfg, width, compile_s, _best(compiled, *inputs))


def bench_floor(cfg: RunConfig, width: int | None) -> dict:
  """Times the grid of bench_grid trained by floor_train (bare arrays) in one call.

  Args:
    cfg: the NCL run's configuration.
    width: the grid's vmap width (over_runs); None vmaps every run at once.

  Returns:
    bench_grid's fields for this program.
  """
  grid = _figure2_grid()
  keys = jax.random.key_data(grid.keys)
  train = jax.jit(over_runs(lambda k, h: floor_train(cfg)(jax.random.wrap_key_data(k), h),
                            width))
  compile_s, compiled = _timed(lambda: train.lower(keys, grid.hyper).compile())
  return _rates(len(grid.points), cfg, width, compile_s, _best(compiled, keys, grid.hyper))


def bench_loop(cfg: RunConfig, epochs: int) -> dict:
  """Times one run at a time: a Python loop over epochs and batches around one jitted step.

  Args:
    cfg: the NCL run's configuration.
    epochs: the epochs timed, after an untimed one that compiles.

  Returns:
    {runs: 1, epochs, run_s, run_steps, run_steps_per_s}.
  """
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
  """VICReg on 8 runs of the atlas setting: the criteria's shared program against its own.

  Args:
    epochs: the epochs each run trains.

  Returns:
    {method, runs, epochs, shared, own, shared_over_own}: shared and own each {compile_s, run_s,
    run_steps_per_s}; shared_over_own the ratio of their rates.
  """
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


def _compile_share(compile_s: float, train_s: float) -> float | None:
  """The fraction of compile_s + train_s spent compiling; None where both are 0."""
  return compile_s / (compile_s + train_s) if compile_s + train_s else None


def experiment_row(directory: str) -> dict | None:
  """What a complete experiment recorded of its cost; None if it is not complete.

  Programs compiled (arms that ran another arm's program not counted), calls, runs per call, runs
  trained (each distinct run once), run-steps, compile and training seconds; a theorem records only
  its whole wall time (total_s).
  """
  loaded = results.load(directory)
  if loaded is None:
    return None
  res, config = loaded
  row = {"experiment": config["experiment"], "profile": res.settings.get("profile"),
         "backend": config["environment"]["backend"]}
  wall = config.get("wall_s", {})
  if "arms" not in config:
    return {**row, "total_s": sum(w["total"] for w in wall.values())}
  methods = results.without_repeats(res).curves["method"]
  runs = {arm: int(np.sum(methods == arm)) for arm in config["arms"]}
  calls = {arm: -(-runs[arm] // layout["runs_per_call"])
           for arm, layout in config["layout"].items()}
  steps = {arm: runs[arm] * cfg["train"]["epochs"] * RunConfig(
      DataConfig(**cfg["data"]), train=TrainConfig(**cfg["train"])).steps_per_epoch
           for arm, cfg in config["arms"].items()}
  compile_s = sum(w["compile"] for w in wall.values())
  train_s = sum(w["train"] for w in wall.values())
  return {**row, "arms": len(runs),
          "programs": sum("shares_program_with" not in w for w in wall.values()),
          "calls": sum(calls.values()),
          "runs_per_call": max(layout["runs_per_call"] for layout in config["layout"].values()),
          "runs": sum(runs.values()), "run_steps": sum(steps.values()),
          "compile_s": compile_s, "train_s": train_s,
          "run_steps_per_s": sum(steps.values()) / train_s if train_s else None,
          "compile_share": _compile_share(compile_s, train_s)}


def experiment_rows(out_dir: str) -> list[dict]:
  """experiment_row of every complete experiment under out_dir, in name order."""
  names = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
  rows = [experiment_row(os.path.join(out_dir, name)) for name in names
          if os.path.isdir(os.path.join(out_dir, name))]
  return [row for row in rows if row is not None]


def row_text(row: dict) -> str:
  """One printed line of an experiment row."""
  head = f"{row['experiment']:<7} {row['profile'] or '':<6} {row['backend']:<4}"
  if "total_s" in row:
    return f"{head} {row['total_s']:8.1f} s in all (a theorem: compile and run together)"
  rate = f"{row['run_steps_per_s']:10,.0f}" if row["run_steps_per_s"] else " " * 10
  return (f"{head} {row['programs']:3d} of {row['arms']:2d} {row['calls']:4d} "
          f"{row['runs_per_call']:5d} {row['compile_s']:8.1f} {row['train_s']:8.1f} "
          f"{row['compile_share']:6.1%} {rate}")


def total_row(rows: list[dict]) -> dict | None:
  """The grid experiments' rows summed: programs, arms, calls, compile and training seconds; None
  where no row is a grid experiment's. A theorem records no split into compile and training, so it
  is left out."""
  grids = [row for row in rows if "total_s" not in row]
  if not grids:
    return None
  total = {k: sum(row[k] for row in grids)
           for k in ("programs", "arms", "calls", "compile_s", "train_s")}
  return {**total, "experiments": len(grids),
          "compile_share": _compile_share(total["compile_s"], total["train_s"])}


def total_text(total: dict) -> str:
  """The printed line of total_row."""
  return (f"{total['experiments']} grid experiments: {total['programs']} programs compiled for "
          f"{total['arms']} arms, {total['calls']} calls, compile {total['compile_s']:.1f} s, "
          f"training {total['train_s']:.1f} s ({total['compile_share'] or 0:.1%} compiling)")


ROWS_HEAD = ("id      profile backend programs/arms calls runs/call compile_s  train_s "
             "compile  run-steps/s")


def main(argv):
  """Runs every benchmark, writes out_dir/bench.json, and prints the rates and experiment rows."""
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
  rows = experiment_rows(FLAGS.out_dir)
  result = {
      "setting": "Figure 2 NCL grid: 5 seeds x 3 sparsities x 4 mask probabilities",
      "backend": backend, "devices": [str(d) for d in jax.devices()],
      "steps_per_epoch": cfg.steps_per_epoch, "repeats": FLAGS.repeats, "grid": grid,
      "per_run_loop": loop,
      "speedup": grid["run_steps_per_s"] / loop["run_steps_per_s"],
      "floor": floor, "step_over_floor": grid["run_steps_per_s"] / floor["run_steps_per_s"],
      "compile_group": group, "experiments": rows, "experiments_total": total_row(rows),
      "environment": disk.environment(),
  }
  path = os.path.join(FLAGS.out_dir, "bench.json")
  disk.save_json(path, result)
  print(f"{backend}: grid {grid['run_steps_per_s']:,.0f} run-steps/s "
        f"(compile {grid['compile_s']:.1f}s), per-run loop {loop['run_steps_per_s']:,.0f} "
        f"run-steps/s, speedup x{result['speedup']:.1f}; floor {floor['run_steps_per_s']:,.0f} "
        f"run-steps/s (the grid at x{result['step_over_floor']:.2f} of it); vicreg in the "
        f"criteria's shared program at x{group['shared_over_own']:.2f} the rate of its own "
        f"-> {path}")
  if rows:
    total = result["experiments_total"]
    print("\n".join([f"experiments in {FLAGS.out_dir} (as they recorded their runs):", ROWS_HEAD]
                     + [row_text(row) for row in rows] + ([total_text(total)] if total else [])))
  else:
    print(f"no complete experiment in {FLAGS.out_dir}: `make figures` first for its rows")


if __name__ == "__main__":
  cli.run_plain(main)
