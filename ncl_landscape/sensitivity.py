"""What it takes: for each claim the paper profile does not reproduce, the settings under which
it would come out (REPORT section "What it takes", written beside the scan's results).

One choice at a time around the as-run setting, each a Variant of the claim's experiment
binary: flag overrides on top of the paper profile and the claim's base flags; a choice no flag
reaches replaces RunConfig sections in every arm (Figure 7's sizes), adds a traced axis to the
arms whose loss reads it (the NT-Xent temperature), or replaces a theorem's setting (Theorem
3's batch). Every variant trains into a normal result directory and is judged by the report's
own rule (report.judgements); a variant that trains several values of a traced scalar in one
grid is judged value by value. The screen trains each variant at a quarter of its paper epochs
(2000 for 8000); those that move toward the claim from the as-run screen (to_confirm) are
confirmed at paper scale, where the as-run row is the shipped reference's own runs of the same
grid.

The choices, smallest change first (KINDS): more seeds of the same setting, longer training, a
setting the authors' code leaves open, the paper's text where their code differs from it.
"""
from __future__ import annotations

import os
from typing import Callable, NamedTuple

import numpy as np

from ncl_landscape import disk, methods, report, results
from ncl_landscape.experiment import Arm
from ncl_landscape.hyper import Hyper
from ncl_landscape.metrics import DIVERGENCE_BOUND
from ncl_landscape.plotting import plt, save_figure
from ncl_landscape.results import Results, subset, without_repeats
from ncl_landscape.sweep import make_grid
from ncl_landscape.verdicts import RULE, WORDS, MissingArm, Part, Rule, fmt

KINDS = {  # what a variant changes, smallest change first: the order 'smallest change' reads
    "as run": "the setting the shipped reference ran",
    "seeds": "more seeds of the same setting",
    "training": "longer training",
    "open": "a setting the authors' code leaves open",
    "text": "the paper's text where the authors' code differs",
}
SCALES = ("screen", "paper")  # a quarter of the paper's epochs, and the paper's
SCREEN_FRACTION = 4  # the screen trains 1 / SCREEN_FRACTION of the paper's epochs
REQUIRED_START = 3.0  # Theorem 3's warm start must lie this many times above the noise floor
REFERENCE = os.path.join(disk.REPO, "reference", "paper")


class Variant(NamedTuple):
  """One scanned value (or, with `split`, several values of one traced scalar in one grid)."""
  name: str  # its directory: <out>/sensitivity/<claim>/<name>
  choice: str  # what it changes, e.g. 'learning rate'
  value: str  # the value, in words ('' for the as-run setting; a split names each row's)
  kind: str  # one of KINDS
  flags: dict = {}  # flag -> value on top of the claim's base flags (None drops a base flag)
  split: str = ""  # a traced scalar (Hyper field) trained at `values` in one grid
  values: tuple = ()
  config: dict = {}  # RunConfig sections replaced in every arm
  settings: dict = {}  # resolved settings replaced (a theorem's)
  epochs_factor: int = 1  # trains this many times its stage's epochs


class Scan(NamedTuple):
  """A claim's scan: its experiment, the part of the claim the table and figure show, the
  as-run setting it scans around (paper profile + base flags) and the variants, as run first."""
  experiment: str
  focus: str  # a part of the claim's verdict, e.g. 'CL high'
  base: dict  # flags of the as-run setting on top of the paper profile
  scope: str  # what the base keeps of the paper's grid, and why its verdict stays the claim's
  variants: tuple
  shortened: bool = True  # screened at a quarter of the epochs (a theorem: at paper scale)
  details: Callable[[Results], list[str]] | None = None  # further findings of one result


AS_RUN = Variant("as_run", "as run", "", "as run")
MORE_SEEDS = Variant("seeds_20", "seeds", "20", "seeds", {"seeds": "20"})
LONGER = Variant("epochs_x2", "epochs", "x2 (16000 at paper scale)", "training", epochs_factor=2)
TEXT_LR = Variant("lr_0.025", "learning rate", "0.025 (the text's)", "open", {"lr": "0.025"})
BATCH_384 = Variant("batch_384", "batch size", "384 (the flagless default)", "open",
                    {"batch_size": "384"})
TEMPERATURE = Variant("temperature", "NT-Xent temperature (as run 0.05)", "", "open",
                      split="temperature", values=(0.1, 0.5))
