"""Sparse coding data x = M z + eps (Eq. 1; the latents of the authors' code and of the
text, docs/methods.md).

Every draw takes an explicit key; `sparsity` may be a traced scalar, so datasets of
a whole sparsity grid are drawn inside one vmapped call.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ncl_landscape.config import DataConfig

# Guards ceil(d * s) against float round-off (10 * 0.3 = 3.0000000000000004).
_CEIL_EPS = 1e-5


class Dataset(NamedTuple):
  """One run's data set: observations, latents and dictionary (Eq. 1)."""
  x: jax.Array  # [n, p] observations
  z: jax.Array  # [n, d] latents
  M: jax.Array  # [p, d] dictionary, orthonormal columns


def make_dictionary(key: jax.Array, p: int, d: int, kind: str = "orthonormal") -> jax.Array:
  """The dictionary M in R^{p x d}, with orthonormal columns.

  Args:
    key: a PRNG key (unused by 'identity').
    p: the observations' dimension.
    d: the number of atoms, d <= p.
    kind: 'orthonormal' (Q of the QR of a standard Gaussian matrix) or 'identity' (the first
      d columns of I_p).

  Returns:
    M: [p, d].
  """
  if kind == "identity":
    return jnp.eye(p, d)
  q, _ = jnp.linalg.qr(jax.random.normal(key, (p, d)))
  return q


def fixed_counts(d: int, sparsity) -> tuple[jax.Array, jax.Array]:
  """The authors' code's counts of -1 and +1 entries of a 'fixed_count' latent.

  Entries 0..s1-1 of the (then permuted) pattern are -1 and entries s1..s2-1 are +1, with
  s1 = ceil(d s / 2) and s2 = max(ceil(d s), s1 + 1), both capped at d.

  Args:
    d: the latent dimension.
    sparsity: s, a scalar (may be traced).

  Returns:
    (s1, s2): int32 scalars.
  """
  s1 = jnp.ceil(d * sparsity / 2 - _CEIL_EPS).astype(jnp.int32)
  s2 = jnp.maximum(jnp.ceil(d * sparsity - _CEIL_EPS).astype(jnp.int32), s1 + 1)
  return jnp.minimum(s1, d), jnp.minimum(s2, d)


def _fixed_count_latents(key, n, d, sparsity):
  s1, s2 = fixed_counts(d, sparsity)
  i = jnp.arange(d)
  pattern = jnp.where(i < s1, -1.0, jnp.where(i < s2, 1.0, 0.0))
  perm = jnp.argsort(jax.random.uniform(key, (n, d)), axis=1)
  return pattern[perm]


def _nonzero_bernoulli_support(key, n, d, sparsity):
  """i.i.d. Bernoulli(sparsity) support conditioned on at least one non-zero, exactly.

  The first non-zero index k has P(k) = (1-s)^k s / (1 - (1-s)^d) (a truncated
  geometric, sampled by inverse CDF); entries after k are i.i.d. Bernoulli(s).
  """
  k_key, rest_key = jax.random.split(key)
  s = jnp.asarray(sparsity, jnp.float32)
  q = 1.0 - s
  u = jax.random.uniform(k_key, (n, 1))
  log_q = jnp.log(jnp.maximum(q, 1e-30))
  k = jnp.floor(jnp.log1p(-u * (1.0 - q ** d)) / log_q)
  k = jnp.where(q > 0, jnp.clip(k, 0, d - 1), 0.0)
  i = jnp.arange(d)[None, :]
  rest = jax.random.uniform(rest_key, (n, d)) < s
  return (i == k) | ((i > k) & rest)


def sample_latents(key: jax.Array, cfg: DataConfig, sparsity) -> jax.Array:
  """Draws the latents z of the kind cfg.latent (see DataConfig).

  Args:
    key: a PRNG key.
    cfg: the data configuration (n, d, latent, one_hot_sign).
    sparsity: P(z_i != 0) for 'bernoulli' and 'zero_one'; sets the counts of 'fixed_count'
      (fixed_counts); unused by 'one_hot'. A scalar (may be traced).

  Returns:
    z: [n, d].
  """
  n, d = cfg.n, cfg.d
  support_key, sign_key = jax.random.split(key)
  if cfg.latent == "fixed_count":
    return _fixed_count_latents(support_key, n, d, sparsity)
  if cfg.latent == "one_hot":
    idx = jax.random.randint(support_key, (n,), 0, d)
    if cfg.one_hot_sign == "per_sample":
      sign = jax.random.rademacher(sign_key, (n, 1), jnp.float32)
    elif cfg.one_hot_sign == "per_dataset":
      sign = jax.random.rademacher(sign_key, (1, 1), jnp.float32)
    else:
      sign = jnp.ones((1, 1))
    return jax.nn.one_hot(idx, d) * sign
  support = _nonzero_bernoulli_support(support_key, n, d, sparsity).astype(jnp.float32)
  if cfg.latent == "zero_one":
    return support
  return support * jax.random.rademacher(sign_key, (n, d), jnp.float32)


def sample_dataset(key: jax.Array, cfg: DataConfig, sparsity) -> Dataset:
  """Draws M, z and x = M z + s0 * eps for one run (Eq. 1), s0 = cfg.noise.

  Args:
    key: a PRNG key.
    cfg: the data configuration.
    sparsity: the latents' sparsity (sample_latents), a scalar (may be traced).

  Returns:
    The Dataset: x [n, p], z [n, d], M [p, d].
  """
  m_key, z_key, eps_key = jax.random.split(key, 3)
  M = make_dictionary(m_key, cfg.p, cfg.d, cfg.dictionary)
  z = sample_latents(z_key, cfg, sparsity)
  x = z @ M.T + cfg.noise * jax.random.normal(eps_key, (cfg.n, cfg.p))
  return Dataset(x=x, z=z, M=M)
