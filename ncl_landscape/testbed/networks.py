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
  """BN's affine parameters."""
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
  """The std of a weight's entries: the paper's scale sqrt(1 / (p d)) unless `std` is given.

  Args:
    p: the layer's fan-in.
    d: the number of atoms.
    std: the std to use, or None for sqrt(1 / (p d)).

  Returns:
    The std, a float.
  """
  return (1.0 / (p * d)) ** 0.5 if std is None else std


def _bias(key, cfg: ModelConfig, fan_in: int) -> jax.Array:
  if cfg.bias_init == "zero":
    return jnp.zeros((cfg.m,))
  bound = 1.0 / fan_in ** 0.5
  return jax.random.uniform(key, (cfg.m,), minval=-bound, maxval=bound)


def warm_start_weight(key: jax.Array, M: jax.Array, m: int, c) -> jax.Array:
  """Section 5.2.2: a warm start, rows of W are columns of M plus N(0, sigma^2), sigma = p^(-c/2).

  Columns are drawn with replacement when m > d, else the first m in order (the
  authors' M_S = M at m = d).

  Args:
    key: a PRNG key.
    M: [p, d] the dictionary.
    m: the number of rows (neurons).
    c: the noise exponent, a scalar (may be traced).

  Returns:
    W: [m, p].
  """
  p, d = M.shape
  pick_key, noise_key = jax.random.split(key)
  atoms = jax.random.randint(pick_key, (m,), 0, d) if m > d else jnp.arange(m)
  sigma = jnp.asarray(p, jnp.float32) ** (-c / 2)
  return M[:, atoms].T + sigma * jax.random.normal(noise_key, (m, p))


def init_encoder(key: jax.Array, cfg: ModelConfig, p: int, d: int, M: jax.Array | None = None,
                 warm_start_c=None) -> Encoder:
  """Initial parameters of the paper's encoder (Section 4.1) or its two-layer forms.

  W_ij ~ N(0, init_std^2) (init_std = sqrt(1/(p d)) by default) or a warm start from M
  (cfg.init 'swept': random where warm_start_c is 0, else warm);
  b zero or U(+-1/sqrt(fan_in)). Two layers (cfg.layers = 2): 'product' has W1 [m, p] and
  W [m, m], both N(0, 1/(p d)); 'code' has a first layer like a one-layer encoder and a
  second of W [m, m] ~ N(0, 1/(m d)), bias U(+-1/sqrt(m)) and its own BN.

  Args:
    key: a PRNG key.
    cfg: the model configuration.
    p: the input dimension.
    d: the number of atoms.
    M: [p, d] the dictionary; read by a warm start only.
    warm_start_c: the warm start's noise exponent c (warm_start_weight), a scalar (may be
      traced); read by a warm start only.

  Returns:
    The Encoder; its W is [m, p] for one layer, [m, m] for two.
  """
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
  """BN's affine parameters (gamma 1, beta 0), each [m], when cfg.batch_norm, else None."""
  return BatchNorm(jnp.ones((cfg.m,)), jnp.zeros((cfg.m,))) if cfg.batch_norm else None


def init_linear(key: jax.Array, m_in: int, m_out: int, init: str, std: float,
                bias: bool) -> Linear:
  """A linear head (predictor W^p, projector).

  Args:
    key: a PRNG key.
    m_in: the input dimension.
    m_out: the output dimension.
    init: 'torch_uniform' (W and b ~ U(+-1/sqrt(m_in)), PyTorch's default, as the authors'
      heads had it) or 'gaussian' (W ~ N(0, std^2) as the text's weights, b ~
      U(+-1/sqrt(m_in))).
    std: the std of W's entries under 'gaussian'.
    bias: whether the head has a bias b.

  Returns:
    The Linear: W [m_out, m_in], b [m_out] or None.
  """
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
  """g(v) = W v + b, row by row.

  Args:
    params: the head.
    v: [B, m_in] inputs.

  Returns:
    [B, m_out].
  """
  out = v @ params.W.T
  return out if params.b is None else out + params.b


def effective_weight(params: Encoder) -> jax.Array:
  """The map the metrics read.

  Args:
    params: the encoder.

  Returns:
    [m, p]: W; W W1 for the text's two-layer linear encoder; the first layer's W for the
    code's two-layer encoder (as its metric read it).
  """
  if params.hidden is not None:
    return params.hidden.W
  return params.W if params.W1 is None else params.W @ params.W1


