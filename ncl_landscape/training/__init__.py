"""Training: one run, a grid of runs in one compiled call, an experiment's arms.

  hyper.py        the traced scalars a grid sweeps (Hyper)
  train.py        make_train(cfg) -> train(key, hyper, member): one lax.scan over epochs
  permute.py      the per-epoch shuffle
  sweep.py        grids of runs: jit(vmap(train)) per chunk, sharded over devices
  experiment.py   an experiment's arms trained, saved and resumed (run_experiment)
  convergence.py  whether a run had stopped moving at its end
  floor.py        the floor of a training step (`make bench`)
"""
