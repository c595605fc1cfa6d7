"""results/REPORT.md: each experiment's claim beside its runs, with a verdict, run by run.

A section per experiment: the paper's number or claim, the shipped reference's verdict beside
it, what this run shows and the verdict of every judgement (claims.judgements), with where and
how it ran (config.json's environment and wall times), the warm starts that missed an atom,
the runs still moving, the collapsed ones, and the figure. Reads only saved results.
"""
from __future__ import annotations

import os

import numpy as np

from ncl_landscape.report.claims import (HIGH, LOW, MARGIN, RISE, TOLERANCE, Claim, Judgement,
                                         judgements)
from ncl_landscape.report.verdicts import RULE, WORDS, group_stats
from ncl_landscape.runs import disk, provenance, results
from ncl_landscape.runs.results import Results, without_repeats


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
  """How many ok runs ended in dimensional collapse; '' when none, or not measured.

  They stay in the means (a stable outcome whose max-cosine reads as any other's), counted here.
  """
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


def missed_line(res: Results) -> str:
  """How many runs' warm starts missed an atom; '' for a random start."""
  missed = res.curves.get("atoms_missed")
  if missed is None or not np.isfinite(missed).any():
    return ""
  warm = np.isfinite(missed)
  k = int((missed[warm] > 0).sum())
  return (f"the warm starts of {k} of {warm.sum()} runs missed an atom (no row of W^o started "
          "nearest to it; drawn dotted in the figure)" if k else
          f"the warm start of none of the {warm.sum()} runs missed an atom")


def verdict_words(judged: list[Judgement]) -> str:
  """The verdicts' first words, e.g. 'lr 0.005: partly; lr 0.025: reproduced'.

  A survey's finding, or an error, is given whole.
  """
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
  """'commit 0452e04, clean tree': the code that ran, from config.json's environment.code.

  A dirty run says whether its changes were saved in code.diff to rebuild the code from; results
  whose columns were derived again (run_status.refresh) name the code that did it.
  """
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
  """Whether two results of the same configuration agree within seed noise, in words.

  Per cell (method, sparsity, mask prob, c, lr; each run once), the two final minimum max-cosine
  means agree when they differ by at most twice their combined standard error plus 0.01.

  Args:
    res: this run's results.
    ref: the reference's.

  Returns:
    A sentence: in how many of the shared cells they agree or differ, and the largest difference.
  """
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
  """The first reference directory other than out_dir that holds the finished experiment.

  Returns:
    (directory, (Results, config.json)), or None.
  """
  for directory in reference_dirs:
    if os.path.abspath(directory) != os.path.abspath(out_dir):
      loaded = results.load(os.path.join(directory, experiment))
      if loaded is not None:
        return directory, loaded
  return None


def _profile(settings: dict) -> str:
  return settings.get("profile") or "?"


def experiment_section(out_dir: str, experiment: str, claim: Claim,
                       reference_dirs: tuple[str, ...] = ()) -> tuple[list[str], dict]:
  """The experiment's REPORT section, and its summary row.

  Args:
    out_dir: the results directory holding <experiment>/.
    experiment: the experiment's name (its folder).
    claim: what its results are judged by.
    reference_dirs: shipped references, the first other than out_dir that holds the experiment set
      beside it.

  Returns:
    (the section's markdown lines, {'paper', 'reference', 'ours'}: the summary row's cells).
  """
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
               "not ok counted and excluded, sparsities of the same runs counted once."
               + (" One seed: no split between seeds can show, and a +- spreads only over the "
                  "cells a number pools." if settings.get("seeds") == 1 else "")),
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


def summary_table(rows: dict[str, dict], claims: dict[str, Claim], profile_note: str,
                  reference: bool) -> list[str]:
  """REPORT's opening table: every experiment's claim, the reference's verdict and this run's.

  Args:
    rows: experiment -> its summary row (experiment_section's).
    claims: experiment -> its claim (for the links to the sections).
    profile_note: appended to the 'this run' header, e.g. ' (profile quick)'.
    reference: whether a reference is beside this run (the reference column).

  Returns:
    Markdown lines.
  """
  head = ["experiment", "the paper", *(["reference (paper profile unless named)"]
                                       if reference else []),
          "this run" + profile_note]
  lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
  for experiment, row in rows.items():
    cells = [f"[{experiment}](#{anchor(claims[experiment].title)})", row["paper"],
             *([row["reference"]] if reference else []), row["ours"]]
    lines.append("| " + " | ".join(cells) + " |")
  return lines


def anchor(title: str) -> str:
  """The markdown anchor of a heading: lower case, spaces as '-', other punctuation dropped."""
  return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


# Where each experiment's reference is looked for, first match first: the paper's experiments
# at the paper profile, then the surveys (atlas, rescue map) at the long profile.
DEFAULT_REFERENCES = tuple(os.path.join(disk.REPO, "reference", profile)
                           for profile in ("paper", "long"))


def report_text(out_dir: str, claims: dict[str, Claim],
                reference_dirs: tuple[str, ...] = DEFAULT_REFERENCES) -> str:
  """out_dir's REPORT.md.

  Args:
    out_dir: the results directory, one folder per experiment.
    claims: experiment -> its claim, in the report's order (experiments.registry.claims()).
    reference_dirs: shipped references; each experiment is set beside the first of them (other than
      out_dir) that holds it.

  Returns:
    The markdown text, its links relative to out_dir.
  """
  sections, summaries, profiles = [], {}, set()
  for experiment, claim in claims.items():
    lines, summaries[experiment] = experiment_section(out_dir, experiment, claim,
                                                      reference_dirs)
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
           *summary_table(summaries, claims, profile_note, beside), "", *sections]
  return "\n".join(lines)


def write_report(out_dir: str, claims: dict[str, Claim],
                 reference_dirs: tuple[str, ...] = DEFAULT_REFERENCES) -> str:
  """Writes report_text to out_dir/REPORT.md; returns its path."""
  path = os.path.join(out_dir, "REPORT.md")
  disk.atomic_write(path, report_text(out_dir, claims, reference_dirs).encode())
  return path
