"""Encoders of Section 4.1: h(a) = act(BN(W a + b)), W in R^{m x p}.

Parameters are NamedTuple pytrees; `encode` is a pure function of (params, a,
weights). Batch normalisation uses the batch's statistics with per-sample weights,
so the padded samples of a partial last batch (weight 0) do not enter them.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ncl_landscape.config import ModelConfig

BN_EPS = 1e-5
NORM_EPS = 1e-12


class BatchNorm(NamedTuple):
  scale: jax.Array  # [m] (gamma)
  shift: jax.Array  # [m] (beta)


class Encoder(NamedTuple):
  W: jax.Array  # [m, p] (W^o or W^t in the paper)
  b: jax.Array  # [m] bias, also the threshold of the symmetric activation
  bn: BatchNorm | None = None


def init_encoder(key: jax.Array, cfg: ModelConfig, p: int, d: int) -> Encoder:
  """W_ij ~ N(0, init_std^2), init_std = sqrt(1/(p d)) by default; b zero or U(+-1/sqrt(p))."""
  w_key, b_key = jax.random.split(key)
  std = (1.0 / (p * d)) ** 0.5 if cfg.init_std is None else cfg.init_std
  W = std * jax.random.normal(w_key, (cfg.m, p))
  if cfg.bias_init == "zero":
    b = jnp.zeros((cfg.m,))
  else:
    bound = 1.0 / p ** 0.5
    b = jax.random.uniform(b_key, (cfg.m,), minval=-bound, maxval=bound)
  bn = BatchNorm(jnp.ones((cfg.m,)), jnp.zeros((cfg.m,))) if cfg.batch_norm else None
  return Encoder(W=W, b=b, bn=bn)


def weighted_mean(u: jax.Array, weights: jax.Array) -> jax.Array:
  """sum_i w_i u_i / sum_i w_i over the leading (batch) axis. u: [B, ...], weights: [B]."""
  w = weights / jnp.sum(weights)
  return jnp.tensordot(w, u, axes=1)


def batch_norm(u: jax.Array, weights: jax.Array, params: BatchNorm) -> jax.Array:
  """Training-mode BN (biased batch variance, eps 1e-5, affine). u: [B, m] -> [B, m]."""
  mean = weighted_mean(u, weights)
  var = weighted_mean(jnp.square(u - mean), weights)
  return params.scale * (u - mean) * jax.lax.rsqrt(var + BN_EPS) + params.shift


def srelu(u: jax.Array, b: jax.Array) -> jax.Array:
  """Eq. 14: u - b if u > b; 0 if |u| <= b; u + b if u < -b (for b >= 0)."""
  return jax.nn.relu(u - b) - jax.nn.relu(-u - b)


def normalize(v: jax.Array) -> jax.Array:
  """n(v) = v / max(||v||, 1e-12) along the last axis."""
  norm = jnp.linalg.norm(v, axis=-1, keepdims=True)
  return v / jnp.maximum(norm, NORM_EPS)


def encode(params: Encoder, a: jax.Array, weights: jax.Array, cfg: ModelConfig) -> jax.Array:
  """Representation of a batch of views. a: [B, p], weights: [B] -> [B, m].

  'srelu_code': u = BN(W a + b), out = relu(u) - relu(2b - u) (the authors' code);
  'srelu_paper': out = SReLU_b(BN(W a)) (Eq. 14); 'relu': relu(BN(W a + b));
  'linear': BN(W a + b). BN only when cfg.batch_norm; n(.) when cfg.normalize_repr.
  """
  pre = a @ params.W.T
  if cfg.activation != "srelu_paper":
    pre = pre + params.b
  u = batch_norm(pre, weights, params.bn) if params.bn is not None else pre
  if cfg.activation == "srelu_code":
    out = jax.nn.relu(u) - jax.nn.relu(2.0 * params.b - u)
  elif cfg.activation == "srelu_paper":
    out = srelu(u, params.b)
  elif cfg.activation == "relu":
    out = jax.nn.relu(u)
  else:
    out = u
  return normalize(out) if cfg.normalize_repr else out
