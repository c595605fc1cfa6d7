"""results/REPORT.md: the paper's number or claim beside ours, with a verdict.

Reads only saved results (summary.csv, curves.npz, config.json). Every claim is judged as
the paper states it, by one rule (verdicts.RULE): absolute where the paper is absolute, by
direction where it claims a rise or a fall, cell by cell, each cell by its seeds. Runs whose
status is not 'ok' (diverged, unbounded, collapsed) are counted by status and left out of
every mean.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable, NamedTuple

import numpy as np

from ncl_landscape import compare, disk, methods, provenance, rescue, results
from ncl_landscape.atlas_plots import init_label as label
from ncl_landscape.results import Results, subset, without_repeats
from ncl_landscape.verdicts import (RULE, WORDS, MissingArm, Rule, Stat, count_statuses, fmt,
                                    group_stats, judge, judge_cell, paired, single, stat,
                                    verdict)

HIGH = rescue.RECOVERED_AT  # a minimum max-cosine at least this is "high": M is recovered
LOW = 0.6  # a minimum max-cosine below this is "low" (the paper's failures end near 0.4-0.5)
MARGIN = 0.1  # the least CL - NCL gap that counts as "above"
RISE = 0.05  # the least change of the minimum max-cosine that counts as a rise or a fall
TOLERANCE = 0.05  # distance to a reported number that counts as matching it
CELL_FIELDS = ("sparsity", "mask_prob", "warm_start_c")  # what tells a figure's cells apart


def cell_stats(curves: dict, method: str, index: int = -1) -> dict[tuple, Stat]:
  """(sparsity, mask prob, c) -> Stat of the minimum max-cosine at logged point `index` (0:
  the initialisation, -1: the end) over the ok runs of `method`; None marks a field that
  does not apply. Raises MissingArm."""
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
  names = {"sparsity": "sparsity", "mask_prob": "mask prob", "warm_start_c": "c"}
  return ", ".join(f"{names[f]} {v:g}" for f, v in zip(CELL_FIELDS, key)
                   if f in varying and v is not None) or "all"


def varying_fields(keys) -> set[str]:
  return {f for i, f in enumerate(CELL_FIELDS) if len({k[i] for k in keys}) > 1}


def contrast(res):
  """Figures 1-2: CL's minimum max-cosine high in every cell, NCL's low, CL above NCL (paired
  by seed). With the as-run dependent masks CL trains one mask cell (D ~ Bernoulli(0.5)),
  which every NCL cell of the same sparsity is compared with."""
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
  """'Still fails': the final minimum max-cosine below LOW, in every arm."""
  def judge_low(res):
    return verdict(*[judge(f"{m} ends low", _labelled(cell_stats(res.curves, m)),
                           Rule("<", LOW)) for m in arms]), _trend_table(res.curves, list(arms))
  return judge_low


def falls(method: str):
  """'Decreases during training': the end below the start by at least RISE."""
  def judge_fall(res):
    change = _labelled(_change_cells(res.curves, method)[2])
    return (verdict(judge("falls", change, Rule("<=", -RISE), f"end - start <= -{RISE}")),
            _trend_table(res.curves, [method]))
  return judge_fall


def _rise_parts(end: dict[str, Stat], change: dict[str, Stat], target: float):
  return (judge("rises", change, Rule(">=", RISE), f"end - start >= {RISE}"),
          judge(f"reaches {target}", end, Rule("within", target, TOLERANCE)))


def rises(method: str, target: float):
  """'Rises to about target': a rise of at least RISE, and an end within TOLERANCE of target
  (a fall or a flat curve fails the first part, whatever it ends at)."""
  def judge_rise(res):
    _, end, change = _change_cells(res.curves, method)
    return (verdict(*_rise_parts(_labelled(end), _labelled(change), target)),
            _trend_table(res.curves, [method]))
  return judge_rise


def rises_from(target_start: float, target: float):
  """Figure 7: a rise from about target_start to about target, judged in the (arm, c,
  sparsity) cells whose mean start lies within 2 RISE of target_start (every cell if none
  does); every cell is listed in the table."""
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
  """Table 1 in the paper's layout: ours per model, sparsity and statistic beside the paper's;
  the claim: SimCLR's minimum max-cosine above every SimSiam form's by MARGIN (paired by
  seed), no SimSiam form recovering (minimum max-cosine below HIGH), and each model's cells
  within the paper's spread (each seed within max(2 paper std, TOLERANCE) of the paper's
  mean; a sparsity whose runs are another's is in the table, counted once)."""
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


