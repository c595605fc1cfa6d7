"""Two runs of one survey (atlas, rescue map) at different training lengths, side by side:
which of the shorter run's conclusions held with more training and which changed.

A conclusion is what REPORT states per cell: an atlas method reaching the recovery
threshold from a start (mean over seeds and sparsities), a rescue border (rescue.py). The
convergence flags (convergence.py) say whether the cell's runs were still moving when
each run stopped. Pure NumPy on saved results, so REPORT and the tests share it.
"""
from __future__ import annotations

import numpy as np

from ncl_landscape.report import rescue
from ncl_landscape.report.verdicts import Rule, fmt_beside, group_stats, judge_cell
from ncl_landscape.runs.provenance import init_label
from ncl_landscape.runs.results import Results, subset
from ncl_landscape.training import convergence


def name(run: Results) -> str:
  """'quick (100 epochs)': a run's profile and epochs."""
  return f"{run.settings.get('profile', '?')} ({run.settings.get('epochs', '?')} epochs)"


def _moving(rows: list[dict], keep) -> str:
  """'k of n' ok rows among those kept that were still moving at the end; 'n/a' without
  flags."""
  flags = [r.get("convergence") for r in rows if keep(r) and r["status"] == "ok"]
  return f"{flags.count('still_moving')} of {len(flags)}" if any(flags) else "n/a"


def _ordered_pair(a: Results, b: Results) -> tuple[Results, Results]:
  """(shorter, longer) by epochs, the longer kept to the runs paired with the shorter's (a long
  survey trains more seeds than its quick one: a seed only one of them holds would move a
  conclusion for another reason than training length)."""
  short, long_ = (a, b) if float(a.settings.get("epochs", 0)) <= float(
      b.settings.get("epochs", 0)) else (b, a)
  partner = convergence.pairing(short.curves, long_.curves)[0]
  keep = np.zeros(len(long_.curves["maxcos_min"]), bool)
  keep[partner] = True
  return short, long_ if keep.all() else subset(long_, keep)


def atlas(a: Results, b: Results, threshold: float) -> list[str]:
  """The atlas at two training lengths side by side, conclusion by conclusion.

  Args:
    a, b: two atlas results, in either order (the one of fewer epochs is the shorter).
    threshold: the final minimum max-cosine that counts as reaching.

  Returns:
    Markdown lines: per method and start, the mean final minimum max-cosine of the shorter and the
    longer run, the change, whether each reaches threshold (most runs), and how many runs were still
    moving; then the conclusions that held and changed, the lost runs (lost_runs) and the flag line
    (flag_line).
  """
  short, long_ = _ordered_pair(a, b)
  stats = [group_stats(r.rows, ("method", "warm_start_c"), "maxcos_min") for r in (short, long_)]
  shared = [k for k in stats[1] if k in stats[0]]
  order = sorted(shared, key=lambda k: (float(k[1]), -np.nan_to_num(stats[1][k].mean, nan=-1)))
  def reach(st):  # most runs reach the threshold; a split says k of n
    cell = judge_cell("", st, Rule(">=", threshold))
    split = f" ({cell.passing} of {st.ok})" if 0 < cell.passing < st.ok else ""
    return ("yes" if cell.holds else "no") + split
  lines = [f"{name(short)} against {name(long_)}, on the runs both trained (the seeds both "
           "hold): the mean final minimum max-cosine over seeds and sparsities, whether it "
           f"reaches {threshold:g}, and the ok runs still moving at the end.", "",
           f"| method | start | {name(short)} | {name(long_)} | change | reaches {threshold:g} "
           "(short / long) | still moving (short / long) |", "|---" * 7 + "|"]
  changed, held = [], 0
  for key in order:
    method, c = key
    s, l = stats[0][key], stats[1][key]
    same = lambda r: r["method"] == method and r["warm_start_c"] == c
    shown = lambda st: fmt_beside(st.mean, threshold) + (f" +- {st.std:.3f}" if st.ok > 1 else "")
    lines.append(f"| {method} | {init_label(float(c))} | {shown(s)} | {shown(l)} | "
                 f"{l.mean - s.mean:+.3f} | "
                 f"{reach(s)} / {reach(l)} | {_moving(short.rows, same)} / "
                 f"{_moving(long_.rows, same)} |")
    if reach(s).split()[0] == reach(l).split()[0]:
      held += 1
    else:
      changed.append(f"{method} from the {init_label(float(c))} start "
                     f"({fmt_beside(s.mean, threshold)} -> {fmt_beside(l.mean, threshold)}, "
                     f"{'now reaches' if reach(l).startswith('yes') else 'no longer reaches'} it)")
  lines += ["", f"- Held with training length: {held} of {len(order)} (method, start) "
            f"conclusions about reaching {threshold:g} by most runs.",
            "- Changed: " + ("; ".join(changed) or "none") + ".",
            lost_runs(short, long_, threshold), flag_line(short, long_)]
  return lines