BERNOULLI = Variant("latent_bernoulli", "latents", "bernoulli (the text's)", "text",
                    {"latent": "bernoulli"})
INDEPENDENT_MASKS = Variant("cl_masks_independent", "CL masks", "independent (Eq. 3)", "text",
                            {"cl_masks": "independent"})
GAUSSIAN_HEADS = Variant("head_init_gaussian", "head init", "gaussian (the text's)", "text",
                         {"head_init": "gaussian"})


def _sizes(n: int) -> Variant:
  """Figure 7's full-rank sizes p = d = m = n (as run 20, inferred)."""
  return Variant(f"p_d_m_{n}", "p = d = m (as run 20)", str(n), "open",
                 config={"data": {"p": n, "d": n}, "model": {"m": n}})


def divergence_line(curves: dict, method: str) -> str:
  """How a theorem arm's ||W^o - I||_F leaves the sane range (metrics.DIVERGENCE_BOUND): in how
  many runs, from where, how fast per round and at which round; or where it ends."""
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


def theorem3_details(res: Results) -> list[str]:
  """Theorem 3 at one noise level: the floor, how far above it the theorem's warm start lies
  (REQUIRED_START), where the row-normalised run ends, and the no-normalisation arm's fate."""
  good = next(r for r in res.theory if r["quantity"].startswith("srelu_rownorm:"))
  floor, start = float(good["noise_floor"]), float(good["initial"])
  ok = [r for r in res.rows if r["method"] == "srelu_rownorm" and r["status"] == "ok"]
  ended = sum(float(r["final_loss"]) <= floor for r in ok)
  above = "at least" if start >= REQUIRED_START * floor else "less than"
  return [f"batch {res.settings['batch']}, {res.settings['epochs']} rounds, "
          f"{res.settings['seeds']} seeds: noise floor "
          f"{fmt(floor)}; the theorem's warm start, {fmt(start)}, lies {start / floor:.2f} times "
          f"above it ({above} the {REQUIRED_START:g} asked); srelu_rownorm ends at "
          f"{fmt(float(good['measured']))}, {ended} of {len(ok)} runs at or below the floor",
          divergence_line(res.curves, "srelu_no_norm")]


SCANS = {
    "fig2": Scan(
        "fig2", "CL high", {"sparsities": "0.3", "mask_probs": "0.5"},
        "the cell the claim fails in, sparsity 0.3 at mask probability 0.5 (the as-run CL trains "
        "that one mask cell whatever the grid), so every verdict is that cell's; BN as the "
        "caption reads it changes only NCL and is not scanned",
        (AS_RUN, MORE_SEEDS, LONGER, TEXT_LR, BATCH_384, TEMPERATURE, BERNOULLI,
         INDEPENDENT_MASKS)),
    "fig5": Scan(
        "fig5", "reaches 0.87", {"lr": "0.005"},
        "the scripts' learning rate, where the claim fails, at every sparsity; its model has BN "
        "whatever --batch_norm says, and no failing cell's seeds split, so neither is scanned",
        (AS_RUN, LONGER, TEXT_LR, BATCH_384, BERNOULLI, GAUSSIAN_HEADS,
         Variant("predictor_no_bias", "predictor", "without b^p (Figure 7's form)", "text",
                 {"predictor_bias": "false"}))),
    "fig7": Scan(
        "fig7", "reaches 0.85", {"fidelities": "as_run", "warm_start_c": "1,1.25"},
        "the as-run model at the two warm starts that bracket the figure's start of 0.62 (the "
        "cells the claim is judged in), every sparsity",
        (AS_RUN, MORE_SEEDS, LONGER, TEXT_LR, BATCH_384,
         Variant("warm_start_c", "warm-start c (as run 1 and 1.25)", "", "open",
                 split="warm_start_c", values=(1.1, 1.15, 1.2)),
         _sizes(10), _sizes(50), BERNOULLI, GAUSSIAN_HEADS,
         Variant("predictor_bias", "predictor", "with b^p (Figures 5-6's form)", "text",
                 {"predictor_bias": "true"}),
         Variant("as_written", "model", "as written: no predictor, c = 2, p = 50, d = 10, m = 50",
                 "text", {"fidelities": "as_written", "warm_start_c": None}))),
    "table1": Scan(
        "table1", "SimCLR above simplified_simsiam", {"lr": "0.005", "sparsities": "0.3"},
        "the scripts' learning rate at sparsity 0.3, the cell where the paper's own SimCLR is "
        "weakest and SimCLR's lead is the claim",
        (AS_RUN, MORE_SEEDS, LONGER, TEXT_LR, BATCH_384, TEMPERATURE, BERNOULLI,
         INDEPENDENT_MASKS, GAUSSIAN_HEADS)),
    "thm3": Scan(
        "thm3", "starts clearly above it", {},
        "the theorem's setting; the noise floor is lowered by a batch eight times the paper "
        "profile's (sampled gradients: no closed form of the population gradient is used), over "
        "20 rounds (every run of the paper profile settles within the first; the floor reads "
        "the last 10)",
        (AS_RUN, Variant("batch_32768", "batch (as run 4096)", "32768, 20 rounds", "open",
                         {"epochs": "20"}, settings={"batch": 32768})),
        shortened=False, details=theorem3_details),
}


