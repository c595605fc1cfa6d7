"""Judging a claim against saved runs: one rule for every experiment.

A claim has parts (e.g. "CL high", "NCL low"), each a Rule tested in every cell (a sparsity,
a mask probability, a warm-start c, ...). A cell holds a part when most of its seeds pass
(strictly more than half), each seed's value tested at full precision; its mean is shown
beside the count, and a mean within one standard error of the rule's boundary marks the
cell 'borderline'. A part is reproduced when most of its cells hold, partly when at least a
third do, else not reproduced; a claim is as reproduced as its weakest part (RULE). Only
runs with status 'ok' enter a cell; the others are counted by status and shown.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import NamedTuple

import numpy as np

DIGITS = 3  # digits of the numbers the report shows (more where a threshold needs them)
MOST = 1 / 2  # a cell holds when more than this fraction of its seeds pass
PARTLY = 1 / 3  # a part is 'partly' when at least this fraction of its cells hold
WORDS = ("not reproduced", "partly", "reproduced")  # weakest first
SHOWN = 6  # failing cells a part names in words (the table lists them all)
RULE = ("A cell holds a part of a claim when most of its seeds pass it (each seed's value "
        "tested at full precision); a mean within one standard error (sample std, ddof 1, "
        "over sqrt(seeds)) of the threshold is called borderline. A part is 'reproduced' "
        "when most of its cells hold, 'partly' when at least a third do, else 'not "
        "reproduced'; a claim is as reproduced as its weakest part. Every part prints k of n "
        "cells, and every cell whose seeds split prints k of n seeds.")


def fmt(x: float, digits: int = DIGITS) -> str:
  """x with `digits` decimals; 'n/a' where x is not finite."""
  return "n/a" if not np.isfinite(x) else f"{x:.{digits}f}"


def fmt_beside(x: float, threshold: float, digits: int = DIGITS) -> str:
  """x with enough decimals that the printed value sits on its side of threshold.

  Tries `digits` to 6 decimals; a nonzero magnitude below 0.01 is written in scientific notation.
  """
  if np.isfinite(x) and 0 < abs(x) < 0.01:
    return f"{x:.2e}"
  for digits in range(digits, 7):
    shown = round(float(x), digits)
    if (shown >= threshold) == (x >= threshold) and (shown > threshold) == (x > threshold):
      return fmt(x, digits)
  return fmt(x, 6)


class MissingArm(ValueError):
  """A verdict asked about runs the results do not hold."""


class Stat(NamedTuple):
  """The ok runs of one cell: mean and sample std (ddof 1) of their values."""
  mean: float
  std: float
  ok: int
  excluded: tuple = ()  # (status, count) of the runs not 'ok': diverged, unbounded, ...
  values: tuple = ()  # the ok runs' values
  seeds: tuple = ()  # their seeds, in the same order

  @property
  def sem(self) -> float:
    """Standard error of the mean (NaN for fewer than two runs)."""
    return self.std / np.sqrt(self.ok) if self.ok > 1 else float("nan")

  def __str__(self) -> str:
    text = "n/a" if self.ok == 0 else fmt(self.mean) + (
        f" +- {fmt(self.std)}" if self.ok > 1 else " (one run)")
    return text + excluded_text(self.excluded)


def not_ok_text(statuses) -> str:
  """The runs whose status is not 'ok', by status, e.g. '2 diverged, 1 collapsed'; '' if none."""
  return ", ".join(f"{n} {status}" for status, n in count_statuses(statuses))


def excluded_text(excluded) -> str:
  """' (2 diverged) (1 collapsed)': a Stat's excluded (status, count) pairs, as its text ends."""
  return "".join(f" ({n} {status})" for status, n in excluded if n)


def stat(values, seeds=(), excluded=()) -> Stat:
  """The Stat of one cell's ok runs: mean and sample std (ddof 1) of their values.

  Args:
    values: the ok runs' values.
    seeds: their seeds, in the same order.
    excluded: (status, count) of the cell's runs not 'ok'.

  Returns:
    Stat; mean NaN without values, std NaN for fewer than two.
  """
  v = np.asarray(values, float)
  return Stat(float(v.mean()) if len(v) else float("nan"),
              float(v.std(ddof=1)) if len(v) > 1 else float("nan"), len(v),
              tuple(excluded), tuple(v.tolist()), tuple(seeds))


def count_statuses(statuses) -> tuple:
  """(status, count) of every status other than 'ok', sorted by status."""
  counts = collections.Counter(s for s in statuses if s != "ok")
  return tuple(sorted(counts.items()))


