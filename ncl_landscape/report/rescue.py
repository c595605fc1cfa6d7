"""The rescue map: from how far a start each mechanism still recovers the dictionary.

Reads a rescue experiment's curves (curves.npz): every run's minimum max-cosine at
initialisation and at the end, its start (warm-start exponent c, 0 for a random start),
sparsity, width and status. A start level is one (mechanism, width, sparsity, c) cell;
its runs differ by seed. Pure NumPy, so the figure, the REPORT and the tests share it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ncl_landscape.report.verdicts import MOST
from ncl_landscape.thresholds import HIGH

RECOVERED_AT = HIGH  # default: a final minimum max-cosine at least this is "recovered"


def arm_name(mechanism: str, width: int) -> str:
  """The summary's method name of a mechanism at encoder width m, e.g. 'ncl_pred_m20'."""
  return f"{mechanism}_m{width}"


def split_arm(name: str) -> tuple[str, int]:
  """'ncl_pred_m20' -> ('ncl_pred', 20)."""
  mechanism, width = name.rsplit("_m", 1)
  return mechanism, int(width)


class Level(NamedTuple):
  """The ok runs of one start level."""
  c: float  # warm-start exponent, 0 for a random start
  initial: np.ndarray  # [seeds] initial minimum max-cosine
  final: np.ndarray  # [seeds] final minimum max-cosine
  diverged: int  # runs of the level that are not ok (left out)
  recovered: float  # fraction of the ok seeds whose final value reaches the threshold
  moving: int  # ok runs still moving at the end (convergence.py)

  @property
  def rescued(self) -> bool:
    """Most of the level's ok seeds recover (verdicts.MOST); False without an ok seed."""
    return bool(self.recovered > MOST)

  @property
  def seeds_recovered(self) -> tuple[int, int]:
    """(k, n): k of the level's n ok seeds recover."""
    n = len(self.final)
    return (int(round(self.recovered * n)) if n else 0), n

  @property
  def split(self) -> str:
    """'1 of 2 seeds' where the seeds split, else ''."""
    k, n = self.seeds_recovered
    return f"{k} of {n} seeds" if 0 < k < n else ""


def levels(curves: dict, mechanism: str, width: int, sparsity: float,
           recovered_at: float = RECOVERED_AT) -> list[Level]:
  """The start levels of one (mechanism, width, sparsity), farthest start first.

  Args:
    curves: {name: [runs] or [runs, logged points]} as a rescue experiment's curves.npz holds them.
    mechanism, width: the arm (arm_name).
    sparsity: the cell's sparsity.
    recovered_at: the final minimum max-cosine that counts as recovered.

  Returns:
    [Level], one per warm_start_c, by the mean initial minimum max-cosine (a level without an ok run
    last).
  """
  sel = (curves["method"] == arm_name(mechanism, width)) & np.isclose(curves["sparsity"],
                                                                      sparsity)
  out = []
  for c in np.unique(curves["warm_start_c"][sel]):
    runs = sel & np.isclose(curves["warm_start_c"], c)
    ok = runs & (curves["status"] == "ok")
    initial, final = curves["maxcos_min"][ok, 0], curves["maxcos_min"][ok, -1]
    moving = int(np.sum(curves["convergence"][ok] == "still_moving")) \
        if "convergence" in curves else 0
    out.append(Level(float(c), initial, final, int(np.sum(runs & ~ok)),
                     float(np.mean(final >= recovered_at)) if ok.any() else float("nan"),
                     moving))
  return sorted(out, key=lambda lv: np.mean(lv.initial) if len(lv.initial) else np.inf)


class Border(NamedTuple):
  """The farthest start from which training still recovers, and how sure that is."""
  initial: float | None  # mean initial minimum max-cosine of the border level; None: never
  low: float | None  # seed spread (min, max) of that level's initial minimum max-cosine
  high: float | None
  c: float | None  # the border level's c (0: the random start)
  beyond: str = ""  # the first start not rescued, where its seeds split: '1 of 2 seeds at 0.50'
  moving: int = 0  # runs of the border level and the next farther one still moving at the end


NO_BORDER = Border(None, None, None, None)


def border(lvls: list[Level]) -> Border:
  """The Border: the farthest start level rescued with every closer level.

  A level is rescued when most of its seeds recover, so the recovered region reaches the closest
  start. Where the seeds of the first start not rescued (the next farther one, or the closest when
  none is rescued) split, or runs that decide the border were still moving, the border says so.

  Args:
    lvls: one cell's levels, farthest first (levels).

  Returns:
    Border; NO_BORDER (with those notes) if the closest start itself is not rescued.
  """
  found, index = NO_BORDER, len(lvls)
  for i in reversed(range(len(lvls))):
    if not lvls[i].rescued:
      break
    lv, index = lvls[i], i
    found = Border(float(np.mean(lv.initial)), float(np.min(lv.initial)),
                   float(np.max(lv.initial)), lv.c)
  nxt = lvls[index - 1] if index > 0 else None
  beyond = (f"{nxt.split} at {np.mean(nxt.initial):.2f}" if nxt is not None and nxt.split
            else "")
  moving = sum(lv.moving for lv in lvls[max(index - 1, 0):index + 1])
  return found._replace(beyond=beyond, moving=moving)


