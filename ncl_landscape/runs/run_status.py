"""A run's status from what an experiment saves, and its refresh in a saved result.

Reports average the 'ok' runs only and count the others by status (docs/results-format.md).

- 'diverged': a loss or a weight left the sane range: non-finite, or beyond
  metrics.DIVERGENCE_BOUND in absolute value (metrics.within_bound).
- 'unbounded': the loss runs away below: it ends below -UNBOUNDED_SCALE times its initial
  magnitude (at least 1), and its least-squares line over the last quarter of the logged epochs
  still falls. A bounded criterion stays within a few units of where it started: the lowest of
  the shipped ones, the spectral contrastive loss, ends near -1.6 from -1.3, SimSiam's negative
  cosine near -0.9 from 0; a predictor fixed at the identity drives NCL's to -4e4.
- 'collapsed': complete collapse (metrics.collapse): the outputs are all (nearly) one vector, so
  the representation carries nothing the recovery metrics could read. Dimensional collapse
  alone stays 'ok': it is a stable outcome of a well-posed objective whose max-cosine is
  measured as well as any other's (no shipped run with it recovers the dictionary), and leaving
  such runs out would lift the means of the methods that fail by it; its column says it.
- else 'ok'.
"""
from __future__ import annotations

import csv
import os
from typing import NamedTuple

import numpy as np

from ncl_landscape.runs import disk
from ncl_landscape.training.convergence import TREND_WINDOW, convergence, trend, window

UNBOUNDED_SCALE = 10.0


def run_status(epochs, loss, within_bound, collapse_complete=None) -> np.ndarray:
  """Returns each run's status, by the rules of the module docstring.

  Args:
    epochs: [L] the logged epochs.
    loss: [R, L] the logged loss; None: not logged (no run is then 'unbounded').
    within_bound: [R] truthy where the run stayed finite and within metrics.DIVERGENCE_BOUND.
    collapse_complete: [R] truthy where the run collapsed completely; None: not measured.

  Returns:
    [R]: 'diverged', 'unbounded', 'collapsed' or 'ok', the first that applies.
  """
  sane = np.asarray(within_bound, float) > 0
  unbounded = np.zeros_like(sane)
  if loss is not None:
    ls = np.asarray(loss, float)
    w = window(epochs, TREND_WINDOW, 3)
    floor = -UNBOUNDED_SCALE * np.maximum(np.abs(ls[:, 0]), 1.0)
    unbounded = (ls[:, -1] < floor) & (trend(np.asarray(epochs)[w], ls[:, w]) < 0)
  collapsed = np.zeros_like(sane) if collapse_complete is None else (
      np.asarray(collapse_complete, float) > 0)
  return np.select([~sane, unbounded, collapsed], ["diverged", "unbounded", "collapsed"], "ok")


class Change(NamedTuple):
  """A run of a refreshed result whose status or convergence flag changed."""
  row: int  # in summary.csv
  method: str
  status: tuple[str, str]  # (before, after)
  convergence: tuple[str, str]


def refresh(directory: str) -> list[Change]:
  """Recomputes the derived columns of a saved result from its saved curves.

  Every run's status (run_status) and, where the result has them, convergence and
  slope_per_1000 (convergence.py, for every run but a diverged one). summary.csv and
  curves.npz are rewritten when any changed, every other column, array and cell as they were;
  when their digests change, config.json records the new ones and derived_by().

  Args:
    directory: the experiment's directory.

  Returns:
    The runs whose status or convergence flag changed.

  Raises:
    ValueError: if summary.csv and curves.npz list different runs.
  """
  paths = {name: os.path.join(directory, name)
           for name in ("summary.csv", "curves.npz", "config.json")}
  curves = disk.load_curves(paths["curves.npz"])
  rows = disk.load_summary(paths["summary.csv"])
  with open(paths["summary.csv"], newline="") as f:
    columns = next(csv.reader(f))
  if [r["method"] for r in rows] != [str(m) for m in curves["method"]]:
    raise ValueError(f"{directory}: summary.csv and curves.npz list different runs")
  sane = curves["status"] != "diverged"
  if "final_within_bound" in curves:
    sane &= curves["final_within_bound"] > 0
  status = run_status(curves["epochs"], curves.get("loss"), sane,
                      curves.get("final_collapse_complete"))
  flags = curves.get("convergence")
  if flags is not None:
    moving, slope = convergence(curves["epochs"], curves["maxcos_min"], curves["loss"])
    flags = np.where(status == "diverged", "", moving)
  changes, new_rows = [], []
  for r, row in enumerate(rows):
    new = {**row, "status": str(status[r])}
    if flags is not None:
      new.update(convergence=str(flags[r]),
                 slope_per_1000=float(slope[r]) if flags[r] else None)
    old_flag, new_flag = row.get("convergence", ""), new.get("convergence", "")
    if (row["status"], old_flag) != (new["status"], new_flag):
      changes.append(Change(r, row["method"], (row["status"], new["status"]),
                            (old_flag, new_flag)))
    new_rows.append(new)
  if not (np.array_equal(status, curves["status"])
          and (flags is None or np.array_equal(flags, curves["convergence"]))):
    curves["status"] = status
    if flags is not None:
      curves["convergence"] = flags
    disk.save_curves(paths["curves.npz"], **curves)
  disk.save_csv(paths["summary.csv"], new_rows, tuple(columns))  # the same bytes if unchanged
  config = disk.load_json(paths["config.json"])
  digests = {name: disk.file_digest(paths[name]) for name in ("summary.csv", "curves.npz")}
  if any(config["files"].get(name) != d for name, d in digests.items()):
    config["files"].update(digests)
    config["derived"] = derived_by()
    disk.save_json(paths["config.json"], config)
  return changes


DERIVED = ("status", "convergence", "slope_per_1000")  # what refresh recomputes


def derived_by() -> dict:
  """config.json's "derived": the columns a refresh recomputed and the code that did it.

  The code: its commit and source digest, as environment "code" records them. refresh records
  it, with the new digests, when it rewrites the result files.
  """
  return {"columns": list(DERIVED), "code": disk.code_commit()[0]}
