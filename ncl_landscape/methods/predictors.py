"""Non-gradient updates run after an optimiser step (docs/methods.md: predictors set in
closed form).

BYOL's target is an EMA of the online encoder with a cosine decay schedule;
DirectPred and DirectCopy set the linear predictor in closed form from an EMA of
the online representation's uncentred correlation F. All are pure functions; the
correlation is carried through the training scan as a buffer.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

DIRECTPRED = {"rho": 0.3, "eps": 0.1}  # Tian et al. 2021: the paper's best eps
DIRECTCOPY = {"rho": 0.5, "eps": 0.3}  # as used by re-implementations of Wang et al. 2021


def ema_decay(step, total_steps: int, base: float):
  """BYOL's target decay: tau_k = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2.

  Args:
    step: k, the step (may be traced).
    total_steps: K, the run's number of steps.
    base: tau_base.

  Returns:
    tau_k, a scalar; tau_0 = base, tau_K = 1.
  """
  return 1.0 - (1.0 - base) * (jnp.cos(jnp.pi * step / total_steps) + 1.0) / 2.0


def ema_update(target, online, tau):
  """The EMA target tau target + (1 - tau) online, leaf by leaf (optax.incremental_update).

  Args:
    target: the target's parameters, a pytree.
    online: the online parameters, a pytree of the same structure.
    tau: the decay (ema_decay).

  Returns:
    The new target's parameters.
  """
  return optax.incremental_update(online, target, 1.0 - tau)


def update_correlation(F: jax.Array, first: jax.Array, f: jax.Array, weights: jax.Array,
                       rho: float) -> jax.Array:
  """The correlation's EMA: F <- rho F + (1 - rho) E[f f^T] over the batch's real samples.

  Args:
    F: [m, m] the current correlation.
    first: a boolean scalar: this is the first batch, whose E[f f^T] initialises F.
    f: [2B, m] the online representation of both views, stacked; taken detached.
    weights: [2B] per-sample weights.
    rho: the EMA rate.

  Returns:
    The new F, [m, m].
  """
  f = jax.lax.stop_gradient(f)
  batch = (f * weights[:, None]).T @ f / jnp.sum(weights)
  return jnp.where(first, batch, rho * F + (1.0 - rho) * batch)


def directpred_predictor(F: jax.Array, eps: float) -> jax.Array:
  """DirectPred's predictor W_p = U diag(sqrt(max(s, 0) / max s) + eps) U^T, F = U diag(s) U^T.

  Args:
    F: [m, m] the symmetric correlation.
    eps: added to every eigenvalue of W_p.

  Returns:
    W_p: [m, m].
  """
  s, U = jnp.linalg.eigh(F)
  p = jnp.sqrt(jnp.maximum(s, 0.0) / jnp.maximum(jnp.max(s), 1e-12)) + eps
  return (U * p) @ U.T


def directcopy_predictor(F: jax.Array, eps: float, norm: str) -> jax.Array:
  """DirectCopy's predictor: W_p = F / ||F|| + eps I.

  Args:
    F: [m, m] the symmetric correlation.
    eps: the multiple of I added.
    norm: ||.|| 'frobenius', 'spectral' (the largest eigenvalue) or 'none' (no division;
      any other value too). TrainConfig.directcopy_norm.

  Returns:
    W_p: [m, m].
  """
  if norm == "frobenius":
    F = F / jnp.maximum(jnp.linalg.norm(F), 1e-12)
  elif norm == "spectral":
    F = F / jnp.maximum(jnp.max(jnp.linalg.eigvalsh(F)), 1e-12)
  return F + eps * jnp.eye(F.shape[0])


def commutator_norm(F: jax.Array, W: jax.Array) -> jax.Array:
  """Eigen-alignment of predictor and correlation: ||F W - W F||_F / (||F||_F ||W||_F).

  0 iff they share eigenvectors (Tian et al. 2021 predict it decays).

  Args:
    F: [m, m] the correlation.
    W: [m, m] the predictor's weight.

  Returns:
    A scalar.
  """
  return jnp.linalg.norm(F @ W - W @ F) / jnp.maximum(jnp.linalg.norm(F) * jnp.linalg.norm(W),
                                                      1e-12)
