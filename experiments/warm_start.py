"""Figures 4-7 share one shape: NCL from a warm start or with a predictor, per sparsity.

Each figure is a WarmStartFigure: its arms as configuration changes on top of the NCL
base, and its profiles; `main_for` makes the absl main of its binary. An arm is either
the model as the authors' scripts ran it ('as_run') or as the paper's text describes it
('as_written'); where the two agree the figure has only 'as_run' arms.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from experiments import common
from ncl_landscape.fidelity import AS_RUN, FIDELITIES
from ncl_landscape.plots import paper as plotting
from ncl_landscape.training.experiment import Arm


class FigureArm(NamedTuple):
  """One arm of a warm-start figure: a configuration change on top of the NCL base."""
  name: str  # the summary's method column, e.g. 'ncl_warm_pred'
  title: str  # its row title in the figure
  sections: dict  # RunConfig.replace(**sections) on top of the NCL base
  fidelity: str = AS_RUN  # one of fidelity.FIDELITIES
  warm_start_c: tuple[float, ...] = ()  # its own default c values (else the profile's)


class WarmStartFigure(NamedTuple):
  """One of Figures 4-7: its experiment id, title and arms, and whether it starts warm."""
  experiment: str
  title: str
  arms: tuple[FigureArm, ...]
  warm: bool  # sweeps --warm_start_c


def profiles(c: float | None, seeds_paper: int, heads: bool, scripted: bool) -> dict:
  """The smoke, quick and paper settings of a warm-start figure.

  Args:
    c: the default warm-start exponent; None: no warm start, or, for a figure whose arms carry their
      own c, the arms'.
    seeds_paper: the paper profile's seeds.
    heads: the figure's model has a predictor (so --head_init applies).
    scripted: a published script ran the figure (lr 0.005); else the paper profile trains
      common.UNSCRIPTED_LRS.

  Returns:
    profile -> settings (common.profiles of the 'ncl' kind).
  """
  grid = dict(sparsities=(0.1, 0.2, 0.3), latent="fixed_count", batch_norm="code",
              warm_start_c=None if c is None else (c,))
  if heads:
    grid["head_init"] = "torch_uniform"
  return common.profiles("ncl", dict(grid, mask_probs=(0.5,)), smoke=dict(sparsities=(0.1,)),
                         paper=dict(seeds=seeds_paper, **({} if scripted else
                                                          {"lr": common.UNSCRIPTED_LRS})))


def arm_c(v: FigureArm, s: dict) -> tuple[float, ...]:
  """The warm-start exponents an arm sweeps: --warm_start_c, else its own, else the profile's."""
  return s["warm_start_c"] if s.get("warm_start_c_given") else (v.warm_start_c or
                                                                 s["warm_start_c"])


def selected(fig: WarmStartFigure, s: dict) -> tuple[FigureArm, ...]:
  """The figure's arms of the fidelities the settings select (every arm without --fidelities)."""
  return tuple(v for v in fig.arms if v.fidelity in s.get("fidelities", FIDELITIES))


def make_arms(fig: WarmStartFigure, s: dict) -> list[Arm]:
  """The figure's Arms for resolved settings s: each selected arm's changes on the NCL base.

  Every arm: NCL with independent masks, BN as --batch_norm reads it and --head_init unless the arm
  sets them; a warm figure's arms start warm and sweep their c (arm_c).
  """
  arms = []
  for v in selected(fig, s):
    swept = {"warm_start_c": arm_c(v, s)} if fig.warm else {}
    sections = {k: dict(section) for k, section in v.sections.items()}
    model = sections.setdefault("model", {})
    model.setdefault("batch_norm", s["batch_norm"] == "caption")
    if "head_init" in s:
      model.setdefault("head_init", s["head_init"])
    if fig.warm:
      model["init"] = "warm"
    train = dict(method="ncl", mask="independent", **sections.pop("train", {}))
    arms.append(Arm(v.name, common.base_config(s, train=train, **sections),
                    common.sparsity_grid(s, **swept)))
  return arms


def plot_arms(fig: WarmStartFigure, curves: dict, path: str, config: dict | None = None) -> None:
  """Draws the figure at path: a row per arm, lines per sparsity.

  An arm that sweeps several c gets a row per sparsity, lines per c. The subtitle (config) speaks of
  the arms by fidelity.
  """
  rows = []
  mask_prob = float(curves["mask_prob"][0])
  for v in fig.arms:
    sel = plotting.select_runs(curves, {"method": v.name})
    if not sel.any():
      continue
    c = curves["warm_start_c"][sel]
    cs = np.unique(c[~np.isnan(c)])  # a random start's c is NaN, and NaNs are all distinct
    if len(cs) > 1:
      rows += [(f"{v.title}, Psparse = {sp:g}", {"method": v.name, "sparsity": sp},
                "warm_start_c") for sp in sorted(set(curves["sparsity"][sel]))]
    else:
      label = v.title + (f", c = {cs[0]:g}" if len(cs) == 1 else "")
      rows.append((label, {"method": v.name}, "sparsity"))
  plotting.plot_rows(curves, path, rows, title=f"{fig.title} (mask prob {mask_prob:g})",
                     config=config,
                     families={v.name: v.fidelity.replace("_", " ") for v in fig.arms})


def main_for(fig: WarmStartFigure, profiles: dict):
  """The binary of fig: its flags, profiles, arms and figure.

  Its optional flags: --latent, --batch_norm, --head_init where the profiles set head_init, and
  --fidelities where the figure has arms of both fidelities.
  """
  uses = ("latent", "batch_norm") + (("head_init",) if "head_init" in profiles["quick"] else ())
  if {v.fidelity for v in fig.arms} == set(FIDELITIES):
    uses += ("fidelities",)
  return common.experiment_main(fig.experiment, profiles, uses, lambda s: make_arms(fig, s),
                                functools.partial(plot_arms, fig))
