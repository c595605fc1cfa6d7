"""What each method trains: its parameter groups and its optimiser phases.

A phase is one kind of optimiser step: the parameter groups it moves and the loss
it descends. The non-contrastive method (PAPER.md Eq. 4 / Eq. 6) has two phases,
an online step L(W^o, SG W^t) and a target step L(W^t, SG W^o); the contrastive
method (Eq. 9) has one, on a single shared encoder. `train` decides how phases
alternate; nothing here branches on traced values.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax

from ncl_landscape import losses
from ncl_landscape.config import Hyper, RunConfig
from ncl_landscape.networks import encode, init_encoder

# loss(params, a1, a2, weights, hyper) -> scalar; a1 feeds the trained side.
LossFn = Callable[[dict, jax.Array, jax.Array, jax.Array, Hyper], jax.Array]


class Phase(NamedTuple):
  name: str
  trains: tuple[str, ...]  # parameter groups this phase moves
  loss: LossFn


class Method(NamedTuple):
  init_params: Callable[[jax.Array], dict]
  phases: tuple[Phase, ...]
  readout: str = "online"  # the group whose encoder the metrics read


def _ncl_phase(cfg: RunConfig, trained: str, fixed: str) -> Phase:
  pair_loss = losses.cosine_loss if cfg.train.ncl_form == "cosine" else losses.inner_product_loss

  def loss(params, a1, a2, weights, hyper):
    del hyper
    z_trained = encode(params[trained], a1, weights, cfg.model)
    z_fixed = encode(params[fixed], a2, weights, cfg.model)
    return pair_loss(z_trained, z_fixed, weights)

  return Phase(name=trained, trains=(trained,), loss=loss)


def _cl_phase(cfg: RunConfig) -> Phase:
  def loss(params, a1, a2, weights, hyper):
    z1 = encode(params["online"], a1, weights, cfg.model)
    z2 = encode(params["online"], a2, weights, cfg.model)
    return losses.nt_xent_loss(z1, z2, weights, hyper.temperature)

  return Phase(name="online", trains=("online",), loss=loss)


def make_method(cfg: RunConfig) -> Method:
  """The parameter groups and phases of cfg.train.method."""
  p, d = cfg.data.p, cfg.data.d

  if cfg.train.method == "cl":
    def init_cl(key):
      return {"online": init_encoder(key, cfg.model, p, d)}
    return Method(init_params=init_cl, phases=(_cl_phase(cfg),))

  def init_ncl(key):
    online_key, target_key = jax.random.split(key)
    return {"online": init_encoder(online_key, cfg.model, p, d),
            "target": init_encoder(target_key, cfg.model, p, d)}
  return Method(init_params=init_ncl,
                phases=(_ncl_phase(cfg, "online", "target"), _ncl_phase(cfg, "target", "online")))
