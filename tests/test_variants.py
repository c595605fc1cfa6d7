"""Figure 3-7 and Table 1 pieces: warm start, two layers, predictor, weight normalisation,
Simplified-SimCLR and -SimSiam."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.methods.losses import symmetric_negative_cosine
from ncl_landscape.methods.registry import make_method
from ncl_landscape.testbed.data import make_dictionary
from ncl_landscape.testbed.networks import effective_weight, encode, init_encoder, warm_start_weight
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid, run_grid
from ncl_landscape.training.train import make_run_fns, run_context

SMALL = RunConfig(data=DataConfig(n=256, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=64, epochs=4, log_every=2))


@pytest.mark.parametrize("c", [1.0, 2.0])
def test_warm_start_is_dictionary_columns_plus_the_stated_noise(c):
  p, d, m = 50, 10, 400
  M = make_dictionary(jax.random.key(0), p, d)
  W = np.asarray(warm_start_weight(jax.random.key(1), M, m, c))
  atoms = np.argmax(W @ np.asarray(M), axis=1)  # clean part: the column with largest overlap
  noise = W - np.asarray(M)[:, atoms].T
  np.testing.assert_allclose(noise.std(), p ** (-c / 2), rtol=0.03)
  np.testing.assert_allclose(noise.mean(), 0, atol=3 * p ** (-c / 2) / np.sqrt(noise.size))
  assert len(set(atoms.tolist())) == d  # with replacement, every atom shows up among 400 rows


def test_warm_start_without_replacement_when_m_at_most_d():
  M = make_dictionary(jax.random.key(0), 30, 8)
  W = np.asarray(warm_start_weight(jax.random.key(2), M, 8, 40.0))  # noise ~ 30^-20: none
  np.testing.assert_allclose(np.sort(np.abs(W @ np.asarray(M)).max(1)), 1.0, atol=1e-5)
  assert sorted(np.argmax(np.abs(W @ np.asarray(M)), 1).tolist()) == list(range(8))


def test_warm_start_c_is_traced():
  M = make_dictionary(jax.random.key(0), 50, 10)
  stds = jax.vmap(lambda c: jnp.std(warm_start_weight(jax.random.key(1), M, 200, c) -
                                    warm_start_weight(jax.random.key(1), M, 200, 60.0)))(
      jnp.array([1.0, 2.0]))
  np.testing.assert_allclose(stds, [50 ** -0.5, 50 ** -1.0], rtol=0.05)


def test_two_layer_encoder_is_one_layer_with_the_product():
  cfg = ModelConfig(m=12, layers=2, two_layer="product", batch_norm=True)
  enc = init_encoder(jax.random.key(0), cfg, 20, 5)
  assert enc.W1.shape == (12, 20) and enc.W.shape == (12, 12)
  a = jax.random.normal(jax.random.key(1), (32, 20))
  one = enc._replace(W=effective_weight(enc), W1=None)
  np.testing.assert_allclose(encode(enc, a, jnp.ones(32), cfg), encode(one, a, jnp.ones(32), cfg),
                             rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind,axis", [("row", 1), ("column", 0)])
def test_weights_have_unit_rows_or_columns_after_every_step(kind, axis):
  cfg = SMALL.replace(model=dict(init="warm", normalize_repr=True), train=dict(weight_norm=kind))
  fns = make_run_fns(cfg, make_method(cfg))
  hyper = Hyper(lr=0.5, warm_start_c=1.0)
  ctx = jax.jit(run_context, static_argnums=0)(cfg, jax.random.key(0), hyper)
  state, data = jax.jit(fns.init)(ctx, hyper), ctx.data
  step_fn = jax.jit(fns.step, static_argnums=1)
  for step in range(6):
    state, _ = step_fn(state, step % 2, jax.random.key(step), jnp.arange(64), jnp.ones(64),
                       data, hyper)
    trained = "online" if step % 2 == 0 else "target"
    norms = np.linalg.norm(state.params[trained].W, axis=axis)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


@pytest.mark.parametrize("predictor", ["linear", "linear_bias"])
def test_predictor_gradients_match_finite_differences(x64, predictor):
  cfg = SMALL.replace(model=dict(predictor=predictor, batch_norm=True))
  method = make_method(cfg)
  M = make_dictionary(jax.random.key(0), 20, 5)
  params = method.init_params(jax.random.key(1), M, Hyper())
  params = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), params)
  a1, a2 = (jax.random.normal(k, (16, 20), jnp.float64) for k in jax.random.split(jax.random.key(2)))
  w = jnp.ones(16, jnp.float64)
  online = method.phases[0]
  assert online.trains == ("online", "predictor")

  @jax.jit
  def loss(Wp):
    return online.loss({**params, "predictor": params["predictor"]._replace(W=Wp)}, a1, a2, w,
                       Hyper())[0]
  Wp = params["predictor"].W
  g = np.asarray(jax.jit(jax.grad(loss))(Wp))
  rng = np.random.default_rng(0)
  for _ in range(8):
    i, j = rng.integers(0, 12, size=2)
    e = np.zeros(Wp.shape)
    e[i, j] = 1e-6
    np.testing.assert_allclose(g[i, j], (loss(Wp + e) - loss(Wp - e)) / 2e-6, rtol=1e-5, atol=1e-9)
  grads = jax.jit(jax.grad(lambda p: online.loss(p, a1, a2, w, Hyper())[0]))(params)
  assert not np.any(grads["target"].W)  # the target side is behind stop-gradient


def test_simsiam_loss_is_symmetric_and_stops_gradients():
  k = jax.random.split(jax.random.key(0), 4)
  p1, p2, z1, z2 = (jax.random.normal(kk, (8, 6)) for kk in k)
  w = jnp.ones(8)
  np.testing.assert_allclose(symmetric_negative_cosine(p1, p2, z1, z2, w),
                             symmetric_negative_cosine(p2, p1, z2, z1, w), rtol=1e-6)
  cos = lambda a, b: np.mean(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
  np.testing.assert_allclose(symmetric_negative_cosine(p1, p2, z1, z2, w),
                             -0.5 * (cos(p1, z2) + cos(p2, z1)), rtol=1e-5)
  g_z = jax.grad(lambda z1, z2: symmetric_negative_cosine(p1, p2, z1, z2, w), argnums=(0, 1))(z1, z2)
  assert not np.any(g_z[0]) and not np.any(g_z[1])


@pytest.mark.parametrize("method,groups", [("simclr", {"online", "projector"}),
                                           ("simsiam", {"online", "projector", "predictor"})])
def test_table1_methods_train_every_group(method, groups):
  cfg = SMALL.replace(model=dict(batch_norm=True), train=dict(method=method))
  fns = make_run_fns(cfg, make_method(cfg))
  hyper = Hyper(lr=0.1)
  ctx = jax.jit(run_context, static_argnums=0)(cfg, jax.random.key(0), hyper)
  state, data = jax.jit(fns.init)(ctx, hyper), ctx.data
  assert set(state.params) == groups
  new, (loss, _) = jax.jit(fns.step, static_argnums=1)(state, 0, jax.random.key(1),
                                                        jnp.arange(64), jnp.ones(64), data, hyper)
  assert np.isfinite(loss)
  for g in groups:
    assert np.any(new.params[g].W != state.params[g].W), g


def test_warm_start_grid_sweeps_c():
  cfg = SMALL.replace(model=dict(init="warm"))
  out = run_grid(cfg, make_grid(0, 1, Hyper(lr=0.01), warm_start_c=(0.5, 4.0)))
  start = out.curves["maxcos_min"][:, 0]
  assert start[1] > start[0] + 0.2  # c = 4 starts much closer to M
