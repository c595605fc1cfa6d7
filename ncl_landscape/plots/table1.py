"""Table 1 drawn as a figure, from a saved curves.npz: the paper's numbers beside ours.

One panel per model (rows) and statistic over the dictionary's atoms (columns: maximum,
median, minimum max-cosine, as the paper's table); in each, per sparsity, the paper's mean
+- std (report.TABLE1, black) and, per learning rate, one dot per seed of status ok and their
mean +- sample std, each with its numbers under it. Every sparsity of the paper's table is
shown; one that draws the same latents as an earlier one (settings' same_runs) repeats its
runs and says so under its tick.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ncl_landscape.plots import paper as plotting
from ncl_landscape.plots.paper import plt
from ncl_landscape.report.claims import TABLE1, TABLE1_MODELS
from ncl_landscape.report.verdicts import not_ok_text, stat
from ncl_landscape.runs import provenance

STATISTICS = (("maxcos_max", "Maximum"), ("maxcos_median", "Median"), ("maxcos_min", "Minimum"))
PAPER_RUNS = 5  # the paper's table: mean and std over 5 runs


def seeds_gid(model: str, key: str, sparsity: float, lr: float) -> str:
  """The gid of the line holding one dot per seed of a cell of statistic key."""
  return f"seeds {model} {key} {sparsity:g} {lr:g}"


def repeats(config: dict | None, model: str) -> dict[float, float]:
  """Sparsity -> the earlier sparsity whose runs it repeats, for the model's arm."""
  groups = provenance.same_runs_of((config or {}).get("settings", {}), model)
  return {s: group[0] for group in groups for s in group[1:]}


def _mean_std(ax, x: float, mean: float, std: float, colour, **marker) -> None:
  """A mean marker with a +-std bar and its caps."""
  ax.vlines(x, mean - std, mean + std, color=colour, linewidth=1.2)
  ax.plot([x, x], [mean - std, mean + std], "_", color=colour, ms=6)
  ax.plot([x], [mean], color=colour, ls="none", **marker)


def _numbers(ax, x: float, mean: float, std: float, colour, note: str = "") -> None:
  """The cell's numbers under its marks; note: the runs left out, or 'not run'."""
  text = "" if np.isnan(mean) else f"{mean:.2f}" + ("" if np.isnan(std) else f"\n±{std:.2f}")
  ax.text(x, 0.02, "\n".join(t for t in (text, note) if t), ha="center", va="bottom",
          fontsize=6.5, color=colour)


def plot_table1(curves: dict, path: str, names: dict[str, str], title: str,
                config: dict | None = None) -> None:
  """Draws Table 1 as a figure at path: the paper's numbers beside ours.

  Args:
    curves: {name: [runs] or [runs, points]} as curves.npz holds them.
    path: the PNG's path.
    names: arm -> its row title.
    title: the figure's title.
    config: the subtitle's and the same runs'.
  """
  models = [m for m in TABLE1_MODELS if m in set(curves["method"])]
  lrs = sorted(set(curves["lr"].tolist()))
  fig, axes = plt.subplots(len(models), len(STATISTICS), squeeze=False, sharey=True,
                           figsize=(5.4 * len(STATISTICS), 3.4 * len(models) + 1.4),
                           layout="constrained")
  offsets = (np.arange(1 + len(lrs)) - len(lrs) / 2) * 0.27
  for row, model in zip(axes, models):
    paper = TABLE1[TABLE1_MODELS[model]]
    sparsities = sorted(set(paper) | set(curves["sparsity"][curves["method"] == model]))
    repeated = repeats(config, model)
    for ax, (stat_index, (key, name)) in zip(row, enumerate(STATISTICS)):
      for xi, sparsity in enumerate(sparsities):
        if sparsity in paper:
          p_mean, p_std = paper[sparsity][stat_index]
          _mean_std(ax, xi + offsets[0], p_mean, p_std, "black", marker="s", ms=5)
          _numbers(ax, xi + offsets[0], p_mean, p_std, "black")
        for i, lr in enumerate(lrs):
          sel = plotting.select_runs(curves, {"method": model, "sparsity": sparsity, "lr": lr})
          ok = sel & (curves["status"] == "ok")
          values = curves[key][ok, -1]
          x = xi + offsets[1 + i]
          ax.plot(x - 0.05 + np.linspace(-0.025, 0.025, len(values)), values, "o", ms=3.5,
                  color=f"C{i}", alpha=0.8, gid=seeds_gid(model, key, sparsity, lr))
          ours = stat(values)
          _mean_std(ax, x + 0.05, ours.mean, ours.std, f"C{i}", marker="D", mfc="none", ms=4.5)
          _numbers(ax, x, ours.mean, ours.std, f"C{i}",
                   not_ok_text(curves["status"][sel]) if sel.any() else "not run")
      ax.set_xticks(range(len(sparsities)),
                    [f"{s:g}" + (f"\n(the runs of {repeated[s]:g})" if s in repeated else "")
                     for s in sparsities])
      ax.set_xlim(-0.6, len(sparsities) - 0.4)
      ax.set_ylim(0, 1.05)
      ax.set_xlabel("sparsity")
      ax.set_ylabel(f"{name} max-cosine")
    paper_row = ("" if TABLE1_MODELS[model] == model
                 else f" (beside the paper's {TABLE1_MODELS[model]} row)")
    row[0].set_title(names.get(model, model) + paper_row, loc="left", fontsize=10,
                     fontweight="bold")
  handles = [Line2D([], [], color="black", marker="s", ls="-",
                    label=f"paper: mean ± std over {PAPER_RUNS} runs")]
  for i, lr in enumerate(lrs):
    handles += [Line2D([], [], color=f"C{i}", marker="o", ls="none",
                       label=f"ours, lr {lr:g}: one dot per seed of status ok"),
                Line2D([], [], color=f"C{i}", marker="D", mfc="none", ls="-",
                       label=f"ours, lr {lr:g}: mean ± sample std")]
  fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
  plotting.figure_title(fig, f"{title}: final max-cosine of each atom, its maximum, median and "
                        "minimum over the dictionary; the paper's numbers beside ours"
                        + plotting.not_ok_note(curves), curves, config)
  plotting.save_figure(fig, path)
