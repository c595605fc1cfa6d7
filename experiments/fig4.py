"""Figure 4: NCL from a warm start (c = 1, sigma ~ 0.141), no predictor: recovery decays.

  python -m experiments.fig4 --profile=quick --warm_start_c=0.5,1,2

As run: the NCL model without a predictor has no BN (--batch_norm=caption adds it).
"""
from experiments.warm_start import FigureArm, WarmStartFigure, main_for, profiles

FIGURE = WarmStartFigure("fig4", "Figure 4: NCL from a warm start",
                         (FigureArm("ncl_warm", "NCL, warm start", {}),), warm=True)
PROFILES = profiles(c=1.0, seeds_paper=5, heads=False, scripted=False)
main = main_for(FIGURE, PROFILES)

if __name__ == "__main__":
  main.run()
