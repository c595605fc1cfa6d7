"""What it takes: for each claim the paper profile does not reproduce, the settings under which
it would come out (REPORT section "What it takes", written beside the scan's results).

One choice at a time around the as-run setting, each a Variant of the claim's experiment
binary: flag overrides on top of the paper profile and the claim's base flags; a choice no flag
reaches replaces RunConfig sections in every arm (Figure 7's sizes), adds a traced axis to the
arms whose loss reads it (the NT-Xent temperature), or replaces a theorem's setting (Theorem
3's batch). Every variant trains into a normal result directory and is judged by the report's
own rule (claims.judgements); a variant that trains several values of a traced scalar in one
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

from ncl_landscape.methods import registry
from ncl_landscape.report.claims import Claim, Judgement, divergence_line, judgements
from ncl_landscape.report.verdicts import RULE, WORDS, MissingArm, Part, fmt, not_ok_text
from ncl_landscape.runs import disk, results
from ncl_landscape.runs.results import Results, subset, without_repeats
from ncl_landscape.thresholds import REQUIRED_START
from ncl_landscape.training.experiment import Arm
from ncl_landscape.training.hyper import Hyper
from ncl_landscape.training.sweep import make_grid

KINDS = {  # what a variant changes, smallest change first: the order 'smallest change' reads
    "as run": "the setting the shipped reference ran",
    "seeds": "more seeds of the same setting",
    "training": "longer training",
    "open": "a setting the authors' code leaves open",
    "text": "the paper's text where the authors' code differs",
}
SCALES = ("screen", "paper")  # a quarter of the paper's epochs, and the paper's
SCREEN_FRACTION = 4  # the screen trains 1 / SCREEN_FRACTION of the paper's epochs
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
  """A claim's scan: the part its table and figure show, the as-run setting, and the variants.

  The as-run setting is the paper profile with the base flags; the variants come as run first.
  Declared with its experiment: experiments/registry.py binds it to the experiment's name and claim.
  """
  focus: str  # a part of the claim's verdict, e.g. 'CL high'
  base: dict  # flags of the as-run setting on top of the paper profile
  scope: str  # what the base keeps of the paper's grid, and why its verdict stays the claim's
  variants: tuple
  shortened: bool = True  # screened at a quarter of the epochs (a theorem: at paper scale)
  details: Callable[[Results], list[str]] | None = None  # further findings of one result
  experiment: str = ""  # bound by the registry
  claim: Claim | None = None  # bound by the registry


AS_RUN = Variant("as_run", "as run", "", "as run")
MORE_SEEDS = Variant("seeds_20", "seeds", "20", "seeds", {"seeds": "20"})
LONGER = Variant("epochs_x2", "epochs", "x2 (at each scale)", "training", epochs_factor=2)
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


def sizes(n: int) -> Variant:
  """The Variant of Figure 7's full-rank sizes p = d = m = n (as run 20, inferred)."""
  return Variant(f"p_d_m_{n}", "p = d = m (as run 20)", str(n), "open",
                 config={"data": {"p": n, "d": n}, "model": {"m": n}})


def ends_line(res: Results, method: str) -> str:
  """Where a row-normalised Theorem 3 arm starts and ends against the noise floor, in words.

  Args:
    res: a Theorem 3 result (its theory.csv rows carry each arm's floor, initial and final means).
    method: the arm.

  Returns:
    '<method> from <initial> ends at <final>, k of n ok runs at or below the floor'.
  """
  row = next(r for r in res.theory if r["quantity"].startswith(method + ":"))
  floor = float(row["noise_floor"])
  ok = [r for r in res.rows if r["method"] == method and r["status"] == "ok"]
  ended = sum(float(r["final_loss"]) <= floor for r in ok)
  return (f"{method} from {fmt(float(row['initial']))} ends at {fmt(float(row['measured']))}, "
          f"{ended} of {len(ok)} runs at or below the floor")


