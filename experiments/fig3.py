"""Figure 3: NCL with a two-layer linear encoder (BN + symmetric ReLU) still fails.

  python -m experiments.fig3 --profile=quick
"""
from __future__ import annotations

from absl import app

from experiments import common
from ncl_landscape.experiment import Arm

_GRID = dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count")
PROFILES = {
    "smoke": dict(_GRID, seeds=2, epochs=4, log_every=1, lr=0.025, sparsities=(0.1,),
                  mask_probs=(0.5,)),
    "quick": dict(_GRID, seeds=3, epochs=2000, log_every=50, lr=0.025, mask_probs=(0.5,)),
    "paper": dict(_GRID, seeds=5, epochs=8000, log_every=80, lr=0.005, mask_probs=(0.5,)),
}
USES = ("latent",)


def make_arms(s: dict) -> list[Arm]:
  cfg = common.base_config(s, model=dict(layers=2, batch_norm=True),
                           train=dict(method="ncl", mask="independent"))
  return [Arm("ncl_2layer", cfg, common.sparsity_grid(s))]


def plot(curves, path):
  common.plot_by_sparsity(curves, path, [("ncl_2layer", "NCL, two-layer encoder")],
                          "Figure 3: NCL with a two-layer linear encoder")


main = common.experiment_main("fig3", PROFILES, USES, make_arms, plot)


if __name__ == "__main__":
  app.run(main)
