"""Figure 3: NCL with a two-layer encoder (BN + symmetric ReLU) still fails.

  python -m experiments.fig3 --profile=quick

Two readings, both trained and drawn. As the authors' code has it (ncl_2layer):
Linear(p, m) -> BN -> symmetric activation -> Linear(m, m) -> BN -> symmetric activation,
each layer its own bias and threshold, max-cosine read from the first layer. As the text
reads (ncl_2layer_product): act(BN(W W1 a + b)), a product of two linear maps, max-cosine
read from W W1. No script of the authors made the figure.
"""
from __future__ import annotations

from experiments import common
from experiments.registry import Experiment
from ncl_landscape.report import claims
from ncl_landscape.training.experiment import Arm

PROFILES = common.profiles(
    "ncl", dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", mask_probs=(0.5,)),
    smoke=dict(sparsities=(0.1,)), paper=dict(lr=common.UNSCRIPTED_LRS))
USES = ("latent",)


METHODS = [("ncl_2layer", "NCL, two layers as coded"),
           ("ncl_2layer_product", "NCL, two linear maps (the text)")]


def make_arms(s: dict) -> list[Arm]:
  """Figure 3's two arms: the two-layer encoder as the authors' code has it, and as the text."""
  code = common.base_config(s, model=dict(layers=2, two_layer="code", batch_norm=True),
                            train=dict(method="ncl", mask="independent"))
  product = code.replace(model=dict(two_layer="product"))
  grid = common.sparsity_grid(s)
  return [Arm("ncl_2layer", code, grid), Arm("ncl_2layer_product", product, grid)]


def plot(curves, path, config=None):
  """Draws Figure 3: a row per reading, lines per sparsity."""
  common.plot_by_sparsity(curves, path, METHODS, "Figure 3: NCL with a two-layer encoder",
                          config)


main = common.experiment_main("fig3", PROFILES, USES, make_arms, plot)

CLAIM = claims.Claim("Figure 3: NCL with a two-layer encoder",
                     "Still fails: minimum max-cosine stays low (5 runs).",
                     claims.stays_low("ncl_2layer", "ncl_2layer_product"))
EXPERIMENT = Experiment("fig3", "figure", CLAIM)


if __name__ == "__main__":
  main.run()
