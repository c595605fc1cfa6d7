"""Encoders: activations, weighted batch norm, initialisation, against NumPy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.config import ModelConfig
from ncl_landscape.testbed.networks import (BatchNorm, Encoder, batch_norm, encode, init_encoder,
                                            normalize, srelu)


def test_srelu_is_eq14():
  u = np.linspace(-2, 2, 41)
  b = 0.5
  ref = np.where(u > b, u - b, np.where(u < -b, u + b, 0.0))
  np.testing.assert_allclose(srelu(jnp.asarray(u), b), ref, atol=1e-6)


def _numpy_bn(u, scale, shift):
  mean, var = u.mean(0), u.var(0)
  return scale * (u - mean) / np.sqrt(var + 1e-5) + shift


def test_batch_norm_ignores_zero_weight_samples():
  rng = np.random.default_rng(0)
  u = rng.normal(size=(12, 5)).astype(np.float32)
  scale, shift = rng.normal(size=5), rng.normal(size=5)
  w = np.r_[np.ones(9), np.zeros(3)].astype(np.float32)
  out = batch_norm(jnp.asarray(u), jnp.asarray(w), BatchNorm(jnp.asarray(scale), jnp.asarray(shift)))
  np.testing.assert_allclose(out[:9], _numpy_bn(u[:9], scale, shift), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["srelu_code", "srelu_paper", "relu", "linear"])
@pytest.mark.parametrize("bn", [False, True])
def test_encode_matches_numpy(activation, bn):
  rng = np.random.default_rng(1)
  W, b, a = rng.normal(size=(6, 4)), np.abs(rng.normal(size=6)), rng.normal(size=(10, 4))
  scale, shift = rng.normal(size=6), rng.normal(size=6)
  pre = a @ W.T + (0 if activation == "srelu_paper" else b)
  u = _numpy_bn(pre, scale, shift) if bn else pre
  relu = lambda v: np.maximum(v, 0)
  ref = {"srelu_code": relu(u) - relu(2 * b - u),
         "srelu_paper": np.where(u > b, u - b, np.where(u < -b, u + b, 0.0)),
         "relu": relu(u), "linear": u}[activation]
  params = Encoder(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32),
                   BatchNorm(jnp.asarray(scale, jnp.float32), jnp.asarray(shift, jnp.float32))
                   if bn else None)
  cfg = ModelConfig(m=6, activation=activation, batch_norm=bn)
  out = encode(params, jnp.asarray(a, jnp.float32), jnp.ones(10), cfg)
  np.testing.assert_allclose(out, ref, rtol=2e-4, atol=2e-4)


def test_code_activation_equals_relu_difference_form():
  # The authors' activation: with u = W a + b, relu(u) - relu(-u + 2b) = relu(W a + b) - relu(-W a + b).
  rng = np.random.default_rng(2)
  Wa, b = rng.normal(size=(50, 7)), rng.normal(size=7)
  params = Encoder(jnp.eye(7), jnp.asarray(b, jnp.float32))
  out = encode(params, jnp.asarray(Wa, jnp.float32), jnp.ones(50), ModelConfig(m=7))
  relu = lambda v: np.maximum(v, 0)
  np.testing.assert_allclose(out, relu(Wa + b) - relu(-Wa + b), atol=1e-5)


@pytest.mark.parametrize("bias_init", ["zero", "uniform"])
def test_init_statistics(bias_init):
  p, d, m = 50, 10, 400
  enc = init_encoder(jax.random.key(0), ModelConfig(m=m, bias_init=bias_init), p, d)
  assert enc.W.shape == (m, p) and enc.b.shape == (m,)
  np.testing.assert_allclose(np.std(enc.W), np.sqrt(1 / (p * d)), rtol=0.03)
  if bias_init == "zero":
    assert not np.any(enc.b)
  else:
    bound = 1 / np.sqrt(p)
    assert np.abs(enc.b).max() <= bound
    np.testing.assert_allclose(np.std(enc.b), bound / np.sqrt(3), rtol=0.15)


def test_normalize_guards_zero():
  v = jnp.array([[3.0, 4.0], [0.0, 0.0]])
  np.testing.assert_allclose(normalize(v), [[0.6, 0.8], [0.0, 0.0]])


def test_swept_init_is_random_at_c0_and_warm_otherwise():
  """ModelConfig(init='swept') reproduces both initialisations from the traced c."""
  M = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (12, 4)))[0]
  key = jax.random.key(1)
  init = lambda kind, c: init_encoder(key, ModelConfig(m=6, init=kind), 12, 4, M, jnp.float32(c))
  np.testing.assert_array_equal(init("swept", 0.0).W, init("random", 0.0).W)
  np.testing.assert_array_equal(init("swept", 1.5).W, init("warm", 1.5).W)
  np.testing.assert_array_equal(init("swept", 0.0).b, init("random", 0.0).b)
