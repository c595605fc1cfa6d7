"""Data model (Eq. 1) against exact probabilities and NumPy statistics."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.config import DataConfig
from ncl_landscape.testbed.data import fixed_counts, make_dictionary, sample_dataset, sample_latents


def _latents(latent, sparsity, n=50_000, d=10, **kw):
  cfg = DataConfig(n=n, d=d, latent=latent, **kw)
  return np.asarray(sample_latents(jax.random.key(1), cfg, sparsity))


@pytest.mark.parametrize("s,neg,total", [(0.1, 1, 2), (0.2, 1, 2), (0.3, 2, 3), (0.5, 3, 5),
                                         (1.0, 5, 10)])
def test_fixed_counts_match_the_authors_rule(s, neg, total):
  s1, s2 = fixed_counts(10, s)
  assert (int(s1), int(s2)) == (neg, total)
  z = _latents("fixed_count", s, n=2000)
  assert ((z == -1).sum(1) == neg).all() and ((z == 1).sum(1) == total - neg).all()


def test_fixed_count_positions_are_uniform():
  z = _latents("fixed_count", 0.3)
  np.testing.assert_allclose((z != 0).mean(0), 0.3, atol=0.01)


@pytest.mark.parametrize("latent", ["bernoulli", "zero_one"])
@pytest.mark.parametrize("s", [0.05, 0.2, 0.6])
def test_bernoulli_latents_are_conditioned_on_a_nonzero(latent, s):
  d = 10
  z = _latents(latent, s, d=d)
  support = z != 0
  assert support.any(1).all()
  norm = 1 - (1 - s) ** d  # P(at least one non-zero)
  np.testing.assert_allclose(support.mean(0), s / norm, rtol=0.06)
  joint = (support[:, 0] & support[:, d - 1]).mean()  # first and last position alike
  np.testing.assert_allclose(joint, s * s / norm, rtol=0.15, atol=2e-3)
  if latent == "zero_one":
    assert set(np.unique(z)) <= {0.0, 1.0}
  else:
    np.testing.assert_allclose((z == 1).sum() / support.sum(), 0.5, atol=0.01)


def test_bernoulli_latents_match_numpy_rejection_sampling():
  s, d = 0.1, 10
  rng = np.random.default_rng(0)
  draws = rng.random((200_000, d)) < s
  kept = draws[draws.any(1)]
  ref = np.bincount(kept.sum(1), minlength=d + 1)[1:6] / len(kept)
  ours = np.bincount((_latents("bernoulli", s) != 0).sum(1), minlength=d + 1)[1:6] / 50_000
  np.testing.assert_allclose(ours, ref, atol=0.01)


@pytest.mark.parametrize("sign,expect", [("positive", {1.0}), ("per_dataset", None),
                                         ("per_sample", {-1.0, 1.0})])
def test_one_hot_signs(sign, expect):
  z = _latents("one_hot", 0.1, n=5000, one_hot_sign=sign)
  assert ((z != 0).sum(1) == 1).all()
  signs = set(np.unique(z[z != 0]))
  if expect is None:
    assert len(signs) == 1
  else:
    assert signs == expect


def test_dictionary_is_column_orthonormal():
  M = np.asarray(make_dictionary(jax.random.key(0), 50, 10))
  np.testing.assert_allclose(M.T @ M, np.eye(10), atol=1e-5)
  np.testing.assert_array_equal(make_dictionary(None, 4, 3, "identity"), np.eye(4, 3))


@pytest.mark.parametrize("noise_std", [None, 0.0, 0.3])
def test_noise_level(noise_std):
  cfg = DataConfig(n=20_000, noise_std=noise_std)
  data = sample_dataset(jax.random.key(3), cfg, 0.2)
  resid = np.asarray(data.x - data.z @ data.M.T)
  expected = math.sqrt(math.log(10)) / 10 if noise_std is None else noise_std
  np.testing.assert_allclose(resid.std(), expected, rtol=0.02, atol=1e-7)


def test_sparsity_is_traced_and_vmaps():
  cfg = DataConfig(n=500, latent="bernoulli")
  s = jnp.array([0.1, 0.5])
  batched = jax.vmap(lambda s: sample_dataset(jax.random.key(0), cfg, s).z)(s)
  for i in range(2):
    np.testing.assert_array_equal(batched[i], sample_dataset(jax.random.key(0), cfg, s[i]).z)
