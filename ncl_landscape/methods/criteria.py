"""Joint-embedding criteria of the related families (docs/methods.md: dimension-contrastive,
spectral and alpha-CL).

Each criterion is a pure function of the two views' representations z1, z2 [N, m]
and per-sample weights [N] in {0, 1} (0 marks padding of a partial batch: padded
samples enter no statistic), and returns (loss, terms): the scalar to descend and a
dict of its named parts, logged as per-term curves.

The method registry (methods.METHODS) names them as methods, each a `Criterion`
(z1, z2, weights, hyper) -> (loss, terms); `select` makes a group of criteria one
program with a traced index, so a grid of all of them compiles once. SG is jax.lax.stop_gradient;
n(v) = v / max(||v||, eps).
"""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from ncl_landscape.testbed.networks import normalize, safe_norm, weighted_mean
from ncl_landscape.training.hyper import Hyper

Terms = dict[str, jax.Array]


def _centred(z: jax.Array, weights: jax.Array) -> jax.Array:
  """z minus its weighted mean, padded rows zeroed. [N, m] -> [N, m]."""
  return (z - weighted_mean(z, weights)) * weights[:, None]


def covariance(z: jax.Array, weights: jax.Array) -> jax.Array:
  """Unbiased covariance of the real samples: Zc^T Zc / (n - 1), n = sum(weights).

  Args:
    z: [N, m] representations.
    weights: [N] per-sample weights in {0, 1}.

  Returns:
    [m, m].
  """
  zc = _centred(z, weights)
  return zc.T @ zc / (jnp.sum(weights) - 1.0)


def _off_diagonal_sq(a: jax.Array) -> jax.Array:
  """sum_{i != j} a_ij^2 of a square matrix."""
  return jnp.sum(jnp.square(a)) - jnp.sum(jnp.square(jnp.diag(a)))


def vicreg(z1, z2, weights, inv_coeff=25.0, var_coeff=25.0, cov_coeff=1.0, gamma=1.0):
  """VICReg: lam * mean ||z - z'||^2 / m + mu (v(Z) + v(Z')) / 2 + nu (c(Z) + c(Z')).

  v(Z) = mean_j relu(gamma - sqrt(Var_unbiased(Z_*j) + 1e-4)); c(Z) = (1/m) sum_{i != j}
  C_ij^2, C the covariance (official defaults lam = mu = 25, nu = 1, gamma = 1;
  invariance as torch's mse_loss, a mean over samples and dimensions).

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights in {0, 1}.
    inv_coeff: lam.
    var_coeff: mu.
    cov_coeff: nu.
    gamma: the target std.

  Returns:
    (loss, terms): the scalar loss and its 'invariance', 'variance' and 'covariance' terms,
    each times its coefficient.
  """
  m = z1.shape[1]
  invariance = weighted_mean(jnp.mean(jnp.square(z1 - z2), axis=1), weights)

  def var_term(z):
    std = jnp.sqrt(jnp.diag(covariance(z, weights)) + 1e-4)
    return jnp.mean(jax.nn.relu(gamma - std))

  variance = 0.5 * (var_term(z1) + var_term(z2))
  cov = (_off_diagonal_sq(covariance(z1, weights)) + _off_diagonal_sq(covariance(z2, weights))) / m
  terms = {"invariance": inv_coeff * invariance, "variance": var_coeff * variance,
           "covariance": cov_coeff * cov}
  return sum(terms.values()), terms


def _standardise(z: jax.Array, weights: jax.Array, eps: float = 1e-5) -> jax.Array:
  """BN without affine over the real samples (biased variance), padded rows zeroed."""
  zc = _centred(z, weights)
  var = jnp.sum(jnp.square(zc), axis=0) / jnp.sum(weights)
  return zc * jax.lax.rsqrt(var + eps)


