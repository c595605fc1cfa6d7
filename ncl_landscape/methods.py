"""What each method trains: its parameter groups and its optimiser phases.

A phase is one kind of optimiser step: the parameter groups it moves, the loss it
descends (returned with its named terms) and an optional rule run after the step
(rules.py: EMA targets, closed-form predictors), which may read and write buffers,
the state that is not a parameter.

The non-contrastive method (Eq. 4 - 8) has two phases, an online step
L(W^o, SG W^t) and a target step L(W^t, SG W^o), with the predictor W^p (when
present) applied to, and trained with, the side being trained. The contrastive
methods (Eq. 9), Simplified-SimSiam and every criterion of criteria.CRITERIA (one
shared encoder) have one phase that moves every group; BYOL, DirectPred and
DirectCopy have one online phase followed by their rule. `train` decides how phases
alternate.

Methods of one compile group (every registered criterion; the three predictor
methods) differ only in the criterion or the predictor rule, so one program serves
a group: `make_method(cfg, variant)` with a traced variant, the method's index in
its group, branches with lax.switch (only the selected branch runs). That is the
only traced branch here.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from ncl_landscape import criteria, losses, rules
from ncl_landscape.config import PREDICTOR_METHODS, Hyper, RunConfig
from ncl_landscape.networks import (Encoder, apply_linear, encode, init_batch_norm, init_encoder,
                                    init_linear, init_std, normalize)

# loss(params, a1, a2, weights, hyper) -> (scalar, terms); a1 feeds the trained side.
LossFn = Callable[[dict, jax.Array, jax.Array, jax.Array, Hyper], tuple[jax.Array, dict]]
# after(params, buffers, (a1, a2, weights)) -> (params, buffers)
Rule = Callable[[dict, dict, tuple], tuple[dict, dict]]


class Phase(NamedTuple):
  name: str
  trains: tuple[str, ...]  # parameter groups this phase moves
  loss: LossFn
  after: Rule | None = None  # non-gradient update run after the optimiser step


def _no_buffers(params: dict) -> dict:
  del params
  return {}


class Method(NamedTuple):
  init_params: Callable[[jax.Array, jax.Array, Hyper], dict]  # (key, M [p, d], hyper) -> params
  phases: tuple[Phase, ...]
  readout: str = "online"  # the group whose encoder the metrics read
  init_buffers: Callable[[dict], dict] = _no_buffers  # params -> buffers


def _ncl_phase(cfg: RunConfig, trained: str, fixed: str) -> Phase:
  pair_loss = losses.cosine_loss if cfg.train.ncl_form == "cosine" else losses.inner_product_loss
  has_predictor = cfg.model.predictor != "none"

  raw_model = dataclasses.replace(cfg.model, normalize_repr=False)

  def loss(params, a1, a2, weights, hyper):
    del hyper
    if has_predictor:  # n(W^p h + b^p) of the unnormalised h, as the authors' model
      z_trained = apply_linear(params["predictor"], encode(params[trained], a1, weights,
                                                           raw_model))
      if cfg.model.normalize_repr:
        z_trained = normalize(z_trained)
    else:
      z_trained = encode(params[trained], a1, weights, cfg.model)
    z_fixed = encode(params[fixed], a2, weights, cfg.model)
    return pair_loss(z_trained, z_fixed, weights), {}

  trains = (trained, "predictor") if has_predictor else (trained,)
  return Phase(name=trained, trains=trains, loss=loss)


def _contrastive_phase(cfg: RunConfig, groups: tuple[str, ...]) -> Phase:
  def represent(params, a, weights):
    z = encode(params["online"], a, weights, cfg.model)
    return apply_linear(params["projector"], z) if "projector" in params else z

  def loss(params, a1, a2, weights, hyper):
    return losses.nt_xent_loss(represent(params, a1, weights), represent(params, a2, weights),
                               weights, hyper.temperature), {}

  return Phase(name="online", trains=groups, loss=loss)


def _simsiam_phase(cfg: RunConfig, groups: tuple[str, ...]) -> Phase:
  """Table 1: z = proj(enc(a)) (BN + activation after each; z = enc(a) without the
  projector), p = W^p z + b^p; loss 0.5 (D(p1, SG z2) + D(p2, SG z1)), D the negative cosine."""
  def represent(params, a, weights):
    z = encode(params["online"], a, weights, cfg.model)
    return encode(params["projector"], z, weights, cfg.model) if "projector" in params else z

  def loss(params, a1, a2, weights, hyper):
    del hyper
    z1, z2 = represent(params, a1, weights), represent(params, a2, weights)
    p1, p2 = apply_linear(params["predictor"], z1), apply_linear(params["predictor"], z2)
    return losses.symmetric_negative_cosine(p1, p2, z1, z2, weights), {}

  return Phase(name="online", trains=groups, loss=loss)


def _criterion_phase(cfg: RunConfig, criterion: criteria.Criterion) -> Phase:
  """One shared encoder; the criterion on the two views' representations."""
  def loss(params, a1, a2, weights, hyper):
    z1, z2 = (encode(params["online"], a, weights, cfg.model) for a in (a1, a2))
    return criterion(z1, z2, weights, hyper)

  return Phase(name="online", trains=("online",), loss=loss)