def theorem3_details(res: Results) -> list[str]:
  """Theorem 3 at one batch (one noise floor), in words: a line of the scan's details.

  The noise floor; how far above it the theorem's warm start lies (against REQUIRED_START); where
  the row-normalised run, and the one from ten times the warm-start error, end (ends_line); and
  the no-normalisation arm's fate (divergence_line).
  """
  good = next(r for r in res.theory if r["quantity"].startswith("srelu_rownorm:"))
  floor, start = float(good["noise_floor"]), float(good["initial"])
  above = "at least" if start >= REQUIRED_START * floor else "less than"
  return [f"batch {res.settings['batch']}, {res.settings['epochs']} rounds, "
          f"{res.settings['seeds']} seeds: noise floor {fmt(floor)}; the theorem's warm start, "
          f"{fmt(start)}, lies {start / floor:.2f} times above it ({above} the "
          f"{REQUIRED_START:g} asked); {ends_line(res, 'srelu_rownorm')}",
          f"outside Assumption 2, {ends_line(res, 'srelu_rownorm_10x_error')}",
          divergence_line(res.curves, "srelu_no_norm")]


def with_axis(arm: Arm, base_seed: int, name: str, values: tuple) -> Arm:
  """The arm with a traced scalar swept over values as well, if its loss reads it.

  Args:
    arm: the arm.
    base_seed: the grid's root seed.
    name: a Hyper field.
    values: its values.

  Returns:
    The arm with its grid remade as the product of its fields' values, name's being values, over the
    same seeds (one compiled grid); the arm itself if its loss does not read name.
  """
  if not registry.reads(arm.cfg.train.method, name):
    return arm
  points = arm.grid.points
  axes = {f: tuple(dict.fromkeys(p[f] for p in points)) for f in Hyper._fields}
  seeds = 1 + max(p["seed"] for p in points)
  return arm._replace(grid=make_grid(base_seed, seeds, Hyper(), **{**axes, name: tuple(values)}))


def runs_of(res: Results, arms: list[Arm]) -> Results | None:
  """The runs of res that the arms train: e.g. a reference's runs of a smaller grid.

  A run is trained by the arms when an arm of its name has a grid point of its seed and of every
  scalar the run reads (the summary columns it fills).

  Returns:
    The subset of res, or None when there are none.
  """
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
  """The variant's result directory at one scale: variant_dir/<experiment>."""
  return os.path.join(variant_dir(out_dir, scan, variant, scale), scan.experiment)


class Row(NamedTuple):
  """One scanned value judged at one scale."""
  variant: Variant
  order: int  # the variant's place in its scan
  at: float | None  # a split variant's value of its traced scalar
  scale: str  # one of SCALES
  label: str  # which runs, where a result holds several learning rates, e.g. 'lr 0.025'
  judgement: Judgement  # the report's verdict of these runs
  focus: Part | None  # the scan's focus part of that verdict (None: no verdict)
  health: str = ""  # its runs: how many, excluded (not ok) and still moving (run_health)

  @property
  def key(self) -> tuple:
    """(order, value, label): the row's place in the table, the same at every scale."""
    return self.order, self.value, self.label

  @property
  def value(self) -> str:
    """The scanned value in words: a split row's traced value, else the variant's."""
    return self.variant.value if self.at is None else f"{self.at:g}"

  @property
  def word(self) -> str:
    """The verdict's word; 'error' for a judgement without one."""
    return next((w for w in WORDS if self.judgement.verdict.startswith(w + ":")), "error")

  @property
  def mean(self) -> float:
    """The focus part's final value: the mean of its cells' means (NaN without a verdict)."""
    return float(np.mean([c.stat.mean for c in self.focus.cells])) if self.focus else np.nan

  @property
  def cells(self) -> set[str]:
    """The labels of the focus part's cells (the cells the claim judged)."""
    return {c.label for c in self.focus.cells} if self.focus else set()

  def on(self, cells: set[str]) -> Row:
    """The row with its focus part kept to the given cells (e.g. those another row judged)."""
    if not self.focus:
      return self
    return self._replace(focus=self.focus._replace(
        cells=tuple(c for c in self.focus.cells if c.label in cells)))

  @property
  def passing(self) -> tuple[int, int]:
    """(runs that pass the focus part, runs judged), over its cells (seeds x cells)."""
    cells = self.focus.cells if self.focus else ()
    return sum(c.passing for c in cells), sum(c.stat.ok for c in cells)

  @property
  def seeds(self) -> np.ndarray:
    """The values of the focus part's cells, concatenated (empty without a verdict)."""
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
    """'1 of 5 runs in 1 cell' pass the focus part; '' for a theorem's single number."""
    if not self.focus or not any(c.stat.seeds for c in self.focus.cells):
      return ""
    n = len(self.focus.cells)
    return "{} of {} runs".format(*self.passing) + f" in {n} cell{'s' * (n != 1)}"

  def cell(self) -> str:
    """'0.729 (1 of 5 runs in 1 cell)'."""
    if not self.focus:
      return "n/a"
    return fmt(self.mean) + (f" ({self.counts})" if self.counts else "")


