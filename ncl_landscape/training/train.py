"""The training run: one compiled loop over epochs of alternating optimiser steps.

`make_train(cfg)` closes over everything static (shapes, method, alternation) and
returns `train(key, hyper, member) -> RunOutput`, a pure function of a key, the traced
scalars and (where one program serves several methods) the traced member, so
`jax.jit(jax.vmap(train))` trains a whole grid in one call.

Per epoch: a fresh permutation of the n samples is cut into batches of B; when n is
not a multiple of B the last batch is padded to B with weight-0 samples (or dropped,
cfg.train.drop_last), so every step has the same static shape. Each step draws
fresh masks on device. Alternation (as the authors' code, docs/fidelity.md):
- 'per_batch': batch k runs phase k mod P, restarting with the online phase each epoch;
- 'pair': every batch runs all phases in order, on the same views.
The schedule is the structure of the scan body, never a traced branch. A step
returns (loss, terms), the loss's named parts (criteria.py), logged as curves; a
phase's post-step rule (predictors.py) may update parameters and TrainState.buffers.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ncl_landscape.config import RunConfig
from ncl_landscape.methods import predictors
from ncl_landscape.methods.registry import (ENCODER_GROUPS, SHARED_WEIGHT_NORMS, Member, Method,
                                            Phase, dispatch, make_method, representation)
from ncl_landscape.testbed import augment, metrics
from ncl_landscape.testbed.data import Dataset, sample_dataset
from ncl_landscape.training import permute
from ncl_landscape.training.hyper import Hyper

EVAL_SAMPLES = 1024  # samples used for the final support-recovery metric


class TrainState(NamedTuple):
  """A run's state between optimiser steps."""
  params: dict  # group name -> parameters (e.g. 'online' -> Encoder for W^o, b^o)
  opt_states: dict  # phase name -> optax state of the groups that phase moves
  buffers: dict  # state of the methods' rules that is not a parameter (e.g. EMA correlation)


class RunOutput(NamedTuple):
  """One run's (or, stacked, a grid's) results."""
  curves: dict  # name -> [L] at the logged epochs (log_epochs): every entry of curve_point
  final: dict  # name -> scalar: every final metric (final_metrics), within_bound among them
  params: dict  # final parameters
  M: jax.Array | None = None  # the run's dictionary [p, d], to recompute metrics from params


TERM = "term_"  # curve_point's prefix of the loss's named parts


def curve_point(loss: jax.Array, terms: dict, W: jax.Array, M: jax.Array) -> dict:
  """Returns every logged curve at one point (epoch 0, then the end of each logged interval).

  A new curve is one entry here.

  Args:
    loss: scalar, the logged loss: at epoch 0 one batch's, else the mean over the last
      epoch's steps.
    terms: {name: scalar}, the loss's named parts (criteria.py), logged alike.
    W: [m, p] the readout map.
    M: [p, d] the dictionary.

  Returns:
    {name: scalar}: 'loss', 'term_<name>' per part, and the minimum, median and maximum
    max-cosine of W against M (Eq. 12, Section 5.1): 'maxcos_min', 'maxcos_median',
    'maxcos_max'.
  """
  mc = metrics.max_cosine(W, M)
  return {"loss": loss, "maxcos_min": mc.min, "maxcos_median": mc.median, "maxcos_max": mc.max,
          **{TERM + k: v for k, v in terms.items()}}


def make_optimizer(name: str, lr) -> optax.GradientTransformation:
  """'sgd' (the paper's), 'momentum' (SGD, 0.9) or 'adam'; lr may be traced."""
  if name == "sgd":
    return optax.sgd(lr)
  if name == "momentum":
    return optax.sgd(lr, momentum=0.9)
  return optax.adam(lr)


class LogSchedule(NamedTuple):
  """When a run logs its curves (log_schedule)."""
  every: int  # epochs per logged interval: log_every, at most the run
  unlogged: int  # the first epochs, run before the first interval
  intervals: int  # logged intervals