def lost_runs(short: Results, long_: Results, threshold: float) -> str:
  """The line naming the runs that reach threshold at the shorter length, not at the longer.

  Runs are paired by convergence.pairing; each ok in both is named with its two final values.

  Args:
    short, long_: the same survey at two training lengths.
    threshold: the final minimum max-cosine that counts as reaching.
  """
  c = short.curves
  partner, _ = convergence.pairing(c, long_.curves)
  end, later = c["maxcos_min"][:, -1], long_.curves["maxcos_min"][partner, -1]
  ok = (c["status"] == "ok") & (long_.curves["status"][partner] == "ok")
  lost = np.flatnonzero(ok & (end >= threshold) & (later < threshold))
  named = [f"{c['method'][r]} seed {int(c['seed'][r])} sparsity {c['sparsity'][r]:g} "
           f"{init_label(float(c['warm_start_c'][r]))} ({fmt_beside(end[r], threshold)} -> "
           f"{fmt_beside(later[r], threshold)})" for r in lost]
  return (f"- Runs that reach {threshold:g} after {name(short)} and no longer after "
          f"{name(long_)}: {len(lost)}" + (f": {'; '.join(named)}." if named else "."))


def rescue_borders(a: Results, b: Results, threshold: float) -> list[str]:
  """The rescue map at two training lengths side by side, border by border.

  Args:
    a, b: two rescue results, in either order (the one of fewer epochs is the shorter).
    threshold: the final minimum max-cosine that counts as recovered.

  Returns:
    Markdown lines: per (mechanism, width, sparsity), the border of the shorter and the longer run,
    whether the random start recovers in each, and how many runs were still moving; then the borders
    that held, reach farther or less far, the lost runs (lost_runs) and the flag line (flag_line).
  """
  short, long_ = _ordered_pair(a, b)
  found = [rescue.borders(r.curves, threshold) for r in (short, long_)]
  cells = [k for k in found[1] if k in found[0]]
  random = [{k: rescue.random_recovers(r.curves, *k, threshold) for k in cells}
            for r in (short, long_)]
  lines = [f"{name(short)} against {name(long_)}, on the runs both trained (the seeds both "
           "hold): each cell's border (the mean [seed range] "
           f"initial minimum max-cosine of the farthest start rescued to >= {threshold:g}, "
           "none: not even the closest start) and whether the random start recovers.", "",
           f"| mechanism | m | sparsity | border, {name(short)} | border, {name(long_)} | "
           "random start recovers (short / long) | still moving (short / long) |",
           "|---" * 7 + "|"]
  farther, nearer, held = [], [], 0
  yes = lambda v: "yes" if v else "no"
  for key in cells:
    mechanism, width, sparsity = key
    s, l = found[0][key], found[1][key]
    arm = rescue.arm_name(mechanism, width)
    same = lambda r: r["method"] == arm and float(r["sparsity"]) == sparsity
    lines.append(f"| {mechanism} | {width} | {sparsity:g} | {rescue.border_text(s)} | "
                 f"{rescue.border_text(l)} | {yes(random[0][key])} / {yes(random[1][key])} | "
                 f"{_moving(short.rows, same)} / {_moving(long_.rows, same)} |")
    text = (f"{mechanism} at m = {width}, sparsity {sparsity:g} "
            f"({rescue.border_text(s)} -> {rescue.border_text(l)})")
    if s.c == l.c:
      held += 1
    elif rescue.reach(l) < rescue.reach(s):
      farther.append(text)
    else:
      nearer.append(text)
  lines += ["", f"- Held with training length: {held} of {len(cells)} borders (the same start "
            "level).",
            "- Reaches farther with more training: " + ("; ".join(farther) or "none") + ".",
            "- Reaches less far with more training: " + ("; ".join(nearer) or "none") + ".",
            "- Random start recovers (most seeds): "
            + (", ".join(f"{m} m = {w} sparsity {s:g}" for (m, w, s) in cells
                         if random[1][(m, w, s)]) or "nowhere") + f" after {name(long_)}; "
            + (", ".join(f"{m} m = {w} sparsity {s:g}" for (m, w, s) in cells
                         if random[0][(m, w, s)]) or "nowhere") + f" after {name(short)}.",
            lost_runs(short, long_, threshold), flag_line(short, long_)]
  return lines


def flag_line(short: Results, long_: Results) -> str:
  """The line saying how the shorter run's convergence flag foretold the longer run.

  From convergence.calibration: its misses (flagged converged, then moved) named, its false alarms
  counted.
  """
  cal = convergence.calibration(short.curves, long_.curves)
  return (f"- The convergence flag after {name(short)} against {name(long_)}: {cal.moved} of "
          f"{cal.runs} runs then moved by {convergence.MOVE_TOL:g} or more, {cal.flagged} were "
          f"flagged still moving; {len(cal.misses)} misses (flagged converged, then moved"
          + (f": {'; '.join(cal.misses)}" if cal.misses else "") + f"), "
          f"{len(cal.false_alarms)} false alarms (flagged, moved less; {cal.returned} of them "
          "moved that far in between and came back).")