def theory_table(res: Results) -> list[str]:
  columns = list(res.theory[0]) if res.theory else []
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  return lines + ["| " + " | ".join(r[c] for c in columns) + " |" for r in res.theory]


def _value(res: Results, prefix: str, column: str = "measured") -> float:
  vals = [float(r[column]) for r in res.theory if r["quantity"].startswith(prefix)]
  return float(np.mean(vals))


def theorem1(res: Results):
  """(a) U_>= samples attain d alpha^2 with low max-cosine; (b) no CL descent ends below the
  permutation value (the theorem is about global minimisers: descents may stop higher)."""
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
  exact = max(float(r["measured"]) for r in res.theory if r["quantity"].startswith("max rel"))
  printed = max(float(r["printed"]) for r in res.theory if r["quantity"].startswith("max rel"))
  return verdict(
      single("the derived closed form matches population gradient descent", exact,
             Rule("<", 1e-5), "largest relative error"),
      note=f"with a corrected C2: the printed C2 is off by up to {printed:.1e} (its last "
      "product starts one index early); W_t M stays in the span of the two "
      "initialisations"), theory_table(res)


def theorem3(res: Results):
  """Converged: every run inside the assumptions ends at or below the measured noise floor
  (where runs started at the solution stay), having started clearly above it."""
  by = {r["quantity"].split(":")[0]: r for r in res.theory}
  good = by.get("srelu_rownorm")
  if good is None:
    raise MissingArm("no 'srelu_rownorm' row in theory.csv")
  floor, initial = float(good["noise_floor"]), float(good["initial"])
  converged, final = float(good["converged_runs"]), float(good["measured"])
  others = "; ".join(f"{name}: {fmt(float(r['initial']))} -> {fmt(float(r['measured']))}"
                     + (f" ({r['diverged_runs']} diverged)" if r.get("diverged_runs") not in
                        (None, "", "0") else "")
                     for name, r in by.items() if name != "srelu_rownorm")
  return verdict(
      single("ends at the noise floor", converged, Rule(">=", 1.0),
             f"fraction of runs ending at or below {fmt(floor)}, mean final {fmt(final)}"),
      single("starts clearly above it", initial / floor, Rule(">=", 2.0),
             f"mean initial distance {fmt(initial)} over the floor"),
      note="a start within twice the noise floor leaves this run unable to show "
      f"convergence either way; outside the assumptions (initial -> final ||W^o - I||_F): "
      f"{others}"
  ), theory_table(res)


def half_gain_epoch(curves: dict, method: str, c: float) -> str:
  """How fast: the mean over ok runs of the first logged epoch at which the minimum
  max-cosine has made half of its final gain over initialisation; '<= E' when every gaining
  run got there by the first logged epoch E (the log is too coarse to say more); 'n/a' when
  no run gains."""
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
  """'0.601 +- 0.2, 1 of 4 runs >= 0.8' (the count only where runs split)."""
  k = judge_cell("", st, Rule(">=", HIGH)).passing
  return str(st) + (f", {k} of {st.ok} runs >= {HIGH:g}" if 0 < k < st.ok else "")


