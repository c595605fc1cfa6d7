"""The method registry: every method's parameter groups, optimiser phases and predictors.

`METHODS` maps a method's name to its `MethodSpec`: how to build it, its family
(docs/methods.md), the optional traced scalars its loss reads, and its compile group.
A new loss is one entry here (or one `register` call from user code); the config,
the summary and the report read everything else from the entry.

A phase is one kind of optimiser step: the parameter groups it moves, the loss it
descends (returned with its named terms) and an optional rule run after the step
(predictors.py: EMA targets, closed-form predictors), which may read and write buffers,
the state that is not a parameter.

The non-contrastive method (Eq. 4 - 8) has two phases, an online step
L(W^o, SG W^t) and a target step L(W^t, SG W^o), with the predictor W^p (when
present) applied to, and trained with, the side being trained. The contrastive
methods (Eq. 9), Simplified-SimSiam and the joint-embedding criteria (one shared
encoder) have one phase that moves every group; BYOL, DirectPred and DirectCopy have
one online phase followed by their rule. `train` decides how phases alternate.

Methods of one compile group (the criteria; the predictor rules) differ only in their
`part` (the criterion, the predictor rule), so one program serves a group:
`make_method(cfg, member)` with a traced member, the method's index in its group,
branches with lax.switch (only the selected branch runs). Row and column weight
normalisation share a program the same way (`shared_config`, `Member`; train.py
branches). Every method receives its encoder (encoders.py) and builds its heads.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from ncl_landscape.methods import criteria, losses, predictors
from ncl_landscape.testbed import encoders
from ncl_landscape.testbed.encoders import EncoderDef
from ncl_landscape.testbed.networks import (Encoder, apply_linear, init_batch_norm, init_linear,
                                            init_std, layer, normalize)
from ncl_landscape.training.hyper import Hyper

if TYPE_CHECKING:
  from ncl_landscape.config import RunConfig

# loss(params, a1, a2, weights, hyper) -> (scalar, terms); a1 feeds the trained side.
LossFn = Callable[[dict, jax.Array, jax.Array, jax.Array, Hyper], tuple[jax.Array, dict]]
# after(params, buffers, (a1, a2, weights)) -> (params, buffers)
Rule = Callable[[dict, dict, tuple], tuple[dict, dict]]


class Phase(NamedTuple):
  """One kind of optimiser step: the groups it moves, the loss it descends, a rule after it."""
  name: str
  trains: tuple[str, ...]  # parameter groups this phase moves
  loss: LossFn
  after: Rule | None = None  # non-gradient update run after the optimiser step


def _no_buffers(params: dict) -> dict:
  del params
  return {}


class Method(NamedTuple):
  """A built method: its initial parameters and buffers, its phases and the encoder they read."""
  init_params: Callable[[jax.Array, jax.Array, Hyper], dict]  # (key, M [p, d], hyper) -> params
  phases: tuple[Phase, ...]
  encoder: EncoderDef | None = None  # of the 'online' and 'target' groups
  readout: str = "online"  # the group whose encoder the metrics read
  init_buffers: Callable[[dict], dict] = _no_buffers  # params -> buffers


ENCODER_GROUPS = ("online", "target")  # the groups that are encoders (weight_norm acts on them)


def representation(cfg: RunConfig, encoder: EncoderDef) -> Callable:
  """The representation function: the encoder's output, n(.)-normalised when requested.

  Args:
    cfg: the run configuration (ModelConfig.normalize_repr).
    encoder: the encoder.

  Returns:
    (params, a [N, p], weights [N]) -> [N, m].
  """
  if not cfg.model.normalize_repr:
    return encoder.apply
  return lambda params, a, weights: normalize(encoder.apply(params, a, weights))


def _head(cfg: RunConfig, key: jax.Array, bias: bool):
  """A linear head [m, m] (predictor, projector) of ModelConfig.head_init."""
  m = cfg.model.m
  return init_linear(key, m, m, cfg.model.head_init,
                     init_std(cfg.data.p, cfg.data.d, cfg.model.init_std), bias)


def _ncl(cfg: RunConfig, encoder: EncoderDef, parts, member) -> Method:
  """Eq. 4 (cosine) or Eq. 6 (inner): online and target encoders trained in turn; the
  predictor (Eq. 5 / Eq. 8), when present, maps the trained side's unnormalised output."""
  del parts, member
  pair_loss = losses.cosine_loss if cfg.train.ncl_form == "cosine" else losses.inner_product_loss
  has_predictor = cfg.model.predictor != "none"
  represent = representation(cfg, encoder)
  normalized = normalize if cfg.model.normalize_repr else (lambda z: z)

  def phase(trained, fixed):
    def loss(params, a1, a2, weights, hyper):
      del hyper
      if has_predictor:  # n(W^p h + b^p) of the unnormalised h, as the authors' model
        z_trained = normalized(apply_linear(params["predictor"],
                                            encoder.apply(params[trained], a1, weights)))
      else:
        z_trained = represent(params[trained], a1, weights)
      return pair_loss(z_trained, represent(params[fixed], a2, weights), weights), {}
    return Phase(trained, (trained, "predictor") if has_predictor else (trained,), loss)

  def init(key, M, hyper):
    online_key, target_key, pred_key = jax.random.split(key, 3)
    params = {"online": encoder.init(online_key, M, hyper),
              "target": encoder.init(target_key, M, hyper)}
    if has_predictor:
      params["predictor"] = _head(cfg, pred_key, bias=cfg.model.predictor == "linear_bias")
    return params

  return Method(init, (phase("online", "target"), phase("target", "online")), encoder)


