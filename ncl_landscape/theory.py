"""Theorems 1-3 made executable: exact objectives, closed forms and their dynamics.

Theorem 1 setting: d = p = m, M = I, no noise, x = e_j with j uniform, ReLU without
bias, masks D with keep probability alpha. Since D e_j = D_jj e_j, every expectation
over masks is a finite sum, computed here exactly (no sampling):

  NCL:  E <ReLU(W D1 e_j), ReLU(W D2 e_j)> summed over j = alpha^2 sum_j ||ReLU(W_*j)||^2,
        whose maximum over unit-column W is d alpha^2, attained by every W >= 0 (U_>=).
  CL (|B| -> infinity, Eq. A.16 up to the constant log(B/d)): with G = R^T R, R = ReLU(W),
        L(W) = sum_i [ -tau alpha^2 G_ii + alpha log sum_j (alpha e^{tau G_ij} + 1 - alpha)
                       + (1 - alpha) log d ],
        the negatives' masks averaged inside the log (law of large numbers).

Theorem 2 (Eq. 13, decay factor lambda per step as Remark 4 says, simultaneous gradient
steps on W^o and W^t): with a = W^o M, b = W^t M and c = 2 eta alpha^2 (kappa + s0^2),
  a' = lambda a + c b,  b' = lambda b + c a,
so a_t = C1 a_0 + C2 (a_0 + b_0) with C1 = prod (lambda - c_i) and
  C2 = (prod (lambda + c_i) - prod (lambda - c_i)) / 2
     = sum_j c_j prod_{i<j} (lambda + c_i) prod_{i=j+1}^{t-1} (lambda - c_i).
The printed C2 runs the last product from i = j: one extra factor (lambda - c_j) per term
(`theorem2_coefficients(..., printed=True)` reproduces it to show the gap).

Theorem 3 (Eq. 15, M = I): alternating optimisation of W^o then W^t, each step followed by
row normalisation, biases fixed; `srelu_dynamics` simulates it on sampled batches.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ncl_landscape.testbed.networks import project_rows_or_columns, srelu

# ----------------------------------------------------------------------------- Theorem 1

def ncl_objective(W: jax.Array, alpha) -> jax.Array:
  """Theorem 1's NCL objective, exactly (module docstring).

  sum_j E_{D1,D2} <ReLU(W D1 e_j), ReLU(W D2 e_j)> = alpha^2 sum_j ||ReLU(W_*j)||^2.

  Args:
    W: [d, d] the encoder's weight.
    alpha: the masks' keep probability.

  Returns:
    A scalar.
  """
  return alpha ** 2 * jnp.sum(jnp.square(jax.nn.relu(W)))


def ncl_objective_sampled(key: jax.Array, W: jax.Array, alpha, samples: int) -> jax.Array:
  """Monte Carlo estimate of ncl_objective: uniform j, Bernoulli(alpha) masks, times d.

  Args:
    key: a PRNG key.
    W: [d, d] the encoder's weight.
    alpha: the masks' keep probability.
    samples: the number of draws of (j, D1, D2).

  Returns:
    A scalar.
  """
  d = W.shape[1]
  j_key, k1, k2 = jax.random.split(key, 3)
  j = jax.random.randint(j_key, (samples,), 0, d)
  x = jax.nn.one_hot(j, d)
  a1 = x * jax.random.bernoulli(k1, alpha, x.shape)
  a2 = x * jax.random.bernoulli(k2, alpha, x.shape)
  inner = jnp.sum(jax.nn.relu(a1 @ W.T) * jax.nn.relu(a2 @ W.T), axis=1)
  return d * jnp.mean(inner)


def cl_objective(W: jax.Array, alpha, tau) -> jax.Array:
  """Theorem 1's |B| -> infinity contrastive surrogate L(W), exactly (module docstring).

  Args:
    W: [d, d] the encoder's weight.
    alpha: the masks' keep probability.
    tau: the factor of G in the exponent (module docstring).

  Returns:
    A scalar.
  """
  d = W.shape[1]
  R = jax.nn.relu(W)
  G = R.T @ R
  negatives = jnp.log(jnp.sum(alpha * jnp.exp(tau * G) + 1.0 - alpha, axis=1))
  return jnp.sum(-tau * alpha ** 2 * jnp.diag(G) + alpha * negatives + (1 - alpha) * jnp.log(d))


def cl_tau_threshold(d: int, alpha: float) -> float:
  """Largest tau at which raising G_ii to 1 still lowers the surrogate: ln((d - a)/(1 - a)).

  Above it, the minimiser over unit columns keeps G_ii = ln((d - a)/(1 - a)) / tau < 1 (part
  of each column turns negative), so it is no longer a permutation matrix.

  Args:
    d: the dimension.
    alpha: a, the masks' keep probability, < 1.

  Returns:
    The threshold on tau, a float.
  """
  return float(np.log((d - alpha) / (1 - alpha)))


def permutation_cl_value(d: int, alpha: float, tau: float) -> float:
  """cl_objective at any permutation matrix (G = I).

  Args:
    d: the dimension.
    alpha: the masks' keep probability.
    tau: the factor of G in the exponent (module docstring).

  Returns:
    The surrogate's value, a float.
  """
  return d * (-tau * alpha ** 2 + alpha * np.log(alpha * np.exp(tau) + d - alpha)
              + (1 - alpha) * np.log(d))


def random_unit_columns(key: jax.Array, d: int, count: int, nonnegative: bool) -> jax.Array:
  """Random matrices with unit-norm columns (U), entrywise >= 0 when asked (U_>=).

  Args:
    key: a PRNG key.
    d: the matrices' size.
    count: how many to draw.
    nonnegative: draw from U_>= (absolute values of Gaussians) rather than U.

  Returns:
    [count, d, d].
  """
  G = jax.random.normal(key, (count, d, d))
  if nonnegative:
    G = jnp.abs(G)
  return G / jnp.linalg.norm(G, axis=1, keepdims=True)


def projected_gradient_descent(objective, W0: jax.Array, lr: float, steps: int) -> jax.Array:
  """Projected gradient descent over unit columns: W <- colnorm(W - lr grad objective(W)).

  Args:
    objective: W -> scalar, differentiable by jax.grad.
    W0: [d, d] the start.
    lr: the step size.
    steps: the number of steps.

  Returns:
    [steps + 1, d, d]: W0, then W after each step.
  """
  def step(W, _):
    W = project_rows_or_columns(W - lr * jax.grad(objective)(W), "column")
    return W, W
  _, path = jax.lax.scan(step, W0, None, length=steps)
  return jnp.concatenate([W0[None], path])


# ----------------------------------------------------------------------------- Theorem 2

def theorem2_coefficients(lam: float, c: np.ndarray, printed: bool = False):
  """Theorem 2's coefficients (C1_t, C2_t) for t = 0..T (module docstring).

  Args:
    lam: the decay factor lambda per step.
    c: [T] the per-step c_0..c_{T-1} (theorem2_step_size).
    printed: the printed C2 (one extra factor (lambda - c_j) per term) rather than the exact.

  Returns:
    (C1, C2): each a [T + 1] numpy array; C1_0 = 1, C2_0 = 0.
  """
  T = len(c)
  C1, C2 = np.ones(T + 1), np.zeros(T + 1)
  for t in range(1, T + 1):
    C1[t] = np.prod(lam - c[:t])
    last = (lambda j: j) if printed else (lambda j: j + 1)
    C2[t] = sum(c[j] * np.prod(lam - c[last(j):t]) * np.prod(lam + c[:j]) for j in range(t))
  return C1, C2


def theorem2_step_size(alpha: float, kappa: float, s0: float, eta: float) -> float:
  """Theorem 2's per-step c = 2 eta alpha^2 (kappa + s0^2).

  Args:
    alpha: the masks' keep probability.
    kappa: P(z_i != 0).
    s0: the noise's std.
    eta: the learning rate.

  Returns:
    c, a float.
  """
  return 2 * eta * alpha ** 2 * (kappa + s0 ** 2)


class LinearDynamics(NamedTuple):
  """The paths of W^o M and W^t M under Eq. 13's gradient steps, the start included."""
  Wo_M: jax.Array  # [T+1, m, d] measured W^o_t M
  Wt_M: jax.Array  # [T+1, m, d]


