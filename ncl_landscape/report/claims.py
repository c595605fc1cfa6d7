"""The paper's claims, and how saved runs are judged against them (the REPORT's verdicts).

Reads only saved results (summary.csv, curves.npz, config.json). Every claim is judged as
the paper states it, by one rule (verdicts.RULE): absolute where the paper is absolute, by
direction where it claims a rise or a fall, cell by cell, each cell by its seeds. Runs whose
status is not 'ok' (diverged, unbounded, collapsed) are counted by status and left out of
every mean.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import numpy as np

from ncl_landscape.methods import registry
from ncl_landscape.report import compare, rescue
from ncl_landscape.report.verdicts import (MissingArm, Rule, Stat, count_statuses, fmt, group_stats,
                                           judge, judge_cell, paired, single, stat, verdict)
from ncl_landscape.runs.provenance import init_label
from ncl_landscape.runs.results import Results, subset, without_repeats
from ncl_landscape.testbed.metrics import DIVERGENCE_BOUND
from ncl_landscape.thresholds import CLEAR_START, HIGH, LOW, MARGIN, RISE, TOLERANCE

CELL_FIELDS = ("sparsity", "mask_prob", "warm_start_c")  # what tells a figure's cells apart


def cell_stats(curves: dict, method: str, index: int = -1) -> dict[tuple, Stat]:
  """The Stat of one method's minimum max-cosine per cell, at one logged point.

  Args:
    curves: {name: [runs] or [runs, logged points]} as curves.npz holds them; read: 'method',
      'status', 'seed', 'sparsity', 'mask_prob', 'warm_start_c' (NaN where a field does not apply)
      and 'maxcos_min' [runs, logged points].
    method: the arm.
    index: the logged point: 0 the initialisation, -1 the end.

  Returns:
    {(sparsity, mask prob, c): Stat over the method's ok runs of that cell}, sorted; None marks a
    field that does not apply.

  Raises:
    MissingArm: the curves hold no run of method.
  """
  runs = np.flatnonzero(curves["method"] == method)
  if not len(runs):
    raise MissingArm(f"no runs of '{method}' in the results")
  groups = {}
  for r in runs:
    key = tuple(None if np.isnan(curves[f][r]) else float(curves[f][r]) for f in CELL_FIELDS)
    groups.setdefault(key, []).append(r)
  out = {}
  for key in sorted(groups, key=lambda k: tuple(-1 if v is None else v for v in k)):
    members = np.array(groups[key])
    ok = members[curves["status"][members] == "ok"]
    out[key] = stat(curves["maxcos_min"][ok, index], curves["seed"][ok].astype(int).tolist(),
                    count_statuses(curves["status"][members]))
  return out


def cell_label(key: tuple, varying: set[str]) -> str:
  """'sparsity 0.1, mask prob 0.5': the fields of a cell_stats key that vary; 'all' if none."""
  names = {"sparsity": "sparsity", "mask_prob": "mask prob", "warm_start_c": "c"}
  return ", ".join(f"{names[f]} {v:g}" for f, v in zip(CELL_FIELDS, key)
                   if f in varying and v is not None) or "all"


def varying_fields(keys) -> set[str]:
  """The CELL_FIELDS whose value differs between the cell_stats keys."""
  return {f for i, f in enumerate(CELL_FIELDS) if len({k[i] for k in keys}) > 1}


def contrast(res):
  """Judges Figures 1-2: CL high, NCL low, and CL above NCL (paired by seed), cell by cell.

  On the final minimum max-cosine: CL's >= HIGH, NCL's < LOW, and the per-seed gap >= MARGIN. With
  the as-run dependent masks CL trains one mask cell (D ~ Bernoulli(0.5)), which every NCL cell of
  the same sparsity is compared with.
  """
  ncl, cl = cell_stats(res.curves, "ncl"), cell_stats(res.curves, "cl")
  cl_masks = {k[1] for k in cl}
  single_mask = len(cl_masks) == 1 and len({k[1] for k in ncl}) > 1
  cl_for = lambda k: (k[0], next(iter(cl_masks)), k[2]) if single_mask else k
  varying = varying_fields(ncl)
  lines = ["| cell | NCL min max-cosine | CL min max-cosine | CL - NCL (paired by seed) |",
           "|---|---|---|---|"]
  highs, lows, gaps = {}, {}, {}
  for k, n in ncl.items():
    c = cl.get(cl_for(k), stat([]))
    label = cell_label(k, varying)
    highs[label], lows[label], gaps[label] = c, n, paired(c, n)
    lines.append(f"| {label} | {n} | {c} | {gaps[label]} |")
  if single_mask:  # CL's own cells, each once (not once per NCL mask cell)
    highs = {cell_label(k, varying - {"mask_prob"}): c for k, c in cl.items()}
    lines += ["", f"CL trained only at mask prob {next(iter(cl_masks)):g}: the as-run dependent "
              "masks draw D ~ Bernoulli(0.5) whatever the grid's mask probability, so that one "
              "CL cell per sparsity stands beside every NCL cell."]
  return verdict(judge("CL above NCL", gaps, Rule(">=", MARGIN), f"paired gap >= {MARGIN}"),
                 judge("CL high", highs, Rule(">=", HIGH)),
                 judge("NCL low", lows, Rule("<", LOW))), lines


def _change_cells(curves: dict, method: str):
  """Per cell: Stats of the start, the end, and the per-run change end - start."""
  start, end = cell_stats(curves, method, 0), cell_stats(curves, method, -1)
  change = {k: paired(end[k], start[k], same_runs=True) for k in end}
  return start, end, change


def _trend_table(curves: dict, arms: list[str]) -> list[str]:
  lines = ["| arm | cell | initial min max-cosine | final min max-cosine | change (per run) |",
           "|---|---|---|---|---|"]
  for arm in arms:
    start, end, change = _change_cells(curves, arm)
    varying = varying_fields(end)
    lines += [f"| {arm} | {cell_label(k, varying)} | {start[k]} | {end[k]} | {change[k]} |"
              for k in end]
  return lines


def _labelled(cells: dict[tuple, Stat], prefix: str = "") -> dict[str, Stat]:
  varying = varying_fields(cells)
  return {prefix + cell_label(k, varying): st for k, st in cells.items()}


def stays_low(*arms: str):
  """A judge of 'still fails': every arm's final minimum max-cosine below LOW, cell by cell.

  Args:
    *arms: the methods judged, each a part '<arm> ends low'.

  Returns:
    judge(results) -> (Verdict, table of each cell's start, end and change), a Claim.judge.
  """
  def judge_low(res):
    return verdict(*[judge(f"{m} ends low", _labelled(cell_stats(res.curves, m)),
                           Rule("<", LOW)) for m in arms]), _trend_table(res.curves, list(arms))
  return judge_low


def falls(method: str):
  """A judge of 'decreases during training': the end below the start by at least RISE, per run.

  Args:
    method: the arm judged.

  Returns:
    judge(results) -> (Verdict, table of each cell's start, end and change), a Claim.judge.
  """
  def judge_fall(res):
    change = _labelled(_change_cells(res.curves, method)[2])
    return (verdict(judge("falls", change, Rule("<=", -RISE), f"end - start <= -{RISE}")),
            _trend_table(res.curves, [method]))
  return judge_fall


def _rise_parts(end: dict[str, Stat], change: dict[str, Stat], target: float):
  return (judge("rises", change, Rule(">=", RISE), f"end - start >= {RISE}"),
          judge(f"reaches {target}", end, Rule("within", target, TOLERANCE)))


def rises(method: str, target: float):
  """A judge of 'rises to about target': a rise of at least RISE, and an end near target.

  The end must lie within TOLERANCE of target; a fall or a flat curve fails the first part, whatever
  it ends at.

  Args:
    method: the arm judged.
    target: the paper's final minimum max-cosine.

  Returns:
    judge(results) -> (Verdict, table of each cell's start, end and change), a Claim.judge.
  """
  def judge_rise(res):
    _, end, change = _change_cells(res.curves, method)
    return (verdict(*_rise_parts(_labelled(end), _labelled(change), target)),
            _trend_table(res.curves, [method]))
  return judge_rise


def rises_from(target_start: float, target: float):
  """A judge of Figure 7's claim: a rise from about target_start to about target.

  Judged as rises judges, in the (arm, c, sparsity) cells whose mean start lies within 2 RISE of
  target_start (every cell if none does); every cell is listed in the table, and the verdict's note
  says which were judged.

  Args:
    target_start: the paper's initial minimum max-cosine.
    target: the paper's final minimum max-cosine.

  Returns:
    judge(results) -> (Verdict, table lines), a Claim.judge.
  """
  def judge_rise(res):
    curves = res.curves
    lines = ["| arm | cell | initial | final | change (per run) | start near the paper's |",
             "|---|---|---|---|---|---|"]
    ends, changes, near = {}, {}, set()
    for method in dict.fromkeys(curves["method"].tolist()):
      start, end, change = _change_cells(curves, method)
      varying = varying_fields(end)
      for k in end:
        name = f"{method} ({cell_label(k, varying)})"
        ends[name], changes[name] = end[k], change[k]
        if start[k].ok and abs(start[k].mean - target_start) <= 2 * RISE:
          near.add(name)
        lines.append(f"| {method} | {cell_label(k, varying)} | {start[k]} | {end[k]} | "
                     f"{change[k]} | {'yes' if name in near else 'no'} |")
    basis = near or set(ends)
    pick = lambda cells: {n: st for n, st in cells.items() if n in basis}
    scope = (f"judged in the {len(basis)} of {len(ends)} cells whose mean start lies within "
             f"{2 * RISE:g} of {target_start}" if near else
             f"no cell starts within {2 * RISE:g} of {target_start}, so all {len(ends)} are "
             "judged")
    return verdict(*_rise_parts(pick(ends), pick(changes), target), note=scope), lines
  return judge_rise


def table1(res):
  """Judges Table 1, and lays ours beside the paper's per model, sparsity and statistic.

  The claim: SimCLR's minimum max-cosine above every SimSiam form's by MARGIN (paired by seed), no
  SimSiam form recovering (minimum max-cosine below HIGH), and each model's cells within the paper's
  spread (each seed within max(2 paper std, TOLERANCE) of the paper's mean). A sparsity whose runs
  are another's is in the table, counted once.
  """
  rows = res.all_rows or res.rows  # the paper's table has a row per sparsity
  lines = ["| model | Pr(sparse) | Maximum max-cosine | Median max-cosine | Minimum max-cosine |",
           "|---|---|---|---|---|"]
  spread, bands = {}, {}
  present = {r["method"] for r in rows}
  for model in TABLE1_MODELS:
    if model not in present:
      continue
    for sparsity, paper in TABLE1[TABLE1_MODELS[model]].items():
      sel = [r for r in rows if r["method"] == model and np.isclose(float(r["sparsity"]),
                                                                     sparsity)]
      if not sel:
        continue
      cells = []
      for stat_name, (p_mean, p_std) in zip(TABLE1_STATS, paper):
        ours = group_stats(sel, ("method",), stat_name)[(model,)]
        name = f"{model}, sparsity {sparsity:g}, {TABLE1_STATS[stat_name]}"
        spread[name] = ours
        bands[name] = Rule("within", p_mean, max(2 * p_std, TOLERANCE))
        recovered = int(np.sum(np.asarray(ours.values) >= HIGH))
        split = (f"; {recovered} of {ours.ok} seeds >= {HIGH}"
                 if stat_name == "maxcos_min" and 0 < recovered < ours.ok else "")
        cells.append(f"{ours} ({p_mean} +- {p_std}{split})")
      lines.append(f"| {model} | {sparsity} | " + " | ".join(cells) + " |")
  if "simplified_simclr" not in present:
    raise MissingArm("no runs of 'simplified_simclr' in the results")
  by_sparsity = lambda m: {f"sparsity {k[0]}": st for k, st in group_stats(
      [r for r in res.rows if r["method"] == m], ("sparsity",), "maxcos_min").items()}
  simclr = by_sparsity("simplified_simclr")
  simsiams = [m for m in TABLE1_MODELS if m != "simplified_simclr" and m in present]
  parts = [judge(f"SimCLR above {simsiam}",
                 {k: paired(simclr[k], st) for k, st in by_sparsity(simsiam).items()},
                 Rule(">=", MARGIN), f"paired minimum max-cosine gap >= {MARGIN}")
           for simsiam in simsiams]
  parts += [judge(f"{simsiam} does not recover", by_sparsity(simsiam), Rule("<", HIGH),
                  f"minimum max-cosine < {HIGH}") for simsiam in simsiams]
  counted = {f"sparsity {r['sparsity']}" for r in res.rows}  # each run once: no repeats
  for model in (m for m in TABLE1_MODELS if m in present):
    cells = {n: st for n, st in spread.items() if n.startswith(model + ",")
             and n.split(", ")[1] in {f"sparsity {float(c.split()[1]):g}" for c in counted}}
    parts.append(judge(f"{model} within the paper's spread", cells,
                       {n: bands[n] for n in cells},
                       f"each seed within max(2 paper std, {TOLERANCE}) of the paper's mean"))
  return verdict(*parts), lines + [
      "", f"Cells: ours mean +- std (paper mean +- std; where seeds split on the minimum, how "
      f"many reach {HIGH}); both SimSiam forms beside the paper's SimSiam rows."]


TABLE1 = {  # the paper's Table 1: sparsity -> (mean, std) of max, median, min over 5 runs
    "simplified_simclr": {0.1: ((0.94, 0.005), (0.92, 0.004), (0.83, 0.16)),
                          0.2: ((0.94, 0.004), (0.93, 0.003), (0.90, 0.01)),
                          0.3: ((0.94, 0.006), (0.92, 0.007), (0.57, 0.019))},
    "simplified_simsiam": {0.1: ((0.94, 0.007), (0.87, 0.08), (0.47, 0.07)),
                           0.2: ((0.93, 0.008), (0.82, 0.01), (0.45, 0.005)),
                           0.3: ((0.678, 0.2), (0.45, 0.01), (0.37, 0.03))},
}
TABLE1_STATS = {"maxcos_max": "maximum", "maxcos_median": "median", "maxcos_min": "minimum"}
TABLE1_MODELS = {"simplified_simclr": "simplified_simclr",  # our arm -> the paper's row set
                 "simplified_simsiam": "simplified_simsiam",
                 "simplified_simsiam_enc_pred": "simplified_simsiam"}


def diverged(row: dict) -> bool:
  """Whether a theory.csv row counts diverged runs."""
  return row.get("diverged_runs") not in (None, "", "0")


def theory_table(res: Results) -> list[str]:
  """theory.csv as markdown table lines, its columns as the file has them; a mean that no run
  enters (every run of the row diverged, theory.csv's nan) reads 'every run diverged'."""
  columns = list(res.theory[0]) if res.theory else []
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]

  def cell(row: dict, column: str) -> str:
    return "every run diverged" if row[column] == "nan" and diverged(row) else row[column]

  return lines + ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in res.theory]


def _value(res: Results, prefix: str, column: str = "measured") -> float:
  vals = [float(r[column]) for r in res.theory if r["quantity"].startswith(prefix)]
  return float(np.mean(vals))


def theorem1(res: Results):
  """Judges Theorem 1 on theory.csv: (a) NCL's optima in U_>=, (b) CL's minimum at permutations.

  (a): the worst U_>= sample's NCL objective within 1e-5 of d alpha^2, and the mean minimum
  max-cosine of the samples below 0.9. (b): the lowest final CL descent within 1e-3 (relative) of
  the permutation value. The theorem is about global minimisers, so the other descents may stop
  higher: the note says how many reach a permutation.
  """
  ncl_gap = abs(_value(res, "NCL objective on U_>=") - _value(res, "NCL objective on U_>=",
                                                            "predicted"))
  best_cl = _value(res, "CL descent: lowest final")
  perm_cl = _value(res, "CL descent: lowest final", "predicted")
  reached = _value(res, "CL descent: runs reaching")
  return verdict(
      single("(a) U_>= attains d alpha^2", ncl_gap, Rule("<", 1e-5), "largest error"),
      single("(a) U_>= has low max-cosine", _value(res, "min max-cosine of U_>="),
             Rule("<", 0.9), "mean min max-cosine"),
      single("(b) the lowest CL descent ends at the permutation value",
             (best_cl - perm_cl) / abs(perm_cl), Rule("within", 0, 1e-3), "relative gap"),
      note=f"{reached:.0%} of the CL descents reach a permutation (the rest stop at "
      "stationary points of higher value)"), theory_table(res)


def theorem2(res: Results):
  """Judges Theorem 2 on theory.csv: the derived closed form matches population gradient descent.

  The largest relative error of W_t M, over the seeds, below 1e-5; the note says how far off the
  printed C2 is.
  """
  exact = max(float(r["measured"]) for r in res.theory if r["quantity"].startswith("max rel"))
  printed = max(float(r["printed"]) for r in res.theory if r["quantity"].startswith("max rel"))
  return verdict(
      single("the derived closed form matches population gradient descent", exact,
             Rule("<", 1e-5), "largest relative error"),
      note=f"with a corrected C2: the printed C2 is off by up to {printed:.1e} (its last "
      "product starts one index early); W_t M stays in the span of the two "
      "initialisations"), theory_table(res)


def divergence_line(curves: dict, method: str) -> str:
  """How a theorem arm's ||W^o - I||_F leaves the sane range (metrics.DIVERGENCE_BOUND), in words.

  Args:
    curves: a Theorem 3 result's curves.npz arrays: 'method' [runs] and 'dist' [runs, 2, rounds + 1]
      (||W^o - I||_F, ||W^t - I||_F after each round, round 0 the start).
    method: the arm.

  Returns:
    In how many runs it leaves, from where, how fast per round and at which round (the median); or,
    bounded in every run, where it starts and ends (means).
  """
  dist = curves["dist"][curves["method"] == method, 0]  # [runs, rounds + 1]
  out = ~(np.abs(dist) <= DIVERGENCE_BOUND)
  gone = out.any(1)
  start = fmt(float(dist[:, 0].mean()))
  if not gone.any():
    return f"{method}: bounded in every run, from {start} to {fmt(float(dist[:, -1].mean()))}"
  first = out.argmax(1)[gone]
  growth = [(d[f - 1] / d[1]) ** (1 / (f - 2)) for d, f in zip(dist[gone], first) if f > 2]
  rate = f", growing about {np.median(growth):.0f}x per round," if growth else ""
  bound = f"10^{np.log10(DIVERGENCE_BOUND):.0f}"
  return (f"{method} diverges in {gone.sum()} of {len(gone)} runs: from {start}, "
          f"||W^o - I||_F{rate} leaves {bound} at round {np.median(first):g} (median)")


def theorem3(res: Results):
  """Judges Theorem 3 on theory.csv: srelu_rownorm converges, from clearly above the noise floor.

  Every ok srelu_rownorm run ends at or below the measured noise floor (where runs started at the
  solution stay), and its mean initial distance is at least twice the floor. The note gives the runs
  outside the assumptions.

  Raises:
    MissingArm: theory.csv has no 'srelu_rownorm' row.
  """
  by = {r["quantity"].split(":")[0]: r for r in res.theory}
  good = by.get("srelu_rownorm")
  if good is None:
    raise MissingArm("no 'srelu_rownorm' row in theory.csv")
  floor, initial = float(good["noise_floor"]), float(good["initial"])
  converged, final = float(good["converged_runs"]), float(good["measured"])
  others = "; ".join(divergence_line(res.curves, name) if diverged(r) else
                     f"{name}: {fmt(float(r['initial']))} -> {fmt(float(r['measured']))}"
                     for name, r in by.items() if name != "srelu_rownorm")
  return verdict(
      single("ends at the noise floor", converged, Rule(">=", 1.0),
             f"fraction of runs ending at or below {fmt(floor)}, mean final {fmt(final)}"),
      single("starts clearly above it", initial / floor, Rule(">=", CLEAR_START),
             f"mean initial distance {fmt(initial)} over the floor"),
      note=(f"a start within {CLEAR_START:g} times the noise floor leaves this run unable to show "
            "convergence either way; " if initial < CLEAR_START * floor else "")
      + f"outside the assumptions (initial -> final ||W^o - I||_F): {others}"
  ), theory_table(res)


def half_gain_epoch(curves: dict, method: str, c: float) -> str:
  """How fast a method gains from start c: the mean epoch its runs make half their final gain.

  The first logged epoch at which the minimum max-cosine has made half of its final gain over the
  initialisation, averaged over the ok runs that gain.

  Args:
    curves: {name: [runs] or [runs, logged points]} as curves.npz holds them.
    method: the arm.
    c: the start's warm_start_c (0 for the random start).

  Returns:
    The mean epoch as text; '<= E' when every gaining run got there by the first logged epoch E (the
    log is too coarse to say more); 'n/a' when no run gains.
  """
  sel = ((curves["method"] == method) & np.isclose(curves["warm_start_c"], c)
         & (curves["status"] == "ok"))
  gain = curves["maxcos_min"][sel] - curves["maxcos_min"][sel, :1]
  reached = (gain >= gain[:, -1:] / 2) & (gain[:, -1:] > 0)
  epochs = [curves["epochs"][np.argmax(r)] for r in reached if r.any()]
  if not epochs:
    return "n/a"
  first = curves["epochs"][1]
  return f"<= {first}" if max(epochs) <= first else f"{np.mean(epochs):.0f}"


def reach_cell(st: Stat) -> str:
  """'0.601 +- 0.200, 1 of 4 runs >= 0.8' (the count only where the runs split)."""
  k = judge_cell("", st, Rule(">=", HIGH)).passing
  return str(st) + (f", {k} of {st.ok} runs >= {HIGH:g}" if 0 < k < st.ok else "")


def atlas(res: Results):
  """Judges the atlas (a survey): methods and families ranked by the mean minimum max-cosine.

  A method reaches HIGH from a start when most of its runs there (seeds x sparsities) do. Ranked by
  the first start (the lowest c). Returns (the finding as a sentence, table lines): a survey has no
  paper claim to reproduce.
  """
  rows = res.rows
  starts = sorted({float(r["warm_start_c"]) for r in rows})
  stats = {c: group_stats([r for r in rows if float(r["warm_start_c"]) == c], ("method",),
                          "maxcos_min") for c in starts}
  reaches = {c: {m: judge_cell(m, st, Rule(">=", HIGH), "runs")
                 for (m,), st in stats[c].items() if st.ok} for c in starts}
  flags = lambda m, col: sum(float(r[col] or 0) > 0 for r in rows if r["method"] == m)
  ranked = sorted({r["method"] for r in rows},
                  key=lambda m: -np.nan_to_num(stats[starts[0]][(m,)].mean, nan=-1))
  lines = ["| method | " + " | ".join(f"min max-cosine, {init_label(c)}" for c in starts)
           + f" | epochs to half its gain, {init_label(starts[0])} "
           + "| complete / dimensional collapse "
           "(runs) | effective rank | still moving at the end (runs) |",
           "|---|" + "---|" * (len(starts) + 4)]
  ranks = group_stats(rows, ("method",), "effective_rank")
  def moving(m):
    flags = [r.get("convergence") for r in rows if r["method"] == m]
    return f"{flags.count('still_moving')} / {sum(map(bool, flags))}"
  for m in ranked:
    lines.append(f"| {m} | " + " | ".join(reach_cell(stats[c][(m,)]) for c in starts)
                 + f" | {half_gain_epoch(res.curves, m, starts[0])} | "
                 f"{flags(m, 'collapse_complete')} / {flags(m, 'collapse_dimensional')} | "
                 f"{ranks[(m,)].mean:.2f} | {moving(m)} |")
  lines += ["", "| family | " + " | ".join(f"mean, {init_label(c)}" for c in starts) + " |",
            "|---|" + "---|" * len(starts)]
  family_means = {}
  for family, members in registry.families().items():
    means = [[stats[c][(m,)].mean for m in members if (m,) in stats[c]] for c in starts]
    if means[0]:
      family_means[family] = np.nanmean(means[0])
      lines.append(f"| {family} | " + " | ".join(f"{np.nanmean(v):.3f}" for v in means) + " |")
  best, worst = ranked[0], ranked[-1]
  lines += ["", "What the paper did not test:",
            f"- Best mean from the {init_label(starts[0])} start: {best} "
            f"({reach_cell(stats[starts[0]][(best,)])}); worst: {worst} "
            f"({reach_cell(stats[starts[0]][(worst,)])})."]
  if family_means:
    best_first = sorted(family_means, key=family_means.get, reverse=True)
    spread = np.nanmedian([st.std for st in stats[starts[0]].values() if st.ok > 1])
    lines.append("- Families from the same start, best first: " + ", ".join(
        f"{f} ({family_means[f]:.3f})" for f in best_first) + f" (a method's runs spread by "
        f"a median std of {spread:.3f}: closer means are not an order).")
  for c in starts[1:]:
    lift = np.array([stats[c][(m,)].mean - stats[starts[0]][(m,)].mean for m in ranked])
    lines.append(f"- From the {init_label(c)} start each method ends {np.nanmin(lift):+.3f} to "
                 f"{np.nanmax(lift):+.3f} away from where it ends from the {init_label(starts[0])} "
                 "start.")
  collapsed = [m for m in ranked if flags(m, "collapse_complete") + flags(m,
                                                                          "collapse_dimensional")]
  excluded = [m for m in ranked if any(st[(m,)].excluded for st in stats.values())]
  lines.append(f"- Collapse (complete or dimensional, any run): {', '.join(collapsed) or 'none'}; "
               f"runs not ok: {', '.join(excluded) or 'none'}.")
  aligned = group_stats([r for r in rows if r.get("commutator")], ("method",), "commutator")
  if aligned:
    lines.append("- Predictor / correlation alignment ||[F, W_p]||_F / (||F|| ||W_p||) at the end "
                 "(0: shared eigenvectors): " + ", ".join(f"{m} {st.mean:.3f}"
                                                           for (m,), st in aligned.items()) + ".")
  def by_sparsity(m, c):
    """' (sparsity 0.1: 0 of 2, 0.3: 2 of 2)': where a method's runs reach HIGH."""
    runs = [r for r in rows if r["method"] == m and float(r["warm_start_c"]) == c
            and r["status"] == "ok"]
    counts = {s: [float(r["maxcos_min"]) >= HIGH for r in runs if r["sparsity"] == s]
              for s in sorted({r["sparsity"] for r in runs}, key=float)}
    return " (sparsity " + ", ".join(f"{s}: {sum(v)} of {len(v)}" for s, v in counts.items()) + ")"
  def findings(c):
    cells = reaches[c]
    held = [m for m in ranked if m in cells and cells[m].holds]
    split = [cells[m].text() + by_sparsity(m, c) for m in ranked if m in cells and
             (0 < cells[m].passing < cells[m].stat.ok or cells[m].borderline)]
    return (f"from the {init_label(c)} start {len(held)} of {len(cells)} methods reach {HIGH:g} "
            f"by most of their runs ({', '.join(held) or 'none'})"
            + (f"; runs split or borderline: {'; '.join(split)}" if split else ""))
  return "; ".join(findings(c) for c in starts), lines


@dataclasses.dataclass(frozen=True)
class Claim:
  """What the paper states for one experiment, and how the saved runs are judged against it.

  Attributes:
    title: the REPORT section's heading.
    paper: what the paper reports, in words.
    judge: judge(results) -> (verdict, table lines): a verdicts.Verdict for a paper claim, a
      sentence for a survey beyond the paper.
    note: what is known about a difference.
    beside: beside(shorter, longer) -> lines setting two runs of different training lengths side by
      side (compare.py); None: no such table.
  """
  title: str
  paper: str
  judge: Callable[[Results], tuple[object, list[str]]]
  note: str = ""
  beside: Callable[[Results, Results], list[str]] | None = None


WARM_NOTE = (
    "Warm start (the authors' rule): W^o, W^t are dictionary atoms (drawn with replacement "
    "when m > d, M itself when m = d) plus N(0, p^-c) noise per entry, so for one atom per row "
    "the initial max-cosine of an atom is near 1 / sqrt(1 + p^(1-c)); the minimum over the "
    "atoms lies above that (the table gives each measured start).")


def atlas_beside(shorter: Results, longer: Results) -> list[str]:
  """The atlas at two training lengths, conclusion by conclusion (compare.atlas)."""
  return compare.atlas(shorter, longer, HIGH)


def rescue_map(res: Results):
  """Judges the rescue map (a survey): per mechanism, from how far a start it recovers."""
  return rescue.summary(res.curves, tuple(res.settings.get("mechanisms", ())),
                        res.settings.get("recovered_at", rescue.RECOVERED_AT))


def rescue_beside(shorter: Results, longer: Results) -> list[str]:
  """The rescue map's borders at two training lengths (compare.rescue_borders)."""
  return compare.rescue_borders(shorter, longer,
                                shorter.settings.get("recovered_at", rescue.RECOVERED_AT))


class Judgement(NamedTuple):
  """A claim judged on one part of the runs: which runs, the verdict and its table."""
  label: str  # which runs: '' for all, e.g. 'lr 0.005, without 1 run that missed an atom'
  verdict: str
  table: list[str]
  short: str = ""  # the verdict's word and counts, for summaries


def judgements(claim: Claim, res: Results) -> list[Judgement]:
  """The claim judged on each learning rate of the results apart, and without missed atoms.

  A figure no script ran trains two learning rates. For a warm start whose runs missed an atom, each
  judgement is followed by one without those runs. A judge that raises MissingArm gives the verdict
  'error: ...'.

  Args:
    claim: what the results are judged by.
    res: every run as loaded; each judged part counts each run once (without_repeats).

  Returns:
    [Judgement], labelled 'lr 0.005', ... where the results hold several learning rates.
  """
  # res holds every run, as loaded: split by lr first, then count each run once per part
  lrs = np.unique(res.curves["lr"]) if "lr" in res.curves else np.array([])
  parts = ([(f"lr {lr:g}", subset(res, np.isclose(res.curves["lr"], lr))) for lr in lrs]
           if len(lrs) > 1 else [("", res)])
  out = []
  for label, every in parts:
    part = without_repeats(every)
    verdict, table, short = _judge(claim, part)
    out.append(Judgement(label, verdict, table, short))
    missed = part.curves.get("atoms_missed")
    if missed is not None and np.nan_to_num(missed).any():
      k = int((missed > 0).sum())
      without = f"without the {k} run{'s' if k > 1 else ''} whose start missed an atom"
      hit = ~(np.nan_to_num(every.curves["atoms_missed"]) > 0)
      out.append(Judgement(", ".join(filter(None, [label, without])),
                           *_judge(claim, without_repeats(subset(every, hit)))))
  return out


def _judge(claim: Claim, res: Results) -> tuple[str, list[str], str]:
  """(verdict text, table, short form: a Verdict's counts, a survey's sentence)."""
  try:
    verdict, table = claim.judge(res)
  except MissingArm as e:
    return f"error: {e}", [], f"error: {e}"
  return str(verdict), table, getattr(verdict, "short", str(verdict))
