"""The rescue map's figures, drawn only from a saved curves.npz (rescue.py reads it).

rescue.png: one panel per sparsity (rows) and encoder width (columns); in each, mechanisms
x start levels (random, then warm starts closer and closer), coloured by the k of n ok seeds
recovered (a legend of the fractions that occur), each cell annotated with its mean initial
minimum max-cosine -> every ok seed's final one and its k of n, the border level outlined.
rescue_scatter.png: one panel per mechanism, every ok run's final against its initial
minimum max-cosine, coloured by width, the diagonal drawn: runs above it improved, runs
right of the dashed line started recovered, runs above the dotted one ended recovered.
"""
from __future__ import annotations

import numpy as np
from matplotlib.patches import Patch

from ncl_landscape.plots import paper as plotting
from ncl_landscape.plots.paper import plt
from ncl_landscape.report import rescue
from ncl_landscape.report.verdicts import fmt_beside
from ncl_landscape.runs.provenance import init_label


def _present(curves: dict, order: tuple[str, ...]) -> tuple[list[str], list[int]]:
  arms = [rescue.split_arm(str(a)) for a in dict.fromkeys(curves["method"])]
  mechanisms = [m for m in order if any(a[0] == m for a in arms)]
  return mechanisms, sorted({w for _, w in arms})


def fraction_colours(counts) -> dict[float, tuple[str, tuple]]:
  """Maps each fraction of seeds recovered that occurs to its legend label and colour.

  Args:
    counts: the cells' (k, n): k of n ok seeds recovered, n > 0.

  Returns:
    {k / n: (label, e.g. '1 of 2 seeds', colour)}.
  """
  labels: dict[float, list[str]] = {}
  for k, n in sorted(set(counts), key=lambda c: (c[0] / c[1], c[1])):
    labels.setdefault(k / n, []).append(f"{k} of {n}")
  return {f: (" / ".join(names) + " seeds", plt.cm.viridis(f)) for f, names in labels.items()}


NO_OK_SEED = (0.75, 0.75, 0.75, 1.0)  # a cell whose every run is left out (status not ok)


def cell_text(lv: rescue.Level, recovered_at: float) -> str:
  """A rescue cell's text, e.g. '0.48 -> 0.77, 0.85' over 'k of n' and the runs left out.

  The mean initial minimum max-cosine -> every ok seed's final one (or their range beyond three
  seeds), each on its side of recovered_at: the seeds, never their mean, decide. A level with
  no ok seed reads '<count> not ok'.
  """
  if not len(lv.final):
    return f"{lv.diverged} not ok"
  finals = [fmt_beside(v, recovered_at, 2) for v in np.sort(lv.final)]
  shown = ", ".join(finals) if len(finals) <= 3 else f"{finals[0]}-{finals[-1]}"
  k, n = lv.seeds_recovered
  return (f"{np.mean(lv.initial):.2f} -> {shown}\n{k} of {n}"
          + (f", {lv.diverged} not ok" if lv.diverged else ""))


