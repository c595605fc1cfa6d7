"""Joint-embedding criteria against independent NumPy references (values and gradients),
Garrido's identity, and alpha-CL's InfoNCE limit."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.methods import criteria, registry
from ncl_landscape.training.hyper import Hyper


def _unit(v):
  return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _off_sq(a):
  return np.sum(a ** 2) - np.sum(np.diag(a) ** 2)


def np_vicreg(z1, z2, lam=25.0, mu=25.0, nu=1.0, gamma=1.0):
  m = z1.shape[1]
  cov = lambda z: np.cov(z, rowvar=False)
  var = lambda z: np.mean(np.maximum(0.0, gamma - np.sqrt(z.var(0, ddof=1) + 1e-4)))
  return (lam * np.mean((z1 - z2) ** 2) + mu * (var(z1) + var(z2)) / 2
          + nu * (_off_sq(cov(z1)) + _off_sq(cov(z2))) / m)


def np_barlow(z1, z2, lam):
  bn = lambda z: (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5)
  c = bn(z1).T @ bn(z2) / len(z1)
  return np.sum((1 - np.diag(c)) ** 2) + lam * _off_sq(c)


def np_spectral(z1, z2):
  clip = lambda z: np.array([v / max(1.0, np.linalg.norm(v)) for v in z])
  z1, z2 = clip(z1), clip(z2)
  n = len(z1)
  rep = sum((z1[i] @ z2[j]) ** 2 for i in range(n) for j in range(n) if i != j)
  return -2 / n * np.sum(z1 * z2) + rep / (n * (n - 1))


def np_garrido(z1, z2, contrast, norm):
  n, m = z1.shape

  def k(z):
    if norm == "sample":
      z = _unit(z)
    if norm == "dimension":
      z = z / np.linalg.norm(z, axis=0) * np.sqrt(n / m)
    return z.T

  gram = (lambda K: K.T @ K) if contrast == "sample" else (lambda K: K @ K.T)
  k1, k2 = k(z1), k(z2)
  return np.sum((k1 - k2) ** 2) / n + (_off_sq(gram(k1)) + _off_sq(gram(k2))) / (2 * n * n)


def _views(z1, z2):
  z = _unit(np.concatenate([z1, z2]))
  n = len(z1)
  return z, n, [(i + n) % (2 * n) for i in range(2 * n)]


def np_simclr_negatives(z1, z2, tau, g):
  z, n, pos = _views(z1, z2)
  total = 0.0
  for i in range(2 * n):
    neg = [j for j in range(2 * n) if j % n != i % n]
    sp = z[i] @ z[pos[i]] / tau
    total -= sp - np.log(np.exp(sp) + sum(np.exp(g(z[i] @ z[j]) / tau) for j in neg))
  return total / (2 * n)


def np_sparsemax(v):
  u = np.sort(v)[::-1]
  css = np.cumsum(u)
  k = max(j for j in range(1, len(v) + 1) if 1 + j * u[j - 1] > css[j - 1])
  return np.maximum(v - (css[k - 1] - 1) / k, 0.0)


def np_alpha_weights(z1, z2, weighting, tau=0.5, a=1.0, eps=0.1, power=2.0):
  """Per anchor, the normalised weights of its negatives (in index order)."""
  z, n, _ = _views(z1, z2)
  weights = []
  for i in range(2 * n):
    r = np.array([(1 - z[i] @ z[j]) ** a for j in range(2 * n) if j % n != i % n])
    raw = {"exp": lambda: np.exp(-r / tau), "inverse": lambda: (r + tau) ** -power,
           "quadratic": lambda: np_sparsemax(-r / tau)}[weighting]()
    weights.append(raw / (raw.sum() + eps * (2 * n - 2)))
  return weights


def np_alpha_loss(z1, z2, weights):
  """mean_i sum_j w_ij (s_ij - s_i) with the given per-anchor weights."""
  z, n, pos = _views(z1, z2)
  total = 0.0
  for i in range(2 * n):
    neg = [j for j in range(2 * n) if j % n != i % n]
    total += sum(wj * (z[i] @ z[j] - z[i] @ z[pos[i]]) for wj, j in zip(weights[i], neg))
  return total / (2 * n)


ALPHA = {"alpha_cl_exp": dict(weighting="exp"), "alpha_cl_inverse": dict(weighting="inverse"),
         "alpha_cl_quadratic": dict(weighting="quadratic"),
         "alpha_cl_new": dict(weighting="exp", a=2.0, eps=0.0)}


def _alpha_reference(name):
  return lambda z1, z2: np_alpha_loss(z1, z2, np_alpha_weights(z1, z2, **ALPHA[name]))


REFERENCES = {
    "vicreg": np_vicreg,
    "barlow_twins": lambda z1, z2: np_barlow(z1, z2, 0.0051),
    "barlow_twins_1m": lambda z1, z2: np_barlow(z1, z2, 1 / z1.shape[1]),
    "spectral": np_spectral,
    "garrido_lc": lambda z1, z2: np_garrido(z1, z2, "sample", "sample"),
    "garrido_lnc": lambda z1, z2: np_garrido(z1, z2, "dimension", "dimension"),
    "simclr_abs": lambda z1, z2: np_simclr_negatives(z1, z2, 0.3, np.abs),
    "simclr_sq": lambda z1, z2: np_simclr_negatives(z1, z2, 0.3, np.square),
    **{name: _alpha_reference(name) for name in ALPHA},
}
HYPER = Hyper(temperature=0.3)
CRITERIA = {name: registry.METHODS[name].part for name in registry.compile_group("vicreg")}
REAL, PAD, M = 6, 2, 4


def _padded_batch(seed):
  """Real samples then PAD garbage rows of weight 0."""
  rng = np.random.default_rng(seed)
  z1, z2 = (0.7 * rng.normal(size=(REAL + PAD, M)) for _ in range(2))
  return z1, z2, np.r_[np.ones(REAL), np.zeros(PAD)]


def test_every_criterion_has_a_reference():
  assert set(REFERENCES) == set(CRITERIA)


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_value_matches_numpy_and_ignores_padding(name, x64):
  z1, z2, w = _padded_batch(1)
  loss, terms = jax.jit(CRITERIA[name])(jnp.asarray(z1), jnp.asarray(z2), jnp.asarray(w), HYPER)
  np.testing.assert_allclose(loss, REFERENCES[name](z1[:REAL], z2[:REAL]), rtol=1e-9)
  if terms:
    np.testing.assert_allclose(sum(terms.values()), loss, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_gradient_matches_numpy_finite_differences(name, x64):
  """Descent direction of the criterion (alpha-CL: weights held fixed, as under SG)."""
  z1, z2, w = _padded_batch(2)
  fn = lambda a, b: CRITERIA[name](a, b, jnp.asarray(w), HYPER)[0]
  g1, g2 = jax.jit(jax.grad(fn, argnums=(0, 1)))(jnp.asarray(z1), jnp.asarray(z2))
  assert np.all(np.asarray(g1)[REAL:] == 0) and np.all(np.asarray(g2)[REAL:] == 0)
  ref = REFERENCES[name]
  if name.startswith("alpha_cl"):  # SG weights: differentiate with the weights frozen
    ref = _frozen_alpha_reference(name, z1[:REAL], z2[:REAL])
  h = 1e-6
  for i, j in [(0, 0), (3, 2), (5, 3)]:
    e = np.zeros((REAL, M))
    e[i, j] = h
    fd = (ref(z1[:REAL] + e, z2[:REAL]) - ref(z1[:REAL] - e, z2[:REAL])) / (2 * h)
    np.testing.assert_allclose(g1[i, j], fd, rtol=1e-5, atol=1e-8)


def _frozen_alpha_reference(name, z1_0, z2_0):
  """alpha-CL loss with the pair weights fixed at (z1_0, z2_0), as a function of (z1, z2)."""
  weights = np_alpha_weights(z1_0, z2_0, **ALPHA[name])
  return lambda z1, z2: np_alpha_loss(z1, z2, weights)


def test_garrido_identity_on_random_embeddings(x64):
  """L_nc + sum_j ||K_j*||^4 = L_c + sum_i ||K_*i||^4 (both ||K K^T||_F^2)."""
  for seed, (m, n) in enumerate([(3, 9), (8, 5), (6, 6)]):
    K = np.random.default_rng(seed).normal(size=(m, n))
    left = jax.jit(criteria.dimension_contrastive)(K) + np.sum(np.sum(K ** 2, axis=1) ** 2)
    right = jax.jit(criteria.sample_contrastive)(K) + np.sum(np.sum(K ** 2, axis=0) ** 2)
    np.testing.assert_allclose(left, right, rtol=1e-12)
    np.testing.assert_allclose(left, np.sum(np.asarray(K @ K.T) ** 2), rtol=1e-12)


def test_alpha_cl_exp_is_infonce_direction(x64):
  """exp weights, a = 1, eps = 0: the gradient is InfoNCE's (negatives-only denominator) / tau."""
  z1, z2, w = _padded_batch(3)
  tau = 0.5

  def infonce(a, b):
    s, s_pos, negative, ww = criteria._view_cosines(a, b, jnp.asarray(w))
    logits = jnp.where(negative, s / tau, -jnp.inf)
    per_anchor = jax.nn.logsumexp(logits, axis=1) - s_pos / tau
    return jnp.sum(ww * per_anchor) / jnp.sum(ww)

  alpha = lambda a, b: criteria.alpha_cl(a, b, jnp.asarray(w), "exp", tau=tau, a=1.0, eps=0.0)[0]
  g_alpha = jax.jit(jax.grad(alpha, argnums=(0, 1)))(jnp.asarray(z1), jnp.asarray(z2))
  g_info = jax.jit(jax.grad(infonce, argnums=(0, 1)))(jnp.asarray(z1), jnp.asarray(z2))
  for ga, gi in zip(g_alpha, g_info):
    np.testing.assert_allclose(ga * (1 / tau), gi, rtol=1e-9, atol=1e-12)