def split(res: Results, field: str) -> list[tuple[float | None, Results]]:
  """(value, its runs) for every value of the summary column `field`.

  Runs without the column (a loss that does not read the scalar) join every value; [(None, res)]
  without values (or without a field).
  """
  column = np.array([float(r.get(field) or "nan") for r in res.rows]) if field else np.array([])
  values = np.unique(column[~np.isnan(column)])
  if not len(values):
    return [(None, res)]
  return [(float(v), subset(res, np.isclose(column, v) | np.isnan(column))) for v in values]


def run_health(res: Results) -> str:
  """Its runs in words: how many, those excluded from every mean (status not ok, by status) and the
  ok ones still moving at the end (convergence flag), e.g. '36: 2 diverged; 5 still moving'.

  Args:
    res: the runs (each once).

  Returns:
    The text; 'none excluded' without runs not ok, and no 'still moving' without the flag.
  """
  statuses = [r["status"] for r in res.rows]
  flags = res.curves.get("convergence")
  moving = ("" if flags is None or not (flags != "").any() else
            f"; {int(np.sum((flags == 'still_moving') & (res.curves['status'] == 'ok')))} "
            "still moving")
  return f"{len(statuses)}: {not_ok_text(statuses) or 'none excluded'}{moving}"


def focus_part(claim: Claim, res: Results, name: str) -> Part | None:
  """The part `name` of the claim's verdict on res (each run once), or None."""
  try:
    verdict, _ = claim.judge(without_repeats(res))
  except MissingArm:
    return None
  return next((p for p in verdict.parts if p.name == name), None)


def judge(scan: Scan, order: int, variant: Variant, res: Results, scale: str) -> list[Row]:
  """The variant's rows: its runs judged per value of its traced scalar and per learning rate.

  Each row holds claims.judgements' first judgement (all the runs) and the scan's focus part.

  Args:
    scan: the variant's scan (bound to its claim).
    order: the variant's place in the scan.
    variant: the variant.
    res: its result.
    scale: one of SCALES.

  Returns:
    [Row].
  """
  rows = []
  for at, by_value in split(res, variant.split):
    by_lr = split(by_value, "lr")
    for lr, part in by_lr:
      rows.append(Row(variant, order, at, scale, f"lr {lr:g}" if len(by_lr) > 1 else "",
                      judgements(scan.claim, part)[0],
                      focus_part(scan.claim, part, scan.focus), run_health(without_repeats(part))))
  return rows


