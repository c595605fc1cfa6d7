"""The methods: what a run minimises and how its parameters move.

  registry.py    every method by name: its parameter groups, optimiser phases and rules
  losses.py      the paper's criteria (Eq. 4, 6, 9)
  criteria.py    the related families' criteria (VICReg, Barlow Twins, spectral, alpha-CL, ...)
  predictors.py  non-gradient updates after a step: EMA targets, closed-form predictors
"""
