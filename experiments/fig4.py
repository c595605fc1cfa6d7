"""Figure 4: NCL from a warm start (c = 1, sigma ~ 0.141), no predictor: recovery decays.

  python -m experiments.fig4 --profile=quick --warm_start_c=0.5,1,2

As run: the NCL model without a predictor has no BN (--batch_norm=caption adds it).
"""
from experiments.registry import Experiment
from experiments.warm_start import FigureArm, WarmStartFigure, main_for, profiles
from ncl_landscape.report import claims

FIGURE = WarmStartFigure("fig4", "Figure 4: NCL from a warm start",
                         (FigureArm("ncl_warm", "NCL, warm start", {}),), warm=True)
PROFILES = profiles(c=1.0, seeds_paper=5, heads=False, scripted=False)
main = main_for(FIGURE, PROFILES)

CLAIM = claims.Claim("Figure 4: NCL from a warm start (c = 1), no predictor",
                     "Minimum max-cosine decreases during training (5 runs).",
                     claims.falls("ncl_warm"), claims.WARM_NOTE)
EXPERIMENT = Experiment("fig4", "figure", CLAIM)


if __name__ == "__main__":
  main.run()