def barlow_twins(z1, z2, weights, lam=0.0051):
  """Barlow Twins: C = BN(Z)^T BN(Z') / n; sum_i (1 - C_ii)^2 + lam sum_{i != j} C_ij^2.

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights in {0, 1}.
    lam: the official 0.0051, or None for 1 / m.

  Returns:
    (loss, terms): the scalar loss and its 'on_diagonal' and 'off_diagonal' terms.
  """
  lam = 1.0 / z1.shape[1] if lam is None else lam
  c = _standardise(z1, weights).T @ _standardise(z2, weights) / jnp.sum(weights)
  terms = {"on_diagonal": jnp.sum(jnp.square(1.0 - jnp.diag(c))),
           "off_diagonal": lam * _off_diagonal_sq(c)}
  return sum(terms.values()), terms


def spectral(z1, z2, weights, mu=1.0):
  """Spectral contrastive loss (HaoChen et al.).

  Rows first projected into the ball of radius sqrt(mu), then
  (1/mu) [-(2/n) sum_i z_i . z'_i + 1/(n(n-1)) sum_{i != j} (z_i . z'_j)^2].

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights in {0, 1}.
    mu: the squared radius and the scale.

  Returns:
    (loss, terms): the scalar loss and its 'attraction' and 'repulsion' terms.
  """
  def project(z):
    return z * jnp.minimum(1.0, jnp.sqrt(mu) / safe_norm(z))

  z1, z2 = project(z1), project(z2)
  n = jnp.sum(weights)
  pair = weights[:, None] * weights[None, :] * (1.0 - jnp.eye(z1.shape[0]))
  terms = {"attraction": -2.0 * weighted_mean(jnp.sum(z1 * z2, axis=1), weights) / mu,
           "repulsion": jnp.sum(pair * jnp.square(z1 @ z2.T)) / (n * (n - 1.0)) / mu}
  return sum(terms.values()), terms


def sample_contrastive(K: jax.Array) -> jax.Array:
  """Garrido's sample-contrastive L_c = ||K^T K - diag(K^T K)||_F^2.

  Args:
    K: [m, N] an embedding matrix (embedding_matrix).

  Returns:
    A scalar.
  """
  return _off_diagonal_sq(K.T @ K)


def dimension_contrastive(K: jax.Array) -> jax.Array:
  """Garrido's dimension-contrastive L_nc = ||K K^T - diag(K K^T)||_F^2.

  Args:
    K: [m, N] an embedding matrix (embedding_matrix).

  Returns:
    A scalar.
  """
  return _off_diagonal_sq(K @ K.T)


def embedding_matrix(z: jax.Array, weights: jax.Array, norm: str) -> jax.Array:
  """The embedding matrix K = Z^T, padded columns zeroed, after normalisation.

  Args:
    z: [N, m] representations.
    weights: [N] per-sample weights in {0, 1}.
    norm: 'none'; 'sample' (unit columns of K); 'dimension' (every row of K scaled to norm
      sqrt(n / m), n = sum(weights)).

  Returns:
    K: [m, N].
  """
  if norm == "sample":
    z = normalize(z)
  z = z * weights[:, None]
  if norm == "dimension":
    scale = jnp.sqrt(jnp.sum(weights) / z.shape[1])
    z = scale * z / safe_norm(z, axis=0)
  return z.T


def garrido(z1, z2, weights, contrast: str, norm: str, lam=1.0):
  """Garrido's pair: invariance mean ||k_i - k'_i||^2 plus lam (L(K) + L(K')) / (2 n^2).

  One scale for L_c and L_nc, so the identity L_nc + sum_j ||K_j*||^4 = L_c + sum_i ||K_*i||^4
  carries over to the two losses.

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights in {0, 1}.
    contrast: L = L_c ('sample', sample_contrastive) or L_nc (any other value,
      dimension_contrastive).
    norm: K's normalisation (embedding_matrix).
    lam: the contrast term's weight.

  Returns:
    (loss, terms): the scalar loss and its 'invariance' and 'contrast' terms.
  """
  k1, k2 = embedding_matrix(z1, weights, norm), embedding_matrix(z2, weights, norm)
  term = sample_contrastive if contrast == "sample" else dimension_contrastive
  n = jnp.sum(weights)
  terms = {"invariance": jnp.sum(jnp.square(k1 - k2)) / n,
           "contrast": lam * (term(k1) + term(k2)) / (2.0 * n * n)}
  return sum(terms.values()), terms