def with_axis(arm: Arm, base_seed: int, name: str, values: tuple) -> Arm:
  """The arm with the traced scalar `name` swept over `values` as well, if its loss reads it
  (the grid's other axes and seeds kept: one compiled grid)."""
  if not methods.reads(arm.cfg.train.method, name):
    return arm
  points = arm.grid.points
  axes = {f: tuple(dict.fromkeys(p[f] for p in points)) for f in Hyper._fields}
  seeds = 1 + max(p["seed"] for p in points)
  return arm._replace(grid=make_grid(base_seed, seeds, Hyper(), **{**axes, name: tuple(values)}))


def runs_of(res: Results, arms: list[Arm]) -> Results | None:
  """The runs of res that the arms train (same arm name, seed and every scalar the run
  reads): a reference's runs of a smaller grid; None when there are none."""
  points = {}
  for arm in arms:
    points.setdefault(arm.name, []).extend(arm.grid.points)
  def trains(row):
    fields = ["seed", *(f for f in Hyper._fields if row.get(f) not in (None, ""))]
    return any(all(np.isclose(float(row[f]), p[f]) for f in fields)
               for p in points.get(row["method"], ()))
  keep = np.array([trains(r) for r in res.rows])
  return subset(res, keep) if keep.any() else None


def variant_dir(out_dir: str, scan: Scan, variant: Variant, scale: str) -> str:
  """Where a variant trains: out/sensitivity/<claim>/<variant>, at paper scale .../paper."""
  directory = os.path.join(out_dir, "sensitivity", scan.experiment, variant.name)
  return directory if scale == "screen" else os.path.join(directory, "paper")


def result_dir(out_dir: str, scan: Scan, variant: Variant, scale: str) -> str:
  return os.path.join(variant_dir(out_dir, scan, variant, scale), scan.experiment)


class Row(NamedTuple):
  """One scanned value judged at one scale."""
  variant: Variant
  order: int  # the variant's place in its scan
  at: float | None  # a split variant's value of its traced scalar
  scale: str  # one of SCALES
  label: str  # which runs, where a result holds several learning rates, e.g. 'lr 0.025'
  judgement: report.Judgement  # the report's verdict of these runs
  focus: Part | None  # the scan's focus part of that verdict (None: no verdict)

  @property
  def key(self) -> tuple:
    return self.order, self.value, self.label

  @property
  def value(self) -> str:
    return self.variant.value if self.at is None else f"{self.at:g}"

  @property
  def word(self) -> str:
    return next((w for w in WORDS if self.judgement.verdict.startswith(w + ":")), "error")

  @property
  def mean(self) -> float:
    """The focus part's final value: the mean of its cells' means (NaN without a verdict)."""
    return float(np.mean([c.stat.mean for c in self.focus.cells])) if self.focus else np.nan

  @property
  def passing(self) -> tuple[int, int]:
    """(seeds that pass the focus part, seeds judged), over its cells."""
    cells = self.focus.cells if self.focus else ()
    return sum(c.passing for c in cells), sum(c.stat.ok for c in cells)

  @property
  def seeds(self) -> np.ndarray:
    return np.concatenate([c.stat.values for c in self.focus.cells]) if self.focus else \
        np.array([])

  @property
  def margin(self) -> float:
    """How far the focus value lies inside its rule's passing region (negative: outside)."""
    if not self.focus:
      return -np.inf
    rule, x = self.focus.cells[0].rule, self.mean
    if rule.op == "within":
      return rule.tolerance - abs(x - rule.threshold)
    return x - rule.threshold if rule.op in (">=", ">") else rule.threshold - x

  @property
  def counts(self) -> str:
    """'1 of 5 seeds' pass the focus part; '' for a theorem's single number."""
    if not self.focus or not any(c.stat.seeds for c in self.focus.cells):
      return ""
    return "{} of {} seeds".format(*self.passing)

  def cell(self) -> str:
    """'0.729 (1 of 5 seeds)'."""
    if not self.focus:
      return "n/a"
    return fmt(self.mean) + (f" ({self.counts})" if self.counts else "")


