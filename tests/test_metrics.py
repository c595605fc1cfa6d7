"""Max-cosine (Eq. 12), support recovery and divergence detection."""
import jax
import jax.numpy as jnp
import numpy as np

from ncl_landscape.testbed.metrics import (atoms_missed, collapse, effective_rank, greedy_pairing,
                                           max_cosine, support_recovery, within_bound)
from ncl_landscape.testbed.networks import warm_start_weight


def test_max_cosine_matches_numpy():
  rng = np.random.default_rng(0)
  W, M = rng.normal(size=(8, 6)), np.linalg.qr(rng.normal(size=(6, 3)))[0]
  cos = np.abs((W / np.linalg.norm(W, axis=1, keepdims=True)) @ M)
  per_atom = cos.max(0)
  mc = max_cosine(jnp.asarray(W, jnp.float32), jnp.asarray(M, jnp.float32))
  np.testing.assert_allclose([mc.max, mc.median, mc.min],
                             [per_atom.max(), np.median(per_atom), per_atom.min()], rtol=1e-5)


def test_scaled_signed_permutation_of_the_dictionary_is_perfect():
  rng = np.random.default_rng(1)
  M = np.linalg.qr(rng.normal(size=(20, 5)))[0]
  W = np.concatenate([(M[:, [3, 1, 4, 0, 2]] * [2, -1, 0.5, 3, -2]).T, rng.normal(size=(3, 20))])
  mc = max_cosine(jnp.asarray(W), jnp.asarray(M))
  np.testing.assert_allclose([mc.max, mc.median, mc.min], 1.0, rtol=1e-5)


def test_greedy_pairing_is_one_to_one_by_decreasing_cosine():
  cos = jnp.array([[0.9, 0.8], [0.95, 0.1], [0.2, 0.3]])
  # (1, 0) is the largest, then row 1 and column 0 are taken: (0, 1).
  np.testing.assert_array_equal(greedy_pairing(cos), [1, 0])


def test_support_recovery_of_the_true_encoder():
  rng = np.random.default_rng(2)
  M = np.linalg.qr(rng.normal(size=(12, 4)))[0]
  z = rng.choice([-1.0, 0.0, 1.0], size=(300, 4), p=[0.2, 0.6, 0.2])
  x = z @ M.T
  W = M.T[[2, 0, 3, 1]]
  rep = x @ W.T  # a linear encoder equal to a permutation of M^T, no noise
  sup = support_recovery(jnp.asarray(W), jnp.asarray(M), jnp.asarray(rep), jnp.asarray(z))
  assert float(sup.match) == 1.0 and float(sup.false_support) == 0.0
  assert float(sup.sparsity_gap) == 0.0
  dense = support_recovery(jnp.asarray(W), jnp.asarray(M), jnp.asarray(rep + 1.0), jnp.asarray(z))
  np.testing.assert_allclose(dense.false_support, (z == 0).mean(), rtol=1e-6)


def test_within_bound():
  assert bool(within_bound({"a": jnp.ones(3), "b": (-1e6 * jnp.ones(2),)}))
  assert not bool(within_bound({"a": jnp.array([1.0, jnp.nan])}))
  assert not bool(within_bound([jnp.array([jnp.inf])]))
  assert not bool(within_bound({"W": jnp.array([[1.0, -1e18]])}))  # finite, yet diverged


def _with_spectrum(s, n=40, seed=0):
  """An [n, len(s)] matrix whose singular values are s."""
  rng = np.random.default_rng(seed)
  U = np.linalg.qr(rng.normal(size=(n, len(s))))[0]
  V = np.linalg.qr(rng.normal(size=(len(s), len(s))))[0]
  return jnp.asarray(U * np.asarray(s, float) @ V.T)


def test_effective_rank_of_known_spectra(x64):
  np.testing.assert_allclose(effective_rank(_with_spectrum([2.0] * 5 + [0.0] * 3)), 5.0,
                             rtol=1e-6)
  s = np.array([4.0, 2.0, 1.0, 0.5])
  p = s / s.sum()
  np.testing.assert_allclose(effective_rank(_with_spectrum(s)), np.exp(-np.sum(p * np.log(p))),
                             rtol=1e-8)
  np.testing.assert_allclose(effective_rank(_with_spectrum([3.0] + [0.0] * 5)), 1.0, rtol=1e-6)


def test_collapse_flags():
  rng = np.random.default_rng(2)
  healthy = collapse(jnp.asarray(rng.normal(size=(500, 20)), jnp.float32), d=10)
  assert not healthy.complete and not healthy.dimensional
  assert 0.8 < float(healthy.effective_rank) <= 1.0  # normalised by min(N - 1, m) = 20
  same = collapse(jnp.tile(jnp.asarray(rng.normal(size=(1, 20)), jnp.float32), (500, 1)), d=10)
  assert same.complete and not same.dimensional
  low_rank = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 20))
  flat = collapse(jnp.asarray(low_rank, jnp.float32), d=10)
  assert flat.dimensional and not flat.complete


def test_atoms_missed_counts_the_atoms_a_warm_start_drew_no_row_from():
  """Against the draw itself (warm_start_weight's atom indices, from its own keys), over enough
  warm starts (m = 50 rows from d = 10 atoms, c = 1) that some miss an atom."""
  M = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (50, 10)))[0]
  keys = jax.random.split(jax.random.key(1), 400)
  W = jax.vmap(lambda k: warm_start_weight(k, M, 50, 1.0))(keys)
  drawn = jax.vmap(lambda k: jax.random.randint(jax.random.split(k)[0], (50,), 0, 10))(keys)
  exact = np.array([10 - len(np.unique(a)) for a in np.asarray(drawn)])
  counted = np.asarray(jax.vmap(lambda w: atoms_missed(w, M))(W))
  assert (exact > 0).sum() >= 5  # about 5% of draws miss an atom
  np.testing.assert_array_equal(counted, exact)