def _view_cosines(z1, z2, weights):
  """Cosines of the 2N views, the positive's cosine per anchor, and the negatives mask.

  -> s [2N, 2N], s_pos [2N], negative [2N, 2N] (j a view of another real sample), w [2N].
  """
  n = z1.shape[0]
  z = normalize(jnp.concatenate([z1, z2]))
  w = jnp.concatenate([weights, weights])
  s = z @ z.T
  idx = jnp.arange(2 * n)
  positive = (idx + n) % (2 * n)
  sample = idx % n
  negative = (sample[:, None] != sample[None, :]) & (w[None, :] > 0)
  return s, s[idx, positive], negative, w


def simclr_negatives(z1, z2, weights, temperature, negatives: str):
  """Garrido's SimCLR-abs / SimCLR-sq: NT-Xent whose negatives enter as g(cos) / tau.

  The positive stays cos / tau:
  -mean_i log[e^{s_i / tau} / (e^{s_i / tau} + sum_{j neg} e^{g(s_ij) / tau})], the mean
  over the 2N views.

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights in {0, 1}.
    temperature: tau, a scalar > 0.
    negatives: g = |.| ('abs') or (.)^2 ('sq', any other value).

  Returns:
    (loss, {}): the scalar loss and no terms.
  """
  s, s_pos, negative, w = _view_cosines(z1, z2, weights)
  g = jnp.abs(s) if negatives == "abs" else jnp.square(s)
  logits = jnp.where(negative, g / temperature, -jnp.inf)
  denominator = jnp.logaddexp(s_pos / temperature, jax.nn.logsumexp(logits, axis=1))
  return -weighted_mean(s_pos / temperature - denominator, w), {}


def _sparsemax(logits: jax.Array, valid: jax.Array, iterations: int = 40) -> jax.Array:
  """Euclidean projection of each row of logits (over the valid entries) onto the simplex:
  relu(x - t) with sum relu(x - t) = 1. t lies in [max x - 1, max x]; bisection finds the
  support, and t is then exact on it. (A bisection, not a sort: rows are 2N wide.)"""
  x = jnp.where(valid, logits, -jnp.inf)
  hi = jnp.max(x, axis=1, keepdims=True)

  def halve(_, bounds):
    lo, hi = bounds
    mid = 0.5 * (lo + hi)
    above = jnp.sum(jax.nn.relu(x - mid), axis=1, keepdims=True) > 1.0
    return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

  lo, _ = jax.lax.fori_loop(0, iterations, halve, (hi - 1.0, hi))
  support = x > lo
  t = (jnp.sum(jnp.where(support, x, 0.0), axis=1, keepdims=True) - 1.0) / jnp.sum(
      support, axis=1, keepdims=True)
  return jnp.where(valid, jax.nn.relu(x - t), 0.0)


