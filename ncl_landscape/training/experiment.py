"""An experiment: named arms (a method's config and grid), trained, saved, resumable.

`run_experiment` trains each arm's grid chunk by chunk (one compiled function per
arm), saving every chunk as it lands (runs/store.py), then writes the experiment's directory
(runs/directory.py: summary.csv, curves.npz, the figure and, last, config.json with
"complete": true and the experiment's hash). Rerunning skips a complete experiment of the same
hash, reuses intact chunks of the same arm hash, and recomputes the rest.
"""
from __future__ import annotations

import os
import time
from typing import NamedTuple

import jax
import numpy as np
from absl import logging

from ncl_landscape.config import RunConfig
from ncl_landscape.methods import registry
from ncl_landscape.runs import disk, store
from ncl_landscape.runs.directory import claim_directory, save_results
from ncl_landscape.runs.run_status import run_status
from ncl_landscape.testbed.metrics import DIVERGENCE_BOUND
from ncl_landscape.training.convergence import convergence
from ncl_landscape.training.sweep import (ChunkTrainer, Grid, call_layout, chunk_inputs,
                                          chunk_slices, compile_segments, concat_outputs,
                                          distinct_runs, same_runs, to_global, to_host)
from ncl_landscape.training.train import (RunOutput, initial_atoms_missed, log_epochs, log_schedule,
                                          run_output)


class Arm(NamedTuple):
  """One arm of an experiment: a method's static config and the grid of runs it trains."""
  name: str  # the summary's method column, e.g. 'cl' or 'ncl_warm_pred' (cfg holds the method)
  cfg: RunConfig
  grid: Grid


class Execution(NamedTuple):
  """How grids are cut into compiled calls and runs into segments of epochs.

  Calls: sweep.py; segments: between progress lines and saves. No field changes the runs'
  maths.
  vmap_width None: the layout sweep.default_vmap_width picks for the backend.
  """
  max_runs_per_call: int | None = None
  vmap_width: int | None = None
  segment_epochs: int | None = None


def unused_scalars(cfg: RunConfig) -> set[str]:
  """Swept scalars that do not enter a run of cfg (their summary cells stay empty)."""
  unused = set()
  if cfg.data.latent == "one_hot":
    unused.add("sparsity")
  if not registry.reads(cfg.train.method, "temperature"):
    unused.add("temperature")
  if cfg.model.init == "random":
    unused.add("warm_start_c")
  return unused


def atoms_missed(arm: Arm) -> np.ndarray | None:
  """Counts the atoms each warm-started run's initial W^o missed (train.initial_atoms_missed).

  Args:
    arm: the arm; its grid's keys and hyper [runs] draw each run's initialisation again.

  Returns:
    [runs] float, NaN for a random start (warm_start_c 0) of a swept init; None for a
    random-start arm.
  """
  if arm.cfg.model.init == "random":
    return None
  count = jax.jit(jax.vmap(lambda k, h: initial_atoms_missed(arm.cfg, k, h)))
  missed = np.asarray(count(arm.grid.keys, arm.grid.hyper), float)
  return np.where(np.asarray(arm.grid.hyper.warm_start_c) > 0, missed, np.nan)


def summary_rows(experiment: str, arm: Arm, out: RunOutput) -> list[dict]:
  """Returns summary.csv's rows of the arm's runs.

  Args:
    experiment: the experiment's id, its rows' experiment column.
    arm: the arm; its grid's points [runs] fill the swept columns (but unused_scalars).
    out: the arm's RunOutput: curves [runs, points], final metrics [runs].

  Returns:
    One row per run: its status ('diverged', 'unbounded', 'collapsed' or 'ok': run_status.py),
    final loss and metrics (within_bound aside); a warm start's atoms_missed (atoms_missed);
    unless it diverged, its convergence and the slope of its minimum max-cosine at the end of
    the run (convergence.py).
  """
  rows, unused = [], unused_scalars(arm.cfg)
  missed = atoms_missed(arm)
  epochs = log_epochs(arm.cfg)
  moving, slope = convergence(epochs, out.curves["maxcos_min"], out.curves["loss"])
  status = run_status(epochs, out.curves["loss"], out.final["within_bound"],
                      out.final.get("collapse_complete"))
  for r, point in enumerate(arm.grid.points):
    row = {"experiment": experiment, "method": arm.name, "epochs": arm.cfg.train.epochs,
           "status": str(status[r]), "final_loss": float(out.curves["loss"][r, -1])}
    row.update({k: v for k, v in point.items() if k not in unused})
    row.update({k: float(v[r]) for k, v in out.final.items() if k != "within_bound"})
    if missed is not None and np.isfinite(missed[r]):
      row["atoms_missed"] = int(missed[r])
    if status[r] != "diverged":
      row.update(convergence=str(moving[r]), slope_per_1000=float(slope[r]))
    rows.append(row)
  return rows


