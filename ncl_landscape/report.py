"""results/REPORT.md: the paper's number or claim beside ours, with a verdict.

Reads only saved results (summary.csv, config.json). Diverged runs are counted and
left out of every mean.
"""
from __future__ import annotations

import collections
import os
from typing import Callable, NamedTuple

import numpy as np

from ncl_landscape import io
from ncl_landscape.experiment import is_complete

MARGIN = 0.1  # min max-cosine gap that counts as "clearly above"


class Stat(NamedTuple):
  mean: float
  std: float
  ok: int
  diverged: int

  def __str__(self) -> str:
    text = "n/a" if self.ok == 0 else f"{self.mean:.3f} +- {self.std:.3f}"
    return text + (f" ({self.diverged} diverged)" if self.diverged else "")


def group_stats(rows: list[dict], keys: tuple[str, ...], value: str) -> dict[tuple, Stat]:
  """Mean and std of `value` over the ok runs of each group of `keys`."""
  groups = collections.defaultdict(list)
  for r in rows:
    groups[tuple(r[k] for k in keys)].append(r)
  stats = {}
  for g, members in sorted(groups.items()):
    vals = np.array([float(r[value]) for r in members if r["status"] == "ok"])
    stats[g] = Stat(float(vals.mean()) if len(vals) else float("nan"),
                    float(vals.std()) if len(vals) else float("nan"),
                    len(vals), len(members) - len(vals))
  return stats


def cl_above_ncl(rows: list[dict], by: str) -> tuple[str, list[str]]:
  """Verdict for Figures 1-2: CL's min max-cosine clearly above NCL's in every group."""
  stats = group_stats(rows, ("method", by), "maxcos_min")
  values = sorted({g[1] for g in stats})
  lines = [f"| {by} | NCL min max-cosine | CL min max-cosine |", "|---|---|---|"]
  gaps = []
  for v in values:
    ncl, cl = stats.get(("ncl", v)), stats.get(("cl", v))
    lines.append(f"| {v or '-'} | {ncl} | {cl} |")
    if ncl and cl and ncl.ok and cl.ok:
      gaps.append(cl.mean - ncl.mean)
  if gaps and min(gaps) >= MARGIN:
    verdict = f"reproduced: CL above NCL by at least {min(gaps):.2f} everywhere"
  elif gaps and min(gaps) > 0:
    verdict = f"partly: CL above NCL everywhere, but by only {min(gaps):.2f} somewhere"
  else:
    verdict = "not reproduced: CL is not above NCL everywhere"
  return verdict, lines


class Claim(NamedTuple):
  title: str
  paper: str
  judge: Callable[[list[dict]], tuple[str, list[str]]]


CLAIMS = {
    "fig1": Claim("Figure 1: NCL vs CL, one-hot latents",
                  "CL's minimum max-cosine is high, NCL's is low (5 runs).",
                  lambda rows: cl_above_ncl(rows, "mask_prob")),
    "fig2": Claim("Figure 2: NCL vs CL, k-sparse latents, sparsity 0.1 / 0.2 / 0.3",
                  "CL's minimum max-cosine is high at every sparsity; NCL's is low (5 runs).",
                  lambda rows: cl_above_ncl(rows, "sparsity")),
}


def _figure_mask_prob(rows: list[dict]) -> list[dict]:
  """Rows at mask probability 0.5 when swept (the figures' setting), else all rows."""
  at_half = [r for r in rows if r["mask_prob"] and abs(float(r["mask_prob"]) - 0.5) < 1e-6]
  return at_half or rows


def experiment_section(out_dir: str, experiment: str) -> list[str]:
  claim = CLAIMS[experiment]
  directory = os.path.join(out_dir, experiment)
  lines = [f"## {claim.title}", ""]
  if not is_complete(directory):
    return lines + ["Not run (or incomplete): no finished results in "
                    f"`{directory}`.", ""]
  config = io.load_json(os.path.join(directory, "config.json"))
  rows = _figure_mask_prob(io.load_summary(os.path.join(directory, "summary.csv")))
  env = config["environment"]
  settings = config.get("settings", {})
  verdict, table = claim.judge(rows)
  if settings.get("profile") == "smoke":
    verdict = "not judged: the smoke profile only checks that the pipeline runs"
  lines += [f"- Paper: {claim.paper}",
            f"- Ours: profile `{settings.get('profile')}`, {settings.get('epochs')} epochs, "
            f"{settings.get('seeds')} seeds, on {env['backend']} ({env['devices'][0]}); "
            "mean +- std over seeds at mask probability 0.5, diverged runs excluded.",
            f"- Verdict: **{verdict}**.", "", *table, "",
            f"![{experiment}]({experiment}/{experiment}.png)", ""]
  return lines


def write_report(out_dir: str, experiments: list[str] | None = None) -> str:
  """Writes out_dir/REPORT.md for the given (default: all known) experiments; returns its path."""
  lines = ["# ncl_landscape: the paper's claims beside our runs", "",
           "Each section: what the paper reports, what our saved results show, and a verdict.",
           ""]
  for experiment in experiments or list(CLAIMS):
    lines += experiment_section(out_dir, experiment)
  path = os.path.join(out_dir, "REPORT.md")
  io.atomic_write(path, "\n".join(lines).encode())
  return path