def split(res: Results, field: str) -> list[tuple[float | None, Results]]:
  """(value, its runs) for every value of the summary column `field`; runs without the column
  (a loss that does not read the scalar) join every value; [(None, res)] without values."""
  column = np.array([float(r.get(field) or "nan") for r in res.rows]) if field else np.array([])
  values = np.unique(column[~np.isnan(column)])
  if not len(values):
    return [(None, res)]
  return [(float(v), subset(res, np.isclose(column, v) | np.isnan(column))) for v in values]


def focus_part(claim: report.Claim, res: Results, name: str) -> Part | None:
  """The part `name` of the claim's verdict on res (each run once), or None."""
  try:
    verdict, _ = claim.judge(without_repeats(res))
  except MissingArm:
    return None
  return next((p for p in verdict.parts if p.name == name), None)


def judge(scan: Scan, order: int, variant: Variant, res: Results, scale: str) -> list[Row]:
  """The variant's rows: report.judgements of its runs (all of them, the first judgement), per
  value of its traced scalar and per learning rate."""
  claim = report.CLAIMS[scan.experiment]
  rows = []
  for at, by_value in split(res, variant.split):
    by_lr = split(by_value, "lr")
    for lr, part in by_lr:
      rows.append(Row(variant, order, at, scale, f"lr {lr:g}" if len(by_lr) > 1 else "",
                      report.judgements(claim, part)[0], focus_part(claim, part, scan.focus)))
  return rows


def collect(out_dir: str, scan: Scan, reference_base: Results | None) -> tuple[list[Row],
                                                                               list[str]]:
  """The rows of every finished variant directory of the scan, at both scales (the as-run row
  at paper scale from reference_base, the reference's runs of the base grid), and the scan's
  details of each result, each with a link to its figure (paths relative to the scan's
  folder)."""
  found = []
  for order, v in enumerate(scan.variants):
    for scale in SCALES:
      directory = result_dir(out_dir, scan, v, scale)
      loaded = results.load(directory)
      if loaded is not None:
        found.append((order, v, scale, loaded[0], directory))
  if reference_base is not None:
    found.append((0, AS_RUN, "paper", reference_base, os.path.join(REFERENCE, scan.experiment)))
  rows, details = [], []
  for order, v, scale, res, directory in found:
    rows += judge(scan, order, v, res, scale)
    if scan.details:
      figure = os.path.relpath(os.path.join(directory, f"{scan.experiment}.png"),
                               os.path.join(out_dir, "sensitivity"))
      details.append(f"- {'; '.join(scan.details(res))} ([figure]({figure})).")
  return rows, details


def moves_toward(row: Row, base: Row) -> bool:
  """Whether row's verdict differs from base's, or it passes a larger share of seeds, or its
  focus value lies deeper inside the claim's rule by more than the standard error of the
  difference of the two means (all unrounded)."""
  if row.word != base.word:
    return True
  (k, n), (k0, n0) = row.passing, base.passing
  if n and n0 and k / n > k0 / n0:
    return True
  se = np.sqrt(sum(np.var(r.seeds, ddof=1) / len(r.seeds) for r in (row, base)
                   if len(r.seeds) > 1))
  return row.margin - base.margin > se


