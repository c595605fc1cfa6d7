"""The shipped references' REPORT.md files and README's results table, made from reference/.

Every number a reader sees about the shipped runs is generated here from the saved results,
never typed: `make reports` rewrites reference/<name>/REPORT.md and the block of README.md
between BEGIN and END, and tests/test_readme.py fails when either differs from what the
saved results give.
"""
from __future__ import annotations

import os

import numpy as np

from experiments import registry
from ncl_landscape.report import claims, writer
from ncl_landscape.report.verdicts import not_ok_text
from ncl_landscape.runs import disk, results

REFERENCE = os.path.join(disk.REPO, "reference")
README = os.path.join(disk.REPO, "README.md")
BEGIN = "<!-- results: generated from reference/ by `make reports`; do not edit -->"
END = "<!-- end of generated results -->"
# Each shipped reference and the references its REPORT sets beside it (first match first).
BESIDE = {"paper": ("long",), "paper-batch384": ("paper",), "long": ("quick",), "quick": ()}
WHAT_IT_TAKES = os.path.join(REFERENCE, "sensitivity", "REPORT.md")


def _reference(name: str) -> str:
  return os.path.join(REFERENCE, name)


def experiments_in(name: str) -> list[str]:
  """The experiments a shipped reference's REPORT covers, in the report's order.

  Every experiment for the paper reference, else those the reference holds.
  """
  if name == "paper":
    return registry.names()
  return [e for e in registry.names() if os.path.exists(os.path.join(_reference(name), e,
                                                                  "config.json"))]


def shipped_report(name: str) -> str:
  """reference/<name>/REPORT.md as the saved results give it."""
  every = registry.claims()
  return writer.report_text(_reference(name), {e: every[e] for e in experiments_in(name)},
                            tuple(_reference(b) for b in BESIDE[name]))


def results_block() -> str:
  """README's generated results table, between BEGIN and END.

  Per shipped experiment: its verdict (the word and the cells of each part that hold, or a survey's
  finding), the runs not ok, where and how long it ran.
  """
  lines = [BEGIN, "", "| experiment | shipped in | verdict: the cells that hold each part "
           "(where a cell's seeds split: how many pass) | runs not ok | run on |",
           "|---|---|---|---|---|"]
  for name in BESIDE:
    for experiment in experiments_in(name):
      loaded = results.load(os.path.join(_reference(name), experiment))
      if loaded is None:
        continue
      res, config = loaded
      claim = registry.claims()[experiment]
      judged = claims.judgements(claim, res)
      verdict = "; ".join(f"{j.label}: {j.short}" if j.label else j.short for j in judged)
      verdict += what_it_takes(name, experiment, judged)
      link = f"reference/{name}/REPORT.md#{writer.anchor(claim.title)}"
      statuses = res.curves.get("status", np.array([]))
      not_ok = not_ok_text(statuses) or "none"
      lines.append(f"| [{claim.title.split(':')[0]}]({link}) | `reference/{name}` | "
                   f"{verdict} | {not_ok} | {writer.where_run(config)} |")
  return "\n".join(lines + ["", END])


def what_it_takes(name: str, experiment: str, judged: list[claims.Judgement]) -> str:
  """A link to the claim's "What it takes" section, or ''.

  Given for a claim of the paper reference that some judgement does not reproduce and whose
  scan is shipped (reference/sensitivity/<claim>/ holds a variant).

  Args:
    name: the shipped reference.
    experiment: the experiment.
    judged: its judgements (claims.judgements).
  """
  scanned = os.path.join(REFERENCE, "sensitivity", experiment)
  if (name != "paper" or experiment not in registry.scans() or not os.path.exists(WHAT_IT_TAKES)
      or not os.path.isdir(scanned) or all(j.short.startswith("reproduced") for j in judged)):
    return ""
  title = registry.claims()[experiment].title
  return f" ([what it takes](reference/sensitivity/REPORT.md#{writer.anchor(title)}))"


def readme_text(readme: str) -> str:
  """The README text with its generated block replaced by results_block()."""
  head, rest = readme.split(BEGIN, 1)
  return head + results_block() + rest.split(END, 1)[1]


def write_all() -> list[str]:
  """Rewrites every shipped REPORT.md and README's results block; returns the paths."""
  paths = []
  for name in BESIDE:
    if experiments_in(name):
      path = os.path.join(_reference(name), "REPORT.md")
      disk.atomic_write(path, shipped_report(name).encode())
      paths.append(path)
  with open(README) as f:
    text = readme_text(f.read())
  disk.atomic_write(README, text.encode())
  return paths + [README]