def _contrastive(cfg: RunConfig, encoder: EncoderDef, parts, member, projector: bool) -> Method:
  """NT-Xent (Eq. 9) on one shared encoder, with a linear projector for SimCLR."""
  del parts, member
  represent = representation(cfg, encoder)

  def embed(params, a, weights):
    z = represent(params["online"], a, weights)
    return apply_linear(params["projector"], z) if projector else z

  def loss(params, a1, a2, weights, hyper):
    return losses.nt_xent_loss(embed(params, a1, weights), embed(params, a2, weights),
                               weights, hyper.temperature), {}

  def init(key, M, hyper):
    enc_key, proj_key = jax.random.split(key)
    params = {"online": encoder.init(enc_key, M, hyper)}
    if projector:
      params["projector"] = _head(cfg, proj_key, bias=True)
    return params

  groups = ("online", "projector") if projector else ("online",)
  return Method(init, (Phase("online", groups, loss),), encoder)


def _simsiam(cfg: RunConfig, encoder: EncoderDef, parts, member) -> Method:
  """Table 1: z = proj(enc(a)) (the projector Linear(m, m) - [BN] - the encoder's activation;
  z = enc(a) without it), p = W^p z + b^p; loss 0.5 (D(p1, SG z2) + D(p2, SG z1)), D the
  negative cosine."""
  del parts, member
  represent = representation(cfg, encoder)
  with_projector = cfg.model.simsiam_projector

  def embed(params, a, weights):
    z = represent(params["online"], a, weights)
    if not with_projector:
      return z
    proj = params["projector"]
    return layer(z, proj.W, proj.b, proj.bn, weights, cfg.model.activation)

  def loss(params, a1, a2, weights, hyper):
    del hyper
    z1, z2 = embed(params, a1, weights), embed(params, a2, weights)
    p1, p2 = apply_linear(params["predictor"], z1), apply_linear(params["predictor"], z2)
    return losses.symmetric_negative_cosine(p1, p2, z1, z2, weights), {}

  def init(key, M, hyper):
    enc_key, proj_key, pred_key = jax.random.split(key, 3)
    params = {"online": encoder.init(enc_key, M, hyper),
              "predictor": _head(cfg, pred_key, bias=True)}
    if with_projector:
      projector = _head(cfg, proj_key, bias=True)
      params["projector"] = Encoder(projector.W, projector.b, init_batch_norm(cfg.model))
    return params

  groups = ("online", "projector", "predictor") if with_projector else ("online", "predictor")
  return Method(init, (Phase("online", groups, loss),), encoder)