def to_confirm(scan: Scan, rows: list[Row]) -> list[Variant]:
  """The variants the confirm stage trains at paper scale: those with a screened value that
  moves toward the claim from the as-run screen (moves_toward; a split variant keeps only
  those values). A screen shortens training, so a setting that reproduces at paper scale may
  not yet at the screen's epochs: the move, not only a changed verdict, earns a confirm."""
  screen = [r for r in rows if r.scale == "screen"]
  base = {r.label: r for r in screen if r.variant.kind == "as run"}
  out = []
  for variant in scan.variants[1:]:
    moved = [r for r in screen if r.variant == variant and r.label in base
             and moves_toward(r, base[r.label])]
    if moved:
      out.append(variant._replace(values=tuple(dict.fromkeys(r.at for r in moved)))
                 if variant.split else variant)
  return out


def latest(rows: list[Row]) -> list[Row]:
  """Each scanned value's row at the largest scale it ran at."""
  best = {}
  for r in sorted(rows, key=lambda r: SCALES.index(r.scale)):
    best[r.key] = r
  return list(best.values())


def conclusion(rows: list[Row]) -> str:
  """The one sentence: the smallest change that reproduces the claim, judged at the largest
  scale each value ran at: the least kind of change (KINDS), then the larger share of seeds
  passing the focus part, then its value deeper inside the rule (all unrounded), then the
  scan's order; or that none of the scanned settings does."""
  rows = latest(rows)
  hits = [r for r in rows if r.word == "reproduced"]
  if not hits:
    screened = len({r.key for r in rows if r.scale == "screen" and r.variant.kind != "as run"})
    if not screened:
      return "None of the scanned settings does."
    return (f"None of the scanned settings does ({screened} of them judged in the screen "
            "only, at a quarter of the paper's epochs).")
  best = min(hits, key=lambda r: (list(KINDS).index(r.variant.kind),
                                  -r.passing[0] / max(r.passing[1], 1), -r.margin, r.key))
  where = ("at paper scale" if best.scale == "paper" else
           "in the screen only, not yet confirmed at paper scale")
  numbers = ", ".join(filter(None, [fmt(best.mean), best.counts, best.label, where]))
  if best.variant.kind == "as run":
    return f"As run it reproduces ({numbers})."
  return (f"The smallest change that reproduces it: {best.variant.choice} {best.value} "
          f"({numbers}).")


COLOURS = {"reproduced": "tab:green", "partly": "tab:orange", "not reproduced": "tab:red",
           "error": "tab:gray"}
MARKERS = {"screen": "o", "paper": "s"}


def _name(row: Row) -> str:
  if row.variant.kind == "as run":
    return "as run" + (f", {row.label}" if row.label else "")
  return f"{row.variant.choice}: {row.value}" + (f", {row.label}" if row.label else "")


def _band(rule: Rule, low: float, high: float) -> tuple[float, float]:
  """The values that pass the rule, within [low, high]."""
  if rule.op == "within":
    return rule.threshold - rule.tolerance, rule.threshold + rule.tolerance
  return (rule.threshold, high) if rule.op in (">=", ">") else (low, rule.threshold)


def plot(scan: Scan, rows: list[Row], path: str) -> None:
  """A dot plot of the focus part's final value per scanned value: each judged seed (grey), the
  mean (circle: screen, square: paper scale; coloured by the claim's verdict), and the values
  the claim's rule accepts as a band."""
  shown = sorted((r for r in rows if r.focus), key=lambda r: r.key)
  keys = list(dict.fromkeys(r.key for r in shown))
  fig, ax = plt.subplots(figsize=(8.5, 1.6 + 0.42 * len(keys)))
  for r in shown:
    y = keys.index(r.key) + (0.15 if r.scale == "paper" else -0.15)
    ax.plot(r.seeds, np.full(len(r.seeds), y), ".", color="0.6", ms=4)
    colour = COLOURS[r.word]
    ax.plot([r.mean], [y], MARKERS[r.scale], color=colour, ms=8,
            mfc=colour if r.scale == "paper" else "white")
  rule = shown[0].focus.cells[0].rule
  low, high = ax.get_xlim()
  band = ax.axvspan(*_band(rule, min(low, rule.threshold), max(high, rule.threshold)),
                    color="tab:blue", alpha=0.12, lw=0, label="what the claim accepts")
  ax.set_yticks(range(len(keys)), [_name(next(r for r in shown if r.key == k)) for k in keys],
                fontsize=8)
  ax.set_ylim(len(keys) - 0.5, -0.5)
  ax.set_xlabel(f"{scan.focus} ({shown[0].focus.rule}): final value; grey: each seed",
                fontsize=9)
  handles = [band, *(plt.Line2D([], [], ls="none", marker=m, color="k", mfc="white" if s == "screen"
                        else "k", label=f"mean, {s} scale") for s, m in MARKERS.items()
                        if any(r.scale == s for r in shown))]
  handles += [plt.Line2D([], [], ls="none", marker="s", color=c, label=w)
              for w, c in COLOURS.items() if any(r.word == w for r in shown)]
  ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
  ax.set_title(f"What it takes: {report.CLAIMS[scan.experiment].title}", fontsize=10)
  save_figure(fig, path)


