"""The rescue map's figures, drawn only from a saved curves.npz (rescue.py reads it).

rescue.png: one panel per sparsity (rows) and encoder width (columns); in each, mechanisms
x start levels (random, then warm starts closer and closer), colour the fraction of seeds
recovered, each cell annotated with its mean initial -> final minimum max-cosine, the border
level outlined.
rescue_scatter.png: one panel per mechanism, every ok run's final against its initial
minimum max-cosine, coloured by width, the diagonal drawn: runs above it improved, runs
right of the dashed line started recovered, runs above the dotted one ended recovered.
"""
from __future__ import annotations

import numpy as np

from ncl_landscape import plotting, rescue
from ncl_landscape.atlas_plots import init_label
from ncl_landscape.plotting import plt


def _present(curves: dict, order: tuple[str, ...]) -> tuple[list[str], list[int]]:
  arms = [rescue.split_arm(str(a)) for a in dict.fromkeys(curves["method"])]
  mechanisms = [m for m in order if any(a[0] == m for a in arms)]
  return mechanisms, sorted({w for _, w in arms})


def plot_map(curves: dict, path: str, order: tuple[str, ...], recovered_at: float) -> None:
  mechanisms, widths = _present(curves, order)
  sparsities = sorted(set(curves["sparsity"].tolist()))
  starts = sorted(set(curves["warm_start_c"].tolist()))
  fig, axes = plt.subplots(len(sparsities), len(widths), squeeze=False, sharey=True,
                           figsize=(max(6.5, 1.2 + 1.25 * len(starts) * len(widths)),
                                    max(3.0, 1.2 + 0.42 * len(mechanisms) * len(sparsities))),
                           layout="constrained")
  borders = rescue.borders(curves, recovered_at)
  for row, sparsity in zip(axes, sparsities):
    for ax, width in zip(row, widths):
      grid = np.full((len(mechanisms), len(starts)), np.nan)
      for i, mechanism in enumerate(mechanisms):
        for lv in rescue.levels(curves, mechanism, width, sparsity, recovered_at):
          j = starts.index(lv.c)
          grid[i, j] = lv.recovered
          if len(lv.final):
            ax.text(j, i, f"{np.mean(lv.initial):.2f}\n{np.mean(lv.final):.2f}"
                    + ("!" if lv.diverged else ""), ha="center", va="center", fontsize=6,
                    color="white" if not lv.recovered >= rescue.HALF else "black")
        edge = borders.get((mechanism, width, sparsity), rescue.NO_BORDER).c
        if edge is not None:
          ax.add_patch(plt.Rectangle((starts.index(edge) - 0.5, i - 0.5), 1, 1, fill=False,
                                     edgecolor="red", linewidth=1.5))
      image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
      ax.set_xticks(range(len(starts)), [init_label(c).replace("warm ", "") for c in starts],
                    fontsize=7)
      ax.set_title(f"m = {width}, sparsity {sparsity:g}", fontsize=9)
    row[0].set_yticks(range(len(mechanisms)), mechanisms, fontsize=8)
  fig.colorbar(image, ax=axes.ravel().tolist(),
               label=f"fraction recovered (final >= {recovered_at:g})")
  plotting.figure_title(fig, "Rescue map: initial -> final minimum max-cosine per start "
                        "(red: the border, ! diverged runs)", curves)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)


def plot_scatter(curves: dict, path: str, order: tuple[str, ...], recovered_at: float) -> None:
  mechanisms, widths = _present(curves, order)
  cols = min(4, len(mechanisms))
  rows = -(-len(mechanisms) // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.9 * rows), squeeze=False,
                           sharex=True, sharey=True)
  ok = curves["status"] == "ok"
  colours = plt.cm.plasma(np.linspace(0, 0.85, len(widths)))
  for ax, mechanism in zip(axes.flat, mechanisms):
    for width, colour in zip(widths, colours):
      sel = ok & (curves["method"] == rescue.arm_name(mechanism, width))
      ax.scatter(curves["maxcos_min"][sel, 0], curves["maxcos_min"][sel, -1], s=9,
                 color=colour, label=f"m = {width}")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.axhline(recovered_at, color="grey", linestyle=":", linewidth=0.8)
    ax.axvline(recovered_at, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(mechanism, fontsize=10)
  for ax in axes.flat[len(mechanisms):]:
    ax.axis("off")
  for ax in axes[-1]:
    ax.set_xlabel("initial min max-cosine")
  for ax in axes[:, 0]:
    ax.set_ylabel("final min max-cosine")
  axes.flat[0].legend(fontsize=7)
  plotting.figure_title(fig, "Rescue: final against initial minimum max-cosine (above the "
                        "diagonal: improved)", curves)
  plotting.save_figure(fig, path)


def plot_rescue(curves: dict, path: str, order: tuple[str, ...] = (),
                recovered_at: float = rescue.RECOVERED_AT) -> None:
  """rescue.png at path and rescue_scatter.png beside it; order: the mechanisms' row order
  (default: as in the curves)."""
  order = order or tuple(dict.fromkeys(rescue.split_arm(str(a))[0] for a in curves["method"]))
  plot_map(curves, path, order, recovered_at)
  plot_scatter(curves, path.replace(".png", "_scatter.png"), order, recovered_at)