def atlas(res: Results):
  """Ranks methods and families by the mean minimum max-cosine from each start; a method
  reaches HIGH from a start when most of its runs there (seeds x sparsities) do."""
  rows = res.rows
  starts = sorted({float(r["warm_start_c"]) for r in rows})
  stats = {c: group_stats([r for r in rows if float(r["warm_start_c"]) == c], ("method",),
                          "maxcos_min") for c in starts}
  reaches = {c: {m: judge_cell(m, st, Rule(">=", HIGH), "runs")
                 for (m,), st in stats[c].items() if st.ok} for c in starts}
  flags = lambda m, col: sum(float(r[col] or 0) > 0 for r in rows if r["method"] == m)
  ranked = sorted({r["method"] for r in rows},
                  key=lambda m: -np.nan_to_num(stats[starts[0]][(m,)].mean, nan=-1))
  lines = ["| method | " + " | ".join(f"min max-cosine, {label(c)}" for c in starts)
           + f" | epochs to half its gain, {label(starts[0])} | complete / dimensional collapse "
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
  lines += ["", "| family | " + " | ".join(f"mean, {label(c)}" for c in starts) + " |",
            "|---|" + "---|" * len(starts)]
  family_means = {}
  for family, members in methods.families().items():
    means = [[stats[c][(m,)].mean for m in members if (m,) in stats[c]] for c in starts]
    if means[0]:
      family_means[family] = np.nanmean(means[0])
      lines.append(f"| {family} | " + " | ".join(f"{np.nanmean(v):.3f}" for v in means) + " |")
  best, worst = ranked[0], ranked[-1]
  lines += ["", "What the paper did not test:",
            f"- Best mean from the {label(starts[0])} start: {best} "
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
    lines.append(f"- From the {label(c)} start each method ends {np.nanmin(lift):+.3f} to "
                 f"{np.nanmax(lift):+.3f} away from where it ends from the {label(starts[0])} "
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
    return (f"from the {label(c)} start {len(held)} of {len(cells)} methods reach {HIGH:g} "
            f"by most of their runs ({', '.join(held) or 'none'})"
            + (f"; runs split or borderline: {'; '.join(split)}" if split else ""))
  return "; ".join(findings(c) for c in starts), lines


@dataclasses.dataclass(frozen=True)
class Claim:
  """What the paper states for one experiment, and how the saved runs are judged against it.

  judge(results) -> (verdict, table lines): a verdicts.Verdict for a paper claim, a sentence
  for a survey beyond the paper; beside(shorter, longer) -> lines setting two runs of
  different training lengths side by side (compare.py)."""
  title: str
  paper: str
  judge: Callable[[Results], tuple[object, list[str]]]
  note: str = ""  # what is known about a difference
  beside: Callable[[Results, Results], list[str]] | None = None


_WARM_NOTE = (
    "Warm start (the authors' rule): W^o, W^t are dictionary atoms (drawn with replacement "
    "when m > d, M itself when m = d) plus N(0, p^-c) noise per entry, so for one atom per row "
    "the initial max-cosine of an atom is near 1 / sqrt(1 + p^(1-c)); the minimum over the "
    "atoms lies above that (the table gives each measured start).")
_FIG7_NOTE = (
    "The scripts behind Figure 7 ran the predictor model at full rank; their two "
    "configurations are missing, so the as-run sizes (p = d = m = 20), latents, sparsities "
    "and epochs are inferred. With p = d = m = 20 the authors' warm-start rule at c = 1 and "
    "c = 1.25 brackets the figure's start of 0.62; the text's setting (c = 2 at p = 50) "
    "starts far closer to the dictionary (the table gives each measured start). The arms "
    "with the predictor fixed at the identity (M = I, unnormalised outputs) have a loss "
    "unbounded below: their runs are marked 'unbounded' and judged in no cell.")


CLAIMS = {
    "fig1": Claim("Figure 1: NCL vs CL, one-hot latents",
                  "CL's minimum max-cosine is high, NCL's is low (5 runs).", contrast),
    "fig2": Claim("Figure 2: NCL vs CL, k-sparse latents, sparsity 0.1 / 0.2 / 0.3",
                  "CL's minimum max-cosine is high at every sparsity; NCL's is low (5 runs).",
                  contrast),
    "fig3": Claim("Figure 3: NCL with a two-layer encoder",
                  "Still fails: minimum max-cosine stays low (5 runs).",
                  stays_low("ncl_2layer", "ncl_2layer_product")),
    "fig4": Claim("Figure 4: NCL from a warm start (c = 1), no predictor",
                  "Minimum max-cosine decreases during training (5 runs).",
                  falls("ncl_warm"), _WARM_NOTE),
    "fig5": Claim("Figure 5: NCL from a warm start (c = 1) with a linear predictor",
                  "Minimum max-cosine rises to about 0.87 (3 runs).",
                  rises("ncl_warm_pred", 0.87), _WARM_NOTE),
    "fig6": Claim("Figure 6: NCL with a linear predictor, random start",
                  "Fails: minimum max-cosine stays low (3 runs).", stays_low("ncl_pred")),
    "fig7": Claim("Figure 7: NCL from a warm start, row- (column-) normalised W^o and W^t",
                  "Minimum max-cosine rises from about 0.62 to about 0.85 (3 runs).",
                  rises_from(0.62, 0.85), _FIG7_NOTE),
    "table1": Claim("Table 1: Simplified-SimCLR vs Simplified-SimSiam",
                    "Simplified-SimCLR's minimum max-cosine lies above Simplified-SimSiam's at "
                    "every sparsity, and SimSiam does not recover the support (5 runs; the "
                    "paper's own SimCLR minimum is 0.57 at sparsity 0.3).",
                    table1),
    "thm1": Claim("Theorem 1: the landscapes of NCL and CL",
                  "(a) every W in U_>= is a global optimum of NCL (value d alpha^2); (b) the "
                  "minimisers of CL over unit-column W are the permutation matrices.",
                  theorem1,
                  "The |B| -> infinity CL objective is computed exactly (negatives' masks "
                  "averaged inside the log). Deriving it shows (b) needs the similarity scale "
                  "tau below ln((d - alpha)/(1 - alpha)) (2.94 at d = 10, alpha = 0.5): above it, "
                  "a unit column gains by turning part of itself negative, so the minimisers "
                  "are not permutations. The runs use tau = 1."),
    "thm2": Claim("Theorem 2: dual linear network with weight decay (Eq. 13)",
                  "W^o_t M = C1_t W^o_0 M + C2_t (W^o_0 M + W^t_0 M) with the printed C1, C2.",
                  theorem2,
                  "Exact dynamics: a' = lambda a + c b, b' = lambda b + c a, so "
                  "C2_t = (prod(lambda + c_i) - prod(lambda - c_i)) / 2 = sum_j c_j "
                  "prod_{i<j}(lambda + c_i) prod_{i=j+1}^{t-1}(lambda - c_i); the printed "
                  "product starts at i = j."),
    "thm3": Claim("Theorem 3: dual SReLU network, warm start, row normalisation",
                  "Alternating optimisation with row normalisation converges to W^o = W^t = I.",
                  theorem3),
    "atlas": Claim("Atlas: every family on one testbed (beyond the paper)",
                   "not tested: the paper compares one contrastive and two non-contrastive "
                   "losses; the atlas asks the same question of every family of "
                   "docs/methods.md, from a random and a warm start.",
                   atlas,
                   "One testbed for all: the linear encoder (unless the Model line names "
                   "another) with the code's symmetric activation, no BN, independent masks, "
                   "Bernoulli latents (so `cl` here lacks the BN and dependent masks that make "
                   "Figure 2's CL succeed). Ranked by the random-start column; mean +- std over "
                   "seeds and sparsities.",
                   lambda a, b: compare.atlas(a, b, HIGH)),
    "rescue": Claim("Rescue map: from how far a start each mechanism recovers (beyond the "
                    "paper)",
                    "not tested: the paper's positive results are single points (a predictor "
                    "from c = 1, row normalisation from c = 2, nothing from a random start).",
                    lambda res: rescue.summary(res.curves, tuple(res.settings.get(
                        "mechanisms", ())), res.settings.get("recovered_at",
                                                             rescue.RECOVERED_AT)),
                    "Every mechanism on the authors' data (fixed-count latents, mask probability "
                    "0.5); NCL, its normalised variants and the dimension-contrastive criteria "
                    "without BN, the predictor NCL, Simplified-SimSiam and CL with BN, CL with "
                    "the dependent masks it ran with. The start is measured per run: at m > d "
                    "the warm start draws atoms with replacement, so an atom can be missed.",
                    lambda a, b: compare.rescue_borders(
                        a, b, a.settings.get("recovered_at", rescue.RECOVERED_AT))),
}


class Judgement(NamedTuple):
  label: str  # which runs: '' for all, e.g. 'lr 0.005, without 1 run that missed an atom'
  verdict: str
  table: list[str]
  short: str = ""  # the verdict's word and counts, for summaries


def judgements(claim: Claim, res: Results) -> list[Judgement]:
  """The claim judged on every learning rate of the results on its own (a figure no script
  ran trains two), and for a warm start also without the runs whose start missed an atom."""
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


def _slopes(res: Results) -> np.ndarray:
  """Each run's slope_per_1000 (NaN where the run has none)."""
  return np.array([float(r.get("slope_per_1000") or "nan") for r in res.rows])


def moving_line(res: Results) -> str:
  """How many ok runs were still moving at the end (convergence.py); '' without the flag."""
  flags = res.curves.get("convergence")
  if flags is None or not (flags != "").any():
    return ""
  ok = (flags != "") & (res.curves["status"] == "ok")
  moving = ok & (flags == "still_moving")
  slopes = _slopes(res)[moving]
  return (f"{moving.sum()} of {ok.sum()} ok runs were flagged still moving at the end "
          "(convergence flag)" + (f"; minimum max-cosine slope {np.nanmin(slopes):+.4f} to "
                                  f"{np.nanmax(slopes):+.4f} per 1000 epochs" if moving.any()
                                  else ": every run had settled"))


def collapse_line(res: Results) -> str:
  """How many ok runs ended in dimensional collapse ('' when none, or not measured): they stay
  in the means (a stable outcome whose max-cosine reads as any other's), counted here."""
  collapsed = res.curves.get("final_collapse_dimensional")
  if collapsed is None:
    return ""
  ok = res.curves["status"] == "ok"
  k = int(np.sum(np.nan_to_num(collapsed[ok]) > 0))
  by_arm = {m: int(np.sum(np.nan_to_num(collapsed[ok & (res.curves["method"] == m)]) > 0))
            for m in dict.fromkeys(res.curves["method"][ok].tolist())}
  return (f"{k} of {int(ok.sum())} ok runs ended in dimensional collapse ("
          + ", ".join(f"{m} {n}" for m, n in by_arm.items() if n)
          + "), kept in the means" if k else "")


def _judge(claim: Claim, res: Results) -> tuple[str, list[str], str]:
  """(verdict text, table, short form: a Verdict's counts, a survey's sentence)."""
  try:
    verdict, table = claim.judge(res)
  except MissingArm as e:
    return f"error: {e}", [], f"error: {e}"
  return str(verdict), table, getattr(verdict, "short", str(verdict))


def missed_line(res: Results) -> str:
  """How many warm starts missed an atom ('' for a random start)."""
  missed = res.curves.get("atoms_missed")
  if missed is None or not np.isfinite(missed).any():
    return ""
  warm = np.isfinite(missed)
  k = int((missed[warm] > 0).sum())
  return (f"the warm starts of {k} of {warm.sum()} runs missed an atom (no row of W^o started "
          "nearest to it; drawn dotted in the figure)" if k else
          f"the warm start of none of the {warm.sum()} runs missed an atom")


def verdict_words(judged: list[Judgement]) -> str:
  """The verdicts' first words, e.g. 'lr 0.005: partly; lr 0.025: reproduced'; a survey's
  finding whole."""
  def word(j):
    if j.verdict.startswith("not judged"):
      return "not judged"
    return j.verdict.split(":")[0] if j.verdict.startswith(WORDS) else j.short
  return "; ".join(f"{j.label}: {word(j)}" if j.label else word(j) for j in judged)


def where_run(config: dict) -> str:
  """'cpu (Intel Xeon, 2 cores), 41 min' from config.json's environment and wall times."""
  env = config.get("environment", {})
  machine = env.get("machine", {})
  where = env.get("backend", "?")
  if machine:
    where += f" ({machine.get('cpu')}, {machine.get('cores')} cores)" if where == "cpu" else \
        f" ({env.get('devices', ['?'])[0]})"
  walls = config.get("wall_s", {})
  if walls:
    seconds = sum(w.get("total", w.get("compile", 0) + w.get("train", 0))
                  for w in walls.values())
    where += f", {seconds / 60:.0f} min" if seconds >= 60 else f", {seconds:.0f} s"
  return where


def code_line(config: dict) -> str:
  """'commit 0452e04, clean tree' or what a dirty run left to rebuild its code from (config.json's
  environment.code and code.diff), and the code that derived columns again (run_status.refresh)."""
  code = config.get("environment", {}).get("code", {})
  text = f"commit {str(code.get('commit', '?'))[:7]}"
  if code.get("source_sha256"):
    text += f", package source sha256 {code['source_sha256'][:12]}"
  if not code.get("dirty"):
    text += ", clean tree"
  elif "code.diff" in config.get("files", {}):
    text += ", the code's changes from it saved in code.diff"
  else:
    text += ", changed from it with no diff recorded: the commit alone does not rebuild it"
  derived = config.get("derived")
  if derived:
    text += (f"; {', '.join(derived['columns'])} derived again from the saved curves at commit "
             f"{str(derived['code'].get('commit', '?'))[:7]}")
  return text


def agreement(res: Results, ref: Results) -> str:
  """Whether two results of the same configuration agree within seed noise: per cell (method,
  sparsity, mask prob, c, lr; each run once), the final minimum max-cosine means within twice
  their combined standard error plus 0.01."""
  res, ref = without_repeats(res), without_repeats(ref)
  keys = ("method", "sparsity", "mask_prob", "warm_start_c", "lr")
  ours = group_stats(res.rows, tuple(k for k in keys if k in res.rows[0]), "maxcos_min")
  theirs = group_stats(ref.rows, tuple(k for k in keys if k in ref.rows[0]), "maxcos_min")
  shared = [k for k in ours if k in theirs and ours[k].ok and theirs[k].ok]
  if not shared:
    return "no cell in common with the reference"
  def gap(k):
    a, b = ours[k], theirs[k]
    return abs(a.mean - b.mean), 2 * np.sqrt(a.std ** 2 / a.ok + b.std ** 2 / b.ok) + 0.01
  apart = [k for k in shared if gap(k)[0] > gap(k)[1]]
  worst = max(shared, key=lambda k: gap(k)[0])
  where = (f"largest difference {gap(worst)[0]:.3f}, at "
           + ", ".join(str(v) for v in worst if v != ""))
  if not apart:
    return f"agrees with the reference within seed noise in all {len(shared)} cells ({where})"
  return (f"differs from the reference beyond seed noise in {len(apart)} of {len(shared)} "
          f"cells ({where})")


NOT_SHIPPED = "none other holds it"


def find_reference(out_dir: str, experiment: str,
                   reference_dirs: tuple[str, ...]) -> tuple[str, tuple[Results, dict]] | None:
  """(directory, loaded results) of the first reference directory other than out_dir that
  holds the finished experiment, else None."""
  for directory in reference_dirs:
    if os.path.abspath(directory) != os.path.abspath(out_dir):
      loaded = results.load(os.path.join(directory, experiment))
      if loaded is not None:
        return directory, loaded
  return None


def _profile(settings: dict) -> str:
  return settings.get("profile") or "?"


def experiment_section(out_dir: str, experiment: str, reference_dirs: tuple[str, ...] = ()
                       ) -> tuple[list[str], dict]:
  """The experiment's REPORT section, and its summary row: {'paper', 'reference', 'ours'}."""
  claim = CLAIMS[experiment]
  directory = os.path.join(out_dir, experiment)
  lines = [f"## {claim.title}", ""]
  summary = {"paper": claim.paper, "reference": NOT_SHIPPED, "ours": "not run"}
  found = find_reference(out_dir, experiment, reference_dirs)
  reference_dir, reference = found if found else (None, None)
  if reference is not None:
    ref_judged = judgements(claim, reference[0])
    ref_profile = _profile(reference[0].settings)
    summary["reference"] = verdict_words(ref_judged) + (
        "" if ref_profile == "paper" else f" ({ref_profile} profile)")
  loaded = results.load(directory)
  if loaded is None:
    lines += [f"- Paper: {claim.paper}"]
    if reference is not None:
      lines += _reference_lines(reference, ref_judged, reference_dir, experiment, out_dir)
    return lines + ["- This run: not run (or incomplete): no finished results in "
                    f"`{experiment}/` beside this report.", ""], summary
  res, config = loaded
  settings, theory, beside = res.settings, res.theory, []
  judged = judgements(claim, res)
  if settings.get("profile") == "smoke":
    judged = [Judgement("", "not judged: the smoke profile only checks that the pipeline runs",
                        judged[0].table)]
  summary["ours"] = verdict_words(judged)
  options = settings.get("options") or {}
  lines += [f"- Paper: {claim.paper}"]
  if reference is not None:
    lines += _reference_lines(reference, ref_judged, reference_dir, experiment, out_dir)
  lines += [f"- This run: {provenance.run_caption(settings)}; on {where_run(config)}; code: "
            f"{code_line(config)}"
            + ("." if theory else "; mean +- sample std over the ok seeds of each cell, runs "
               "not ok counted and excluded, sparsities of the same runs counted once."),
            *([f"- Model: {provenance.fidelity_line(settings)}."]
              if provenance.fidelity_line(settings) else []),
            *([f"- Warm starts: {missed_line(without_repeats(res))}."]
              if missed_line(res) else []),
            *([f"- Convergence: {moving_line(without_repeats(res))}."]
              if moving_line(res) else []),
            *([f"- Collapse: {collapse_line(without_repeats(res))}."]
              if collapse_line(res) else []),
            *(["- Run with options the paper's claim is not stated for ("
               + ", ".join(f"--{k}={v}" for k, v in options.items())
               + "): the verdict judges the claim against this run as it is."] if options else []),
            *[f"- Verdict{_at(j.label)}: **{j.verdict}**." for j in judged]]
  if reference is not None and not theory and settings.get("profile") != "smoke":
    ref = reference[0]
    if _profile(settings) == _profile(ref.settings):
      lines.append(f"- Against the reference: {agreement(res, ref)}.")
    elif claim.beside is not None:
      beside = claim.beside(res, ref)
  lines += [*([f"- Note: {claim.note}"] if claim.note else []), ""]
  for j in judged:
    if j.table:
      lines += ([f"{j.label}:", ""] if j.label else []) + j.table + [""]
  if beside:
    lines += ["With training length, this run beside the reference:", "", *beside, ""]
  lines += [f"![{experiment}]({experiment}/{experiment}.png)", ""]
  return lines, summary


def _reference_lines(reference, judged: list[Judgement], reference_dir: str,
                     experiment: str, out_dir: str) -> list[str]:
  res, config = reference
  where = os.path.relpath(os.path.join(reference_dir, experiment), out_dir)
  return [f"- Reference ({_profile(res.settings)} profile): "
          f"{provenance.run_caption(res.settings)}; shipped in [{where}]({where}), run on "
          f"{where_run(config)}.",
          *[f"  - Reference verdict{_at(j.label)}: {j.verdict}." for j in judged]]


def _at(label: str) -> str:
  """' at lr 0.005', ' without the 2 runs ...' or ''."""
  return f" at {label}" if label.startswith("lr") else f" {label}" if label else ""


def summary_table(rows: dict[str, dict], profile_note: str, reference: bool) -> list[str]:
  """REPORT's opening table: every experiment's claim, the reference's verdict (when there is
  one beside this run) and this run's."""
  head = ["experiment", "the paper", *(["reference (paper profile unless named)"]
                                       if reference else []),
          "this run" + profile_note]
  lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
  for experiment, row in rows.items():
    cells = [f"[{experiment}](#{anchor(CLAIMS[experiment].title)})", row["paper"],
             *([row["reference"]] if reference else []), row["ours"]]
    lines.append("| " + " | ".join(cells) + " |")
  return lines


def anchor(title: str) -> str:
  return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


# Where each experiment's reference is looked for, first match first: the paper's experiments
# at the paper profile, then the surveys (atlas, rescue map) at the long profile.
DEFAULT_REFERENCES = tuple(os.path.join(disk.REPO, "reference", profile)
                           for profile in ("paper", "long"))


def report_text(out_dir: str, experiments: list[str] | None = None,
                reference_dirs: tuple[str, ...] = DEFAULT_REFERENCES) -> str:
  """out_dir's REPORT.md for the given (default: all known) experiments, each beside the
  first of reference_dirs (other than out_dir) that holds it; paths relative to out_dir."""
  sections, summaries, profiles = [], {}, set()
  for experiment in experiments or list(CLAIMS):
    lines, summaries[experiment] = experiment_section(out_dir, experiment, reference_dirs)
    sections += lines
    loaded = results.load(os.path.join(out_dir, experiment))
    if loaded is not None:
      profiles.add(loaded[1].get("settings", {}).get("profile"))
  profile_note = f" (profile {'/'.join(sorted(p for p in profiles if p))})" if profiles else ""
  beside = any(row["reference"] != NOT_SHIPPED for row in summaries.values())
  shipped = ", ".join(f"`{os.path.relpath(d, out_dir)}`"
                      for d in reference_dirs if os.path.abspath(d) != os.path.abspath(out_dir))
  intro = ("Each section: what the paper reports, what the reference beside this run shows "
           f"(the first of {shipped} that holds the experiment; a profile other than the "
           "paper's is named, and a survey's reference of another training length is set "
           "beside this run conclusion by conclusion), what this run shows, and a verdict for "
           "each. " if beside else
           "Each section: what the paper reports, what these runs show, and a verdict. ")
  rules = (f"The rule, for every claim: {RULE} Where the paper's figure shows a start, only "
           "the cells that start where the paper's do are judged. A figure that no published "
           "script ran is judged at each learning rate it trained (the scripts' 0.005 and the "
           "text's 0.025), and a warm start also without the runs whose start missed an atom. "
           "Runs whose status is not ok (diverged, unbounded loss, collapsed) are counted by "
           "status and left out of every mean. Tables show mean +- sample std over a cell's "
           f"ok seeds. Thresholds: high >= {HIGH}, low < {LOW}, a rise or fall >= {RISE}, "
           f"matching a number within {TOLERANCE}; CL above NCL by >= {MARGIN}.")
  lines = ["# ncl_landscape: the paper's claims beside our runs", "", intro + rules, "",
           *summary_table(summaries, profile_note, beside), "", *sections]
  return "\n".join(lines)


def write_report(out_dir: str, experiments: list[str] | None = None,
                 reference_dirs: tuple[str, ...] = DEFAULT_REFERENCES) -> str:
  """Writes report_text to out_dir/REPORT.md; returns its path."""
  path = os.path.join(out_dir, "REPORT.md")
  disk.atomic_write(path, report_text(out_dir, experiments, reference_dirs).encode())
  return path