def test_sparsemax_projects_onto_the_simplex(x64):
  rng = np.random.default_rng(4)
  v = rng.normal(size=(3, 7))
  valid = np.ones_like(v, bool)
  valid[:, -2:] = False
  out = np.asarray(jax.jit(criteria._sparsemax)(jnp.asarray(v), jnp.asarray(valid)))
  np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-12)
  assert np.all(out[:, -2:] == 0)
  for row, vrow in zip(out, v):
    np.testing.assert_allclose(row[:-2], np_sparsemax(vrow[:-2]), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_gradient_is_finite_with_dead_units_and_zero_samples(name):
  """The symmetric activation outputs exact zeros: a dead dimension or a zero sample must not
  turn a norm's gradient into NaN."""
  z1, z2, w = _padded_batch(5)
  z1[:, 0] = z2[:, 0] = 0.0  # a dead unit
  z1[1] = 0.0  # a sample with no active unit
  fn = lambda a, b: CRITERIA[name](a, b, jnp.asarray(w), HYPER)[0]
  grads = jax.jit(jax.grad(fn, argnums=(0, 1)))(jnp.asarray(z1, jnp.float32),
                                                 jnp.asarray(z2, jnp.float32))
  assert all(np.isfinite(np.asarray(g)).all() for g in grads)


def test_select_runs_the_indexed_criterion_and_pads_the_other_terms(x64):
  """One program for the registry: a traced index gives each criterion's value and gradient,
  with every criterion's term names (NaN for those the selected one lacks)."""
  names = tuple(CRITERIA)
  group = tuple(CRITERIA.values())
  z1, z2, w = map(jnp.asarray, _padded_batch(6))
  union = set().union(*map(criteria.term_names, group))
  shared = jax.jit(jax.value_and_grad(
      lambda a, i: criteria.select(group, i)(a, z2, w, HYPER), has_aux=True))
  for i, name in enumerate(names):
    (loss, terms), grad = shared(z1, jnp.int32(i))
    (own_loss, own_terms), own_grad = jax.value_and_grad(
        lambda a: CRITERIA[name](a, z2, w, HYPER), has_aux=True)(z1)
    assert set(own_terms) == set(criteria.term_names(CRITERIA[name])) and set(terms) == union
    np.testing.assert_allclose(loss, own_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, own_grad, rtol=1e-10, atol=1e-14)
    for k in union:
      if k in own_terms:
        np.testing.assert_allclose(terms[k], own_terms[k], rtol=1e-12)
      else:
        assert np.isnan(terms[k]), (name, k)
