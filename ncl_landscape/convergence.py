"""Whether a run had stopped moving: its logged minimum max-cosine and loss over the last
tenth of its epochs (README, "Results on disk").

A run is 'converged' when, over that window, the minimum max-cosine moved (max - min: a rise,
a fall or an oscillation) by at most MAXCOS_TOL, and the loss's least-squares line changed by
at most LOSS_TOL of its mean magnitude (at least LOSS_FLOOR): the logged loss is one batch's,
so its own spread is sampling noise, not movement. Else 'still_moving', with the
least-squares slope of the minimum max-cosine per 1000 epochs (positive: still rising).
Pure NumPy.
"""
from __future__ import annotations

import numpy as np

WINDOW = 0.1  # the last tenth of the epochs (at least the last two logged points)
MAXCOS_TOL = 0.01
LOSS_TOL = 0.02  # of the loss's mean magnitude over the window
LOSS_FLOOR = 0.1  # a loss near 0 is judged against this magnitude


def window(epochs: np.ndarray) -> np.ndarray:
  """Boolean [L]: the logged points in the last WINDOW of the run (at least two)."""
  epochs = np.asarray(epochs, float)
  last = epochs >= epochs[-1] - WINDOW * (epochs[-1] - epochs[0])
  last[-2:] = True
  return last


def convergence(epochs, maxcos_min, loss) -> tuple[np.ndarray, np.ndarray]:
  """epochs [L]; maxcos_min, loss [R, L] -> (status [R]: 'converged' or 'still_moving',
  slope [R]: minimum max-cosine change per 1000 epochs over the window)."""
  w = window(epochs)
  t, mc, ls = np.asarray(epochs, float)[w], np.asarray(maxcos_min)[:, w], np.asarray(loss)[:, w]
  t = t - t.mean()
  slope = np.polyfit(t, mc.T, 1)[0] * 1000
  loss_change = np.polyfit(t, ls.T, 1)[0] * np.ptp(t)
  scale = np.maximum(np.abs(ls).mean(1), LOSS_FLOOR)
  still = (np.ptp(mc, 1) > MAXCOS_TOL) | (np.abs(loss_change) > LOSS_TOL * scale)
  return np.where(still, "still_moving", "converged"), slope
