"""Whether a run had stopped moving: the trend of its logged minimum max-cosine and its loss at
the end of the run (docs/results-format.md), and how well that flag foretold a longer run.

A run is 'still_moving' when the least-squares line of its minimum max-cosine over the last
quarter of its logged epochs (at least three points), continued for HORIZON more epochs, would
change it by MOVE_TOL or more (the reports' threshold for a rise or a fall), or when the loss's
least-squares line over the last tenth changed by more than LOSS_TOL of its mean magnitude (at
least LOSS_FLOOR): the logged loss is an epoch's mean over its batches, whose spread is
sampling noise, not movement. Else 'converged'. The horizon is fixed, not a multiple of the
run's length, so a 150-epoch and an 8000-epoch run answer the same question: would another HORIZON epochs at the
current pace move the result by a reportable amount? Judged against the same runs trained to
2000 epochs (calibration), the spread of the last tenth alone missed most slow climbs of a
150-epoch run. Pure NumPy.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ncl_landscape.thresholds import RISE

TREND_WINDOW = 0.25  # the minimum max-cosine's trend: the last quarter (at least 3 points)
HORIZON = 2000  # epochs the trend is continued for (the long profile's length)
MOVE_TOL = RISE  # a change of the minimum max-cosine the reports call a rise or a fall
WINDOW = 0.1  # the loss: the last tenth of the epochs (at least the last two logged points)
LOSS_TOL = 0.02  # of the loss's mean magnitude over the window
LOSS_FLOOR = 0.1  # a loss near 0 is judged against this magnitude


def window(epochs: np.ndarray, fraction: float = WINDOW, points: int = 2) -> np.ndarray:
  """Marks the logged points in the last `fraction` of the run.

  Args:
    epochs: [L] the logged epochs, increasing.
    fraction: the share of the run's span (last minus first logged epoch) to keep.
    points: the last `points` logged points are kept whatever the fraction.

  Returns:
    Boolean [L]: True at the points kept.
  """
  epochs = np.asarray(epochs, float)
  last = epochs >= epochs[-1] - fraction * (epochs[-1] - epochs[0])
  last[-points:] = True
  return last


def trend(epochs, values) -> np.ndarray:
  """Returns the least-squares slope of each row of values against epochs.

  Args:
    epochs: [L] the logged epochs.
    values: [R, L] one row per run.

  Returns:
    [R] slope per epoch; NaN for a row with a NaN.
  """
  t = np.asarray(epochs, float)
  t = t - t.mean()
  v = np.asarray(values, float)
  return ((v - v.mean(1, keepdims=True)) @ t) / (t @ t)


def convergence(epochs, maxcos_min, loss) -> tuple[np.ndarray, np.ndarray]:
  """Flags each run 'converged' or 'still_moving' by the rule of the module docstring.

  Args:
    epochs: [L] the logged epochs.
    maxcos_min: [R, L] the minimum max-cosine of each run at each logged point.
    loss: [R, L] the logged loss.

  Returns:
    (status, slope): status [R], 'converged' or 'still_moving'; slope [R], the minimum
    max-cosine's change per 1000 epochs over the last TREND_WINDOW of the run.
  """
  mc, ls = np.asarray(maxcos_min, float), np.asarray(loss, float)
  w, lw = window(epochs, TREND_WINDOW, 3), window(epochs)
  slope = trend(np.asarray(epochs)[w], mc[:, w])
  t = np.asarray(epochs, float)[lw]
  loss_change = trend(t, ls[:, lw]) * np.ptp(t)
  scale = np.maximum(np.abs(ls[:, lw]).mean(1), LOSS_FLOOR)
  still = (np.abs(slope) * HORIZON >= MOVE_TOL) | (np.abs(loss_change) > LOSS_TOL * scale)
  return np.where(still, "still_moving", "converged"), slope * 1000


RUN_FIELDS = ("method", "seed", "sparsity", "mask_prob", "warm_start_c", "lr", "temperature")


class Calibration(NamedTuple):
  """A shorter run's convergence flag judged against the same run trained longer.

  A miss is a run flagged 'converged' whose final minimum max-cosine then moved by at least
  tol, a false alarm one flagged 'still_moving' that moved by less.
  """
  runs: int  # runs judged: finite at the end of both
  moved: int  # of which moved by at least tol
  flagged: int  # of which flagged 'still_moving'
  misses: tuple[str, ...]  # run labels (run_labels)
  false_alarms: tuple[str, ...]
  returned: int  # false alarms that did move by tol at a later logged point of long, and back


def run_keys(curves: dict, fields: tuple[str, ...]) -> list[tuple]:
  """Returns each run's values of the fields, in curves' order.

  Args:
    curves: {name: [runs]} as curves.npz holds them; holds 'method' and every field.
    fields: the names to read.

  Returns:
    A tuple per run: a string as str, a number as float, a NaN as None.
  """
  def value(v):
    return str(v) if isinstance(v, str) else (None if np.isnan(v) else float(v))
  return [tuple(value(curves[f][r].item()) for f in fields) for r in range(len(curves["method"]))]


def run_labels(curves: dict, fields: tuple[str, ...]) -> list[str]:
  """Returns each run's label: 'method field value ...', e.g. 'ncl_m10 seed 0 sparsity 0.1'.

  Args:
    curves: {name: [runs]} as curves.npz holds them.
    fields: the method's field first, then the others (as RUN_FIELDS); only those whose value
      varies across the runs are named, and a NaN value is left out.

  Returns:
    One label per run, in curves' order.
  """
  keys = run_keys(curves, fields)
  varying = [i for i in range(1, len(fields)) if len({k[i] for k in keys}) > 1]
  return [" ".join([k[0], *(f"{fields[i]} {k[i]:g}" for i in varying if k[i] is not None)])
          for k in keys]


def pairing(short: dict, long: dict) -> tuple[np.ndarray, tuple[str, ...]]:
  """Pairs each run of short with the run of long at the same method and grid point.

  Args:
    short, long: curves.npz dicts of two results of the same runs; long may hold more (a survey's
      long profile trains more seeds than its quick one).

  Returns:
    (partner, fields): partner [runs of short], the index in long of each run's partner;
    fields, the RUN_FIELDS both hold, which the runs are matched by.

  Raises:
    ValueError: unless the fields tell each result's runs apart and every run of short has a
      partner.
  """
  fields = tuple(f for f in RUN_FIELDS if f in short and f in long)
  keys, partners = run_keys(short, fields), run_keys(long, fields)
  index = {k: i for i, k in enumerate(partners)}
  if len(set(keys)) != len(keys) or len(index) != len(partners):
    raise ValueError(f"runs are not told apart by {', '.join(fields)}")
  if not set(keys) <= set(index):
    raise ValueError(f"{len(set(keys) - set(index))} runs have no partner")
  return np.array([index[k] for k in keys], int), fields


def calibration(short: dict, long: dict, rule: Callable = convergence,
                tol: float = MOVE_TOL) -> Calibration:
  """Judges a convergence flag against how far the flagged runs then moved.

  Args:
    short: curves.npz dict of the runs, as trained for fewer epochs.
    long: curves.npz dict of the same runs (pairing) trained longer.
    rule: a flag with convergence's signature, applied to short.
    tol: the move of the final minimum max-cosine, from short's end to long's, that counts.

  Returns:
    Calibration of short's runs whose final minimum max-cosine is finite in both.
  """
  partner, fields = pairing(short, long)
  flags = rule(short["epochs"], short["maxcos_min"], short["loss"])[0]
  end = np.asarray(short["maxcos_min"], float)[:, -1]
  move = np.abs(np.asarray(long["maxcos_min"], float)[partner, -1] - end)
  later = np.asarray(long["epochs"]) > np.asarray(short["epochs"])[-1]
  away = np.abs(np.asarray(long["maxcos_min"], float)[partner][:, later] - end[:, None])
  judged = np.isfinite(move)
  moved, still = judged & (move >= tol), judged & (flags == "still_moving")
  false_alarm = still & ~moved
  labels = np.array(run_labels(short, fields), object)
  return Calibration(int(judged.sum()), int(moved.sum()), int(still.sum()),
                     tuple(labels[moved & ~still]), tuple(labels[false_alarm]),
                     int(np.sum(false_alarm & np.any(away >= tol, 1))))
