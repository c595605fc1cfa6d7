"""Grids of runs: seeds x swept scalars, trained in one jit(vmap(train)) call.

A grid is flat: run r has a key and one value of every Hyper field. Run r's key is
fold_in(key(base_seed), seed), so runs with the same seed share their dictionary,
data and initialisation across the swept values, as in the authors' sweeps.
"""
from __future__ import annotations

import functools
import itertools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ncl_landscape.config import Hyper, RunConfig
from ncl_landscape.train import RunOutput, make_train


class Grid(NamedTuple):
  keys: jax.Array  # [R] typed PRNG keys
  hyper: Hyper  # every field [R]
  points: list[dict]  # per run, host-side: seed and every Hyper field


def make_grid(base_seed: int, seeds: int, base: Hyper, **swept: Sequence[float]) -> Grid:
  """The product seeds x swept values (in keyword order); unswept fields come from base."""
  unknown = set(swept) - set(Hyper._fields)
  if unknown:
    raise ValueError(f"unknown swept scalar(s) {sorted(unknown)}; known: {Hyper._fields}")
  names = list(swept)
  points = []
  for seed, *values in itertools.product(range(seeds), *(swept[k] for k in names)):
    point = base._asdict()
    point.update(zip(names, values))
    points.append({"seed": seed, **point})
  root = jax.random.key(base_seed)
  keys = jax.vmap(lambda s: jax.random.fold_in(root, s))(jnp.array([p["seed"] for p in points]))
  hyper = Hyper(*(jnp.array([p[f] for p in points], jnp.float32) for f in Hyper._fields))
  return Grid(keys=keys, hyper=hyper, points=points)


@functools.lru_cache(maxsize=None)
def grid_trainer(cfg: RunConfig):
  """jit(vmap(train)) for cfg, built once per configuration (configs are hashable)."""
  return jax.jit(jax.vmap(make_train(cfg)))


def run_grid(cfg: RunConfig, grid: Grid) -> RunOutput:
  """Trains every run of the grid in one compiled call; returns host (NumPy) arrays [R, ...]."""
  out = grid_trainer(cfg)(grid.keys, grid.hyper)
  return jax.tree_util.tree_map(np.asarray, jax.device_get(out))
