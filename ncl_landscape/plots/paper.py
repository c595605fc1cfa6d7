"""Figures in the paper's style, drawn only from saved results (curves.npz).

Every plot_* draws on a given matplotlib Axes so figures compose. Lines are the mean
over seeds with a +-1 std band (the figure's title says so); runs whose status is not 'ok'
(diverged, unbounded, collapsed, ...) are left out of every line and band and counted by
status in the legend and the title; a warm start that missed an atom is drawn on its own,
dotted. The subtitle says what ran (subtitles.py).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import textwrap  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ncl_landscape.plots import subtitles  # noqa: E402
from ncl_landscape.report.verdicts import not_ok_text  # noqa: E402

PANELS = (("maxcos_min", "Minimum Max-Cosine"), ("maxcos_median", "Median Max-Cosine"),
          ("maxcos_max", "Maximum Max-Cosine"), ("loss", "Loss"))


def _label(group_by: str, value) -> str:
  if group_by == "warm_start_c" and value == 0:
    return "random start"  # the atlas's swept initialisation
  names = {"sparsity": "Psparse", "mask_prob": "mask prob", "warm_start_c": "c"}
  return f"{names.get(group_by, group_by)} = {value:g}"


def plot_curves(ax, epochs, values, groups, status, group_by: str, ylabel: str,
                marked=None) -> None:
  """Draws a line per group of runs: the mean over its ok runs with a +-1 std band.

  The band is a light fill with its edges drawn, so that overlapping bands stay readable. A
  group whose runs equal an earlier group's (e.g. two sparsities that draw the same data) is
  drawn dashed and says so in the legend.

  Args:
    ax: the Axes drawn on.
    epochs: [L] the logged epochs.
    values: [R, L] per run.
    groups: [R] the grouping value; a line per distinct value.
    status: [R] each run's status; only 'ok' runs are drawn.
    group_by: the grouping field's name, for the legend.
    ylabel: the y axis's label.
    marked: [R] bool, runs also drawn on their own (dotted; a warm start that missed an atom).
  """
  marked = np.zeros(len(groups), bool) if marked is None else marked
  ok = status == "ok"
  drawn = []  # (label, values) of the groups drawn so far
  for i, g in enumerate(np.unique(groups)):
    sel = groups == g
    good = values[sel & ok]
    label = _label(group_by, g)
    if (~ok[sel]).any():
      label += f" ({not_ok_text(status[sel])}: left out)"
    if (marked[sel] & ok[sel]).any():
      label += f" ({(marked[sel] & ok[sel]).sum()} missed an atom, dotted)"
    same = next((name for name, v in drawn if v.shape == good.shape and np.array_equal(v, good)),
                None)
    drawn.append((_label(group_by, g), good))
    if good.shape[0] == 0:
      ax.plot([], [], color=f"C{i}", label=label)
      continue
    if same is not None:
      label += f" (same runs as {same})"
    mean = good.mean(0)
    std = good.std(0, ddof=1) if good.shape[0] > 1 else np.zeros_like(mean)  # as REPORT
    style = "--" if same is not None else "-"
    ax.plot(epochs, mean, color=f"C{i}", ls=style, label=label)
    ax.fill_between(epochs, mean - std, mean + std, color=f"C{i}", alpha=0.12, linewidth=0)
    for edge in (mean - std, mean + std):
      ax.plot(epochs, edge, color=f"C{i}", lw=0.5, alpha=0.6, ls=style)
    for run in values[sel & ok & marked]:
      ax.plot(epochs, run, color=f"C{i}", lw=1, ls=":")
  ax.set_xlabel("epoch")
  ax.set_ylabel(ylabel)


def save_figure(fig, path: str) -> None:
  """Saves fig at path (laid out tightly unless it has a layout engine) and closes it."""
  if fig.get_layout_engine() is None:
    fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def select_runs(curves: dict, select: dict) -> np.ndarray:
  """Boolean [R] mask of the runs whose fields equal the given values (floats by isclose)."""
  keep = np.ones(len(curves["method"]), bool)
  for field, value in select.items():
    if isinstance(value, str):
      keep &= curves[field] == value
    else:
      keep &= np.isclose(curves[field], value)
  return keep


def plot_rows(curves: dict, path: str, rows: list[tuple[str, dict, str]], title: str = "",
              config: dict | None = None, families: dict | None = None) -> None:
  """Draws a row per (name, select, group_by) of min/median/max max-cosine and loss panels.

  The row's name heads its first panel; each panel's metric is its y label. A row whose runs
  trained at several learning rates becomes a row per lr.

  Args:
    curves: {name: [runs] or [runs, points]} as curves.npz holds them.
    path: the PNG's path.
    rows: (name, select, group_by) per row. select: {field: value} picks the row's runs, e.g.
      {"method": "ncl", "mask_prob": 0.5}; group_by: the field whose values are the row's
      lines, e.g. "sparsity".
    title: the figure's title.
    config, families: the subtitle's (figure_title).
  """
  rows = [split for row in rows for split in by_lr(curves, *row)]
  fig, axes = plt.subplots(len(rows), len(PANELS), figsize=(4.2 * len(PANELS), 3.2 * len(rows)),
                           squeeze=False, layout="constrained")
  for row, (name, select, group_by) in enumerate(rows):
    sel = select_runs(curves, select)
    for col, (key, ylabel) in enumerate(PANELS):
      ax = axes[row, col]
      plot_curves(ax, curves["epochs"], curves[key][sel], curves[group_by][sel],
                  curves["status"][sel], group_by, ylabel,
                  curves["atoms_missed"][sel] > 0 if "atoms_missed" in curves else None)
      if key != "loss":
        ax.set_ylim(0, 1.02)
    axes[row, 0].set_title(name, loc="left", fontsize=10, fontweight="bold")
    axes[row, 0].legend(fontsize=8)
  figure_title(fig, f"{title}; lines: mean over the seeds of status ok, bands: +-1 std"
               + not_ok_note(curves), curves, config, families)
  save_figure(fig, path)


def by_lr(curves: dict, name: str, select: dict, group_by: str) -> list[tuple[str, dict, str]]:
  """The row, or a row per learning rate when its runs trained at several."""
  lrs = np.unique(curves["lr"][select_runs(curves, select)]) if "lr" in curves else []
  if len(lrs) < 2:
    return [(name, select, group_by)]
  return [(f"{name}, lr {lr:g}", {**select, "lr": lr}, group_by) for lr in lrs]


def not_ok_note(curves: dict) -> str:
  """'; left out (status not ok): 2 diverged', or '' when every run is ok."""
  text = not_ok_text(curves["status"])
  return f"; left out (status not ok): {text}" if text else ""


def figure_title(fig, title: str, curves: dict, config: dict | None = None,
                 families: dict | None = None) -> None:
  """Titles the figure, with what ran under the title.

  What ran: the subtitle of the experiment's config (subtitles.subtitle), or without one the
  caption save_results stores in the curves; every line wrapped to the figure's width.

  Args:
    fig: the figure.
    title: its title.
    curves: curves.npz's arrays; their 'caption' serves without a config.
    config: the experiment's config as config.json records it; None: the caption.
    families: arm -> its family's name (subtitles.subtitle).
  """
  if config is not None:
    lines = subtitles.subtitle(config, families)
  else:
    lines = [str(curves["caption"])] if "caption" in curves else []
  width = max(60, int(fig.get_figwidth() * 12))
  fig.suptitle("\n".join(textwrap.fill(line, width) for line in [title, *lines]), fontsize=10)
