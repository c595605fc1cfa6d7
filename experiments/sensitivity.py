"""What it takes: every claim the paper profile does not reproduce, scanned one choice at a time
around its as-run setting (the scan: ncl_landscape/report/sensitivity.py).

  python -m experiments.sensitivity --dry_run          # the variants, their runs and CPU cost
  python -m experiments.sensitivity --stage=screen     # every variant at 2000 epochs
  python -m experiments.sensitivity --stage=confirm    # paper scale: those that moved
  python -m experiments.sensitivity --stage=report     # rewrite REPORT.md, train nothing
  python -m experiments.sensitivity --claims=fig5 --variants=as_run,lr_0.025

Each variant is its claim's own binary, its flags parsed and resolved by that binary, trained
into out_dir/sensitivity/<claim>/<variant>/ (at paper scale .../<variant>/paper/): a normal,
self-describing result directory, reused when finished and resumed from its saved chunks when
interrupted (rerun the same command). A choice no flag reaches is set in the binary's arms
(and recorded under the settings' arm_changes). Each stage ends by writing
out_dir/sensitivity/REPORT.md and a figure per claim.
"""
from __future__ import annotations

import functools
import importlib
import os
import shutil
from typing import NamedTuple

from absl import logging

from experiments import cli, common, registry, warm_start
from experiments.cli import Flag, FlagError
from ncl_landscape.plots import sensitivity as sensitivity_plots
from ncl_landscape.report import sensitivity
from ncl_landscape.report.sensitivity import AS_RUN, Scan, Variant
from ncl_landscape.runs import results
from ncl_landscape.runs.directory import is_complete
from ncl_landscape.training.sweep import distinct_runs