def collect(out_dir: str, scan: Scan, reference_base: Results | None) -> tuple[list[Row],
                                                                               list[str]]:
  """The rows of every finished variant directory of the scan, at both scales, and its details.

  Args:
    out_dir: the results directory the scan trains in (out_dir/sensitivity/...).
    scan: the scan, bound to its experiment and claim.
    reference_base: the shipped reference's runs of the base grid, the as-run row at paper scale;
      None: no such row.

  Returns:
    (rows, details): details holds scan.details of each result, a line each with a link to its
    figure (paths relative to out_dir/sensitivity).
  """
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
  """Whether row moves toward the claim from base (the as-run screen row of its label).

  It does when its verdict differs, or, on the cells both judged (a claim may judge a cell in one
  and not the other: Figure 7 judges those whose start lies near the paper's), when it passes a
  larger share of runs, or when its focus value lies deeper inside the claim's rule by more than
  the standard error of the difference of the two means (all unrounded).
  """
  if row.word != base.word:
    return True
  shared = row.cells & base.cells
  if not shared:
    return False
  row, base = row.on(shared), base.on(shared)
  (k, n), (k0, n0) = row.passing, base.passing
  if n and n0 and k / n > k0 / n0:
    return True
  se = np.sqrt(sum(np.var(r.seeds, ddof=1) / len(r.seeds) for r in (row, base)
                   if len(r.seeds) > 1))
  return row.margin - base.margin > se


def moved(rows: list[Row]) -> list[Row]:
  """The screen rows that move toward the claim from the as-run screen row of their label."""
  base = {r.label: r for r in rows if r.scale == "screen" and r.variant.kind == "as run"}
  return [r for r in rows if r.scale == "screen" and r.variant.kind != "as run"
          and r.label in base and moves_toward(r, base[r.label])]


def to_confirm(scan: Scan, rows: list[Row]) -> list[Variant]:
  """The variants the confirm stage trains at paper scale: those whose screen moved.

  A variant goes on when a screened value moves toward the claim from the as-run screen
  (moves_toward); a split variant keeps only those values. A screen shortens training, so a setting
  that reproduces at paper scale may not yet at the screen's epochs: the move, not only a changed
  verdict, earns a confirm.
  """
  rows = moved(rows)
  out = []
  for variant in scan.variants[1:]:
    values = [r.at for r in rows if r.variant == variant]
    if values:
      out.append(variant._replace(values=tuple(dict.fromkeys(values))) if variant.split
                 else variant)
  return out


def latest(rows: list[Row]) -> list[Row]:
  """Each scanned value's row at the largest scale it ran at."""
  best = {}
  for r in sorted(rows, key=lambda r: SCALES.index(r.scale)):
    best[r.key] = r
  return list(best.values())


def conclusion(rows: list[Row]) -> str:
  """The one sentence: the smallest change that reproduces the claim, or that none does.

  Judged at the largest scale each value ran at: the least kind of change (KINDS), then the larger
  share of runs passing the focus part, then its value deeper inside the rule (all unrounded), then
  the scan's order.
  """
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
  return (f"The smallest change that reproduces it in the cells scanned: {best.variant.choice} "
          f"{best.value} "
          f"({numbers}).")


