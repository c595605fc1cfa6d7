"""The benchmark's floor: the same runs as the project's NCL step, written as bare arrays."""
import jax
import jax.numpy as jnp
import numpy as np

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.training.floor import floor_train
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.train import make_train


def test_the_floor_trains_the_same_run_as_the_grid_step():
  cfg = RunConfig(data=DataConfig(n=290, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=75, epochs=3, log_every=3))  # 4 batches, 1 padded
  key, hyper = jax.random.key(4), Hyper(*(jnp.float32(v) for v in Hyper(lr=0.05)))
  (W_o, b_o), (W_t, b_t) = jax.jit(floor_train(cfg))(key, hyper)
  out = jax.jit(make_train(cfg))(key, hyper)
  one_epoch = jax.jit(make_train(cfg.replace(train=dict(epochs=1, log_every=1))))(key, hyper)
  for side, W, b in (("online", W_o, b_o), ("target", W_t, b_t)):
    np.testing.assert_allclose(W, out.params[side].W, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b, out.params[side].b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(W, one_epoch.params[side].W, rtol=1e-4, atol=1e-6)  # it trained on
