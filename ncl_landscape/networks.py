"""Encoders of Section 4.1: h(a) = act(BN(W a + b)), W in R^{m x p}.

Parameters are NamedTuple pytrees; `encode` is a pure function of (params, a,
weights). Batch normalisation uses the batch's statistics with per-sample weights,
so the padded samples of a partial last batch (weight 0) do not enter them.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp

if TYPE_CHECKING:
  from ncl_landscape.config import ModelConfig

BN_EPS = 1e-5
NORM_EPS = 1e-12


class BatchNorm(NamedTuple):
  scale: jax.Array  # [m] (gamma)
  shift: jax.Array  # [m] (beta)


class Encoder(NamedTuple):
  """One layer act(BN(W a + b)); a two-layer encoder (Figure 3) adds its first layer as
  `W1` (the text: a linear map, so the encoder is act(BN(W W1 a + b))) or as `hidden`
  (the authors' code: a whole layer of its own, act(BN(W hidden(a) + b)))."""
  W: jax.Array  # [m, h] (W^o or W^t in the paper; h = p for one layer)
  b: jax.Array  # [m] bias, also the threshold of the symmetric activation
  bn: BatchNorm | None = None
  W1: jax.Array | None = None  # [h, p] first map of the text's two-layer linear encoder
  hidden: "Encoder | None" = None  # first layer of the code's two-layer encoder


class Linear(NamedTuple):
  """g(v) = W v + b: the predictor W^p (Eq. 5, Eq. 8) or a linear projector."""
  W: jax.Array  # [m_out, m_in]
  b: jax.Array | None = None  # [m_out]


def init_std(p: int, d: int, std: float | None) -> float:
  """The paper's weight scale sqrt(1 / (p d)) unless given."""
  return (1.0 / (p * d)) ** 0.5 if std is None else std


def _bias(key, cfg: ModelConfig, fan_in: int) -> jax.Array:
  if cfg.bias_init == "zero":
    return jnp.zeros((cfg.m,))
  bound = 1.0 / fan_in ** 0.5
  return jax.random.uniform(key, (cfg.m,), minval=-bound, maxval=bound)


def warm_start_weight(key: jax.Array, M: jax.Array, m: int, c) -> jax.Array:
  """Section 5.2.2: rows of W are columns of M plus N(0, sigma^2), sigma = p^(-c/2).

  Columns are drawn with replacement when m > d, else the first m in order (the
  authors' M_S = M at m = d). c may be traced. M: [p, d] -> W: [m, p].
  """
  p, d = M.shape
  pick_key, noise_key = jax.random.split(key)
  atoms = jax.random.randint(pick_key, (m,), 0, d) if m > d else jnp.arange(m)
  sigma = jnp.asarray(p, jnp.float32) ** (-c / 2)
  return M[:, atoms].T + sigma * jax.random.normal(noise_key, (m, p))


def init_encoder(key: jax.Array, cfg: ModelConfig, p: int, d: int, M: jax.Array | None = None,
                 warm_start_c=None) -> Encoder:
  """W_ij ~ N(0, init_std^2) (init_std = sqrt(1/(p d)) by default) or a warm start from M
  (cfg.init 'swept': random where warm_start_c is 0, else warm);
  b zero or U(+-1/sqrt(fan_in)). Two layers (cfg.layers = 2): 'product' has W1 [m, p] and
  W [m, m], both N(0, 1/(p d)); 'code' has a first layer like a one-layer encoder and a
  second of W [m, m] ~ N(0, 1/(m d)), bias U(+-1/sqrt(m)) and its own BN."""
  w_key, b_key, w1_key = jax.random.split(key, 3)
  std = init_std(p, d, cfg.init_std)
  fan_in = p
  W1 = hidden = None
  if cfg.layers == 2 and cfg.two_layer == "code":
    hidden = init_encoder(w1_key, dataclasses.replace(cfg, layers=1), p, d)
    W = init_std(cfg.m, d, cfg.init_std) * jax.random.normal(w_key, (cfg.m, cfg.m))
    fan_in = cfg.m
  elif cfg.init == "warm":
    W = warm_start_weight(w_key, M, cfg.m, warm_start_c)
  elif cfg.init == "swept":  # both drawn, one kept: c is traced
    W = jnp.where(warm_start_c > 0, warm_start_weight(w_key, M, cfg.m, warm_start_c),
                  std * jax.random.normal(w_key, (cfg.m, p)))
  elif cfg.layers == 2:
    W1 = std * jax.random.normal(w1_key, (cfg.m, p))
    W = std * jax.random.normal(w_key, (cfg.m, cfg.m))
    fan_in = cfg.m
  else:
    W = std * jax.random.normal(w_key, (cfg.m, p))
  return Encoder(W=W, b=_bias(b_key, cfg, fan_in), W1=W1, hidden=hidden,
                 bn=init_batch_norm(cfg))


def init_batch_norm(cfg: ModelConfig) -> BatchNorm | None:
  """BN's affine parameters (gamma 1, beta 0) when cfg.batch_norm, else None."""
  return BatchNorm(jnp.ones((cfg.m,)), jnp.zeros((cfg.m,))) if cfg.batch_norm else None


def init_linear(key: jax.Array, m_in: int, m_out: int, init: str, std: float,
                bias: bool) -> Linear:
  """A linear head (predictor W^p, projector). init 'torch_uniform': W and b ~
  U(+-1/sqrt(m_in)), PyTorch's default, as the authors' heads had it; 'gaussian': W ~
  N(0, std^2) as the text's weights, b ~ U(+-1/sqrt(m_in))."""
  w_key, b_key = jax.random.split(key)
  bound = 1.0 / m_in ** 0.5
  if init == "torch_uniform":
    W = jax.random.uniform(w_key, (m_out, m_in), minval=-bound, maxval=bound)
  else:
    W = std * jax.random.normal(w_key, (m_out, m_in))
  if not bias:
    return Linear(W)
  return Linear(W, jax.random.uniform(b_key, (m_out,), minval=-bound, maxval=bound))


def apply_linear(params: Linear, v: jax.Array) -> jax.Array:
  """v: [B, m_in] -> [B, m_out]."""
  out = v @ params.W.T
  return out if params.b is None else out + params.b


def effective_weight(params: Encoder) -> jax.Array:
  """The [m, p] map the metrics read: W; W W1 for the text's two-layer linear encoder; the
  first layer's W for the code's two-layer encoder (as its metric read it)."""
  if params.hidden is not None:
    return params.hidden.W
  return params.W if params.W1 is None else params.W @ params.W1


def project_rows_or_columns(W: jax.Array, kind: str) -> jax.Array:
  """Figure 7 / Theorem 3: scale every row ('row') or column ('column') of W to unit norm."""
  axis = 1 if kind == "row" else 0
  return W / safe_norm(W, axis)


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


def safe_norm(v: jax.Array, axis: int = -1) -> jax.Array:
  """max(||v||, 1e-12) along axis (kept), with a zero, not NaN, gradient at v = 0."""
  return jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(v), axis=axis, keepdims=True), NORM_EPS ** 2))