def population_gradient_dynamics(Wo: jax.Array, Wt: jax.Array, M: jax.Array, alpha, kappa,
                                 s0, lam, eta, steps: int) -> LinearDynamics:
  """Eq. 13 by exact population gradient, online and target steps simultaneous.

  W <- lam W + 2 eta alpha^2 W_other Sigma_x, Sigma_x = E[x x^T] = kappa M M^T + s0^2 I
  (symmetric latents with P(z_i != 0) = kappa).

  Args:
    Wo: [m, p] the online encoder's initial weight W^o.
    Wt: [m, p] the target encoder's initial weight W^t.
    M: [p, d] the dictionary.
    alpha: the masks' keep probability.
    kappa: P(z_i != 0).
    s0: the noise's std.
    lam: the decay factor lambda per step.
    eta: the learning rate.
    steps: the number of steps.

  Returns:
    LinearDynamics: W^o M and W^t M, each [steps + 1, m, d].
  """
  p = M.shape[0]
  sigma = kappa * M @ M.T + s0 ** 2 * jnp.eye(p, dtype=M.dtype)

  def step(carry, _):
    Wo, Wt = carry
    Wo, Wt = (lam * Wo + 2 * eta * alpha ** 2 * Wt @ sigma,
              lam * Wt + 2 * eta * alpha ** 2 * Wo @ sigma)
    return (Wo, Wt), (Wo @ M, Wt @ M)

  _, (a, b) = jax.lax.scan(step, (Wo, Wt), None, length=steps)
  return LinearDynamics(jnp.concatenate([(Wo @ M)[None], a]), jnp.concatenate([(Wt @ M)[None], b]))


