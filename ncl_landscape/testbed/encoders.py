"""Encoders through one interface, so every method and grid trains any of them.

An `EncoderDef` is four pure functions:
- init(key, M [p, d], hyper) -> params (a pytree; hyper.warm_start_c for a warm start);
- apply(params, a [N, p], weights [N]) -> h(a) [N, m], before any normalisation n(.)
  (weights: BN's per-sample weights, 0 for padding);
- readout(params) -> the [m, p] map that max-cosine and support recovery read;
- project(params, kind) -> params with every weight matrix row- or column-normalised
  (TrainConfig.weight_norm, Figure 7).

'linear' is the paper's encoder (Section 4.1, networks.py), an explicit NamedTuple
pytree: its fields are the paper's symbols (W, b, BN; the two-layer forms of
Figure 3), and the as-run tests compare them with the authors' layers field by field.
'mlp' is a flax.linen module: `depth` layers of width m, each
act(BN(W a + b)) with the configured activation and the project's weighted BN
(exact with padded batches), max-cosine read from its first layer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from ncl_landscape.testbed.networks import (BatchNorm, effective_weight, encode, init_encoder,
                                            init_std, layer, project_rows_or_columns,
                                            warm_start_weight)

if TYPE_CHECKING:
  from ncl_landscape.config import ModelConfig


class EncoderDef(NamedTuple):
  """An encoder as four pure functions: init, apply, readout, project (module docstring)."""
  init: Callable[[jax.Array, jax.Array, Any], Any]
  apply: Callable[[Any, jax.Array, jax.Array], jax.Array]
  readout: Callable[[Any], jax.Array]
  project: Callable[[Any, str], Any]


def linear_encoder(model: ModelConfig, p: int, d: int) -> EncoderDef:
  """The paper's encoder act(BN(W a + b)) and its two-layer forms (Section 4.1; networks.py).

  Args:
    model: the model configuration.
    p: the input dimension.
    d: the number of atoms (sets the default weight scale).

  Returns:
    Its EncoderDef; params are a networks.Encoder, the readout its effective_weight.
  """
  def init(key, M, hyper):
    return init_encoder(key, model, p, d, M, hyper.warm_start_c)

  def project(params, kind):
    return params._replace(W=project_rows_or_columns(params.W, kind))

  return EncoderDef(init, lambda params, a, weights: encode(params, a, weights, model),
                    effective_weight, project)


class SymmetricMLP(nn.Module):
  """`depth` layers act(BN(W a + b)) of width m.

  W ~ N(0, 1/(fan_in d)) unless init_std is given (the first layer's fan-in p: the paper's
  scale), b as ModelConfig.bias_init, BN's gamma 1 and beta 0.
  """
  m: int
  depth: int
  d: int
  activation: str
  batch_norm: bool
  bias_init: str
  init_std: float | None

  @nn.compact
  def __call__(self, a: jax.Array, weights: jax.Array) -> jax.Array:
    """The encoder's output.

    Args:
      a: [N, p] inputs.
      weights: [N] BN's per-sample weights (0 for padding).

    Returns:
      [N, m], before any normalisation n(.).
    """
    for i in range(self.depth):
      fan_in = a.shape[-1]
      std = init_std(fan_in, self.d, self.init_std)
      W = self.param(f"W{i}", nn.initializers.normal(std), (self.m, fan_in))
      bound = 1.0 / fan_in ** 0.5
      b = self.param(f"b{i}", nn.initializers.zeros if self.bias_init == "zero"
                     else _uniform(bound), (self.m,))
      bn = (BatchNorm(self.param(f"bn_scale{i}", nn.initializers.ones, (self.m,)),
                      self.param(f"bn_shift{i}", nn.initializers.zeros, (self.m,)))
            if self.batch_norm else None)
      a = layer(a, W, b, bn, weights, self.activation)
    return a


def _uniform(bound: float):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


def mlp_encoder(model: ModelConfig, p: int, d: int) -> EncoderDef:
  """SymmetricMLP as an EncoderDef.

  A warm start (ModelConfig.init 'warm' or 'swept') acts on the first layer, the one the
  readout reads.

  Args:
    model: the model configuration.
    p: the input dimension.
    d: the number of atoms (sets the default weight scale).

  Returns:
    Its EncoderDef; params are flax's dict, the readout the first layer's W0 [m, p].
  """
  module = SymmetricMLP(model.m, model.depth, d, model.activation, model.batch_norm,
                        model.bias_init, model.init_std)

  def init(key, M, hyper):
    module_key, warm_key = jax.random.split(key)
    params = module.init(module_key, jnp.zeros((1, p)), jnp.ones((1,)))["params"]
    if model.init != "random":
      c = hyper.warm_start_c
      warm = warm_start_weight(warm_key, M, model.m, c)
      params = {**params, "W0": warm if model.init == "warm" else jnp.where(c > 0, warm,
                                                                           params["W0"])}
    return params

  def project(params, kind):
    return {k: project_rows_or_columns(v, kind) if k.startswith("W") else v
            for k, v in params.items()}

  return EncoderDef(init, lambda params, a, weights: module.apply({"params": params}, a, weights),
                    lambda params: params["W0"], project)


ENCODERS = {"linear": linear_encoder, "mlp": mlp_encoder}


def make_encoder(model: ModelConfig, p: int, d: int) -> EncoderDef:
  """The EncoderDef of ModelConfig.encoder.

  Args:
    model: the model configuration.
    p: the input dimension.
    d: the number of atoms.

  Returns:
    The EncoderDef of ENCODERS[model.encoder].

  Raises:
    ValueError: naming the registered encoders, if model.encoder is none of them.
  """
  if model.encoder not in ENCODERS:
    raise ValueError(f"model.encoder must be one of {', '.join(ENCODERS)}; got "
                     f"{model.encoder!r}")
  return ENCODERS[model.encoder](model, p, d)
