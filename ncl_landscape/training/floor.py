"""The floor of the grid's training step: Figure 2's NCL run written as bare arrays.

`make bench` trains the same grid with it and with the project's trainer; the ratio of
their rates (bench.json's step_over_floor) is what the project's structure (parameter
dictionaries, optimiser states, phases, records) costs. It draws the same keys as the
project's NCL run, so it trains the same run (a test checks it).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ncl_landscape.config import RunConfig
from ncl_landscape.testbed import augment
from ncl_landscape.testbed.data import sample_dataset
from ncl_landscape.training import permute


def floor_train(cfg: RunConfig):
  """Returns Figure 2's NCL run written as bare arrays, train(key, hyper).

  Per epoch a permutation cut into padded batches; per pair of batches an online then a target
  step, each: both views' hash masks, both encoders with the code's symmetric activation,
  normalised, Eq. 4 with per-sample weights, its gradient, an SGD step.

  Args:
    cfg: the run's static configuration; its steps per epoch must be even (whole pairs).

  Returns:
    train(key, hyper) -> ((W^o [m, p], b^o [m]), (W^t [m, p], b^t [m])), the final online and
    target encoders; key: the run's PRNG key; hyper: its Hyper.
  """
  n, p, d, m, B = cfg.data.n, cfg.data.p, cfg.data.d, cfg.model.m, cfg.train.batch_size
  steps = cfg.steps_per_epoch
  assert steps % 2 == 0, "the floor runs whole online/target pairs"

  def encode(W, b, a):
    u = a @ W.T + b
    out = jax.nn.relu(u) - jax.nn.relu(2.0 * b - u)
    return out / jnp.maximum(jnp.linalg.norm(out, axis=-1, keepdims=True), 1e-12)

  def loss(trained, fixed, a1, a2, w):
    cos = jnp.sum(encode(*trained, a1) * jax.lax.stop_gradient(encode(*fixed, a2)), -1)
    return 2.0 - 2.0 * jnp.sum(w * cos) / jnp.sum(w)

  def train(key, hyper):
    data_key, init_key, loop_key = jax.random.split(key, 3)
    x = sample_dataset(data_key, cfg.data, hyper.sparsity).x
    std, bound = (1.0 / (p * d)) ** 0.5, p ** -0.5

    def init(key):  # the keys and draws of methods.make_method's NCL encoders
      w_key, b_key, _ = jax.random.split(key, 3)
      return (std * jax.random.normal(w_key, (m, p)),
              jax.random.uniform(b_key, (m,), minval=-bound, maxval=bound))
    sides = tuple(init(k) for k in jax.random.split(init_key, 3)[:2])

    def sgd(trained, fixed, key, idx, w):
      a1, a2 = augment.independent_views(key, x[idx], hyper.mask_prob)
      grads = jax.grad(loss)(trained, fixed, a1, a2, w)
      return jax.tree_util.tree_map(lambda v, g: v - hyper.lr * g, trained, grads)

    def pair(sides, xs):
      keys, idx, w = xs
      online, target = sides
      online = sgd(online, target, keys[0], idx[0], w[0])
      return (online, sgd(target, online, keys[1], idx[1], w[1])), None

    def epoch(sides, e):
      perm_key, step_key = jax.random.split(jax.random.fold_in(loop_key, e))
      perm = permute.permutation(perm_key, n)
      idx = jnp.concatenate([perm, perm[:steps * B - n]]).reshape(steps // 2, 2, B)
      w = (jnp.arange(steps * B) < n).astype(jnp.float32).reshape(steps // 2, 2, B)
      keys = jax.random.split(step_key, steps).reshape(steps // 2, 2)
      return jax.lax.scan(pair, sides, (keys, idx, w))[0], None

    return jax.lax.scan(epoch, sides, jnp.arange(cfg.train.epochs))[0]
  return train
