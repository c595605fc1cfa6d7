"""Grids of runs: seeds x swept scalars, trained by one jit(vmap(train)) per chunk.

A grid is flat: run r has a key and one value of every Hyper field. Run r's key is
fold_in(key(base_seed), seed), so runs with the same seed share their dictionary,
data and initialisation across the swept values, as in the authors' sweeps.

The run axis is laid over every device with jax.sharding (a 1-D Mesh named 'runs');
a grid larger than `max_runs_per_call` is cut into equal chunks (the last padded by
repeating a run) that reuse one compiled function. Under jax.distributed the same
code spans hosts: every process builds the same grid and gathers the outputs.

XLA may compile a vmapped step differently for different batch widths, which moves
results by an ulp. With `vmap_width` set, every call maps (lax.map) over groups of
exactly that many vmapped runs, so a run's result is bit-identical whatever the chunk
size or device count (chunks are then multiples of vmap_width x devices).

Methods of one compile group (methods.compile_group) share one executable: the
method's index in its group is an unbatched traced argument.
"""
from __future__ import annotations

import functools
import itertools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ncl_landscape.config import Hyper, RunConfig
from ncl_landscape.methods import own_terms, shared_config
from ncl_landscape.train import RunOutput, make_train

RUN_AXIS = "runs"


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


def run_mesh() -> Mesh:
  """A 1-D mesh over every device (all hosts' under jax.distributed)."""
  return Mesh(np.array(jax.devices()), (RUN_AXIS,))


def chunk_size(runs: int, max_runs_per_call: int | None = None,
               vmap_width: int | None = None) -> int:
  """Runs per compiled call: the grid, or at most max_runs_per_call, rounded up to a
  multiple of the device count (times vmap_width) so the run axis splits evenly."""
  unit = jax.device_count() * (vmap_width or 1)
  size = runs if max_runs_per_call is None else min(runs, max_runs_per_call)
  return -(-size // unit) * unit


def chunk_slices(runs: int, size: int) -> list[slice]:
  """Consecutive slices of at most `size` runs covering range(runs)."""
  return [slice(start, min(start + size, runs)) for start in range(0, runs, size)]


@functools.lru_cache(maxsize=None)
def grid_trainer(cfg: RunConfig, vmap_width: int | None = None):
  """jit(vmap(train)) for cfg with the run axis sharded over run_mesh(); built once per
  (configuration, vmap_width). Takes raw key data [R, ...], Hyper [R] and the variant, the
  trained method's index in cfg's compile group (a replicated int32 scalar)."""
  train = make_train(cfg)
  batched = jax.vmap(lambda key_data, hyper, variant: train(jax.random.wrap_key_data(key_data),
                                                            hyper, variant),
                     in_axes=(0, 0, None))
  def grouped(key_data, hyper, variant):
    runs = key_data.shape[0]
    split = lambda v: v.reshape((runs // vmap_width, vmap_width) + v.shape[1:])
    out = jax.lax.map(lambda args: batched(*args, variant),
                      jax.tree_util.tree_map(split, (key_data, hyper)))
    return jax.tree_util.tree_map(lambda v: v.reshape((runs,) + v.shape[2:]), out)

  return jax.jit(batched if vmap_width is None else grouped,
                 in_shardings=(_split_runs(), _split_runs(), _replicated()),
                 out_shardings=_split_runs())


def _split_runs() -> NamedSharding:
  """The leading (run) axis split over run_mesh()."""
  return NamedSharding(run_mesh(), PartitionSpec(RUN_AXIS))


def _replicated() -> NamedSharding:
  return NamedSharding(run_mesh(), PartitionSpec())


@functools.lru_cache(maxsize=None)
def _compiled(cfg: RunConfig, size: int, vmap_width: int | None):
  """grid_trainer compiled ahead of time for chunks of `size` runs."""
  key = jax.random.key_data(jax.random.key(0))
  scalars = jax.ShapeDtypeStruct((size,), jnp.float32, sharding=_split_runs())
  return grid_trainer(cfg, vmap_width).lower(
      jax.ShapeDtypeStruct((size,) + key.shape, key.dtype, sharding=_split_runs()),
      Hyper(*(scalars,) * len(Hyper._fields)),
      jax.ShapeDtypeStruct((), jnp.int32, sharding=_replicated())).compile()


def _to_global(host: np.ndarray, sharding: NamedSharding) -> jax.Array:
  """A global array from a host array every process holds in full."""
  return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _to_host(tree):
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    tree = multihost_utils.process_allgather(tree, tiled=True)
  return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))


def chunk_inputs(grid: Grid, chunk: slice, size: int):
  """(key data, Hyper) of the chunk's runs, padded to `size` by repeating its last run,
  laid out over the run mesh."""
  index = np.arange(chunk.start, chunk.stop)
  index = np.concatenate([index, np.full(size - len(index), index[-1])])
  key_data = np.asarray(jax.random.key_data(grid.keys))[index]
  hyper = Hyper(*(np.asarray(v)[index] for v in grid.hyper))
  return _to_global(key_data, _split_runs()), Hyper(*(_to_global(v, _split_runs())
                                                       for v in hyper))


def compile_chunks(cfg: RunConfig, size: int, vmap_width: int | None = None):
  """The trainer of cfg's runs in chunks of `size` runs, (key data, Hyper) -> RunOutput.
  Compiled ahead of time, once per compile group: the other methods of cfg's group reuse
  the executable with their own variant."""
  shared, variant = shared_config(cfg)
  compiled = _compiled(shared, size, vmap_width)
  variant = _to_global(np.asarray(variant, np.int32), _replicated())

  def train_chunk(key_data, hyper):
    out = compiled(key_data, hyper, variant)
    return out._replace(terms=own_terms(cfg.train.method, out.terms))
  return train_chunk


def run_chunk(trainer, grid: Grid, chunk: slice, size: int) -> RunOutput:
  """Trains the chunk's runs in one call of `size` runs of trainer (compile_chunks); returns
  host arrays of the chunk's runs."""
  out = trainer(*chunk_inputs(grid, chunk, size))
  return jax.tree_util.tree_map(lambda v: v[:chunk.stop - chunk.start], _to_host(out))


def concat_outputs(outputs: list[RunOutput]) -> RunOutput:
  return jax.tree_util.tree_map(lambda *v: np.concatenate(v), *outputs)


def run_grid(cfg: RunConfig, grid: Grid, max_runs_per_call: int | None = None,
             vmap_width: int | None = None) -> RunOutput:
  """Trains every run of the grid; returns host (NumPy) arrays [R, ...]."""
  runs = len(grid.points)
  size = chunk_size(runs, max_runs_per_call, vmap_width)
  trainer = compile_chunks(cfg, size, vmap_width)
  return concat_outputs([run_chunk(trainer, grid, c, size) for c in chunk_slices(runs, size)])
