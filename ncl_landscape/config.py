"""Run configuration: the static choices (shapes, structure) of a run.

A `RunConfig` fixes everything that changes array shapes or the structure of the
computation; it is hashable and closed over by `train.make_train`. The scalars a grid
sweeps are traced instead (training/hyper.py), so one compile serves a whole figure. The
module imports nothing of the package: method and encoder names are checked where they are
resolved (methods/registry.py, testbed/encoders.py).
"""
from __future__ import annotations

import dataclasses
import math

LATENTS = ("bernoulli", "fixed_count", "one_hot", "zero_one")
ONE_HOT_SIGNS = ("per_sample", "per_dataset", "positive")
DICTIONARIES = ("orthonormal", "identity")
ACTIVATIONS = ("srelu_code", "srelu_paper", "relu", "linear")
BIAS_INITS = ("zero", "uniform")
INITS = ("random", "warm", "swept")
PREDICTORS = ("none", "linear", "linear_bias")
HEAD_INITS = ("torch_uniform", "gaussian")
TWO_LAYER_FORMS = ("code", "product")
WEIGHT_NORMS = ("none", "row", "column")
NCL_FORMS = ("cosine", "inner")
MASKS = ("independent", "dependent")
ALTERNATIONS = ("per_batch", "pair")
OPTIMIZERS = ("sgd", "momentum", "adam")
MASK_RNGS = ("hash", "threefry")
DIRECTCOPY_NORMS = ("frobenius", "spectral", "none")


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
  if value not in allowed:
    raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _check_positive(name: str, value: int) -> None:
  if value < 1:
    raise ValueError(f"{name} must be a positive integer; got {value}")


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Sparse coding model x = M z + eps (Eq. 1 of the paper; docs/methods.md).

  latent: 'bernoulli' (paper: i.i.d. {-1,0,+1}, P(z_i != 0) = sparsity, at least one
    non-zero), 'fixed_count' (authors' code: a fixed number of -1 and +1 per sample),
    'one_hot' (Figure 1), 'zero_one' ({0,1}, at least one non-zero).
  one_hot_sign: 'per_sample' (paper text), 'per_dataset' (NCL script), 'positive' (CL script).
  noise_std: s0; None means the code's default sqrt(ln d) / d.
  """
  n: int = 3000
  p: int = 50
  d: int = 10
  latent: str = "fixed_count"
  one_hot_sign: str = "per_sample"
  dictionary: str = "orthonormal"
  noise_std: float | None = None

  @property
  def noise(self) -> float:
    """s0: noise_std, or sqrt(ln d) / d when it is None."""
    return math.sqrt(math.log(self.d)) / self.d if self.noise_std is None else self.noise_std

  def validate(self) -> None:
    """Raises a ValueError naming an invalid field (d <= p for a column-orthonormal M)."""
    for name in ("n", "p", "d"):
      _check_positive(name, getattr(self, name))
    if self.d > self.p:
      raise ValueError(f"d must be <= p for a column-orthonormal M; got d={self.d}, p={self.p}")
    _check_choice("latent", self.latent, LATENTS)
    _check_choice("one_hot_sign", self.one_hot_sign, ONE_HOT_SIGNS)
    _check_choice("dictionary", self.dictionary, DICTIONARIES)
    if self.noise_std is not None and not self.noise_std >= 0:
      raise ValueError(f"noise_std must be >= 0; got {self.noise_std}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Encoder h(a) = act(BN(W a + b)), W in R^{m x p} (Section 4.1).

  activation: 'srelu_code' (relu(u) - relu(2b - u), the authors' code), 'srelu_paper'
    (Eq. 14 on u = W a, or BN(W a) with batch_norm, threshold b), 'relu', 'linear'.
  bias_init: 'zero' (paper text) or 'uniform' U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (code; fan_in
    p for the first layer, m for a deeper one).
  init_std: std of W's entries; None means sqrt(1 / (p d)).
  init: 'random', 'warm' (rows of W are columns of M plus N(0, p^-c); c = Hyper.warm_start_c)
    or 'swept' (random where c = 0, else warm: one compile serves both).
  layers: 1, or 2 for a two-layer encoder (Figure 3) of the form two_layer: 'code'
    (Linear-[BN]-activation twice, each layer its own bias, metrics read the first
    layer, as the authors' code) or 'product' (act(BN(W W1 a + b)), the text's product
    of two linear maps).
  predictor: 'none', 'linear' (W^p, Eq. 8) or 'linear_bias' (W^p v + b^p, Eq. 5), applied
    to the unnormalised output of the trained side, normalised after it.
  head_init: init of every linear head (predictor, projectors): 'torch_uniform' (weight and
    bias U(+-1/sqrt(fan_in)), as the authors' code) or 'gaussian' (weight N(0, init_std^2)).
  simsiam_projector: Simplified-SimSiam with its projector (the code's model) or without
    (the text's "encoder + predictor").
  encoder: 'linear' (the paper's encoder above) or 'mlp' (`depth` layers of width m, each
    act(BN(W a + b)); encoders.py), max-cosine read from its first layer.
  """
  m: int = 50
  activation: str = "srelu_code"
  bias_init: str = "uniform"
  batch_norm: bool = False
  normalize_repr: bool = False
  init_std: float | None = None
  init: str = "random"
  layers: int = 1
  two_layer: str = "code"
  predictor: str = "none"
  head_init: str = "torch_uniform"
  simsiam_projector: bool = True
  encoder: str = "linear"
  depth: int = 2

  def validate(self) -> None:
    """Raises a ValueError naming an invalid field or combination of fields."""
    _check_positive("m", self.m)
    _check_positive("depth", self.depth)
    if self.encoder != "linear" and self.layers != 1:
      raise ValueError(f"layers applies to the linear encoder; the {self.encoder} encoder "
                       "has depth")
    _check_choice("activation", self.activation, ACTIVATIONS)
    _check_choice("bias_init", self.bias_init, BIAS_INITS)
    _check_choice("init", self.init, INITS)
    _check_choice("predictor", self.predictor, PREDICTORS)
    _check_choice("head_init", self.head_init, HEAD_INITS)
    _check_choice("two_layer", self.two_layer, TWO_LAYER_FORMS)
    if self.layers not in (1, 2):
      raise ValueError(f"layers must be 1 or 2; got {self.layers}")
    if self.layers == 2 and self.init != "random":
      raise ValueError("a warm start needs a one-layer encoder (layers=1)")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Optimisation and method structure.

  method: 'ncl' (online + target encoders, alternating steps, Eq. 4 / Eq. 6), 'cl'
    (one shared encoder, NT-Xent Eq. 9), 'simclr' (CL with a linear projector) or
    'simsiam' (encoder, projector, predictor, symmetric negative cosine; Table 1); any
    criterion of the registry (methods/registry.py; one shared encoder); 'byol',
    'directpred', 'directcopy' (EMA target and predictor rules, methods/predictors.py).
  weight_norm: 'none', or 'row' / 'column' normalisation of every encoder W after
    every optimiser step (Figure 7, Theorem 3).
  ncl_form: 'cosine' (Eq. 4, normalised outputs, as coded) or 'inner' (Eq. 6).
  mask: 'independent' (Eq. 3) or 'dependent' (Eq. 2).
  alternation: 'per_batch' (the side trained flips every batch and restarts with the
    online side each epoch, as coded) or 'pair' (an online then a target step per batch).
  drop_last: drop the last partial batch (the code's SimCLR loader) or keep it with
    per-sample weights (the code's NCL loader).
  log_every: epochs between logged points of the curves.
  mask_rng: bit source of the masks, 'hash' (fast) or 'threefry' (see augment.py).
  ema_base: BYOL's tau_base of the target EMA (predictor methods).
  directcopy_norm: DirectCopy's normalisation of F, 'frobenius', 'spectral' or 'none'.
  """
  method: str = "ncl"
  ncl_form: str = "cosine"
  mask: str = "independent"
  alternation: str = "per_batch"
  optimizer: str = "sgd"
  batch_size: int = 512
  drop_last: bool = False
  epochs: int = 8000
  log_every: int = 80
  mask_rng: str = "hash"
  weight_norm: str = "none"
  ema_base: float = 0.99
  directcopy_norm: str = "frobenius"

  def validate(self) -> None:
    """Raises a ValueError naming an invalid field."""
    _check_choice("directcopy_norm", self.directcopy_norm, DIRECTCOPY_NORMS)
    if not 0 <= self.ema_base < 1:
      raise ValueError(f"ema_base must lie in [0, 1); got {self.ema_base}")
    _check_choice("ncl_form", self.ncl_form, NCL_FORMS)
    _check_choice("mask", self.mask, MASKS)
    _check_choice("alternation", self.alternation, ALTERNATIONS)
    _check_choice("optimizer", self.optimizer, OPTIMIZERS)
    _check_choice("mask_rng", self.mask_rng, MASK_RNGS)
    _check_choice("weight_norm", self.weight_norm, WEIGHT_NORMS)
    for name in ("batch_size", "epochs", "log_every"):
      _check_positive(name, getattr(self, name))


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A run's static configuration: its data, model and training sections."""
  data: DataConfig = DataConfig()
  model: ModelConfig = ModelConfig()
  train: TrainConfig = TrainConfig()

  def validate(self) -> "RunConfig":
    """Validates every section and their combination; returns self, or raises a ValueError."""
    self.data.validate()
    self.model.validate()
    self.train.validate()
    if self.train.drop_last and self.train.batch_size > self.data.n:
      raise ValueError(
          f"batch_size must be <= n when drop_last; got batch_size={self.train.batch_size}, "
          f"n={self.data.n}")
    return self

  @property
  def steps_per_epoch(self) -> int:
    """Batches per epoch: n // batch_size when drop_last, else ceil(n / batch_size)."""
    n, b = self.data.n, self.train.batch_size
    return n // b if self.train.drop_last else -(-n // b)

  def replace(self, **sections) -> "RunConfig":
    """Replace fields by section: cfg.replace(train=dict(epochs=10), model=dict(m=20))."""
    new = {k: dataclasses.replace(getattr(self, k), **v) for k, v in sections.items()}
    return dataclasses.replace(self, **new)

  def to_dict(self) -> dict:
    """The configuration as nested dicts, one per section."""
    return dataclasses.asdict(self)
