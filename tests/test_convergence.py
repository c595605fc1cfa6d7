"""The convergence flag on synthetic curves with a known answer, and on a real short run."""
import numpy as np

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.convergence import MAXCOS_TOL, convergence
from ncl_landscape.experiment import Arm, summary_rows
from ncl_landscape.hyper import Hyper
from ncl_landscape.sweep import make_grid, run_grid

EPOCHS = np.arange(0, 8001, 80)


def _judge(maxcos, loss):
  status, slope = convergence(EPOCHS, np.asarray([maxcos]), np.asarray([loss]))
  return status[0], slope[0]


def test_flat_curves_with_a_noisy_loss_have_converged():
  rng = np.random.default_rng(0)
  flat = 0.7 + 0.3 * np.exp(-EPOCHS / 500)  # settled long before the last tenth
  # a batch's loss: noise of the size the paper-profile Figure 5 runs log (a spread of
  # 0.013-0.018 over their last 11 points)
  status, slope = _judge(flat, 0.45 + 0.004 * rng.normal(size=EPOCHS.size))
  assert status == "converged" and abs(slope) < 1e-3


def test_a_rising_curve_is_still_moving_with_its_slope():
  rising = 0.6 + 0.3 * EPOCHS / 8000  # 0.3 per 8000 epochs: 0.0375 per 1000
  status, slope = _judge(rising, np.full(EPOCHS.size, 0.45))
  assert status == "still_moving" and np.isclose(slope, 0.0375)


def test_an_oscillation_wider_than_the_tolerance_is_still_moving():
  wave = 0.7 + MAXCOS_TOL * np.sin(EPOCHS / 100)  # no trend, a 2 x tolerance swing
  assert _judge(wave, np.full(EPOCHS.size, 0.45))[0] == "still_moving"
  assert _judge(0.7 + 0.2 * MAXCOS_TOL * np.sin(EPOCHS / 100),
                np.full(EPOCHS.size, 0.45))[0] == "converged"


def test_a_falling_loss_alone_keeps_a_run_moving():
  loss = 1.0 - 0.5 * EPOCHS / 8000  # 0.05 over the last tenth: 5% of its magnitude
  assert _judge(np.full(EPOCHS.size, 0.7), loss)[0] == "still_moving"


def test_a_real_short_run_carries_its_flag_in_the_summary():
  cfg = RunConfig(data=DataConfig(n=300, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=64, epochs=20, log_every=2))
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,))
  out = run_grid(cfg, grid)
  rows = summary_rows("t", Arm("ncl", cfg, grid), out)
  status, slope = convergence(np.arange(0, 21, 2), out.curves["maxcos_min"], out.curves["loss"])
  assert [r["convergence"] for r in rows] == list(status)
  np.testing.assert_allclose([r["slope_per_1000"] for r in rows], slope)
