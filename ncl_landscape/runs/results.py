"""One saved experiment as the report and the comparisons read it: its summary rows, curves,
theory table and settings (docs/results-format.md), and the subsets verdicts count.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ncl_landscape.runs import disk, provenance
from ncl_landscape.runs.directory import is_complete


class Results(NamedTuple):
  """One saved experiment as the report reads it (load)."""
  rows: list[dict]  # summary.csv, one row per run
  curves: dict  # curves.npz
  theory: list[dict]  # theory.csv, for the theorem binaries
  settings: dict = {}  # config.json's settings
  all_rows: list[dict] | None = None  # every row, sparsities of the same runs included


def subset(res: Results, keep: np.ndarray) -> Results:
  """Returns the runs where keep holds, in the rows and in every per-run array of the curves.

  Args:
    res: the experiment's R runs.
    keep: [R] bool.
  """
  runs = len(res.rows)
  curves = {k: v[keep] if k != "epochs" and np.ndim(v) and len(v) == runs else v
            for k, v in res.curves.items()}
  return res._replace(rows=[r for r, k in zip(res.rows, keep) if k], curves=curves)


def without_repeats(res: Results) -> Results:
  """Returns each run once, so no verdict counts a cell twice; all_rows keeps every row.

  In each arm, the sparsities that draw the same latents as an earlier one (same_runs, e.g.
  0.2 beside 0.1 with fixed-count latents at d = 10, not at d = 20) are left out.
  """
  same = provenance.same_runs(res.settings)
  if not same or "sparsity" not in res.curves:
    return res._replace(all_rows=res.all_rows or res.rows)
  repeat = np.zeros(len(res.rows), bool)
  for arm, groups in same.items():
    repeats = [s for group in groups for s in group[1:]]
    in_arm = np.ones(len(repeat), bool) if arm is None else res.curves["method"] == arm
    repeat |= in_arm & np.isclose(res.curves["sparsity"][:, None],
                                  np.asarray(repeats)[None]).any(1)
  return subset(res, ~repeat)._replace(all_rows=res.rows)


def load(directory: str) -> tuple[Results, dict] | None:
  """(Results, config.json) of a complete experiment, else None."""
  if not is_complete(directory):
    return None
  config = disk.load_json(os.path.join(directory, "config.json"))
  theory_path = os.path.join(directory, "theory.csv")
  res = Results(disk.load_summary(os.path.join(directory, "summary.csv")),
                disk.load_curves(os.path.join(directory, "curves.npz")),
                disk.load_summary(theory_path) if os.path.exists(theory_path) else [],
                config.get("settings", {}))
  return res, config
