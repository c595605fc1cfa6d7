"""Figure 2: NCL vs CL with k-sparse latents (BN + symmetric ReLU), min max-cosine and loss.

  python -m experiments.fig2 --profile=quick
  python -m experiments.fig2 --profile=paper --cl_masks=independent   # the paper's text

As the authors ran it (the defaults): fixed-count latents, NCL with independent masks
and no BN, CL (NT-Xent, temperature 0.05, last partial batch dropped) with BN and
dependent masks D ~ Bernoulli(0.5) whatever the mask grid (so CL trains one mask cell per
sparsity, and every NCL cell is compared with it), encoder bias U(+-1/sqrt(p)), the
code's symmetric activation.
"""
from __future__ import annotations

from experiments import common
from ncl_landscape.experiment import Arm

PROFILES = common.profiles(
    "contrastive", dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", cl_masks="dependent",
                        batch_norm="code", mask_probs=(0.5,)),
    smoke=dict(sparsities=(0.1, 0.3)), paper=dict(mask_probs=(0.25, 0.5, 0.75, 0.9)))
USES = ("latent", "cl_masks", "batch_norm")


def make_arms(s: dict) -> list[Arm]:
  """The NCL and CL arms of the figure for resolved settings s."""
  ncl = common.base_config(s, model=dict(batch_norm=s["batch_norm"] == "caption"),
                           train=dict(method="ncl", mask="independent"))
  cl = common.base_config(s, model=dict(batch_norm=True),
                          train=dict(method="cl", mask=common.cl_mask(s), drop_last=True))
  return [Arm("ncl", ncl, common.sparsity_grid(s)),
          Arm("cl", cl, common.sparsity_grid(s, common.cl_mask_probs(s)))]


def plot(curves, path, config=None):
  common.plot_by_sparsity(curves, path, [("ncl", "NCL"), ("cl", "CL")],
                          "Figure 2: NCL vs CL, k-sparse latents", config)


main = common.experiment_main("fig2", PROFILES, USES, make_arms, plot)


if __name__ == "__main__":
  main.run()
