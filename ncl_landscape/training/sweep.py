"""Grids of runs: seeds x swept scalars, trained by jit(vmap(...)) per chunk.

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
size or device count (chunks are then multiples of vmap_width x devices). Unset, a call
vmaps all its runs at once, except on a CPU when their datasets outgrow its cache
(default_vmap_width).

Configurations that differ only in the method of a compile group, or in row vs column
weight normalisation, share one executable (methods.shared_config): which variant a call
trains is an unbatched traced argument (methods.Member).
"""
from __future__ import annotations

import functools
import itertools
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ncl_landscape.config import RunConfig
from ncl_landscape.methods.registry import Member, own_terms, shared_config
from ncl_landscape.testbed.data import sample_latents
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.train import TERM, RunOutput, make_trainer, run_output

RUN_AXIS = "runs"


class Grid(NamedTuple):
  """A flat grid of R runs: each run's key, traced scalars and grid point."""
  keys: jax.Array  # [R] typed PRNG keys
  hyper: Hyper  # every field [R]
  points: list[dict]  # per run, host-side: seed and every Hyper field


def make_grid(base_seed: int, seeds: int, base: Hyper, **swept: Sequence[float]) -> Grid:
  """Returns the grid of the product seeds x swept values (in keyword order).

  Args:
    base_seed: run r's key is fold_in(key(base_seed), its seed).
    seeds: the seeds 0, ..., seeds - 1, the outermost (slowest) axis of the product.
    base: the unswept fields' values.
    **swept: a Hyper field -> its values.

  Returns:
    Grid of R runs, R = seeds x the product of the swept values' counts.

  Raises:
    ValueError: if a swept name is not a Hyper field.
  """
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


def _latent_representatives(cfg: RunConfig, sparsities) -> dict[float, float]:
  """Each sparsity -> the first of `sparsities` whose latents, drawn from one key, equal its
  own (fixed counts at d = 10: 0.2 -> 0.1). The drawn latents are compared, not a rule."""
  key = jax.random.key(0)
  drawn: list[tuple[float, np.ndarray]] = []
  out = {}
  for s in dict.fromkeys(sparsities):
    z = np.asarray(sample_latents(key, cfg.data, s))
    out[s] = next((first for first, seen in drawn if np.array_equal(seen, z)), s)
    if out[s] == s:
      drawn.append((s, z))
  return out


def _run_identity(cfg: RunConfig, point: dict, representative: dict[float, float]) -> tuple:
  return (point["seed"], representative[point["sparsity"]],
          *(point[f] for f in Hyper._fields if f != "sparsity"))


def distinct_runs(cfg: RunConfig, grid: Grid) -> tuple[Grid, np.ndarray]:
  """Returns the grid's distinct runs.

  Runs of the same seed and scalars whose sparsities draw the same latents (same_runs) are one
  run: it is trained once and reported under every label.

  Returns:
    (distinct, index): distinct, the Grid of the distinct runs, each the grid's first of its
    kind; index [R], each run's index in distinct.
  """
  first: dict[tuple, int] = {}
  representative = _latent_representatives(cfg, [p["sparsity"] for p in grid.points])
  index = np.array([first.setdefault(_run_identity(cfg, p, representative), len(first))
                    for p in grid.points])
  rows = np.unique(index, return_index=True)[1]
  return Grid(grid.keys[rows], Hyper(*(v[rows] for v in grid.hyper)),
              [grid.points[r] for r in rows]), index


def same_runs(cfg: RunConfig, grid: Grid) -> list[tuple[float, ...]]:
  """The groups of two or more swept sparsities that draw the same latents, e.g. [(0.1, 0.2)].

  Latents drawn and compared: fixed counts coincide at d = 10, not at d = 20.
  """
  groups: dict = {}
  for s, first in _latent_representatives(cfg, [p["sparsity"] for p in grid.points]).items():
    groups.setdefault(first, []).append(s)
  return [tuple(g) for g in groups.values() if len(g) > 1]


def run_mesh() -> Mesh:
  """A 1-D mesh over every device (all hosts' under jax.distributed)."""
  return Mesh(np.array(jax.devices()), (RUN_AXIS,))