def reference_verdict(experiment: str, reference_dir: str = REFERENCE) -> str:
  """The shipped reference's verdict of its whole grid, each learning rate's short form."""
  loaded = results.load(os.path.join(reference_dir, experiment))
  if loaded is None:
    return "not shipped"
  return "; ".join(f"{j.label}: {j.short}" if j.label else j.short
                   for j in report.judgements(report.CLAIMS[experiment], loaded[0])
                   if not j.label.split(", ")[-1].startswith("without"))


def _flags(flags: dict) -> str:
  return " ".join(f"`--{k}={v}`" for k, v in flags.items() if v is not None)


def _changes(variant: Variant) -> str:
  """What a variant changes on top of the base: its flags, the traced values it trains, the
  arms' configuration and the settings it replaces."""
  values = "/".join(f"{v:g}" for v in variant.values)
  return "; ".join(filter(None, [
      _flags(variant.flags), " ".join(f"no `--{k}`" for k, v in variant.flags.items() if v is None),
      f"{variant.split} {values} (traced)" if variant.split else "",
      f"epochs x{variant.epochs_factor}" if variant.epochs_factor > 1 else "",
      ", ".join(f"{section}.{k} = {v}" for section, fields in variant.config.items()
                for k, v in fields.items()),
      ", ".join(f"{k} = {v}" for k, v in variant.settings.items())])) or "none"


def _table(scan: Scan, rows: list[Row], screen_epochs: int) -> list[str]:
  """choice x value -> final value (seeds passing) and verdict, at each scale the scan runs."""
  scales = SCALES if scan.shortened else SCALES[1:]
  names = {"screen": f"screen ({screen_epochs} epochs)", "paper": "paper scale"}
  lines = ["| choice | value | changes | " + " | ".join(f"{names[s]}: {scan.focus} | verdict"
                                                      for s in scales) + " |",
           "|---|---|---|" + "---|---|" * len(scales)]
  by_key = {}
  for r in sorted(rows, key=lambda r: r.key):
    by_key.setdefault(r.key, {})[r.scale] = r
  for at_scale in by_key.values():
    r = next(iter(at_scale.values()))
    value = (r.value or "-") + (f", {r.label}" if r.label else "")
    cells = [c for s in scales for c in ((at_scale[s].cell(), at_scale[s].judgement.short)
                                         if s in at_scale else ("not run", ""))]
    lines.append(f"| {r.variant.choice} | {value} | {_changes(r.variant)} | "
                 + " | ".join(cells) + " |")
  return lines


def section(scan: Scan, rows: list[Row], details: list[str], screen_epochs: int,
            figure: str | None) -> list[str]:
  """The claim's part of REPORT: the paper's claim, the reference's verdict, what was scanned,
  the table (choice x value -> final value, seeds passing, verdict, at each scale), the one
  sentence, the details and the figure."""
  claim = report.CLAIMS[scan.experiment]
  base = f"the paper profile with {_flags(scan.base)}" if scan.base else "the paper profile"
  lines = [f"## {claim.title}", "",
           f"- Paper: {claim.paper}",
           "- As run, the shipped reference (its whole grid): "
           f"{reference_verdict(scan.experiment)}.",
           f"- Scanned around {base}: {scan.scope}.",
           f"- Shown: the final value of '{scan.focus}' (the mean of its cells' means; where "
           "seeds are judged, how many of all its cells' seeds pass it); at paper scale the "
           "as-run row is the shipped reference's own runs of this grid.", ""]
  scanned = len({r.order for r in rows if r.variant.kind != "as run"})
  if not scanned:
    return lines + [*(_table(scan, rows, screen_epochs) if rows else []), "",
                    f"**What it takes:** not scanned yet (`python -m experiments.sensitivity "
                    f"--claims={scan.experiment}`).", ""]
  so_far = (f" ({scanned} of {len(scan.variants) - 1} changes scanned so far)"
            if scanned < len(scan.variants) - 1 else "")
  lines += [*_table(scan, rows, screen_epochs), "",
            f"**What it takes:** {conclusion(rows)[:-1]}{so_far}.", ""]
  lines += details + ([""] if details else [])
  return lines + ([f"![{scan.experiment}]({figure})", ""] if figure else [])