def _predictor_method(cfg: RunConfig, encoder, variant) -> Method:
  """BYOL, DirectPred, DirectCopy: online encoder and linear predictor q, EMA target.

  Loss (BYOL): 0.5 [(2 - 2 cos(q(f(a1)), SG t(a2))) + (2 - 2 cos(q(f(a2)), SG t(a1)))].
  Every step moves the online encoder and q by gradient. After it: target <- EMA(online)
  with the cosine schedule; F <- EMA of E[f f^T] (the online representation, both views,
  detached); DirectPred / DirectCopy then overwrite q from F, BYOL keeps it (F feeds the
  alignment diagnostic). variant: index into PREDICTOR_METHODS.
  """
  m = cfg.model.m
  total_steps = cfg.train.epochs * cfg.steps_per_epoch
  # F's EMA rate: DirectCopy's own, else DirectPred's (BYOL keeps F for the diagnostic only)
  rho = jnp.asarray([rules.DIRECTCOPY["rho"] if name == "directcopy" else rules.DIRECTPRED["rho"]
                     for name in PREDICTOR_METHODS])[variant]
  set_predictor = {  # (F, q's W after the gradient step) -> q's new W
      "byol": lambda F, W: W,
      "directpred": lambda F, W: rules.directpred_predictor(F, rules.DIRECTPRED["eps"]),
      "directcopy": lambda F, W: rules.directcopy_predictor(F, rules.DIRECTCOPY["eps"],
                                                            cfg.train.directcopy_norm)}
  branches = [set_predictor[name] for name in PREDICTOR_METHODS]

  def init_params(key, M, hyper):
    enc_key, pred_key = jax.random.split(key)
    online = encoder(enc_key, M, hyper)
    predictor = init_linear(pred_key, m, m, cfg.model.head_init, init_std(m, m, None), bias=False)
    return {"online": online, "target": online, "predictor": predictor}

  def init_buffers(params):
    del params
    return {"correlation": jnp.zeros((m, m)), "step": jnp.zeros((), jnp.int32)}

  def loss(params, a1, a2, weights, hyper):
    del hyper
    q1, q2 = (apply_linear(params["predictor"], encode(params["online"], a, weights, cfg.model))
              for a in (a1, a2))
    t1, t2 = (encode(params["target"], a, weights, cfg.model) for a in (a1, a2))
    return 0.5 * (losses.cosine_loss(q1, t2, weights) + losses.cosine_loss(q2, t1, weights)), {}

  def after(params, buffers, batch):
    a1, a2, weights = batch
    tau = rules.ema_decay(buffers["step"], total_steps, cfg.train.ema_base)
    params = {**params, "target": rules.ema_update(params["target"], params["online"], tau)}
    f = jnp.concatenate([encode(params["online"], a, weights, cfg.model) for a in (a1, a2)])
    F = rules.update_correlation(buffers["correlation"], buffers["step"] == 0, f,
                                 jnp.concatenate([weights, weights]), rho)
    Wp = _dispatch(variant, branches, F, params["predictor"].W)
    params = {**params, "predictor": params["predictor"]._replace(W=Wp)}
    return params, {"correlation": F, "step": buffers["step"] + 1}

  return Method(init_params, (Phase("online", ("online", "predictor"), loss, after),),
                init_buffers=init_buffers)