def log_schedule(cfg: RunConfig) -> LogSchedule:
  """Returns the run's LogSchedule.

  Epoch 0 is the initialisation (its loss is that of one batch). Then the first
  epochs % log_every epochs run unlogged and every log_every-th epoch is logged, so the
  last logged point is always the final epoch.
  """
  k = min(cfg.train.log_every, cfg.train.epochs)
  return LogSchedule(k, cfg.train.epochs % k, cfg.train.epochs // k)


def log_epochs(cfg: RunConfig) -> list[int]:
  """The epochs (counts of completed epochs) at which curves are logged (log_schedule)."""
  k, first, intervals = log_schedule(cfg)
  return [0] + [first + k * (i + 1) for i in range(intervals)]


def epoch_batches(key: jax.Array, n: int, batch_size: int, drop_last: bool):
  """Cuts a shuffled epoch into S batches of B samples.

  Args:
    key: the epoch's permutation key.
    n: the samples.
    batch_size: B.
    drop_last: drop the last partial batch; else pad it to B with weight-0 samples (the
      permutation's first samples again).

  Returns:
    (idx, w): idx [S, B] sample indices; w [S, B] weights in {0, 1}.
  """
  perm = permute.permutation(key, n)  # jax.random.permutation's, sorted faster
  steps = n // batch_size if drop_last else -(-n // batch_size)
  total = steps * batch_size
  if total <= n:
    idx, w = perm[:total], jnp.ones((total,))
  else:
    pad = total - n
    idx = jnp.concatenate([perm, perm[:pad]])
    w = jnp.concatenate([jnp.ones((n,)), jnp.zeros((pad,))])
  return idx.reshape(steps, batch_size), w.reshape(steps, batch_size)


def _select(params: dict, groups: tuple[str, ...]) -> dict:
  return {g: params[g] for g in groups}


class RunContext(NamedTuple):
  """What a run's key fixes: its dataset and the keys of its initialisation and its epochs."""
  data: Dataset
  init_key: jax.Array
  loop_key: jax.Array


def run_context(cfg: RunConfig, key: jax.Array, hyper: Hyper) -> RunContext:
  """The run's dataset (Eq. 1, drawn at hyper.sparsity) and its other keys."""
  data_key, init_key, loop_key = jax.random.split(key, 3)
  return RunContext(sample_dataset(data_key, cfg.data, hyper.sparsity), init_key, loop_key)


class RunFns(NamedTuple):
  """The pieces of one run, each pure; make_train scans them, the benchmark loops them."""
  init: Callable  # (RunContext, hyper) -> TrainState
  step: Callable  # (state, phase_index, key, idx [B], w [B], data, hyper) -> (state, record)
  epoch: Callable  # (state, epoch, loop_key, data, hyper) -> (state, mean record)


def _stack(records: list):
  """Stacks (loss, terms) records along a new leading axis."""
  return jax.tree_util.tree_map(lambda *v: jnp.stack(v), *records)


def make_run_fns(cfg: RunConfig, method: Method,
                 weight_norm: int | jax.Array | None = None) -> RunFns:
  """Returns the initialisation, one optimiser step of a phase, and one epoch for cfg.

  Args:
    cfg: the run's static configuration.
    method: the method it trains.
    weight_norm: for a row- or column-normalised cfg, the index in SHARED_WEIGHT_NORMS of the
      normalisation to apply, traced so that one program serves both (methods.Member); None
      applies cfg.train.weight_norm.

  Returns:
    RunFns, each piece pure.
  """
  phases = method.phases
  views_fn = augment.VIEWS[cfg.train.mask]
  steps = cfg.steps_per_epoch
  norms = (cfg.train.weight_norm,) if weight_norm is None else SHARED_WEIGHT_NORMS

  def init(context, hyper):
    opt = make_optimizer(cfg.train.optimizer, hyper.lr)
    params = method.init_params(context.init_key, context.data.M, hyper)
    return TrainState(params, {ph.name: opt.init(_select(params, ph.trains)) for ph in phases},
                      method.init_buffers(params))

  def normalised(kind: str):
    return lambda groups: {g: method.encoder.project(v, kind) if g in ENCODER_GROUPS else v
                           for g, v in groups.items()}

  def project(groups: dict) -> dict:
    """Row or column normalisation of every encoder W after a step (cfg.train.weight_norm,
    or norms[weight_norm])."""
    if cfg.train.weight_norm == "none":
      return groups
    return dispatch(0 if weight_norm is None else weight_norm,
                    [normalised(kind) for kind in norms], groups)

  def views(key, idx, w, data, hyper):
    return views_fn(key, data.x[idx], hyper.mask_prob, cfg.train.mask_rng) + (w,)

  def phase_step(state, phase: Phase, batch, hyper):
    """One optimiser step of the phase, then its rule; -> (state, (loss, terms))."""
    a1, a2, w = batch
    opt = make_optimizer(cfg.train.optimizer, hyper.lr)

    def loss_fn(trained):
      return phase.loss({**state.params, **trained}, a1, a2, w, hyper)

    trained = _select(state.params, phase.trains)
    record, grads = jax.value_and_grad(loss_fn, has_aux=True)(trained)
    updates, opt_state = opt.update(grads, state.opt_states[phase.name], trained)
    trained = project(optax.apply_updates(trained, updates))
    params, buffers = {**state.params, **trained}, state.buffers
    if phase.after is not None:
      params, buffers = phase.after(params, buffers, batch)
    return TrainState(params, {**state.opt_states, phase.name: opt_state}, buffers), record

  def step(state, phase_index, key, idx, w, data, hyper):
    return phase_step(state, phases[phase_index], views(key, idx, w, data, hyper), hyper)

  def epoch(state, epoch_index, loop_key, data, hyper):
    perm_key, step_key = jax.random.split(jax.random.fold_in(loop_key, epoch_index))
    idx, w = epoch_batches(perm_key, cfg.data.n, cfg.train.batch_size, cfg.train.drop_last)
    keys = jax.random.split(step_key, steps)
    if cfg.train.alternation == "pair":
      def pair(state, xs):
        batch = views(*xs, data, hyper)
        records = []
        for phase in phases:
          state, record = phase_step(state, phase, batch, hyper)
          records.append(record)
        return state, _stack(records)
      state, records = jax.lax.scan(pair, state, (keys, idx, w))
      return state, jax.tree_util.tree_map(jnp.mean, records)

    # 'per_batch': full cycles of P batches in a scan, then the remaining batches.
    cycles, rest = divmod(steps, len(phases))
    head = cycles * len(phases)

    def cycle(state, xs):
      records = []
      for i in range(len(phases)):
        state, record = step(state, i, *(x[i] for x in xs), data, hyper)
        records.append(record)
      return state, _stack(records)

    xs = tuple(x[:head].reshape((cycles, len(phases)) + x.shape[1:]) for x in (keys, idx, w))
    state, records = jax.lax.scan(cycle, state, xs)
    records = [jax.tree_util.tree_map(lambda v: v.reshape(-1), records)]
    for i in range(rest):
      state, record = step(state, i, keys[head + i], idx[head + i], w[head + i], data, hyper)
      records.append(jax.tree_util.tree_map(lambda v: v[None], record))
    return state, jax.tree_util.tree_map(lambda *v: jnp.mean(jnp.concatenate(v)), *records)

  return RunFns(init=init, step=step, epoch=epoch)


class Carry(NamedTuple):
  """What a run carries between segments of epochs."""
  state: TrainState
  epoch: jax.Array  # int32 scalar: epochs done


class Trainer(NamedTuple):
  """One run in pieces, each pure, so a grid can train it segment by segment and resume.

  The host calls the pieces and may resume between segments; make_train composes them. The
  run's context (its dataset and keys) is drawn once and passed to every piece, not carried or
  saved: a resumed run draws it again from its key.

  context(key, hyper) -> RunContext;
  start(context, hyper, member) -> (Carry, curve_point): initialisation, its logged point
    (epoch 0) and the unlogged first epochs (log_epochs);
  advance(carry, context, hyper, member, intervals) -> (Carry, curve points [intervals]):
    `intervals` (static) logged intervals of log_every epochs;
  finish(carry, context, hyper, member, loss_curve) -> (final metrics, parameters, M).
  """
  context: Callable
  start: Callable
  advance: Callable
  finish: Callable
  intervals: int  # logged intervals in the whole run


def make_trainer(cfg: RunConfig, method: Method | None = None) -> Trainer:
  """Returns the Trainer of the static configuration cfg.

  Its pieces take a member (methods.Member of traced ints, unbatched): which variant of cfg's
  shared program to train (methods.shared_config); None trains cfg itself.

  Args:
    cfg: the run's static configuration; validated here.
    method: the method to train; None: the method of cfg, or of the member.
  """
  cfg.validate()
  k, unlogged, n_logs = log_schedule(cfg)

  def setup(member: Member | None):
    if member is None:
      run_method = method or make_method(cfg)
      return run_method, make_run_fns(cfg, run_method)
    run_method = method or make_method(cfg, member.method)
    return run_method, make_run_fns(cfg, run_method, member.weight_norm)

  def run_epochs(fns, state, first_epoch, count, ctx, hyper):
    def body(state, epoch_index):
      return fns.epoch(state, epoch_index, ctx.loop_key, ctx.data, hyper)
    return jax.lax.scan(body, state, first_epoch + jnp.arange(count))

  def point(run_method, state, data, loss, terms):
    W = run_method.encoder.readout(state.params[run_method.readout])
    return curve_point(loss, terms, W, data.M)

  def start(ctx, hyper, member=None):
    run_method, fns = setup(member)
    state = fns.init(ctx, hyper)
    idx, w = epoch_batches(ctx.loop_key, cfg.data.n, cfg.train.batch_size, cfg.train.drop_last)
    _, (loss0, terms0) = fns.step(state, 0, ctx.loop_key, idx[0], w[0], ctx.data, hyper)
    log0 = point(run_method, state, ctx.data, loss0, terms0)
    if unlogged:
      state, _ = run_epochs(fns, state, 0, unlogged, ctx, hyper)
    return Carry(state, jnp.asarray(unlogged, jnp.int32)), log0

  def advance(carry, ctx, hyper, member=None, intervals: int = n_logs):
    run_method, fns = setup(member)

    def log_interval(state, first_epoch):
      state, records = run_epochs(fns, state, first_epoch, k, ctx, hyper)
      loss, terms = jax.tree_util.tree_map(lambda v: v[-1], records)
      return state, point(run_method, state, ctx.data, loss, terms)

    # A loop whose trip count XLA cannot see: one it knows runs once is inlined and its log
    # fused otherwise (an ulp apart in max-cosine), so a segment of any length, the whole run
    # included, runs this same loop body.
    count = jax.lax.optimization_barrier(jnp.asarray(intervals, jnp.int32))
    shapes = jax.eval_shape(lambda s: log_interval(s, carry.epoch)[1], carry.state)
    logs = jax.tree_util.tree_map(lambda v: jnp.zeros((intervals,) + v.shape, v.dtype), shapes)

    def body(i, state_logs):
      state, point = log_interval(state_logs[0], carry.epoch + k * i)
      return state, jax.tree_util.tree_map(lambda log, v: log.at[i].set(v), state_logs[1], point)

    state, logs = jax.lax.fori_loop(0, count, body, (carry.state, logs))
    return Carry(state, carry.epoch + k * intervals), logs

  def finish(carry, ctx, hyper, member=None, loss_curve=None):
    run_method, _ = setup(member)
    return (final_metrics(cfg, run_method, carry.state, ctx.data, loss_curve),
            carry.state.params, ctx.data.M)

  return Trainer(functools.partial(run_context, cfg), start, advance, finish, n_logs)


def initial_atoms_missed(cfg: RunConfig, key: jax.Array, hyper: Hyper) -> jax.Array:
  """Counts the atoms a warm start missed.

  With m <= d rows it takes the first m atoms, each once (networks.warm_start_weight), so
  d - m; with m > d rows drawn with replacement, metrics.atoms_missed of the run's readout
  map at initialisation (its own context and init, drawn again from its key).

  Args:
    cfg: the run's static configuration.
    key: the run's PRNG key.
    hyper: its traced scalars.

  Returns:
    Scalar: the atoms missed.
  """
  if cfg.model.m <= cfg.data.d:
    return jnp.asarray(cfg.data.d - cfg.model.m)
  method = make_method(cfg)
  ctx = run_context(cfg, key, hyper)
  params = make_run_fns(cfg, method).init(ctx, hyper).params
  return metrics.atoms_missed(method.encoder.readout(params[method.readout]), ctx.data.M)


def run_output(log0: dict, logs: dict, final: dict, params: dict) -> RunOutput:
  """Assembles a RunOutput; works on single runs and on grids.

  Args:
    log0: {name: [] or [R]}, the epoch-0 point (curve_point).
    logs: {name: [I] or [R, I]}, the points of I logged intervals.
    final: the final metrics.
    params: the final parameters.

  Returns:
    RunOutput with curves {name: [I + 1] or [R, I + 1]}, the epoch-0 point first, and no M.
  """
  xp = np if isinstance(logs["loss"], np.ndarray) else jnp
  axis = logs["loss"].ndim - 1
  curves = {k: xp.concatenate([xp.expand_dims(log0[k], axis), logs[k]], axis) for k in logs}
  return RunOutput(curves=curves, final=final, params=params)


def make_train(cfg: RunConfig, method: Method | None = None):
  """Returns train(key, hyper, member=None) -> RunOutput for the static configuration cfg.

  make_trainer's pieces composed into one run (one loop over every logged interval).

  Args:
    cfg: the run's static configuration.
    method: the method to train; None: make_trainer's default.

  Returns:
    train(key, hyper, member=None): key, the run's PRNG key; hyper, its Hyper; member, a
    methods.Member or None (make_trainer). Its RunOutput: curves [L] at log_epochs(cfg),
    final metrics, parameters and the dictionary M [p, d].
  """
  trainer = make_trainer(cfg, method)

  def train(key: jax.Array, hyper: Hyper, member: Member | None = None) -> RunOutput:
    ctx = trainer.context(key, hyper)
    carry, log0 = trainer.start(ctx, hyper, member)
    carry, logs = trainer.advance(carry, ctx, hyper, member, trainer.intervals)
    out = run_output(log0, logs, {}, {})
    final, params, M = trainer.finish(carry, ctx, hyper, member, out.curves["loss"])
    return out._replace(final=final, params=params, M=M)

  return train


def final_metrics(cfg: RunConfig, method: Method, state: TrainState, data: Dataset,
                  loss_curve: jax.Array) -> dict:
  """Returns the run's final metrics, of its readout encoder.

  Args:
    cfg: the run's static configuration.
    method: its method.
    state: its final TrainState.
    data: its dataset; the first EVAL_SAMPLES samples are encoded.
    loss_curve: [L] its logged loss, at log_epochs(cfg).

  Returns:
    {name: scalar}: max-cosine (maxcos_max, maxcos_median, maxcos_min; Eq. 12); effective rank
    and collapse of its representation (effective_rank, collapse_complete and
    collapse_dimensional as 0 or 1); whether the loss curve and every parameter stayed finite
    and within metrics.DIVERGENCE_BOUND (within_bound); where a rule keeps F, the
    predictor/correlation alignment (commutator); where m >= d, support recovery
    (support_match, false_support, sparsity_gap).
  """
  params = state.params
  encoder = params[method.readout]
  W = method.encoder.readout(encoder)
  mc = metrics.max_cosine(W, data.M)
  n_eval = min(cfg.data.n, EVAL_SAMPLES)
  x, z = data.x[:n_eval], data.z[:n_eval]
  rep = representation(cfg, method.encoder)(encoder, x, jnp.ones((n_eval,)))
  collapse = metrics.collapse(rep, cfg.data.d)
  out = {"maxcos_max": mc.max, "maxcos_median": mc.median, "maxcos_min": mc.min,
         "effective_rank": collapse.effective_rank,
         "collapse_complete": collapse.complete.astype(jnp.float32),
         "collapse_dimensional": collapse.dimensional.astype(jnp.float32),
         "within_bound": metrics.within_bound((loss_curve, params))}
  if "correlation" in state.buffers:
    out["commutator"] = predictors.commutator_norm(state.buffers["correlation"],
                                              params["predictor"].W)
  if W.shape[0] >= cfg.data.d:  # one neuron per atom is needed for the pairing
    support = metrics.support_recovery(W, data.M, rep, z)
    out.update(support_match=support.match, false_support=support.false_support,
               sparsity_gap=support.sparsity_gap)
  return out