def alpha_cl(z1, z2, weights, weighting: str, tau=0.5, a=1.0, eps=0.1, power=2.0):
  """alpha-CL (Tian 2022), practical form: mean_i sum_j w_ij (s_ij - s_i) over the 2N views.

  r_ij = 1 - s_ij over negatives j; raw weights under SG: 'exp' e^{-r^a / tau}, 'inverse'
  (r^a + tau)^{-power}, 'quadratic' sparsemax(-r^a / tau) (a sparse projection onto the
  simplex); normalised by sum_k w_ik + eps (2N - 2). With 'exp', a = 1, eps = 0 the gradient
  is 1 / tau times InfoNCE's with the positive left out of the denominator.

  Args:
    z1: [N, m] first view's representations.
    z2: [N, m] second view's representations.
    weights: [N] per-sample weights in {0, 1}.
    weighting: 'exp', 'inverse' or 'quadratic' (any other value).
    tau: the weights' temperature.
    a: the exponent of r.
    eps: added to the normaliser once per negative, eps (2N - 2).
    power: the exponent of 'inverse'.

  Returns:
    (loss, {}): the scalar loss and no terms.
  """
  s, s_pos, negative, w = _view_cosines(z1, z2, weights)
  r = jax.lax.stop_gradient(jnp.maximum(1.0 - s, 0.0)) ** a
  if weighting == "exp":  # r^a <= 2^a, so e^{-r^a / tau} cannot underflow at the defaults
    raw = jnp.exp(-r / tau)
  elif weighting == "inverse":
    raw = (r + tau) ** (-power)
  else:
    raw = _sparsemax(-r / tau, negative)
  raw = jnp.where(negative, raw, 0.0)
  n_neg = 2.0 * (jnp.sum(weights) - 1.0)
  alpha = raw / (jnp.sum(raw, axis=1, keepdims=True) + eps * n_neg)
  return weighted_mean(jnp.sum(alpha * (s - s_pos[:, None]), axis=1), w), {}


Criterion = Callable[[jax.Array, jax.Array, jax.Array, object], tuple[jax.Array, Terms]]


@functools.lru_cache(maxsize=None)
def term_names(criterion: Criterion) -> tuple[str, ...]:
  """The sorted names of the terms criterion returns, read from its shapes (nothing is run)."""
  z, w = jax.ShapeDtypeStruct((4, 3), jnp.float32), jax.ShapeDtypeStruct((4,), jnp.float32)
  _, terms = jax.eval_shape(criterion, z, z, w, Hyper())
  return tuple(sorted(terms))


def select(group: tuple[Criterion, ...], index: int | jax.Array) -> Criterion:
  """The criterion group[index]. A Python int picks it while tracing; a traced integer
  index makes one program serve them all, and lax.switch runs only the selected branch.

  Each branch computes its value with its gradient in (z1, z2), so only those [N, m]
  cotangents leave the switch: differentiating through a switch would carry every
  branch's residuals out of it (the [2N, 2N] similarities of the contrastive ones),
  zero-filled, at every step. Every branch returns the union of the criteria's terms,
  NaN for those its criterion lacks (a switch has one output structure); the terms are
  reported, not descended, and weights and hyper get no gradient.

  Args:
    group: the criteria of one program.
    index: the index in group of the criterion to run, a Python int or a traced integer.

  Returns:
    A Criterion (z1, z2, weights, hyper) -> (loss, terms).
  """
  if isinstance(index, int):
    return group[index]
  union = sorted(set().union(*map(term_names, group)))

  def padded(criterion):
    def run(z1, z2, weights, hyper):
      loss, terms = criterion(z1, z2, weights, hyper)
      return loss, {k: terms.get(k, jnp.full((), jnp.nan, loss.dtype)) for k in union}
    return run

  def with_gradient(criterion):
    def run(z1, z2, weights, hyper):
      value = lambda a, b: padded(criterion)(a, b, weights, hyper)
      return jax.value_and_grad(value, argnums=(0, 1), has_aux=True)(z1, z2)
    return run

  @jax.custom_vjp
  def selected(z1, z2, weights, hyper, index):
    return jax.lax.switch(index, [padded(c) for c in group], z1, z2, weights, hyper)

  def forward(z1, z2, weights, hyper, index):
    out, grads = jax.lax.switch(index, [with_gradient(c) for c in group], z1, z2, weights,
                                hyper)
    return out, (grads, weights, hyper)

  def backward(residuals, cotangents):
    (g1, g2), weights, hyper = residuals
    loss_bar = cotangents[0]
    return (loss_bar * g1, loss_bar * g2, jnp.zeros_like(weights),
            jax.tree_util.tree_map(jnp.zeros_like, hyper), None)

  selected.defvjp(forward, backward)
  return lambda z1, z2, weights, hyper: selected(z1, z2, weights, hyper, index)