def _dispatch(index, branches, *operands):
  """branches[index](*operands): a Python int picks the branch while tracing, a traced
  index becomes lax.switch."""
  if isinstance(index, int):
    return branches[index](*operands)
  return jax.lax.switch(index, branches, *operands)


def compile_group(method: str) -> tuple[str, ...]:
  """The methods that share method's compiled program ((method,) for the others)."""
  groups = (tuple(criteria.CRITERIA), PREDICTOR_METHODS)
  return next((group for group in groups if method in group), (method,))


def shared_config(cfg: RunConfig) -> tuple[RunConfig, int]:
  """The configuration of the program cfg's method shares (its group's first method) and
  the method's index in the group: make_method(shared, index) trains cfg's method."""
  group = compile_group(cfg.train.method)
  return cfg.replace(train=dict(method=group[0])), group.index(cfg.train.method)


def own_terms(method: str, terms: dict) -> dict:
  """method's own terms among a shared program's (its group's union, NaN where it lacks
  one: criteria.select)."""
  names = criteria.term_names(method) if method in criteria.CRITERIA else ()
  return {k: v for k, v in terms.items() if k in names}


def make_method(cfg: RunConfig, variant: int | jax.Array | None = None) -> Method:
  """The parameter groups and phases of cfg.train.method.

  variant: the index in compile_group(cfg.train.method) of the method to train, traced
  so that one program serves the group; None trains cfg.train.method itself.
  """
  p, d, m = cfg.data.p, cfg.data.d, cfg.model.m
  std = init_std(p, d, cfg.model.init_std)

  def encoder(key, M, hyper):
    return init_encoder(key, cfg.model, p, d, M, hyper.warm_start_c)

  def head(key, bias):
    return init_linear(key, m, m, cfg.model.head_init, std, bias)

  method = cfg.train.method
  group = compile_group(method)
  if variant is None:
    variant = group.index(method)
  if method in criteria.CRITERIA:
    criterion = criteria.select(group, variant)

    def init_shared(key, M, hyper):  # the online key of every other method, for one seed
      return {"online": encoder(jax.random.split(key)[0], M, hyper)}
    return Method(init_shared, (_criterion_phase(cfg, criterion),))

  if method in PREDICTOR_METHODS:
    return _predictor_method(cfg, encoder, variant)

  if method in ("cl", "simclr"):
    def init_contrastive(key, M, hyper):
      enc_key, proj_key = jax.random.split(key)
      params = {"online": encoder(enc_key, M, hyper)}
      if method == "simclr":
        params["projector"] = head(proj_key, bias=True)
      return params
    groups = ("online", "projector") if method == "simclr" else ("online",)
    return Method(init_contrastive, (_contrastive_phase(cfg, groups),))

  if method == "simsiam":
    with_projector = cfg.model.simsiam_projector

    def init_simsiam(key, M, hyper):
      enc_key, proj_key, pred_key = jax.random.split(key, 3)
      params = {"online": encoder(enc_key, M, hyper), "predictor": head(pred_key, bias=True)}
      if with_projector:  # Linear(m, m) -> [BN] -> activation, its bias the threshold
        projector = head(proj_key, bias=True)
        params["projector"] = Encoder(projector.W, projector.b, init_batch_norm(cfg.model))
      return params
    groups = ("online", "projector", "predictor") if with_projector else ("online", "predictor")
    return Method(init_simsiam, (_simsiam_phase(cfg, groups),))

  def init_ncl(key, M, hyper):
    online_key, target_key, pred_key = jax.random.split(key, 3)
    params = {"online": encoder(online_key, M, hyper), "target": encoder(target_key, M, hyper)}
    if cfg.model.predictor != "none":
      params["predictor"] = head(pred_key, bias=cfg.model.predictor == "linear_bias")
    return params
  return Method(init_ncl, (_ncl_phase(cfg, "online", "target"),
                           _ncl_phase(cfg, "target", "online")))