def _criterion(cfg: RunConfig, encoder: EncoderDef, parts, member) -> Method:
  """One shared encoder; the criterion parts[member] on the two views' representations."""
  criterion = criteria.select(parts, member)
  represent = representation(cfg, encoder)

  def loss(params, a1, a2, weights, hyper):
    z1, z2 = (represent(params["online"], a, weights) for a in (a1, a2))
    return criterion(z1, z2, weights, hyper)

  def init(key, M, hyper):  # the online key of every other method, for one seed
    return {"online": encoder.init(jax.random.split(key)[0], M, hyper)}

  return Method(init, (Phase("online", ("online",), loss),), encoder)


class PredictorRule(NamedTuple):
  """How a predictor method sets q after its gradient step, from F (EMA of E[f f^T])."""
  rho: float  # F's EMA rate
  set_predictor: Callable  # (F, q's W after the step, cfg) -> q's new W


def _predictor(cfg: RunConfig, encoder: EncoderDef, parts, member) -> Method:
  """BYOL, DirectPred, DirectCopy: online encoder and linear predictor q, EMA target.

  Loss (BYOL): 0.5 [(2 - 2 cos(q(f(a1)), SG t(a2))) + (2 - 2 cos(q(f(a2)), SG t(a1)))].
  Every step moves the online encoder and q by gradient. After it: target <- EMA(online)
  with the cosine schedule; F <- EMA of E[f f^T] (the online representation, both views,
  detached) at the rule's rho; the rule then sets q from F (BYOL keeps it: F feeds the
  alignment diagnostic). parts: the group's PredictorRules; member picks one.
  """
  m = cfg.model.m
  total_steps = cfg.train.epochs * cfg.steps_per_epoch
  represent = representation(cfg, encoder)
  rho = jnp.asarray([rule.rho for rule in parts])[member]
  branches = [lambda F, W, rule=rule: rule.set_predictor(F, W, cfg) for rule in parts]

  def init(key, M, hyper):
    enc_key, pred_key = jax.random.split(key)
    online = encoder.init(enc_key, M, hyper)
    predictor = init_linear(pred_key, m, m, cfg.model.head_init, init_std(m, m, None), bias=False)
    return {"online": online, "target": online, "predictor": predictor}

  def init_buffers(params):
    del params
    return {"correlation": jnp.zeros((m, m)), "step": jnp.zeros((), jnp.int32)}

  def loss(params, a1, a2, weights, hyper):
    del hyper
    q1, q2 = (apply_linear(params["predictor"], represent(params["online"], a, weights))
              for a in (a1, a2))
    t1, t2 = (represent(params["target"], a, weights) for a in (a1, a2))
    return 0.5 * (losses.cosine_loss(q1, t2, weights) + losses.cosine_loss(q2, t1, weights)), {}

  def after(params, buffers, batch):
    a1, a2, weights = batch
    tau = predictors.ema_decay(buffers["step"], total_steps, cfg.train.ema_base)
    params = {**params, "target": predictors.ema_update(params["target"], params["online"], tau)}
    f = jnp.concatenate([represent(params["online"], a, weights) for a in (a1, a2)])
    F = predictors.update_correlation(buffers["correlation"], buffers["step"] == 0, f,
                                 jnp.concatenate([weights, weights]), rho)
    Wp = dispatch(member, branches, F, params["predictor"].W)
    params = {**params, "predictor": params["predictor"]._replace(W=Wp)}
    return params, {"correlation": F, "step": buffers["step"] + 1}

  return Method(init, (Phase("online", ("online", "predictor"), loss, after),), encoder,
                init_buffers=init_buffers)


def dispatch(index, branches, *operands):
  """branches[index](*operands): a Python int picks the branch while tracing.

  Args:
    index: a Python int or a traced integer (then lax.switch, only that branch runs).
    branches: functions of the same operands and output structure.
    *operands: their arguments.

  Returns:
    The selected branch's output.
  """
  if isinstance(index, int):
    return branches[index](*operands)
  return jax.lax.switch(index, branches, *operands)


# --- the registry -------------------------------------------------------------------------

FAMILIES = ("sample-contrastive", "dimension-contrastive", "non-contrastive")  # docs/methods.md