def reference_verdict(scan: Scan, reference_dir: str = REFERENCE) -> str:
  """The shipped reference's verdict of its whole grid, each learning rate's short form.

  'not shipped' without the reference; the judgements without missed atoms are left out.
  """
  loaded = results.load(os.path.join(reference_dir, scan.experiment))
  if loaded is None:
    return "not shipped"
  return "; ".join(f"{j.label}: {j.short}" if j.label else j.short
                   for j in judgements(scan.claim, loaded[0])
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


def _table(scan: Scan, rows: list[Row]) -> list[str]:
  """choice x value -> final value (runs passing), verdict and runs, at each scale the scan runs."""
  scales = SCALES if scan.shortened else SCALES[1:]
  names = {"screen": "screen", "paper": "paper scale"}
  lines = ["| choice | value | changes | " + " | ".join(
               f"{names[s]}: {scan.focus} | verdict | runs: excluded; still moving"
               for s in scales) + " |",
           "|---|---|---|" + "---|---|---|" * len(scales)]
  by_key = {}
  for r in sorted(rows, key=lambda r: r.key):
    by_key.setdefault(r.key, {})[r.scale] = r
  for at_scale in by_key.values():
    r = next(iter(at_scale.values()))
    value = (r.value or "-") + (f", {r.label}" if r.label else "")
    cells = [c for s in scales for c in (
        (at_scale[s].cell(), at_scale[s].judgement.short, at_scale[s].health)
        if s in at_scale else ("not run", "", ""))]
    lines.append(f"| {r.variant.choice} | {value} | {_changes(r.variant)} | "
                 + " | ".join(cells) + " |")
  return lines


def awaiting_confirm(rows: list[Row]) -> list[Row]:
  """The screen rows that moved toward the claim (moved) and have no paper-scale row yet."""
  confirmed = {r.key for r in rows if r.scale == "paper"}
  return [r for r in moved(rows) if r.key not in confirmed]


def cells_note(rows: list[Row]) -> str:
  """A sentence where rows judge different cells than the as-run row of their scale; else ''."""
  base = {(r.scale, r.label): r.cells for r in rows if r.variant.kind == "as run"}
  differ = [r for r in rows if r.focus and (r.scale, r.label) in base
            and r.cells != base[r.scale, r.label]]
  if not differ:
    return ""
  return (f"{len(differ)} of {len(rows)} rows judge other cells than the as-run row of their "
          "scale (the claim decides which cells it judges; each value names its count): a move "
          "toward the claim is measured on the cells a row shares with the as-run screen.")


def section(scan: Scan, rows: list[Row], details: list[str], screen_epochs: int,
            figure: str | None) -> list[str]:
  """The claim's section of the "What it takes" REPORT.

  The paper's claim, the reference's verdict, what was scanned, the table (choice x value -> final
  value, runs passing, verdict, at each scale), the one sentence, the details and the figure.

  Args:
    scan: the scan, bound to its experiment and claim.
    rows, details: collect's.
    screen_epochs: the screen's epochs, for the table's header.
    figure: the figure's path relative to the report; None: no figure.

  Returns:
    Markdown lines.
  """
  claim = scan.claim
  base = f"the paper profile with {_flags(scan.base)}" if scan.base else "the paper profile"
  rules = [r.focus.cells[0].rule for r in rows if r.focus and r.focus.cells]
  rule = f", whose rule is {rules[0]}" if rules else ""
  lines = [f"## {claim.title}", "",
           f"- Paper: {claim.paper}",
           "- As run, the shipped reference (its whole grid): "
           f"{reference_verdict(scan)}.",
           f"- Scanned around {base}: {scan.scope}.",
           f"- Shown: the final value of '{scan.focus}'{rule} (the mean of its cells' means; where "
           "seeds are judged, how many of all its cells' runs pass it); every run of each row, in "
           "the arms the claim judges or not: those excluded from every mean (not ok) and those "
           "still moving at the end; at "
           "paper scale the as-run row is the shipped reference's own runs of this grid."
           + (f" {cells_note(rows)}" if cells_note(rows) else ""),
           *([f"- The screen trains {screen_epochs} epochs (a quarter of the paper's), the "
              "longer-training variant twice that."] if scan.shortened else []), ""]
  scanned = len({r.order for r in rows if r.variant.kind != "as run"})
  if not scanned:
    return lines + [*(_table(scan, rows) if rows else []), "",
                    f"**What it takes:** not scanned yet (`python -m experiments.sensitivity "
                    f"--claims={scan.experiment}`).", ""]
  so_far = (f" ({scanned} of {len(scan.variants) - 1} changes scanned so far)"
            if scanned < len(scan.variants) - 1 else "")
  waiting = awaiting_confirm(rows) if scan.shortened else []
  lines += [*_table(scan, rows), "",
            f"**What it takes:** {conclusion(rows)[:-1]}{so_far}.", ""]
  if waiting:
    lines += [f"Moved toward the claim in the screen, not yet run at paper scale ({len(waiting)}): "
              + ", ".join(f"{r.variant.choice} {r.value}" + (f" ({r.label})" if r.label else "")
                          for r in waiting)
              + f" (`python -m experiments.sensitivity --claims={scan.experiment} "
              "--stage=confirm`).", ""]
  lines += details + ([""] if details else [])
  return lines + ([f"![{scan.experiment}]({figure})", ""] if figure else [])


def report_text(scanned: list[tuple[Scan, list[Row], list[str]]], screen_epochs: int) -> str:
  """The "What it takes" REPORT: an introduction, then every scanned claim's section.

  Args:
    scanned: (scan, rows, details) per claim; rows and details as collect returns them.
    screen_epochs: the screen's epochs.

  Returns:
    The markdown text; a claim's figure <claim>.png beside it where a row has a verdict.
  """
  kinds = "; ".join(f"{k}: {v}" for k, v in KINDS.items())
  lines = ["# What it takes", "",
           "Every claim the paper profile does not reproduce, scanned one choice at a time "
           "around its as-run setting: is there a plausible setting under which the paper's "
           "number comes out? Each scanned value trains the claim's own experiment "
           "(experiments/sensitivity.py) and is judged by the rule of every REPORT: "
           f"{RULE} The screen trains every value at a quarter of the paper's epochs "
           f"({screen_epochs}); a value that moves toward the claim from the as-run screen "
           "(its verdict changes, or, on the cells both judge, a larger share of runs passes "
           "or its mean lies deeper inside the claim's rule by more than the standard error of "
           "the difference) is confirmed at paper scale. The one sentence per claim names the "
           "smallest change that reproduces it in the cells scanned, at the largest scale it ran "
           "at: the least kind of change, then "
           "the larger share of runs passing, then the value deeper inside the claim's rule "
           f"(all unrounded). Kinds of change, smallest first: {kinds}.", ""]
  for scan, rows, details in scanned:
    figure = f"{scan.experiment}.png" if any(r.focus for r in rows) else None
    lines += section(scan, rows, details, screen_epochs, figure)
  return "\n".join(lines)


def write_report(out_dir: str, scanned: list[tuple[Scan, list[Row], list[str]]],
                 screen_epochs: int) -> str:
  """Writes out_dir/sensitivity/REPORT.md (its figures: plots/sensitivity.py); returns its path."""
  folder = os.path.join(out_dir, "sensitivity")
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, "REPORT.md")
  disk.atomic_write(path, report_text(scanned, screen_epochs).encode())
  return path


