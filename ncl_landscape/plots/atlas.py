"""The atlas figures, drawn only from a saved curves.npz.

atlas.png: one heatmap per initialisation, methods x sparsity, colour the mean final
minimum max-cosine over the seeds of status ok, each cell annotated with its value and
marks: C complete collapse, D dimensional collapse (in any ok seed), ! seeds left out (status
not ok: diverged, unbounded, collapsed, ...; counted by status in the title).
atlas_curves.png: small multiples, one panel per method, the minimum max-cosine over
training per initialisation (mean over sparsities and seeds together, as its title says,
+-1 std band).
"""
from __future__ import annotations

import numpy as np

from ncl_landscape.plots import paper as plotting
from ncl_landscape.plots.paper import plt
from ncl_landscape.runs.provenance import init_label
from ncl_landscape.thresholds import LOW


def ordered(values: np.ndarray) -> list:
  """Unique values in order of first appearance."""
  _, first = np.unique(values, return_index=True)
  return [values[i] for i in sorted(first)]


class Cell:
  """The runs of one (method, init, sparsity) and what the heatmap shows of them."""

  def __init__(self, curves: dict, sel: np.ndarray):
    ok = sel & (curves["status"] == "ok")
    self.mean = float(curves["maxcos_min"][ok, -1].mean()) if ok.any() else np.nan
    self.left_out = int((sel & ~ok).sum())
    self.complete = bool(np.nansum(curves["final_collapse_complete"][ok]) > 0)
    self.dimensional = bool(np.nansum(curves["final_collapse_dimensional"][ok]) > 0)

  @property
  def marks(self) -> str:
    """'C' complete collapse, 'D' dimensional collapse, '!' seeds left out, as apply."""
    return ("C" if self.complete else "") + ("D" if self.dimensional else "") + \
        ("!" * min(self.left_out, 1))


def cells(curves: dict) -> dict:
  """(method, warm_start_c, sparsity) -> Cell, in the curves' order."""
  out = {}
  for method in ordered(curves["method"]):
    for c in ordered(curves["warm_start_c"]):
      for sparsity in ordered(curves["sparsity"]):
        sel = plotting.select_runs(curves, {"method": method, "warm_start_c": c,
                                            "sparsity": sparsity})
        if sel.any():
          out[(method, c, sparsity)] = Cell(curves, sel)
  return out


def plot_heatmap(curves: dict, path: str, config: dict | None = None) -> None:
  """Draws atlas.png at path: a heatmap per initialisation, methods x sparsity."""
  table = cells(curves)
  method_list = ordered(curves["method"])
  inits, sparsities = ordered(curves["warm_start_c"]), ordered(curves["sparsity"])
  fig, axes = plt.subplots(1, len(inits), squeeze=False, sharey=True,
                           figsize=(3.0 + 1.2 * max(len(sparsities), 2) * len(inits),
                                    1.2 + 0.38 * len(method_list)), layout="constrained")
  for ax, c in zip(axes[0], inits):
    grid = np.array([[table[(m, c, s)].mean if (m, c, s) in table else np.nan
                      for s in sparsities] for m in method_list])
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i, m in enumerate(method_list):
      for j, s in enumerate(sparsities):
        cell = table.get((m, c, s))
        if cell is not None:
          text = ("n/a" if np.isnan(cell.mean) else f"{cell.mean:.2f}") + cell.marks
          ax.text(j, i, text, ha="center", va="center", fontsize=7,
                  color="white" if np.isnan(cell.mean) or cell.mean < LOW else "black")
    ax.set_xticks(range(len(sparsities)), [f"{s:g}" for s in sparsities])
    ax.set_xlabel("sparsity")
    ax.set_title(init_label(c), fontsize=10)
  axes[0, 0].set_yticks(range(len(method_list)), method_list)
  fig.colorbar(image, ax=axes[0].tolist(), label="mean minimum max-cosine")
  plotting.figure_title(fig, "Atlas: final minimum max-cosine, mean over the seeds of status ok "
                        "(C complete collapse, D dimensional collapse, ! seeds left out)"
                        + plotting.not_ok_note(curves), curves, config)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)


def plot_small_multiples(curves: dict, path: str, config: dict | None = None) -> None:
  """Draws atlas_curves.png at path: per method, the minimum max-cosine over training."""
  method_list = ordered(curves["method"])
  cols = min(5, len(method_list))
  rows = -(-len(method_list) // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False,
                           sharey=True)
  for ax, method in zip(axes.flat, method_list):
    sel = curves["method"] == method
    plotting.plot_curves(ax, curves["epochs"], curves["maxcos_min"][sel],
                         curves["warm_start_c"][sel], curves["status"][sel], "warm_start_c",
                         "min max-cosine")
    ax.set_title(method, fontsize=10)
    ax.set_ylim(0, 1.02)
  for ax in axes.flat[len(method_list):]:
    ax.axis("off")
  axes.flat[0].legend(fontsize=7)
  plotting.figure_title(fig, "Atlas: minimum max-cosine during training, per start (mean and "
                        "std over seeds and sparsities " + "/".join(
                            f"{s:g}" for s in ordered(curves["sparsity"])) + " together)"
                        + plotting.not_ok_note(curves), curves, config)
  plotting.save_figure(fig, path)


def plot_atlas(curves: dict, path: str, config: dict | None = None) -> None:
  """atlas.png at path and atlas_curves.png beside it; config: the subtitle's."""
  plot_heatmap(curves, path, config)
  plot_small_multiples(curves, path.replace(".png", "_curves.png"), config)