def group_stats(rows: list[dict], keys: tuple[str, ...], value: str) -> dict[tuple, Stat]:
  """Stat of a summary.csv column over the ok runs of each group of rows.

  Args:
    rows: summary.csv rows, {column: string}.
    keys: the columns whose values define a group.
    value: the column summarised.

  Returns:
    {the keys' values (strings): Stat}, sorted by group; its seeds are the rows' 'seed' ('' where a
    row has none), and the runs not ok are counted by status.
  """
  groups = collections.defaultdict(list)
  for r in rows:
    groups[tuple(r[k] for k in keys)].append(r)
  out = {}
  for g, members in sorted(groups.items()):
    ok = [r for r in members if r["status"] == "ok"]
    out[g] = stat([float(r[value]) for r in ok], [r.get("seed", "") for r in ok],
                  count_statuses(r["status"] for r in members))
  return out


def paired(a: Stat, b: Stat, same_runs: bool = False) -> Stat:
  """Per-seed differences a - b, over the seeds both hold, as a Stat.

  Runs with the same seed share their data and initialisation.

  Args:
    a, b: Stats with their seeds.
    same_runs: a and b are two readings of the same runs (an end and a start), so the runs not ok
      are counted once.

  Returns:
    Stat of the differences; its excluded runs are a's, plus b's unless same_runs.
  """
  b_by_seed = dict(zip(b.seeds, b.values))
  pairs = [(s, v - b_by_seed[s]) for s, v in zip(a.seeds, a.values) if s in b_by_seed]
  excluded = collections.Counter(dict(a.excluded)) + (
      collections.Counter() if same_runs else collections.Counter(dict(b.excluded)))
  return stat([d for _, d in pairs], [s for s, _ in pairs], tuple(sorted(excluded.items())))


@dataclasses.dataclass(frozen=True)
class Rule:
  """A test of one value against a threshold, or against a band around it.

  op is '>=', '>', '<' or '<=' against threshold, or 'within': |value - threshold| <= tolerance.
  """
  op: str
  threshold: float
  tolerance: float = 0.0

  def passes(self, value) -> np.ndarray:
    """Whether each value passes: a bool array of the value's shape."""
    v = np.asarray(value, float)
    return {">=": lambda: v >= self.threshold, ">": lambda: v > self.threshold,
            "<": lambda: v < self.threshold, "<=": lambda: v <= self.threshold,
            "within": lambda: np.abs(v - self.threshold) <= self.tolerance}[self.op]()

  def boundary(self, value: float) -> float:
    """The threshold the value is nearest to (a band has two)."""
    if self.op != "within":
      return self.threshold
    return self.threshold + np.sign(value - self.threshold) * self.tolerance

  def __str__(self) -> str:
    if self.op == "within":
      return f"within {self.tolerance:g} of {self.threshold:g}"
    return f"{self.op} {self.threshold:g}"


class Cell(NamedTuple):
  """One cell judged by a rule: its Stat, how many of its values pass, and whether it holds."""
  label: str
  stat: Stat
  rule: Rule
  passing: int  # seeds that pass the rule
  holds: bool  # most seeds pass
  borderline: bool  # the mean lies within one standard error of the rule's boundary
  unit: str = "seeds"  # what the cell's values are: seeds, or runs (seeds x sparsities)

  def text(self) -> str:
    """'sparsity 0.3: 0.729, 2 of 5 seeds' (the count only where the seeds split)."""
    st = self.stat
    mean = fmt_beside(st.mean, self.rule.boundary(st.mean))
    seeds = "" if self.passing in (0, st.ok) else f", {self.passing} of {st.ok} {self.unit}"
    one = ", one seed" if st.ok == 1 and st.seeds else ""
    near = f", borderline (standard error {fmt(st.sem)})" if self.borderline else ""
    return f"{self.label}: {mean}{seeds}{one}{near}" if self.label else f"{mean}{near}"


def judge_cell(label: str, st: Stat, rule: Rule, unit: str = "seeds") -> Cell:
  """Judges one cell: it holds when more than half of its values pass (MOST).

  Each value is tested at full precision. The cell is borderline when it has two or more runs and
  its mean lies within one standard error of the rule's boundary.

  Args:
    label: the cell's name in the text, e.g. 'sparsity 0.3'.
    st: the cell's ok runs.
    rule: the test of each value.
    unit: what the values are: 'seeds', or 'runs' (seeds x sparsities).

  Returns:
    Cell.
  """
  passing = int(rule.passes(np.asarray(st.values)).sum())
  near = st.ok > 1 and abs(st.mean - rule.boundary(st.mean)) <= st.sem
  return Cell(label, st, rule, passing, passing > MOST * st.ok, bool(near), unit)


def word(held: int, cells: int) -> str:
  """The aggregation rule: the word for `held` of `cells` cells holding.

  'reproduced' when most (more than half) hold, 'partly' when at least a third do, else 'not
  reproduced'.
  """
  if cells and held > MOST * cells:
    return WORDS[2]
  return WORDS[1] if cells and held >= PARTLY * cells else WORDS[0]