def weight_arrays(arms: list[Arm], outputs: list[RunOutput]) -> dict[str, np.ndarray]:
  """Returns weights.npz's arrays: every run's final parameters and dictionary.

  Args:
    arms: the experiment's arms, in summary.csv's order.
    outputs: each arm's RunOutput: params flat ({'<group>/<field>': [runs, ...]}), M [runs, p, d].

  Returns:
    For every arm, '<arm>/<group>/<field>' (e.g. 'ncl/online/W') [runs, ...], '<arm>/M' the
    runs' dictionaries [runs, p, d] and '<arm>/row' [runs] their rows in summary.csv.
  """
  arrays, row = {}, 0
  for arm, out in zip(arms, outputs):
    runs = len(arm.grid.points)
    arrays.update({f"{arm.name}/{k}": v for k, v in out.params.items()})
    arrays[f"{arm.name}/M"] = out.M
    arrays[f"{arm.name}/row"] = np.arange(row, row + runs)
    row += runs
  return arrays


def arm_layout(arm: Arm, execution: Execution) -> tuple[int, int | None]:
  """(runs per compiled call, vmap width) of the arm's distinct runs (sweep.call_layout)."""
  runs = len(distinct_runs(arm.cfg, arm.grid)[0].points)
  return call_layout(arm.cfg, runs, execution.max_runs_per_call, execution.vmap_width)


def arm_identity(arm: Arm) -> dict:
  """What determines an arm's results, given the code: its name, config and grid points.

  Not how it was executed or stored.
  """
  return {"name": arm.name, "cfg": arm.cfg.to_dict(), "points": arm.grid.points}


def results_hash(arms: list[Arm]) -> str:
  """config.json's "results_hash": of the arms' identities, in order."""
  return store.digest([arm_identity(a) for a in arms])


def stale_reason(config: dict, arms: list[Arm]) -> str:
  """Says why a saved experiment no longer holds the results its arms train now.

  A config field the code added since is current at its default (a new field's default keeps
  the old behaviour).

  Args:
    config: the saved experiment's config.json.
    arms: the experiment's arms as configured now.

  Returns:
    '' if the saved results are current, else what differs, joined by '; '.
  """
  saved = config.get("arms", {})
  defaults = RunConfig().to_dict()
  identities, differ = [], []
  for arm in arms:
    cfg, was = arm.cfg.to_dict(), saved.get(arm.name)
    if was is None:
      differ.append(f"arm {arm.name} is new")
      continue
    for section, fields in cfg.items():
      for field, value in fields.items():
        old = was.get(section, {}).get(field, defaults[section][field])
        if value != old:
          differ.append(f"{arm.name} {section}.{field} (saved {old!r}, now {value!r})")
      differ += [f"{arm.name} {section}.{f} is gone" for f in was.get(section, {})
                 if f not in fields]
      cfg[section] = {f: v for f, v in fields.items() if f in was.get(section, {})}
    identities.append({**arm_identity(arm), "cfg": cfg})
  differ += [f"arm {name} is gone" for name in set(saved) - {a.name for a in arms}]
  if not differ and store.digest(identities) != config.get("results_hash"):
    differ.append("the grid's points (seeds, swept values)")
  return "; ".join(differ)