SCANS = registry.scans()  # claim -> its scan, every experiment's that declares one
# experiment_profile: the profile every variant resolves; screen_epochs: the screen's epochs
PROFILES = {"smoke": dict(experiment_profile="smoke", screen_epochs=2),
            "paper": dict(experiment_profile="paper", screen_epochs=common.PAPER.epochs
                          // sensitivity.SCREEN_FRACTION)}
STAGES = ("screen", "confirm", "report")
OWN = {
    "claims": Flag("list", "Comma-separated claims to scan, of " + ", ".join(SCANS)
                   + " (default: every one).", choices=tuple(SCANS)),
    "variants": Flag("list", "Comma-separated variants of those claims (default: every one; "
                     "--dry_run lists them).",
                     choices=tuple(dict.fromkeys(v.name for scan in SCANS.values()
                                                 for v in scan.variants))),
    "stage": Flag("enum", "screen: every variant at a quarter of its paper epochs; confirm: at "
                  "paper scale, the variants whose screen moved toward the claim (a changed "
                  "verdict, more runs passing, or a mean deeper inside the rule beyond its "
                  "standard error); report: train nothing, rewrite the REPORT and figures.",
                  "one of " + ", ".join(STAGES), choices=STAGES, default="screen"),
    "dry_run": Flag("bool", "List the stage's variants with their flags, distinct runs and "
                    "estimated CPU seconds (the shipped reference's pace), and train nothing.",
                    default=False),
}


class Plan(NamedTuple):
  """A variant resolved by its claim's binary, at one scale."""
  scan: Scan
  variant: Variant
  scale: str
  settings: dict
  arms: list | None  # a grid's arms (None: a theorem)


def _binary(experiment: str) -> cli.Binary:
  return importlib.import_module(f"experiments.{experiment}").main


def _arms(binary: cli.Binary, variant: Variant, s: dict) -> list:
  """The binary's arms for settings s with the variant's changes no flag reaches."""
  arms = binary.arms(s)
  if variant.config:
    arms = [a._replace(cfg=a.cfg.replace(**variant.config)) for a in arms]
  if variant.split and variant.split not in binary.specs:
    arms = [sensitivity.with_axis(a, s["base_seed"], variant.split, variant.values)
            for a in arms]
  return arms


def _arm_changes(binary: cli.Binary, variant: Variant) -> dict:
  axis = variant.split and variant.split not in binary.specs
  return {**({"config": variant.config} if variant.config else {}),
          **({"axis": {variant.split: list(variant.values)}} if axis else {})}


def resolve(scan: Scan, variant: Variant, scale: str, s: dict) -> Plan:
  """The variant's plan, its settings as its claim's binary resolves its command line.

  The command line: the profile, the base flags, the variant's flags (a traced list flag carries a
  split's values), the scale's epochs and out_dir; then a theorem's replaced settings. Changes no
  flag reaches are recorded under the settings' arm_changes.

  Args:
    scan: the claim's scan.
    variant: one of its variants.
    scale: one of sensitivity.SCALES.
    s: the scan binary's settings.

  Returns:
    Plan, with the binary's arms (None for a theorem).
  """
  binary = _binary(scan.experiment)
  flags = {**scan.base, **variant.flags}
  if variant.split in binary.specs:
    flags[variant.split] = ",".join(f"{v:g}" for v in variant.values)
  epochs = (s["screen_epochs"] if scale == "screen" else
            binary.profiles[s["experiment_profile"]]["epochs"]) * variant.epochs_factor
  if scale == "screen" or variant.epochs_factor > 1:
    flags["epochs"] = str(epochs)
  argv = [scan.experiment, f"--profile={s['experiment_profile']}",
          f"--out_dir={sensitivity.variant_dir(s['out_dir'], scan, variant, scale)}",
          *(f"--{k}={v}" for k, v in flags.items() if v is not None),
          *([f"--base_seed={s['base_seed']}"] if s["base_seed"] else []),
          *(["--force"] if s["force"] else [])]
  binary.parse(argv)
  settings = {**binary.resolve(), **variant.settings}
  changes = _arm_changes(binary, variant)
  if changes:
    settings["arm_changes"] = changes
  arms = None if binary.arms is None else _arms(binary, variant, settings)
  return Plan(scan, variant, scale, settings, arms)


def _figure(experiment: str):
  """The plot function of the experiment's binary."""
  module = importlib.import_module(f"experiments.{experiment}")
  return getattr(module, "plot", None) or functools.partial(warm_start.plot_arms, module.FIGURE)


def train(plan: Plan) -> None:
  """Trains a plan through its binary; a finished grid's chunks are removed.

  The binary's body (its own arms, run and figure), or, with arm changes, the same run of the
  changed arms.
  """
  binary, s = _binary(plan.scan.experiment), plan.settings
  cli.check_out_dir(s["out_dir"])
  if "arm_changes" in s:
    common.run(plan.scan.experiment, lambda st: _arms(binary, plan.variant, st), s,
               _figure(plan.scan.experiment))
  else:
    binary.body(s)
  directory = os.path.join(s["out_dir"], plan.scan.experiment)
  if is_complete(directory):
    shutil.rmtree(os.path.join(directory, "chunks"), ignore_errors=True)


def reference_base(scan: Scan, s: dict) -> results.Results | None:
  """The shipped reference's runs of the as-run grid: the as-run row at paper scale.

  None without a shipped reference, or unless the paper profile is resolved at the reference's root
  seed; for a theorem, the whole reference.
  """
  loaded = results.load(os.path.join(sensitivity.REFERENCE, scan.experiment))
  if (loaded is None or s["experiment_profile"] != "paper"
      or loaded[0].settings.get("base_seed") != s["base_seed"]):
    return None
  plan = resolve(scan, AS_RUN, "paper", s)
  return loaded[0] if plan.arms is None else sensitivity.runs_of(loaded[0], plan.arms)


def collect(scan: Scan, s: dict):
  """The scan's rows and details under out_dir (sensitivity.collect), with the reference's."""
  return sensitivity.collect(s["out_dir"], scan, reference_base(scan, s))


def stage_variants(scan: Scan, s: dict) -> tuple[str, list[Variant]]:
  """(scale, variants) the stage trains for a claim (only those --variants names, if given).

  The screen: every variant (a claim not shortened: at paper scale, its as-run row the reference's);
  the confirm: those that moved toward the claim (sensitivity.to_confirm); the report: none.
  """
  if s["stage"] == "report":
    return "paper", []
  if s["stage"] == "screen":
    variants = scan.variants if scan.shortened else scan.variants[1:]
    scale = "screen" if scan.shortened else "paper"
  else:
    variants = sensitivity.to_confirm(scan, collect(scan, s)[0]) if scan.shortened else []
    scale = "paper"
  chosen = s["variants"]
  return scale, [v for v in variants if chosen is None or v.name in chosen]


def plans(s: dict) -> list[Plan]:
  """Every variant the stage trains, resolved, claim by claim."""
  out = []
  for claim in s["claims"]:
    scale, variants = stage_variants(SCANS[claim], s)
    out += [resolve(SCANS[claim], v, scale, s) for v in variants]
  return out


def cost(plan: Plan) -> tuple[int, float]:
  """(distinct runs, estimated CPU seconds) of a plan at the reference's pace."""
  reference = os.path.join(sensitivity.REFERENCE, plan.scan.experiment)
  if plan.arms is None:
    return plan.settings["seeds"], sensitivity.theorem_seconds(plan.settings, reference)
  runs = {a.name: len(distinct_runs(a.cfg, a.grid)[0].points) for a in plan.arms}
  return sum(runs.values()), sensitivity.grid_seconds(runs, plan.settings["epochs"], reference)


def listing(stage_plans: list[Plan], stage: str) -> str:
  """The dry run's text: per claim its variants, then the totals.

  Per variant: its value, distinct runs, estimated seconds, the options its binary received and the
  changes no flag reaches.
  """
  lines, claims = [], {}
  for plan in stage_plans:
    claims.setdefault(plan.scan.experiment, []).append((plan, *cost(plan)))
  for claim, planned in claims.items():
    lines += ["", f"{claim} ({stage}, {sum(c[2] for c in planned):.0f} s):",
              f"  {'variant':22} {'value':30} {'runs':>5} {'est. s':>7}  options"]
    for plan, runs, seconds in planned:
      options = " ".join(f"--{k}={v}" for k, v in plan.settings["options"].items())
      changes = {**plan.settings.get("arm_changes", {}),
                 **({"settings": plan.variant.settings} if plan.variant.settings else {})}
      value = plan.variant.value or ",".join(f"{v:g}" for v in plan.variant.values)
      lines.append(f"  {plan.variant.name:22} {value[:30]:30} {runs:5d} {seconds:7.0f}  "
                   f"{options}" + (f" (+ {changes})" if changes else ""))
  total = sum(c[2] for planned in claims.values() for c in planned)
  return "\n".join(lines + ["", f"total: {len(stage_plans)} variants, {total:.0f} s "
                             f"({total / 3600:.1f} CPU hours at the shipped reference's pace)"])


def body(s: dict) -> None:
  """Trains every variant of the stage, then writes the report; with --dry_run only lists them."""
  stage_plans = plans(s)
  if s["dry_run"]:
    print(listing(stage_plans, s["stage"]))
    return
  for i, plan in enumerate(stage_plans):
    logging.info("sensitivity: %s/%s (%s scale), variant %d of %d", plan.scan.experiment,
                 plan.variant.name, plan.scale, i + 1, len(stage_plans))
    train(plan)
  print(f"wrote {write_report(s)}")


def write_report(s: dict) -> str:
  """Writes out_dir/sensitivity/REPORT.md and its figures from every claim's finished variants.

  Returns:
    The report's path.
  """
  scanned = [(scan, *collect(scan, s)) for scan in SCANS.values()]
  path = sensitivity.write_report(s["out_dir"], scanned, s["screen_epochs"])
  for scan, rows, _ in scanned:
    if any(r.focus for r in rows):
      sensitivity_plots.plot(scan, rows, os.path.join(os.path.dirname(path),
                                                      f"{scan.experiment}.png"))
  return path


class ScanBinary(cli.Binary):
  """The scan's binary: cli.Binary with its own flags (OWN).

  Its profile defaults to paper and its out_dir to reference.
  """

  def define(self):
    """cli.Binary.define with OWN's flags; profile defaults to paper, out_dir to reference."""
    self.specs.update(OWN, profile=self.specs["profile"]._replace(
                          default="paper", help="paper (the scan) or smoke (a few epochs: the "
                          "pipeline only)."),
                      out_dir=self.specs["out_dir"]._replace(
                          default="reference", help="Writes out_dir/sensitivity/."))
    return super().define()

  def resolve(self) -> dict:
    """cli.Binary.resolve, with every claim scanned unless --claims names some.

    Raises:
      FlagError: --variants names a variant of none of the claims scanned.
    """
    s = super().resolve()
    s["claims"] = s["claims"] or tuple(SCANS)
    names = {v.name for c in s["claims"] for v in SCANS[c].variants}
    unknown = [v for v in s["variants"] or () if v not in names]
    if unknown:
      raise FlagError(f"--variants must name variants of the claims scanned ("
                      f"{', '.join(sorted(names))}); got {unknown[0]!r}")
    return s


main = ScanBinary(PROFILES, (), body, grid=False)


if __name__ == "__main__":
  main.run()