def borders(curves: dict, recovered_at: float = RECOVERED_AT) -> dict[tuple, Border]:
  """(mechanism, width, sparsity) -> Border, for every cell in the curves.

  Args:
    curves: {name: [runs] or [runs, logged points]} as a rescue experiment's curves.npz holds them.
    recovered_at: the final minimum max-cosine that counts as recovered.
  """
  out = {}
  for name in dict.fromkeys(curves["method"]):
    mechanism, width = split_arm(str(name))
    for sparsity in np.unique(curves["sparsity"][curves["method"] == name]):
      out[(mechanism, width, float(sparsity))] = border(
          levels(curves, mechanism, width, float(sparsity), recovered_at))
  return out


def border_text(b: Border) -> str:
  """'0.69 [0.65, 0.72]; 1 of 2 seeds at 0.50; 2 runs moving' (the notes where they apply)."""
  text = "none" if b.initial is None else f"{b.initial:.2f} [{b.low:.2f}, {b.high:.2f}]"
  notes = [b.beyond] if b.beyond else []
  notes += [f"{b.moving} run{'s' if b.moving > 1 else ''} moving"] if b.moving else []
  return "; ".join([text, *notes])


def reach(b: Border) -> float:
  """How far the border reaches, for ranking: lower is farther; never = 2."""
  return 2.0 if b.initial is None else b.initial


def _rescuing(b: Border, recovered_at: float) -> Border:
  """b if it rescues a start below the threshold (for some seed), else NO_BORDER."""
  return b if b.initial is not None and b.low < recovered_at else NO_BORDER


def improved(curves: dict, mechanism: str) -> tuple[int, int]:
  """(ok runs of the mechanism that end above where they started, ok runs), over all its cells."""
  sel = np.array([split_arm(str(a))[0] == mechanism for a in curves["method"]]) & (
      curves["status"] == "ok")
  return int(np.sum(curves["maxcos_min"][sel, -1] > curves["maxcos_min"][sel, 0])), int(sel.sum())


def random_recovers(curves: dict, mechanism: str, width: int, sparsity: float,
                    recovered_at: float) -> bool:
  """Whether the cell's random start (c = 0) is rescued: most of its ok seeds recover.

  Args:
    curves: {name: [runs] or [runs, logged points]} as a rescue experiment's curves.npz holds them.
    mechanism, width, sparsity: the cell.
    recovered_at: the final minimum max-cosine that counts as recovered.
  """
  random = [lv for lv in levels(curves, mechanism, width, sparsity, recovered_at) if lv.c == 0]
  return bool(random) and random[0].rescued


def random_rescues(curves: dict, mechanism: str, found: dict,
                   recovered_at: float) -> list[tuple[int, float]]:
  """The (width, sparsity) cells of a mechanism whose random start recovers (random_recovers).

  The border need not reach the random start.

  Args:
    curves: {name: [runs] or [runs, logged points]} as a rescue experiment's curves.npz holds them.
    mechanism: the mechanism.
    found: borders(curves, recovered_at): its keys are the cells looked at.
    recovered_at: the final minimum max-cosine that counts as recovered.
  """
  return [(width, sparsity) for (m, width, sparsity) in found
          if m == mechanism and random_recovers(curves, m, width, sparsity, recovered_at)]


def still_moving(curves: dict, mechanism: str) -> str:
  """'k / n': the ok runs of the mechanism still moving at the end (convergence.py).

  'n/a' for results without the convergence flag.
  """
  if "convergence" not in curves:
    return "n/a"
  sel = np.array([split_arm(str(a))[0] == mechanism for a in curves["method"]]) & (
      curves["status"] == "ok")
  return f"{int(np.sum(curves['convergence'][sel] == 'still_moving'))} / {int(sel.sum())}"


def _moves(found: dict, mechanisms: list[str], cells: list[tuple],
           recovered_at: float) -> list[str]:
  """How each mechanism's border moves between two cells (first, last, what is held), where
  it rescues in at least one of them: farther, less far, or not."""
  farther, nearer, same = [], [], []
  for m in mechanisms:
    for first, last, other in cells:
      real = [found.get((m, *key), NO_BORDER) for key in (first, last)]
      a, b = (_rescuing(r, recovered_at) for r in real)
      if a is NO_BORDER and b is NO_BORDER:
        continue
      text = f"{m} ({other}: {border_text(real[0])} -> {border_text(real[1])})"
      if reach(b) < reach(a):
        farther.append(text)
      elif reach(b) > reach(a):
        nearer.append(text)
      else:
        same.append(f"{m} ({other})")
  return [f"reaches farther: {'; '.join(farther) or 'none'}",
          f"reaches less far: {'; '.join(nearer) or 'none'}",
          f"unchanged: {', '.join(same) or 'none'}"]