def sampled_gradient_dynamics(key: jax.Array, Wo: jax.Array, Wt: jax.Array, M: jax.Array, alpha,
                              kappa, s0, lam, eta, steps: int, batch: int) -> LinearDynamics:
  """Eq. 13 with the expectation replaced by a fresh batch of (x, D1, D2) every step.

  Latents are i.i.d. Bernoulli(kappa) times random signs, x = M z + s0 eps, and D1, D2 are
  independent Bernoulli(alpha) masks.

  Args:
    key: a PRNG key.
    Wo, Wt, M, alpha, kappa, s0, lam, eta, steps: as population_gradient_dynamics.
    batch: the number of samples per step.

  Returns:
    LinearDynamics: W^o M and W^t M, each [steps + 1, m, d].
  """
  p, d = M.shape

  def step(carry, key):
    Wo, Wt = carry
    z_key, s_key, e_key, k1, k2 = jax.random.split(key, 5)
    z = (jax.random.uniform(z_key, (batch, d)) < kappa) * jax.random.rademacher(s_key, (batch, d),
                                                                                 M.dtype)
    x = z @ M.T + s0 * jax.random.normal(e_key, (batch, p), M.dtype)
    a1 = x * jax.random.bernoulli(k1, alpha, x.shape)
    a2 = x * jax.random.bernoulli(k2, alpha, x.shape)
    cross_o = a2.T @ a1 / batch  # estimates E[D2 x x^T D1]
    Wo, Wt = lam * Wo + 2 * eta * Wt @ cross_o, lam * Wt + 2 * eta * Wo @ cross_o.T
    return (Wo, Wt), (Wo @ M, Wt @ M)

  _, (a, b) = jax.lax.scan(step, (Wo, Wt), jax.random.split(key, steps))
  return LinearDynamics(jnp.concatenate([(Wo @ M)[None], a]), jnp.concatenate([(Wt @ M)[None], b]))


def span_residual(A: np.ndarray, basis: list[np.ndarray]) -> float:
  """Remark 5's distance of A from a span: ||A - proj_span(basis) A|| / ||A||.

  Args:
    A: a matrix.
    basis: matrices of A's shape; all are flattened.

  Returns:
    The relative residual, a float.
  """
  B = np.stack([b.ravel() for b in basis], axis=1)
  coef, *_ = np.linalg.lstsq(B, A.ravel(), rcond=None)
  return float(np.linalg.norm(A.ravel() - B @ coef) / np.linalg.norm(A))


