"""Table 1: Simplified-SimCLR vs Simplified-SimSiam, max / median / min max-cosine.

  python -m experiments.table1 --profile=quick

Both: linear encoder, BN and the symmetric activation after it, random init.
Simplified-SimCLR adds a linear projector and trains NT-Xent (temperature 0.05, masks
per --cl_masks); Simplified-SimSiam has projector (BN + activation) and a linear
predictor, with the symmetric negative cosine and stop-gradient, on independent masks.
"""
from __future__ import annotations

from absl import app

from experiments import common
from ncl_landscape.experiment import Arm

_GRID = dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", cl_masks="dependent")
PROFILES = {
    "smoke": dict(_GRID, seeds=2, epochs=4, log_every=1, lr=0.025, sparsities=(0.1,),
                  mask_probs=(0.5,)),
    "quick": dict(_GRID, seeds=3, epochs=400, log_every=10, lr=0.025, mask_probs=(0.5,)),
    "paper": dict(_GRID, seeds=5, epochs=8000, log_every=80, lr=0.005, mask_probs=(0.5,)),
}
USES = ("latent", "cl_masks")
METHODS = [("simplified_simclr", "Simplified-SimCLR"), ("simplified_simsiam", "Simplified-SimSiam")]


def make_arms(s: dict) -> list[Arm]:
  simclr = common.base_config(s, model=dict(batch_norm=True),
                              train=dict(method="simclr", mask=s["cl_masks"], drop_last=True))
  simsiam = common.base_config(s, model=dict(batch_norm=True),
                               train=dict(method="simsiam", mask="independent"))
  grid = common.sparsity_grid(s)
  return [Arm("simplified_simclr", simclr, grid), Arm("simplified_simsiam", simsiam, grid)]


def plot(curves, path):
  common.plot_by_sparsity(curves, path, METHODS, "Table 1: Simplified-SimCLR vs -SimSiam")


main = common.experiment_main("table1", PROFILES, USES, make_arms, plot)


if __name__ == "__main__":
  app.run(main)