def normalize(v: jax.Array) -> jax.Array:
  """n(v) = v / max(||v||, 1e-12) along the last axis."""
  return v / safe_norm(v)


def activate(u: jax.Array, b: jax.Array, activation: str) -> jax.Array:
  """The activation of a layer whose (normalised) pre-activation is u and bias b: 'srelu_code'
  relu(u) - relu(2b - u) (the authors' code), 'srelu_paper' SReLU_b(u) (Eq. 14), 'relu',
  'linear'."""
  if activation == "srelu_code":
    return jax.nn.relu(u) - jax.nn.relu(2.0 * b - u)
  if activation == "srelu_paper":
    return srelu(u, b)
  if activation == "relu":
    return jax.nn.relu(u)
  return u


def layer(a: jax.Array, W: jax.Array, b: jax.Array, bn: BatchNorm | None, weights: jax.Array,
          activation: str) -> jax.Array:
  """act(BN(a W^T + b)); 'srelu_paper' leaves b out of the pre-activation (it is the
  threshold). a: [B, h], W: [m, h], weights: [B] (BN's per-sample weights) -> [B, m]."""
  pre = a @ W.T
  if activation != "srelu_paper":
    pre = pre + b
  u = batch_norm(pre, weights, bn) if bn is not None else pre
  return activate(u, b, activation)


def encode(params: Encoder, a: jax.Array, weights: jax.Array, cfg: ModelConfig) -> jax.Array:
  """The encoder's output h(a) (before any normalisation n(.)). a: [B, p], weights: [B] -> [B, m].

  One layer(); the text's two-layer encoder multiplies W W1 first, the code's runs its
  first layer (`hidden`) before.
  """
  if params.hidden is not None:
    a = encode(params.hidden, a, weights, cfg)
  W = params.W if params.W1 is None else params.W @ params.W1
  return layer(a, W, params.b, params.bn, weights, cfg.activation)
