"""Figure 1: NCL vs CL with one-hot latents, normalised representations, symmetric ReLU.

  python -m experiments.fig1 --profile=quick
  python -m experiments.fig1 --one_hot_sign=per_sample   # the paper's text: +-1 per sample

As the authors ran it (the defaults): the NCL data set draws one sign for all its
samples, the CL data set is all +1; NCL without BN, CL with BN (--batch_norm=caption:
neither, as the figure's text); NCL with independent masks, CL with dependent masks
D ~ Bernoulli(0.5) whatever the mask grid, so CL trains one mask cell (--cl_masks).
"""
from __future__ import annotations

from experiments import common
from experiments.registry import Experiment
from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.plots import paper as plotting
from ncl_landscape.report import claims
from ncl_landscape.training.experiment import Arm
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid

PROFILES = common.profiles(
    "contrastive", dict(cl_masks="dependent", one_hot_sign="code", batch_norm="code",
                        mask_probs=(0.5,)),
    paper=dict(mask_probs=(0.25, 0.5, 0.75, 0.9)))
USES = ("cl_masks", "one_hot_sign", "batch_norm")
METHODS = [("ncl", "NCL"), ("cl", "CL")]


def make_arms(s: dict) -> list[Arm]:
  """The NCL and CL arms of the figure for resolved settings s."""
  code_signs = s["one_hot_sign"] == "code"
  base = RunConfig(data=DataConfig(latent="one_hot"), model=ModelConfig(normalize_repr=True),
                   train=TrainConfig(epochs=s["epochs"], log_every=s["log_every"]))
  ncl = base.replace(data=dict(one_hot_sign="per_dataset" if code_signs else "per_sample"),
                     train=dict(method="ncl", mask="independent"))
  cl = base.replace(data=dict(one_hot_sign="positive" if code_signs else "per_sample"),
                    model=dict(batch_norm=s["batch_norm"] == "code"),
                    train=dict(method="cl", mask=common.cl_mask(s), drop_last=True))
  grid = lambda mask_probs: make_grid(s["base_seed"], s["seeds"], Hyper(),
                                      mask_prob=mask_probs, lr=s["lr"])
  return [Arm("ncl", ncl, grid(s["mask_probs"])), Arm("cl", cl, grid(common.cl_mask_probs(s)))]


def plot(curves, path, config=None):
  """Draws Figure 1: a row per method, lines per mask probability."""
  rows = [(name, {"method": method}, "mask_prob") for method, name in METHODS]
  plotting.plot_rows(curves, path, rows, title="Figure 1: NCL vs CL, one-hot latents",
                     config=config)


main = common.experiment_main("fig1", PROFILES, USES, make_arms, plot)

CLAIM = claims.Claim("Figure 1: NCL vs CL, one-hot latents",
                     "CL's minimum max-cosine is high, NCL's is low (5 runs).", claims.contrast)
EXPERIMENT = Experiment("fig1", "figure", CLAIM)


if __name__ == "__main__":
  main.run()
