"""Judging a claim against saved runs: per-cell statistics, checks and their seed spread.

A check applies one test to the mean over seeds of every cell (a sparsity, a mask
probability, a warm-start c, ...). The mean is rounded to the digits the report shows
before it is tested, so a displayed 0.800 never fails a ">= 0.8" test. Every check also
asks whether its outcome hangs on one seed: if dropping any single seed of a cell flips
that cell's outcome, the check says so. Diverged runs never enter a mean: they are
counted and shown.
"""
from __future__ import annotations

import collections
from typing import Callable, NamedTuple

import numpy as np

DIGITS = 3  # digits of every number the report shows, and of what a verdict tests


def shown(x: float) -> float:
  """x as the report shows it."""
  return round(float(x), DIGITS)


def fmt(x: float) -> str:
  return "n/a" if not np.isfinite(x) else f"{x:.{DIGITS}f}"


class MissingArm(ValueError):
  """A verdict asked about runs the results do not hold."""


class Stat(NamedTuple):
  mean: float
  std: float
  ok: int
  diverged: int
  values: tuple = ()  # the ok runs' values
  seeds: tuple = ()  # their seeds, in the same order

  def __str__(self) -> str:
    text = "n/a" if self.ok == 0 else f"{fmt(self.mean)} +- {fmt(self.std)}"
    return text + (f" ({self.diverged} diverged)" if self.diverged else "")


def stat(values, seeds=(), diverged: int = 0) -> Stat:
  """Mean and std of the values (NaN when there are none)."""
  v = np.asarray(values, float)
  return Stat(float(v.mean()) if len(v) else float("nan"),
              float(v.std()) if len(v) else float("nan"), len(v), diverged, tuple(v.tolist()),
              tuple(seeds))


def group_stats(rows: list[dict], keys: tuple[str, ...], value: str) -> dict[tuple, Stat]:
  """Stat of `value` over the ok runs of each group of `keys` (summary.csv rows)."""
  groups = collections.defaultdict(list)
  for r in rows:
    groups[tuple(r[k] for k in keys)].append(r)
  out = {}
  for g, members in sorted(groups.items()):
    ok = [r for r in members if r["status"] == "ok"]
    out[g] = stat([float(r[value]) for r in ok], [r.get("seed", "") for r in ok],
                  len(members) - len(ok))
  return out


class Check(NamedTuple):
  holds: bool
  text: str  # the claim part, its threshold, the numbers, and any fragility


def check(name: str, cells: dict[str, Stat], test: Callable[[float], bool], rule: str) -> Check:
  """test(shown cell mean) in every cell. rule: the test in words, e.g. '>= 0.8'.

  Raises MissingArm when no cell has a run."""
  judged = {label: st for label, st in cells.items() if st.ok}
  if not judged:
    raise MissingArm(f"no finished runs for '{name}'")
  failing = [label for label, st in judged.items() if not test(shown(st.mean))]
  means = [shown(st.mean) for st in judged.values()]
  if failing:
    numbers = "; ".join(f"{label}: {fmt(judged[label].mean)}" for label in failing)
    text = f"{name} ({rule}): fails in {len(failing)} of {len(judged)} cells ({numbers})"
  elif len(means) == 1:
    text = f"{name} ({rule}): holds ({fmt(means[0])})"
  else:
    text = (f"{name} ({rule}): holds in all {len(judged)} cells "
            f"({fmt(min(means))} to {fmt(max(means))})")
  notes = [fragility(label, st, test) for label, st in judged.items()]
  notes = [n for n in notes if n]
  if notes:
    text += "; " + "; ".join(notes)
  unjudged = [label for label, st in cells.items() if not st.ok]
  if unjudged:
    text += f"; no ok run in {', '.join(unjudged)}"
  return Check(not failing, text)


def fragility(label: str, st: Stat, test: Callable[[float], bool]) -> str:
  """'' unless the cell's outcome rests on one seed: a single seed, or one seed whose removal
  flips it."""
  if st.ok == 1:
    return f"{label} rests on one seed"
  outcome = test(shown(st.mean))
  values = np.asarray(st.values)
  for i in range(len(values)):
    if test(shown(np.delete(values, i).mean())) != outcome:
      seed = st.seeds[i] if st.seeds else i
      return f"{label} hangs on one seed (without seed {seed} it {'fails' if outcome else 'holds'})"
  return ""


def paired(a: Stat, b: Stat) -> Stat:
  """Per-seed differences a - b over the seeds both hold (runs with the same seed share their
  data and initialisation)."""
  b_by_seed = dict(zip(b.seeds, b.values))
  pairs = [(s, v - b_by_seed[s]) for s, v in zip(a.seeds, a.values) if s in b_by_seed]
  return stat([d for _, d in pairs], [s for s, _ in pairs], a.diverged + b.diverged)


def overall(checks: list[Check], required: int) -> str:
  """'reproduced' if every check holds, 'not reproduced' if one of the first `required`
  (the claim's core) fails, else 'partly'."""
  if all(c.holds for c in checks):
    return "reproduced"
  if not all(c.holds for c in checks[:required]):
    return "not reproduced"
  return "partly"


def verdict_text(checks: list[Check], required: int) -> str:
  return overall(checks, required) + ": " + "; ".join(c.text for c in checks)
