"""Figures 4-7 share one shape: NCL from a warm start or with a predictor, per sparsity.

Each figure is a WarmStartFigure: its arms' configuration changes and its profiles;
`main_for` makes the absl main of its binary.
"""
from __future__ import annotations

from typing import NamedTuple

from experiments import common
from ncl_landscape.experiment import Arm


class Variant(NamedTuple):
  method: str  # summary name, e.g. 'ncl_warm_pred'
  label: str
  sections: dict  # RunConfig.replace(**sections) on top of the NCL base


class WarmStartFigure(NamedTuple):
  experiment: str
  title: str
  variants: tuple[Variant, ...]
  warm: bool  # sweeps --warm_start_c


def profiles(c: float | None, seeds_paper: int) -> dict:
  """smoke / quick / paper settings; c is the default warm-start exponent (None: no warm start)."""
  grid = dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", batch_norm="code")
  if c is not None:
    grid["warm_start_c"] = (c,)
  return {
      "smoke": dict(grid, seeds=2, epochs=4, log_every=1, lr=0.025, sparsities=(0.1,),
                    mask_probs=(0.5,)),
      "quick": dict(grid, seeds=3, epochs=2000, log_every=50, lr=0.025, mask_probs=(0.5,)),
      "paper": dict(grid, seeds=seeds_paper, epochs=8000, log_every=80, lr=0.005,
                    mask_probs=(0.5,)),
  }


def make_arms(fig: WarmStartFigure, s: dict) -> list[Arm]:
  swept = {"warm_start_c": s["warm_start_c"]} if fig.warm else {}
  grid = common.sparsity_grid(s, **swept)
  arms = []
  for v in fig.variants:
    sections = {k: dict(v) for k, v in v.sections.items()}
    model = sections.setdefault("model", {})
    model.setdefault("batch_norm", s["batch_norm"] == "caption")
    if fig.warm:
      model["init"] = "warm"
    train = dict(method="ncl", mask="independent", **sections.pop("train", {}))
    arms.append(Arm(v.method, common.base_config(s, train=train, **sections), grid))
  return arms


def main_for(fig: WarmStartFigure, profiles: dict):
  """The absl main of fig's binary."""
  def plot(curves, path):
    common.plot_by_sparsity(curves, path, [(v.method, v.label) for v in fig.variants],
                            fig.title)

  return common.experiment_main(fig.experiment, profiles, ("latent", "batch_norm"),
                                lambda s: make_arms(fig, s), plot)
