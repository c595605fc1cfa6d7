"""ncl_landscape: which self-supervised losses recover a known dictionary, and why.

A pure-JAX testbed of Pokle, Tian, Li and Risteski (AISTATS 2022): sparse coding data
x = M z + eps (Eq. 1), masked views, dual networks trained by alternating optimiser steps,
and the recovery of M read by max-cosine (Eq. 12). The folders, by role:

  testbed/   the data model, the views, the encoders and the recovery metrics
  methods/   the method registry, the paper's losses, the related criteria, the predictors
  training/  one run (train), a grid of runs in one compiled call (sweep), an experiment's
             arms trained, saved and resumed (experiment), and whether a run had settled
  runs/      results on disk: files, resumable chunks, a saved experiment, its provenance
  report/    the paper's claims and the one rule that judges them, REPORT.md, the surveys
  plots/     figures, drawn only from saved results
  config.py  the static RunConfig; theory.py the closed forms of Theorems 1-3

The public API, re-exported here:

  cfg = RunConfig(train=TrainConfig(method="ncl", epochs=20, log_every=5))
  grid = make_grid(base_seed=0, seeds=5, base=Hyper(lr=0.025), sparsity=(0.1, 0.3))
  out = run_grid(cfg, grid)  # 10 networks, one compiled call
"""
from ncl_landscape.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ncl_landscape.methods.registry import METHODS, criterion_method, register
from ncl_landscape.runs.directory import load_run
from ncl_landscape.testbed.metrics import max_cosine
from ncl_landscape.training.experiment import Arm, run_experiment
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import Grid, make_grid, run_grid
from ncl_landscape.training.train import make_train

__all__ = ["Arm", "DataConfig", "Grid", "Hyper", "METHODS", "ModelConfig", "RunConfig",
           "TrainConfig", "criterion_method", "load_run", "make_grid", "make_train",
           "max_cosine", "register", "run_experiment", "run_grid"]
