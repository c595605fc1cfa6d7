"""Losses (Eq. 4, 6, 9) against NumPy references, finite differences and stop-gradient."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ncl_landscape.methods.losses import cosine_loss, inner_product_loss, nt_xent_loss


def _unit(v):
  return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _numpy_nt_xent(z1, z2, temperature):
  """Loop form of SimCLR's NT-Xent over 2N anchors."""
  z = _unit(np.concatenate([z1, z2]))
  n2, n = len(z), len(z1)
  total = 0.0
  for i in range(n2):
    pos = (i + n) % n2
    sims = np.array([z[i] @ z[j] / temperature for j in range(n2) if j != i])
    total += -(z[i] @ z[pos] / temperature - np.log(np.exp(sims).sum()))
  return total / n2


def _batch(seed, n=7, m=5):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(n, m)), rng.normal(size=(n, m))


def test_cosine_and_inner_losses_match_numpy():
  a, b = _batch(0)
  w = np.ones(len(a))
  np.testing.assert_allclose(jax.jit(cosine_loss)(a, b, w),
                             2 - 2 * np.mean(np.sum(_unit(a) * _unit(b), 1)), rtol=1e-5)
  np.testing.assert_allclose(jax.jit(inner_product_loss)(a, b, w),
                             2 - 2 * np.mean(np.sum(a * b, 1)), rtol=1e-5)


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0])
def test_nt_xent_matches_numpy(temperature):
  a, b = _batch(1)
  ours = jax.jit(nt_xent_loss)(a, b, np.ones(len(a)), temperature)
  np.testing.assert_allclose(ours, _numpy_nt_xent(a, b, temperature), rtol=1e-4)


@pytest.mark.parametrize("loss", ["cosine", "inner", "nt_xent"])
def test_padding_with_zero_weights_is_exact(loss):
  a, b = _batch(2, n=9)
  w = np.r_[np.ones(6), np.zeros(3)]
  fn = {"cosine": cosine_loss, "inner": inner_product_loss,
        "nt_xent": lambda x, y, w: nt_xent_loss(x, y, w, 0.1)}[loss]
  padded = jax.jit(lambda x: fn(x, b, w))
  exact = jax.jit(lambda x: fn(x, b[:6], np.ones(6)))
  np.testing.assert_allclose(padded(a), exact(a[:6]), rtol=1e-5)
  g = np.asarray(jax.jit(jax.grad(padded))(a))
  assert np.isfinite(g).all() and not np.any(g[6:])
  g_exact = jax.jit(jax.grad(exact))(a[:6])
  np.testing.assert_allclose(g[:6], g_exact, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss", ["cosine", "inner", "nt_xent"])
def test_gradients_match_finite_differences(x64, loss):
  a, b = _batch(3)
  fn = {"cosine": lambda x: cosine_loss(x, b, np.ones(7)),
        "inner": lambda x: inner_product_loss(x, b, np.ones(7)),
        "nt_xent": lambda x: nt_xent_loss(x, b, np.ones(7), 0.5)}[loss]
  check_grads(jax.jit(fn), (jnp.asarray(a, jnp.float64),), order=2, modes=["rev"], eps=1e-6,
              rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("fn", [cosine_loss, inner_product_loss])
def test_stop_gradient_stops(fn):
  a, b = _batch(4)
  g_fixed = jax.jit(jax.grad(lambda y: fn(a, y, np.ones(7))))(b)
  assert not np.any(g_fixed)
  assert np.any(jax.jit(jax.grad(lambda x: fn(x, b, np.ones(7))))(a))
