"""EMA target schedule, DirectPred / DirectCopy predictors, correlation EMA, and the
predictor methods' step (rule applied after the optimiser step)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.methods import predictors
from ncl_landscape.methods.registry import make_method, shared_config
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.train import make_run_fns, run_context


def _psd(seed, m=6):
  a = np.random.default_rng(seed).normal(size=(m, 2 * m))
  return a @ a.T / (2 * m)


@pytest.mark.parametrize("base", [0.99, 0.996])
def test_ema_schedule_end_points(base):
  K = 1000
  np.testing.assert_allclose(predictors.ema_decay(0, K, base), base, rtol=1e-6)
  np.testing.assert_allclose(predictors.ema_decay(K, K, base), 1.0, rtol=1e-6)
  np.testing.assert_allclose(predictors.ema_decay(K // 2, K, base), 1 - (1 - base) / 2, rtol=1e-6)
  taus = np.asarray(predictors.ema_decay(jnp.arange(K + 1), K, base))
  assert np.all(np.diff(taus) >= -1e-7)  # increases monotonically to 1


def test_ema_update_mixes_every_leaf():
  target, online = {"a": jnp.ones(3), "b": jnp.zeros(2)}, {"a": jnp.zeros(3), "b": jnp.ones(2)}
  out = predictors.ema_update(target, online, 0.9)
  np.testing.assert_allclose(out["a"], 0.9)
  np.testing.assert_allclose(out["b"], 0.1)


def test_directpred_shares_eigenvectors_with_the_correlation(x64):
  F = jnp.asarray(_psd(0))
  W = predictors.directpred_predictor(F, 0.1)
  s, U = np.linalg.eigh(np.asarray(F))
  expected = np.sqrt(s / s.max()) + 0.1
  np.testing.assert_allclose(np.asarray(W) @ U, U * expected, atol=1e-10)  # W u_j = p_j u_j
  assert float(predictors.commutator_norm(F, W)) < 1e-12


@pytest.mark.parametrize("norm", ["frobenius", "spectral", "none"])
def test_directcopy_normalisations(norm, x64):
  F = jnp.asarray(_psd(1))
  W = np.asarray(predictors.directcopy_predictor(F, 0.3, norm)) - 0.3 * np.eye(6)
  scale = {"frobenius": np.linalg.norm(F), "spectral": np.linalg.eigvalsh(F).max(),
           "none": 1.0}[norm]
  np.testing.assert_allclose(W, np.asarray(F) / scale, rtol=1e-12)


def test_commutator_detects_misalignment(x64):
  F = jnp.asarray(_psd(2))
  assert float(predictors.commutator_norm(F, jnp.asarray(_psd(3)))) > 1e-2


def test_correlation_ema_ignores_padding_and_starts_from_the_first_batch(x64):
  rng = np.random.default_rng(4)
  f = rng.normal(size=(7, 3))
  w = np.r_[np.ones(5), np.zeros(2)]
  batch = f[:5].T @ f[:5] / 5
  F0 = jnp.asarray(_psd(5, 3))
  first = predictors.update_correlation(F0, jnp.array(True), jnp.asarray(f), jnp.asarray(w), 0.3)
  np.testing.assert_allclose(first, batch, rtol=1e-12)
  later = predictors.update_correlation(F0, jnp.array(False), jnp.asarray(f), jnp.asarray(w), 0.3)
  np.testing.assert_allclose(later, 0.3 * np.asarray(F0) + 0.7 * batch, rtol=1e-12)


SMALL = RunConfig(DataConfig(n=96, p=12, d=4), ModelConfig(m=8),
                  TrainConfig(batch_size=32, epochs=2, log_every=1))


@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize("method", ["byol", "directpred", "directcopy"])
def test_predictor_method_step_applies_its_rule(method, traced):
  """Alone, and as a traced member of the three methods' shared program."""
  cfg = SMALL.replace(train=dict(method=method))
  if traced:
    shared, member = shared_config(cfg)
    fns = make_run_fns(shared, make_method(shared, jnp.int32(member.method)))
  else:
    fns = make_run_fns(cfg, make_method(cfg))
  hyper = Hyper(lr=0.05)
  ctx = run_context(cfg, jax.random.key(0), hyper)
  state, data = fns.init(ctx, hyper), ctx.data
  np.testing.assert_array_equal(state.params["target"].W, state.params["online"].W)  # a copy
  new, _ = fns.step(state, 0, jax.random.key(1), jnp.arange(32), jnp.ones(32), data, hyper)
  # the target moved (1 - tau_0) of the way to the new online weights
  tau0 = cfg.train.ema_base
  np.testing.assert_allclose(new.params["target"].W,
                             tau0 * state.params["target"].W + (1 - tau0) * new.params["online"].W,
                             rtol=1e-5, atol=1e-7)
  F = new.buffers["correlation"]
  assert int(new.buffers["step"]) == 1 and float(jnp.trace(F)) > 0
  Wp = new.params["predictor"].W
  if method == "directpred":
    np.testing.assert_allclose(Wp, predictors.directpred_predictor(F, predictors.DIRECTPRED["eps"]),
                               rtol=1e-4, atol=1e-5)
  elif method == "directcopy":
    np.testing.assert_allclose(Wp, predictors.directcopy_predictor(F, predictors.DIRECTCOPY["eps"],
                                                              "frobenius"), rtol=1e-5)
  else:  # BYOL trains its predictor by gradient
    assert not np.allclose(Wp, state.params["predictor"].W)
