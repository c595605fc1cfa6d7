"""The atlas: which self-supervised criteria recover the dictionary, from where.

  python -m experiments.atlas --profile=quick
  python -m experiments.atlas --methods=vicreg,byol,directpred --sparsities=0.1,0.3
  python -m experiments.atlas --encoder=mlp   # a two-layer flax MLP encoder (encoders.py)

Every method of docs/methods.md (the paper's and the related families') x sparsity x
{random, warm start c} x seeds, on one testbed: the linear encoder (or --encoder=mlp)
with the code's symmetric activation, no BN, independent masks, the paper's Bernoulli
latents (so every sparsity is a different data set). The initialisation is traced
(ModelConfig.init 'swept', warm_start_c = 0 for the random start), so each method trains
its whole grid in one compiled call. Writes the heatmap atlas.png (methods x sparsity,
colour the mean minimum max-cosine, letters for collapse and divergence) and
atlas_curves.png (small multiples).
"""
from __future__ import annotations

from experiments import common
from experiments.registry import Experiment
from ncl_landscape.plots import atlas as atlas_plots
from ncl_landscape.report import claims
from ncl_landscape.training.experiment import Arm

PROFILES = common.profiles(
    "survey", dict(sparsities=(0.1, 0.2, 0.3), warm_start_c=(1.0,), latent="bernoulli",
                   mask_probs=(0.5,), encoder="linear"),
    smoke=dict(sparsities=(0.2,)), quick=dict(sparsities=(0.1, 0.3)),
    long=dict(sparsities=(0.1, 0.3)))
USES = ("latent", "methods", "encoder")


def make_arms(s: dict) -> list[Arm]:
  """The atlas's arms: one per method, each over seeds x sparsities x {random, warm start c}.

  The start is traced (init 'swept', c = 0 the random start); independent masks, the settings'
  encoder.
  """
  grid = common.sparsity_grid(s, warm_start_c=(0.0,) + tuple(s["warm_start_c"]))
  model = dict(init="swept", encoder=s["encoder"])
  return [Arm(method, common.base_config(s, model=model,
                                         train=dict(method=method, mask="independent")), grid)
          for method in s["methods"]]


main = common.experiment_main("atlas", PROFILES, USES, make_arms, atlas_plots.plot_atlas)

CLAIM = claims.Claim("Atlas: every family on one testbed (beyond the paper)",
                     "not tested: the paper compares one contrastive and two non-contrastive "
                     "losses; the atlas asks the same question of every family of "
                     "docs/methods.md, from a random and a warm start.",
                     claims.atlas,
                     "One testbed for all: the linear encoder (unless the Model line names "
                     "another) with the code's symmetric activation, no BN, independent masks, "
                     "Bernoulli latents (so `cl` here lacks the BN and dependent masks that make "
                     "Figure 2's CL succeed). Ranked by the random-start column; mean +- std over "
                     "seeds and sparsities.",
                     claims.atlas_beside)
EXPERIMENT = Experiment("atlas", "survey", CLAIM)


if __name__ == "__main__":
  main.run()
