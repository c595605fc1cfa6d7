"""An experiment: named arms (a method's config and grid), trained, saved, resumable.

`run_experiment` trains each arm's grid chunk by chunk (one compiled function per
arm), saving every chunk as it lands (store.py), then writes DIR/<id>/summary.csv,
curves.npz, the figure and, last, config.json with "complete": true and the
experiment's hash (README, "Results on disk"). Rerunning skips a complete experiment of the same
hash, reuses intact chunks of the same arm hash, and recomputes the rest.
"""
from __future__ import annotations

import os
import time
from typing import NamedTuple

import jax
import numpy as np
from absl import logging

from ncl_landscape import io, provenance, store
from ncl_landscape.config import RunConfig
from ncl_landscape.sweep import (Grid, chunk_size, chunk_slices, compile_chunks, concat_outputs,
                                 run_chunk)
from ncl_landscape.train import RunOutput, log_epochs

CURVE_KEYS = ("maxcos_min", "maxcos_median", "maxcos_max", "loss")
TEMPERATURE_METHODS = ("cl", "simclr", "simclr_abs", "simclr_sq")  # read Hyper.temperature


class Arm(NamedTuple):
  method: str  # the summary's method name, e.g. 'cl' or 'ncl'
  cfg: RunConfig
  grid: Grid


class Execution(NamedTuple):
  """How grids are cut into compiled calls (sweep.py); neither changes the runs' maths."""
  max_runs_per_call: int | None = None
  vmap_width: int | None = None


def unused_scalars(cfg: RunConfig) -> set[str]:
  """Swept scalars that do not enter a run of cfg (their summary cells stay empty)."""
  unused = set()
  if cfg.data.latent == "one_hot":
    unused.add("sparsity")
  if cfg.train.method not in TEMPERATURE_METHODS:
    unused.add("temperature")
  if cfg.model.init == "random":
    unused.add("warm_start_c")
  return unused


def summary_rows(experiment: str, arm: Arm, out: RunOutput) -> list[dict]:
  """One row per run of the arm; status 'diverged' for a loss or a weight that left the sane
  range (non-finite, or beyond metrics.DIVERGENCE_BOUND in absolute value)."""
  rows, unused = [], unused_scalars(arm.cfg)
  for r, point in enumerate(arm.grid.points):
    sane = bool(out.final["within_bound"][r])
    row = {"experiment": experiment, "method": arm.method, "epochs": arm.cfg.train.epochs,
           "status": "ok" if sane else "diverged", "final_loss": float(out.loss[r, -1])}
    row.update({k: v for k, v in point.items() if k not in unused})
    row.update({k: float(v[r]) for k, v in out.final.items() if k != "within_bound"})
    rows.append(row)
  return rows


RESULT_FILES = ("summary.csv", "curves.npz")


def is_complete(directory: str, expected_hash: str | None = None) -> bool:
  """True iff directory holds a finished experiment (of that hash, when given) whose
  result files still have the digests config.json recorded."""
  try:
    config = io.load_json(os.path.join(directory, "config.json"))
    files = {name: io.file_digest(os.path.join(directory, name)) for name in RESULT_FILES}
  except (OSError, ValueError):
    return False
  return (bool(config.get("complete")) and expected_hash in (None, config.get("hash"))
          and config.get("files") == files)


class ExistingResult(ValueError):
  """out_dir/<id> holds a complete result of another configuration."""


def claim_directory(directory: str, expected_hash: str, force: bool) -> bool:
  """True if directory already holds the complete result of expected_hash (nothing to do).
  Raises ExistingResult if it holds a complete result of another configuration, unless
  force; the message says what is there and how to keep or replace it."""
  if not is_complete(directory):
    return False
  config = io.load_json(os.path.join(directory, "config.json"))
  if config.get("hash") == expected_hash:
    return True
  if force:
    return False
  raise ExistingResult(
      f"{directory} holds a complete result of another configuration "
      f"({provenance.run_caption(config.get('settings', {}))}): pass --force to replace it, "
      "or --out_dir=... to keep both")


def arm_hash(arm: Arm, size: int, execution: Execution) -> str:
  return store.digest({"method": arm.method, "cfg": arm.cfg.to_dict(), "points": arm.grid.points,
                       "chunk_size": size, "vmap_width": execution.vmap_width})