def summary(curves: dict, order: tuple[str, ...] = (),
            recovered_at: float = RECOVERED_AT) -> tuple[str, list[str]]:
  """The rescue map's REPORT verdict and lines: the borders ranked, then what the map supports.

  The borders are ranked farthest reach first. A border at a start already at or above the threshold
  only keeps a recovered start: it rescues nothing.

  Args:
    curves: {name: [runs] or [runs, logged points]} as a rescue experiment's curves.npz holds them.
    order: the order of mechanisms of equal reach (the settings'); the others after them.
    recovered_at: the final minimum max-cosine that counts as recovered.

  Returns:
    (the verdict, a sentence; the table and the statements, each with its numbers).
  """
  found = borders(curves, recovered_at)
  mechanisms = list(dict.fromkeys(m for m, _, _ in found))
  mechanisms = [m for m in order if m in mechanisms] + [m for m in mechanisms if m not in order]
  widths = sorted({w for _, w, _ in found})
  sparsities = sorted({s for _, _, s in found})
  mean_reach = {m: np.mean([reach(b) for (k, _, _), b in found.items() if k == m])
                for m in mechanisms}
  ranked = sorted(mechanisms, key=mean_reach.get)
  lines = [f"Border: the mean [seed range] initial minimum max-cosine of the farthest start "
           f"from which most seeds (more than half) end at >= {recovered_at:g}, every closer "
           "start rescued too; none: not even the closest start. A border names the next "
           "farther start where its seeds split, and the runs of the two that were still "
           "moving at the end (convergence flag). Ranked by the mean border (none counted as "
           "2). Improved: ok runs that end above where they started.", "",
           "| mechanism | " + " | ".join(f"m = {w}, sparsity {s:g}" for w in widths
                                      for s in sparsities) + " | improved | still moving |",
           "|---|" + "---|" * (len(widths) * len(sparsities) + 2)]
  for m in ranked:
    up, runs = improved(curves, m)
    lines.append(f"| {m} | " + " | ".join(border_text(found.get((m, w, s), NO_BORDER))
                                         for w in widths for s in sparsities)
                 + f" | {up} / {runs} | {still_moving(curves, m)} |")
  rescues = {m: [(w, s) for (k, w, s), b in found.items()
                 if k == m and _rescuing(b, recovered_at) is not NO_BORDER]
             for m in mechanisms}
  keeps = {m: [(w, s) for (k, w, s), b in found.items()
               if k == m and b.initial is not None and _rescuing(b, recovered_at) is NO_BORDER]
           for m in mechanisms}
  from_random = {m: random_rescues(curves, m, found, recovered_at) for m in mechanisms}
  cells = lambda pairs: "; ".join(f"m = {w} at sparsity {s:g}" for w, s in pairs)
  rescuing = [m for m in ranked if rescues[m]]
  cut = [(m, w, s) for m in ranked for w, s in from_random[m] if found[(m, w, s)].c != 0]
  lines += ["", "What the map supports:",
            "- Rescue a start below the threshold: " + (", ".join(
                f"{m} ({cells(rescues[m])})" for m in rescuing) or "no mechanism") + ".",
            "- Only keep a start that is already recovered (a border at or above the "
            "threshold): " + (", ".join(f"{m} ({cells(keeps[m])})" for m in ranked
                                        if keeps[m]) or "none") + ".",
            "- From a random start, most seeds recover: " + (", ".join(
                f"{m} ({cells(from_random[m])})" for m in ranked if from_random[m])
                or "no mechanism") + "."
            + (" The border does not reach the random start in " + "; ".join(
                f"{m} at m = {w}, sparsity {s:g}" for m, w, s in cut)
               + ", where a closer start fails." if cut else "")]
  if len(widths) > 1:
    lines.append(f"- Width m = {widths[0]} -> {widths[-1]}: " + "; ".join(_moves(
        found, ranked, [((widths[0], s), (widths[-1], s), f"sparsity {s:g}")
                        for s in sparsities], recovered_at)) + ".")
  if len(sparsities) > 1:
    lines.append(f"- Sparsity {sparsities[0]:g} -> {sparsities[-1]:g}: " + "; ".join(_moves(
        found, ranked, [((w, sparsities[0]), (w, sparsities[-1]), f"m = {w}")
                        for w in widths], recovered_at)) + ".")
  split = [f"{m} at m = {w}, sparsity {s:g}: {b.beyond}" for (m, w, s), b in found.items()
           if b.beyond]
  split_levels = [f"{m} at m = {w}, sparsity {s:g}, c = {lv.c:g} ({lv.split})"
                  for m, w, s in found for lv in levels(curves, m, w, s, recovered_at)
                  if lv.split]
  lines.append(f"- Start levels whose seeds split, {len(split_levels)}: "
               + ("; ".join(split_levels) or "none") + ".")
  moving = sum(bool(b.moving) for b in found.values())
  verdict = (f"{len(rescuing)} of {len(mechanisms)} mechanisms rescue a start below "
             f"{recovered_at:g} by most seeds ({', '.join(rescuing) or 'none'}), "
             f"{sum(bool(v) for v in from_random.values())} recover by most seeds "
             f"from a random start; {len(split)} of {len(found)} borders stop at a start whose "
             f"seeds split ({'; '.join(split) or 'none'}); {moving} of {len(found)} "
             "borders rest on runs still moving at the end")
  return verdict, lines
