"""Traced hyperparameters: the scalars a grid sweeps, one value per run.

They are traced arguments of `train` (train.py), so one compile serves every value;
a grid stacks them along a leading run axis (sweep.py).
"""
from __future__ import annotations

import math
from typing import NamedTuple


class Hyper(NamedTuple):
  """Traced scalars of one run; a grid stacks them along a leading run axis."""
  sparsity: float = 0.1
  mask_prob: float = 0.5
  lr: float = 0.005
  temperature: float = 0.05
  warm_start_c: float = 1.0


HYPER_RANGES = {
    "sparsity": ("(0, 1]", lambda v: 0 < v <= 1),
    "mask_prob": ("[0, 1)", lambda v: 0 <= v < 1),
    "lr": ("(0, inf)", lambda v: 0 < v < math.inf),
    "temperature": ("(0, inf)", lambda v: 0 < v < math.inf),
    "warm_start_c": ("(0, inf)", lambda v: 0 < v < math.inf),
}


def check_hyper_values(name: str, values) -> None:
  """Raises ValueError naming the swept scalar and its range if any value is outside it.

  Args:
    name: a Hyper field (a key of HYPER_RANGES).
    values: the values swept.
  """
  allowed, ok = HYPER_RANGES[name]
  bad = [v for v in values if not ok(v)]
  if bad:
    raise ValueError(f"{name} must lie in {allowed}; got {bad[0]}")
