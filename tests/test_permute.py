"""The epoch shuffle: jax.random.permutation's permutation from single-array sorts."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.training.permute import permutation, stable_argsort


@pytest.mark.parametrize("n", [1, 2, 7, 300, 3000, 4097, 65535])
def test_permutation_is_jax_random_permutation(n):
  shuffle = jax.jit(permutation, static_argnums=1)
  for seed in range(3):
    key = jax.random.key(seed)
    np.testing.assert_array_equal(shuffle(key, n), jax.random.permutation(key, n))


def test_stable_argsort_keeps_index_order_among_equal_keys():
  rng = np.random.default_rng(0)
  for keys in (np.array([5, 3, 5, 0, 3, 2**32 - 1, 0]), rng.integers(0, 4, 1000),
               rng.integers(0, 2**32, 3000)):
    np.testing.assert_array_equal(stable_argsort(jnp.asarray(keys, jnp.uint32)),
                                  np.argsort(keys, kind="stable"))