class Part(NamedTuple):
  """One part of a claim judged in every cell that has an ok run."""
  name: str
  rule: str  # the rule in words, e.g. '>= 0.8'
  cells: tuple  # of Cell
  unjudged: tuple = ()  # labels of cells without an ok run

  @property
  def held(self) -> int:
    """How many of its cells hold."""
    return sum(c.holds for c in self.cells)

  @property
  def word(self) -> str:
    """Its word: reproduced, partly or not reproduced (word)."""
    return word(self.held, len(self.cells))

  @property
  def text(self) -> str:
    """'CL high (>= 0.8): 1 of 2 cells; fails in sparsity 0.3: 0.729, 2 of 5 seeds'."""
    failing = [c.text() for c in self.cells if not c.holds]
    notes = [c.text() for c in self.cells
             if c.holds and (c.borderline or c.passing < c.stat.ok or
                             (c.stat.ok == 1 and c.stat.seeds))]
    head = f"{self.name} ({self.rule})"
    if len(self.cells) == 1:
      text = f"{head}: {'holds' if self.held else 'fails'} ({self.cells[0].text()})"
    else:
      means = [c.stat.mean for c in self.cells]
      text = (f"{head}: {self.held} of {len(self.cells)} cells"
              + (f" ({fmt(min(means))} to {fmt(max(means))})" if not failing else "")
              + (f"; fails in {'; '.join(failing[:SHOWN])}" if failing else "")
              + (f" and {len(failing) - SHOWN} more cells (see the table)"
                 if len(failing) > SHOWN else "")
              + (f"; holds with a caveat (seeds split, one seed or borderline) in "
                 f"{'; '.join(notes)}" if notes else ""))
    return text + (f"; no ok run in {', '.join(self.unjudged)}" if self.unjudged else "")


def judge(name: str, cells: dict[str, Stat], rule: Rule | dict[str, Rule],
          rule_text: str = "") -> Part:
  """The part `name` of a claim, tested in every cell that has an ok run.

  Args:
    name: the part, e.g. 'CL high'.
    cells: cell label -> Stat.
    rule: one Rule for every cell, or cell label -> its Rule.
    rule_text: the rule in words (default str(rule)); needed with a rule per cell.

  Returns:
    Part; the cells without an ok run are listed as unjudged.

  Raises:
    MissingArm: no cell has an ok run.
  """
  rule_of = rule.get if isinstance(rule, dict) else lambda _: rule
  judged = tuple(judge_cell(label, st, rule_of(label)) for label, st in cells.items() if st.ok)
  if not judged:
    raise MissingArm(f"no finished runs for '{name}'")
  return Part(name, rule_text or str(rule), judged,
              tuple(label for label, st in cells.items() if not st.ok))


def single(name: str, value: float, rule: Rule, label: str = "") -> Part:
  """A part of one measured number (a theorem's check): it holds iff the number passes."""
  return judge(name, {label: stat([value])}, rule)


class Verdict(NamedTuple):
  """A claim's verdict: its weakest part's word, and every part's counts."""
  parts: tuple  # of Part
  note: str = ""  # what the parts do not say (e.g. which cells the verdict rests on)

  @property
  def word(self) -> str:
    """The weakest part's word."""
    return min((p.word for p in self.parts), key=WORDS.index)

  def __str__(self) -> str:
    return (f"{self.word}: " + "; ".join(p.text for p in self.parts)
            + (f"; {self.note}" if self.note else ""))

  @property
  def short(self) -> str:
    """'partly: CL above NCL 8 of 8 cells, CL high 1 of 2, NCL low 8 of 8'."""
    counts = [f"{p.name} " + (("holds" if p.held else "fails") if len(p.cells) == 1 else
                              f"{p.held} of {len(p.cells)}" + (" cells" if i == 0 else ""))
              + _splits(p) for i, p in enumerate(self.parts)]
    return f"{self.word}: " + ", ".join(counts)


def _splits(part: Part, shown: int = 2) -> str:
  """' (sparsity 0.1: 2 of 5 seeds, borderline)': the first cells whose seeds split or whose
  mean is borderline, as a summary names them."""
  split = [c for c in part.cells if 0 < c.passing < c.stat.ok or c.borderline]
  named = [f"{c.label + ': ' if c.label else ''}{c.passing} of {c.stat.ok} {c.unit}"
           + (", borderline" if c.borderline else "") for c in split[:shown]]
  more = f"; {len(split) - shown} more" if len(split) > shown else ""
  return f" ({'; '.join(named)}{more})" if named else ""


def verdict(*parts: Part, note: str = "") -> Verdict:
  """The Verdict of a claim's parts, with a note of what they do not say."""
  return Verdict(tuple(parts), note)

