"""Masking augmentations (Eq. 2, Eq. 3) and the mask bit sources."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.testbed.augment import dependent_views, independent_views, keep_masks, uniform16


@pytest.mark.parametrize("rng", ["hash", "threefry"])
def test_uniform16_is_uniform(rng):
  u = np.asarray(uniform16(jax.random.key(0), (400, 501), rng))
  assert u.min() >= 0 and u.max() < 2 ** 16
  counts = np.bincount(u.ravel() >> 12, minlength=16)  # 16 equal bins
  expected = u.size / 16
  chi2 = ((counts - expected) ** 2 / expected).sum()
  assert chi2 < 50  # 15 degrees of freedom: p < 1e-5 above 50


@pytest.mark.parametrize("rng", ["hash", "threefry"])
@pytest.mark.parametrize("mask_prob", [0.0, 0.25, 0.9])
def test_keep_rate_and_independence(rng, mask_prob):
  keep = np.asarray(keep_masks(jax.random.key(1), (2, 4000, 50), mask_prob, rng))
  np.testing.assert_allclose(keep.mean(), 1 - mask_prob, atol=0.005)
  if 0 < mask_prob:
    views = np.corrcoef(keep[0].ravel(), keep[1].ravel())[0, 1]
    coords = np.corrcoef(keep[0, :, 0], keep[0, :, 1])[0, 1]
    samples = np.corrcoef(keep[0, 0::2].ravel(), keep[0, 1::2].ravel())[0, 1]
    assert max(abs(views), abs(coords), abs(samples)) < 0.05


def test_fresh_masks_per_key_and_reproducible():
  a = keep_masks(jax.random.key(0), (64, 50), 0.5)
  b = keep_masks(jax.random.key(1), (64, 50), 0.5)
  np.testing.assert_array_equal(a, keep_masks(jax.random.key(0), (64, 50), 0.5))
  assert (a != b).mean() > 0.3


def test_independent_views_mask_each_coordinate():
  x = jax.random.normal(jax.random.key(2), (256, 50))
  a1, a2 = independent_views(jax.random.key(3), x, 0.5)
  for a in (a1, a2):
    assert bool(jnp.all((a == x) | (a == 0)))


def test_dependent_views_split_the_input():
  x = jax.random.normal(jax.random.key(2), (256, 50))
  a1, a2 = dependent_views(jax.random.key(3), x, 0.5)
  np.testing.assert_allclose(a1 + a2, 2 * x, rtol=1e-6)
  assert float(jnp.max(jnp.abs(a1 * a2))) == 0.0
