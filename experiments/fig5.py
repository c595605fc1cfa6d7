"""Figure 5: NCL from a warm start (c = 1) with a linear predictor: recovery rises (~0.87).

  python -m experiments.fig5 --profile=quick

The predictor W^p (Linear(m, m), no bias) is applied to the side being trained; the
encoder has BN (the predictor model honours the flag); nothing follows the predictor.
"""
from absl import app

from experiments.warm_start import Variant, WarmStartFigure, main_for, profiles

FIGURE = WarmStartFigure(
    "fig5", "Figure 5: NCL, warm start + linear predictor",
    (Variant("ncl_warm_pred", "NCL, warm start + predictor",
             {"model": {"predictor": "linear", "batch_norm": True}}),), warm=True)
PROFILES = profiles(c=1.0, seeds_paper=3)
main = main_for(FIGURE, PROFILES)

if __name__ == "__main__":
  app.run(main)
