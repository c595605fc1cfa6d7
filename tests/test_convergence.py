"""The convergence flag on synthetic curves with a known answer, its calibration against longer
runs, and the flag on a real short run."""
import numpy as np
import pytest

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.runs.run_status import run_status
from ncl_landscape.training.convergence import HORIZON, MOVE_TOL, calibration, convergence
from ncl_landscape.training.experiment import Arm, summary_rows
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid, run_grid

EPOCHS = np.arange(0, 8001, 80)
QUICK = np.arange(0, 151, 10)  # a quick-profile run: 150 epochs, logged every 10
LONG = np.arange(0, 2001, 50)


def _judge(maxcos, loss, epochs=EPOCHS):
  status, slope = convergence(epochs, np.asarray([maxcos]), np.asarray([loss]))
  return status[0], slope[0]


def test_flat_curves_with_a_noisy_loss_have_converged():
  rng = np.random.default_rng(0)
  flat = 0.7 + 0.3 * np.exp(-EPOCHS / 500)  # settled long before the last quarter
  # a batch's loss: noise of the size the paper-profile Figure 5 runs log (a spread of
  # 0.013-0.018 over their last 11 points)
  status, slope = _judge(flat, 0.45 + 0.004 * rng.normal(size=EPOCHS.size))
  assert status == "converged" and abs(slope) < 1e-3


def test_a_flat_noisy_curve_has_converged():
  rng = np.random.default_rng(1)
  for epochs in (LONG, EPOCHS):
    noisy = 0.6 + 0.004 * rng.normal(size=epochs.size)  # no trend, a spread of about 0.02
    assert _judge(noisy, np.full(epochs.size, 0.45), epochs)[0] == "converged"


def test_a_rising_curve_is_still_moving_with_its_slope():
  rising = 0.6 + 0.3 * EPOCHS / 8000  # 0.3 per 8000 epochs: 0.0375 per 1000
  status, slope = _judge(rising, np.full(EPOCHS.size, 0.45))
  assert status == "still_moving" and np.isclose(slope, 0.0375)


def test_a_slow_climb_of_a_short_run_is_still_moving_if_it_would_carry_a_reportable_change():
  # 0.04 per 1000 epochs: 0.006 over the whole 150-epoch run (within the old rule's 0.01 over
  # its last tenth), yet 0.074 by epoch 2000
  status, slope = _judge(0.5 + 0.04 * QUICK / 1000, np.full(QUICK.size, 0.45), QUICK)
  assert status == "still_moving" and np.isclose(slope, 0.04)
  # half as fast moves by 0.04 < MOVE_TOL in another HORIZON epochs
  assert 0.02 * HORIZON / 1000 < MOVE_TOL
  assert _judge(0.5 + 0.02 * QUICK / 1000, np.full(QUICK.size, 0.45), QUICK)[0] == "converged"


def test_a_falling_loss_alone_keeps_a_run_moving():
  loss = 1.0 - 0.5 * EPOCHS / 8000  # 0.05 over the last tenth: 5% of its magnitude
  assert _judge(np.full(EPOCHS.size, 0.7), loss)[0] == "still_moving"


def _curves(epochs, runs):
  """runs: [(method, seed, maxcos_min curve)] -> a curves.npz dict."""
  return {"epochs": epochs, "method": np.array([m for m, _, _ in runs]),
          "seed": np.array([s for _, s, _ in runs], float),
          "maxcos_min": np.array([c for _, _, c in runs], float),
          "loss": np.full((len(runs), epochs.size), 0.45)}


def test_calibration_counts_a_miss_and_a_false_alarm():
  flat, climb = np.full(QUICK.size, 0.5), 0.3 + 0.2 * QUICK / 150
  short = _curves(QUICK, [("ncl", 0, flat), ("ncl", 1, climb), ("cl", 0, flat),
                          ("cl", 1, climb)])
  later = LONG > 150

  def long_curve(end, peak=None):
    c = np.full(LONG.size, end, float)
    if peak is not None:
      c[later & (LONG < 1000)] = peak
    return c
  # given in another order: runs are paired by method and seed
  long = _curves(LONG, [("cl", 1, long_curve(0.9)),  # flagged and moved: right
                        ("ncl", 1, long_curve(0.51, peak=0.7)),  # moved away and came back
                        ("cl", 0, long_curve(0.5)),  # flat and stayed: right
                        ("ncl", 0, long_curve(0.6))])  # flat, then climbed: a miss
  c = calibration(short, long)
  assert (c.runs, c.moved, c.flagged) == (4, 2, 2)
  assert c.misses == ("ncl seed 0",) and c.false_alarms == ("ncl seed 1",) and c.returned == 1
  # a rule that flags every run has no miss and flags both runs that stayed
  every = calibration(short, long, lambda e, m, l: (np.full(len(m), "still_moving"), None))
  assert every.misses == () and set(every.false_alarms) == {"ncl seed 1", "cl seed 0"}


def test_calibration_needs_a_partner_for_each_shorter_run():
  short = _curves(QUICK, [("ncl", 0, np.full(QUICK.size, 0.5))] * 2)
  with pytest.raises(ValueError, match="told apart"):
    calibration(short, _curves(LONG, [("ncl", 0, np.full(LONG.size, 0.5))]))
  short = _curves(QUICK, [("ncl", 0, np.full(QUICK.size, 0.5))])
  with pytest.raises(ValueError, match="no partner"):
    calibration(short, _curves(LONG, [("ncl", 1, np.full(LONG.size, 0.5))]))
  # the longer run may train more seeds: only the shared ones are judged
  more = calibration(short, _curves(LONG, [("ncl", 1, np.full(LONG.size, 0.9)),
                                           ("ncl", 0, np.full(LONG.size, 0.5))]))
  assert (more.runs, more.moved) == (1, 0)


def test_a_real_short_run_carries_its_flag_and_status_in_the_summary():
  cfg = RunConfig(data=DataConfig(n=300, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=64, epochs=20, log_every=2))
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,))
  out = run_grid(cfg, grid)
  rows = summary_rows("t", Arm("ncl", cfg, grid), out)
  epochs = np.arange(0, 21, 2)
  status, slope = convergence(epochs, out.curves["maxcos_min"], out.curves["loss"])
  assert [r["convergence"] for r in rows] == list(status)
  np.testing.assert_allclose([r["slope_per_1000"] for r in rows], slope)
  assert [r["status"] for r in rows] == list(run_status(
      epochs, out.curves["loss"], out.final["within_bound"], out.final["collapse_complete"]))