class MethodSpec(NamedTuple):
  """A method as the registry holds it."""
  build: Callable[..., Method]  # (cfg, encoder, parts, member) -> Method
  family: str  # one of FAMILIES
  part: Any = None  # its piece of its group's program: a criterion, a PredictorRule
  group: str | None = None  # methods of one group share one compiled program
  reads: tuple[str, ...] = ()  # Hyper scalars its loss reads besides the data's and lr


def criterion_method(criterion: criteria.Criterion, family: str, reads: tuple[str, ...] = (),
                     group: str | None = "criteria") -> MethodSpec:
  """The MethodSpec of a joint-embedding criterion on one shared encoder.

  Args:
    criterion: (z1, z2, weights, hyper) -> (loss, terms).
    family: one of FAMILIES.
    reads: the Hyper scalars its loss reads besides the data's and lr.
    group: its compile group ('criteria'), or None for a program of its own.

  Returns:
    The MethodSpec.
  """
  return MethodSpec(_criterion, family, criterion, group, reads)


def _predictor_method(rho: float, set_predictor: Callable) -> MethodSpec:
  return MethodSpec(_predictor, "non-contrastive", PredictorRule(rho, set_predictor), "predictor")


_SAMPLE, _DIMENSION, _NON = FAMILIES
_TEMPERATURE = ("temperature",)

METHODS: dict[str, MethodSpec] = {
    "ncl": MethodSpec(_ncl, _NON),
    "cl": MethodSpec(functools.partial(_contrastive, projector=False), _SAMPLE,
                     reads=_TEMPERATURE),
    "simclr": MethodSpec(functools.partial(_contrastive, projector=True), _SAMPLE,
                         reads=_TEMPERATURE),
    "simsiam": MethodSpec(_simsiam, _NON),
    "vicreg": criterion_method(lambda z1, z2, w, h: criteria.vicreg(z1, z2, w), _DIMENSION),
    "barlow_twins": criterion_method(lambda z1, z2, w, h: criteria.barlow_twins(z1, z2, w),
                                     _DIMENSION),
    "barlow_twins_1m": criterion_method(
        lambda z1, z2, w, h: criteria.barlow_twins(z1, z2, w, lam=None), _DIMENSION),
    "spectral": criterion_method(lambda z1, z2, w, h: criteria.spectral(z1, z2, w), _SAMPLE),
    "garrido_lc": criterion_method(
        lambda z1, z2, w, h: criteria.garrido(z1, z2, w, "sample", "sample"), _SAMPLE),
    "garrido_lnc": criterion_method(
        lambda z1, z2, w, h: criteria.garrido(z1, z2, w, "dimension", "dimension"), _DIMENSION),
    "simclr_abs": criterion_method(
        lambda z1, z2, w, h: criteria.simclr_negatives(z1, z2, w, h.temperature, "abs"), _SAMPLE,
        _TEMPERATURE),
    "simclr_sq": criterion_method(
        lambda z1, z2, w, h: criteria.simclr_negatives(z1, z2, w, h.temperature, "sq"), _SAMPLE,
        _TEMPERATURE),
    "alpha_cl_exp": criterion_method(lambda z1, z2, w, h: criteria.alpha_cl(z1, z2, w, "exp"),
                                     _SAMPLE),
    "alpha_cl_inverse": criterion_method(
        lambda z1, z2, w, h: criteria.alpha_cl(z1, z2, w, "inverse"), _SAMPLE),
    "alpha_cl_quadratic": criterion_method(
        lambda z1, z2, w, h: criteria.alpha_cl(z1, z2, w, "quadratic"), _SAMPLE),
    "alpha_cl_new": criterion_method(
        lambda z1, z2, w, h: criteria.alpha_cl(z1, z2, w, "exp", a=2.0, eps=0.0), _SAMPLE),
    "byol": _predictor_method(predictors.DIRECTPRED["rho"], lambda F, W, cfg: W),
    "directpred": _predictor_method(
        predictors.DIRECTPRED["rho"],
        lambda F, W, cfg: predictors.directpred_predictor(F, predictors.DIRECTPRED["eps"])),
    "directcopy": _predictor_method(
        predictors.DIRECTCOPY["rho"],
        lambda F, W, cfg: predictors.directcopy_predictor(F, predictors.DIRECTCOPY["eps"],
                                                     cfg.train.directcopy_norm)),
}


