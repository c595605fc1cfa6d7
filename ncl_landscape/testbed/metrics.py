"""Recovery metrics: max-cosine (Eq. 10-12), support recovery, divergence, and the
representation's effective rank and collapse (docs/methods.md, "Diagnostics")."""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ncl_landscape.testbed.networks import normalize


class MaxCosine(NamedTuple):
  """The max, median and min over atoms of the per-atom max-cosine (Eq. 12); scalars."""
  max: jax.Array
  median: jax.Array
  min: jax.Array


def cosine_matrix(W: jax.Array, M: jax.Array) -> jax.Array:
  """|cos(W_i*, M_*j)| of every row of W against every column of M.

  Args:
    W: [m, p] the encoder's readout map.
    M: [p, d] the dictionary.

  Returns:
    [m, d] absolute cosines.
  """
  return jnp.abs(normalize(W) @ normalize(M.T).T)


def max_cosine(W: jax.Array, M: jax.Array) -> MaxCosine:
  """Eq. 12: for each atom j, max_i |cos(W_i*, M_*j)|; then its max, median and min over j.

  Args:
    W: [m, p] the encoder's readout map.
    M: [p, d] the dictionary.

  Returns:
    MaxCosine of scalars.
  """
  per_atom = jnp.max(cosine_matrix(W, M), axis=0)  # [d]
  return MaxCosine(jnp.max(per_atom), jnp.median(per_atom), jnp.min(per_atom))


def atoms_missed(W: jax.Array, M: jax.Array) -> jax.Array:
  """How many atoms (columns of M) are the closest atom (largest |cos|) of no row of W.

  Of a warm start's W (rows = atoms drawn with replacement + noise) it counts the atoms the
  draw missed, as long as the noise leaves each row closest to its own atom.

  Args:
    W: [m, p] the encoder's readout map.
    M: [p, d] the dictionary.

  Returns:
    An integer scalar in [0, d].
  """
  d = M.shape[1]
  nearest = jnp.argmax(cosine_matrix(W, M), axis=1)  # [m]
  return d - jnp.sum(jnp.any(nearest[:, None] == jnp.arange(d), axis=0))


class Support(NamedTuple):
  """Support recovery on a batch (support_recovery); scalars."""
  match: jax.Array  # fraction of samples whose recovered support equals supp(z)
  false_support: jax.Array  # mean fraction of atoms reported active while z_j = 0
  sparsity_gap: jax.Array  # mean |recovered support| - |supp(z)|


def greedy_pairing(cos: jax.Array) -> jax.Array:
  """Pairs each atom with one neuron, one-to-one, greedily by decreasing |cos|.

  Args:
    cos: [m, d] absolute cosines (cosine_matrix), m >= d.

  Returns:
    [d] int32: the neuron paired with each atom.
  """
  m, d = cos.shape
  neuron_of = jnp.zeros((d,), jnp.int32)
  for _ in range(d):
    flat = jnp.argmax(cos)
    i, j = flat // d, flat % d
    neuron_of = neuron_of.at[j].set(i)
    cos = cos.at[i, :].set(-1.0).at[:, j].set(-1.0)
  return neuron_of


def support_recovery(W: jax.Array, M: jax.Array, representation: jax.Array,
                     z: jax.Array, threshold: float = 1e-6) -> Support:
  """Support recovery as the authors' code measured it.

  Pairs neurons with atoms (greedy_pairing), then compares the paired neurons' active set
  (|output| > threshold) with supp(z) on a batch.

  Args:
    W: [m, p] the encoder's readout map.
    M: [p, d] the dictionary.
    representation: [N, m] the encoder's outputs on the batch.
    z: [N, d] the batch's latents.
    threshold: the least |output| that counts as active.

  Returns:
    Support of scalars.
  """
  neuron_of = greedy_pairing(cosine_matrix(W, M))
  active = jnp.abs(representation[:, neuron_of]) > threshold  # [N, d]
  true = z != 0
  return Support(
      match=jnp.mean(jnp.all(active == true, axis=1)),
      false_support=jnp.mean(active & ~true),
      sparsity_gap=jnp.mean(jnp.sum(active, 1) - jnp.sum(true, 1)),
  )


def effective_rank(z: jax.Array) -> jax.Array:
  """RankMe: exp of the entropy of z's normalised singular values.

  Args:
    z: [N, m] representations.

  Returns:
    A scalar in [1, min(N, m)]; k equal non-zero singular values give exactly k.
  """
  n, m = z.shape
  gram = z.T @ z if n >= m else z @ z.T
  s = jnp.sqrt(jnp.maximum(jnp.linalg.eigvalsh(gram), 0.0))  # singular values of z
  p = s / jnp.maximum(jnp.sum(s), 1e-12)
  return jnp.exp(-jnp.sum(jax.scipy.special.xlogy(p, p)))


COMPLETE_SPREAD = 0.1  # complete collapse: spread below this fraction of a healthy 1/sqrt(m)
DIMENSIONAL_FRACTION = 0.5  # dimensional collapse: effective rank below this fraction of d


class Collapse(NamedTuple):
  """Collapse diagnostics of a representation (collapse); scalars."""
  effective_rank: jax.Array  # RankMe normalised by min(N - 1, m)
  complete: jax.Array  # bool: all outputs (nearly) equal
  dimensional: jax.Array  # bool: not complete, but the outputs span far fewer than d directions


def collapse(z: jax.Array, d: int) -> Collapse:
  """Collapse diagnostics of a representation of data with d latent dimensions.

  Complete: the per-dimension std of the l2-normalised outputs (SimSiam's diagnostic,
  about 1/sqrt(m) when healthy) averages below COMPLETE_SPREAD / sqrt(m). Dimensional:
  not complete, and effective rank below DIMENSIONAL_FRACTION * d.

  Args:
    z: [N, m] representations.
    d: the latent dimension.

  Returns:
    Collapse: the effective rank normalised by min(N - 1, m) and the two flags.
  """
  n, m = z.shape
  rank = effective_rank(z)
  complete = jnp.mean(jnp.std(normalize(z), axis=0)) < COMPLETE_SPREAD / m ** 0.5
  return Collapse(rank / min(n - 1, m), complete,
                  ~complete & (rank < DIMENSIONAL_FRACTION * d))


DIVERGENCE_BOUND = 1e6  # a weight or loss beyond this in absolute value marks a diverged run


def within_bound(tree, bound: float = DIVERGENCE_BOUND) -> jax.Array:
  """Whether every entry of every leaf is finite and at most `bound` in absolute value.

  These are the runs a report may average (a run outside is 'diverged').

  Args:
    tree: a pytree of arrays (e.g. a loss curve and the parameters).
    bound: the largest absolute value allowed.

  Returns:
    A boolean scalar.
  """
  leaves = jax.tree_util.tree_leaves(tree)
  return jnp.all(jnp.stack([jnp.all(jnp.abs(x) <= bound) for x in leaves]))