def project_rows_or_columns(W: jax.Array, kind: str) -> jax.Array:
  """Figure 7 / Theorem 3: scales every row ('row') or column ('column') of W to unit norm.

  Args:
    W: a matrix.
    kind: 'row', or 'column' (any other value also normalises columns).

  Returns:
    W's shape, rows or columns of norm 1 (safe_norm).
  """
  axis = 1 if kind == "row" else 0
  return W / safe_norm(W, axis)


def weighted_mean(u: jax.Array, weights: jax.Array) -> jax.Array:
  """sum_i w_i u_i / sum_i w_i over the leading (batch) axis.

  Args:
    u: [B, ...] values.
    weights: [B] per-sample weights.

  Returns:
    [...]: u's shape without the batch axis.
  """
  w = weights / jnp.sum(weights)
  return jnp.tensordot(w, u, axes=1)


def batch_norm(u: jax.Array, weights: jax.Array, params: BatchNorm) -> jax.Array:
  """Training-mode BN: the batch's weighted statistics (biased variance), eps 1e-5, affine.

  Args:
    u: [B, m] pre-activations.
    weights: [B] per-sample weights (0 for padding: it enters no statistic).
    params: gamma and beta.

  Returns:
    [B, m].
  """
  mean = weighted_mean(u, weights)
  var = weighted_mean(jnp.square(u - mean), weights)
  return params.scale * (u - mean) * jax.lax.rsqrt(var + BN_EPS) + params.shift


def srelu(u: jax.Array, b: jax.Array) -> jax.Array:
  """Eq. 14: SReLU_b(u) = u - b if u > b; 0 if |u| <= b; u + b if u < -b (for b >= 0).

  Args:
    u: [..., m] pre-activations.
    b: [m] thresholds (broadcast against u).

  Returns:
    u's shape.
  """
  return jax.nn.relu(u - b) - jax.nn.relu(-u - b)


def safe_norm(v: jax.Array, axis: int = -1) -> jax.Array:
  """max(||v||, 1e-12) along `axis`, with a zero, not NaN, gradient at v = 0.

  Args:
    v: an array.
    axis: the axis to reduce.

  Returns:
    v's shape with `axis` kept at size 1.
  """
  return jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(v), axis=axis, keepdims=True), NORM_EPS ** 2))


def normalize(v: jax.Array) -> jax.Array:
  """n(v) = v / max(||v||, 1e-12) along the last axis.

  Args:
    v: [..., k] vectors.

  Returns:
    v's shape.
  """
  return v / safe_norm(v)


def activate(u: jax.Array, b: jax.Array, activation: str) -> jax.Array:
  """The activation of a layer whose (normalised) pre-activation is u and bias b.

  Args:
    u: [B, m] pre-activations (after BN, if any).
    b: [m] the layer's bias.
    activation: 'srelu_code' relu(u) - relu(2b - u) (the authors' code), 'srelu_paper'
      SReLU_b(u) (Eq. 14), 'relu', or 'linear' (the identity; any other value too).

  Returns:
    [B, m].
  """
  if activation == "srelu_code":
    return jax.nn.relu(u) - jax.nn.relu(2.0 * b - u)
  if activation == "srelu_paper":
    return srelu(u, b)
  if activation == "relu":
    return jax.nn.relu(u)
  return u


def layer(a: jax.Array, W: jax.Array, b: jax.Array, bn: BatchNorm | None, weights: jax.Array,
          activation: str) -> jax.Array:
  """One layer act(BN(a W^T + b)) (Section 4.1).

  'srelu_paper' leaves b out of the pre-activation (it is the threshold).

  Args:
    a: [B, h] inputs.
    W: [m, h] weight.
    b: [m] bias.
    bn: BN's affine parameters, or None for no BN.
    weights: [B] BN's per-sample weights (0 for padding).
    activation: the activation's name (activate).

  Returns:
    [B, m].
  """
  pre = a @ W.T
  if activation != "srelu_paper":
    pre = pre + b
  u = batch_norm(pre, weights, bn) if bn is not None else pre
  return activate(u, b, activation)


def encode(params: Encoder, a: jax.Array, weights: jax.Array, cfg: ModelConfig) -> jax.Array:
  """The encoder's output h(a) = act(BN(W a + b)) (Section 4.1), before any normalisation n(.).

  One layer(); the text's two-layer encoder multiplies W W1 first, the code's runs its
  first layer (`hidden`) before.

  Args:
    params: the encoder.
    a: [B, p] inputs.
    weights: [B] BN's per-sample weights (0 for padding).
    cfg: the model configuration (its activation).

  Returns:
    [B, m].
  """
  if params.hidden is not None:
    a = encode(params.hidden, a, weights, cfg)
  W = params.W if params.W1 is None else params.W @ params.W1
  return layer(a, W, params.b, params.bn, weights, cfg.activation)
