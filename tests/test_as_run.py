"""Every figure's model against an independent float64 NumPy reference of the authors' models.

The reference below is written from the description of the authors' PyTorch models in
docs/fidelity.md, not from the package: Linear layers y = a W^T + b,
BatchNorm1d in training mode (biased batch variance, eps 1e-5, affine), the symmetric
activation relu(u) - relu(2b - u) with b the layer's bias, F.normalize, the losses as
coded. Gradients of the package's phase losses (JAX, float64) are checked against central
finite differences of the reference, for every parameter the phase trains, in the online
and the target step; the parameters behind stop-gradient must get exactly zero.
The arms come from the experiment binaries themselves, so what is checked is what runs.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import fig1, fig2, fig3, fig5, fig6, fig7, table1, warm_start
from ncl_landscape.methods.registry import make_method
from ncl_landscape.testbed.data import make_dictionary
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.train import make_run_fns, run_context

P, D, M_WIDTH, BATCH = 8, 4, 6, 10
EPS_FD = 1e-6


# ---- the reference: NumPy, float64 -------------------------------------------------------

def _relu(u):
  return np.maximum(u, 0.0)


def _bn(u, bn):
  mean = u.mean(0)
  var = ((u - mean) ** 2).mean(0)
  return bn["gamma"] * (u - mean) / np.sqrt(var + 1e-5) + bn["beta"]


def _layer(a, layer):
  """Linear -> [BN] -> relu(u) - relu(2b - u): one layer of the authors' encoders."""
  u = a @ layer["W"].T + layer["b"]
  if "bn" in layer:
    u = _bn(u, layer["bn"])
  return _relu(u) - _relu(2 * layer["b"] - u)


def _encoder(a, enc):
  for layer in enc:  # a list of layers, applied in order
    a = _layer(a, layer)
  return a


def _normalize(v):
  return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _linear(v, head):
  return v @ head["W"].T + head.get("b", 0.0)


def ncl_reference(ref, trained, a_trained, a_fixed, normalize, predictor):
  """The step that trains `trained`: 2 - 2 mean <out_trained, SG out_fixed>, where the
  trained side's output is n(W^p h + b^p) with the predictor (n() only when normalising)."""
  fixed = "target" if trained == "online" else "online"
  h = _encoder(a_trained, ref[trained])
  g = _encoder(a_fixed, ref[fixed])
  if predictor:
    h = _linear(h, ref["predictor"])
  if normalize:
    h, g = _normalize(h), _normalize(g)
  return 2 - 2 * np.mean(np.sum(h * g, axis=1))