def register(name: str, spec: MethodSpec) -> None:
  """Adds a method; it then trains, saves and reports like every other.

  Args:
    name: the method's name (TrainConfig.method).
    spec: its MethodSpec.

  Raises:
    ValueError: if name is registered, or if spec joins an existing compile group but does
      not build as the group does.
  """
  if name in METHODS:
    raise ValueError(f"method {name!r} is already registered")
  members = [METHODS[n] for n in compile_group_of(spec.group)]
  if members and members[0].build is not spec.build:
    raise ValueError(f"method {name!r} must build as its group {spec.group!r} does")
  METHODS[name] = spec


def spec(method: str) -> MethodSpec:
  """The registered MethodSpec of `method`.

  Raises:
    ValueError: naming the registered methods, if `method` is none of them.
  """
  if method not in METHODS:
    raise ValueError(f"train.method must be one of {', '.join(METHODS)}; got {method!r}")
  return METHODS[method]


def compile_group_of(group: str | None) -> tuple[str, ...]:
  """The registered methods of a compile group, in registry order (() for group None)."""
  return tuple(n for n, spec in METHODS.items() if group is not None and spec.group == group)


def compile_group(method: str) -> tuple[str, ...]:
  """The methods that share method's compiled program ((method,) for the others)."""
  return compile_group_of(spec(method).group) or (method,)


def families() -> dict[str, tuple[str, ...]]:
  """family -> its registered methods in registry order; FAMILIES first, then any other."""
  names = dict.fromkeys(FAMILIES + tuple(spec.family for spec in METHODS.values()))
  return {f: tuple(n for n, spec in METHODS.items() if spec.family == f) for f in names}


def reads(method: str, scalar: str) -> bool:
  """Whether method's loss reads the optional traced scalar (e.g. 'temperature')."""
  return scalar in spec(method).reads


# Weight normalisations that share one program, the choice traced (train.make_run_fns).
SHARED_WEIGHT_NORMS = ("row", "column")


class Member(NamedTuple):
  """Which variant of a shared program a call trains (int32 scalars, unbatched: every run
  of a call trains the same one): `method`, the index in compile_group of the method;
  `weight_norm`, the index in SHARED_WEIGHT_NORMS (0 where the program has one)."""
  method: int | jax.Array
  weight_norm: int | jax.Array = 0


def shared_config(cfg: RunConfig) -> tuple[RunConfig, Member]:
  """The program cfg shares, and cfg's Member in it.

  Args:
    cfg: a run configuration.

  Returns:
    (shared, member): the configuration of the shared program (cfg with its compile
    group's first method, and the first of SHARED_WEIGHT_NORMS for a normalised W) and the
    Member of cfg in it: make_trainer(shared) called with that member trains cfg.
  """
  group = compile_group(cfg.train.method)
  train, norm = dict(method=group[0]), cfg.train.weight_norm
  if norm in SHARED_WEIGHT_NORMS:
    train["weight_norm"] = SHARED_WEIGHT_NORMS[0]
  return cfg.replace(train=train), Member(
      group.index(cfg.train.method),
      SHARED_WEIGHT_NORMS.index(norm) if norm in SHARED_WEIGHT_NORMS else 0)


def own_terms(method: str) -> tuple[str, ...] | None:
  """The names of method's own loss terms where its program logs more.

  A criterion logs its group's union (NaN where it lacks one: criteria.select).

  Returns:
    The sorted names, or None where every logged term is its own.
  """
  found = spec(method)
  return criteria.term_names(found.part) if found.build is _criterion else None


def make_method(cfg: RunConfig, member: int | jax.Array | None = None) -> Method:
  """The parameter groups and phases of cfg.train.method, on cfg's encoder.

  Args:
    cfg: the run configuration.
    member: the index in compile_group(cfg.train.method) of the method to train, traced
      so that one program serves the group; None trains cfg.train.method itself.

  Returns:
    The Method.
  """
  group = compile_group(cfg.train.method)
  if member is None:
    member = group.index(cfg.train.method)
  encoder = encoders.make_encoder(cfg.model, cfg.data.p, cfg.data.d)
  parts = tuple(METHODS[name].part for name in group)
  return spec(cfg.train.method).build(cfg, encoder, parts, member)
