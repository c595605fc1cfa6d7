"""Theorems 1-3: exact objectives against sampling, closed forms against the dynamics."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape import theory
from ncl_landscape.testbed.data import make_dictionary
from ncl_landscape.testbed.metrics import max_cosine


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.9])
def test_ncl_objective_is_d_alpha_squared_on_u_geq(alpha):
  d = 8
  Ws = theory.random_unit_columns(jax.random.key(0), d, 64, nonnegative=True)
  values = jax.vmap(lambda W: theory.ncl_objective(W, alpha))(Ws)
  np.testing.assert_allclose(values, d * alpha ** 2, rtol=1e-6)
  signed = theory.random_unit_columns(jax.random.key(1), d, 64, nonnegative=False)
  assert (jax.vmap(lambda W: theory.ncl_objective(W, alpha))(signed) < d * alpha ** 2).all()


def test_sampled_ncl_objective_converges_to_the_exact_value():
  W = theory.random_unit_columns(jax.random.key(2), 6, 1, nonnegative=False)[0]
  exact = float(theory.ncl_objective(W, 0.5))
  errors = [abs(float(theory.ncl_objective_sampled(jax.random.key(3), W, 0.5, n)) - exact)
            for n in (1_000, 400_000)]
  assert errors[1] < 0.01 * exact and errors[1] < errors[0]


def _finite_batch_cl(key, W, alpha, tau, anchors, negatives):
  """NT-Xent-like loss with a finite batch of B negatives, minus log(B / d)."""
  d = W.shape[1]
  R = np.maximum(np.asarray(W), 0)
  rng = np.random.default_rng(key)
  i = rng.integers(0, d, anchors)
  a, b = rng.random(anchors) < alpha, rng.random(anchors) < alpha
  pos = a * b * np.einsum("kj,kj->j", R[:, i], R[:, i])
  j = rng.integers(0, d, (anchors, negatives))
  mask = rng.random((anchors, negatives)) < alpha
  neg = a[:, None] * mask * np.einsum("ka,kab->ab", R[:, i], R[:, j])
  denom = np.exp(tau * pos) + np.exp(tau * neg).sum(1)
  return float(np.mean(-tau * pos + np.log(denom)) - np.log(negatives / d))


def test_cl_surrogate_is_the_large_batch_limit():
  d, alpha, tau = 5, 0.5, 1.0
  W = theory.random_unit_columns(jax.random.key(4), d, 1, nonnegative=False)[0]
  surrogate = float(theory.cl_objective(W, alpha, tau)) / d
  sampled = _finite_batch_cl(0, W, alpha, tau, anchors=4000, negatives=4000)
  assert abs(sampled - surrogate) < 0.01


def test_permutations_minimise_the_cl_objective_among_unit_columns():
  d, alpha, tau = 6, 0.5, 1.0
  assert tau < theory.cl_tau_threshold(d, alpha)
  perm = jnp.eye(d)[np.random.default_rng(0).permutation(d)]
  value = float(theory.cl_objective(perm, alpha, tau))
  np.testing.assert_allclose(value, theory.permutation_cl_value(d, alpha, tau), rtol=1e-6)
  for nonneg in (True, False):
    Ws = theory.random_unit_columns(jax.random.key(5), d, 500, nonnegative=nonneg)
    others = jax.vmap(lambda W: theory.cl_objective(W, alpha, tau))(Ws)
    assert (others > value).all()


def test_above_the_tau_threshold_a_non_permutation_beats_permutations():
  d, alpha = 6, 0.5
  tau = 2 * theory.cl_tau_threshold(d, alpha)
  g = theory.cl_tau_threshold(d, alpha) / tau  # the optimal G_ii
  W = np.eye(d) * np.sqrt(g)
  W[(np.arange(d) + 1) % d, np.arange(d)] = -np.sqrt(1 - g)  # unit columns, ReLU part sqrt(g)
  assert float(theory.cl_objective(jnp.asarray(W), alpha, tau)) < \
      theory.permutation_cl_value(d, alpha, tau) - 1e-3


def test_projected_descent_on_cl_reaches_a_permutation():
  d, alpha, tau = 6, 0.5, 1.0
  W0 = theory.random_unit_columns(jax.random.key(6), d, 1, nonnegative=False)[0]
  path = theory.projected_gradient_descent(lambda W: theory.cl_objective(W, alpha, tau), W0,
                                           lr=0.5, steps=3000)
  assert float(max_cosine(path[-1], jnp.eye(d)).min) > 0.99


@pytest.mark.parametrize("printed,matches", [(False, True), (True, False)])
def test_theorem2_closed_form_against_population_dynamics(x64, printed, matches):
  p, d, m = 12, 4, 6
  alpha, kappa, s0, lam, eta, steps = 0.5, 0.3, 0.1, 0.9, 0.2, 40
  M = make_dictionary(jax.random.key(0), p, d).astype(jnp.float64)
  k1, k2 = jax.random.split(jax.random.key(1))
  Wo, Wt = (jax.random.normal(k, (m, p), jnp.float64) for k in (k1, k2))
  dyn = theory.population_gradient_dynamics(Wo, Wt, M, alpha, kappa, s0, lam, eta, steps)
  c = np.full(steps, theory.theorem2_step_size(alpha, kappa, s0, eta))
  C1, C2 = theory.theorem2_coefficients(lam, c, printed=printed)
  a0, b0 = np.asarray(Wo @ M), np.asarray(Wt @ M)
  predicted = C1[:, None, None] * a0 + C2[:, None, None] * (a0 + b0)
  err = np.linalg.norm(np.asarray(dyn.Wo_M) - predicted, axis=(1, 2)) / \
      np.linalg.norm(np.asarray(dyn.Wo_M), axis=(1, 2))
  assert (err.max() < 1e-5) == matches
  residual = theory.span_residual(np.asarray(dyn.Wo_M[-1]), [a0, b0])
  assert residual < 1e-10


def test_theorem2_sampled_dynamics_follow_the_population_ones():
  p, d, m = 12, 4, 6
  M = make_dictionary(jax.random.key(0), p, d)
  Wo, Wt = (jax.random.normal(k, (m, p)) for k in jax.random.split(jax.random.key(1)))
  args = (0.5, 0.3, 0.1, 0.9, 0.2, 30)
  pop = theory.population_gradient_dynamics(Wo, Wt, M, *args)
  sampled = theory.sampled_gradient_dynamics(jax.random.key(2), Wo, Wt, M, *args, batch=20_000)
  err = np.linalg.norm(sampled.Wo_M[-1] - pop.Wo_M[-1]) / np.linalg.norm(pop.Wo_M[-1])
  assert err < 0.05


def test_theorem3_converges_to_identity_and_fails_without_normalisation():
  common = dict(d=6, bias=0.5, kappa=0.3, alpha=0.5, noise=0.0, lr=0.5, inner=20, outer=15,
                batch=2048)
  good = theory.srelu_dynamics(jax.random.key(0), delta=1 / 60, row_norm=True, **common)
  assert good.dist_o.shape == (16,)  # round 0, the initialisation, then 15 rounds
  assert 0 < float(good.dist_o[0]) < 6 / 60  # |Delta_ij| < delta, so ||Delta||_F < d delta
  assert float(good.dist_o[-1]) < 0.05 and float(good.dist_t[-1]) < 0.05
  assert float(good.dist_o[-1]) < float(good.dist_o[0])
  free = theory.srelu_dynamics(jax.random.key(0), delta=1 / 60, row_norm=False, **common)
  assert float(free.dist_o[-1]) > 1.0