def report_text(claims: dict[str, tuple[list[Row], list[str]]], screen_epochs: int) -> str:
  """The "What it takes" REPORT: an introduction, then every scanned claim's section (its
  figure <claim>.png beside it, where a row has a verdict)."""
  kinds = "; ".join(f"{k}: {v}" for k, v in KINDS.items())
  lines = ["# What it takes", "",
           "Every claim the paper profile does not reproduce, scanned one choice at a time "
           "around its as-run setting: is there a plausible setting under which the paper's "
           "number comes out? Each scanned value trains the claim's own experiment "
           "(experiments/sensitivity.py) and is judged by the rule of every REPORT: "
           f"{RULE} The screen trains every value at a quarter of the paper's epochs "
           f"({screen_epochs}); a value that moves toward the claim from the as-run screen "
           "(its verdict changes, a larger share of seeds passes, or its mean lies deeper "
           "inside the claim's rule by more than the standard error of the difference) is "
           "confirmed at paper scale. The one sentence per claim names the smallest change "
           "that reproduces it, at the largest scale it ran at: the least kind of change, then "
           "the larger share of seeds passing, then the value deeper inside the claim's rule "
           f"(all unrounded). Kinds of change, smallest first: {kinds}.", ""]
  for experiment, (rows, details) in claims.items():
    figure = f"{experiment}.png" if any(r.focus for r in rows) else None
    lines += section(SCANS[experiment], rows, details, screen_epochs, figure)
  return "\n".join(lines)


def write_report(out_dir: str, claims: dict[str, tuple[list[Row], list[str]]],
                 screen_epochs: int) -> str:
  """Writes out_dir/sensitivity/REPORT.md and a figure per claim; returns the report's path."""
  folder = os.path.join(out_dir, "sensitivity")
  os.makedirs(folder, exist_ok=True)
  for experiment, (rows, _) in claims.items():
    if any(r.focus for r in rows):
      plot(SCANS[experiment], rows, os.path.join(folder, f"{experiment}.png"))
  path = os.path.join(folder, "REPORT.md")
  disk.atomic_write(path, report_text(claims, screen_epochs).encode())
  return path


def arm_rates(reference_dir: str) -> dict[str, tuple[float, float]]:
  """Per arm of a shipped result: (seconds per run and epoch, compile seconds), from its
  config.json's wall times and its distinct runs (the 0 compile of a program the cache held)."""
  res, config = results.load(reference_dir)
  runs = dict(zip(*np.unique(without_repeats(res).curves["method"], return_counts=True)))
  epochs = config["settings"]["epochs"]
  return {arm: (wall["train"] / (runs[arm] * epochs), wall.get("compile", 0.0))
          for arm, wall in config["wall_s"].items()}


def grid_seconds(runs: dict[str, int], epochs: int, reference_dir: str) -> float:
  """Estimated CPU seconds of a grid: each arm's distinct runs x epochs at the reference's
  pace for the arm of that name (sizes and batch not rescaled), plus its compile."""
  rates = arm_rates(reference_dir)
  return sum(n * epochs * rates[arm][0] + rates[arm][1] for arm, n in runs.items())


THEOREM_SIZES = ("seeds", "epochs", "batch")  # a theorem's work grows linearly in each


def theorem_seconds(settings: dict, reference_dir: str) -> float:
  """Estimated CPU seconds of a theorem run: the reference's, scaled by THEOREM_SIZES."""
  config = disk.load_json(os.path.join(reference_dir, "config.json"))
  ref = config["settings"]
  total = sum(w["total"] for w in config["wall_s"].values())
  return total * float(np.prod([settings[k] / ref[k] for k in THEOREM_SIZES if k in ref]))
