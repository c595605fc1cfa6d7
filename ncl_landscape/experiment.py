"""An experiment: named arms (a method's config and grid), trained and saved.

`run_experiment` trains each arm's grid in one compiled call, then writes
DIR/<id>/summary.csv, curves.npz and config.json (CONTRACT.md). config.json is
written last and carries "complete": true, so a directory a crash left behind is
recognisably incomplete.
"""
from __future__ import annotations

import os
import time
from typing import NamedTuple

import numpy as np
from absl import logging

from ncl_landscape import io
from ncl_landscape.config import RunConfig
from ncl_landscape.sweep import Grid, run_grid
from ncl_landscape.train import log_epochs

CURVE_KEYS = ("maxcos_min", "maxcos_median", "maxcos_max", "loss")


class Arm(NamedTuple):
  method: str  # the summary's method name, e.g. 'cl' or 'ncl'
  cfg: RunConfig
  grid: Grid


def unused_scalars(cfg: RunConfig) -> set[str]:
  """Swept scalars that do not enter a run of cfg (their summary cells stay empty)."""
  unused = set()
  if cfg.data.latent == "one_hot":
    unused.add("sparsity")
  if cfg.train.method not in ("cl", "simclr"):
    unused.add("temperature")
  if cfg.model.init != "warm":
    unused.add("warm_start_c")
  return unused


def summary_rows(experiment: str, arm: Arm, out) -> list[dict]:
  """One row per run of the arm; status 'diverged' for a non-finite loss or weights."""
  rows, unused = [], unused_scalars(arm.cfg)
  for r, point in enumerate(arm.grid.points):
    finite = bool(out.final["finite"][r])
    row = {"experiment": experiment, "method": arm.method, "epochs": arm.cfg.train.epochs,
           "status": "ok" if finite else "diverged", "final_loss": float(out.loss[r, -1])}
    row.update({k: v for k, v in point.items() if k not in unused})
    row.update({k: float(v[r]) for k, v in out.final.items() if k != "finite"})
    rows.append(row)
  return rows


def is_complete(directory: str) -> bool:
  """True iff directory holds a finished experiment (config.json with complete: true)."""
  path = os.path.join(directory, "config.json")
  try:
    return bool(io.load_json(path).get("complete"))
  except (OSError, ValueError):
    return False


def run_experiment(experiment: str, arms: list[Arm], out_dir: str, config: dict,
                   plot=None) -> list[dict]:
  """Trains every arm, saves the CONTRACT files under out_dir/experiment, draws the figure.

  plot(curves, png_path) draws from the saved curves only. Returns the summary rows.
  """
  directory = os.path.join(out_dir, experiment)
  rows, curves, epochs = [], {k: [] for k in CURVE_KEYS}, None
  for arm in arms:
    start = time.perf_counter()
    out = run_grid(arm.cfg, arm.grid)
    logging.info("%s/%s: %d runs in %.1fs", experiment, arm.method, len(arm.grid.points),
                 time.perf_counter() - start)
    arm_epochs = log_epochs(arm.cfg)
    if epochs is not None and arm_epochs != epochs:
      raise ValueError(f"arms of {experiment} log different epochs")
    epochs = arm_epochs
    rows += summary_rows(experiment, arm, out)
    for k in CURVE_KEYS:
      curves[k].append(getattr(out, k))
  arrays = {k: np.concatenate(v) for k, v in curves.items()}
  arrays["epochs"] = np.asarray(epochs)
  for field in ("method", "status"):
    arrays[field] = np.array([r[field] for r in rows])
  for field in ("seed", "sparsity", "mask_prob", "warm_start_c"):
    arrays[field] = np.array([r.get(field, np.nan) for r in rows], float)

  os.makedirs(directory, exist_ok=True)
  config_path = os.path.join(directory, "config.json")
  if os.path.exists(config_path):
    os.remove(config_path)  # the directory is incomplete until the new config lands
  io.save_curves(os.path.join(directory, "curves.npz"), **arrays)
  io.save_summary(os.path.join(directory, "summary.csv"), rows)
  if plot is not None:
    plot(io.load_curves(os.path.join(directory, "curves.npz")),
         os.path.join(directory, f"{experiment}.png"))
  io.save_json(config_path, {
      "experiment": experiment, **config,
      "arms": {arm.method: arm.cfg.to_dict() for arm in arms},
      "environment": io.environment(), "complete": True})
  return rows