def arm_rates(reference_dir: str) -> dict[str, tuple[float, float]]:
  """Per arm of a shipped result: (seconds per run and epoch, compile seconds).

  From its config.json's wall times and its distinct runs; the compile is 0 for a program the cache
  held.
  """
  res, config = results.load(reference_dir)
  runs = dict(zip(*np.unique(without_repeats(res).curves["method"], return_counts=True)))
  epochs = config["settings"]["epochs"]
  return {arm: (wall["train"] / (runs[arm] * epochs), wall.get("compile", 0.0))
          for arm, wall in config["wall_s"].items()}


def grid_seconds(runs: dict[str, int], epochs: int, reference_dir: str) -> float:
  """Estimated CPU seconds of a grid at a shipped result's pace (sizes and batch not rescaled).

  Args:
    runs: arm -> its distinct runs.
    epochs: the epochs each run trains.
    reference_dir: the shipped result whose arm of the same name sets the pace.

  Returns:
    Each arm's runs x epochs at its pace, plus its compile, summed.
  """
  rates = arm_rates(reference_dir)
  return sum(n * epochs * rates[arm][0] + rates[arm][1] for arm, n in runs.items())


THEOREM_SIZES = ("seeds", "epochs", "batch")  # a theorem's work grows linearly in each


def theorem_seconds(settings: dict, reference_dir: str) -> float:
  """Estimated CPU seconds of a theorem run: the reference's, scaled by THEOREM_SIZES."""
  config = disk.load_json(os.path.join(reference_dir, "config.json"))
  ref = config["settings"]
  total = sum(w["total"] for w in config["wall_s"].values())
  return total * float(np.prod([settings[k] / ref[k] for k in THEOREM_SIZES if k in ref]))
