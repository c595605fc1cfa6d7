"""Figures 4-7 share one shape: NCL from a warm start or with a predictor, per sparsity.

Each figure is a WarmStartFigure: its variants (arms) as configuration changes on top of
the NCL base, and its profiles; `main_for` makes the absl main of its binary. A variant
is either the model as the authors' scripts ran it ('as_run') or as the paper's text
describes it ('as_written'); where the two agree the figure has only 'as_run' variants.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from experiments import common
from ncl_landscape import plotting
from ncl_landscape.experiment import Arm


class Variant(NamedTuple):
  method: str  # summary name, e.g. 'ncl_warm_pred'
  label: str
  sections: dict  # RunConfig.replace(**sections) on top of the NCL base
  fidelity: str = "as_run"  # one of common.FIDELITIES
  warm_start_c: tuple[float, ...] = ()  # its own default c values (else the profile's)


class WarmStartFigure(NamedTuple):
  experiment: str
  title: str
  variants: tuple[Variant, ...]
  warm: bool  # sweeps --warm_start_c


def profiles(c: float | None, seeds_paper: int, heads: bool) -> dict:
  """smoke / quick / paper settings; c is the default warm-start exponent (None: no warm
  start, or, for a figure whose variants carry their own c, the variants'); heads: the
  figure's model has a predictor (so --head_init applies)."""
  grid = dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", batch_norm="code",
              warm_start_c=None if c is None else (c,))
  if heads:
    grid["head_init"] = "torch_uniform"
  return {
      "smoke": dict(grid, seeds=2, epochs=4, log_every=1, lr=0.025, sparsities=(0.1,),
                    mask_probs=(0.5,)),
      "quick": dict(grid, seeds=3, epochs=2000, log_every=50, lr=0.025, mask_probs=(0.5,)),
      "paper": dict(grid, seeds=seeds_paper, epochs=8000, log_every=80, lr=0.005,
                    mask_probs=(0.5,)),
  }


def variant_c(v: Variant, s: dict) -> tuple[float, ...]:
  """The warm-start exponents a variant sweeps: --warm_start_c, else its own, else the profile's."""
  return s["warm_start_c"] if s.get("warm_start_c_given") else (v.warm_start_c or
                                                                 s["warm_start_c"])


def selected(fig: WarmStartFigure, s: dict) -> tuple[Variant, ...]:
  return tuple(v for v in fig.variants if v.fidelity in s.get("variants", common.FIDELITIES))


def make_arms(fig: WarmStartFigure, s: dict) -> list[Arm]:
  arms = []
  for v in selected(fig, s):
    swept = {"warm_start_c": variant_c(v, s)} if fig.warm else {}
    sections = {k: dict(section) for k, section in v.sections.items()}
    model = sections.setdefault("model", {})
    model.setdefault("batch_norm", s["batch_norm"] == "caption")
    if "head_init" in s:
      model.setdefault("head_init", s["head_init"])
    if fig.warm:
      model["init"] = "warm"
    train = dict(method="ncl", mask="independent", **sections.pop("train", {}))
    arms.append(Arm(v.method, common.base_config(s, train=train, **sections),
                    common.sparsity_grid(s, **swept)))
  return arms


def plot_variants(fig: WarmStartFigure, curves: dict, path: str) -> None:
  """A row per variant (lines per sparsity), or per variant and sparsity (lines per c) for a
  variant that sweeps several c."""
  rows = []
  mask_prob = float(curves["mask_prob"][0])
  for v in fig.variants:
    sel = plotting.select_runs(curves, {"method": v.method})
    if not sel.any():
      continue
    if len(set(curves["warm_start_c"][sel])) > 1:
      rows += [(f"{v.label}, Psparse = {sp:g}", {"method": v.method, "sparsity": sp},
                "warm_start_c") for sp in sorted(set(curves["sparsity"][sel]))]
    else:
      cs = set(curves["warm_start_c"][sel][~np.isnan(curves["warm_start_c"][sel])])
      label = v.label + (f", c = {cs.pop():g}" if len(cs) == 1 else "")
      rows.append((label, {"method": v.method}, "sparsity"))
  plotting.plot_rows(curves, path, rows, title=f"{fig.title} (mask prob {mask_prob:g})")


def main_for(fig: WarmStartFigure, profiles: dict):
  """The absl main of fig's binary."""
  uses = ("latent", "batch_norm") + (("head_init",) if "head_init" in profiles["quick"] else ())
  if {v.fidelity for v in fig.variants} == set(common.FIDELITIES):
    uses += ("variants",)
  return common.experiment_main(fig.experiment, profiles, uses, lambda s: make_arms(fig, s),
                                lambda curves, path: plot_variants(fig, curves, path))
