"""Figure 6: NCL with a linear predictor from a random start still fails.

  python -m experiments.fig6 --profile=quick

The predictor model of Figure 5 (predictor with bias, PyTorch's default init, BN), from
the random start.
"""
from experiments.fig5 import PREDICTOR
from experiments.registry import Experiment
from experiments.warm_start import FigureArm, WarmStartFigure, main_for, profiles
from ncl_landscape.report import claims

FIGURE = WarmStartFigure("fig6", "Figure 6: NCL + linear predictor, random start",
                         (FigureArm("ncl_pred", "NCL + predictor", PREDICTOR),), warm=False)
PROFILES = profiles(c=None, seeds_paper=3, heads=True, scripted=True)
main = main_for(FIGURE, PROFILES)

CLAIM = claims.Claim("Figure 6: NCL with a linear predictor, random start",
                     "Fails: minimum max-cosine stays low (3 runs).", claims.stays_low("ncl_pred"))
EXPERIMENT = Experiment("fig6", "figure", CLAIM)


if __name__ == "__main__":
  main.run()
