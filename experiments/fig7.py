"""Figure 7: NCL from a warm start (c = 2) with W^o, W^t row-normalised after every step and
normalised outputs, no predictor: recovery rises (~0.62 -> ~0.85). The appendix's column
normalisation is the second row.

  python -m experiments.fig7 --profile=quick
"""
from absl import app

from experiments.warm_start import Variant, WarmStartFigure, main_for, profiles

_NORMALISED = {"model": {"normalize_repr": True}}
FIGURE = WarmStartFigure(
    "fig7", "Figure 7: NCL, warm start + weight normalisation",
    (Variant("ncl_warm_rownorm", "NCL, warm start, row-normalised W",
             dict(_NORMALISED, train={"weight_norm": "row"})),
     Variant("ncl_warm_colnorm", "NCL, warm start, column-normalised W",
             dict(_NORMALISED, train={"weight_norm": "column"}))), warm=True)
PROFILES = profiles(c=2.0, seeds_paper=3)
main = main_for(FIGURE, PROFILES)

if __name__ == "__main__":
  app.run(main)