def nt_xent_reference(ref, a1, a2, temperature=0.05, projector=False):
  """SimCLR: one encoder, BN per view, [projector], NT-Xent over 2N with cosine / temperature."""
  z = [_encoder(a, ref["online"]) for a in (a1, a2)]
  if projector:
    z = [_linear(v, ref["projector"]) for v in z]
  z = _normalize(np.concatenate(z))
  n2 = z.shape[0]
  logits = z @ z.T / temperature
  loss = 0.0
  for i in range(n2):
    positive = (i + n2 // 2) % n2
    others = [j for j in range(n2) if j != i]
    loss -= logits[i, positive] - np.log(np.sum(np.exp(logits[i, others])))
  return loss / n2


def simsiam_reference(ref, a1, a2, projector, frozen):
  """enc -> [projector layer] -> z; p = W^p z + b^p; 0.5 (D(p1, SG z2) + D(p2, SG z1)).
  SG: the targets z are computed from `frozen`, the parameters before any perturbation."""
  def represent(params):
    z = [_encoder(a, params["online"]) for a in (a1, a2)]
    return [_layer(v, params["projector"]) for v in z] if projector else z
  z, target = represent(ref), represent(frozen)
  p = [_linear(v, ref["predictor"]) for v in z]
  d = lambda p, z: -np.mean(np.sum(_normalize(p) * _normalize(z), axis=1))
  return 0.5 * (d(p[0], target[1]) + d(p[1], target[0]))


# ---- the package's parameters, mapped onto the reference's ------------------------------

def _as_layer(enc) -> dict:
  layer = {"W": np.array(enc.W), "b": np.array(enc.b)}
  if enc.bn is not None:
    layer["bn"] = {"gamma": np.array(enc.bn.scale), "beta": np.array(enc.bn.shift)}
  return layer


def to_reference(params: dict) -> dict:
  """Package pytree -> the reference's dict (an encoder is its list of layers)."""
  ref = {}
  for group, v in params.items():
    if group in ("online", "target"):
      assert v.W1 is None, "the product form has no counterpart in the authors' code"
      ref[group] = ([_as_layer(v.hidden)] if v.hidden is not None else []) + [_as_layer(v)]
    elif group == "projector" and hasattr(v, "bn"):
      ref[group] = _as_layer(v)
    else:
      ref[group] = {"W": np.array(v.W), **({"b": np.array(v.b)} if v.b is not None else {})}
  return ref


def _reference_leaves(ref, prefix=()):
  """(path, array) of every array in the reference dict."""
  if isinstance(ref, dict):
    for k, v in ref.items():
      yield from _reference_leaves(v, prefix + (k,))
  elif isinstance(ref, list):
    for i, v in enumerate(ref):
      yield from _reference_leaves(v, prefix + (i,))
  else:
    yield prefix, ref


def finite_difference(loss_fn, ref, path):
  """Central differences of loss_fn(ref) in the array at `path`."""
  def at(tree, path):
    for k in path:
      tree = tree[k]
    return tree
  array = at(ref, path)
  grad = np.zeros_like(array)
  for idx in np.ndindex(array.shape):
    saved = array[idx]
    array[idx] = saved + EPS_FD
    up = loss_fn(ref)
    array[idx] = saved - EPS_FD
    down = loss_fn(ref)
    array[idx] = saved
    grad[idx] = (up - down) / (2 * EPS_FD)
  return grad


def small(cfg):
  """The arm's model at test size: p = 8, d = 4, m = 6 (p = d = m = 6 for a full-rank arm)."""
  full_rank = cfg.data.p == cfg.data.d == cfg.model.m
  p, d = (M_WIDTH, M_WIDTH) if full_rank else (P, D)
  return cfg.replace(data=dict(p=p, d=d, n=64), model=dict(m=M_WIDTH),
                     train=dict(batch_size=BATCH))


def perturbed_params(cfg, key):
  """The method's initial parameters in float64, every leaf moved by N(0, 0.3^2) so that BN's
  affine parameters, the biases and the predictor's bias all matter."""
  M = make_dictionary(jax.random.key(0), cfg.data.p, cfg.data.d, cfg.data.dictionary)
  params = make_method(cfg).init_params(key, M, Hyper(warm_start_c=1.0))
  leaves, tree = jax.tree_util.tree_flatten(params)
  keys = jax.random.split(jax.random.key(7), len(leaves))
  return jax.tree_util.tree_unflatten(tree, [
      (v + 0.3 * jax.random.normal(k, v.shape)).astype(jnp.float64) for v, k in zip(leaves, keys)])


def settings(module, **extra):
  return dict(module.PROFILES["smoke"], profile="smoke", base_seed=0, **extra)


def ncl_arms():
  """(arm, normalises outputs, has predictor) of every NCL arm of Figures 1-7."""
  arms = [a for a in fig1.make_arms(settings(fig1)) if a.name == "ncl"]
  arms += [a for a in fig2.make_arms(settings(fig2)) if a.name == "ncl"]
  arms += [a for a in fig3.make_arms(settings(fig3)) if a.name == "ncl_2layer"]
  for module in (fig5, fig6, fig7):
    arms += warm_start.make_arms(module.FIGURE, settings(module))
  return arms


def _views(key, p):
  k1, k2 = jax.random.split(key)
  return (np.asarray(jax.random.normal(k1, (BATCH, p), jnp.float64)),
          np.asarray(jax.random.normal(k2, (BATCH, p), jnp.float64)))


def check_phase(cfg, phase, params, a1, a2, reference_loss):
  """The phase's loss and its gradient in every trained group against the reference;
  exactly zero gradient in every other group."""
  weights = jnp.ones(BATCH, jnp.float64)
  loss_fn = lambda p: phase.loss(p, jnp.asarray(a1), jnp.asarray(a2), weights, Hyper())[0]
  ref = to_reference(params)
  np.testing.assert_allclose(float(loss_fn(params)), reference_loss(ref), rtol=1e-10)
  grads = to_reference(jax.grad(loss_fn)(params))
  for path, g in _reference_leaves(grads):
    if path[0] in phase.trains:
      np.testing.assert_allclose(g, finite_difference(reference_loss, ref, path), rtol=1e-5,
                                 atol=1e-8, err_msg=f"{phase.name} step, {path}")
    else:
      assert not np.any(g), f"{phase.name} step moves {path} through the stop-gradient"


@pytest.mark.parametrize("arm", ncl_arms(), ids=lambda a: a.name)
def test_ncl_figure_models_match_the_reference(x64, arm):
  cfg = small(arm.cfg)
  method = make_method(cfg)
  params = perturbed_params(cfg, jax.random.key(1))
  a1, a2 = _views(jax.random.key(2), cfg.data.p)
  predictor = cfg.model.predictor != "none"
  normalize = cfg.model.normalize_repr or cfg.train.ncl_form == "cosine"
  for phase in method.phases:
    expected_trains = {phase.name} | ({"predictor"} if predictor else set())
    assert set(phase.trains) == expected_trains  # W^p moves in both steps
    check_phase(cfg, phase, params, a1, a2,
                lambda ref: ncl_reference(ref, phase.name, a1, a2, normalize, predictor))


def test_figure_models_are_the_ones_described():
  """The arms' models as the authors ran them (the table of docs/fidelity.md)."""
  by = {a.name: a.cfg for m in (fig5, fig6, fig7)
        for a in warm_start.make_arms(m.FIGURE, settings(m))}
  for name in ("ncl_warm_pred", "ncl_pred"):
    assert by[name].model.predictor == "linear_bias" and by[name].model.batch_norm
    assert by[name].model.head_init == "torch_uniform"
  as_run = [n for n in by if n.startswith("ncl_warm_pred_")]
  assert len(as_run) == 4
  for name in as_run:
    cfg = by[name]
    assert cfg.data.p == cfg.data.d == cfg.model.m == 20 and cfg.data.noise == 0
    assert cfg.model.predictor == "linear" and not cfg.model.batch_norm
    identity = name.endswith("identity")
    assert (cfg.data.dictionary == "identity") == identity
    assert (cfg.train.ncl_form, cfg.model.normalize_repr) == (("inner", False) if identity
                                                              else ("cosine", True))
  fig2_arms = {a.name: a for a in fig2.make_arms(settings(fig2, mask_probs=(0.25, 0.9)))}
  assert not fig2_arms["ncl"].cfg.model.batch_norm and fig2_arms["cl"].cfg.model.batch_norm
  assert fig2_arms["cl"].cfg.train.mask == "dependent"
  assert {p["mask_prob"] for p in fig2_arms["cl"].grid.points} == {0.5}  # D ~ Bernoulli(0.5)
  assert {p["mask_prob"] for p in fig2_arms["ncl"].grid.points} == {0.25, 0.9}
  fig1_arms = {a.name: a.cfg for a in fig1.make_arms(settings(fig1))}
  assert fig1_arms["cl"].model.batch_norm and not fig1_arms["ncl"].model.batch_norm


@pytest.mark.parametrize("module,name,projector", [
    (fig1, "cl", False), (fig2, "cl", False), (table1, "simplified_simclr", True)])
def test_contrastive_models_match_the_reference(x64, module, name, projector):
  arm = next(a for a in module.make_arms(settings(module)) if a.name == name)
  cfg = small(arm.cfg)
  (phase,) = make_method(cfg).phases
  params = perturbed_params(cfg, jax.random.key(3))
  a1, a2 = _views(jax.random.key(4), cfg.data.p)
  check_phase(cfg, phase, params, a1, a2,
              lambda ref: nt_xent_reference(ref, a1, a2, projector=projector))


@pytest.mark.parametrize("name,projector", [("simplified_simsiam", True),
                                            ("simplified_simsiam_enc_pred", False)])
def test_simsiam_models_match_the_reference(x64, name, projector):
  arm = next(a for a in table1.make_arms(settings(table1)) if a.name == name)
  cfg = small(arm.cfg)
  (phase,) = make_method(cfg).phases
  params = perturbed_params(cfg, jax.random.key(5))
  assert ("projector" in params) == projector
  a1, a2 = _views(jax.random.key(6), cfg.data.p)
  frozen = to_reference(params)
  check_phase(cfg, phase, params, a1, a2,
              lambda ref: simsiam_reference(ref, a1, a2, projector, frozen))


@pytest.mark.parametrize("norm,axis", [("row", 1), ("column", 0)])
def test_figure7_as_run_step_is_sgd_then_normalisation(x64, norm, axis):
  """A whole optimiser step of the as-run Figure 7 model: SGD on the trained encoder and on
  W^p, then W^o and W^t rescaled to unit rows (columns); the other side untouched."""
  short = {"row": "rownorm", "column": "colnorm"}[norm]
  arm = next(a for a in warm_start.make_arms(fig7.FIGURE, settings(fig7))
             if a.name == f"ncl_warm_pred_{short}_random")
  cfg = small(arm.cfg)
  fns = make_run_fns(cfg, make_method(cfg))
  hyper = Hyper(lr=0.1, mask_prob=0.0, warm_start_c=1.0)  # mask prob 0: both views are x
  ctx = run_context(cfg, jax.random.key(8), hyper)
  state, data = fns.init(ctx, hyper), ctx.data
  state = state._replace(params=jax.tree_util.tree_map(lambda v: v.astype(jnp.float64),
                                                       state.params))
  idx = jnp.arange(BATCH)
  x = np.asarray(data.x[idx], np.float64)
  for phase_index, trained in enumerate(("online", "target")):
    ref = to_reference(state.params)
    grad = {path: finite_difference(
        lambda r: ncl_reference(r, trained, x, x, normalize=True, predictor=True), ref, path)
        for path, _ in _reference_leaves(ref) if path[0] in (trained, "predictor")}
    new, _ = fns.step(state, phase_index, jax.random.key(9), idx, jnp.ones(BATCH), data, hyper)
    W = ref[trained][0]["W"] - 0.1 * grad[(trained, 0, "W")]
    np.testing.assert_allclose(new.params[trained].W,
                               W / np.linalg.norm(W, axis=axis, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(new.params["predictor"].W,
                               ref["predictor"]["W"] - 0.1 * grad[("predictor", "W")], rtol=1e-6)
    fixed = "target" if trained == "online" else "online"
    np.testing.assert_array_equal(new.params[fixed].W, state.params[fixed].W)
    state = new


def test_figure7_as_run_start_matches_the_code_warm_start_rule():
  """Initial min max-cosine of the as-run Figure 7 model at p = d = m = 20, per c, against
  the authors' rule written in NumPy (W^T = M + N(0, p^-c), M_S = M at m = d)."""
  from ncl_landscape.testbed.metrics import max_cosine
  p = fig7.FULL_RANK
  rng = np.random.default_rng(0)
  cfg = next(a for a in warm_start.make_arms(fig7.FIGURE, settings(fig7))
             if a.name == "ncl_warm_pred_rownorm_random").cfg
  start = {}
  for c in fig7.AS_RUN_C:
    ours, theirs = [], []
    for seed in range(60):
      M = make_dictionary(jax.random.key(seed), p, p)
      params = make_method(cfg).init_params(jax.random.key(seed), M, Hyper(warm_start_c=c))
      ours.append(float(max_cosine(params["online"].W, M).min))
      Mn = np.linalg.qr(rng.normal(size=(p, p)))[0]
      W = (Mn + rng.normal(0, p ** (-c / 2), (p, p))).T
      cos = np.abs(_normalize(W) @ Mn)
      theirs.append(cos.max(0).min())
    se = np.hypot(np.std(ours), np.std(theirs)) / np.sqrt(60)
    assert abs(np.mean(ours) - np.mean(theirs)) < 4 * se + 1e-3, c
    start[c] = np.mean(ours)
  # the figure's start, about 0.62, lies between c = 1 (about 0.50) and c = 1.25 (about 0.69)
  assert start[1.0] < 0.62 < start[1.25] and abs(start[1.25] - 0.62) < 0.1