# ----------------------------------------------------------------------------- Theorem 3

class SReLUDynamics(NamedTuple):
  """Theorem 3's distances from I along the run, and the final W^o and W^t [d, d]."""
  dist_o: jax.Array  # [outer + 1] ||W^o - I||_F at the start and after each outer round
  dist_t: jax.Array  # [outer + 1]
  Wo: jax.Array
  Wt: jax.Array


def srelu_dynamics(key: jax.Array, d: int, delta: float, bias: float, kappa: float, alpha: float,
                   noise: float, lr: float, inner: int, outer: int, batch: int,
                   row_norm: bool) -> SReLUDynamics:
  """Theorem 3: alternating SGD on Eq. 15 (M = I) from near I, with SReLU (Eq. 14).

  W^o, W^t = I + Delta (|Delta_ij| < delta, online and target independent), biases fixed
  at `bias`; each outer round takes `inner` gradient steps of Eq. 15 on W^o (W^t fixed),
  then `inner` on W^t, each followed by row normalisation if row_norm. Every step draws a
  fresh batch: z i.i.d. Bernoulli(kappa) times random signs, x = z + noise eps, and
  independent Bernoulli(alpha) masks.

  Args:
    key: a PRNG key.
    d: the dimension (d = p = m).
    delta: the initial perturbation's bound.
    bias: every neuron's SReLU threshold.
    kappa: P(z_i != 0).
    alpha: the masks' keep probability.
    noise: the noise's std.
    lr: the step size.
    inner: the steps per side in each round.
    outer: the number of rounds.
    batch: the samples per step.
    row_norm: whether to normalise W's rows after every step.

  Returns:
    SReLUDynamics: the distances ||W - I||_F, each [outer + 1] (round 0 is the
    initialisation), and the final W^o and W^t.
  """
  init_o, init_t, loop_key = jax.random.split(key, 3)
  eye = jnp.eye(d)
  Wo = eye + jax.random.uniform(init_o, (d, d), minval=-delta, maxval=delta)
  Wt = eye + jax.random.uniform(init_t, (d, d), minval=-delta, maxval=delta)
  b = jnp.full((d,), bias)

  def batch_views(key):
    z_key, s_key, e_key, k1, k2 = jax.random.split(key, 5)
    z = (jax.random.uniform(z_key, (batch, d)) < kappa) * jax.random.rademacher(s_key, (batch, d))
    x = z + noise * jax.random.normal(e_key, (batch, d))
    return (x * jax.random.bernoulli(k1, alpha, x.shape),
            x * jax.random.bernoulli(k2, alpha, x.shape))

  def loss(W, W_fixed, a1, a2):
    inner_product = jnp.sum(srelu(a1 @ W.T, b) * jax.lax.stop_gradient(srelu(a2 @ W_fixed.T, b)), 1)
    return 2.0 - 2.0 * jnp.mean(inner_product)

  def descend(W, W_fixed, key):
    def step(W, key):
      W = W - lr * jax.grad(loss)(W, W_fixed, *batch_views(key))
      return (project_rows_or_columns(W, "row") if row_norm else W), None
    W, _ = jax.lax.scan(step, W, jax.random.split(key, inner))
    return W

  def round_(carry, key):
    Wo, Wt = carry
    o_key, t_key = jax.random.split(key)
    Wo = descend(Wo, Wt, o_key)
    Wt = descend(Wt, Wo, t_key)
    return (Wo, Wt), (jnp.linalg.norm(Wo - eye), jnp.linalg.norm(Wt - eye))

  dist0 = (jnp.linalg.norm(Wo - eye), jnp.linalg.norm(Wt - eye))
  (Wo, Wt), (dist_o, dist_t) = jax.lax.scan(round_, (Wo, Wt), jax.random.split(loop_key, outer))
  return SReLUDynamics(jnp.concatenate([dist0[0][None], dist_o]),
                       jnp.concatenate([dist0[1][None], dist_t]), Wo, Wt)