def plot_map(curves: dict, path: str, order: tuple[str, ...], recovered_at: float,
             config: dict | None = None) -> None:
  """Draws rescue.png at path: per sparsity and width, mechanisms x start levels.

  Args:
    curves: {name: [runs] or [runs, points]} as curves.npz holds them.
    path: the PNG's path.
    order: the mechanisms drawn, in row order; those the curves lack are skipped.
    recovered_at: the final minimum max-cosine from which a seed counts as recovered.
    config: the subtitle's.
  """
  mechanisms, widths = _present(curves, order)
  sparsities = sorted(set(curves["sparsity"].tolist()))
  starts = sorted(set(curves["warm_start_c"].tolist()))
  fig, axes = plt.subplots(len(sparsities), len(widths), squeeze=False, sharey=True,
                           figsize=(max(6.5, 1.2 + 1.25 * len(starts) * len(widths)),
                                    max(3.0, 1.2 + 0.42 * len(mechanisms) * len(sparsities))),
                           layout="constrained")
  borders = rescue.borders(curves, recovered_at)
  panels = {(sparsity, width): {m: rescue.levels(curves, m, width, sparsity, recovered_at)
                                for m in mechanisms}
            for sparsity in sparsities for width in widths}
  colours = fraction_colours(lv.seeds_recovered for cells in panels.values()
                             for lvls in cells.values() for lv in lvls if len(lv.final))
  for row, sparsity in zip(axes, sparsities):
    for ax, width in zip(row, widths):
      grid = np.ones((len(mechanisms), len(starts), 4))
      for i, mechanism in enumerate(mechanisms):
        for lv in panels[(sparsity, width)][mechanism]:
          j = starts.index(lv.c)
          k, n = lv.seeds_recovered
          grid[i, j] = colours[k / n][1] if n else NO_OK_SEED
          ax.text(j, i, cell_text(lv, recovered_at), ha="center", va="center", fontsize=6,
                  color="white" if grid[i, j, :3] @ (0.299, 0.587, 0.114) < 0.5 else "black")
        edge = borders.get((mechanism, width, sparsity), rescue.NO_BORDER).c
        if edge is not None:
          ax.add_patch(plt.Rectangle((starts.index(edge) - 0.5, i - 0.5), 1, 1, fill=False,
                                     edgecolor="red", linewidth=1.5))
      ax.imshow(grid, aspect="auto")
      ax.set_xticks(range(len(starts)), [init_label(c).replace("warm ", "") for c in starts],
                    fontsize=7)
      ax.set_title(f"m = {width}, sparsity {sparsity:g}", fontsize=9)
    row[0].set_yticks(range(len(mechanisms)), mechanisms, fontsize=8)
  handles = [Patch(color=colour, label=label) for label, colour in colours.values()]
  if any(not len(lv.final) for cells in panels.values() for lvls in cells.values()
         for lv in lvls):
    handles.append(Patch(color=NO_OK_SEED, label="no ok seed"))
  handles.append(Patch(fill=False, edgecolor="red", linewidth=1.5,
                       label="border: the farthest start rescued (most seeds recover, "
                       "every closer start too)"))
  fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8,
             title=f"ok seeds recovered (final minimum max-cosine >= {recovered_at:g})",
             title_fontsize=8)
  plotting.figure_title(fig, "Rescue map: per start, mean initial -> each ok seed's final "
                        "minimum max-cosine, and k of n ok seeds recovered"
                        + plotting.not_ok_note(curves), curves, config,
                        {name: rescue.split_arm(name)[0] for name in config["arms"]}
                        if config else None)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)


def plot_scatter(curves: dict, path: str, order: tuple[str, ...], recovered_at: float,
                 config: dict | None = None) -> None:
  """Draws rescue_scatter.png at path: each ok run's final against initial min max-cosine.

  order, recovered_at and config as plot_map's.
  """
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
  plotting.figure_title(fig, "Rescue: final against initial minimum max-cosine of the runs of "
                        "status ok (above the diagonal: improved)" + plotting.not_ok_note(curves),
                        curves, config)
  plotting.save_figure(fig, path)


def plot_rescue(curves: dict, path: str, order: tuple[str, ...] = (),
                recovered_at: float = rescue.RECOVERED_AT, config: dict | None = None) -> None:
  """Draws rescue.png at path and rescue_scatter.png beside it.

  Args:
    curves: {name: [runs] or [runs, points]} as curves.npz holds them.
    path: rescue.png's path.
    order: the mechanisms' row order (default: as in the curves).
    recovered_at: the final minimum max-cosine from which a seed counts as recovered.
    config: the subtitle's.
  """
  order = order or tuple(dict.fromkeys(rescue.split_arm(str(a))[0] for a in curves["method"]))
  plot_map(curves, path, order, recovered_at, config)
  plot_scatter(curves, path.replace(".png", "_scatter.png"), order, recovered_at, config)
