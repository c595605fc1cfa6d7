"""Self-supervised criteria of the paper, as pure functions of representations.

Every loss takes per-sample `weights` [N] (1 for a real sample, 0 for padding of
a partial batch) and averages with them, so a batch of static size can hold fewer
samples exactly. SG is jax.lax.stop_gradient.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ncl_landscape.testbed.networks import normalize, weighted_mean


def cosine_loss(z_trained: jax.Array, z_fixed: jax.Array, weights: jax.Array) -> jax.Array:
  """Eq. 4: 2 - 2 E < n(z_trained), SG n(z_fixed) >.

  Args:
    z_trained: [N, m] the trained side's representations.
    z_fixed: [N, m] the fixed side's representations (no gradient).
    weights: [N] per-sample weights.

  Returns:
    The scalar loss.
  """
  cos = jnp.sum(normalize(z_trained) * jax.lax.stop_gradient(normalize(z_fixed)), axis=-1)
  return 2.0 - 2.0 * weighted_mean(cos, weights)


def inner_product_loss(z_trained: jax.Array, z_fixed: jax.Array, weights: jax.Array) -> jax.Array:
  """Eq. 6 / Eq. 7: 2 - 2 E < z_trained, SG z_fixed >.

  Args:
    z_trained: [N, m] the trained side's representations.
    z_fixed: [N, m] the fixed side's representations (no gradient).
    weights: [N] per-sample weights.

  Returns:
    The scalar loss.
  """
  inner = jnp.sum(z_trained * jax.lax.stop_gradient(z_fixed), axis=-1)
  return 2.0 - 2.0 * weighted_mean(inner, weights)


def nt_xent_loss(z1: jax.Array, z2: jax.Array, weights: jax.Array, temperature) -> jax.Array:
  """Eq. 9 as NT-Xent over 2N samples (SimCLR), cosine similarity / temperature.

  For anchor i of the 2N views, the positive is the other view of the same sample
  and the negatives are the 2N - 2 views of the other samples (padded samples are
  excluded).

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights.
    temperature: a scalar > 0.

  Returns:
    The scalar loss: the weighted mean over the 2N anchors.
  """
  n = z1.shape[0]
  z = normalize(jnp.concatenate([z1, z2], axis=0))  # [2N, m]
  w = jnp.concatenate([weights, weights])  # [2N]
  logits = (z @ z.T) / temperature  # [2N, 2N]
  idx = jnp.arange(2 * n)
  positive = (idx + n) % (2 * n)
  # Padded anchors keep finite rows (their weight is 0), so no NaN reaches a gradient.
  excluded = (idx[:, None] == idx[None, :]) | ((w[None, :] == 0) & (w[:, None] > 0))
  logits = jnp.where(excluded, -jnp.inf, logits)
  log_prob = logits[idx, positive] - jax.nn.logsumexp(logits, axis=-1)
  return -weighted_mean(log_prob, w)


def symmetric_negative_cosine(p1: jax.Array, p2: jax.Array, z1: jax.Array, z2: jax.Array,
                              weights: jax.Array) -> jax.Array:
  """SimSiam: 0.5 (D(p1, SG z2) + D(p2, SG z1)), D(p, z) = -E cos(p, z).

  Args:
    p1: [N, m] the predictor's outputs on the first view.
    p2: [N, m] the predictor's outputs on the second view.
    z1: [N, m] first view's representations (no gradient).
    z2: [N, m] second view's representations (no gradient).
    weights: [N] per-sample weights.

  Returns:
    The scalar loss.
  """
  def d(p, z):
    return -weighted_mean(jnp.sum(normalize(p) * jax.lax.stop_gradient(normalize(z)), -1), weights)
  return 0.5 * (d(p1, z2) + d(p2, z1))