def arm_hash(arm: Arm, execution: Execution) -> str:
  """The hash of what determines an arm's saved chunks: its identity and its layout.

  Its identity: arm_identity; its layout: runs per call and vmap width. store.py's manifest
  records it.
  """
  size, width = arm_layout(arm, execution)
  return store.digest({**arm_identity(arm), "chunk_size": size, "vmap_width": width})


class Progress:
  """Run-steps per second and ETA of an arm, from the segments measured so far."""

  def __init__(self, name: str, arm: Arm, chunks: list[slice]):
    self.name, self.chunks = name, chunks
    self.epochs = arm.cfg.train.epochs
    self.steps_per_epoch = arm.cfg.steps_per_epoch
    self.runs = chunks[-1].stop
    self.steps, self.seconds = 0, 0.0
    self.saved_at = None  # (chunk index, epoch) of the last saved segment

  def saved(self) -> str:
    """What an interruption keeps, e.g. 'fig6/ncl_pred saved at epoch 40/60 of chunk 1/1'."""
    if self.saved_at is None:
      return f"{self.name}: no segment saved yet"
    chunk, epoch = self.saved_at
    return (f"{self.name} saved at epoch {epoch}/{self.epochs} of chunk "
            f"{chunk + 1}/{len(self.chunks)}")

  def reused(self, chunk_index: int) -> str:
    """Records a chunk read back whole from disk; returns its log line."""
    self.saved_at = (chunk_index, self.epochs)
    return f"{self.name}: chunk {chunk_index + 1}/{len(self.chunks)} reused from disk"

  def line(self, chunk_index: int, epoch: int, steps: int, seconds: float, diverged: int) -> str:
    """Records a saved segment; returns its progress line.

    e.g. '<id>/<arm>: epoch <e>/<E>, runs <r>/<R>, <x> run-steps/s, ETA <t>, diverged <k>'.

    Args:
      chunk_index: the chunk the segment belongs to.
      epoch: the epochs its runs have completed.
      steps: the run-steps trained since the previous line.
      seconds: the seconds they took.
      diverged: the chunk's runs whose loss has left metrics.DIVERGENCE_BOUND so far.
    """
    self.steps += steps
    self.seconds += seconds
    self.saved_at = (chunk_index, epoch)
    rate = self.steps / max(self.seconds, 1e-9)
    chunk = self.chunks[chunk_index]
    later = sum(c.stop - c.start for c in self.chunks[chunk_index + 1:])
    left = ((chunk.stop - chunk.start) * (self.epochs - epoch) + later * self.epochs) \
        * self.steps_per_epoch
    return (f"{self.name}: epoch {epoch}/{self.epochs}, runs {chunk.stop}/{self.runs}, "
            f"{rate:.0f} run-steps/s, ETA {left / rate:.0f}s, diverged {diverged}")


MIN_SEGMENT_S = 5.0  # a default segment (progress line, saved carry) lasts at least this long
SEGMENTS = 10  # and is about a tenth of the run


