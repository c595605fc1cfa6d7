"""The grid trainer: batching, alternation, determinism, grid == per-run, one trace."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.methods.registry import (Member, Method, Phase, compile_group, make_method,
                                            shared_config)
from ncl_landscape.runs import results
from ncl_landscape.training import sweep
from ncl_landscape.training.experiment import Arm, run_experiment
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid, run_grid
from ncl_landscape.training.train import (epoch_batches, log_epochs, make_run_fns, make_train,
                                          run_context)

SMALL = RunConfig(data=DataConfig(n=300, p=20, d=5), model=ModelConfig(m=12),
                  train=TrainConfig(batch_size=64, epochs=6, log_every=2))


@pytest.mark.parametrize("drop_last", [False, True])
def test_epoch_batches_cover_every_sample_once(drop_last):
  idx, w = epoch_batches(jax.random.key(0), 3000, 512, drop_last)
  steps = 5 if drop_last else 6
  assert idx.shape == w.shape == (steps, 512)
  real = np.asarray(idx)[np.asarray(w) == 1]
  assert len(real) == len(set(real.tolist())) == (2560 if drop_last else 3000)
  if not drop_last:
    assert np.asarray(w)[-1].sum() == 440 and np.asarray(w)[:-1].all()


def test_log_epochs_end_at_the_last_epoch():
  cfg = SMALL.replace(train=dict(epochs=10, log_every=4))
  assert log_epochs(cfg) == [0, 6, 10]
  assert log_epochs(SMALL.replace(train=dict(epochs=3, log_every=5))) == [0, 3]


def _counting_method(n_phases):
  """Phase i moves group g{i} by -lr per step (loss = sum of the group): counts steps."""
  def phase(i):
    return Phase(name=f"g{i}", trains=(f"g{i}",),
                 loss=lambda p, a1, a2, w, h, i=i: (p[f"g{i}"], {}))
  return Method(init_params=lambda key, M, hyper: {f"g{i}": jnp.zeros(()) for i in range(n_phases)},
                phases=tuple(phase(i) for i in range(n_phases)))


@pytest.mark.parametrize("alternation,n,expected", [
    ("per_batch", 300, [2, 1]),  # 3 steps: online, target, online
    ("per_batch", 500, [3, 2]),  # 5 steps: restarts with online each epoch
    ("pair", 300, [3, 3]),
])
def test_alternation_schedule(alternation, n, expected):
  cfg = SMALL.replace(data=dict(n=n), train=dict(alternation=alternation, batch_size=110))
  fns = make_run_fns(cfg, _counting_method(2))
  hyper = Hyper(lr=1.0)
  ctx = run_context(cfg, jax.random.key(0), hyper)
  state, data, loop_key = fns.init(ctx, hyper), ctx.data, ctx.loop_key
  for epoch in range(2):
    state, _ = fns.epoch(state, epoch, loop_key, data, hyper)
  np.testing.assert_allclose([-state.params["g0"], -state.params["g1"]],
                             [2 * e for e in expected])


def test_ncl_online_step_moves_only_the_online_encoder():
  cfg = SMALL
  fns = make_run_fns(cfg, make_method(cfg))
  hyper = Hyper(lr=0.1)
  ctx = run_context(cfg, jax.random.key(0), hyper)
  state, data = fns.init(ctx, hyper), ctx.data
  idx, w = jnp.arange(64), jnp.ones(64)
  new, _ = fns.step(state, 0, jax.random.key(1), idx, w, data, hyper)
  assert np.any(new.params["online"].W != state.params["online"].W)
  np.testing.assert_array_equal(new.params["target"].W, state.params["target"].W)
  new, _ = fns.step(state, 1, jax.random.key(1), idx, w, data, hyper)
  np.testing.assert_array_equal(new.params["online"].W, state.params["online"].W)
  assert np.any(new.params["target"].W != state.params["target"].W)


@pytest.mark.parametrize("method,batch_norm", [("ncl", False), ("cl", True)])
def test_grid_equals_runs_one_by_one(method, batch_norm):
  cfg = SMALL.replace(train=dict(method=method, mask="dependent" if method == "cl" else
                                 "independent"), model=dict(batch_norm=batch_norm))
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2, 0.6), mask_prob=(0.3, 0.5))
  out = run_grid(cfg, grid)
  train = jax.jit(make_train(cfg))
  for r in range(len(grid.points)):
    one = train(grid.keys[r], jax.tree_util.tree_map(lambda v: v[r], grid.hyper))
    np.testing.assert_allclose(out.curves["maxcos_min"][r], one.curves["maxcos_min"], rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(out.curves["loss"][r], one.curves["loss"], rtol=1e-4, atol=1e-5)


def test_one_trace_serves_every_grid_of_a_config():
  cfg = SMALL.replace(train=dict(epochs=2, log_every=1))
  train = jax.jit(jax.vmap(chex.assert_max_traces(make_train(cfg), n=1)))
  for sparsities in ((0.1, 0.2), (0.5, 0.9)):
    grid = make_grid(0, 2, Hyper(), sparsity=sparsities)
    jax.block_until_ready(train(grid.keys, grid.hyper))


def test_compile_groups_map_each_member_to_one_config_and_its_own_index():
  for group in (compile_group("vicreg"), compile_group("byol")):
    shared = [shared_config(SMALL.replace(train=dict(method=m))) for m in group]
    assert len({cfg for cfg, _ in shared}) == 1
    assert [member.method for _, member in shared] == list(range(len(group)))
  assert shared_config(SMALL) == (SMALL, Member(0, 0)) and compile_group("cl") == ("cl",)
  rows, columns = (shared_config(SMALL.replace(train=dict(weight_norm=norm)))
                   for norm in ("row", "column"))
  assert rows[0] == columns[0] and (rows[1], columns[1]) == (Member(0, 0), Member(0, 1))


@pytest.mark.parametrize("method", ["barlow_twins_1m", "alpha_cl_quadratic", "directcopy"])
def test_a_group_member_reuses_the_group_program_and_trains_as_its_own(method):
  cfg = SMALL.replace(train=dict(method=method))
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,))
  run_grid(cfg.replace(train=dict(method=compile_group(method)[0])), grid)
  misses = sweep._compiled.cache_info().misses
  out = run_grid(cfg, grid)
  assert sweep._compiled.cache_info().misses == misses  # no compile of its own
  own = jax.jit(jax.vmap(make_train(cfg)))(grid.keys, grid.hyper)  # the method alone
  assert set(out.curves) == set(own.curves)  # the method's own terms, not its group's
  for name, curve in own.curves.items():
    np.testing.assert_allclose(out.curves[name], curve, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm", ["row", "column"])
def test_row_and_column_normalised_runs_share_a_program_and_train_as_their_own(norm):
  """The normalisation a call applies is traced (methods.Member): one compile serves both,
  and each trains bit for bit what its own static program trains."""
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,))
  other = {"row": "column", "column": "row"}[norm]
  run_grid(SMALL.replace(train=dict(weight_norm=other)), grid)
  misses = sweep._compiled.cache_info().misses
  cfg = SMALL.replace(train=dict(weight_norm=norm))
  out = run_grid(cfg, grid)
  assert sweep._compiled.cache_info().misses == misses
  own = jax.jit(jax.vmap(make_train(cfg)))(grid.keys, grid.hyper)
  for name, curve in own.curves.items():
    np.testing.assert_array_equal(out.curves[name], curve)
  np.testing.assert_array_equal(out.params["online"].W, own.params["online"].W)
  norms = np.linalg.norm(out.params["online"].W, axis=2 if norm == "row" else 1)
  np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_same_key_same_result_and_seeds_differ():
  grid = make_grid(3, 2, Hyper(lr=0.05), sparsity=(0.3,))
  a, b = run_grid(SMALL, grid), run_grid(SMALL, grid)
  np.testing.assert_array_equal(a.curves["loss"], b.curves["loss"])
  np.testing.assert_array_equal(a.params["online"].W, b.params["online"].W)
  assert not np.allclose(a.curves["loss"][0], a.curves["loss"][1])


def test_diverged_run_is_flagged_and_its_neighbours_are_not():
  cfg = SMALL.replace(model=dict(activation="linear"), train=dict(ncl_form="inner"))
  grid = make_grid(0, 1, Hyper(), lr=(0.005, 1e4))
  out = run_grid(cfg, grid)
  assert bool(out.final["within_bound"][0]) and not bool(out.final["within_bound"][1])
  assert np.isfinite(out.curves["loss"][0]).all()


def test_training_lowers_both_losses():
  for method in ("ncl", "cl"):
    cfg = SMALL.replace(train=dict(method=method, epochs=20, log_every=1))
    out = run_grid(cfg, make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,)))
    assert (out.curves["loss"][:, -1] < out.curves["loss"][:, 0]).all(), method


def test_sparsities_that_draw_the_same_latents_are_trained_once():
  cfg = SMALL.replace(data=dict(d=10))  # fixed counts: 0.1 and 0.2 both draw one -1 and one +1
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.1, 0.2, 0.3))
  distinct, index = sweep.distinct_runs(cfg, grid)
  assert len(distinct.points) == 4 and list(index) == [0, 0, 1, 2, 2, 3]
  assert sweep.same_runs(cfg, grid) == [(0.1, 0.2)]
  out = run_grid(cfg, grid, vmap_width=1)
  alone = run_grid(cfg, make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.2,)), vmap_width=1)
  for name in ("loss", "maxcos_min"):
    np.testing.assert_array_equal(out.curves[name][0::3], out.curves[name][1::3])
    np.testing.assert_array_equal(out.curves[name][1::3], alone.curves[name])
  np.testing.assert_array_equal(out.params["online"].W[1::3], alone.params["online"].W)
  assert not np.array_equal(out.curves["loss"][1::3], out.curves["loss"][2::3])
  bernoulli = cfg.replace(data=dict(latent="bernoulli"))
  assert len(sweep.distinct_runs(bernoulli, grid)[0].points) == 6
  assert sweep.same_runs(bernoulli, grid) == []
  wide = cfg.replace(data=dict(d=20, p=20))  # at d = 20, 0.1 draws one -1 and one +1, 0.2 two
  assert sweep.same_runs(wide, grid) == [] and len(sweep.distinct_runs(wide, grid)[0].points) == 6


def test_each_arm_counts_its_own_repeated_sparsities_once(tmp_path):
  """Two arms of one experiment: at d = 10 sparsities 0.1 and 0.2 draw the same latents, at
  d = 20 they do not; only the first arm's 0.2 runs are left out of the verdicts."""
  grid = make_grid(0, 2, Hyper(lr=0.05), sparsity=(0.1, 0.2))
  arms = [Arm("narrow", SMALL.replace(data=dict(d=10)), grid),
          Arm("wide", SMALL.replace(data=dict(d=20, p=20)), grid)]
  run_experiment("two", arms, str(tmp_path), {"settings": {}})
  res, config = results.load(str(tmp_path / "two"))
  assert config["settings"]["same_runs"] == {"narrow": [[0.1, 0.2]]}
  once = results.without_repeats(res)
  kept = sorted(zip(once.curves["method"].tolist(), once.curves["sparsity"].tolist()))
  assert kept == sorted([("narrow", 0.1)] * 2 + [("wide", 0.1)] * 2 + [("wide", 0.2)] * 2)
  assert len(once.all_rows) == 8