def chunk_size(runs: int, max_runs_per_call: int | None = None,
               vmap_width: int | None = None) -> int:
  """Returns the runs per compiled call: the grid, or at most max_runs_per_call, rounded up.

  Rounded up to a multiple of the device count (times vmap_width) so the run axis splits
  evenly.
  """
  unit = jax.device_count() * (vmap_width or 1)
  size = runs if max_runs_per_call is None else min(runs, max_runs_per_call)
  return -(-size // unit) * unit


# On a CPU, a call whose runs' datasets outgrow this many bytes per device vmaps small groups
# of runs at a time: a group's data then stays in cache through its whole training.
CPU_GROUP_BYTES = 16 * 2**20
CPU_GROUP_WIDTHS = (4, 5, 3, 6, 2)  # the first that divides a device's runs, else the first


def default_vmap_width(cfg: RunConfig, runs: int) -> int | None:
  """The run layout of a call of `runs` runs when none is asked for.

  Every run vmapped at once (None), except on a CPU once a device's runs' datasets (n x p
  float32 each) take more than CPU_GROUP_BYTES; then groups of about 4 runs. On a 2-core CPU
  with 32 MiB of L3, Figure 2's 60-run grid trains about 1.2x (NCL) and 1.3x (CL) faster in
  groups of 4; 20 runs gain nothing.
  """
  per_device = -(-runs // jax.device_count())
  data_bytes = per_device * cfg.data.n * cfg.data.p * 4
  if jax.default_backend() != "cpu" or data_bytes <= CPU_GROUP_BYTES:
    return None
  return next((w for w in CPU_GROUP_WIDTHS if per_device % w == 0), CPU_GROUP_WIDTHS[0])


def call_layout(cfg: RunConfig, runs: int, max_runs_per_call: int | None = None,
                vmap_width: int | None = None) -> tuple[int, int | None]:
  """Returns (runs per compiled call, vmap width) of a grid of `runs` runs.

  vmap_width as asked, else default_vmap_width of a call's runs.
  """
  width = vmap_width or default_vmap_width(cfg, min(runs, max_runs_per_call or runs))
  return chunk_size(runs, max_runs_per_call, width), width


def chunk_slices(runs: int, size: int) -> list[slice]:
  """Consecutive slices of at most `size` runs covering range(runs)."""
  return [slice(start, min(start + size, runs)) for start in range(0, runs, size)]


def _split_runs() -> NamedSharding:
  """The leading (run) axis split over run_mesh()."""
  return NamedSharding(run_mesh(), PartitionSpec(RUN_AXIS))


def _replicated() -> NamedSharding:
  return NamedSharding(run_mesh(), PartitionSpec())


def over_runs(fn, vmap_width: int | None):
  """Maps fn of one run over a leading run axis of every argument.

  Args:
    fn: a function of one run's arguments.
    vmap_width: None: vmap every run at once; else a lax.map over groups of exactly vmap_width
      vmapped runs (it must divide the run axis).

  Returns:
    fn over the runs: arguments and outputs [runs, ...].
  """
  batched = jax.vmap(fn)
  if vmap_width is None:
    return batched

  def grouped(*args):
    runs = jax.tree_util.tree_leaves(args)[0].shape[0]
    split = lambda v: v.reshape((runs // vmap_width, vmap_width) + v.shape[1:])
    out = jax.lax.map(lambda a: batched(*a), jax.tree_util.tree_map(split, args))
    return jax.tree_util.tree_map(lambda v: v.reshape((runs,) + v.shape[2:]), out)
  return grouped


def _over_runs(fn, vmap_width: int | None):
  """fn(member, *args) of one run -> the same over the runs of args, the member shared."""
  return lambda member, *args: over_runs(functools.partial(fn, member), vmap_width)(*args)


def _sharded_jit(fn, n_batched: int, donate: bool = False):
  """jit of fn(member, *batched) with the member replicated and every batched argument and
  output split over the run mesh."""
  return jax.jit(fn, in_shardings=(_replicated(),) + (_split_runs(),) * n_batched,
                 out_shardings=_split_runs(), donate_argnums=(1,) if donate else ())


class ChunkTrainer(NamedTuple):
  """make_trainer's pieces compiled for chunks of `size` runs, on global arrays.

  context(key_data, hyper) -> the runs' RunContext, drawn once per chunk;
  start(context, hyper) -> (Carry, curve point);
  advance(intervals)(carry, context, hyper) -> (Carry, curve points [size, intervals])
  (the carry is donated); finish(carry, context, hyper, loss) -> (final, params, M); the
  method's own terms are kept. carry_spec: the carry's shapes and shardings (to restore a
  saved carry)."""
  context: Callable
  start: Callable
  advance: Callable
  finish: Callable
  intervals: int
  carry_spec: object


class _Programs:
  """The compiled pieces of one (shared config, size, vmap_width); advance per length."""

  def __init__(self, cfg: RunConfig, size: int, vmap_width: int | None):
    self.trainer = make_trainer(cfg)
    self.vmap_width = vmap_width
    wrap = jax.random.wrap_key_data
    t = self.trainer
    key = jax.random.key_data(jax.random.key(0))
    scalars = jax.ShapeDtypeStruct((size,), jnp.float32, sharding=_split_runs())
    self.member = Member(*(jax.ShapeDtypeStruct((), jnp.int32, sharding=_replicated()),) * 2)
    self.hyper = Hyper(*(scalars,) * len(Hyper._fields))
    key_data = jax.ShapeDtypeStruct((size,) + key.shape, key.dtype, sharding=_split_runs())
    on_runs = lambda tree: jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=_split_runs()), tree)
    context = _sharded_jit(_over_runs(lambda _, k, h: t.context(wrap(k), h), vmap_width), 2)
    self.context = context.lower(self.member, key_data, self.hyper).compile()
    self.context_spec = on_runs(jax.eval_shape(context, self.member, key_data, self.hyper))
    start = _sharded_jit(_over_runs(lambda v, x, h: t.start(x, h, v), vmap_width), 2)
    self.start = start.lower(self.member, self.context_spec, self.hyper).compile()
    carry, log0 = jax.eval_shape(start, self.member, self.context_spec, self.hyper)
    self.carry = on_runs(carry)
    loss = jax.ShapeDtypeStruct((size, t.intervals + 1), log0["loss"].dtype,
                                sharding=_split_runs())
    finish = _sharded_jit(_over_runs(lambda v, c, x, h, l: t.finish(c, x, h, v, l),
                                     vmap_width), 4)
    self.finish = finish.lower(self.member, self.carry, self.context_spec, self.hyper,
                               loss).compile()
    self._advance = {}

  def advance(self, intervals: int):
    """The advance program of `intervals` logged intervals, compiled on its first call."""
    if intervals not in self._advance:
      t = self.trainer
      fn = _over_runs(lambda v, c, x, h: t.advance(c, x, h, v, intervals), self.vmap_width)
      donate = jax.default_backend() != "cpu"  # XLA:CPU ignores donation, and warns
      self._advance[intervals] = _sharded_jit(fn, 3, donate=donate).lower(
          self.member, self.carry, self.context_spec, self.hyper).compile()
    return self._advance[intervals]




@functools.lru_cache(maxsize=None)
def _compiled(cfg: RunConfig, size: int, vmap_width: int | None) -> _Programs:
  """The programs of cfg for chunks of `size` runs, compiled once per (config, size, width)."""
  return _Programs(cfg, size, vmap_width)


def compile_segments(cfg: RunConfig, size: int, vmap_width: int | None = None) -> ChunkTrainer:
  """Returns cfg's ChunkTrainer, compiled ahead of time.

  Compiled once per compile group: the other methods of cfg's group reuse the programs with
  their own member. The logs keep cfg's method's own terms.

  Args:
    cfg: the runs' static configuration.
    size: runs per call (chunk_size: a multiple of the device count times vmap_width).
    vmap_width: the run layout (over_runs); None vmaps every run at once.
  """
  shared, member = shared_config(cfg)
  programs = _compiled(shared, size, vmap_width)
  member = Member(*(to_global(np.asarray(v, np.int32), _replicated()) for v in member))
  names = own_terms(cfg.train.method)

  def own(log):  # the method's own terms of its group's union
    return {k: v for k, v in log.items()
            if names is None or not k.startswith(TERM) or k[len(TERM):] in names}

  def context(key_data, hyper):
    return programs.context(member, key_data, hyper)

  def start(context, hyper):
    carry, log0 = programs.start(member, context, hyper)
    return carry, own(log0)

  def advance(intervals: int):
    compiled = programs.advance(intervals)
    def run(carry, context, hyper):
      carry, logs = compiled(member, carry, context, hyper)
      return carry, own(logs)
    return run

  def finish(carry, context, hyper, loss):
    return programs.finish(member, carry, context, hyper, loss)

  return ChunkTrainer(context, start, advance, finish, programs.trainer.intervals,
                      programs.carry)


def compile_chunks(cfg: RunConfig, size: int, vmap_width: int | None = None):
  """Returns the trainer of cfg's runs in chunks of `size` runs, one advance over the run.

  Args:
    cfg: the runs' static configuration.
    size: runs per call (chunk_size: a multiple of the device count times vmap_width).
    vmap_width: the run layout (over_runs); None vmaps every run at once.

  Returns:
    train_chunk(key_data, hyper) -> RunOutput of host arrays [size, ...]; key_data [size, ...]
    and hyper [size] as chunk_inputs lays them out.
  """
  chunk = compile_segments(cfg, size, vmap_width)
  advance = chunk.advance(chunk.intervals)

  def train_chunk(key_data, hyper):
    context = chunk.context(key_data, hyper)
    carry, log0 = chunk.start(context, hyper)
    carry, logs = advance(carry, context, hyper)
    out = run_output(*to_host((log0, logs)), {}, {})
    final, params, M = chunk.finish(carry, context, hyper, to_global(out.curves["loss"]))
    return out._replace(**to_host({"final": final, "params": params, "M": M}))
  return train_chunk


def to_global(host: np.ndarray, sharding: NamedSharding | None = None) -> jax.Array:
  """A global array from a host array every process holds in full.

  Split over the runs unless another sharding is given.
  """
  sharding = sharding or _split_runs()
  return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def to_host(tree):
  """The tree's arrays as NumPy arrays, gathered from every process under jax.distributed."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    tree = multihost_utils.process_allgather(tree, tiled=True)
  return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))


def chunk_inputs(grid: Grid, chunk: slice, size: int):
  """Returns the chunk's inputs, padded to `size` runs and laid out over the run mesh.

  Args:
    grid: the grid.
    chunk: the chunk's runs, a slice of the grid's.
    size: runs per call; the chunk is padded by repeating its last run.

  Returns:
    (key_data, hyper): key_data [size, ...] the runs' raw key data; hyper, a Hyper of [size].
  """
  index = np.arange(chunk.start, chunk.stop)
  index = np.concatenate([index, np.full(size - len(index), index[-1])])
  key_data = np.asarray(jax.random.key_data(grid.keys))[index]
  hyper = Hyper(*(np.asarray(v)[index] for v in grid.hyper))
  return to_global(key_data, _split_runs()), Hyper(*(to_global(v, _split_runs())
                                                       for v in hyper))


def run_chunk(trainer, grid: Grid, chunk: slice, size: int) -> RunOutput:
  """Trains the chunk's runs in one call of `size` runs of trainer (compile_chunks).

  Returns:
    RunOutput of host arrays [runs of the chunk, ...].
  """
  out = trainer(*chunk_inputs(grid, chunk, size))
  return jax.tree_util.tree_map(lambda v: v[:chunk.stop - chunk.start], out)


def concat_outputs(outputs: list[RunOutput]) -> RunOutput:
  """The outputs' host arrays concatenated along their leading (run) axis."""
  return jax.tree_util.tree_map(lambda *v: np.concatenate(v), *outputs)


def run_grid(cfg: RunConfig, grid: Grid, max_runs_per_call: int | None = None,
             vmap_width: int | None = None) -> RunOutput:
  """Trains every distinct run of the grid (distinct_runs) in the layout of call_layout.

  Args:
    cfg: the runs' static configuration.
    grid: the grid of R runs.
    max_runs_per_call: the most runs per compiled call; None: the whole grid.
    vmap_width: the run layout (over_runs); None: default_vmap_width's.

  Returns:
    RunOutput of host (NumPy) arrays of every run: curves [R, points], final [R], params
    [R, ...], M [R, p, d]; a repeated run's arrays repeated.
  """
  distinct, index = distinct_runs(cfg, grid)
  runs = len(distinct.points)
  size, width = call_layout(cfg, runs, max_runs_per_call, vmap_width)
  trainer = compile_chunks(cfg, size, width)
  out = concat_outputs([run_chunk(trainer, distinct, c, size) for c in chunk_slices(runs, size)])
  return jax.tree_util.tree_map(lambda v: v[index], out)
