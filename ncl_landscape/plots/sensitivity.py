"""What it takes, drawn: a claim's scanned values as a dot plot (report/sensitivity.py reads
them from the saved results)."""
from __future__ import annotations

import numpy as np

from ncl_landscape.plots.paper import plt, save_figure
from ncl_landscape.report.sensitivity import Row, Scan
from ncl_landscape.report.verdicts import Rule


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
  """Draws the scan's dot plot at path: the focus part's final value per scanned value.

  Each judged seed (grey), the mean (circle: screen, square: paper scale; coloured by the claim's
  verdict), and the values the claim's rule accepts as a band.
  """
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
  runs = "each run's value (grey) and the mean" if any(len(r.seeds) > 1 for r in shown) else \
      "the value"
  ax.set_xlabel(f"{scan.focus} ({shown[0].focus.rule}): {runs}", fontsize=9)
  handles = [band, *(plt.Line2D([], [], ls="none", marker=m, color="k", mfc="white" if s == "screen"
                        else "k", label=f"mean, {s} scale") for s, m in MARKERS.items()
                        if any(r.scale == s for r in shown))]
  handles += [plt.Line2D([], [], ls="none", marker="s", color=c, label=w)
              for w, c in COLOURS.items() if any(r.word == w for r in shown)]
  ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
  scanned = " ".join(f"--{flag}={value}" for flag, value in scan.base.items())
  title = f"What it takes: {scan.claim.title}"
  ax.set_title(title + (f"\nscanned with {scanned}" if scanned else ""), fontsize=10)
  save_figure(fig, path)
