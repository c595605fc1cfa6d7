"""Figure 5: NCL from a warm start (c = 1) with a linear predictor: recovery rises (~0.87).

  python -m experiments.fig5 --profile=quick

As the authors' model ran: the predictor Linear(m, m) WITH bias (the script does not pass
--use_pred_bias False), PyTorch's default init for weight and bias (--head_init), applied
to the unnormalised output of the side being trained and normalised after it,
n(W^p h + b^p) against n(h); BN on both encoders; trained in both the online and the
target step. The published script's configuration has no warm-start level (it is the
same command as Figure 6's); the figure shows a warm start, so c = 1 is kept.
"""
from experiments.warm_start import FigureArm, WarmStartFigure, main_for, profiles

PREDICTOR = {"model": {"predictor": "linear_bias", "batch_norm": True, "normalize_repr": True}}
FIGURE = WarmStartFigure("fig5", "Figure 5: NCL, warm start + linear predictor",
                         (FigureArm("ncl_warm_pred", "NCL, warm start + predictor", PREDICTOR),),
                         warm=True)
PROFILES = profiles(c=1.0, seeds_paper=3, heads=True, scripted=False)
main = main_for(FIGURE, PROFILES)

if __name__ == "__main__":
  main.run()