def segment_intervals(total: int, segment_epochs: int | None, log_every: int) -> int:
  """Returns the logged intervals per compiled advance call.

  Args:
    total: the run's logged intervals.
    segment_epochs: --segment_epochs, rounded down to whole intervals (at least one, at most
      total); None: the largest divisor of total that is at most a tenth of it (so one compile
      serves every call).
    log_every: epochs per logged interval.
  """
  if segment_epochs is not None:
    return max(1, min(total, segment_epochs // log_every))
  target = max(1, total // SEGMENTS)
  return max(k for k in range(1, target + 1) if total % k == 0)


def train_chunk(directory: str, arm: Arm, index: int, chunk: slice, size: int, digest: str,
                trainer: ChunkTrainer, segment_epochs: int | None, progress: Progress,
                compile_seconds: float) -> tuple[RunOutput, float, float]:
  """Trains one chunk segment by segment, from its last saved segment if there is one.

  After every segment the carry, the logs so far, the seconds trained so far and the compile
  seconds charged to the chunk are saved and a progress line is logged.

  Args:
    directory: the experiment's directory.
    arm: the arm, its grid already its distinct runs.
    index: the chunk's index among the arm's chunks.
    chunk: the chunk's runs, a slice of the arm's grid.
    size: runs per compiled call; the chunk is padded to it.
    digest: the arm's hash (arm_hash); a saved segment of another is not resumed.
    trainer: the ChunkTrainer compiled for `size` runs.
    segment_epochs: epochs per segment; None: segment_intervals' default, each segment at
      least MIN_SEGMENT_S long.
    progress: the arm's Progress.
    compile_seconds: this process's compile seconds charged to the chunk, added to those of
      earlier processes.

  Returns:
    (out, seconds, compile_seconds): host arrays of the chunk's runs (curves [runs, points],
    final [runs], params flat as store.flat_params gives them, M [runs, p, d]); the seconds
    it trained and the compile seconds charged to it, across resumes.
  """
  clock = time.perf_counter()
  key_data, hyper = chunk_inputs(arm.grid, chunk, size)
  context = trainer.context(key_data, hyper)  # drawn again from the keys on a resume
  spec = jax.tree_util.tree_leaves(trainer.carry_spec)
  k, unlogged, _ = log_schedule(arm.cfg)
  saved = store.load_segment(directory, arm.name, index, digest)
  if saved is None:
    carry, log0 = trainer.start(context, hyper)
    log0, logs, before, compiled = to_host(log0), {}, 0.0, 0.0
  else:
    leaves, arrays, before, compiled = saved
    carry = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(trainer.carry_spec),
                                         [to_global(v, s.sharding) for v, s in zip(leaves, spec)])
    log0 = {name[5:]: v for name, v in arrays.items() if name.startswith("log0.")}
    logs = {name[5:]: v for name, v in arrays.items() if name.startswith("logs.")}
    progress.saved_at = (index, unlogged + k * logs["loss"].shape[1])
    logging.info("%s: resumed at epoch %d", progress.name, progress.saved_at[1])
  compiled += compile_seconds
  done = logs["loss"].shape[1] if logs else 0
  length = segment_intervals(trainer.intervals, segment_epochs, k)
  runs = chunk.stop - chunk.start
  steps, start = 0, time.perf_counter()
  while done < trainer.intervals:
    n = min(length, trainer.intervals - done)
    carry, new = trainer.advance(n)(carry, context, hyper)
    new = to_host(new)
    logs = {name: np.concatenate([logs[name], v], axis=1) if logs else v
            for name, v in new.items()}
    done += n
    steps += runs * n * k * arm.cfg.steps_per_epoch
    seconds = time.perf_counter() - start
    if segment_epochs is None and seconds < MIN_SEGMENT_S and done < trainer.intervals:
      continue  # a default segment lasts at least MIN_SEGMENT_S
    leaves = jax.tree_util.tree_leaves(to_host(carry))  # a collective: every process joins
    if jax.process_index() == 0:  # one writer; out_dir must be shared across hosts
      store.save_segment(directory, arm.name, index, digest, leaves,
                         {**{f"log0.{n}": v for n, v in log0.items()},
                          **{f"logs.{n}": v for n, v in logs.items()}},
                         before + time.perf_counter() - clock, compiled)
    diverged = int(np.sum(~np.all(np.abs(logs["loss"][:runs]) <= DIVERGENCE_BOUND, axis=1)))
    logging.info("%s", progress.line(index, unlogged + done * k, steps, seconds, diverged))
    steps, start = 0, time.perf_counter()
  out = run_output(log0, logs, {}, {})
  final, params, M = trainer.finish(carry, context, hyper, to_global(out.curves["loss"]))
  out = out._replace(**to_host({"final": final, "M": M}), params=store.flat_params(to_host(params)))
  return (jax.tree_util.tree_map(lambda v: v[:runs], out), before + time.perf_counter() - clock,
          compiled)


def run_arm(directory: str, experiment: str, arm: Arm,
            execution: Execution) -> tuple[RunOutput, dict]:
  """Trains (or reloads) every chunk of the arm's distinct runs (sweep.distinct_runs).

  Chunks train segment by segment, logging progress. A process's compile is charged to the
  first chunk it trains and saved with it, so a resume or a rerun that reloads the chunk keeps
  it. The arms of a compile group share one program (sweep.compile_segments): the arm that
  compiled it is charged all of it, the others only finding it (shared_programs names whose
  they run), so the arms' compile times add up to the compiles measured.

  Args:
    directory: the experiment's directory.
    experiment: the experiment's id, for the progress lines.
    arm: the arm.
    execution: how its grid is cut into calls and segments.

  Returns:
    (out, wall): out, the RunOutput of every run of the grid (curves [runs, points], final
    [runs], params flat [runs, ...], M [runs, p, d]), a repeated run's arrays repeated; wall,
    the arm's wall times in seconds, {'compile': ..., 'train': ...}, summed over every process
    that trained a part of its chunks: their training, and the compiles that served them.
  """
  grid, index = distinct_runs(arm.cfg, arm.grid)
  arm = arm._replace(grid=grid)
  size, width = arm_layout(arm, execution)
  chunks = chunk_slices(len(arm.grid.points), size)
  digest = arm_hash(arm, execution)
  progress = Progress(f"{experiment}/{arm.name}", arm, chunks)
  outputs, trainer, wall = [], None, {"compile": 0.0, "train": 0.0}
  try:
    for i, chunk in enumerate(chunks):
      saved = store.load_chunk(directory, arm.name, i, digest)
      if saved is None:
        unspent = 0.0  # this process's compile, charged to the first chunk it trains
        if trainer is None:
          start = time.perf_counter()
          trainer = compile_segments(arm.cfg, size, width)
          trainer.advance(segment_intervals(trainer.intervals, execution.segment_epochs,
                                            log_schedule(arm.cfg).every))
          unspent = time.perf_counter() - start
          logging.info("%s: compiled in %.1fs", progress.name, unspent)
        out, seconds, compiled = train_chunk(directory, arm, i, chunk, size, digest, trainer,
                                             execution.segment_epochs, progress, unspent)
        if jax.process_index() == 0:
          store.save_chunk(directory, arm.name, i, digest, out, seconds, compiled)
      else:
        out, seconds, compiled = saved
        logging.info("%s", progress.reused(i))
      wall["train"] += seconds
      wall["compile"] += compiled
      outputs.append(out)
  except KeyboardInterrupt:  # wherever it lands in the arm: say what is saved
    raise KeyboardInterrupt(progress.saved()) from None
  return jax.tree_util.tree_map(lambda v: v[index], concat_outputs(outputs)), wall


def same_runs_by_arm(arms: list[Arm]) -> dict[str, list[tuple[float, ...]]]:
  """Arm name -> its groups of sparsities that draw the same latents (sweep.same_runs).

  Only the arms that have any: settings' same_runs.
  """
  same = {arm.name: same_runs(arm.cfg, arm.grid) for arm in arms}
  return {name: groups for name, groups in same.items() if groups}


def shared_programs(arms: list[Arm], execution: Execution) -> dict[str, str]:
  """Arm name -> the earlier arm whose compiled program it runs, for the arms that run another's.

  The members of a compile group (registry.shared_config) share one program for the same
  layout.
  """
  first, shared = {}, {}
  for arm in arms:
    key = (registry.shared_config(arm.cfg)[0], *arm_layout(arm, execution))
    if key in first:
      shared[arm.name] = first[key]
    else:
      first[key] = arm.name
  return shared


def _union(outputs: list[RunOutput], field: str, prefix: str) -> dict:
  """prefix + name -> the outputs' `field` arrays of that name, NaN for runs without it (the
  terms of another method's loss)."""
  names = sorted({k for o in outputs for k in getattr(o, field)})
  def column(o: RunOutput, name: str) -> np.ndarray:
    loss = o.curves["loss"]
    shape = loss.shape if field == "curves" else loss.shape[:1]
    return np.asarray(getattr(o, field).get(name, np.full(shape, np.nan)), float)
  return {prefix + k: np.concatenate([column(o, k) for o in outputs]) for k in names}


def curve_arrays(rows: list[dict], outputs: list[RunOutput], epochs: list[int]) -> dict:
  """Returns curves.npz's arrays.

  Args:
    rows: the summary rows [runs] (summary_rows), in the outputs' order.
    outputs: each arm's RunOutput.
    epochs: [points] the logged epochs (train.log_epochs).

  Returns:
    Every logged curve [runs, points] (train.curve_point: the per-term losses 'term_<name>'
    NaN where a method lacks the term), the final metrics 'final_<name>' [runs], 'epochs'
    [points], and from the rows [runs]: method, status and convergence ('' where absent);
    seed, sparsity, mask_prob, warm_start_c, lr and atoms_missed (NaN where absent).
  """
  arrays = {**_union(outputs, "curves", ""), **_union(outputs, "final", "final_")}
  arrays["epochs"] = np.asarray(epochs)
  for field in ("method", "status", "convergence"):
    arrays[field] = np.array([r.get(field, "") for r in rows])
  for field in ("seed", "sparsity", "mask_prob", "warm_start_c", "lr", "atoms_missed"):
    arrays[field] = np.array([r.get(field, np.nan) for r in rows], float)
  return arrays


def run_experiment(experiment: str, arms: list[Arm], out_dir: str, config: dict, plot=None,
                   execution: Execution = Execution(), force: bool = False) -> list[dict]:
  """Trains every arm, saves the result files under out_dir/experiment, draws the figure.

  A complete result of the same configuration is returned as it is (its figure redrawn if
  missing); intact chunks of an interrupted one are reused.

  Args:
    experiment: the experiment's id, its directory's name.
    arms: its arms; every arm must log the same epochs.
    out_dir: the folder of the experiments' directories.
    config: what config.json records of the experiment ({"settings": ...}).
    plot: plot(curves, png_path), drawn from the saved curves only.
    execution: how grids are cut into compiled calls and segments.
    force: replace a complete result of another configuration.

  Returns:
    The summary rows, one per run.

  Raises:
    ExistingResult: before any compute, if out_dir/experiment holds a complete result of
      another configuration, unless force.
    ValueError: if the arms log different epochs.
  """
  directory = os.path.join(out_dir, experiment)
  epochs = {tuple(log_epochs(arm.cfg)) for arm in arms}
  if len(epochs) != 1:
    raise ValueError(f"arms of {experiment} log different epochs")
  experiment_hash = store.digest([store.config_digest(config),
                                  [arm_hash(a, execution) for a in arms]])
  summary_path = os.path.join(directory, "summary.csv")
  if claim_directory(directory, experiment_hash, force, config.get("settings")):
    png = os.path.join(directory, f"{experiment}.png")
    if plot is not None and not os.path.exists(png):
      plot(disk.load_curves(os.path.join(directory, "curves.npz")), png)
      logging.info("%s: complete for this configuration; its figure redrawn", experiment)
    else:
      logging.info("%s: complete for this configuration, skipped", experiment)
    return disk.load_summary(summary_path)

  same = same_runs_by_arm(arms)
  if same:
    config = {**config, "settings": {**config.get("settings", {}), "same_runs": same}}
  outputs, walls = zip(*[run_arm(directory, experiment, arm, execution) for arm in arms])
  logging.info("%s: every arm trained; measuring the starts, writing the results and drawing "
               "the figure", experiment)
  rows = [row for arm, out in zip(arms, outputs) for row in summary_rows(experiment, arm, out)]
  if jax.process_index() != 0:
    return rows
  layout = {arm.name: dict(zip(("runs_per_call", "vmap_width"), arm_layout(arm, execution)))
            for arm in arms}
  shared = shared_programs(arms, execution)
  walls = [{**w, "shares_program_with": shared[a.name]} if a.name in shared else w
           for a, w in zip(arms, walls)]
  save_results(directory, experiment, {**config, "hash": experiment_hash,
                                       "results_hash": results_hash(arms),
                                       "execution": execution._asdict(),
                                       "layout": layout,
                                       "wall_s": {a.name: w for a, w in zip(arms, walls)},
                                       "arms": {arm.name: arm.cfg.to_dict() for arm in arms}},
               rows, curve_arrays(rows, outputs, list(epochs.pop())), plot,
               weights=weight_arrays(arms, outputs))
  return rows