def run_arm(directory: str, experiment: str, arm: Arm, execution: Execution) -> RunOutput:
  """Trains (or reloads) every chunk of the arm, logging progress per chunk."""
  runs = len(arm.grid.points)
  size = chunk_size(runs, execution.max_runs_per_call, execution.vmap_width)
  chunks = chunk_slices(runs, size)
  digest = arm_hash(arm, size, execution)
  steps_per_run = arm.cfg.train.epochs * arm.cfg.steps_per_epoch
  name = f"{experiment}/{arm.method}"
  outputs, trainer, done, run_s = [], None, 0, 0.0
  for i, chunk in enumerate(chunks):
    out = store.load_chunk(directory, arm.method, i, digest)
    if out is None:
      if trainer is None:
        start = time.perf_counter()
        trainer = compile_chunks(arm.cfg, size, execution.vmap_width)
        logging.info("%s: compiled in %.1fs", name, time.perf_counter() - start)
      start = time.perf_counter()
      out = run_chunk(trainer, arm.grid, chunk, size)._replace(params={})  # not saved
      run_s += time.perf_counter() - start
      done += chunk.stop - chunk.start
      if jax.process_index() == 0:  # one writer; out_dir must be shared across hosts
        store.save_chunk(directory, arm.method, i, digest, out)
      rate = done * steps_per_run / run_s
      left = sum(c.stop - c.start for c in chunks[i + 1:]) * steps_per_run / rate
      logging.info("%s: chunk %d/%d, runs %d/%d, %.0f run-steps/s, ETA %.0fs", name, i + 1,
                   len(chunks), chunk.stop, runs, rate, left)
    else:
      logging.info("%s: chunk %d/%d reused from disk", name, i + 1, len(chunks))
    outputs.append(out)
  return concat_outputs(outputs)


def _union(outputs: list[RunOutput], field: str, prefix: str) -> dict:
  """prefix + name -> the outputs' `field` arrays of that name, NaN for runs without it."""
  names = sorted({k for o in outputs for k in getattr(o, field)})
  def column(o: RunOutput, name: str) -> np.ndarray:
    shape = o.loss.shape if field == "terms" else o.loss.shape[:1]
    return np.asarray(getattr(o, field).get(name, np.full(shape, np.nan)), float)
  return {prefix + k: np.concatenate([column(o, k) for o in outputs]) for k in names}


def curve_arrays(rows: list[dict], outputs: list[RunOutput], epochs: list[int]) -> dict:
  """curves.npz: the logged curves, per-term losses ('term_<name>', NaN where a method lacks
  the term), the final metrics ('final_<name>') and each run's grid point."""
  arrays = {k: np.concatenate([getattr(o, k) for o in outputs]) for k in CURVE_KEYS}
  arrays.update(_union(outputs, "terms", "term_"))
  arrays.update(_union(outputs, "final", "final_"))
  arrays["epochs"] = np.asarray(epochs)
  for field in ("method", "status"):
    arrays[field] = np.array([r[field] for r in rows])
  for field in ("seed", "sparsity", "mask_prob", "warm_start_c"):
    arrays[field] = np.array([r.get(field, np.nan) for r in rows], float)
  return arrays


def save_results(directory: str, experiment: str, config: dict, rows: list[dict], curves: dict,
                 plot=None, tables: dict[str, list[dict]] | None = None) -> None:
  """Writes curves.npz, summary.csv, extra CSV tables (name -> rows), the figure drawn from
  the saved curves, and last config.json with the result files' digests and complete: true."""
  config_path = os.path.join(directory, "config.json")
  if os.path.exists(config_path):
    os.remove(config_path)  # the directory is incomplete until the new config lands
  curves_path = os.path.join(directory, "curves.npz")
  caption = provenance.run_caption(config.get("settings", {}))
  io.save_curves(curves_path, **curves, caption=np.array(caption))
  io.save_summary(os.path.join(directory, "summary.csv"), rows)
  for name, table in (tables or {}).items():
    io.save_csv(os.path.join(directory, name), table)
  if plot is not None:
    plot(io.load_curves(curves_path), os.path.join(directory, f"{experiment}.png"))
  io.save_json(config_path, {
      "experiment": experiment, **config, "environment": io.environment(),
      "files": {name: io.file_digest(os.path.join(directory, name)) for name in RESULT_FILES},
      "complete": True})


def run_experiment(experiment: str, arms: list[Arm], out_dir: str, config: dict, plot=None,
                   execution: Execution = Execution(), force: bool = False) -> list[dict]:
  """Trains every arm, saves the result files under out_dir/experiment, draws the figure.

  plot(curves, png_path) draws from the saved curves only. Returns the summary rows. A
  complete result of the same configuration is returned as it is; one of another
  configuration raises ExistingResult before any compute, unless force.
  """
  directory = os.path.join(out_dir, experiment)
  epochs = {tuple(log_epochs(arm.cfg)) for arm in arms}
  if len(epochs) != 1:
    raise ValueError(f"arms of {experiment} log different epochs")
  sizes = [chunk_size(len(a.grid.points), execution.max_runs_per_call, execution.vmap_width)
           for a in arms]
  experiment_hash = store.digest([config, [arm_hash(a, s, execution) for a, s in
                                           zip(arms, sizes)]])
  summary_path = os.path.join(directory, "summary.csv")
  if claim_directory(directory, experiment_hash, force):
    logging.info("%s: complete for this configuration, skipped", experiment)
    return io.load_summary(summary_path)

  outputs = [run_arm(directory, experiment, arm, execution) for arm in arms]
  rows = [row for arm, out in zip(arms, outputs) for row in summary_rows(experiment, arm, out)]
  if jax.process_index() != 0:
    return rows
  save_results(directory, experiment, {**config, "hash": experiment_hash,
                                       "execution": execution._asdict(),
                                       "arms": {arm.method: arm.cfg.to_dict() for arm in arms}},
               rows, curve_arrays(rows, outputs, list(epochs.pop())), plot)
  return rows
